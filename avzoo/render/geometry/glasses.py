"""Glasses: two superellipse lenses, a bridge and the temples, rigid on the head."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from avzoo.render.geometry.eyes import Eyes
from avzoo.render.geometry.rig import SIDES, Dense, Rig


@dataclass
class Glasses:
    """Control indices of the frames."""

    lens: dict[int, np.ndarray]
    bridge: np.ndarray
    temples: dict[int, np.ndarray]


def add_glasses(rig: Rig, style: str, eyes: Eyes, fw: float) -> Glasses | None:
    """Frames around the eyes for ``style`` ("round" or "square"); ``None`` for "none"."""
    if style == "none":
        return None
    ex, ew = eyes.ex, eyes.ew
    a = np.linspace(0, 2 * np.pi, 28, endpoint=False)
    rx, ry = ew + 0.08, 0.2 if style == "round" else 0.17
    p = 2.0 if style == "round" else 5.0  # superellipse exponent: 2 is an ellipse, higher is squarer
    cx_, sx_ = np.cos(a), np.sin(a)
    ex_ = np.sign(cx_) * np.abs(cx_) ** (2 / p)
    ey_ = np.sign(sx_) * np.abs(sx_) ** (2 / p)
    lens = {}
    for s, _ in SIDES:
        lens[s] = rig.add(np.stack([s * ex + rx * ex_, 0.02 + ry * ey_], 1))
    bridge = rig.add([(-(ex - rx) - 0.01, -0.03), (0.0, -0.07), ((ex - rx) + 0.01, -0.03)])
    temples = {s: rig.add([(s * (ex + rx), -0.02), (s * 1.02 * fw, -0.06)]) for s, _ in SIDES}
    return Glasses(lens, bridge, temples)


def glasses_curves(dn: Dense, glasses: Glasses) -> dict[str, np.ndarray]:
    """Lens outlines and temples per side, then the bridge."""
    parts = {}
    for s, _ in SIDES:
        parts[f"lens{s}"] = dn.curve(glasses.lens[s])
        parts[f"temple{s}"] = dn.curve(glasses.temples[s])
    parts["bridge_glasses"] = dn.curve(glasses.bridge, 4)
    return parts
