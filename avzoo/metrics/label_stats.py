"""Descriptive statistics of ARKit blendshape tracks, to compare synthetic labels with real captures.

Every function takes canonical ``(T, 52)`` frames (:data:`avzoo.arkit.ARKIT_NAMES` order). A source that lacks
channels (a 37-channel take) carries them as NaN: :func:`to_canonical` does that, and every statistic of an
all-NaN channel is ``None``. ``benchmarks/label_stats.py`` runs these over the corpus and the real takes.

Definitions:

* lip gap: :func:`avzoo.metrics.functional.blendshape.lip_aperture`, ``max(jawOpen - mouthClose, 0)``; lips
  count as nearly shut below a threshold (the evaluation's ``LIP_GAP_CLOSED``, passed in by the caller);
* lip opening: the mean of :data:`LIP_OPENING` (upper lip raised, lower lip lowered), whose ratio to jawOpen
  says how much of the mouth opening the lips make on their own;
* blinks: rising crossings of ``threshold`` by ``eyeBlinkLeft``; a crossing within ``refractory_s`` of the
  previous onset is the same blink (a lid that flickers around the threshold). A blink lasts the frames from
  its onset that stay at or above the threshold.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from avzoo import arkit
from avzoo.metrics.functional.blendshape import lip_aperture

LIP_OPENING = ("mouthUpperUpLeft", "mouthUpperUpRight", "mouthLowerDownLeft", "mouthLowerDownRight")
PRESS_ROLL = ("mouthPressLeft", "mouthPressRight", "mouthRollLower", "mouthRollUpper")
SMILE = ("mouthSmileLeft", "mouthSmileRight")
#: Upper face: the expression group without gaze (eye direction is not expression).
UPPER_FACE = tuple(n for n in arkit.EXPRESSION if n not in arkit.GAZE)
BLINK_THRESHOLD = 0.5
BLINK_REFRACTORY_S = 0.25


def _f(value: Any) -> float | None:
    """A float for JSON, None where undefined (NaN)."""
    value = float(value)
    return None if not np.isfinite(value) else round(value, 4)


def to_canonical(frames: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """``(T, C)`` frames named ``names`` as canonical ``(T, 52)`` float64, absent channels NaN."""
    return arkit.convert(np.asarray(frames, dtype=np.float64), list(names), "canonical", fill=np.nan)


def percentile_table(
    frames: np.ndarray, qs: Sequence[float] = (50, 95), names: Sequence[str] = arkit.ARKIT_NAMES
) -> dict[str, dict[str, float | None]]:
    """``{channel: {"p50": .., "p95": ..}}`` of canonical frames; None for an absent (NaN) channel or no frames."""
    cols = np.asarray(frames, dtype=np.float64)[:, arkit.indices(list(names))]
    if len(cols) == 0 or not qs:
        return {n: {f"p{q:g}": None for q in qs} for n in names}
    with np.errstate(all="ignore"):
        present = ~np.isnan(cols).all(axis=0)
        values = np.full((len(qs), cols.shape[1]), np.nan)
        values[:, present] = np.percentile(cols[:, present], qs, axis=0)
    return {n: {f"p{q:g}": _f(values[i, j]) for i, q in enumerate(qs)} for j, n in enumerate(names)}


def channel_std(frames: np.ndarray, names: Sequence[str]) -> dict[str, float | None]:
    """Per-channel standard deviation over frames."""
    cols = np.asarray(frames, dtype=np.float64)[:, arkit.indices(list(names))]
    return {n: _f(cols[:, j].std()) if len(cols) else None for j, n in enumerate(names)}


def shut_share(frames: np.ndarray, threshold: float) -> float | None:
    """Share of frames whose lip gap is under ``threshold`` (lips nearly shut)."""
    gap = lip_aperture(np.asarray(frames, dtype=np.float64))
    if len(gap) == 0 or np.isnan(gap).all():
        return None
    return _f((gap < threshold).mean())


def lip_opening(frames: np.ndarray) -> np.ndarray:
    """Per-frame mean of :data:`LIP_OPENING`."""
    return np.asarray(frames, dtype=np.float64)[:, arkit.indices(LIP_OPENING)].mean(axis=1)


def lip_to_jaw_ratio(frames: np.ndarray) -> float | None:
    """Mean lip opening over mean jawOpen: how much the lips open per unit of jaw opening."""
    frames = np.asarray(frames, dtype=np.float64)
    jaw = frames[:, arkit.INDEX["jawOpen"]].mean() if len(frames) else np.nan
    return _f(lip_opening(frames).mean() / jaw) if jaw > 0 else None


def blink_events(
    track: np.ndarray,
    fps: float,
    threshold: float = BLINK_THRESHOLD,
    refractory_s: float = BLINK_REFRACTORY_S,
) -> tuple[np.ndarray, np.ndarray]:
    """Onset frames and durations (frames at or above ``threshold``) of the blinks in one eyelid track."""
    above = np.asarray(track, dtype=np.float64) >= threshold
    rising = np.flatnonzero(above[1:] & ~above[:-1]) + 1
    onsets: list[int] = []
    for k in rising:
        if not onsets or k - onsets[-1] >= refractory_s * fps:
            onsets.append(int(k))
    # Each blink lasts until the lid first drops under the threshold (or the track ends).
    falls = np.append(np.flatnonzero(~above), len(above))
    ends = falls[np.searchsorted(falls, onsets)] if onsets else np.zeros(0, dtype=int)
    starts = np.asarray(onsets, dtype=int)
    return starts, np.asarray(ends, dtype=int) - starts


def blink_stats(tracks: Iterable[np.ndarray], fps: float, **kwargs: float) -> dict[str, float | int | None]:
    """Blink count, rate per minute, duration (ms) and peak lid closure over tracks, each counted on its own.

    ``kwargs`` (``threshold``, ``refractory_s``) go to :func:`blink_events`.
    """
    count, frames, durations, peaks = 0, 0, [], []
    for track in tracks:
        onsets, lengths = blink_events(track, fps, **kwargs)
        count, frames = count + len(onsets), frames + len(track)
        durations.extend(lengths * 1000.0 / fps)
        peaks.extend(np.max(track[k : k + n]) for k, n in zip(onsets, lengths, strict=True))
    minutes = frames / fps / 60.0
    return {
        "threshold": kwargs.get("threshold", BLINK_THRESHOLD),
        "blinks": count,
        "minutes": _f(minutes),
        "rate_per_min": _f(count / minutes) if minutes > 0 else None,
        "duration_ms_p50": _f(np.median(durations)) if durations else None,
        "duration_ms_mean": _f(np.mean(durations)) if durations else None,
        "peak_p50": _f(np.median(peaks)) if peaks else None,
    }


def summarize(frames: np.ndarray, shut_threshold: float, qs: Sequence[float] = (50, 95)) -> dict[str, Any]:
    """The label statistics of canonical frames (one source, pooled): see the module docstring."""
    frames = np.asarray(frames, dtype=np.float64)
    table = percentile_table(frames, (95,))
    opening = lip_opening(frames)

    def p95(names: Sequence[str]) -> dict[str, float | None]:
        return {n: table[n]["p95"] for n in names}

    return {
        "frames": len(frames),
        "percentiles": percentile_table(frames, qs),
        "lips_nearly_shut": shut_share(frames, shut_threshold),
        "lip_opening": {f"p{q:g}": _f(v) for q, v in zip(qs, np.percentile(opening, qs), strict=True)}
        if len(opening)
        else None,
        "lip_to_jaw_ratio": lip_to_jaw_ratio(frames),
        "tongue_out_p95": table["tongueOut"]["p95"],
        "press_roll_p95": p95(PRESS_ROLL),
        "smile_p95": p95(SMILE),
        "brows_p95": p95(arkit.BROWS),
        "brows_std": channel_std(frames, arkit.BROWS),
        "upper_face_std": channel_std(frames, UPPER_FACE),
    }


__all__ = [
    "BLINK_REFRACTORY_S",
    "BLINK_THRESHOLD",
    "LIP_OPENING",
    "PRESS_ROLL",
    "SMILE",
    "UPPER_FACE",
    "blink_events",
    "blink_stats",
    "channel_std",
    "lip_opening",
    "lip_to_jaw_ratio",
    "percentile_table",
    "shut_share",
    "summarize",
    "to_canonical",
]
