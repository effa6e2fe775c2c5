"""Speech with phone timing for the synthetic corpus: text → waveform + phones + words.

Two engines that sound nothing alike:

* ``espeak`` — espeak-ng (formant synthesis) from the ``espeakng-loader`` wheel: 140 languages
  times 100+ voice variants (``en-us+m3``, ``en+f2``, ``de+klatt``, ...), rate, pitch, pitch
  range, volume and per-word emphasis.
* ``flite`` — CMU flite's clustergen voices ``slt``, ``rms``, ``awb`` (US/Scottish English),
  from Debian's ``flite`` package; rate, pitch, pitch range and volume.

>>> from avzoo.synth.speech import Prosody, synthesize
>>> utt = synthesize("Put the big map back.", voice="en-us+f2", prosody=Prosody(rate=150, emphasis=(2,)))
>>> utt.phones[1]  # doctest: +SKIP
Phone(symbol='P', start=0.0119, end=0.0866, stress=1.0, lexical_stress=0, ipa='p')

Phones are in the common inventory of :mod:`avzoo.synth.phonemes` (ARPAbet + ``sil``) and tile
the audio without gaps. Boundaries are within 20 ms of the waveform's own landmarks (stop
closures, pauses, the end of speech): ``tests/test_synth_speech.py`` checks it and
``benchmarks/speech_timing.py`` measures the distribution.

Every call is deterministic: the same text, voice, prosody and rate give the same samples.
The engines are C libraries with global state, so calls are serialised by a lock; run
synthesis in parallel with processes, not threads.
"""

from __future__ import annotations

import re

import numpy as np
import soxr

from avzoo.synth.phonemes import SILENCE
from avzoo.synth.speech import espeak, flite
from avzoo.synth.speech.alignment import Segment
from avzoo.synth.speech.prosody import Prosody
from avzoo.synth.speech.utterance import EMPHASIS_GAIN, Phone, Utterance, Word

__all__ = [
    "EMPHASIS_GAIN",
    "ENGINES",
    "Phone",
    "Prosody",
    "Utterance",
    "Word",
    "default_voice",
    "list_voices",
    "synthesize",
]

ENGINES = ("espeak", "flite")
SAMPLING_RATE_RANGE = (8000, 48000)
_MODULES = {"espeak": espeak, "flite": flite}


def _engine(engine: str):
    try:
        return _MODULES[engine]
    except (KeyError, TypeError):
        raise ValueError(f"unknown engine {engine!r}; engines: {list(ENGINES)}") from None


def default_voice(engine: str = "espeak") -> str:
    """The voice ``synthesize`` uses when none is given (``en-us+m3`` for espeak, ``slt`` for flite)."""
    return _engine(engine).DEFAULT_VOICE


def list_voices(engine: str = "espeak", language: str | None = None) -> list[str]:
    """Voice names for ``engine``, optionally only those of ``language`` (``en`` also matches ``en-us``).

    espeak: ``lang`` and ``lang+variant`` for every installed language and variant (about 14 000;
    ``espeak.languages()`` and ``espeak.variants()`` give the two lists). flite: the installed
    ``cmu_us`` voices.
    """
    return _engine(engine).list_voices(language)


def synthesize(
    text: str,
    engine: str = "espeak",
    voice: str | None = None,
    prosody: Prosody | None = None,
    sampling_rate: int = 16000,
) -> Utterance:
    """Speak ``text`` and return the audio (float32 mono) with its phones and words.

    ``voice`` defaults to :func:`default_voice`. Raises ``ValueError`` for empty text, text
    with nothing to say, an unknown engine or voice, prosody out of range (checked by
    :class:`Prosody`) and a sampling rate outside [8000, 48000] Hz.
    """
    mod = _engine(engine)
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"text must be a non-empty string, got {text!r}")
    prosody = Prosody() if prosody is None else prosody
    if not isinstance(prosody, Prosody):
        raise ValueError(f"prosody must be a Prosody, got {type(prosody).__name__}")
    if isinstance(sampling_rate, bool) or not isinstance(sampling_rate, (int, np.integer)):
        raise ValueError(
            f"sampling_rate must be an integer in {list(SAMPLING_RATE_RANGE)} Hz, got {sampling_rate!r}"
        )
    if not SAMPLING_RATE_RANGE[0] <= sampling_rate <= SAMPLING_RATE_RANGE[1]:
        raise ValueError(f"sampling_rate must be in {list(SAMPLING_RATE_RANGE)} Hz, got {sampling_rate}")
    voice = mod.DEFAULT_VOICE if voice is None else voice
    mod.parse_voice(voice)

    if mod is espeak:
        raw = espeak.synthesize_raw(text, voice, prosody)
        native_rate, audio = espeak.NATIVE_RATE, raw.audio
        segs = espeak.segments(raw)
        emphasised = _emphasised_words(text, raw.words, prosody.emphasis)
        word_spans = [(text[a:b].strip(), a) for a, b in raw.words]
    else:
        raw = flite.synthesize_raw(text, voice, prosody)
        native_rate, audio = raw.sampling_rate, raw.audio
        segs = raw.segments
        emphasised = set()
        word_spans = None

    if not any(s.symbol != SILENCE for s in segs):
        raise ValueError(f"text has nothing to say: {text!r}")
    out = _to_float(audio, native_rate, sampling_rate, prosody.volume if mod is flite else 100)
    duration = len(out) / sampling_rate
    phones = _phones(segs, native_rate, duration, emphasised)
    if word_spans is not None:
        words = _espeak_words(segs, word_spans, native_rate, duration)
    else:
        words = [Word(w, min(a, duration), min(b, duration)) for w, a, b in raw.words]
    return Utterance(out, int(sampling_rate), phones, words, text, voice, engine, prosody)


def _to_float(audio: np.ndarray, rate: float, out_rate: int, volume: float) -> np.ndarray:
    x = audio.astype(np.float32) / 32768.0
    if volume != 100:
        x = x * np.float32(volume / 100)
    if rate != out_rate and len(x):
        x = soxr.resample(x, rate, out_rate, quality="HQ").astype(np.float32)
    return np.clip(x, -1.0, 1.0)


def _phones(segs: list[Segment], rate: float, duration: float, emphasised: set[int]) -> list[Phone]:
    """Segments (samples) → phones (seconds) tiling exactly ``[0, duration]``."""
    edges = [s.start / rate for s in segs] + [duration]
    edges[0] = 0.0
    phones = []
    for i, s in enumerate(segs):
        start, end = min(edges[i], duration), min(max(edges[i + 1], edges[i]), duration)
        if end <= start and i + 1 < len(segs):
            continue
        gain = EMPHASIS_GAIN if s.word in emphasised and s.symbol != SILENCE else 1.0
        phones.append(Phone(s.symbol, start, end, gain, s.lexical_stress, s.ipa))
    # the tiling must end exactly at the end of the audio
    last = phones[-1]
    phones[-1] = Phone(last.symbol, last.start, duration, last.stress, last.lexical_stress, last.ipa)
    for i in range(1, len(phones)):
        if phones[i].start != phones[i - 1].end:
            p = phones[i]
            phones[i] = Phone(p.symbol, phones[i - 1].end, p.end, p.stress, p.lexical_stress, p.ipa)
    return phones


def _emphasised_words(text: str, spans: list[tuple[int, int]], emphasis: tuple[int, ...]) -> set[int]:
    """espeak word indices whose text lies in an emphasised ``text.split()`` token."""
    if not emphasis:
        return set()
    tokens = [m.span() for m in re.finditer(r"\S+", text)]
    chosen = [tokens[i] for i in emphasis]
    return {k for k, (a, _) in enumerate(spans) if any(lo <= a < hi for lo, hi in chosen)}


def _espeak_words(
    segs: list[Segment], spans: list[tuple[str, int]], rate: int, duration: float
) -> list[Word]:
    words = []
    for k, (word_text, _) in enumerate(spans):
        own = [s for s in segs if s.word == k and s.symbol != SILENCE]
        if own and word_text:
            words.append(Word(word_text, own[0].start / rate, min(own[-1].end / rate, duration)))
    return words
