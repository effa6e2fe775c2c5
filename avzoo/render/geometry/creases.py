"""Lines around the mouth: labiomental fold, lip shine, chin, corner creases, dimples, nasolabial folds, cheeks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from avzoo.render.geometry.head import Head
from avzoo.render.geometry.mouth import Lips
from avzoo.render.geometry.nose import Nose
from avzoo.render.geometry.rig import SIDES, Dense, Rig


@dataclass
class Creases:
    """Control indices of the creases around the mouth (per side where they come in pairs)."""

    labiomental: np.ndarray
    lip_shine: np.ndarray
    chin_line: np.ndarray
    corner_crease: dict[int, np.ndarray]
    dimple: dict[int, np.ndarray]
    naso: dict[int, np.ndarray]
    cheek: dict[int, np.ndarray]  # one point: the cheek's apple


def add_creases(rig: Rig, head: Head, nose: Nose, lips: Lips) -> Creases:
    """Creases that ride on the lips, jaw and nose; the nasolabial folds also bulge with smile and puff."""
    ym, mw, lt, ch = lips.y, lips.half_width, lips.thickness, head.chin_y
    outline, corner, lo, li = head.outline, lips.corner, lips.lo, lips.li
    labiomental = rig.add(
        [(-0.11, ym + 0.19 * lt + 0.03), (0.0, ym + 0.2 * lt + 0.035), (0.11, ym + 0.19 * lt + 0.03)]
    )
    rig.follow(labiomental, lo[[2, 3, 4]], 0.85)
    rig.follow(labiomental, outline[[8, 8, 8]], 0.15)
    lip_shine = rig.add([(-0.06, ym + 0.075 * lt), (0.0, ym + 0.082 * lt), (0.06, ym + 0.075 * lt)])
    rig.follow(lip_shine, lo[[2, 3, 4]], 0.55)
    rig.follow(lip_shine, li[[2, 3, 4]], 0.45)
    chin_line = rig.add([(-0.09, ch - 0.17), (0.0, ch - 0.15), (0.09, ch - 0.17)])
    rig.follow(chin_line, outline[[8, 8, 8]], 0.95)
    rig.move("mouthShrugLower", chin_line, dy=-0.02)
    corner_crease, dimple, naso, cheek = {}, {}, {}, {}
    for s, S in SIDES:
        cx0, cy0 = s * mw, ym - 0.005
        corner_crease[s] = rig.add(
            [(cx0 + s * 0.025, cy0 - 0.035), (cx0 + s * 0.04, cy0 + 0.0), (cx0 + s * 0.025, cy0 + 0.035)]
        )
        rig.follow(corner_crease[s], corner[s][[0, 0, 0]])
        dimple[s] = rig.add(
            [(cx0 + s * 0.1, cy0 - 0.04), (cx0 + s * 0.115, cy0 + 0.0), (cx0 + s * 0.1, cy0 + 0.035)]
        )
        rig.follow(dimple[s], corner[s][[0, 0, 0]])
        naso[s] = rig.add(
            [
                (s * 0.17 * nose.width, nose.y - 0.03),
                (s * (mw + 0.05), ym - 0.13),
                (s * (mw + 0.08), ym + 0.07),
            ]
        )
        rig.follow(naso[s][0], nose.ala[s][1], 0.8)
        rig.follow(naso[s][1], corner[s], 0.35)
        rig.follow(naso[s][2], corner[s], 0.6)
        rig.move(f"mouthSmile{S}", naso[s][1:], dx=s * 0.02)
        cheek[s] = rig.add([(s * 0.56, 0.42)])
        rig.move(f"mouthSmile{S}", cheek[s], dx=0.02 * s, dy=-0.07)
        rig.move(f"cheekSquint{S}", cheek[s], dy=-0.07)
        rig.move("cheekPuff", cheek[s], dx=0.07 * s, dy=0.04)
        rig.move("cheekPuff", naso[s][1:], dx=0.04 * s)
    return Creases(labiomental, lip_shine, chin_line, corner_crease, dimple, naso, cheek)


def crease_side_curves(dn: Dense, creases: Creases, s: int) -> dict[str, np.ndarray]:
    """One side's corner crease, dimple, nasolabial fold and cheek point."""
    return {
        f"corner_crease{s}": dn.curve(creases.corner_crease[s], 3),
        f"dimple{s}": dn.curve(creases.dimple[s], 3),
        f"naso{s}": dn.curve(creases.naso[s], 5),
        f"cheek{s}": dn.curve(creases.cheek[s]),
    }


def crease_curves(dn: Dense, creases: Creases) -> dict[str, np.ndarray]:
    """The labiomental fold, lip shine and chin line."""
    return {
        "labiomental": dn.curve(creases.labiomental, 4),
        "lip_shine": dn.curve(creases.lip_shine, 3),
        "chin_line": dn.curve(creases.chin_line, 3),
    }
