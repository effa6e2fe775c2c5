"""Hand-made example poses (ARKit weights) for previews, contact sheets and benchmarks.

These are illustrations of what the renderer can show, not the synthetic corpus's viseme or
emotion tables (those live in :mod:`avzoo.synth`).
"""

from __future__ import annotations

import numpy as np

from avzoo.arkit import from_dict


def _both(stem: str, value: float) -> dict[str, float]:
    return {f"{stem}Left": value, f"{stem}Right": value}


EMOTIONS: dict[str, dict[str, float]] = {
    "neutral": {},
    "happy": {**_both("mouthSmile", 0.85), **_both("cheekSquint", 0.6), **_both("eyeSquint", 0.35), "jawOpen": 0.12,
              **_both("mouthUpperUp", 0.15)},
    "sad": {"browInnerUp": 0.9, **_both("mouthFrown", 0.75), "mouthShrugLower": 0.35, **_both("eyeLookDown", 0.3),
            **_both("eyeSquint", 0.15)},
    "angry": {**_both("browDown", 0.9), **_both("mouthPress", 0.7), **_both("noseSneer", 0.55), **_both("eyeSquint", 0.3),
              "mouthShrugLower": 0.3},
    "surprised": {"browInnerUp": 0.9, **_both("browOuterUp", 0.85), **_both("eyeWide", 0.9), "jawOpen": 0.45,
                  "mouthFunnel": 0.2},
    "disgust": {**_both("noseSneer", 0.9), **_both("mouthUpperUp", 0.65), **_both("browDown", 0.4),
                **_both("eyeSquint", 0.3), "mouthShrugLower": 0.3},
    "fearful": {"browInnerUp": 0.95, **_both("eyeWide", 0.85), **_both("mouthStretch", 0.7), "jawOpen": 0.18,
                **_both("browOuterUp", 0.3)},
}  # fmt: skip

VISEMES: dict[str, dict[str, float]] = {
    "aa": {"jawOpen": 0.6, **_both("mouthLowerDown", 0.25)},
    "oo": {"mouthPucker": 0.85, "mouthFunnel": 0.45, "jawOpen": 0.12},
    "ee": {**_both("mouthStretch", 0.55), **_both("mouthSmile", 0.3), "jawOpen": 0.15, **_both("mouthUpperUp", 0.2)},
    "m": {"mouthClose": 0.15, "jawOpen": 0.1, **_both("mouthPress", 0.5), "mouthRollLower": 0.3, "mouthRollUpper": 0.3},
    "f": {"mouthRollLower": 0.7, **_both("mouthUpperUp", 0.5), "jawOpen": 0.08},
    "th": {"tongueOut": 0.4, "jawOpen": 0.18},
}  # fmt: skip

POSES: dict[str, dict[str, float]] = {**EMOTIONS, **VISEMES}


def pose(name: str) -> np.ndarray:
    """One named pose as a (52,) canonical float32 frame."""
    try:
        return from_dict(POSES[name])
    except KeyError:
        raise ValueError(f"unknown pose {name!r}; known: {sorted(POSES)}") from None
