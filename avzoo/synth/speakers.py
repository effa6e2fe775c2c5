"""Synthetic speakers: a voice, a way of speaking, of articulating, of emoting, and a face.

A speaker is everything that stays fixed across their utterances: the TTS engine and voice,
base prosody (pitch, range, rate, loudness), an :class:`ArticulationStyle`, an
:class:`ExpressionStyle` and a face identity. Splits hold disjoint speakers, and espeak voice
variants are themselves divided between splits by a hash of their name, so a held-out speaker
also has a voice timbre no training speaker has. flite has only three voices, so its speakers
share voices across splits and differ in prosody, articulation, expression and face.

Emotion changes the voice the way acted speech does (Scherer 2003; Banse & Scherer 1996):
happy, angry, fearful and surprised speech is faster, higher and wider in range, sad and calm
speech slower, lower and flatter.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from avzoo.synth.expressions import ExpressionStyle
from avzoo.synth.speech import Prosody
from avzoo.synth.speech import espeak as _espeak
from avzoo.synth.speech import flite as _flite
from avzoo.synth.visemes import ArticulationStyle

ENGLISH_ACCENTS = (
    "en-us",
    "en-us-nyc",
    "en-gb-x-rp",
    "en-gb-scotland",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-029",
)
#: espeak variants that do not sound like a person speaking normally.
_ODD_VARIANTS = frozenset({"Demonic", "whisper", "whisperf", "Mr serious", "robosoft", "robosoft2", "robosoft3",
                           "robosoft4", "robosoft5", "robosoft6", "robosoft7", "robosoft8", "UniRobot", "edward2"})  # fmt: skip

#: (rate factor, pitch offset, pitch-range offset, volume factor) at strong intensity.
EMOTION_PROSODY: dict[str, tuple[float, float, float, float]] = {
    "neutral": (1.0, 0, 0, 1.0),
    "calm": (0.9, -5, -15, 0.85),
    "happy": (1.08, 10, 20, 1.1),
    "sad": (0.82, -10, -20, 0.8),
    "angry": (1.1, 5, 25, 1.3),
    "fearful": (1.15, 15, 10, 0.95),
    "disgust": (0.88, -8, 5, 1.0),
    "surprised": (1.0, 15, 35, 1.15),
}


def _voice_split(variant: str) -> str:
    h = int.from_bytes(hashlib.blake2b(variant.encode(), digest_size=4).digest(), "big") / 2**32
    return "train" if h < 0.7 else ("validation" if h < 0.85 else "test")


@dataclass
class Speaker:
    speaker_id: str
    split: str
    engine: str
    voice: str
    rate: float
    pitch: float
    pitch_range: float
    volume: float
    articulation: ArticulationStyle
    expression: ExpressionStyle
    identity_seed: int

    def prosody(self, emotion: str, intensity: str, emphasis: tuple[int, ...] = ()) -> Prosody:
        """This speaker's prosody for an emotion, clipped to the engines' ranges."""
        k = 1.0 if intensity == "strong" else 0.5
        rf, dp, dr, vf = EMOTION_PROSODY[emotion]
        return Prosody(
            rate=float(np.clip(self.rate * (1 + k * (rf - 1)), 80, 450)),
            pitch=float(np.clip(self.pitch + k * dp, 0, 100)),
            pitch_range=float(np.clip(self.pitch_range + k * dr, 0, 100)),
            volume=float(np.clip(self.volume * (1 + k * (vf - 1)), 20, 180)),
            emphasis=emphasis if self.engine == "espeak" else (),
        )


def make_speakers(
    counts: dict[str, int], seed: int = 0, flite_share: float = 0.25
) -> dict[str, list[Speaker]]:
    """Speakers per split (``{"train": 40, "validation": 6, "test": 6}``), deterministic per seed."""
    variants = [v for v in _espeak.variants() if v not in _ODD_VARIANTS]
    by_split = {s: [v for v in variants if _voice_split(v) == s] for s in ("train", "validation", "test")}
    flite_voices = _flite.list_voices("en")
    out: dict[str, list[Speaker]] = {}
    for split, n in counts.items():
        if split not in by_split:
            raise ValueError(f"unknown split {split!r}; expected train, validation or test")
        # By name, not position: a config read back from JSON lists its splits sorted.
        split_idx = ("train", "validation", "test").index(split)
        rng = np.random.default_rng([seed, split_idx])
        speakers = []
        for i in range(n):
            use_flite = bool(flite_voices) and rng.random() < flite_share
            if use_flite:
                engine, voice = "flite", str(flite_voices[i % len(flite_voices)])
            else:
                engine = "espeak"
                voice = f"{rng.choice(ENGLISH_ACCENTS)}+{by_split[split][i % len(by_split[split])]}"
            speakers.append(
                Speaker(
                    speaker_id=f"synth-{split[:2]}{split_idx}-{seed}-{i:04d}",
                    split=split,
                    engine=engine,
                    voice=voice,
                    rate=float(rng.uniform(140, 210)),
                    pitch=float(rng.uniform(30, 70)),
                    pitch_range=float(rng.uniform(35, 80)),
                    volume=float(rng.uniform(85, 115)),
                    articulation=ArticulationStyle.random(rng),
                    expression=ExpressionStyle.random(rng),
                    identity_seed=int(rng.integers(2**31)),
                )
            )
        out[split] = speakers
    return out
