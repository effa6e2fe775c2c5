"""Deepen a trained av-lipsync model: append residual blocks to its lipsync stack that start as the identity.

Each appended block's output projection is zero, so the grown model's outputs equal the original's exactly (checked
here) and training continues from where the original stopped instead of from scratch. Writes ``grow.json`` next to
the model so the release card can say where the model came from.

    python scripts/grow_av_lipsync.py runs/v3-p1/final runs/v4-init --dilations 1 2 4 8
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from avzoo.models.av_lipsync import AvLipsyncModel, AvLipsyncProcessor  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("source", type=Path, help="a trained model folder")
    ap.add_argument("out", type=Path)
    ap.add_argument("--dilations", type=int, nargs="+", default=[1, 2, 4, 8], help="of the appended blocks")
    args = ap.parse_args()
    old = AvLipsyncModel.from_pretrained(args.source).eval()
    dilations = [*old.config.lipsync_dilations, *args.dilations]
    torch.manual_seed(0)  # the appended convolutions' initial weights
    new = AvLipsyncModel.from_pretrained(args.source, lipsync_dilations=dilations).eval()
    with torch.no_grad():
        for block in new.lipsync.stack.blocks[len(old.config.lipsync_dilations) :]:
            block.proj.weight.zero_()
            block.proj.bias.zero_()
        torch.manual_seed(0)
        x = torch.randn(2, 90, old.config.n_mels)
        cond = torch.zeros(2, 90, old.config.condition_dim)
        diff = (new(x, condition=cond).blendshapes - old(x, condition=cond).blendshapes).abs().max().item()
    if diff > 0:
        raise SystemExit(f"the grown model differs from the original by {diff}")
    new.save_pretrained(args.out)
    # The processor (features, conditions, calibrated mouth filter settings) is the source's, unchanged.
    AvLipsyncProcessor.from_pretrained(args.source).save_pretrained(args.out)
    info = {
        "source": str(args.source),
        "appended_dilations": args.dilations,
        "parameters": new.num_parameters(),
    }
    (args.out / "grow.json").write_text(json.dumps(info, indent=2) + "\n")
    print(json.dumps(info))


if __name__ == "__main__":
    main()
