"""text-audio-emotion: what is said (text) and how it is said (speech) → 7 emotions, with the attention maps.

Data flow, per batch:

1. Text tokens → the text encoder (BERT-family) → ``T_raw`` (B, L, d); speech → the audio encoder (wav2vec2-family:
   by default a tiny w2v-BERT on log-mel frames) → ``A_raw`` (B, F, d) at its frame rate (20 ms for the default),
   both projected to ``hidden_size`` d.
2. A missing modality (``has_text`` / ``has_audio`` False: empty text, no speech) is replaced by one learned
   "missing" token, so nothing attends over an empty set and the model was trained for the case (the recipe's
   modality dropout).
3. :class:`CrossModalAttention` layers, eager scaled dot-product with padding masks on both sides and a learned
   temperature: text→audio (queries from text) and audio→text (queries from audio), each with dropout, residual
   and LayerNorm. Both attention tensors are returned, (B, heads, L, F) and (B, heads, F, L) per layer.
4. Masked means of ``[T_att, A_att, T_raw, A_raw]`` → MLP → hidden H; the speaker metadata (gender, age group,
   pitch band; index 0 = unknown) enters through a gate ``H = σ(W_g (H + m) + b) ⊙ (H + m) + H``; → 7 logits.

:class:`TextAudioEmotionModel` (what ``AutoModel`` loads) returns logits and maps;
:class:`TextAudioEmotionForSequenceClassification` adds the loss of :mod:`.loss_text_audio_emotion`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn
from transformers import AutoModel, PreTrainedModel
from transformers import initialization as init
from transformers.utils import ModelOutput

from .configuration_text_audio_emotion import TextAudioEmotionConfig
from .loss_text_audio_emotion import TextAudioEmotionLossWeights, text_audio_emotion_loss


@dataclass
class TextAudioEmotionOutput(ModelOutput):
    """Outputs of :class:`TextAudioEmotionModel`.

    ``logits`` (B, num_labels). ``text_to_audio_attentions`` / ``audio_to_text_attentions``: one tensor per cross
    layer, (B, heads, L, F) and (B, heads, F, L), each row a distribution over the other modality's unmasked
    positions (empty tuples for a direction the ``fusion`` turns off). ``text_mask`` (B, L) and ``audio_mask``
    (B, F): the positions the maps cover. ``pooled`` (B, 4 d): the head's input. ``temperature``: the learned
    temperature (scalar).
    """

    logits: torch.Tensor | None = None
    text_to_audio_attentions: tuple[torch.Tensor, ...] | None = None
    audio_to_text_attentions: tuple[torch.Tensor, ...] | None = None
    text_mask: torch.Tensor | None = None
    audio_mask: torch.Tensor | None = None
    pooled: torch.Tensor | None = None
    temperature: torch.Tensor | None = None


@dataclass
class TextAudioEmotionClassifierOutput(TextAudioEmotionOutput):
    """:class:`TextAudioEmotionOutput` plus ``loss`` (given ``labels``)."""

    loss: torch.Tensor | None = None


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``x`` (B, N, d) over the positions where ``mask`` (B, N) is true."""
    w = mask.unsqueeze(-1).to(x.dtype)
    return (x * w).sum(1) / w.sum(1).clamp(min=1.0)


class CrossModalAttention(nn.Module):
    """Queries from one modality, keys/values from the other: eager attention that returns its weights.

    Scores are ``q·k / (sqrt(d_head) · t)`` with ``t`` the shared learned temperature; masked keys get -inf
    before the softmax (every row has at least one valid key: a missing modality is one learned token).
    """

    def __init__(self, config: TextAudioEmotionConfig):
        super().__init__()
        d, self.heads = config.hidden_size, config.num_attention_heads
        self.head_dim = d // self.heads
        self.q, self.k, self.v, self.out = (nn.Linear(d, d) for _ in range(4))
        self.dropout = nn.Dropout(config.attention_dropout)
        self.hidden_dropout = nn.Dropout(config.hidden_dropout)
        self.norm = nn.LayerNorm(d)
        self.ffn = nn.Sequential(
            nn.Linear(d, 2 * d), nn.GELU(), nn.Dropout(config.hidden_dropout), nn.Linear(2 * d, d)
        )
        self.ffn_norm = nn.LayerNorm(d)

    def forward(
        self, queries: torch.Tensor, keys: torch.Tensor, key_mask: torch.Tensor, temperature: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        b, n, d = queries.shape
        m = keys.shape[1]
        q = self.q(queries).view(b, n, self.heads, self.head_dim).transpose(1, 2)
        k = self.k(keys).view(b, m, self.heads, self.head_dim).transpose(1, 2)
        v = self.v(keys).view(b, m, self.heads, self.head_dim).transpose(1, 2)
        scores = q @ k.transpose(-1, -2) / (math.sqrt(self.head_dim) * temperature)
        scores = scores.masked_fill(~key_mask[:, None, None, :], torch.finfo(scores.dtype).min)
        weights = scores.softmax(-1)
        context = (self.dropout(weights) @ v).transpose(1, 2).reshape(b, n, d)
        hidden = self.norm(queries + self.hidden_dropout(self.out(context)))
        hidden = self.ffn_norm(hidden + self.hidden_dropout(self.ffn(hidden)))
        return hidden, weights


class TextAudioEmotionPreTrainedModel(PreTrainedModel):
    config_class = TextAudioEmotionConfig
    base_model_prefix = "text_audio_emotion"
    main_input_name = "input_ids"
    input_modalities = ("text", "audio")
    _no_split_modules: ClassVar[list[str]] = []

    def _init_weights(self, module: nn.Module) -> None:
        # The encoders are PreTrainedModels and initialise themselves; this covers the layers around them.
        if isinstance(module, nn.Linear):
            init.normal_(module.weight, mean=0.0, std=self.config.initializer_range)
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            init.normal_(module.weight, mean=0.0, std=self.config.initializer_range)
        elif isinstance(module, nn.LayerNorm):
            init.ones_(module.weight)
            init.zeros_(module.bias)
        elif isinstance(module, TextAudioEmotionModel):
            init.normal_(module.missing_text, mean=0.0, std=self.config.initializer_range)
            init.normal_(module.missing_audio, mean=0.0, std=self.config.initializer_range)
            init.constant_(module.log_temperature, math.log(self.config.temperature))


class TextAudioEmotionModel(TextAudioEmotionPreTrainedModel):
    """Text + speech → emotion logits and cross-modal attention maps; see the module docstring."""

    def __init__(self, config: TextAudioEmotionConfig):
        super().__init__(config)
        d = config.hidden_size
        self.text_encoder = AutoModel.from_config(config.text_config)
        self.audio_encoder = AutoModel.from_config(config.audio_config)
        self.text_proj = nn.Sequential(nn.Linear(config.text_config.hidden_size, d), nn.LayerNorm(d))
        self.audio_proj = nn.Sequential(nn.Linear(config.audio_config.hidden_size, d), nn.LayerNorm(d))
        self.missing_text = nn.Parameter(torch.zeros(d))
        self.missing_audio = nn.Parameter(torch.zeros(d))
        self.log_temperature = nn.Parameter(torch.zeros(()))
        n = config.num_cross_layers
        self.text_to_audio = nn.ModuleList(
            CrossModalAttention(config)
            if config.fusion in ("bidirectional", "text_to_audio")
            else nn.Identity()
            for _ in range(n)
        )
        self.audio_to_text = nn.ModuleList(
            CrossModalAttention(config)
            if config.fusion in ("bidirectional", "audio_to_text")
            else nn.Identity()
            for _ in range(n)
        )
        self.fuse = nn.Sequential(
            nn.Linear(4 * d, config.classifier_hidden_size),
            nn.GELU(),
            nn.Dropout(config.hidden_dropout),
        )
        h = config.classifier_hidden_size
        if config.use_metadata:
            self.gender_embedding = nn.Embedding(config.num_genders, h)
            self.age_embedding = nn.Embedding(config.num_age_groups, h)
            self.pitch_embedding = nn.Embedding(config.num_pitch_bands, h)
            self.metadata_gate = nn.Linear(h, h)
        self.classifier = nn.Sequential(
            nn.LayerNorm(h), nn.Dropout(config.hidden_dropout), nn.Linear(h, config.num_labels)
        )
        self.post_init()

    def load_encoders(self, text_encoder: str | None = None, audio_encoder: str | None = None) -> None:
        """Load pretrained encoder weights by name or path (what :meth:`TextAudioEmotionConfig.from_encoders`
        named); the shapes must match the config's."""
        for name, attr in ((text_encoder, "text_encoder"), (audio_encoder, "audio_encoder")):
            if name is not None:
                loaded = AutoModel.from_pretrained(name)
                missing, _ = getattr(self, attr).load_state_dict(loaded.state_dict(), strict=False)
                if missing:
                    raise ValueError(f"{name} lacks {len(missing)} weights of {attr}, e.g. {missing[:3]}")

    @property
    def temperature(self) -> torch.Tensor:
        return self.log_temperature.exp()

    def _encode_text(self, input_ids, attention_mask, token_type_ids, has_text):
        hidden = self.text_encoder(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        return self._fill_missing(self.text_proj(hidden), attention_mask.bool(), has_text, self.missing_text)

    def _encode_audio(self, audio_inputs, audio_attention_mask, has_audio):
        hidden = self.audio_encoder(audio_inputs, attention_mask=audio_attention_mask).last_hidden_state
        if audio_attention_mask is None:
            mask = torch.ones(hidden.shape[:2], dtype=torch.bool, device=hidden.device)
        elif audio_attention_mask.shape[1] == hidden.shape[1]:  # frame features in, one output per frame
            mask = audio_attention_mask.bool()
        else:  # raw samples in (wav2vec2): the encoder knows its own downsampling
            mask = self.audio_encoder._get_feature_vector_attention_mask(
                hidden.shape[1], audio_attention_mask
            )
            mask = mask.bool()
        return self._fill_missing(self.audio_proj(hidden), mask, has_audio, self.missing_audio)

    @staticmethod
    def _fill_missing(hidden, mask, present, token):
        """Rows whose modality is absent become one learned token (position 0) with the rest masked."""
        if present is None:
            return hidden, mask
        present = present.to(torch.bool).to(hidden.device)
        first = torch.zeros_like(mask)
        first[:, 0] = True
        hidden = torch.where(present[:, None, None], hidden, token.to(hidden.dtype).expand_as(hidden))
        return hidden, torch.where(present[:, None], mask, first)

    def forward(
        self,
        input_ids: torch.Tensor,
        input_features: torch.Tensor | None = None,
        input_values: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        audio_attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        has_text: torch.Tensor | None = None,
        has_audio: torch.Tensor | None = None,
        gender: torch.Tensor | None = None,
        age_group: torch.Tensor | None = None,
        pitch_band: torch.Tensor | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> TextAudioEmotionOutput | tuple:
        """``input_ids``/``attention_mask`` (B, L) and the audio encoder's input from the processor: log-mel
        ``input_features`` (B, F, 160) for the default w2v-BERT, or raw ``input_values`` (B, S) for a wav2vec2, with
        ``audio_attention_mask``; ``has_text``/``has_audio`` (B,) bools (default: present); metadata (B,) ints,
        0 = unknown."""
        audio_inputs = input_features if input_features is not None else input_values
        if audio_inputs is None:
            raise ValueError("give the audio as input_features (log-mel frames) or input_values (samples)")
        if (
            input_ids.dim() != 2
            or audio_inputs.dim() not in (2, 3)
            or input_ids.shape[0] != audio_inputs.shape[0]
        ):
            raise ValueError(
                "input_ids must be (B, L) and the audio (B, frames, features) or (B, samples) with the same B, got "
                f"{tuple(input_ids.shape)} and {tuple(audio_inputs.shape)}"
            )
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        text, text_mask = self._encode_text(input_ids, attention_mask, token_type_ids, has_text)
        audio, audio_mask = self._encode_audio(audio_inputs, audio_attention_mask, has_audio)
        t_raw, a_raw = text, audio
        temperature = self.temperature
        t2a_maps, a2t_maps = [], []
        for t2a, a2t in zip(self.text_to_audio, self.audio_to_text, strict=True):
            new_text, new_audio = text, audio
            if isinstance(t2a, CrossModalAttention):
                new_text, w = t2a(text, audio, audio_mask, temperature)
                t2a_maps.append(w)
            if isinstance(a2t, CrossModalAttention):
                new_audio, w = a2t(audio, text, text_mask, temperature)
                a2t_maps.append(w)
            text, audio = new_text, new_audio
        pooled = torch.cat(
            [masked_mean(text, text_mask), masked_mean(audio, audio_mask), masked_mean(t_raw, text_mask),
             masked_mean(a_raw, audio_mask)], dim=-1,
        )  # fmt: skip
        hidden = self.fuse(pooled)
        if self.config.use_metadata:
            b = hidden.shape[0]

            def _index(x):
                if x is None:
                    return torch.zeros(b, dtype=torch.long, device=hidden.device)
                return torch.as_tensor(x, device=hidden.device).long().view(b)

            meta = (
                self.gender_embedding(_index(gender))
                + self.age_embedding(_index(age_group))
                + self.pitch_embedding(_index(pitch_band))
            )
            mixed = hidden + meta
            hidden = torch.sigmoid(self.metadata_gate(mixed)) * mixed + hidden
        output = TextAudioEmotionOutput(
            logits=self.classifier(hidden),
            text_to_audio_attentions=tuple(t2a_maps),
            audio_to_text_attentions=tuple(a2t_maps),
            text_mask=text_mask,
            audio_mask=audio_mask,
            pooled=pooled,
            temperature=temperature.detach(),
        )
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        return output if return_dict else output.to_tuple()


class TextAudioEmotionForSequenceClassification(TextAudioEmotionPreTrainedModel):
    """:class:`TextAudioEmotionModel` under ``text_audio_emotion`` + the loss of :mod:`.loss_text_audio_emotion`."""

    def __init__(self, config: TextAudioEmotionConfig):
        super().__init__(config)
        self.text_audio_emotion = TextAudioEmotionModel(config)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor,
        labels: torch.Tensor | None = None,
        loss_weights: TextAudioEmotionLossWeights | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> TextAudioEmotionClassifierOutput | tuple:
        """``labels`` (B,) class indices; the rest as :meth:`TextAudioEmotionModel.forward`."""
        out = self.text_audio_emotion(input_ids, return_dict=True, **kwargs)
        loss = None
        if labels is not None:
            loss = text_audio_emotion_loss(out, labels, loss_weights).total
        output = TextAudioEmotionClassifierOutput(**{k: v for k, v in out.items()}, loss=loss)
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        return output if return_dict else output.to_tuple()


__all__ = [
    "CrossModalAttention",
    "TextAudioEmotionClassifierOutput",
    "TextAudioEmotionForSequenceClassification",
    "TextAudioEmotionModel",
    "TextAudioEmotionOutput",
    "TextAudioEmotionPreTrainedModel",
    "masked_mean",
]
