"""Speech-driven life on the upper face: blinks and brow raises on stressed syllables.

Speech-to-blendshape models learn the mouth well and leave the upper face nearly still (the bundled
av-lipsync model's brow/eye channels move with a std of 0.001-0.016; real Live Link idle takes 0.07-0.12).
This module adds that life back from the predicted track alone, so it needs no audio and runs both as
offline post-processing (:func:`add_life`) and in a frame-by-frame streamer (:class:`LifeStream`):

* **Speech activity and stress** come from the mouth opening (``jawOpen`` plus lip opening). A syllable
  is a local peak of the opening; it is *stressed* when it stands out from the running level of the
  utterance's syllable peaks (``stress_ratio``) and from its neighbourhood (``stress_min_prominence``
  within ``stress_window_s``). Each stressed syllable raises the brows (``browInnerUp``,
  ``browOuterUpLeft/Right``), peaking on the syllable offline: raises are aligned with pitch accents and
  typically start before them (Cavé et al. 1996; Gast 2023, Behav. Sci. 13:52).
* **Blinks** are a seeded stochastic process at ``blink_rate_per_min``. A blink that falls due moves (by
  up to ``blink_window_s``) onto a pause onset, or waits for a stressed onset, where real speakers blink;
  the due times are drawn on a fixed clock, so the long-run rate stays the set rate.

Additions never lower a predicted value: blinks take the max with ``eyeBlink*``, brow raises add to the
predicted brows, and the result is clipped to [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import find_peaks

from avzoo.arkit import ARKIT_NAMES, BLENDSHAPE_FPS

_I = {n: i for i, n in enumerate(ARKIT_NAMES)}
_BLINK = [_I["eyeBlinkLeft"], _I["eyeBlinkRight"]]
_SQUINT = [_I["eyeSquintLeft"], _I["eyeSquintRight"]]
_BROW_INNER, _BROW_OUTER = _I["browInnerUp"], [_I["browOuterUpLeft"], _I["browOuterUpRight"]]
_JAW = _I["jawOpen"]
_LIPS = [
    _I[n] for n in ("mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft", "mouthUpperUpRight")
]


@dataclass(frozen=True)
class LifeSettings:
    """Defaults and their sources. "The idle takes" are the ten Live Link Face emotion idle takes
    ``MySlate_161..169_iPhone_cal.csv`` and ``Happy.csv`` (329 s, ~60 fps, jaw nearly still).

    Blink rate: counting ``eyeBlinkLeft`` rising crossings of 0.5 in the idle takes gives 90 blinks in
    328.7 s resampled to 30 fps (16.4/min) and 101 at the native 60 fps (18.4/min), with takes ranging
    0-39/min. That matches Bentivoglio et al. 1997's ~17/min *at rest*; their *conversation* figure is
    ~26/min. We chose 17/min: it is the one figure our own capture data confirms, and those takes are
    what upper-face statistics are compared against. Set 26 for a conversational (talking and listening)
    avatar.
    """

    blinks: bool = True  # blinks are optional
    brows: bool = True  # brow raises are optional
    blink_rate_per_min: float = 17.0  # docstring: idle takes 16.4-18.4/min; Bentivoglio 1997 rest
    blink_close_s: float = 0.07  # idle takes: median 67 ms from 10 % of the blink to its peak (n=101)
    blink_open_s: float = 0.12  # idle takes: median 117 ms from the peak back to 10 %; opening is slower
    blink_amplitude: float = 0.75  # idle takes: median eyeBlinkLeft peak 0.73 (IQR 0.62-0.80)
    blink_amplitude_jitter: float = 0.07  # per-blink normal sd, ~ the IQR above / 2.5
    blink_asymmetry: float = 0.03  # sd of right-minus-left per blink; measured 0.08 incl. tracker noise
    blink_min_gap_s: float = 0.25  # idle takes: 10th percentile of inter-blink intervals is 0.22 s
    blink_window_s: float = 1.0  # design: in synthetic talk 47 % of blinks land in pauses (27 % of time)
    blink_squint: float = 0.0  # idle takes: eyeSquint *drops* 0.055 at blink peaks, so off by default
    brow_inner_gain: float = 0.22  # idle takes: median over takes of browInnerUp p95
    brow_outer_gain: float = 0.18  # idle takes: median p95 of browOuterUp over the 5 takes where it moves
    brow_attack_s: float = 0.15  # design: rise 150 ms up to the syllable; raises precede accents (Gast 2023)
    brow_release_s: float = 0.35  # design choice: "rapid rising-falling" raises (Cavé 1996), 0.5 s in all
    speech_threshold: float = 0.05  # openness; the bundled model rests at 0.02-0.04 in silence
    speech_hangover_s: float = 0.25  # a quieter stretch shorter than this is inside a phrase, not a pause
    stress_window_s: float = 0.3  # prominence window: about one syllable (4-5 syllables/s) each side
    stress_min_prominence: float = 0.05  # openness; stands out from the neighbouring syllables
    stress_ratio: float = 1.3  # tuned: ~19 raises/min offline (~23 streaming) on 12 LibriSpeech clips
    stress_level_peaks: int = 6  # running level = EMA over ~6 syllable peaks (~1.5 s of speech)
    stress_min_gap_s: float = 0.6  # at most one raise per 0.6 s (raises last 0.5 s)

    def __post_init__(self) -> None:
        for name in ("blink_close_s", "blink_open_s", "brow_attack_s", "brow_release_s", "stress_window_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"LifeSettings.{name} must be > 0, got {getattr(self, name)!r}")
        if self.blink_rate_per_min < 0 or self.stress_ratio <= 1 or self.stress_level_peaks < 1:
            raise ValueError(
                "LifeSettings needs blink_rate_per_min >= 0, stress_ratio > 1, stress_level_peaks >= 1"
            )


def _openness(x: np.ndarray) -> np.ndarray:
    """Mouth opening per frame: jawOpen plus half the mean lip opening."""
    return x[..., _JAW] + 0.5 * x[..., _LIPS].mean(axis=-1)


def _frames(seconds: float, fps: float) -> int:
    return max(1, round(seconds * fps))


class _StressRule:
    """Is a syllable peak stressed? Compares it with the running level of the utterance's peaks."""

    def __init__(self, s: LifeSettings, fps: float, level: float | None = None) -> None:
        self.s, self.gap, self.level, self.last = s, _frames(s.stress_min_gap_s, fps), level, -(10**9)

    def __call__(self, t: int, height: float) -> float:
        """Strength (height / level) if the peak at frame ``t`` is stressed, else 0; updates the level."""
        level = self.level if self.level is not None else height
        stressed = height >= self.s.stress_ratio * level and t - self.last >= self.gap
        self.level = level + (height - level) / self.s.stress_level_peaks
        if stressed:
            self.last = t
        return height / level if stressed else 0.0


def _bump(k: int, up: int, down: int) -> float:
    """Raised-cosine rise over ``up`` frames to 1 at ``k == up``, then fall over ``down`` frames."""
    phase = k / up if k <= up else 1 + min(k - up, down) / down
    return 0.5 - 0.5 * np.cos(np.pi * phase)


class _Animator:
    """Blink scheduler and envelope renderer, shared by the offline and the streaming form (causal)."""

    def __init__(self, s: LifeSettings, fps: float, rng: np.random.Generator) -> None:
        self.s, self.rng, self.t, self.last_blink = s, rng, 0, -(10**9)
        self.blink_shape = (_frames(s.blink_close_s, fps), _frames(s.blink_open_s, fps))
        self.brow_shape = (_frames(s.brow_attack_s, fps), _frames(s.brow_release_s, fps))
        self.window, self.gap = _frames(s.blink_window_s, fps), _frames(s.blink_min_gap_s, fps)
        on = s.blinks and s.blink_rate_per_min > 0
        self.mean_interval = 60.0 * fps / s.blink_rate_per_min if on else np.inf
        self.due = self.rng.exponential(self.mean_interval) if on else np.inf
        self.events: list[tuple[int, tuple[int, int], np.ndarray]] = []  # (start, shape, (L, R, brow) amps)

    def step(self, silent: bool, pause_onset: bool, stress: float) -> np.ndarray:
        """Advance one frame; returns this frame's (blink left, blink right, brow raise fraction)."""
        s, t, d = self.s, self.t, self.due
        if stress > 0 and s.brows:  # raise scale: 0.5 at the stress threshold, 1 at twice its excess
            scale = np.clip((stress - 1) / (2 * s.stress_ratio - 2), 0.5, 1.0)
            self.events.append((t, self.brow_shape, np.array([0.0, 0.0, scale])))
        # A due blink may come early for a pause onset (where speakers blink most), and waits up to the
        # window for a pause or a stressed onset while speech goes on.
        early = t >= d - self.window and pause_onset
        if t - self.last_blink >= self.gap and (
            early or t >= d + self.window or (t >= d and (silent or stress > 0))
        ):
            # Due times follow a fixed Poisson clock (exponential intervals: the idle takes' median gap,
            # 1.3 s, is far below their mean, 3.6 s), so moving a blink does not change the long-run rate.
            self.due += self.rng.exponential(self.mean_interval)
            amp = self.rng.normal(s.blink_amplitude, s.blink_amplitude_jitter)
            right = amp + self.rng.normal(0, s.blink_asymmetry)  # eyes together, a tiny asymmetry
            self.events.append((t, self.blink_shape, np.clip([amp, right, 0.0], 0, 1)))
            self.last_blink = t
        self.events = [e for e in self.events if t - e[0] <= sum(e[1])]
        out = np.zeros(3)
        for start, shape, amps in self.events:
            out = np.maximum(out, _bump(t - start, *shape) * amps)
        self.t += 1
        return out


def _apply(x: np.ndarray, life: np.ndarray, s: LifeSettings) -> np.ndarray:
    """Add (T, 3) life (blink L, blink R, brow) to (T, 52) frames; never lowers, clips to [0, 1]."""
    out = np.array(x, dtype=np.float64)
    out[:, _BLINK] = np.maximum(out[:, _BLINK], life[:, :2])
    out[:, _SQUINT] += s.blink_squint * life[:, :2]
    out[:, _BROW_INNER] += s.brow_inner_gain * life[:, 2]
    out[:, _BROW_OUTER] += s.brow_outer_gain * life[:, 2:3]
    return np.clip(np.maximum(out, x), 0.0, 1.0)


def _validate(x: np.ndarray, fps: float, ndims: tuple[int, ...], settings: LifeSettings | None) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim not in ndims or x.shape[-1] != len(ARKIT_NAMES) or x.dtype.kind not in "fiu":
        want = " or ".join({2: "(T, 52)", 3: "(B, T, 52)"}[n] for n in ndims)
        raise ValueError(
            f"blendshapes must be a numeric array of shape {want}, got shape {x.shape} dtype {x.dtype}"
        )
    if not np.isfinite(x).all():
        raise ValueError(f"blendshapes contain {int((~np.isfinite(x)).sum())} non-finite values (NaN or inf)")
    if not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a finite number > 0, got {fps!r}")
    if settings is not None and not isinstance(settings, LifeSettings):
        raise ValueError(f"settings must be a LifeSettings, got {type(settings).__name__}")
    return x


def _speaking(o: np.ndarray, s: LifeSettings, fps: float) -> np.ndarray:
    """Causal speech activity: loud within the last ``speech_hangover_s`` (same rule as the stream)."""
    t = np.arange(len(o))
    last_loud = np.maximum.accumulate(np.where(o > s.speech_threshold, t, -(10**9)))
    return t - last_loud < _frames(s.speech_hangover_s, fps)


def add_life(
    blendshapes: np.ndarray, fps: float = BLENDSHAPE_FPS, seed: int = 0, settings: LifeSettings | None = None
) -> np.ndarray:
    """Offline: add blinks and stress-driven brow raises to a (T, 52) track; returns a new array.

    Stress peaks are found with both sides of each syllable in view (``scipy.signal.find_peaks``), and a
    brow raise peaks on its syllable. Deterministic for a ``seed``; empty input gives empty output.
    """
    x = _validate(blendshapes, fps, (2,), settings)
    s = settings or LifeSettings()
    if len(x) == 0:
        return x.astype(np.float64 if x.dtype.kind != "f" else x.dtype, copy=True)
    o = _openness(x.astype(np.float64))
    speaking = _speaking(o, s, fps)
    w = _frames(s.stress_window_s, fps)
    peaks = [p for p in find_peaks(o, prominence=s.stress_min_prominence, wlen=2 * w + 1)[0] if speaking[p]]
    # Offline, the running level starts from the utterance's first syllables instead of the first one.
    rule = _StressRule(s, fps, float(np.median(o[peaks[: s.stress_level_peaks]])) if peaks else None)
    stress = np.zeros(len(x))
    for p in peaks:
        start = max(0, p - _frames(s.brow_attack_s, fps))  # so that the raise peaks on the syllable
        stress[start] = max(stress[start], rule(p, o[p]))
    anim = _Animator(s, fps, np.random.default_rng([seed, 0]))
    pause = np.r_[False, speaking[:-1] & ~speaking[1:]]
    life = np.array([anim.step(not speaking[t], pause[t], stress[t]) for t in range(len(x))])
    return _apply(x, life, s).astype(x.dtype if x.dtype.kind == "f" else np.float64)


class LifeStream:
    """Causal, frame-by-frame :func:`add_life` for streamers: ``stream(frames)`` per chunk, ``reset()``.

    Latency: 0 added frames. Output frame ``t`` depends only on input frames ``<= t``: a syllable peak is
    recognised one frame after it, so a brow raise starts then and peaks ``brow_attack_s`` + 1 frame after
    the syllable (offline it peaks on it). Chunks are (n, 52) or (B, n, 52) with one independent state per
    row (row ``b`` seeded by ``(seed, b)``); the output does not depend on how the input is chunked.
    """

    def __init__(
        self, fps: float = BLENDSHAPE_FPS, seed: int = 0, settings: LifeSettings | None = None
    ) -> None:
        _validate(np.zeros((0, len(ARKIT_NAMES))), fps, (2,), settings)
        self.fps, self.seed, self.settings = float(fps), seed, settings or LifeSettings()
        self.reset()

    def reset(self) -> None:
        """Forget the past: the next chunk starts a new take (same seed, same blinks)."""
        self._rows: list[dict] = []

    def _new_row(self, b: int) -> dict:
        anim = _Animator(self.settings, self.fps, np.random.default_rng([self.seed, b]))
        rule = _StressRule(self.settings, self.fps)  # the running level starts from the first syllable
        return {"anim": anim, "rule": rule, "hist": [], "since_loud": 10**9, "speaking": False}

    def _step(self, r: dict, frame: np.ndarray) -> np.ndarray:
        s, o = self.settings, float(_openness(frame))
        r["since_loud"] = 0 if o > s.speech_threshold else r["since_loud"] + 1
        speaking = r["since_loud"] < _frames(s.speech_hangover_s, self.fps)
        pause, r["speaking"] = r["speaking"] and not speaking, speaking
        hist = r["hist"] = [*r["hist"], o][-(_frames(s.stress_window_s, self.fps) + 2) :]
        # Was the previous frame a syllable peak: the top of the window before it, standing out from its floor?
        peak = speaking and len(hist) >= 3 and hist[-1] < hist[-2] >= max(hist[:-2])
        prominent = peak and hist[-2] - min(hist[:-1]) >= s.stress_min_prominence
        stress = r["rule"](r["anim"].t - 1, hist[-2]) if prominent else 0.0
        return r["anim"].step(not speaking, pause, stress)

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        x = _validate(frames, self.fps, (2, 3), None)
        xb = x[None] if x.ndim == 2 else x
        if self._rows and len(self._rows) != xb.shape[0]:
            raise ValueError(
                f"batch size changed from {len(self._rows)} to {xb.shape[0]}; call reset() first"
            )
        if xb.shape[1] and not self._rows:
            self._rows = [self._new_row(b) for b in range(xb.shape[0])]
        out = np.empty(xb.shape, dtype=x.dtype if x.dtype.kind == "f" else np.float64)
        for b, r in enumerate(self._rows if xb.shape[1] else []):
            life = np.array([self._step(r, f) for f in xb[b].astype(np.float64)]).reshape(-1, 3)
            out[b] = _apply(xb[b], life, self.settings)
        return out[0] if x.ndim == 2 else out
