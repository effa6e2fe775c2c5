"""Tiny text-vad parts for fast tests: a WordPiece tokenizer over a small vocabulary, a tiny config and model."""

from __future__ import annotations

import string
from functools import lru_cache

import torch
from transformers import BertTokenizerFast

from avzoo.models.text_vad import TextVadConfig, TextVadModel, TextVadProcessor

WORDS = [
    "i",
    "am",
    "so",
    "happy",
    "sad",
    "angry",
    "scared",
    "calm",
    "the",
    "dog",
    "cat",
    "is",
    "was",
    "we",
    "won",
    "lost",
    "today",
    "but",
    "now",
    "everything",
    "fine",
    "great",
    "terrible",
    "love",
    "hate",
    "this",
    "day",
    "it",
    "a",
    "and",
    "not",
    "very",
    "##s",
    "##ed",
    "##ing",
]


@lru_cache(maxsize=1)
def tiny_tokenizer() -> BertTokenizerFast:
    """A lower-casing WordPiece tokenizer: special tokens, a few words and every ASCII character (and ##char)."""
    chars = [c for c in string.ascii_lowercase + string.digits + string.punctuation]
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, *chars, *(f"##{c}" for c in chars)]
    vocab = {token: i for i, token in enumerate(dict.fromkeys(tokens))}
    return BertTokenizerFast(vocab=vocab, do_lower_case=True)


def tiny_config(**overrides) -> TextVadConfig:
    values = dict(
        vocab_size=len(tiny_tokenizer()), embedding_size=8, hidden_size=16, num_hidden_layers=2,
        num_attention_heads=2, intermediate_size=32, max_position_embeddings=32, hidden_dropout_prob=0.0,
    )  # fmt: skip
    return TextVadConfig(**{**values, **overrides})


def tiny_processor(**kwargs) -> TextVadProcessor:
    return TextVadProcessor(tiny_tokenizer(), max_length=32, **kwargs)


def tiny_model(seed: int = 0) -> TextVadModel:
    torch.manual_seed(seed)
    return TextVadModel(tiny_config()).eval()
