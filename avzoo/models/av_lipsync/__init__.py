"""av-lipsync: speech (+ an emotion condition) → 52 ARKit blendshapes at 30 fps, causal and streamable.

The folder holds what a Hub copy of the model needs: configuration, model (+ the task head with its loss),
processor (features, condition, post-processing, the crisp_mouth filter) and the audio streamer. It imports
from avzoo only ``from avzoo.<module> import ...`` forms, which ``avzoo.hub.save_model_folder`` vendors into a
saved folder so ``trust_remote_code=True`` works without avzoo. :func:`register` makes the Auto classes know
``model_type="av-lipsync"``; ``import avzoo`` calls it through :mod:`avzoo.families`.
"""

from .configuration_av_lipsync import CONDITION_EXTRA, AvLipsyncConfig
from .crisp_mouth import CrispMouthStream, alpha_from_sigma, calibrate_stream, crisp_mouth, sigma_from_alpha
from .feature_extraction_av_lipsync import AvLipsyncFeatureExtractor, AvLipsyncFeatureStream
from .loss_av_lipsync import AvLipsyncLoss, AvLipsyncLossWeights, av_lipsync_loss, lips_sealed
from .modeling_av_lipsync import (
    AvLipsyncForBlendshapeRegression,
    AvLipsyncModel,
    AvLipsyncOutput,
    AvLipsyncPreTrainedModel,
    AvLipsyncRegressionOutput,
    AvLipsyncStreamState,
)
from .processing_av_lipsync import AvLipsyncProcessor
from .streaming_av_lipsync import AvLipsyncStreamer


def register() -> None:
    """Register the av-lipsync classes with the transformers Auto classes (idempotent)."""
    from transformers import AutoConfig, AutoFeatureExtractor, AutoModel, AutoProcessor

    AutoConfig.register(AvLipsyncConfig.model_type, AvLipsyncConfig, exist_ok=True)
    AutoModel.register(AvLipsyncConfig, AvLipsyncModel, exist_ok=True)
    AutoFeatureExtractor.register(AvLipsyncConfig, AvLipsyncProcessor, exist_ok=True)
    AutoProcessor.register(AvLipsyncConfig, AvLipsyncProcessor, exist_ok=True)


__all__ = [
    "CONDITION_EXTRA",
    "AvLipsyncConfig",
    "AvLipsyncFeatureExtractor",
    "AvLipsyncFeatureStream",
    "AvLipsyncForBlendshapeRegression",
    "AvLipsyncLoss",
    "AvLipsyncLossWeights",
    "AvLipsyncModel",
    "AvLipsyncOutput",
    "AvLipsyncPreTrainedModel",
    "AvLipsyncProcessor",
    "AvLipsyncRegressionOutput",
    "AvLipsyncStreamState",
    "AvLipsyncStreamer",
    "CrispMouthStream",
    "alpha_from_sigma",
    "av_lipsync_loss",
    "calibrate_stream",
    "crisp_mouth",
    "lips_sealed",
    "register",
    "sigma_from_alpha",
]
