"""How predictable are the corpus' lipsync labels? Phone oracles on the held-out test split.

The oracles know each utterance's exact phone timings (which no audio model does) but not the
speaker's articulation style or the emotion's mouth component: they animate the phones with the
default :class:`ArticulationStyle` and no expression. Their error is the part of the label that only
speaker- and emotion-specific information explains, a practical floor for an audio-only model.

Two kinds of oracle:

* ``full``: knows the whole utterance, past and future (an offline, non-causal model's floor).
* ``causal``: for output frame ``k`` it knows only the phones that have started before the audio a
  model with ``L`` frames of look-ahead has heard, ``(k + 1 + L) / fps`` (the mel window of frame
  ``k + L`` ends there), minus an identification delay (the audio a phone needs before it can be
  told apart; 0 or 20 ms). It still knows each known phone's true end, so it is optimistic. The
  labels anticipate a coming phone by about 90 ms (:class:`ArticulationStyle` ``anticipation_s``,
  as real coarticulation does), so this is the floor for a streaming model with look-ahead ``L``.

    python benchmarks/lipsync_label_ceiling.py --corpus runs/corpus-v2
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from avzoo.evaluation.av_lipsync import bilabial_mask
from avzoo.metrics.functional.blendshape import blendshape_errors
from avzoo.synth.corpus import load_corpus
from avzoo.synth.visemes import Phone, phones_to_blendshapes

FPS = 30
LOOKAHEADS = (1, 2, 3)
DELAYS_S = (0.0, 0.02)


def causal_track(phones: list[Phone], n_frames: int, lookahead: int, delay_s: float) -> np.ndarray:
    """Frame k animated from the phones that start before ``(k + 1 + lookahead) / FPS - delay_s``."""
    out = np.zeros((n_frames, 52), np.float32)
    starts = np.array([p.start for p in phones])
    horizon = (np.arange(n_frames) + 1 + lookahead) / FPS - delay_s
    known = np.searchsorted(starts, horizon, side="left")  # phones with start < horizon
    for n in np.unique(known):
        if n == 0:
            continue  # nothing heard yet: rest pose
        frames = known == n
        out[frames] = phones_to_blendshapes(phones[:n], duration=n_frames / FPS)[:n_frames][frames]
    return out


def scores(preds: list[np.ndarray], refs: list[np.ndarray], masks: list[np.ndarray]) -> dict[str, float]:
    # Closure is scored on /p b m/ frames, as the av-lipsync evaluation does.
    m = blendshape_errors(preds, refs, fps=FPS, lips_closed=masks)
    return {
        "lipsync_mae": m["mae_per_group"]["lipsync"],
        "jaw_open_pearson": m["pearson_per_channel"]["jawOpen"],
        "lip_closure_accuracy": m["lip_closure_accuracy"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--split", default="test")
    ap.add_argument("--out", default="benchmarks/results/lipsync_label_ceiling.json")
    args = ap.parse_args()
    ds = load_corpus(args.corpus)[args.split].select_columns(["blendshapes", "phonemes"]).with_format("numpy")
    refs, masks, utterances = [], [], []
    for row in ds:
        ref = np.asarray(row["blendshapes"], np.float32)
        phones = sorted(
            (
                Phone(p["phone"], float(p["start"]), float(p["end"]))
                for p in row["phonemes"]
                if p["phone"] != "sil"
            ),
            key=lambda p: p.start,
        )
        refs.append(ref)
        masks.append(bilabial_mask(list(row["phonemes"]), len(ref), FPS))
        utterances.append(phones)
    full = [
        phones_to_blendshapes(p, duration=len(r) / FPS)[: len(r)]
        for p, r in zip(utterances, refs, strict=True)
    ]
    result = {
        "corpus": str(args.corpus),
        "split": args.split,
        "utterances": len(refs),
        "oracle": "exact phone timings, default articulation style, no expression",
        **scores(full, refs, masks),
        "causal": [
            {
                "lookahead_frames": la,
                "identification_delay_s": d,
                **scores(
                    [causal_track(p, len(r), la, d) for p, r in zip(utterances, refs, strict=True)],
                    refs,
                    masks,
                ),
            }
            for la in LOOKAHEADS
            for d in DELAYS_S
        ],
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
