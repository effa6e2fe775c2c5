"""Per-point depth and weights for the 2D head-pose approximation."""

from __future__ import annotations

import numpy as np

from avzoo.render.geometry.rig import SIDES


def pose_weights(
    pos: np.ndarray, parts: dict[str, np.ndarray], fw: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Depth, compress and head weights (Kd,) for neutral dense points ``pos`` (Kd, 2).

    Points lie on an ellipsoidal head; silhouettes (outline, hair) keep their place under yaw and
    pitch, ears sit behind the face and the nose in front of it, and the neck blends from the head
    to the torso, which does not move.
    """
    depth = 0.95 * np.sqrt(
        np.clip(1 - (pos[:, 0] / (1.0 * fw)) ** 2 - ((pos[:, 1] - 0.05) / 1.35) ** 2, 0, None)
    )
    compress = np.ones(len(pos))
    head = np.ones(len(pos))
    for name in ("outline", "face_lit", "chin_shadow"):
        compress[parts[name]] = 0.0
        depth[parts[name]] = 0.0
    for name in [n for n in parts if n.startswith("hair_")]:
        compress[parts[name]] = 0.0
        depth[parts[name]] *= 0.6
    for s, _ in SIDES:
        for name in (f"ear{s}", f"ear_inner{s}"):
            depth[parts[name]] = -0.45
    for name in ("nose_tip", "columella", "nostril1", "nostril-1", "ala1", "ala-1"):
        depth[parts[name]] += 0.3
    depth[parts["bridge"]] += 0.2
    if "lens1" in parts:
        for name in ("lens1", "lens-1", "bridge_glasses"):
            depth[parts[name]] += 0.12
    for name in ("torso", "collar"):
        head[parts[name]] = 0.0
        compress[parts[name]] = 0.0
        depth[parts[name]] = 0.0
    nk = parts["neck"]
    head[nk] = np.clip((1.75 - pos[nk, 1]) / 0.9, 0, 1)
    compress[nk] = 0.0
    depth[nk] = 0.0
    return depth, compress, head
