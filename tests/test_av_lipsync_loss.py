"""av-lipsync training loss: av_lipsync_loss's terms and weights, and the task head that returns it."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from av_lipsync_helpers import random_condition, random_features, speechlike, tiny_config, tiny_model

from avzoo import arkit
from avzoo.metrics.functional.blendshape import lip_state
from avzoo.models.av_lipsync import (
    AvLipsyncForBlendshapeRegression,
    AvLipsyncLossWeights,
    AvLipsyncModel,
    AvLipsyncProcessor,
    av_lipsync_loss,
    lips_sealed,
)
from avzoo.pretrained import path as pretrained_path


def outputs(predictions: torch.Tensor, **extra) -> SimpleNamespace:
    """What av_lipsync_loss reads from a model output; the lipsync view is the predictions themselves."""
    values = {"blendshapes": predictions, "lipsync_blendshapes": predictions, "seal_logits": None}
    return SimpleNamespace(**{**values, "phone_logits": None, **extra})


def rand(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


def head_from(model: AvLipsyncModel) -> AvLipsyncForBlendshapeRegression:
    head = AvLipsyncForBlendshapeRegression(model.config)
    head.av_lipsync.load_state_dict(model.state_dict())
    return head.eval()


# --- av_lipsync_loss -------------------------------------------------------------------------------------------------


def test_loss_terms_and_their_weights():
    config = tiny_config()
    weights = AvLipsyncLossWeights(velocity_weight=2.0)
    labels = rand(2, 16, 52)
    zero = av_lipsync_loss(outputs(labels), labels, None, config, weights)
    assert zero.loss == 0 and zero.l1 == 0 and zero.velocity == 0 and zero.active_mse == 0
    assert zero.seal is None and zero.phone is None
    shifted = av_lipsync_loss(outputs(labels + 0.1), labels, None, config, weights)
    assert shifted.l1 == pytest.approx(0.1, abs=1e-6)  # a weighted mean of a constant error is that error
    assert shifted.velocity < 1e-6  # a constant offset has no velocity
    noisy = labels + 0.05 * torch.randn(labels.shape, generator=torch.Generator().manual_seed(1))
    parts = av_lipsync_loss(outputs(noisy), labels, None, config, weights)
    assert parts.velocity > 0 and parts.active_mse > 0
    torch.testing.assert_close(parts.loss, parts.l1 + 2.0 * parts.velocity + 4.0 * parts.active_mse)
    assert set(parts.parts()) == {"loss", "l1", "velocity", "active_mse"}
    assert parts.parts()["loss"] == pytest.approx(float(parts.loss))
    # The default weights are the bundled model's.
    default = av_lipsync_loss(outputs(noisy), labels, None, config)
    torch.testing.assert_close(default.loss, default.l1 + default.velocity + 4.0 * default.active_mse)


def test_channel_weights_by_name_prefix():
    config = tiny_config()
    weights = config.channel_weights(AvLipsyncLossWeights().velocity_weights)
    assert (
        np.all(weights[arkit.indices("brows")] == np.float32(0.45)) and weights[arkit.INDEX["jawOpen"]] == 1
    )
    l1 = config.channel_weights(AvLipsyncLossWeights().l1_weights)
    assert l1[arkit.INDEX["mouthPressLeft"]] == 3.0 and l1[arkit.INDEX["mouthRollUpper"]] == 2.0
    # Errors on brows only: the velocity term is brow-weighted 0.45, the L1 term is not.
    labels = rand(2, 16, 52)
    brows = arkit.indices("brows")
    brow_noise = labels.clone()
    brow_noise[..., brows] += 0.05 * torch.randn(
        2, 16, len(brows), generator=torch.Generator().manual_seed(2)
    )
    a = av_lipsync_loss(outputs(brow_noise), labels, None, config)
    b = av_lipsync_loss(outputs(brow_noise), labels, None, config, AvLipsyncLossWeights(velocity_weights={}))
    assert a.l1 == b.l1 and a.velocity < b.velocity


def test_active_frames_weigh_more_and_closure_channels_most():
    config = tiny_config()
    labels = torch.zeros(1, 8, 52)
    jaw, brow, press = arkit.INDEX["jawOpen"], arkit.INDEX["browInnerUp"], arkit.INDEX["mouthPressLeft"]
    labels[..., [jaw, press]] = 0.5  # active; the brow stays at rest
    weights = AvLipsyncLossWeights(l1_weights={}, velocity_weight=0.0)

    def mse_with_error_on(channel: int) -> float:
        predictions = labels.clone()
        predictions[..., channel] += 0.1
        return float(av_lipsync_loss(outputs(predictions), labels, None, config, weights).active_mse)

    # Same error, weighted 1 (inactive), 1 + active_weight (active), 1 + closure_active_weight (active closure).
    assert mse_with_error_on(jaw) == pytest.approx(3 * mse_with_error_on(brow), rel=1e-5)
    assert mse_with_error_on(press) == pytest.approx(5 * mse_with_error_on(brow), rel=1e-5)


def test_padding_frames_do_not_count():
    config = tiny_config(phone_labels_vocab=["sil", "AA", "M"])
    labels = rand(2, 16, 52)
    noisy = labels + 0.05 * torch.randn(labels.shape, generator=torch.Generator().manual_seed(1))
    mask = torch.ones(2, 16)
    mask[1, 10:] = 0
    seal = torch.randn(2, 16, generator=torch.Generator().manual_seed(2))
    phones = torch.randn(2, 16, 3, generator=torch.Generator().manual_seed(3))
    phone_labels = torch.randint(0, 3, (2, 16), generator=torch.Generator().manual_seed(4))
    garbage, wild_seal, wild_phones, wild_labels = (
        noisy.clone(),
        seal.clone(),
        phones.clone(),
        phone_labels.clone(),
    )
    garbage[1, 10:] = 1.0
    wild_seal[1, 10:] = 30.0
    wild_phones[1, 10:] = -30.0
    wild_labels[1, 10:] = 0
    clean = av_lipsync_loss(
        outputs(noisy, seal_logits=seal, phone_logits=phones),
        labels,
        mask,
        config,
        None,
        "full",
        phone_labels,
    )
    dirty = av_lipsync_loss(
        outputs(garbage, seal_logits=wild_seal, phone_logits=wild_phones),
        labels,
        mask,
        config,
        None,
        "full",
        wild_labels,
    )
    for term in ("loss", "l1", "velocity", "active_mse", "seal", "phone"):
        torch.testing.assert_close(getattr(dirty, term), getattr(clean, term), rtol=0, atol=0, msg=term)
    masked = av_lipsync_loss(outputs(garbage), labels, mask, config)
    assert (
        av_lipsync_loss(outputs(garbage), labels, None, config).loss > masked.loss
    )  # without the mask they do


def test_lip_seal_targets_follow_the_metric_and_the_loss_learns_them():
    frames = rand(400, 52) * 0.4
    expected = lip_state(frames.numpy())[0]
    assert np.array_equal(lips_sealed(frames, arkit.ARKIT_NAMES).numpy(), expected)
    assert 0 < expected.sum() < len(expected)
    config = tiny_config()
    labels = frames[None]
    predictions = torch.zeros_like(labels)
    target = torch.as_tensor(expected, dtype=torch.float32)[None]
    good = av_lipsync_loss(outputs(predictions, seal_logits=(target * 2 - 1) * 8), labels, None, config)
    bad = av_lipsync_loss(outputs(predictions, seal_logits=(1 - target * 2) * 8), labels, None, config)
    assert good.seal < 0.01 < 5 < bad.seal
    assert torch.isclose(bad.loss - good.loss, bad.seal - good.seal)
    none = av_lipsync_loss(outputs(predictions), labels, None, config)
    assert none.seal is None and torch.isclose(none.loss, good.loss - good.seal)
    off = av_lipsync_loss(
        outputs(predictions, seal_logits=target), labels, None, config, AvLipsyncLossWeights(seal_weight=0.0)
    )
    assert torch.isclose(off.loss, none.loss)


def test_phone_term():
    config = tiny_config(phone_labels_vocab=["sil", "AA", "M"])
    labels = rand(1, 6, 52)
    phone_labels = torch.tensor([[0, 1, 1, 2, -100, 0]])
    logits = torch.full((1, 6, 3), -10.0)
    logits[0, torch.arange(6), phone_labels[0].clamp_min(0)] = 10.0  # confident and right
    logits[0, 4] = torch.tensor([10.0, -10.0, -10.0])
    right = av_lipsync_loss(
        outputs(labels, phone_logits=logits), labels, None, config, None, "full", phone_labels
    )
    assert right.phone < 1e-6  # -100 (frame 4) is ignored
    wrong = av_lipsync_loss(
        outputs(labels, phone_logits=-logits), labels, None, config, None, "full", phone_labels
    )
    torch.testing.assert_close(wrong.loss - right.loss, 0.5 * (wrong.phone - right.phone))
    with pytest.raises(ValueError, match="phone_labels must be"):
        av_lipsync_loss(
            outputs(labels, phone_logits=logits), labels, None, config, None, "full", phone_labels[:, :5]
        )
    with pytest.raises(ValueError, match="phone_labels_vocab"):
        av_lipsync_loss(outputs(labels), labels, None, tiny_config(), None, "full", phone_labels)


def test_loss_argument_errors():
    config = tiny_config()
    labels = rand(1, 6, 52)
    with pytest.raises(ValueError, match="branch must be"):
        av_lipsync_loss(outputs(labels), labels, None, config, branch="both")
    with pytest.raises(ValueError, match="labels have shape"):
        av_lipsync_loss(outputs(labels), labels[:, :5], None, config)
    for bad in ({"mse_weight": -1.0}, {"velocity_weight": float("inf")}, {"seal_weight": float("nan")}):
        with pytest.raises(ValueError, match="must be finite and >= 0"):
            AvLipsyncLossWeights(**bad)
    with pytest.raises(ValueError, match="l1_weights"):
        AvLipsyncLossWeights(l1_weights={"jawOpen": -1.0})
    with pytest.raises(ValueError, match="phone_weight"):
        AvLipsyncLossWeights(phone_weight=-0.5)


# --- the task head -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("branch", ["full", "lipsync"])
def test_head_returns_exactly_av_lipsync_loss(branch):
    model = tiny_model(phone_labels_vocab=["sil", "AA", "M"])
    head = head_from(model)
    features = random_features(2, 12)
    condition = random_condition(2, 12)
    mask = torch.tensor([[1] * 12, [1] * 9 + [0] * 3])
    labels = rand(2, 12, 52, seed=5)
    phone_labels = torch.randint(0, 3, (2, 12), generator=torch.Generator().manual_seed(6))
    weights = AvLipsyncLossWeights(velocity_weight=0.3, mse_weight=2.0, phone_weight=0.7)
    with torch.no_grad():
        out = head(
            features,
            condition,
            mask,
            labels=labels,
            phone_labels=phone_labels,
            loss_weights=weights,
            branch=branch,
        )
        base = model(features, condition, mask)
        expected = av_lipsync_loss(base, labels, mask, model.config, weights, branch, phone_labels)
    assert torch.equal(out.loss, expected.loss)
    assert expected.seal is not None and expected.phone is not None  # every term is in play
    for name in ("blendshapes", "lipsync_blendshapes", "lip_seal", "seal_logits", "phone_logits"):
        assert torch.equal(out[name], base[name]), name
    with torch.no_grad():
        plain = head(features, condition, mask)
    assert plain.loss is None and torch.equal(plain.blendshapes, base.blendshapes)
    with pytest.raises(ValueError, match="branch must be"):
        head(features, labels=labels, branch="expression")


def test_lipsync_branch_ignores_the_expression_channels():
    """Phase 1 scores the lipsync branch alone: the expression channels' labels and weights do not matter."""
    head = head_from(tiny_model())
    features = random_features(2, 12)
    labels = rand(2, 12, 52, seed=5)
    wild = labels.clone()
    wild[..., arkit.indices("expression")] = 1.0
    with torch.no_grad():
        lip = head(features, labels=labels, branch="lipsync").loss
        assert torch.equal(head(features, labels=wild, branch="lipsync").loss, lip)
        assert not torch.equal(head(features, labels=wild).loss, head(features, labels=labels).loss)
    # And no gradient reaches the expression branch.
    head.zero_grad()
    head(features, labels=labels, branch="lipsync").loss.backward()
    expression = head.av_lipsync.expression
    assert all(p.grad is None or not p.grad.any() for p in expression.parameters())
    assert any(p.grad is not None and p.grad.any() for p in head.av_lipsync.lipsync.parameters())


def test_head_loads_the_bundled_checkpoint_with_the_base_weights():
    folder = pretrained_path("av-lipsync")
    head, info = AvLipsyncForBlendshapeRegression.from_pretrained(folder, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"], info
    base = AvLipsyncModel.from_pretrained(folder).eval()
    processor = AvLipsyncProcessor.from_pretrained(folder)
    inputs = processor(speechlike(1.0), sampling_rate=16000, emotion="happy")
    with torch.no_grad():
        expected = base(**inputs).blendshapes
        got = head.eval()(**inputs)
    assert torch.equal(got.blendshapes, expected)
    assert got.loss is None


def test_a_saved_head_loads_as_the_base_model(tmp_path):
    head = head_from(tiny_model())
    head.save_pretrained(tmp_path)
    base, info = AvLipsyncModel.from_pretrained(tmp_path, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"], info
    features = random_features(1, 10)
    with torch.no_grad():
        assert torch.equal(base.eval()(features).blendshapes, head(features).blendshapes)
