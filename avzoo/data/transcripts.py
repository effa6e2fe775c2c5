"""Transcribed, emotion-labelled speech (MELD, IEMOCAP, any such CSV) in the shared utterance schema.

Emotions map to the RAVDESS ``emotion`` ClassLabel; each loader keeps the dataset's own label in an
extra column. Audio stays a file path, decoded lazily to 16 kHz mono by ``datasets`` (a clip's AAC
track for MELD); a missing or unreadable file gives ``audio`` None and one warning with the count.

MELD (Poria et al. 2019), ``root`` as unpacked from ``MELD.Raw``::

    MELD.Raw/
      train_sent_emo.csv  dev_sent_emo.csv  test_sent_emo.csv
      train_splits/dia0_utt0.mp4 ...               clips (optional), also train/train_splits/
      dev_splits_complete/dia0_utt0.mp4 ...
      output_repeated_splits_test/dia0_utt0.mp4 ...

CSV columns ``Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,
StartTime,EndTime``; times like ``00:20:57,256``. The files are UTF-8 with curly quotes but hold stray
Windows-1252 bytes and mojibake (``I\\x92m``, ``Iâ\\x80\\x99m``): bytes that are not UTF-8 are read as
Windows-1252 and every text cell is repaired with ftfy (curly quotes are kept). Known bad clips:
train ``dia125_utt3`` (corrupt) and dev ``dia110_utt7`` (missing).

IEMOCAP (Busso et al. 2008), ``root`` = ``IEMOCAP_full_release``::

    IEMOCAP_full_release/Session1/
      dialog/EmoEvaluation/Ses01F_impro01.txt   turn lines, tab-separated:
          [6.2901 - 8.2357]  Ses01F_impro01_F000  neu  [2.5000, 2.5000, 2.5000]    (V, A, D ratings 1-5)
      dialog/transcriptions/Ses01F_impro01.txt  Ses01F_impro01_F000 [006.2901-008.2357]: Excuse me.
      sentences/wav/Ses01F_impro01/Ses01F_impro01_F000.wav

Categories neu hap exc sad ang fru sur fea dis oth xxx: ``exc`` joins ``happy`` (the usual 4-class
protocol), ``fru``/``oth``/``xxx`` have no RAVDESS counterpart (``emotion`` -1). The speaker of
``Ses01F_impro01_M000`` is ``iemocap-Ses01M``: session 1's male actor. Scripted dialogs reuse text
across actors, which leaks into text models: the ``improvised`` column lets you filter them out.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

from avzoo.data._common import build_dataset, probe_audio, require_dir, visible, warn_skipped
from avzoo.data.schema import empty_row, utterance_features
from avzoo.emotions import MELD_EMOTIONS, RAVDESS_EMOTIONS, to_ravdess

__all__ = [
    "IEMOCAP_CATEGORIES",
    "IEMOCAP_TO_RAVDESS",
    "MELD_SENTIMENTS",
    "MELD_SPLITS",
    "iemocap_session_split",
    "load_iemocap",
    "load_meld",
    "load_transcript_csv",
    "read_text_robust",
]

MELD_SPLITS = ("train", "dev", "test")
MELD_SENTIMENTS = ("negative", "neutral", "positive")
MELD_COLUMNS = (
    "Sr No.", "Utterance", "Speaker", "Emotion", "Sentiment", "Dialogue_ID", "Utterance_ID",
    "Season", "Episode", "StartTime", "EndTime",
)  # fmt: skip
# Clip folders of the official archives, per split, relative to the CSVs' folder.
_MELD_CLIP_DIRS = {
    "train": ("train_splits", "train/train_splits", "train"),
    "dev": ("dev_splits_complete", "dev/dev_splits_complete", "dev_splits", "dev"),
    "test": ("output_repeated_splits_test", "test/output_repeated_splits_test", "test_splits", "test"),
}
_MELD_TIME = re.compile(r"(\d{1,2}):(\d{2}):(\d{2})[,.](\d{1,3})")

IEMOCAP_CATEGORIES = ("neu", "hap", "exc", "sad", "ang", "fru", "sur", "fea", "dis", "oth", "xxx")
IEMOCAP_TO_RAVDESS: dict[str, str | None] = {
    "neu": "neutral", "hap": "happy", "exc": "happy", "sad": "sad", "ang": "angry",
    "sur": "surprised", "fea": "fearful", "dis": "disgust", "fru": None, "oth": None, "xxx": None,
}  # fmt: skip
_FOUR_CLASS = {"neu", "hap", "exc", "sad", "ang"}
_TURN = re.compile(
    r"\[\s*([\d.]+)\s*-\s*([\d.]+)\s*\]\s+(\S+)\s+(\S+)\s+\[\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)\s*\]"
)
_TRANSCRIPT = re.compile(r"(\S+)\s+\[\s*([\d.]+)\s*-\s*([\d.]+)\s*\]:\s?(.*)")


# --- Text ------------------------------------------------------------------------------------------
def _cp1252_fallback(err: UnicodeDecodeError) -> tuple[str, int]:
    # cp1252 leaves 5 bytes undefined; those become the C1 controls of the same code, which ftfy knows.
    bad = err.object[err.start : err.end]
    return "".join(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in bad), err.end


codecs.register_error("avzoo-cp1252", _cp1252_fallback)


def read_text_robust(path: Path) -> str:
    """A text file's contents as UTF-8 (BOM dropped), reading bytes that are not UTF-8 as Windows-1252."""
    return path.read_bytes().decode("utf-8", errors="avzoo-cp1252").removeprefix("\ufeff")


def _fix(text: str | None) -> str | None:
    import ftfy

    return None if text is None else ftfy.fix_text(text, uncurl_quotes=False).strip()


def _read_csv(path: Path, required: Iterable[str], encoding: str | None = None) -> list[dict[str, str]]:
    text = read_text_robust(path) if encoding is None else path.read_text(encoding=encoding)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if missing := [c for c in required if c not in header]:
        raise ValueError(f"{path}: missing column(s) {missing}; the header has {header}")
    reader.fieldnames = header
    return [{k: (v.strip() if isinstance(v, str) else v) for k, v in row.items()} for row in reader]


# --- MELD ------------------------------------------------------------------------------------------
def _meld_seconds(text: str | None, where: str) -> float | None:
    if not text:
        return None
    match = _MELD_TIME.fullmatch(text)
    if match is None:
        raise ValueError(f"{where}: time {text!r} is not of the form H:MM:SS,mmm")
    h, m, s, ms = match.groups()
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms.ljust(3, "0")) / 1000


def meld_features() -> Features:
    """The shared utterance features (with ``video``) plus MELD's own columns."""
    features = utterance_features(video=True)
    features.update(
        {
            "label_meld": ClassLabel(names=list(MELD_EMOTIONS)),
            "sentiment": ClassLabel(names=list(MELD_SENTIMENTS)),
            "dialogue_id": Value("int32"),
            "utterance_id": Value("int32"),
            "season": Value("int32"),
            "episode": Value("int32"),
            "start_time": Value("float32"),
            "end_time": Value("float32"),
        }
    )
    return features


def _int(value: str | None, where: str, column: str, required: bool = False) -> int | None:
    if value in (None, ""):
        if required:
            raise ValueError(f"{where}: column {column!r} is empty")
        return None
    try:
        return int(float(value))
    except ValueError:
        raise ValueError(f"{where}: column {column!r} holds {value!r}, not a number") from None


def _load_meld_split(root: Path, split: str, clips_dir: Path | None, probe_clips: bool) -> Dataset:
    path = root / f"{split}_sent_emo.csv"
    if not path.is_file():
        raise ValueError(f"MELD {split} labels not found: expected {path}")
    table = _read_csv(path, ("Utterance", "Speaker", "Emotion", "Dialogue_ID", "Utterance_ID"))
    if clips_dir is None:
        clips_dir = next((root / d for d in _MELD_CLIP_DIRS[split] if (root / d).is_dir()), None)
    features = meld_features()
    rows, bad = [], []
    for line, rec in enumerate(table, start=2):
        where = f"{path}, row {line}"
        raw = (rec.get("Emotion") or "").lower()
        if raw not in MELD_EMOTIONS:
            raise ValueError(f"{where}: emotion {rec.get('Emotion')!r} is not one of {MELD_EMOTIONS}")
        sentiment = (rec.get("Sentiment") or "").lower()
        if sentiment and sentiment not in MELD_SENTIMENTS:
            raise ValueError(f"{where}: sentiment {rec['Sentiment']!r} is not one of {MELD_SENTIMENTS}")
        dia = _int(rec["Dialogue_ID"], where, "Dialogue_ID", required=True)
        utt = _int(rec["Utterance_ID"], where, "Utterance_ID", required=True)
        clip, audio = None, None
        if clips_dir is not None:
            clip = clips_dir / f"dia{dia}_utt{utt}.mp4"
            problem = probe_audio(clip) if probe_clips else (None if clip.is_file() else "missing")
            if problem is None:
                audio = {"path": str(clip.resolve())}
            else:
                bad.append(f"{clip.name} ({problem})")
                clip = None
        speaker = _fix(rec["Speaker"])
        row = empty_row(features)
        row.update(
            id=f"meld-{split}-dia{dia}_utt{utt}",
            audio=audio,
            video=str(clip.resolve()) if clip is not None else None,
            text=_fix(rec["Utterance"]),
            emotion=RAVDESS_EMOTIONS.index(to_ravdess(raw)),
            speaker_id=f"meld-{speaker}",
            voice="meld",
            engine="meld",
            source="meld",
            label_meld=MELD_EMOTIONS.index(raw),
            sentiment=MELD_SENTIMENTS.index(sentiment) if sentiment else -1,
            dialogue_id=dia,
            utterance_id=utt,
            season=_int(rec.get("Season"), where, "Season"),
            episode=_int(rec.get("Episode"), where, "Episode"),
            start_time=_meld_seconds(rec.get("StartTime"), where),
            end_time=_meld_seconds(rec.get("EndTime"), where),
        )
        rows.append(row)
    warn_skipped(f"MELD {split} clips are missing or unreadable (audio None)", bad, len(rows), stacklevel=4)
    rows.sort(key=lambda r: (r["dialogue_id"], r["utterance_id"]))
    return build_dataset(rows, features)


def load_meld(
    root: str | Path,
    split: str | None = None,
    *,
    clips_dir: str | Path | None = None,
    probe_clips: bool = True,
) -> Dataset | DatasetDict:
    """Load MELD labels (and clips where present) from ``root`` (see the module doc).

    Args:
        root: the folder holding ``{train,dev,test}_sent_emo.csv``.
        split: ``"train"``, ``"dev"`` (or ``"validation"``) or ``"test"`` for one Dataset; None for a
            DatasetDict (``train`` / ``validation`` / ``test``) of the splits whose CSV exists.
        clips_dir: folder of that split's ``dia{D}_utt{U}.mp4`` clips; by default the official folder
            names are tried, and without clips ``audio`` and ``video`` are None.
        probe_clips: open each clip and decode its first audio packet, so corrupt clips get ``audio``
            None instead of failing later; False only checks that the file exists (faster).

    Rows are sorted by dialogue and utterance. ``emotion`` is the RAVDESS label of the MELD emotion
    (:func:`avzoo.emotions.to_ravdess`), ``label_meld`` MELD's own 7-class label.
    """
    root = require_dir(root, "MELD folder")
    clips = None if clips_dir is None else require_dir(clips_dir, "MELD clips folder")
    if split is None:
        if clips is not None:
            raise ValueError("clips_dir names one split's clips; pass split= with it")
        present = [s for s in MELD_SPLITS if (root / f"{s}_sent_emo.csv").is_file()]
        if not present:
            raise ValueError(
                f"no MELD labels in {root}: expected train_sent_emo.csv, dev_sent_emo.csv, test_sent_emo.csv"
            )
        return DatasetDict(
            {
                ("validation" if s == "dev" else s): _load_meld_split(root, s, None, probe_clips)
                for s in present
            }
        )
    name = "dev" if split == "validation" else split
    if name not in MELD_SPLITS:
        raise ValueError(f"split must be one of {MELD_SPLITS} (or 'validation'), got {split!r}")
    return _load_meld_split(root, name, clips, probe_clips)


# --- IEMOCAP ---------------------------------------------------------------------------------------
def iemocap_features() -> Features:
    """The shared utterance features plus IEMOCAP's own columns."""
    features = utterance_features()
    features.update(
        {
            "label_iemocap": Value("string"),
            "valence": Value("float32"),
            "arousal": Value("float32"),
            "dominance": Value("float32"),
            "session": Value("int32"),
            "dialog": Value("string"),
            "improvised": Value("bool"),
            "start_time": Value("float32"),
            "end_time": Value("float32"),
        }
    )
    return features


def _iemocap_transcripts(folder: Path) -> dict[str, str]:
    texts = {}
    if folder.is_dir():
        for path in visible(folder.glob("*.txt")):
            for line in read_text_robust(path).splitlines():
                if match := _TRANSCRIPT.fullmatch(line.strip()):
                    texts[match[1]] = match[4].strip()
    return texts


def load_iemocap(
    root: str | Path,
    sessions: Iterable[int] | None = None,
    *,
    four_class: bool = False,
) -> Dataset:
    """Load IEMOCAP turns with their category, VAD ratings, transcript and wav (see the module doc).

    Args:
        root: ``IEMOCAP_full_release``, holding ``Session1`` .. ``Session5``.
        sessions: which sessions to read (1-5; each must be present); default every ``Session1`` ..
            ``Session5`` folder in ``root``.
        four_class: keep only the usual 4-class set (neu, hap + exc, sad, ang; 5531 turns in the full
            release).

    Extra columns: ``label_iemocap`` (raw category), ``valence``/``arousal``/``dominance`` (the 1-5
    ratings), ``session``, ``dialog``, ``improvised``, ``start_time``/``end_time`` (seconds in the
    dialog). Rows are sorted by turn name. A turn without a transcript gets ``text`` None and one
    without a wav ``audio`` None (one warning each).
    """
    root = require_dir(root, "IEMOCAP folder")
    if sessions is None:
        sessions = [s for s in range(1, 6) if (root / f"Session{s}").is_dir()]
        if not sessions:
            raise ValueError(
                f"no Session1 .. Session5 folders in {root}; pass the IEMOCAP_full_release folder"
            )
    sessions = list(sessions)
    if not sessions or any(isinstance(s, bool) or s not in (1, 2, 3, 4, 5) for s in sessions):
        raise ValueError(f"sessions must be numbers in 1-5, got {sessions}")
    features = iemocap_features()
    rows, no_text, no_audio = [], [], []
    for session in sorted(set(sessions)):
        base = require_dir(root / f"Session{session}", f"IEMOCAP session {session}")
        labels = require_dir(base / "dialog" / "EmoEvaluation", f"IEMOCAP session {session} labels")
        texts = _iemocap_transcripts(base / "dialog" / "transcriptions")
        for label_file in visible(labels.glob("*.txt")):
            dialog = label_file.stem
            for line in read_text_robust(label_file).splitlines():
                match = _TURN.match(line.strip())
                if match is None:
                    continue
                start, end, utt, category = float(match[1]), float(match[2]), match[3], match[4]
                if category not in IEMOCAP_TO_RAVDESS:
                    raise ValueError(
                        f"{label_file}: turn {utt} has category {category!r}, not one of {IEMOCAP_CATEGORIES}"
                    )
                if four_class and category not in _FOUR_CLASS:
                    continue
                wav = base / "sentences" / "wav" / dialog / f"{utt}.wav"
                if not wav.is_file():
                    no_audio.append(wav.name)
                if utt not in texts:
                    no_text.append(utt)
                target = IEMOCAP_TO_RAVDESS[category]
                row = empty_row(features)
                row.update(
                    id=utt,
                    audio={"path": str(wav.resolve())} if wav.is_file() else None,
                    text=texts.get(utt),
                    emotion=RAVDESS_EMOTIONS.index(target) if target else -1,
                    speaker_id=f"iemocap-Ses{session:02d}{utt.rsplit('_', 1)[-1][0]}",
                    voice="iemocap",
                    engine="iemocap",
                    source="iemocap",
                    label_iemocap=category,
                    valence=float(match[5]),
                    arousal=float(match[6]),
                    dominance=float(match[7]),
                    session=session,
                    dialog=dialog,
                    improvised="_impro" in dialog,
                    start_time=start,
                    end_time=end,
                )
                rows.append(row)
    if not rows:
        raise ValueError(f"no labelled turns in {root} for sessions {sessions} (four_class={four_class})")
    warn_skipped("IEMOCAP turns have no wav (audio None)", no_audio, len(rows))
    warn_skipped("IEMOCAP turns have no transcript line (text None)", no_text, len(rows))
    rows.sort(key=lambda r: r["id"])
    return build_dataset(rows, features)


def iemocap_session_split(
    dataset: Dataset, test_session: int, validation_session: int | None = None
) -> DatasetDict:
    """Leave-one-session-out splits: ``test`` = one session (both its actors), ``train`` the rest.

    With ``validation_session`` a ``validation`` split holds that session too. Raises ValueError for
    sessions outside 1-5, equal test and validation sessions, or an empty split.
    """
    if "session" not in dataset.column_names:
        raise ValueError("dataset lacks a 'session' column; pass a dataset made by load_iemocap")
    chosen = [s for s in (test_session, validation_session) if s is not None]
    if any(isinstance(s, bool) or s not in (1, 2, 3, 4, 5) for s in chosen) or len(set(chosen)) < len(chosen):
        raise ValueError(
            f"test_session and validation_session must be different sessions in 1-5, got {test_session!r}, "
            f"{validation_session!r}"
        )
    parts: dict[str, list[int]] = {"train": [], "test": []}
    if validation_session is not None:
        parts["validation"] = []
    for i, s in enumerate(dataset["session"]):
        parts["test" if s == test_session else "validation" if s == validation_session else "train"].append(i)
    if empty := [k for k, v in parts.items() if not v]:
        raise ValueError(
            f"split(s) {empty} would be empty; the dataset holds sessions {sorted(set(dataset['session']))}"
        )
    return DatasetDict({k: dataset.select(v) for k, v in parts.items()})


# --- Any CSV ---------------------------------------------------------------------------------------
def load_transcript_csv(
    path: str | Path,
    text_column: str,
    label_column: str,
    audio_column: str | None = None,
    *,
    speaker_column: str | None = None,
    id_column: str | None = None,
    label_map: Mapping[str, str | None] | None = None,
    source: str | None = None,
    encoding: str | None = None,
) -> Dataset:
    """Load a CSV of transcribed, emotion-labelled utterances into the shared schema.

    Args:
        path: the CSV (header row required).
        text_column, label_column: columns holding the transcript and the emotion label.
        audio_column: optional column of audio/video file paths, relative to the CSV's folder or
            absolute; a missing file gives ``audio`` None (one warning).
        speaker_column, id_column: optional columns for ``speaker_id`` and ``id`` (default
            ``<source>-<row number>``).
        label_map: raw label -> RAVDESS emotion name (or None for "no RAVDESS class"). By default
            labels go through :func:`avzoo.emotions.to_ravdess` (RAVDESS or MELD names, any case).
        source: the ``source``/``engine`` column and id prefix; default the CSV's stem.
        encoding: by default UTF-8 with a Windows-1252 fallback for stray bytes and ftfy repair of the text.

    The raw label is kept in ``label_raw``; an empty label cell gives ``emotion`` -1. Raises
    ValueError for a missing file or column and for labels that neither mapping knows (all listed).
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise ValueError(f"transcript CSV not found: {path}")
    columns = [c for c in (text_column, label_column, audio_column, speaker_column, id_column) if c]
    table = _read_csv(path, columns, encoding)
    source = source or path.stem
    features = utterance_features()
    features["label_raw"] = Value("string")

    def target(raw: str) -> str | None:
        if label_map is not None:
            if raw not in label_map:
                raise KeyError(raw)
            return label_map[raw]
        try:
            return to_ravdess(raw)
        except ValueError:
            raise KeyError(raw) from None

    unknown: set[str] = set()
    rows, no_audio = [], []
    for n, rec in enumerate(table, start=1):
        raw = rec[label_column] or ""
        emotion = -1
        if raw:
            try:
                name = target(raw)
            except KeyError:
                unknown.add(raw)
                continue
            if name is not None:
                if name not in RAVDESS_EMOTIONS:
                    raise ValueError(
                        f"label_map sends {raw!r} to {name!r}, which is not one of {RAVDESS_EMOTIONS}"
                    )
                emotion = RAVDESS_EMOTIONS.index(name)
        audio = None
        if audio_column and rec[audio_column]:
            file = Path(rec[audio_column]).expanduser()
            file = file if file.is_absolute() else path.parent / file
            if file.is_file():
                audio = {"path": str(file.resolve())}
            else:
                no_audio.append(str(file))
        row = empty_row(features)
        row.update(
            id=rec[id_column] if id_column else f"{source}-{n}",
            audio=audio,
            text=_fix(rec[text_column]) if encoding is None else rec[text_column],
            emotion=emotion,
            speaker_id=f"{source}-{rec[speaker_column]}" if speaker_column else None,
            engine=source,
            source=source,
            label_raw=raw or None,
        )
        rows.append(row)
    if unknown:
        accepted = (
            sorted(label_map) if label_map is not None else list(RAVDESS_EMOTIONS) + list(MELD_EMOTIONS)
        )
        raise ValueError(
            f"{path}: unknown label(s) {sorted(unknown)} in column {label_column!r}; accepted: {accepted} "
            "(or pass label_map)"
        )
    warn_skipped(f"audio files named in {path.name} are missing (audio None)", no_audio, len(rows))
    return build_dataset(rows, features)
