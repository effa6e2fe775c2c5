"""Video reading/writing: round trips, frame-rate resampling, VFR and HEVC input, resizing, bad input."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

from avzoo.io.video import VideoClip, read_video, write_video

FPS = 25
SR = 16000


def _smooth_frames(n: int, height: int, width: int) -> np.ndarray:
    """Gradients plus a moving bright square: compressible, and each frame is distinguishable."""
    y, x = np.mgrid[0:height, 0:width]
    frames = np.zeros((n, height, width, 3), dtype=np.uint8)
    for t in range(n):
        frames[t, ..., 0] = (255 * x / width).astype(np.uint8)
        frames[t, ..., 1] = (255 * y / height).astype(np.uint8)
        frames[t, ..., 2] = 60
        x0 = 4 + 2 * t
        frames[t, 10:22, x0 : x0 + 12] = 255
    return frames


def _index_frames(n: int, size: int = 32) -> np.ndarray:
    """Flat grey frames whose level encodes the frame index (8 levels apart survive H.264)."""
    return np.stack([np.full((size, size, 3), 8 * i + 4, dtype=np.uint8) for i in range(n)])


def _frame_index(frame: np.ndarray) -> int:
    return round((float(frame.mean()) - 4) / 8)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    frames = _smooth_frames(30, 47, 65)  # odd sizes: the writer must pad them to even
    t = np.arange(int(1.2 * SR)) / SR
    audio = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    path = write_video(tmp_path_factory.mktemp("video") / "clip.mp4", frames, FPS, audio, SR)
    return path, frames, audio


def test_write_read_round_trip(written):
    path, frames, _ = written
    clip = read_video(path)
    assert isinstance(clip, VideoClip)
    assert clip.frames.dtype == np.uint8
    assert clip.frames.shape == (30, 48, 66, 3)  # padded to even sizes
    assert clip.fps == FPS
    assert clip.duration == pytest.approx(1.2)
    np.testing.assert_allclose(clip.timestamps, np.arange(30) / FPS, atol=1e-3)
    # Lossy, but close on smooth content; the padding repeats the edge pixels.
    err = np.abs(clip.frames[:, :47, :65].astype(int) - frames).mean()
    assert err < 6, err
    assert np.abs(clip.frames[:, 47, :65].astype(int) - frames[:, 46]).mean() < 10
    # Audio: 16 kHz mono float32 over the same 1.2 s, still a 440 Hz tone.
    assert clip.audio.dtype == np.float32 and clip.audio.ndim == 1
    assert len(clip.audio) == pytest.approx(1.2 * SR, abs=SR / FPS)
    spectrum = np.abs(np.fft.rfft(clip.audio[SR // 10 : SR]))
    assert np.fft.rfftfreq(SR - SR // 10, 1 / SR)[spectrum.argmax()] == pytest.approx(440, abs=3)


def test_written_file_is_browser_playable(written):
    import av

    path, _, _ = written
    with av.open(str(path)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert video.codec_context.name == "h264"
        assert video.codec_context.pix_fmt == "yuv420p"
        assert audio.codec_context.name == "aac"
        assert audio.codec_context.sample_rate == SR
    # faststart: the index (moov) comes before the media data (mdat).
    head = path.read_bytes()[:4096]
    assert 0 <= head.find(b"moov") < 4096 and (
        head.find(b"mdat") == -1 or head.find(b"moov") < head.find(b"mdat")
    )


def test_read_without_audio_and_float_frames(tmp_path):
    frames = _smooth_frames(5, 32, 48).astype(np.float32) / 255
    path = write_video(tmp_path / "silent.mp4", frames, 10)
    clip = read_video(path)
    assert clip.audio is None and clip.frames.shape == (5, 32, 48, 3) and clip.fps == 10
    assert read_video(path, audio=False).audio is None


def test_fps_resampling_picks_the_frame_on_screen(tmp_path):
    path = write_video(tmp_path / "index.mp4", _index_frames(30), 30)
    half = read_video(path, fps=15)
    assert half.fps == 15 and half.num_frames == 15
    assert [_frame_index(f) for f in half.frames] == list(range(0, 30, 2))
    # Upsampling repeats frames: 60 fps shows each 30 fps frame twice.
    double = read_video(path, fps=60)
    assert double.num_frames == 60
    assert [_frame_index(f) for f in double.frames] == [i // 2 for i in range(60)]
    # 25 fps: frame k shows the source frame on screen at k / 25 s.
    quarter = read_video(path, fps=25)
    assert [_frame_index(f) for f in quarter.frames] == [int(np.floor(k / 25 * 30 + 1e-6)) for k in range(25)]


def test_max_seconds(tmp_path):
    audio = np.random.default_rng(0).uniform(-0.1, 0.1, SR).astype(np.float32)
    path = write_video(tmp_path / "index.mp4", _index_frames(30), 30, audio)
    clip = read_video(path, max_seconds=0.5)
    assert clip.num_frames == 15
    assert len(clip.audio) == SR // 2
    assert read_video(path, fps=10, max_seconds=0.5).num_frames == 5


def test_bad_arguments_raise_value_error(written, tmp_path):
    path, frames, _ = written
    for kwargs in ({"fps": 0}, {"fps": -5}, {"fps": float("nan")}, {"max_seconds": 0}, {"max_side": 1}):
        with pytest.raises(ValueError):
            read_video(path, **kwargs)
    with pytest.raises(ValueError, match="fps"):
        write_video(tmp_path / "x.mp4", frames, 0)
    with pytest.raises(ValueError, match=r"\(T, H, W, 3\)"):
        write_video(tmp_path / "x.mp4", frames[0], 25)
    with pytest.raises(ValueError, match="uint8"):
        write_video(tmp_path / "x.mp4", frames.astype(np.int32), 25)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        write_video(tmp_path / "x.mp4", frames.astype(np.float32), 25)  # 0..255 floats
    with pytest.raises(ValueError, match="1-D"):
        write_video(tmp_path / "x.mp4", frames, 25, audio=np.zeros((SR, 2, 2), np.float32))


def test_missing_corrupt_and_audio_only_files(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        read_video(tmp_path / "nope.mp4")
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(ValueError, match="corrupt"):
        read_video(corrupt)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        read_video(empty)
    wav = tmp_path / "speech.wav"
    sf.write(wav, np.zeros(SR, np.float32), SR)
    with pytest.raises(ValueError, match="no video stream"):
        read_video(wav)


def test_truncated_file_raises_value_error(written, tmp_path):
    path, _, _ = written
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(path.read_bytes()[:800])  # the header only: the index is cut off
    with pytest.raises(ValueError):
        read_video(cut)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg command to tag a rotation")
def test_display_rotation_is_applied(written, tmp_path):
    path, _, _ = written
    rotated = tmp_path / "rotated.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-i",
            str(path),
            "-c",
            "copy",
            "-metadata:s:v:0",
            "rotate=90",
            str(rotated),
        ],
        check=True,
    )
    import av

    with av.open(str(rotated)) as container:
        rotation = next(container.decode(video=0)).rotation  # degrees counterclockwise
    assert rotation in (90, -90)
    upright, turned = read_video(path, audio=False), read_video(rotated, audio=False)
    assert turned.frames.shape == (30, 66, 48, 3)
    np.testing.assert_array_equal(turned.frames, np.rot90(upright.frames, rotation // 90, axes=(1, 2)))


def test_real_1080p_clip_resized_on_read(shared_data):
    clip = read_video(shared_data / "talking-faces" / "two-speakers.mp4", max_seconds=2, max_side=320)
    assert clip.source_size == (1080, 1920)
    assert clip.frames.shape == (50, 180, 320, 3)
    assert clip.fps == 25
    assert len(clip.audio) == 2 * SR  # 44.1 kHz stereo AAC -> 16 kHz mono
    assert 0.01 < np.abs(clip.audio).max() <= 1.0


def test_variable_frame_rate_hevc_mov(shared_data):
    # A 30 fps part joined to a 24 fps part: resampled to an even 30 fps grid.
    clip = read_video(shared_data / "faces" / "face_noface.mov", max_side=320)
    assert clip.source_size == (540, 960)
    assert clip.frames.shape[1:] == (180, 320, 3)
    assert clip.fps == 30
    assert clip.num_frames == pytest.approx(6.4 * 30, abs=3)
    assert np.all(np.diff(clip.timestamps) >= 0)
    # Every output frame shows the latest source frame at its grid time.
    grid = np.arange(clip.num_frames) / clip.fps
    assert np.all(clip.timestamps <= grid + 1e-3) and np.all(grid - clip.timestamps < 1 / 24 + 1e-3)
    # The audio track is shorter (4 s) than the video: it is not padded with invented silence.
    assert len(clip.audio) / SR == pytest.approx(3.97, abs=0.05)


def test_header_frame_rate_that_lies(shared_data):
    # The header's average rate says 23.67 fps; the frames are evenly 24 fps apart.
    clip = read_video(shared_data / "faces" / "no_face.mp4", max_side=240)
    assert clip.fps == 24
    assert clip.num_frames == 95
    np.testing.assert_allclose(np.diff(clip.timestamps), 1 / 24, atol=1e-3)
