"""av-lipsync: speech (+ an emotion condition) → 52 ARKit blendshapes at 30 fps, causal and streamable.

The folder is self-contained (it is what the Hub copy holds): configuration, model, feature extractor, the
crisp_mouth filter and the audio streamer. :func:`register` makes ``AutoConfig``/``AutoModel``/
``AutoFeatureExtractor`` know ``model_type="av-lipsync"``; ``import avzoo`` calls it.
"""

from .configuration_av_lipsync import AvLipsyncConfig
from .crisp_mouth import CrispMouthStream, alpha_from_sigma, calibrate_stream, crisp_mouth, sigma_from_alpha
from .feature_extraction_av_lipsync import AvLipsyncFeatureExtractor, AvLipsyncFeatureStream
from .modeling_av_lipsync import (
    AvLipsyncLoss,
    AvLipsyncModel,
    AvLipsyncOutput,
    AvLipsyncPreTrainedModel,
    AvLipsyncStreamState,
    compute_loss,
)
from .streaming_av_lipsync import AvLipsyncStreamer


def register() -> None:
    """Register the av-lipsync classes with the transformers Auto classes (idempotent)."""
    from transformers import AutoConfig, AutoFeatureExtractor, AutoModel

    AutoConfig.register(AvLipsyncConfig.model_type, AvLipsyncConfig, exist_ok=True)
    AutoModel.register(AvLipsyncConfig, AvLipsyncModel, exist_ok=True)
    AutoFeatureExtractor.register(AvLipsyncConfig, AvLipsyncFeatureExtractor, exist_ok=True)


__all__ = [
    "AvLipsyncConfig",
    "AvLipsyncFeatureExtractor",
    "AvLipsyncFeatureStream",
    "AvLipsyncLoss",
    "AvLipsyncModel",
    "AvLipsyncOutput",
    "AvLipsyncPreTrainedModel",
    "AvLipsyncStreamState",
    "AvLipsyncStreamer",
    "CrispMouthStream",
    "alpha_from_sigma",
    "calibrate_stream",
    "compute_loss",
    "crisp_mouth",
    "register",
    "sigma_from_alpha",
]
