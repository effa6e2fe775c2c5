"""Speech-driven upper-face life: blinks and brow raises from the predicted track (avzoo.animation.life)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import binary_opening

from avzoo.animation.life import LifeSettings, LifeStream, add_life
from avzoo.arkit import ARKIT_NAMES, INDEX

FPS = 30.0
JAW, BLINK_L, BLINK_R, BROW = (
    INDEX["jawOpen"],
    INDEX["eyeBlinkLeft"],
    INDEX["eyeBlinkRight"],
    INDEX["browInnerUp"],
)


def _syllable_train(x: np.ndarray, start_s: float, end_s: float, amp: float = 0.15) -> list[int]:
    """Write syllables (raised-cosine jawOpen bumps, 4/s) into x; returns their peak frames."""
    peaks = []
    for t0 in np.arange(start_s, end_s - 0.2, 0.25):
        k = np.arange(round(t0 * FPS), round((t0 + 0.2) * FPS) + 1)
        x[k, JAW] = np.maximum(x[k, JAW], amp * np.sin(np.pi * (k - k[0]) / (len(k) - 1)) ** 2)
        peaks.append(int(k[len(k) // 2]))
    return peaks


def _speech_track(seconds: float, seed: int = 0) -> tuple[np.ndarray, list[int]]:
    """Phrases of 2-4 s of syllables (every 4th one prominent) between 0.5-1.2 s pauses."""
    rng = np.random.default_rng(seed)
    x = np.full((round(seconds * FPS), 52), 0.0)
    x[:, JAW] = 0.03
    t, pause_onsets = 0.5, []
    while t < seconds - 4.5:
        length = rng.uniform(2, 4)
        for i, p in enumerate(_syllable_train(x, t, t + length, 0.2)):
            if i % 4 == 1:
                x[p - 2 : p + 3, JAW] *= 2.2
        t += length
        pause_onsets.append(round(t * FPS))
        t += rng.uniform(0.5, 1.2)
    return x, pause_onsets


def _blink_onsets(y: np.ndarray, ch: int = BLINK_L) -> np.ndarray:
    b = y[:, ch]
    return np.flatnonzero((b[:-1] < 0.3) & (b[1:] >= 0.3)) + 1


def _stream(x: np.ndarray, seed: int = 0, settings: LifeSettings | None = None) -> np.ndarray:
    return LifeStream(FPS, seed, settings)(x)


def _rate_per_min(fn, seeds=range(5), minutes: float = 5.0, settings: LifeSettings | None = None) -> float:
    count = 0
    for seed in seeds:
        x, _ = _speech_track(minutes * 60, seed)
        count += len(_blink_onsets(fn(x, seed=seed, settings=settings)))
    return count / (minutes * len(seeds))


@pytest.mark.parametrize("rate", [17.0, 26.0])
def test_blink_rate_matches_the_setting_over_five_minutes(rate):
    s = LifeSettings(blink_rate_per_min=rate)
    measured = _rate_per_min(lambda x, seed, settings: add_life(x, FPS, seed, settings), settings=s)
    assert abs(measured - rate) / rate < 0.15, measured


def test_streaming_blink_rate_is_close_to_offline():
    offline = _rate_per_min(lambda x, seed, settings: add_life(x, FPS, seed, settings), seeds=range(3))
    streamed = _rate_per_min(_stream, seeds=range(3))
    assert abs(streamed - offline) / offline < 0.1, (offline, streamed)


@pytest.mark.parametrize("mode", ["offline", "stream"])
def test_blinks_prefer_pauses(mode):
    in_pause = total = 0
    pause_time = []
    for seed in range(5):
        x, _ = _speech_track(300, seed)
        y = add_life(x, FPS, seed) if mode == "offline" else _stream(x, seed)
        pause = binary_opening(x[:, JAW] < 0.05, np.ones(12))  # silent stretches of 0.4 s or more
        onsets = _blink_onsets(y)
        in_pause, total = in_pause + int(pause[onsets].sum()), total + len(onsets)
        pause_time.append(pause.mean())
    # Stochastic blinks would land in pauses as often as pauses take time (~27 %); ours prefer them.
    assert in_pause / total > 1.4 * np.mean(pause_time), (in_pause / total, np.mean(pause_time))


def test_blinks_are_shaped_like_blinks():
    x, _ = _speech_track(120)
    y = add_life(x, FPS, seed=3)
    onsets = _blink_onsets(y)
    assert len(onsets) > 10
    peaks = np.array([y[o : o + 6, BLINK_L].max() for o in onsets])
    assert 0.5 < np.median(peaks) < 0.95
    np.testing.assert_allclose(y[:, BLINK_L], y[:, BLINK_R], atol=0.2)  # together, a tiny asymmetry
    assert not np.array_equal(y[:, BLINK_L], y[:, BLINK_R])
    # Fast close, slower open: from onset to peak is shorter than from peak back below 0.1.
    o = onsets[0]
    p = o + int(np.argmax(y[o : o + 6, BLINK_L]))
    assert np.argmax(y[p:, BLINK_L] < 0.1) > (p - o)


def _stressed_speech() -> tuple[np.ndarray, list[int]]:
    """12 s: silence, 9 s of even syllables with three prominent ones, silence."""
    x = np.zeros((round(12 * FPS), 52))
    x[:, JAW] = 0.03
    peaks = _syllable_train(x, 1.0, 10.0)
    prominent = [peaks[8], peaks[18], peaks[28]]
    for p in prominent:
        x[p - 3 : p + 4, JAW] *= 3.0
    return x, prominent


@pytest.mark.parametrize("mode", ["offline", "stream"])
def test_brow_raises_land_on_stressed_peaks_and_not_in_silence(mode):
    x, prominent = _stressed_speech()
    s = LifeSettings(blinks=False)
    y = add_life(x, FPS, 0, s) if mode == "offline" else _stream(x, 0, s)
    raise_ = y[:, BROW] - x[:, BROW]
    tops = [
        t for t in range(1, len(x) - 1) if raise_[t] > 0.05 and raise_[t - 1] < raise_[t] >= raise_[t + 1]
    ]
    assert len(tops) == len(prominent), tops
    attack = round(s.brow_attack_s * FPS)
    for top, p in zip(tops, prominent, strict=True):
        lag = top - p
        # Offline a raise peaks on its syllable; streaming, it starts one frame after the syllable peak.
        assert (abs(lag) <= 1) if mode == "offline" else (attack <= lag <= attack + 2), (top, p)
    assert raise_[: round(1.0 * FPS)].max() == 0 and raise_[round(10.5 * FPS) :].max() == 0
    assert raise_.max() > 0.5 * s.brow_inner_gain
    assert np.all(y[:, INDEX["browOuterUpLeft"]] >= x[:, INDEX["browOuterUpLeft"]])


def test_output_never_below_input_and_within_range():
    x = np.random.default_rng(0).uniform(0, 1, (900, 52)).astype(np.float32)
    for y in (add_life(x, FPS, 1), _stream(x, 1)):
        assert y.dtype == np.float32 and y.shape == x.shape
        assert np.all(y >= x) and np.all((y >= 0) & (y <= 1))
    assert add_life(x, FPS, 1) is not x


def test_seed_determinism_and_different_seeds_differ():
    x, _ = _speech_track(60)
    np.testing.assert_array_equal(add_life(x, FPS, 7), add_life(x, FPS, 7))
    np.testing.assert_array_equal(_stream(x, 7), _stream(x, 7))
    assert not np.array_equal(add_life(x, FPS, 7), add_life(x, FPS, 8))
    assert not np.array_equal(_stream(x, 7), _stream(x, 8))


def test_stream_is_invariant_to_chunking_and_reset_restarts():
    x, _ = _speech_track(40)
    whole = _stream(x, seed=5)
    rng = np.random.default_rng(0)
    for _ in range(3):
        stream, parts, t = LifeStream(FPS, seed=5), [], 0
        while t < len(x):
            n = int(rng.choice([0, 1, 2, 7, 30, 101]))
            parts.append(stream(x[t : t + n]))
            t += n
        np.testing.assert_array_equal(np.concatenate(parts), whole)
    stream.reset()
    np.testing.assert_array_equal(stream(x), whole)


def test_stream_batches_rows_independently():
    x, _ = _speech_track(20)
    batch = np.stack([x, x[::-1].copy()])
    out = LifeStream(FPS, seed=2)(batch)
    np.testing.assert_array_equal(out[0], _stream(x, seed=2))  # row 0 is seeded like an unbatched stream
    assert out.shape == batch.shape
    with pytest.raises(ValueError, match="batch size changed"):
        stream = LifeStream(FPS)
        stream(batch[:, :10])
        stream(batch[:1, :10].repeat(3, axis=0))


def test_empty_input_gives_empty_output():
    assert add_life(np.zeros((0, 52), np.float32)).shape == (0, 52)
    assert LifeStream()(np.zeros((0, 52))).shape == (0, 52)
    assert LifeStream()(np.zeros((2, 0, 52))).shape == (2, 0, 52)


def test_options_turn_parts_off():
    x, _ = _speech_track(60)
    y = add_life(x, FPS, 0, LifeSettings(blinks=False, brows=False))
    np.testing.assert_array_equal(y, x)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"blendshapes": np.zeros((10, 51))}, r"shape \(T, 52\).*\(10, 51\)"),
        ({"blendshapes": np.zeros(52)}, r"shape \(T, 52\)"),
        ({"blendshapes": np.zeros((2, 10, 52))}, r"shape \(T, 52\)"),
        ({"blendshapes": np.full((10, 52), np.nan)}, "non-finite"),
        ({"blendshapes": np.zeros((10, 52)), "fps": 0}, "fps must be"),
        ({"blendshapes": np.zeros((10, 52)), "fps": float("nan")}, "fps must be"),
        ({"blendshapes": np.zeros((10, 52)), "settings": {"blink_rate_per_min": 3}}, "LifeSettings"),
    ],
)
def test_bad_inputs_raise_useful_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        add_life(**kwargs)


def test_bad_stream_inputs_and_settings_raise():
    with pytest.raises(ValueError, match="fps must be"):
        LifeStream(fps=-30)
    with pytest.raises(ValueError, match=r"\(B, T, 52\)"):
        LifeStream()(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="non-finite"):
        LifeStream()(np.full((3, 52), np.inf))
    with pytest.raises(ValueError, match="blink_close_s"):
        LifeSettings(blink_close_s=0)
    with pytest.raises(ValueError, match="stress_ratio"):
        LifeSettings(stress_ratio=1.0)


# --- wired into av-lipsync's processor, pipeline and streamer ---------------------------------------------------


@pytest.fixture(scope="module")
def animate():
    from transformers import pipeline

    import avzoo  # noqa: F401  (registers the pipeline task)

    return pipeline("audio-to-blendshapes", model="avzoo/av-lipsync")


def _syllables(seconds: float = 6.0, sr: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    envelope = (np.sin(2 * np.pi * 2.5 * t) > 0) * (1 + (np.sin(2 * np.pi * 0.4 * t) > 0.6))
    return (0.2 * envelope * np.sin(2 * np.pi * 150 * t)).astype(np.float32)


def test_pipeline_life_is_seeded_and_off_by_default(animate):
    audio = {"array": _syllables(), "sampling_rate": 16000}
    plain = animate(audio)["blendshapes"]
    lively = animate(audio, life=True)["blendshapes"]
    again = animate(audio, life=0)["blendshapes"]
    other = animate(audio, life=7)["blendshapes"]
    blink = [ARKIT_NAMES.index("eyeBlinkLeft"), ARKIT_NAMES.index("eyeBlinkRight")]
    assert np.array_equal(lively, again) and not np.array_equal(lively, other)
    assert lively[:, blink].max() > 0.5 > plain[:, blink].max()
    assert np.all(lively >= plain - 1e-6)  # life only adds
    with pytest.raises(ValueError, match="life must be"):
        animate(audio, life="yes")


def test_streamer_life_adds_blinks_without_latency(animate):
    model, processor = animate.model, animate.feature_extractor
    audio = _syllables()
    chunks = [audio[i : i + 1600] for i in range(0, len(audio), 1600)]
    plain = np.concatenate(list(model.streamer(processor).stream(chunks)))
    lively = np.concatenate(list(model.streamer(processor, life=True).stream(chunks)))
    assert lively.shape == plain.shape
    assert lively[:, ARKIT_NAMES.index("eyeBlinkLeft")].max() > 0.5
