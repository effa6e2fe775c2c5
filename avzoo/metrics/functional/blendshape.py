"""Blendshape animation errors: MAE/RMSE, Pearson r, lip closure, velocity and jitter.

All statistics pool frames: every frame of every sequence counts once, so longer clips weigh
more. Channels are named ARKit blendshapes in canonical order (:mod:`avzoo.arkit`); tracks in
another order are converted by name first, and channels that order lacks (``tongueOut`` in
MediaPipe or BEAT data) are left out of every statistic rather than compared as zeros.

Pearson r
    Per channel over the pooled frames. A channel whose reference or prediction is constant
    (variance below :data:`CONSTANT_VARIANCE`) has no defined r: it is reported as NaN, listed
    under ``pearson_undefined`` and left out of the overall and per-group means.

Lip state of a frame (same rule for predictions and references)
    ``closure  = max(mouthClose, mean(mouthPressLeft, mouthPressRight), mean(mouthRollLower, mouthRollUpper))``
    ``aperture = max(jawOpen - mouthClose, 0)`` -- ARKit's mouthClose closes the lips *against*
    jawOpen, so the lip gap is what jawOpen leaves after mouthClose.

    * **closed** when ``closure >= closure_threshold`` and ``aperture < open_threshold``;
    * **open** when ``aperture >= open_threshold``;
    * otherwise **rest** (e.g. a neutral face in silence), which neither accuracy counts.

    ``lip_closure_accuracy`` is the fraction of reference-closed frames where the prediction is
    closed too. ``lip_open_accuracy`` is the fraction of reference-open frames where the
    prediction is *not* closed (1 - the false-closure rate). A per-frame ``lips_closed`` mask
    (True where the lips must close, e.g. /p b m/ frames from a phoneme alignment) replaces the
    reference-derived closed set; the open set is then the reference-open frames outside the
    mask. Either accuracy is NaN when its set is empty.

Velocity and jitter
    ``velocity_mae`` is the mean absolute difference of first differences times ``fps`` (units
    per second). ``jitter_*`` is the mean absolute second difference times ``fps**2`` (units
    per second squared) of the prediction and of the reference, and ``jitter_ratio`` is their
    quotient (above 1: the prediction shakes more than the reference). Sequences shorter than
    2 (velocity) or 3 (jitter) frames add nothing to these.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from avzoo import arkit
from avzoo.arkit import BLENDSHAPE_FPS

#: Variance below which a channel counts as constant for Pearson r.
CONSTANT_VARIANCE = 1e-12
DEFAULT_FPS = BLENDSHAPE_FPS
DEFAULT_CLOSURE_THRESHOLD = 0.2
DEFAULT_OPEN_THRESHOLD = 0.1

_JAW_OPEN = arkit.INDEX["jawOpen"]
_MOUTH_CLOSE = arkit.INDEX["mouthClose"]
_PRESS = arkit.indices(["mouthPressLeft", "mouthPressRight"])
_ROLL = arkit.indices(["mouthRollLower", "mouthRollUpper"])
_LIP_CHANNELS = (
    "jawOpen",
    "mouthClose",
    "mouthPressLeft",
    "mouthPressRight",
    "mouthRollLower",
    "mouthRollUpper",
)


def as_sequences(values: Any, what: str) -> list[np.ndarray]:
    """A (T, C) array, a (B, T, C) array or a list of (T_i, C) arrays -> list of float64 (T_i, C)."""
    if not isinstance(values, (list, tuple, np.ndarray)):
        try:
            values = np.asarray(values)  # a torch tensor, a datasets column, ...
        except (TypeError, ValueError, RuntimeError) as e:
            raise ValueError(
                f"{what}: expected a (T, C) array or a list of them, got {type(values).__name__}: {e}"
            ) from None
    if isinstance(values, np.ndarray) and values.ndim == 3:
        return [np.asarray(v, dtype=np.float64) for v in values]
    if isinstance(values, np.ndarray) or (
        isinstance(values, Sequence) and len(values) > 0 and np.ndim(values[0]) == 1 and len(values[0]) > 0
    ):
        values = [values]  # one (T, C) sequence given as an array or as a list of frames
    if not isinstance(values, Sequence) or isinstance(values, str):
        raise ValueError(f"{what}: expected a (T, C) array or a list of them, got {type(values).__name__}")
    out = []
    for i, v in enumerate(values):
        try:
            a = np.asarray(v, dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{what}[{i}] is not a numeric (T, C) array: {e}") from None
        if a.ndim != 2:
            raise ValueError(f"{what}[{i}] must be 2-D (frames, channels), got shape {a.shape}")
        if not np.isfinite(a).all():
            raise ValueError(f"{what}[{i}] contains NaN or infinite values")
        out.append(a)
    return out


def _to_canonical(seqs: list[np.ndarray], order: str | Sequence[str] | None, what: str) -> list[np.ndarray]:
    if order is None:
        order = arkit.ARKIT_NAMES
    try:
        n_src = len(arkit.ORDERS[order]) if isinstance(order, str) else len(order)
    except KeyError:
        raise ValueError(
            f"unknown order {order!r}; known: {sorted(arkit.ORDERS)} or a list of names"
        ) from None
    for i, s in enumerate(seqs):
        if s.shape[1] != n_src:
            raise ValueError(f"{what}[{i}] has {s.shape[1]} channels but its channel order names {n_src}")
    return [arkit.convert(s, order, "canonical") for s in seqs]


def present_channels(order: str | Sequence[str] | None) -> np.ndarray:
    """(52,) mask of the canonical channels that an order actually holds."""
    if order is None:
        return np.ones(arkit.NUM_BLENDSHAPES, dtype=bool)
    names = arkit.ORDERS[order] if isinstance(order, str) else order
    mask = np.zeros(arkit.NUM_BLENDSHAPES, dtype=bool)
    for n in names:
        if not n.startswith("_"):
            mask[arkit.INDEX[arkit.canonical_name(n)]] = True
    return mask


def lip_closure_score(frames: np.ndarray) -> np.ndarray:
    """Per-frame closure score of canonical (..., 52) frames (see module docstring)."""
    press = frames[..., _PRESS].mean(axis=-1)
    roll = frames[..., _ROLL].mean(axis=-1)
    return np.maximum(frames[..., _MOUTH_CLOSE], np.maximum(press, roll))


def lip_aperture(frames: np.ndarray) -> np.ndarray:
    """Per-frame lip gap ``max(jawOpen - mouthClose, 0)`` of canonical (..., 52) frames."""
    return np.maximum(frames[..., _JAW_OPEN] - frames[..., _MOUTH_CLOSE], 0.0)


def lip_state(
    frames: np.ndarray,
    closure_threshold: float = DEFAULT_CLOSURE_THRESHOLD,
    open_threshold: float = DEFAULT_OPEN_THRESHOLD,
) -> tuple[np.ndarray, np.ndarray]:
    """Boolean ``(closed, open)`` per frame of canonical (..., 52) frames; both False means rest."""
    aperture = lip_aperture(frames)
    is_open = aperture >= open_threshold
    closed = (lip_closure_score(frames) >= closure_threshold) & ~is_open
    return closed, is_open


def _nanmean(x: np.ndarray, axis: int | None = None) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices are expected: result is NaN
        return np.nanmean(x, axis=axis)


def _pearson(p: np.ndarray, r: np.ndarray) -> np.ndarray:
    pc = p - p.mean(axis=0)
    rc = r - r.mean(axis=0)
    vp = (pc**2).mean(axis=0)
    vr = (rc**2).mean(axis=0)
    defined = (vp >= CONSTANT_VARIANCE) & (vr >= CONSTANT_VARIANCE)
    out = np.full(p.shape[1], np.nan)
    out[defined] = (pc[:, defined] * rc[:, defined]).mean(axis=0) / np.sqrt(vp[defined] * vr[defined])
    return np.clip(out, -1.0, 1.0)


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b > 0 else float("nan")


def blendshape_errors(
    predictions: Any,
    references: Any,
    *,
    fps: float = DEFAULT_FPS,
    names: str | Sequence[str] | None = None,
    reference_names: str | Sequence[str] | None = None,
    lips_closed: Any = None,
    trim: bool = False,
    closure_threshold: float = DEFAULT_CLOSURE_THRESHOLD,
    open_threshold: float = DEFAULT_OPEN_THRESHOLD,
) -> dict[str, Any]:
    """Errors of predicted blendshape tracks against references (see the module docstring).

    Args:
        predictions, references: a (T, C) array, a (B, T, C) array or a list of (T_i, C) arrays.
        fps: frame rate, for velocity (1/s) and jitter (1/s²).
        names: channel order of ``predictions`` (an :data:`avzoo.arkit.ORDERS` key or a list of
            names); canonical ARKit order when None.
        reference_names: channel order of ``references``; defaults to ``names``.
        lips_closed: optional per-frame booleans, one (T_i,) array per sequence: True where
            the lips must be closed. Replaces the reference-derived closed set.
        trim: crop each pair to the shorter length instead of raising on a length mismatch.
        closure_threshold, open_threshold: the lip-state thresholds.

    Returns:
        ``num_sequences``, ``num_frames``, ``mae``, ``rmse``, ``pearson``; ``{mae,rmse,pearson}_per_group``
        and ``{mae,rmse,pearson}_per_channel`` as ``{name: float}``; ``pearson_undefined``;
        ``lip_closure_accuracy``, ``lip_open_accuracy``, ``lip_closed_frames``, ``lip_open_frames``;
        ``velocity_mae``, ``jitter_pred``, ``jitter_ref``, ``jitter_ratio``.
    """
    try:
        fps = float(fps)
    except (TypeError, ValueError):
        raise ValueError(f"fps must be a positive number, got {fps!r}") from None
    if not np.isfinite(fps) or fps <= 0:
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    if not 0.0 <= closure_threshold <= 1.0 or not 0.0 < open_threshold <= 1.0:
        raise ValueError("closure_threshold must lie in [0, 1] and open_threshold in (0, 1]")
    preds = as_sequences(predictions, "predictions")
    refs = as_sequences(references, "references")
    if len(preds) != len(refs):
        raise ValueError(f"got {len(preds)} prediction sequences but {len(refs)} reference sequences")
    if not preds:
        raise ValueError("no sequences given")
    if reference_names is None:
        reference_names = names
    preds = _to_canonical(preds, names, "predictions")
    refs = _to_canonical(refs, reference_names, "references")
    present = present_channels(names) & present_channels(reference_names)

    masks: list[np.ndarray] | None = None
    if lips_closed is not None:
        if len(lips_closed) > 0 and np.ndim(lips_closed[0]) == 0:
            lips_closed = [lips_closed]  # one sequence's mask
        if len(lips_closed) != len(refs):
            raise ValueError(f"lips_closed has {len(lips_closed)} masks for {len(refs)} sequences")
        masks = [np.asarray(m, dtype=bool).reshape(-1) for m in lips_closed]

    for i, (p, r) in enumerate(zip(preds, refs, strict=True)):
        lengths = [len(p), len(r)] + ([len(masks[i])] if masks is not None else [])
        if len(set(lengths)) > 1:
            if not trim:
                raise ValueError(
                    f"sequence {i}: lengths differ (predictions {len(p)}, references {len(r)}"
                    + (f", lips_closed {len(masks[i])}" if masks is not None else "")
                    + "); pass trim=True to crop to the shortest"
                )
            n = min(lengths)
            preds[i], refs[i] = p[:n], r[:n]
            if masks is not None:
                masks[i] = masks[i][:n]

    P = np.concatenate(preds)[:, present]
    R = np.concatenate(refs)[:, present]
    if len(P) == 0:
        raise ValueError("all sequences are empty (0 frames)")
    names_present = [n for n, keep in zip(arkit.ARKIT_NAMES, present, strict=True) if keep]
    err = P - R
    abs_err = np.abs(err).mean(axis=0)
    sq_err = (err**2).mean(axis=0)
    r_channel = _pearson(P, R)

    out: dict[str, Any] = {
        "num_sequences": len(preds),
        "num_frames": len(P),
        "mae": float(abs_err.mean()),
        "rmse": float(np.sqrt(sq_err.mean())),
        "pearson": float(_nanmean(r_channel)),
    }
    pos = {n: i for i, n in enumerate(names_present)}
    group_mae, group_rmse, group_r = {}, {}, {}
    for group, members in arkit.GROUPS.items():
        idx = [pos[n] for n in members if n in pos]
        if not idx:
            continue
        group_mae[group] = float(abs_err[idx].mean())
        group_rmse[group] = float(np.sqrt(sq_err[idx].mean()))
        group_r[group] = float(_nanmean(r_channel[idx]))
    out["mae_per_group"] = group_mae
    out["rmse_per_group"] = group_rmse
    out["pearson_per_group"] = group_r
    out["mae_per_channel"] = {n: float(v) for n, v in zip(names_present, abs_err, strict=True)}
    out["rmse_per_channel"] = {n: float(np.sqrt(v)) for n, v in zip(names_present, sq_err, strict=True)}
    out["pearson_per_channel"] = {n: float(v) for n, v in zip(names_present, r_channel, strict=True)}
    out["pearson_undefined"] = [n for n, v in zip(names_present, r_channel, strict=True) if np.isnan(v)]

    out.update(_lip_metrics(preds, refs, masks, present, closure_threshold, open_threshold))
    out.update(_motion_metrics(preds, refs, present, fps))
    return out


def _lip_metrics(preds, refs, masks, present, closure_threshold, open_threshold) -> dict[str, Any]:
    if not all(present[arkit.INDEX[n]] for n in _LIP_CHANNELS):
        nan = float("nan")
        return {
            "lip_closure_accuracy": nan,
            "lip_open_accuracy": nan,
            "lip_closed_frames": 0,
            "lip_open_frames": 0,
        }
    P, R = np.concatenate(preds), np.concatenate(refs)
    pred_closed, _ = lip_state(P, closure_threshold, open_threshold)
    ref_closed, ref_open = lip_state(R, closure_threshold, open_threshold)
    if masks is not None:
        ref_closed = np.concatenate(masks)
        ref_open = ref_open & ~ref_closed
    n_closed, n_open = int(ref_closed.sum()), int(ref_open.sum())
    return {
        "lip_closure_accuracy": _ratio(float((pred_closed & ref_closed).sum()), n_closed),
        "lip_open_accuracy": _ratio(float((~pred_closed & ref_open).sum()), n_open),
        "lip_closed_frames": n_closed,
        "lip_open_frames": n_open,
    }


def _motion_metrics(preds, refs, present, fps) -> dict[str, Any]:
    vel_err, acc_pred, acc_ref = [], [], []
    for p, r in zip(preds, refs, strict=True):
        p, r = p[:, present], r[:, present]
        if len(p) >= 2:
            vel_err.append(np.abs(np.diff(p, axis=0) - np.diff(r, axis=0)).ravel())
        if len(p) >= 3:
            acc_pred.append(np.abs(np.diff(p, n=2, axis=0)).ravel())
            acc_ref.append(np.abs(np.diff(r, n=2, axis=0)).ravel())
    nan = float("nan")
    velocity = float(np.concatenate(vel_err).mean() * fps) if vel_err else nan
    jit_pred = float(np.concatenate(acc_pred).mean() * fps**2) if acc_pred else nan
    jit_ref = float(np.concatenate(acc_ref).mean() * fps**2) if acc_ref else nan
    return {
        "velocity_mae": velocity,
        "jitter_pred": jit_pred,
        "jitter_ref": jit_ref,
        "jitter_ratio": _ratio(jit_pred, jit_ref) if acc_pred else nan,
    }
