"""Make ``docs/contact_sheet.png``: a few identities x emotions x visemes from ``avzoo.render``.

Each row is one ``random_identity(seed)`` (steady camera, no noise), each column one of the
example poses in :mod:`avzoo.render.poses`.

Usage:
    python scripts/contact_sheet.py [--seeds 19 4 22 1 27 41] [--cell 160] [--out docs/contact_sheet.png]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from avzoo.render import FaceRenderer, random_identity  # noqa: E402
from avzoo.render.poses import EMOTIONS, VISEMES, pose  # noqa: E402

HEADER = 26
LABEL_W = 96
INK = (40, 40, 48)


def _text(img: np.ndarray, text: str, org: tuple[int, int], scale: float = 0.45) -> None:
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, INK, 1, cv2.LINE_AA)


def contact_sheet(seeds: list[int], cell: int) -> np.ndarray:
    columns = list(EMOTIONS) + [f"/{v}/" for v in VISEMES]
    names = list(EMOTIONS) + list(VISEMES)
    blend = np.stack([pose(n) for n in names])
    sheet = np.full((HEADER + cell * len(seeds), LABEL_W + cell * len(names), 3), 250, np.uint8)
    for j, col in enumerate(columns):
        (w, _), _ = cv2.getTextSize(col, cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1)
        _text(sheet, col, (LABEL_W + j * cell + (cell - w) // 2, HEADER - 8))
    for i, seed in enumerate(seeds):
        ident = random_identity(seed).still()
        frames = FaceRenderer(ident).render(blend, size=cell)
        y = HEADER + i * cell
        sheet[y : y + cell, LABEL_W:] = np.concatenate(list(frames), axis=1)
        for k, line in enumerate(
            (
                f"seed {seed}",
                ident.hair_style,
                ident.jaw,
                ident.glasses if ident.glasses != "none" else "",
                ident.facial_hair if ident.facial_hair != "none" else "",
            )
        ):
            if line:
                _text(sheet, line, (6, y + 22 + 18 * k), 0.42)
    return sheet


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[19, 4, 22, 1, 27, 41])
    ap.add_argument("--cell", type=int, default=160, help="pixels per face (rendered at this size)")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "contact_sheet.png")
    args = ap.parse_args()
    sheet = contact_sheet(args.seeds, args.cell)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(f"wrote {args.out} ({sheet.shape[1]}x{sheet.shape[0]})")


if __name__ == "__main__":
    main()
