"""Configuration of av-lipsync: speech (log-mel at 30 fps) + an emotion condition → 52 ARKit blendshapes.

This folder is copied to the Hub as remote code, so it cannot import avzoo: the canonical ARKit names, the
channel groups, the RAVDESS emotion labels and their valence/arousal/dominance anchors are copied here as
defaults. ``tests/test_av_lipsync.py`` asserts that the copies equal ``avzoo.arkit`` and ``avzoo.emotions``.

The condition vector (``condition_dim`` = 12 by default), per frame::

    [p(neutral), p(calm), p(happy), p(sad), p(angry), p(fearful), p(disgust), p(surprised),   # 8 probabilities
     valence, arousal, dominance,                                                              # each in [-1, 1]
     intensity]                                                                                # in [0, 1]

All zeros means "no condition": a neutral face (the model learns that zeros = neutral). Use
:meth:`AvLipsyncConfig.condition_for` to build one from an emotion name or a probability dict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import field

import numpy as np
from transformers import PreTrainedConfig

from .crisp_mouth import _ARKIT_ORDER, DEFAULT_OFFLINE, DEFAULT_STREAM

#: The 52 ARKit blendshapes in canonical order (a copy of ``avzoo.arkit.ARKIT_NAMES``, held in crisp_mouth.py).
ARKIT_NAMES: tuple[str, ...] = _ARKIT_ORDER
#: Mouth-corner shapes moved by speech and by emotion (``avzoo.arkit.SHARED``).
SHARED_NAMES: tuple[str, ...] = (
    "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft", "mouthStretchRight",
)  # fmt: skip
#: Jaw, lips and tongue without the shared ones (``avzoo.arkit.LIPSYNC``).
LIPSYNC_NAMES: tuple[str, ...] = tuple(
    n for n in ARKIT_NAMES if n.startswith(("jaw", "mouth", "tongue")) and n not in SHARED_NAMES
)
#: What the lipsync branch predicts: ``LIPSYNC + SHARED`` (``avzoo.arkit.SPEECH``, 28 channels).
SPEECH_NAMES: tuple[str, ...] = (*LIPSYNC_NAMES, *SHARED_NAMES)
#: Eyes, brows, cheeks, nose (``avzoo.arkit.EXPRESSION``, 24 channels).
EXPRESSION_NAMES: tuple[str, ...] = tuple(
    n for n in ARKIT_NAMES if n.startswith(("eye", "brow", "cheek", "nose"))
)
#: RAVDESS emotions in file-code order (a copy of ``avzoo.emotions.RAVDESS_EMOTIONS``).
EMOTION_LABELS: tuple[str, ...] = (
    "neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised",
)  # fmt: skip
#: (valence, arousal, dominance) per emotion, in ``EMOTION_LABELS`` order (a copy of ``avzoo.emotions.VAD``).
EMOTION_VAD: tuple[tuple[float, float, float], ...] = (
    (0.0, 0.0, 0.0), (0.3, -0.6, 0.2), (0.8, 0.5, 0.4), (-0.7, -0.4, -0.4),
    (-0.6, 0.8, 0.6), (-0.6, 0.7, -0.6), (-0.7, 0.3, 0.2), (0.2, 0.8, 0.0),
)  # fmt: skip
#: Names of the condition entries after the emotion probabilities.
CONDITION_EXTRA: tuple[str, ...] = ("valence", "arousal", "dominance", "intensity")


class AvLipsyncConfig(PreTrainedConfig):
    r"""Configuration of :class:`AvLipsyncModel`; pass fields by keyword.

    Audio and frames:
        sampling_rate (16000), fps (30), n_mels (80): the log-mel input the feature extractor makes.
        lookahead_frames (2): output frame ``t`` sees input frames ``<= t + lookahead_frames`` (2 → 67 ms);
            in streaming, output lags input by this many frames.

    Condition:
        emotion_labels: the emotion probabilities' order (RAVDESS). condition_dim must equal
        ``len(emotion_labels) + 4`` (valence, arousal, dominance, intensity); see the module docstring.
        emotion_vad: (valence, arousal, dominance) anchor of each label, used by :meth:`condition_for`.

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

    Training:
        dropout (0.1): inside the residual blocks. freeze_lipsync (False): freeze the lipsync branch (phase 2);
        its outputs then stay bit-identical while the expression branch trains.
        loss_velocity_weight (1.0), loss_velocity_warmup_steps (0): the velocity term's weight ramps linearly
        from 0 to ``loss_velocity_weight`` over that many steps (when the step is passed to the loss).
        loss_l1_weights, loss_velocity_weights: per-channel weights, keyed by a channel name or a name prefix
        (``"brow"``, ``"eye"``, ``"jaw"``, ``"mouth"``, ``"cheek"``, ``"nose"``, ``"tongue"``, ``"eyeBlink"``...);
        the longest matching key wins, unlisted channels weigh 1. Default: brow velocity weight 0.45.
        head_bias_init (-3.0): initial output logit, so an untrained model starts near the rest pose.
        loss_seal_weight (1.0): weight of the lip-seal head's binary cross-entropy (see below).
        phone_labels_vocab ([]): phone symbols of an auxiliary head on the lipsync state that classifies each frame's
            phone (training only: a far richer signal than 28 regression targets for learning to hear phones);
            empty = no head. ``loss_phone_weight`` (0.5) weighs its cross-entropy when ``phone_labels`` are given.

    Lip seal (``lip_seal``, default False; the bundled checkpoint turns it on):
        The lipsync head gets one more output, the probability that the lips are sealed, trained with binary
        cross-entropy against the reference's lip state (closed: lip closure >= 0.2 and lip gap < 0.1, the rule of
        ``avzoo.metrics``' blendshape_error). It drives the closure channels the way ARKit defines them:
        ``mouthClose = p * jawOpen`` (the lips close against the current jaw opening) and each channel of
        ``lip_seal_floor`` (default lip press 0.25) is raised to at least ``p * floor``, so a confident seal is a
        visible closure. Regression alone blurs a 60 ms closure into a half-closed mouth when its timing is
        uncertain; a classifier's probability crosses 0.5 where a closure is more likely than not.

    Mouth filter (``crisp_mouth.py``; calibrate both on validation predictions and save them here):
        crisp_mouth_offline: ``{"sigma", "edge0", "edge1", "scale"}`` of the offline form (relative edges).
        crisp_mouth_stream: ``{"alpha", "edge0", "edge1", "scale"}`` of the streaming form (absolute edges: numbers
        or one value per blendshape); the ONNX export bakes these in.
    """

    model_type = "av-lipsync"

    sampling_rate: int = 16000
    fps: int | float = 30
    n_mels: int = 80
    lookahead_frames: int = 2
    condition_dim: int = 12
    emotion_labels: list[str] | tuple[str, ...] = EMOTION_LABELS
    emotion_vad: list | tuple = EMOTION_VAD
    blendshape_names: list[str] | tuple[str, ...] = ARKIT_NAMES
    lipsync_channels: list[str] | tuple[str, ...] = SPEECH_NAMES
    expression_channels: list[str] | tuple[str, ...] = EXPRESSION_NAMES
    shared_channels: list[str] | tuple[str, ...] = SHARED_NAMES
    lipsync_hidden_size: int = 128
    lipsync_kernel_size: int = 3
    lipsync_dilations: list[int] | tuple[int, ...] = (1, 2, 4, 8, 1, 2)
    expression_hidden_size: int = 64
    expression_kernel_size: int = 3
    expression_dilations: list[int] | tuple[int, ...] = (1, 2, 4, 8, 16)
    dropout: float = 0.1
    freeze_lipsync: bool = False
    loss_velocity_weight: float = 1.0
    loss_velocity_warmup_steps: int = 0
    loss_l1_weights: dict[str, float] = field(default_factory=dict)
    loss_velocity_weights: dict[str, float] = field(default_factory=lambda: {"brow": 0.45})
    head_bias_init: float = -3.0
    lip_seal: bool = False
    lip_seal_floor: dict[str, float] = field(
        default_factory=lambda: {"mouthPressLeft": 0.25, "mouthPressRight": 0.25}
    )
    loss_seal_weight: float = 1.0
    phone_labels_vocab: list[str] | tuple[str, ...] = ()
    loss_phone_weight: float = 0.5
    crisp_mouth_offline: dict = field(default_factory=lambda: dict(DEFAULT_OFFLINE))
    crisp_mouth_stream: dict = field(default_factory=lambda: dict(DEFAULT_STREAM))
    initializer_range: float = 0.02

    def __post_init__(self, **kwargs):
        # JSON gives lists; keep lists everywhere so a config equals its reloaded self.
        for name in (
            "emotion_labels",
            "blendshape_names",
            "lipsync_channels",
            "expression_channels",
            "shared_channels",
            "lipsync_dilations",
            "expression_dilations",
        ):
            setattr(self, name, list(getattr(self, name)))
        self.emotion_vad = [[float(v) for v in row] for row in self.emotion_vad]
        self.loss_l1_weights = {str(k): float(v) for k, v in dict(self.loss_l1_weights or {}).items()}
        self.loss_velocity_weights = {
            str(k): float(v) for k, v in dict(self.loss_velocity_weights or {}).items()
        }
        self.lip_seal = bool(self.lip_seal)
        self.lip_seal_floor = {str(k): float(v) for k, v in dict(self.lip_seal_floor or {}).items()}
        self.loss_seal_weight = float(self.loss_seal_weight)
        self.phone_labels_vocab = [str(p) for p in self.phone_labels_vocab or ()]
        self.loss_phone_weight = float(self.loss_phone_weight)
        self.crisp_mouth_offline = {**DEFAULT_OFFLINE, **dict(self.crisp_mouth_offline or {})}
        self.crisp_mouth_stream = {**DEFAULT_STREAM, **dict(self.crisp_mouth_stream or {})}
        self._check()
        super().__post_init__(**kwargs)

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
        ):
            positive_int(name)
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
        if len(self.emotion_vad) != len(self.emotion_labels) or any(len(r) != 3 for r in self.emotion_vad):
            raise ValueError("emotion_vad needs one (valence, arousal, dominance) triple per emotion label")
        if self.condition_dim != len(self.emotion_labels) + len(CONDITION_EXTRA):
            raise ValueError(
                f"condition_dim ({self.condition_dim}) must be len(emotion_labels) + 4 "
                f"(valence, arousal, dominance, intensity) = {len(self.emotion_labels) + 4}"
            )
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
        if not np.isfinite(self.loss_phone_weight) or self.loss_phone_weight < 0:
            raise ValueError(f"loss_phone_weight must be finite and >= 0, got {self.loss_phone_weight}")
        if not np.isfinite(self.loss_seal_weight) or self.loss_seal_weight < 0:
            raise ValueError(f"loss_seal_weight must be finite and >= 0, got {self.loss_seal_weight}")
        for name in ("loss_l1_weights", "loss_velocity_weights"):
            bad = {k: v for k, v in getattr(self, name).items() if not np.isfinite(v) or v < 0}
            if bad:
                raise ValueError(f"{name} must hold finite weights >= 0, got {bad}")
        for name, keys in (
            ("crisp_mouth_offline", ("sigma", "edge0", "edge1", "scale", "seal_edge0", "seal_edge1")),
            ("crisp_mouth_stream", ("alpha", "edge0", "edge1", "scale", "seal_edge0", "seal_edge1")),
        ):
            extra = set(getattr(self, name)) - set(keys)
            if extra:
                raise ValueError(f"{name} takes only {keys}, got {sorted(extra)}")
        if self.loss_velocity_weight < 0 or self.loss_velocity_warmup_steps < 0:
            raise ValueError("loss_velocity_weight and loss_velocity_warmup_steps must be >= 0")

    # --- derived quantities ----------------------------------------------------------------------------------

    @property
    def num_blendshapes(self) -> int:
        return len(self.blendshape_names)

    @property
    def condition_names(self) -> list[str]:
        """Name of each condition entry, in order."""
        return [f"p_{label}" for label in self.emotion_labels] + list(CONDITION_EXTRA)

    @property
    def lookahead_ms(self) -> float:
        return 1000.0 * self.lookahead_frames / float(self.fps)

    def channel_indices(self, names: Sequence[str]) -> list[int]:
        """Positions of channel ``names`` in ``blendshape_names``."""
        index = {n: i for i, n in enumerate(self.blendshape_names)}
        try:
            return [index[n] for n in names]
        except KeyError as err:
            raise ValueError(f"unknown blendshape name {err.args[0]!r}") from None

    def channel_weights(self, weights: Mapping[str, float]) -> np.ndarray:
        """(num_blendshapes,) weights from a ``{name or name prefix: weight}`` dict; the longest match wins."""
        out = np.ones(self.num_blendshapes, dtype=np.float32)
        for i, name in enumerate(self.blendshape_names):
            matches = [k for k in weights if name == k or name.startswith(k)]
            if matches:
                out[i] = weights[max(matches, key=len)]
        return out

    def condition_for(
        self,
        emotion: str | Mapping[str, float] | None = None,
        intensity: float = 1.0,
        vad: Sequence[float] | None = None,
    ) -> np.ndarray:
        """A ``(condition_dim,)`` float32 condition vector.

        ``emotion`` is a label (one-hot), a ``{label: probability}`` dict (normalised to sum 1) or None (all
        zeros: neutral, whatever the intensity). ``vad`` overrides the valence/arousal/dominance, which
        otherwise is the probability-weighted mean of the labels' anchors. ``intensity`` is in [0, 1].
        """
        labels = list(self.emotion_labels)
        out = np.zeros(self.condition_dim, dtype=np.float32)
        if emotion is None:
            return out
        if not 0.0 <= float(intensity) <= 1.0:
            raise ValueError(f"intensity must be in [0, 1], got {intensity!r}")
        probs = np.zeros(len(labels), dtype=np.float64)
        if isinstance(emotion, str):
            key = emotion.strip().lower()
            if key not in labels:
                raise ValueError(f"unknown emotion {emotion!r}; expected one of {labels}")
            probs[labels.index(key)] = 1.0
        else:
            for label, p in emotion.items():
                key = str(label).strip().lower()
                if key not in labels:
                    raise ValueError(f"unknown emotion {label!r}; expected one of {labels}")
                if not np.isfinite(p) or p < 0:
                    raise ValueError(f"probability of {label!r} must be finite and >= 0, got {p!r}")
                probs[labels.index(key)] = float(p)
            if probs.sum() <= 0:
                raise ValueError("emotion probabilities sum to 0; give at least one positive probability")
            probs /= probs.sum()
        if vad is None:
            vad = probs @ np.asarray(self.emotion_vad, dtype=np.float64)
        vad = np.asarray(vad, dtype=np.float64)
        if vad.shape != (3,) or not np.all(np.abs(vad) <= 1.0):
            raise ValueError(
                f"vad must be 3 values (valence, arousal, dominance) in [-1, 1], got {vad.tolist()}"
            )
        out[: len(labels)] = probs
        out[len(labels) : len(labels) + 3] = vad
        out[-1] = float(intensity)
        return out


__all__ = [
    "ARKIT_NAMES",
    "CONDITION_EXTRA",
    "EMOTION_LABELS",
    "EMOTION_VAD",
    "EXPRESSION_NAMES",
    "LIPSYNC_NAMES",
    "SHARED_NAMES",
    "SPEECH_NAMES",
    "AvLipsyncConfig",
]
