"""av-lipsync model: the shared model mixin, the architecture-only config, branch layout, lip seal, causality,
padding, the causal stream and the frozen lipsync branch."""

from __future__ import annotations

import json

import pytest
import torch
from av_lipsync_helpers import random_condition, random_features, tiny_config, tiny_model
from model_mixin import ModelTesterMixin

from avzoo import arkit
from avzoo.metrics.functional.blendshape import lip_state
from avzoo.models.av_lipsync import (
    AvLipsyncConfig,
    AvLipsyncForBlendshapeRegression,
    AvLipsyncModel,
    AvLipsyncProcessor,
    register,
)
from avzoo.pretrained import path as pretrained_path

# --- the shared model tests ------------------------------------------------------------------------------------------


class TestAvLipsyncModel(ModelTesterMixin):
    model_class = AvLipsyncModel
    config_class = AvLipsyncConfig
    output_key = "blendshapes"
    atol = 1e-5

    def get_config(self) -> AvLipsyncConfig:
        return tiny_config()

    def get_inputs(self, batch_size: int) -> dict[str, torch.Tensor]:
        generator = torch.Generator().manual_seed(0)
        frames = 14
        # Random (not zero) padding: the batch-vs-single test fails if it leaks into real frames.
        features = torch.randn(batch_size, frames, 80, generator=generator)
        condition = torch.rand(batch_size, frames, 12, generator=generator)
        lengths = torch.tensor([frames - 3 * i for i in range(batch_size)])
        mask = (torch.arange(frames)[None, :] < lengths[:, None]).long()
        return {"input_features": features, "condition": condition, "attention_mask": mask}

    def get_feature_extractor(self) -> AvLipsyncProcessor:
        # Non-default settings everywhere, so the round trips prove each one is saved.
        return AvLipsyncProcessor(
            mel_mean=-7.5,
            mel_std=[3.0 + 0.01 * i for i in range(80)],
            intensity_values={"normal": 0.5, "strong": 0.9},
            crisp_mouth_offline={"sigma": 1.2, "seal_edge0": 0.1, "seal_edge1": 0.2},
            crisp_mouth_stream={"alpha": 0.7},
        )

    def register_auto_classes(self) -> None:
        register()


# --- configuration ---------------------------------------------------------------------------------------------------

#: What the config must not hold any more: training state, the filter's settings, the emotion tables.
NOT_ARCHITECTURE = ("loss_", "freeze", "crisp_mouth", "emotion", "intensity", "condition_names")


def test_config_defaults_come_from_avzoo_arkit():
    config = AvLipsyncConfig()
    assert config.blendshape_names == list(arkit.ARKIT_NAMES)
    assert config.lipsync_channels == list(arkit.SPEECH) and len(config.lipsync_channels) == 28
    assert config.expression_channels == list(arkit.EXPRESSION) and len(config.expression_channels) == 24
    assert config.shared_channels == list(arkit.SHARED)
    assert config.condition_dim == 12 == AvLipsyncProcessor().condition_dim
    assert config.num_blendshapes == 52
    assert config.lookahead_ms == pytest.approx(66.67, abs=0.01)
    assert config.channel_indices(["jawOpen", "tongueOut"]) == [
        arkit.INDEX["jawOpen"],
        arkit.INDEX["tongueOut"],
    ]
    with pytest.raises(ValueError, match="unknown blendshape name 'nose'"):
        config.channel_indices(["nose"])


def test_config_holds_the_architecture_only(tmp_path):
    config = tiny_config()
    config.save_pretrained(tmp_path)
    bundled = json.loads((pretrained_path("av-lipsync") / "config.json").read_text())
    for fields in (config.to_dict(), json.loads((tmp_path / "config.json").read_text()), bundled):
        leftovers = sorted(k for k in fields if k.startswith(NOT_ARCHITECTURE))
        assert leftovers == [], leftovers
    assert not hasattr(config, "condition_for")


def test_config_rejects_inconsistent_fields():
    with pytest.raises(ValueError, match="condition_dim"):
        AvLipsyncConfig(condition_dim=4)
    with pytest.raises(ValueError, match="overlap"):
        AvLipsyncConfig(expression_channels=[*arkit.EXPRESSION, "jawOpen"])
    with pytest.raises(ValueError, match="not in blendshape_names"):
        AvLipsyncConfig(lipsync_channels=["jawOpen", "notAShape"])
    with pytest.raises(ValueError, match="subset of lipsync_channels"):
        AvLipsyncConfig(shared_channels=["eyeBlinkLeft"])
    with pytest.raises(ValueError, match="lookahead_frames"):
        AvLipsyncConfig(lookahead_frames=-1)
    with pytest.raises(ValueError, match="lipsync_dilations"):
        AvLipsyncConfig(lipsync_dilations=[])
    with pytest.raises(ValueError, match="dropout"):
        AvLipsyncConfig(dropout=1.0)
    with pytest.raises(ValueError, match="lip_seal needs"):
        AvLipsyncConfig(lip_seal=True, lipsync_channels=["jawOpen", "mouthFunnel"], shared_channels=[])
    with pytest.raises(ValueError, match="lip_seal_floor"):
        AvLipsyncConfig(lip_seal_floor={"mouthPressLeft": 1.5})
    with pytest.raises(ValueError, match="phone_labels_vocab has duplicates"):
        AvLipsyncConfig(phone_labels_vocab=["AA", "AA"])


# --- model behaviour -------------------------------------------------------------------------------------------------


def test_outputs_in_range_and_branch_layout():
    model = tiny_model()
    with torch.no_grad():
        out = model(random_features(2, 20) * 5, condition=torch.rand(2, 12))  # (B, C) broadcasts over time
    assert out.blendshapes.shape == out.lipsync_blendshapes.shape == (2, 20, 52)
    assert out.lipsync_hidden_state.shape == (2, 20, 16) and out.expression_hidden_state.shape == (2, 20, 8)
    assert out.blendshapes.min() >= 0 and out.blendshapes.max() <= 1
    expression = arkit.indices("expression")
    lipsync = arkit.indices("lipsync")
    assert (out.lipsync_blendshapes[..., expression] == 0).all()
    # Lipsync-only channels come from the lipsync branch alone; shared ones get the expression deltas.
    assert torch.equal(out.blendshapes[..., lipsync], out.lipsync_blendshapes[..., lipsync])
    assert not torch.allclose(
        out.blendshapes[..., arkit.indices("shared")], out.lipsync_blendshapes[..., arkit.indices("shared")]
    )
    assert out.phone_logits is None  # no phone vocabulary, no phone head


def test_fresh_model_shared_channels_equal_lipsync_and_rest_pose():
    torch.manual_seed(0)
    model = AvLipsyncModel(tiny_config()).eval()
    with torch.no_grad():
        out = model(random_features(1, 10))
    shared = arkit.indices("shared")
    assert torch.equal(out.blendshapes[..., shared], out.lipsync_blendshapes[..., shared])
    assert out.blendshapes.mean() < 0.15  # head_bias_init: near the rest pose before training


def test_condition_moves_the_expression_channels_only_through_the_expression_branch():
    model = tiny_model()
    features = random_features(1, 16)
    with torch.no_grad():
        neutral = model(features)
        moved = model(features, condition=random_condition(1, 16))
    assert torch.equal(neutral.lipsync_blendshapes, moved.lipsync_blendshapes)
    assert not torch.allclose(
        neutral.blendshapes[..., arkit.indices("expression")],
        moved.blendshapes[..., arkit.indices("expression")],
    )


def test_phone_head_gives_logits_over_the_vocabulary():
    model = tiny_model(phone_labels_vocab=["sil", "AA", "M", "S"])
    with torch.no_grad():
        out = model(random_features(2, 9))
    assert out.phone_logits.shape == (2, 9, 4)


def test_lip_seal_drives_closure_channels_the_arkit_way():
    model = tiny_model()
    idx = arkit.INDEX
    with torch.no_grad():
        out = model(random_features(2, 30), random_condition(2, 30))
    p, bs = out.lip_seal, out.blendshapes
    assert p.shape == (2, 30) and bool(((p > 0) & (p < 1)).all())
    torch.testing.assert_close(p, torch.sigmoid(out.seal_logits))
    torch.testing.assert_close(bs[..., idx["mouthClose"]], p * bs[..., idx["jawOpen"]])
    for name in ("mouthPressLeft", "mouthPressRight"):
        assert bool((bs[..., idx[name]] >= 0.25 * p - 1e-7).all())
    view = out.lipsync_blendshapes  # the lipsync-only view obeys the same rule
    torch.testing.assert_close(view[..., idx["mouthClose"]], p * view[..., idx["jawOpen"]])
    # A confident seal shuts the lips by the metric's rule; a confident "open" leaves them to the regression.
    with torch.no_grad():
        model.lipsync.head.bias[-1] = 20.0
        sealed = model(random_features(1, 10)).blendshapes
        model.lipsync.head.bias[-1] = -20.0
        free = model(random_features(1, 10)).blendshapes
    assert bool(lip_state(sealed.numpy())[0].all())
    assert float(free[..., idx["mouthClose"]].max()) < 1e-6
    plain = tiny_model(lip_seal=False)
    assert plain.lipsync.head.out_features == len(plain.config.lipsync_channels)
    out = plain(random_features(1, 5))
    assert out.lip_seal is None and out.seal_logits is None


def test_input_errors():
    model = tiny_model()
    with pytest.raises(ValueError, match="input_features must be"):
        model(torch.randn(2, 10, 40))
    with pytest.raises(ValueError, match="input_features must be a float tensor"):
        model(torch.zeros(2, 10, 80, dtype=torch.long))
    with pytest.raises(ValueError, match="input_features must be a float tensor"):
        model(random_features(1, 4).numpy())
    with pytest.raises(ValueError, match="condition must be"):
        model(random_features(2, 10), condition=torch.zeros(2, 9, 12))
    with pytest.raises(ValueError, match="condition must be"):
        model(random_features(2, 10), condition=torch.zeros(2, 10))  # a processor with other emotion labels
    with pytest.raises(ValueError, match="attention_mask"):
        model(random_features(2, 10), attention_mask=torch.ones(2, 11))
    with pytest.raises(ValueError, match="condition contains NaN"):
        model(random_features(1, 4), condition=torch.full((1, 4, 12), float("nan")))


def test_padding_cannot_leak_into_real_frames():
    """Whatever sits in padded frames (features or condition) leaves the real frames bit for bit the same."""
    model = tiny_model()
    features = random_features(2, 12)
    condition = random_condition(2, 12)
    mask = torch.tensor([[1] * 12, [1] * 7 + [0] * 5])
    noisy_features, noisy_condition = features.clone(), condition.clone()
    noisy_features[1, 7:] = 50.0
    noisy_condition[1, 7:] = 1.0
    with torch.no_grad():
        a = model(features, condition, attention_mask=mask)
        b = model(noisy_features, noisy_condition, attention_mask=mask)
        alone = model(features[1:, :7], condition[1:, :7])
    assert torch.equal(a.blendshapes, b.blendshapes)
    assert torch.equal(a.lipsync_blendshapes, b.lipsync_blendshapes)
    assert (a.blendshapes[1, 7:] == 0).all() and (a.lipsync_blendshapes[1, 7:] == 0).all()
    torch.testing.assert_close(a.blendshapes[1:, :7], alone.blendshapes, atol=1e-6, rtol=0)


@pytest.mark.parametrize("lookahead", [0, 2, 3])
def test_causal_with_lookahead(lookahead):
    """Output frame t depends on input frames <= t + L and on nothing later; the condition acts from frame t on."""
    model = tiny_model(lookahead_frames=lookahead)
    features = random_features(1, 30)
    condition = random_condition(1, 30)
    with torch.no_grad():
        base = model(features, condition).blendshapes
        t = 12
        later = features.clone()
        later[:, t + lookahead + 1 :] += 3.0
        changed = model(later, condition).blendshapes
        assert torch.equal(changed[:, : t + 1], base[:, : t + 1])
        assert not torch.allclose(changed[:, t + 1 :], base[:, t + 1 :])
        at_lookahead = features.clone()
        at_lookahead[:, t + lookahead] += 3.0
        assert not torch.allclose(model(at_lookahead, condition).blendshapes[:, t], base[:, t])
        new_condition = condition.clone()
        new_condition[:, t:] = 1.0
        switched = model(features, new_condition).blendshapes
        assert torch.equal(switched[:, :t], base[:, :t])
        assert not torch.allclose(switched[:, t], base[:, t])


def test_receptive_field_matches_the_config():
    model = tiny_model()  # dilations [1, 2] with kernel 3 in both branches, look-ahead 2
    assert model.lipsync.stack.receptive_field == 1 + 2 * (1 + 2)
    assert model.receptive_field == {"past_lipsync": 7 - 1 - 2, "past_expression": 7 + 7 - 2 - 2, "future": 2}


@pytest.mark.parametrize("chunks", [[1] * 25, [3, 7, 1, 9, 5], [25], [0, 2, 23]])
def test_stream_step_equals_offline(chunks):
    model = tiny_model()
    features = random_features(2, 25)
    condition = random_condition(2, 25, seed=2)
    with torch.no_grad():
        expected = model(features, condition).blendshapes
    state = model.init_stream(batch_size=2)
    outputs, start = [], 0
    for size in chunks:
        out, state = model.stream_step(
            features[:, start : start + size], condition[:, start : start + size], state
        )
        outputs.append(out)
        start += size
        # Frame t is out once feature frame t + L is in.
        assert state.frames_out == max(0, start - model.lookahead_frames)
    out, state = model.stream_step(features[:, :0], None, state, final=True)
    outputs.append(out)
    got = torch.cat(outputs, dim=1)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="finished"):
        model.stream_step(features[:, :1], None, state)


def test_stream_step_errors_and_state_is_not_mutated():
    model = tiny_model()
    state = model.init_stream(batch_size=2)
    with pytest.raises(ValueError, match="batch size 2"):
        model.stream_step(random_features(1, 3), None, state)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        model.init_stream(0)
    _, new = model.stream_step(random_features(2, 4), None, state)
    assert state.frames_in == 0 and new.frames_in == 4  # the old state is unchanged
    assert all((c == 0).all() for c in state.lipsync_caches)


# --- freezing the lipsync branch (phase 2 of the recipe) -----------------------------------------------------------


def head_from(model: AvLipsyncModel) -> AvLipsyncForBlendshapeRegression:
    head = AvLipsyncForBlendshapeRegression(model.config)
    head.av_lipsync.load_state_dict(model.state_dict())
    return head.eval()


def test_freeze_lipsync_keeps_lipsync_outputs_bit_identical():
    """Phase 2: the expression branch trains, the lipsync branch's outputs do not move by a single bit."""
    head = head_from(tiny_model())
    base = head.av_lipsync
    features = random_features(3, 20)
    condition = random_condition(3, 20, seed=3)
    labels = torch.rand(3, 20, 52, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        before = head(features, condition)
    lipsync_params = {n: p.detach().clone() for n, p in base.lipsync.named_parameters()}
    expression_params = {n: p.detach().clone() for n, p in base.expression.named_parameters()}

    head.freeze_lipsync()
    assert base.lipsync_frozen
    head.train()  # dropout is on in the expression branch, off in the frozen lipsync branch
    assert not base.lipsync.training and base.expression.training
    optimizer = torch.optim.AdamW(head.parameters(), lr=1e-2, weight_decay=0.1)
    for _ in range(4):
        out = head(features, condition, labels=labels)
        assert out.lipsync_blendshapes.grad_fn is None
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
        assert torch.equal(out.lipsync_blendshapes, before.lipsync_blendshapes)  # in train mode too

    for name, value in base.lipsync.named_parameters():
        assert torch.equal(value, lipsync_params[name]), name
    assert any(not torch.equal(p, expression_params[n]) for n, p in base.expression.named_parameters())
    head.eval()
    with torch.no_grad():
        after = head(features, condition)
    assert torch.equal(after.lipsync_blendshapes, before.lipsync_blendshapes)
    lipsync = arkit.indices("lipsync")
    assert torch.equal(after.blendshapes[..., lipsync], before.blendshapes[..., lipsync])
    assert not torch.equal(after.blendshapes, before.blendshapes)  # the expression branch did learn


def test_frozen_branch_gets_no_gradient_even_when_requires_grad_is_switched_back_on(tmp_path):
    """Phase 2 from a phase-1 checkpoint: load the task head, freeze, train only the expression branch."""
    tiny_model().save_pretrained(tmp_path)
    head = AvLipsyncForBlendshapeRegression.from_pretrained(tmp_path)
    head.freeze_lipsync()
    base = head.av_lipsync
    features = random_features(2, 10)
    labels = torch.rand(2, 10, 52, generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        before = head(features).lipsync_blendshapes
    optimizer = torch.optim.SGD(head.parameters(), lr=0.5)
    head.train()
    assert not base.lipsync.training and all(not p.requires_grad for p in base.lipsync.parameters())
    for param in base.lipsync.parameters():  # a checkpoint load or a user switches gradients back on
        param.requires_grad_(True)
    head(features, labels=labels).loss.backward()
    assert all(p.grad is None for p in base.lipsync.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in base.expression.parameters())
    optimizer.step()
    with torch.no_grad():
        assert torch.equal(head(features).lipsync_blendshapes, before)


def test_freezing_is_a_method_not_saved_state(tmp_path):
    model = tiny_model()
    model.freeze_lipsync()
    assert all(not p.requires_grad for p in model.lipsync.parameters())
    assert all(p.requires_grad for p in model.expression.parameters())
    model.train()
    assert not model.lipsync.training and model.expression.training
    model.save_pretrained(tmp_path)
    assert not any(k.startswith("freeze") for k in json.loads((tmp_path / "config.json").read_text()))
    again = AvLipsyncModel.from_pretrained(tmp_path)
    assert not again.lipsync_frozen and all(p.requires_grad for p in again.lipsync.parameters())
    model.freeze_lipsync(False)
    assert not model.lipsync_frozen
    assert all(p.requires_grad for p in model.lipsync.parameters()) and model.lipsync.training


# --- the offline quality mode ----------------------------------------------------------------------------------------


def offline_model(seed: int = 0, **overrides) -> AvLipsyncModel:
    """A tiny model with the offline refiner, its zero head given weight so that the mode changes the output."""
    model = tiny_model(seed, offline_dilations=[1, 2], offline_hidden_size=16, **overrides)
    with torch.no_grad():
        model.offline.head.weight.normal_(0, 0.3)
    return model


def test_offline_config_fields_and_lookahead():
    config = tiny_config(offline_dilations=[1, 2, 4], offline_kernel_size=5)
    assert config.has_offline_mode and config.offline_lookahead_frames == config.lookahead_frames + 2 * 7
    assert not tiny_config().has_offline_mode
    assert tiny_config().offline_lookahead_frames == tiny_config().lookahead_frames
    with pytest.raises(ValueError, match="offline_kernel_size must be odd"):
        tiny_config(offline_dilations=[1], offline_kernel_size=4)
    with pytest.raises(ValueError, match="offline_dilations must be positive integers"):
        tiny_config(offline_dilations=[1, 0])


def test_fresh_refiner_equals_streaming_and_default_mode_is_offline():
    """A new refiner's head is zero: offline output = streaming output until it is trained."""
    model = tiny_model(offline_dilations=[1, 2], offline_hidden_size=16)
    features = random_features(2, 20)
    with torch.no_grad():
        stream = model(features, mode="streaming").blendshapes
        offline = model(features, mode="offline").blendshapes
        default = model(features).blendshapes
    assert torch.equal(stream, offline) and torch.equal(default, offline)
    assert model.resolve_mode(None) == "offline" and tiny_model().resolve_mode(None) == "streaming"


def test_offline_mode_sees_ahead_and_streaming_does_not_change():
    """The refiner sees offline_lookahead_frames ahead; streaming stays causal (frame t sees <= t + L)."""
    model = offline_model()
    L, ahead = model.lookahead_frames, model.config.offline_lookahead_frames
    features = random_features(1, 30)
    changed = features.clone()
    changed[:, 20:] += 3.0
    with torch.no_grad():
        a_off, b_off = model(features, mode="offline"), model(changed, mode="offline")
        a_st, b_st = model(features, mode="streaming"), model(changed, mode="streaming")
    diff_off = (a_off.lipsync_blendshapes - b_off.lipsync_blendshapes).abs().amax(-1)[0]
    diff_st = (a_st.lipsync_blendshapes - b_st.lipsync_blendshapes).abs().amax(-1)[0]
    assert diff_st[: 20 - L].max() == 0 and diff_st[20 - L] > 0
    assert diff_off[: 20 - ahead].max() == 0 and diff_off[20 - ahead] > 0
    # the expression branch is untouched by the mode
    assert torch.equal(a_off.expression_hidden_state, a_st.expression_hidden_state)


def test_offline_padding_cannot_leak_into_real_frames():
    model = offline_model()
    features = random_features(2, 16)
    mask = torch.tensor([[1] * 16, [1] * 9 + [0] * 7])
    noisy = features.clone()
    noisy[1, 9:] = 50.0
    with torch.no_grad():
        a = model(features, attention_mask=mask, mode="offline")
        b = model(noisy, attention_mask=mask, mode="offline")
        alone = model(features[1:, :9], mode="offline")
    assert torch.equal(a.blendshapes, b.blendshapes)
    torch.testing.assert_close(a.blendshapes[1:, :9], alone.blendshapes, atol=1e-6, rtol=0)


def test_mode_errors():
    features = random_features(1, 10)
    with pytest.raises(ValueError, match="no offline quality mode"):
        tiny_model()(features, mode="offline")
    with pytest.raises(ValueError, match="mode must be one of"):
        offline_model()(features, mode="fast")


def test_stream_equals_streaming_mode_of_an_offline_checkpoint():
    model = offline_model()
    features = random_features(1, 17)
    with torch.no_grad():
        batch = model(features, mode="streaming").blendshapes
    state = model.init_stream()
    first, state = model.stream_step(features[:, :9], None, state)
    rest, _ = model.stream_step(features[:, 9:], None, state, final=True)
    torch.testing.assert_close(torch.cat([first, rest], 1), batch, atol=1e-5, rtol=0)


def test_refiner_trains_alone_when_the_rest_is_frozen():
    """Phase 3: only the refiner's weights get gradients; the streaming output stays bit-identical."""
    head = AvLipsyncForBlendshapeRegression(tiny_config(offline_dilations=[1], offline_hidden_size=8))
    head.freeze_lipsync()
    head.eval()  # dropout off, so the before/after comparison is exact
    for name, param in head.named_parameters():
        param.requires_grad_(name.startswith("av_lipsync.offline"))
    features = random_features(2, 12)
    labels = torch.rand(2, 12, 52)
    with torch.no_grad():
        before = head(features, mode="streaming").blendshapes
    head(features, labels=labels, branch="lipsync", mode="offline").loss.backward()
    grads = {n for n, p in head.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0}
    assert grads and all(n.startswith("av_lipsync.offline") for n in grads)
    torch.optim.SGD([p for p in head.parameters() if p.requires_grad], lr=1.0).step()
    with torch.no_grad():
        assert torch.equal(head(features, mode="streaming").blendshapes, before)
