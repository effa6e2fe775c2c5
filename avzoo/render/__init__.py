"""The 2D face renderer: 52 ARKit blendshapes (+ identity, head pose) -> RGB frames -> video.

A flat-shaded cartoon face drawn with OpenCV polygons at the requested size (fast enough to
render training data on the fly: about 1,400 frames/s at 96 px and 500 at 224 px per CPU core,
see ``benchmarks/render_speed.py``). Every one of the 52 channels moves the drawing where a
face would move.

Conventions:

* Blendshapes are (52,) or (T, 52) floats in [0, 1], canonical ARKit order (:mod:`avzoo.arkit`).
  A (52,) frame gives one (H, W, 3) image; (T, 52) gives (T, H, W, 3) uint8 RGB.
* Left/Right: ARKit's ``...Left`` channels act on the subject's left, drawn on the image right,
  as a non-mirrored camera sees the person. ``eyeLookInLeft`` turns the left (image-right) eye
  towards the nose; ``jawLeft``/``mouthLeft`` move towards the image right. For the mirrored
  "selfie" view, flip the frames horizontally.
* Head pose is (yaw, pitch, roll) radians, applied as a 2D approximation: yaw > 0 turns the face
  towards the subject's left (image right), pitch > 0 tilts the chin up, roll > 0 turns the head
  clockwise in the image. It looks right up to about +-0.6 rad.
* ``rng`` only drives camera shake and sensor noise; ``None`` seeds them from the identity, so
  the same inputs always give the same pixels. Pass a Generator to vary them between clips.

>>> import numpy as np
>>> from avzoo.render import random_identity, render
>>> frames = render(np.zeros((4, 52), np.float32), random_identity(3), size=96)
>>> frames.shape, frames.dtype
((4, 96, 96, 3), dtype('uint8'))
"""

from avzoo.render.geometry import AUX_NAMES, KEYPOINT_NAMES, FaceGeometry, build_geometry
from avzoo.render.identity import (
    BACKGROUNDS,
    FACIAL_HAIR,
    GLASSES,
    HAIR_STYLES,
    JAW_SHAPES,
    SKIN_TONES,
    FaceIdentity,
    random_identity,
)
from avzoo.render.poses import EMOTIONS, POSES, VISEMES, pose
from avzoo.render.renderer import FaceRenderer, render
from avzoo.render.video import render_video

__all__ = [
    "AUX_NAMES",
    "BACKGROUNDS",
    "EMOTIONS",
    "FACIAL_HAIR",
    "GLASSES",
    "HAIR_STYLES",
    "JAW_SHAPES",
    "KEYPOINT_NAMES",
    "POSES",
    "SKIN_TONES",
    "VISEMES",
    "FaceGeometry",
    "FaceIdentity",
    "FaceRenderer",
    "build_geometry",
    "pose",
    "random_identity",
    "render",
    "render_video",
]
