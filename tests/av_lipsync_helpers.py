"""Shared builders of the av-lipsync tests: tiny configs and models, speech-like audio, random features."""

from __future__ import annotations

import numpy as np
import torch

from avzoo.models.av_lipsync import AvLipsyncConfig, AvLipsyncModel, AvLipsyncProcessor

SR = 16000


def tiny_config(**overrides) -> AvLipsyncConfig:
    values = {
        "lipsync_hidden_size": 16,
        "lipsync_dilations": [1, 2],
        "expression_hidden_size": 8,
        "expression_dilations": [1, 2],
        "dropout": 0.1,
        "lip_seal": True,  # what the bundled checkpoint uses, so every test covers the seal path
    }
    return AvLipsyncConfig(**{**values, **overrides})


def tiny_model(seed: int = 0, **overrides) -> AvLipsyncModel:
    torch.manual_seed(seed)
    model = AvLipsyncModel(tiny_config(**overrides)).eval()
    with torch.no_grad():  # a fresh shared_delta is zero; give it weight so the tests see the expression path
        model.expression.shared_delta.weight.normal_(0, 0.3)
    return model


def tiny_processor(**kwargs) -> AvLipsyncProcessor:
    return AvLipsyncProcessor(**kwargs)


def speechlike(seconds: float, rate: int = SR, seed: int = 0) -> np.ndarray:
    """Voiced bursts with pauses: a harmonic source under a syllable-rate envelope, plus a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    f0 = 120 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    source = sum(np.sin(k * phase) / k for k in range(1, 12))
    envelope = np.clip(np.sin(2 * np.pi * 3.5 * t), 0, None) ** 2 * (np.sin(2 * np.pi * 0.4 * t) > -0.3)
    audio = 0.2 * source * envelope + 0.003 * rng.standard_normal(len(t))
    return audio.astype(np.float32)


def random_features(batch: int, frames: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(batch, frames, 80, generator=torch.Generator().manual_seed(seed))


def random_condition(batch: int, frames: int, seed: int = 1) -> torch.Tensor:
    return torch.rand(batch, frames, 12, generator=torch.Generator().manual_seed(seed))
