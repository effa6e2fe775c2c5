"""The ``"text-to-vad"`` pipeline (text → valence/arousal/dominance + emotion) and the text → av-lipsync condition.

::

    import avzoo  # registers the task
    from transformers import pipeline

    vad = pipeline("text-to-vad", model="avzoo/text-vad")
    vad("I can't believe we finally won!")
    # {"valence": 0.41, "arousal": 0.22, "dominance": 0.12, "emotion": "happy", "scores": {...},
    #  "empty": False, "truncated": False}

:func:`text_condition_track` turns a text into av-lipsync's per-frame emotion condition: the text is cut into
clauses (sentence ends and contrast words such as "but"), each clause is scored, laid over the frames where its
words are spoken (from word timings, or spread by length without them) and the changes are cross-faded, so the
face follows the script over time. Text with no words gives the all-zeros condition: av-lipsync's neutral face.

Bad input (see :class:`~avzoo.models.text_vad.TextVadProcessor`): ``None``/non-strings raise ``ValueError``;
empty or emoji-only text is neutral; non-English text is scored as its word pieces (no error, little meaning);
text longer than the model's limit is truncated by the pipeline (``"truncated": True``) and split into clauses
by :func:`text_condition_track`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import Pipeline

#: The task name users pass to ``pipeline(...)``.
TASK = "text-to-vad"
#: Hub id of the bundled student.
DEFAULT_MODEL = "avzoo/text-vad"
#: Words that start a clause whose feeling may differ from the one before.
CONTRAST_WORDS = ("but", "however", "although", "though", "yet", "until", "except")
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


class TextToVadPipeline(Pipeline):
    """Text (a string, or a list of strings) → ``{"valence", "arousal", "dominance", "emotion", "scores", ...}``."""

    _load_processor = True
    _load_image_processor = False
    _load_feature_extractor = False
    _load_tokenizer = False

    def _sanitize_parameters(self, **kwargs: Any):
        if kwargs:
            raise ValueError(f"text-to-vad takes no options, got {sorted(kwargs)}")
        return {}, {}, {}

    def preprocess(self, inputs: Any) -> dict[str, Any]:
        if not isinstance(inputs, str):
            raise ValueError(f"text-to-vad needs a string, got {type(inputs).__name__}")
        return {"text": inputs, **self.processor(inputs, return_tensors="pt")}

    def _forward(self, model_inputs: dict[str, Any]) -> dict[str, Any]:
        text = model_inputs.pop("text")
        with torch.no_grad():
            out = self.model(**model_inputs)
        return {"text": text, "vad": out.vad, "emotion_logits": out.emotion_logits}

    def postprocess(self, model_outputs: dict[str, Any]) -> dict[str, Any]:
        outputs = _Outputs(model_outputs["vad"], model_outputs["emotion_logits"])
        return self.processor.post_process_vad(outputs, [model_outputs["text"]])[0]


class _Outputs:
    def __init__(self, vad: torch.Tensor, emotion_logits: torch.Tensor):
        self.vad, self.emotion_logits = vad, emotion_logits


def bundled_model() -> str:
    """The bundled student's folder inside the package when present, else its Hub id."""
    folder = Path(__file__).resolve().parents[1] / "pretrained" / "text-vad"
    return str(folder) if (folder / "config.json").is_file() else DEFAULT_MODEL


@lru_cache(maxsize=2)
def _default_pipeline(model: str) -> TextToVadPipeline:
    from transformers import pipeline

    return pipeline(TASK, model=model)


def text_to_vad(text: str, model: Any = None) -> dict[str, Any]:
    """Score one text with ``model`` (a text-to-vad pipeline, a folder/Hub id, or None for the bundled student)."""
    return _pipeline(model)(text)


def text_emotion(text: str, model: Any = None) -> dict[str, float] | None:
    """One clip-level emotion for ``text``: ``{label: probability}`` for the whole text (what the
    ``"audio-to-blendshapes"`` pipeline takes as ``emotion=``), or None when the text has no words (the neutral,
    all-zeros condition). :func:`text_condition_track` is the per-frame version that follows the clauses."""
    if not isinstance(text, str):
        raise ValueError(f"text must be a string, got {type(text).__name__}")
    if not split_clauses(text):
        return None
    return dict(text_to_vad(text, model)["scores"])


def _pipeline(model: Any) -> Any:
    if model is None:
        return _default_pipeline(bundled_model())
    if isinstance(model, (str, Path)):
        return _default_pipeline(str(model))
    return model


def split_clauses(text: str) -> list[tuple[str, int, int]]:
    """``(clause text, first word index, end word index)`` per clause; word indices count :data:`_WORD` matches.

    Clauses end at ``. ! ? ;`` and before a contrast word (:data:`CONTRAST_WORDS`); clauses without words are
    dropped.
    """
    pieces = re.split(r"(?<=[.!?;])\s+|\s+(?=(?:" + "|".join(CONTRAST_WORDS) + r")\b)", text, flags=re.I)
    clauses, index = [], 0
    for piece in pieces:
        if not piece:
            continue
        n = len(_WORD.findall(piece))
        if n:
            clauses.append((piece.strip(), index, index + n))
            index += n
    return clauses


def _timing(entry: Any) -> tuple[str, float, float]:
    """A word timing from a synth ``Word`` (``.text/.start/.end``), a dict or a ``(word, start, end)`` tuple."""
    if isinstance(entry, Mapping):
        word = entry.get("word", entry.get("text", ""))
        start, end = entry["start"], entry["end"]
    elif isinstance(entry, (tuple, list)) and len(entry) == 3:
        word, start, end = entry
    elif hasattr(entry, "start") and hasattr(entry, "end"):
        word, start, end = getattr(entry, "text", ""), entry.start, entry.end
    else:
        raise ValueError(f"a word timing is a (word, start, end) tuple, a dict or a Word, got {entry!r}")
    start, end = float(start), float(end)
    if not (np.isfinite(start) and np.isfinite(end)) or end < start:
        raise ValueError(f"word timing {entry!r} needs finite start <= end (seconds)")
    return str(word), start, end


def clause_spans(
    clauses: list[tuple[str, int, int]], duration: float, word_timings: Sequence[Any] | None = None
) -> list[tuple[float, float]]:
    """Each clause's ``(start, end)`` in seconds: from its words' timings, or by its share of the words.

    Timings are matched to the text's words in order; when their counts differ (an engine that spells numbers
    out, say), word ``i`` of ``n`` maps to timing ``round(i * m / n)`` of ``m``.
    """
    total = clauses[-1][2] if clauses else 0
    if not word_timings:
        return [(duration * a / total, duration * b / total) for _, a, b in clauses]
    times = [_timing(w) for w in word_timings]
    m = len(times)

    def at(i: int) -> tuple[float, float]:
        j = i if m == total else min(m - 1, round(i * m / max(total, 1)))
        return times[j][1], times[j][2]

    return [(at(a)[0], at(b - 1)[1]) for _, a, b in clauses]


def text_condition_track(
    text: str,
    num_frames: int,
    fps: float,
    processor: Any,
    word_timings: Sequence[Any] | None = None,
    *,
    model: Any = None,
    intensity: float | str = 1.0,
    vad_weight: float = 0.5,
    crossfade_s: float = 0.3,
) -> np.ndarray:
    """av-lipsync's ``(num_frames, condition_dim)`` float32 condition for an avatar speaking ``text``.

    Args:
        text: what is said. No words (empty, emoji-only) → all zeros, the neutral face.
        num_frames, fps: the track's length and rate (av-lipsync: 30 fps, the frames of its output).
        processor: the av-lipsync processor (:class:`~avzoo.models.av_lipsync.AvLipsyncProcessor`): its
            ``condition_for(emotion, intensity, vad)`` builds each clause's vector, so its labels and VAD anchors
            are the ones used.
        word_timings: optional per-word ``(word, start_s, end_s)`` (tuples, dicts or ``avzoo.synth`` ``Word``s,
            e.g. ``utterance.words``); without them the clauses share the frames by their word counts.
        model: a text-to-vad pipeline, a folder or Hub id; None: the bundled ``avzoo/text-vad``.
        intensity: the condition's intensity (a number in [0, 1] or ``"normal"``/``"strong"``).
        vad_weight: how much of the condition's VAD is the text model's own VAD (its scale is that of EmoBank's
            ratings, milder than the emotion anchors), the rest being the anchors weighted by the clause's emotion
            probabilities; 0.5 by default.
        crossfade_s: width of the moving average that blends one clause's condition into the next.
    """
    if not isinstance(text, str):
        raise ValueError(f"text must be a string, got {type(text).__name__}")
    if isinstance(num_frames, bool) or not isinstance(num_frames, (int, np.integer)) or num_frames < 0:
        raise ValueError(f"num_frames must be an integer >= 0, got {num_frames!r}")
    if not (isinstance(fps, (int, float, np.number)) and np.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    if not 0.0 <= vad_weight <= 1.0:
        raise ValueError(f"vad_weight must be in [0, 1], got {vad_weight!r}")
    dim = len(processor.condition_for("neutral", intensity))
    track = np.zeros((int(num_frames), dim), np.float32)
    clauses = split_clauses(text)
    if not clauses or num_frames == 0:
        return track
    scorer = _pipeline(model)
    anchors = np.asarray(processor.emotion_vad, np.float64)
    labels = list(processor.emotion_labels)
    vectors = []
    for clause, _, _ in clauses:
        result = scorer(clause)
        probs = np.array([result["scores"].get(label, 0.0) for label in labels], np.float64)
        if probs.sum() <= 0:  # the text model names no emotion the processor knows: neutral
            probs = (
                np.eye(len(labels))[labels.index("neutral")]
                if "neutral" in labels
                else np.full(len(labels), 1.0)
            )
        probs /= probs.sum()
        own = np.array([result["valence"], result["arousal"], result["dominance"]], np.float64)
        vad = np.clip(vad_weight * own + (1 - vad_weight) * (probs @ anchors), -1.0, 1.0)
        vectors.append(processor.condition_for(dict(zip(labels, probs, strict=True)), intensity, vad=vad))
    duration = num_frames / float(fps)
    spans = clause_spans(clauses, duration, word_timings)
    times = (np.arange(num_frames) + 0.5) / float(fps)
    starts = np.array([s for s, _ in spans])
    # A frame takes the last clause that has started (the first before any speech): the face holds a feeling
    # until the next clause begins.
    which = np.clip(np.searchsorted(starts, times, side="right") - 1, 0, len(vectors) - 1)
    track[:] = np.stack(vectors)[which]
    width = round(crossfade_s * float(fps))
    if width > 1 and len(vectors) > 1:
        padded = np.pad(track, ((width // 2, width - 1 - width // 2), (0, 0)), mode="edge")
        kernel = np.ones(width) / width
        track = np.stack([np.convolve(padded[:, c], kernel, mode="valid") for c in range(dim)], 1)
    return np.nan_to_num(track).astype(np.float32)


__all__ = [
    "CONTRAST_WORDS",
    "DEFAULT_MODEL",
    "TASK",
    "TextToVadPipeline",
    "bundled_model",
    "clause_spans",
    "split_clauses",
    "text_condition_track",
    "text_emotion",
    "text_to_vad",
]
