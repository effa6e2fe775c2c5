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
import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from transformers import pipeline  # noqa: E402

from avzoo import arkit  # noqa: E402  (import avzoo registers the pipeline task)
from avzoo.evaluation.baselines import frame_rms, rms_db  # noqa: E402
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
        if args.mouth:  # the lower-middle of a 3x render: lips and jaw, at the cell size
            big = renderer.render(track[k : k + 1], size=3 * args.size)[0]
            h = big.shape[0]
            top = int(0.5 * h) - args.size // 4
            img = big[top : top + args.size, int(0.5 * h - args.size / 2) :][:, : args.size]
        else:
            img = renderer.render(track[k : k + 1], size=args.size)[0]
        img = np.ascontiguousarray(img)
        caption = np.full((34, args.size, 3), 255, np.uint8)
        jaw = track[k, arkit.INDEX["jawOpen"]]
        cv2.putText(
            caption, f"{k / fps:.2f}s {db[k]:.0f}dB", (3, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (0, 0, 0), 1
        )
        state = "shut" if closed[k] else ""
        cv2.putText(
            caption, f"jaw {jaw:.2f} {state}", (3, 29), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (0, 0, 160), 1
        )
        cells.append(np.vstack([img, caption]))
    if not cells:
        raise SystemExit(f"no frames between {args.start} s and {args.start + args.seconds} s")
    blank = np.full_like(cells[0], 255)
    rows = [
        np.hstack(cells[i : i + args.per_row] + [blank] * (args.per_row - len(cells[i : i + args.per_row])))
        for i in range(0, len(cells), args.per_row)
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), cv2.cvtColor(np.vstack(rows), cv2.COLOR_RGB2BGR))
    print(f"wrote {args.out} ({len(cells)} frames)")


if __name__ == "__main__":
    main()
