"""avzoo.features: the frame grid, log-mel (offline, batched, torch, streaming) and eGeMAPS windows."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from avzoo.features import egemaps as eg
from avzoo.features.egemaps import (
    EGEMAPS_LLD_NAMES,
    EGEMAPS_NAMES,
    egemaps_frames,
    egemaps_functionals,
    egemaps_lld,
    egemaps_windows,
    frame_end_times,
)
from avzoo.features.frames import frame_centers, frame_count
from avzoo.features.logmel import LogMel, log_mel, log_mel_torch

SR = 16000


def tone(freq: float, seconds: float, amp: float = 0.5) -> np.ndarray:
    t = np.arange(round(seconds * SR)) / SR
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def voiced_signal(seconds: float = 4.0, seed: int = 0) -> np.ndarray:
    """A buzzy vowel with a gliding pitch, syllable-like bursts at 2 Hz and a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    f0 = 140 + 40 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    x = sum(np.sin(k * phase) / k for k in range(1, 25))
    x = x * np.clip(np.sin(2 * np.pi * 2.0 * t), 0, None) ** 0.5 + 0.01 * rng.standard_normal(len(t))
    return (0.5 * x / np.abs(x).max()).astype(np.float32)


def total_log_energy(frames: np.ndarray) -> np.ndarray:
    return np.log(np.exp(frames.astype(np.float64)).sum(axis=1))


# ---------------------------------------------------------------------------------------------- frame grid


def test_frame_count_and_centres():
    assert frame_count(16000) == 30  # exactly 1 s at 30 fps
    assert frame_count(16001) == 31
    assert frame_count(1) == 1
    assert frame_count(534) == 2
    assert frame_count(16000, fps=25) == 25
    np.testing.assert_array_equal(frame_centers(4), [0, 533, 1067, 1600])  # 533.33-sample hop, no drift
    assert frame_centers(3001)[-1] == 1_600_000  # frame 3000 sits exactly at 100 s


# ------------------------------------------------------------------------------------------------ log-mel


def test_log_mel_shape_and_dtype():
    x = tone(440, 2.1)[: 2 * SR + 5]
    out = log_mel(x)
    assert out.shape == (61, 80) and out.dtype == np.float32
    assert log_mel(x, n_mels=40, fps=100).shape == (201, 40)
    assert LogMel().right_context == 533 and LogMel().win_length == 1067
    assert LogMel(fps=100).win_length == 320


def test_onset_shows_up_at_the_frame_centred_on_it():
    # Silence, then a tone from exactly 0.5 s = sample 8000 = centre of frame 15.
    x = np.concatenate([np.zeros(SR // 2, np.float32), tone(1000, 0.5)])
    energy = total_log_energy(log_mel(x))
    steady = np.median(energy[18:28])
    silence = np.log(80 * 1e-10)  # every band at the floor
    np.testing.assert_allclose(energy[:14], silence, atol=1e-4)  # windows end before the onset
    # Frame 15's Hann window is half tone: about half the power, log(0.5) = -0.69 below steady.
    assert steady - 1.2 < energy[15] < steady - 0.3
    assert abs(energy[16] - steady) < 0.1  # first frame whose window lies inside the tone
    assert energy[14] < steady - 5  # touches the onset with its window's last sample only


def test_tone_lands_in_the_mel_band_of_its_frequency():
    lm = LogMel()
    frame = lm(tone(1000, 1.0))[15]
    bin_1k = round(1000 * lm.n_fft / SR)
    assert np.argmax(frame) == np.argmax(lm.mel_basis[bin_1k])


def test_streaming_matches_offline_and_emits_frames_on_time():
    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal(3 * SR + 321)).astype(np.float32)
    lm = LogMel()
    offline = lm(x)
    stream, pieces, i = lm.stream(), [], 0
    while i < len(x):
        n = int(rng.integers(1, 2500))
        pieces.append(stream.push(x[i : i + n]))
        i += n
    pieces.append(stream.flush())
    np.testing.assert_allclose(np.concatenate(pieces), offline, atol=1e-4)

    # Frame t comes out with sample c_t + right_context, not before.
    stream = lm.stream()
    t = 10
    last_needed = frame_centers(t + 1)[t] + lm.right_context
    stream.push(x[:last_needed])
    assert stream.frames_emitted == t
    assert len(stream.push(x[last_needed : last_needed + 1])) == 1 and stream.frames_emitted == t + 1


def test_right_context_bounds_what_a_frame_reads():
    rng = np.random.default_rng(1)
    x = (0.1 * rng.standard_normal(2 * SR)).astype(np.float32)
    lm = LogMel()
    t = 20
    cut = frame_centers(t + 1)[t] + lm.right_context + 1  # first sample frame t must not read
    y = x.copy()
    y[cut:] = 0.3 * rng.standard_normal(len(y) - cut)
    a, b = lm(x), lm(y)
    np.testing.assert_array_equal(a[: t + 1], b[: t + 1])
    assert not np.allclose(a[t + 1], b[t + 1])


def test_torch_version_batches_and_is_differentiable():
    rng = np.random.default_rng(2)
    x = (0.1 * rng.standard_normal((3, SR))).astype(np.float32)
    batch = log_mel(x)
    assert batch.shape == (3, 30, 80)
    np.testing.assert_allclose(batch[1], log_mel(x[1]), atol=1e-5)
    wav = torch.tensor(x, requires_grad=True)
    out = log_mel_torch(wav)
    np.testing.assert_allclose(out.detach().numpy(), batch, atol=1e-5)
    out.mean().backward()
    assert wav.grad is not None and torch.isfinite(wav.grad).all() and wav.grad.abs().sum() > 0


@pytest.mark.parametrize(
    "kwargs, audio, match",
    [
        ({}, np.array([0.1, np.nan, 0.2], np.float32), "NaN/inf"),
        ({}, np.zeros(0, np.float32), "empty"),
        ({}, np.zeros((2, 2, 100), np.float32), "1-D .*or 2-D"),
        ({"fps": 0}, None, r"fps must be in \(0, 1000\]"),
        ({"fps": "30"}, None, "fps must be a number"),
        ({"n_mels": 0}, None, r"n_mels must be an integer in \[1, 534\]"),
        ({"n_mels": 600}, None, "n_mels must be an integer"),
        ({"f_max": 9000}, None, "f_max <= 8000"),
        ({"sampling_rate": 0}, None, "sampling_rate must be in"),
        ({"n_fft": 512}, None, r"n_fft \(512\) must be >= win_length \(1067\)"),
    ],
)
def test_log_mel_bad_input(kwargs, audio, match):
    with pytest.raises(ValueError, match=match):
        log_mel(tone(440, 0.2) if audio is None else audio, **kwargs)


def test_log_mel_torch_bad_input():
    with pytest.raises(ValueError, match="float tensor"):
        log_mel_torch(torch.zeros(100, dtype=torch.int16))
    with pytest.raises(ValueError, match="samples > 0"):
        log_mel_torch(torch.zeros(0))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"win_length": 1}, "win_length must be at least 2"),
        ({"floor": 0.0}, "floor must be > 0"),
        ({"f_min": 4000.0, "f_max": 2000.0}, r"need 0 <= f_min < f_max <= 8000 Hz"),
        ({"f_min": -1.0}, r"need 0 <= f_min"),
        ({"sampling_rate": True}, "sampling_rate must be a number"),
    ],
)
def test_log_mel_settings_are_checked(kwargs, match):
    """The av-lipsync processor builds its LogMel from its saved settings and relies on these messages."""
    with pytest.raises(ValueError, match=match):
        LogMel(**kwargs)


def test_stream_scales_integer_pcm_and_refuses_bad_chunks():
    rng = np.random.default_rng(3)
    pcm = (0.1 * rng.standard_normal(SR) * 32767).astype(np.int16)
    lm = LogMel()
    stream = lm.stream()
    pieces = [stream.push(pcm[i : i + 777]) for i in range(0, len(pcm), 777)]
    pieces.append(stream.flush())
    np.testing.assert_allclose(np.concatenate(pieces), lm(pcm.astype(np.float32) / 32768), atol=1e-4)
    with pytest.raises(ValueError, match="1-D"):
        lm.stream().push(np.zeros((2, 100), np.float32))
    with pytest.raises(ValueError, match="NaN/inf"):
        lm.stream().push(np.array([0.1, np.nan], np.float32))
    with pytest.raises(ValueError, match="not audio"):
        lm.stream().push(np.array(["a", "b"]))


# ------------------------------------------------------------------------------------------------ eGeMAPS


@pytest.fixture(scope="module")
def voiced():
    return voiced_signal()


@pytest.fixture(scope="module")
def window_results(voiced):
    ends = np.array([0.6, 1.3, 2.0, 2.45, 3.1, 3.9])
    return ends, {m: egemaps_windows(voiced, ends, method=m) for m in eg.METHODS}


def test_names_match_opensmile():
    import opensmile

    func = opensmile.Smile(opensmile.FeatureSet.eGeMAPSv02, opensmile.FeatureLevel.Functionals)
    lld = opensmile.Smile(opensmile.FeatureSet.eGeMAPSv02, opensmile.FeatureLevel.LowLevelDescriptors)
    assert list(EGEMAPS_NAMES) == func.feature_names and len(EGEMAPS_NAMES) == 88
    assert list(EGEMAPS_LLD_NAMES) == lld.feature_names and len(EGEMAPS_LLD_NAMES) == 25


def test_window_output_shape(window_results):
    ends, results = window_results
    for method, values in results.items():
        assert values.shape == (len(ends), 88), method
        assert values.dtype == np.float32 and np.isfinite(values).all(), method
    f0_mean = results["opensmile"][:, EGEMAPS_NAMES.index("F0semitoneFrom27.5Hz_sma3nz_amean")]
    # 140 +- 40 Hz is 28.0 +- 5 semitones above 27.5 Hz: the pitch is found, and it moves.
    assert np.all((f0_mean > 22) & (f0_mean < 34)) and np.ptp(f0_mean) > 0.5


# Features that summarise many frames the same way in every method. The one-pass method uses the
# stream's LLDs, the naive one re-analyses each crop (different first 2 and last ~9 frames), so they
# agree closely but not exactly. Tolerances: relative, except the level in dB.
AGREE_REL = {
    "F0semitoneFrom27.5Hz_sma3nz_amean": 0.02,
    "F0semitoneFrom27.5Hz_sma3nz_percentile50.0": 0.05,
    "HNRdBACF_sma3nz_amean": 0.03,
    "F1frequency_sma3nz_amean": 0.03,
    "F2frequency_sma3nz_amean": 0.03,
    "logRelF0-H1-A3_sma3nz_amean": 0.1,
    "alphaRatioV_sma3nz_amean": 0.03,
    "mfcc1V_sma3nz_amean": 0.03,
    "loudness_sma3_amean": 0.12,
    "spectralFlux_sma3_amean": 0.15,
}


def test_one_pass_agrees_with_naive_within_tolerance(window_results):
    _, results = window_results
    naive, fast = results["naive"], results["opensmile"]
    for name, rel in AGREE_REL.items():
        j = EGEMAPS_NAMES.index(name)
        np.testing.assert_allclose(fast[:, j], naive[:, j], rtol=rel, err_msg=name)
    leq = EGEMAPS_NAMES.index("equivalentSoundLevel_dBp")
    np.testing.assert_allclose(fast[:, leq], naive[:, leq], atol=1.0)


# The numpy method reads the same LLD frames as the one-pass method; these functionals follow
# openSMILE's definitions and must match it. Slopes, peak rate, unvoiced segments and the voiced/unvoiced
# spectral means (mfcc1V, alphaRatioUV, ...) are approximations and are not listed.
NUMPY_EXACT = (
    [
        n
        for n in EGEMAPS_NAMES
        if n.startswith(
            ("F0semitone", "loudness_sma3", "jitter", "shimmer", "HNR", "logRelF0", "F1ampl", "F2ampl")
        )
        and "Slope" not in n
    ]
    + [f"mfcc{i}_sma3_amean" for i in range(1, 5)]
    + ["StddevVoicedSegmentLengthSec", "equivalentSoundLevel_dBp"]
)


def test_numpy_method_matches_opensmile_on_definitional_features(window_results):
    _, results = window_results
    idx = [EGEMAPS_NAMES.index(n) for n in NUMPY_EXACT]
    assert len(idx) >= 30
    np.testing.assert_allclose(results["numpy"][:, idx], results["opensmile"][:, idx], rtol=2e-3, atol=2e-3)


@pytest.mark.parametrize("method", ["opensmile", "numpy"])
def test_windows_are_causal(voiced, method):
    # A window's features must not change when the audio after its end time is cut off.
    ends = np.array([1.13, 2.3, 2.575, 3.31])
    full = egemaps_windows(voiced, [*ends, 3.9], method=method)[:-1]
    for e, row in zip(ends, full, strict=True):
        cropped = egemaps_windows(voiced[: round(e * SR)], [e], method=method)[0]
        np.testing.assert_allclose(row, cropped, rtol=1e-5, atol=1e-5, err_msg=f"end time {e}")


def test_windows_are_order_free(voiced):
    both = egemaps_windows(voiced, [3.5, 1.0, 3.5])
    np.testing.assert_array_equal(both[0], both[2])
    np.testing.assert_allclose(egemaps_windows(voiced, [1.0, 3.5]), both[[1, 0]], rtol=1e-5, atol=1e-5)


def test_chunked_processing_gives_the_same_result(voiced, monkeypatch):
    ends = np.linspace(0.2, 4.0, 5)
    whole = egemaps_windows(voiced, ends)
    monkeypatch.setattr(eg, "CHUNK_SECONDS", 0.6)  # forces one openSMILE pass per window or two
    np.testing.assert_allclose(egemaps_windows(voiced, ends), whole, rtol=1e-5, atol=1e-5)


def test_audio_shorter_than_context_and_silence():
    short = voiced_signal(0.4)
    out = egemaps_windows(short, [0.0, 0.2, 0.4], context=2.0)
    assert out.shape == (3, 88) and np.isfinite(out).all()
    leq = EGEMAPS_NAMES.index("equivalentSoundLevel_dBp")
    assert out[0, leq] == -120.0  # nothing but the leading silence yet
    assert out[2, leq] > -60
    silent = egemaps_windows(np.zeros(SR, np.float32), [0.5, 1.0])
    assert np.isfinite(silent).all() and np.all(silent[:, leq] == -120.0)


def test_frames_follow_the_frame_grid(voiced):
    x = voiced[: round(1.47 * SR)]
    frames = egemaps_frames(x, fps=30, context=1.0)
    assert frames.shape == (45, 88)  # ceil(1.47 * 30)
    ends = frame_end_times(45, 30.0, 1.47)
    assert ends[0] == pytest.approx(0.5 / 30) and ends[43] == pytest.approx(43.5 / 30)
    assert ends[-1] == 1.47  # frame 44's slot would end at 1.483 s: clipped to the audio
    np.testing.assert_allclose(
        frames[[3, 44]], egemaps_windows(x, ends[[3, 44]], context=1.0), rtol=1e-5, atol=1e-5
    )
    assert egemaps_frames(x, fps=25, context=1.0).shape == (37, 88)  # ceil(1.47 * 25)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"end_times": [5.0]}, r"end_times must lie in \[0, 4\.0000\] s"),
        ({"end_times": [-0.1]}, r"end_times must lie in"),
        ({"end_times": [np.nan]}, "NaN/inf"),
        ({"end_times": []}, "non-empty"),
        ({"end_times": [1.0], "context": 0.1}, r"context must be in \[0.25, 600.0\]"),
        ({"end_times": [1.0], "context": "2"}, "context must be a number"),
        ({"end_times": [1.0], "method": "fast"}, "method must be one of"),
        ({"end_times": [1.0], "sampling_rate": 0}, "sampling_rate must be in"),
    ],
)
def test_egemaps_bad_arguments(voiced, kwargs, match):
    with pytest.raises(ValueError, match=match):
        egemaps_windows(voiced, **kwargs)


def test_egemaps_bad_audio():
    with pytest.raises(ValueError, match="1-D mono"):
        egemaps_windows(np.zeros((2, SR), np.float32) + 0.1, [0.5])
    with pytest.raises(ValueError, match="NaN/inf"):
        egemaps_frames(np.full(SR, np.nan, np.float32))
    with pytest.raises(ValueError, match="fps must be"):
        egemaps_frames(voiced_signal(1.0), fps=-1)
    with pytest.raises(ValueError, match="too short for eGeMAPS"):
        egemaps_functionals(voiced_signal(0.05))


def test_clip_functionals_and_llds(voiced):
    func = egemaps_functionals(voiced)
    assert func.shape == (88,) and np.isfinite(func).all()
    lld = egemaps_lld(voiced)
    assert lld.shape[1] == 25 and abs(lld.shape[0] - 400) <= 6  # 100 per second


def test_real_speech_agreement(shared_data):
    """On real speech the one-pass features track the per-window ones: high correlation, small typical error.

    Single windows can differ more (openSMILE's F0 tracker carries state across a crop edge), so this
    checks the correlation over windows and the median relative error, not every window.
    """
    from avzoo.io.audio import load_audio

    files = sorted((shared_data / "real-speech" / "librispeech" / "train-clean-100").glob("*.flac"))
    if not files:
        pytest.skip("no LibriSpeech files in the shared data")
    x = load_audio(files[0])
    ends = np.linspace(0.5, len(x) / SR, 12)
    naive = egemaps_windows(x, ends, method="naive")
    fast = egemaps_windows(x, ends)
    for name in (
        "F0semitoneFrom27.5Hz_sma3nz_amean",
        "loudness_sma3_amean",
        "HNRdBACF_sma3nz_amean",
        "F1frequency_sma3nz_amean",
        "mfcc1_sma3_amean",
        "alphaRatioV_sma3nz_amean",
    ):
        j = EGEMAPS_NAMES.index(name)
        assert np.corrcoef(fast[:, j], naive[:, j])[0, 1] > 0.95, name
        rel = np.abs(fast[:, j] - naive[:, j]) / (np.abs(naive[:, j]) + 1e-6)
        assert np.median(rel) < 0.03, name
