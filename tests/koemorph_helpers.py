"""Shared builders of the koemorph tests: tiny configs, models and processors, speech-like audio, random streams."""

from __future__ import annotations

import numpy as np
import torch
from av_lipsync_helpers import SR, speechlike

from avzoo.models.koemorph import (
    KoemorphConfig,
    KoemorphForBlendshapeRegression,
    KoemorphModel,
    KoemorphProcessor,
)

__all__ = [
    "SR",
    "pause",
    "random_inputs",
    "speechlike",
    "tiny_config",
    "tiny_head",
    "tiny_model",
    "tiny_processor",
]

#: Small everywhere, so a model builds in milliseconds; 16 mel frames of context keep the causal window short.
TINY = {
    "hidden_size": 16,
    "num_attention_heads": 2,
    "mel_context_frames": 16,
    "mel_temporal_frames": 3,
    "num_mouth_queries": 2,
    "num_expression_queries": 2,
    "emotion_dim": 16,
}


def tiny_config(**overrides) -> KoemorphConfig:
    return KoemorphConfig(**{**TINY, **overrides})


def _liven(model: KoemorphModel) -> None:
    # A fresh mel_padding and stream_logits are zero: give them values so the tests can see padding leak into real
    # frames and both stream weights differ from 0.5.
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        model.mel_padding.copy_(torch.randn(model.mel_padding.shape, generator=generator))
        model.stream_logits.copy_(torch.randn(model.stream_logits.shape, generator=generator))


def tiny_model(seed: int = 0, **overrides) -> KoemorphModel:
    torch.manual_seed(seed)
    model = KoemorphModel(tiny_config(**overrides)).eval()
    _liven(model)
    return model


def tiny_head(seed: int = 0, **overrides) -> KoemorphForBlendshapeRegression:
    torch.manual_seed(seed)
    return KoemorphForBlendshapeRegression(tiny_config(**overrides))


def tiny_processor(config: KoemorphConfig | None = None, **kwargs) -> KoemorphProcessor:
    """The processor for ``config`` (default: :func:`tiny_config`): same feature settings as the model."""
    return KoemorphProcessor.for_config(config or tiny_config(), **kwargs)


def random_inputs(
    batch: int, frames: int, seed: int = 0, emotion: bool = True, lengths: list[int] | None = None
) -> dict[str, torch.Tensor]:
    """Random normalised streams; ``lengths`` gives a right-padded batch whose padding is random too (not zero)."""
    generator = torch.Generator().manual_seed(seed)
    out = {"input_features": torch.randn(batch, frames, 80, generator=generator)}
    if emotion:
        out["emotion_features"] = torch.randn(batch, frames, 264, generator=generator)
    if lengths is not None:
        out["attention_mask"] = (torch.arange(frames)[None, :] < torch.tensor(lengths)[:, None]).long()
    return out


def pause(seconds: float) -> np.ndarray:
    """Low-level noise (not digital silence, which the processor refuses)."""
    return (0.001 * np.random.default_rng(7).standard_normal(int(seconds * SR))).astype(np.float32)
