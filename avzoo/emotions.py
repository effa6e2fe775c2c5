"""Emotion label sets used across avzoo, and the mappings between them.

Two sets appear in the datasets we follow:

* ``RAVDESS_EMOTIONS`` (8, in RAVDESS file-code order 01..08): av-fer, the synthetic corpus.
* ``MELD_EMOTIONS`` (7, MELD's alphabetical order): text-audio-emotion.

Valence/arousal/dominance anchors are approximate circumplex positions in [-1, 1] (after
Russell 1980 and the NRC VAD lexicon's values for the label words); they feed the models'
condition vectors, not any metric.
"""

from __future__ import annotations

RAVDESS_EMOTIONS: tuple[str, ...] = (
    "neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised",
)  # fmt: skip
RAVDESS_INTENSITIES: tuple[str, ...] = ("normal", "strong")
#: Condition intensity in [0, 1] of each RAVDESS intensity word: the one definition avzoo uses (the corpus'
#: expression gains, the training recipe and the processors' defaults).
INTENSITY_VALUES: dict[str, float] = {"normal": 0.55, "strong": 1.0}
MELD_EMOTIONS: tuple[str, ...] = ("anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise")

#: RAVDESS label -> MELD label. ``calm`` has no MELD counterpart and folds into neutral.
RAVDESS_TO_MELD: dict[str, str] = {
    "neutral": "neutral",
    "calm": "neutral",
    "happy": "joy",
    "sad": "sadness",
    "angry": "anger",
    "fearful": "fear",
    "disgust": "disgust",
    "surprised": "surprise",
}
MELD_TO_RAVDESS: dict[str, str] = {m: r for r, m in RAVDESS_TO_MELD.items() if r != "calm"}

#: (valence, arousal, dominance) per RAVDESS emotion.
VAD: dict[str, tuple[float, float, float]] = {
    "neutral": (0.0, 0.0, 0.0),
    "calm": (0.3, -0.6, 0.2),
    "happy": (0.8, 0.5, 0.4),
    "sad": (-0.7, -0.4, -0.4),
    "angry": (-0.6, 0.8, 0.6),
    "fearful": (-0.6, 0.7, -0.6),
    "disgust": (-0.7, 0.3, 0.2),
    "surprised": (0.2, 0.8, 0.0),
}


def to_ravdess(label: str) -> str:
    """Normalise a label from either set (any case) to its RAVDESS name."""
    key = label.strip().lower()
    if key in RAVDESS_EMOTIONS:
        return key
    if key in MELD_TO_RAVDESS:
        return MELD_TO_RAVDESS[key]
    raise ValueError(f"unknown emotion {label!r}; expected one of {RAVDESS_EMOTIONS} or {MELD_EMOTIONS}")


def to_meld(label: str) -> str:
    """Normalise a label from either set (any case) to its MELD name."""
    return RAVDESS_TO_MELD[to_ravdess(label)]
