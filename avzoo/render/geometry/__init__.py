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

Each face part lives in its own module (``head``, ``eyes``, ``nose``, ``mouth``, ``teeth``,
``creases``, ``facial_hair``, ``glasses``, ``hair``), with an ``add_*`` builder for its control
points and motion and ``*_curves`` for its dense curves; :func:`build_geometry` runs them in order.
"""

from __future__ import annotations

import numpy as np

from avzoo.render.geometry.appearance import AUX, AUX_NAMES, appearance_strengths
from avzoo.render.geometry.creases import add_creases, crease_curves, crease_side_curves
from avzoo.render.geometry.curves import catmull_rom
from avzoo.render.geometry.depth import pose_weights
from avzoo.render.geometry.eyes import Eyes, add_brows, add_eyes, brow_curves, eye_curves, forehead_curves
from avzoo.render.geometry.facial_hair import add_facial_hair, facial_hair_curves
from avzoo.render.geometry.glasses import add_glasses, glasses_curves
from avzoo.render.geometry.hair import add_hair, hair_curves
from avzoo.render.geometry.head import Head, add_head, head_curves, lit_transform
from avzoo.render.geometry.model import FaceGeometry
from avzoo.render.geometry.mouth import Lips, add_lips, lip_curves
from avzoo.render.geometry.nose import Nose, add_nose, nose_curves, nose_side_curves
from avzoo.render.geometry.rig import SIDES, Dense, Rig
from avzoo.render.geometry.teeth import add_teeth, teeth_curves
from avzoo.render.identity import FaceIdentity

__all__ = ["AUX", "AUX_NAMES", "KEYPOINT_NAMES", "SIDES", "FaceGeometry", "build_geometry", "catmull_rom"]

#: Named key points returned with rendered frames (image pixels), e.g. for mouth crops.
KEYPOINT_NAMES: tuple[str, ...] = (
    "eye_left", "eye_right", "nose_tip", "mouth_left", "mouth_right", "upper_lip", "lower_lip", "chin",
)  # fmt: skip


def build_geometry(ident: FaceIdentity) -> FaceGeometry:
    """Neutral shape, displacement fields, dense curves and depths for one identity."""
    # The call order fixes the control and dense indices (and the drawing order of the hair).
    rig = Rig()
    head = add_head(rig, ident)
    eyes = add_eyes(rig, ident)
    brows = add_brows(rig, ident, eyes.tilt)
    nose = add_nose(rig, ident)
    lips = add_lips(rig, ident, nose.y, head.chin_y)
    teeth = add_teeth(rig, ident, lips)
    creases = add_creases(rig, head, nose, lips)
    facial_hair = add_facial_hair(rig, ident.facial_hair, head, lips)
    glasses = add_glasses(rig, ident.glasses, eyes, ident.face_width)
    hair = add_hair(rig, ident.hair_style, ident.face_width, head.outline_pts)
    neutral, delta = rig.build()
    close_jaw = np.concatenate([lips.close_jaw, np.zeros((rig.n - len(lips.close_jaw), 2))])

    dn = Dense(rig.n, neutral)
    parts = head_curves(dn, head)
    for s, _ in SIDES:
        parts |= eye_curves(dn, eyes, s, ident.eye_size)
        parts |= brow_curves(dn, brows, s, ident.brow_thickness)
        parts |= nose_side_curves(dn, nose, s)
        parts |= crease_side_curves(dn, creases, s)
        parts[f"corner{s}"] = dn.curve(lips.corner[s])
    parts |= forehead_curves(dn, brows)
    parts |= nose_curves(dn, nose)
    parts |= lip_curves(dn, lips)
    parts |= teeth_curves(dn, teeth)
    parts |= crease_curves(dn, creases)
    parts |= facial_hair_curves(dn, facial_hair)
    if glasses is not None:
        parts |= glasses_curves(dn, glasses)
    parts |= hair_curves(dn, hair)
    parts["keypoints"] = _keypoints(dn, head, eyes, nose, lips)
    A, b = dn.build()

    depth, compress, head_weight = pose_weights(A @ neutral + b, parts, ident.face_width)
    aux_neutral, aux_delta = appearance_strengths(ident)
    return FaceGeometry(
        neutral=neutral,
        delta=delta,
        close_jaw=close_jaw,
        lid_pairs=(
            np.concatenate([eyes.eye[1]["upper"][1:4], eyes.eye[-1]["upper"][1:4]]),
            np.concatenate([eyes.eye[1]["lower"], eyes.eye[-1]["lower"]]),
        ),
        lip_pairs=(lips.uo, lips.ui, lips.li, lips.lo),
        A=A,
        b=b,
        depth=depth,
        compress=compress,
        head=head_weight,
        parts=parts,
        aux_neutral=aux_neutral,
        aux_delta=aux_delta,
        sizes=_sizes(eyes, nose, lips),
        lit_transform=lit_transform(ident),
        chin_xscale=head.chin_xscale,
    )


def _keypoints(dn: Dense, head: Head, eyes: Eyes, nose: Nose, lips: Lips) -> np.ndarray:
    """Copies of the points named in :data:`KEYPOINT_NAMES`, in that order, for the renderer to report."""
    return np.concatenate(
        [dn.curve(eyes.eye[1]["iris"]), dn.curve(eyes.eye[-1]["iris"]), dn.curve(nose.tip),
         dn.curve(lips.corner[1]), dn.curve(lips.corner[-1]), dn.curve(lips.uo[[3]]), dn.curve(lips.lo[[3]]),
         dn.curve(head.outline[[8]])]
    )  # fmt: skip


def _sizes(eyes: Eyes, nose: Nose, lips: Lips) -> dict[str, float]:
    """Radii and positions (face units) the renderer draws round shapes with."""
    eh = eyes.eh
    return {
        "eye_half_height": eh,
        "eye_half_width": eyes.ew,
        "iris": 0.88 * eh,
        "pupil": 0.42 * eh,
        "nostril_rx": 0.03 * nose.width,
        "nostril_ry": 0.016,
        "mouth_half_width": lips.half_width,
        "mouth_y": lips.y,
    }
