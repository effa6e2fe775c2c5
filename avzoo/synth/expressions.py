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

Label versions (:data:`avzoo.synth.visemes.LABEL_VERSIONS`, ``labels=``): the table above and the
blinks described are ``"v1"``, the default. ``"v2-real"`` (:data:`EXPRESSION_LABELS`) brings them
toward real ARKit captures (``docs/label-realism.md`` section (d), items 2, 5, 8 and 9): brows,
cheeks, nose, eyes and frown at about half the amplitude, lighter press and upper lip, narrower
expressiveness, and blinks log-normal across speakers around 22/min, shallower and shorter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.special import ndtr, ndtri

from avzoo import arkit
from avzoo.arkit import BLENDSHAPE_FPS
from avzoo.emotions import INTENSITY_VALUES, RAVDESS_EMOTIONS, RAVDESS_INTENSITIES, to_ravdess
from avzoo.synth.visemes import LABELS_V1, LABELS_V2_REAL, check_labels

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

# "v2-real": docs/label-realism.md section (d); "(d)n" names the item, whose source is the measured table it
# quotes (idles = the calibrated emotion idle takes, t2a = the Mandarin speech takes, ROM = range of motion).
# Channels not named are v1's (mouthSmile, for one, is about right: p95 .55 vs idles .64, t2a .58).
PROTOTYPES_V2_REAL: dict[str, dict[str, float]] = {
    "neutral": {},
    "calm": _both({"eyeBlink": 0.15, "eyeSquint": 0.10, "mouthSmile": 0.15}),
    "happy": _both({"cheekSquint": 0.45,  # (d)8: .60 -> .45; cheekSquint p95 .49 vs idles .36
                    "mouthSmile": 0.7, "eyeSquint": 0.35, "mouthDimple": 0.2}),
    "sad": _both({"browInnerUp": 0.35,  # (d)8: .70 -> .35; browInnerUp p95 .87 (the ROM's p95) vs idles .32
                  "browDown": 0.2,
                  "mouthFrown": 0.25,  # (d)8: .55 -> .25; mouthFrown p95 .49 vs idles .21, t2a .01
                  "mouthShrugLower": 0.3, "eyeLookDown": 0.12}),
    "angry": _both({"browDown": 0.50,  # (d)8: .75 -> .50; browDown p95 .56 vs idles .43
                    "eyeSquint": 0.4, "eyeWide": 0.15,
                    "mouthPress": 0.10,  # (d)5: .40 -> .10; mouthPress p95 .37 vs t2a .05, idles .04
                    "noseSneer": 0.25, "mouthFrown": 0.2, "jawForward": 0.1}),
    "fearful": _both({"browInnerUp": 0.35,  # (d)8: .80 -> .35
                      "browOuterUp": 0.25,  # (d)8: .45 -> .25; browOuterUp p95 .65 vs idles .37
                      "browDown": 0.25,
                      "eyeWide": 0.45,  # (d)8: .70 -> .45; eyeWide p95 .71 vs idles .48
                      "mouthStretch": 0.45}),
    "disgust": _both({"noseSneer": 0.40,  # (d)8: .70 -> .40; noseSneer p95 .47 vs idles .28
                      "mouthUpperUp": 0.20,  # (d)2: .40 -> .20; mouthUpperUp p95 .31 vs t2a .10
                      "cheekSquint": 0.3, "browDown": 0.3, "mouthFrown": 0.25, "mouthShrugLower": 0.3,
                      "eyeSquint": 0.2}),
    "surprised": _both({"browInnerUp": 0.35,  # (d)8: .70 -> .35
                        "browOuterUp": 0.40,  # (d)8: .80 -> .40
                        "eyeWide": 0.45}),  # (d)8: .65 -> .45
}  # fmt: skip

#: Blinks per minute relative to a speaker's base rate.
_BLINK_FACTOR = {"fearful": 0.6, "surprised": 0.5, "sad": 1.2, "angry": 0.8}


@dataclass(frozen=True)
class _Uniform:
    """A per-speaker habit drawn uniformly from [lo, hi)."""

    lo: float
    hi: float

    def ppf(self, u: float) -> float:
        # What ``rng.uniform(lo, hi)`` computes from ``rng.random()``: v1 draws stay bit-identical.
        return self.lo + (self.hi - self.lo) * u

    def cdf(self, x: float) -> float:
        return float(np.clip((x - self.lo) / (self.hi - self.lo), 0.0, 1.0))


@dataclass(frozen=True)
class _LogNormal:
    """A per-speaker habit drawn log-normally (median, sigma of its log), clipped to [lo, hi]."""

    median: float
    sigma: float
    lo: float
    hi: float

    def ppf(self, u: float) -> float:
        return float(np.clip(self.median * np.exp(self.sigma * ndtri(u)), self.lo, self.hi))

    def cdf(self, x: float) -> float:
        return float(ndtr(np.log(x / self.median) / self.sigma))


@dataclass(frozen=True)
class ExpressionLabels:
    """One label version of expression and idle life: prototypes, per-speaker ranges and the blink's shape.

    ``blink_shape`` is (closed at, reopening from, reopening over) in seconds from the blink's onset;
    ``first_blink_scale`` scales the first onset's exponential wait by U(lo, hi), or leaves it (None).
    """

    prototypes: dict[str, dict[str, float]]
    expressiveness: _Uniform
    blink_rate: _Uniform | _LogNormal  # per minute, before the emotion's factor
    blink_depth: tuple[float, float]
    blink_shape: tuple[float, float, float]
    first_blink_scale: tuple[float, float] | None


#: The expression and idle life of each label version.
EXPRESSION_LABELS: dict[str, ExpressionLabels] = {
    LABELS_V1: ExpressionLabels(
        prototypes=PROTOTYPES,
        expressiveness=_Uniform(0.6, 1.3),
        blink_rate=_Uniform(8.0, 26.0),
        blink_depth=(0.85, 1.0),
        blink_shape=(0.07, 0.1, 0.13),  # close over 70 ms, hold 30 ms, reopen over 130 ms
        first_blink_scale=(0.2, 1.0),
    ),
    LABELS_V2_REAL: ExpressionLabels(
        prototypes=PROTOTYPES_V2_REAL,
        # (d)8: U(0.6, 1.3) -> U(0.6, 1.0); brow/cheek/nose/eye p95 about twice the idles'.
        expressiveness=_Uniform(0.6, 1.0),
        # (d)9: log-normal across people (Bentivoglio et al. 1997: ~17/min at rest, ~26/min in conversation)
        # around 22/min; the idles' per-take rates run 2-37/min, hence the clip to [5, 40].
        blink_rate=_LogNormal(median=22.0, sigma=0.4, lo=5.0, hi=40.0),
        # (d)9: peak closure .92 -> ~.7 (the idles' median blink peak .67).
        blink_depth=(0.5, 0.9),
        # (d)9: no hold and reopen over 100 ms: ~170 ms in all, inside the 100-400 ms of the literature
        # (Schiffman 2001 via BioNumbers; Stern et al. 1984: lid descent ~100 ms); idles: 100 ms at or above .3.
        blink_shape=(0.07, 0.07, 0.10),
        # (d)9: Poisson onsets are memoryless; v1's exponential x U(0.2, 1) first wait inflated the rate
        # on 3-s clips by ~25% (15/min nominal -> 19/min measured).
        first_blink_scale=None,
    ),
}


def prototype(emotion: str, intensity: str | float = "strong", labels: str = LABELS_V1) -> np.ndarray:
    """The (52,) expression pattern for an emotion at ``"normal"``/``"strong"`` or a gain in [0, 1]."""
    emotion = to_ravdess(emotion)
    gain = _intensity_gain(intensity)
    v = np.zeros(arkit.NUM_BLENDSHAPES, np.float32)
    for k, x in EXPRESSION_LABELS[check_labels(labels)].prototypes[emotion].items():
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
    def random(cls, rng: np.random.Generator, labels: str = LABELS_V1) -> ExpressionStyle:
        """A speaker's habits; ``labels`` sets the ranges of expressiveness and blink rate (same draws)."""
        version = EXPRESSION_LABELS[check_labels(labels)]
        gains = rng.lognormal(0.0, 0.25, arkit.NUM_BLENDSHAPES).astype(np.float32)
        asym = rng.uniform(-0.2, 0.2)
        for i, name in enumerate(arkit.ARKIT_NAMES):
            if name.endswith("Left") and name[:-4] + "Right" in arkit.INDEX:
                j = arkit.INDEX[name[:-4] + "Right"]
                gains[j] = gains[i] * (1 + asym)  # correlated sides, one habitual lean
        return cls(
            gains=gains,
            expressiveness=float(version.expressiveness.ppf(rng.random())),
            blink_rate=float(version.blink_rate.ppf(rng.random())),
            gaze_range=float(rng.uniform(0.15, 0.5)),
            head_motion=float(rng.uniform(0.01, 0.05)),
            brow_flash=float(rng.uniform(0.05, 0.35)),
        )

    def relabel(self, labels: str, source: str = LABELS_V1) -> ExpressionStyle:
        """This speaker's habits under another label version: expressiveness and blink rate at the same quantile.

        Speakers are drawn once with ``source``'s ranges (:func:`avzoo.synth.speakers.make_speakers` uses
        v1's); the most expressive speaker stays the most expressive, and gains, gaze, head and brow habits
        are kept.
        """
        if check_labels(labels) == check_labels(source):
            return self
        a, b = EXPRESSION_LABELS[source], EXPRESSION_LABELS[labels]
        return replace(
            self,
            expressiveness=float(b.expressiveness.ppf(a.expressiveness.cdf(self.expressiveness))),
            blink_rate=float(b.blink_rate.ppf(a.blink_rate.cdf(self.blink_rate))),
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
    labels: str = LABELS_V1,
) -> np.ndarray:
    """Emotion channels over time (T, 52): ramp-in, slow fluctuation, brow flashes on accents."""
    style = style or ExpressionStyle()
    rng = rng or np.random.default_rng(0)
    base = prototype(emotion, intensity, labels) * style.gains * style.expressiveness
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
    labels: str = LABELS_V1,
) -> tuple[np.ndarray, np.ndarray]:
    """Blinks and gaze as (T, 52) eye channels, and head pose (T, 3) yaw/pitch/roll in radians."""
    version = EXPRESSION_LABELS[check_labels(labels)]
    style = style or ExpressionStyle()
    rng = rng or np.random.default_rng(0)
    emotion = to_ravdess(emotion)
    out = np.zeros((n_frames, arkit.NUM_BLENDSHAPES), np.float32)
    t = np.arange(n_frames) / fps

    # Blinks: Poisson onsets; fast close (~70 ms), a hold (v1), slower open (the version's blink_shape).
    rate = style.blink_rate * _BLINK_FACTOR.get(emotion, 1.0) / 60.0
    blink = np.zeros(n_frames)
    onset = rng.exponential(1 / rate)
    if version.first_blink_scale is not None:
        onset *= rng.uniform(*version.first_blink_scale)
    closed, reopen, open_s = version.blink_shape
    while onset < t[-1] if n_frames else False:
        depth = rng.uniform(*version.blink_depth)
        rel = t - onset
        shape = np.where(rel < closed, rel / closed, np.where(rel < reopen, 1.0, 1 - (rel - reopen) / open_s))
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
    "EXPRESSION_LABELS",
    "NORMAL_INTENSITY",
    "PROTOTYPES",
    "PROTOTYPES_V2_REAL",
    "RAVDESS_EMOTIONS",
    "ExpressionLabels",
    "ExpressionStyle",
    "compose",
    "expression_track",
    "idle_track",
    "prototype",
]
