"""The shared model mixin, run on the throwaway tiny model in tests/tiny_model/."""

from __future__ import annotations

import pytest
import torch
from model_mixin import ModelTesterMixin
from tiny_model import TinyBlendshapeModel, TinyConfig, TinyFeatureExtractor
from tiny_model.modeling_tiny import TinyPreTrainedModel
from transformers import AutoConfig, AutoFeatureExtractor, AutoModel, PreTrainedModel


def register_tiny() -> None:
    """Register the tiny model for this test process only; avzoo itself never knows it."""
    AutoConfig.register(TinyConfig.model_type, TinyConfig, exist_ok=True)
    AutoModel.register(TinyConfig, TinyBlendshapeModel, exist_ok=True)
    AutoFeatureExtractor.register(TinyConfig, TinyFeatureExtractor, exist_ok=True)


class TestTinyModel(ModelTesterMixin):
    model_class = TinyBlendshapeModel
    config_class = TinyConfig
    output_key = "blendshapes"
    # conv 8→12 (8*12*3 + 12) + GRU 12→12 (2 * 3*12*12 + 2 * 3*12) + head 12→52 (12*52 + 52)
    expected_num_parameters = 300 + 936 + 676

    def get_config(self) -> TinyConfig:
        return TinyConfig(feature_size=8, hidden_size=12)

    def get_inputs(self, batch_size: int) -> dict[str, torch.Tensor]:
        generator = torch.Generator().manual_seed(0)
        frames = 12
        # Padding is random rather than zero, so the test fails if the model lets it leak into real frames.
        features = torch.randn(batch_size, frames, 8, generator=generator)
        lengths = torch.tensor([frames - 2 * i for i in range(batch_size)])
        mask = (torch.arange(frames)[None, :] < lengths[:, None]).long()
        return {"input_features": features, "attention_mask": mask}

    def get_feature_extractor(self) -> TinyFeatureExtractor:
        return TinyFeatureExtractor(feature_size=8)

    def register_auto_classes(self) -> None:
        register_tiny()


def test_mixin_catches_a_forward_without_can_return_tuple(monkeypatch):
    """The return_dict=False check must fail for a model whose forward lacks @can_return_tuple."""
    plain_forward = TinyBlendshapeModel.forward.__wrapped__

    def forward(self, *args, return_dict=None, **kwargs):
        return plain_forward(self, *args, **kwargs)

    monkeypatch.setattr(TinyBlendshapeModel, "forward", forward)
    with pytest.raises(AssertionError, match="can_return_tuple"):
        TestTinyModel().test_return_dict_false_gives_tuple()


def test_mixin_catches_padding_leaking_into_real_frames(monkeypatch):
    """The batch-vs-single check must fail when a model ignores its attention mask."""
    forward = TinyBlendshapeModel.forward

    def leaky(self, input_features, attention_mask=None, **kwargs):
        return forward(self, input_features, attention_mask=None, **kwargs)

    monkeypatch.setattr(TinyBlendshapeModel, "forward", leaky)
    with pytest.raises(AssertionError, match="alone vs in batch"):
        TestTinyModel().test_batch_matches_single()


def test_mixin_catches_init_weights_gaps(monkeypatch, tmp_path):
    """Without the nn.GRU case in _init_weights, GRU weights missing from a checkpoint load uninitialised."""
    monkeypatch.setattr(TinyPreTrainedModel, "_init_weights", PreTrainedModel._init_weights)
    with pytest.raises(AssertionError, match=r"gru.*not initialised by _init_weights"):
        TestTinyModel().test_missing_weights_initialised(tmp_path)
