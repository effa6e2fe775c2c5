"""RAVDESS (Livingstone & Russo 2018) as an utterance dataset in the shared schema.

.. warning::
   **Licence: CC BY-NC-SA 4.0 (non-commercial).** Use RAVDESS to *evaluate* models. Do not train the
   bundled checkpoints on it: the licence would bind the weights. At most a separate variant, clearly
   marked non-commercial, may be fine-tuned on it.

Expected layout: any folder holding ``Actor_XX/`` folders (at any depth, so the official zips
unpacked side by side work), each with files named by the official code ``MM-VV-EE-II-SS-RR-AA.ext``::

    ravdess/
      Audio_Speech_Actors_01-24/
        Actor_01/03-01-01-01-01-01-01.wav      audio-only speech (48 kHz wav; FLAC copies work too)
        Actor_02/03-01-05-02-01-02-02.wav
      Video_Speech_Actor_01/
        Actor_01/01-01-01-01-01-01-01.mp4      audio-video (H.264 + AAC)
                 02-01-01-01-01-01-01.mp4      video-only

Code fields: MM modality (01 audio-video, 02 video-only, 03 audio-only), VV vocal channel (01 speech,
02 song), EE emotion 01-08 (:data:`avzoo.emotions.RAVDESS_EMOTIONS` order), II intensity (01 normal,
02 strong; neutral has no strong), SS statement (01 "Kids are talking by the door", 02 "Dogs are
sitting by the door"), RR repetition 01/02, AA actor 01-24 (odd male, even female).

Rows hold the file path in ``audio`` (decoded lazily and resampled to 16 kHz by ``datasets``; an mp4's
audio comes from its AAC track) and, for video files, in ``video``. Video-only files have no audio.
Extra columns: ``actor``, ``gender``, ``modality``, ``vocal_channel``, ``statement``, ``repetition``
and ``take_id`` (fields 2-7). ``take_id`` is the leakage key: the ``03-`` audio file is the same
performance as the ``01-`` file's audio track, so one take must never sit in two splits;
:func:`ravdess_speaker_split` splits by actor and checks it.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from pathlib import Path

from datasets import Dataset, DatasetDict, Features, Value

from avzoo.data._common import AUDIO_EXTENSIONS, VIDEO_EXTENSIONS, build_dataset, require_dir, visible
from avzoo.data.schema import empty_row, utterance_features
from avzoo.emotions import RAVDESS_EMOTIONS, RAVDESS_INTENSITIES

__all__ = [
    "RAVDESS_ACTORS",
    "RAVDESS_FOLDS",
    "RAVDESS_STATEMENTS",
    "load_ravdess",
    "parse_ravdess_name",
    "ravdess_features",
    "ravdess_speaker_split",
]

RAVDESS_ACTORS = tuple(range(1, 25))
RAVDESS_STATEMENTS = ("Kids are talking by the door", "Dogs are sitting by the door")
MODALITIES = {1: "audio-video", 2: "video-only", 3: "audio-only"}
VOCAL_CHANNELS = {1: "speech", 2: "song"}
#: Emotions RAVDESS recorded as song (01-06).
SONG_EMOTIONS = RAVDESS_EMOTIONS[:6]
#: The six speaker-independent folds of four actors, two male and two female each.
RAVDESS_FOLDS: tuple[tuple[int, ...], ...] = tuple(tuple(range(4 * k + 1, 4 * k + 5)) for k in range(6))

_MODALITY_ARG = {"audio": {3}, "audio-video": {1}, "video-only": {2}, "all": {1, 2, 3}}
_CHANNEL_ARG = {"speech": {1}, "song": {2}, "all": {1, 2}}
_CODE = re.compile(r"(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)")
_ACTOR_DIR = re.compile(r"Actor_(\d\d)")


def parse_ravdess_name(name: str) -> dict:
    """Fields of an official RAVDESS file name such as ``03-01-05-02-01-02-12.wav``.

    Returns ``modality`` and ``vocal_channel`` (words), ``emotion`` and ``intensity`` (label names),
    ``statement``, ``repetition`` and ``actor`` (ints), ``gender`` and ``take_id`` (fields 2-7).
    Raises ValueError naming the file when the code is malformed, out of range or impossible
    (strong neutral, song with disgust/surprise) or the extension does not fit the modality.
    """
    path = Path(name)
    match = _CODE.fullmatch(path.stem)
    if match is None:
        raise ValueError(
            f"{name!r} is not a RAVDESS file name: expected seven two-digit fields MM-VV-EE-II-SS-RR-AA "
            "plus an extension, e.g. 03-01-05-02-01-02-12.wav"
        )
    mm, vv, ee, ii, ss, rr, aa = (int(g) for g in match.groups())
    ranges = {
        "modality": (mm, 1, 3),
        "vocal channel": (vv, 1, 2),
        "emotion": (ee, 1, 8),
        "intensity": (ii, 1, 2),
        "statement": (ss, 1, 2),
        "repetition": (rr, 1, 2),
        "actor": (aa, 1, 24),
    }
    for field, (value, lo, hi) in ranges.items():
        if not lo <= value <= hi:
            raise ValueError(f"{name!r}: {field} code {value:02d} is outside {lo:02d}-{hi:02d}")
    emotion = RAVDESS_EMOTIONS[ee - 1]
    if emotion == "neutral" and ii == 2:
        raise ValueError(f"{name!r}: neutral has no strong intensity (intensity must be 01)")
    if vv == 2 and emotion not in SONG_EMOTIONS:
        raise ValueError(f"{name!r}: song covers only emotions 01-06, got {ee:02d} ({emotion})")
    suffix = path.suffix.lower()
    allowed = AUDIO_EXTENSIONS if mm == 3 else VIDEO_EXTENSIONS
    if suffix not in allowed:
        raise ValueError(
            f"{name!r}: modality {mm:02d} ({MODALITIES[mm]}) needs a file ending in one of "
            + ", ".join(allowed)
        )
    return {
        "modality": MODALITIES[mm],
        "vocal_channel": VOCAL_CHANNELS[vv],
        "emotion": emotion,
        "intensity": RAVDESS_INTENSITIES[ii - 1],
        "statement": ss,
        "repetition": rr,
        "actor": aa,
        "gender": "male" if aa % 2 else "female",
        "take_id": "-".join(match.groups()[1:]),
    }


def ravdess_features(video: bool = False) -> Features:
    """The shared utterance features plus the RAVDESS columns."""
    features = utterance_features(video=video)
    features.update(
        {
            "actor": Value("int32"),
            "gender": Value("string"),
            "modality": Value("string"),
            "vocal_channel": Value("string"),
            "statement": Value("int32"),
            "repetition": Value("int32"),
            "take_id": Value("string"),
        }
    )
    return features


def _actor_dirs(root: Path) -> list[Path]:
    if _ACTOR_DIR.fullmatch(root.name):
        return [root]
    return visible(p for p in root.rglob("Actor_*") if p.is_dir() and _ACTOR_DIR.fullmatch(p.name))


def load_ravdess(
    root: str | Path,
    modality: str = "audio",
    actors: Iterable[int] | None = None,
    vocal_channel: str = "speech",
    *,
    strict: bool = True,
) -> Dataset:
    """Load RAVDESS files under ``root`` as rows of the shared utterance schema (see the module doc).

    Args:
        root: a folder with ``Actor_XX/`` folders at any depth (or one ``Actor_XX`` folder).
        modality: ``"audio"`` (03- audio-only files), ``"audio-video"`` (01-), ``"video-only"`` (02-,
            no audio) or ``"all"``. Anything but ``"audio"`` adds the ``video`` column.
        actors: keep only these actor numbers (1-24); all by default.
        vocal_channel: ``"speech"``, ``"song"`` or ``"all"``.
        strict: a malformed file name (or one whose actor differs from its ``Actor_XX`` folder, or a
            duplicate) raises ValueError; with ``strict=False`` it is skipped with a warning.

    Rows are sorted by file name. Raises ValueError when nothing matches the filters.
    """
    if modality not in _MODALITY_ARG:
        raise ValueError(f"modality must be one of {sorted(_MODALITY_ARG)}, got {modality!r}")
    if vocal_channel not in _CHANNEL_ARG:
        raise ValueError(f"vocal_channel must be one of {sorted(_CHANNEL_ARG)}, got {vocal_channel!r}")
    wanted_actors = set(RAVDESS_ACTORS) if actors is None else set(actors)
    if bad := sorted(a for a in wanted_actors if a not in RAVDESS_ACTORS):
        raise ValueError(f"actors must be numbers in 1-24, got {bad}")
    root = require_dir(root, "RAVDESS folder")
    actor_dirs = _actor_dirs(root)
    if not actor_dirs:
        raise ValueError(
            f"no Actor_XX folders under {root}; expected e.g. {root}/Actor_01/03-01-01-01-01-01-01.wav"
        )

    modalities = {MODALITIES[m] for m in _MODALITY_ARG[modality]}
    channels = {VOCAL_CHANNELS[c] for c in _CHANNEL_ARG[vocal_channel]}
    with_video = modality != "audio"
    features = ravdess_features(video=with_video)
    found: dict[str, Path] = {}
    rows = []
    skipped: list[str] = []
    for folder in actor_dirs:
        folder_actor = int(_ACTOR_DIR.fullmatch(folder.name).group(1))
        for path in visible(folder.iterdir()):
            if path.is_dir():
                continue
            try:
                info = parse_ravdess_name(path.name)
                if info["actor"] != folder_actor:
                    raise ValueError(f"{path.name!r} is actor {info['actor']:02d} but sits in {folder.name}")
                if path.name in found:
                    raise ValueError(f"{path.name!r} appears twice: {found[path.name]} and {path}")
            except ValueError as err:
                if strict:
                    raise ValueError(f"{path}: {err}") from None
                skipped.append(str(err))
                continue
            found[path.name] = path
            if (
                info["modality"] not in modalities
                or info["vocal_channel"] not in channels
                or info["actor"] not in wanted_actors
            ):
                continue
            row = empty_row(features)
            row.update(info)
            row.update(
                id=path.stem,
                audio=None if info["modality"] == "video-only" else {"path": str(path.resolve())},
                text=RAVDESS_STATEMENTS[info["statement"] - 1],
                emotion=RAVDESS_EMOTIONS.index(info["emotion"]),
                intensity=RAVDESS_INTENSITIES.index(info["intensity"]),
                speaker_id=f"ravdess-{info['actor']:02d}",
                voice=f"{info['modality']}/{info['vocal_channel']}",
                engine="ravdess",
                source="ravdess",
            )
            if with_video:
                row["video"] = str(path.resolve()) if info["modality"] != "audio-only" else None
            rows.append(row)
    if skipped:
        warnings.warn(
            f"skipped {len(skipped)} file(s) with malformed RAVDESS names: {'; '.join(skipped[:5])}",
            stacklevel=2,
        )
    if not rows:
        raise ValueError(
            f"no RAVDESS files under {root} match modality={modality!r}, vocal_channel={vocal_channel!r}, "
            f"actors={sorted(wanted_actors)} ({len(found)} RAVDESS file(s) found in all)"
        )
    rows.sort(key=lambda r: r["id"])
    return build_dataset(rows, features)


def ravdess_speaker_split(dataset: Dataset, protocol: str = "16-4-4", fold: int | None = None) -> DatasetDict:
    """Actor-disjoint ``train`` / ``validation`` / ``test`` splits of a :func:`load_ravdess` dataset.

    The 24 actors form six folds of four (:data:`RAVDESS_FOLDS`: actors 1-4, 5-8, ..., 21-24; two
    male and two female each). Fold ``k`` (0-5) of ``protocol="6-fold"`` tests on fold ``k``,
    validates on fold ``k - 1`` (fold 5 for ``k = 0``) and trains on the other 16 actors.
    ``protocol="16-4-4"`` is fold 5: train actors 1-16, validation 17-20, test 21-24.

    Raises ValueError for an unknown protocol or fold, when a split would be empty (e.g. "16-4-4" on
    actors 1-16 only: use a 6-fold fold 0-3 there), or if a ``take_id`` were to land in two splits.
    """
    if protocol == "16-4-4":
        if fold not in (None, 5):
            raise ValueError(f"protocol '16-4-4' is fixed (it equals 6-fold fold 5); got fold={fold!r}")
        fold = 5
    elif protocol == "6-fold":
        if isinstance(fold, bool) or not isinstance(fold, int) or not 0 <= fold <= 5:
            raise ValueError(f"protocol '6-fold' needs fold=0..5, got {fold!r}")
    else:
        raise ValueError(f"protocol must be '16-4-4' or '6-fold', got {protocol!r}")
    missing = [c for c in ("actor", "take_id") if c not in dataset.column_names]
    if missing:
        raise ValueError(f"dataset lacks column(s) {missing}; pass a dataset made by load_ravdess")
    test = set(RAVDESS_FOLDS[fold])
    validation = set(RAVDESS_FOLDS[(fold - 1) % 6])
    assignment = {
        a: "test" if a in test else "validation" if a in validation else "train" for a in RAVDESS_ACTORS
    }
    actors = dataset["actor"]
    indices: dict[str, list[int]] = {"train": [], "validation": [], "test": []}
    for i, actor in enumerate(actors):
        indices[assignment[actor]].append(i)
    present = sorted(set(actors))
    for name, idx in indices.items():
        if not idx:
            wanted = sorted(a for a, s in assignment.items() if s == name)
            raise ValueError(
                f"split {name!r} of {protocol} fold {fold} needs actors {wanted}, but the dataset holds "
                f"actors {present}"
            )
    takes = dataset["take_id"]
    seen: dict[str, str] = {}
    for name, idx in indices.items():
        for i in idx:
            if seen.setdefault(takes[i], name) != name:
                raise ValueError(f"take {takes[i]} lands in both {seen[takes[i]]!r} and {name!r}")
    return DatasetDict({name: dataset.select(idx) for name, idx in indices.items()})
