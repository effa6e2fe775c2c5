"""text-audio-emotion: emotion (7 classes) from what is said and how it is said, with cross-modal attention maps.

:func:`register` makes the Auto classes know ``model_type="text-audio-emotion"``; ``import avzoo`` calls it through
:mod:`avzoo.families`.
"""

from .configuration_text_audio_emotion import (
    FUSIONS,
    TextAudioEmotionConfig,
    default_audio_config,
    default_text_config,
)
from .loss_text_audio_emotion import (
    TextAudioEmotionLoss,
    TextAudioEmotionLossWeights,
    attention_alignment,
    attention_entropy,
    text_audio_emotion_loss,
)
from .modeling_text_audio_emotion import (
    CrossModalAttention,
    TextAudioEmotionClassifierOutput,
    TextAudioEmotionForSequenceClassification,
    TextAudioEmotionModel,
    TextAudioEmotionOutput,
    TextAudioEmotionPreTrainedModel,
    masked_mean,
)
from .processing_text_audio_emotion import (
    AGE_GROUPS,
    GENDERS,
    PITCH_BANDS,
    TextAudioEmotionProcessor,
    has_words,
)


def register() -> None:
    """Register the text-audio-emotion classes with the transformers Auto classes (idempotent)."""
    from transformers import AutoConfig, AutoModel, AutoModelForAudioClassification, AutoProcessor

    AutoConfig.register(TextAudioEmotionConfig.model_type, TextAudioEmotionConfig, exist_ok=True)
    AutoModel.register(TextAudioEmotionConfig, TextAudioEmotionModel, exist_ok=True)
    AutoModelForAudioClassification.register(
        TextAudioEmotionConfig, TextAudioEmotionForSequenceClassification, exist_ok=True
    )
    AutoProcessor.register(TextAudioEmotionConfig, TextAudioEmotionProcessor, exist_ok=True)


__all__ = [
    "AGE_GROUPS",
    "FUSIONS",
    "GENDERS",
    "PITCH_BANDS",
    "CrossModalAttention",
    "TextAudioEmotionClassifierOutput",
    "TextAudioEmotionConfig",
    "TextAudioEmotionForSequenceClassification",
    "TextAudioEmotionLoss",
    "TextAudioEmotionLossWeights",
    "TextAudioEmotionModel",
    "TextAudioEmotionOutput",
    "TextAudioEmotionPreTrainedModel",
    "TextAudioEmotionProcessor",
    "attention_alignment",
    "attention_entropy",
    "default_audio_config",
    "default_text_config",
    "has_words",
    "masked_mean",
    "register",
    "text_audio_emotion_loss",
]
