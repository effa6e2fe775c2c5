"""Emotional expression, idle life and their composition with articulation.

Expressions follow FACS prototypes (Ekman & Friesen's EMFACS; RAVDESS's eight categories),
written as ARKit channels. Each is given at *strong* intensity; *normal* is 55% of it.

=========  =========================  =====================================================
emotion    action units               ARKit pattern (strong)
=========  =========================  =====================================================
neutral    --                         rest
calm       relaxed lids, AU12 weak    eyeBlink .15, eyeSquint .10, mouthSmile .15
happy      AU6 + AU12 (+AU25)         cheekSquint .60, mouthSmile .70, eyeSquint .35, dimple .20
sad        AU1 + AU4 + AU15 + AU17    browInnerUp .70, browDown .20, mouthFrown .55, shrugLower .30
angry      AU4 + AU5 + AU7 + AU24     browDown .75, eyeSquint .40, eyeWide .15, mouthPress .40,
                                      noseSneer .25, mouthFrown .20, jawForward .10
fearful    AU1+2+4 + AU5 + AU20       browInnerUp .80, browOuterUp .45, browDown .25, eyeWide .70,
                                      mouthStretch .45
disgust    AU9 + AU10 + AU15 + AU17   noseSneer .70, mouthUpperUp .40, cheekSquint .30, browDown .30,
                                      mouthFrown .25, shrugLower .30, eyeSquint .20
surprised  AU1 + AU2 + AU5            browInnerUp .70, browOuterUp .80, eyeWide .65
=========  =========================  =====================================================

Around the prototype every speaker has their own style (per-channel gains, left/right
asymmetry, overall expressiveness), expressions ramp in and fluctuate slowly, brows flash on
pitch accents, and idle life runs underneath: blinks (Poisson, ~15/min, fewer in fear and
surprise), gaze fixations with saccades (downcast when sad), and small head motion with nods on
accents. Head pose is returned separately as (T, 3) yaw/pitch/roll in radians, as in Live Link.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import gaussian_filter1d

from avzoo import arkit
from avzoo.arkit import BLENDSHAPE_FPS
from avzoo.emotions import INTENSITY_VALUES, RAVDESS_EMOTIONS, RAVDESS_INTENSITIES, to_ravdess

FPS = BLENDSHAPE_FPS
NORMAL_INTENSITY = INTENSITY_VALUES["normal"]


def _both(d: dict[str, float]) -> dict[str, float]:
    """Expand bilateral stems (``browDown`` -> ``browDownLeft`` + ``browDownRight``)."""
    out = {}
    for k, v in d.items():
        if k in arkit.INDEX:
            out[k] = v
        else:
            out[k + "Left"] = out[k + "Right"] = v
    return out


PROTOTYPES: dict[str, dict[str, float]] = {
    "neutral": {},
    "calm": _both({"eyeBlink": 0.15, "eyeSquint": 0.10, "mouthSmile": 0.15}),
    "happy": _both({"cheekSquint": 0.6, "mouthSmile": 0.7, "eyeSquint": 0.35, "mouthDimple": 0.2}),
    "sad": _both({"browInnerUp": 0.7, "browDown": 0.2, "mouthFrown": 0.55, "mouthShrugLower": 0.3,
                  "eyeLookDown": 0.12}),
    "angry": _both({"browDown": 0.75, "eyeSquint": 0.4, "eyeWide": 0.15, "mouthPress": 0.4, "noseSneer": 0.25,
                    "mouthFrown": 0.2, "jawForward": 0.1}),
    "fearful": _both({"browInnerUp": 0.8, "browOuterUp": 0.45, "browDown": 0.25, "eyeWide": 0.7,
                      "mouthStretch": 0.45}),
    "disgust": _both({"noseSneer": 0.7, "mouthUpperUp": 0.4, "cheekSquint": 0.3, "browDown": 0.3,
                      "mouthFrown": 0.25, "mouthShrugLower": 0.3, "eyeSquint": 0.2}),
    "surprised": _both({"browInnerUp": 0.7, "browOuterUp": 0.8, "eyeWide": 0.65}),
}  # fmt: skip

#: Blinks per minute relative to a speaker's base rate.
_BLINK_FACTOR = {"fearful": 0.6, "surprised": 0.5, "sad": 1.2, "angry": 0.8}


def prototype(emotion: str, intensity: str | float = "strong") -> np.ndarray:
    """The (52,) expression pattern for an emotion at ``"normal"``/``"strong"`` or a gain in [0, 1]."""
    emotion = to_ravdess(emotion)
    gain = _intensity_gain(intensity)
    v = np.zeros(arkit.NUM_BLENDSHAPES, np.float32)
    for k, x in PROTOTYPES[emotion].items():
        v[arkit.INDEX[k]] = x * gain
    return v


def _intensity_gain(intensity: str | float) -> float:
    if isinstance(intensity, str):
        if intensity not in RAVDESS_INTENSITIES:
            raise ValueError(f"intensity must be one of {RAVDESS_INTENSITIES} or a number in [0, 1]")
        return NORMAL_INTENSITY if intensity == "normal" else 1.0
    if not 0.0 <= float(intensity) <= 1.0:
        raise ValueError(f"intensity must be in [0, 1], got {intensity}")
    return float(intensity)


@dataclass
class ExpressionStyle:
    """How one speaker emotes: channel gains, asymmetry, expressiveness and idle habits."""

    gains: np.ndarray = field(default_factory=lambda: np.ones(arkit.NUM_BLENDSHAPES, np.float32))
    expressiveness: float = 1.0
    blink_rate: float = 15.0  # per minute
    gaze_range: float = 0.35
    head_motion: float = 0.03  # radians, standard deviation
    brow_flash: float = 0.2

    @classmethod
    def random(cls, rng: np.random.Generator) -> ExpressionStyle:
        gains = rng.lognormal(0.0, 0.25, arkit.NUM_BLENDSHAPES).astype(np.float32)
        asym = rng.uniform(-0.2, 0.2)
        for i, name in enumerate(arkit.ARKIT_NAMES):
            if name.endswith("Left") and name[:-4] + "Right" in arkit.INDEX:
                j = arkit.INDEX[name[:-4] + "Right"]
                gains[j] = gains[i] * (1 + asym)  # correlated sides, one habitual lean
        return cls(
            gains=gains,
            expressiveness=float(rng.uniform(0.6, 1.3)),
            blink_rate=float(rng.uniform(8, 26)),
            gaze_range=float(rng.uniform(0.15, 0.5)),
            head_motion=float(rng.uniform(0.01, 0.05)),
            brow_flash=float(rng.uniform(0.05, 0.35)),
        )


def _slow_noise(rng: np.random.Generator, n: int, fps: float, seconds: float) -> np.ndarray:
    """Zero-mean unit-ish noise smoothed over ``seconds``."""
    sigma = max(seconds * fps, 1.0)
    x = gaussian_filter1d(rng.standard_normal(n + 1), sigma=sigma, mode="reflect")[:n]
    # White noise through a Gaussian of width sigma has std (2 sqrt(pi) sigma)^-1/2; dividing by
    # the theory rather than the sample std keeps short clips from being blown up.
    return x * np.sqrt(2 * np.sqrt(np.pi) * sigma)


def expression_track(
    emotion: str,
    intensity: str | float,
    n_frames: int,
    fps: float = FPS,
    style: ExpressionStyle | None = None,
    rng: np.random.Generator | None = None,
    accents: Sequence[float] = (),
) -> np.ndarray:
    """Emotion channels over time (T, 52): ramp-in, slow fluctuation, brow flashes on accents."""
    style = style or ExpressionStyle()
    rng = rng or np.random.default_rng(0)
    base = prototype(emotion, intensity) * style.gains * style.expressiveness
    t = np.arange(n_frames) / fps
    onset = rng.uniform(0.15, 0.5)
    envelope = np.clip(t / onset, 0, 1) ** 2 * (3 - 2 * np.clip(t / onset, 0, 1))  # smoothstep ramp-in
    envelope = envelope * (1 + 0.15 * _slow_noise(rng, n_frames, fps, 0.6))
    out = envelope[:, None] * base[None, :]
    flash = np.zeros(n_frames)
    for a in accents:
        flash += np.exp(-0.5 * ((t - a) / 0.12) ** 2)
    for name in ("browInnerUp", "browOuterUpLeft", "browOuterUpRight"):
        out[:, arkit.INDEX[name]] += style.brow_flash * np.clip(flash, 0, 1) * style.gains[arkit.INDEX[name]]
    return np.clip(out, 0, 1).astype(np.float32)


def idle_track(
    n_frames: int,
    fps: float = FPS,
    style: ExpressionStyle | None = None,
    rng: np.random.Generator | None = None,
    emotion: str = "neutral",
    accents: Sequence[float] = (),
) -> tuple[np.ndarray, np.ndarray]:
    """Blinks and gaze as (T, 52) eye channels, and head pose (T, 3) yaw/pitch/roll in radians."""
    style = style or ExpressionStyle()
    rng = rng or np.random.default_rng(0)
    emotion = to_ravdess(emotion)
    out = np.zeros((n_frames, arkit.NUM_BLENDSHAPES), np.float32)
    t = np.arange(n_frames) / fps

    # Blinks: Poisson onsets; fast close (~70 ms), short hold, slower open (~130 ms).
    rate = style.blink_rate * _BLINK_FACTOR.get(emotion, 1.0) / 60.0
    blink = np.zeros(n_frames)
    onset = rng.exponential(1 / rate) * rng.uniform(0.2, 1.0)
    while onset < t[-1] if n_frames else False:
        depth = rng.uniform(0.85, 1.0)
        rel = t - onset
        shape = np.where(rel < 0.07, rel / 0.07, np.where(rel < 0.1, 1.0, 1 - (rel - 0.1) / 0.13))
        blink = np.maximum(blink, depth * np.clip(shape, 0, 1) * (rel >= 0))
        onset += 0.25 + rng.exponential(1 / rate)
    out[:, arkit.INDEX["eyeBlinkLeft"]] = blink
    out[:, arkit.INDEX["eyeBlinkRight"]] = np.clip(blink * rng.uniform(0.95, 1.05), 0, 1)

    # Gaze: fixations held 0.4-2.5 s with near-instant saccades; both eyes move together.
    gx, gy = np.zeros(n_frames), np.zeros(n_frames)
    k = 0
    down_bias = 0.25 if emotion == "sad" else 0.0
    while k < n_frames:
        hold = int(rng.uniform(0.4, 2.5) * fps)
        near_centre = rng.random() < 0.6
        x = rng.normal(0, 0.3 if near_centre else 1.0) * style.gaze_range
        y = rng.normal(-down_bias, 0.2 if near_centre else 0.5) * style.gaze_range
        gx[k : k + hold], gy[k : k + hold] = x, y
        k += max(hold, 1)
    gx, gy = gaussian_filter1d(gx, 0.7), gaussian_filter1d(gy, 0.7)
    # Looking toward the subject's left: left eye looks out, right eye looks in.
    out[:, arkit.INDEX["eyeLookOutLeft"]] = np.clip(gx, 0, 1)
    out[:, arkit.INDEX["eyeLookInRight"]] = np.clip(gx, 0, 1)
    out[:, arkit.INDEX["eyeLookInLeft"]] = np.clip(-gx, 0, 1)
    out[:, arkit.INDEX["eyeLookOutRight"]] = np.clip(-gx, 0, 1)
    for side in ("Left", "Right"):
        out[:, arkit.INDEX["eyeLookUp" + side]] = np.clip(gy, 0, 1)
        out[:, arkit.INDEX["eyeLookDown" + side]] = np.clip(-gy, 0, 1)

    # Head: slow drift on all axes plus a small nod (pitch down) on each accent.
    head = np.stack([_slow_noise(rng, n_frames, fps, s) for s in (0.9, 0.7, 1.2)], axis=1) * style.head_motion
    for a in accents:
        head[:, 1] += 0.04 * np.exp(-0.5 * ((t - a - 0.05) / 0.15) ** 2)
    return out, head.astype(np.float32)


def compose(speech: np.ndarray, expression: np.ndarray, idle: np.ndarray) -> np.ndarray:
    """Blend articulation, expression and idle life into one (T, 52) track in [0, 1].

    Articulation wins where the two compete: rounding (pucker/funnel) suppresses a smile's
    spread, and closure channels are the speech track's alone so lips still seal on /p b m/.
    Blinks combine with expression lid closure by max, not sum.
    """
    if not speech.shape == expression.shape == idle.shape:
        raise ValueError(
            f"shapes differ: speech {speech.shape}, expression {expression.shape}, idle {idle.shape}"
        )
    expr = expression.copy()
    rounding = speech[:, arkit.indices(["mouthPucker", "mouthFunnel"])].max(1, keepdims=True)
    spread = arkit.indices(["mouthSmileLeft", "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight"])
    expr[:, spread] *= 1 - 0.7 * np.clip(rounding, 0, 1)
    expr[:, arkit.indices(["mouthClose", "jawOpen"])] = 0.0
    out = speech + expr + idle
    blinks = arkit.indices("blinks")
    out[:, blinks] = np.maximum(expression[:, blinks], idle[:, blinks])
    return np.clip(out, 0, 1).astype(np.float32)


__all__ = [
    "NORMAL_INTENSITY",
    "PROTOTYPES",
    "RAVDESS_EMOTIONS",
    "ExpressionStyle",
    "compose",
    "expression_track",
    "idle_track",
    "prototype",
]
