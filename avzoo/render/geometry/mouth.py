"""The lips: four curves (upper outer/inner, lower inner/outer) between two corners, and their motion."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from avzoo.render.geometry.rig import SIDES, Dense, Rig
from avzoo.render.identity import FaceIdentity

_U = np.array([-0.7, -0.4, -0.18, 0.0, 0.18, 0.4, 0.7])  # lip points' x, fractions of the half-width
_G = 1 - _U**2  # 1 in the middle, falling off towards the corners
_CSIGN = np.array([-1.0, 1.0])  # the corners' sides, in ``Lips.corners`` order
# jawOpen: the lower lip rides on the jaw, the upper lip's sides follow a little
_JAW_DROP = {
    "uo": 0.12 * _U**2 - 0.012 * _G,
    "ui": 0.12 * _U**2 - 0.02 * _G,
    "li": 0.12 + 0.25 * _G**0.6,
    "lo": 0.12 + 0.23 * _G**0.6,
}

LipFn = Callable[[str], float | np.ndarray]  # lip curve name ("uo", "ui", "li", "lo") -> displacement


@dataclass
class Lips:
    """Control indices of the lips and the mouth's proportions."""

    corner: dict[int, np.ndarray]
    uo: np.ndarray  # upper outer (the upper lip's top edge)
    ui: np.ndarray  # upper inner
    li: np.ndarray  # lower inner
    lo: np.ndarray  # lower outer
    close_jaw: np.ndarray  # (n, 2) for the first n control points, see FaceGeometry.close_jaw
    y: float  # height of the mouth line
    half_width: float
    thickness: float

    @property
    def corners(self) -> np.ndarray:
        """Both corners, image left first."""
        return np.concatenate([self.corner[-1], self.corner[1]])

    def move_each(self, rig: Rig, channel: str, dx_fn: LipFn, dy_fn: LipFn) -> None:
        """Move each of the four lip curves by ``dx_fn(name)``, ``dy_fn(name)``."""
        for curve, name in ((self.uo, "uo"), (self.ui, "ui"), (self.li, "li"), (self.lo, "lo")):
            rig.move(channel, curve, dx=dx_fn(name), dy=dy_fn(name))


def add_lips(rig: Rig, ident: FaceIdentity, nose_y: float, chin_y: float) -> Lips:
    """The lips, placed between the nose and the chin, with every channel that moves them."""
    ym = nose_y + (chin_y - nose_y) * 0.37
    mw = 0.33 * ident.mouth_width
    lt = ident.lip_thickness
    u = _U
    corner = {-1: rig.add([(-mw, ym - 0.005)]), 1: rig.add([(mw, ym - 0.005)])}
    uo = rig.add(
        np.stack([u * mw, ym + lt * np.array([-0.05, -0.077, -0.09, -0.07, -0.09, -0.077, -0.05])], 1)
    )
    ui = rig.add(np.stack([u * mw, ym + np.array([0.0, 0.004, 0.007, 0.01, 0.007, 0.004, 0.0])], 1))
    li = rig.add(np.stack([u * mw, ym + np.array([0.0, 0.004, 0.007, 0.01, 0.007, 0.004, 0.0])], 1))
    lo = rig.add(np.stack([u * mw, ym + lt * np.array([0.06, 0.1, 0.118, 0.124, 0.118, 0.1, 0.06])], 1))
    # mouthClose with jawOpen shuts the lips the jaw opened: the lower lip moves most
    gap = _JAW_DROP["li"] - _JAW_DROP["ui"]
    close_jaw = np.zeros((rig.n, 2))
    close_jaw[li, 1] = close_jaw[lo, 1] = -0.7 * gap
    close_jaw[ui, 1] = close_jaw[uo, 1] = 0.3 * gap
    lips = Lips(corner, uo, ui, li, lo, close_jaw, y=ym, half_width=mw, thickness=lt)
    _jaw_moves(rig, lips)
    _shape_moves(rig, lips)
    _side_moves(rig, lips)
    _roll_shrug_moves(rig, lips)
    return lips


def _jaw_moves(rig: Rig, lips: Lips) -> None:
    u, g, corners = _U, _G, lips.corners
    lips.move_each(rig, "jawOpen", lambda n: -0.03 * u, lambda n: _JAW_DROP[n])
    rig.move("jawOpen", corners, dx=-0.035 * _CSIGN, dy=0.12)
    rig.move("jawForward", lips.lo, dy=0.035 * g**0.5)
    rig.move("jawForward", lips.li, dy=0.006 * g)
    rig.move("jawForward", corners, dy=0.01)
    lower_lip = np.concatenate([lips.li, lips.lo])
    upper_lip = np.concatenate([lips.uo, lips.ui])
    for ch_name, s in (("jawLeft", 1), ("jawRight", -1)):
        rig.move(ch_name, lower_lip, dx=0.07 * s)
        rig.move(ch_name, upper_lip, dx=0.025 * s)
        rig.move(ch_name, corners, dx=0.035 * s)


def _shape_moves(rig: Rig, lips: Lips) -> None:
    """mouthClose, mouthFunnel, mouthPucker, mouthLeft and mouthRight."""
    u, g, corners, csign = _U, _G, lips.corners, _CSIGN
    rig.move("mouthClose", lips.uo, dy=0.024 * g)
    rig.move("mouthClose", lips.lo, dy=-0.034 * g)
    rig.move("mouthClose", corners, dx=-0.022 * csign)
    funnel = {"uo": -0.04 * g**0.8, "ui": -0.045 * g**0.8, "li": 0.06 * g**0.8, "lo": 0.075 * g**0.8}
    lips.move_each(rig, "mouthFunnel", lambda n: -0.11 * u, lambda n: funnel[n])
    rig.move("mouthFunnel", corners, dx=-0.11 * csign, dy=0.01)
    pucker = {"uo": -0.03 * g, "ui": 0.0 * g, "li": 0.0 * g, "lo": 0.035 * g}
    lips.move_each(rig, "mouthPucker", lambda n: -0.16 * u, lambda n: pucker[n])
    rig.move("mouthPucker", corners, dx=-0.16 * csign)
    all_lips = np.concatenate([lips.uo, lips.ui, lips.li, lips.lo])
    for ch_name, s in (("mouthLeft", 1), ("mouthRight", -1)):
        rig.move(ch_name, all_lips, dx=0.12 * s)
        rig.move(ch_name, lips.corner[s], dx=0.14 * s, dy=-0.012)
        rig.move(ch_name, lips.corner[-s], dx=0.11 * s)


def _side_moves(rig: Rig, lips: Lips) -> None:
    """The one-sided channels: smile, frown, dimple, stretch, press, lower down, upper up, sneer."""
    u, g, lt = _U, _G, lips.thickness
    upper_lip = np.concatenate([lips.uo, lips.ui])
    for s, S in SIDES:
        corner = lips.corner[s]
        w = np.clip(s * u, 0, 1) ** 1.5  # 1 at this side's corner, 0 from the middle on
        pw = np.clip(0.5 + 0.5 * s * u, 0, 1)  # this side fully, the middle half
        uw = np.clip(0.45 + 0.6 * s * u, 0, 1) * g**0.35
        rig.move(f"mouthSmile{S}", corner, dx=0.085 * s, dy=-0.11)
        lips.move_each(
            rig,
            f"mouthSmile{S}",
            lambda n, w=w, s=s: 0.055 * w * s,
            lambda n, w=w: {"uo": -0.085, "ui": -0.1, "li": -0.1, "lo": -0.09}[n] * w,
        )
        rig.move(f"mouthFrown{S}", corner, dx=0.012 * s, dy=0.075)
        lips.move_each(rig, f"mouthFrown{S}", lambda n: 0.0, lambda n, w=w: 0.072 * w)
        rig.move(f"mouthDimple{S}", corner, dx=0.06 * s, dy=-0.015)
        lips.move_each(rig, f"mouthDimple{S}", lambda n, w=w, s=s: 0.04 * w * s, lambda n, w=w: -0.01 * w)
        rig.move(f"mouthStretch{S}", corner, dx=0.08 * s, dy=0.035)
        lips.move_each(
            rig,
            f"mouthStretch{S}",
            lambda n, w=w, s=s: 0.05 * w * s,
            lambda n, w=w: {"uo": 0.045, "ui": 0.032, "li": 0.036, "lo": 0.02}[n] * w,
        )
        rig.move(f"mouthPress{S}", lips.uo, dy=0.042 * lt * pw)
        rig.move(f"mouthPress{S}", lips.lo, dy=-0.056 * lt * pw)
        rig.move(f"mouthPress{S}", corner, dx=0.02 * s)
        rig.move(f"mouthLowerDown{S}", lips.li, dy=0.085 * uw)
        rig.move(f"mouthLowerDown{S}", lips.lo, dy=0.08 * uw)
        rig.move(f"mouthLowerDown{S}", corner, dy=0.012)
        rig.move(f"mouthUpperUp{S}", lips.ui, dy=-0.08 * uw)
        rig.move(f"mouthUpperUp{S}", lips.uo, dy=-0.07 * uw)
        rig.move(f"mouthUpperUp{S}", corner, dy=-0.012)
        rig.move(f"noseSneer{S}", upper_lip, dy=-0.03 * np.concatenate([uw, uw]))


def _roll_shrug_moves(rig: Rig, lips: Lips) -> None:
    """mouthRoll*, mouthShrug*, and the lips' share of tongueOut and cheekPuff."""
    u, g, lt, corners = _U, _G, lips.thickness, lips.corners
    rig.move("mouthRollLower", lips.lo, dy=-0.08 * lt * (0.3 + 0.7 * g))
    rig.move("mouthRollLower", lips.li, dy=-0.01 * g)
    rig.move("mouthRollUpper", lips.uo, dy=0.065 * lt * (0.3 + 0.7 * g))
    rig.move("mouthRollUpper", lips.ui, dy=0.008 * g)
    lips.move_each(
        rig,
        "mouthShrugLower",
        lambda n: 0.0,
        lambda n: {"uo": -0.015, "ui": -0.025, "li": -0.025, "lo": -0.045}[n] * g,
    )
    rig.move("mouthShrugLower", corners, dy=-0.006)
    lips.move_each(
        rig,
        "mouthShrugUpper",
        lambda n: 0.0,
        lambda n: {"uo": -0.06, "ui": -0.045, "li": -0.045, "lo": -0.03}[n] * g,
    )
    rig.move("mouthShrugUpper", corners, dy=-0.012)
    lips.move_each(
        rig, "tongueOut", lambda n: 0.0, lambda n: {"uo": -0.01, "ui": -0.03, "li": 0.045, "lo": 0.04}[n] * g
    )
    lips.move_each(
        rig,
        "cheekPuff",
        lambda n: -0.025 * u,
        lambda n: {"uo": -0.012, "ui": 0.0, "li": 0.0, "lo": 0.014}[n] * g,
    )
    rig.move("cheekPuff", corners, dx=-0.025 * _CSIGN)


def lip_curves(dn: Dense, lips: Lips) -> dict[str, np.ndarray]:
    """The four lip curves, each running corner to corner."""
    return {
        name: dn.curve(np.concatenate([lips.corner[-1], mid, lips.corner[1]]), 4)
        for name, mid in (("uo", lips.uo), ("ui", lips.ui), ("li", lips.li), ("lo", lips.lo))
    }
