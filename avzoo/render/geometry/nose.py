"""The nose: tip, nostrils, alae, columella, the shaded side of the bridge, and the sneer lines."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from avzoo.render.geometry.rig import SIDES, Dense, Rig
from avzoo.render.identity import FaceIdentity


@dataclass
class Nose:
    """Control indices of the nose and its proportions."""

    tip: np.ndarray
    nostril: dict[int, np.ndarray]
    ala: dict[int, np.ndarray]
    sneer_lines: dict[int, list[np.ndarray]]
    columella: np.ndarray
    bridge: np.ndarray
    y: float  # height of the nostrils
    width: float


def add_nose(rig: Rig, ident: FaceIdentity) -> Nose:
    """The nose with its sneer and upper-lip motion; the bridge line sits on the side away from the light."""
    nw = ident.nose_width
    yn = 0.5 + 0.14 * (ident.nose_length - 1)
    nose_tip = rig.add([(0.0, yn - 0.02)])
    nostril, ala, sneer_lines = {}, {}, {}
    for s, S in SIDES:
        nostril[s] = rig.add([(s * 0.062 * nw, yn + 0.012)])
        ala[s] = rig.add(
            [(s * x * nw, yn + y) for x, y in [(0.085, -0.1), (0.148, -0.045), (0.14, 0.02), (0.09, 0.04)]]
        )
        sneer_lines[s] = [
            rig.add([(s * 0.07, 0.1 + 0.07 * k), (s * 0.15, 0.13 + 0.07 * k)]) for k in range(2)
        ]
        rig.move(f"noseSneer{S}", nostril[s], dx=s * 0.012, dy=-0.045)
        rig.move(
            f"noseSneer{S}",
            ala[s],
            dx=s * np.array([0.01, 0.02, 0.02, 0.012]),
            dy=[-0.03, -0.05, -0.05, -0.045],
        )
        rig.move(f"noseSneer{S}", nose_tip, dy=-0.008)
        for ln in sneer_lines[s]:
            rig.move(f"noseSneer{S}", ln, dy=-0.025)
        rig.move(f"mouthUpperUp{S}", nostril[s], dy=-0.015)
        rig.move(f"mouthUpperUp{S}", ala[s], dy=-0.015)
        rig.move(f"mouthSmile{S}", ala[s], dx=s * 0.012)
    columella = rig.add([(-0.055 * nw, yn + 0.035), (0.0, yn + 0.05), (0.055 * nw, yn + 0.035)])
    rig.follow(columella[[0, 2]], np.concatenate([nostril[-1], nostril[1]]), 0.6)
    shade_side = 1.0 if np.cos(ident.light_angle) <= 0 else -1.0  # the nose side away from the light
    bridge = rig.add([(shade_side * 0.08, 0.0), (shade_side * 0.08, 0.2), (shade_side * 0.09, yn - 0.12)])
    return Nose(nose_tip, nostril, ala, sneer_lines, columella, bridge, y=yn, width=nw)


def nose_side_curves(dn: Dense, nose: Nose, s: int) -> dict[str, np.ndarray]:
    """One side's nostril, ala and sneer lines."""
    return {
        f"nostril{s}": dn.curve(nose.nostril[s]),
        f"ala{s}": dn.curve(nose.ala[s], 4),
        f"sneer{s}": np.concatenate([dn.curve(ln) for ln in nose.sneer_lines[s]]),
    }


def nose_curves(dn: Dense, nose: Nose) -> dict[str, np.ndarray]:
    """The tip, columella and bridge."""
    return {
        "nose_tip": dn.curve(nose.tip),
        "columella": dn.curve(nose.columella, 3),
        "bridge": dn.curve(nose.bridge, 5),
    }
