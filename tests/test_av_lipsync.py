"""av-lipsync: model (shared mixin), causality, streaming, freezing, loss, feature extractor, crisp_mouth, ONNX."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from model_mixin import ModelTesterMixin

from avzoo import arkit, emotions
from avzoo.features.logmel import log_mel
from avzoo.io.audio import prepare_audio, validate_audio
from avzoo.metrics.functional.blendshape import blendshape_errors, lip_state
from avzoo.models.av_lipsync import (
    AvLipsyncConfig,
    AvLipsyncFeatureExtractor,
    AvLipsyncModel,
    AvLipsyncStreamer,
    CrispMouthStream,
    alpha_from_sigma,
    calibrate_stream,
    compute_loss,
    crisp_mouth,
    register,
    sigma_from_alpha,
)
from avzoo.models.av_lipsync import configuration_av_lipsync as conf
from avzoo.models.av_lipsync.crisp_mouth import crisp_mouth_stream_window, ema_window, mouth_channels
from avzoo.models.av_lipsync.modeling_av_lipsync import lips_sealed

SR = 16000
MOUTH = mouth_channels(arkit.ARKIT_NAMES)
OTHER = [i for i in range(52) if i not in MOUTH]


def tiny_config(**overrides) -> AvLipsyncConfig:
    values = {
        "lipsync_hidden_size": 16,
        "lipsync_dilations": [1, 2],
        "expression_hidden_size": 8,
        "expression_dilations": [1, 2],
        "dropout": 0.1,
        "lip_seal": True,  # what the bundled checkpoint uses, so every test below covers the seal path
    }
    return AvLipsyncConfig(**{**values, **overrides})


def tiny_model(seed: int = 0, **overrides) -> AvLipsyncModel:
    torch.manual_seed(seed)
    model = AvLipsyncModel(tiny_config(**overrides)).eval()
    with torch.no_grad():  # a fresh shared_delta is zero; give it weight so the tests see the expression path
        model.expression.shared_delta.weight.normal_(0, 0.3)
    return model


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

    def get_feature_extractor(self) -> AvLipsyncFeatureExtractor:
        return AvLipsyncFeatureExtractor(mel_mean=-7.5, mel_std=[3.0 + 0.01 * i for i in range(80)])

    def register_auto_classes(self) -> None:
        register()


# --- configuration ---------------------------------------------------------------------------------------------------


def test_config_copies_match_avzoo():
    """The folder cannot import avzoo, so it holds copies; they must not drift."""
    assert conf.ARKIT_NAMES == arkit.ARKIT_NAMES
    assert conf.SPEECH_NAMES == arkit.SPEECH
    assert conf.LIPSYNC_NAMES == arkit.LIPSYNC
    assert conf.SHARED_NAMES == arkit.SHARED
    assert conf.EXPRESSION_NAMES == arkit.EXPRESSION
    assert conf.EMOTION_LABELS == emotions.RAVDESS_EMOTIONS
    assert tuple(emotions.VAD[e] for e in emotions.RAVDESS_EMOTIONS) == conf.EMOTION_VAD
    config = AvLipsyncConfig()
    assert config.condition_dim == 12 and len(config.condition_names) == 12
    assert len(config.lipsync_channels) == 28 and len(config.expression_channels) == 24
    assert config.lookahead_ms == pytest.approx(66.67, abs=0.01)


def test_config_rejects_inconsistent_fields():
    with pytest.raises(ValueError, match="condition_dim"):
        AvLipsyncConfig(condition_dim=5)
    with pytest.raises(ValueError, match="overlap"):
        AvLipsyncConfig(expression_channels=[*conf.EXPRESSION_NAMES, "jawOpen"])
    with pytest.raises(ValueError, match="not in blendshape_names"):
        AvLipsyncConfig(lipsync_channels=["jawOpen", "notAShape"])
    with pytest.raises(ValueError, match="lookahead_frames"):
        AvLipsyncConfig(lookahead_frames=-1)
    with pytest.raises(ValueError, match="crisp_mouth_stream"):
        AvLipsyncConfig(crisp_mouth_stream={"sigma": 1.0})
    with pytest.raises(ValueError, match="lip_seal needs"):
        AvLipsyncConfig(lip_seal=True, lipsync_channels=["jawOpen", "mouthFunnel"], shared_channels=[])
    with pytest.raises(ValueError, match="lip_seal_floor"):
        AvLipsyncConfig(lip_seal_floor={"mouthPressLeft": 1.5})


def test_condition_for():
    config = AvLipsyncConfig()
    assert not config.condition_for(None).any()
    happy = config.condition_for("Happy", intensity=0.5)
    assert happy[2] == 1.0 and happy[:8].sum() == 1.0
    np.testing.assert_allclose(happy[8:11], emotions.VAD["happy"])
    assert happy[11] == 0.5
    mixed = config.condition_for({"happy": 1, "sad": 3})
    np.testing.assert_allclose(mixed[[2, 3]], [0.25, 0.75])
    with pytest.raises(ValueError, match="unknown emotion"):
        config.condition_for("bored")
    with pytest.raises(ValueError, match="intensity"):
        config.condition_for("sad", intensity=2)


# --- model behaviour -------------------------------------------------------------------------------------------------


def test_outputs_in_range_and_branch_layout():
    model = tiny_model()
    with torch.no_grad():
        out = model(random_features(2, 20) * 5, condition=torch.rand(2, 12))  # (B, C) broadcasts over time
    assert out.blendshapes.shape == out.lipsync_blendshapes.shape == (2, 20, 52)
    assert out.blendshapes.min() >= 0 and out.blendshapes.max() <= 1
    expression = arkit.indices("expression")
    lipsync = arkit.indices("lipsync")
    assert (out.lipsync_blendshapes[..., expression] == 0).all()
    # Lipsync-only channels come from the lipsync branch alone; shared ones get the expression deltas.
    assert torch.equal(out.blendshapes[..., lipsync], out.lipsync_blendshapes[..., lipsync])
    assert not torch.allclose(
        out.blendshapes[..., arkit.indices("shared")], out.lipsync_blendshapes[..., arkit.indices("shared")]
    )


def test_fresh_model_shared_channels_equal_lipsync_and_rest_pose():
    torch.manual_seed(0)
    model = AvLipsyncModel(tiny_config()).eval()
    with torch.no_grad():
        out = model(random_features(1, 10))
    shared = arkit.indices("shared")
    assert torch.equal(out.blendshapes[..., shared], out.lipsync_blendshapes[..., shared])
    assert out.blendshapes.mean() < 0.15  # head_bias_init: near the rest pose before training


def test_lip_seal_drives_closure_channels_the_arkit_way():
    model = tiny_model()
    idx = arkit.INDEX
    with torch.no_grad():
        out = model(random_features(2, 30), torch.rand(2, 30, 12, generator=torch.Generator().manual_seed(1)))
    p, bs = out.lip_seal, out.blendshapes
    assert p.shape == (2, 30) and bool(((p > 0) & (p < 1)).all())
    torch.testing.assert_close(bs[..., idx["mouthClose"]], p * bs[..., idx["jawOpen"]])
    for name in ("mouthPressLeft", "mouthPressRight"):
        assert bool((bs[..., idx[name]] >= 0.25 * p - 1e-7).all())
    for view in (out.lipsync_blendshapes,):  # the lipsync-only view obeys the same rule
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
    assert plain(random_features(1, 5)).lip_seal is None


def test_lip_seal_targets_follow_the_metric_and_the_loss_learns_them():
    frames = torch.rand(400, 52, generator=torch.Generator().manual_seed(0)) * 0.4
    expected = lip_state(frames.numpy())[0]
    assert np.array_equal(lips_sealed(frames, arkit.ARKIT_NAMES).numpy(), expected)
    assert 0 < expected.sum() < len(expected)
    config = tiny_config()
    labels = frames[None]
    preds = torch.zeros_like(labels)
    target = torch.as_tensor(expected, dtype=torch.float32)[None]
    good = compute_loss(preds, labels, config=config, seal_logits=(target * 2 - 1) * 8)
    bad = compute_loss(preds, labels, config=config, seal_logits=(1 - target * 2) * 8)
    assert good.seal < 0.01 < 5 < bad.seal
    assert torch.isclose(bad.loss - good.loss, bad.seal - good.seal)
    none = compute_loss(preds, labels, config=config)
    assert none.seal is None and torch.isclose(none.loss, good.loss - good.seal)
    weighted = compute_loss(preds, labels, config=tiny_config(loss_seal_weight=0.0), seal_logits=target)
    assert torch.isclose(weighted.loss, none.loss)


def test_input_errors():
    model = tiny_model()
    with pytest.raises(ValueError, match="input_features must be"):
        model(torch.randn(2, 10, 40))
    with pytest.raises(ValueError, match="condition must be"):
        model(random_features(2, 10), condition=torch.zeros(2, 9, 12))
    with pytest.raises(ValueError, match="attention_mask"):
        model(random_features(2, 10), attention_mask=torch.ones(2, 11))
    with pytest.raises(ValueError, match="condition contains NaN"):
        model(random_features(1, 4), condition=torch.full((1, 4, 12), float("nan")))


def test_lengths_equal_attention_mask():
    model = tiny_model()
    features = random_features(2, 12)
    mask = torch.tensor([[1] * 12, [1] * 7 + [0] * 5])
    with torch.no_grad():
        a = model(features, attention_mask=mask).blendshapes
        b = model(features, lengths=torch.tensor([12, 7])).blendshapes
    assert torch.equal(a, b)


@pytest.mark.parametrize("lookahead", [0, 2, 3])
def test_causal_with_lookahead(lookahead):
    """Output frame t depends on input frames <= t + L and on nothing later; the condition acts from frame t on."""
    model = tiny_model(lookahead_frames=lookahead)
    features = random_features(1, 30)
    condition = torch.rand(1, 30, 12, generator=torch.Generator().manual_seed(1))
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


@pytest.mark.parametrize("chunks", [[1] * 25, [3, 7, 1, 9, 5], [25], [0, 2, 23]])
def test_stream_step_equals_offline(chunks):
    model = tiny_model()
    features = random_features(2, 25)
    condition = torch.rand(2, 25, 12, generator=torch.Generator().manual_seed(2))
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


def test_freeze_lipsync_keeps_lipsync_outputs_bit_identical():
    """Phase 2: the expression branch trains, the lipsync branch's outputs do not move by a single bit."""
    model = tiny_model()
    features = random_features(3, 20)
    condition = torch.rand(3, 20, 12, generator=torch.Generator().manual_seed(3))
    labels = torch.rand(3, 20, 52, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        before = model(features, condition)
    lipsync_params = {n: p.detach().clone() for n, p in model.lipsync.named_parameters()}
    expression_params = {n: p.detach().clone() for n, p in model.expression.named_parameters()}

    model.freeze_lipsync()
    model.train()  # dropout is on in the expression branch, off in the frozen lipsync branch
    assert not model.lipsync.training and model.expression.training
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    for step in range(4):
        out = model(features, condition, labels=labels, loss_step=step)
        assert out.lipsync_blendshapes.grad_fn is None
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
        assert torch.equal(out.lipsync_blendshapes, before.lipsync_blendshapes)  # in train mode too

    for name, value in model.lipsync.named_parameters():
        assert torch.equal(value, lipsync_params[name]), name
    assert any(not torch.equal(p, expression_params[n]) for n, p in model.expression.named_parameters())
    model.eval()
    with torch.no_grad():
        after = model(features, condition)
    assert torch.equal(after.lipsync_blendshapes, before.lipsync_blendshapes)
    lipsync = arkit.indices("lipsync")
    assert torch.equal(after.blendshapes[..., lipsync], before.blendshapes[..., lipsync])
    assert not torch.equal(after.blendshapes, before.blendshapes)  # the expression branch did learn


def test_freeze_lipsync_survives_from_pretrained(tmp_path):
    """from_pretrained(..., freeze_lipsync=True) (phase 2 from a phase-1 checkpoint) trains only the expression."""
    tiny_model().save_pretrained(tmp_path)
    model = AvLipsyncModel.from_pretrained(tmp_path, freeze_lipsync=True)
    features = random_features(2, 10)
    labels = torch.rand(2, 10, 52, generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        before = model(features).lipsync_blendshapes
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    model.train()
    assert not model.lipsync.training and all(not p.requires_grad for p in model.lipsync.parameters())
    for param in model.lipsync.parameters():  # even if someone switches gradients back on
        param.requires_grad_(True)
    model(features, labels=labels).loss.backward()
    assert all(p.grad is None for p in model.lipsync.parameters())
    optimizer.step()
    with torch.no_grad():
        assert torch.equal(model(features).lipsync_blendshapes, before)


def test_freeze_lipsync_from_config():
    model = AvLipsyncModel(tiny_config(freeze_lipsync=True))
    assert all(not p.requires_grad for p in model.lipsync.parameters())
    assert all(p.requires_grad for p in model.expression.parameters())
    model.train()
    assert not model.lipsync.training
    model.freeze_lipsync(False)
    assert all(p.requires_grad for p in model.lipsync.parameters()) and model.lipsync.training
    assert model.config.freeze_lipsync is False


# --- loss --------------------------------------------------------------------------------------------------------------


def test_compute_loss_terms_weights_and_warmup():
    config = tiny_config(loss_velocity_weight=2.0, loss_velocity_warmup_steps=10)
    labels = torch.rand(2, 16, 52, generator=torch.Generator().manual_seed(0))
    zero = compute_loss(labels, labels, config=config)
    assert zero.loss == 0 and zero.l1 == 0 and zero.velocity == 0
    pred = labels + 0.1
    shifted = compute_loss(pred, labels, config=config)
    assert (
        shifted.l1 == pytest.approx(0.1, abs=1e-6) and shifted.velocity < 1e-6
    )  # a constant offset has no velocity
    noisy = labels + 0.05 * torch.randn(labels.shape, generator=torch.Generator().manual_seed(1))
    assert compute_loss(noisy, labels, config=config, step=0).velocity_weight == 0.0
    assert compute_loss(noisy, labels, config=config, step=5).velocity_weight == pytest.approx(1.0)
    full = compute_loss(noisy, labels, config=config, step=50)
    assert full.velocity_weight == pytest.approx(2.0) and full.loss == pytest.approx(
        full.l1 + 2 * full.velocity
    )
    assert compute_loss(noisy, labels, config=config).velocity_weight == pytest.approx(
        2.0
    )  # evaluation: full

    weights = config.channel_weights(config.loss_velocity_weights)
    assert (
        np.all(weights[arkit.indices("brows")] == np.float32(0.45)) and weights[arkit.INDEX["jawOpen"]] == 1
    )
    # Errors on brows only: the velocity term is brow-weighted 0.45, the L1 term is not.
    brows = arkit.indices("brows")
    brow_noise = labels.clone()
    brow_noise[..., brows] += 0.05 * torch.randn(
        2, 16, len(brows), generator=torch.Generator().manual_seed(2)
    )
    unweighted = tiny_config(loss_velocity_weights={})
    a = compute_loss(brow_noise, labels, config=config)
    b = compute_loss(brow_noise, labels, config=unweighted)
    assert a.l1 == b.l1 and a.velocity < b.velocity

    mask = torch.ones(2, 16)
    mask[1, 10:] = 0
    garbage = noisy.clone()
    garbage[1, 10:] = 1.0
    masked = compute_loss(garbage, labels, mask, config=config)
    assert masked.loss == compute_loss(noisy, labels, mask, config=config).loss


def test_model_loss_branches():
    model = tiny_model()
    features = random_features(2, 12)
    labels = torch.rand(2, 12, 52, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        out = model(features, labels=labels)
        lip = model(features, labels=labels, loss_branch="lipsync")
    seal_logits = torch.logit(out.lip_seal.double()).float()
    expected = compute_loss(out.blendshapes, labels, config=model.config, seal_logits=seal_logits).loss
    torch.testing.assert_close(out.loss, expected)
    wild = labels.clone()
    wild[..., arkit.indices("expression")] = 1.0  # phase 1 does not score the expression channels
    with torch.no_grad():
        assert torch.equal(model(features, labels=wild, loss_branch="lipsync").loss, lip.loss)
    with pytest.raises(ValueError, match="loss_branch"):
        model(features, labels=labels, loss_branch="both")


# --- feature extractor ---------------------------------------------------------------------------------------------


def test_feature_extractor_matches_avzoo_logmel():
    audio = speechlike(1.3)
    fe = AvLipsyncFeatureExtractor()
    raw = fe(audio, sampling_rate=SR, normalize=False, return_tensors="np")["input_features"][0]
    expected = log_mel(audio)
    assert raw.shape == expected.shape == (39, 80)
    np.testing.assert_array_equal(raw, expected)
    normalised = fe(audio, sampling_rate=SR)["input_features"][0].numpy()
    np.testing.assert_allclose(normalised, (expected + 8.0) / 4.0, atol=1e-6)


def test_feature_extractor_batch_padding():
    fe = AvLipsyncFeatureExtractor()
    clips = [speechlike(1.0), speechlike(0.5, seed=1)]
    batch = fe(clips, sampling_rate=SR)
    assert batch["input_features"].shape == (2, 30, 80)
    assert batch["attention_mask"].sum(1).tolist() == [30, 15]
    alone = fe(clips[1], sampling_rate=SR)["input_features"]
    torch.testing.assert_close(batch["input_features"][1:, :15], alone)
    assert (batch["input_features"][1, 15:] == 0).all()


def test_feature_extractor_resamples_and_downmixes():
    """44.1 kHz stereo (both layouts) and int16 PCM give what avzoo.io.audio.prepare_audio + log_mel give."""
    fe = AvLipsyncFeatureExtractor()
    mono = speechlike(1.0, rate=44100)
    stereo = np.stack([mono, 0.5 * mono])  # (channels, samples)
    expected = fe.normalize(log_mel(prepare_audio(stereo, 44100)))
    for layout in (stereo, stereo.T):
        got = fe(layout, sampling_rate=44100, return_tensors="np")["input_features"][0]
        np.testing.assert_array_equal(got, expected)
    assert got.shape == (30, 80)
    pcm = (speechlike(0.5) * 32767).astype(np.int16)
    np.testing.assert_allclose(
        fe(pcm, sampling_rate=SR)["input_features"][0].numpy(),
        fe(pcm.astype(np.float32) / 32768, sampling_rate=SR)["input_features"][0].numpy(),
        atol=1e-5,
    )


BAD_AUDIO = [
    ("empty", np.zeros(0, np.float32), SR, "empty"),
    ("nan", np.array([0.1, np.nan, 0.2] * 100, np.float32), SR, "NaN/inf"),
    ("inf", np.array([0.1, np.inf] * 100, np.float32), SR, "NaN/inf"),
    ("silent", np.zeros(1600, np.float32), SR, "digital silence"),
    ("3-D", np.zeros((2, 2, 1600), np.float32), SR, "1-D"),
    ("unscaled PCM", np.full(1600, 300.0, np.float32), SR, "peak magnitude"),
    ("clipped", np.ones(1600, np.float32), SR, "clipped"),
    ("rate too low", speechlike(0.1), 100, r"\[4000, 768000\]"),
    ("rate absurd", speechlike(0.1), 1e9, r"\[4000, 768000\]"),
    ("rate bool", speechlike(0.1), True, "number of Hz"),
    ("strings", np.array(["a", "b"]), SR, "not audio"),
    ("channel axis", np.zeros((20, 20), np.float32) + 0.1, SR, "channel axis"),
]


@pytest.mark.parametrize(("name", "audio", "rate", "message"), BAD_AUDIO, ids=[b[0] for b in BAD_AUDIO])
def test_feature_extractor_bad_input(name, audio, rate, message):
    fe = AvLipsyncFeatureExtractor()
    with pytest.raises(ValueError, match=message):
        fe(audio, sampling_rate=rate)
    # The same input is refused by avzoo.io.audio (the checks are kept consistent).
    with pytest.raises(ValueError):
        validate_audio(audio, rate)


def test_feature_extractor_other_errors_and_options():
    fe = AvLipsyncFeatureExtractor()
    with pytest.raises(ValueError, match="empty batch"):
        fe([], sampling_rate=SR)
    with pytest.raises(ValueError, match=r"audio\[1\] is digital silence"):
        fe([speechlike(0.2), np.zeros(800, np.float32)], sampling_rate=SR)
    assert AvLipsyncFeatureExtractor(allow_silence=True)(np.zeros(800, np.float32), sampling_rate=SR)[
        "input_features"
    ].shape == (1, 2, 80)
    with pytest.raises(ValueError, match="max_seconds"):
        AvLipsyncFeatureExtractor(max_seconds=0.1)(speechlike(0.2), sampling_rate=SR)
    with pytest.raises(ValueError, match="mel_std"):
        AvLipsyncFeatureExtractor(mel_std=[1.0] * 79)
    fitted = AvLipsyncFeatureExtractor()
    fitted.fit_normalization([speechlike(1.0), speechlike(1.0, seed=3)], sampling_rate=SR)
    assert len(fitted.mel_mean) == 80 and min(fitted.mel_std) > 0
    feats = fitted([speechlike(1.0), speechlike(1.0, seed=3)], sampling_rate=SR)["input_features"].numpy()
    np.testing.assert_allclose(feats.reshape(-1, 80).mean(0), 0, atol=1e-3)


@pytest.mark.parametrize("chunk", [1, 160, 1234, 16000])
def test_feature_stream_equals_offline(chunk):
    fe = AvLipsyncFeatureExtractor()
    audio = speechlike(0.8)
    expected = fe(audio, sampling_rate=SR, return_tensors="np")["input_features"][0]
    stream = fe.stream()
    parts, ready_after = [], []
    for i in range(0, len(audio), chunk):
        parts.append(stream.push(audio[i : i + chunk]))
        ready_after.append((min(i + chunk, len(audio)), stream.frames_emitted))
    parts.append(stream.flush())
    np.testing.assert_allclose(np.concatenate(parts), expected, atol=1e-5)
    for received, emitted in ready_after:  # frame t is out once sample c_t + 533 has arrived
        assert emitted == sum(1 for t in range(len(expected)) if round(t * SR / 30) + 533 <= received - 1)


# --- streamer ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("chunk", [160, 1234, 16000])
def test_streamer_equals_offline_for_any_chunk_size(chunk):
    model = tiny_model()
    fe = AvLipsyncFeatureExtractor()
    audio = speechlike(1.0)
    condition = model.config.condition_for("angry", 0.8)
    with torch.no_grad():
        expected = model(
            **fe(audio, sampling_rate=SR), condition=torch.from_numpy(condition)[None]
        ).blendshapes[0]
    streamer = AvLipsyncStreamer(model, fe, condition=condition)
    blocks = list(streamer.stream(audio[i : i + chunk] for i in range(0, len(audio), chunk)))
    got = np.concatenate(blocks)
    assert got.shape == tuple(expected.shape) == (30, 52)
    np.testing.assert_allclose(got, expected.numpy(), atol=1e-4)
    # Look-ahead 2 frames (66.7 ms) + the window's 16.7 ms past the frame's middle; 33.3 ms past its centre.
    assert streamer.latency_ms["total_without_chunking"] == pytest.approx(83.3, abs=0.1)
    assert streamer.latency_ms["total_from_window_centre"] == pytest.approx(100.0, abs=0.1)
    with pytest.raises(ValueError, match="flushed"):
        streamer.push(audio[:160])


def test_streamer_resamples_stereo_and_filters():
    model = tiny_model()
    fe = AvLipsyncFeatureExtractor()
    mono = speechlike(1.0, rate=44100)
    stereo = np.stack([mono, mono], axis=1)  # (samples, channels) as an audio callback gives it
    with torch.no_grad():
        expected = model(**fe(stereo, sampling_rate=44100)).blendshapes[0].numpy()
    streamer = AvLipsyncStreamer(model, fe, sampling_rate=44100)
    got = np.concatenate(
        [streamer.push(stereo[i : i + 4410]) for i in range(0, len(stereo), 4410)] + [streamer.flush()]
    )
    np.testing.assert_allclose(got, expected, atol=1e-4)
    filtered = AvLipsyncStreamer(model, fe, sampling_rate=44100, crisp_mouth=True)
    smooth = np.concatenate(
        [filtered.push(stereo[i : i + 4410]) for i in range(0, len(stereo), 4410)] + [filtered.flush()]
    )
    np.testing.assert_allclose(smooth, model.crisp_mouth_stream()(expected), atol=1e-5)
    with pytest.raises(ValueError, match="NaN"):
        filtered.reset() or filtered.push(np.full(100, np.nan, np.float32))


# --- crisp_mouth ---------------------------------------------------------------------------------------------------


def noisy_speech_track(seed: int = 0, frames: int = 120) -> tuple[np.ndarray, np.ndarray]:
    """A viseme track with bilabial closures, and a blurred, shrunk, jittery copy like a regression model's."""
    from avzoo.synth.visemes import Phone, phones_to_blendshapes

    rng = np.random.default_rng(seed)
    symbols = ["AA", "M", "IY", "P", "OW", "B", "AE", "S", "UW", "M", "EH"]
    phones, t = [], 0.2
    for sym in symbols:
        dur = float(rng.uniform(0.08, 0.16))
        phones.append(Phone(sym, t, t + dur))
        t += dur
    ref = phones_to_blendshapes(phones, duration=frames / 30)
    from avzoo.models.av_lipsync.crisp_mouth import gaussian_smooth

    pred = 0.85 * gaussian_smooth(ref, 1.2) + 0.02 + 0.03 * rng.standard_normal(ref.shape)
    return ref, np.clip(pred, 0, 1).astype(np.float32)


def test_crisp_mouth_offline_removes_jitter_keeps_closures():
    ref, pred = noisy_speech_track()
    out = crisp_mouth(pred)
    assert out.shape == pred.shape and out.dtype == pred.dtype
    assert out.min() >= 0 and out.max() <= 1
    np.testing.assert_array_equal(out[:, OTHER], pred[:, OTHER])  # eyes, brows... untouched
    before = blendshape_errors(pred[:, MOUTH], ref[:, MOUTH], names=[arkit.ARKIT_NAMES[i] for i in MOUTH])
    after = blendshape_errors(out[:, MOUTH], ref[:, MOUTH], names=[arkit.ARKIT_NAMES[i] for i in MOUTH])
    assert after["jitter_pred"] < 0.5 * before["jitter_pred"]
    full_before = blendshape_errors(pred, ref)
    full_after = blendshape_errors(out, ref)
    assert full_before["lip_closed_frames"] > 0
    assert full_after["lip_closure_accuracy"] >= full_before["lip_closure_accuracy"]
    assert full_after["mae_per_group"]["lipsync"] < full_before["mae_per_group"]["lipsync"]


def test_crisp_mouth_offline_forms():
    _, pred = noisy_speech_track()
    batch = np.stack([pred, np.roll(pred, 7, axis=0)])
    out = crisp_mouth(batch, lengths=[120, 80])
    np.testing.assert_allclose(out[0], crisp_mouth(pred))
    np.testing.assert_allclose(out[1, :80], crisp_mouth(batch[1, :80]))
    np.testing.assert_array_equal(out[1, 80:], batch[1, 80:])
    as_torch = crisp_mouth(torch.from_numpy(pred))
    assert isinstance(as_torch, torch.Tensor)
    np.testing.assert_allclose(as_torch.numpy(), crisp_mouth(pred), atol=1e-7)
    # sigma from alpha: the same filter when the Gaussian's spread is given either way.
    np.testing.assert_allclose(
        crisp_mouth(pred, alpha=alpha_from_sigma(1.7), sigma=None), crisp_mouth(pred, sigma=1.7)
    )
    assert sigma_from_alpha(alpha_from_sigma(2.5)) == pytest.approx(2.5)
    only_jaw = crisp_mouth(pred, channels=["jawOpen"])
    changed = np.flatnonzero(np.any(only_jaw != pred, axis=0))
    assert changed.tolist() == [arkit.INDEX["jawOpen"]]
    for bad in ({"edge0": 0.5, "edge1": 0.2}, {"scale": 0}, {"sigma": -1}):
        with pytest.raises(ValueError):
            crisp_mouth(pred, **bad)
    with pytest.raises(ValueError, match="NaN"):
        crisp_mouth(np.full((5, 52), np.nan))


def test_crisp_mouth_stream_chunking_state_and_window_form():
    _, pred = noisy_speech_track()
    whole = CrispMouthStream(alpha=0.5)(pred)
    stream = CrispMouthStream(alpha=0.5)
    parts = [stream(pred[i : i + n]) for i, n in ((0, 1), (1, 13), (14, 106))]
    np.testing.assert_allclose(np.concatenate(parts), whole, atol=1e-7)
    np.testing.assert_array_equal(whole[:, OTHER], pred[:, OTHER])
    # The loop-free window form used by the ONNX export agrees with the per-frame recursion.
    filt = CrispMouthStream(alpha=0.5)
    mask = torch.zeros(52, dtype=torch.bool)
    mask[MOUTH] = True
    window, last = crisp_mouth_stream_window(
        torch.from_numpy(pred[None]).double(),
        torch.zeros(1, 52, dtype=torch.float64),
        0.5,
        torch.from_numpy(filt.edge0),
        torch.from_numpy(filt.edge1),
        filt.scale,
        mask,
    )
    np.testing.assert_allclose(window[0].numpy(), whole, atol=1e-6)
    np.testing.assert_allclose(last[0].numpy(), stream.prev_smoothed[0], atol=1e-6)
    x = torch.rand(2, 50, 3, dtype=torch.float64)
    prev = torch.rand(2, 3, dtype=torch.float64)
    ema = ema_window(x, prev, 0.2)
    expected, s = [], prev
    for t in range(50):
        s = 0.2 * x[:, t] + 0.8 * s
        expected.append(s)
    torch.testing.assert_close(ema, torch.stack(expected, 1), atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="alpha"):
        CrispMouthStream(alpha=0)


def test_calibrate_stream_matches_offline():
    tracks = [noisy_speech_track(seed)[1] for seed in range(4)]
    params = calibrate_stream(tracks)
    assert len(params["edge0"]) == 52 and 0 < params["alpha"] <= 1

    def gap(stream_params: dict) -> float:
        keys = ("alpha", "edge0", "edge1", "scale")
        errors = [
            np.abs(
                CrispMouthStream(**{k: stream_params[k] for k in keys})(t)[:, MOUTH]
                - crisp_mouth(t)[:, MOUTH]
            )
            for t in tracks
        ]
        return float(np.concatenate([e.ravel() for e in errors]).mean())

    assert gap(params) == pytest.approx(params["gap"], rel=1e-6)
    unfiltered = float(np.mean([np.abs(t[:, MOUTH] - crisp_mouth(t)[:, MOUTH]).mean() for t in tracks]))
    assert params["gap"] < 0.75 * unfiltered
    assert params["gap"] < gap({**params, "alpha": 1.0})  # the EMA is needed to match the Gaussian


# --- ONNX ------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def onnx_files(tmp_path_factory):
    from avzoo.export.onnx_av_lipsync import export_onnx

    model = tiny_model()
    folder = tmp_path_factory.mktemp("onnx")
    return model, {
        "window": export_onnx(model, folder / "window.onnx"),
        "window_int8": export_onnx(model, folder / "window_int8.onnx", quantize=True),
        "step": export_onnx(model, folder / "step.onnx", streaming=True),
    }


def test_onnx_window_parity_dynamic_shapes(onnx_files):
    import onnx

    from avzoo.export.onnx_av_lipsync import check_onnx_parity

    model, files = onnx_files
    graph = onnx.load(files["window"]).graph
    assert [i.name for i in graph.input] == ["input_features", "condition", "prev_smoothed"]
    assert [o.name for o in graph.output] == ["blendshapes", "next_smoothed"]
    for batch, frames in ((1, 1), (2, 45), (3, 200)):
        errors = check_onnx_parity(model, files["window"], batch=batch, frames=frames)
        assert max(errors.values()) < 1e-4, (batch, frames, errors)


def test_onnx_int8_runs_smaller_and_close(onnx_files):
    import onnx

    from avzoo.export.onnx_av_lipsync import check_onnx_parity

    model, files = onnx_files
    ops = {node.op_type for node in onnx.load(files["window_int8"]).graph.node}
    assert {"DynamicQuantizeLinear", "ConvInteger", "MatMulInteger"} & ops, (
        ops
    )  # int8 kernels are in the graph
    errors = check_onnx_parity(model, files["window_int8"], frames=60)
    assert 0 < errors["blendshapes"] < 0.1


def test_onnx_step_graph_streams_like_pytorch(onnx_files):
    from avzoo.export.onnx_av_lipsync import OnnxLipsyncStream, check_onnx_parity

    model, files = onnx_files
    errors = check_onnx_parity(model, files["step"], streaming=True, frames=40)
    assert max(errors.values()) < 1e-4, errors
    fe = AvLipsyncFeatureExtractor()
    audio = speechlike(1.0)
    features = fe(audio, sampling_rate=SR, return_tensors="np")["input_features"][0]
    condition = model.config.condition_for("happy")
    with torch.no_grad():
        raw = (
            model(torch.from_numpy(features)[None], torch.from_numpy(condition)[None]).blendshapes[0].numpy()
        )
    expected = model.crisp_mouth_stream()(raw)
    stream = OnnxLipsyncStream(files["step"], model.config)
    got = [stream.push(features[i : i + 4], condition) for i in range(0, len(features), 4)] + [stream.flush()]
    got = np.concatenate(got)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-4)


# --- closure seal ----------------------------------------------------------------------------------------------------


def _pressed_track() -> np.ndarray:
    x = np.zeros((12, 52), np.float32)
    x[:, arkit.ARKIT_NAMES.index("jawOpen")] = 0.3
    for name in ("mouthPressLeft", "mouthPressRight"):
        x[5:7, arkit.ARKIT_NAMES.index(name)] = 0.4
    return x


def test_seal_closes_lips_where_press_is_high_in_every_form():
    from avzoo.metrics.functional.blendshape import lip_state
    from avzoo.models.av_lipsync.crisp_mouth import CrispMouthStream, apply_seal

    x = _pressed_track()
    close = arkit.ARKIT_NAMES.index("mouthClose")
    sealed = apply_seal(x.copy(), (0.1, 0.2))
    assert sealed[5:7, close].tolist() == pytest.approx([0.3, 0.3]) and not sealed[:5, close].any()
    assert lip_state(sealed)[0][5:7].all()
    torch_sealed = apply_seal(torch.from_numpy(x), (0.1, 0.2)).numpy()
    np.testing.assert_allclose(torch_sealed, sealed, atol=1e-7)
    plain = dict(edge0=0.0, edge1=1e-3, scale=1.0)
    offline = crisp_mouth(x, sigma=0, seal_edge0=0.1, seal_edge1=0.2, **plain)
    stream = CrispMouthStream(alpha=1.0, seal_edge0=0.1, seal_edge1=0.2, **plain)(x)
    np.testing.assert_allclose(offline[:, close], sealed[:, close], atol=1e-6)
    np.testing.assert_allclose(stream[:, close], sealed[:, close], atol=1e-6)
    assert not crisp_mouth(x, sigma=0, **plain)[:, close].any()  # off by default
    with pytest.raises(ValueError, match="seal"):
        crisp_mouth(x, seal_edge0=0.3, seal_edge1=0.2)


def test_filters_keep_a_one_frame_seal_between_open_vowels():
    """Smoothing jawOpen and mouthClose apart would part the lips of a 1-frame /b/; the ratio rule keeps them shut."""
    from avzoo.models.av_lipsync.crisp_mouth import CrispMouthStream, gaussian_smooth

    jaw, close = arkit.INDEX["jawOpen"], arkit.INDEX["mouthClose"]
    x = np.zeros((15, 52), np.float32)
    x[:, jaw] = 0.5
    x[7, jaw], x[7, close] = 0.3, 0.3  # "a b a": lips sealed on frame 7 only
    assert lip_state(x)[0].tolist() == [i == 7 for i in range(15)]
    # What separate smoothing does to the pair: the jaw rises, mouthClose spreads thin, the lips open.
    parted = gaussian_smooth(x.astype(np.float64), 1.0)
    assert not lip_state(parted)[0][7]

    offline = crisp_mouth(x, sigma=1.0, edge0=0.0, edge1=0.3)
    stream = CrispMouthStream(alpha=0.6, edge0=0.0, edge1=0.2, scale=1.0)
    streamed = np.concatenate([stream(x[:5]), stream(x[5:])])  # chunked: the rule needs no state
    mask = torch.zeros(52, dtype=torch.bool)
    mask[MOUTH] = True
    window, _ = crisp_mouth_stream_window(
        torch.from_numpy(x)[None], torch.zeros(1, 52), 0.6, torch.zeros(52), torch.full((52,), 0.2), 1.0, mask
    )
    np.testing.assert_allclose(window[0].numpy(), streamed, atol=1e-6)
    for out in (offline, streamed):
        assert (
            out[7, close] == pytest.approx(out[7, jaw]) and out[7, jaw] > 0.2
        )  # smoothed jaw, lips still shut
        assert lip_state(out)[0][7] and not lip_state(out)[0][[3, 11]].any()
        np.testing.assert_allclose(out[:, close][np.arange(15) != 7], 0.0)
    # Only when both channels are filtered: the jaw alone leaves mouthClose as it was.
    jaw_only = crisp_mouth(x, sigma=1.0, channels=["jawOpen"])
    assert jaw_only[:, close].tolist() == x[:, close].tolist()


def test_seal_survives_config_round_trip_and_onnx(tmp_path):
    from avzoo.export.onnx_av_lipsync import check_onnx_parity, export_onnx

    params = {"seal_edge0": 0.05, "seal_edge1": 0.1}
    model = tiny_model(crisp_mouth_stream=params)
    model.save_pretrained(tmp_path / "m")
    again = AvLipsyncModel.from_pretrained(tmp_path / "m")
    assert again.config.crisp_mouth_stream["seal_edge1"] == 0.1
    path = export_onnx(again, tmp_path / "w.onnx")
    assert max(check_onnx_parity(again, path).values()) < 1e-4
