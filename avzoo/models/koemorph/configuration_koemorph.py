"""Configuration of koemorph: speech → 52 ARKit blendshapes from two streams, log-mel for the mouth and eGeMAPS
prosody for the expression.

Per output frame ``t`` (30 fps) the model reads:

* **the mel stream**: for each of the ``n_mels`` log-mel channels, the last ``mel_context_frames`` frames (256,
  ~8.5 s) concatenated with the last ``mel_temporal_frames`` (3, ~100 ms), ending at frame ``t +
  lookahead_frames``: ``(n_mels, 256 + 3)`` values. ``mel_channel_encoder = Linear(259, hidden_size)`` turns the
  80 channels into 80 tokens;
* **the emotion stream**: the 88 eGeMAPS v02 functionals of the last ``emotion_context`` seconds (20) at each of
  ``window_intervals`` (now, -300 ms, -600 ms), concatenated (264 values), compressed by a learnable
  ``Linear(264, emotion_dim)`` and encoded into ``emotion_sequence_length`` tokens.

Mouth queries attend to the mel tokens and expression queries to the emotion tokens (softmax temperature
``temperature``); learnable stream weights scale the two streams before they are concatenated
(``use_concatenation``) or summed, and a head maps them to the 52 outputs in [0, 1].

Departures from the design document, each measured in the model card: ``lookahead_frames`` (2, 67 ms: the same
streaming latency budget as av-lipsync; the design reads only past frames, which costs lipsync accuracy against
labels that anticipate each phone) and ``emotion_hop`` (0.3 s: the eGeMAPS windows are computed on a 0.3 s grid,
so the three windows are three consecutive grid points and one openSMILE pass serves them; each frame holds the
latest grid point at or before its own end). ``emotion_padding`` (0.5 s) is the digital silence before the audio
that the first windows see, instead of the full 20 s: the windows of a clip shorter than 20 s cover the clip so
far, which is what a streaming caller has, and the LLD pass no longer costs 20 s of silence per clip.

This config holds the architecture and the input definition the architecture depends on; normalisation statistics
and post-processing settings belong to the processor, loss weights to the recipe.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from transformers import PreTrainedConfig

from avzoo.arkit import ARKIT_NAMES, BLENDSHAPE_FPS, EXPRESSION, SPEECH, channel_weights, positions
from avzoo.io.registered_pipelines import prefer_registered_pipelines

#: eGeMAPS v02 functionals per window.
EGEMAPS_DIM = 88
BACKENDS = ("opensmile", "numpy")


class KoemorphConfig(PreTrainedConfig):
    r"""Architecture of koemorph (see the module docstring).

    Args:
        sampling_rate (16000), fps (30): audio rate and output frame rate.
        n_mels (80): log-mel channels = mel tokens.
        mel_context_frames (256): long-term mel context per channel, in frames.
        mel_temporal_frames (3): short-term detail: the last frames again, concatenated after the context.
        lookahead_frames (2): output frame ``t`` reads mel frames ``<= t + lookahead_frames``.
        hidden_size (64): ``d_model`` of the tokens and queries.
        num_attention_heads (4): heads of both cross-attentions.
        num_mouth_queries (8), num_expression_queries (4): learned queries of the two streams.
        temperature (0.5): attention logits are divided by ``sqrt(head_dim) * temperature``.
        use_emotion_stream (True): False gives the mel-only ablation (no eGeMAPS input, no expression queries).
        egemaps_dim (88): functionals per window; window_intervals ([0.0, 0.3, 0.6]): window end offsets (s) before
            the frame; emotion_context (20.0): window length (s); emotion_hop (0.3): grid of window ends (s);
            emotion_padding (0.5): leading silence (s); backend ("opensmile" or "numpy"): how the functionals are
            computed (see ``avzoo.features.egemaps``).
        emotion_dim (256): width of the compressed eGeMAPS vector; emotion_sequence_length (1): emotion tokens.
        use_concatenation (True): concatenate the weighted streams (else: sum).
        blendshape_names: output order (the 52 ARKit names); lipsync_channels / expression_channels: the groups the
            evaluation reports (speech and expression channels of ``avzoo.arkit``).
        dropout (0.1), head_bias_init (-3.0: an untrained model starts near the rest pose), initializer_range.
    """

    model_type = "koemorph"

    sampling_rate: int = 16000
    fps: int | float = BLENDSHAPE_FPS
    n_mels: int = 80
    mel_context_frames: int = 256
    mel_temporal_frames: int = 3
    lookahead_frames: int = 2
    hidden_size: int = 64
    num_attention_heads: int = 4
    num_mouth_queries: int = 8
    num_expression_queries: int = 4
    temperature: float = 0.5
    use_emotion_stream: bool = True
    egemaps_dim: int = EGEMAPS_DIM
    window_intervals: list[float] | tuple[float, ...] = (0.0, 0.3, 0.6)
    emotion_context: float = 20.0
    emotion_hop: float = 0.3
    emotion_padding: float = 0.5
    backend: str = "opensmile"
    emotion_dim: int = 256
    emotion_sequence_length: int = 1
    use_concatenation: bool = True
    blendshape_names: list[str] | tuple[str, ...] = ARKIT_NAMES
    lipsync_channels: list[str] | tuple[str, ...] = SPEECH
    expression_channels: list[str] | tuple[str, ...] = EXPRESSION
    dropout: float = 0.1
    head_bias_init: float = -3.0
    initializer_range: float = 0.02

    def __post_init__(self, **kwargs):
        for name in ("blendshape_names", "lipsync_channels", "expression_channels"):
            setattr(self, name, [str(n) for n in getattr(self, name) or ()])
        self.window_intervals = [float(w) for w in self.window_intervals or ()]
        self.use_emotion_stream = bool(self.use_emotion_stream)
        self.use_concatenation = bool(self.use_concatenation)
        self._check()
        super().__post_init__(**kwargs)
        prefer_registered_pipelines(self)  # a Hub copy's custom_pipelines entry must not shadow avzoo's task

    def _check(self) -> None:
        def positive_int(name: str) -> None:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")

        def positive(name: str) -> None:
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or value <= 0
            ):
                raise ValueError(f"{name} must be a positive number, got {value!r}")

        for name in (
            "sampling_rate", "n_mels", "mel_context_frames", "mel_temporal_frames", "hidden_size",
            "num_attention_heads", "num_mouth_queries", "num_expression_queries", "egemaps_dim", "emotion_dim",
            "emotion_sequence_length",
        ):  # fmt: skip
            positive_int(name)
        for name in ("fps", "temperature", "emotion_context", "emotion_hop", "emotion_padding"):
            positive(name)
        if (
            isinstance(self.lookahead_frames, bool)
            or not isinstance(self.lookahead_frames, int)
            or self.lookahead_frames < 0
        ):
            raise ValueError(f"lookahead_frames must be an integer >= 0, got {self.lookahead_frames!r}")
        if self.mel_temporal_frames > self.mel_context_frames:
            raise ValueError(
                f"mel_temporal_frames ({self.mel_temporal_frames}) must be <= mel_context_frames "
                f"({self.mel_context_frames}): the detail is the last frames of the context"
            )
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"hidden_size ({self.hidden_size}) must be divisible by num_attention_heads "
                f"({self.num_attention_heads})"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        if not self.window_intervals or any(w < 0 for w in self.window_intervals):
            raise ValueError(
                f"window_intervals must be non-empty offsets >= 0 s, got {self.window_intervals}"
            )
        for w in self.window_intervals:
            steps = w / self.emotion_hop
            if abs(steps - round(steps)) > 1e-6:
                raise ValueError(
                    f"every window interval must be a multiple of emotion_hop ({self.emotion_hop} s), got {w}"
                )
        if not 0.25 <= self.emotion_padding <= self.emotion_context:
            raise ValueError(
                f"emotion_padding must be in [0.25, emotion_context={self.emotion_context}] s, got {self.emotion_padding}"
            )
        known = set(self.blendshape_names)
        for name in ("lipsync_channels", "expression_channels"):
            unknown = [n for n in getattr(self, name) if n not in known]
            if unknown:
                raise ValueError(f"{name} has names not in blendshape_names: {unknown}")

    @property
    def num_blendshapes(self) -> int:
        return len(self.blendshape_names)

    @property
    def mel_window(self) -> int:
        """Values per mel token: context + detail (259)."""
        return self.mel_context_frames + self.mel_temporal_frames

    @property
    def emotion_input_dim(self) -> int:
        """Values per frame of the emotion stream: ``egemaps_dim * len(window_intervals)`` (264)."""
        return self.egemaps_dim * len(self.window_intervals)

    @property
    def window_steps(self) -> list[int]:
        """The window intervals in grid steps of ``emotion_hop`` ([0, 1, 2])."""
        return [round(w / self.emotion_hop) for w in self.window_intervals]

    @property
    def lookahead_ms(self) -> float:
        return 1000.0 * self.lookahead_frames / float(self.fps)

    def channel_indices(self, names: Sequence[str]) -> list[int]:
        """Positions of channel ``names`` in ``blendshape_names``."""
        return positions(self.blendshape_names, names)

    def channel_weights(self, weights: Mapping[str, float]) -> np.ndarray:
        """(num_blendshapes,) weights from a ``{name or name prefix: weight}`` dict; the longest match wins."""
        return channel_weights(self.blendshape_names, weights)


__all__ = ["BACKENDS", "EGEMAPS_DIM", "KoemorphConfig"]
