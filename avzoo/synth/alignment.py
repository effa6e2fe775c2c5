"""Phone timings of real English speech: recognise the words, then force-align them (pocketsphinx).

Real voices need real timing to become training labels: :func:`align_speech` returns the ARPAbet phones of a
recording with their start and end times, which :func:`avzoo.synth.visemes.phones_to_blendshapes` turns into a
blendshape track exactly as it does for the synthetic corpus.

How: pocketsphinx (CMU Sphinx, BSD; its PyPI wheel ships the US-English acoustic model, the CMU dictionary and a
language model, so nothing is downloaded) recognises the words when no transcript is given, then aligns that word
sequence to the audio at 10 ms resolution. Recognition errors become wrong phones with the right timing; with a
transcript only the timing is estimated. ``benchmarks/real_speech_alignment.py`` measures both on synthetic speech,
where the true phones are known.

pocketsphinx is an optional dependency (``pip install avzoo[align]``): only building real-speech training data
needs it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from avzoo.synth.visemes import TARGETS, Phone

#: pocketsphinx's frame rate (frames per second) of segment times.
FRAME_RATE = 100.0
#: Sampling rate the bundled acoustic model expects.
SAMPLING_RATE = 16000


@dataclass(frozen=True)
class Alignment:
    """Words recognised (or given) and the phones aligned to the audio."""

    text: str
    phones: list[Phone]
    recognised: bool


def _decoder(**options: object):
    try:
        from pocketsphinx import Decoder
    except ImportError:
        raise ImportError(
            "aligning real speech needs pocketsphinx (pip install 'avzoo[align]' or pip install pocketsphinx)"
        ) from None
    return Decoder(samprate=SAMPLING_RATE, loglevel="FATAL", **options)


def _pcm16(audio: np.ndarray) -> bytes:
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 1 or not len(audio):
        raise ValueError(f"audio must be non-empty 1-D samples, got shape {audio.shape}")
    if not np.isfinite(audio).all():
        raise ValueError("audio has NaN/inf samples")
    # Exact digital silence and full-scale peaks (both common in TTS audio) make pocketsphinx's alignment fail:
    # bring peaks to half scale and add a seeded -80 dBFS dither.
    peak = float(np.abs(audio).max())
    if peak > 0.5:
        audio = audio * (0.5 / peak)
    # Trailing silence lets the last word finish before the utterance ends (times are unaffected: no padding
    # in front).
    audio = np.concatenate([audio, np.zeros(SAMPLING_RATE // 2, np.float32)])
    audio = audio + 1e-4 * np.random.default_rng(0).standard_normal(len(audio)).astype(np.float32)
    return (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def _decode(decoder, pcm: bytes) -> None:
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()


def recognise(audio: np.ndarray) -> str:
    """The words pocketsphinx hears in 16 kHz mono float ``audio`` (lower case, no fillers; may be empty)."""
    decoder = _decoder()
    _decode(decoder, _pcm16(audio))
    hyp = decoder.hyp()
    return "" if hyp is None else hyp.hypstr.strip()


def _phone_symbol(name: str) -> str:
    """pocketsphinx's phone name as our ARPAbet symbol; silence and noise models become ``sil``."""
    symbol = name.strip().upper()
    return symbol if symbol in TARGETS and symbol != "SIL" else "sil"


def align_speech(audio: np.ndarray, text: str | None = None) -> Alignment:
    """Phones of 16 kHz mono float ``audio`` with their times (s); ``text`` if known, else recognised first.

    Raises ValueError when no words are heard or the alignment fails (e.g. the text does not match the audio).
    """
    pcm = _pcm16(audio)
    recognised = text is None
    if text is None:
        text = recognise(audio)
    # The dictionary's spelling: lower case, letters and apostrophes; fillers (<sil>, [noise], +um+) dropped.
    tokens = [w for w in text.lower().split() if not w.startswith(("<", "[", "+"))]
    tokens = re.sub(r"[^a-z' ]+", " ", " ".join(tokens)).split()
    if not tokens:
        raise ValueError("no words were recognised in the audio: nothing to align")
    decoder = _decoder(lm=None)
    unknown = [w for w in tokens if decoder.lookup_word(w) is None]
    if unknown:
        raise ValueError(f"words missing from the pronunciation dictionary: {unknown[:5]}")
    words = " ".join(tokens)
    try:
        decoder.set_align_text(words)
        _decode(decoder, pcm)
        decoder.set_alignment()
        _decode(decoder, pcm)
        segments = decoder.get_alignment()
    except (RuntimeError, ValueError) as err:
        raise ValueError(f"could not align {words[:60]!r} to the audio ({err})") from None
    if segments is None:
        raise ValueError(f"could not align {words[:60]!r} to the audio")
    phones = []
    for word in segments:
        for phone in word:
            start = phone.start / FRAME_RATE
            end = (phone.start + phone.duration) / FRAME_RATE
            symbol = _phone_symbol(phone.name)
            if symbol != "sil":
                phones.append(Phone(symbol, start, end))
    if not phones:
        raise ValueError("the alignment holds no speech phones")
    return Alignment(text=words, phones=phones, recognised=recognised)


__all__ = ["FRAME_RATE", "SAMPLING_RATE", "Alignment", "align_speech", "recognise"]
