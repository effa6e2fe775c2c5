"""``FaceRenderer``: 52 ARKit blendshapes (+ identity, head pose, camera) -> uint8 RGB frames."""

from __future__ import annotations

import colorsys
import functools
from dataclasses import dataclass

import cv2
import numpy as np

from avzoo.arkit import NUM_BLENDSHAPES
from avzoo.render import raster as R
from avzoo.render.geometry import AUX, KEYPOINT_NAMES, FaceGeometry, build_geometry
from avzoo.render.identity import FaceIdentity, random_identity

MAX_POSE = np.pi / 2  # radians; the 2D approximation looks right up to about 0.6
_CHUNK = 256  # frames drawn per batch


def _check_blendshapes(blendshapes) -> tuple[np.ndarray, bool]:
    b = np.asarray(blendshapes, dtype=np.float64)
    single = b.ndim == 1
    if single:
        b = b[None]
    if b.ndim != 2 or b.shape[1] != NUM_BLENDSHAPES:
        raise ValueError(
            f"blendshapes must have shape (52,) or (T, 52) in canonical ARKit order, got {b.shape}"
        )
    if len(b) == 0:
        raise ValueError("blendshapes has no frames (T = 0)")
    if not np.isfinite(b).all():
        raise ValueError("blendshapes contain NaN or infinite values; expected floats in [0, 1]")
    if b.min() < -0.01 or b.max() > 1.01:
        raise ValueError(f"blendshapes must lie in [0, 1], got values in [{b.min():.3g}, {b.max():.3g}]")
    return np.clip(b, 0.0, 1.0), single


def _check_size(size) -> tuple[int, int]:
    if isinstance(size, (int, np.integer)):
        h = w = int(size)
    else:
        try:
            h, w = (int(v) for v in size)
        except (TypeError, ValueError):
            raise ValueError(f"size must be an int or an (height, width) pair, got {size!r}") from None
    if not (16 <= h <= 4096 and 16 <= w <= 4096):
        raise ValueError(f"size must be between 16 and 4096 pixels per side, got {(h, w)}")
    return h, w


def _check_pose(head_pose, T: int) -> np.ndarray | None:
    if head_pose is None:
        return None
    p = np.asarray(head_pose, dtype=np.float64)
    if p.ndim == 1:
        p = np.broadcast_to(p, (T, p.shape[0]))
    if p.shape != (T, 3):
        raise ValueError(
            f"head_pose must have shape (3,) or (T, 3) = (yaw, pitch, roll) radians with T={T}, got {p.shape}"
        )
    if not np.isfinite(p).all() or np.abs(p).max() > MAX_POSE:
        raise ValueError(
            f"head_pose angles must be finite radians in [-pi/2, pi/2], got max |angle| {np.abs(p).max():.3g}"
        )
    return p


def _as_rng(rng, seed: int) -> np.random.Generator:
    if rng is None:
        return np.random.default_rng(seed)
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise ValueError(f"rng must be None, a non-negative int seed or a numpy Generator, got {rng!r}")


@dataclass
class _Palette:
    skin: tuple
    lit: tuple
    shadow: tuple
    neck: tuple
    neck_shadow: tuple
    crease: tuple
    highlight: tuple
    blush: tuple
    nostril: tuple
    lip_upper: tuple
    lip_lower: tuple
    lip_line: tuple
    lip_shine: tuple
    mouth: tuple
    tongue: tuple
    tongue_line: tuple
    teeth: tuple
    teeth_lower: tuple
    teeth_gap: tuple
    gums: tuple
    sclera: tuple
    sclera_shadow: tuple
    lash: tuple
    iris: tuple
    iris_ring: tuple
    pupil: tuple
    brow: tuple
    hair: tuple
    hair_back: tuple
    hair_light: tuple
    hair_dark: tuple
    beard: tuple
    stubble: tuple
    shirt: tuple
    shirt_dark: tuple
    glasses: tuple
    ear_lit: tuple
    ear_shadow: tuple


def _palette(ident: FaceIdentity) -> _Palette:
    skin = np.array(ident.skin, float)
    k = ident.light_intensity
    lum = float(skin @ [0.299, 0.587, 0.114])
    dark = 1.0 - lum / 240.0
    lit = skin * (1.0 + 0.04 * k)
    shadow = skin * (0.93 - 0.18 * k) * np.array([1.0, 0.93, 0.95])
    crease = skin * np.array([0.74, 0.6, 0.6])
    lip = R.mix(skin * np.array([0.88, 0.64, 0.64]), ident.lip_tint, 0.38 - 0.15 * dark)
    hair = np.array(ident.hair, float)
    hair_lum = float(hair @ [0.299, 0.587, 0.114])
    brow = hair * 0.8 if hair_lum < 120 else 0.5 * hair * 0.62 + 0.5 * np.array([112, 70, 48])
    if abs(float(brow @ [0.299, 0.587, 0.114]) - lum) < 45:  # brows must read against the skin
        brow = brow * 0.6 if lum > 90 else brow * 0.5 + 10
    lx = np.cos(ident.light_angle)
    hue, sat, _ = colorsys.rgb_to_hsv(*(hair / 255.0))
    dyed = sat > 0.25 and 0.14 < hue < 0.95
    facial = np.array([72, 52, 40], float) if dyed else hair
    return _Palette(
        skin=R.colour(skin),
        lit=R.colour(lit),
        shadow=R.colour(shadow),
        neck=R.colour(shadow * 0.97),
        neck_shadow=R.colour(shadow * 0.87),
        crease=R.colour(crease),
        highlight=R.mix(lit, (255, 250, 245), 0.3),
        blush=R.mix(skin, skin * np.array([1.08, 0.72, 0.74]) + np.array([20, 0, 5]), 0.8),
        nostril=R.colour(skin * np.array([0.45, 0.32, 0.32])),
        lip_upper=R.colour(np.array(lip) * 0.86),
        lip_lower=lip,
        lip_line=R.colour(np.array(lip) * 0.5),
        lip_shine=R.mix(lip, (255, 240, 240), 0.25),
        mouth=(70, 22, 30),
        tongue=(196, 94, 104),
        tongue_line=(150, 60, 72),
        teeth=(246, 244, 236),
        teeth_lower=(224, 220, 212),
        teeth_gap=(200, 194, 186),
        gums=(200, 104, 114),
        sclera=(246, 244, 240),
        sclera_shadow=(212, 204, 204),
        lash=(34, 26, 28),
        iris=R.colour(ident.iris),
        iris_ring=R.colour(np.array(ident.iris) * 0.5),
        pupil=(16, 12, 14),
        brow=R.colour(brow),
        hair=R.colour(hair),
        hair_back=R.colour(hair * 0.78),
        hair_light=R.mix(hair, (255, 250, 240), 0.1),
        hair_dark=R.colour(hair * 0.82),
        beard=R.colour(facial * 0.92),
        stubble=R.mix(skin * 0.9, facial, 0.35),
        shirt=R.colour(ident.shirt),
        shirt_dark=R.colour(np.array(ident.shirt) * 0.7),
        glasses=R.colour(ident.glasses_colour),
        ear_lit=R.colour(lit if lx > 0 else shadow),
        ear_shadow=R.colour(shadow if lx > 0 else lit),
    )


def resolve_identity(identity: FaceIdentity | int | None) -> FaceIdentity:
    """A FaceIdentity as given, ``random_identity(seed)`` for an int, the default face for None."""
    if identity is None:
        return FaceIdentity()
    if isinstance(identity, (int, np.integer)) and not isinstance(identity, bool):
        return random_identity(int(identity))
    if not isinstance(identity, FaceIdentity):
        raise ValueError(
            f"identity must be a FaceIdentity, an int seed or None, got {type(identity).__name__}"
        )
    return identity


@dataclass
class _Canvas:
    """Per-size constants."""

    h: int
    w: int
    ppf: float  # pixels per face unit
    ox: float
    oy: float
    bg: np.ndarray
    gain: np.ndarray


class FaceRenderer:
    """Renders one identity; caches its geometry and per-size layers, so reuse it across clips."""

    def __init__(self, identity: FaceIdentity | int | None = None) -> None:
        identity = resolve_identity(identity)
        self.identity = identity
        self.geometry: FaceGeometry = build_geometry(identity)
        self.palette = _palette(identity)
        self._canvases: dict[tuple[int, int], _Canvas] = {}

    # ---- geometry -------------------------------------------------------------------------
    def _canvas(self, h: int, w: int) -> _Canvas:
        c = self._canvases.get((h, w))
        if c is None:
            ident = self.identity
            ppf = ident.face_scale * min(h, w)
            ox, oy = ident.center_x * w, ident.center_y * h
            c = _Canvas(
                h,
                w,
                ppf,
                ox,
                oy,
                R.background(ident, h, w),
                R.light_gain(ident, h, w, ox, oy + 0.3 * ppf, 1.4 * ppf),
            )
            self._canvases[(h, w)] = c
        return c

    def _camera(self, T: int, rng: np.random.Generator) -> np.ndarray | None:
        """Per-frame (dx, dy, log-scale, rotation) of a smoothly shaking camera, or None."""
        ident = self.identity
        std = np.array(
            [ident.jitter_translate, ident.jitter_translate, ident.jitter_scale, ident.jitter_rotate]
        )
        if not std.any():
            return None
        a = 0.7
        e = rng.standard_normal((T, 4))
        for t in range(1, T):
            e[t] = a * e[t - 1] + np.sqrt(1 - a * a) * e[t]
        return e * std

    def points(self, blendshapes: np.ndarray, size=96, head_pose=None, rng=None) -> np.ndarray:
        """Dense points in image pixels (T, Kd, 2) for validated inputs; see :meth:`render`."""
        b, _ = _check_blendshapes(blendshapes)
        h, w = _check_size(size)
        pose = _check_pose(head_pose, len(b))
        return self._points(
            b, self._canvas(h, w), pose, self._camera(len(b), _as_rng(rng, self.identity.seed))
        )

    def _points(
        self, b: np.ndarray, cv: _Canvas, pose: np.ndarray | None, cam: np.ndarray | None
    ) -> np.ndarray:
        g = self.geometry
        P = g.dense(b)  # (T, Kd, 2) face units
        x, y = P[..., 0], P[..., 1]
        if pose is not None and np.abs(pose).max() > 0:
            yaw, pitch, roll = (pose[:, i : i + 1] for i in range(3))
            c, z, hw = g.compress, g.depth, g.head
            xh = x + c * x * (np.cos(yaw) - 1) + z * np.sin(yaw)
            yc = y - 0.05
            yh = y + c * yc * (np.cos(pitch) - 1) - z * np.sin(pitch)
            px, py = 0.0, 1.2  # roll about the neck
            cr, sr = np.cos(roll), np.sin(roll)
            xr = px + cr * (xh - px) - sr * (yh - py)
            yr = py + sr * (xh - px) + cr * (yh - py)
            x = x + hw * (xr - x)
            y = y + hw * (yr - y)
        X = cv.ox + cv.ppf * x
        Y = cv.oy + cv.ppf * y
        if cam is not None:
            cx, cy = cv.w / 2, cv.h / 2
            s = np.exp(cam[:, 2:3])
            cr, sr = np.cos(cam[:, 3:4]), np.sin(cam[:, 3:4])
            dx, dy = X - cx, Y - cy
            X = cx + s * (cr * dx - sr * dy) + cam[:, 0:1] * cv.w
            Y = cy + s * (sr * dx + cr * dy) + cam[:, 1:2] * cv.h
        return np.stack([X, Y], -1)

    # ---- rendering ---------------------------------------------------------------------------
    def render(self, blendshapes, size=96, head_pose=None, rng=None, return_keypoints: bool = False):
        """Render frames.

        Args:
            blendshapes: (52,) or (T, 52) floats in [0, 1], canonical ARKit order.
            size: output side in pixels, or (height, width).
            head_pose: None, (3,) or (T, 3) yaw, pitch, roll in radians. Yaw > 0 turns the face
                towards the subject's left (image right), pitch > 0 tilts the chin up, roll > 0
                turns the head clockwise in the image.
            rng: None (seeded from the identity), an int seed, or a Generator; drives camera shake
                and sensor noise only.
            return_keypoints: also return a dict of (T, 2) pixel positions (see ``KEYPOINT_NAMES``).

        Returns:
            uint8 RGB frames (T, H, W, 3), or (H, W, 3) for a single (52,) frame.
        """
        b, single = _check_blendshapes(blendshapes)
        h, w = _check_size(size)
        pose = _check_pose(head_pose, len(b))
        gen = _as_rng(rng, self.identity.seed)
        cv = self._canvas(h, w)
        cam = self._camera(len(b), gen)
        frames = np.empty((len(b), h, w, 3), np.uint8)
        kp = np.empty((len(b), len(KEYPOINT_NAMES), 2))
        for t0 in range(0, len(b), _CHUNK):  # bounded memory for long clips; same pixels as one pass
            sl = slice(t0, t0 + _CHUNK)
            P = self._points(b[sl], cv, None if pose is None else pose[sl], None if cam is None else cam[sl])
            self._draw(P, self.geometry.aux(b[sl]), cv, gen, None if pose is None else pose[sl], frames[sl])
            kp[sl] = P[:, self.geometry.parts["keypoints"]]
        if return_keypoints:
            keypoints = {n: kp[:, i] for i, n in enumerate(KEYPOINT_NAMES)}
            if single:
                keypoints = {n: v[0] for n, v in keypoints.items()}
            return (frames[0] if single else frames), keypoints
        return frames[0] if single else frames

    def _draw(
        self, P: np.ndarray, aux: np.ndarray, cv: _Canvas, gen: np.random.Generator, pose, out: np.ndarray
    ):
        """Draw frames for dense points ``P`` (T, Kd, 2 pixels) into ``out`` (T, H, W, 3)."""
        g, pal, ident = self.geometry, self.palette, self.identity
        T, H, W = len(P), cv.h, cv.w
        ppf, one = cv.ppf, R.ONE
        Pi = np.rint(P * one).astype(np.int32)
        dec = 2 if ppf < 30 else 1  # big polygons need fewer points in small frames

        def part(name: str, decimate: bool = False) -> np.ndarray:
            idx = g.parts[name]
            if decimate and dec > 1 and len(idx) > 24:
                idx = idx[::dec]
            return np.ascontiguousarray(Pi[:, idx])

        def boxes(arr: np.ndarray, pad: int = 1) -> list:
            lo = (arr.min(1) >> R.SHIFT) - pad
            hi = (arr.max(1) >> R.SHIFT) + 1 + pad
            return np.stack(
                [lo[:, 0].clip(0, W), lo[:, 1].clip(0, H), hi[:, 0].clip(0, W), hi[:, 1].clip(0, H)], 1
            ).tolist()

        def th(fu: float) -> int:
            return max(1, round(fu * ppf))

        sides = (1, -1)
        side_parts = (
            "ear", "ear_inner", "cheek", "naso", "under", "corner_crease", "dimple", "crow", "sneer", "frown", "ala",
            "nostril", "lid_up", "lid_lo", "lash", "crease", "iris", "brow", "lens", "temple",
        )  # fmt: skip
        sp = {n: [part(f"{n}{s}", n == "ear") for s in sides] for n in side_parts if f"{n}1" in g.parts}
        outline, face_lit = part("outline", True), part("face_lit", True)
        neck, torso, chin_shadow = part("neck", True), part("torso", True), part("chin_shadow")
        hair_back = [part(k, True) for k in g.parts if k.startswith("hair_back")]
        hair_front = [part(k, True) for k in g.parts if k.startswith("hair_front")]
        detail = ppf >= 30  # small extras (shine, strands, teeth gaps) from about 128 px up
        strands = [part(k) for k in g.parts if k.startswith("hair_strands")] if detail else []
        ui, li = part("ui"), part("li")
        eye_poly = [
            np.ascontiguousarray(np.concatenate([sp["lid_up"][i], sp["lid_lo"][i][:, ::-1]], 1))
            for i in (0, 1)
        ]
        eye_box = [boxes(e) for e in eye_poly]
        eye_open = [
            (P[:, g.parts[f"lid_lo{s}"], 1] - P[:, g.parts[f"lid_up{s}"], 1]).max(1) > 0.35 for s in sides
        ]
        mouth_poly = np.ascontiguousarray(np.concatenate([ui, li[:, ::-1]], 1))
        mouth_box = boxes(mouth_poly)
        mouth_open = (P[:, g.parts["li"], 1] - P[:, g.parts["ui"], 1]).max(1) > 0.3
        upper_lip = np.ascontiguousarray(np.concatenate([part("uo"), ui[:, ::-1]], 1))
        lower_lip = np.ascontiguousarray(np.concatenate([li, part("lo")[:, ::-1]], 1))
        tongue_out = part("tongue_out")
        tongue_len = P[:, g.parts["tongue_out"][2], 1] - P[:, g.parts["tongue_out"][0], 1]
        tongue, lower_teeth, upper_teeth, gums = (
            part("tongue"),
            part("lower_teeth"),
            part("upper_teeth"),
            part("gums"),
        )
        upper_gaps, lower_gaps = part("upper_gaps"), part("lower_gaps")
        collar, forehead, chin_line, labiomental = (
            part("collar"),
            part("forehead"),
            part("chin_line"),
            part("labiomental"),
        )
        bridge, columella, lip_shine, nose_tip = (
            part("bridge"),
            part("columella"),
            part("lip_shine"),
            part("nose_tip"),
        )
        beard = part("beard") if "beard" in g.parts else None
        moustache = part("moustache") if "moustache" in g.parts else None
        glasses_bridge = part("bridge_glasses") if "bridge_glasses" in g.parts else None
        # the blush only needs clipping to the face when the head turns
        clip_cheeks = np.zeros(T, bool) if pose is None else np.abs(pose[:, 0]) > 0.03
        A = aux.tolist()
        ax_ = {n: AUX[n] for n in AUX}

        t_line, t_lash, t_frame = th(0.016), th(0.012), th(0.028)
        t_collar, t_bridge, t_fold, t_shine = th(0.035), th(0.022), th(0.02), th(0.018)
        iris_r = round(g.sizes["iris"] * ppf * one)
        ring_r = round(g.sizes["iris"] * ppf * one * 0.8)
        pupil_r = round(g.sizes["pupil"] * ppf * one)
        glint_r = round(g.sizes["pupil"] * ppf * one * 0.5)
        glint_off = (np.array([-0.35, -0.45]) * g.sizes["iris"] * ppf * one).astype(np.int32)
        nos = (
            max(1, round(g.sizes["nostril_rx"] * ppf * one)),
            max(1, round(g.sizes["nostril_ry"] * ppf * one)),
        )
        blush_ax = np.array([0.19, 0.11]) * ppf * one
        blush_rings = ((1.15, 0.35), (0.95, 0.7), (0.75, 1.0)) if detail else ((1.0, 0.8),)
        light_x = float(np.cos(ident.light_angle))
        tip_off = np.array([-0.02 * np.sign(light_x) * ppf * one, -0.04 * ppf * one]).astype(np.int32)
        tip_ax = (int(0.035 * ppf * one), int(0.022 * ppf * one))
        lit = pal.lit
        lit_a = np.array(lit, float)
        crease_a, shadow_a, blush_a = (
            np.array(pal.crease, float),
            np.array(pal.shadow, float),
            np.array(pal.blush, float),
        )
        ramps: dict[int, list] = {}

        def lerp(a: np.ndarray, t: float):  # line colour at strength t over lit skin, from a 33-step table
            ramp = ramps.get(id(a))
            if ramp is None:
                ramp = ramps[id(a)] = [R.colour(lit_a + (a - lit_a) * k / 32) for k in range(33)]
            return ramp[min(max(int(t * 32 + 0.5), 0), 32)]

        def line(img, pts, strength, base=crease_a, thick=t_line):
            if strength > 0.04:
                R.stroke(img, pts, lerp(base, min(strength, 1.0)), thick)

        def segments(img, pts, strength, base=crease_a):
            if strength > 0.04:
                col = lerp(base, min(strength, 1.0))
                for j in range(0, len(pts), 2):
                    R.stroke(img, pts[j : j + 2], col, t_line)

        bridge_col, columella_col, crease_col = (
            lerp(shadow_a, 0.7),
            lerp(crease_a, 0.45),
            lerp(crease_a, 0.55),
        )
        noise = ident.noise
        blur = ident.blur * H / 96.0
        lens_tint = (228, 238, 255)
        ear_col = (pal.ear_lit, pal.ear_shadow)
        strand_col = pal.hair_light if light_x < 0 else pal.hair_dark
        beard_fill = ident.facial_hair == "beard"

        for t in range(T):
            img = out[t]
            np.copyto(img, cv.bg)
            a = A[t]
            # behind the head
            for poly in hair_back:
                R.fill(img, poly[t], pal.hair_back)
            R.fill(img, torso[t], pal.shirt)
            R.stroke(img, collar[t], pal.shirt_dark, t_collar)
            R.fill(img, neck[t], pal.neck)
            R.fill(img, chin_shadow[t], pal.neck_shadow)
            for i in (0, 1):
                R.fill(img, sp["ear"][i][t], ear_col[i])
                R.stroke(img, sp["ear_inner"][i][t], pal.crease, t_line)
            # face with a cel-shaded terminator
            R.fill(img, outline[t], pal.shadow)
            R.fill(img, face_lit[t], lit)
            # cheeks and creases
            puff = a[ax_["puff"]]
            for i, s in enumerate(sides):
                L = "L" if s > 0 else "R"
                strength = a[ax_["blush" + L]]
                if strength > 0.02 or puff > 0.05:
                    c = sp["cheek"][i][t][0]
                    ax = (blush_ax * (1.0 + 0.35 * puff)).astype(int)

                    def draw_cheek(cnv, off, c=c, ax=ax, strength=strength, s=s, puff=puff):
                        q = c - off
                        if strength > 0.02:
                            for f, k in blush_rings:  # concentric rings fake a soft edge
                                R.ellipse(
                                    cnv, q, (int(ax[0] * f), int(ax[1] * f)), lerp(blush_a, k * strength)
                                )
                        if puff > 0.05:
                            hl = q + np.array([-s * ax[0] // 4, -ax[1] // 3])
                            R.ellipse(
                                cnv,
                                hl,
                                (int(ax[0] // 2.5), int(ax[1] // 3.5)),
                                R.mix(lit, pal.highlight, 0.5 * puff),
                            )

                    if clip_cheeks[t]:  # keep the blush on the face when the head turns
                        rx, ry = (int(ax[0] * 1.2) >> R.SHIFT) + 2, (int(ax[1] * 1.2) >> R.SHIFT) + 2
                        cx, cy = int(c[0]) >> R.SHIFT, int(c[1]) >> R.SHIFT
                        bx = (max(cx - rx, 0), max(cy - ry, 0), min(cx + rx + 1, W), min(cy + ry + 1, H))
                        R.clip_to(img, outline[t], bx, draw_cheek)
                    else:
                        draw_cheek(img, 0)
                line(img, sp["naso"][i][t], 0.75 * a[ax_["naso" + L]])
                line(img, sp["under"][i][t], 0.6 * a[ax_["eyecrease" + L]])
                line(img, sp["corner_crease"][i][t], 0.8 * a[ax_["corner" + L]])
                line(img, sp["dimple"][i][t], 0.85 * a[ax_["dimple" + L]])
                segments(img, sp["crow"][i][t], 0.6 * a[ax_["crow" + L]])
                segments(img, sp["sneer"][i][t], 0.75 * a[ax_["sneer" + L]])
                line(img, sp["frown"][i][t], 0.7 * a[ax_["frown"]])
            if a[ax_["forehead"]] > 0.04:
                fh = forehead[t]
                n = len(fh) // 2
                col = lerp(crease_a, 0.55 * a[ax_["forehead"]])
                R.stroke(img, fh[:n], col, t_line)
                R.stroke(img, fh[n:], col, t_line)
            line(img, chin_line[t], 0.6 * a[ax_["chin"]])
            if beard is not None:
                if beard_fill:
                    R.fill(img, beard[t], pal.beard)
                else:
                    R.blend_poly(img, beard[t], pal.stubble, 0.25)
            # nose
            R.stroke(img, bridge[t], bridge_col, t_bridge)
            for i, s in enumerate(sides):
                R.stroke(img, sp["ala"][i][t], pal.crease, t_line)
                R.ellipse(img, sp["nostril"][i][t][0], nos, pal.nostril, angle=-s * 15)
            R.stroke(img, columella[t], columella_col, t_line)
            if detail:
                R.ellipse(img, nose_tip[t][0] + tip_off, tip_ax, pal.highlight)
            # eyes and brows
            for i in (0, 1):
                if eye_open[i][t]:
                    poly = eye_poly[i][t]
                    R.fill(img, poly, pal.sclera)

                    def draw_eye(cnv, off, ic=sp["iris"][i][t][0], lid=sp["lid_up"][i][t]):
                        q = ic - off
                        R.disc(cnv, q, iris_r, pal.iris_ring)
                        R.disc(cnv, q, ring_r, pal.iris)
                        R.disc(cnv, q, pupil_r, pal.pupil)
                        R.disc(cnv, q + glint_off, glint_r, (255, 255, 255))
                        R.stroke(cnv, lid - off, pal.sclera_shadow, t_lash + 1)

                    R.clip_to(img, poly, eye_box[i][t], draw_eye)
                    R.stroke(img, sp["lid_lo"][i][t], pal.crease, t_line)
                R.fill(img, sp["lash"][i][t], pal.lash)
                R.stroke(img, sp["crease"][i][t], crease_col, t_line)
                R.fill(img, sp["brow"][i][t], pal.brow)
            # mouth: interior (tongue, teeth) clipped to the lips' opening, then the lips
            line(img, labiomental[t], 0.45, base=shadow_a, thick=t_fold)
            if mouth_open[t]:
                poly = mouth_poly[t]
                R.fill(img, poly, pal.mouth)

                def draw_mouth(cnv, off, t=t):
                    R.fill(cnv, tongue[t] - off, pal.tongue)
                    R.fill(cnv, lower_teeth[t] - off, pal.teeth_lower)
                    if detail:
                        lg = lower_gaps[t] - off
                        for j in range(0, len(lg), 2):
                            R.stroke(cnv, lg[j : j + 2], pal.teeth_gap, 1)
                    R.fill(cnv, upper_teeth[t] - off, pal.teeth)
                    if detail:
                        ug = upper_gaps[t] - off
                        for j in range(0, len(ug), 2):
                            R.stroke(cnv, ug[j : j + 2], pal.teeth_gap, 1)
                    R.fill(cnv, gums[t] - off, pal.gums)

                R.clip_to(img, poly, mouth_box[t], draw_mouth)
            R.fill(img, lower_lip[t], pal.lip_lower)
            if tongue_len[t] > 0.6 and a[ax_["tongue"]] > 0.02:
                tip = tongue_out[t]
                R.fill(img, tip, pal.tongue)
                R.stroke(
                    img, np.stack([tip[0] // 2 + tip[-1] // 2, tip[len(tip) // 2]]), pal.tongue_line, t_line
                )
            R.fill(img, upper_lip[t], pal.lip_upper)
            R.stroke(img, mouth_poly[t], pal.lip_line, t_line, closed=True)
            if detail:
                R.stroke(img, lip_shine[t], pal.lip_shine, t_shine)
            if moustache is not None:
                R.fill(img, moustache[t], pal.beard)
            # hair over the forehead
            for poly in hair_front:
                R.fill(img, poly[t], pal.hair)
            for arc in strands:
                R.stroke(img, arc[t], strand_col, t_line)
            # glasses
            if glasses_bridge is not None:
                for i in (0, 1):
                    R.blend_poly(img, sp["lens"][i][t], lens_tint, 0.14)
                    R.stroke(img, sp["lens"][i][t], pal.glasses, t_frame, closed=True)
                    R.stroke(img, sp["temple"][i][t], pal.glasses, t_frame)
                R.stroke(img, glasses_bridge[t], pal.glasses, t_frame)
            cv2.multiply(img, cv.gain, dst=img, scale=1.0 / 128)
            if blur > 0.25:
                cv2.GaussianBlur(img, (0, 0), blur, dst=img)
            if noise > 0:
                n = gen.standard_normal((H, W, 3), dtype=np.float32)
                n *= noise
                n += img
                np.clip(n, 0, 255, out=n)
                img[:] = n


@functools.lru_cache(maxsize=16)
def _renderer(identity: FaceIdentity) -> FaceRenderer:
    return FaceRenderer(identity)


def render(
    blendshapes, identity: FaceIdentity | int | None = None, size=96, head_pose=None, rng=None
) -> np.ndarray:
    """Render blendshapes (52,) or (T, 52) for an identity (a FaceIdentity, an int seed, or None).

    See :meth:`FaceRenderer.render`; renderers are cached per identity.
    """
    return _renderer(resolve_identity(identity)).render(blendshapes, size=size, head_pose=head_pose, rng=rng)
