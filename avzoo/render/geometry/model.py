"""``FaceGeometry``: one identity's face model, evaluated for whole clips of blendshapes at once."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from avzoo.arkit import INDEX, NUM_BLENDSHAPES


@dataclass
class FaceGeometry:
    """Identity-specific face model. Build with :func:`~avzoo.render.geometry.build_geometry`."""

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
