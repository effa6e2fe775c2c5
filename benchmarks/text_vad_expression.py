"""Text-driven expression: does text-vad's condition track visibly change av-lipsync's face?

    python benchmarks/text_vad_expression.py --out benchmarks/results/text_vad_expression.json \\
        --frames-dir ../runs/text-vad/expression

One sentence pair with a turn of feeling is spoken by the synthetic voice (espeak-ng, with word timings). The
bundled av-lipsync animates it twice on one CPU thread: with the all-zeros (neutral) condition, and with
:func:`avzoo.pipelines.text_to_vad.text_condition_track` from the bundled text-vad, following the word timings.
Reported per clause: the text model's emotion, the mean of the expression channels that carry it (smile, frown,
brows, eye squint) under both conditions, and the mean absolute pixel difference of the rendered face
(``avzoo.render``) between the two runs at each clause's middle frame. ``--frames-dir`` saves those renders.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

TEXT = "I was so happy this morning, the sun was shining and we laughed. But now everything is ruined and I feel terrible."
CHANNELS = (
    "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight", "browInnerUp", "browDownLeft",
    "browDownRight", "cheekSquintLeft", "eyeSquintLeft",
)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--text", default=TEXT)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/text_vad_expression.json"))
    parser.add_argument("--frames-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    from transformers import AutoModel, AutoProcessor

    import avzoo  # noqa: F401  (registers the families)
    from avzoo.pipelines.text_to_vad import clause_spans, split_clauses, text_condition_track, text_to_vad
    from avzoo.pretrained import path
    from avzoo.render.renderer import render
    from avzoo.synth.speech import synthesize

    utt = synthesize(args.text)
    model = AutoModel.from_pretrained(str(path("av-lipsync")), dtype=torch.float32).eval()
    processor = AutoProcessor.from_pretrained(str(path("av-lipsync")))
    inputs = processor(utt.audio, sampling_rate=utt.sampling_rate)
    frames = int(inputs["input_features"].shape[1])
    fps = float(processor.fps)
    condition = text_condition_track(args.text, frames, fps, processor, word_timings=utt.words)
    tracks = {}
    with torch.no_grad():
        for name, cond in (("neutral", np.zeros_like(condition)), ("text", condition)):
            out = model(inputs["input_features"], attention_mask=inputs["attention_mask"],
                        condition=torch.from_numpy(cond)[None])  # fmt: skip
            tracks[name] = processor.post_process_blendshapes(out, inputs["attention_mask"])[0]
    names = list(processor.blendshape_names)
    clauses = split_clauses(args.text)
    spans = clause_spans(clauses, frames / fps, utt.words)
    rows = []
    for (clause, _, _), (start, end) in zip(clauses, spans, strict=True):
        a, b = int(start * fps), max(int(start * fps) + 1, int(end * fps))
        middle = (a + b) // 2
        images = {k: render(tracks[k][middle], identity=0, size=160) for k in tracks}
        if args.frames_dir:
            import cv2

            args.frames_dir.mkdir(parents=True, exist_ok=True)
            side = np.concatenate([images["neutral"], images["text"]], axis=1)
            cv2.imwrite(str(args.frames_dir / f"clause{len(rows)}_neutral_vs_text.png"), side[..., ::-1])
        vad = text_to_vad(clause)
        rows.append({
            "clause": clause, "seconds": [round(start, 3), round(end, 3)], "frames": [a, b],
            "text_vad": {k: round(vad[k], 4) for k in ("valence", "arousal", "dominance")},
            "text_emotion": vad["emotion"], "text_emotion_p": round(vad["scores"][vad["emotion"]], 4),
            "channels": {c: {k: float(tracks[k][a:b, names.index(c)].mean()) for k in tracks} for c in CHANNELS},
            "pixel_mean_abs_diff_middle_frame": float(np.abs(images["text"].astype(float) - images["neutral"]).mean()),
        })  # fmt: skip
    expression = [names.index(c) for c in CHANNELS]
    result = {
        "what": "av-lipsync animated with text-vad's condition (word-timed) vs the neutral condition",
        "text": args.text,
        "frames": frames,
        "fps": fps,
        "clauses": rows,
        "mean_abs_diff_expression_channels": float(
            np.abs(tracks["text"][:, expression] - tracks["neutral"][:, expression]).mean()
        ),
        "mouth_smile_text_first_minus_second_clause": float(
            np.mean(
                [
                    rows[0]["channels"][c]["text"] - rows[-1]["channels"][c]["text"]
                    for c in ("mouthSmileLeft", "mouthSmileRight")
                ]
            )
        ),
        "setup": {"voice": utt.voice, "engine": utt.engine, "threads": 1},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
