"""Feature extractor of av-lipsync: raw audio (any rate, any channel count) → normalised log-mel at 30 fps.

Self-contained (the Hub copy runs without avzoo), but computed exactly like ``avzoo.features.logmel`` and checked
like ``avzoo.io.audio``; ``tests/test_av_lipsync.py`` compares both.

Frame rule (as in ``avzoo.features.logmel``): ``N`` samples give ``T = ceil(N * fps / sr)`` frames; frame ``t`` is
centred on sample ``c_t = floor(t * sr / fps + 0.5)`` and reads the ``win_length`` samples
``c_t - win_length // 2 ... c_t + right_context`` (periodic Hann window, zeros outside the audio). With the
defaults (16 kHz, 30 fps) the window is 1067 samples and ``right_context`` 533 samples (33.3 ms), so in streaming
frame ``t`` is ready once sample ``c_t + 533`` has arrived. Values are ``log(max(power @ mel_filters, floor))``
with a Slaney mel filter bank from ``transformers.audio_utils.mel_filter_bank``, then normalised per mel bin:
``(log_mel - mel_mean) / mel_std``, with the statistics saved in ``preprocessor_config.json`` (defaults: -8 and 4,
about the mean and spread of LibriSpeech speech; :meth:`AvLipsyncFeatureExtractor.fit_normalization` fits them).

Inputs: one clip is a 1-D array (samples) or a 2-D array (channels, samples) or (samples, channels) -- the axis
with at most 16 entries is the channel axis, as in ``avzoo.io.audio``; channels are averaged. A batch is a *list*
of clips. Integer PCM is scaled to [-1, 1]. Other rates are resampled to 16 kHz with soxr ("HQ") when it is
installed, else with ``scipy.signal.resample_poly``.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Iterable, Sequence
from fractions import Fraction
from functools import lru_cache
from typing import Any, ClassVar

import numpy as np
import torch
from transformers import BatchFeature, SequenceFeatureExtractor

logger = logging.getLogger(__name__)

# The same limits as avzoo.io.audio (kept in step by the tests).
MIN_SAMPLING_RATE = 4000
MAX_SAMPLING_RATE = 768000
SILENCE_PEAK = 1e-5
MAX_FLOAT_PEAK = 2.0
MAX_CHANNELS = 16
FULL_SCALE = 0.999
DEFAULT_MAX_CLIPPED_FRACTION = 0.01
WARN_CLIPPED_FRACTION = 0.001
DEFAULT_MEL_MEAN = -8.0
DEFAULT_MEL_STD = 4.0


class AudioClippingWarning(UserWarning):
    """Some samples sit at full scale, but not enough to reject the audio."""


# --- audio checks (consistent with avzoo.io.audio) ------------------------------------------------------------


def validate_sampling_rate(sampling_rate: Any, name: str = "sampling_rate") -> int | float:
    """``sampling_rate`` as a number of Hz, or ``ValueError`` unless it is in [4000, 768000]."""
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
    """Samples as float32; integer PCM scaled to [-1, 1] (int16 / 32768, uint8 centred on 128)."""
    if isinstance(audio, torch.Tensor):
        audio = audio.detach().cpu().numpy()
    try:
        arr = np.asarray(audio)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be an array of samples, could not convert it: {err}") from None
    kind = arr.dtype.kind
    if kind == "f":
        return arr.astype(np.float32, copy=False)
    if kind == "i":
        return (arr.astype(np.float64) / float(2 ** (8 * arr.dtype.itemsize - 1))).astype(np.float32)
    if kind == "u" and arr.dtype == np.uint8:
        return ((arr.astype(np.float32) - 128.0) / 128.0).astype(np.float32)
    raise ValueError(
        f"{name} has dtype {arr.dtype}, which is not audio; pass float32 in [-1, 1] or integer PCM (int16/int32)"
    )


def _channels_first(arr: np.ndarray, name: str) -> np.ndarray:
    a, b = arr.shape
    if a <= MAX_CHANNELS < b:
        return arr
    if b <= MAX_CHANNELS < a:
        return arr.T
    raise ValueError(
        f"{name} has shape {arr.shape}: cannot tell the channel axis. Pass 1-D mono, or 2-D (channels, samples) "
        f"/ (samples, channels) with at most {MAX_CHANNELS} channels and more samples than channels"
    )


def check_audio(
    audio: Any,
    sampling_rate: Any,
    *,
    allow_silence: bool = False,
    max_clipped_fraction: float = DEFAULT_MAX_CLIPPED_FRACTION,
    max_seconds: float | None = None,
    name: str = "audio",
) -> np.ndarray:
    """Validate one clip and return it as mono float32 at its own rate (channels averaged).

    ``ValueError`` for: a bad rate, a non-audio dtype, more than 2 axes or an unclear channel axis, no samples,
    NaN/inf, float peaks above 2 (unscaled PCM), digital silence (peak < 1e-5, unless ``allow_silence``), more than
    ``max_seconds``, and more than ``max_clipped_fraction`` of samples at full scale (a warning above 0.1 %).
    """
    rate = validate_sampling_rate(sampling_rate)
    arr = to_float32(audio, name)
    if arr.ndim == 0 or arr.ndim > 2:
        raise ValueError(
            f"{name} must be 1-D (samples) or 2-D (channels x samples), got {arr.ndim}-D shape {arr.shape}; "
            "pass a batch as a list of clips"
        )
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); it needs at least one sample")
    if arr.ndim == 2:
        arr = _channels_first(arr, name)
    if not np.isfinite(arr).all():
        bad = arr.size - int(np.isfinite(arr).sum())
        raise ValueError(f"{name} contains {bad} NaN/inf sample(s) of {arr.size}; audio must be finite")
    seconds = arr.shape[-1] / rate
    if max_seconds is not None and seconds > max_seconds:
        raise ValueError(
            f"{name} is {seconds:.2f} s long; at most {max_seconds:g} s is accepted (max_seconds)"
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
    clipped = float(np.mean(np.abs(arr) >= FULL_SCALE))
    if clipped > max_clipped_fraction:
        raise ValueError(
            f"{name} is clipped: {clipped:.2%} of samples sit at full scale (|x| >= {FULL_SCALE}); at most "
            f"{max_clipped_fraction:.2%} is accepted. Record with lower gain, or raise max_clipped_fraction"
        )
    if clipped > WARN_CLIPPED_FRACTION:
        warnings.warn(
            f"{name}: {clipped:.2%} of samples sit at full scale (|x| >= {FULL_SCALE}); results may suffer",
            AudioClippingWarning,
            stacklevel=3,
        )
    if arr.ndim == 2:
        arr = arr.mean(axis=0, dtype=np.float32)
    return np.ascontiguousarray(arr, dtype=np.float32)


def resample(audio: np.ndarray, orig_rate: float, target_rate: float) -> np.ndarray:
    """Band-limited resampling of mono float32: soxr "HQ" (as avzoo.io.audio) if installed, else scipy."""
    if orig_rate == target_rate:
        return audio
    try:
        import soxr
    except ImportError:
        from scipy.signal import resample_poly

        ratio = Fraction(float(target_rate) / float(orig_rate)).limit_denominator(1000)
        out = resample_poly(audio, ratio.numerator, ratio.denominator).astype(np.float32)
    else:
        out = soxr.resample(audio, orig_rate, target_rate, quality="HQ")
    return np.clip(out, -1.0, 1.0).astype(np.float32, copy=False)


# --- log-mel (identical to avzoo.features.logmel) --------------------------------------------------------------


def frame_count(num_samples: int, sampling_rate: float, fps: float) -> int:
    """``ceil(num_samples * fps / sampling_rate)`` frames (exact multiples do not round up)."""
    return max(0, math.ceil(num_samples * fps / sampling_rate - 1e-9))


def frame_centers(t0: int, t1: int, sampling_rate: float, fps: float) -> np.ndarray:
    """Centre sample of frames ``t0 .. t1 - 1``: ``floor(t * sampling_rate / fps + 0.5)``."""
    return np.floor(np.arange(t0, t1, dtype=np.float64) * (sampling_rate / fps) + 0.5).astype(np.int64)


@lru_cache(maxsize=16)
def mel_filters(n_fft: int, n_mels: int, sampling_rate: float, f_min: float, f_max: float) -> torch.Tensor:
    """``(n_fft // 2 + 1, n_mels)`` Slaney mel filter bank (``transformers.audio_utils.mel_filter_bank``)."""
    from transformers.audio_utils import mel_filter_bank

    bank = mel_filter_bank(
        num_frequency_bins=n_fft // 2 + 1,
        num_mel_filters=n_mels,
        min_frequency=f_min,
        max_frequency=f_max,
        sampling_rate=round(sampling_rate),
        norm="slaney",
        mel_scale="slaney",
        dtype=np.float32,
    )
    return torch.from_numpy(np.ascontiguousarray(bank, dtype=np.float32))


class AvLipsyncFeatureExtractor(SequenceFeatureExtractor):
    """Raw audio → ``input_features`` (B, T, n_mels) normalised log-mel at ``fps``, plus ``attention_mask`` (B, T).

    Args:
        feature_size: mel bands (80).
        sampling_rate: the model's audio rate (16000); other input rates are resampled to it.
        fps: frames per second (30, the blendshape rate).
        padding_value: value of padded frames in a batch (0.0).
        win_length, n_fft, f_min, f_max, floor: log-mel settings (defaults: 2 hops = 1067 samples, n_fft =
            win_length, 0 Hz .. Nyquist, power floor 1e-10).
        mel_mean, mel_std: normalisation, a number or one value per mel bin.
        allow_silence: accept digitally silent clips (otherwise a ``ValueError``).
        max_clipped_fraction: reject clips with more samples than this at full scale (0.01).
        max_seconds: reject longer clips (None: no limit).
    """

    model_input_names: ClassVar[list[str]] = ["input_features", "attention_mask"]

    def __init__(
        self,
        feature_size: int = 80,
        sampling_rate: int = 16000,
        fps: float = 30,
        padding_value: float = 0.0,
        win_length: int | None = None,
        n_fft: int | None = None,
        f_min: float = 0.0,
        f_max: float | None = None,
        floor: float = 1e-10,
        mel_mean: float | Sequence[float] = DEFAULT_MEL_MEAN,
        mel_std: float | Sequence[float] = DEFAULT_MEL_STD,
        allow_silence: bool = False,
        max_clipped_fraction: float = DEFAULT_MAX_CLIPPED_FRACTION,
        max_seconds: float | None = None,
        return_attention_mask: bool = True,
        **kwargs,
    ):
        sampling_rate = validate_sampling_rate(sampling_rate)
        super().__init__(
            feature_size=feature_size,
            sampling_rate=sampling_rate,
            padding_value=padding_value,
            return_attention_mask=return_attention_mask,
            **kwargs,
        )
        if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 0 < fps <= 1000:
            raise ValueError(f"fps must be a number of frames per second in (0, 1000], got {fps!r}")
        self.fps = fps
        self.win_length = (
            int(win_length) if win_length is not None else max(2, round(2 * sampling_rate / fps))
        )
        self.n_fft = int(n_fft) if n_fft is not None else self.win_length
        if self.win_length < 2 or self.n_fft < self.win_length:
            raise ValueError(
                f"need win_length >= 2 and n_fft >= win_length, got {self.win_length}, {self.n_fft}"
            )
        if not isinstance(feature_size, int) or not 1 <= feature_size <= self.n_fft // 2 + 1:
            raise ValueError(
                f"feature_size (mel bands) must be in [1, {self.n_fft // 2 + 1}], got {feature_size!r}"
            )
        self.f_min = float(f_min)
        self.f_max = float(f_max) if f_max is not None else sampling_rate / 2
        if not 0.0 <= self.f_min < self.f_max <= sampling_rate / 2:
            raise ValueError(f"need 0 <= f_min < f_max <= {sampling_rate / 2:g} Hz, got {f_min}, {f_max}")
        if not floor > 0:
            raise ValueError(f"floor must be > 0, got {floor}")
        self.floor = float(floor)
        self.mel_mean = self._stat(mel_mean, "mel_mean")
        self.mel_std = self._stat(mel_std, "mel_std")
        if np.any(np.asarray(self.mel_std) <= 0):
            raise ValueError("mel_std must be > 0 in every mel bin")
        self.allow_silence = bool(allow_silence)
        if not 0.0 <= max_clipped_fraction <= 1.0:
            raise ValueError(f"max_clipped_fraction must be in [0, 1], got {max_clipped_fraction}")
        self.max_clipped_fraction = float(max_clipped_fraction)
        self.max_seconds = max_seconds

    def _stat(self, value: float | Sequence[float], name: str) -> float | list[float]:
        arr = np.asarray(value, dtype=np.float64)
        if arr.ndim == 0 and np.isfinite(arr):
            return float(arr)
        if arr.shape != (self.feature_size,) or not np.isfinite(arr).all():
            raise ValueError(
                f"{name} must be a finite number or {self.feature_size} finite values (one per mel bin)"
            )
        return [float(v) for v in arr]

    # --- frame geometry ----------------------------------------------------------------------------------------

    @property
    def left_context(self) -> int:
        """Samples before a frame's centre that it reads."""
        return self.win_length // 2

    @property
    def right_context(self) -> int:
        """Samples after a frame's centre that it reads: the streaming look-ahead of the features."""
        return self.win_length - self.win_length // 2 - 1

    @property
    def right_context_ms(self) -> float:
        return 1000.0 * self.right_context / self.sampling_rate

    def num_frames(self, num_samples: int) -> int:
        return frame_count(num_samples, self.sampling_rate, self.fps)

    # --- computation -------------------------------------------------------------------------------------------

    def frames_to_log_mel(self, frames: torch.Tensor) -> torch.Tensor:
        """``(..., win_length)`` raw sample windows → ``(..., n_mels)`` log-mel (not normalised)."""
        window = torch.hann_window(self.win_length, periodic=True, dtype=frames.dtype, device=frames.device)
        spec = torch.fft.rfft(frames * window, n=self.n_fft)
        power = spec.real.square() + spec.imag.square()
        bank = mel_filters(self.n_fft, self.feature_size, self.sampling_rate, self.f_min, self.f_max)
        return torch.log(torch.clamp(power @ bank.to(power.device, power.dtype), min=self.floor))

    def log_mel(self, audio: np.ndarray) -> np.ndarray:
        """Mono float32 audio at ``sampling_rate`` → ``(T, n_mels)`` log-mel, as ``avzoo.features.logmel.log_mel``."""
        n = len(audio)
        t = self.num_frames(n)
        starts = frame_centers(0, t, self.sampling_rate, self.fps)  # index into the left-padded signal
        padded = np.concatenate(
            [np.zeros(self.left_context, np.float32), audio, np.zeros(self.win_length, np.float32)]
        )
        pieces = []
        with torch.no_grad():
            for i in range(0, t, 4096):  # bounds memory on hour-long input
                idx = starts[i : i + 4096, None] + np.arange(self.win_length)[None, :]
                pieces.append(self.frames_to_log_mel(torch.from_numpy(padded[idx])).numpy())
        return np.concatenate(pieces).astype(np.float32, copy=False)

    def normalize(self, log_mel: np.ndarray) -> np.ndarray:
        mean = np.asarray(self.mel_mean, dtype=np.float32)
        std = np.asarray(self.mel_std, dtype=np.float32)
        return ((log_mel - mean) / std).astype(np.float32, copy=False)

    def prepare(self, audio: Any, sampling_rate: Any = None, name: str = "audio") -> np.ndarray:
        """Check, downmix and resample one clip to mono float32 at ``self.sampling_rate``."""
        rate = self.sampling_rate if sampling_rate is None else sampling_rate
        mono = check_audio(
            audio,
            rate,
            allow_silence=self.allow_silence,
            max_clipped_fraction=self.max_clipped_fraction,
            max_seconds=self.max_seconds,
            name=name,
        )
        return resample(mono, validate_sampling_rate(rate), self.sampling_rate)

    def _clips(self, raw_speech: Any) -> list[Any]:
        if isinstance(raw_speech, (list, tuple)):
            if len(raw_speech) == 0:
                raise ValueError(
                    "got an empty batch: pass a clip (array of samples) or a non-empty list of clips"
                )
            if all(np.isscalar(x) for x in raw_speech):
                return [np.asarray(raw_speech)]  # one clip given as a list of samples
            return list(raw_speech)
        if isinstance(raw_speech, (np.ndarray, torch.Tensor)):
            return [raw_speech]
        raise ValueError(
            f"raw_speech must be an array of samples or a list of them, got {type(raw_speech).__name__}"
        )

    def __call__(
        self,
        raw_speech: Any,
        sampling_rate: int | float | None = None,
        return_tensors: str | None = "pt",
        padding: bool | str = "longest",
        return_attention_mask: bool | None = None,
        normalize: bool = True,
        **kwargs,
    ) -> BatchFeature:
        """Features of one clip or a list of clips (a list is a batch; a 2-D array is one multi-channel clip).

        ``sampling_rate`` is the input's rate (resampled to 16 kHz when it differs); None means the input is
        already at ``self.sampling_rate``. Returns ``input_features`` (B, T, n_mels) and, unless disabled,
        ``attention_mask`` (B, T) with 1 on real frames; shorter clips are padded on the right.
        """
        if sampling_rate is None:
            logger.warning(
                "AvLipsyncFeatureExtractor: no sampling_rate given, assuming %s Hz; pass sampling_rate to "
                "avoid silent errors",
                self.sampling_rate,
            )
        clips = self._clips(raw_speech)
        features = []
        for i, clip in enumerate(clips):
            name = "audio" if len(clips) == 1 else f"audio[{i}]"
            mel = self.log_mel(self.prepare(clip, sampling_rate, name))
            features.append(self.normalize(mel) if normalize else mel)
        batch = BatchFeature({"input_features": features})
        mask = self.return_attention_mask if return_attention_mask is None else return_attention_mask
        return self.pad(batch, padding=padding, return_attention_mask=mask, return_tensors=return_tensors)

    def fit_normalization(self, clips: Iterable[Any], sampling_rate: int | float | None = None) -> None:
        """Set ``mel_mean``/``mel_std`` per mel bin from clips (e.g. the training audio); frames pool equally."""
        total = np.zeros(self.feature_size, np.float64)
        total_sq = np.zeros(self.feature_size, np.float64)
        count = 0
        for clip in clips:
            mel = self.log_mel(self.prepare(clip, sampling_rate)).astype(np.float64)
            total += mel.sum(0)
            total_sq += (mel**2).sum(0)
            count += len(mel)
        if count < 2:
            raise ValueError("fit_normalization needs at least 2 frames of audio")
        mean = total / count
        std = np.sqrt(np.maximum(total_sq / count - mean**2, 1e-6))
        self.mel_mean = [float(v) for v in mean]
        self.mel_std = [float(v) for v in std]

    def stream(self) -> AvLipsyncFeatureStream:
        """A stateful extractor for audio arriving in chunks (16 kHz mono; see :class:`AvLipsyncFeatureStream`)."""
        return AvLipsyncFeatureStream(self)


class AvLipsyncFeatureStream:
    """Incremental features: ``push(chunk)`` returns the frames completed by it, ``flush()`` the rest.

    Chunks are mono float32 (or integer PCM) at the extractor's rate, of any size. Frame ``t`` is returned by the
    ``push`` that delivers sample ``c_t + right_context``; the concatenated output equals the extractor's offline
    output on the whole signal. No silence or clipping checks here: a silent chunk is normal in a stream.
    """

    def __init__(self, extractor: AvLipsyncFeatureExtractor, normalize: bool = True):
        self.extractor = extractor
        self.normalize = normalize
        self._buffer = np.zeros(extractor.left_context, dtype=np.float32)  # starts with the left zero padding
        self._offset = -extractor.left_context  # sample index of _buffer[0]
        self._received = 0
        self._next = 0  # next frame to emit

    @property
    def samples_received(self) -> int:
        return self._received

    @property
    def frames_emitted(self) -> int:
        return self._next

    def _center(self, t: int) -> int:
        fe = self.extractor
        return int(frame_centers(t, t + 1, fe.sampling_rate, fe.fps)[0])

    def _emit(self, upto: int) -> np.ndarray:
        fe = self.extractor
        if upto <= self._next:
            return np.zeros((0, fe.feature_size), dtype=np.float32)
        starts = frame_centers(self._next, upto, fe.sampling_rate, fe.fps) - fe.left_context - self._offset
        need = int(starts[-1]) + fe.win_length
        buf = self._buffer
        if need > len(buf):  # only at flush: zeros after the end of the signal
            buf = np.concatenate([buf, np.zeros(need - len(buf), np.float32)])
        with torch.no_grad():
            frames = torch.from_numpy(buf[starts[:, None] + np.arange(fe.win_length)[None, :]])
            out = fe.frames_to_log_mel(frames).numpy().astype(np.float32, copy=False)
        self._next = upto
        keep_from = max(0, min(self._center(upto) - fe.left_context - self._offset, len(self._buffer)))
        self._buffer = self._buffer[keep_from:]
        self._offset += keep_from
        return fe.normalize(out) if self.normalize else out

    def push(self, chunk: Any) -> np.ndarray:
        """Add samples; returns ``(k, n_mels)`` for the frames that became complete (k may be 0)."""
        arr = to_float32(chunk, "chunk")
        if arr.ndim != 1:
            raise ValueError(f"chunk must be 1-D mono samples, got shape {arr.shape}")
        if not np.isfinite(arr).all():
            raise ValueError("chunk contains NaN/inf samples; audio must be finite")
        self._buffer = np.concatenate([self._buffer, arr])
        self._received += len(arr)
        last = self._received - 1 - self.extractor.right_context  # frames centred up to here are complete
        ready = self._next
        while self._center(ready) <= last:
            ready += 1
        return self._emit(ready)

    def flush(self) -> np.ndarray:
        """End of stream: the remaining frames (their windows are zero-padded on the right)."""
        return self._emit(self.extractor.num_frames(self._received))


__all__ = [
    "AudioClippingWarning",
    "AvLipsyncFeatureExtractor",
    "AvLipsyncFeatureStream",
    "check_audio",
    "resample",
    "to_float32",
    "validate_sampling_rate",
]
