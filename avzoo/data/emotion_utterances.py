"""Real emotion-labelled utterances (MELD, IEMOCAP, any such CSV) as text-audio-emotion training shards.

One CSV row is one utterance: its words, its emotion label and its media file (audio, or a video whose first
audio track is the utterance). :func:`load_emotion_utterances` reads one CSV (one split) into the columns of
:func:`avzoo.synth.emotion_speech.emotion_speech_features`; :func:`write_emotion_utterances` writes splits as
``OUT/{train,validation,test}/shard-*.parquet``, so :func:`avzoo.synth.emotion_speech.load_emotion_speech` and
the recipe (``avzoo train text-audio-emotion data_dir=OUT``) read them unchanged::

    python -m avzoo.data.emotion_utterances runs/tae/meld --layout meld --media-root MELD.Raw \\
        --train MELD.Raw/train_sent_emo.csv --validation MELD.Raw/dev_sent_emo.csv \\
        --test MELD.Raw/test_sent_emo.csv

Layouts (:class:`UtteranceColumns`; fields in braces are CSV columns):

* :data:`MELD` — MELD's ``{train,dev,test}_sent_emo.csv`` (``Utterance``, ``Emotion``, ``Speaker``,
  ``Dialogue_ID``, ``Utterance_ID``); the clip of a row is ``dia{Dialogue_ID}_utt{Utterance_ID}.mp4`` under
  ``media_root``, or, when ``split`` is given, under the official clip folder of that split if ``media_root``
  holds one (``train_splits``, ``dev_splits_complete``, ``output_repeated_splits_test``, also one level down
  as unpacked from the archives), so ``media_root`` may be ``MELD.Raw`` itself. MELD's labels are already
  the 7 MELD classes. The text is repaired as :func:`avzoo.data.load_meld` does (stray Windows-1252 bytes,
  mojibake). Known bad clips (train ``dia125_utt3``, dev ``dia110_utt7``) are skipped.
* :data:`CSV` — the generic layout: ``path`` (the media file, absolute or relative to ``media_root``,
  default the CSV's folder), ``text``, ``emotion`` and optionally ``speaker``. Labels are MELD names by
  default (RAVDESS names are accepted too, e.g. ``happy`` -> joy and ``calm`` -> neutral, as
  :func:`avzoo.emotions.to_meld` maps them); pass ``label_map`` for other label sets.

IEMOCAP: export each split to the generic CSV (``path`` = the turn's wav under
``sentences/wav/<dialog>/``, ``text`` = its transcript, ``emotion`` = the category code of
``dialog/EmoEvaluation``, ``speaker`` e.g. ``Ses01F``; :func:`avzoo.data.load_iemocap` reads all of these and
:func:`avzoo.data.iemocap_session_split` gives the usual leave-one-session-out splits) and pass
``label_map=IEMOCAP_LABELS`` (CLI: ``--labels iemocap``). :data:`IEMOCAP_LABELS` maps ``ang`` -> anger,
``hap`` and ``exc`` -> joy (the usual merge), ``sad`` -> sadness, ``neu`` -> neutral, ``fea`` -> fear,
``sur`` -> surprise, ``dis`` -> disgust, and drops ``fru`` (frustration), ``oth`` and ``xxx`` (no agreement):
none of them has a MELD class, and folding frustration into anger would change what "anger" means. To keep
frustration as anger anyway, pass ``{**IEMOCAP_LABELS, "fru": "anger"}``. An export, sessions 1-3 to train,
4 to validation, 5 to test (turns without a wav are left out)::

    import csv
    from datasets import Audio
    from avzoo.data import iemocap_session_split, load_iemocap

    turns = load_iemocap("IEMOCAP_full_release").cast_column("audio", Audio(decode=False))
    for split, part in iemocap_session_split(turns, test_session=5, validation_session=4).items():
        with open(f"iemocap_{split}.csv", "w", newline="", encoding="utf-8") as f:
            out = csv.writer(f)
            out.writerow(["path", "text", "emotion", "speaker"])
            for turn in part:
                if turn["audio"] is not None:
                    speaker = turn["speaker_id"].removeprefix("iemocap-")
                    out.writerow([turn["audio"]["path"], turn["text"] or "", turn["label_iemocap"], speaker])

then::

    python -m avzoo.data.emotion_utterances runs/tae/iemocap --labels iemocap --source iemocap \\
        --train iemocap_train.csv --validation iemocap_validation.csv --test iemocap_test.csv

What real data cannot say, and how the columns say it:

* ``condition`` is ``"unknown"`` (there is no congruent / neutral_text / incongruent design); ``intensity``
  and ``voice`` are ``"unknown"``; ``engine`` and ``source`` are the layout's source (``"meld"``, ``"csv"``).
* ``text_emotion`` is -1, the ClassLabel's "no label": these corpora label each utterance once, from words and
  voice together, so there is no words-only label. (Copying ``label`` there would make the evaluation's
  "words" baseline a perfect, fake reader of the text.)
* ``gender`` and ``age_group`` are ``"unknown"``. ``pitch_band`` has no unknown class in the emotion-speech
  schema (low/mid/high, from the synthetic speaker's base pitch), so every row gets :data:`PITCH_BAND_FILL`
  (``"mid"``): a constant for real data, which tells the model nothing about the row. The recipe's metadata
  dropout still trains the unknown case the processor uses at inference.

A row whose media file is missing or unreadable (it must open and its first audio packet decode; FFmpeg
via PyAV) or whose label is unknown (or mapped to None) is skipped; one warning per CSV counts the skipped
rows and lists the unknown labels. If no row is left, ValueError.

Audio is stored as the file's absolute path: ``datasets`` decodes it lazily (first audio track, resampled to
16 kHz mono), so the written folder is small but needs the media where they were. With ``embed_audio=True``
(CLI ``--embed-audio``) each utterance is decoded once and stored in the shards as 16 kHz mono 16-bit FLAC:
the folder is self-contained (about 25 kB per second of speech) and training reads no video containers.
"""

from __future__ import annotations

import io
import os
import string
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from datasets import Dataset, DatasetDict

from avzoo.data._common import build_dataset, probe_audio, warn_skipped
from avzoo.data.transcripts import _MELD_CLIP_DIRS, _fix, _read_csv
from avzoo.emotions import MELD_EMOTIONS, to_meld
from avzoo.synth.emotion_speech import (
    AGE_GROUPS,
    GENDERS,
    PITCH_BANDS,
    SAMPLING_RATE,
    emotion_speech_features,
    load_emotion_speech,
)

__all__ = [
    "CSV",
    "IEMOCAP_LABELS",
    "LAYOUTS",
    "MELD",
    "PITCH_BAND_FILL",
    "SPLITS",
    "UtteranceColumns",
    "load_emotion_utterances",
    "main",
    "write_emotion_utterances",
]

SPLITS = ("train", "validation", "test")
#: The ``pitch_band`` of every real row (the schema has no "unknown" pitch band; see the module docstring).
PITCH_BAND_FILL = "mid"
#: IEMOCAP category code -> MELD class; None drops the row (see the module docstring).
IEMOCAP_LABELS: dict[str, str | None] = {
    "ang": "anger", "hap": "joy", "exc": "joy", "sad": "sadness", "neu": "neutral", "fea": "fear",
    "sur": "surprise", "dis": "disgust", "fru": None, "oth": None, "xxx": None,
}  # fmt: skip


@dataclass(frozen=True)
class UtteranceColumns:
    """Where a CSV layout keeps each field.

    ``text``, ``label`` and ``speaker`` are column names (``speaker`` is optional: used when the header has
    it). ``media`` and ``id`` are templates whose ``{Column}`` fields are filled from the row: ``"{path}"``
    takes a column as it is, ``"dia{Dialogue_ID}_utt{Utterance_ID}.mp4"`` builds a file name; ``id`` None
    numbers the rows. ``media_dirs`` names, per split, folders under ``media_root`` to look in first (the first
    that exists is used). ``source`` fills ``source``/``engine`` and prefixes ids and speakers.
    """

    text: str
    label: str
    media: str
    speaker: str | None = None
    id: str | None = None
    source: str = "csv"
    media_dirs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def required(self) -> list[str]:
        """Columns the CSV must have."""
        fields = [self.text, self.label]
        for template in (self.media, self.id):
            if template:
                fields += [name for _, name, _, _ in string.Formatter().parse(template) if name]
        return list(dict.fromkeys(fields))


MELD = UtteranceColumns(
    text="Utterance",
    label="Emotion",
    media="dia{Dialogue_ID}_utt{Utterance_ID}.mp4",
    speaker="Speaker",
    id="dia{Dialogue_ID}_utt{Utterance_ID}",
    source="meld",
    media_dirs={**_MELD_CLIP_DIRS, "validation": _MELD_CLIP_DIRS["dev"]},
)
CSV = UtteranceColumns(text="text", label="emotion", media="{path}", speaker="speaker", source="csv")
LAYOUTS: dict[str, UtteranceColumns] = {"meld": MELD, "csv": CSV}


def _label_lookup(label_map: Mapping[str, str | None] | None):
    """raw label -> MELD name, None (drop) or KeyError (unknown); case-insensitive."""
    if label_map is None:

        def lookup(raw: str) -> str | None:
            try:
                return to_meld(raw)
            except ValueError:
                raise KeyError(raw) from None

        return lookup
    table = {}
    for raw, name in label_map.items():
        if name is not None and name.strip().lower() not in MELD_EMOTIONS:
            raise ValueError(
                f"label_map sends {raw!r} to {name!r}, which is not one of {MELD_EMOTIONS} (or None)"
            )
        table[raw.strip().lower()] = None if name is None else name.strip().lower()

    def lookup(raw: str) -> str | None:
        return table[raw.strip().lower()]

    return lookup


def _media_folder(columns: UtteranceColumns, media_root: Path, split: str | None) -> Path:
    for name in columns.media_dirs.get(split or "", ()):
        if (media_root / name).is_dir():
            return media_root / name
    return media_root


def load_emotion_utterances(
    csv: str | os.PathLike,
    media_root: str | os.PathLike | None = None,
    columns: UtteranceColumns | str = CSV,
    label_map: Mapping[str, str | None] | None = None,
    split: str | None = None,
    *,
    probe: bool = True,
) -> Dataset:
    """One CSV of utterances as a Dataset in the emotion-speech schema (see the module docstring).

    Args:
        csv: the CSV (header row required; UTF-8, stray Windows-1252 bytes tolerated).
        media_root: the folder media paths are relative to; default the CSV's folder.
        columns: the layout, :data:`MELD`, :data:`CSV` (default) or your own :class:`UtteranceColumns`; or
            the name ``"meld"`` / ``"csv"``.
        label_map: raw label -> MELD class, or None to drop the row (e.g. :data:`IEMOCAP_LABELS`); matched
            case-insensitively. Default: MELD names (and RAVDESS names, via :func:`avzoo.emotions.to_meld`).
        split: the split's name (``train``, ``validation``/``dev``, ``test``): picks the layout's media folder
            for that split (MELD) and prefixes the ids (default the CSV's stem).
        probe: open each media file and decode its first audio packet (skipping corrupt ones); False only
            checks that the file exists (faster, but a corrupt file then fails when decoded).

    Rows keep the CSV's order. Raises ValueError for a missing CSV, folder or column, a ``label_map`` value
    that is not a MELD class, or when no row is left.
    """
    if isinstance(columns, str):
        if columns not in LAYOUTS:
            raise ValueError(f"unknown layout {columns!r}; expected one of {sorted(LAYOUTS)}")
        columns = LAYOUTS[columns]
    path = Path(csv).expanduser()
    if not path.is_file():
        raise ValueError(f"utterance CSV not found: {path}")
    root = path.parent if media_root is None else Path(media_root).expanduser()
    if not root.is_dir():
        raise ValueError(f"media folder not found: {root} is not a folder")
    split_name = "validation" if split == "dev" else split
    folder = _media_folder(columns, root, split_name)
    lookup = _label_lookup(label_map)
    table = _read_csv(path, columns.required())
    prefix = f"{columns.source}-{split_name or path.stem}"

    gender, age_group, pitch = (
        GENDERS.index("unknown"),
        AGE_GROUPS.index("unknown"),
        PITCH_BANDS.index(PITCH_BAND_FILL),
    )
    rows, problems = [], []
    unknown: Counter[str] = Counter()
    dropped: Counter[str] = Counter()
    bad_media = 0
    for line, rec in enumerate(table, start=2):
        raw = rec.get(columns.label) or ""
        try:
            name = lookup(raw)
        except KeyError:
            unknown[raw] += 1
            problems.append(f"row {line}: unknown label {raw!r}")
            continue
        if name is None:
            dropped[raw] += 1
            problems.append(f"row {line}: label {raw!r} has no MELD class (dropped)")
            continue
        cells = {k: v or "" for k, v in rec.items() if k is not None}
        media = columns.media.format(**cells).strip()
        file = Path(media).expanduser() if media else None
        if file is not None and not file.is_absolute():
            file = folder / file
        if file is None:
            problem = "no media file named"
        elif probe:
            problem = probe_audio(file)
        else:
            problem = None if file.is_file() else "missing"
        if problem is not None:
            bad_media += 1
            problems.append(
                f"row {line}: {problem}" if file is None else f"row {line}: {file.name} ({problem})"
            )
            continue
        speaker = (rec.get(columns.speaker) or "").strip() if columns.speaker else ""
        rows.append(
            {
                "id": f"{prefix}-{columns.id.format(**cells) if columns.id else f'{line - 1:06d}'}",
                "audio": {"path": str(file.resolve())},
                "text": _fix(rec.get(columns.text)) or "",
                "label": MELD_EMOTIONS.index(name),
                "text_emotion": -1,
                "condition": "unknown",
                "intensity": "unknown",
                "speaker_id": f"{columns.source}-{_fix(speaker)}" if speaker else None,
                "voice": "unknown",
                "engine": columns.source,
                "gender": gender,
                "age_group": age_group,
                "pitch_band": pitch,
                "source": columns.source,
            }
        )
    summary = []
    if bad_media:
        summary.append(f"{bad_media} with a missing or unreadable media file")
    if unknown:
        summary.append(f"{sum(unknown.values())} with unknown label(s) {sorted(unknown)}")
    if dropped:
        summary.append(
            f"{sum(dropped.values())} with label(s) mapped to no class {dict(sorted(dropped.items()))}"
        )
    detail = "; ".join(summary)
    if not rows:
        accepted = "MELD or RAVDESS names" if label_map is None else sorted(label_map)
        raise ValueError(
            f"no usable rows in {path} ({len(table)} rows: {detail or 'the CSV is empty'}); media looked up in "
            f"{folder}, labels accepted: {accepted}"
        )
    warn_skipped(f"rows of {path.name} were skipped ({detail})", problems, len(table))
    return build_dataset(rows, emotion_speech_features())


def _embedded(shard: Dataset) -> Dataset:
    """The shard with each row's audio decoded (16 kHz mono) and stored as 16-bit FLAC bytes."""
    import numpy as np
    import soundfile as sf

    rows = []
    for i in range(len(shard)):
        row = shard[i]
        try:
            samples = row["audio"].get_all_samples().data.mean(0).numpy()
        except Exception as err:
            raise ValueError(f"row {row['id']}: its audio does not decode ({err})") from err
        buffer = io.BytesIO()
        sf.write(buffer, np.clip(samples, -1.0, 1.0), SAMPLING_RATE, format="FLAC", subtype="PCM_16")
        row["audio"] = {"bytes": buffer.getvalue(), "path": None}
        rows.append(row)
    return build_dataset(rows, emotion_speech_features())


def write_emotion_utterances(
    splits: Mapping[str, Dataset],
    out_dir: str | os.PathLike,
    *,
    shard_size: int = 1000,
    embed_audio: bool = False,
    overwrite: bool = False,
) -> DatasetDict:
    """Write ``{split: Dataset}`` (emotion-speech schema) as ``out_dir/<split>/shard-NNNNN.parquet``.

    Split names are ``train``, ``validation`` (or ``dev``) and ``test``. A folder that already holds shards
    raises ValueError unless ``overwrite`` (which first deletes every split's old shards). ``embed_audio``
    stores decoded 16 kHz FLAC instead of the media paths (see the module docstring). A ``config.txt`` names
    the origin, so :func:`avzoo.synth.emotion_speech.build_emotion_speech` refuses to add synthetic shards.
    Returns the folder read back with :func:`~avzoo.synth.emotion_speech.load_emotion_speech`.
    """
    if shard_size < 1:
        raise ValueError(f"shard_size must be >= 1, got {shard_size}")
    named = {("validation" if k == "dev" else k): v for k, v in splits.items()}
    if len(named) != len(splits) or not named or any(k not in SPLITS for k in named):
        raise ValueError(
            f"splits must be a non-empty mapping with keys among {SPLITS} (or 'dev'), got {list(splits)}"
        )
    features = emotion_speech_features()
    for name, ds in named.items():
        if set(ds.column_names) != set(features):
            raise ValueError(
                f"split {name!r} does not have the emotion-speech columns: missing "
                f"{sorted(set(features) - set(ds.column_names))}, extra {sorted(set(ds.column_names) - set(features))}"
            )
        if len(ds) == 0:
            raise ValueError(f"split {name!r} is empty")
    out = Path(out_dir).expanduser()
    old = [p for s in SPLITS for p in (out / s).glob("shard-*.parquet")]
    if old and not overwrite:
        raise ValueError(
            f"{out} already holds {len(old)} shard(s); pass overwrite=True (--overwrite) to replace them"
        )
    for p in old:
        p.unlink()
    out.mkdir(parents=True, exist_ok=True)
    for name, ds in named.items():
        ds = ds.select_columns(list(features))
        if ds.features != features:
            ds = ds.cast(features)
        (out / name).mkdir(exist_ok=True)
        for k, start in enumerate(range(0, len(ds), shard_size)):
            shard = ds.select(range(start, min(start + shard_size, len(ds))))
            if embed_audio:
                shard = _embedded(shard)
            target = out / name / f"shard-{k:05d}.parquet"
            tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
            shard.to_parquet(str(tmp))
            os.replace(tmp, target)
    sources = sorted({s for ds in named.values() for s in set(ds["source"])})
    (out / "config.txt").write_text(
        f"real emotion utterances (avzoo.data.emotion_utterances), sources {sources}, "
        f"splits {dict((k, len(v)) for k, v in named.items())}, embed_audio={embed_audio}\n"
    )
    return load_emotion_speech(out)


def main(argv: list[str] | None = None) -> int:
    """``python -m avzoo.data.emotion_utterances OUT --train CSV [--validation CSV] [--test CSV] ...``."""
    import argparse
    import warnings

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out", help="output folder (then: avzoo train text-audio-emotion data_dir=OUT)")
    p.add_argument("--train", help="the training split's CSV")
    p.add_argument("--validation", "--dev", dest="validation", help="the validation split's CSV")
    p.add_argument("--test", help="the test split's CSV")
    p.add_argument(
        "--media-root", default=None, help="folder the media paths are under (default: each CSV's)"
    )
    p.add_argument("--layout", choices=sorted(LAYOUTS), default="csv", help="CSV layout (default csv)")
    p.add_argument("--labels", choices=["default", "iemocap"], default="default", help="label mapping")
    p.add_argument("--source", default=None, help="the source column's value (default: the layout's)")
    p.add_argument("--embed-audio", action="store_true", help="store decoded 16 kHz FLAC, not media paths")
    p.add_argument("--no-probe", action="store_true", help="only check that media files exist")
    p.add_argument("--shard-size", type=int, default=1000)
    p.add_argument("--overwrite", action="store_true", help="replace shards already in OUT")
    a = p.parse_args(argv)
    csvs = {s: getattr(a, s) for s in SPLITS if getattr(a, s)}
    if not csvs:
        p.error("give at least one of --train, --validation, --test")
    columns = LAYOUTS[a.layout] if a.source is None else replace(LAYOUTS[a.layout], source=a.source)
    label_map = IEMOCAP_LABELS if a.labels == "iemocap" else None
    splits = {}
    for split, csv in csvs.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            splits[split] = load_emotion_utterances(
                csv, a.media_root, columns, label_map, split, probe=not a.no_probe
            )
        for w in caught:
            print(f"warning: {w.message}")
    ds = write_emotion_utterances(
        splits, a.out, shard_size=a.shard_size, embed_audio=a.embed_audio, overwrite=a.overwrite
    )
    for split, d in ds.items():
        counts = Counter(d.features["label"].int2str(d["label"]))
        print(split, len(d), dict(sorted(counts.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
