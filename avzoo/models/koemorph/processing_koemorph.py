"""Processor of koemorph: raw audio → the two streams' inputs; model outputs → blendshape tracks.

``processor(audio, sampling_rate=...)`` gives ``input_features`` (B, T, 80), normalised log-mel at 30 fps,
``emotion_features`` (B, T, 264), normalised eGeMAPS v02 functionals at the three window ends of each frame, and
``attention_mask`` (B, T). ``processor.post_process_blendshapes(outputs, style=..., life=...)`` turns the output into
clipped ``(T, 52)`` tracks. The pipeline, the app, the evaluation and the scripts all go through these two calls.

Audio checks (empty, silent, clipped, NaN, too long, wrong shape), down-mixing and resampling are
:func:`avzoo.io.audio.prepare_audio`, the same checks av-lipsync's processor makes, with the same messages.

eGeMAPS windows (:func:`avzoo.features.egemaps.egemaps_windows`, one openSMILE pass per clip): window ends lie on a
grid every ``emotion_hop`` seconds (0, 0.3, 0.6, ...). Frame ``t`` (centred at ``t / fps``) takes the latest grid
point ``k`` at or before its own end, ``(t + 0.5) / fps``, and concatenates the windows ending at grid points
``k - s`` for each ``s`` in the config's ``window_steps`` (ends before the start use grid point 0, a window of pure
leading silence). Each window covers the last ``emotion_context`` seconds, clipped to ``emotion_padding`` seconds
of digital silence before the clip. The 88 values are normalised with ``egemaps_mean``/``egemaps_std`` (fitted on
training audio by :meth:`KoemorphProcessor.fit_normalization`) and clipped to +-``egemaps_clip``: a few
``*_stddevNorm`` functionals are ratios with a near-zero mean and take extreme values on single windows.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
from transformers import BatchFeature, SequenceFeatureExtractor

from avzoo.animation.style import PerformerStyle
from avzoo.animation.tracks import finish_tracks
from avzoo.arkit import ARKIT_NAMES, BLENDSHAPE_FPS
from avzoo.features.egemaps import EGEMAPS_NAMES, egemaps_windows
from avzoo.features.logmel import LogMel
from avzoo.io.audio import DEFAULT_MAX_CLIPPED_FRACTION, audio_batch, prepare_audio, validate_sampling_rate

logger = logging.getLogger(__name__)

DEFAULT_MEL_MEAN = -8.0
DEFAULT_MEL_STD = 4.0
#: Bound on normalised eGeMAPS values (in standard deviations).
DEFAULT_EGEMAPS_CLIP = 6.0


class KoemorphProcessor(SequenceFeatureExtractor):
    """Audio → ``input_features`` + ``emotion_features`` + ``attention_mask``; outputs → tracks (module docstring).

    Args:
        feature_size (80): mel bands. sampling_rate (16000), fps (30): audio rate (inputs are resampled to it) and
            frame rate.
        mel_mean, mel_std: log-mel normalisation, a number or one value per mel bin.
        use_emotion_stream (True): compute ``emotion_features`` (False for the mel-only ablation model).
        window_intervals, emotion_context, emotion_hop, emotion_padding, backend: the eGeMAPS windows (copied from
            the model config by :meth:`for_config`).
        egemaps_mean, egemaps_std: normalisation of the 88 functionals (None: 0 and 1); egemaps_clip (6.0).
        allow_silence (False), max_clipped_fraction (0.01), max_seconds (None): the audio checks.
        blendshape_names: output channel order (the 52 ARKit names).
    """

    model_input_names: ClassVar[list[str]] = ["input_features", "emotion_features", "attention_mask"]

    def __init__(
        self,
        feature_size: int = 80,
        sampling_rate: int = 16000,
        fps: float = BLENDSHAPE_FPS,
        padding_value: float = 0.0,
        mel_mean: float | Sequence[float] = DEFAULT_MEL_MEAN,
        mel_std: float | Sequence[float] = DEFAULT_MEL_STD,
        use_emotion_stream: bool = True,
        window_intervals: Sequence[float] = (0.0, 0.3, 0.6),
        emotion_context: float = 20.0,
        emotion_hop: float = 0.3,
        emotion_padding: float = 0.5,
        backend: str = "opensmile",
        egemaps_mean: Sequence[float] | None = None,
        egemaps_std: Sequence[float] | None = None,
        egemaps_clip: float = DEFAULT_EGEMAPS_CLIP,
        allow_silence: bool = False,
        max_clipped_fraction: float = DEFAULT_MAX_CLIPPED_FRACTION,
        max_seconds: float | None = None,
        blendshape_names: Sequence[str] | None = None,
        return_attention_mask: bool = True,
        **kwargs: Any,
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
        self._log_mel = LogMel(sampling_rate, fps, feature_size)
        self.fps = float(fps)
        self.mel_mean = self._stat(mel_mean, feature_size, "mel_mean", scalar_ok=True)
        self.mel_std = self._stat(mel_std, feature_size, "mel_std", scalar_ok=True)
        if np.any(np.asarray(self.mel_std) <= 0):
            raise ValueError("mel_std must be > 0 in every mel bin")
        self.use_emotion_stream = bool(use_emotion_stream)
        self.window_intervals = [float(w) for w in window_intervals]
        self.emotion_context = float(emotion_context)
        self.emotion_hop = float(emotion_hop)
        self.emotion_padding = float(emotion_padding)
        if backend not in ("opensmile", "numpy"):
            raise ValueError(f"backend must be 'opensmile' or 'numpy', got {backend!r}")
        self.backend = backend
        steps = [w / self.emotion_hop for w in self.window_intervals]
        if not steps or any(s < -1e-9 or abs(s - round(s)) > 1e-6 for s in steps):
            raise ValueError(
                f"window_intervals must be non-empty multiples >= 0 of emotion_hop ({self.emotion_hop} s), "
                f"got {self.window_intervals}"
            )
        self.window_steps = [round(s) for s in steps]
        dim = len(EGEMAPS_NAMES)
        self.egemaps_mean = None if egemaps_mean is None else self._stat(egemaps_mean, dim, "egemaps_mean")
        self.egemaps_std = None if egemaps_std is None else self._stat(egemaps_std, dim, "egemaps_std")
        if self.egemaps_std is not None and np.any(np.asarray(self.egemaps_std) <= 0):
            raise ValueError("egemaps_std must be > 0 for every functional")
        if not egemaps_clip > 0:
            raise ValueError(f"egemaps_clip must be > 0, got {egemaps_clip}")
        self.egemaps_clip = float(egemaps_clip)
        self.allow_silence = bool(allow_silence)
        if not 0.0 <= max_clipped_fraction <= 1.0:
            raise ValueError(f"max_clipped_fraction must be in [0, 1], got {max_clipped_fraction}")
        self.max_clipped_fraction = float(max_clipped_fraction)
        self.max_seconds = max_seconds
        self.blendshape_names = list(blendshape_names or ARKIT_NAMES)

    @classmethod
    def for_config(cls, config: Any, **kwargs: Any) -> KoemorphProcessor:
        """A processor whose feature settings match a :class:`KoemorphConfig`."""
        settings = {
            "feature_size": config.n_mels,
            "sampling_rate": config.sampling_rate,
            "fps": config.fps,
            "use_emotion_stream": config.use_emotion_stream,
            "window_intervals": config.window_intervals,
            "emotion_context": config.emotion_context,
            "emotion_hop": config.emotion_hop,
            "emotion_padding": config.emotion_padding,
            "backend": config.backend,
            "blendshape_names": config.blendshape_names,
        }
        return cls(**{**settings, **kwargs})

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out.pop("_log_mel", None)  # derived from the saved settings
        out.pop("window_steps", None)
        return out

    @staticmethod
    def _stat(value: Any, size: int, name: str, scalar_ok: bool = False) -> float | list[float]:
        arr = np.asarray(value, dtype=np.float64)
        if scalar_ok and arr.ndim == 0 and np.isfinite(arr):
            return float(arr)
        if arr.shape != (size,) or not np.isfinite(arr).all():
            raise ValueError(f"{name} must be {size} finite values" + (" or one number" if scalar_ok else ""))
        return [float(v) for v in arr]

    # --- features ------------------------------------------------------------------------------------------------

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

    def raw_log_mel(self, audio: np.ndarray) -> np.ndarray:
        """``(T, n_mels)`` log-mel of mono audio at ``sampling_rate``, not normalised."""
        return self._log_mel(audio)

    def normalize_mel(self, mel: np.ndarray) -> np.ndarray:
        """``(mel - mel_mean) / mel_std`` as float32."""
        mean = np.asarray(self.mel_mean, dtype=np.float32)
        std = np.asarray(self.mel_std, dtype=np.float32)
        return ((np.asarray(mel, np.float32) - mean) / std).astype(np.float32, copy=False)

    def log_mel(self, audio: np.ndarray) -> np.ndarray:
        """Normalised ``(T, n_mels)`` log-mel of mono audio at ``sampling_rate``."""
        return self.normalize_mel(self.raw_log_mel(audio))

    def egemaps_grid(self, audio: np.ndarray) -> np.ndarray:
        """Raw eGeMAPS functionals ``(K + 1, 88)`` of the windows ending at ``0, hop, ..., K * hop`` seconds."""
        duration = len(audio) / self.sampling_rate
        ends = np.arange(int(np.floor(duration / self.emotion_hop + 1e-9)) + 1) * self.emotion_hop
        ends = np.minimum(ends, duration)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # clipping or near-silence in training audio
            values = egemaps_windows(
                audio,
                ends,
                context=self.emotion_context,
                sampling_rate=self.sampling_rate,
                method=self.backend,
                padding=self.emotion_padding,
            )
        return np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)

    def frame_grid_index(self, num_frames: int, num_samples: int) -> np.ndarray:
        """(T,) the grid point each frame reads: the latest window end at or before the frame's own end."""
        duration = num_samples / self.sampling_rate
        ends = np.minimum((np.arange(num_frames) + 0.5) / self.fps, duration)
        return np.floor(ends / self.emotion_hop + 1e-9).astype(np.int64)

    def normalize_egemaps(self, values: np.ndarray) -> np.ndarray:
        mean = 0.0 if self.egemaps_mean is None else np.asarray(self.egemaps_mean, np.float32)
        std = 1.0 if self.egemaps_std is None else np.asarray(self.egemaps_std, np.float32)
        return np.clip((values - mean) / std, -self.egemaps_clip, self.egemaps_clip).astype(np.float32)

    def emotion_frames(self, grid: np.ndarray, num_frames: int, num_samples: int) -> np.ndarray:
        """Normalised grid values ``(K + 1, 88)`` → ``(T, 88 * len(window_steps))`` per-frame emotion features."""
        k = np.minimum(self.frame_grid_index(num_frames, num_samples), len(grid) - 1)
        parts = [grid[np.maximum(k - s, 0)] for s in self.window_steps]
        return np.concatenate(parts, axis=-1).astype(np.float32, copy=False)

    def features(self, audio: np.ndarray) -> dict[str, np.ndarray]:
        """Both streams of one prepared clip: ``input_features`` (T, 80) and ``emotion_features`` (T, 264)."""
        mel = self.log_mel(audio)
        out = {"input_features": mel}
        if self.use_emotion_stream:
            grid = self.normalize_egemaps(self.egemaps_grid(audio))
            out["emotion_features"] = self.emotion_frames(grid, len(mel), len(audio))
        return out

    def __call__(
        self,
        raw_speech: Any,
        sampling_rate: int | float | None = None,
        return_tensors: str | None = "pt",
        emotion: Any = None,
        intensity: Any = 1.0,
        padding: bool | str = "longest",
        **kwargs: Any,
    ) -> BatchFeature:
        """Features of one clip or a list of clips (a list is a batch), right-padded, with ``attention_mask``.

        ``sampling_rate`` is the input's rate (resampled when it differs; None assumes ``self.sampling_rate``).
        koemorph hears the emotion in the voice: an ``emotion`` (or an intensity other than the default) is refused,
        because it cannot act. (The ``"audio-to-blendshapes"`` pipeline passes both for av-lipsync.)
        """
        if emotion is not None or (intensity is not None and intensity != 1.0):
            raise ValueError(
                "koemorph hears the emotion in the voice and takes no emotion/intensity condition; leave them "
                "unset (av-lipsync takes them)"
            )
        if padding not in (True, "longest"):
            raise ValueError(
                f"padding must be 'longest' (clips are right-padded to the longest), got {padding!r}"
            )
        if kwargs:
            raise ValueError(f"unknown option(s) {sorted(kwargs)}")
        if sampling_rate is None:
            logger.warning(
                "KoemorphProcessor: no sampling_rate given, assuming %s Hz; pass sampling_rate to avoid silent "
                "errors",
                self.sampling_rate,
            )
        clips = audio_batch(raw_speech)
        items = []
        for i, clip in enumerate(clips):
            name = "audio" if len(clips) == 1 else f"audio[{i}]"
            items.append(self.features(self.prepare(clip, sampling_rate, name)))
        return self.collate(items, return_tensors)

    def collate(self, items: list[dict[str, np.ndarray]], return_tensors: str | None = "pt") -> BatchFeature:
        """Right-pad per-clip feature dicts (from :meth:`features`) to a batch with ``attention_mask``."""
        lengths = [len(item["input_features"]) for item in items]
        t = max(lengths)
        batch: dict[str, Any] = {}
        for key in items[0]:
            width = items[0][key].shape[-1]
            out = np.full((len(items), t, width), self.padding_value, np.float32)
            for i, item in enumerate(items):
                out[i, : lengths[i]] = item[key]
            batch[key] = out
        mask = np.zeros((len(items), t), np.int64)
        for i, n in enumerate(lengths):
            mask[i, :n] = 1
        batch["attention_mask"] = mask
        return BatchFeature(batch, tensor_type=return_tensors)

    def fit_normalization(self, clips: Iterable[Any], sampling_rate: int | float | None = None) -> None:
        """Fit the log-mel (per bin) and eGeMAPS (per functional) statistics on clips, e.g. training audio."""
        mels, grids = [], []
        for clip in clips:
            audio = self.prepare(clip, sampling_rate)
            mels.append(self.raw_log_mel(audio).astype(np.float64))
            if self.use_emotion_stream:
                grids.append(self.egemaps_grid(audio).astype(np.float64))
        mel = np.concatenate(mels) if mels else np.zeros((0, self.feature_size))
        if len(mel) < 2:
            raise ValueError("fit_normalization needs at least 2 frames of audio")
        self.mel_mean = [float(v) for v in mel.mean(0)]
        self.mel_std = [float(v) for v in np.maximum(mel.std(0), 1e-3)]
        if grids:
            grid = np.concatenate(grids)
            self.egemaps_mean = [float(v) for v in grid.mean(0)]
            # A floor relative to the mean keeps near-constant functionals from blowing up.
            floor = np.maximum(1e-3, 1e-3 * np.abs(grid.mean(0)))
            self.egemaps_std = [float(v) for v in np.maximum(grid.std(0), floor)]

    # --- outputs -------------------------------------------------------------------------------------------------

    def post_process_blendshapes(
        self,
        outputs: Any,
        attention_mask: Any = None,
        crisp_mouth: bool | Mapping[str, Any] = False,
        style: PerformerStyle | str | Mapping[str, Any] | None = None,
        life: bool | int = False,
        phone_logits: Any = None,
    ) -> list[np.ndarray]:
        """Model outputs → one float32 ``(T_i, 52)`` track per clip, clipped to [0, 1].

        ``outputs`` is a model output with ``.blendshapes`` (B, T, 52), or that tensor; ``attention_mask`` (B, T)
        trims each track to its real frames. ``style`` (a performer's calibration from ``avzoo calibrate``) and
        ``life`` (False, True or an int seed: blinks and brow raises) work as for every speech-to-blendshape
        family (:func:`avzoo.animation.tracks.finish_tracks`). koemorph has no mouth filter: ``crisp_mouth=True``
        is refused rather than ignored. ``phone_logits`` is accepted for the shared pipeline and unused.
        """
        if crisp_mouth not in (False, None):
            raise ValueError("koemorph has no crisp_mouth filter (av-lipsync has); leave crisp_mouth unset")
        return finish_tracks(outputs, attention_mask, self.fps, self.blendshape_names, style, life)


__all__ = ["KoemorphProcessor"]
