"""Test rows of a speech → blendshapes evaluation: a split decoded into scoring rows, and the model's tracks for them.

:func:`load_test_rows` decodes a split in the shared utterance schema (:mod:`avzoo.data.schema`) into rows
``{id, audio, sampling_rate, reference, fps, lips_closed, bilabial_events, emotion, intensity, speaker}``:

* ``lips_closed`` marks the /p b m/ frames: those whose centre ``(k + 0.5) / fps`` lies inside a P, B or M phone
  of the ``phonemes`` column (:func:`bilabial_mask`), where a good model closes the lips;
* ``emotion``/``intensity`` are the dataset's labels as stored (ClassLabel indices, -1 unknown, or names).

:func:`predict_rows` runs the model on them through the processor (:func:`avzoo.evaluation.inference.
predict_blendshapes`): ``condition_mode="oracle"`` hands the rows' emotion and intensity labels to the processor,
which builds the condition (``processor.condition_for``: emotion probabilities, valence/arousal/dominance,
intensity; ``normal``/``strong`` are the processor's ``intensity_values``, the corpus' expression gains);
``"neutral"`` gives no condition (zeros).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from avzoo import arkit
from avzoo.emotions import INTENSITY_VALUES, RAVDESS_EMOTIONS, RAVDESS_INTENSITIES
from avzoo.evaluation.baselines import SAMPLING_RATE, audio_array, check_one_split
from avzoo.evaluation.inference import predict_blendshapes

CONDITION_MODES = ("oracle", "neutral")
BILABIAL_PHONES = frozenset({"P", "B", "M"})
_STRESS = re.compile(r"[0-9]+$")


# --- phone labels → frame masks --------------------------------------------------------------------------------


def _phone(symbol: Any) -> str:
    return _STRESS.sub("", str(symbol).strip().upper())


def bilabial_mask(phonemes: Sequence[Mapping[str, Any]] | None, num_frames: int, fps: float) -> np.ndarray:
    """(T,) True where frame ``k``'s centre ``(k + 0.5) / fps`` lies in a P, B or M phone ``[start, end)``."""
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps!r}")
    mask = np.zeros(int(num_frames), dtype=bool)
    centres = (np.arange(int(num_frames)) + 0.5) / fps
    for p in phonemes or ():
        if _phone(p["phone"]) in BILABIAL_PHONES:
            mask |= (centres >= float(p["start"])) & (centres < float(p["end"]))
    return mask


def bilabial_events(phonemes: Sequence[Mapping[str, Any]] | None) -> int:
    """Number of runs of consecutive P/B/M phones (``"m b"`` in *number* is one closure)."""
    count, previous = 0, False
    for p in phonemes or ():
        current = _phone(p["phone"]) in BILABIAL_PHONES
        count += int(current and not previous)
        previous = current
    return count


# --- dataset labels → processor inputs ---------------------------------------------------------------------------


def _label(value: Any, names: Sequence[str], what: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        key = value.strip().lower()
        if key not in names:
            raise ValueError(f"unknown {what} {value!r}; expected one of {list(names)}")
        return key
    index = int(value)
    if index < 0:
        return None  # ClassLabel -1: unknown
    if index >= len(names):
        raise ValueError(f"{what} index {index} out of range [0, {len(names)})")
    return names[index]


def emotion_label(emotion: Any) -> str | None:
    """The emotion name of a dataset label (a RAVDESS name or its ClassLabel index); None when unknown (-1)."""
    return _label(emotion, RAVDESS_EMOTIONS, "emotion")


def intensity_label(intensity: Any) -> str | float:
    """What the processor takes for a dataset intensity: the word of a label (``"normal"``/``"strong"`` or its
    ClassLabel index; unknown, None or -1, reads as ``"normal"``), or a number in [0, 1] as it is."""
    if isinstance(intensity, (float, np.floating)):
        if not 0.0 <= float(intensity) <= 1.0:
            raise ValueError(f"intensity must be in [0, 1], got {intensity!r}")
        return float(intensity)
    return _label(intensity, RAVDESS_INTENSITIES, "intensity") or "normal"


def intensity_value(intensity: Any, values: Mapping[str, float] | None = None) -> float:
    """Condition intensity in [0, 1] of a dataset intensity (see :func:`intensity_label`).

    Words map through ``values`` (a processor's ``intensity_values``; default :data:`avzoo.emotions.
    INTENSITY_VALUES`, the one definition of ``normal`` = 0.55 and ``strong`` = 1.0).
    """
    label = intensity_label(intensity)
    return (
        label if isinstance(label, float) else float((INTENSITY_VALUES if values is None else values)[label])
    )


def condition_from_labels(processor: Any, emotion: Any, intensity: Any) -> np.ndarray:
    """``processor.condition_for(emotion, intensity)`` from dataset labels; an unknown emotion gives zeros."""
    return processor.condition_for(emotion_label(emotion), intensity_label(intensity)).astype(np.float32)


# --- a split → rows ------------------------------------------------------------------------------------------------


def _split_fps(dataset: Any, fps: float | None) -> float | None:
    if fps is not None:
        return float(fps)
    names = getattr(dataset, "column_names", None)
    if names is not None and "fps" not in names:
        raise ValueError("the test split has no 'fps' column; pass fps= (the blendshape frame rate)")
    return None  # read from the first row


def load_test_rows(dataset: Any, fps: float | None = None) -> list[dict[str, Any]]:
    """Decode a split into rows (see the module docstring); rows without blendshapes are skipped.

    ``fps`` is the rate the scores are computed at (e.g. the processor's); every row's ``fps`` must match it.
    None: the split's own ``fps`` column (one rate for all rows). Audio must be at the dataset schema's rate.
    """
    check_one_split(dataset, "test")
    columns = ["id", "audio", "blendshapes", "fps", "phonemes", "emotion", "intensity", "speaker_id"]
    names = getattr(dataset, "column_names", None)
    if names is not None:
        missing = [c for c in ("audio", "blendshapes", "phonemes") if c not in names]
        if missing:
            raise ValueError(f"the test split lacks column(s) {missing}; it has {names}")
        dataset = dataset.select_columns([c for c in columns if c in names])
    rate = _split_fps(dataset, fps)
    rows = []
    for i, row in enumerate(dataset):
        if row.get("blendshapes") is None:
            continue
        row_fps = row.get("fps")
        if rate is None:
            if row_fps is None:
                raise ValueError(f"row {i} has no fps; pass fps= (the blendshape frame rate)")
            rate = float(row_fps)
        if row_fps is not None and abs(float(row_fps) - rate) > 1e-6:
            raise ValueError(f"row {i} has blendshapes at {row_fps} fps; this evaluation runs at {rate} fps")
        ref = np.asarray(row["blendshapes"], dtype=np.float32)
        if ref.ndim != 2 or ref.shape[1] != arkit.NUM_BLENDSHAPES:
            raise ValueError(f"row {i}: blendshapes must be (T, 52), got shape {ref.shape}")
        rows.append(
            {
                "id": row.get("id", str(i)),
                "audio": audio_array(row["audio"]),
                "sampling_rate": SAMPLING_RATE,
                "reference": ref,
                "fps": rate,
                "lips_closed": bilabial_mask(row.get("phonemes"), len(ref), rate),
                "bilabial_events": bilabial_events(row.get("phonemes")),
                "emotion": row.get("emotion"),
                "intensity": row.get("intensity"),
                "speaker": row.get("speaker_id"),
            }
        )
    if not rows:
        raise ValueError("the test split has no rows with blendshapes to evaluate on")
    return rows


def load_corpus_splits(corpus_dir: str | Path, splits: Sequence[str] = ("train", "test")) -> Any:
    """A built corpus (``avzoo.synth.corpus.load_corpus``); ``ValueError`` unless ``splits`` have utterances."""
    from avzoo.synth.corpus import load_corpus

    corpus = load_corpus(corpus_dir)
    for split in splits:
        if split not in corpus or len(corpus[split]) == 0:
            raise ValueError(
                f"corpus {corpus_dir} has no {split!r} split; build one with "
                f"{' and '.join(splits)} utterances"
            )
    return corpus


def rows_fps(rows: Sequence[Mapping[str, Any]]) -> float:
    """The one frame rate of :func:`load_test_rows` rows."""
    rates = {float(r["fps"]) for r in rows}
    if len(rates) != 1:
        raise ValueError(f"rows must share one frame rate, got {sorted(rates)}")
    return rates.pop()


# --- rows → model tracks -------------------------------------------------------------------------------------------


def predict_rows(
    model: Any,
    processor: Any,
    rows: list[dict[str, Any]],
    condition_mode: str = "oracle",
    *,
    batch_size: int = 8,
    crisp_mouth: bool | Mapping[str, Any] = False,
    mode: str | None = None,
    return_phone_logits: bool = False,
) -> list[np.ndarray] | tuple[list[np.ndarray], list[np.ndarray | None]]:
    """The model's tracks for :func:`load_test_rows` rows, each cut to its reference's length.

    ``condition_mode`` ``"oracle"`` conditions on the rows' emotion/intensity labels (through the processor),
    ``"neutral"`` on nothing (zeros). ``crisp_mouth`` as in ``processor.post_process_blendshapes``; ``mode`` goes
    to the model when given; ``return_phone_logits`` as in :func:`predict_blendshapes`.
    """
    if condition_mode not in CONDITION_MODES:
        raise ValueError(f"condition_mode must be one of {CONDITION_MODES}, got {condition_mode!r}")
    labels: dict[str, Any] = {}
    if condition_mode == "oracle":
        labels["emotion"] = [emotion_label(r["emotion"]) for r in rows]
        labels["intensity"] = [intensity_label(r["intensity"]) for r in rows]
    return predict_blendshapes(
        model,
        processor,
        [r["audio"] for r in rows],
        batch_size=batch_size,
        sampling_rate=rows[0].get("sampling_rate") if rows else None,
        num_frames=[len(r["reference"]) for r in rows],
        crisp_mouth=crisp_mouth,
        mode=mode,
        return_phone_logits=return_phone_logits,
        **labels,
    )


__all__ = [
    "BILABIAL_PHONES",
    "CONDITION_MODES",
    "bilabial_events",
    "bilabial_mask",
    "condition_from_labels",
    "emotion_label",
    "intensity_label",
    "intensity_value",
    "load_corpus_splits",
    "load_test_rows",
    "predict_rows",
    "rows_fps",
]
