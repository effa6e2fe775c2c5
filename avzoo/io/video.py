"""Video reading and writing: RGB frames + 16 kHz mono audio in, browser-playable MP4 out.

Reading decodes with PyAV (FFmpeg): any container and codec FFmpeg knows (H.264/MP4, HEVC/MOV,
VP9/WebM, ...). Frames are resized while decoding (``max_side``), so a long 1080p clip never sits
in memory at full size, and the phone's display rotation is applied. Frame timing follows the
presentation timestamps, so variable-frame-rate files (phones, screen recordings, edits that
join 30 and 24 fps footage) come out evenly spaced at a stated rate. Audio goes through
:func:`avzoo.io.audio.load_audio` (soxr resampling, channel downmix).

Writing produces H.264 (yuv420p, even dimensions) + AAC in an MP4 with the index at the front,
which every browser plays.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from avzoo.io.audio import DEFAULT_SAMPLING_RATE, load_audio, validate_audio, validate_sampling_rate

__all__ = ["MAX_FPS", "VideoClip", "read_video", "write_video"]

MAX_FPS = 240.0
# Frame times from different time bases disagree in the last digits; this much is "the same time".
_TIME_EPS = 1e-4
# Decoded timestamps whose spread exceeds this fraction of the typical interval mean a variable rate.
_VFR_SPREAD = 0.2


@dataclass
class VideoClip:
    """Decoded video: evenly spaced RGB frames, their rate, and the matching audio."""

    frames: np.ndarray
    """(T, H, W, 3) uint8 RGB."""
    fps: float
    audio: np.ndarray | None = None
    """(N,) float32 mono in [-1, 1] at ``sampling_rate`` over the frames' time span (shorter only where
    the file's audio track ends early); None if the file has no audio."""
    sampling_rate: int = DEFAULT_SAMPLING_RATE
    timestamps: np.ndarray | None = None
    """(T,) seconds of the source frame shown at each output frame, from the first frame."""
    source_size: tuple[int, int] | None = None
    """(height, width) of the video in the file, before any resizing."""
    path: str | None = None

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def num_frames(self) -> int:
        return len(self.frames)

    @property
    def height(self) -> int:
        return int(self.frames.shape[1])

    @property
    def width(self) -> int:
        return int(self.frames.shape[2])

    @property
    def duration(self) -> float:
        """Seconds covered by the frames (T / fps)."""
        return self.num_frames / self.fps

    @property
    def name(self) -> str:
        return Path(self.path).name if self.path else "video clip"


def _check_rate(fps, name: str = "fps") -> float:
    if isinstance(fps, bool) or not isinstance(fps, (int, float, np.integer, np.floating, Fraction)):
        raise ValueError(f"{name} must be a number of frames per second in (0, {MAX_FPS:g}], got {fps!r}")
    value = float(fps)
    if not math.isfinite(value) or not 0 < value <= MAX_FPS:
        raise ValueError(f"{name} must be in (0, {MAX_FPS:g}] frames per second, got {fps!r}")
    return value


def _output_size(height: int, width: int, max_side: int | None) -> tuple[int, int]:
    """Shrink (never enlarge) so the long side is at most ``max_side``; sizes stay even for encoders."""
    if max_side is None or max(height, width) <= max_side:
        return height, width
    scale = max_side / max(height, width)
    return max(2, round(height * scale / 2) * 2), max(2, round(width * scale / 2) * 2)


def _open_video(path: Path):
    import av

    if not path.exists():
        raise ValueError(f"video file not found: {path}")
    if path.is_dir():
        raise ValueError(f"cannot read video from {path}: it is a directory")
    if path.stat().st_size == 0:
        raise ValueError(f"cannot read video from {path}: the file is empty (0 bytes)")
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, UnicodeDecodeError) as err:
        raise ValueError(f"cannot read video from {path} (unreadable or corrupt): {err}") from None
    if not container.streams.video:
        kinds = sorted({s.type for s in container.streams}) or ["no streams at all"]
        container.close()
        raise ValueError(f"{path} has no video stream (it has: {', '.join(kinds)})")
    return container


def _decoded_frames(container, path: Path):
    """Yield (seconds, av.VideoFrame) in presentation order; corrupt data becomes a ValueError."""
    import av

    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    rate = float(stream.guessed_rate or stream.average_rate or 25)
    try:
        for i, frame in enumerate(container.decode(stream)):
            yield (frame.time if frame.time is not None else i / rate), frame
    except av.FFmpegError as err:
        raise ValueError(f"cannot decode video {path} (corrupt stream): {err}") from None


def _nominal_rate(stream, intervals: np.ndarray) -> float:
    """The constant rate of a stream: its declared rate when the timestamps agree, else theirs."""
    declared = float(stream.guessed_rate or stream.average_rate or 0)
    if not len(intervals):
        return declared or 25.0
    typical = float(np.median(intervals))
    if declared and abs(declared * typical - 1) < 0.01:
        return declared
    return 1.0 / typical


def read_video(
    path: str | os.PathLike,
    fps: float | None = None,
    max_seconds: float | None = None,
    *,
    max_side: int | None = None,
    audio: bool = True,
    sampling_rate: int = DEFAULT_SAMPLING_RATE,
) -> VideoClip:
    """Decode a video file into RGB frames (and its audio as 16 kHz mono float32).

    Args:
        path: any file FFmpeg reads (mp4, mov, mkv, webm, avi, ...).
        fps: resample to this constant frame rate: output frame ``k`` is the source frame on
            screen at ``k / fps`` seconds (frames are repeated or dropped, never blended).
            ``None`` keeps the source frames when their rate is constant; a variable-rate
            stream is resampled to its typical fastest rate (1 / the 10th-percentile frame
            interval, rounded), so frames are always evenly spaced at ``clip.fps``.
        max_seconds: read at most this many seconds from the start.
        max_side: shrink frames while decoding so the long side is at most this many pixels
            (even sizes; never enlarges). Use it for 1080p/4K input: 300 frames of 1080p RGB are 1.9 GB.
        audio: also decode the first audio track (``clip.audio`` is None when there is none).
        sampling_rate: audio rate in Hz.

    Returns:
        A :class:`VideoClip`. Its audio spans exactly the frames' time: zero-padded by at most
        two frame intervals where the audio track ends a little early (codec framing), left
        shorter where the track ends earlier than that (no invented silence).

    Raises:
        ValueError: the file is missing, unreadable or corrupt, has no video stream, decodes to
            no frames, or an argument is out of range.
    """
    target_fps = None if fps is None else _check_rate(fps)
    if max_seconds is not None and not (math.isfinite(max_seconds) and max_seconds > 0):
        raise ValueError(f"max_seconds must be a positive number of seconds, got {max_seconds!r}")
    if max_side is not None and (int(max_side) != max_side or max_side < 2):
        raise ValueError(f"max_side must be an integer >= 2 pixels, got {max_side!r}")
    sampling_rate = int(validate_sampling_rate(sampling_rate))
    path = Path(path).expanduser()

    with _open_video(path) as container:
        stream = container.streams.video[0]
        src_h, src_w = stream.codec_context.height, stream.codec_context.width
        out_h, out_w = _output_size(src_h, src_w, max_side)
        limit = math.inf if max_seconds is None else max_seconds

        def to_rgb(frame) -> np.ndarray:
            rotation = getattr(frame, "rotation", 0) or 0
            quarter_turns = round(rotation / 90) % 4
            rgb = frame.to_ndarray(format="rgb24", width=out_w, height=out_h, interpolation="AREA")
            # The display matrix turns the picture counterclockwise, as np.rot90 does.
            return np.ascontiguousarray(np.rot90(rgb, quarter_turns)) if quarter_turns else rgb

        first = None
        times: list[float] = []
        images: list[np.ndarray] = []
        if target_fps is None:
            for t, frame in _decoded_frames(container, path):
                first = t if first is None else first
                if t - first >= limit - _TIME_EPS:
                    break
                times.append(t - first)
                images.append(to_rgb(frame))
        else:
            # Stream the resampling: only frames that land on the output grid are converted and kept.
            count = math.inf if max_seconds is None else max(1, math.floor(max_seconds * target_fps + 1e-6))
            previous = previous_rgb = None
            k = 0
            intervals: list[float] = []
            for t, frame in _decoded_frames(container, path):
                first = t if first is None else first
                t -= first
                if previous is not None:
                    intervals.append(t - previous[0])
                    while k < count and k / target_fps < t - _TIME_EPS:
                        previous_rgb = previous_rgb if previous_rgb is not None else to_rgb(previous[1])
                        times.append(previous[0])
                        images.append(previous_rgb)
                        k += 1
                if k >= count:
                    break
                previous, previous_rgb = (t, frame), None
            if previous is not None and k < count:
                # The last frame stays on screen for one typical interval.
                end = previous[0] + (np.median(intervals) if intervals else 1.0 / _nominal_rate(stream, []))
                while k < count and k / target_fps < end - _TIME_EPS:
                    previous_rgb = previous_rgb if previous_rgb is not None else to_rgb(previous[1])
                    times.append(previous[0])
                    images.append(previous_rgb)
                    k += 1
        if not images:
            raise ValueError(f"{path} has a video stream but no frame could be decoded from it")
        stamps = np.asarray(times, dtype=np.float64)

        if target_fps is None:
            intervals = np.diff(stamps)
            target_fps = _nominal_rate(stream, intervals)
            if len(intervals) >= 2:
                spread = np.percentile(intervals, 95) - np.percentile(intervals, 5)
                if spread > _VFR_SPREAD * np.median(intervals):
                    target_fps = float(max(1, round(1.0 / np.percentile(intervals, 10))))
                    end = stamps[-1] + np.median(intervals)
                    if max_seconds is not None:
                        end = min(end, max_seconds)
                    grid = np.arange(max(1, math.ceil((end - _TIME_EPS) * target_fps))) / target_fps
                    index = np.clip(np.searchsorted(stamps, grid + _TIME_EPS, side="right") - 1, 0, None)
                    images = [images[i] for i in index]
                    stamps = stamps[index]
        frames = np.stack(images)
        start_time = first or 0.0
        has_audio = bool(container.streams.audio)

    waveform = None
    if audio and has_audio:
        # Real recordings may be quiet or clipped; reading a video should not refuse them.
        full = load_audio(path, sampling_rate, allow_silence=True, max_clipped_fraction=1.0)
        begin = round(start_time * sampling_rate)
        n = round(len(frames) / target_fps * sampling_rate)
        waveform = full[begin : begin + n]
        shortfall = n - len(waveform)
        if 0 < shortfall <= 2 * sampling_rate / target_fps:
            waveform = np.pad(waveform, (0, shortfall))
        waveform = np.ascontiguousarray(waveform, dtype=np.float32)

    return VideoClip(
        frames=frames,
        fps=float(target_fps),
        audio=waveform,
        sampling_rate=sampling_rate,
        timestamps=stamps,
        source_size=(src_h, src_w),
        path=str(path),
    )


def _frames_to_uint8(frames) -> np.ndarray:
    frames = getattr(frames, "frames", frames)
    arr = np.asarray(frames)
    if arr.ndim != 4 or arr.shape[-1] != 3:
        raise ValueError(f"frames must be RGB video of shape (T, H, W, 3), got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] < 2 or arr.shape[2] < 2:
        raise ValueError(f"frames must hold at least one frame of at least 2x2 pixels, got shape {arr.shape}")
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all() or arr.min() < -1e-3 or arr.max() > 1 + 1e-3:
            raise ValueError("float frames must be finite and in [0, 1]; pass uint8 for [0, 255] values")
        return np.round(np.clip(arr, 0, 1) * 255).astype(np.uint8)
    raise ValueError(f"frames must be uint8 in [0, 255] or float in [0, 1], got dtype {arr.dtype}")


def write_video(
    path: str | os.PathLike,
    frames,
    fps: float,
    audio: np.ndarray | None = None,
    sampling_rate: int = DEFAULT_SAMPLING_RATE,
    *,
    crf: int = 20,
) -> Path:
    """Write frames (and mono audio) as an H.264 + AAC MP4 that browsers play.

    Args:
        frames: (T, H, W, 3) RGB, uint8 or float in [0, 1] (or a :class:`VideoClip`). Odd sizes
            are padded by one edge pixel, since yuv420p needs even width and height.
        fps: frame rate, in (0, 240].
        audio: optional 1-D float audio in [-1, 1] at ``sampling_rate`` (any length; players
            stop at the longer stream).
        crf: x264 constant-rate quality, 0 (lossless) to 51; 20 looks clean for demos.

    Returns:
        The path written. Parent folders are created.
    """
    import av

    pixels = _frames_to_uint8(frames)
    rate = Fraction(_check_rate(fps)).limit_denominator(1001)
    if int(crf) != crf or not 0 <= crf <= 51:
        raise ValueError(f"crf must be an integer in [0, 51], got {crf!r}")
    samples = None
    if audio is not None:
        sampling_rate = validate_sampling_rate(sampling_rate)
        if not float(sampling_rate).is_integer():
            raise ValueError(f"sampling_rate must be a whole number of Hz, got {sampling_rate}")
        samples = validate_audio(audio, sampling_rate, allow_silence=True, max_clipped_fraction=1.0)
        if samples.ndim != 1:
            raise ValueError(f"audio must be 1-D mono, got shape {samples.shape}")
        samples = np.ascontiguousarray(np.clip(samples, -1, 1), dtype=np.float32)
    _, h, w, _ = pixels.shape
    if h % 2 or w % 2:
        pixels = np.pad(pixels, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)

    # faststart puts the index first so browsers can start playing before the download ends.
    with av.open(str(path), mode="w", format="mp4", container_options={"movflags": "+faststart"}) as out:
        video = out.add_stream("libx264", rate=rate)
        video.width, video.height = pixels.shape[2], pixels.shape[1]
        video.pix_fmt = "yuv420p"
        video.options = {"crf": str(int(crf)), "preset": "medium"}
        sound = None
        if samples is not None:
            sound = out.add_stream("aac", rate=int(sampling_rate), layout="mono")
            sound.bit_rate = 96_000
        for i, image in enumerate(pixels):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            frame.time_base = 1 / rate
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        if sound is not None:
            chunk = 1024 * 16
            for start in range(0, len(samples), chunk):
                part = av.AudioFrame.from_ndarray(
                    samples[None, start : start + chunk], format="flt", layout="mono"
                )
                part.sample_rate = int(sampling_rate)
                part.pts = start
                part.time_base = Fraction(1, int(sampling_rate))
                out.mux(sound.encode(part))
            out.mux(sound.encode(None))
    return path
