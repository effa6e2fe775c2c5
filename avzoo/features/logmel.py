"""Log-mel spectrograms at a model's frame rate (30 fps by default), offline, batched or streaming.

Frame rule. For ``N`` samples at rate ``sr`` and frame rate ``fps`` there are
``T = ceil(N * fps / sr)`` frames (:func:`frame_count`): one per video frame whose time ``t / fps`` falls
inside the audio. Frame ``t`` is centred on sample ``c_t = floor(t * sr / fps + 0.5)`` (:func:`frame_centers`),
so the fractional hop of 533.33 samples at 16 kHz / 30 fps never drifts. It analyses the ``win_length``
samples ``c_t - win_length // 2 ... c_t + right_context`` (Hann window, zeros outside the audio), where
``right_context = win_length - win_length // 2 - 1`` (533 samples, 33 ms, with the 30 fps defaults).
So frame ``t`` can be emitted as soon as sample ``c_t + right_context`` has arrived; :class:`LogMelStream`
does exactly that and matches the offline result.

Values are ``log(max(mel_power, floor))`` of the power spectrum through a Slaney-style mel filter bank
(``transformers.audio_utils.mel_filter_bank``), with no per-utterance normalisation, so streaming and
offline frames are identical.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np
import torch

from avzoo.arkit import BLENDSHAPE_FPS
from avzoo.features.frames import frame_centers, frame_centers_range, frame_count, validate_fps
from avzoo.io.audio import DEFAULT_SAMPLING_RATE, to_float32, validate_sampling_rate

__all__ = [
    "LogMel",
    "LogMelStream",
    "frame_centers",
    "frame_count",
    "log_mel",
    "log_mel_torch",
    "validate_fps",
]

DEFAULT_FPS = BLENDSHAPE_FPS
DEFAULT_N_MELS = 80
DEFAULT_FLOOR = 1e-10
#: Frames per FFT batch in the offline path: bounds memory on hour-long inputs.
_CHUNK_FRAMES = 4096


@lru_cache(maxsize=32)
def _mel_basis(n_fft: int, n_mels: int, sampling_rate: float, f_min: float, f_max: float) -> np.ndarray:
    from transformers.audio_utils import mel_filter_bank

    return mel_filter_bank(
        num_frequency_bins=n_fft // 2 + 1,
        num_mel_filters=n_mels,
        min_frequency=f_min,
        max_frequency=f_max,
        sampling_rate=round(sampling_rate),
        norm="slaney",
        mel_scale="slaney",
        dtype=np.float32,
    ).astype(np.float32)


class LogMel:
    """Log-mel settings plus the cached window and filter bank; call it on audio.

    Args:
        sampling_rate: audio rate in Hz (16000 by convention).
        fps: output frames per second (30 for blendshapes).
        n_mels: mel bands.
        win_length: analysis window in samples; default ``round(2 * sampling_rate / fps)`` (two hops,
            so consecutive Hann windows overlap by half and every sample is covered).
        n_fft: FFT size, at least ``win_length``; default ``win_length``.
        f_min, f_max: mel band edges in Hz (``f_max`` defaults to ``sampling_rate / 2``).
        floor: power floor before the log (``log(1e-10) = -23.0`` is the value of silence).
    """

    def __init__(
        self,
        sampling_rate: int = DEFAULT_SAMPLING_RATE,
        fps: float = DEFAULT_FPS,
        n_mels: int = DEFAULT_N_MELS,
        win_length: int | None = None,
        n_fft: int | None = None,
        f_min: float = 0.0,
        f_max: float | None = None,
        floor: float = DEFAULT_FLOOR,
    ):
        self.sampling_rate = validate_sampling_rate(sampling_rate)
        self.fps = validate_fps(fps)
        self.win_length = (
            int(win_length) if win_length is not None else max(2, round(2 * self.sampling_rate / self.fps))
        )
        if self.win_length < 2:
            raise ValueError(f"win_length must be at least 2 samples, got {win_length}")
        self.n_fft = int(n_fft) if n_fft is not None else self.win_length
        if self.n_fft < self.win_length:
            raise ValueError(f"n_fft ({self.n_fft}) must be >= win_length ({self.win_length})")
        n_bins = self.n_fft // 2 + 1
        if not isinstance(n_mels, (int, np.integer)) or not 1 <= n_mels <= n_bins:
            raise ValueError(
                f"n_mels must be an integer in [1, {n_bins}] for n_fft={self.n_fft}, got {n_mels!r}"
            )
        self.n_mels = int(n_mels)
        nyquist = self.sampling_rate / 2
        self.f_max = float(f_max) if f_max is not None else nyquist
        self.f_min = float(f_min)
        if not 0.0 <= self.f_min < self.f_max <= nyquist:
            raise ValueError(f"need 0 <= f_min < f_max <= {nyquist:g} Hz, got f_min={f_min}, f_max={f_max}")
        if not floor > 0:
            raise ValueError(f"floor must be > 0, got {floor}")
        self.floor = float(floor)
        self.mel_basis = _mel_basis(self.n_fft, self.n_mels, self.sampling_rate, self.f_min, self.f_max)

    @property
    def left_context(self) -> int:
        """Samples before a frame's centre sample that the frame reads."""
        return self.win_length // 2

    @property
    def right_context(self) -> int:
        """Samples after a frame's centre sample that the frame reads (the streaming look-ahead)."""
        return self.win_length - self.win_length // 2 - 1

    def num_frames(self, num_samples: int) -> int:
        return frame_count(num_samples, self.sampling_rate, self.fps)

    def centers(self, num_frames: int) -> np.ndarray:
        return frame_centers(num_frames, self.sampling_rate, self.fps)

    def frames_to_log_mel(self, frames: torch.Tensor) -> torch.Tensor:
        """``(..., win_length)`` raw sample frames -> ``(..., n_mels)`` log-mel (differentiable)."""
        window = torch.hann_window(self.win_length, periodic=True, dtype=frames.dtype, device=frames.device)
        spec = torch.fft.rfft(frames * window, n=self.n_fft)
        power = spec.real.square() + spec.imag.square()
        basis = torch.as_tensor(self.mel_basis, dtype=power.dtype, device=power.device)
        return torch.log(torch.clamp(power @ basis, min=self.floor))

    def tensor(self, waveform: torch.Tensor) -> torch.Tensor:
        """``(N,)`` or ``(B, N)`` float tensor -> ``(T, n_mels)`` or ``(B, T, n_mels)``; keeps device and grad."""
        if not isinstance(waveform, torch.Tensor):
            raise ValueError(f"waveform must be a torch.Tensor, got {type(waveform).__name__}")
        if waveform.ndim not in (1, 2) or waveform.shape[-1] == 0:
            raise ValueError(
                f"waveform must be (samples,) or (batch, samples) with samples > 0, got {tuple(waveform.shape)}"
            )
        if not waveform.is_floating_point():
            raise ValueError(f"waveform must be a float tensor in [-1, 1], got dtype {waveform.dtype}")
        squeeze = waveform.ndim == 1
        x = waveform[None] if squeeze else waveform
        n = x.shape[-1]
        t = self.num_frames(n)
        starts = torch.as_tensor(self.centers(t), device=x.device)  # index into the left-padded signal
        padded = torch.nn.functional.pad(x, (self.left_context, self.win_length))
        offsets = torch.arange(self.win_length, device=x.device)
        pieces = []
        for i in range(0, t, _CHUNK_FRAMES):
            idx = starts[i : i + _CHUNK_FRAMES, None] + offsets[None, :]
            pieces.append(self.frames_to_log_mel(padded[:, idx]))
        out = torch.cat(pieces, dim=1)
        return out[0] if squeeze else out

    def __call__(self, audio: Any) -> np.ndarray:
        """``(N,)`` or ``(B, N)`` audio -> float32 ``(T, n_mels)`` or ``(B, T, n_mels)``."""
        arr = _check_array(audio)
        with torch.no_grad():
            return (
                self.tensor(torch.from_numpy(np.ascontiguousarray(arr)))
                .numpy()
                .astype(np.float32, copy=False)
            )

    def stream(self) -> LogMelStream:
        return LogMelStream(self)


def _check_array(audio: Any) -> np.ndarray:
    arr = to_float32(audio)
    if arr.ndim not in (1, 2):
        raise ValueError(f"audio must be 1-D (samples) or 2-D (batch, samples), got shape {arr.shape}")
    if arr.shape[-1] == 0:
        raise ValueError(f"audio is empty (shape {arr.shape}); it needs at least one sample")
    if not np.isfinite(arr).all():
        raise ValueError("audio contains NaN/inf samples; audio must be finite")
    return arr


class LogMelStream:
    """Incremental log-mel: ``push(chunk)`` returns the frames completed by it, ``flush()`` the rest.

    Concatenating all outputs equals :meth:`LogMel.__call__` on the whole signal. Frame ``t`` is returned
    by the ``push`` that delivers sample ``c_t + right_context``.
    """

    def __init__(self, log_mel: LogMel):
        self.log_mel = log_mel
        # The buffer starts with the left zero padding, so buffer index = sample index + left_context.
        self._buffer = np.zeros(log_mel.left_context, dtype=np.float32)
        self._offset = -log_mel.left_context  # sample index of _buffer[0]
        self._received = 0
        self._next = 0  # next frame to emit

    @property
    def frames_emitted(self) -> int:
        return self._next

    def _emit(self, upto: int) -> np.ndarray:
        lm = self.log_mel
        if upto <= self._next:
            return np.zeros((0, lm.n_mels), dtype=np.float32)
        centers = frame_centers_range(self._next, upto, lm.sampling_rate, lm.fps)
        starts = centers - lm.left_context - self._offset
        need = int(starts[-1]) + lm.win_length
        buf = self._buffer
        if need > len(buf):  # only at flush: zeros after the end of the signal
            buf = np.concatenate([buf, np.zeros(need - len(buf), np.float32)])
        frames = buf[starts[:, None] + np.arange(lm.win_length)[None, :]]
        with torch.no_grad():
            out = lm.frames_to_log_mel(torch.from_numpy(frames)).numpy().astype(np.float32, copy=False)
        self._next = upto
        # Drop samples no later frame will read.
        keep_from = (
            int(frame_centers_range(upto, upto + 1, lm.sampling_rate, lm.fps)[0])
            - lm.left_context
            - self._offset
        )
        keep_from = max(0, min(keep_from, len(self._buffer)))
        self._buffer = self._buffer[keep_from:]
        self._offset += keep_from
        return out

    def push(self, chunk: Any) -> np.ndarray:
        """Add samples; returns ``(k, n_mels)`` for the frames that became complete (k may be 0)."""
        arr = to_float32(chunk, "chunk")
        if arr.ndim != 1:
            raise ValueError(f"chunk must be 1-D samples, got shape {arr.shape}")
        if not np.isfinite(arr).all():
            raise ValueError("chunk contains NaN/inf samples; audio must be finite")
        self._buffer = np.concatenate([self._buffer, arr])
        self._received += len(arr)
        lm = self.log_mel
        # Frame t is ready once sample c_t + right_context exists, i.e. c_t <= received - 1 - right_context.
        last_ready = self._received - 1 - lm.right_context
        ready = self._next
        # Estimate, then settle with the exact centre rule (float rounding can be off by one).
        if last_ready >= 0:
            ready = max(ready, math.ceil((last_ready + 0.5) * lm.fps / lm.sampling_rate) - 1)
        while (
            ready > self._next
            and frame_centers_range(ready - 1, ready, lm.sampling_rate, lm.fps)[0] > last_ready
        ):
            ready -= 1
        while frame_centers_range(ready, ready + 1, lm.sampling_rate, lm.fps)[0] <= last_ready:
            ready += 1
        return self._emit(ready)

    def flush(self) -> np.ndarray:
        """End of stream: returns the remaining frames (their windows are zero-padded on the right)."""
        return self._emit(self.log_mel.num_frames(self._received))


def log_mel(
    audio: Any,
    sampling_rate: int = DEFAULT_SAMPLING_RATE,
    fps: float = DEFAULT_FPS,
    n_mels: int = DEFAULT_N_MELS,
    win_length: int | None = None,
    n_fft: int | None = None,
    f_min: float = 0.0,
    f_max: float | None = None,
    floor: float = DEFAULT_FLOOR,
) -> np.ndarray:
    """Log-mel spectrogram at ``fps`` frames per second: ``(T, n_mels)`` float32, ``T = ceil(N * fps / sr)``.

    ``audio`` is ``(N,)`` or a batch ``(B, N)`` (then ``(B, T, n_mels)``). See the module docstring for the
    frame rule and :class:`LogMel` for the parameters.
    """
    return LogMel(sampling_rate, fps, n_mels, win_length, n_fft, f_min, f_max, floor)(audio)


def log_mel_torch(
    waveform: torch.Tensor,
    sampling_rate: int = DEFAULT_SAMPLING_RATE,
    fps: float = DEFAULT_FPS,
    n_mels: int = DEFAULT_N_MELS,
    win_length: int | None = None,
    n_fft: int | None = None,
    f_min: float = 0.0,
    f_max: float | None = None,
    floor: float = DEFAULT_FLOOR,
) -> torch.Tensor:
    """Torch version of :func:`log_mel`: ``(N,)``/``(B, N)`` tensor in, ``(T, n_mels)``/``(B, T, n_mels)`` out.

    Runs on the tensor's device and is differentiable.
    """
    return LogMel(sampling_rate, fps, n_mels, win_length, n_fft, f_min, f_max, floor).tensor(waveform)
