"""Spoken sentences for text-and-audio emotion: what is said set against how it is said.

Each row is one synthetic sentence spoken by a corpus speaker (:func:`avzoo.synth.speakers.make_speakers`,
held-out voices per split) with the prosody of one emotion (:meth:`Speaker.prosody`). What the words say is
drawn separately, in one of three conditions:

* ``congruent``: the words carry the voice's emotion (an emotion-bearing sentence of that emotion; for a
  neutral voice, a neutral sentence).
* ``neutral_text``: neutral words said with an emotional voice — what RAVDESS is ("Kids are talking by the
  door"). Only the audio can tell.
* ``incongruent``: the words carry another emotion (a sarcastic template where the corpus has one for the tone,
  otherwise another emotion's sentence) — the sarcasm-like case.

**The label rule: the speaker's expressed emotion, i.e. the voice's.** Where words and voice disagree, the
label is the voice's emotion (``label``); ``text_emotion`` records what the words alone say. Labels use the
7 MELD classes (:data:`avzoo.emotions.MELD_EMOTIONS`); the corpus' ``calm`` is not drawn.

Speaker metadata comes from the voice: ``gender`` and ``age_group`` from the espeak-ng variant's own file
(flite's voices are known), ``pitch_band`` (low/mid/high) from the speaker's base pitch. Every row is drawn
from ``(seed, split, index)`` alone, so a build is deterministic and resumable (shards as in
:mod:`avzoo.synth.corpus`). Sentences are split by a hash of their text (:func:`avzoo.synth.text.sentence_split`),
so no test sentence is a training sentence; the two RAVDESS statements are never drawn.
"""

from __future__ import annotations

import functools
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from datasets import Audio, ClassLabel, Dataset, DatasetDict, Features, Value
from datasets.utils import disable_progress_bars

from avzoo.emotions import MELD_EMOTIONS, RAVDESS_EMOTIONS, to_meld

SAMPLING_RATE = 16000
CONDITIONS: tuple[str, ...] = ("congruent", "neutral_text", "incongruent")
#: The voice emotions drawn: RAVDESS' minus ``calm`` (no MELD class of its own).
VOICE_EMOTIONS: tuple[str, ...] = tuple(e for e in RAVDESS_EMOTIONS if e != "calm")
GENDERS: tuple[str, ...] = ("unknown", "female", "male")
AGE_GROUPS: tuple[str, ...] = ("unknown", "young", "adult", "senior")
PITCH_BANDS: tuple[str, ...] = ("low", "mid", "high")
_FLITE_GENDER = {"slt": "female", "rms": "male", "awb": "male"}


def emotion_speech_features() -> Features:
    """The columns of a text-and-audio emotion dataset (see the module docstring)."""
    return Features(
        {
            "id": Value("string"),
            "audio": Audio(sampling_rate=SAMPLING_RATE, num_channels=1),
            "text": Value("string"),
            "label": ClassLabel(names=list(MELD_EMOTIONS)),
            "text_emotion": ClassLabel(names=list(MELD_EMOTIONS)),
            "condition": Value("string"),
            "intensity": Value("string"),
            "speaker_id": Value("string"),
            "voice": Value("string"),
            "engine": Value("string"),
            "gender": ClassLabel(names=list(GENDERS)),
            "age_group": ClassLabel(names=list(AGE_GROUPS)),
            "pitch_band": ClassLabel(names=list(PITCH_BANDS)),
            "source": Value("string"),
        }
    )


@dataclass
class EmotionSpeechConfig:
    """What to build; ``utterances`` and ``speakers`` are per split, ``condition_rates`` sum to 1."""

    utterances: dict[str, int] = field(
        default_factory=lambda: {"train": 6000, "validation": 400, "test": 700}
    )
    speakers: dict[str, int] = field(default_factory=lambda: {"train": 48, "validation": 8, "test": 8})
    condition_rates: tuple[float, float, float] = (0.5, 0.25, 0.25)
    strong_rate: float = 0.5
    max_seconds: float = 10.0
    seed: int = 0
    shard_size: int = 250

    def __post_init__(self):
        rates = tuple(float(r) for r in self.condition_rates)
        if len(rates) != 3 or min(rates) < 0 or abs(sum(rates) - 1) > 1e-6:
            raise ValueError(f"condition_rates must be three non-negative numbers summing to 1, got {rates}")
        self.condition_rates = rates
        for split, n in self.utterances.items():
            if split not in ("train", "validation", "test"):
                raise ValueError(f"unknown split {split!r}; expected train, validation or test")
            if n < 0 or (n and self.speakers.get(split, 0) < 1):
                raise ValueError(f"split {split!r} needs >= 0 utterances and, with any, >= 1 speaker")
        if not 0 <= self.strong_rate <= 1:
            raise ValueError(f"strong_rate must be in [0, 1], got {self.strong_rate}")


@functools.cache
def voice_metadata(engine: str, voice: str) -> tuple[str, str]:
    """``(gender, age_group)`` of a voice, from the espeak-ng variant file (``gender male 35``)."""
    if engine == "flite":
        return _FLITE_GENDER.get(voice, "unknown"), "adult"
    from avzoo.synth.speech import espeak

    _, variant = espeak.parse_voice(voice)
    if variant is None:
        return "male", "adult"  # espeak-ng's default voice
    for line in (espeak.data_path() / "voices" / "!v" / variant).read_text(errors="replace").splitlines():
        parts = line.split()
        if parts[:1] == ["gender"] and len(parts) >= 2:
            gender = parts[1].lower() if parts[1].lower() in GENDERS else "unknown"
            age = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 0
            group = "unknown" if age == 0 else "young" if age < 25 else "adult" if age < 60 else "senior"
            return gender, group
    return "unknown", "unknown"


def metadata_names(split) -> dict[str, list[str]]:
    """Each row's speaker metadata (gender, age group, pitch band) as names, which processors map to their own
    indices."""
    return {name: [split.features[name].int2str(int(i)) for i in split[name]] for name in
            ("gender", "age_group", "pitch_band")}  # fmt: skip


def pitch_band(pitch: float) -> str:
    """The speaker's base pitch (espeak units, 30–70 in the corpus) as low/mid/high."""
    return "low" if pitch < 43 else "mid" if pitch < 57 else "high"


_STATE: dict = {}


def _state(config: EmotionSpeechConfig) -> dict:
    key = repr(config)
    if _STATE.get("key") != key:
        from avzoo.synth.speakers import make_speakers
        from avzoo.synth.text import TextGenerator

        _STATE.update(key=key, text=TextGenerator(0), speakers=make_speakers(config.speakers, config.seed))
    return _STATE


def _sentence(gen, voice_emotion: str, condition: str, split: str, rng: np.random.Generator):
    if condition == "neutral_text" or (condition == "congruent" and voice_emotion == "neutral"):
        return gen.sample("neutral", split)
    if condition == "congruent":
        return gen.sample(voice_emotion, split)
    try:  # sarcasm: the tone's own templates, whose words say another emotion
        s = gen.sample(voice_emotion, split, "sarcastic")
        if to_meld(s.text_emotion) != to_meld(voice_emotion):
            return s
    except ValueError:
        pass
    others = [e for e in VOICE_EMOTIONS if e not in ("neutral", voice_emotion)]
    return gen.sample(others[int(rng.integers(len(others)))], split)


def make_row(config: EmotionSpeechConfig, split: str, index: int) -> dict:
    """One row, determined by ``(config.seed, split, index)``."""
    from avzoo.synth.speech import synthesize

    state = _state(config)
    rng = np.random.default_rng([config.seed, 7, ("train", "validation", "test").index(split), index])
    speakers = state["speakers"][split]
    speaker = speakers[int(rng.integers(len(speakers)))]
    emotion = VOICE_EMOTIONS[int(rng.integers(len(VOICE_EMOTIONS)))]
    condition = CONDITIONS[int(rng.choice(3, p=config.condition_rates))]
    if emotion == "neutral" and condition == "neutral_text":
        condition = "congruent"  # neutral words, neutral voice
    intensity = "normal" if emotion == "neutral" or rng.random() >= config.strong_rate else "strong"
    gen = state["text"]
    for _ in range(20):
        gen.reseed(int(rng.integers(2**63)))
        sentence = _sentence(gen, emotion, condition, split, rng)
        utt = synthesize(sentence.text, speaker.engine, speaker.voice, speaker.prosody(emotion, intensity))
        if len(utt.audio) <= config.max_seconds * utt.sampling_rate:
            break
    gender, age_group = voice_metadata(speaker.engine, speaker.voice)
    return {
        "id": f"tae-{split}-{config.seed}-{index:07d}",
        "audio": {"array": utt.audio.astype(np.float32), "sampling_rate": utt.sampling_rate},
        "text": sentence.text,
        "label": MELD_EMOTIONS.index(to_meld(emotion)),
        "text_emotion": MELD_EMOTIONS.index(to_meld(sentence.text_emotion)),
        "condition": condition,
        "intensity": intensity,
        "speaker_id": speaker.speaker_id,
        "voice": speaker.voice,
        "engine": speaker.engine,
        "gender": GENDERS.index(gender),
        "age_group": AGE_GROUPS.index(age_group),
        "pitch_band": PITCH_BANDS.index(pitch_band(speaker.pitch)),
        "source": "synthetic",
    }


def _build_shard(config: EmotionSpeechConfig, split: str, start: int, path: str) -> int:
    import warnings

    disable_progress_bars()
    stop = min(start + config.shard_size, config.utterances[split])
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore", UserWarning
        )  # flite's rms voice ignores pitch_range: known, documented
        rows = [make_row(config, split, i) for i in range(start, stop)]
    tmp = f"{path}.tmp-{os.getpid()}"
    Dataset.from_list(rows, features=emotion_speech_features()).to_parquet(tmp)
    os.replace(tmp, path)
    return stop - start


def build_emotion_speech(
    config: EmotionSpeechConfig, out_dir: str | Path, num_proc: int | None = None
) -> DatasetDict:
    """Build (or resume) the dataset under ``out_dir``; returns it as a DatasetDict."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg = out_dir / "config.txt"
    if cfg.exists() and cfg.read_text() != repr(config):
        raise ValueError(f"{out_dir} holds a dataset built with another config; use a new folder")
    cfg.write_text(repr(config))
    jobs = []
    for split, n in config.utterances.items():
        (out_dir / split).mkdir(exist_ok=True)
        for start in range(0, n, config.shard_size):
            path = out_dir / split / f"shard-{start // config.shard_size:05d}.parquet"
            if not path.exists():
                jobs.append((split, start, str(path)))
    num_proc = num_proc or os.cpu_count() or 1
    if num_proc == 1 or len(jobs) <= 1:
        for job in jobs:
            _build_shard(config, *job)
    elif jobs:
        with ProcessPoolExecutor(num_proc) as pool:
            list(pool.map(_build_shard, [config] * len(jobs), *zip(*jobs, strict=True)))
    return load_emotion_speech(out_dir)


def load_emotion_speech(out_dir: str | Path) -> DatasetDict:
    """Read a built dataset back from its shards."""
    out_dir = Path(out_dir)
    splits = {}
    for split in ("train", "validation", "test"):
        files = sorted(str(p) for p in (out_dir / split).glob("shard-*.parquet"))
        if files:
            splits[split] = Dataset.from_parquet(files, features=emotion_speech_features(), split=split)
    if not splits:
        raise ValueError(f"{out_dir} holds no emotion-speech shards")
    return DatasetDict(splits)


def main(argv: list[str] | None = None) -> int:
    """``python -m avzoo.synth.emotion_speech OUT [--train N --validation N --test N --seed S]``."""
    import argparse

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out")
    p.add_argument("--train", type=int, default=6000)
    p.add_argument("--validation", type=int, default=400)
    p.add_argument("--test", type=int, default=700)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--num-proc", type=int, default=None)
    a = p.parse_args(argv)
    config = EmotionSpeechConfig(
        utterances={"train": a.train, "validation": a.validation, "test": a.test}, seed=a.seed
    )
    ds = build_emotion_speech(config, a.out, a.num_proc)
    for split, d in ds.items():
        print(split, len(d), dict(zip(*np.unique(d["condition"], return_counts=True), strict=True)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
