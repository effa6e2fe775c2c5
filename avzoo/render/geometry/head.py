"""The head outline (moved by the jaw and cheeks), ears, neck and torso."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from avzoo.render.geometry.curves import symmetric_contour
from avzoo.render.geometry.rig import SIDES, Dense, Rig
from avzoo.render.identity import FaceIdentity

CROWN_Y = -1.32  # top of the head; hair caps are sized from it

_JAWS = {  # jaw angle x, y; chin side x, y as a fraction of the chin height
    "oval": (0.77, 0.8, 0.38, 0.93),
    "round": (0.84, 0.74, 0.46, 0.92),
    "square": (0.87, 0.82, 0.5, 0.96),
    "heart": (0.71, 0.8, 0.27, 0.93),
}


@dataclass
class Head:
    """Control indices of the head and body, and the proportions other parts fit to."""

    outline: np.ndarray  # 16 points, clockwise from the crown; 8 is the chin
    outline_pts: np.ndarray  # (16, 2) neutral outline
    ears: dict[int, np.ndarray]
    ear_inner: dict[int, np.ndarray]
    neck: np.ndarray
    torso: np.ndarray
    collar: np.ndarray
    chin_y: float  # chin bottom
    jaw_x: float  # jaw angle half-width as a fraction of the face width

    @property
    def chin_xscale(self) -> float:
        """x scale that narrows the jaw line to the neck's width (for the chin's shadow)."""
        return 0.46 / self.jaw_x


def add_head(rig: Rig, ident: FaceIdentity) -> Head:
    """Head outline with its jaw, cheek and mouth-corner motion, then ears, neck, torso and collar."""
    ch = 1.25 * ident.face_height
    jx = _JAWS[ident.jaw][0]
    outline = _add_outline(rig, ident, ch)
    on = rig.pts[-1]
    ears, ear_inner, neck, torso, collar = _add_body(rig, ident.face_width)
    return Head(outline, on, ears, ear_inner, neck, torso, collar, chin_y=ch, jaw_x=jx)


def _add_outline(rig: Rig, ident: FaceIdentity, ch: float) -> np.ndarray:
    fw, fh = ident.face_width, ident.face_height
    jx, jy, cx, cyf = _JAWS[ident.jaw]
    right = [
        (0.0, CROWN_Y),
        (0.56 * fw, -1.22),
        (0.88 * fw, -0.92),
        (1.0 * fw, -0.46),
        (1.02 * fw, -0.02),
        (0.925 * fw, 0.38 * fh),
        (jx * fw, jy * fh),
        (min(cx * ident.chin_width, 0.56) * fw, cyf * ch),
        (0.0, ch),
    ]
    outline = rig.add(symmetric_contour(right))
    on = rig.pts[-1]
    jaw_w = np.array([0, 0, 0, 0, 0, 0.06, 0.4, 0.88, 1.0, 0.88, 0.4, 0.06, 0, 0, 0, 0])
    side = np.sign(on[:, 0])
    rig.move("jawOpen", outline, dx=-0.03 * side * jaw_w, dy=0.36 * jaw_w)
    rig.move("jawOpen", outline[[5, 11]], dx=-0.025 * side[[5, 11]])
    rig.move("jawLeft", outline, dx=0.12 * jaw_w)
    rig.move("jawRight", outline, dx=-0.12 * jaw_w)
    rig.move("jawForward", outline[[7, 8, 9]], dx=[0.03, 0, -0.03], dy=[0.05, 0.06, 0.05])
    rig.move("jawForward", outline[[6, 10]], dy=0.015)
    puff = np.array([0, 0, 0, 0.12, 0.4, 1.0, 0.6, 0.12, 0, 0.12, 0.6, 1.0, 0.4, 0.12, 0, 0])
    rig.move("cheekPuff", outline, dx=0.13 * side * puff, dy=0.02 * puff)
    rig.move("mouthShrugLower", outline[[7, 8, 9]], dy=-0.02)
    for s, S in SIDES:
        k = 5 if s > 0 else 11
        rig.move(f"mouthSmile{S}", outline[k], dx=0.02 * s, dy=-0.01)
        rig.move("mouthPucker", outline[k], dx=-0.025 * s)
        rig.move("mouthFunnel", outline[k], dx=-0.015 * s)
    return outline


def _add_body(
    rig: Rig, fw: float
) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    """Ears (outer, inner), neck, torso and collar: static shapes scaled to the face width."""
    ears, ear_inner = {}, {}
    for s, _ in SIDES:
        ears[s] = rig.add(
            [
                (s * x * fw, y)
                for x, y in [
                    (0.95, -0.2),
                    (1.08, -0.27),
                    (1.18, -0.12),
                    (1.15, 0.17),
                    (1.06, 0.4),
                    (0.94, 0.42),
                ]
            ]
        )
        ear_inner[s] = rig.add(
            [(s * x * fw, y) for x, y in [(1.02, -0.15), (1.11, -0.1), (1.1, 0.14), (1.03, 0.27)]]
        )
    neck = rig.add([(x * fw, y) for x, y in [(-0.4, 0.4), (0.4, 0.4), (0.42, 1.3), (0.56, 1.72), (0.26, 1.9), (0.0, 1.94), (-0.26, 1.9), (-0.56, 1.72), (-0.42, 1.3)]])  # fmt: skip
    torso = rig.add(
        [(x * fw, y) for x, y in [(0.0, 1.72), (0.8, 1.75), (1.45, 1.88), (1.9, 2.15), (2.1, 2.7), (2.2, 3.8), (-2.2, 3.8), (-2.1, 2.7), (-1.9, 2.15), (-1.45, 1.88), (-0.8, 1.75)]]
    )  # fmt: skip
    collar = rig.add(
        [(x * fw, y) for x, y in [(-0.6, 1.73), (-0.28, 1.92), (0.0, 1.97), (0.28, 1.92), (0.6, 1.73)]]
    )
    return ears, ear_inner, neck, torso, collar


def lit_transform(ident: FaceIdentity) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """About, scale and offset that shrink the outline to the lit face, shifted towards the light."""
    shading = 0.13 * ident.light_intensity
    lx, ly = np.cos(ident.light_angle), np.sin(ident.light_angle)
    about = np.array([0.0, -0.05])
    return (
        about,
        np.array([1 - shading / 2, 1 - shading / 8]),
        np.array([0.9 * lx * shading / 2, 0.6 * ly * shading / 8]),
    )


def head_curves(dn: Dense, head: Head) -> dict[str, np.ndarray]:
    """Outline, lit face, chin shadow, ears, neck, torso and collar curves."""
    outline = head.outline
    parts = {"outline": dn.curve(outline, 8, closed=True)}
    parts["face_lit"] = dn.curve(outline, 8, closed=True)  # replaced by a shrunk, shifted outline in dense()
    # the chin's shadow on the neck: the jaw line narrowed to the neck's width (x scaled in dense())
    parts["chin_shadow"] = np.concatenate(
        [dn.curve(outline[6:11], 4), dn.curve(outline[6:11][::-1], 4, offset=(0, 0.15))]
    )
    for s, _ in SIDES:
        parts[f"ear{s}"] = dn.curve(head.ears[s], 4, closed=True)
        parts[f"ear_inner{s}"] = dn.curve(head.ear_inner[s], 4)
    parts["neck"] = dn.curve(head.neck, 4, closed=True)
    parts["torso"] = dn.curve(head.torso, 5, closed=True)
    parts["collar"] = dn.curve(head.collar, 4)
    return parts
