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
    KEEP_GAP,
    KEEP_PRESS,
    apply_seal,
    crisp_mouth_stream_window,
    ema_window,
    gaussian_smooth,
    keep_closures,
    mouth_channels,
)
from avzoo.models.av_lipsync.tongue_gate import TongueGateStream, gate_tongue
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


# --- closures of loud speech -----------------------------------------------------------------------------------------


def _loud_track() -> tuple[np.ndarray, list[tuple[int, int]], list[int]]:
    """Wide-open vowels (jawOpen ~0.45) with the closures a model gives loud speech, each 1-2 frames long.

    Returns the track, the (start, end) of its lip-gap closures (a 2-frame jaw dip, a 2-frame mouthClose seal)
    and the frame of a 1-frame lip-press peak (a metric closure: press 0.3, lip gap 0.07).
    """
    rng = np.random.default_rng(0)
    x = np.zeros((60, 52), np.float32)
    x[:, arkit.INDEX["jawOpen"]] = 0.45 + 0.08 * np.sin(np.arange(60) / 3) + 0.01 * rng.standard_normal(60)
    x[:, arkit.INDEX["mouthStretchLeft"]] = 0.3
    x[12:14, arkit.INDEX["jawOpen"]] = 0.03  # jaw dip
    x[28:30, arkit.INDEX["jawOpen"]] = 0.25  # mouthClose seal, lip gap 0.03
    x[28:30, arkit.INDEX["mouthClose"]] = 0.22
    x[45, arkit.INDEX["jawOpen"]] = 0.2  # press peak, lip gap 0.07
    x[45, arkit.INDEX["mouthClose"]] = 0.13
    x[45, arkit.INDEX["mouthPressLeft"]] = x[45, arkit.INDEX["mouthPressRight"]] = 0.3
    return x, [(12, 14), (28, 30)], [45]


def _shut(track: np.ndarray) -> np.ndarray:
    from avzoo.evaluation.real_takes import LIP_GAP_CLOSED
    from avzoo.metrics.functional.blendshape import lip_aperture

    return lip_aperture(track) < LIP_GAP_CLOSED


def test_keep_closures_constants_follow_the_metrics():
    from avzoo.evaluation.real_takes import LIP_GAP_CLOSED
    from avzoo.metrics.functional.blendshape import DEFAULT_CLOSURE_THRESHOLD

    assert KEEP_GAP[0] == LIP_GAP_CLOSED and KEEP_PRESS[1] == DEFAULT_CLOSURE_THRESHOLD


def test_every_form_keeps_the_closures_of_loud_speech():
    x, gap_closures, press_frames = _loud_track()
    shut = _shut(x)
    assert [i for i in range(60) if shut[i]] == [f for a, b in gap_closures for f in range(a, b)]
    assert lip_state(x)[0][press_frames].all()
    stream_params = {"alpha": 0.773, "edge0": 0.0, "edge1": [0.015 if i in MOUTH else 1.0 for i in range(52)]}
    mask = torch.zeros(52, dtype=torch.bool)
    mask[MOUTH] = True

    def forms(keep: bool) -> dict[str, np.ndarray]:
        stream = CrispMouthStream(**stream_params, scale=1.0, keep_closures=keep)
        chunked = np.concatenate([stream(x[:7]), stream(x[7:31]), stream(x[31:])])
        window, _ = crisp_mouth_stream_window(
            torch.from_numpy(x)[None].double(),
            torch.zeros(1, 52, dtype=torch.float64),
            0.773,
            torch.from_numpy(stream.edge0),
            torch.from_numpy(stream.edge1),
            1.0,
            mask,
            keep_closures=keep,
        )
        np.testing.assert_allclose(window[0].numpy(), chunked, atol=1e-6)  # the ONNX form is the stream
        return {
            "offline": crisp_mouth(x, sigma=1.0, edge0=0.0, edge1=0.3, scale=1.0, keep_closures=keep),
            "offline_defaults": crisp_mouth(x, keep_closures=keep),
            "stream": chunked,
        }

    for name, out in forms(keep=False).items():  # the plain filters lose the short closures
        assert not _shut(out)[12:14].all(), name  # smoothing fills the jaw dip
        assert name == "stream" or not lip_state(out)[0][45], name  # and halves the 1-frame press peak
    for name, out in forms(keep=True).items():
        assert (_shut(out) >= shut).all(), name  # every raw shut frame stays shut
        assert lip_state(out)[0][press_frames].all(), name
        np.testing.assert_array_equal(out[:, OTHER], x[:, OTHER])
        # Open frames away from the closures are the plain filter's.
        plain = forms(keep=False)[name]
        away = np.ones(60, bool)
        for f in (12, 13, 28, 29, 45):
            away[max(f - 1, 0) : f + 2] = False
        np.testing.assert_allclose(out[away], plain[away], atol=1e-6)


def test_keep_closures_torch_matches_numpy_and_respects_channels():
    x, _, _ = _loud_track()
    filtered = crisp_mouth(x, sigma=1.0, keep_closures=False).astype(np.float64)
    expected = keep_closures(filtered.copy(), x.astype(np.float64))
    got = keep_closures(torch.from_numpy(filtered), torch.from_numpy(x).double())
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-9)
    jaw_only = crisp_mouth(x, sigma=1.0, channels=["jawOpen"])
    np.testing.assert_array_equal(jaw_only[:, arkit.INDEX["mouthClose"]], x[:, arkit.INDEX["mouthClose"]])
    assert CrispMouthStream(keep_closures=False).params()["keep_closures"] is False


# --- tongue gate -----------------------------------------------------------------------------------------------------

VOCAB = ["AA", "DH", "T", "TH", "sil"]


def _tongue_case() -> tuple[np.ndarray, np.ndarray]:
    """tongueOut peaks at frames 10-13 (on a /th/) and 30-33 (on a /t/: no dental), phone posteriors to match."""
    x = np.zeros((50, 52), np.float32)
    peak = np.array([0.2, 0.45, 0.45, 0.2], np.float32)
    x[10:14, arkit.INDEX["tongueOut"]] = peak
    x[30:34, arkit.INDEX["tongueOut"]] = peak
    x[:, arkit.INDEX["jawOpen"]] = 0.2
    probs = np.full((50, len(VOCAB)), 0.01, np.float32)
    probs[:, VOCAB.index("AA")] = 0.96
    probs[11:13] = 0.01
    probs[11:13, VOCAB.index("TH")] = 0.96
    probs[30:34] = 0.01
    probs[30:34, VOCAB.index("T")] = 0.96
    return x, probs


def test_gate_tongue_keeps_tongue_only_on_dental_phones():
    x, probs = _tongue_case()
    t = arkit.INDEX["tongueOut"]
    out = gate_tongue(x, probs, VOCAB)
    np.testing.assert_allclose(out[10:14, t], x[10:14, t])  # /th/ (and its onset/release, spread 2) kept
    assert not out[30:34, t].any()  # no dental: no tongue
    np.testing.assert_array_equal(np.delete(out, t, axis=1), np.delete(x, t, axis=1))
    strict = gate_tongue(x, probs, VOCAB, spread=0)  # per frame, for streaming
    np.testing.assert_allclose(strict[11:13, t], x[11:13, t])
    assert strict[10, t] < 0.1 * x[10, t] and strict[13, t] < 0.1 * x[13, t]
    causal = gate_tongue(x, probs, VOCAB, lookahead=0)  # only past posteriors: the release, not the onset
    np.testing.assert_allclose(causal[11:14, t], x[11:14, t])
    assert causal[10, t] < 0.1 * x[10, t]
    np.testing.assert_allclose(gate_tongue(x[:12], probs[:12], VOCAB, lookahead=0), causal[:12])  # no future
    # Logits give the same gate as their softmax; torch and batches go through.
    logits = np.log(probs)
    np.testing.assert_allclose(gate_tongue(x, phone_logits=logits, phone_vocab=VOCAB), out, atol=1e-6)
    as_torch = gate_tongue(
        torch.from_numpy(x)[None], phone_logits=torch.from_numpy(logits)[None], phone_vocab=VOCAB
    )
    assert isinstance(as_torch, torch.Tensor)
    np.testing.assert_allclose(as_torch[0].numpy(), out, atol=1e-6)
    assert gate_tongue(x, probs, VOCAB, allowed=("T",))[30:34, t].tolist() == pytest.approx(
        x[30:34, t].tolist()
    )
    for bad in (
        {"phone_probs": probs[:, :3]},
        {"phone_probs": probs[:20]},
        {"phone_probs": probs, "allowed": ("ZZ",)},
        {"phone_probs": probs, "phone_logits": logits},
    ):
        with pytest.raises(ValueError):
            gate_tongue(x, phone_vocab=VOCAB, **bad)


def test_tongue_gate_stream_is_the_causal_gate_chunk_by_chunk():
    x, probs = _tongue_case()
    logits = np.log(probs)
    whole = gate_tongue(x, phone_logits=logits, phone_vocab=VOCAB, lookahead=0)
    gate = TongueGateStream(VOCAB)
    parts = [gate(x[a:b], phone_logits=logits[a:b]) for a, b in ((0, 1), (1, 12), (12, 13), (13, 50))]
    np.testing.assert_allclose(np.concatenate(parts), whole, atol=1e-9)
    gate.reset()
    as_torch = gate(torch.from_numpy(x), phone_probs=torch.from_numpy(probs))
    assert isinstance(as_torch, torch.Tensor)
    np.testing.assert_allclose(as_torch.numpy(), whole, atol=1e-6)
    with pytest.raises(ValueError):
        gate(x, phone_logits=logits[:, :3])
    with pytest.raises(ValueError):
        TongueGateStream(["AA"])


def test_gate_tongue_level_rule_without_phones():
    t = arkit.INDEX["tongueOut"]
    x = np.zeros((80, 52), np.float32)
    x[10:14, t] = [0.2, 0.45, 0.45, 0.2]  # a clear short peak: a dental
    x[30:33, t] = [0.06, 0.12, 0.06]  # low wobble
    x[50:70, t] = 0.45  # held out for 0.67 s: not speech
    out = gate_tongue(x)
    np.testing.assert_allclose(out[10:14, t], x[10:14, t])
    assert not out[30:33, t].any() and not out[50:70, t].any()
