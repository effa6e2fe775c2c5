"""Tiny text-audio-emotion parts for fast tests: configs, models and processors that build in milliseconds.

The text side reuses text-vad's tiny WordPiece tokenizer (:mod:`text_vad_helpers`) under a tiny ALBERT; the audio
side is a one-layer ``Wav2Vec2BertModel`` of width 32 on the processor's log-mel frames (or, for the raw-waveform
path, a one-layer ``Wav2Vec2Model``).
"""

from __future__ import annotations

import numpy as np
import torch
from text_vad_helpers import tiny_tokenizer
from transformers import (
    AlbertConfig,
    SeamlessM4TFeatureExtractor,
    Wav2Vec2BertConfig,
    Wav2Vec2Config,
    Wav2Vec2FeatureExtractor,
)

from avzoo.models.text_audio_emotion import (
    TextAudioEmotionConfig,
    TextAudioEmotionForSequenceClassification,
    TextAudioEmotionModel,
    TextAudioEmotionProcessor,
)

SR = 16000

__all__ = [
    "SR",
    "speechlike",
    "tiny_audio_config",
    "tiny_config",
    "tiny_head",
    "tiny_model",
    "tiny_processor",
    "tiny_text_config",
    "tiny_tokenizer",
    "tiny_wav2vec2_config",
]


def tiny_text_config(**overrides) -> dict:
    """A one-layer ALBERT of width 32 over the tiny tokenizer's vocabulary (no dropout: eval == train)."""
    values = dict(
        vocab_size=len(tiny_tokenizer()), embedding_size=16, hidden_size=32, num_hidden_layers=1,
        num_attention_heads=2, intermediate_size=64, max_position_embeddings=64, hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0, pad_token_id=0,
    )  # fmt: skip
    return AlbertConfig(**{**values, **overrides}).to_dict()


def tiny_audio_config(**overrides) -> dict:
    """A one-layer w2v-BERT of width 32 (2 heads) on the 160-wide stacked log-mel frames; no masking or dropout."""
    values = dict(
        feature_projection_input_dim=160, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=64, conv_depthwise_kernel_size=5, position_embeddings_type="relative_key",
        left_max_position_embeddings=16, right_max_position_embeddings=4, hidden_dropout=0.0,
        attention_dropout=0.0, activation_dropout=0.0, feat_proj_dropout=0.0, layerdrop=0.0, mask_time_prob=0.0,
        add_adapter=False, vocab_size=32,
    )  # fmt: skip
    return Wav2Vec2BertConfig(**{**values, **overrides}).to_dict()


def tiny_wav2vec2_config(**overrides) -> dict:
    """A one-layer raw-waveform wav2vec2 of width 32: two conv layers (stride 5 then 4: 80 samples a frame)."""
    values = dict(
        hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
        conv_dim=(16, 16), conv_stride=(5, 4), conv_kernel=(10, 4), num_conv_pos_embeddings=8,
        num_conv_pos_embedding_groups=2, feat_extract_norm="layer", do_stable_layer_norm=True,
        hidden_dropout=0.0, attention_dropout=0.0, activation_dropout=0.0, feat_proj_dropout=0.0,
        layerdrop=0.0, mask_time_prob=0.0, vocab_size=32,
    )  # fmt: skip
    return Wav2Vec2Config(**{**values, **overrides}).to_dict()


def tiny_config(**overrides) -> TextAudioEmotionConfig:
    """Width 16, 2 heads, no dropout (so train-mode checks are deterministic)."""
    values = dict(
        text_config=tiny_text_config(), audio_config=tiny_audio_config(), hidden_size=16, num_attention_heads=2,
        classifier_hidden_size=16, attention_dropout=0.0, hidden_dropout=0.0,
    )  # fmt: skip
    return TextAudioEmotionConfig(**{**values, **overrides})


def _liven(model: TextAudioEmotionModel) -> None:
    # Fresh missing-modality tokens and metadata tables are tiny: give them values so a test sees them act.
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        model.missing_text.copy_(torch.randn(model.missing_text.shape, generator=generator))
        model.missing_audio.copy_(torch.randn(model.missing_audio.shape, generator=generator))


def tiny_model(seed: int = 0, **overrides) -> TextAudioEmotionModel:
    torch.manual_seed(seed)
    model = TextAudioEmotionModel(tiny_config(**overrides)).eval()
    _liven(model)
    return model


def tiny_head(seed: int = 0, **overrides) -> TextAudioEmotionForSequenceClassification:
    torch.manual_seed(seed)
    model = TextAudioEmotionForSequenceClassification(tiny_config(**overrides))
    _liven(model.text_audio_emotion)
    return model


def tiny_processor(raw: bool = False, **kwargs) -> TextAudioEmotionProcessor:
    """The tiny tokenizer + the 16 kHz log-mel extractor (``raw``: the raw-waveform wav2vec2 extractor)."""
    if raw:
        extractor = Wav2Vec2FeatureExtractor(sampling_rate=SR, return_attention_mask=True, do_normalize=True)
    else:
        extractor = SeamlessM4TFeatureExtractor(sampling_rate=SR, return_attention_mask=True)
    return TextAudioEmotionProcessor(extractor, tiny_tokenizer(), **kwargs)


def speechlike(seconds: float, seed: int = 0, rate: int = SR) -> np.ndarray:
    """A voiced, amplitude-modulated tone with noise: loud enough to count as speech, never clipped."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    f0 = 110 + 40 * rng.random()
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t + rng.random() * 6) ** 2
    wave = envelope * (np.sin(2 * np.pi * f0 * t) + 0.3 * np.sin(2 * np.pi * 2.5 * f0 * t))
    wave = 0.3 * wave + 0.02 * rng.standard_normal(len(t))
    return wave.astype(np.float32)
