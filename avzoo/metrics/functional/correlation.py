"""Pearson r of two 1-D signals, at lag 0 and at the best lag: the one definition the real-data checks share."""

from __future__ import annotations

import numpy as np


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson r in float64; NaN when either signal is flat or shorter than 3 samples."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if len(x) < 3 or np.std(x) < 1e-9 or np.std(y) < 1e-9:
        return float("nan")
    return float(np.clip(np.corrcoef(x, y)[0, 1], -1.0, 1.0))


def lagged_pearson(x: np.ndarray, reference: np.ndarray, max_lag: int) -> tuple[float, int]:
    """Best r of ``x[t + lag]`` with ``reference[t]`` over ``|lag| <= max_lag`` (positive: ``x`` is late), and that lag.

    Each lag is scored on the two signals' overlap; ``(nan, 0)`` when no lag has a defined r.
    """
    best, best_lag = float("nan"), 0
    for lag in range(-max_lag, max_lag + 1):
        r = (
            pearson(x[lag:], reference[: len(reference) - lag])
            if lag >= 0
            else pearson(x[:lag], reference[-lag:])
        )
        if np.isfinite(r) and (not np.isfinite(best) or r > best):
            best, best_lag = r, lag
    return best, best_lag


__all__ = ["lagged_pearson", "pearson"]
