"""Classification scores for emotion recognition: accuracy, UAR/WAR, macro/weighted F1, confusion matrix.

Definitions (``n_c`` = reference count of class c, ``tp_c`` its true positives, N = all examples)
    * ``accuracy`` = sum(tp_c) / N.
    * ``war`` (weighted average recall) = sum_c (n_c / N) * (tp_c / n_c) = accuracy: the two are
      the same number, reported under both names because emotion papers quote both.
    * ``uar`` (unweighted average recall, = balanced accuracy) = mean of per-class recall over
      the classes that occur in the references.
    * per-class precision = tp / predicted count (0 when the class is never predicted but
      occurs in the references), recall = tp / n_c (NaN when n_c = 0), F1 = their harmonic
      mean (0 when tp = 0).
    * ``macro_f1`` = mean F1 over the classes that occur in the references or the predictions;
      a class in ``labels`` that occurs in neither has no F1 (NaN) and is left out.
      ``weighted_f1`` weights each class's F1 by n_c (the MELD convention).
    * ``confusion_matrix[i][j]`` counts examples of reference class i predicted as class j.

These equal scikit-learn's ``accuracy_score``, ``balanced_accuracy_score``, ``f1_score`` with
``average="macro"``/``"weighted"`` and ``confusion_matrix`` on the labels that occur.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np


def _encode(values: Sequence[Any], what: str, classes: list[Any]) -> np.ndarray:
    index = {c: i for i, c in enumerate(classes)}
    try:
        return np.array([index[v] for v in values], dtype=np.int64)
    except KeyError as e:
        raise ValueError(
            f"{what} contain label {e.args[0]!r}, which is not among the classes {classes}"
        ) from None


def _normalise(values: Any, what: str) -> list[Any]:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be a 1-D sequence of labels (one per example), got shape {arr.shape}")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ValueError(f"{what} must be integer class ids or strings, got non-integer floats")
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iuUSO":
        raise ValueError(f"{what} must be integer class ids or strings, got dtype {arr.dtype}")
    return [v.item() if isinstance(v, np.generic) else v for v in arr]


def _floats(x: np.ndarray) -> list[float]:
    return [float(v) for v in x]


def classification_metrics(
    predictions: Any, references: Any, labels: Sequence[Any] | None = None
) -> dict[str, Any]:
    """Scores of predicted class labels against references (see the module docstring).

    Args:
        predictions, references: one label per example, integer class ids or strings.
        labels: class names. With integer labels, ``labels[i]`` names class ``i`` and every id
            must lie in ``[0, len(labels))``. With string labels, the classes and their order.
            When None, the classes are the sorted union of the labels that occur.

    Returns:
        ``accuracy``, ``war``, ``uar``, ``macro_f1``, ``weighted_f1``, ``macro_precision``,
        ``labels``, ``confusion_matrix`` (nested lists), ``per_class_{precision,recall,f1}``
        and ``support`` as ``{label: value}``, ``num_examples``.
    """
    preds = _normalise(predictions, "predictions")
    refs = _normalise(references, "references")
    if len(preds) != len(refs):
        raise ValueError(f"got {len(preds)} predictions but {len(refs)} references")
    if not refs:
        raise ValueError("no examples given")
    kinds = {isinstance(v, str) for v in preds + refs}
    if len(kinds) > 1:
        raise ValueError("predictions and references mix integer and string labels; use one kind")
    is_str = kinds == {True}

    if labels is None:
        classes = sorted(set(preds) | set(refs))
        names = [str(c) for c in classes]
    else:
        names = [str(n) for n in labels]
        if len(set(names)) != len(names):
            raise ValueError(f"labels must be unique, got {list(labels)}")
        classes = names if is_str else list(range(len(names)))
    p = _encode(preds, "predictions", classes)
    r = _encode(refs, "references", classes)

    k = len(classes)
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (r, p), 1)
    tp = np.diag(cm).astype(np.float64)
    support = cm.sum(axis=1).astype(np.float64)
    predicted = cm.sum(axis=0).astype(np.float64)
    occurs = (support > 0) | (predicted > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = np.where(support > 0, tp / support, np.nan)
        precision = np.where(predicted > 0, tp / predicted, np.where(support > 0, 0.0, np.nan))
        f1 = np.where(tp > 0, 2 * tp / (support + predicted), np.where(occurs, 0.0, np.nan))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        uar = float(np.nanmean(recall))
        macro_f1 = float(np.nanmean(f1))
        macro_precision = float(np.nanmean(precision[occurs]))
    accuracy = float(tp.sum() / len(r))
    weighted_f1 = float(np.nansum(f1 * support) / support.sum())
    return {
        "accuracy": accuracy,
        "war": accuracy,
        "uar": uar,
        "macro_f1": macro_f1,
        "weighted_f1": weighted_f1,
        "macro_precision": macro_precision,
        "num_examples": len(r),
        "labels": names,
        "confusion_matrix": cm.tolist(),
        "per_class_precision": dict(zip(names, _floats(precision), strict=True)),
        "per_class_recall": dict(zip(names, _floats(recall), strict=True)),
        "per_class_f1": dict(zip(names, _floats(f1), strict=True)),
        "support": {n: int(s) for n, s in zip(names, support, strict=True)},
    }
