"""text-vad: a sentence → valence/arousal/dominance + emotion, a tiny ALBERT distilled from a MiniLM teacher.

Its output drives av-lipsync's emotion condition from text (:func:`avzoo.pipelines.text_to_vad.text_condition_track`).
:func:`register` makes the Auto classes know ``model_type="text-vad"``; ``import avzoo`` calls it through
:mod:`avzoo.families`.
"""

from .configuration_text_vad import TextVadConfig
from .loss_text_vad import TextVadLoss, TextVadLossWeights, text_vad_loss
from .modeling_text_vad import (
    TextVadForVadRegression,
    TextVadModel,
    TextVadOutput,
    TextVadPreTrainedModel,
    TextVadRegressionOutput,
)
from .processing_text_vad import TextVadProcessor, has_words


def register() -> None:
    """Register the text-vad classes with the transformers Auto classes (idempotent)."""
    from transformers import AutoConfig, AutoModel, AutoProcessor

    AutoConfig.register(TextVadConfig.model_type, TextVadConfig, exist_ok=True)
    AutoModel.register(TextVadConfig, TextVadModel, exist_ok=True)
    AutoProcessor.register(TextVadConfig, TextVadProcessor, exist_ok=True)


__all__ = [
    "TextVadConfig",
    "TextVadForVadRegression",
    "TextVadLoss",
    "TextVadLossWeights",
    "TextVadModel",
    "TextVadOutput",
    "TextVadPreTrainedModel",
    "TextVadProcessor",
    "TextVadRegressionOutput",
    "has_words",
    "register",
    "text_vad_loss",
]
