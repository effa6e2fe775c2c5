"""Emotion fidelity of blendshape tracks: a fixed classifier reads the emotion off the expressive channels.

A speech-to-blendshape model that hears emotion should move the brows, cheeks, eye aperture and mouth corners the
way the emotion does. :class:`EmotionProbe` is a multinomial logistic regression over per-clip statistics (mean
and standard deviation) of :data:`PROBE_CHANNELS`, fitted once on the *reference* tracks of a training split.
Applied to a model's tracks, its accuracy says how much of the emotion the model put on the face; applied to the
test split's references, it gives the ceiling. The probe never sees audio, and its parameters go into the
evaluation JSON (``to_dict``), so every number in a card comes from the same fixed classifier.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from avzoo import arkit
from avzoo.emotions import RAVDESS_EMOTIONS

#: The channels an emotion shows on: brows, cheeks, nose, eye squint/wide and the mouth corners (not blinks or
#: gaze, which the corpus draws at random, and not the articulators).
PROBE_CHANNELS: tuple[str, ...] = (
    *arkit.BROWS,
    *arkit.CHEEKS,
    *arkit.NOSE,
    *(n for n in arkit.EYES if n.startswith(("eyeSquint", "eyeWide"))),
    *arkit.SHARED,
)


def clip_features(track: np.ndarray, names: Sequence[str] = arkit.ARKIT_NAMES) -> np.ndarray:
    """(2 * len(PROBE_CHANNELS),) per-clip mean and standard deviation of the probe channels of a (T, 52) track."""
    index = {n: i for i, n in enumerate(names)}
    x = np.asarray(track, np.float64)[:, [index[n] for n in PROBE_CHANNELS]]
    if len(x) == 0:
        raise ValueError("a track with no frames has no emotion to read")
    return np.concatenate([x.mean(0), x.std(0)])


class EmotionProbe:
    """The fixed classifier (see the module docstring): ``fit`` on reference tracks, then ``predict``/``score``."""

    def __init__(self, labels: Sequence[str] = RAVDESS_EMOTIONS):
        self.labels = list(labels)
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None
        self.coef: np.ndarray | None = None
        self.intercept: np.ndarray | None = None

    def fit(self, tracks: Sequence[np.ndarray], emotions: Sequence[str], c: float = 1.0) -> EmotionProbe:
        from sklearn.linear_model import LogisticRegression

        x = np.stack([clip_features(t) for t in tracks])
        y = np.array([self.labels.index(e) for e in emotions])
        self.mean, self.std = x.mean(0), np.maximum(x.std(0), 1e-6)
        model = LogisticRegression(C=c, max_iter=3000)
        model.fit((x - self.mean) / self.std, y)
        coef = np.zeros((len(self.labels), x.shape[1]))
        intercept = np.full(len(self.labels), -1e9)  # emotions absent from training are never predicted
        coef[model.classes_], intercept[model.classes_] = model.coef_, model.intercept_
        self.coef, self.intercept = coef, intercept
        return self

    def predict(self, tracks: Sequence[np.ndarray]) -> list[str]:
        if self.coef is None:
            raise ValueError("the probe is not fitted; call fit() or from_dict() first")
        x = (np.stack([clip_features(t) for t in tracks]) - self.mean) / self.std
        return [self.labels[i] for i in np.argmax(x @ self.coef.T + self.intercept, axis=1)]

    def score(self, tracks: Sequence[np.ndarray], emotions: Sequence[str]) -> dict[str, Any]:
        """Accuracy overall and per true emotion, the confusion matrix, and chance levels."""
        predicted = self.predict(tracks)
        truth = list(emotions)
        present = [e for e in self.labels if e in truth]
        per = {
            e: float(np.mean([p == e for p, t in zip(predicted, truth, strict=True) if t == e]))
            for e in present
        }
        confusion = [
            [sum(1 for p, t in zip(predicted, truth, strict=True) if t == a and p == b) for b in self.labels]
            for a in self.labels
        ]
        counts = np.array([truth.count(e) for e in present], float)
        return {
            "accuracy": float(np.mean([p == t for p, t in zip(predicted, truth, strict=True)])),
            "per_emotion": per,
            "balanced_accuracy": float(np.mean(list(per.values()))),
            "chance_uniform": 1.0 / len(present),
            "chance_majority": float(counts.max() / counts.sum()),
            "num_clips": len(truth),
            "confusion": {"labels": self.labels, "rows_true_cols_predicted": confusion},
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "labels": self.labels,
            "channels": list(PROBE_CHANNELS),
            "mean": self.mean.tolist(),
            "std": self.std.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept.tolist(),
        }

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> EmotionProbe:
        if list(values["channels"]) != list(PROBE_CHANNELS):
            raise ValueError("this probe was fitted on other channels than PROBE_CHANNELS")
        probe = cls(values["labels"])
        probe.mean, probe.std = np.asarray(values["mean"]), np.asarray(values["std"])
        probe.coef, probe.intercept = np.asarray(values["coef"]), np.asarray(values["intercept"])
        return probe


__all__ = ["PROBE_CHANNELS", "EmotionProbe", "clip_features"]
