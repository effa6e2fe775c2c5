"""Calibrating the crisp_mouth filter on a model's own predictions (what ``avzoo release av-lipsync`` stores in the
processor's ``crisp_mouth_offline`` / ``crisp_mouth_stream``).

Given predicted and reference ``(T, 52)`` tracks of a calibration set (validation) and a held-out set (test):

1. offline parameters: a grid search over (sigma, edge0, edge1, scale) on the calibration tracks, minimising
   :func:`objective`, then the closure seal (``seal_edge0``/``seal_edge1``, None = off) on top of the chosen gate;
2. streaming parameters: :func:`avzoo.models.av_lipsync.crisp_mouth.calibrate_stream` on the calibration
   predictions (alpha and per-channel absolute edges from each channel's typical utterance level), then the seal;
3. on the held-out tracks: metrics of the raw tracks, the offline filter (with and without the seal, and with the
   default parameters) and the streaming filter (calibrated, and with ``alpha_from_sigma`` instead of the searched
   alpha), plus the stream-vs-offline gap (MAE on the mouth channels) next to the raw-vs-offline distance.

Metrics (``avzoo.metrics.functional.blendshape.blendshape_errors``): speech-channel MAE, jawOpen r, lip-closure
accuracy (reference-closed frames predicted closed) and lip-open accuracy, jitter of the mouth channels (mean |second
difference| x fps², lower is steadier) and its ratio to the reference's.

``benchmarks/crisp_mouth.py`` runs the same calibration on fabricated or model predictions and records the report.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from avzoo.arkit import ARKIT_NAMES, BLENDSHAPE_FPS
from avzoo.metrics.functional.blendshape import blendshape_errors
from avzoo.models.av_lipsync.crisp_mouth import (
    DEFAULT_OFFLINE,
    CrispMouthStream,
    alpha_from_sigma,
    calibrate_stream,
    crisp_mouth,
    mouth_channels,
)

FPS = BLENDSHAPE_FPS
MOUTH = mouth_channels(ARKIT_NAMES)
MOUTH_NAMES = [ARKIT_NAMES[i] for i in MOUTH]
#: The offline gate's search grid.
GRID: dict[str, list[float]] = {
    "sigma": [0.5, 0.75, 1.0, 1.5, 2.0],
    "edge0": [0.0, 0.1, 0.15, 0.2, 0.25],
    "edge1": [0.3, 0.4, 0.5, 0.6, 0.7],
    "scale": [1.0, 1.1, 1.2, 1.3],
}
#: Closure-seal edges on the mean lip press ((None, None): no seal); searched after the gate.
SEAL_GRID: list[tuple[float | None, float | None]] = [
    (None, None),
    (0.05, 0.12),
    (0.08, 0.16),
    (0.1, 0.2),
    (0.12, 0.25),
    (0.15, 0.3),
    (0.2, 0.35),
]
GATE_KEYS = ("sigma", "edge0", "edge1", "scale")
STREAM_KEYS = ("alpha", "edge0", "edge1", "scale", "seal_edge0", "seal_edge1")

Tracks = Sequence[np.ndarray]


def metrics(preds: Tracks, refs: Tracks, fps: float = FPS) -> dict[str, float]:
    """Speech MAE, jawOpen r, closure/open accuracy and mouth jitter of ``preds`` against ``refs``."""
    full = blendshape_errors(list(preds), list(refs), fps=fps)
    mouth = blendshape_errors(
        [p[:, MOUTH] for p in preds], [r[:, MOUTH] for r in refs], fps=fps, names=MOUTH_NAMES
    )
    return {
        "speech_mae": full["mae_per_group"]["speech"],
        "jaw_open_pearson": full["pearson_per_channel"]["jawOpen"],
        "lip_closure_accuracy": full["lip_closure_accuracy"],
        "lip_open_accuracy": full["lip_open_accuracy"],
        "mouth_jitter": mouth["jitter_pred"],
        "mouth_jitter_reference": mouth["jitter_ref"],
        "mouth_jitter_ratio": mouth["jitter_ratio"],
    }


def objective(m: Mapping[str, float]) -> float:
    """Lower is better: ``speech MAE + 0.1 (1 - closure acc) + 0.3 (1 - open acc) + 0.005 max(jitter ratio - 1, 0)``.

    A false closure (lips snapping shut mid-vowel) costs 3x a missed one; each unit of jitter ratio above the
    reference's costs about as much as 0.005 MAE.
    """
    jitter_excess = max(m["mouth_jitter_ratio"] - 1.0, 0.0)
    return (
        m["speech_mae"]
        + 0.1 * (1.0 - m["lip_closure_accuracy"])
        + 0.3 * (1.0 - m["lip_open_accuracy"])
        + 0.005 * jitter_excess
    )


def gap(a: Tracks, b: Tracks) -> float:
    """Mean absolute difference of two sets of tracks on the mouth channels."""
    return float(
        np.concatenate([np.abs(x[:, MOUTH] - y[:, MOUTH]).ravel() for x, y in zip(a, b, strict=True)]).mean()
    )


def stream_filter(params: Mapping[str, Any], tracks: Tracks) -> list[np.ndarray]:
    """Each track through a fresh :class:`CrispMouthStream` with ``params`` (the keys of :data:`STREAM_KEYS`)."""
    return [CrispMouthStream(**{k: params[k] for k in STREAM_KEYS})(t) for t in tracks]


def calibrate_offline(
    preds: Tracks,
    refs: Tracks,
    grid: Mapping[str, Sequence[float]] = GRID,
    seal_grid: Sequence[tuple[float | None, float | None]] = SEAL_GRID,
) -> dict[str, Any]:
    """The offline parameters with the lowest :func:`objective` on (``preds``, ``refs``): gate, then seal.

    Returns ``{"sigma", "edge0", "edge1", "scale"}`` plus ``"seal_edge0"``/``"seal_edge1"`` when a seal beats
    none.
    """
    if not preds or len(preds) != len(refs):
        raise ValueError(
            f"need as many calibration references as predictions, got {len(refs)} and {len(preds)}"
        )
    best: tuple[float, dict[str, Any]] | None = None
    for sigma, edge0, edge1, scale in itertools.product(*(grid[k] for k in GATE_KEYS)):
        if edge1 <= edge0:
            continue
        params = {"sigma": sigma, "edge0": edge0, "edge1": edge1, "scale": scale}
        score = objective(metrics([crisp_mouth(p, **params) for p in preds], refs))
        if best is None or score < best[0]:
            best = (score, params)
    if best is None:
        raise ValueError(f"the grid has no gate with edge0 < edge1: {dict(grid)}")
    gate = best[1]
    for e0, e1 in seal_grid:
        params = {**gate, "seal_edge0": e0, "seal_edge1": e1}
        score = objective(metrics([crisp_mouth(p, **params) for p in preds], refs))
        if score < best[0]:
            best = (score, params)
    return best[1]


def calibrate_streaming(
    preds: Tracks,
    refs: Tracks,
    offline_params: Mapping[str, Any],
    seal_grid: Sequence[tuple[float | None, float | None]] = SEAL_GRID,
) -> dict[str, Any]:
    """Streaming parameters: :func:`calibrate_stream` against the offline gate, then the seal by :func:`objective`.

    Returns :data:`STREAM_KEYS` (per-channel ``edge0``/``edge1`` lists) plus ``"gap"``, the mean absolute gap to
    the offline gate on the calibration tracks.
    """
    gate = {k: offline_params[k] for k in GATE_KEYS}
    params = {**calibrate_stream(list(preds), gate), "seal_edge0": None, "seal_edge1": None}
    best: tuple[float, dict[str, Any]] | None = None
    for e0, e1 in seal_grid:
        trial = {**params, "seal_edge0": e0, "seal_edge1": e1}
        score = objective(metrics(stream_filter(trial, preds), refs))
        if best is None or score < best[0]:
            best = (score, trial)
    return params if best is None else best[1]


def calibrate_crisp_mouth(
    cal_preds: Tracks,
    cal_refs: Tracks,
    test_preds: Tracks,
    test_refs: Tracks,
    *,
    grid: Mapping[str, Sequence[float]] = GRID,
    seal_grid: Sequence[tuple[float | None, float | None]] = SEAL_GRID,
) -> dict[str, Any]:
    """Calibrate on (``cal_preds``, ``cal_refs``), score on (``test_preds``, ``test_refs``); a JSON-able report.

    Keys: ``grid``, ``offline_params`` (what ``AvLipsyncProcessor(crisp_mouth_offline=...)`` takes),
    ``stream_params`` (:data:`STREAM_KEYS` plus ``typical_level_per_channel``: each mouth channel's streaming
    ``edge1`` over the offline one), ``alpha_from_sigma``, ``held_out`` (metrics per variant) and
    ``gap_mae_mouth``.
    """
    offline_params = calibrate_offline(cal_preds, cal_refs, grid, seal_grid)
    gate_only = {k: offline_params[k] for k in GATE_KEYS}
    stream_params = calibrate_streaming(cal_preds, cal_refs, offline_params, seal_grid)

    offline = [crisp_mouth(p, **offline_params) for p in test_preds]
    offline_no_seal = [crisp_mouth(p, **gate_only) for p in test_preds]
    default_offline = [crisp_mouth(p, **DEFAULT_OFFLINE) for p in test_preds]
    streamed = stream_filter(stream_params, test_preds)
    streamed_matched = stream_filter(
        {**stream_params, "alpha": alpha_from_sigma(offline_params["sigma"])}, test_preds
    )
    mouth_levels = {
        ARKIT_NAMES[i]: round(stream_params["edge1"][i] / offline_params["edge1"], 4) for i in MOUTH
    }
    return {
        "grid": {k: list(v) for k, v in grid.items()},
        "offline_params": offline_params,
        "stream_params": {
            "alpha": stream_params["alpha"],
            "scale": stream_params["scale"],
            "seal_edge0": stream_params["seal_edge0"],
            "seal_edge1": stream_params["seal_edge1"],
            "edges_are": "offline relative edges x the median utterance level of each channel",
            "typical_level_per_channel": mouth_levels,
            "edge0": stream_params["edge0"],
            "edge1": stream_params["edge1"],
        },
        "alpha_from_sigma": alpha_from_sigma(offline_params["sigma"]),
        "held_out": {
            "raw": metrics(test_preds, test_refs),
            "offline": metrics(offline, test_refs),
            "offline_without_seal": metrics(offline_no_seal, test_refs),
            "offline_default_params": {"params": DEFAULT_OFFLINE, **metrics(default_offline, test_refs)},
            "stream_calibrated": metrics(streamed, test_refs),
            "stream_alpha_from_sigma": metrics(streamed_matched, test_refs),
            "reference": metrics(test_refs, test_refs),
        },
        "gap_mae_mouth": {
            "stream_calibrated_vs_offline": gap(streamed, offline),
            "stream_alpha_from_sigma_vs_offline": gap(streamed_matched, offline),
            "raw_vs_offline": gap(test_preds, offline),
        },
    }


def processor_settings(report: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(crisp_mouth_offline, crisp_mouth_stream)`` for the processor from a :func:`calibrate_crisp_mouth` report.

    Both keep the raw track's closures (the filter's default, calibrated with it). The offline filter gates
    ``tongueOut`` by the phone head (on /th/ /dh/ only); the evaluation passes the phone logits to its filtered
    variant, so the card describes what the pipeline gives.
    """
    stream = report["stream_params"]
    offline = {**report["offline_params"], "keep_closures": True, "tongue_gate": True}
    return offline, {**{k: stream[k] for k in STREAM_KEYS}, "keep_closures": True}


__all__ = [
    "FPS",
    "GRID",
    "MOUTH",
    "MOUTH_NAMES",
    "SEAL_GRID",
    "STREAM_KEYS",
    "calibrate_crisp_mouth",
    "calibrate_offline",
    "calibrate_streaming",
    "gap",
    "metrics",
    "objective",
    "processor_settings",
    "stream_filter",
]
