"""Configuration of text-audio-emotion: a sentence and its speech → 7 emotions, through cross-modal attention.

Two encoders, each any transformers model named by its own config: ``text_config`` a BERT-family encoder
(default: the ALBERT shape of avzoo's text-vad, whose trained weights the recipe starts from) and
``audio_config`` a wav2vec2-family encoder (default: a tiny ``Wav2Vec2BertModel`` trainable on a CPU). A user with the
Hub swaps in real pretrained ones with :meth:`TextAudioEmotionConfig.from_encoders` (or the recipe's
``text_encoder=``/``audio_encoder=``).

``fusion`` chooses the cross-modal block, so the ablations are the same model with one switch:
``"bidirectional"`` (text→audio and audio→text), ``"text_to_audio"``, ``"audio_to_text"`` or ``"concat"``
(no cross-attention: the pooled encoders side by side). The head always reads ``[T_att, A_att, T_raw, A_raw]``;
a direction that is off passes its raw features through, so every variant has the same head.

This config holds the architecture only: label names and input limits belong to the processor, loss weights
and modality dropout to the recipe.
"""

from __future__ import annotations

from typing import Any

from transformers import AlbertConfig, AutoConfig, PreTrainedConfig, Wav2Vec2BertConfig

from avzoo.io.registered_pipelines import prefer_registered_pipelines

FUSIONS: tuple[str, ...] = ("bidirectional", "text_to_audio", "audio_to_text", "concat")


def default_text_config() -> dict[str, Any]:
    """The text-vad encoder's shape (ALBERT, one shared layer applied 4 times, a 14,817-piece vocabulary)."""
    return AlbertConfig(
        vocab_size=14817,
        embedding_size=64,
        hidden_size=128,
        num_hidden_layers=4,
        num_hidden_groups=1,
        num_attention_heads=4,
        intermediate_size=256,
        inner_group_num=1,
        hidden_act="gelu_new",
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.0,
        max_position_embeddings=128,
        pad_token_id=0,
    ).to_dict()


def default_audio_config() -> dict[str, Any]:
    """A tiny w2v-BERT (``Wav2Vec2BertModel``, the wav2vec2 family's Conformer on 80-bin log-mel frames stacked in
    pairs, 20 ms): 2 layers of 128. The raw-waveform ``Wav2Vec2Model`` of the same width cost 4.5 s per training
    step of 32 five-second clips on 2 CPU cores, almost all in its convolutional front end; this one costs 1.0 s."""
    return Wav2Vec2BertConfig(
        feature_projection_input_dim=160,
        hidden_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=256,
        conv_depthwise_kernel_size=15,
        position_embeddings_type="relative_key",
        left_max_position_embeddings=64,
        right_max_position_embeddings=8,
        hidden_dropout=0.1,
        attention_dropout=0.0,
        activation_dropout=0.0,
        feat_proj_dropout=0.0,
        layerdrop=0.0,
        mask_time_prob=0.05,
        mask_time_length=5,
        add_adapter=False,
        vocab_size=32,  # no CTC head: unused, but must hold its special-token ids
    ).to_dict()


def _as_config(value: Any, name: str) -> PreTrainedConfig:
    if isinstance(value, PreTrainedConfig):
        return value
    if isinstance(value, dict) and isinstance(value.get("model_type"), str):
        data = dict(value)
        return AutoConfig.for_model(data.pop("model_type"), **data)
    raise ValueError(f"{name} must be a transformers config or a dict with its 'model_type', got {value!r}")


class TextAudioEmotionConfig(PreTrainedConfig):
    r"""Configuration of :class:`TextAudioEmotionModel`; pass fields by keyword.

    Encoders:
        text_config (dict): a BERT-family encoder's config (``model_type`` + fields); default text-vad's ALBERT.
        audio_config (dict): a wav2vec2-family encoder's config; default a tiny ``Wav2Vec2BertModel`` (log-mel input).
    Cross-modal block:
        hidden_size (128): width both encoders are projected to.
        num_attention_heads (4): heads of each cross-attention.
        num_cross_layers (1): stacked bidirectional layers (each returns its maps).
        fusion ("bidirectional"): one of ``FUSIONS`` (see the module docstring).
        temperature (1.0): initial value of the learned attention temperature (scores / (sqrt(d) * t)).
        attention_dropout (0.1), hidden_dropout (0.1).
    Head:
        classifier_hidden_size (256), num_labels (7).
    Speaker metadata (optional at inference; index 0 of each is "unknown"):
        use_metadata (True), num_genders (3), num_age_groups (4), num_pitch_bands (4).
    """

    model_type = "text-audio-emotion"
    sub_configs = {"text_config": AutoConfig, "audio_config": AutoConfig}  # noqa: RUF012

    text_config: Any = None
    audio_config: Any = None
    hidden_size: int = 128
    num_attention_heads: int = 4
    num_cross_layers: int = 1
    fusion: str = "bidirectional"
    temperature: float = 1.0
    attention_dropout: float = 0.1
    hidden_dropout: float = 0.1
    classifier_hidden_size: int = 256
    num_labels: int = 7
    use_metadata: bool = True
    num_genders: int = 3
    num_age_groups: int = 4
    num_pitch_bands: int = 4
    initializer_range: float = 0.02

    def __post_init__(self, **kwargs):
        self.text_config = _as_config(
            default_text_config() if self.text_config is None else self.text_config, "text_config"
        )
        self.audio_config = _as_config(
            default_audio_config() if self.audio_config is None else self.audio_config, "audio_config"
        )
        self._check()
        super().__post_init__(**kwargs)
        prefer_registered_pipelines(self)  # a Hub copy's custom_pipelines entry must not shadow avzoo's task

    def _check(self) -> None:
        for name in (
            "hidden_size",
            "num_attention_heads",
            "num_cross_layers",
            "classifier_hidden_size",
            "num_labels",
            "num_genders",
            "num_age_groups",
            "num_pitch_bands",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"hidden_size ({self.hidden_size}) must be a multiple of num_attention_heads "
                f"({self.num_attention_heads})"
            )
        if self.fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, got {self.fusion!r}")
        if not isinstance(self.temperature, (int, float)) or not 0.05 <= self.temperature <= 20:
            raise ValueError(f"temperature must be in [0.05, 20], got {self.temperature!r}")
        for name in ("attention_dropout", "hidden_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)!r}")
        for name, sub in (("text_config", self.text_config), ("audio_config", self.audio_config)):
            if not isinstance(getattr(sub, "hidden_size", None), int):
                raise ValueError(
                    f"{name} ({sub.model_type}) has no integer hidden_size; it must be an encoder"
                )

    @classmethod
    def from_encoders(cls, text_encoder: str, audio_encoder: str, **kwargs: Any) -> TextAudioEmotionConfig:
        """A config whose encoders are the Hub (or local) models named, e.g. ``"bert-base-uncased"`` and
        ``"facebook/wav2vec2-base"``; load their weights with :meth:`TextAudioEmotionModel.load_encoders`."""
        return cls(
            text_config=AutoConfig.from_pretrained(text_encoder).to_dict(),
            audio_config=AutoConfig.from_pretrained(audio_encoder).to_dict(),
            **kwargs,
        )


__all__ = ["FUSIONS", "TextAudioEmotionConfig", "default_audio_config", "default_text_config"]
