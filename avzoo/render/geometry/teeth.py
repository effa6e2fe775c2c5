"""Inside the mouth: teeth, gums and tongue (the upper teeth sit on the skull, the rest rides on the jaw)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from avzoo.render.geometry.mouth import Lips
from avzoo.render.geometry.rig import Dense, Rig
from avzoo.render.identity import FaceIdentity


@dataclass
class Teeth:
    """Control indices of the teeth, gums and tongue."""

    upper: np.ndarray
    gums: np.ndarray
    lower: np.ndarray
    tongue: np.ndarray
    tongue_out: np.ndarray  # the tip that comes out between the lips
    upper_gaps: np.ndarray  # lines between the upper teeth, pairs of points
    lower_gaps: np.ndarray


def add_teeth(rig: Rig, ident: FaceIdentity, lips: Lips) -> Teeth:
    """Teeth, gums and tongue behind the lips, with their jaw, funnel, pucker and tongueOut motion."""
    ym = lips.y
    tw = 0.3 * (0.5 + 0.5 * ident.mouth_width)
    upper_teeth = rig.add(
        [(-0.9 * tw, ym - 0.17), (0.9 * tw, ym - 0.17), (0.92 * tw, ym - 0.03), (0.6 * tw, ym + 0.022),
         (0.2 * tw, ym + 0.038), (-0.2 * tw, ym + 0.038), (-0.6 * tw, ym + 0.022), (-0.92 * tw, ym - 0.03)]
    )  # fmt: skip
    gums = rig.add(
        [
            (-0.95 * tw, ym - 0.22),
            (0.95 * tw, ym - 0.22),
            (0.95 * tw, ym - 0.09),
            (0.0, ym - 0.075),
            (-0.95 * tw, ym - 0.09),
        ]
    )
    lower_teeth = rig.add(
        [(-0.85 * tw, ym + 0.01), (-0.5 * tw, ym + 0.0), (0.0, ym - 0.005), (0.5 * tw, ym + 0.0), (0.85 * tw, ym + 0.01),
         (0.9 * tw, ym + 0.2), (-0.9 * tw, ym + 0.2)]
    )  # fmt: skip
    tongue = rig.add([(-0.75 * tw, ym + 0.1), (-0.45 * tw, ym + 0.0), (0.45 * tw, ym + 0.0), (0.75 * tw, ym + 0.1), (0.45 * tw, ym + 0.25), (-0.45 * tw, ym + 0.25)])  # fmt: skip
    tongue_out = rig.add(
        [(-0.14, ym), (-0.15, ym + 0.015), (0.0, ym + 0.025), (0.15, ym + 0.015), (0.14, ym)]
    )
    for pts, k in ((lower_teeth, 0.33), (tongue, 0.31)):
        rig.move("jawOpen", pts, dy=k)
        rig.move("jawLeft", pts, dx=0.08)
        rig.move("jawRight", pts, dx=-0.08)
    rig.move("jawForward", lower_teeth, dy=-0.045)
    # protruding lips leave the teeth further back, mostly hidden behind them
    for ch_name, k in (("mouthFunnel", 0.08), ("mouthPucker", 0.05)):
        rig.move(ch_name, np.concatenate([upper_teeth, gums]), dy=-k)
        rig.move(ch_name, np.concatenate([lower_teeth, tongue]), dy=k)
    gx = np.array([-0.66, -0.36, 0.0, 0.36, 0.66]) * tw * 0.9
    upper_gaps = rig.add(
        np.concatenate([[(x, ym - 0.07), (x * 1.02, ym + 0.036 - 0.06 * (x / tw) ** 2)] for x in gx])
    )
    lower_gaps = rig.add(
        np.concatenate(
            [[(x, ym - 0.004 + 0.02 * (x / tw) ** 2), (x, ym + 0.07)] for x in gx[[0, 1, 3, 4]] * 0.9]
        )
    )
    rig.move("tongueOut", tongue, dy=0.05)
    rig.move("tongueOut", tongue_out, dx=[0.0, -0.01, 0.0, 0.01, 0.0], dy=[0.0, 0.12, 0.21, 0.12, 0.0])
    rig.follow(upper_gaps, upper_teeth[[4] * len(upper_gaps)])
    rig.follow(lower_gaps, lower_teeth[[2] * len(lower_gaps)])
    # the tongue tip sits between the lips, and leaves with the lower one
    rig.follow(tongue_out[[0, 4]], lips.ui[[3, 3]], 0.5)
    rig.follow(tongue_out[[0, 4]], lips.li[[3, 3]], 0.5)
    rig.follow(tongue_out[[1, 2, 3]], lips.li[[3, 3, 3]], 0.9)
    return Teeth(upper_teeth, gums, lower_teeth, tongue, tongue_out, upper_gaps, lower_gaps)


def teeth_curves(dn: Dense, teeth: Teeth) -> dict[str, np.ndarray]:
    """Closed outlines of the teeth, gums and tongue, and the gap lines between the teeth."""
    return {
        "upper_teeth": dn.curve(teeth.upper, 3, closed=True),
        "gums": dn.curve(teeth.gums, 3, closed=True),
        "lower_teeth": dn.curve(teeth.lower, 3, closed=True),
        "tongue": dn.curve(teeth.tongue, 4, closed=True),
        "upper_gaps": dn.curve(teeth.upper_gaps),
        "lower_gaps": dn.curve(teeth.lower_gaps),
        "tongue_out": dn.curve(teeth.tongue_out, 5, closed=True),
    }
