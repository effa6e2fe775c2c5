"""How predictable are the corpus' lipsync labels? A phone oracle on the held-out test split.

The oracle knows each utterance's exact phone timings (which no audio model does) but not the
speaker's articulation style or the emotion's mouth component: it animates the phones with the
default :class:`ArticulationStyle` and no expression. Its error is the part of the label that only
speaker- and emotion-specific information explains, a practical floor for an audio-only model
that cannot infer them.

    python benchmarks/lipsync_label_ceiling.py --corpus runs/corpus
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--split", default="test")
    ap.add_argument("--out", default="benchmarks/results/lipsync_label_ceiling.json")
    args = ap.parse_args()
    ds = load_corpus(args.corpus)[args.split].select_columns(["blendshapes", "phonemes"]).with_format("numpy")
    refs, preds, masks = [], [], []
    for row in ds:
        ref = np.asarray(row["blendshapes"], np.float32)
        phones = [
            Phone(p["phone"], float(p["start"]), float(p["end"]))
            for p in row["phonemes"]
            if p["phone"] != "sil"
        ]
        refs.append(ref)
        masks.append(bilabial_mask(list(row["phonemes"]), len(ref), 30))
        preds.append(phones_to_blendshapes(phones, duration=len(ref) / 30)[: len(ref)])
    # Closure is scored on /p b m/ frames, as the av-lipsync evaluation does.
    m = blendshape_errors(preds, refs, fps=30, lips_closed=masks)
    result = {
        "corpus": str(args.corpus),
        "split": args.split,
        "utterances": len(refs),
        "oracle": "exact phone timings, default articulation style, no expression",
        "lipsync_mae": m["mae_per_group"]["lipsync"],
        "jaw_open_pearson": m["pearson_per_channel"]["jawOpen"],
        "lip_closure_accuracy": m["lip_closure_accuracy"],
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
