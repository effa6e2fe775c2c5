"""Rendered face + audio -> MP4 (H.264/AAC via :func:`avzoo.io.video.write_video`)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from avzoo.render.identity import FaceIdentity
from avzoo.render.renderer import FaceRenderer, resolve_identity


def render_video(
    blendshapes,
    identity: FaceIdentity | int | None = None,
    fps: float = 30,
    audio: np.ndarray | None = None,
    path: str | os.PathLike = "face.mp4",
    *,
    size=256,
    head_pose=None,
    rng=None,
    sampling_rate: int = 16000,
    camera: bool = False,
) -> Path:
    """Render (T, 52) blendshapes at ``fps`` and write them, with optional mono audio, to an MP4.

    ``audio`` is float in [-1, 1] at ``sampling_rate``; the video is as long as the blendshapes
    (T / fps seconds). This is a viewing video, so by default the camera is steady and clean
    (:meth:`FaceIdentity.still`); ``camera=True`` keeps the identity's shake, noise and blur.
    Frames are held in memory: 30 s at 256 px is about 180 MB. Returns the path written.
    """
    from avzoo.io.video import write_video

    identity = resolve_identity(identity)
    renderer = FaceRenderer(identity if camera else identity.still())
    frames = renderer.render(blendshapes, size=size, head_pose=head_pose, rng=rng)
    if frames.ndim == 3:
        frames = frames[None]
    return write_video(path, frames, fps, audio=audio, sampling_rate=sampling_rate)
