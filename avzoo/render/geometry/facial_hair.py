"""Stubble, beard and moustache: shapes that ride on the jaw and lips."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from avzoo.render.geometry.head import Head
from avzoo.render.geometry.mouth import Lips
from avzoo.render.geometry.rig import Dense, Rig


@dataclass
class FacialHair:
    """Control indices; ``None`` where the style has no such part."""

    beard_outer: np.ndarray | None = None  # along the jaw line
    beard_inner: np.ndarray | None = None  # around the mouth
    moustache: np.ndarray | None = None


def add_facial_hair(rig: Rig, style: str, head: Head, lips: Lips) -> FacialHair:
    """The beard's edges (stubble, beard) and the moustache (moustache, beard) for ``style``."""
    fh = FacialHair()
    on, outline, corner = head.outline_pts, head.outline, lips.corner
    ym, mw, lt = lips.y, lips.half_width, lips.thickness
    if style in ("stubble", "beard"):
        fh.beard_outer = rig.add(
            np.concatenate(
                [
                    on[[4]] * [0.97, 1.0] + [0, 0.1],
                    on[5:12] * [1.02, 1.0] + [0, 0.015],
                    on[[12]] * [0.97, 1.0] + [0, 0.1],
                ]
            )
        )
        rig.follow(fh.beard_outer, outline[4:13])
        rows = [
            (-mw - 0.12, ym - 0.13),
            (-mw - 0.06, ym + 0.03),
            (-0.16, ym + 0.22),
            (0.16, ym + 0.22),
            (mw + 0.06, ym + 0.03),
            (mw + 0.12, ym - 0.13),
        ]
        fh.beard_inner = inner = rig.add(rows)
        rig.follow(inner[[0, 5]], np.concatenate([corner[-1], corner[1]]), 0.5)
        rig.follow(inner[[1, 4]], np.concatenate([corner[-1], corner[1]]), 1.0)
        rig.follow(inner[[2, 3]], lips.lo[[2, 4]], 1.0)
    if style in ("moustache", "beard"):
        mx = np.array([-1.15, -0.7, -0.3, 0.0, 0.3, 0.7, 1.15])
        top = ym - 0.12 * lt - 0.09 + 0.05 * mx**2
        bot = ym - 0.07 * lt + 0.035 * mx**2 * 1.5
        fh.moustache = rig.add(
            np.concatenate([np.stack([mx * mw, top], 1), np.stack([mx[::-1] * mw, bot[::-1]], 1)])
        )
        uo = lips.uo
        near = [corner[-1][0], uo[0], uo[2], uo[3], uo[4], uo[6], corner[1][0]]
        rig.follow(fh.moustache, np.array(near + near[::-1]), 0.9)
    return fh


def facial_hair_curves(dn: Dense, fh: FacialHair) -> dict[str, np.ndarray]:
    """The beard (outer then inner edge, as one part) and the moustache's closed outline."""
    parts = {}
    if fh.beard_outer is not None:
        parts["beard"] = np.concatenate([dn.curve(fh.beard_outer, 4), dn.curve(fh.beard_inner, 4)])
    if fh.moustache is not None:
        parts["moustache"] = dn.curve(fh.moustache, 3, closed=True)
    return parts
