"""koemorph processor: the two streams on speech-like audio (shapes, short clips, eGeMAPS causality on the 0.3 s grid),
the audio checks it shares with av-lipsync, the refused emotion/crisp_mouth options, style and life, normalisation
fitting and its saved config."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from koemorph_helpers import SR, pause, speechlike, tiny_model
from transformers import AutoFeatureExtractor, AutoProcessor

from avzoo import arkit
from avzoo.animation.style import PerformerStyle
from avzoo.animation.tracks import finish_tracks
from avzoo.features.egemaps import CAUSAL_LAG, EGEMAPS_NAMES, egemaps_windows
from avzoo.features.logmel import log_mel
from avzoo.io.audio import AudioClippingWarning, prepare_audio
from avzoo.models.av_lipsync import AvLipsyncProcessor
from avzoo.models.koemorph import KoemorphConfig, KoemorphProcessor


@pytest.fixture(scope="module")
def processor() -> KoemorphProcessor:
    return KoemorphProcessor()


@pytest.fixture(scope="module")
def talk() -> np.ndarray:
    """2.4 s of speech-like audio: bursts, a pause, bursts (the eGeMAPS windows see both)."""
    return np.concatenate([speechlike(1.1, seed=0), pause(0.3), speechlike(1.0, seed=4)])


# --- the two streams -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seconds", [1.0, 1.23, 2.4])
def test_shapes_follow_the_30_fps_frame_grid(processor, seconds):
    audio = speechlike(seconds)
    batch = processor(audio, sampling_rate=SR)
    frames = int(np.ceil(seconds * 30 - 1e-9))
    assert batch["input_features"].shape == (1, frames, 80)
    assert batch["emotion_features"].shape == (1, frames, 264) == (1, frames, 3 * len(EGEMAPS_NAMES))
    assert batch["attention_mask"].shape == (1, frames) and batch["attention_mask"].all()
    assert batch["input_features"].dtype == batch["emotion_features"].dtype == torch.float32
    assert torch.isfinite(batch["emotion_features"]).all()


def test_features_are_normalised_logmel_and_egemaps_windows(processor, talk):
    out = processor(talk, sampling_rate=SR, return_tensors="np")
    mel, emotion = out["input_features"][0], out["emotion_features"][0]
    np.testing.assert_allclose(mel, (log_mel(talk) + 8.0) / 4.0, atol=1e-5)
    # The grid: windows of the last 20 s (after 0.5 s of leading silence) ending every 0.3 s.
    grid = processor.egemaps_grid(talk)
    ends = np.arange(len(grid)) * 0.3
    assert len(grid) == 9 and ends[-1] <= len(talk) / SR
    expected = egemaps_windows(talk, ends, context=20.0, sampling_rate=SR, padding=0.5)
    np.testing.assert_allclose(grid, np.nan_to_num(expected), rtol=1e-6)
    # Frame t takes the latest grid point k at or before its end, (t + 0.5) / 30, then k - 1 and k - 2.
    normalised = processor.normalize_egemaps(grid)
    for t in (0, 8, 9, 30, 52, len(emotion) - 1):
        k = int(np.floor(min((t + 0.5) / 30, len(talk) / SR) / 0.3 + 1e-9))
        parts = [normalised[max(k - s, 0)] for s in (0, 1, 2)]
        np.testing.assert_array_equal(emotion[t], np.concatenate(parts), err_msg=f"frame {t}")
    assert not np.array_equal(emotion[0], emotion[-1])


def test_a_clip_shorter_than_the_contexts_works_from_the_first_frame(processor):
    """0.2 s: far less than the 20 s eGeMAPS window and the 8.5 s mel context; every frame is usable."""
    clip = speechlike(0.2, seed=2)
    batch = processor(clip, sampling_rate=SR)
    assert batch["input_features"].shape == (1, 6, 80) and batch["emotion_features"].shape == (1, 6, 264)
    assert torch.isfinite(batch["emotion_features"]).all()
    # All six frames end before the first 0.3 s grid point: they read the window ending at 0 s, three times.
    emotion = batch["emotion_features"][0]
    assert torch.equal(emotion[:, :88], emotion[:, 88:176]) and torch.equal(emotion[:, :88], emotion[:, 176:])
    assert (emotion == emotion[0]).all()
    # The same frames as at the start of a longer take (the windows are causal, not stretched to the clip).
    longer = processor(np.concatenate([clip, speechlike(1.0, seed=3)]), sampling_rate=SR)["emotion_features"]
    torch.testing.assert_close(longer[0, :6], emotion, atol=0, rtol=0)
    # A default-size model runs on it from the first frame.
    model = tiny_model(mel_context_frames=256)
    with torch.no_grad():
        out = model(**batch).blendshapes
    assert out.shape == (1, 6, 52) and torch.isfinite(out).all()


@pytest.mark.parametrize("cut", [0.95, 1.55])
def test_egemaps_features_are_causal(processor, talk, cut):
    """Frames that end before a cut keep their eGeMAPS features whatever comes after it.

    Window ends lie on the 0.3 s grid and a frame reads the latest grid point at or before its end; a window ending
    at ``e`` uses LLD frames starting up to ``e - CAUSAL_LAG`` (avzoo.features.egemaps), which depend on audio up to
    ``e`` only. Features change only from the first grid point that takes LLD frames after the cut.
    """
    n = int(cut * SR)
    changed = talk.copy()
    changed[n:] = np.clip(2.5 * speechlike((len(talk) - n) / SR, seed=9), -0.9, 0.9)
    base = processor(talk, sampling_rate=SR, return_tensors="np")["emotion_features"][0]
    other = processor(changed, sampling_rate=SR, return_tensors="np")["emotion_features"][0]
    truncated = processor(talk[:n], sampling_rate=SR, return_tensors="np")["emotion_features"][0]
    frame_ends = (np.arange(len(base)) + 0.5) / 30
    before = frame_ends <= cut
    np.testing.assert_array_equal(other[before], base[before])
    np.testing.assert_array_equal(
        truncated[before[: len(truncated)]], base[: len(truncated)][before[: len(truncated)]]
    )
    # ... and they do change once a window holds LLD frames from after the cut (the features are not constant).
    grid_point = np.floor(frame_ends / 0.3 + 1e-9) * 0.3
    after = grid_point - CAUSAL_LAG >= cut + 0.01
    assert after.any() and (np.abs(other[after] - base[after]).max(axis=1) > 0).all()


def test_batches_are_right_padded(processor):
    clips = [speechlike(1.0), speechlike(0.5, seed=1)]
    batch = processor(clips, sampling_rate=SR)
    assert batch["input_features"].shape == (2, 30, 80) and batch["emotion_features"].shape == (2, 30, 264)
    assert batch["attention_mask"].sum(1).tolist() == [30, 15]
    alone = processor(clips[1], sampling_rate=SR)
    for key in ("input_features", "emotion_features"):
        torch.testing.assert_close(batch[key][1:, :15], alone[key], atol=0, rtol=0)
        assert (batch[key][1, 15:] == 0).all()


def test_backends_give_the_same_shapes():
    audio = speechlike(0.9)
    fast = KoemorphProcessor(backend="numpy")(audio, sampling_rate=SR)["emotion_features"]
    assert fast.shape == (1, 27, 264) and torch.isfinite(fast).all()


# --- audio checks: the same as av-lipsync's processor ----------------------------------------------------------------

BAD_AUDIO = [
    ("empty", np.zeros(0, np.float32), SR, "empty"),
    ("nan", np.array([0.1, np.nan, 0.2] * 100, np.float32), SR, "NaN/inf"),
    ("inf", np.array([0.1, np.inf] * 100, np.float32), SR, "NaN/inf"),
    ("silent", np.zeros(1600, np.float32), SR, "digital silence"),
    ("3-D", np.zeros((2, 2, 1600), np.float32), SR, "1-D"),
    ("unscaled PCM", np.full(1600, 300.0, np.float32), SR, "peak magnitude"),
    ("clipped", np.ones(1600, np.float32), SR, "clipped"),
    ("heavily clipped speech", np.clip(20 * speechlike(0.5), -1, 1), SR, "clipped"),
    ("rate too low", speechlike(0.1), 100, r"\[4000, 768000\]"),
    ("rate absurd", speechlike(0.1), 1e9, r"\[4000, 768000\]"),
    ("rate bool", speechlike(0.1), True, "number of Hz"),
    ("strings", np.array(["a", "b"]), SR, "not audio"),
    ("channel axis", np.zeros((20, 20), np.float32) + 0.1, SR, "channel axis"),
]


@pytest.mark.parametrize(("name", "audio", "rate", "message"), BAD_AUDIO, ids=[b[0] for b in BAD_AUDIO])
def test_bad_audio_is_refused_like_av_lipsync(processor, name, audio, rate, message):
    with pytest.raises(ValueError, match=message) as ours:
        processor(audio, sampling_rate=rate)
    with pytest.raises(ValueError) as theirs:
        AvLipsyncProcessor()(audio, sampling_rate=rate)
    assert str(ours.value) == str(theirs.value)


def test_other_audio_rules_like_av_lipsync(processor):
    with pytest.raises(ValueError, match="empty batch"):
        processor([], sampling_rate=SR)
    with pytest.raises(ValueError, match="raw_speech must be"):
        processor("speech.wav", sampling_rate=SR)
    with pytest.raises(ValueError, match=r"audio\[1\] is digital silence"):
        processor([speechlike(0.2), np.zeros(800, np.float32)], sampling_rate=SR)
    silent = KoemorphProcessor(allow_silence=True)(np.zeros(800, np.float32), sampling_rate=SR)
    assert silent["input_features"].shape == (1, 2, 80) and torch.isfinite(silent["emotion_features"]).all()
    with pytest.raises(ValueError, match="max_seconds") as ours:
        KoemorphProcessor(max_seconds=0.1)(speechlike(0.2), sampling_rate=SR)
    with pytest.raises(ValueError) as theirs:
        AvLipsyncProcessor(max_seconds=0.1)(speechlike(0.2), sampling_rate=SR)
    assert str(ours.value) == str(theirs.value)
    clipped = np.clip(20 * speechlike(0.5), -1, 1)
    with pytest.warns(AudioClippingWarning, match="full scale"):  # allowed, but not silently
        allowed = KoemorphProcessor(max_clipped_fraction=1.0)(clipped, sampling_rate=SR)
    assert allowed["input_features"].shape == (1, 15, 80)
    with pytest.raises(ValueError, match="unknown option"):
        processor(speechlike(0.2), sampling_rate=SR, normalize=False)
    with pytest.raises(ValueError, match="mel_std must be > 0"):
        KoemorphProcessor(mel_std=0.0)
    with pytest.raises(ValueError, match="egemaps_std must be 88 finite values"):
        KoemorphProcessor(egemaps_std=[1.0] * 87)
    with pytest.raises(ValueError, match="max_clipped_fraction"):
        KoemorphProcessor(max_clipped_fraction=2.0)


def test_stereo_is_downmixed_and_other_rates_resampled(processor):
    mono = speechlike(0.8, rate=44100)
    stereo = np.stack([mono, 0.5 * mono])  # (channels, samples)
    expected = processor(prepare_audio(stereo, 44100), sampling_rate=SR, return_tensors="np")
    for layout in (stereo, stereo.T, torch.from_numpy(stereo)):
        got = processor(layout, sampling_rate=44100, return_tensors="np")
        assert got["input_features"].shape == (1, 24, 80)
        for key in ("input_features", "emotion_features"):
            np.testing.assert_array_equal(got[key], expected[key])
    pcm = (speechlike(0.5) * 32767).astype(np.int16)
    np.testing.assert_allclose(
        processor(pcm, sampling_rate=SR)["input_features"].numpy(),
        processor(pcm.astype(np.float32) / 32768, sampling_rate=SR)["input_features"].numpy(),
        atol=1e-5,
    )


def test_emotion_and_intensity_are_refused(processor):
    audio = speechlike(0.2)
    for options in (
        {"emotion": "happy"},
        {"intensity": "strong"},
        {"intensity": 0.5},
        {"emotion": {"sad": 1.0}},
    ):
        with pytest.raises(ValueError, match="koemorph hears the emotion in the voice"):
            processor(audio, sampling_rate=SR, **options)
    # What the shared pipeline passes when the caller gives nothing is accepted.
    assert processor(audio, sampling_rate=SR, emotion=None, intensity=1.0)["input_features"].shape == (
        1,
        6,
        80,
    )


# --- post-processing -------------------------------------------------------------------------------------------------


def raw_outputs(frames: int = 20, seed: int = 0) -> torch.Tensor:
    """(2, frames, 52) model-like values, some outside [0, 1] to show the clipping."""
    return torch.rand(2, frames, 52, generator=torch.Generator().manual_seed(seed)) * 1.2 - 0.1


def test_post_process_trims_and_clips(processor):
    values = raw_outputs()
    mask = torch.tensor([[1] * 20, [1] * 13 + [0] * 7])
    tracks = processor.post_process_blendshapes(values, mask)
    assert [t.shape for t in tracks] == [(20, 52), (13, 52)]
    assert all(t.dtype == np.float32 and t.min() >= 0 and t.max() <= 1 for t in tracks)
    np.testing.assert_array_equal(tracks[1], np.clip(values[1, :13].numpy(), 0, 1))
    model_out = tiny_model()(torch.zeros(1, 4, 80), torch.zeros(1, 4, 264))
    assert processor.post_process_blendshapes(model_out)[0].shape == (4, 52)
    unused = processor.post_process_blendshapes(values, mask, phone_logits=torch.zeros(2, 20, 40))
    np.testing.assert_array_equal(unused[1], tracks[1])


@pytest.mark.parametrize("crisp_mouth", [True, {"sigma": 1.0}])
def test_crisp_mouth_is_refused(processor, crisp_mouth):
    with pytest.raises(ValueError, match="koemorph has no crisp_mouth filter"):
        processor.post_process_blendshapes(raw_outputs(), crisp_mouth=crisp_mouth)
    assert len(processor.post_process_blendshapes(raw_outputs(), crisp_mouth=False)) == 2


def test_style_and_life_pass_through(processor):
    values = raw_outputs(150, seed=1).clamp(0, 0.6)
    mask = torch.ones(2, 150, dtype=torch.long)
    style = PerformerStyle(curves={"jawOpen": ((0.0, 1.0), (0.0, 0.5))}, delay_s=0.0)
    plain = processor.post_process_blendshapes(values, mask)
    styled = processor.post_process_blendshapes(values, mask, style=style)
    jaw = arkit.INDEX["jawOpen"]
    np.testing.assert_allclose(styled[0][:, jaw], 0.5 * plain[0][:, jaw], atol=1e-6)
    others = [i for i in range(52) if i != jaw]
    np.testing.assert_array_equal(styled[0][:, others], plain[0][:, others])
    lively = processor.post_process_blendshapes(values, mask, style=style, life=3)
    expected = finish_tracks(values, mask, 30.0, arkit.ARKIT_NAMES, style, 3)
    for got, want in zip(lively, expected, strict=True):
        np.testing.assert_array_equal(got, want)
    again = processor.post_process_blendshapes(values, mask, style=style, life=3)
    np.testing.assert_array_equal(again[0], lively[0])  # a seed is a seed
    assert len(processor.post_process_blendshapes(values, mask, life=True)) == 2


# --- normalisation and the saved config ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fitted() -> tuple[KoemorphProcessor, list[np.ndarray]]:
    clips = [
        speechlike(1.5, seed=5),
        np.concatenate([speechlike(0.7, seed=6), pause(0.2), speechlike(0.8, seed=7)]),
    ]
    processor = KoemorphProcessor(max_seconds=30.0)
    processor.fit_normalization(clips, sampling_rate=SR)
    return processor, clips


def test_fit_normalization_sets_both_streams_stats(fitted):
    processor, clips = fitted
    assert len(processor.mel_mean) == len(processor.mel_std) == 80 and min(processor.mel_std) > 0
    assert len(processor.egemaps_mean) == len(processor.egemaps_std) == 88 and min(processor.egemaps_std) > 0
    mel = processor(clips, sampling_rate=SR, return_tensors="np")
    real = mel["attention_mask"].astype(bool)
    np.testing.assert_allclose(mel["input_features"][real].mean(0), 0, atol=1e-3)
    grids = np.concatenate([processor.egemaps_grid(c) for c in clips])
    normalised = (grids - np.asarray(processor.egemaps_mean)) / np.asarray(processor.egemaps_std)
    np.testing.assert_allclose(normalised.mean(0), 0, atol=1e-3)
    with pytest.raises(ValueError, match="at least 2 frames"):
        KoemorphProcessor().fit_normalization([], sampling_rate=SR)
    mel_only = KoemorphProcessor(use_emotion_stream=False)
    mel_only.fit_normalization(clips, sampling_rate=SR)
    assert mel_only.egemaps_mean is None and len(mel_only.mel_mean) == 80


def test_save_and_load_keep_the_normalisation(fitted, tmp_path):
    processor, clips = fitted
    processor.save_pretrained(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["preprocessor_config.json"]
    saved = json.loads((tmp_path / "preprocessor_config.json").read_text())
    assert saved["egemaps_mean"] == processor.egemaps_mean and saved["mel_std"] == processor.mel_std
    assert "_log_mel" not in saved
    KoemorphConfig().save_pretrained(tmp_path)  # so the Auto classes resolve the folder to koemorph
    expected = processor(clips[0], sampling_rate=SR)
    for loaded in (
        KoemorphProcessor.from_pretrained(tmp_path),
        AutoProcessor.from_pretrained(tmp_path),
        AutoFeatureExtractor.from_pretrained(tmp_path),
    ):
        assert type(loaded) is KoemorphProcessor
        assert loaded.to_dict() == processor.to_dict()
        for name in ("mel_mean", "mel_std", "egemaps_mean", "egemaps_std", "egemaps_clip", "max_seconds"):
            assert getattr(loaded, name) == getattr(processor, name), name
        got = loaded(clips[0], sampling_rate=SR)
        for key in ("input_features", "emotion_features"):
            assert torch.equal(got[key], expected[key]), key


def test_for_config_copies_the_feature_settings():
    config = KoemorphConfig(
        window_intervals=[0.0, 0.5], emotion_hop=0.25, emotion_context=8.0, backend="numpy"
    )
    processor = KoemorphProcessor.for_config(config, mel_mean=-6.0)
    assert (
        processor.window_steps == [0, 2] and processor.emotion_context == 8.0 and processor.backend == "numpy"
    )
    assert processor.mel_mean == -6.0 and processor.blendshape_names == config.blendshape_names
    out = processor(speechlike(0.7), sampling_rate=SR)["emotion_features"]
    assert out.shape == (1, 21, config.emotion_input_dim) == (1, 21, 176)
