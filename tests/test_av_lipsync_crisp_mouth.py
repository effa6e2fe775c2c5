"""crisp_mouth, the mouth filter of av-lipsync: offline and streaming forms, calibration, the closure seal."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from avzoo import arkit
from avzoo.metrics.functional.blendshape import blendshape_errors, lip_state
from avzoo.models.av_lipsync import (
    CrispMouthStream,
    alpha_from_sigma,
    calibrate_stream,
    crisp_mouth,
    sigma_from_alpha,
)
from avzoo.models.av_lipsync.crisp_mouth import (
    apply_seal,
    crisp_mouth_stream_window,
    ema_window,
    gaussian_smooth,
    mouth_channels,
)
from avzoo.synth.visemes import Phone, phones_to_blendshapes

MOUTH = mouth_channels(arkit.ARKIT_NAMES)
OTHER = [i for i in range(52) if i not in MOUTH]


# --- crisp_mouth ---------------------------------------------------------------------------------------------------


def noisy_speech_track(seed: int = 0, frames: int = 120) -> tuple[np.ndarray, np.ndarray]:
    """A viseme track with bilabial closures, and a blurred, shrunk, jittery copy like a regression model's."""
    rng = np.random.default_rng(seed)
    symbols = ["AA", "M", "IY", "P", "OW", "B", "AE", "S", "UW", "M", "EH"]
    phones, t = [], 0.2
    for sym in symbols:
        dur = float(rng.uniform(0.08, 0.16))
        phones.append(Phone(sym, t, t + dur))
        t += dur
    ref = phones_to_blendshapes(phones, duration=frames / 30)
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


# --- closure seal ----------------------------------------------------------------------------------------------------


def _pressed_track() -> np.ndarray:
    x = np.zeros((12, 52), np.float32)
    x[:, arkit.ARKIT_NAMES.index("jawOpen")] = 0.3
    for name in ("mouthPressLeft", "mouthPressRight"):
        x[5:7, arkit.ARKIT_NAMES.index(name)] = 0.4
    return x


def test_seal_closes_lips_where_press_is_high_in_every_form():
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
