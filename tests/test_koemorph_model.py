"""koemorph model: the shared model mixin, the architecture-only config and its checks, causality, padding, chunking,
the mel-only ablation, input checks and the training loss."""

from __future__ import annotations

import json

import pytest
import torch
from koemorph_helpers import SR, random_inputs, speechlike, tiny_config, tiny_head, tiny_model, tiny_processor
from model_mixin import ModelTesterMixin
from transformers import AutoModel

from avzoo import arkit
from avzoo.models.koemorph import (
    KoemorphConfig,
    KoemorphForBlendshapeRegression,
    KoemorphLossWeights,
    KoemorphModel,
    KoemorphProcessor,
    koemorph_loss,
    register,
)

# --- the shared model tests ------------------------------------------------------------------------------------------


class TestKoemorphModel(ModelTesterMixin):
    model_class = KoemorphModel
    config_class = KoemorphConfig
    output_key = "blendshapes"
    atol = 1e-5

    def get_config(self) -> KoemorphConfig:
        return tiny_config()

    def get_model(self) -> KoemorphModel:
        return tiny_model(self.seed)  # non-zero mel_padding and stream weights: padding leaks would show

    def get_inputs(self, batch_size: int) -> dict[str, torch.Tensor]:
        frames = 24  # more than the 16-frame mel context, so real history and padding both reach the window
        return random_inputs(batch_size, frames, lengths=[frames - 5 * i for i in range(batch_size)])

    def get_feature_extractor(self) -> KoemorphProcessor:
        # Non-default settings everywhere, so the round trips prove each one is saved.
        return tiny_processor(
            mel_mean=-7.5,
            mel_std=[3.0 + 0.01 * i for i in range(80)],
            egemaps_mean=[0.1 * i for i in range(88)],
            egemaps_std=[1.0 + 0.01 * i for i in range(88)],
            egemaps_clip=5.0,
            max_seconds=120.0,
        )

    def register_auto_classes(self) -> None:
        register()


# --- configuration ---------------------------------------------------------------------------------------------------

#: What the config must not hold: training settings, normalisation statistics, post-processing settings.
NOT_ARCHITECTURE = (
    "loss",
    "mel_mean",
    "mel_std",
    "egemaps_mean",
    "egemaps_std",
    "crisp",
    "freeze",
    "emotion_labels",
)


def test_config_defaults_and_derived_sizes():
    config = KoemorphConfig()
    assert config.blendshape_names == list(arkit.ARKIT_NAMES) and config.num_blendshapes == 52
    assert config.lipsync_channels == list(arkit.SPEECH) and config.expression_channels == list(
        arkit.EXPRESSION
    )
    assert config.mel_window == 256 + 3
    assert config.window_intervals == [0.0, 0.3, 0.6] and config.window_steps == [0, 1, 2]
    assert config.emotion_input_dim == 88 * 3 == 264
    assert config.lookahead_ms == pytest.approx(66.67, abs=0.01)
    assert config.channel_indices(["jawOpen"]) == [arkit.INDEX["jawOpen"]]
    with pytest.raises(ValueError, match="unknown blendshape name 'nose'"):
        config.channel_indices(["nose"])
    weights = config.channel_weights({"mouth": 2.0, "mouthClose": 3.0})
    assert weights[arkit.INDEX["mouthClose"]] == 3.0 and weights[arkit.INDEX["mouthFunnel"]] == 2.0
    assert weights[arkit.INDEX["jawOpen"]] == 1.0


def test_config_save_reload_roundtrip(tmp_path):
    config = tiny_config(
        window_intervals=[0.0, 0.5, 1.0],
        emotion_hop=0.25,
        emotion_context=10.0,
        emotion_padding=1.0,
        lookahead_frames=0,
        use_concatenation=False,
        backend="numpy",
        temperature=0.7,
    )
    config.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["model_type"] == "koemorph" and saved["window_intervals"] == [0.0, 0.5, 1.0]
    leftovers = sorted(k for k in saved if k.startswith(NOT_ARCHITECTURE))
    assert leftovers == [], leftovers
    loaded = KoemorphConfig.from_pretrained(tmp_path)
    assert loaded.to_dict() == config.to_dict()
    assert loaded.window_steps == [0, 2, 4] and loaded.emotion_input_dim == 264 and loaded.backend == "numpy"
    # A processor made for the reloaded config computes the same streams.
    processor = KoemorphProcessor.for_config(loaded)
    assert (
        processor.window_steps == [0, 2, 4] and processor.emotion_hop == 0.25 and processor.backend == "numpy"
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"window_intervals": [0.0, 0.25]}, r"multiple of emotion_hop \(0.3 s\), got 0.25"),
        ({"window_intervals": [0.0, 0.3], "emotion_hop": 0.2}, r"multiple of emotion_hop \(0.2 s\), got 0.3"),
        ({"window_intervals": []}, "window_intervals must be non-empty"),
        ({"window_intervals": [0.0, -0.3]}, "window_intervals must be non-empty offsets >= 0"),
        (
            {"hidden_size": 18, "num_attention_heads": 4},
            r"hidden_size \(18\) must be divisible by num_attention_heads",
        ),
        ({"backend": "praat"}, "backend must be one of"),
        ({"hidden_size": 0}, "hidden_size must be a positive integer"),
        ({"num_attention_heads": 1.5}, "num_attention_heads must be a positive integer"),
        ({"n_mels": True}, "n_mels must be a positive integer"),
        ({"lookahead_frames": -1}, "lookahead_frames must be an integer >= 0"),
        ({"mel_temporal_frames": 20, "mel_context_frames": 16}, r"mel_temporal_frames \(20\) must be <="),
        ({"temperature": 0.0}, "temperature must be a positive number"),
        ({"fps": float("nan")}, "fps must be a positive number"),
        ({"emotion_hop": -0.3}, "emotion_hop must be a positive number"),
        ({"dropout": 1.0}, r"dropout must be in \[0, 1\)"),
        ({"emotion_padding": 0.1}, r"emotion_padding must be in \[0.25"),
        ({"emotion_padding": 30.0}, r"emotion_padding must be in \[0.25, emotion_context=20.0\]"),
        (
            {"lipsync_channels": ["jawOpen", "notAShape"]},
            "lipsync_channels has names not in blendshape_names",
        ),
        ({"expression_channels": ["browUp"]}, "expression_channels has names not in blendshape_names"),
    ],
)
def test_config_rejects_bad_values(overrides, message):
    with pytest.raises(ValueError, match=message):
        tiny_config(**overrides)


def test_processor_rejects_window_intervals_off_the_grid():
    with pytest.raises(ValueError, match="multiples >= 0 of emotion_hop"):
        KoemorphProcessor(window_intervals=[0.0, 0.25])
    with pytest.raises(ValueError, match="backend must be"):
        KoemorphProcessor(backend="praat")


# --- model behaviour -------------------------------------------------------------------------------------------------


def test_output_shape_and_range():
    model = tiny_model()
    inputs = random_inputs(2, 20)
    inputs["input_features"] = (
        inputs["input_features"] * 20
    )  # extreme inputs still give blendshapes in [0, 1]
    with torch.no_grad():
        out = model(**inputs, output_attentions=True)
    assert out.blendshapes.shape == out.logits.shape == (2, 20, 52)
    assert out.blendshapes.dtype == torch.float32
    assert out.blendshapes.min() >= 0 and out.blendshapes.max() <= 1
    torch.testing.assert_close(out.blendshapes, torch.sigmoid(out.logits))
    assert out.mouth_attentions.shape == (2, 20, 2, 2, 80)  # (B, T, heads, mouth queries, mel tokens)
    torch.testing.assert_close(out.mouth_attentions.sum(-1), torch.ones(2, 20, 2, 2))
    assert out.stream_weights.shape == (2,) and out.stream_weights.sum().item() == pytest.approx(1.0)
    assert model(**random_inputs(1, 5)).mouth_attentions is None  # only when asked for


def test_fresh_model_starts_near_the_rest_pose():
    torch.manual_seed(0)
    model = KoemorphModel(tiny_config()).eval()
    with torch.no_grad():
        out = model(**random_inputs(1, 10))
    assert out.blendshapes.mean() < 0.1  # head_bias_init = -3: sigmoid(-3) = 0.047
    assert torch.equal(out.stream_weights, torch.tensor([0.5, 0.5]))


@pytest.mark.parametrize("lookahead", [0, 2])
def test_causal_with_bounded_lookahead(lookahead):
    """Changing frames after t + lookahead_frames (either stream) leaves outputs at frames <= t unchanged."""
    model = tiny_model(lookahead_frames=lookahead)
    inputs = random_inputs(2, 40)
    with torch.no_grad():
        base = model(**inputs).blendshapes
        for t in (0, 7, 20, 37):
            changed = {k: v.clone() for k, v in inputs.items()}
            changed["input_features"][:, t + lookahead + 1 :] += 3.0
            changed["emotion_features"][:, t + 1 :] -= 3.0
            out = model(**changed).blendshapes
            assert torch.equal(out[:, : t + 1], base[:, : t + 1]), f"frame <= {t} changed"
            if t + lookahead + 1 < 40:
                assert not torch.allclose(out[:, t + 1 :], base[:, t + 1 :])
        # The look-ahead is really used: frame t reads mel frame t + lookahead.
        nudged = {k: v.clone() for k, v in inputs.items()}
        nudged["input_features"][:, 10 + lookahead] += 3.0
        out = model(**nudged).blendshapes
    assert torch.equal(out[:, :10], base[:, :10])
    assert not torch.allclose(out[:, 10], base[:, 10])


def test_right_padding_does_not_change_a_clip():
    """A clip alone and in a right-padded batch (random values in the padding) give the same frames."""
    model = tiny_model()
    inputs = random_inputs(3, 30, lengths=[30, 17, 4])
    with torch.no_grad():
        batched = model(**inputs).blendshapes
        for i, n in enumerate((30, 17, 4)):
            alone = model(
                inputs["input_features"][i : i + 1, :n], inputs["emotion_features"][i : i + 1, :n]
            ).blendshapes
            torch.testing.assert_close(batched[i : i + 1, :n], alone, atol=1e-6, rtol=0)


def test_batch_of_processed_clips_matches_single_clips():
    """Through the processor: different lengths, right-padded, each row equals its clip run alone."""
    model = tiny_model()
    processor = tiny_processor()
    clips = [speechlike(1.0), speechlike(0.55, seed=1)]
    batch = processor(clips, sampling_rate=SR)
    lengths = batch["attention_mask"].sum(1).tolist()
    assert lengths == [30, 17]
    with torch.no_grad():
        out = model(**batch)
        for i, clip in enumerate(clips):
            alone = model(**processor(clip, sampling_rate=SR)).blendshapes
            torch.testing.assert_close(out.blendshapes[i : i + 1, : lengths[i]], alone, atol=1e-6, rtol=0)


@pytest.mark.parametrize("chunk", [3, 16, 1024])
def test_chunk_frames_does_not_change_outputs(chunk):
    model = tiny_model()
    inputs = random_inputs(2, 37, lengths=[37, 20])
    with torch.no_grad():
        expected = model(**inputs, output_attentions=True)
        model.chunk_frames = chunk
        got = model(**inputs, output_attentions=True)
    torch.testing.assert_close(got.blendshapes, expected.blendshapes, atol=1e-6, rtol=0)
    torch.testing.assert_close(got.mouth_attentions, expected.mouth_attentions, atol=1e-6, rtol=0)


def test_summed_streams_variant():
    model = tiny_model(use_concatenation=False)
    inputs = random_inputs(2, 12, lengths=[12, 7])
    with torch.no_grad():
        out = model(**inputs).blendshapes
        alone = model(inputs["input_features"][1:, :7], inputs["emotion_features"][1:, :7]).blendshapes
    assert out.shape == (2, 12, 52)
    torch.testing.assert_close(out[1:, :7], alone, atol=1e-6, rtol=0)


def test_emotion_stream_moves_the_output():
    model = tiny_model()
    inputs = random_inputs(1, 12)
    with torch.no_grad():
        base = model(**inputs).blendshapes
        other = model(inputs["input_features"], inputs["emotion_features"] + 2.0).blendshapes
    assert not torch.allclose(base, other)


def test_mel_only_ablation_runs_without_emotion_features():
    model = tiny_model(use_emotion_stream=False)
    assert model.emotion_encoder is None and model.expression_attention is None
    assert not any(name.startswith(("emotion_encoder", "expression")) for name, _ in model.named_parameters())
    processor = tiny_processor(model.config)
    batch = processor([speechlike(0.6), speechlike(0.4, seed=1)], sampling_rate=SR)
    assert set(batch) == {"input_features", "attention_mask"}  # no eGeMAPS computed
    with torch.no_grad():
        out = model(**batch)
        ignored = model(**batch, emotion_features=torch.randn(2, 18, 264))
    assert out.blendshapes.shape == (2, 18, 52)
    assert torch.equal(out.stream_weights, torch.tensor([1.0, 0.0]))
    assert torch.equal(ignored.blendshapes, out.blendshapes)


def test_dual_model_needs_emotion_features():
    model = tiny_model()
    with pytest.raises(ValueError, match="this model has an emotion stream: pass emotion_features"):
        model(random_inputs(1, 10)["input_features"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda i: {**i, "input_features": torch.randn(2, 10, 79)},
            "input_features has 79 mel bins; this model takes 80",
        ),
        (
            lambda i: {**i, "input_features": torch.randn(10, 80)},
            r"input_features must be a \(batch, frames, 80\) tensor",
        ),
        (
            lambda i: {**i, "input_features": i["input_features"].numpy()},
            r"must be a \(batch, frames, 80\) tensor",
        ),
        (
            lambda i: {**i, "emotion_features": torch.randn(2, 10, 88)},
            r"emotion_features must be a \(batch, frames, 264\) = \(2, 10, 264\) tensor, got \(2, 10, 88\)",
        ),
        (
            lambda i: {**i, "emotion_features": torch.randn(2, 9, 264)},
            r"emotion_features must be a \(batch, frames, 264\) = \(2, 10, 264\) tensor, got \(2, 9, 264\)",
        ),
        (
            lambda i: {**i, "emotion_features": i["emotion_features"].numpy()},
            r"emotion_features must be a \(batch, frames, 264\) = \(2, 10, 264\) tensor, got ndarray",
        ),
        (
            lambda i: {**i, "attention_mask": torch.ones(2, 9, dtype=torch.long)},
            r"attention_mask must be a \(batch, frames\) = \(2, 10\) tensor, got \(2, 9\)",
        ),
        (
            lambda i: {**i, "attention_mask": i["attention_mask"].tolist()},
            r"attention_mask must be a \(batch, frames\) = \(2, 10\) tensor, got list",
        ),
        (
            lambda i: {"input_features": torch.randn(2, 0, 80), "emotion_features": torch.randn(2, 0, 264)},
            "input_features has no frames",
        ),
    ],
    ids=[
        "mel bins",
        "2-D",
        "numpy mel",
        "emotion dims",
        "emotion frames",
        "numpy emotion",
        "mask",
        "list mask",
        "zero frames",
    ],
)
def test_wrong_shapes_are_refused(change, message):
    inputs = change(random_inputs(2, 10, lengths=[10, 6]))
    with pytest.raises(ValueError, match=message):
        tiny_model()(**inputs)


# --- the task head and its loss --------------------------------------------------------------------------------------


def test_head_wraps_the_base_model():
    head = tiny_head()
    assert isinstance(head.koemorph, KoemorphModel) and head.base_model_prefix == "koemorph"
    inputs = random_inputs(2, 12, lengths=[12, 8])
    with torch.no_grad():
        out = head.eval()(**inputs)
    assert out.loss is None and out.blendshapes.shape == (2, 12, 52)


def test_a_saved_head_loads_as_the_base_model(tmp_path):
    """The recipe saves the head; AutoModel (the pipeline, the release) loads its KoemorphModel, every weight."""
    head = tiny_head().eval()
    head.save_pretrained(tmp_path)
    register()
    loaded, info = AutoModel.from_pretrained(tmp_path, output_loading_info=True)
    assert type(loaded) is KoemorphModel
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"], info
    inputs = random_inputs(2, 12, lengths=[12, 8])
    with torch.no_grad():
        assert torch.equal(loaded.eval()(**inputs).blendshapes, head(**inputs).blendshapes)


def test_loss_is_finite_and_decreases_on_one_batch():
    torch.manual_seed(0)
    head = KoemorphForBlendshapeRegression(tiny_config(dropout=0.0)).train()
    inputs = random_inputs(2, 12, lengths=[12, 8])
    labels = torch.rand(2, 12, 52, generator=torch.Generator().manual_seed(3)) * 0.6
    first = head(**inputs, labels=labels).loss
    assert first.ndim == 0 and torch.isfinite(first)
    optimizer = torch.optim.Adam(head.parameters(), lr=1e-2)
    for _ in range(6):
        optimizer.zero_grad()
        loss = head(**inputs, labels=labels).loss
        loss.backward()
        optimizer.step()
    last = head(**inputs, labels=labels).loss
    assert torch.isfinite(last) and last < 0.8 * first, (first.item(), last.item())


def test_loss_ignores_padding_and_follows_the_weights():
    head = tiny_head().eval()
    inputs = random_inputs(2, 12, lengths=[12, 7])
    labels = torch.rand(2, 12, 52, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        out = head(**inputs, labels=labels)
        moved = labels.clone()
        moved[1, 7:] = 1.0 - moved[1, 7:]  # labels of padded frames do not count
        assert torch.equal(head(**inputs, labels=moved).loss, out.loss)
        expected = koemorph_loss(out.blendshapes, labels, inputs["attention_mask"], head.config)
        torch.testing.assert_close(out.loss, expected)
        plain = KoemorphLossWeights(l1_weights={}, velocity_weight=0.0, mse_weight=0.0)
        l1_only = head(**inputs, labels=labels, loss_weights=plain).loss
        mask = inputs["attention_mask"][..., None].float()
        manual = ((out.blendshapes - labels).abs() * mask).sum() / (mask.sum() * 52)
    torch.testing.assert_close(l1_only, manual)
    with pytest.raises(ValueError, match="labels have shape"):
        head(**inputs, labels=labels[:, :10])
    with pytest.raises(ValueError, match="mse_weight must be >= 0"):
        KoemorphLossWeights(mse_weight=-1.0)


def test_history_features_equal_running_on_the_joined_clip():
    """Mel heard before the clip fills the context of its first frames exactly as if it had been part of the clip;
    left-padded history (history_mask 0) reads as no history; only the last context - 1 frames matter."""
    torch.manual_seed(0)
    model = tiny_model()
    before, clip = torch.randn(2, 30, 80), random_inputs(2, 12)
    joined = torch.cat([before, clip["input_features"]], 1)
    emotion = torch.cat([torch.randn(2, 30, 264), clip["emotion_features"]], 1)
    mask = torch.ones(2, 34, dtype=torch.long)
    mask[:, :4] = 0
    with torch.no_grad():
        expected = model(joined, emotion).blendshapes[:, 30:]
        got = model(clip["input_features"], clip["emotion_features"], history_features=before).blendshapes
        padded = torch.cat([torch.randn(2, 4, 80), before], 1)
        masked = model(
            clip["input_features"], clip["emotion_features"], history_features=padded, history_mask=mask
        ).blendshapes
        none = model(clip["input_features"], clip["emotion_features"]).blendshapes
        empty = model(
            clip["input_features"],
            clip["emotion_features"],
            history_features=before,
            history_mask=torch.zeros(2, 30, dtype=torch.long),
        ).blendshapes
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)
    torch.testing.assert_close(masked, expected, atol=1e-6, rtol=0)
    torch.testing.assert_close(empty, none, atol=1e-6, rtol=0)
    assert not torch.allclose(none, expected)


def test_history_features_of_the_wrong_shape_are_refused():
    model = tiny_model()
    clip = random_inputs(2, 12)
    with pytest.raises(ValueError, match="history_features must be a"):
        model(**clip, history_features=torch.randn(1, 5, 80))
    with pytest.raises(ValueError, match="history_mask must be a"):
        model(**clip, history_features=torch.randn(2, 5, 80), history_mask=torch.ones(2, 4))
