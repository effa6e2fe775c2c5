"""koemorph: speech → 52 ARKit blendshapes at 30 fps from a log-mel stream (mouth) and an eGeMAPS stream (expression).

The folder holds what a Hub copy of the model needs: configuration, model (+ the task head with its loss) and the
processor. :func:`register` makes the Auto classes know ``model_type="koemorph"``; ``import avzoo`` calls it through
:mod:`avzoo.families`.
"""

from .configuration_koemorph import EGEMAPS_DIM, KoemorphConfig
from .loss_koemorph import KoemorphLossWeights, koemorph_loss
from .modeling_koemorph import (
    KoemorphForBlendshapeRegression,
    KoemorphModel,
    KoemorphOutput,
    KoemorphPreTrainedModel,
    KoemorphRegressionOutput,
)
from .processing_koemorph import KoemorphProcessor


def register() -> None:
    """Register the koemorph classes with the transformers Auto classes (idempotent)."""
    from transformers import AutoConfig, AutoFeatureExtractor, AutoModel, AutoProcessor

    AutoConfig.register(KoemorphConfig.model_type, KoemorphConfig, exist_ok=True)
    AutoModel.register(KoemorphConfig, KoemorphModel, exist_ok=True)
    AutoFeatureExtractor.register(KoemorphConfig, KoemorphProcessor, exist_ok=True)
    AutoProcessor.register(KoemorphConfig, KoemorphProcessor, exist_ok=True)


__all__ = [
    "EGEMAPS_DIM",
    "KoemorphConfig",
    "KoemorphForBlendshapeRegression",
    "KoemorphLossWeights",
    "KoemorphModel",
    "KoemorphOutput",
    "KoemorphPreTrainedModel",
    "KoemorphProcessor",
    "KoemorphRegressionOutput",
    "koemorph_loss",
    "register",
]
