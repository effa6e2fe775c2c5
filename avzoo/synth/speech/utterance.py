"""What a synthesis returns: the waveform with its phones and words on one time axis."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from avzoo.synth.phonemes import SILENCE, PhoneInfo, features
from avzoo.synth.speech.prosody import Prosody

#: ``Phone.stress`` of phones in words that :attr:`Prosody.emphasis` emphasises: emphasis is
#: said with a wider jaw and more precise lips, which the viseme stage scales by this gain.
EMPHASIS_GAIN = 1.3


@dataclass(frozen=True)
class Phone:
    """One phone of the common inventory (:mod:`avzoo.synth.phonemes`) with its time span.

    ``symbol`` is ARPAbet without stress digits, or ``sil``. ``stress`` is an articulation
    gain for the face (1 normally, :data:`EMPHASIS_GAIN` inside emphasised words), the same
    field :class:`avzoo.synth.visemes.Phone` reads. ``lexical_stress`` is the engine's word
    stress on vowels (0 none, 1 primary, 2 secondary) and ``ipa`` the engine's own phone in IPA.
    """

    symbol: str
    start: float
    end: float
    stress: float = 1.0
    lexical_stress: int = 0
    ipa: str = ""

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def info(self) -> PhoneInfo:
        return features(self.symbol)

    @property
    def is_silence(self) -> bool:
        return self.symbol == SILENCE


@dataclass(frozen=True)
class Word:
    """A spoken word: its text (as written in the input for espeak, as spoken for flite) and span."""

    text: str
    start: float
    end: float


@dataclass(eq=False)
class Utterance:
    """Synthesised speech: ``audio`` (float32 mono in [-1, 1]) and the phones and words in it.

    Phones tile ``[0, duration]`` without gaps: each starts where the previous one ends, the
    first at 0 and the last at the end of the audio; pauses are ``sil`` phones.
    """

    audio: np.ndarray
    sampling_rate: int
    phones: list[Phone]
    words: list[Word]
    text: str
    voice: str
    engine: str
    prosody: Prosody = field(default_factory=Prosody)

    @property
    def duration(self) -> float:
        return len(self.audio) / self.sampling_rate

    def phonemes(self) -> list[dict]:
        """The phones as ``{"phone", "start", "end"}`` rows (the dataset ``phonemes`` column)."""
        return [{"phone": p.symbol, "start": p.start, "end": p.end} for p in self.phones]
