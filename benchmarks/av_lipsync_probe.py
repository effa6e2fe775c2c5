"""Quick quality probe of an av-lipsync model folder on a strided subset of a corpus split.

Used to compare training runs (e.g. ``runs/v2-p1/final`` vs ``runs/v2-p1c/final``) in a minute,
where the full evaluation (``avzoo evaluate av-lipsync``) takes ten. Every ``--stride``-th
utterance of the split is scored with the oracle emotion condition, raw model output, closure on
/p b m/ frames:

    python benchmarks/av_lipsync_probe.py --model runs/v2-p1c/final --corpus runs/corpus-v2 --split test
"""

from __future__ import annotations

import argparse
import json

import torch

from avzoo.evaluation.av_lipsync import load_model, load_test_rows, predict_rows, score_rows
from avzoo.synth.corpus import load_corpus


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--split", default="test")
    ap.add_argument("--stride", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    model, fe = load_model(args.model)
    ds = load_corpus(args.corpus)[args.split]
    rows = load_test_rows(ds.select(range(0, len(ds), args.stride)))
    m = score_rows(predict_rows(model, fe, rows), rows)
    keys = ("lipsync_mae", "jaw_open_pearson", "lip_closure_accuracy", "lip_open_accuracy")
    print(
        json.dumps(
            {"model": args.model, "split": args.split, "utterances": len(rows), **{k: m[k] for k in keys}}
        )
    )


if __name__ == "__main__":
    main()
