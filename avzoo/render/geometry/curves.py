"""Spline and polygon helpers: Catmull-Rom weights, mirrored contours, corner cutting."""

from __future__ import annotations

import numpy as np


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


def symmetric_contour(pts_right) -> np.ndarray:
    """Mirror the right half (x >= 0, listed top to bottom) into a closed clockwise contour."""
    right = np.asarray(pts_right, float)
    left = right[1:-1][::-1] * [-1, 1]
    return np.concatenate([right, left])


def chaikin(p: np.ndarray, iterations: int = 2, closed: bool = True) -> np.ndarray:
    """Corner-cutting smoothing: rounded, never overshooting outlines for the static hair shapes."""
    for _ in range(iterations):
        q = np.roll(p, -1, axis=0) if closed else p[1:]
        a = p if closed else p[:-1]
        cut = np.empty((2 * len(a), 2))
        cut[0::2] = 0.75 * a + 0.25 * q
        cut[1::2] = 0.25 * a + 0.75 * q
        p = cut if closed else np.concatenate([p[:1], cut, p[-1:]])
    return p
