"""avzoo.io.audio: reading every common format, resampling, downmixing, and clear errors for bad input."""

from __future__ import annotations

import shutil
import subprocess
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from avzoo.io.audio import (
    MIN_SAMPLES,
    AudioClippingWarning,
    load_audio,
    prepare_audio,
    save_audio,
    to_float32,
    validate_audio,
)

SR = 16000


def sine(freq: float, seconds: float, rate: int, amp: float = 0.5) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def peak_frequency(x: np.ndarray, rate: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[np.argmax(spec)])


def ffmpeg(*args: str) -> None:
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg not installed")
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *args], check=True)


# --------------------------------------------------------------------------------------------- resampling


def test_resample_44k1_sine_keeps_frequency_amplitude_and_duration():
    x = sine(1000.0, 1.0, 44100)
    y = prepare_audio(x, 44100)
    assert y.dtype == np.float32 and y.ndim == 1
    assert len(y) == 16000  # 1 s at 16 kHz
    assert abs(peak_frequency(y, SR) - 1000.0) <= 1.0
    mid = y[2000:-2000]  # away from the resampler's edge transients
    assert abs(np.max(np.abs(mid)) - 0.5) < 0.005
    assert abs(np.sqrt(np.mean(mid**2)) - 0.5 / np.sqrt(2)) < 0.005


def test_resample_length_scales_with_rate():
    assert len(prepare_audio(sine(300, 2.0, 8000), 8000)) == 32000
    assert len(prepare_audio(sine(300, 0.5, 48000), 48000)) == 8000
    up = prepare_audio(sine(440, 1.0, 16000), 16000, target_rate=22050)
    assert len(up) == 22050 and abs(peak_frequency(up, 22050) - 440) <= 1.0


def test_no_resampling_returns_same_samples():
    x = sine(440, 0.5, SR)
    np.testing.assert_array_equal(prepare_audio(x, SR), x)


# ---------------------------------------------------------------------------------------------- downmix


def test_stereo_downmix_is_the_channel_mean_in_either_layout():
    left = sine(440, 0.5, SR, 0.6)
    right = sine(880, 0.5, SR, 0.2)
    expected = (left + right) / 2
    channels_last = np.stack([left, right], axis=1)  # (N, 2), as soundfile returns
    channels_first = np.stack([left, right], axis=0)  # (2, N), as torchaudio/torchcodec return
    np.testing.assert_allclose(prepare_audio(channels_last, SR), expected, atol=1e-7)
    np.testing.assert_allclose(prepare_audio(channels_first, SR), expected, atol=1e-7)


def test_ambiguous_or_high_dimensional_layouts_are_refused():
    with pytest.raises(ValueError, match="cannot tell the channel axis, both axes are longer than 16"):
        prepare_audio(np.full((20, 20), 0.1, np.float32), SR)
    # Both axes short: at most 16 samples per channel whichever way it is read, so it is too short.
    with pytest.raises(ValueError, match=r"\(shape \(4, 4\)\) is too short: 4 sample.*at least 17 samples"):
        prepare_audio(np.full((4, 4), 0.1, np.float32), SR)
    with pytest.raises(ValueError, match=r"1-D .* or 2-D"):
        prepare_audio(np.full((2, 2, 100), 0.1, np.float32), SR)


# ------------------------------------------------------------------------------------------ dtypes


def test_integer_pcm_is_scaled_to_unit_range():
    np.testing.assert_allclose(to_float32(np.array([16384, -32768, 0], np.int16)), [0.5, -1.0, 0.0])
    np.testing.assert_allclose(to_float32(np.array([2**30, -(2**31)], np.int32)), [0.5, -1.0])
    np.testing.assert_allclose(to_float32(np.array([128, 192, 0], np.uint8)), [0.0, 0.5, -1.0])
    pcm = (sine(440, 0.5, SR) * 32767).astype(np.int16)
    y = prepare_audio(pcm, SR)
    assert y.dtype == np.float32 and abs(np.max(np.abs(y)) - 0.5) < 1e-3


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.array([True, False] * 100), "dtype bool"),
        (np.ones(200, np.complex64) * 0.1, "dtype complex64"),
        (np.array(["a", "b"]), "dtype <U1"),
        (np.ones(200, np.uint16), "unsigned dtype uint16"),
    ],
)
def test_non_audio_dtypes_are_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        prepare_audio(bad, SR)


def test_float_audio_that_is_really_unscaled_pcm_is_refused():
    with pytest.raises(ValueError, match=r"peak magnitude 1\.638e\+04.*32768"):
        prepare_audio(sine(440, 0.5, SR) * 32767, SR)


# ------------------------------------------------------------------------------------- bad samples


def test_empty_audio():
    with pytest.raises(ValueError, match="empty"):
        prepare_audio(np.zeros(0, np.float32), SR)
    with pytest.raises(ValueError, match="empty"):
        prepare_audio(np.zeros((2, 0), np.float32), SR)


def test_digital_silence_is_refused_unless_allowed():
    with pytest.raises(ValueError, match=r"digital silence .*all zeros"):
        prepare_audio(np.zeros(SR, np.float32), SR)
    with pytest.raises(ValueError, match=r"digital silence .*peak 1\.00e-06"):
        prepare_audio(np.full(SR, 1e-6, np.float32), SR)
    assert prepare_audio(np.zeros(SR, np.float32), SR, allow_silence=True).shape == (SR,)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_are_refused(value):
    x = sine(440, 0.5, SR)
    x[100:103] = value
    with pytest.raises(ValueError, match="3 NaN/inf sample"):
        prepare_audio(x, SR)


def test_heavy_clipping_is_an_error_with_the_fraction():
    x = np.clip(sine(440, 1.0, SR, amp=3.0), -1, 1)  # most samples sit at +-1
    with pytest.raises(ValueError, match=r"clipped: \d+\.\d\d% of samples sit at full scale"):
        prepare_audio(x, SR)
    # The threshold is a parameter; accepted clipped audio still warns.
    with pytest.warns(AudioClippingWarning, match="78.50% of samples"):
        assert prepare_audio(x, SR, max_clipped_fraction=1.0).shape == (SR,)


def test_light_clipping_warns_and_is_kept():
    x = sine(440, 1.0, SR)
    x[:80] = 1.0  # 0.5 % of samples at full scale: above the warning level, below the error level
    with pytest.warns(AudioClippingWarning, match="0.50% of samples"):
        y = prepare_audio(x, SR)
    np.testing.assert_array_equal(y, x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prepare_audio(sine(440, 1.0, SR), SR)  # clean audio: no warning


@pytest.mark.parametrize("rate", [0, -16000, 100, 10_000_000, float("nan"), float("inf"), "16k", None, True])
def test_invalid_sampling_rates_are_refused(rate):
    with pytest.raises(ValueError, match=r"sampling_rate must be"):
        prepare_audio(sine(440, 0.5, SR), rate)


def test_invalid_target_rate_is_refused():
    with pytest.raises(ValueError, match="target_rate must be in"):
        prepare_audio(sine(440, 0.5, SR), SR, target_rate=0)


def test_too_long_audio_is_refused():
    with pytest.raises(ValueError, match=r"2\.00 s long; at most 1.5 s"):
        prepare_audio(sine(440, 2.0, SR), SR, max_seconds=1.5)
    assert len(prepare_audio(sine(440, 2.0, SR), SR, max_seconds=2.0)) == 2 * SR


def test_validate_audio_returns_float32_and_keeps_layout():
    x = np.stack([sine(440, 0.5, SR)] * 2)
    y = validate_audio(x, SR)
    assert y.shape == x.shape and y.dtype == np.float32


# ------------------------------------------------------------------------------------------- files


@pytest.mark.parametrize(
    "ext, subtype", [("wav", "PCM_16"), ("flac", "PCM_16"), ("ogg", "VORBIS"), ("mp3", "MPEG_LAYER_III")]
)
def test_reads_soundfile_formats_with_resampling(tmp_path, ext, subtype):
    path = tmp_path / f"tone.{ext}"
    sf.write(path, sine(440, 1.0, 44100), 44100, subtype=subtype)
    y = load_audio(path)
    assert y.dtype == np.float32 and y.ndim == 1
    assert abs(len(y) - SR) < 0.1 * SR  # lossy codecs add a little encoder delay
    assert abs(peak_frequency(y, SR) - 440) <= 2


@pytest.mark.parametrize(
    "ext, codec", [("mp4", "aac"), ("m4a", "aac"), ("mkv", "libopus"), ("webm", "libvorbis")]
)
def test_reads_audio_track_of_containers(tmp_path, ext, codec):
    wav = tmp_path / "tone.wav"
    sf.write(wav, np.stack([sine(440, 1.0, 48000), sine(440, 1.0, 48000)], axis=1), 48000)
    out = tmp_path / f"tone.{ext}"
    ffmpeg("-i", str(wav), "-c:a", codec, str(out))
    y = load_audio(out)
    assert abs(len(y) - SR) < 0.1 * SR
    assert abs(peak_frequency(y, SR) - 440) <= 2


def test_reads_audio_of_a_video_with_a_picture_track(tmp_path):
    out = tmp_path / "clip.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "color=c=gray:s=64x64:d=1:r=25",
        "-f", "lavfi", "-i", "sine=frequency=660:sample_rate=44100:duration=1",
        "-c:v", "libx264", "-c:a", "aac", "-shortest", str(out),
    )  # fmt: skip
    y = load_audio(out)
    assert abs(peak_frequency(y, SR) - 660) <= 2


def test_reads_real_talking_face_video(shared_data):
    y = load_audio(shared_data / "talking-faces" / "two-speakers.mp4")
    assert y.dtype == np.float32 and y.ndim == 1
    assert abs(len(y) / SR - 13.42) < 0.1  # AAC 44.1 kHz stereo, 13.4 s
    assert 0.05 < np.max(np.abs(y)) <= 1.0
    assert np.sqrt(np.mean(y**2)) > 0.01  # speech, not silence


def test_video_without_audio_track(tmp_path):
    out = tmp_path / "silent_video.mp4"
    ffmpeg("-f", "lavfi", "-i", "color=c=black:s=32x32:d=0.5:r=10", "-c:v", "libx264", str(out))
    with pytest.raises(ValueError, match=r"silent_video\.mp4.*no audio track"):
        load_audio(out)


def test_corrupt_and_missing_files_name_the_path_and_reason(tmp_path):
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really a wave file" * 10)
    with pytest.raises(ValueError, match=r"garbage\.wav \(unreadable or corrupt\): soundfile: .*; ffmpeg: "):
        load_audio(garbage)
    empty = tmp_path / "empty.flac"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty\.flac: the file is empty"):
        load_audio(empty)
    with pytest.raises(ValueError, match=r"nope\.wav: no such file"):
        load_audio(tmp_path / "nope.wav")
    with pytest.raises(ValueError, match="is a directory"):
        load_audio(tmp_path)


def test_truncated_file_is_reported_not_crashed(tmp_path):
    good = tmp_path / "good.flac"
    sf.write(good, sine(440, 1.0, SR), SR)
    cut = tmp_path / "cut.flac"
    cut.write_bytes(good.read_bytes()[:60])  # header only
    with pytest.raises(ValueError, match=r"cut\.flac"):
        load_audio(cut)


def test_silent_and_too_long_files(tmp_path):
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(SR, np.float32), SR)
    with pytest.raises(ValueError, match=r"silent\.wav is digital silence"):
        load_audio(silent)
    long = tmp_path / "long.wav"
    sf.write(long, sine(440, 3.0, SR), SR)
    with pytest.raises(ValueError, match=r"long\.wav is 3\.00 s long; at most 2 s"):
        load_audio(long, max_seconds=2)


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("n", [1, 10, 16])
def test_files_of_at_most_16_samples_are_too_short_not_ambiguous(tmp_path, n, channels):
    path = tmp_path / "tiny.wav"
    sf.write(path, np.full((n, channels), 0.25, np.float32), SR)
    with pytest.raises(
        ValueError, match=rf"tiny\.wav is too short: {n} sample\(s\) per channel .*at least 17"
    ):
        load_audio(path)
    sf.write(path, np.full((MIN_SAMPLES, channels), 0.25, np.float32), SR)
    assert load_audio(path).shape == (MIN_SAMPLES,)


def test_short_arrays_are_too_short_and_resampling_never_returns_nothing():
    with pytest.raises(ValueError, match=r"audio is too short: 5 sample\(s\).*at least 17 samples"):
        load_audio((np.full(5, 0.25, np.float32), SR))
    with pytest.raises(ValueError, match=r"17 sample\(s\) at 768000 Hz make less than one sample at 16000"):
        prepare_audio(np.full(17, 0.25, np.float32), 768000)


def _long_aac(folder: Path, minutes: float, container: str = "m4a") -> Path:
    """Minutes of AAC in a fraction of a second: encode 2 s once, then repeat it without re-encoding."""
    folder.mkdir(parents=True, exist_ok=True)
    piece = folder / "piece.m4a"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=220:sample_rate=16000:duration=2", "-c:a", "aac", str(piece))
    loop = ["-stream_loop", str(round(30 * minutes) - 1), "-i", str(piece), "-c", "copy"]
    out = folder / f"long.{container}"
    if container == "m4a":
        ffmpeg(*loop, str(out))
    else:  # written to a pipe, so the Matroska header states no duration
        with out.open("wb") as f:
            subprocess.run(
                ["ffmpeg", "-loglevel", "error", *loop, "-f", "matroska", "pipe:1"], stdout=f, check=True
            )
    return out


def test_long_m4a_is_refused_from_its_header_before_decoding(tmp_path, monkeypatch):
    import av

    path = _long_aac(tmp_path, minutes=10)

    def no_decoding(*args, **kwargs):
        raise AssertionError("the file was decoded")

    monkeypatch.setattr(av, "AudioResampler", no_decoding)
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"long\.m4a is 6\d\d\.\d\d s long; at most 60 s is accepted"):
        load_audio(path, max_seconds=60)
    assert time.perf_counter() - start < 1.0


def test_decoding_stops_at_max_seconds_when_the_header_states_no_length(tmp_path):
    import av

    path = _long_aac(tmp_path, minutes=10, container="mkv")
    with av.open(str(path)) as container:
        assert container.streams.audio[0].duration is None and container.duration is None
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"long\.mkv is longer than 5 s \(decoding stopped there\)"):
            load_audio(path, max_seconds=5)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # 5 s of 16 kHz float32 is 0.3 MB; decoding the whole 10 minutes would hold 40-80 MB.
    assert peak < 10e6, f"peak {peak / 1e6:.0f} MB"
    # Within the limit the file is read in full.
    short = _long_aac(tmp_path / "short", minutes=0.5, container="mkv")
    assert abs(len(load_audio(short, max_seconds=40)) / SR - 30) < 1


def test_load_array_rate_pair_and_bad_sources():
    y = load_audio((sine(1000, 1.0, 48000), 48000))
    assert len(y) == SR and abs(peak_frequency(y, SR) - 1000) <= 1
    with pytest.raises(ValueError, match="file path or an \\(array, sampling_rate\\) pair"):
        load_audio(12345)
    with pytest.raises(ValueError, match="file path or an \\(array, sampling_rate\\) pair"):
        load_audio([0.1, 0.2])


# ---------------------------------------------------------------------------------------------- save


def test_save_and_load_round_trip(tmp_path):
    x = sine(440, 0.5, SR)
    pcm = load_audio(save_audio(tmp_path / "a.wav", x))
    np.testing.assert_allclose(pcm, x, atol=1 / 32768 + 1e-7)
    exact = load_audio(save_audio(tmp_path / "b.wav", x, subtype="FLOAT"))
    np.testing.assert_array_equal(exact, x)
    flac = load_audio(save_audio(tmp_path / "sub" / "c.flac", x))  # creates the folder
    np.testing.assert_allclose(flac, x, atol=1 / 32768 + 1e-7)


def test_save_refuses_bad_input(tmp_path):
    with pytest.raises(ValueError, match=r"unsupported extension '\.mp4'"):
        save_audio(tmp_path / "x.mp4", sine(440, 0.5, SR))
    with pytest.raises(ValueError, match="expected a 1-D array"):
        save_audio(tmp_path / "x.wav", np.stack([sine(440, 0.5, SR)] * 2))
    with pytest.raises(ValueError, match="NaN/inf"):
        save_audio(tmp_path / "x.wav", np.full(100, np.nan, np.float32))
    with pytest.raises(ValueError, match="sampling_rate must be in"):
        save_audio(tmp_path / "x.wav", sine(440, 0.5, SR), sampling_rate=0)
