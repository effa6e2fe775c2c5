"""The two builders every face part writes into: control points (``Rig``) and dense curves (``Dense``)."""

from __future__ import annotations

import numpy as np
from scipy import sparse

from avzoo.arkit import INDEX, NUM_BLENDSHAPES
from avzoo.render.geometry.curves import catmull_rom

SIDES = ((+1, "Left"), (-1, "Right"))  # +1: subject's left = image right


class Rig:
    """Collects control points and their per-channel displacements."""

    def __init__(self) -> None:
        self.pts: list[np.ndarray] = []
        self.n = 0
        self.moves: list[tuple[int, np.ndarray, np.ndarray]] = []
        self.follows: list[tuple[np.ndarray, np.ndarray, float]] = []

    def add(self, pts) -> np.ndarray:
        """Append neutral control points; returns their indices."""
        pts = np.asarray(pts, float).reshape(-1, 2)
        idx = np.arange(self.n, self.n + len(pts))
        self.pts.append(pts)
        self.n += len(pts)
        return idx

    def move(self, channel: str, idx, dx=0.0, dy=0.0) -> None:
        """Displace points ``idx`` by (dx, dy) at full ``channel`` (displacements of a channel add up)."""
        idx = np.atleast_1d(idx)
        d = np.zeros((len(idx), 2))
        d[:, 0], d[:, 1] = dx, dy
        self.moves.append((INDEX[channel], idx, d))

    def follow(self, idx, leader, factor: float = 1.0) -> None:
        """Points ``idx`` copy ``factor`` times the displacements of points ``leader`` (every channel)."""
        self.follows.append((np.atleast_1d(idx), np.atleast_1d(leader), factor))

    def build(self) -> tuple[np.ndarray, np.ndarray]:
        """Neutral points (Kc, 2) and displacement fields (52, Kc, 2)."""
        neutral = np.concatenate(self.pts)
        delta = np.zeros((NUM_BLENDSHAPES, self.n, 2))
        for ch, idx, d in self.moves:
            delta[ch, idx] += d
        for idx, leader, f in self.follows:  # in order: a follower may lead a later follower
            delta[:, idx] += f * delta[:, leader]
        return neutral, delta


class Dense:
    """Dense points as sparse linear maps of the control points: ``A @ control + b``."""

    def __init__(self, n_ctrl: int, neutral: np.ndarray) -> None:
        self.n_ctrl = n_ctrl
        self.neutral = neutral
        self.blocks: list[np.ndarray] = []
        self.offsets: list[np.ndarray] = []
        self.n = 0

    def push(self, rows: np.ndarray, offset: np.ndarray | None = None) -> np.ndarray:
        """Append raw rows (n, Kc) of ``A`` and their offsets; returns the new dense indices."""
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
    ) -> np.ndarray:
        """A Catmull-Rom curve through ``ctrl``; optionally scaled about a point and offset."""
        ctrl = np.asarray(ctrl)
        w = catmull_rom(len(ctrl), samples, closed) if samples > 1 else np.eye(len(ctrl))
        rows = self._rows(ctrl, w) * scale
        off = np.zeros((len(w), 2))
        if about is not None:
            off += (1.0 - scale) * np.asarray(about, float)
        if offset is not None:
            off += np.broadcast_to(np.asarray(offset, float), off.shape)
        return self.push(rows, off)

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
        return self.push(rows, off)

    def build(self) -> tuple[sparse.csr_matrix, np.ndarray]:
        """``A`` (Kd, Kc) and ``b`` (Kd, 2)."""
        A = sparse.csr_matrix(np.concatenate(self.blocks))
        return A, np.concatenate(self.offsets)
