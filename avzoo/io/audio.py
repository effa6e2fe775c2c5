"""Audio reading, checking, resampling and writing.

Everything in avzoo works on 16 kHz mono float32 audio in [-1, 1]. This module turns whatever a user
hands us (a file path, an ``(array, rate)`` pair, integer PCM, stereo, 44.1 kHz ...) into exactly that,
or raises a ``ValueError`` that names the problem and the accepted range.

* Files: soundfile (libsndfile) reads wav/flac/ogg/mp3/aiff/...; anything else (mp4, mov, m4a, webm,
  mkv, aac, opus-in-webm ...) is decoded with PyAV (FFmpeg), taking the first audio track.
* Duration limits (``max_seconds``) are enforced *before* a file is decoded, so an over-long upload costs
  neither the time nor the memory of decoding it: the length is read from the file's header (soundfile's
  frame count; the container's audio-stream duration for FFmpeg formats), and decoding itself stops as
  soon as it passes ``max_seconds`` (for headers that do not state a length, or state a wrong one).
  A 20-minute .m4a is refused in milliseconds instead of being decoded into ~0.4-0.9 GB first.
* Length: :func:`load_audio` refuses files and arrays with fewer than :data:`MIN_SAMPLES` (17) samples
  per channel as too short, naming the minimum; so does every function for 2-D input, where that rule is
  also what keeps the channel axis unambiguous.
* Resampling: soxr (``"HQ"`` quality), a proper band-limited resampler.
* Downmix: the mean of the channels.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import soxr

__all__ = [
    "DEFAULT_MAX_CLIPPED_FRACTION",
    "DEFAULT_SAMPLING_RATE",
    "FULL_SCALE",
    "MAX_CHANNELS",
    "MAX_SAMPLING_RATE",
    "MIN_SAMPLES",
    "MIN_SAMPLING_RATE",
    "SILENCE_PEAK",
    "AudioClippingWarning",
    "audio_batch",
    "load_audio",
    "prepare_audio",
    "save_audio",
    "to_float32",
    "validate_audio",
    "validate_sampling_rate",
]

DEFAULT_SAMPLING_RATE = 16000
#: Accepted input sampling rates (Hz). Below 4 kHz speech is not intelligible; above 768 kHz is not audio.
MIN_SAMPLING_RATE = 4000
MAX_SAMPLING_RATE = 768000
#: A sample whose magnitude reaches this level counts as "at full scale" (clipped).
FULL_SCALE = 0.999
#: Above this fraction of full-scale samples the audio is rejected; between ``WARN_CLIPPED_FRACTION`` and
#: it, an :class:`AudioClippingWarning` is issued and the audio is used as is.
DEFAULT_MAX_CLIPPED_FRACTION = 0.01
WARN_CLIPPED_FRACTION = 0.001
#: Audio whose peak magnitude is below this (about -100 dBFS, a third of a 16-bit step) is digital silence.
SILENCE_PEAK = 1e-5
#: Float audio with a peak above this is not [-1, 1] audio (usually integer PCM stored as float).
MAX_FLOAT_PEAK = 2.0
#: The most channels we accept; it also decides which axis of a 2-D array holds the channels.
MAX_CHANNELS = 16
#: The fewest samples (per channel) that count as audio: one more than ``MAX_CHANNELS``, so the channel axis
#: of a 2-D array is never ambiguous (about 1 ms at 16 kHz; nothing shorter can be heard or analysed).
MIN_SAMPLES = MAX_CHANNELS + 1
#: A file whose header states a length up to this much beyond ``max_seconds`` (seconds, plus 1 % of
#: ``max_seconds``) is still decoded, with decoding stopped at ``max_seconds``: headers that estimate the
#: length (ADTS AAC, some streamed WebM) must not refuse a file that is within the limit.
_HEADER_SLACK_S = 1.0

PathLike = str | os.PathLike
AudioSource = PathLike | tuple[Any, float] | Sequence


class AudioClippingWarning(UserWarning):
    """Some samples sit at full scale, but not enough to reject the audio."""


def validate_sampling_rate(sampling_rate: Any, name: str = "sampling_rate") -> float:
    """Return ``sampling_rate`` as a number of Hz, or raise ``ValueError`` if it is not a sane audio rate."""
    if isinstance(sampling_rate, bool) or not isinstance(
        sampling_rate, (int, float, np.integer, np.floating)
    ):
        raise ValueError(
            f"{name} must be a number of Hz in [{MIN_SAMPLING_RATE}, {MAX_SAMPLING_RATE}], "
            f"got {sampling_rate!r} ({type(sampling_rate).__name__})"
        )
    rate = float(sampling_rate)
    if not math.isfinite(rate) or not MIN_SAMPLING_RATE <= rate <= MAX_SAMPLING_RATE:
        raise ValueError(
            f"{name} must be in [{MIN_SAMPLING_RATE}, {MAX_SAMPLING_RATE}] Hz, got {sampling_rate!r}"
        )
    return int(rate) if rate.is_integer() else rate


def to_float32(audio: Any, name: str = "audio") -> np.ndarray:
    """Convert an array of samples to float32, scaling integer PCM to [-1, 1].

    Signed integers are divided by 2**(bits-1) (int16 / 32768, int32 / 2**31); unsigned 8-bit PCM is
    centred on 128 as in WAV files. Booleans, complex numbers, strings and objects are rejected.
    """
    if hasattr(audio, "detach") and hasattr(audio, "cpu"):  # a torch tensor
        audio = audio.detach().cpu().numpy()
    try:
        arr = np.asarray(audio)
    except (TypeError, ValueError) as err:  # ragged lists and the like
        raise ValueError(f"{name} must be an array of samples, could not convert it: {err}") from None
    kind = arr.dtype.kind
    if kind == "f":
        return arr.astype(np.float32, copy=False)
    if kind == "i":
        scale = float(2 ** (8 * arr.dtype.itemsize - 1))
        return (arr.astype(np.float64) / scale).astype(np.float32)
    if kind == "u":
        if arr.dtype != np.uint8:
            raise ValueError(
                f"{name} has unsigned dtype {arr.dtype}; only uint8 PCM is a known audio format. "
                "Pass float32 in [-1, 1] or signed integer PCM (int16/int32)"
            )
        return ((arr.astype(np.float32) - 128.0) / 128.0).astype(np.float32)
    raise ValueError(
        f"{name} has dtype {arr.dtype}, which is not audio; pass float32 in [-1, 1] or integer PCM (int16/int32)"
    )


def _too_short(name: str, n_samples: int, rate: float | None = None) -> ValueError:
    at = f" ({1000 * n_samples / rate:.2g} ms at {rate:g} Hz)" if rate else ""
    return ValueError(
        f"{name} is too short: {n_samples} sample(s) per channel{at}; audio needs at least {MIN_SAMPLES} "
        "samples (MIN_SAMPLES)"
    )


def _channels_first(arr: np.ndarray, name: str) -> np.ndarray:
    """Return a 2-D array as (channels, samples).

    The rule: the axis with at most ``MAX_CHANNELS`` entries is the channel axis. When both axes are that
    short the audio has at most ``MAX_CHANNELS`` samples per channel whichever way it is read, so it is
    refused as too short (fewer than :data:`MIN_SAMPLES`); when neither is, it has too many channels.
    """
    a, b = arr.shape
    if a <= MAX_CHANNELS < b:
        return arr
    if b <= MAX_CHANNELS < a:
        return arr.T
    if a <= MAX_CHANNELS and b <= MAX_CHANNELS:
        raise _too_short(f"{name} (shape {arr.shape})", max(a, b))
    raise ValueError(
        f"{name} has shape {arr.shape}: cannot tell the channel axis, both axes are longer than "
        f"{MAX_CHANNELS}. Pass 1-D mono, or 2-D (channels, samples) / (samples, channels) with at most "
        f"{MAX_CHANNELS} channels"
    )


def validate_audio(
    audio: Any,
    sampling_rate: Any,
    *,
    max_seconds: float | None = None,
    max_clipped_fraction: float = DEFAULT_MAX_CLIPPED_FRACTION,
    allow_silence: bool = False,
    name: str = "audio",
) -> np.ndarray:
    """Check audio and return it as float32 (same layout; integer PCM converted to [-1, 1]).

    Raises ``ValueError`` naming the problem for: a bad sampling rate, a non-audio dtype, more than 2 axes
    or too many channels, no samples (for 2-D input: fewer than :data:`MIN_SAMPLES` per channel), NaN/inf,
    float values far outside [-1, 1] (unscaled PCM), digital silence (peak below ``SILENCE_PEAK``, unless
    ``allow_silence``), more than ``max_seconds`` of audio, and heavy clipping (more than
    ``max_clipped_fraction`` of samples with ``|x| >= FULL_SCALE``). Lighter clipping (above 0.1 % of
    samples) only issues an :class:`AudioClippingWarning`.
    """
    rate = validate_sampling_rate(sampling_rate)
    arr = to_float32(audio, name)
    if arr.ndim == 0 or arr.ndim > 2:
        raise ValueError(
            f"{name} must be 1-D (samples) or 2-D (channels x samples), got {arr.ndim}-D shape {arr.shape}"
        )
    if arr.ndim == 2 and min(arr.shape) > 0:
        n_channels = _channels_first(arr, name).shape[0]
        n_samples = arr.size // n_channels
    else:
        n_samples = arr.size
    if arr.size == 0 or n_samples == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); it needs at least one sample")
    finite = np.isfinite(arr)
    if not finite.all():
        bad = arr.size - int(finite.sum())
        raise ValueError(f"{name} contains {bad} NaN/inf sample(s) of {arr.size}; audio must be finite")
    seconds = n_samples / rate
    if max_seconds is not None and seconds > max_seconds:
        raise ValueError(
            f"{name} is {seconds:.2f} s long; at most {max_seconds:g} s is accepted (max_seconds). "
            "Trim it or raise max_seconds"
        )
    peak = float(np.max(np.abs(arr)))
    if peak > MAX_FLOAT_PEAK:
        raise ValueError(
            f"{name} has peak magnitude {peak:.4g}, but float audio must lie in [-1, 1]. "
            "Integer PCM stored as float? Divide int16 values by 32768 (or pass the int16 array itself)"
        )
    if peak < SILENCE_PEAK and not allow_silence:
        kind = "all zeros" if peak == 0.0 else f"peak {peak:.2e}, below {SILENCE_PEAK:g}"
        raise ValueError(f"{name} is digital silence ({kind}); there is no signal to process")
    if not 0.0 <= max_clipped_fraction <= 1.0:
        raise ValueError(f"max_clipped_fraction must be in [0, 1], got {max_clipped_fraction}")
    clipped = float(np.mean(np.abs(arr) >= FULL_SCALE))
    if clipped > max_clipped_fraction:
        raise ValueError(
            f"{name} is clipped: {clipped:.2%} of samples sit at full scale (|x| >= {FULL_SCALE}); at most "
            f"{max_clipped_fraction:.2%} is accepted. Record with lower gain, or pass a larger max_clipped_fraction"
        )
    if clipped > WARN_CLIPPED_FRACTION:
        warnings.warn(
            f"{name}: {clipped:.2%} of samples sit at full scale (|x| >= {FULL_SCALE}); results may suffer",
            AudioClippingWarning,
            stacklevel=2,
        )
    return arr


def audio_batch(raw_speech: Any) -> list[Any]:
    """A processor's ``raw_speech`` as a list of clips: a list/tuple of clips is a batch, a list of numbers or one
    array (1-D samples, or 2-D channels) is one clip. ``ValueError`` for an empty batch or another type."""
    if isinstance(raw_speech, (list, tuple)):
        if len(raw_speech) == 0:
            raise ValueError(
                "got an empty batch: pass a clip (array of samples) or a non-empty list of clips"
            )
        if all(np.isscalar(x) for x in raw_speech):
            return [np.asarray(raw_speech)]  # one clip given as a list of samples
        return list(raw_speech)
    if isinstance(raw_speech, np.ndarray) or hasattr(raw_speech, "detach"):  # numpy or torch
        return [raw_speech]
    raise ValueError(
        f"raw_speech must be an array of samples or a list of them, got {type(raw_speech).__name__}"
    )


def prepare_audio(
    audio: Any,
    sampling_rate: Any,
    target_rate: int = DEFAULT_SAMPLING_RATE,
    max_seconds: float | None = None,
    *,
    max_clipped_fraction: float = DEFAULT_MAX_CLIPPED_FRACTION,
    allow_silence: bool = False,
    name: str = "audio",
) -> np.ndarray:
    """Validate, downmix to mono and resample audio; returns a contiguous float32 1-D array in [-1, 1].

    ``audio`` may be 1-D, or 2-D as (channels, samples) or (samples, channels): the axis with at most
    ``MAX_CHANNELS`` (16) entries is taken as channels, and a shape where that is ambiguous is refused.
    Channels are averaged. Integer PCM is scaled (int16 / 32768, ...). Resampling uses soxr "HQ"; its
    small overshoot near full scale is clipped back to [-1, 1]. See :func:`validate_audio` for the checks.
    """
    target = validate_sampling_rate(target_rate, "target_rate")
    arr = validate_audio(
        audio,
        sampling_rate,
        max_seconds=max_seconds,
        max_clipped_fraction=max_clipped_fraction,
        allow_silence=allow_silence,
        name=name,
    )
    rate = validate_sampling_rate(sampling_rate)
    if arr.ndim == 2:
        arr = _channels_first(arr, name).mean(axis=0, dtype=np.float32)
    if rate != target:
        n_in = len(arr)
        arr = soxr.resample(arr, rate, target, quality="HQ")
        if len(arr) == 0:
            raise ValueError(
                f"{name} is too short: {n_in} sample(s) at {rate:g} Hz make less than one sample at "
                f"{target:g} Hz; audio needs at least {MIN_SAMPLES} samples after resampling"
            )
    return np.ascontiguousarray(np.clip(arr, -1.0, 1.0), dtype=np.float32)


class _TooLongError(ValueError):
    """A file is longer than ``max_seconds``: refused as such, never as "unreadable"."""


def _too_long(path: Path, seconds: float | None, max_seconds: float) -> _TooLongError:
    length = (
        f"is {seconds:.2f} s long"
        if seconds is not None
        else f"is longer than {max_seconds:g} s (decoding stopped there)"
    )
    return _TooLongError(
        f"audio file {path} {length}; at most {max_seconds:g} s is accepted (max_seconds). "
        "Trim it or raise max_seconds"
    )


def _read_soundfile(path: Path, max_seconds: float | None, rate: int) -> tuple[np.ndarray, int]:
    # Read at most one frame past the limit, so a header that understates the length cannot make us
    # decode an arbitrarily long file.
    frames = -1 if max_seconds is None else math.floor(max_seconds * rate) + 1
    data, rate = sf.read(str(path), frames=frames, dtype="float32", always_2d=True)
    if max_seconds is not None and len(data) > max_seconds * rate:
        raise _too_long(path, None, max_seconds)
    return data.T, rate  # (channels, samples)


def _declared_seconds(container: Any, stream: Any) -> float | None:
    """The audio stream's length from the container header, without decoding (None when not stated)."""
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    # The container's length is that of its longest stream: only a stand-in for an audio-only file.
    if container.duration is not None and all(s.type == "audio" for s in container.streams):
        import av

        return container.duration / av.time_base
    return None


def _read_av(path: Path, max_seconds: float | None = None) -> tuple[np.ndarray, int]:
    import av

    with av.open(str(path)) as container:
        if not container.streams.audio:
            raise ValueError("the file has no audio track")
        stream = container.streams.audio[0]
        if max_seconds is not None:
            declared = _declared_seconds(container, stream)
            if declared is not None and declared > max_seconds * 1.01 + _HEADER_SLACK_S:
                raise _too_long(path, declared, max_seconds)
        # Only the sample format is converted here; channels and rate stay native so that the
        # downmix and soxr do the rest exactly as for every other input.
        resampler = av.AudioResampler(format="fltp")
        chunks: list[np.ndarray] = []
        rate = stream.rate or stream.codec_context.sample_rate
        n_samples = 0
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray())
                rate = out.sample_rate
                n_samples += out.samples
            if max_seconds is not None and n_samples > max_seconds * rate:
                raise _too_long(path, None, max_seconds)  # the header understated the length
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray())
            n_samples += out.samples
        if max_seconds is not None and n_samples > max_seconds * rate:
            raise _too_long(path, None, max_seconds)
    if not chunks:
        raise ValueError("the audio track decoded to no samples")
    return np.concatenate(chunks, axis=1).astype(np.float32, copy=False), rate


def _reason(err: Exception, path: Path) -> str:
    """A decoder's error without the path it quotes (the message names the file once, up front)."""
    text = str(err)
    for form in (f"'{path}'", f'"{path}"', str(path)):
        text = text.replace(form, "the file")
    return text


def _read_file(path: Path, max_seconds: float | None) -> tuple[np.ndarray, int]:
    """Decode a file to float32 (channels, samples); soundfile first, then FFmpeg via PyAV.

    With ``max_seconds``, an over-long file is refused from its header before decoding, and decoding
    stops once it passes ``max_seconds`` (see the module docstring).
    """
    if not path.exists():
        raise ValueError(f"cannot read audio from {path}: no such file")
    if path.is_dir():
        raise ValueError(f"cannot read audio from {path}: it is a directory")
    if path.stat().st_size == 0:
        raise ValueError(f"cannot read audio from {path}: the file is empty (0 bytes)")
    reasons = []
    try:
        info = sf.info(str(path))
    except Exception as err:  # libsndfile does not know the container: let FFmpeg try
        reasons.append(f"soundfile: {_reason(err, path)}")
    else:
        # Refuse over-long files before decoding them into memory.
        if max_seconds is not None and info.frames > 0 and info.frames / info.samplerate > max_seconds:
            raise _too_long(path, info.frames / info.samplerate, max_seconds)
        try:
            return _read_soundfile(path, max_seconds, info.samplerate)
        except _TooLongError:
            raise
        except Exception as err:
            reasons.append(f"soundfile: {_reason(err, path)}")
    try:
        return _read_av(path, max_seconds)
    except _TooLongError:
        raise
    except Exception as err:
        reasons.append(f"ffmpeg: {_reason(err, path)}")
    raise ValueError(f"cannot read audio from {path} (unreadable or corrupt): " + "; ".join(reasons))


def load_audio(
    source: AudioSource,
    sampling_rate: int = DEFAULT_SAMPLING_RATE,
    max_seconds: float | None = None,
    *,
    max_clipped_fraction: float = DEFAULT_MAX_CLIPPED_FRACTION,
    allow_silence: bool = False,
) -> np.ndarray:
    """Read audio into mono float32 at ``sampling_rate`` (16 kHz by default), checked and resampled.

    ``source`` is a path to any common audio file (wav, flac, ogg, mp3, ...) or video/container file
    (mp4, mov, mkv, webm, m4a: the first audio track), or an ``(array, rate)`` pair. Unreadable or corrupt
    files raise ``ValueError`` with the path and the decoder's reason; see :func:`prepare_audio` for the
    checks applied to the samples. ``max_seconds`` is checked before a file is decoded (its header) and
    while it is (decoding stops past it), so an over-long file is refused quickly and without the memory
    of decoding it. Audio with fewer than :data:`MIN_SAMPLES` samples per channel is refused as too short.
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source).expanduser()
        data, rate = _read_file(path, max_seconds)
        name = f"audio file {path}"
        # The decoders say which axis holds the channels: no need to infer it from the shape.
        if data.shape[1] < MIN_SAMPLES:
            raise _too_short(name, data.shape[1], rate)
        if data.shape[0] == 1:
            data = data[0]
    elif isinstance(source, (tuple, list)) and len(source) == 2 and not np.isscalar(source[0]):
        data, rate = source
        name = "audio"
        data = to_float32(data, name)
        if data.ndim == 1 and 0 < len(data) < MIN_SAMPLES:
            raise _too_short(name, len(data))
    else:
        raise ValueError(
            f"source must be a file path or an (array, sampling_rate) pair, got {type(source).__name__}"
        )
    return prepare_audio(
        data,
        rate,
        target_rate=sampling_rate,
        max_seconds=max_seconds,
        max_clipped_fraction=max_clipped_fraction,
        allow_silence=allow_silence,
        name=name,
    )


def save_audio(
    path: PathLike,
    audio: Any,
    sampling_rate: int = DEFAULT_SAMPLING_RATE,
    *,
    subtype: str | None = None,
) -> Path:
    """Write mono audio to ``path``; the format follows the extension (wav, flac, ogg, mp3, ...).

    Float audio in [-1, 1] or integer PCM is accepted (silence too: writing it is legitimate). ``subtype``
    is soundfile's (e.g. ``"PCM_16"``, the WAV default, or ``"FLOAT"``). Returns the path written.
    """
    path = Path(path)
    rate = validate_sampling_rate(sampling_rate)
    if not float(rate).is_integer():
        raise ValueError(f"sampling_rate must be a whole number of Hz to write a file, got {sampling_rate}")
    arr = validate_audio(
        audio, rate, allow_silence=True, max_clipped_fraction=1.0, name=f"audio for {path.name}"
    )
    if arr.ndim != 1:
        raise ValueError(f"save_audio writes mono audio: expected a 1-D array, got shape {arr.shape}")
    fmt = path.suffix.lstrip(".").upper()
    formats = sf.available_formats()
    if fmt not in formats:
        raise ValueError(
            f"cannot write {path}: unsupported extension {path.suffix!r}; use one of "
            + ", ".join(sorted("." + f.lower() for f in ("WAV", "FLAC", "OGG", "MP3") if f in formats))
        )
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.clip(arr, -1.0, 1.0), int(rate), subtype=subtype)
    return path
