"""Small helpers the real-data adapters share: folder checks, media probing, building the Dataset."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from pathlib import Path

from datasets import Dataset, Features

#: Files that soundfile or FFmpeg read as audio.
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".m4a", ".aac", ".opus", ".aif", ".aiff")
#: Video containers whose first audio track is the take's sound.
VIDEO_EXTENSIONS = (".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi")
MEDIA_EXTENSIONS = AUDIO_EXTENSIONS + VIDEO_EXTENSIONS


def require_dir(path: str | os.PathLike, what: str) -> Path:
    """``path`` as a Path, or a ValueError saying it is missing and what was expected there."""
    p = Path(path).expanduser()
    if not p.exists():
        raise ValueError(f"{what} not found: {p} does not exist")
    if not p.is_dir():
        raise ValueError(f"{what} must be a folder, but {p} is a file")
    return p


def visible(paths: Iterable[Path]) -> list[Path]:
    """Sorted paths without hidden files (``.DS_Store``, macOS ``._`` resource forks)."""
    return sorted(p for p in paths if not p.name.startswith("."))


def probe_audio(path: Path) -> str | None:
    """None if ``path`` opens and its first audio packet decodes, else the reason it does not."""
    import av

    if not path.is_file():
        return "missing"
    if path.stat().st_size == 0:
        return "empty file"
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                return "no audio track"
            for _ in container.decode(container.streams.audio[0]):
                return None
            return "audio track decodes to nothing"
    except (av.FFmpegError, OSError, UnicodeDecodeError) as err:
        return f"unreadable ({err})"


def warn_skipped(what: str, problems: list[str], total: int, stacklevel: int = 3) -> None:
    """One warning for all files that had a problem, naming the first few."""
    if problems:
        shown = "; ".join(problems[:5]) + (f"; ... ({len(problems) - 5} more)" if len(problems) > 5 else "")
        warnings.warn(f"{len(problems)} of {total} {what}: {shown}", stacklevel=stacklevel)


def build_dataset(rows: list[dict], features: Features) -> Dataset:
    """The rows as a Dataset with exactly ``features`` (columns in the features' order)."""
    return Dataset.from_list([{k: row.get(k) for k in features} for row in rows], features=features)
