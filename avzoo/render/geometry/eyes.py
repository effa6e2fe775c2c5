"""Eyes (lids, iris, crease, under-eye line) and brows (with the forehead and frown lines)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from avzoo.render.geometry.curves import catmull_rom
from avzoo.render.geometry.rig import SIDES, Dense, Rig
from avzoo.render.identity import FaceIdentity


@dataclass
class Eyes:
    """Control indices per side (``eye[s]``: upper, lower, iris, crease, under) and eye proportions."""

    eye: dict[int, dict[str, np.ndarray]]
    ex: float  # eye centre distance from the midline
    ew: float  # half-width
    eh: float  # half-height
    tilt: float  # outer corners raised by this much


@dataclass
class Brows:
    """Control indices of the brows, forehead lines and frown lines."""

    brow: dict[int, np.ndarray]
    forehead: list[np.ndarray]
    frown: dict[int, np.ndarray]


def add_eyes(rig: Rig, ident: FaceIdentity) -> Eyes:
    """Both eyes with their blink, look, squint and wide motion (and the cheeks' push from below)."""
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
    return Eyes(eye, ex, ew, eh, tilt)


def add_brows(rig: Rig, ident: FaceIdentity, tilt: float) -> Brows:
    """Brows (tilted with the eyes), the forehead lines above them and the frown lines between them."""
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
    return Brows(brow, forehead, frown)


def eye_curves(dn: Dense, eyes: Eyes, s: int, eye_size: float) -> dict[str, np.ndarray]:
    """One eye's lids, lash line, crease, under-eye line, iris centre and crow's feet."""
    e = eyes.eye[s]
    parts = {}
    up = np.concatenate([e["upper"]])
    lo_curve = np.concatenate([e["upper"][[0]], e["lower"], e["upper"][[4]]])
    parts[f"lid_up{s}"] = dn.curve(up, 5)
    parts[f"lid_lo{s}"] = dn.curve(lo_curve, 5)
    # lash line: a stroke sitting on the upper lid, thicker towards the outer corner
    n_l = len(parts[f"lid_up{s}"])
    prof = np.interp(np.linspace(0, 1, n_l), [0, 0.3, 0.85, 1], [0.006, 0.014, 0.024, 0.012]) * eye_size
    rows_w = catmull_rom(5, 5, False)
    lift = np.stack([np.zeros(n_l), -2 * prof], 1)
    ctrl_rows = np.zeros((2 * n_l, dn.n_ctrl))
    ctrl_rows[:n_l, up] = rows_w
    ctrl_rows[n_l:, up] = rows_w[::-1]
    parts[f"lash{s}"] = dn.push(ctrl_rows, np.concatenate([np.zeros((n_l, 2)), lift[::-1]]))
    parts[f"crease{s}"] = dn.curve(e["crease"], 5)
    parts[f"under{s}"] = dn.curve(e["under"], 5)
    parts[f"iris{s}"] = dn.curve(e["iris"])
    oc = e["upper"][4]
    parts[f"crow{s}"] = np.concatenate(
        [dn.curve([oc, oc], 1, offset=np.array([[s * dx0, dy0], [s * dx1, dy1]]))
         for dx0, dy0, dx1, dy1 in ((0.05, -0.015, 0.09, -0.04), (0.055, 0.01, 0.1, 0.015), (0.045, 0.035, 0.08, 0.065))]
    )  # fmt: skip
    return parts


def brow_curves(dn: Dense, brows: Brows, s: int, brow_thickness: float) -> dict[str, np.ndarray]:
    """One brow (a band, thinning towards the outer end) and its frown line."""
    prof_b = (
        brow_thickness * 0.03 * np.interp(np.linspace(0, 1, 19), [0, 0.25, 0.7, 1], [0.85, 1.0, 0.7, 0.22])
    )
    return {f"brow{s}": dn.band(brows.brow[s], 6, prof_b), f"frown{s}": dn.curve(brows.frown[s])}


def forehead_curves(dn: Dense, brows: Brows) -> dict[str, np.ndarray]:
    """The forehead lines, as one part."""
    return {"forehead": np.concatenate([dn.curve(line, 5) for line in brows.forehead])}
