"""Processor of av-lipsync: the one way in and out of the model.

``processor(audio, sampling_rate=..., emotion=..., intensity=...)`` gives the model inputs (normalised log-mel,
attention mask, condition) and ``processor.post_process_blendshapes(outputs, crisp_mouth=...)`` turns the
model's output into clipped ``(T, 52)`` tracks, optionally through the mouth filter. The pipeline, the app,
the evaluation, the streamer and the scripts all go through these two calls.

av-lipsync's only input modality is audio, so the processor *is* its feature extractor plus the condition and
the post-processing: one class and one config file (``preprocessor_config.json``), which holds the emotion
labels, their valence/arousal/dominance anchors, the intensity words and the mouth filter's calibrated settings
(both forms; the ONNX export bakes the streaming one in).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from transformers import BatchFeature

from avzoo.animation.style import PerformerStyle
from avzoo.animation.tracks import finish_tracks
from avzoo.arkit import ARKIT_NAMES
from avzoo.emotions import INTENSITY_VALUES, RAVDESS_EMOTIONS, VAD

from .configuration_av_lipsync import CONDITION_EXTRA
from .crisp_mouth import DEFAULT_OFFLINE, DEFAULT_STREAM, CrispMouthStream, crisp_mouth
from .feature_extraction_av_lipsync import AvLipsyncFeatureExtractor
from .tongue_gate import gate_tongue

_OFFLINE_KEYS = (
    "sigma",
    "edge0",
    "edge1",
    "scale",
    "seal_edge0",
    "seal_edge1",
    "keep_closures",
    "tongue_gate",
)
_STREAM_KEYS = ("alpha", "edge0", "edge1", "scale", "seal_edge0", "seal_edge1", "keep_closures")

Emotion = str | Mapping[str, float] | None


class AvLipsyncProcessor(AvLipsyncFeatureExtractor):
    """Audio (+ emotion) → model inputs; model outputs → blendshape tracks. See the module docstring.

    Args (besides :class:`AvLipsyncFeatureExtractor`'s):
        emotion_labels: the emotion probabilities' order in the condition (RAVDESS by default).
        emotion_vad: (valence, arousal, dominance) anchor of each label, in [-1, 1].
        intensity_values: ``{word: value in [0, 1]}`` accepted for ``intensity`` (``normal`` 0.55, ``strong`` 1).
        blendshape_names: output channel order (the 52 ARKit names, canonical order).
        crisp_mouth_offline: ``{"sigma", "edge0", "edge1", "scale"[, "seal_edge0", "seal_edge1"]}`` of the offline
            filter (relative edges); calibrated on validation predictions by ``avzoo release``.
        crisp_mouth_stream: ``{"alpha", "edge0", "edge1", "scale", ...}`` of the streaming filter (absolute edges).
        phone_labels_vocab: the model's phone vocabulary (``config.phone_labels_vocab``), when it has a phone head:
            the offline mouth filter then keeps ``tongueOut`` only where the model hears /th/ /dh/
            (:func:`~.tongue_gate.gate_tongue`).
    """

    model_input_names: ClassVar[list[str]] = ["input_features", "attention_mask", "condition"]

    def __init__(
        self,
        *,
        emotion_labels: Sequence[str] = RAVDESS_EMOTIONS,
        emotion_vad: Sequence[Sequence[float]] | None = None,
        intensity_values: Mapping[str, float] | None = None,
        blendshape_names: Sequence[str] | None = None,
        crisp_mouth_offline: Mapping[str, Any] | None = None,
        crisp_mouth_stream: Mapping[str, Any] | None = None,
        phone_labels_vocab: Sequence[str] | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.emotion_labels = [str(x).strip().lower() for x in emotion_labels]
        if len(set(self.emotion_labels)) != len(self.emotion_labels) or not self.emotion_labels:
            raise ValueError(f"emotion_labels must be distinct names, got {list(emotion_labels)}")
        if emotion_vad is None:
            unknown = [x for x in self.emotion_labels if x not in VAD]
            if unknown:
                raise ValueError(
                    f"emotion labels {unknown} have no built-in valence/arousal/dominance anchor; pass emotion_vad "
                    "with one (valence, arousal, dominance) triple in [-1, 1] per label"
                )
        vad = [VAD[x] for x in self.emotion_labels] if emotion_vad is None else emotion_vad
        self.emotion_vad = [[float(v) for v in row] for row in vad]
        if len(self.emotion_vad) != len(self.emotion_labels) or any(
            len(r) != 3 or not all(-1.0 <= v <= 1.0 for v in r) for r in self.emotion_vad
        ):
            raise ValueError(
                "emotion_vad needs one (valence, arousal, dominance) triple in [-1, 1] per label"
            )
        table = INTENSITY_VALUES if intensity_values is None else intensity_values
        self.intensity_values = {str(k): float(v) for k, v in dict(table).items()}
        bad = {k: v for k, v in self.intensity_values.items() if not 0.0 <= v <= 1.0}
        if bad:
            raise ValueError(f"intensity_values must lie in [0, 1], got {bad}")
        self.blendshape_names = list(ARKIT_NAMES if blendshape_names is None else blendshape_names)
        self.phone_labels_vocab = None if phone_labels_vocab is None else [str(p) for p in phone_labels_vocab]
        self.crisp_mouth_offline = self._filter_params(
            crisp_mouth_offline, DEFAULT_OFFLINE, _OFFLINE_KEYS, "crisp_mouth_offline"
        )
        self.crisp_mouth_stream = self._filter_params(
            crisp_mouth_stream, DEFAULT_STREAM, _STREAM_KEYS, "crisp_mouth_stream"
        )
        # Bad settings fail here, with the filter's own message, not at the first filtered clip.
        try:
            self.crisp_mouth(np.zeros((2, len(self.blendshape_names)), np.float32))
            self.crisp_mouth_streamer()
        except ValueError as err:
            raise ValueError(f"invalid mouth filter settings: {err}") from None

    @staticmethod
    def _filter_params(
        given: Mapping[str, Any] | None, default: Mapping[str, Any], keys: Sequence[str], name: str
    ) -> dict[str, Any]:
        params = {**default, **dict(given or {})}
        extra = set(params) - set(keys)
        if extra:
            raise ValueError(f"{name} takes only {list(keys)}, got {sorted(extra)}")
        return params

    def to_dict(self) -> dict[str, Any]:
        # Name the processor class in preprocessor_config.json whatever the transformers version (5.24 stopped
        # writing it for a processor that is its own feature extractor), so AutoProcessor reads one class.
        return {**super().to_dict(), "processor_class": type(self).__name__}

    # --- condition ---------------------------------------------------------------------------------------------

    @property
    def condition_dim(self) -> int:
        return len(self.emotion_labels) + len(CONDITION_EXTRA)

    @property
    def condition_names(self) -> list[str]:
        """Name of each condition entry, in order."""
        return [f"p_{label}" for label in self.emotion_labels] + list(CONDITION_EXTRA)

    def intensity_value(self, intensity: float | str) -> float:
        """``intensity`` as a number in [0, 1]: a number, or a word of ``intensity_values`` (e.g. ``"normal"``)."""
        if isinstance(intensity, str):
            key = intensity.strip().lower()
            if key not in self.intensity_values:
                raise ValueError(
                    f"unknown intensity {intensity!r}; give a number in [0, 1] or one of "
                    f"{sorted(self.intensity_values)}"
                )
            return self.intensity_values[key]
        if isinstance(intensity, bool) or not isinstance(intensity, (int, float, np.integer, np.floating)):
            raise ValueError(f"intensity must be a number in [0, 1] or a word, got {intensity!r}")
        if not 0.0 <= float(intensity) <= 1.0:
            raise ValueError(f"intensity must be in [0, 1], got {intensity!r}")
        return float(intensity)

    def condition_for(
        self, emotion: Emotion = None, intensity: float | str = 1.0, vad: Sequence[float] | None = None
    ) -> np.ndarray:
        """A ``(condition_dim,)`` float32 condition vector.

        ``emotion`` is a label (one-hot), a ``{label: probability}`` dict (normalised to sum 1) or None (all
        zeros: neutral, whatever the intensity). ``vad`` overrides the valence/arousal/dominance, which
        otherwise is the probability-weighted mean of the labels' anchors. ``intensity`` is in [0, 1] or a word.
        """
        labels = self.emotion_labels
        out = np.zeros(self.condition_dim, dtype=np.float32)
        if emotion is None:
            return out
        value = self.intensity_value(intensity)
        probs = np.zeros(len(labels), dtype=np.float64)
        if isinstance(emotion, str):
            key = emotion.strip().lower()
            if key not in labels:
                raise ValueError(f"unknown emotion {emotion!r}; expected one of {labels}")
            probs[labels.index(key)] = 1.0
        elif isinstance(emotion, Mapping):
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
        else:
            raise ValueError(
                f"emotion must be a label, a {{label: probability}} dict or None, got {type(emotion).__name__}"
            )
        if vad is None:
            vad = probs @ np.asarray(self.emotion_vad, dtype=np.float64)
        vad = np.asarray(vad, dtype=np.float64)
        if vad.shape != (3,) or not np.all(np.abs(vad) <= 1.0):
            raise ValueError(
                f"vad must be 3 values (valence, arousal, dominance) in [-1, 1], got {vad.tolist()}"
            )
        out[: len(labels)] = probs
        out[len(labels) : len(labels) + 3] = vad
        out[-1] = value
        return out

    # --- in ----------------------------------------------------------------------------------------------------

    def __call__(
        self,
        audio: Any,
        sampling_rate: int | float | None = None,
        emotion: Emotion | Sequence[Emotion] = None,
        intensity: float | str | Sequence[float | str] = 1.0,
        return_tensors: str | None = "pt",
        **kwargs: Any,
    ) -> BatchFeature:
        """Model inputs for one clip or a list of clips.

        Returns ``input_features`` (B, T, n_mels), ``attention_mask`` (B, T) and, when an emotion is given,
        ``condition`` (B, condition_dim): one emotion (and intensity) for every clip, or a list with one per clip
        (None entries are neutral).
        """
        batch = super().__call__(audio, sampling_rate=sampling_rate, return_tensors=return_tensors, **kwargs)
        size = len(batch["input_features"])
        emotions = emotion if isinstance(emotion, (list, tuple)) else [emotion] * size
        intensities = intensity if isinstance(intensity, (list, tuple)) else [intensity] * size
        if len(emotions) != size or len(intensities) != size:
            raise ValueError(
                f"got {len(emotions)} emotions and {len(intensities)} intensities for {size} clip(s); give one "
                "for all or one per clip"
            )
        if any(e is not None for e in emotions):
            condition = np.stack(
                [self.condition_for(e, i) for e, i in zip(emotions, intensities, strict=True)]
            )
            batch["condition"] = torch.from_numpy(condition) if return_tensors == "pt" else condition
        return batch

    # --- out ---------------------------------------------------------------------------------------------------

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

        ``outputs`` is a model output with ``.blendshapes`` (B, T, 52), or that tensor. ``attention_mask``
        (B, T) trims each track to its real frames. ``crisp_mouth``: False (raw), True (this processor's
        calibrated offline filter) or a dict of parameter overrides. The filter keeps the raw track's lip
        closures (``keep_closures``) and, with phone logits at hand (``phone_logits`` (B, T, V), or
        ``outputs.phone_logits``) and ``phone_labels_vocab`` set, keeps ``tongueOut`` only where the model hears
        /th/ /dh/ (``tongue_gate``); both default on, and a processor's settings may turn them off. ``style``: a performer's calibration
        (:class:`~avzoo.animation.style.PerformerStyle`, its JSON path or dict, from ``avzoo calibrate``),
        applied last: its curves, then its time offset. (The pipeline and the streamer also check that the
        style was fitted on their model; here the model is unknown.) ``life``: False, True or an int seed:
        speech-driven blinks and brow raises on stressed syllables (:func:`avzoo.animation.life.add_life`),
        seeded (True is seed 0; clip ``i`` of a batch uses seed + i). Life is derived from the model's own
        track and added on top of the style, so a style fitted on a still upper face does not erase it.
        """
        if phone_logits is None:
            phone_logits = getattr(outputs, "phone_logits", None)
        if isinstance(phone_logits, torch.Tensor):
            phone_logits = phone_logits.detach().float().cpu().numpy()
        mouth_filter = None
        if crisp_mouth is not False and crisp_mouth is not None:
            overrides = dict(crisp_mouth) if isinstance(crisp_mouth, Mapping) else {}
            gate = {**self.crisp_mouth_offline, **overrides}.get("tongue_gate", True)
            gate = gate and phone_logits is not None and bool(self.phone_labels_vocab)

            def mouth_filter(i: int, track: np.ndarray) -> np.ndarray:
                track = self.crisp_mouth(track, **overrides)
                if gate:
                    logits = phone_logits[i, : len(track)]
                    track = gate_tongue(track, phone_logits=logits, phone_vocab=self.phone_labels_vocab)
                return track

        return finish_tracks(
            outputs, attention_mask, self.fps, self.blendshape_names, style, life, mouth_filter=mouth_filter
        )

    def crisp_mouth(self, blendshapes: Any, **overrides: Any) -> Any:
        """The offline mouth filter with this processor's calibrated parameters (overridable).

        (``tongue_gate`` is not the filter's own: :meth:`post_process_blendshapes` applies it, with phone logits.)
        """
        params = {**self.crisp_mouth_offline, **overrides}
        params.pop("tongue_gate", None)
        return crisp_mouth(blendshapes, **params)

    def crisp_mouth_streamer(self, **overrides: Any) -> CrispMouthStream:
        """A streaming mouth filter with this processor's calibrated parameters (overridable)."""
        params = {**self.crisp_mouth_stream, **overrides}
        return CrispMouthStream(**params, num_channels=len(self.blendshape_names))


__all__ = ["AvLipsyncProcessor"]
