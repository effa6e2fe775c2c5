"""The frame grid shared by every per-frame feature: how many frames a clip has and where they sit.

For ``N`` samples at rate ``sr`` and ``fps`` frames per second there are ``T = ceil(N * fps / sr)``
frames, one per video frame whose time ``t / fps`` falls inside the audio. Frame ``t`` is centred on
sample ``floor(t * sr / fps + 0.5)``; with a fractional hop (16000 / 30 = 533.33 samples) the centres
never drift from ``t / fps``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from avzoo.arkit import BLENDSHAPE_FPS

__all__ = ["MAX_FPS", "frame_centers", "frame_count", "validate_fps"]

MAX_FPS = 1000.0


def validate_fps(fps: Any) -> float:
    """Return ``fps`` as a float, or raise ``ValueError`` unless it is in (0, 1000]."""
    if isinstance(fps, bool) or not isinstance(fps, (int, float, np.integer, np.floating)):
        raise ValueError(f"fps must be a number of frames per second in (0, {MAX_FPS:g}], got {fps!r}")
    value = float(fps)
    if not math.isfinite(value) or not 0.0 < value <= MAX_FPS:
        raise ValueError(f"fps must be in (0, {MAX_FPS:g}] frames per second, got {fps!r}")
    return value


def frame_count(num_samples: int, sampling_rate: float = 16000, fps: float = BLENDSHAPE_FPS) -> int:
    """Number of frames for ``num_samples`` samples: ``ceil(num_samples * fps / sampling_rate)``."""
    # The small tolerance keeps exact multiples (16000 samples at 30 fps -> 30) from rounding up.
    return max(0, math.ceil(num_samples * fps / sampling_rate - 1e-9))


def frame_centers(num_frames: int, sampling_rate: float = 16000, fps: float = BLENDSHAPE_FPS) -> np.ndarray:
    """Centre sample of each frame: ``floor(t * sampling_rate / fps + 0.5)`` for ``t = 0 .. num_frames-1``."""
    return frame_centers_range(0, num_frames, sampling_rate, fps)


def frame_centers_range(
    t0: int, t1: int, sampling_rate: float = 16000, fps: float = BLENDSHAPE_FPS
) -> np.ndarray:
    """Centre samples of frames ``t0 .. t1-1`` (same rule as :func:`frame_centers`)."""
    return np.floor(np.arange(t0, t1, dtype=np.float64) * (sampling_rate / fps) + 0.5).astype(np.int64)
