"""A filmstrip of an av-lipsync model animating a real recording: to look at what it does on real speech.

Runs the ``audio-to-blendshapes`` pipeline (neutral condition, the processor's offline crisp_mouth) over the whole
recording, renders every ``--stride``-th frame of a stretch of it with :mod:`avzoo.render` and lays them out in rows,
each frame captioned with its time, jawOpen, the lip state (``shut`` when the lips touch, by the evaluation's rule)
and the frame's loudness in dBFS.

    python scripts/filmstrip.py ../shared/data/real-speech/librispeech/test-other/<talker>/<file>.flac \
        --start 0 --seconds 3 --out /tmp/filmstrip.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from transformers import pipeline  # noqa: E402

from avzoo import arkit  # noqa: E402  (import avzoo registers the pipeline task)
from avzoo.evaluation.baselines import frame_rms, rms_db  # noqa: E402
from avzoo.evaluation.real_takes import face_cell, tile  # noqa: E402  (shared with the take strip)
from avzoo.io.audio import load_audio  # noqa: E402
from avzoo.metrics.functional.blendshape import lip_state  # noqa: E402
from avzoo.render import FaceRenderer  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("audio", type=Path)
    ap.add_argument("--model", default=str(REPO / "avzoo" / "pretrained" / "av-lipsync"))
    ap.add_argument("--start", type=float, default=0.0, help="seconds into the recording")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--stride", type=int, default=3, help="render every n-th frame")
    ap.add_argument("--per-row", type=int, default=10)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--identity", type=int, default=7)
    ap.add_argument("--mouth", action="store_true", help="show the mouth region only (rendered at 3x size)")
    ap.add_argument("--out", type=Path, default=Path("filmstrip.png"))
    args = ap.parse_args()
    torch.set_num_threads(1)

    animate = pipeline("audio-to-blendshapes", model=args.model, dtype=torch.float32)
    sr = animate.feature_extractor.sampling_rate
    audio = load_audio(args.audio, sampling_rate=sr)
    out = animate(
        audio, sampling_rate=sr, crisp_mouth=True
    )  # the whole file, so the model has its real context
    track, fps = out["blendshapes"], out["fps"]
    closed = lip_state(track)[0]
    db = rms_db(frame_rms(audio, sr, fps, len(track)))
    first, last = int(args.start * fps), min(len(track), int((args.start + args.seconds) * fps))
    renderer = FaceRenderer(args.identity)
    cells = []
    for k in range(first, last, args.stride):
        jaw, state = track[k, arkit.INDEX["jawOpen"]], "shut" if closed[k] else ""
        caption = [(f"{k / fps:.2f}s {db[k]:.0f}dB", (0, 0, 0)), (f"jaw {jaw:.2f} {state}", (0, 0, 160))]
        cells.append(face_cell(renderer, track[k], args.size, caption, mouth=args.mouth))
    if not cells:
        raise SystemExit(f"no frames between {args.start} s and {args.start + args.seconds} s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), cv2.cvtColor(tile(cells, args.per_row), cv2.COLOR_RGB2BGR))
    print(f"wrote {args.out} ({len(cells)} frames)")


if __name__ == "__main__":
    main()
