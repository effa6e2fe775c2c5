"""The ``"text-audio-emotion-classification"`` pipeline: a sentence and its speech → 7 emotion probabilities.

::

    import avzoo  # registers the task
    from transformers import pipeline

    clf = pipeline("text-audio-emotion-classification", model="avzoo/text-audio-emotion")
    clf({"text": "Oh great, another meeting.", "audio": "clip.wav"})
    # {"label": "anger", "scores": {...}, "modalities": ["text", "audio"], ...}
    clf({"text": "Oh great, another meeting.", "audio": "clip.wav"}, return_attentions=True)["attentions"]
    # {"tokens", "words", "frame_times", "text_to_audio" (layers, heads, L, F), "audio_to_text", "word_spans"}

Inputs: a dict with ``text`` and/or ``audio`` (a path, an array with ``sampling_rate``, or a ``datasets`` audio
value ``{"array", "sampling_rate"}``), optionally with the speaker's ``gender``/``age_group``/``pitch_band`` (which
win over the same call options); or ``text=``/``audio=`` keywords; or a list of dicts. Either modality may
be missing (``None``, empty text, silent audio): the model answers from the other one and says so in
``"modalities"``. See :class:`~avzoo.models.text_audio_emotion.TextAudioEmotionProcessor` for every bad-input rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from transformers import Pipeline

#: The task name users pass to ``pipeline(...)``.
TASK = "text-audio-emotion-classification"
#: Hub id of the bundled checkpoint.
DEFAULT_MODEL = "avzoo/text-audio-emotion"
_METADATA = ("gender", "age_group", "pitch_band")
_OPTIONS = ("return_attentions", "sampling_rate", *_METADATA)
# What the processor reports beside its tensors; kept apart because the pipeline's device move turns the
# BatchFeature into a plain UserDict, which drops these attributes.
_REPORT = ("text_truncated", "audio_truncated", "audio_seconds")


class TextAudioEmotionPipeline(Pipeline):
    """``{"text", "audio"}`` → ``{"label", "scores", "modalities", ...}`` (+ ``"attentions"`` on request)."""

    _load_processor = True
    _load_image_processor = False
    _load_feature_extractor = False
    _load_tokenizer = False

    def _sanitize_parameters(self, **kwargs: Any):
        unknown = sorted(set(kwargs) - set(_OPTIONS))
        if unknown:
            raise ValueError(f"{TASK} options are {list(_OPTIONS)}, got {unknown}")
        pre = {k: kwargs[k] for k in ("sampling_rate", *_METADATA) if k in kwargs}
        post = (
            {"return_attentions": bool(kwargs["return_attentions"])} if "return_attentions" in kwargs else {}
        )
        return pre, {}, post

    def __call__(self, inputs: Any = None, text: str | None = None, audio: Any = None, **kwargs: Any):
        if inputs is None:
            inputs = {"text": text, "audio": audio}
        elif text is not None or audio is not None:
            raise ValueError("pass either one input (a dict) or text=/audio=, not both")
        return super().__call__(inputs, **kwargs)

    def preprocess(self, inputs: Any, sampling_rate: int | None = None, **metadata: Any) -> dict[str, Any]:
        if isinstance(inputs, str):
            inputs = {"text": inputs}
        if not isinstance(inputs, Mapping):
            raise ValueError(
                f"{TASK} needs a dict with 'text' and/or 'audio' (or text=/audio=), got {type(inputs).__name__}"
            )
        unknown = sorted(set(inputs) - {"text", "audio", "sampling_rate", *_METADATA})
        if unknown:
            raise ValueError(
                f"unknown input keys {unknown}; expected 'text', 'audio', 'sampling_rate' and {list(_METADATA)}"
            )
        audio = inputs.get("audio")
        rate = inputs.get("sampling_rate", sampling_rate)
        metadata = {**metadata, **{k: inputs[k] for k in _METADATA if k in inputs}}  # the input's own wins
        batch = self.processor(inputs.get("text"), audio, sampling_rate=rate, **metadata)
        return {"batch": batch, "report": {k: getattr(batch, k) for k in _REPORT}}

    def _forward(self, model_inputs: dict[str, Any]) -> dict[str, Any]:
        batch = model_inputs["batch"]
        names = self.processor.model_input_names
        with torch.no_grad():
            out = self.model(**{k: batch[k] for k in names if k in batch})
        return {"batch": batch, "report": model_inputs["report"], "outputs": out}

    def postprocess(self, model_outputs: dict[str, Any], return_attentions: bool = False) -> dict[str, Any]:
        batch = model_outputs["batch"]
        for key, value in model_outputs["report"].items():
            setattr(batch, key, value)
        return self.processor.post_process_emotion(
            model_outputs["outputs"], batch, return_attentions=return_attentions
        )[0]


def bundled_model() -> str:
    """The bundled checkpoint's folder inside the package when present, else its Hub id."""
    folder = Path(__file__).resolve().parents[1] / "pretrained" / "text-audio-emotion"
    return str(folder) if (folder / "config.json").is_file() else DEFAULT_MODEL


__all__ = ["DEFAULT_MODEL", "TASK", "TextAudioEmotionPipeline", "bundled_model"]
