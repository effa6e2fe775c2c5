"""Real voices with generated faces: a corpus folder of real speech whose labels come from its aligned phones.

``avzoo synth real-speech SRC OUT`` reads every ``*.flac``/``*.wav`` under ``SRC`` (e.g. LibriSpeech
``train-clean-100``), aligns its phones (:mod:`avzoo.synth.alignment`: recognised words, force-aligned), and writes
rows in the synthetic corpus' schema (:func:`avzoo.data.schema.utterance_features`) to ``OUT/train``: the real
audio, the phone timings, and a ``(T, 52)`` track from the same generator as the synthetic corpus
(:func:`~avzoo.synth.visemes.phones_to_blendshapes` with the default articulation at the measured speaking rate,
plus neutral idle life). Neutral condition, ``source="real-aligned"``. The training recipe mixes it in through
``extra_corpus_dirs``.

Alignments are cached as JSON per file in ``OUT/alignments/`` (recognition takes ~1.5x real time on one core), so
an interrupted build resumes. Licences: LibriSpeech is CC BY 4.0 and may train bundled weights (credit it);
RAVDESS may not.
"""

from __future__ import annotations

import json
import os
import zlib
from pathlib import Path

import numpy as np

from avzoo.synth.visemes import LABELS_V1, ArticulationStyle, Phone, check_labels, phones_to_blendshapes

#: Label frame rate (the corpus').
FPS = 30.0
#: Version of :func:`~avzoo.synth.alignment.align_speech` a cached alignment came from (2: pads the end so the
#: last word aligns).
ALIGNER_VERSION = 2
#: The row's ``source`` column for these rows.
SOURCE = "real-aligned"


def speaking_rate_wpm(text: str, phones: list[Phone]) -> float:
    """Words per minute over the stretch from the first to the last phone."""
    span = max(phones[-1].end - phones[0].start, 1e-3)
    return 60.0 * len(text.split()) / span


def cached_alignment(path: Path, cache: Path) -> dict:
    """The alignment of ``path`` as ``{"text", "phones": [[symbol, start, end], ...]}`` or ``{"error"}``; cached."""
    from avzoo.io.audio import load_audio
    from avzoo.synth.alignment import SAMPLING_RATE, align_speech

    dst = cache / f"{path.stem}.json"
    cached = json.loads(dst.read_text()) if dst.exists() else None
    if cached is not None and (cached.get("aligner") == ALIGNER_VERSION or "text" not in cached):
        return cached
    audio = load_audio(path, SAMPLING_RATE)
    try:
        # An older record keeps its recognised words (recognition is the slow part); only the alignment reruns.
        al = align_speech(audio, cached["text"] if cached else None)
        record = {
            "text": al.text,
            "phones": [[p.symbol, p.start, p.end] for p in al.phones],
            "aligner": ALIGNER_VERSION,
        }
    except ValueError as err:
        record = {"error": str(err)}
    tmp = dst.with_suffix(f".tmp-{os.getpid()}")
    tmp.write_text(json.dumps(record))
    os.replace(tmp, dst)
    return record


def real_speech_row(
    path: Path, alignment: dict, fps: float = FPS, seed: int = 0, labels: str = LABELS_V1
) -> dict:
    """One corpus row for a real recording and its alignment (see the module docstring)."""
    from avzoo.emotions import RAVDESS_EMOTIONS
    from avzoo.io.audio import load_audio
    from avzoo.synth.alignment import SAMPLING_RATE
    from avzoo.synth.expressions import compose, idle_track

    audio = load_audio(path, SAMPLING_RATE)
    phones = [Phone(s, float(a), float(b)) for s, a, b in alignment["phones"]]
    duration = len(audio) / SAMPLING_RATE
    n_frames = int(np.ceil(duration * fps - 1e-9))
    style = ArticulationStyle().at_rate(speaking_rate_wpm(alignment["text"], phones))
    speech = phones_to_blendshapes(phones, duration, fps, style, labels=labels)
    rng = np.random.default_rng([seed, zlib.crc32(path.stem.encode())])
    idle, head = idle_track(n_frames, fps, rng=rng, labels=labels)
    blend = compose(speech, np.zeros_like(speech), idle)
    speaker = path.stem.split("-")[0]
    return {
        "id": f"{SOURCE}-{path.stem}",
        "audio": {"array": audio.astype(np.float32), "sampling_rate": SAMPLING_RATE},
        "text": alignment["text"],
        "emotion": RAVDESS_EMOTIONS.index("neutral"),
        "intensity": 0,
        "text_emotion": "neutral",
        "blendshapes": blend,
        "head_pose": head,
        "fps": fps,
        "phonemes": [{"phone": p.symbol, "start": p.start, "end": p.end} for p in phones],
        "speaker_id": f"librispeech-{speaker}",
        "voice": "real",
        "engine": "real",
        "identity_id": f"face-real-{speaker}",
        "source": SOURCE,
    }


def build_real_speech_corpus(
    src: str | Path, out_dir: str | Path, limit: int = 0, progress: bool = True, labels: str = LABELS_V1
) -> int:
    """Align and label the recordings under ``src`` into ``out_dir`` (a corpus folder); returns the row count.

    ``labels`` is the generator's label version (:data:`avzoo.synth.visemes.LABEL_VERSIONS`): use the one of
    the synthetic corpus these rows are mixed with.
    """
    check_labels(labels)
    from datasets import Dataset
    from tqdm.auto import tqdm

    from avzoo.data.schema import utterance_features

    src, out_dir = Path(src), Path(out_dir)
    files = sorted([*src.rglob("*.flac"), *src.rglob("*.wav")])
    if limit:
        files = files[:limit]
    if not files:
        raise ValueError(f"{src} holds no .flac or .wav recordings")
    cache = out_dir / "alignments"
    cache.mkdir(parents=True, exist_ok=True)
    rows = []
    for path in tqdm(files, desc="align real speech", unit="file", disable=not progress):
        alignment = cached_alignment(path, cache)
        if "error" not in alignment:
            rows.append(real_speech_row(path, alignment, labels=labels))
    if not rows:
        raise ValueError(f"none of the {len(files)} recordings could be aligned")
    (out_dir / "train").mkdir(exist_ok=True)
    (out_dir / "config.json").write_text(
        json.dumps({"source": str(src), "kind": SOURCE, "face_size": None, "labels": labels})
    )
    ds = Dataset.from_list(rows, features=utterance_features(None))
    tmp = out_dir / "train" / f"shard-00000.parquet.tmp-{os.getpid()}"
    ds.to_parquet(str(tmp))
    os.replace(tmp, out_dir / "train" / "shard-00000.parquet")
    return len(rows)


__all__ = ["SOURCE", "build_real_speech_corpus", "cached_alignment", "real_speech_row", "speaking_rate_wpm"]
