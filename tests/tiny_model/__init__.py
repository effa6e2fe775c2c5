"""A throwaway tiny model used only by the tests: (B, T, F) features → (B, T, 52) blendshapes.

It follows the layout every avzoo model folder uses (``configuration_*.py``, ``modeling_*.py``,
``feature_extraction_*.py``, self-contained with same-folder relative imports only), so the hub helpers
and ``tests/model_mixin.py`` are exercised on the same shape of code the families ship.
It is registered with the Auto classes by the tests, never by ``import avzoo``.
"""

from .configuration_tiny import TinyConfig
from .feature_extraction_tiny import TinyFeatureExtractor
from .modeling_tiny import TinyBlendshapeModel, TinyBlendshapeOutput

__all__ = ["TinyBlendshapeModel", "TinyBlendshapeOutput", "TinyConfig", "TinyFeatureExtractor"]
