"""Feature extractor of the tiny test model: pads a list of (T, F) arrays into a batch with a mask."""

from typing import ClassVar

import numpy as np
from transformers import BatchFeature, SequenceFeatureExtractor


class TinyFeatureExtractor(SequenceFeatureExtractor):
    """Turns a (T, F) array or a list of them into ``input_features`` (B, T, F) and ``attention_mask`` (B, T)."""

    model_input_names: ClassVar[list[str]] = ["input_features", "attention_mask"]

    def __init__(self, feature_size: int = 8, sampling_rate: int = 30, padding_value: float = 0.0, **kwargs):
        super().__init__(
            feature_size=feature_size, sampling_rate=sampling_rate, padding_value=padding_value, **kwargs
        )

    def __call__(self, features, return_tensors: str | None = "pt", **kwargs) -> BatchFeature:
        items = [features] if isinstance(features, np.ndarray) and features.ndim == 2 else list(features)
        arrays = [np.asarray(item, dtype=np.float32) for item in items]
        for i, array in enumerate(arrays):
            if array.ndim != 2 or array.shape[1] != self.feature_size:
                raise ValueError(
                    f"item {i} has shape {array.shape}; expected (T, {self.feature_size}) float features"
                )
        batch = BatchFeature({"input_features": arrays})
        return self.pad(batch, padding="longest", return_attention_mask=True, return_tensors=return_tensors)


__all__ = ["TinyFeatureExtractor"]
