"""The 2D face model: control points, one displacement field per blendshape, and dense curves.

Coordinates are *face units*: the origin is the midpoint of the eye line, x points to the image
right, y points down, and 1.0 is the head's half-width at the cheekbones. Everything is linear in
the 52 blendshapes, so a whole clip is computed at once::

    control(T, Kc, 2) = neutral + blendshapes @ delta          (+ two small non-linear fixes)
    dense(T, Kd, 2)   = A @ control + b                       (Catmull-Rom curves, offsets)

Laterality: ARKit's ``...Left`` channels act on the *subject's* left, which is drawn on the image
right (+x), as in a non-mirrored camera looking at the person. ``eyeLookInLeft`` therefore moves the
left (image-right) iris towards the nose, i.e. to the image left. ``jawLeft``/``mouthLeft`` move
towards the subject's left (image right). Mirror the image, or swap Left/Right channels, for the
mirrored "selfie" convention.

Head pose is applied as a 2D approximation: every dense point carries a depth on an ellipsoidal
head, so yaw/pitch rotate it about the head centre (silhouette points keep their place), and roll
rotates the head about the neck.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from avzoo.arkit import INDEX, NUM_BLENDSHAPES
from avzoo.render.identity import FaceIdentity

SIDES = ((+1, "Left"), (-1, "Right"))  # +1: subject's left = image right

#: Scalar appearance channels (crease strengths etc.), each in about [0, 1].
AUX_NAMES: tuple[str, ...] = (
    "forehead", "frown", "sneerL", "sneerR", "dimpleL", "dimpleR", "nasoL", "nasoR",
    "cornerL", "cornerR", "eyecreaseL", "eyecreaseR", "blushL", "blushR", "crowL", "crowR",
    "puff", "chin", "tongue",
)  # fmt: skip
AUX = {n: i for i, n in enumerate(AUX_NAMES)}

#: Named key points returned with rendered frames (image pixels), e.g. for mouth crops.
KEYPOINT_NAMES: tuple[str, ...] = (
    "eye_left", "eye_right", "nose_tip", "mouth_left", "mouth_right", "upper_lip", "lower_lip", "chin",
)  # fmt: skip

_JAWS = {  # jaw angle x, y; chin side x, y as a fraction of the chin height
    "oval": (0.77, 0.8, 0.38, 0.93),
    "round": (0.84, 0.74, 0.46, 0.92),
    "square": (0.87, 0.82, 0.5, 0.96),
    "heart": (0.71, 0.8, 0.27, 0.93),
}


def catmull_rom(n: int, samples: int, closed: bool) -> np.ndarray:
    """Weights (n_dense, n) of a uniform Catmull-Rom spline through ``n`` control points."""
    t = np.arange(samples) / samples
    w = 0.5 * np.stack(
        [-t + 2 * t**2 - t**3, 2 - 5 * t**2 + 3 * t**3, t + 4 * t**2 - 3 * t**3, -(t**2) + t**3], 1
    )
    segs = n if closed else n - 1
    rows = np.zeros((segs * samples + (0 if closed else 1), n))
    for s in range(segs):
        for k, off in enumerate((-1, 0, 1, 2)):
            j = s + off
            j = j % n if closed else min(max(j, 0), n - 1)
            rows[s * samples : (s + 1) * samples, j] += w[:, k]
    if not closed:
        rows[-1, n - 1] = 1.0
    return rows


class _Rig:
    """Collects control points and their per-channel displacements."""

    def __init__(self) -> None:
        self.pts: list[np.ndarray] = []
        self.n = 0
        self.moves: list[tuple[int, np.ndarray, np.ndarray]] = []
        self.close_jaw: list[tuple[np.ndarray, np.ndarray]] = []
        self.follows: list[tuple[np.ndarray, np.ndarray, float]] = []

    def add(self, pts) -> np.ndarray:
        pts = np.asarray(pts, float).reshape(-1, 2)
        idx = np.arange(self.n, self.n + len(pts))
        self.pts.append(pts)
        self.n += len(pts)
        return idx

    def move(self, channel: str, idx, dx=0.0, dy=0.0) -> None:
        idx = np.atleast_1d(idx)
        d = np.zeros((len(idx), 2))
        d[:, 0], d[:, 1] = dx, dy
        self.moves.append((INDEX[channel], idx, d))

    def follow(self, idx, leader, factor: float = 1.0) -> None:
        """Points ``idx`` copy ``factor`` times the displacements of points ``leader`` (every channel)."""
        self.follows.append((np.atleast_1d(idx), np.atleast_1d(leader), factor))

    def build(self) -> tuple[np.ndarray, np.ndarray]:
        neutral = np.concatenate(self.pts)
        delta = np.zeros((NUM_BLENDSHAPES, self.n, 2))
        for ch, idx, d in self.moves:
            delta[ch, idx] += d
        for idx, leader, f in self.follows:  # in order: a follower may lead a later follower
            delta[:, idx] += f * delta[:, leader]
        return neutral, delta


class _Dense:
    """Dense points as sparse linear maps of the control points: ``A @ control + b``."""

    def __init__(self, n_ctrl: int, neutral: np.ndarray) -> None:
        self.n_ctrl = n_ctrl
        self.neutral = neutral
        self.blocks: list[np.ndarray] = []
        self.offsets: list[np.ndarray] = []
        self.n = 0

    def _push(self, rows: np.ndarray, offset: np.ndarray | None = None) -> np.ndarray:
        idx = np.arange(self.n, self.n + len(rows))
        self.blocks.append(rows)
        self.offsets.append(np.zeros((len(rows), 2)) if offset is None else offset)
        self.n += len(rows)
        return idx

    def _rows(self, ctrl: np.ndarray, weights: np.ndarray) -> np.ndarray:
        rows = np.zeros((len(weights), self.n_ctrl))
        for j, c in enumerate(ctrl):  # accumulate: a control point may appear twice
            rows[:, c] += weights[:, j]
        return rows

    def curve(
        self, ctrl, samples: int = 1, closed: bool = False, offset=None, scale: float = 1.0, about=None
    ):
        """A Catmull-Rom curve through ``ctrl``; optionally scaled about a point and offset."""
        ctrl = np.asarray(ctrl)
        w = catmull_rom(len(ctrl), samples, closed) if samples > 1 else np.eye(len(ctrl))
        rows = self._rows(ctrl, w) * scale
        off = np.zeros((len(w), 2))
        if about is not None:
            off += (1.0 - scale) * np.asarray(about, float)
        if offset is not None:
            off += np.broadcast_to(np.asarray(offset, float), off.shape)
        return self._push(rows, off)

    def position(self, idx) -> np.ndarray:
        """Neutral positions of dense points built so far."""
        A = np.concatenate(self.blocks)[idx]
        return A @ self.neutral + np.concatenate(self.offsets)[idx]

    def band(self, ctrl, samples: int, half_width) -> np.ndarray:
        """A closed polygon around an open curve (a stroke of varying width, normals from neutral)."""
        ctrl = np.asarray(ctrl)
        w = catmull_rom(len(ctrl), samples, closed=False)
        centre = w @ self.neutral[ctrl]
        tangent = np.gradient(centre, axis=0)
        normal = np.stack([tangent[:, 1], -tangent[:, 0]], 1)
        normal /= np.linalg.norm(normal, axis=1, keepdims=True) + 1e-9
        hw = np.broadcast_to(np.asarray(half_width, float), (len(w),))[:, None]
        rows = self._rows(ctrl, np.concatenate([w, w[::-1]]))
        off = np.concatenate([normal * hw, -(normal * hw)[::-1]])
        return self._push(rows, off)

    def build(self) -> tuple[sparse.csr_matrix, np.ndarray]:
        A = sparse.csr_matrix(np.concatenate(self.blocks))
        return A, np.concatenate(self.offsets)


@dataclass
class FaceGeometry:
    """Identity-specific face model. Build with :func:`build_geometry`."""

    neutral: np.ndarray  # (Kc, 2) control points
    delta: np.ndarray  # (52, Kc, 2)
    close_jaw: np.ndarray  # (Kc, 2) applied with min(mouthClose, jawOpen)
    lid_pairs: tuple[np.ndarray, np.ndarray]  # (upper, lower) control indices: upper.y <= lower.y
    lip_pairs: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # upper outer/inner, lower inner/outer
    A: sparse.csr_matrix  # (Kd, Kc)
    b: np.ndarray  # (Kd, 2)
    depth: np.ndarray  # (Kd,)
    compress: np.ndarray  # (Kd,) 1 for surface points, 0 for silhouette points
    head: np.ndarray  # (Kd,) 1 for points that move with the head, 0 for the torso
    parts: dict[str, np.ndarray]  # name -> dense indices
    aux_neutral: np.ndarray  # (n_aux,)
    aux_delta: np.ndarray  # (52, n_aux)
    sizes: dict[str, float]  # radii etc. in face units
    lit_transform: tuple[np.ndarray, np.ndarray, np.ndarray]  # about, scale (2,), offset (2,) of the lit face
    chin_xscale: float  # the chin shadow is the jaw line narrowed to the neck

    def control(self, blendshapes: np.ndarray) -> np.ndarray:
        """Control points (T, Kc, 2) for blendshapes (T, 52), with lids and lips kept from crossing."""
        T = len(blendshapes)
        flat = blendshapes @ self.delta.reshape(NUM_BLENDSHAPES, -1)
        ctrl = self.neutral[None] + flat.reshape(T, -1, 2)
        both = np.minimum(blendshapes[:, INDEX["mouthClose"]], blendshapes[:, INDEX["jawOpen"]])
        ctrl += both[:, None, None] * self.close_jaw[None]
        up, lo = self.lid_pairs
        ctrl[:, up, 1] = np.minimum(ctrl[:, up, 1], ctrl[:, lo, 1])
        uo, ui, li, lo_ = self.lip_pairs
        cross = ctrl[:, ui, 1] > ctrl[:, li, 1]  # inner lips crossed: meet in the middle
        mid = 0.5 * (ctrl[:, ui, 1] + ctrl[:, li, 1])
        ctrl[:, ui, 1] = np.where(cross, mid, ctrl[:, ui, 1])
        ctrl[:, li, 1] = np.where(cross, mid, ctrl[:, li, 1])
        ctrl[:, uo, 1] = np.minimum(ctrl[:, uo, 1], ctrl[:, ui, 1] - 0.008)  # lips keep a sliver of red
        ctrl[:, lo_, 1] = np.maximum(ctrl[:, lo_, 1], ctrl[:, li, 1] + 0.012)
        return ctrl

    def dense(self, blendshapes: np.ndarray) -> np.ndarray:
        """Dense points (T, Kd, 2) in face units."""
        ctrl = self.control(blendshapes)
        T, Kc, _ = ctrl.shape
        flat = self.A @ ctrl.transpose(1, 0, 2).reshape(Kc, T * 2)
        P = flat.reshape(-1, T, 2).transpose(1, 0, 2) + self.b[None]
        about, scale, offset = self.lit_transform
        P[:, self.parts["face_lit"]] = about + (P[:, self.parts["outline"]] - about) * scale + offset
        P[:, self.parts["chin_shadow"], 0] *= self.chin_xscale
        return P

    def aux(self, blendshapes: np.ndarray) -> np.ndarray:
        """Appearance strengths (T, n_aux) in [0, 1]."""
        return np.clip(self.aux_neutral[None] + blendshapes @ self.aux_delta, 0.0, 1.0)


def _sym(pts_right) -> np.ndarray:
    """Mirror the right half (x >= 0, listed top to bottom) into a closed clockwise contour."""
    right = np.asarray(pts_right, float)
    left = right[1:-1][::-1] * [-1, 1]
    return np.concatenate([right, left])


def _strands(rx: float, ry: float, part: float, cy: float = -0.35) -> list[np.ndarray]:
    """Highlight arcs inside a hair cap of radii (rx, ry) centred at (0, cy), sweeping from the part."""
    out = []
    a_part = np.arccos(np.clip(part / rx, -1, 1))  # angle of the parting on the cap's top
    for f, da in ((0.8, 0.55), (0.88, 0.75), (0.72, 0.4)):
        for sgn in (1, -1):
            a = -a_part + sgn * np.linspace(0.12, 0.12 + da, 4)
            out.append(np.stack([rx * f * np.cos(a), cy + ry * f * np.sin(a)], 1))
    return out


def _hair(style: str, fw: float, top: float, outline: np.ndarray) -> dict[str, list[np.ndarray]]:
    """Hair polygons (face units): 'back' behind the head, 'front' over it, 'strands' lines."""

    def ellipse(cx, cy, rx, ry, n=40, a0=0.0, a1=2 * np.pi, bumps=0, bump=0.0):
        a = np.linspace(a0, a1, n, endpoint=a1 - a0 < 2 * np.pi - 1e-9)
        r = 1.0 + bump * np.abs(np.sin(bumps * a / 2))
        return np.stack([cx + rx * r * np.cos(a), cy + ry * r * np.sin(a)], 1)

    def side_x(y: float) -> float:  # neutral face half-width at height y
        right = outline[outline[:, 0] >= 0]
        order = np.argsort(right[:, 1])
        return float(np.interp(y, right[order, 1], right[order, 0]))

    out: dict[str, list[np.ndarray]] = {"back": [], "front": [], "strands": []}
    w = 1.08 * fw
    if style == "bald":
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
    # the outer cap, over the head top
    cap_outer = ellipse(0, -0.35, w, -top + 0.12, 48, np.pi, 2 * np.pi)
    if style in ("short", "quiff", "buzz", "bun"):
        volume = {"short": 0.1, "quiff": 0.1, "buzz": 0.02, "bun": 0.04}[style]
        cap_outer = ellipse(0, -0.35, w + volume * 0.6, -top - 0.35 + 0.12 + volume, 48, np.pi, 2 * np.pi)
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
            out["front"].append(ellipse(0.15, top - 0.02, 0.62, 0.3, 36))
        if style == "bun":
            out["back"].append(ellipse(0, top - 0.22, 0.36, 0.3, 36))
        if style != "buzz":
            out["strands"] += _strands(w, -top - 0.35 + 0.12 + volume, part)
        return out
    if style == "curly":
        out["back"].append(ellipse(0, -0.45, 1.42 * fw, 1.2, 72, bumps=18, bump=0.06))
        hair_y = -0.72
        xs = np.linspace(-0.95, 0.95, 17) * fw
        ys = hair_y + 0.05 * np.cos(np.linspace(0, 8 * np.pi, 17)) - 0.15 * (xs / fw) ** 4
        hairline = np.stack([xs, ys], 1)[::-1]
        outer = ellipse(0, -0.4, 1.15 * fw, -top + 0.15, 40, np.pi, 2 * np.pi)
        out["front"].append(np.concatenate([[[-1.1 * fw, -0.2]], outer, [[1.1 * fw, -0.2]], hairline]))
        return out
    # bob / long: fringe or centre parting, and side locks framing the face
    long = style == "long"
    if long:
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
            (side_x(-0.35) - 0.07, -0.35),
            (side_x(0.3) - 0.03, 0.3),
            (side_x(0.75) + 0.02, 0.75),
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
    else:
        back = [(1.18, -0.3), (1.24, 0.3), (1.2, 0.78), (1.02, 0.98)]
        outer = [(1.2 * fw, -0.3), (1.23 * fw, 0.2), (1.21 * fw, 0.62), (1.13 * fw, 0.9), (0.98 * fw, 1.0)]
        inner = [
            (side_x(-0.35) - 0.07, -0.35),
            (side_x(0.3) - 0.04, 0.3),
            (side_x(0.8) + 0.03, 0.8),
            (side_x(0.93) + 0.06, 0.93),
        ]
        fringe = [
            (0.82 * fw, -0.48),
            (0.45, -0.52),
            (0.1, -0.47),
            (-0.2, -0.5),
            (-0.55, -0.52),
            (-0.82 * fw, -0.48),
        ]
    back_r = np.array(back) * [fw, 1.0]
    out["back"].append(np.concatenate([back_r[::-1] * [-1, 1], back_r]))
    outer_r, inner_r = np.array(outer), np.array(inner)
    cap_outer = ellipse(0, -0.3, 1.2 * fw, -top + 0.18, 48, np.pi, 2 * np.pi)
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


def _chaikin(p: np.ndarray, iterations: int = 2, closed: bool = True) -> np.ndarray:
    """Corner-cutting smoothing: rounded, never overshooting outlines for the static hair shapes."""
    for _ in range(iterations):
        q = np.roll(p, -1, axis=0) if closed else p[1:]
        a = p if closed else p[:-1]
        cut = np.empty((2 * len(a), 2))
        cut[0::2] = 0.75 * a + 0.25 * q
        cut[1::2] = 0.25 * a + 0.75 * q
        p = cut if closed else np.concatenate([p[:1], cut, p[-1:]])
    return p


def build_geometry(ident: FaceIdentity) -> FaceGeometry:
    """Neutral shape, displacement fields, dense curves and depths for one identity."""
    rig = _Rig()
    fw, fh = ident.face_width, ident.face_height
    ch = 1.25 * fh  # chin bottom

    # ---- head outline -------------------------------------------------------------------
    jx, jy, cx, cyf = _JAWS[ident.jaw]
    right = [
        (0.0, -1.32),
        (0.56 * fw, -1.22),
        (0.88 * fw, -0.92),
        (1.0 * fw, -0.46),
        (1.02 * fw, -0.02),
        (0.925 * fw, 0.38 * fh),
        (jx * fw, jy * fh),
        (min(cx * ident.chin_width, 0.56) * fw, cyf * ch),
        (0.0, ch),
    ]
    outline = rig.add(_sym(right))
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

    # ---- ears, neck, torso --------------------------------------------------------------
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

    # ---- eyes -----------------------------------------------------------------------------
    ex, ew, eh = 0.41 * ident.eye_spacing, 0.215 * ident.eye_size, 0.118 * ident.eye_size
    tilt = 0.03 * ident.eye_tilt
    v5 = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
    v3 = v5[1:4]
    g3 = 1 - v3**2
    eye = {}
    for s, S in SIDES:
        tl5 = -tilt * (v5 + 1) / 2
        up_y = np.array([0.02, -0.8, -0.98, -0.8, 0.0]) * eh + tl5
        lo_y = np.array([0.5, 0.72, 0.62]) * eh + tl5[1:4]
        upper = rig.add(np.stack([s * (ex + v5 * ew), up_y], 1))
        lower = rig.add(np.stack([s * (ex + v3 * ew), lo_y], 1))
        iris = rig.add([(s * ex, -0.04 * eh)])
        vc = np.array([-0.65, 0.0, 0.75])
        crease = rig.add(
            np.stack(
                [s * (ex + vc * ew * 1.02), np.array([-0.98, -1.45, -1.15]) * eh - tilt * (vc + 1) / 2], 1
            )
        )
        vu = np.array([-0.5, 0.15, 0.85])
        under = rig.add(np.stack([s * (ex + vu * ew), np.array([1.45, 1.7, 1.5]) * eh + 0.025], 1))
        eye[s] = dict(upper=upper, lower=lower, iris=iris, crease=crease, under=under)
        u_mid, corners = upper[1:4], upper[[0, 4]]
        closed = 0.45 * eh * g3 + tl5[1:4]
        rig.move(f"eyeBlink{S}", u_mid, dy=closed - up_y[1:4])
        rig.move(f"eyeBlink{S}", lower, dy=closed - lo_y)
        rig.move(f"eyeBlink{S}", crease, dy=0.45 * eh)
        rig.move(f"eyeLookDown{S}", iris, dy=0.55 * eh)
        rig.move(f"eyeLookDown{S}", u_mid, dy=0.3 * eh * g3)
        rig.move(f"eyeLookDown{S}", lower, dy=0.08 * eh * g3)
        rig.move(f"eyeLookDown{S}", crease, dy=0.15 * eh)
        rig.move(f"eyeLookUp{S}", iris, dy=-0.55 * eh)
        rig.move(f"eyeLookUp{S}", u_mid, dy=-0.18 * eh * g3)
        rig.move(f"eyeLookUp{S}", lower, dy=-0.07 * eh * g3)
        rig.move(f"eyeLookUp{S}", crease, dy=-0.1 * eh)
        rig.move(f"eyeLookIn{S}", iris, dx=-s * 0.6 * ew)
        rig.move(f"eyeLookOut{S}", iris, dx=s * 0.6 * ew)
        rig.move(f"eyeSquint{S}", lower, dy=-0.42 * eh * g3)
        rig.move(f"eyeSquint{S}", u_mid, dy=0.2 * eh * g3)
        rig.move(f"eyeSquint{S}", corners[1], dx=-s * 0.012)
        rig.move(f"eyeSquint{S}", under, dy=-0.03)
        rig.move(f"eyeWide{S}", u_mid, dy=-0.42 * eh * g3)
        rig.move(f"eyeWide{S}", lower, dy=0.12 * eh * g3)
        rig.move(f"eyeWide{S}", crease, dy=-0.22 * eh)
        rig.move(f"cheekSquint{S}", lower, dy=-0.22 * eh * g3)
        rig.move(f"cheekSquint{S}", under, dy=-0.07)
        rig.move(f"mouthSmile{S}", lower, dy=-0.1 * eh * g3)
        rig.move(f"mouthSmile{S}", under, dy=-0.035)

    # ---- brows ----------------------------------------------------------------------------
    by = -0.32 - 0.05 * ident.brow_height - 0.05 * (ident.eye_size - 1)
    bx0, bw = 0.13 * ident.eye_spacing, 0.5
    vb = np.array([0.0, 0.35, 0.7, 1.0])
    brow = {}
    for s, S in SIDES:
        brow[s] = rig.add(
            np.stack([s * (bx0 + vb * bw), by + np.array([0.012, -0.045, -0.05, -0.005]) - tilt * vb], 1)
        )
        b = brow[s]
        rig.move(f"browDown{S}", b, dx=-s * np.array([0.05, 0.03, 0.012, 0.0]), dy=[0.09, 0.07, 0.05, 0.035])
        rig.move("browInnerUp", b, dx=-s * np.array([0.012, 0.004, 0, 0]), dy=[-0.11, -0.07, -0.03, 0.0])
        rig.move(f"browOuterUp{S}", b, dy=[0.0, -0.035, -0.075, -0.105])
        rig.move(f"noseSneer{S}", b[:2], dy=[0.03, 0.012])
    forehead = [
        rig.add([(-0.34, y + 0.02), (0.0, y - 0.01), (0.34, y + 0.02)]) for y in (by - 0.3, by - 0.42)
    ]
    for line in forehead:
        rig.move("browInnerUp", line, dy=[-0.03, -0.05, -0.03])
        rig.move("browOuterUpLeft", line[2], dy=-0.03)
        rig.move("browOuterUpRight", line[0], dy=-0.03)
    frown = {}
    for s, _ in SIDES:
        frown[s] = rig.add([(s * 0.05, by - 0.06), (s * 0.06, by + 0.06)])
        rig.follow(frown[s], brow[s][[0, 0]], 0.5)

    # ---- nose -----------------------------------------------------------------------------
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

    # ---- mouth ----------------------------------------------------------------------------
    ym = yn + (ch - yn) * 0.37
    mw = 0.33 * ident.mouth_width
    lt = ident.lip_thickness
    u = np.array([-0.7, -0.4, -0.18, 0.0, 0.18, 0.4, 0.7])
    g = 1 - u**2
    corner = {-1: rig.add([(-mw, ym - 0.005)]), 1: rig.add([(mw, ym - 0.005)])}
    uo = rig.add(
        np.stack([u * mw, ym + lt * np.array([-0.05, -0.077, -0.09, -0.07, -0.09, -0.077, -0.05])], 1)
    )
    ui = rig.add(np.stack([u * mw, ym + np.array([0.0, 0.004, 0.007, 0.01, 0.007, 0.004, 0.0])], 1))
    li = rig.add(np.stack([u * mw, ym + np.array([0.0, 0.004, 0.007, 0.01, 0.007, 0.004, 0.0])], 1))
    lo = rig.add(np.stack([u * mw, ym + lt * np.array([0.06, 0.1, 0.118, 0.124, 0.118, 0.1, 0.06])], 1))
    corners = np.concatenate([corner[-1], corner[1]])
    lips = np.concatenate([uo, ui, li, lo])
    lower_lip = np.concatenate([li, lo])
    upper_lip = np.concatenate([uo, ui])
    csign = np.array([-1.0, 1.0])

    def each_lip(channel, dx_fn, dy_fn):
        for curve, name in ((uo, "uo"), (ui, "ui"), (li, "li"), (lo, "lo")):
            rig.move(channel, curve, dx=dx_fn(name), dy=dy_fn(name))

    # jawOpen: the lower lip rides on the jaw, corners drop a little and come in
    drop = {
        "uo": 0.12 * u**2 - 0.012 * g,
        "ui": 0.12 * u**2 - 0.02 * g,
        "li": 0.12 + 0.25 * g**0.6,
        "lo": 0.12 + 0.23 * g**0.6,
    }
    each_lip("jawOpen", lambda n: -0.03 * u, lambda n: drop[n])
    rig.move("jawOpen", corners, dx=-0.035 * csign, dy=0.12)
    gap = drop["li"] - drop["ui"]
    close_jaw = np.zeros((rig.n, 2))
    close_jaw[li, 1] = close_jaw[lo, 1] = -0.7 * gap
    close_jaw[ui, 1] = close_jaw[uo, 1] = 0.3 * gap
    rig.move("jawForward", lo, dy=0.035 * g**0.5)
    rig.move("jawForward", li, dy=0.006 * g)
    rig.move("jawForward", corners, dy=0.01)
    for ch_name, s in (("jawLeft", 1), ("jawRight", -1)):
        rig.move(ch_name, lower_lip, dx=0.07 * s)
        rig.move(ch_name, upper_lip, dx=0.025 * s)
        rig.move(ch_name, corners, dx=0.035 * s)
    rig.move("mouthClose", uo, dy=0.024 * g)
    rig.move("mouthClose", lo, dy=-0.034 * g)
    rig.move("mouthClose", corners, dx=-0.022 * csign)
    funnel = {"uo": -0.04 * g**0.8, "ui": -0.045 * g**0.8, "li": 0.06 * g**0.8, "lo": 0.075 * g**0.8}
    each_lip("mouthFunnel", lambda n: -0.11 * u, lambda n: funnel[n])
    rig.move("mouthFunnel", corners, dx=-0.11 * csign, dy=0.01)
    pucker = {"uo": -0.03 * g, "ui": 0.0 * g, "li": 0.0 * g, "lo": 0.035 * g}
    each_lip("mouthPucker", lambda n: -0.16 * u, lambda n: pucker[n])
    rig.move("mouthPucker", corners, dx=-0.16 * csign)
    for ch_name, s in (("mouthLeft", 1), ("mouthRight", -1)):
        rig.move(ch_name, lips, dx=0.12 * s)
        rig.move(ch_name, corner[s], dx=0.14 * s, dy=-0.012)
        rig.move(ch_name, corner[-s], dx=0.11 * s)
    for s, S in SIDES:
        w = np.clip(s * u, 0, 1) ** 1.5  # 1 at this side's corner, 0 from the middle on
        pw = np.clip(0.5 + 0.5 * s * u, 0, 1)  # this side fully, the middle half
        uw = np.clip(0.45 + 0.6 * s * u, 0, 1) * g**0.35
        rig.move(f"mouthSmile{S}", corner[s], dx=0.085 * s, dy=-0.11)
        each_lip(
            f"mouthSmile{S}",
            lambda n, w=w, s=s: 0.055 * w * s,
            lambda n, w=w: {"uo": -0.085, "ui": -0.1, "li": -0.1, "lo": -0.09}[n] * w,
        )
        rig.move(f"mouthFrown{S}", corner[s], dx=0.012 * s, dy=0.075)
        each_lip(f"mouthFrown{S}", lambda n: 0.0, lambda n, w=w: 0.072 * w)
        rig.move(f"mouthDimple{S}", corner[s], dx=0.06 * s, dy=-0.015)
        each_lip(f"mouthDimple{S}", lambda n, w=w, s=s: 0.04 * w * s, lambda n, w=w: -0.01 * w)
        rig.move(f"mouthStretch{S}", corner[s], dx=0.08 * s, dy=0.035)
        each_lip(
            f"mouthStretch{S}",
            lambda n, w=w, s=s: 0.05 * w * s,
            lambda n, w=w: {"uo": 0.045, "ui": 0.032, "li": 0.036, "lo": 0.02}[n] * w,
        )
        rig.move(f"mouthPress{S}", uo, dy=0.042 * lt * pw)
        rig.move(f"mouthPress{S}", lo, dy=-0.056 * lt * pw)
        rig.move(f"mouthPress{S}", corner[s], dx=0.02 * s)
        rig.move(f"mouthLowerDown{S}", li, dy=0.085 * uw)
        rig.move(f"mouthLowerDown{S}", lo, dy=0.08 * uw)
        rig.move(f"mouthLowerDown{S}", corner[s], dy=0.012)
        rig.move(f"mouthUpperUp{S}", ui, dy=-0.08 * uw)
        rig.move(f"mouthUpperUp{S}", uo, dy=-0.07 * uw)
        rig.move(f"mouthUpperUp{S}", corner[s], dy=-0.012)
        rig.move(f"noseSneer{S}", upper_lip, dy=-0.03 * np.concatenate([uw, uw]))
    rig.move("mouthRollLower", lo, dy=-0.08 * lt * (0.3 + 0.7 * g))
    rig.move("mouthRollLower", li, dy=-0.01 * g)
    rig.move("mouthRollUpper", uo, dy=0.065 * lt * (0.3 + 0.7 * g))
    rig.move("mouthRollUpper", ui, dy=0.008 * g)
    each_lip(
        "mouthShrugLower",
        lambda n: 0.0,
        lambda n: {"uo": -0.015, "ui": -0.025, "li": -0.025, "lo": -0.045}[n] * g,
    )
    rig.move("mouthShrugLower", corners, dy=-0.006)
    each_lip(
        "mouthShrugUpper",
        lambda n: 0.0,
        lambda n: {"uo": -0.06, "ui": -0.045, "li": -0.045, "lo": -0.03}[n] * g,
    )
    rig.move("mouthShrugUpper", corners, dy=-0.012)
    each_lip("tongueOut", lambda n: 0.0, lambda n: {"uo": -0.01, "ui": -0.03, "li": 0.045, "lo": 0.04}[n] * g)
    each_lip(
        "cheekPuff", lambda n: -0.025 * u, lambda n: {"uo": -0.012, "ui": 0.0, "li": 0.0, "lo": 0.014}[n] * g
    )
    rig.move("cheekPuff", corners, dx=-0.025 * csign)

    # teeth and tongue: upper teeth sit on the skull, the rest rides on the jaw
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
    rig.follow(tongue_out[[0, 4]], ui[[3, 3]], 0.5)
    rig.follow(tongue_out[[0, 4]], li[[3, 3]], 0.5)
    rig.follow(tongue_out[[1, 2, 3]], li[[3, 3, 3]], 0.9)

    # creases around the mouth
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
            [(s * 0.17 * nw, yn - 0.03), (s * (mw + 0.05), ym - 0.13), (s * (mw + 0.08), ym + 0.07)]
        )
        rig.follow(naso[s][0], ala[s][1], 0.8)
        rig.follow(naso[s][1], corner[s], 0.35)
        rig.follow(naso[s][2], corner[s], 0.6)
        rig.move(f"mouthSmile{S}", naso[s][1:], dx=s * 0.02)
        cheek[s] = rig.add([(s * 0.56, 0.42)])
        rig.move(f"mouthSmile{S}", cheek[s], dx=0.02 * s, dy=-0.07)
        rig.move(f"cheekSquint{S}", cheek[s], dy=-0.07)
        rig.move("cheekPuff", cheek[s], dx=0.07 * s, dy=0.04)
        rig.move("cheekPuff", naso[s][1:], dx=0.04 * s)

    # ---- facial hair (rides on the jaw and lips) --------------------------------------------
    beard_outer = beard_inner = moustache = None
    if ident.facial_hair in ("stubble", "beard"):
        beard_outer = rig.add(
            np.concatenate(
                [
                    on[[4]] * [0.97, 1.0] + [0, 0.1],
                    on[5:12] * [1.02, 1.0] + [0, 0.015],
                    on[[12]] * [0.97, 1.0] + [0, 0.1],
                ]
            )
        )
        rig.follow(beard_outer, outline[4:13])
        rows = [
            (-mw - 0.12, ym - 0.13),
            (-mw - 0.06, ym + 0.03),
            (-0.16, ym + 0.22),
            (0.16, ym + 0.22),
            (mw + 0.06, ym + 0.03),
            (mw + 0.12, ym - 0.13),
        ]
        beard_inner = rig.add(rows)
        rig.follow(beard_inner[[0, 5]], np.concatenate([corner[-1], corner[1]]), 0.5)
        rig.follow(beard_inner[[1, 4]], np.concatenate([corner[-1], corner[1]]), 1.0)
        rig.follow(beard_inner[[2, 3]], lo[[2, 4]], 1.0)
    if ident.facial_hair in ("moustache", "beard"):
        mx = np.array([-1.15, -0.7, -0.3, 0.0, 0.3, 0.7, 1.15])
        top = ym - 0.12 * lt - 0.09 + 0.05 * mx**2
        bot = ym - 0.07 * lt + 0.035 * mx**2 * 1.5
        moustache = rig.add(
            np.concatenate([np.stack([mx * mw, top], 1), np.stack([mx[::-1] * mw, bot[::-1]], 1)])
        )
        near = [corner[-1][0], uo[0], uo[2], uo[3], uo[4], uo[6], corner[1][0]]
        rig.follow(moustache, np.array(near + near[::-1]), 0.9)

    # ---- glasses (rigid on the head) -------------------------------------------------------------
    lens = {}
    if ident.glasses != "none":
        a = np.linspace(0, 2 * np.pi, 28, endpoint=False)
        rx, ry = ew + 0.08, 0.2 if ident.glasses == "round" else 0.17
        p = 2.0 if ident.glasses == "round" else 5.0
        cx_, sx_ = np.cos(a), np.sin(a)
        ex_ = np.sign(cx_) * np.abs(cx_) ** (2 / p)
        ey_ = np.sign(sx_) * np.abs(sx_) ** (2 / p)
        for s, _ in SIDES:
            lens[s] = rig.add(np.stack([s * ex + rx * ex_, 0.02 + ry * ey_], 1))
        bridge_g = rig.add([(-(ex - rx) - 0.01, -0.03), (0.0, -0.07), ((ex - rx) + 0.01, -0.03)])
        temples = {s: rig.add([(s * (ex + rx), -0.02), (s * 1.02 * fw, -0.06)]) for s, _ in SIDES}

    hair = _hair(ident.hair_style, fw, -1.32, _sym(right))
    hair_ctrl = {k: [rig.add(_chaikin(p, 2, closed=k != "strands")) for p in v] for k, v in hair.items()}

    neutral, delta = rig.build()
    close_jaw = np.concatenate([close_jaw, np.zeros((rig.n - len(close_jaw), 2))])

    # ---- dense curves ------------------------------------------------------------------------
    dn = _Dense(rig.n, neutral)
    parts: dict[str, np.ndarray] = {}
    parts["outline"] = dn.curve(outline, 8, closed=True)
    shading = 0.13 * ident.light_intensity
    lx, ly = np.cos(ident.light_angle), np.sin(ident.light_angle)
    about = np.array([0.0, -0.05])
    parts["face_lit"] = dn.curve(outline, 8, closed=True)  # replaced by a shrunk, shifted outline in dense()
    lit_transform = (
        about,
        np.array([1 - shading / 2, 1 - shading / 8]),
        np.array([0.9 * lx * shading / 2, 0.6 * ly * shading / 8]),
    )
    # the chin's shadow on the neck: the jaw line narrowed to the neck's width (x scaled in dense())
    parts["chin_shadow"] = np.concatenate(
        [dn.curve(outline[6:11], 4), dn.curve(outline[6:11][::-1], 4, offset=(0, 0.15))]
    )
    chin_xscale = 0.46 / jx
    for s, _ in SIDES:
        parts[f"ear{s}"] = dn.curve(ears[s], 4, closed=True)
        parts[f"ear_inner{s}"] = dn.curve(ear_inner[s], 4)
    parts["neck"] = dn.curve(neck, 4, closed=True)
    parts["torso"] = dn.curve(torso, 5, closed=True)
    parts["collar"] = dn.curve(collar, 4)
    for s, _ in SIDES:
        e = eye[s]
        up = np.concatenate([e["upper"]])
        lo_curve = np.concatenate([e["upper"][[0]], e["lower"], e["upper"][[4]]])
        parts[f"lid_up{s}"] = dn.curve(up, 5)
        parts[f"lid_lo{s}"] = dn.curve(lo_curve, 5)
        # lash line: a stroke sitting on the upper lid, thicker towards the outer corner
        n_l = len(parts[f"lid_up{s}"])
        prof = (
            np.interp(np.linspace(0, 1, n_l), [0, 0.3, 0.85, 1], [0.006, 0.014, 0.024, 0.012])
            * ident.eye_size
        )
        rows_w = catmull_rom(5, 5, False)
        lift = np.stack([np.zeros(n_l), -2 * prof], 1)
        ctrl_rows = np.zeros((2 * n_l, rig.n))
        ctrl_rows[:n_l, up] = rows_w
        ctrl_rows[n_l:, up] = rows_w[::-1]
        parts[f"lash{s}"] = dn._push(ctrl_rows, np.concatenate([np.zeros((n_l, 2)), lift[::-1]]))
        parts[f"crease{s}"] = dn.curve(e["crease"], 5)
        parts[f"under{s}"] = dn.curve(e["under"], 5)
        parts[f"iris{s}"] = dn.curve(e["iris"])
        oc = e["upper"][4]
        parts[f"crow{s}"] = np.concatenate(
            [dn.curve([oc, oc], 1, offset=np.array([[s * dx0, dy0], [s * dx1, dy1]]))
             for dx0, dy0, dx1, dy1 in ((0.05, -0.015, 0.09, -0.04), (0.055, 0.01, 0.1, 0.015), (0.045, 0.035, 0.08, 0.065))]
        )  # fmt: skip
        prof_b = (
            ident.brow_thickness
            * 0.03
            * np.interp(np.linspace(0, 1, 19), [0, 0.25, 0.7, 1], [0.85, 1.0, 0.7, 0.22])
        )
        parts[f"brow{s}"] = dn.band(brow[s], 6, prof_b)
        parts[f"frown{s}"] = dn.curve(frown[s])
        parts[f"nostril{s}"] = dn.curve(nostril[s])
        parts[f"ala{s}"] = dn.curve(ala[s], 4)
        parts[f"sneer{s}"] = np.concatenate([dn.curve(ln) for ln in sneer_lines[s]])
        parts[f"corner_crease{s}"] = dn.curve(corner_crease[s], 3)
        parts[f"dimple{s}"] = dn.curve(dimple[s], 3)
        parts[f"naso{s}"] = dn.curve(naso[s], 5)
        parts[f"cheek{s}"] = dn.curve(cheek[s])
        parts[f"corner{s}"] = dn.curve(corner[s])
    parts["forehead"] = np.concatenate([dn.curve(line, 5) for line in forehead])
    parts["nose_tip"] = dn.curve(nose_tip)
    parts["columella"] = dn.curve(columella, 3)
    parts["bridge"] = dn.curve(bridge, 5)
    seq = lambda mid: np.concatenate([corner[-1], mid, corner[1]])  # noqa: E731
    for name, mid in (("uo", uo), ("ui", ui), ("li", li), ("lo", lo)):
        parts[name] = dn.curve(seq(mid), 4)
    parts["upper_teeth"] = dn.curve(upper_teeth, 3, closed=True)
    parts["gums"] = dn.curve(gums, 3, closed=True)
    parts["lower_teeth"] = dn.curve(lower_teeth, 3, closed=True)
    parts["tongue"] = dn.curve(tongue, 4, closed=True)
    parts["upper_gaps"] = dn.curve(upper_gaps)
    parts["lower_gaps"] = dn.curve(lower_gaps)
    parts["tongue_out"] = dn.curve(tongue_out, 5, closed=True)
    parts["labiomental"] = dn.curve(labiomental, 4)
    parts["lip_shine"] = dn.curve(lip_shine, 3)
    parts["chin_line"] = dn.curve(chin_line, 3)
    if beard_outer is not None:
        parts["beard"] = np.concatenate([dn.curve(beard_outer, 4), dn.curve(beard_inner, 4)])
    if moustache is not None:
        parts["moustache"] = dn.curve(moustache, 3, closed=True)
    if lens:
        for s, _ in SIDES:
            parts[f"lens{s}"] = dn.curve(lens[s])
            parts[f"temple{s}"] = dn.curve(temples[s])
        parts["bridge_glasses"] = dn.curve(bridge_g, 4)
    for k, polys in hair_ctrl.items():
        for i, p in enumerate(polys):
            parts[f"hair_{k}{i}"] = dn.curve(p)
    # key points (copies, so the renderer can report them)
    parts["keypoints"] = np.concatenate(
        [dn.curve(eye[1]["iris"]), dn.curve(eye[-1]["iris"]), dn.curve(nose_tip), dn.curve(corner[1]), dn.curve(corner[-1]),
         dn.curve(uo[[3]]), dn.curve(lo[[3]]), dn.curve(outline[[8]])]
    )  # fmt: skip
    A, b = dn.build()

    # ---- depth for head pose -------------------------------------------------------------------
    pos = A @ neutral + b
    depth = 0.95 * np.sqrt(
        np.clip(1 - (pos[:, 0] / (1.0 * fw)) ** 2 - ((pos[:, 1] - 0.05) / 1.35) ** 2, 0, None)
    )
    compress = np.ones(len(pos))
    head = np.ones(len(pos))
    for name in ("outline", "face_lit", "chin_shadow"):
        compress[parts[name]] = 0.0
        depth[parts[name]] = 0.0
    for name in [n for n in parts if n.startswith("hair_")]:
        compress[parts[name]] = 0.0
        depth[parts[name]] *= 0.6
    for s, _ in SIDES:
        for name in (f"ear{s}", f"ear_inner{s}"):
            depth[parts[name]] = -0.45
    for name in ("nose_tip", "columella", f"nostril{1}", f"nostril{-1}", f"ala{1}", f"ala{-1}"):
        depth[parts[name]] += 0.3
    depth[parts["bridge"]] += 0.2
    if lens:
        for name in ("lens1", "lens-1", "bridge_glasses"):
            depth[parts[name]] += 0.12
    for name in ("torso", "collar"):
        head[parts[name]] = 0.0
        compress[parts[name]] = 0.0
        depth[parts[name]] = 0.0
    nk = parts["neck"]
    head[nk] = np.clip((1.75 - pos[nk, 1]) / 0.9, 0, 1)
    compress[nk] = 0.0
    depth[nk] = 0.0

    # ---- appearance strengths ----------------------------------------------------------------------
    aux0 = np.zeros(len(AUX_NAMES))
    auxd = np.zeros((NUM_BLENDSHAPES, len(AUX_NAMES)))

    def ax(name, channel, k):
        auxd[INDEX[channel], AUX[name]] += k

    aux0[AUX["forehead"]] = 0.25 * ident.age
    aux0[AUX["frown"]] = 0.15 * ident.age
    ax("forehead", "browInnerUp", 0.8)
    ax("forehead", "browOuterUpLeft", 0.3)
    ax("forehead", "browOuterUpRight", 0.3)
    ax("frown", "browDownLeft", 0.5)
    ax("frown", "browDownRight", 0.5)
    ax("puff", "cheekPuff", 1.0)
    ax("chin", "mouthShrugLower", 0.9)
    ax("chin", "mouthPressLeft", 0.15)
    ax("chin", "mouthPressRight", 0.15)
    ax("tongue", "tongueOut", 1.0)
    for s, S in SIDES:
        L = "L" if s > 0 else "R"
        aux0[AUX["naso" + L]] = 0.05 + 0.35 * ident.age
        aux0[AUX["eyecrease" + L]] = 0.25 * ident.age
        aux0[AUX["crow" + L]] = 0.2 * ident.age
        aux0[AUX["blush" + L]] = 0.4 * ident.blush
        ax("sneer" + L, f"noseSneer{S}", 1.0)
        ax("dimple" + L, f"mouthDimple{S}", 1.0)
        ax("dimple" + L, f"mouthSmile{S}", 0.2)
        for ch_, k in (
            (f"mouthSmile{S}", 0.6),
            (f"mouthUpperUp{S}", 0.4),
            (f"noseSneer{S}", 0.4),
            (f"cheekSquint{S}", 0.2),
            ("cheekPuff", -0.3),
        ):
            ax("naso" + L, ch_, k)
        for ch_, k in (
            (f"mouthSmile{S}", 0.7),
            (f"mouthDimple{S}", 0.3),
            (f"mouthPress{S}", 0.35),
            (f"mouthFrown{S}", 0.45),
        ):
            ax("corner" + L, ch_, k)
        for ch_, k in ((f"cheekSquint{S}", 0.8), (f"mouthSmile{S}", 0.3), (f"eyeSquint{S}", 0.3)):
            ax("eyecrease" + L, ch_, k)
        for ch_, k in ((f"cheekSquint{S}", 0.3), (f"mouthSmile{S}", 0.15), ("cheekPuff", 0.2)):
            ax("blush" + L, ch_, k)
        for ch_, k in ((f"eyeSquint{S}", 0.7), (f"cheekSquint{S}", 0.3), (f"mouthSmile{S}", 0.15)):
            ax("crow" + L, ch_, k)

    sizes = {
        "eye_half_height": eh,
        "eye_half_width": ew,
        "iris": 0.88 * eh,
        "pupil": 0.42 * eh,
        "nostril_rx": 0.03 * nw,
        "nostril_ry": 0.016,
        "mouth_half_width": mw,
        "mouth_y": ym,
    }
    return FaceGeometry(
        neutral=neutral,
        delta=delta,
        close_jaw=close_jaw,
        lid_pairs=(
            np.concatenate([eye[1]["upper"][1:4], eye[-1]["upper"][1:4]]),
            np.concatenate([eye[1]["lower"], eye[-1]["lower"]]),
        ),
        lip_pairs=(uo, ui, li, lo),
        A=A,
        b=b,
        depth=depth,
        compress=compress,
        head=head,
        parts=parts,
        aux_neutral=aux0,
        aux_delta=auxd,
        sizes=sizes,
        lit_transform=lit_transform,
        chin_xscale=chin_xscale,
    )
