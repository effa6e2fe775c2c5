"""Evaluation jobs: score a model family on its held-out data against baselines, and write the JSON its card quotes.

* :mod:`avzoo.evaluation.inference` -- the family's one inference path, batched: processor → model →
  ``processor.post_process_blendshapes`` (:func:`predict_blendshapes`), and :func:`load_model` (model, processor).
* :mod:`avzoo.evaluation.rows` -- a test split decoded into scoring rows (/p b m/ frames, labels), and the model's
  tracks for them with the labels as the condition.
* :mod:`avzoo.evaluation.scoring` -- the reported numbers, baseline ratios, the quality bars, closure rates.
* :mod:`avzoo.evaluation.report` -- the card's metrics list, strict JSON, the text tables.
* :mod:`avzoo.evaluation.baselines` -- blendshape baselines (mean pose, loudness → jawOpen), fitted on train only.
* :mod:`avzoo.evaluation.real_voices` -- av-lipsync's behaviour on real speech without reference animation.
* :mod:`avzoo.evaluation.av_lipsync` -- the av-lipsync job (:func:`evaluate_av_lipsync`, :func:`run_evaluation`,
  behind ``avzoo evaluate av-lipsync``; also ``python -m avzoo.evaluation.av_lipsync``); re-exports the helpers.

Names load lazily, so ``python -m avzoo.evaluation.av_lipsync`` does not import its own module twice.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "OFFLINE_THRESHOLDS": "av_lipsync",
    "THRESHOLDS": "av_lipsync",
    "evaluate_av_lipsync": "av_lipsync",
    "evaluate_baselines": "av_lipsync",
    "format_table": "av_lipsync",
    "run_evaluation": "av_lipsync",
    "MeanPoseBaseline": "baselines",
    "RmsJawBaseline": "baselines",
    "fit_baselines": "baselines",
    "frame_rms": "baselines",
    "load_model": "inference",
    "predict_blendshapes": "inference",
    "load_test_rows": "rows",
    "predict_rows": "rows",
    "score_rows": "scoring",
    "real_voice_report": "real_voices",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
