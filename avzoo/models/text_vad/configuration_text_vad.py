"""Configuration of text-vad: a sentence → valence/arousal/dominance (+ emotion) student, a tiny ALBERT.

The encoder is transformers' :class:`~transformers.AlbertModel` (factorised embeddings: a small ``embedding_size``
vocabulary table projected to ``hidden_size``; one transformer layer shared by all ``num_hidden_layers``), so
almost every weight is the vocabulary table. The heads read the masked mean of the last hidden state.

This config holds the architecture only: the emotion names, their VAD anchors and the text limits belong to the
processor (:class:`~.processing_text_vad.TextVadProcessor`), loss weights to the training recipe.
"""

from __future__ import annotations

from transformers import AlbertConfig, PreTrainedConfig

from avzoo.io.registered_pipelines import prefer_registered_pipelines


class TextVadConfig(PreTrainedConfig):
    r"""Configuration of :class:`TextVadModel`; pass fields by keyword.

    Encoder (an ALBERT):
        vocab_size (30522): size of the WordPiece vocabulary (the processor's tokenizer).
        embedding_size (64): width of the factorised vocabulary table.
        hidden_size (128), num_attention_heads (4), intermediate_size (256): the shared transformer layer.
        num_hidden_layers (4): how many times the shared layer is applied.
        max_position_embeddings (128): the longest input in tokens (the processor truncates to it).
        hidden_dropout_prob (0.1), attention_probs_dropout_prob (0.0).
    Heads:
        num_emotions (8): emotion classes of the emotion head (the processor names them).
    Other:
        pad_token_id (0), initializer_range (0.02).
    """

    model_type = "text-vad"

    vocab_size: int = 30522
    embedding_size: int = 64
    hidden_size: int = 128
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    intermediate_size: int = 256
    max_position_embeddings: int = 128
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.0
    num_emotions: int = 8
    pad_token_id: int = 0
    initializer_range: float = 0.02

    def __post_init__(self, **kwargs):
        self._check()
        super().__post_init__(**kwargs)
        prefer_registered_pipelines(self)  # a Hub copy's custom_pipelines entry must not shadow avzoo's task

    def _check(self) -> None:
        for name in (
            "vocab_size",
            "embedding_size",
            "hidden_size",
            "num_hidden_layers",
            "num_attention_heads",
            "intermediate_size",
            "max_position_embeddings",
            "num_emotions",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"hidden_size ({self.hidden_size}) must be a multiple of num_attention_heads "
                f"({self.num_attention_heads})"
            )
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)!r}")
        if not isinstance(self.pad_token_id, int) or not 0 <= self.pad_token_id < self.vocab_size:
            raise ValueError(f"pad_token_id must be in [0, vocab_size), got {self.pad_token_id!r}")

    def albert_config(self) -> AlbertConfig:
        """The :class:`~transformers.AlbertConfig` of the encoder (one shared layer group)."""
        return AlbertConfig(
            vocab_size=self.vocab_size,
            embedding_size=self.embedding_size,
            hidden_size=self.hidden_size,
            num_hidden_layers=self.num_hidden_layers,
            num_hidden_groups=1,
            num_attention_heads=self.num_attention_heads,
            intermediate_size=self.intermediate_size,
            inner_group_num=1,
            hidden_act="gelu_new",
            hidden_dropout_prob=self.hidden_dropout_prob,
            attention_probs_dropout_prob=self.attention_probs_dropout_prob,
            max_position_embeddings=self.max_position_embeddings,
            type_vocab_size=2,
            initializer_range=self.initializer_range,
            pad_token_id=self.pad_token_id,
        )


__all__ = ["TextVadConfig"]
