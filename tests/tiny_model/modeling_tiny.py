"""Modeling of the tiny test model: Conv1d → GRU → Linear → sigmoid, one row of 52 values per frame."""

from dataclasses import dataclass

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.utils import ModelOutput
from transformers.utils.generic import can_return_tuple

from .configuration_tiny import TinyConfig


@dataclass
class TinyBlendshapeOutput(ModelOutput):
    """Outputs of :class:`TinyBlendshapeModel`.

    ``loss`` comes first and is ``None`` without labels, so ``return_dict=False`` yields
    ``(blendshapes, last_hidden_state)`` at inference and ``(loss, blendshapes, ...)`` in training.
    """

    loss: torch.FloatTensor | None = None
    blendshapes: torch.FloatTensor | None = None
    last_hidden_state: torch.FloatTensor | None = None


class TinyPreTrainedModel(PreTrainedModel):
    config_class = TinyConfig
    base_model_prefix = "tiny"
    main_input_name = "input_features"

    def _init_weights(self, module: nn.Module) -> None:
        # Loading builds on the meta device and calls this only for missing weights, so everything
        # goes through transformers.initialization (the torch.nn.init calls would be skipped or wrong).
        # nn.GRU is not covered by PreTrainedModel._init_weights (nn.LSTM is), hence the explicit case.
        if isinstance(module, nn.GRU):
            for name, param in module.named_parameters():
                if "weight" in name:
                    init.xavier_uniform_(param)
                else:
                    init.zeros_(param)
        else:
            super()._init_weights(module)


class TinyBlendshapeModel(TinyPreTrainedModel):
    def __init__(self, config: TinyConfig):
        super().__init__(config)
        self.conv = nn.Conv1d(
            config.feature_size, config.hidden_size, config.kernel_size, padding=config.kernel_size // 2
        )
        self.gru = nn.GRU(config.hidden_size, config.hidden_size, batch_first=True)
        self.head = nn.Linear(config.hidden_size, config.num_blendshapes)
        self.post_init()

    @can_return_tuple
    def forward(
        self,
        input_features: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **kwargs,
    ) -> TinyBlendshapeOutput:
        """``input_features`` (B, T, F); ``attention_mask`` (B, T) with 1 on real frames; ``labels`` (B, T, 52)."""
        if input_features.ndim != 3 or input_features.shape[-1] != self.config.feature_size:
            raise ValueError(
                f"input_features must be (batch, frames, {self.config.feature_size}), "
                f"got {tuple(input_features.shape)}"
            )
        mask = None
        if attention_mask is not None:
            mask = attention_mask.to(input_features.dtype).unsqueeze(-1)
            # Zeroed padding looks like the conv's own zero padding, so a padded row sees what it would alone.
            input_features = input_features * mask
        hidden = self.conv(input_features.transpose(1, 2)).transpose(1, 2)
        hidden, _ = self.gru(torch.tanh(hidden))  # unidirectional: padding after a frame cannot reach it
        blendshapes = torch.sigmoid(self.head(hidden))
        if mask is not None:
            blendshapes = blendshapes * mask
        loss = None
        if labels is not None:
            weights = mask if mask is not None else torch.ones_like(blendshapes[..., :1])
            loss = ((blendshapes - labels) ** 2 * weights).sum() / (weights.sum() * blendshapes.shape[-1])
        return TinyBlendshapeOutput(loss=loss, blendshapes=blendshapes, last_hidden_state=hidden)


__all__ = ["TinyBlendshapeModel", "TinyBlendshapeOutput", "TinyPreTrainedModel"]
