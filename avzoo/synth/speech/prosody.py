"""How a sentence is said: speaking rate, pitch, pitch range, loudness and emphasis."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

RATE_RANGE = (80, 450)  # words per minute: espeak-ng's own limits (faster needs its sonic speed-up)
PITCH_RANGE = (0, 100)
PITCH_RANGE_RANGE = (0, 100)
VOLUME_RANGE = (0, 200)
NORMAL_RATE = 175


def _check(name: str, value, lo: float, hi: float, unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a number in [{lo}, {hi}] {unit}, got {value!r}")
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be in [{lo}, {hi}] {unit}, got {value}")
    return float(value)


@dataclass(frozen=True)
class Prosody:
    """Prosody controls, in espeak-ng's units; the flite engine maps them onto its own.

    ``rate``: words per minute in [80, 450] (175 is each voice's normal pace).
    ``pitch``: base pitch in [0, 100]; 50 is the voice's own. On flite, 0 and 100 are half an
    octave below and above (flite's ``rms`` voice shifts its formants with it and keeps its range).
    ``pitch_range``: intonation range in [0, 100]; 0 is monotone, 50 the voice's own, 100 double.
    ``volume``: loudness in [0, 200]; 100 is normal (louder may clip and is limited to [-1, 1]).
    ``emphasis``: indices of words (``text.split()``, from 0) to say with emphasis. espeak-ng
    only: flite has no emphasis control, and asking for it there is a ``ValueError``.
    """

    rate: float = NORMAL_RATE
    pitch: float = 50
    pitch_range: float = 50
    volume: float = 100
    emphasis: tuple[int, ...] = ()

    def __post_init__(self):
        _check("rate", self.rate, *RATE_RANGE, "words per minute")
        _check("pitch", self.pitch, *PITCH_RANGE, "(50 = the voice's own)")
        _check("pitch_range", self.pitch_range, *PITCH_RANGE_RANGE, "(0 = monotone, 50 = the voice's own)")
        _check("volume", self.volume, *VOLUME_RANGE, "(100 = normal)")
        if isinstance(self.emphasis, (str, bytes)) or not hasattr(self.emphasis, "__iter__"):
            raise ValueError(f"emphasis must be a sequence of word indices, got {self.emphasis!r}")
        emphasis = tuple(self.emphasis)
        for i in emphasis:
            if isinstance(i, bool) or not isinstance(i, numbers.Integral) or i < 0:
                raise ValueError(f"emphasis must hold word indices >= 0, got {self.emphasis!r}")
        object.__setattr__(self, "emphasis", tuple(sorted({int(i) for i in emphasis})))

    @classmethod
    def random(cls, rng: np.random.Generator, n_words: int = 0, p_emphasis: float = 0.0) -> Prosody:
        """A natural-sounding random prosody; each of ``n_words`` words is emphasised with ``p_emphasis``."""
        emphasis = tuple(int(i) for i in np.flatnonzero(rng.random(n_words) < p_emphasis))
        return cls(
            rate=round(float(rng.uniform(130, 220))),
            pitch=round(float(rng.uniform(30, 70))),
            pitch_range=round(float(rng.uniform(30, 85))),
            volume=round(float(rng.uniform(80, 120))),
            emphasis=emphasis,
        )
