"""koemorph model: normalised log-mel (B, T, 80) + eGeMAPS windows (B, T, 264) at 30 fps → (B, T, 52) blendshapes.

Per frame, from a sliding window of past context (see ``configuration_koemorph.py`` for what each frame reads):

1. **mel tokens**: ``mel_channel_encoder = Linear(256 + 3, d)`` applied to each mel channel's window. The windows are
   never materialised: a Linear over a sliding window is a convolution over time, so the encoder runs as one
   ``conv1d`` per stream part (the 256-frame context and the 3-frame detail) over the whole utterance, with every
   mel channel as its own sequence. A channel embedding, LayerNorm and a token-wise feed-forward block follow.
2. **emotion tokens**: ``Linear(264, emotion_dim)`` (the learnable compression) → GELU → ``Linear(emotion_dim,
   emotion_sequence_length * d)``.
3. **dual-stream cross-attention**: mouth queries attend to the mel tokens and expression queries to the emotion
   tokens (logits divided by ``sqrt(head_dim) * temperature``); the stream outputs are scaled by learnable stream
   weights (softmax over the two streams), concatenated, and a head maps them to 52 logits → sigmoid.

A whole utterance is one batched computation, in chunks of ``chunk_frames`` output frames so that memory stays
bounded on long inputs; no Python loop runs over frames. Frames before the start read a learned ``mel_padding``
vector (the state of a streaming buffer that has heard nothing yet); frames after the end of a clip (the
look-ahead of its last frames, and right padding in a batch) read it too, so a clip's output does not depend on
what it is batched with.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.utils import ModelOutput
from transformers.utils.generic import can_return_tuple

from .configuration_koemorph import KoemorphConfig
from .loss_koemorph import KoemorphLossWeights, koemorph_loss

#: Output frames per chunk: bounds the (frames, 80, d) token tensor on long inputs.
DEFAULT_CHUNK_FRAMES = 1024


@dataclass
class KoemorphOutput(ModelOutput):
    """Outputs of :class:`KoemorphModel`.

    blendshapes: (B, T, 52) in [0, 1]. logits: (B, T, 52) before the sigmoid.
    mouth_attentions: (B, T, heads, mouth queries, n_mels) when ``output_attentions``.
    stream_weights: (2,) the softmaxed weights of the mel and emotion streams (the emotion weight is 0 without
    the emotion stream).
    """

    blendshapes: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    mouth_attentions: torch.Tensor | None = None
    stream_weights: torch.Tensor | None = None


@dataclass
class KoemorphRegressionOutput(KoemorphOutput):
    """:class:`KoemorphOutput` plus the training ``loss`` (given ``labels``)."""

    loss: torch.Tensor | None = None


class KoemorphCrossAttention(nn.Module):
    """Learned queries attend to tokens: ``(N, Q, d)`` outputs for ``(N, K, d)`` tokens, with a temperature."""

    def __init__(self, config: KoemorphConfig, num_queries: int):
        super().__init__()
        d, h = config.hidden_size, config.num_attention_heads
        self.heads, self.head_dim = h, d // h
        self.scale = 1.0 / (math.sqrt(self.head_dim) * config.temperature)
        self.queries = nn.Parameter(torch.zeros(num_queries, d))
        self.key = nn.Linear(d, d)
        self.value = nn.Linear(d, d)
        self.out = nn.Linear(d, d)

    def forward(self, tokens: torch.Tensor, return_weights: bool = False):
        n, k, d = tokens.shape
        q = self.queries.view(1, -1, self.heads, self.head_dim).transpose(1, 2)  # (1, H, Q, dh)
        key = self.key(tokens).view(n, k, self.heads, self.head_dim).transpose(1, 2)  # (N, H, K, dh)
        value = self.value(tokens).view(n, k, self.heads, self.head_dim).transpose(1, 2)
        weights = torch.softmax(torch.matmul(q, key.transpose(-1, -2)) * self.scale, dim=-1)  # (N, H, Q, K)
        out = torch.matmul(weights, value).transpose(1, 2).reshape(n, -1, d)  # (N, Q, d)
        return self.out(out), (weights if return_weights else None)


class KoemorphMelEncoder(nn.Module):
    """Log-mel windows → ``(N, n_mels, d)`` tokens per output frame (see the module docstring)."""

    def __init__(self, config: KoemorphConfig):
        super().__init__()
        d = config.hidden_size
        self.context, self.detail = config.mel_context_frames, config.mel_temporal_frames
        self.mel_channel_encoder = nn.Linear(config.mel_window, d)
        self.channel_embedding = nn.Parameter(torch.zeros(config.n_mels, d))
        self.norm = nn.LayerNorm(d)
        self.ffn = nn.Sequential(
            nn.Linear(d, 2 * d), nn.GELU(), nn.Dropout(config.dropout), nn.Linear(2 * d, d)
        )
        self.ffn_norm = nn.LayerNorm(d)

    def forward(self, padded: torch.Tensor, frames: int) -> torch.Tensor:
        """``padded`` (B, context - 1 + frames, n_mels): the mel with its history; → (B, frames, n_mels, d)."""
        b, _, c = padded.shape
        seq = padded.transpose(1, 2).reshape(b * c, 1, -1)
        w = self.mel_channel_encoder.weight  # (d, context + detail)
        long = nn.functional.conv1d(seq, w[:, None, : self.context])  # (B*C, d, frames)
        short = nn.functional.conv1d(seq[..., self.context - self.detail :], w[:, None, self.context :])
        tokens = long + short + self.mel_channel_encoder.bias[None, :, None]
        tokens = tokens.view(b, c, -1, frames).permute(0, 3, 1, 2)  # (B, frames, C, d)
        tokens = self.norm(tokens + self.channel_embedding)
        return self.ffn_norm(tokens + self.ffn(tokens))


class KoemorphEmotionEncoder(nn.Module):
    """eGeMAPS windows (..., 264) → (..., emotion_sequence_length, d) emotion tokens."""

    def __init__(self, config: KoemorphConfig):
        super().__init__()
        self.length, d = config.emotion_sequence_length, config.hidden_size
        self.compress = nn.Linear(config.emotion_input_dim, config.emotion_dim)
        self.encode = nn.Sequential(
            nn.GELU(), nn.Dropout(config.dropout), nn.Linear(config.emotion_dim, self.length * d)
        )
        self.norm = nn.LayerNorm(d)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        out = self.encode(self.compress(features))
        return self.norm(out.view(*features.shape[:-1], self.length, -1))


def _shape_of(value) -> tuple[int, ...] | str:
    """A tensor's shape as a tuple; for anything else its type name (a numpy array is not a model input)."""
    return tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__


class KoemorphPreTrainedModel(PreTrainedModel):
    config_class = KoemorphConfig
    base_model_prefix = "koemorph"
    main_input_name = "input_features"
    _no_split_modules: ClassVar[list[str]] = []

    def _init_weights(self, module: nn.Module) -> None:
        # transformers.initialization: loading initialises only missing weights, on the meta device, through here.
        if isinstance(module, nn.Linear):
            if getattr(module, "_init_role", None) == "head":  # logits at head_bias_init: start near rest
                init.normal_(module.weight, mean=0.0, std=self.config.initializer_range)
                init.constant_(module.bias, self.config.head_bias_init)
            else:
                init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    init.zeros_(module.bias)
        elif isinstance(module, nn.LayerNorm):
            init.ones_(module.weight)
            init.zeros_(module.bias)
        elif isinstance(module, KoemorphCrossAttention):
            init.normal_(module.queries, mean=0.0, std=1.0)
        elif isinstance(module, KoemorphMelEncoder):
            init.normal_(module.channel_embedding, mean=0.0, std=self.config.initializer_range)
        elif isinstance(module, KoemorphModel):
            init.zeros_(module.mel_padding)
            init.zeros_(module.stream_logits)


class KoemorphModel(KoemorphPreTrainedModel):
    """Speech → 52 ARKit blendshapes from a mel stream and an eGeMAPS stream; see the module docstring."""

    def __init__(self, config: KoemorphConfig):
        super().__init__(config)
        d = config.hidden_size
        self.mel_padding = nn.Parameter(torch.zeros(config.n_mels))
        self.mel_encoder = KoemorphMelEncoder(config)
        self.mouth_attention = KoemorphCrossAttention(config, config.num_mouth_queries)
        streams = config.num_mouth_queries * d
        if config.use_emotion_stream:
            self.emotion_encoder = KoemorphEmotionEncoder(config)
            self.expression_attention = KoemorphCrossAttention(config, config.num_expression_queries)
            expression = config.num_expression_queries * d
            if config.use_concatenation:
                streams += expression
            else:
                self.expression_project = nn.Linear(expression, streams)
        else:
            self.emotion_encoder = self.expression_attention = None
        self.stream_logits = nn.Parameter(torch.zeros(2))
        self.head = nn.Sequential(
            nn.LayerNorm(streams), nn.Linear(streams, 2 * d), nn.GELU(), nn.Dropout(config.dropout)
        )
        self.output = nn.Linear(2 * d, config.num_blendshapes)
        self.output._init_role = "head"
        self.chunk_frames = DEFAULT_CHUNK_FRAMES
        self.post_init()

    # --- checks --------------------------------------------------------------------------------------------------

    def _check_inputs(self, input_features, emotion_features, attention_mask):
        cfg = self.config
        if not isinstance(input_features, torch.Tensor) or input_features.ndim != 3:
            raise ValueError(
                f"input_features must be a (batch, frames, {cfg.n_mels}) tensor of normalised log-mel (use the "
                f"processor), got {getattr(input_features, 'shape', type(input_features).__name__)}"
            )
        b, t, c = input_features.shape
        if c != cfg.n_mels:
            raise ValueError(f"input_features has {c} mel bins; this model takes {cfg.n_mels}")
        if t == 0:
            raise ValueError("input_features has no frames; give at least one frame (1/30 s) of audio")
        if cfg.use_emotion_stream:
            if emotion_features is None:
                raise ValueError(
                    "this model has an emotion stream: pass emotion_features (batch, frames, "
                    f"{cfg.emotion_input_dim}), the eGeMAPS windows the processor computes"
                )
            got = _shape_of(emotion_features)
            if got != (b, t, cfg.emotion_input_dim):
                raise ValueError(
                    f"emotion_features must be a (batch, frames, {cfg.emotion_input_dim}) = "
                    f"{(b, t, cfg.emotion_input_dim)} tensor, got {got}"
                )
        if attention_mask is not None and _shape_of(attention_mask) != (b, t):
            raise ValueError(
                f"attention_mask must be a (batch, frames) = {(b, t)} tensor, got {_shape_of(attention_mask)}"
            )

    def _history(
        self, features: torch.Tensor, mask: torch.Tensor | None, before: torch.Tensor
    ) -> torch.Tensor:
        """``before`` (B, context - 1, C) of mel_padding with the history's last frames written at its end."""
        b, frames, c = before.shape
        if (
            not isinstance(features, torch.Tensor)
            or features.ndim != 3
            or tuple(features.shape[::2]) != (b, c)
        ):
            raise ValueError(
                f"history_features must be a (batch={b}, frames, {c}) tensor, got {_shape_of(features)}"
            )
        h = features.shape[1]
        if mask is not None and (not isinstance(mask, torch.Tensor) or tuple(mask.shape) != (b, h)):
            raise ValueError(
                f"history_mask must be a (batch, frames) = {(b, h)} tensor, got {_shape_of(mask)}"
            )
        features = features.to(before.dtype)
        if mask is not None:
            features = torch.where(mask.to(features.device).bool()[..., None], features, before[:, :1])
        features = features[:, -frames:] if frames else features[:, :0]
        return torch.cat([before[:, : frames - features.shape[1]], features], 1)

    # --- forward -------------------------------------------------------------------------------------------------

    def stream_weights(self) -> torch.Tensor:
        """(2,): the weights of the mel and emotion streams (softmax of ``stream_logits``; emotion 0 when absent)."""
        if self.emotion_encoder is None:
            return torch.tensor([1.0, 0.0], device=self.stream_logits.device)
        return torch.softmax(self.stream_logits, 0)

    def _frames(self, tokens: torch.Tensor, emotion: torch.Tensor | None, return_weights: bool):
        """``tokens`` (N, C, d) and ``emotion`` (N, 264) → logits (N, 52) [and mouth attention weights]."""
        weights = self.stream_weights()
        mouth, attn = self.mouth_attention(tokens, return_weights)
        streams = weights[0] * mouth.flatten(1)
        if self.emotion_encoder is not None:
            expression, _ = self.expression_attention(self.emotion_encoder(emotion))
            expression = weights[1] * expression.flatten(1)
            if self.config.use_concatenation:
                streams = torch.cat([streams, expression], -1)
            else:
                streams = streams + self.expression_project(expression)
        return self.output(self.head(streams)), attn

    @can_return_tuple
    def forward(
        self,
        input_features: torch.Tensor,
        emotion_features: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        output_attentions: bool = False,
        history_features: torch.Tensor | None = None,
        history_mask: torch.Tensor | None = None,
        **kwargs,
    ) -> KoemorphOutput:
        """Blendshapes for every frame of each clip.

        Args:
            input_features: (B, T, n_mels) normalised log-mel from :class:`KoemorphProcessor`.
            emotion_features: (B, T, 264) normalised eGeMAPS windows (ignored by a mel-only model).
            attention_mask: (B, T), 1 on real frames; padded frames read ``mel_padding`` and give rest logits.
            output_attentions: also return the mouth queries' attention over the mel channels.
            history_features: (B, H, n_mels) normalised log-mel heard *before* the clip (the same talker's previous
                sentence, a stream's past): the mel context of the first frames reads it instead of ``mel_padding``.
                Only its last ``mel_context_frames - 1`` frames matter. No outputs are made for it.
            history_mask: (B, H), 1 on real history frames; history is left-aligned to the clip, so a shorter history
                is padded on the left (0s first).
        """
        self._check_inputs(input_features, emotion_features, attention_mask)
        cfg = self.config
        param = self.mel_padding
        x = input_features.to(param.dtype)
        b, t, c = x.shape
        pad = self.mel_padding.expand(b, 1, c)
        if attention_mask is not None:
            keep = attention_mask.to(x.device).bool()[..., None]
            x = torch.where(keep, x, pad)
        history, ahead = cfg.mel_context_frames - 1, cfg.lookahead_frames
        before = pad.expand(b, history, c)
        if history_features is not None:
            before = self._history(history_features, history_mask, before)
        # Output frame t reads padded positions [t + ahead, t + ahead + context - 1].
        padded = torch.cat([before, x, pad.expand(b, ahead, c)], 1)
        emotion = None
        if self.emotion_encoder is not None:
            emotion = emotion_features.to(param.dtype)
        logits, attentions = [], []
        for start in range(0, t, self.chunk_frames):
            n = min(self.chunk_frames, t - start)
            window = padded[:, start + ahead : start + ahead + history + n]
            tokens = self.mel_encoder(window, n).reshape(b * n, c, -1)
            chunk_emotion = None if emotion is None else emotion[:, start : start + n].reshape(b * n, -1)
            out, attn = self._frames(tokens, chunk_emotion, output_attentions)
            logits.append(out.view(b, n, -1))
            if attn is not None:
                attentions.append(attn.view(b, n, *attn.shape[1:]))
        logits = torch.cat(logits, 1)
        return KoemorphOutput(
            blendshapes=torch.sigmoid(logits),
            logits=logits,
            mouth_attentions=torch.cat(attentions, 1) if attentions else None,
            stream_weights=self.stream_weights(),
        )


class KoemorphForBlendshapeRegression(KoemorphPreTrainedModel):
    """koemorph with its training loss: ``labels`` (B, T, 52) give ``loss`` (see ``loss_koemorph.py``)."""

    def __init__(self, config: KoemorphConfig):
        super().__init__(config)
        self.koemorph = KoemorphModel(config)
        self.post_init()

    @can_return_tuple
    def forward(
        self,
        input_features: torch.Tensor,
        emotion_features: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        loss_weights: KoemorphLossWeights | None = None,
        output_attentions: bool = False,
        history_features: torch.Tensor | None = None,
        history_mask: torch.Tensor | None = None,
        **kwargs,
    ) -> KoemorphRegressionOutput:
        """Blendshapes and, with ``labels`` (B, T, 52), the loss the recipe minimises."""
        out = self.koemorph(
            input_features,
            emotion_features,
            attention_mask=attention_mask,
            output_attentions=output_attentions,
            history_features=history_features,
            history_mask=history_mask,
        )
        loss = None
        if labels is not None:
            loss = koemorph_loss(out.blendshapes, labels, attention_mask, self.config, loss_weights)
        return KoemorphRegressionOutput(loss=loss, **out)


__all__ = [
    "KoemorphForBlendshapeRegression",
    "KoemorphModel",
    "KoemorphOutput",
    "KoemorphPreTrainedModel",
    "KoemorphRegressionOutput",
]
