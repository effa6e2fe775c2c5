"""Upper-face life on real speech: brow and eye motion of the model's output before and after ``life=True``.

Runs the ``audio-to-blendshapes`` pipeline on real LibriSpeech recordings (neutral condition), with and without
life, and reports the upper-face channels' standard deviation, blinks and brow raises per minute, beside the same
statistics of the real Live Link idle takes (``../shared/data/arkit-real/livelink-no-audio``).

    python benchmarks/animation_life.py --out benchmarks/results/animation_life.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from transformers import pipeline  # noqa: E402

import avzoo  # noqa: E402, F401  (registers the pipeline task)
from avzoo.arkit import INDEX  # noqa: E402
from avzoo.io.livelink import read_livelink_csv  # noqa: E402
from avzoo.metrics.label_stats import blink_stats  # noqa: E402

CHANNELS = ("browInnerUp", "browOuterUpLeft", "eyeBlinkLeft", "eyeBlinkRight")
SHARED = REPO.parent / "shared" / "data"


def raises_per_minute(track: np.ndarray, fps: float, threshold: float = 0.05) -> float:
    """Rising crossings of ``threshold`` by browInnerUp above the track's own median, per minute."""
    brow = track[:, INDEX["browInnerUp"]] - np.median(track[:, INDEX["browInnerUp"]])
    up = (brow[1:] >= threshold) & (brow[:-1] < threshold)
    return float(up.sum()) / (len(track) / fps / 60.0)


def summary(tracks: list[np.ndarray], fps: float) -> dict:
    blinks = blink_stats([t[:, INDEX["eyeBlinkLeft"]] for t in tracks], fps)
    return {
        "seconds": sum(len(t) for t in tracks) / fps,
        "std": {c: float(np.mean([t[:, INDEX[c]].std() for t in tracks])) for c in CHANNELS},
        "blinks_per_min": blinks["rate_per_min"],
        "brow_raises_per_min": float(np.mean([raises_per_minute(t, fps) for t in tracks])),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--speech", type=Path, default=SHARED / "real-speech" / "librispeech" / "train-clean-100")
    ap.add_argument("--idles", type=Path, default=SHARED / "arkit-real" / "livelink-no-audio")
    ap.add_argument("--clips", type=int, default=12)
    ap.add_argument("--model", default="avzoo/av-lipsync")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "animation_life.json")
    args = ap.parse_args()
    if not args.speech.is_dir() or not args.idles.is_dir():
        sys.exit(f"{args.speech} or {args.idles} is missing: this benchmark needs the shared real recordings")
    animate = pipeline("audio-to-blendshapes", model=args.model, model_kwargs={"use_safetensors": True})
    files = sorted(args.speech.glob("*.flac"))[: args.clips]
    plain, lively = [], []
    for f in files:
        plain.append(animate(str(f))["blendshapes"])
        lively.append(animate(str(f), life=True)["blendshapes"])
    fps = 30.0
    idles = [
        read_livelink_csv(p).resample(fps)
        for p in [*sorted(args.idles.glob("*_cal.csv")), args.idles / "Happy.csv"]
    ]
    result = {
        "model": args.model,
        "clips": [f.name for f in files],
        "model_output": summary(plain, fps),
        "with_life": summary(lively, fps),
        "idle_takes": summary([t.blendshapes for t in idles], fps),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    for key in ("model_output", "with_life", "idle_takes"):
        r = result[key]
        stds = " ".join(f"{c} {v:.3f}" for c, v in r["std"].items())
        print(f"{key:13} {r['seconds']:6.0f} s  std: {stds}  blinks/min {r['blinks_per_min']:.1f}  "
              f"brow raises/min {r['brow_raises_per_min']:.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
