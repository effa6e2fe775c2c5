"""avzoo.data: the shared utterance/mixture schema and adapters that load real datasets into it.

Every loader returns a ``datasets.Dataset`` (or ``DatasetDict`` for official splits) with the
columns of :func:`utterance_features` / :func:`mixture_features`, plus a few extra columns of its
own, so recipes train and evaluate on the synthetic corpus and on real data alike.

* :func:`load_ravdess` (+ :func:`ravdess_speaker_split`): RAVDESS, evaluation only (CC BY-NC-SA).
* :func:`load_livelink_takes`: Live Link Face CSV takes with their audio.
* :func:`load_mixture_folder`: separation sets (``mix/ s1/ s2/`` or ``<name>/mix.wav s1.wav ...``).
* :func:`load_meld`, :func:`load_iemocap` (+ :func:`iemocap_session_split`), :func:`load_transcript_csv`.
"""

from avzoo.data.livelink_takes import load_livelink_takes
from avzoo.data.mixture_folders import load_mixture_folder
from avzoo.data.ravdess import RAVDESS_FOLDS, load_ravdess, parse_ravdess_name, ravdess_speaker_split
from avzoo.data.schema import SAMPLING_RATE, empty_row, mixture_features, utterance_features
from avzoo.data.transcripts import (
    iemocap_session_split,
    load_iemocap,
    load_meld,
    load_transcript_csv,
)

__all__ = [
    "RAVDESS_FOLDS",
    "SAMPLING_RATE",
    "empty_row",
    "iemocap_session_split",
    "load_iemocap",
    "load_livelink_takes",
    "load_meld",
    "load_mixture_folder",
    "load_ravdess",
    "load_transcript_csv",
    "mixture_features",
    "parse_ravdess_name",
    "ravdess_speaker_split",
    "utterance_features",
]
