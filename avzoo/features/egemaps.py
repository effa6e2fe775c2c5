"""eGeMAPS v02 prosody features (openSMILE) over sliding windows, at a model's frame rate.

The 88 eGeMAPS functionals describe pitch, loudness, voice quality and rhythm over a stretch of speech.
A streaming model wants one such vector per output frame, summarising the last ``context`` seconds.
Running openSMILE once per window would redo the low-level descriptors (LLDs) for every frame; the
default method computes the LLDs once per stream and evaluates only the functionals per window.

Window rule. The window for end time ``e`` (seconds) covers the 10 ms LLD frames that start between
``e - context`` and ``e - CAUSAL_LAG`` (0.15 s). An LLD frame depends on audio after its start: its
60 ms analysis frame, the 3-frame smoothing and the F0 Viterbi smoother. Cutting real speech at many
points changed no LLD frame that started more than 0.127 s before the cut, so with this rule the result
for ``e`` depends only on ``audio[: e * sr]`` (tested): the features are causal, and their latency is
``CAUSAL_LAG``. LLDs also carry state forwards: after a crop, voice-quality LLDs can differ for up to
about 1 s inside a long voiced stretch. So a streaming caller that recomputes from a rolling buffer
should keep ``context + WARMUP_SECONDS`` of audio to match the offline values.

Padding. The audio is preceded by ``context`` seconds of digital silence, so windows that reach before
the start are full length and describe "silence, then the speech so far". That is what a streaming model
with a zeroed buffer sees. Audio shorter than the context is handled the same way.

Methods (numbers from ``benchmarks/egemaps_rtf.py``):

* ``"opensmile"`` (default): one openSMILE pass, with openSMILE's own list-of-windows functionals mode
  (``frameMode = list``): the LLDs once, the exact openSMILE functionals per window. Long inputs run in
  ``CHUNK_SECONDS`` pieces, each with ``WARMUP_SECONDS`` of audio before it and ``TAIL_SECONDS`` after
  its last window, so chunking does not change the result.
* ``"naive"``: openSMILE on each window's audio cropped and analysed alone (the textbook way; the LLDs
  are recomputed per window). The crop is ``[e - context, e - CAUSAL_LAG + 0.06]``: it holds the same
  60 ms LLD frames as the window. It is the reference the others are checked against. It is slow at high
  frame rates or with long contexts, and its LLDs at both crop edges differ from the stream's.
* ``"numpy"``: the same LLD frames as ``"opensmile"``, with the functionals computed in numpy. Means,
  coefficients of variation, percentiles, peak rate, voiced-segment statistics and the equivalent sound
  level reproduce openSMILE's values. The rising/falling slopes use a simpler peak picker, and the
  unvoiced-segment lengths and a few voiced/unvoiced spectral means are approximate. Use it where the
  LLD stream is already at hand.

The ``*_stddevNorm`` features are coefficients of variation (std / mean). For LLDs whose mean is near
zero (mfcc2-4, spectral slopes) they are unstable under any method: a single frame can change them a lot.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Sequence
from functools import cache
from itertools import pairwise
from typing import Any

import numpy as np

from avzoo.arkit import BLENDSHAPE_FPS
from avzoo.features.frames import frame_count, validate_fps
from avzoo.io.audio import DEFAULT_SAMPLING_RATE, validate_audio, validate_sampling_rate

__all__ = [
    "CAUSAL_LAG",
    "DEFAULT_CONTEXT",
    "EGEMAPS_LLD_NAMES",
    "EGEMAPS_NAMES",
    "LLD_HOP",
    "METHODS",
    "egemaps_frames",
    "egemaps_functionals",
    "egemaps_lld",
    "egemaps_windows",
    "frame_end_times",
]

#: The 88 eGeMAPS v02 functionals, in openSMILE's order.
EGEMAPS_NAMES: tuple[str, ...] = (
    "F0semitoneFrom27.5Hz_sma3nz_amean",
    "F0semitoneFrom27.5Hz_sma3nz_stddevNorm",
    "F0semitoneFrom27.5Hz_sma3nz_percentile20.0",
    "F0semitoneFrom27.5Hz_sma3nz_percentile50.0",
    "F0semitoneFrom27.5Hz_sma3nz_percentile80.0",
    "F0semitoneFrom27.5Hz_sma3nz_pctlrange0-2",
    "F0semitoneFrom27.5Hz_sma3nz_meanRisingSlope",
    "F0semitoneFrom27.5Hz_sma3nz_stddevRisingSlope",
    "F0semitoneFrom27.5Hz_sma3nz_meanFallingSlope",
    "F0semitoneFrom27.5Hz_sma3nz_stddevFallingSlope",
    "loudness_sma3_amean",
    "loudness_sma3_stddevNorm",
    "loudness_sma3_percentile20.0",
    "loudness_sma3_percentile50.0",
    "loudness_sma3_percentile80.0",
    "loudness_sma3_pctlrange0-2",
    "loudness_sma3_meanRisingSlope",
    "loudness_sma3_stddevRisingSlope",
    "loudness_sma3_meanFallingSlope",
    "loudness_sma3_stddevFallingSlope",
    "spectralFlux_sma3_amean",
    "spectralFlux_sma3_stddevNorm",
    "mfcc1_sma3_amean",
    "mfcc1_sma3_stddevNorm",
    "mfcc2_sma3_amean",
    "mfcc2_sma3_stddevNorm",
    "mfcc3_sma3_amean",
    "mfcc3_sma3_stddevNorm",
    "mfcc4_sma3_amean",
    "mfcc4_sma3_stddevNorm",
    "jitterLocal_sma3nz_amean",
    "jitterLocal_sma3nz_stddevNorm",
    "shimmerLocaldB_sma3nz_amean",
    "shimmerLocaldB_sma3nz_stddevNorm",
    "HNRdBACF_sma3nz_amean",
    "HNRdBACF_sma3nz_stddevNorm",
    "logRelF0-H1-H2_sma3nz_amean",
    "logRelF0-H1-H2_sma3nz_stddevNorm",
    "logRelF0-H1-A3_sma3nz_amean",
    "logRelF0-H1-A3_sma3nz_stddevNorm",
    "F1frequency_sma3nz_amean",
    "F1frequency_sma3nz_stddevNorm",
    "F1bandwidth_sma3nz_amean",
    "F1bandwidth_sma3nz_stddevNorm",
    "F1amplitudeLogRelF0_sma3nz_amean",
    "F1amplitudeLogRelF0_sma3nz_stddevNorm",
    "F2frequency_sma3nz_amean",
    "F2frequency_sma3nz_stddevNorm",
    "F2bandwidth_sma3nz_amean",
    "F2bandwidth_sma3nz_stddevNorm",
    "F2amplitudeLogRelF0_sma3nz_amean",
    "F2amplitudeLogRelF0_sma3nz_stddevNorm",
    "F3frequency_sma3nz_amean",
    "F3frequency_sma3nz_stddevNorm",
    "F3bandwidth_sma3nz_amean",
    "F3bandwidth_sma3nz_stddevNorm",
    "F3amplitudeLogRelF0_sma3nz_amean",
    "F3amplitudeLogRelF0_sma3nz_stddevNorm",
    "alphaRatioV_sma3nz_amean",
    "alphaRatioV_sma3nz_stddevNorm",
    "hammarbergIndexV_sma3nz_amean",
    "hammarbergIndexV_sma3nz_stddevNorm",
    "slopeV0-500_sma3nz_amean",
    "slopeV0-500_sma3nz_stddevNorm",
    "slopeV500-1500_sma3nz_amean",
    "slopeV500-1500_sma3nz_stddevNorm",
    "spectralFluxV_sma3nz_amean",
    "spectralFluxV_sma3nz_stddevNorm",
    "mfcc1V_sma3nz_amean",
    "mfcc1V_sma3nz_stddevNorm",
    "mfcc2V_sma3nz_amean",
    "mfcc2V_sma3nz_stddevNorm",
    "mfcc3V_sma3nz_amean",
    "mfcc3V_sma3nz_stddevNorm",
    "mfcc4V_sma3nz_amean",
    "mfcc4V_sma3nz_stddevNorm",
    "alphaRatioUV_sma3nz_amean",
    "hammarbergIndexUV_sma3nz_amean",
    "slopeUV0-500_sma3nz_amean",
    "slopeUV500-1500_sma3nz_amean",
    "spectralFluxUV_sma3nz_amean",
    "loudnessPeaksPerSec",
    "VoicedSegmentsPerSec",
    "MeanVoicedSegmentLengthSec",
    "StddevVoicedSegmentLengthSec",
    "MeanUnvoicedSegmentLength",
    "StddevUnvoicedSegmentLength",
    "equivalentSoundLevel_dBp",
)

#: The 25 eGeMAPS v02 low-level descriptors (one row per 10 ms), in openSMILE's order.
EGEMAPS_LLD_NAMES: tuple[str, ...] = (
    "Loudness_sma3",
    "alphaRatio_sma3",
    "hammarbergIndex_sma3",
    "slope0-500_sma3",
    "slope500-1500_sma3",
    "spectralFlux_sma3",
    "mfcc1_sma3",
    "mfcc2_sma3",
    "mfcc3_sma3",
    "mfcc4_sma3",
    "F0semitoneFrom27.5Hz_sma3nz",
    "jitterLocal_sma3nz",
    "shimmerLocaldB_sma3nz",
    "HNRdBACF_sma3nz",
    "logRelF0-H1-H2_sma3nz",
    "logRelF0-H1-A3_sma3nz",
    "F1frequency_sma3nz",
    "F1bandwidth_sma3nz",
    "F1amplitudeLogRelF0_sma3nz",
    "F2frequency_sma3nz",
    "F2bandwidth_sma3nz",
    "F2amplitudeLogRelF0_sma3nz",
    "F3frequency_sma3nz",
    "F3bandwidth_sma3nz",
    "F3amplitudeLogRelF0_sma3nz",
)

METHODS = ("opensmile", "naive", "numpy")
DEFAULT_CONTEXT = 2.0
#: LLD frame hop in seconds (eGeMAPS LLDs come at 100 Hz).
LLD_HOP = 0.01
#: The last LLD frame of a window ending at ``e`` starts at ``e - CAUSAL_LAG``; see the module docstring.
CAUSAL_LAG = 0.15
#: Length of the longest LLD analysis frame (F0, jitter, harmonics).
_FRAME_SECONDS = 0.06
MIN_CONTEXT = 0.25
MAX_CONTEXT = 600.0
#: Audio per openSMILE pass in the "opensmile" method, the warm-up kept before each chunk and the audio
#: kept after its last window (so a chunk's last windows see what an unchunked pass would see).
CHUNK_SECONDS = 120.0
WARMUP_SECONDS = 3.0
TAIL_SECONDS = 0.5
_EPS = 1e-6


# ---------------------------------------------------------------------------------------------------------
# openSMILE plumbing


@cache
def _smile(level: str):
    import opensmile

    return opensmile.Smile(opensmile.FeatureSet.eGeMAPSv02, getattr(opensmile.FeatureLevel, level))


def _smile_list(frame_list: str):
    import opensmile

    multi = os.path.join(
        os.path.dirname(opensmile.__file__), "core", "config", "shared", "FrameModeFunctionalsMulti.conf.inc"
    )
    return opensmile.Smile(
        opensmile.FeatureSet.eGeMAPSv02,
        opensmile.FeatureLevel.Functionals,
        options={"frameModeFunctionalsConf": multi, "frameList": frame_list},
    )


def _for_smile(audio: np.ndarray) -> np.ndarray:
    # openSMILE's wrapper converts with int16(x * 32768): +1.0 would wrap around to -32768.
    return np.clip(audio, -1.0, 32767.0 / 32768.0).astype(np.float32, copy=False)


def _run(smile, audio: np.ndarray, sampling_rate: float) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Segment too short": handled by the callers
        frame = smile.process_signal(_for_smile(audio), sampling_rate)
    return frame.to_numpy(dtype=np.float32)


# ---------------------------------------------------------------------------------------------------------
# input checks and window geometry


def _check_audio(audio: Any, sampling_rate: Any) -> tuple[np.ndarray, float]:
    rate = validate_sampling_rate(sampling_rate)
    arr = validate_audio(audio, rate, allow_silence=True, max_clipped_fraction=1.0)
    if arr.ndim != 1:
        raise ValueError(f"audio must be 1-D mono samples, got shape {arr.shape}; use prepare_audio() first")
    return arr, rate


def _check_context(context: Any) -> float:
    if isinstance(context, bool) or not isinstance(context, (int, float, np.integer, np.floating)):
        raise ValueError(
            f"context must be a number of seconds in [{MIN_CONTEXT}, {MAX_CONTEXT}], got {context!r}"
        )
    c = float(context)
    if not math.isfinite(c) or not MIN_CONTEXT <= c <= MAX_CONTEXT:
        raise ValueError(f"context must be in [{MIN_CONTEXT}, {MAX_CONTEXT}] seconds, got {context!r}")
    return c


def _check_method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return method


def _check_end_times(end_times: Any, duration: float) -> np.ndarray:
    try:
        ends = np.asarray(end_times, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"end_times must be a 1-D sequence of seconds, got {type(end_times).__name__}"
        ) from None
    if ends.ndim == 0:
        ends = ends[None]
    if ends.ndim != 1 or ends.size == 0:
        raise ValueError(f"end_times must be a non-empty 1-D sequence of seconds, got shape {ends.shape}")
    if not np.isfinite(ends).all():
        raise ValueError("end_times contains NaN/inf; every end time must be a finite number of seconds")
    lo, hi = float(ends.min()), float(ends.max())
    if lo < 0 or hi > duration + _EPS:
        raise ValueError(
            f"end_times must lie in [0, {duration:.4f}] s (the audio's duration), got values in [{lo:.4f}, {hi:.4f}]"
        )
    return np.minimum(ends, duration)


def frame_end_times(num_frames: int, fps: float, duration: float) -> np.ndarray:
    """Window end times used by :func:`egemaps_frames`: frame ``t`` ends at ``min((t + 0.5) / fps, duration)``.

    Frame ``t`` is centred at ``t / fps`` (as in :func:`avzoo.features.logmel.log_mel`), so its window
    closes at the end of the frame's own time slot and never looks further ahead.
    """
    return np.minimum((np.arange(num_frames, dtype=np.float64) + 0.5) / fps, duration)


class _Geometry:
    """Where each window's LLD frames lie in the silence-padded signal."""

    def __init__(
        self, n_samples: int, rate: float, context: float, ends: np.ndarray, padding: float | None = None
    ):
        hop = LLD_HOP * rate
        # Pad a whole number of LLD hops so the LLD grid of the padded signal lines up with the audio.
        self.pad_frames = math.ceil((context if padding is None else padding) / LLD_HOP - _EPS)
        self.pad = round(self.pad_frames * hop)
        self.hop = hop
        self.rate = rate
        self.context = context
        self.n_padded = n_samples + self.pad
        e = ends + self.pad / rate  # end times in the padded signal
        self.first = np.ceil((e - context) / LLD_HOP - _EPS).astype(np.int64)  # first LLD frame (inclusive)
        self.last = np.floor((e - CAUSAL_LAG) / LLD_HOP + _EPS).astype(np.int64)  # last LLD frame (inclusive)
        self.first = np.maximum(self.first, 0)
        self.ends_padded = e


# ---------------------------------------------------------------------------------------------------------
# the three methods


def _windows_opensmile(padded: np.ndarray, geo: _Geometry) -> np.ndarray:
    order = np.argsort(geo.last, kind="stable")
    first, last = geo.first[order], geo.last[order]
    out = np.empty((len(order), len(EGEMAPS_NAMES)), dtype=np.float32)
    chunk_frames = int(CHUNK_SECONDS / LLD_HOP)
    warm = int(WARMUP_SECONDS / LLD_HOP)
    # Chunking needs the LLD grid of a crop to match the full signal's: a whole number of samples per hop.
    can_chunk = abs(geo.hop - round(geo.hop)) < 1e-9
    i = 0
    while i < len(order):
        j = i + 1
        if can_chunk:
            while j < len(order) and last[j] - first[i] < chunk_frames:
                j += 1
        else:
            j = len(order)
        start_frame = max(0, int(first[i]) - warm) if can_chunk else 0
        start = round(start_frame * geo.hop)
        stop = min(geo.n_padded, math.ceil((geo.ends_padded[order[j - 1]] + TAIL_SECONDS) * geo.rate))
        f0, f1 = first[i:j] - start_frame, last[i:j] - start_frame
        # Times a third of a hop inside each boundary frame, so openSMILE's floor/ceil land on it.
        frame_list = ",".join(
            f"{(a + 0.3) * LLD_HOP:.4f}s-{(b - 0.3) * LLD_HOP:.4f}s"
            for a, b in zip(f0.tolist(), f1.tolist(), strict=True)
        )
        values = _run(_smile_list(frame_list), padded[start:stop], geo.rate)
        if len(values) != j - i:
            raise RuntimeError(
                f"openSMILE returned {len(values)} windows for {j - i} requested; please report this input"
            )
        out[order[i:j]] = values
        i = j
    return out


def _windows_naive(padded: np.ndarray, geo: _Geometry) -> np.ndarray:
    smile = _smile("Functionals")
    out = np.empty((len(geo.first), len(EGEMAPS_NAMES)), dtype=np.float32)
    for n, e in enumerate(geo.ends_padded.tolist()):
        # The textbook way: openSMILE on the window's audio alone. That audio spans the window's LLD
        # frames, which start in [e - context, e - CAUSAL_LAG] and are 60 ms long.
        start = max(0, round((e - geo.context) * geo.rate))
        stop = min(geo.n_padded, round((e - CAUSAL_LAG + _FRAME_SECONDS) * geo.rate))
        out[n] = _run(smile, padded[start:stop], geo.rate)[0]
    return out


def _lld_padded(padded: np.ndarray, rate: float) -> np.ndarray:
    return _run(_smile("LowLevelDescriptors"), padded, rate)


def _rms_frames(signal: np.ndarray, rate: float, n_frames: int) -> np.ndarray:
    """RMS energy of 20 ms frames every 10 ms (openSMILE's energyRMS input to the Leq)."""
    size, hop = round(0.02 * rate), LLD_HOP * rate
    starts = np.round(np.arange(n_frames) * hop).astype(np.int64)
    padded = np.concatenate([signal.astype(np.float64), np.zeros(size, np.float64)])
    idx = starts[:, None] + np.arange(size)[None, :]
    return np.sqrt(np.mean(padded[idx] ** 2, axis=1))


def _runs(mask: np.ndarray) -> np.ndarray:
    """Lengths of the runs of True in a boolean vector."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)


def _slopes(y: np.ndarray, rel_thresh: float = 0.1) -> tuple[np.ndarray, np.ndarray, int]:
    """Rising and falling slopes (units per second) between alternating extrema, and the peak count.

    Local extrema are kept when they differ from the last kept opposite extremum by at least
    ``rel_thresh`` times the contour's range (a plain hysteresis peak picker).
    """
    if len(y) < 5:
        return np.zeros(0), np.zeros(0), 0
    thresh = rel_thresh * float(y.max() - y.min())
    mid = y[1:-1]
    is_max = (mid > y[:-2]) & (mid > y[2:])
    is_min = (mid < y[:-2]) & (mid < y[2:])
    cand = np.flatnonzero(is_max | is_min) + 1
    kept: list[int] = []
    kind: list[bool] = []  # True for a maximum
    for k in cand.tolist():
        mx = bool(is_max[k - 1])
        if kept and kind[-1] == mx:
            # Same kind again: keep the more extreme one.
            if (mx and y[k] > y[kept[-1]]) or (not mx and y[k] < y[kept[-1]]):
                kept[-1] = k
            continue
        if kept and abs(y[k] - y[kept[-1]]) < thresh:
            continue
        kept.append(k)
        kind.append(mx)
    rising, falling = [], []
    # Kept extrema alternate, so each step is a rise (ending on a maximum) or a fall.
    for i, (k0, k1) in enumerate(pairwise(kept)):
        slope = abs(y[k1] - y[k0]) / ((k1 - k0) * LLD_HOP)
        (rising if kind[i + 1] else falling).append(slope)
    return np.asarray(rising), np.asarray(falling), int(sum(kind))


def _mean_sdn(v: np.ndarray) -> tuple[float, float]:
    if v.size == 0:
        return 0.0, 0.0
    m = float(v.mean())
    return m, (float(v.std()) / m if m != 0 else 0.0)


def _mean_std(v: np.ndarray) -> tuple[float, float]:
    return (float(v.mean()), float(v.std())) if v.size else (0.0, 0.0)


_LLD = {name: i for i, name in enumerate(EGEMAPS_LLD_NAMES)}
_ALL_FRAMES = ("spectralFlux", "mfcc1", "mfcc2", "mfcc3", "mfcc4")
_NONZERO = (
    "jitterLocal",
    "shimmerLocaldB",
    "HNRdBACF",
    "logRelF0-H1-H2",
    "logRelF0-H1-A3",
    *(f"F{i}{q}" for i in (1, 2, 3) for q in ("frequency", "bandwidth", "amplitudeLogRelF0")),
)
_VOICED = (
    "alphaRatio",
    "hammarbergIndex",
    "slope0-500",
    "slope500-1500",
    "spectralFlux",
    "mfcc1",
    "mfcc2",
    "mfcc3",
    "mfcc4",
)
_UNVOICED = ("alphaRatio", "hammarbergIndex", "slope0-500", "slope500-1500", "spectralFlux")


def _contour_stats(v: np.ndarray) -> list[float]:
    if v.size == 0:
        return [0.0] * 10
    mean, sdn = _mean_sdn(v)
    p20, p50, p80 = (float(p) for p in np.percentile(v, [20, 50, 80]))
    rising, falling = _slopes(v)[:2]
    return [mean, sdn, p20, p50, p80, p80 - p20, *_mean_std(rising), *_mean_std(falling)]


def _functionals_numpy(lld: np.ndarray, rms: np.ndarray) -> np.ndarray:
    """Approximate the 88 functionals from one window of LLD rows (and RMS energies)."""
    col = {name.split("_sma3")[0]: lld[:, i] for name, i in _LLD.items()}
    f0 = col["F0semitoneFrom27.5Hz"]
    voiced = f0 > 0
    seconds = len(lld) * LLD_HOP
    out: list[float] = []
    out += _contour_stats(f0[voiced])
    loud = col["Loudness"]
    out += _contour_stats(loud)
    for name in _ALL_FRAMES:
        out += _mean_sdn(col[name])
    for name in _NONZERO:
        v = col[name]
        # openSMILE keeps formant frequencies/bandwidths of voiced frames only; the rest of this set
        # (amplitudes included, whose unvoiced value is -201) is averaged over its nonzero values.
        keep = (v != 0) & voiced if name.endswith(("frequency", "bandwidth")) else v != 0
        out += _mean_sdn(v[keep])
    for name in _VOICED:
        v = col[name]
        out += _mean_sdn(v[voiced & (v != 0)])
    for name in _UNVOICED:
        v = col[name]
        out.append(_mean_sdn(v[~voiced & (v != 0)])[0])
    n_peaks = _slopes(loud)[2]
    # openSMILE measures a voiced segment from its first to its last frame: one hop shorter than the run.
    v_runs, u_runs = (_runs(voiced) - 1) * LLD_HOP, _runs(~voiced) * LLD_HOP
    out.append(n_peaks / seconds)
    out.append(len(v_runs) / seconds)
    out += _mean_std(v_runs)
    out += _mean_std(u_runs)
    power = float(np.mean(rms**2)) if rms.size else 0.0
    out.append(max(10.0 * math.log10(power), -120.0) if power > 0 else -120.0)
    return np.asarray(out, dtype=np.float32)


def _windows_numpy(padded: np.ndarray, geo: _Geometry) -> np.ndarray:
    lld = _lld_padded(padded, geo.rate)
    rms = _rms_frames(padded, geo.rate, len(lld))
    out = np.empty((len(geo.first), len(EGEMAPS_NAMES)), dtype=np.float32)
    for n, (a, b) in enumerate(zip(geo.first.tolist(), geo.last.tolist(), strict=True)):
        b = min(b, len(lld) - 1)
        out[n] = _functionals_numpy(lld[a : b + 1], rms[a : b + 1])
    return out


# ---------------------------------------------------------------------------------------------------------
# public API


def egemaps_windows(
    audio: Any,
    end_times: Sequence[float] | np.ndarray,
    context: float = DEFAULT_CONTEXT,
    sampling_rate: int = DEFAULT_SAMPLING_RATE,
    method: str = "opensmile",
    padding: float | None = None,
) -> np.ndarray:
    """eGeMAPS v02 functionals of the ``context`` seconds before each end time: ``(len(end_times), 88)``.

    ``end_times`` are seconds in ``[0, duration]``, in any order. Windows reaching before the start see
    leading digital silence (see the module docstring), and each result depends only on the audio up to
    its end time. ``method`` is ``"opensmile"`` (default; exact and fast), ``"naive"`` or ``"numpy"``.

    ``padding`` is the leading silence in seconds (default: ``context``, so every window is full length). A
    shorter padding clips the windows that reach further back to ``padding`` seconds of silence followed by
    the audio so far: with a long context on short clips, the silence no longer dominates the cost of the LLD
    pass (a 1 s clip with a 20 s context: 1.5 s of LLDs instead of 21 s).
    """
    arr, rate = _check_audio(audio, sampling_rate)
    ctx = _check_context(context)
    _check_method(method)
    ends = _check_end_times(end_times, len(arr) / rate)
    if padding is not None:
        if isinstance(padding, bool) or not isinstance(padding, (int, float, np.integer, np.floating)):
            raise ValueError(f"padding must be None or seconds in [{MIN_CONTEXT}, context], got {padding!r}")
        padding = float(padding)
        if not math.isfinite(padding) or not MIN_CONTEXT <= padding <= ctx:
            raise ValueError(
                f"padding must be in [{MIN_CONTEXT}, {ctx}] seconds (the context), got {padding!r}"
            )
    geo = _Geometry(len(arr), rate, ctx, ends, padding)
    padded = np.concatenate([np.zeros(geo.pad, np.float32), arr])
    if method == "opensmile":
        return _windows_opensmile(padded, geo)
    if method == "naive":
        return _windows_naive(padded, geo)
    return _windows_numpy(padded, geo)


def egemaps_frames(
    audio: Any,
    fps: float = BLENDSHAPE_FPS,
    context: float = DEFAULT_CONTEXT,
    sampling_rate: int = DEFAULT_SAMPLING_RATE,
    method: str = "opensmile",
) -> np.ndarray:
    """One 88-vector per output frame at ``fps``: ``(T, 88)`` with ``T = ceil(duration * fps)``.

    The frame count and centres match :func:`avzoo.features.logmel.log_mel` at the same ``fps``; frame
    ``t``'s window ends at ``min((t + 0.5) / fps, duration)`` (see :func:`frame_end_times`).
    """
    arr, rate = _check_audio(audio, sampling_rate)
    fps = validate_fps(fps)
    n = frame_count(len(arr), rate, fps)
    ends = frame_end_times(n, fps, len(arr) / rate)
    return egemaps_windows(arr, ends, context=context, sampling_rate=rate, method=method)


def egemaps_functionals(audio: Any, sampling_rate: int = DEFAULT_SAMPLING_RATE) -> np.ndarray:
    """The 88 eGeMAPS v02 functionals of a whole clip, as openSMILE computes them: ``(88,)`` float32.

    Raises ``ValueError`` for clips too short for openSMILE to produce any frame (under about 0.1 s).
    """
    arr, rate = _check_audio(audio, sampling_rate)
    values = _run(_smile("Functionals"), arr, rate)
    if values.shape[0] != 1 or not np.isfinite(values).all():
        raise ValueError(f"audio is too short for eGeMAPS ({len(arr) / rate:.3f} s); give at least 0.1 s")
    return values[0]


def egemaps_lld(audio: Any, sampling_rate: int = DEFAULT_SAMPLING_RATE) -> np.ndarray:
    """The 25 eGeMAPS v02 low-level descriptors every 10 ms: ``(n_frames, 25)`` float32.

    Row ``k`` describes the analysis frame starting at ``k * 10`` ms (see :data:`EGEMAPS_LLD_NAMES`).
    """
    arr, rate = _check_audio(audio, sampling_rate)
    return _run(_smile("LowLevelDescriptors"), arr, rate)
