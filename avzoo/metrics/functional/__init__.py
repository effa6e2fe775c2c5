"""Metric math as plain functions; the ``evaluate`` modules in ``avzoo/metrics/<name>/`` wrap these."""

from avzoo.metrics.functional.blendshape import blendshape_errors, lip_state
from avzoo.metrics.functional.classification import classification_metrics
from avzoo.metrics.functional.separation import (
    match_sources,
    pairwise_si_snr,
    sdr,
    separation_metrics,
    separation_scores,
    si_snr,
)

__all__ = [
    "blendshape_errors",
    "classification_metrics",
    "lip_state",
    "match_sources",
    "pairwise_si_snr",
    "sdr",
    "separation_metrics",
    "separation_scores",
    "si_snr",
]
