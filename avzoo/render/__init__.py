"""The 2D face renderer: 52 ARKit blendshapes (+ identity, head pose) -> RGB frames -> video.

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
from avzoo.render.renderer import FaceRenderer, render
from avzoo.render.video import render_video

__all__ = [
    "AUX_NAMES",
    "BACKGROUNDS",
    "FACIAL_HAIR",
    "GLASSES",
    "HAIR_STYLES",
    "JAW_SHAPES",
    "KEYPOINT_NAMES",
    "SKIN_TONES",
    "FaceGeometry",
    "FaceIdentity",
    "FaceRenderer",
    "build_geometry",
    "random_identity",
    "render",
    "render_video",
]
