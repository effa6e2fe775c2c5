"""Real-time use of av-lipsync: raw audio chunks of any size in, blendshape frames out as soon as computable.

:class:`AvLipsyncStreamer` chains three stateful stages -- an optional streaming resampler (soxr), the feature
stream (STFT context) and the model's causal stream (conv caches) -- plus an optional streaming crisp_mouth. Before
the filter, the concatenated frames equal the offline ``model(**feature_extractor(audio))`` output (within float
rounding) for any chunking.

Algorithmic latency. Output frame ``t`` describes the face over ``[t, t + 1) / fps``; the synthetic labels sample
it at the middle, ``(t + 0.5) / fps``. Its audio is complete once the STFT window of frame ``t + lookahead`` has
been heard: 33.3 ms after the window centre ``t / fps`` (16.7 ms after the frame's middle) plus the look-ahead
(``lookahead_frames / fps``: 66.7 ms for 2 frames). From the frame's middle that is 83.3 ms, plus up to one chunk
of waiting when audio arrives in chunks. :attr:`AvLipsyncStreamer.latency_ms` reports the parts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import torch

from avzoo.animation.life import LifeStream
from avzoo.animation.style import load_style
from avzoo.io.audio import MAX_CHANNELS, MAX_FLOAT_PEAK, to_float32, validate_sampling_rate

from .crisp_mouth import CrispMouthStream


class AvLipsyncStreamer:
    """Feed audio chunks with :meth:`push`, end with :meth:`flush`; each returns ``(k, 52)`` float32 frames.

    Args:
        model: an :class:`AvLipsyncModel` (put in eval mode here).
        processor: its :class:`AvLipsyncProcessor` (features, conditions and the mouth filter's settings).
        sampling_rate: rate of the chunks (default the extractor's, 16 kHz); other rates are resampled on the
            fly with ``soxr.ResampleStream``.
        emotion, intensity: the emotion of the frames to come (a label, a ``{label: probability}`` dict or None for
            neutral; see ``AvLipsyncProcessor.condition_for``). Change it between pushes with :meth:`set_emotion`.
        condition: a ready ``(C,)`` condition vector instead of ``emotion`` (or ``push(..., condition=)``).
        crisp_mouth: False (raw model output), True (the processor's streaming filter parameters), a dict of
            parameter overrides, or a :class:`CrispMouthStream`.
        style: a performer's calibration fitted on this model (``avzoo calibrate``; a JSON path, dict or
            :class:`~avzoo.animation.style.PerformerStyle`): its curves are applied to every frame after the
            filter. Its time offset is not (a stream cannot emit a frame before it is computed).
        life: False, True or an int seed: causal blinks and brow raises on stressed syllables
            (:class:`~avzoo.animation.life.LifeStream`, no added latency), added on top of the style.

    Chunks are 1-D mono or 2-D, float in [-1, 1] or integer PCM. A 2-D chunk's channel axis is the one with at
    most 16 entries when only one axis has; when both have (tiny chunks) it is (samples, channels), as audio
    callbacks deliver it, if there are more samples than channels, else the chunk is refused as ambiguous.
    """

    def __init__(
        self,
        model: Any,
        processor: Any,
        *,
        sampling_rate: int | float | None = None,
        emotion: Any = None,
        intensity: float | str = 1.0,
        condition: Any = None,
        crisp_mouth: bool | dict | CrispMouthStream = False,
        style: Any = None,
        life: bool | int = False,
    ):
        self.model = model.eval()
        if not isinstance(life, (bool, int)):
            raise ValueError(f"life must be True/False or an int seed, got {life!r}")
        self.life = (
            None if life is False else LifeStream(fps=processor.fps, seed=0 if life is True else int(life))
        )
        self.style = load_style(style)
        if self.style is not None:
            self.style.check_model(model)
        self.processor = feature_extractor = processor
        if feature_extractor.feature_size != model.config.n_mels:
            raise ValueError(
                f"the feature extractor makes {feature_extractor.feature_size} mel bands, the model takes "
                f"{model.config.n_mels}"
            )
        self.sampling_rate = validate_sampling_rate(
            feature_extractor.sampling_rate if sampling_rate is None else sampling_rate
        )
        if isinstance(crisp_mouth, CrispMouthStream):
            self.filter: CrispMouthStream | None = crisp_mouth
        elif crisp_mouth is True:
            self.filter = processor.crisp_mouth_streamer()
        elif isinstance(crisp_mouth, dict):
            self.filter = processor.crisp_mouth_streamer(**crisp_mouth)
        elif crisp_mouth is False or crisp_mouth is None:
            self.filter = None
        else:
            raise ValueError("crisp_mouth must be True/False, a dict of parameters or a CrispMouthStream")
        if condition is not None and emotion is not None:
            raise ValueError("pass emotion or condition, not both")
        if condition is not None:
            self.set_condition(condition)
        else:
            self.set_emotion(emotion, intensity)
        self.reset()

    @property
    def feature_extractor(self) -> Any:
        return self.processor

    # --- state ---------------------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Start a new stream (the condition is kept)."""
        self._features = self.feature_extractor.stream()
        self._state = self.model.init_stream(1)
        self._resampler = None
        if self.sampling_rate != self.feature_extractor.sampling_rate:
            try:
                import soxr
            except ImportError:
                raise ValueError(
                    f"streaming audio at {self.sampling_rate} Hz needs soxr for resampling (pip install soxr), "
                    f"or pass {self.feature_extractor.sampling_rate} Hz chunks"
                ) from None
            self._resampler = soxr.ResampleStream(
                self.sampling_rate, self.feature_extractor.sampling_rate, 1, dtype="float32", quality="HQ"
            )
        if self.filter is not None:
            self.filter.reset()
        if self.life is not None:
            self.life.reset()
        self._closed = False

    def set_condition(self, condition: Any) -> None:
        """Condition for the frames computed from now on: a (C,) vector, or None for neutral."""
        size = self.model.config.condition_dim
        if condition is None:
            self._condition = np.zeros(size, dtype=np.float32)
            return
        arr = np.asarray(
            condition.detach().cpu() if isinstance(condition, torch.Tensor) else condition, np.float32
        )
        if arr.shape != (size,) or not np.isfinite(arr).all():
            raise ValueError(f"condition must be {size} finite values (see AvLipsyncProcessor.condition_for)")
        self._condition = arr

    def set_emotion(self, emotion: Any, intensity: float | str = 1.0) -> None:
        """Emotion for the frames computed from now on (see ``AvLipsyncProcessor.condition_for``)."""
        self.set_condition(self.processor.condition_for(emotion, intensity))

    @property
    def frames_emitted(self) -> int:
        return self._state.frames_out

    @property
    def latency_ms(self) -> dict[str, float]:
        """Algorithmic latency without chunking (ms): its parts, and the total from the frame's middle and window centre.

        ``total_without_chunking`` is measured from the middle of the frame's interval, the instant its blendshapes
        describe; add the chunk duration for audio that arrives in chunks.
        """
        stft = self.feature_extractor.right_context_ms
        lookahead = self.model.config.lookahead_ms
        half_frame = 500.0 / self.feature_extractor.fps
        return {
            "stft_right_context": stft,
            "lookahead": lookahead,
            "total_without_chunking": stft - half_frame + lookahead,
            "total_from_window_centre": stft + lookahead,
        }

    # --- feeding -------------------------------------------------------------------------------------------------

    def _mono(self, chunk: Any) -> np.ndarray:
        arr = to_float32(chunk, "chunk")
        if arr.ndim == 2:
            rows, cols = arr.shape
            if rows <= MAX_CHANNELS < cols:
                arr = arr.mean(axis=0, dtype=np.float32)  # (channels, samples)
            elif cols <= MAX_CHANNELS and rows > cols:
                arr = arr.mean(axis=1, dtype=np.float32)  # (samples, channels), as audio callbacks deliver it
            else:
                raise ValueError(
                    f"chunk has shape {arr.shape}: cannot tell the channel axis. Pass 1-D mono, or 2-D "
                    f"(samples, channels) / (channels, samples) with at most {MAX_CHANNELS} channels and more "
                    "samples than channels"
                )
        if arr.ndim != 1:
            raise ValueError(f"chunk must be 1-D (samples) or 2-D (samples, channels), got shape {arr.shape}")
        if not np.isfinite(arr).all():
            raise ValueError("chunk contains NaN/inf samples; audio must be finite")
        if arr.size and float(np.abs(arr).max()) > MAX_FLOAT_PEAK:
            raise ValueError(
                "chunk has samples far outside [-1, 1]; pass float audio in [-1, 1] or integer PCM"
            )
        return np.ascontiguousarray(arr)

    def _run(self, features: np.ndarray, final: bool) -> np.ndarray:
        condition = np.tile(self._condition, (len(features), 1))
        out, self._state = self.model.stream_step(
            torch.from_numpy(np.ascontiguousarray(features))[None],
            torch.from_numpy(condition)[None],
            self._state,
            final=final,
        )
        if self.filter is not None and out.shape[1]:
            out = self.filter(out)
        frames = np.clip(out[0].detach().cpu().numpy().astype(np.float32, copy=False), 0.0, 1.0)
        if not len(frames):
            return frames
        lively = self.life(frames) - frames if self.life is not None else 0
        if self.style is not None:
            frames = self.style.apply_frames(frames, self.processor.blendshape_names)
        return np.clip(frames + lively, 0.0, 1.0).astype(np.float32)

    def push(self, chunk: Any, condition: Any = None) -> np.ndarray:
        """Add audio; returns the ``(k, 52)`` frames that became computable (k may be 0)."""
        if self._closed:
            raise ValueError("the stream was flushed; call reset() to start a new one")
        if condition is not None:
            self.set_condition(condition)
        audio = self._mono(chunk)
        if self._resampler is not None:
            audio = self._resampler.resample_chunk(audio)
        return self._run(self._features.push(audio), final=False)

    def flush(self) -> np.ndarray:
        """End of audio: the remaining frames. The total equals the offline frame count."""
        if self._closed:
            raise ValueError("the stream was already flushed; call reset() to start a new one")
        features = []
        if self._resampler is not None:
            features.append(
                self._features.push(self._resampler.resample_chunk(np.zeros(0, np.float32), last=True))
            )
        features.append(self._features.flush())
        self._closed = True
        return self._run(np.concatenate(features), final=True)

    def stream(self, chunks: Iterable[Any]) -> Iterator[np.ndarray]:
        """Yield non-empty ``(k, 52)`` blocks of frames while consuming ``chunks``, then the flushed rest."""
        for chunk in chunks:
            out = self.push(chunk)
            if len(out):
                yield out
        out = self.flush()
        if len(out):
            yield out


__all__ = ["AvLipsyncStreamer"]
