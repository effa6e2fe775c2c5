"""Processor of the tiny test model: wraps the feature extractor (the processor path of the hub helpers)."""

from transformers import ProcessorMixin


class TinyProcessor(ProcessorMixin):
    """Holds a :class:`TinyFeatureExtractor`; calling it extracts features."""

    def __init__(self, feature_extractor):
        super().__init__(feature_extractor)

    def __call__(self, features, **kwargs):
        return self.feature_extractor(features, **kwargs)


__all__ = ["TinyProcessor"]
