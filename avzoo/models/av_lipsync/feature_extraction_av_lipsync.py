"""Feature extractor of av-lipsync: raw audio (any rate, any channel count) → normalised log-mel at 30 fps.

The audio checks are :func:`avzoo.io.audio.prepare_audio` and the log-mel is :class:`avzoo.features.logmel.LogMel`
(frame rule, window and Slaney filter bank are documented there); this class adds the per-bin normalisation
``(log_mel - mel_mean) / mel_std`` with statistics saved in ``preprocessor_config.json`` (defaults -8 and 4,
about the mean and spread of LibriSpeech speech; :meth:`AvLipsyncFeatureExtractor.fit_normalization` fits them),
batching with right padding, and an incremental stream. A Hub copy gets those modules vendored beside it
(``avzoo.hub.vendor``).

Inputs: one clip is a 1-D array (samples) or a 2-D array (channels, samples) or (samples, channels) -- the axis
with at most 16 entries is the channel axis; channels are averaged. A batch is a *list* of clips. Integer PCM is
scaled to [-1, 1]. Other rates are resampled to 16 kHz with soxr ("HQ").
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from transformers import BatchFeature, SequenceFeatureExtractor

from avzoo.arkit import BLENDSHAPE_FPS
from avzoo.features.logmel import LogMel, LogMelStream
from avzoo.io.audio import DEFAULT_MAX_CLIPPED_FRACTION, audio_batch, prepare_audio, validate_sampling_rate

logger = logging.getLogger(__name__)

DEFAULT_MEL_MEAN = -8.0
DEFAULT_MEL_STD = 4.0


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
        fps: float = BLENDSHAPE_FPS,
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
        sampling_rate = int(sampling_rate) if float(sampling_rate).is_integer() else sampling_rate
        super().__init__(
            feature_size=feature_size,
            sampling_rate=sampling_rate,
            padding_value=padding_value,
            return_attention_mask=return_attention_mask,
            **kwargs,
        )
        # LogMel checks fps, the window, the band edges and the floor, with messages naming the accepted range.
        self._log_mel = LogMel(sampling_rate, fps, feature_size, win_length, n_fft, f_min, f_max, floor)
        self.fps = fps
        self.win_length = self._log_mel.win_length
        self.n_fft = self._log_mel.n_fft
        self.f_min = self._log_mel.f_min
        self.f_max = self._log_mel.f_max
        self.floor = self._log_mel.floor
        self.mel_mean = self._stat(mel_mean, "mel_mean")
        self.mel_std = self._stat(mel_std, "mel_std")
        if np.any(np.asarray(self.mel_std) <= 0):
            raise ValueError("mel_std must be > 0 in every mel bin")
        self.allow_silence = bool(allow_silence)
        if not 0.0 <= max_clipped_fraction <= 1.0:
            raise ValueError(f"max_clipped_fraction must be in [0, 1], got {max_clipped_fraction}")
        self.max_clipped_fraction = float(max_clipped_fraction)
        self.max_seconds = max_seconds

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out.pop("_log_mel", None)  # derived from the saved settings
        return out

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
        return self._log_mel.left_context

    @property
    def right_context(self) -> int:
        """Samples after a frame's centre that it reads: the streaming look-ahead of the features."""
        return self._log_mel.right_context

    @property
    def right_context_ms(self) -> float:
        return 1000.0 * self.right_context / self.sampling_rate

    def num_frames(self, num_samples: int) -> int:
        return self._log_mel.num_frames(num_samples)

    # --- computation -------------------------------------------------------------------------------------------

    def frames_to_log_mel(self, frames: torch.Tensor) -> torch.Tensor:
        """``(..., win_length)`` raw sample windows → ``(..., n_mels)`` log-mel (not normalised)."""
        return self._log_mel.frames_to_log_mel(frames)

    def log_mel(self, audio: np.ndarray) -> np.ndarray:
        """Mono float32 audio at ``sampling_rate`` → ``(T, n_mels)`` log-mel (not normalised)."""
        return self._log_mel(audio)

    def normalize(self, log_mel: np.ndarray) -> np.ndarray:
        mean = np.asarray(self.mel_mean, dtype=np.float32)
        std = np.asarray(self.mel_std, dtype=np.float32)
        return ((log_mel - mean) / std).astype(np.float32, copy=False)

    def prepare(self, audio: Any, sampling_rate: Any = None, name: str = "audio") -> np.ndarray:
        """Check, downmix and resample one clip to mono float32 at ``self.sampling_rate``."""
        return prepare_audio(
            audio,
            self.sampling_rate if sampling_rate is None else sampling_rate,
            self.sampling_rate,
            self.max_seconds,
            max_clipped_fraction=self.max_clipped_fraction,
            allow_silence=self.allow_silence,
            name=name,
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
        clips = audio_batch(raw_speech)
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
        self._stream = LogMelStream(extractor._log_mel)
        self._received = 0

    @property
    def samples_received(self) -> int:
        return self._received

    @property
    def frames_emitted(self) -> int:
        return self._stream.frames_emitted

    def _out(self, log_mel: np.ndarray) -> np.ndarray:
        return self.extractor.normalize(log_mel) if self.normalize else log_mel

    def push(self, chunk: Any) -> np.ndarray:
        """Add samples; returns ``(k, n_mels)`` for the frames that became complete (k may be 0)."""
        out = self._stream.push(chunk)
        self._received += int(np.asarray(chunk).shape[0])
        return self._out(out)

    def flush(self) -> np.ndarray:
        """End of stream: the remaining frames (their windows are zero-padded on the right)."""
        return self._out(self._stream.flush())


__all__ = ["AvLipsyncFeatureExtractor", "AvLipsyncFeatureStream"]
