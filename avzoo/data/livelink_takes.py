"""Live Link Face takes (blendshape CSV + the take's audio) as an utterance dataset in the shared schema.

Expected layout: a folder, searched recursively, holding takes as the Live Link Face app exports them.
Each take is a CSV (:func:`avzoo.io.livelink.read_livelink_csv`) with its sound beside it: a ``.wav``
(or other audio file) or the take's ``.mov``/``.mp4`` video with the same stem, or else the only media
file in that folder::

    takes/
      MySlate_1_iPhone/
        MySlate_1_iPhone.csv          the take (older app versions)
        MySlate_1_iPhone_cal.csv      the same take with the app's calibration applied
        MySlate_1_iPhone.mov          video with the microphone track
        MySlate_1_iPhone.txt          optional transcript (-> ``text``)
        frame_log.csv  take.json      sidecars, ignored
      20240531_MySlate_4/
        MySlate_4_iPhone_raw.csv      newer app versions: raw / calibrated / neutral-pose CSVs
        MySlate_4_iPhone_cal.csv
        MySlate_4_iPhone_neutral.csv  (neutral pose, ignored)
        MySlate_4_iPhone.mov
      my_take.csv + my_take.wav       any CSV in the Live Link layout with a same-stem sound file

Per take: ``blendshapes`` (T, 52) in [0, 1], canonical ARKit order, resampled by name to ``fps`` on a
grid from the first CSV row (``LiveLinkTake.resample``); ``head_pose`` (T, 3) = HeadYaw, HeadPitch,
HeadRoll converted from the file's degrees/180 unit to radians (signs as the file has them: Unreal's
unmirrored-face convention); ``audio`` decoded to 16 kHz mono.

Audio alignment: the audio is taken to start at the first CSV row, unless the sound file is a video
whose container carries a start timecode (QuickTime/MP4 ``timecode`` tag, as the app's ``.mov`` has):
then the audio is shifted by (first CSV timecode - video timecode), cutting the audio before the first
row or padding silence when the CSV starts earlier. Drop-frame timecodes are read as non-drop. Audio
and blendshapes are then cut to their common span, so ``len(audio) / 16000 == T / fps`` within a frame.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from pathlib import Path

import numpy as np
from datasets import Dataset, Features, Value

from avzoo.arkit import BLENDSHAPE_FPS
from avzoo.data._common import AUDIO_EXTENSIONS, MEDIA_EXTENSIONS, build_dataset, require_dir, visible
from avzoo.data.schema import SAMPLING_RATE, empty_row, utterance_features
from avzoo.io.audio import AudioClippingWarning, load_audio
from avzoo.io.livelink import read_livelink_csv

__all__ = ["livelink_features", "load_livelink_takes"]

_SIDECARS = {"frame_log.csv"}
_VARIANT = re.compile(r"(?P<base>.+?)(?:_(?P<kind>cal|raw|neutral))?", re.IGNORECASE)
_MEDIA_TIMECODE = re.compile(r"(\d{1,2}):(\d{2}):(\d{2})[:;.](\d{2})")
# An offset longer than this is not the same recording: the clocks disagree, so fall back to 0.
_MAX_OFFSET_S = 60.0


def livelink_features() -> Features:
    """The shared utterance features plus ``take`` (the CSV used) and ``calibrated``."""
    features = utterance_features()
    features.update({"take": Value("string"), "calibrated": Value("bool")})
    return features


def _is_livelink_csv(path: Path) -> bool:
    with path.open(encoding="utf-8-sig", errors="replace") as f:
        return "timecode" in (cell.strip().lower() for cell in f.readline().split(","))


def _pick_variant(variants: dict[str, Path], calibrated: bool) -> tuple[Path, bool] | None:
    """The CSV to read among plain / ``_raw`` / ``_cal`` versions of one take, and whether it is ``_cal``."""
    order = ["cal", "", "raw"] if calibrated else ["", "raw", "cal"]
    for kind in order:
        if kind in variants:
            return variants[kind], kind == "cal"
    return None


def _find_media(folder: Path, stems: list[str]) -> Path | None:
    """Same-stem sound (audio files before videos), else the folder's only media file."""
    for ext in MEDIA_EXTENSIONS:
        for stem in stems:
            for candidate in (folder / f"{stem}{ext}", folder / f"{stem}{ext.upper()}"):
                if candidate.is_file():
                    return candidate
    media = [p for p in visible(folder.iterdir()) if p.is_file() and p.suffix.lower() in MEDIA_EXTENSIONS]
    return media[0] if len(media) == 1 else None


def _media_start(path: Path) -> float | None:
    """Seconds of day of a video's start timecode, or None when it has none."""
    if path.suffix.lower() in AUDIO_EXTENSIONS:
        return None
    import av

    try:
        with av.open(str(path)) as container:
            tags = [container.metadata] + [s.metadata for s in container.streams]
            timecode = next((t["timecode"] for t in tags if "timecode" in t), None)
            video = container.streams.video[0] if container.streams.video else None
            rate = float(video.guessed_rate or video.average_rate or 0) if video else 0.0
    except (av.FFmpegError, OSError):
        return None
    match = _MEDIA_TIMECODE.fullmatch(timecode.strip()) if timecode else None
    if match is None or rate <= 0:
        return None
    h, m, s, ff = (int(g) for g in match.groups())
    return h * 3600 + m * 60 + s + ff / round(rate)


def _csv_start(take) -> float:
    h, m, s, ff = (float(x) for x in take.start_timecode.split(":"))
    return h * 3600 + m * 60 + s + ff / take.timecode_rate


def load_livelink_takes(
    folder: str | Path,
    fps: float = BLENDSHAPE_FPS,
    *,
    calibrated: bool = False,
    speaker_id: str | None = None,
) -> Dataset:
    """Load every Live Link Face take under ``folder`` (recursively) as one row each (see the module doc).

    Args:
        folder: the folder to search.
        fps: blendshape rate of the rows (the takes are resampled to it by linear interpolation).
        calibrated: prefer the app's calibrated ``*_cal.csv`` where a take has one; by default the plain
            (or ``*_raw.csv``) take is used and ``_cal`` only when it is the take's sole CSV.
        speaker_id: the speaker of every take; by default the ``subject`` of a ``take.json`` beside the
            take, else the name of ``folder``. Prefixed with ``livelink-``.

    Rows are sorted by take path. A take with no sound file gets ``audio`` None (one warning for all).
    Raises ValueError if the folder is missing or holds no take, or a take's CSV is malformed.
    """
    root = require_dir(folder, "Live Link Face takes folder")
    groups: dict[tuple[Path, str], dict[str, Path]] = {}
    ignored = []
    for path in visible(root.rglob("*")):
        if path.suffix.lower() != ".csv" or not path.is_file() or path.name.lower() in _SIDECARS:
            continue
        match = _VARIANT.fullmatch(path.stem)
        kind = (match["kind"] or "").lower()
        if kind == "neutral":
            continue
        if not _is_livelink_csv(path):
            ignored.append(path.name)
            continue
        groups.setdefault((path.parent, match["base"]), {})[kind] = path
    if ignored:
        warnings.warn(
            f"ignored CSV file(s) without a Live Link 'Timecode' header: {ignored[:5]}", stacklevel=2
        )
    if not groups:
        raise ValueError(
            f"no Live Link Face take (CSV with a Timecode header) under {root}; expected e.g. "
            f"{root}/MySlate_1_iPhone/MySlate_1_iPhone.csv with MySlate_1_iPhone.wav or .mov beside it"
        )

    features = livelink_features()
    rows, no_audio, misaligned = [], [], []
    for (parent, base), variants in sorted(groups.items()):
        csv_path, is_cal = _pick_variant(variants, calibrated)
        take = read_livelink_csv(csv_path).resample(fps)
        blend = np.clip(take.blendshapes, 0.0, 1.0).astype(np.float32)
        pose = (take.rotations[:, :3].astype(np.float64) * math.pi).astype(np.float32)
        n_frames = len(blend)

        media = _find_media(parent, [base, csv_path.stem])
        audio = None
        if media is None:
            no_audio.append(csv_path.name)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", AudioClippingWarning)  # a recording is kept as it was made
                wave = load_audio(media, SAMPLING_RATE, allow_silence=True, max_clipped_fraction=1.0)
            start = _media_start(media)
            offset = 0.0 if start is None else _csv_start(take) - start
            if abs(offset) > min(_MAX_OFFSET_S, len(wave) / SAMPLING_RATE):
                misaligned.append(f"{csv_path.name} vs {media.name}: {offset:+.3f} s")
                offset = 0.0
            shift = round(offset * SAMPLING_RATE)
            wave = wave[shift:] if shift >= 0 else np.concatenate([np.zeros(-shift, np.float32), wave])
            # Keep the span both cover: whole frames, and the audio samples of those frames.
            n_frames = max(1, min(n_frames, math.ceil(len(wave) / SAMPLING_RATE * fps - 1e-6)))
            wave = wave[: round(n_frames / fps * SAMPLING_RATE)]
            audio = {"array": wave, "sampling_rate": SAMPLING_RATE}

        transcript = next(
            (parent / f"{s}.txt" for s in (base, csv_path.stem) if (parent / f"{s}.txt").is_file()), None
        )
        meta = parent / "take.json"
        subject = None
        if speaker_id is None and meta.is_file():
            try:
                subject = json.loads(meta.read_text(encoding="utf-8")).get("subject")
            except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
                subject = None
        row = empty_row(features)
        row.update(
            id=(parent / base).relative_to(root).as_posix(),
            audio=audio,
            text=transcript.read_text(encoding="utf-8").strip() if transcript else None,
            blendshapes=blend[:n_frames],
            head_pose=pose[:n_frames],
            fps=float(fps),
            speaker_id=f"livelink-{speaker_id or subject or root.name}",
            voice="livelink-face",
            engine="livelink",
            source="livelink",
            take=csv_path.relative_to(root).as_posix(),
            calibrated=is_cal,
        )
        rows.append(row)
    if no_audio:
        warnings.warn(
            f"{len(no_audio)} take(s) have no sound file (same-stem .wav/.mov/.mp4 or a single media file in "
            f"their folder), so their audio is None: {no_audio[:5]}",
            stacklevel=2,
        )
    if misaligned:
        warnings.warn(
            f"timecodes of {len(misaligned)} take(s) and their video disagree by more than the recording, so "
            f"the audio is taken to start at the first CSV row: {misaligned[:5]}",
            stacklevel=2,
        )
    return build_dataset(rows, features)
