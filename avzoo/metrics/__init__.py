"""Metrics as local ``evaluate`` modules, one folder each, plus the plain functions they wrap.

``avzoo.metrics.load("separation")`` is ``evaluate.load(<this package>/separation)``: it loads
offline. The math is in :mod:`avzoo.metrics.functional`, so the wrappers can be swapped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: Names of the bundled evaluate modules.
METRICS: tuple[str, ...] = ("blendshape_error", "classification", "separation")

_HERE = Path(__file__).resolve().parent


def metric_path(name: str) -> str:
    """Folder of a bundled metric, for ``evaluate.load(metric_path(name))``."""
    if name not in METRICS:
        raise ValueError(f"unknown metric {name!r}; bundled metrics: {list(METRICS)}")
    return str(_HERE / name)


def load(name: str, config_name: str | None = None, **kwargs: Any):
    """``evaluate.load`` of a bundled metric folder; ``kwargs`` go to ``evaluate.load``."""
    import evaluate  # imported here: evaluate pulls in datasets, too heavy for `import avzoo.metrics`

    return evaluate.load(metric_path(name), config_name=config_name, **kwargs)


__all__ = ["METRICS", "load", "metric_path"]
