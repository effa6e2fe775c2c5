"""Configuration of av-lipsync: speech (log-mel at 30 fps) + an emotion condition → 52 ARKit blendshapes.

The condition vector (``condition_dim`` = 12 by default) is built by :class:`AvLipsyncProcessor`, which holds
the emotion labels, their valence/arousal/dominance anchors and the intensity words; per frame::

    [p(neutral), p(calm), p(happy), p(sad), p(angry), p(fearful), p(disgust), p(surprised),   # 8 probabilities
     valence, arousal, dominance,                                                              # each in [-1, 1]
     intensity]                                                                                # in [0, 1]

All zeros means "no condition": a neutral face (the model learns that zeros = neutral).

This config holds the architecture only: loss weights and schedules belong to the training recipe
(``avzoo.train.av_lipsync``), the mouth filter's settings and the emotion tables to the processor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import field

import numpy as np
from transformers import PreTrainedConfig

from avzoo.arkit import ARKIT_NAMES, BLENDSHAPE_FPS, EXPRESSION, SHARED, SPEECH, channel_weights, positions
from avzoo.io.registered_pipelines import prefer_registered_pipelines

#: Entries of the condition after the emotion probabilities.
CONDITION_EXTRA: tuple[str, ...] = ("valence", "arousal", "dominance", "intensity")


class AvLipsyncConfig(PreTrainedConfig):
    r"""Configuration of :class:`AvLipsyncModel`; pass fields by keyword.

    Audio and frames:
        sampling_rate (16000), fps (30), n_mels (80): the log-mel input the processor makes.
        lookahead_frames (2): output frame ``t`` sees input frames ``<= t + lookahead_frames`` (2 → 67 ms);
            in streaming, output lags input by this many frames.
        condition_dim (12): width of the emotion condition (see the module docstring).

    Channels (ARKit names; ``blendshape_names`` fixes the output order):
        lipsync_channels: what the lipsync branch predicts (default the 28 ``SPEECH`` channels).
        expression_channels: what the expression branch predicts (default the 24 ``EXPRESSION`` channels).
        shared_channels: lipsync channels the expression branch adds deltas to (logit space; default ``SHARED``).

    Lipsync branch (log-mel → lipsync channels): a causal dilated conv stack.
        lipsync_hidden_size (128), lipsync_kernel_size (3), lipsync_dilations ((1, 2, 4, 8, 1, 2): one residual
        block per entry; the receptive field is ``1 + (kernel - 1) * sum(dilations)`` frames).

    Expression branch (condition + prosody of the log-mel + a detached view of the lipsync hidden state →
    expression channels + shared deltas): the same kind of stack.
        expression_hidden_size (64), expression_kernel_size (3), expression_dilations ((1, 2, 4, 8, 16)).

    Offline quality mode (``offline_dilations``, default empty = none):
        A non-causal refiner over the finished lipsync state and logits: centred dilated convs (one residual block
        per entry, width ``offline_hidden_size`` (128), kernel ``offline_kernel_size`` (3, odd)) that add a
        (zero-initialised) correction to the lipsync logits. Output frame ``t`` then sees input frames up to
        ``t + offline_lookahead_frames`` = ``lookahead_frames + (kernel - 1) / 2 * sum(offline_dilations)``. One
        checkpoint serves both modes: streaming never runs the refiner.

    Other:
        dropout (0.1): inside the residual blocks.
        head_bias_init (-3.0): initial output logit, so an untrained model starts near the rest pose.
        phone_labels_vocab ([]): phone symbols of an auxiliary head on the lipsync state that classifies each
            frame's phone (a training signal far richer than 28 regression targets); empty = no head.

    Lip seal (``lip_seal``, default False; the bundled checkpoint turns it on):
        The lipsync head gets one more output, the probability that the lips are sealed, trained with binary
        cross-entropy against the reference's lip state (closed: lip closure >= 0.2 and lip gap < 0.1, the rule of
        ``avzoo.metrics``' blendshape_error). It drives the closure channels the way ARKit defines them:
        ``mouthClose = p * jawOpen`` (the lips close against the current jaw opening) and each channel of
        ``lip_seal_floor`` (default lip press 0.25) is raised to at least ``p * floor``, so a confident seal is a
        visible closure.
    """

    model_type = "av-lipsync"

    sampling_rate: int = 16000
    fps: int | float = BLENDSHAPE_FPS
    n_mels: int = 80
    lookahead_frames: int = 2
    condition_dim: int = 12
    blendshape_names: list[str] | tuple[str, ...] = ARKIT_NAMES
    lipsync_channels: list[str] | tuple[str, ...] = SPEECH
    expression_channels: list[str] | tuple[str, ...] = EXPRESSION
    shared_channels: list[str] | tuple[str, ...] = SHARED
    lipsync_hidden_size: int = 128
    lipsync_kernel_size: int = 3
    lipsync_dilations: list[int] | tuple[int, ...] = (1, 2, 4, 8, 1, 2)
    expression_hidden_size: int = 64
    expression_kernel_size: int = 3
    expression_dilations: list[int] | tuple[int, ...] = (1, 2, 4, 8, 16)
    dropout: float = 0.1
    head_bias_init: float = -3.0
    lip_seal: bool = False
    lip_seal_floor: dict[str, float] = field(
        default_factory=lambda: {"mouthPressLeft": 0.25, "mouthPressRight": 0.25}
    )
    phone_labels_vocab: list[str] | tuple[str, ...] = ()
    offline_dilations: list[int] | tuple[int, ...] = ()
    offline_hidden_size: int = 128
    offline_kernel_size: int = 3
    initializer_range: float = 0.02

    def __post_init__(self, **kwargs):
        # JSON gives lists; keep lists everywhere so a config equals its reloaded self.
        for name in (
            "blendshape_names",
            "lipsync_channels",
            "expression_channels",
            "shared_channels",
            "lipsync_dilations",
            "expression_dilations",
            "offline_dilations",
        ):
            setattr(self, name, list(getattr(self, name) or ()))
        self.lip_seal = bool(self.lip_seal)
        self.lip_seal_floor = {str(k): float(v) for k, v in dict(self.lip_seal_floor or {}).items()}
        self.phone_labels_vocab = [str(p) for p in self.phone_labels_vocab or ()]
        self._check()
        super().__post_init__(**kwargs)
        prefer_registered_pipelines(self)  # a Hub copy's custom_pipelines entry must not shadow avzoo's task

    def _check(self) -> None:
        def positive_int(name: str) -> None:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")

        for name in (
            "sampling_rate",
            "n_mels",
            "condition_dim",
            "lipsync_hidden_size",
            "lipsync_kernel_size",
            "expression_hidden_size",
            "expression_kernel_size",
            "offline_hidden_size",
            "offline_kernel_size",
        ):
            positive_int(name)
        if self.offline_kernel_size % 2 == 0:
            raise ValueError(
                f"offline_kernel_size must be odd (a centred conv), got {self.offline_kernel_size}"
            )
        if any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in self.offline_dilations):
            raise ValueError(
                f"offline_dilations must be positive integers (empty: no offline mode), got {self.offline_dilations!r}"
            )
        if self.condition_dim <= len(CONDITION_EXTRA):
            raise ValueError(
                f"condition_dim ({self.condition_dim}) must be the number of emotion labels + 4 (valence, "
                "arousal, dominance, intensity)"
            )
        if not isinstance(self.lookahead_frames, int) or self.lookahead_frames < 0:
            raise ValueError(f"lookahead_frames must be an integer >= 0, got {self.lookahead_frames!r}")
        if not 0 < float(self.fps) <= 1000:
            raise ValueError(f"fps must be in (0, 1000], got {self.fps!r}")
        for name in ("lipsync_dilations", "expression_dilations"):
            dilations = getattr(self, name)
            if not dilations or any(
                isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in dilations
            ):
                raise ValueError(f"{name} must be a non-empty list of positive integers, got {dilations!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        names = set(self.blendshape_names)
        if len(names) != len(self.blendshape_names):
            raise ValueError("blendshape_names has duplicates")
        for group in ("lipsync_channels", "expression_channels", "shared_channels"):
            unknown = [n for n in getattr(self, group) if n not in names]
            if unknown:
                raise ValueError(f"{group} names channels not in blendshape_names: {unknown}")
        if set(self.lipsync_channels) & set(self.expression_channels):
            raise ValueError("lipsync_channels and expression_channels must not overlap")
        if not set(self.shared_channels) <= set(self.lipsync_channels):
            raise ValueError("shared_channels must be a subset of lipsync_channels (the deltas add to them)")
        if self.lip_seal:
            needed = {"jawOpen", "mouthClose", *self.lip_seal_floor}
            missing = sorted(needed - set(self.lipsync_channels))
            if missing:
                raise ValueError(f"lip_seal needs {missing} among lipsync_channels")
        bad_floor = {k: v for k, v in self.lip_seal_floor.items() if not 0.0 <= v <= 1.0}
        if bad_floor:
            raise ValueError(f"lip_seal_floor values must lie in [0, 1], got {bad_floor}")
        if len(set(self.phone_labels_vocab)) != len(self.phone_labels_vocab):
            raise ValueError("phone_labels_vocab has duplicates")

    # --- derived quantities ----------------------------------------------------------------------------------

    @property
    def num_blendshapes(self) -> int:
        return len(self.blendshape_names)

    @property
    def lookahead_ms(self) -> float:
        return 1000.0 * self.lookahead_frames / float(self.fps)

    @property
    def has_offline_mode(self) -> bool:
        """Whether the checkpoint carries the offline refiner (``offline_dilations`` non-empty)."""
        return bool(self.offline_dilations)

    @property
    def offline_lookahead_frames(self) -> int:
        """Input frames past output frame ``t`` that the offline mode sees (streaming's when there is none)."""
        return self.lookahead_frames + (self.offline_kernel_size - 1) // 2 * sum(self.offline_dilations)

    def channel_indices(self, names: Sequence[str]) -> list[int]:
        """Positions of channel ``names`` in ``blendshape_names``."""
        return positions(self.blendshape_names, names)

    def channel_weights(self, weights: Mapping[str, float]) -> np.ndarray:
        """(num_blendshapes,) weights from a ``{name or name prefix: weight}`` dict; the longest match wins."""
        return channel_weights(self.blendshape_names, weights)


__all__ = ["CONDITION_EXTRA", "AvLipsyncConfig"]
