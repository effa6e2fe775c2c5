"""text-vad: a tiny ALBERT that maps a sentence to valence/arousal/dominance and an emotion distribution.

:class:`TextVadModel` (what ``AutoModel`` loads) encodes token ids with transformers' ``AlbertModel`` and pools
the masked mean of the last hidden state; :class:`TextVadForVadRegression` adds the VAD and emotion heads and
returns the loss of :mod:`.loss_text_vad` when given ``labels``. Both heads share one tanh layer, so the VAD
and the emotion read the same sentence summary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn
from transformers import AlbertModel, PreTrainedModel
from transformers import initialization as init
from transformers.models.albert.modeling_albert import AlbertEmbeddings
from transformers.utils import ModelOutput

from .configuration_text_vad import TextVadConfig
from .loss_text_vad import TextVadLossWeights, text_vad_loss


@dataclass
class TextVadOutput(ModelOutput):
    """``vad`` (B, 3): valence, arousal, dominance (about [-1, 1]); ``emotion_logits`` (B, E); ``pooler_output``
    (B, hidden): the masked token mean; ``last_hidden_state`` (B, L, hidden)."""

    vad: torch.Tensor | None = None
    emotion_logits: torch.Tensor | None = None
    pooler_output: torch.Tensor | None = None
    last_hidden_state: torch.Tensor | None = None


@dataclass
class TextVadRegressionOutput(ModelOutput):
    """:class:`TextVadOutput` with ``loss`` first (given ``labels``)."""

    loss: torch.Tensor | None = None
    vad: torch.Tensor | None = None
    emotion_logits: torch.Tensor | None = None
    pooler_output: torch.Tensor | None = None


class TextVadPreTrainedModel(PreTrainedModel):
    config_class = TextVadConfig
    base_model_prefix = "text_vad"
    main_input_name = "input_ids"
    _no_split_modules: ClassVar[list[str]] = []
    _supports_sdpa = True  # the ALBERT inside uses torch SDPA attention

    def _init_weights(self, module: nn.Module) -> None:
        # The generic init covers Linear/Embedding/LayerNorm (through transformers.initialization, so loading on
        # the meta device initialises only missing weights); ALBERT's embedding buffers need their fixed values.
        super()._init_weights(module)
        if isinstance(module, AlbertEmbeddings):
            init.copy_(module.position_ids, torch.arange(module.position_ids.shape[-1]).expand((1, -1)))
            init.zeros_(module.token_type_ids)


class TextVadModel(TextVadPreTrainedModel):
    """Token ids → VAD and emotion logits: ALBERT encoder, masked mean, one shared tanh layer, two linear heads."""

    def __init__(self, config: TextVadConfig):
        super().__init__(config)
        self.albert = AlbertModel(config.albert_config(), add_pooling_layer=False)
        self.summary = nn.Sequential(
            nn.Linear(config.hidden_size, config.hidden_size),
            nn.Tanh(),
            nn.Dropout(config.hidden_dropout_prob),
        )
        self.vad_head = nn.Linear(config.hidden_size, 3)
        self.emotion_head = nn.Linear(config.hidden_size, config.num_emotions)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> TextVadOutput | tuple:
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        hidden = self.albert(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        summary = self.summary(pooled)
        output = TextVadOutput(
            vad=self.vad_head(summary),
            emotion_logits=self.emotion_head(summary),
            pooler_output=pooled,
            last_hidden_state=hidden,
        )
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        return output if return_dict else output.to_tuple()


class TextVadForVadRegression(TextVadPreTrainedModel):
    """:class:`TextVadModel` under ``text_vad`` + the training loss (:func:`~.loss_text_vad.text_vad_loss`)."""

    def __init__(self, config: TextVadConfig):
        super().__init__(config)
        self.text_vad = TextVadModel(config)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        loss_weights: TextVadLossWeights | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> TextVadRegressionOutput | tuple:
        """``labels`` (B, 3 + num_emotions): VAD then emotion probabilities, NaN where missing (see the loss)."""
        out = self.text_vad(
            input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids, return_dict=True
        )
        loss = None
        if labels is not None:
            loss = text_vad_loss(out.vad, out.emotion_logits, labels, loss_weights).total
        output = TextVadRegressionOutput(
            loss=loss, vad=out.vad, emotion_logits=out.emotion_logits, pooler_output=out.pooler_output
        )
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        return output if return_dict else output.to_tuple()


__all__ = [
    "TextVadForVadRegression",
    "TextVadModel",
    "TextVadOutput",
    "TextVadPreTrainedModel",
    "TextVadRegressionOutput",
]
