"""Hair: static polygons per style (behind the head, over it, highlight strands) fitted to the head."""

from __future__ import annotations

import numpy as np

from avzoo.render.geometry.curves import chaikin
from avzoo.render.geometry.head import CROWN_Y
from avzoo.render.geometry.rig import Dense, Rig

HairShapes = dict[str, list[np.ndarray]]  # "back", "front", "strands" -> polygons or polylines
Layout = tuple[list[tuple[float, float]], ...]  # right halves: back (x in face widths), outer, inner, fringe


def add_hair(rig: Rig, style: str, fw: float, outline_pts: np.ndarray) -> HairShapes:
    """Smoothed hair shapes for ``style`` as (motionless) control points; returns their indices."""
    hair = hair_shapes(style, fw, CROWN_Y, outline_pts)
    return {k: [rig.add(chaikin(p, 2, closed=k != "strands")) for p in v] for k, v in hair.items()}


def hair_curves(dn: Dense, hair_ctrl: HairShapes) -> dict[str, np.ndarray]:
    """One part per hair shape: ``hair_back0``, ``hair_front0``, ``hair_strands0``, ..."""
    parts = {}
    for k, polys in hair_ctrl.items():
        for i, p in enumerate(polys):
            parts[f"hair_{k}{i}"] = dn.curve(p)
    return parts


def hair_shapes(style: str, fw: float, top: float, outline: np.ndarray) -> HairShapes:
    """Hair polygons (face units): 'back' behind the head, 'front' over it, 'strands' lines."""
    if style == "bald":
        return _bald(fw)
    if style in ("short", "quiff", "buzz", "bun"):
        return _cropped(style, fw, top)
    if style == "curly":
        return _curly(fw, top)
    return _framing(style == "long", fw, top, outline)


def _ellipse(cx, cy, rx, ry, n=40, a0=0.0, a1=2 * np.pi, bumps=0, bump=0.0) -> np.ndarray:
    """Points on an ellipse (or an arc from ``a0`` to ``a1``), optionally with ``bumps`` curls."""
    a = np.linspace(a0, a1, n, endpoint=a1 - a0 < 2 * np.pi - 1e-9)
    r = 1.0 + bump * np.abs(np.sin(bumps * a / 2))
    return np.stack([cx + rx * r * np.cos(a), cy + ry * r * np.sin(a)], 1)


def _side_x(outline: np.ndarray, y: float) -> float:
    """Neutral face half-width at height ``y``."""
    right = outline[outline[:, 0] >= 0]
    order = np.argsort(right[:, 1])
    return float(np.interp(y, right[order, 1], right[order, 0]))


def _strands(rx: float, ry: float, part: float, cy: float = -0.35) -> list[np.ndarray]:
    """Highlight arcs inside a hair cap of radii (rx, ry) centred at (0, cy), sweeping from the part."""
    out = []
    a_part = np.arccos(np.clip(part / rx, -1, 1))  # angle of the parting on the cap's top
    for f, da in ((0.8, 0.55), (0.88, 0.75), (0.72, 0.4)):
        for sgn in (1, -1):
            a = -a_part + sgn * np.linspace(0.12, 0.12 + da, 4)
            out.append(np.stack([rx * f * np.cos(a), cy + ry * f * np.sin(a)], 1))
    return out


def _bald(fw: float) -> HairShapes:
    """Hair only at the sides, behind the ears."""
    out: HairShapes = {"back": [], "front": [], "strands": []}
    for s in (1, -1):
        out["back"].append(
            np.array(
                [
                    [s * 0.9 * fw, -0.75],
                    [s * 1.1 * fw, -0.55],
                    [s * 1.1 * fw, -0.05],
                    [s * 0.95 * fw, 0.0],
                ]
            )
        )
    return out


def _cropped(style: str, fw: float, top: float) -> HairShapes:
    """Short styles: a cap over the head (parted for short and quiff), plus the quiff's or bun's volume."""
    out: HairShapes = {"back": [], "front": [], "strands": []}
    w = 1.08 * fw
    volume = {"short": 0.1, "quiff": 0.1, "buzz": 0.02, "bun": 0.04}[style]
    cap_outer = _ellipse(0, -0.35, w + volume * 0.6, -top - 0.35 + 0.12 + volume, 48, np.pi, 2 * np.pi)
    part = 0.3 if style in ("short", "quiff") else 0.0
    hairline = np.array(
        [
            [1.0 * fw, -0.1],
            [0.93 * fw, -0.35],
            [0.84 * fw, -0.62],
            [0.55, -0.8],
            [part, -0.92 if part else -0.86],
            [-0.35, -0.84],
            [-0.84 * fw, -0.62],
            [-0.93 * fw, -0.35],
            [-1.0 * fw, -0.1],
        ]
    )
    sides = np.array([[-1.07 * fw, -0.1], [-1.08 * fw, -0.3]])
    cap = np.concatenate([sides, cap_outer, sides[::-1] * [-1, 1], hairline])
    out["front"].append(cap)
    if style == "quiff":
        out["front"].append(_ellipse(0.15, top - 0.02, 0.62, 0.3, 36))
    if style == "bun":
        out["back"].append(_ellipse(0, top - 0.22, 0.36, 0.3, 36))
    if style != "buzz":
        out["strands"] += _strands(w, -top - 0.35 + 0.12 + volume, part)
    return out


def _curly(fw: float, top: float) -> HairShapes:
    """A bumpy halo behind the head and a wavy hairline in front."""
    out: HairShapes = {"back": [], "front": [], "strands": []}
    out["back"].append(_ellipse(0, -0.45, 1.42 * fw, 1.2, 72, bumps=18, bump=0.06))
    hair_y = -0.72
    xs = np.linspace(-0.95, 0.95, 17) * fw
    ys = hair_y + 0.05 * np.cos(np.linspace(0, 8 * np.pi, 17)) - 0.15 * (xs / fw) ** 4
    hairline = np.stack([xs, ys], 1)[::-1]
    outer = _ellipse(0, -0.4, 1.15 * fw, -top + 0.15, 40, np.pi, 2 * np.pi)
    out["front"].append(np.concatenate([[[-1.1 * fw, -0.2]], outer, [[1.1 * fw, -0.2]], hairline]))
    return out


def _framing(long: bool, fw: float, top: float, outline: np.ndarray) -> HairShapes:
    """Bob or long hair: a fringe or centre parting, and side locks framing the face."""
    out: HairShapes = {"back": [], "front": [], "strands": []}
    back, outer, inner, fringe = (_long_layout if long else _bob_layout)(fw, outline)
    back_r = np.array(back) * [fw, 1.0]
    out["back"].append(np.concatenate([back_r[::-1] * [-1, 1], back_r]))
    outer_r, inner_r = np.array(outer), np.array(inner)
    cap_outer = _ellipse(0, -0.3, 1.2 * fw, -top + 0.18, 48, np.pi, 2 * np.pi)
    cap = np.concatenate(
        [
            (outer_r * [-1, 1])[::-1][:-1],
            cap_outer,
            outer_r[1:],
            inner_r[::-1],
            np.array(fringe),
            inner_r * [-1, 1],
        ]
    )
    out["front"].append(cap)
    out["strands"] += _strands(1.2 * fw, -top + 0.18 - 0.3, 0.0, cy=-0.3)
    return out


def _long_layout(fw: float, outline: np.ndarray) -> Layout:
    """Right-side outlines of long hair down to the shoulders, with a centre parting."""
    back = [(1.2, -0.3), (1.3, 0.6), (1.35, 1.6), (1.25, 2.4)]
    outer = [
        (1.2 * fw, -0.3),
        (1.23 * fw, 0.2),
        (1.26 * fw, 0.8),
        (1.2 * fw, 1.3),
        (1.06 * fw, 1.68),
        (0.86 * fw, 1.8),
    ]
    inner = [
        (_side_x(outline, -0.35) - 0.07, -0.35),
        (_side_x(outline, 0.3) - 0.03, 0.3),
        (_side_x(outline, 0.75) + 0.02, 0.75),
        (0.56 * fw, 1.2),
        (0.64 * fw, 1.62),
    ]
    fringe = [
        (0.72 * fw, -0.58),
        (0.35, -0.82),
        (0.04, -0.9),
        (-0.04, -0.9),
        (-0.35, -0.82),
        (-0.72 * fw, -0.58),
    ]
    return back, outer, inner, fringe


def _bob_layout(fw: float, outline: np.ndarray) -> Layout:
    """Right-side outlines of a bob down to the jaw, with a fringe."""
    back = [(1.18, -0.3), (1.24, 0.3), (1.2, 0.78), (1.02, 0.98)]
    outer = [(1.2 * fw, -0.3), (1.23 * fw, 0.2), (1.21 * fw, 0.62), (1.13 * fw, 0.9), (0.98 * fw, 1.0)]
    inner = [
        (_side_x(outline, -0.35) - 0.07, -0.35),
        (_side_x(outline, 0.3) - 0.04, 0.3),
        (_side_x(outline, 0.8) + 0.03, 0.8),
        (_side_x(outline, 0.93) + 0.06, 0.93),
    ]
    fringe = [
        (0.82 * fw, -0.48),
        (0.45, -0.52),
        (0.1, -0.47),
        (-0.2, -0.5),
        (-0.55, -0.52),
        (-0.82 * fw, -0.48),
    ]
    return back, outer, inner, fringe
