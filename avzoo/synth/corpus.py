"""Build the synthetic audio-visual corpus as a ``datasets.DatasetDict``.

Every utterance is drawn from ``(seed, split, index)`` alone, so a build is deterministic
whatever the number of processes, and a resumed build produces the same rows. Work is cut
into shards of ``shard_size`` utterances; each shard is written atomically as a parquet file
under ``out_dir/<split>/``, existing shards are skipped (resume), and the final dataset reads
the shards back with the shared schema (:mod:`avzoo.data.schema`).

>>> from avzoo.synth.corpus import CorpusConfig, build_corpus
>>> ds = build_corpus(CorpusConfig(utterances={"train": 8, "test": 2}), "corpus")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from datasets import Dataset, DatasetDict
from datasets.utils import disable_progress_bars
from tqdm.auto import tqdm

from avzoo.arkit import BLENDSHAPE_FPS
from avzoo.data.lengths import sequence_lengths
from avzoo.data.schema import utterance_features
from avzoo.emotions import RAVDESS_EMOTIONS
from avzoo.synth.expressions import compose, expression_track, idle_track
from avzoo.synth.speakers import Speaker, make_speakers
from avzoo.synth.visemes import LABELS_V1, check_labels, phones_to_blendshapes

SPLITS = ("train", "validation", "test")


@dataclass
class CorpusConfig:
    """What to build. ``utterances`` and ``speakers`` are per split.

    ``labels`` is the label version (:data:`avzoo.synth.visemes.LABEL_VERSIONS`): ``"v1"``, the labels the
    bundled model was trained and evaluated on, or ``"v2-real"``, closer to real ARKit captures
    (``docs/label-realism.md``). It changes the blendshapes only: audio, text and phones are the same.
    """

    utterances: dict[str, int] = field(default_factory=lambda: {"train": 800, "validation": 100, "test": 100})
    speakers: dict[str, int] = field(default_factory=lambda: {"train": 48, "validation": 8, "test": 8})
    seed: int = 0
    fps: float = BLENDSHAPE_FPS
    face_size: int | None = None
    emotions: tuple[str, ...] = RAVDESS_EMOTIONS
    sarcasm_rate: float = 0.05
    flite_share: float = 0.25
    emphasis_rate: float = 0.12
    max_seconds: float = 12.0
    shard_size: int = 50
    labels: str = LABELS_V1

    def __post_init__(self):
        check_labels(self.labels)
        for split, n in self.utterances.items():
            if split not in SPLITS:
                raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
            if n < 0:
                raise ValueError(f"utterances[{split!r}] must be >= 0, got {n}")
            if n and self.speakers.get(split, 0) < 1:
                raise ValueError(f"split {split!r} has utterances but no speakers")
        if self.face_size is not None and not 16 <= self.face_size <= 1024:
            raise ValueError(f"face_size must be in [16, 1024] pixels or None, got {self.face_size}")
        self.emotions = tuple(self.emotions)


# One text generator and speaker table per process, built on first use.
_STATE: dict = {}


def _worker_state(config: CorpusConfig) -> dict:
    key = json.dumps(asdict(config), sort_keys=True, default=str)
    if _STATE.get("key") != key:
        from avzoo.synth.text import TextGenerator

        _STATE.update(
            key=key,
            text=TextGenerator(0),
            speakers=make_speakers(config.speakers, config.seed, config.flite_share),
        )
    return _STATE


def _accents(utt, rng: np.random.Generator) -> list[float]:
    """Times of pitch accents: emphasised vowels, plus some lexically stressed ones."""
    out = []
    for p in utt.phones:
        if p.info.kind in ("vowel", "diphthong") and (
            p.stress > 1 or (p.lexical_stress == 1 and rng.random() < 0.15)
        ):
            out.append(p.start)
    return out


def make_utterance(config: CorpusConfig, split: str, index: int) -> dict:
    """One corpus row, determined by ``(config.seed, split, index)``."""
    from avzoo.render import random_identity, render
    from avzoo.synth.speech import synthesize

    state = _worker_state(config)
    rng = np.random.default_rng([config.seed, SPLITS.index(split), index])
    speakers: list[Speaker] = state["speakers"][split]
    speaker = speakers[int(rng.integers(len(speakers)))]
    emotion = config.emotions[int(rng.integers(len(config.emotions)))]
    intensity = "normal" if emotion == "neutral" or rng.random() < 0.5 else "strong"
    gen = state["text"]
    gen.reseed(int(rng.integers(2**63)))
    for _ in range(20):
        sarcastic = rng.random() < config.sarcasm_rate
        try:
            sentence = gen.sample(emotion, split, "sarcastic" if sarcastic else None)
        except ValueError:  # no sarcastic templates for this tone
            sentence = gen.sample(emotion, split)
        n_words = len(sentence.text.split())
        emphasis = tuple(int(i) for i in np.flatnonzero(rng.random(n_words) < config.emphasis_rate))
        prosody = speaker.prosody(emotion, intensity, emphasis)
        utt = synthesize(sentence.text, speaker.engine, speaker.voice, prosody)
        if len(utt.audio) / utt.sampling_rate <= config.max_seconds:
            break
    duration = len(utt.audio) / utt.sampling_rate
    n_frames = int(np.ceil(duration * config.fps - 1e-9))
    speech = phones_to_blendshapes(
        utt.phones, duration, config.fps, speaker.articulation.at_rate(prosody.rate), config.labels
    )
    accents = _accents(utt, rng)
    style = speaker.expression.relabel(config.labels)
    expr = expression_track(emotion, intensity, n_frames, config.fps, style, rng, accents, config.labels)
    idle, head = idle_track(n_frames, config.fps, style, rng, emotion, accents, config.labels)
    blend = compose(speech, expr, idle)
    row = {
        "id": f"{split}-{config.seed}-{index:07d}",
        "audio": {"array": utt.audio.astype(np.float32), "sampling_rate": utt.sampling_rate},
        "text": sentence.text,
        "emotion": RAVDESS_EMOTIONS.index(emotion),
        "intensity": 0 if intensity == "normal" else 1,
        "text_emotion": sentence.text_emotion,
        "blendshapes": blend,
        "head_pose": head,
        "fps": config.fps,
        "phonemes": [{"phone": p.symbol, "start": p.start, "end": p.end} for p in utt.phones],
        "speaker_id": speaker.speaker_id,
        "voice": speaker.voice,
        "engine": speaker.engine,
        "identity_id": f"face-{speaker.identity_seed}",
        "source": "synthetic",
    }
    if config.face_size is not None:
        row["face"] = render(blend, random_identity(speaker.identity_seed), config.face_size, head, rng)
    return row


def _shard_range(config: CorpusConfig, split: str, shard: int) -> range:
    start = shard * config.shard_size
    return range(start, min(start + config.shard_size, config.utterances[split]))


def _build_shard(config: CorpusConfig, split: str, shard: int, path: str) -> int:
    disable_progress_bars()
    indices = _shard_range(config, split, shard)
    rows = [make_utterance(config, split, i) for i in indices]
    ds = Dataset.from_list(rows, features=utterance_features(config.face_size))
    tmp = f"{path}.tmp-{os.getpid()}"
    ds.to_parquet(tmp)
    os.replace(tmp, path)  # atomic: a killed build never leaves a half-written shard
    return len(indices)


def _jobs(config: CorpusConfig, out_dir: Path) -> Iterator[tuple[str, int, str]]:
    for split in SPLITS:
        n = config.utterances.get(split, 0)
        for shard in range(-(-n // config.shard_size)):
            yield split, shard, str(out_dir / split / f"shard-{shard:05d}.parquet")


def build_corpus(
    config: CorpusConfig, out_dir: str | Path, num_proc: int | None = None, progress: bool = True
) -> DatasetDict:
    """Build (or resume building) the corpus under ``out_dir`` and return it as a DatasetDict.

    ``num_proc`` defaults to the number of CPUs. ``out_dir/config.json`` records the config;
    resuming with a different config (another label version too) is refused rather than mixing two
    corpora.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg_path = out_dir / "config.json"
    cfg_json = json.dumps(asdict(config), indent=2, sort_keys=True, default=list)
    wanted = json.loads(cfg_json)
    # A config.json from before label versions has no "labels": its corpus has v1 labels.
    if cfg_path.exists() and {"labels": LABELS_V1, **json.loads(cfg_path.read_text())} != wanted:
        raise ValueError(f"{out_dir} holds a corpus built with another config; use a new folder")
    cfg_path.write_text(cfg_json)
    jobs = list(_jobs(config, out_dir))
    todo = [j for j in jobs if not Path(j[2]).exists()]
    for split in SPLITS:
        (out_dir / split).mkdir(exist_ok=True)
    num_proc = num_proc or os.cpu_count() or 1
    with tqdm(
        total=sum(config.utterances.values()), disable=not progress, desc="synth corpus", unit="utt"
    ) as bar:
        bar.update(sum(len(_shard_range(config, sp, k)) for sp, k, p in jobs if (sp, k, p) not in todo))
        if num_proc == 1:
            for job in todo:
                bar.update(_build_shard(config, *job))
        else:
            with ProcessPoolExecutor(num_proc) as pool:
                for n in (
                    pool.map(_build_shard, [config] * len(todo), *zip(*todo, strict=True)) if todo else []
                ):
                    bar.update(n)
    return load_corpus(out_dir)


def load_corpus(out_dir: str | Path) -> DatasetDict:
    """Read a built corpus back from its shards."""
    out_dir = Path(out_dir)
    cfg_path = out_dir / "config.json"
    if not cfg_path.exists():
        raise ValueError(f"{out_dir} is not a corpus folder (no config.json)")
    face_size = json.loads(cfg_path.read_text()).get("face_size")
    features = utterance_features(face_size)
    splits = {}
    for split in SPLITS:
        files = sorted(str(p) for p in (out_dir / split).glob("shard-*.parquet"))
        if files:
            splits[split] = Dataset.from_parquet(files, features=features, split=split)
    return DatasetDict(splits)


def corpus_stats(ds: DatasetDict) -> dict:
    """Hours, speakers, voices, engines, sentences and emotions per split."""
    out = {}
    for split, d in ds.items():
        cols = d.select_columns(["speaker_id", "voice", "engine", "text", "emotion", "fps"])
        seconds = np.asarray(sequence_lengths(d, "blendshapes")) / np.asarray(cols["fps"], dtype=np.float64)
        out[split] = {
            "utterances": len(d),
            "hours": round(float(seconds.sum()) / 3600, 4),
            "speakers": len(set(cols["speaker_id"])),
            "voices": len(set(cols["voice"])),
            "engines": sorted(set(cols["engine"])),
            "sentences": len(set(cols["text"])),
            "emotions": {
                RAVDESS_EMOTIONS[k]: int(v)
                for k, v in zip(*np.unique(cols["emotion"], return_counts=True), strict=True)
            },
        }
    return out
