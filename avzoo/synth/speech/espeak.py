"""espeak-ng through the ``espeakng-loader`` wheel: audio plus phone and word events.

The binding is plain ctypes against ``libespeak-ng.so`` and the data folder that the wheel
ships (``espeakng_loader.get_library_path()`` / ``get_data_path()``), in SYNCHRONOUS mode: a
synth callback receives the audio in blocks together with ``espeak_EVENT`` records. Phoneme
events are on, with IPA names (``espeakINITIALIZE_PHONEME_EVENTS | ..._PHONEME_IPA``), so each
phone arrives as ``id.string``: up to 8 bytes of UTF-8, NUL-terminated unless all 8 are used,
which is why names are cut at the first NUL and decoded leniently. ``sample`` is the event's
exact position in the output at 22050 Hz (``audio_position`` is the same rounded down to ms).

Determinism. espeak-ng keeps synthesis state in C statics that neither ``espeak_Terminate``
nor re-initialising resets (the pitch-flutter phase, wave phase, AGC, echo buffer): the same
text synthesised twice in one process differs by a few samples. So every call loads a fresh
instance of the library and unloads it afterwards (``dlclose``), a few ms per call. The
instance is a private copy of the wheel's ``.so`` (in the temp folder), so it is never shared
with another user of espeak-ng in the same process.

Threads and processes. The library is one global state per process: calls are serialised by
a lock, so threads gain nothing. Synthesise in parallel with processes (``multiprocessing``,
``datasets.map(num_proc=...)``); each loads its own instance.
"""

from __future__ import annotations

import _ctypes
import ctypes
import functools
import hashlib
import os
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from avzoo.synth.speech.alignment import (
    Mark,
    Segment,
    give_time_to_short,
    refine_boundaries,
    segments_from_marks,
)
from avzoo.synth.speech.prosody import Prosody

NAME = "espeak"
DEFAULT_VOICE = "en-us+m3"
NATIVE_RATE = 22050

# speak_lib.h
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS, _INIT_PHONEME_IPA, _INIT_DONT_EXIT = 0x0001, 0x0002, 0x8000
_EVENT_LIST_TERMINATED, _EVENT_WORD, _EVENT_PHONEME = 0, 1, 7
_POS_CHARACTER = 1
_CHARS_UTF8, _SSML = 1, 0x10
_RATE, _VOLUME, _PITCH, _RANGE, _PUNCTUATION = 1, 2, 3, 4, 5
_SEED = 1

_LOCK = threading.Lock()
_unload = getattr(_ctypes, "dlclose", None) or _ctypes.FreeLibrary  # POSIX / Windows


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    """``espeak_EVENT`` (speak_lib.h, API revision 12)."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),  # characters from the start of the text, from 1
        ("length", ctypes.c_int),  # word length in characters (WORD events)
        ("audio_position", ctypes.c_int),  # ms in the output
        ("sample", ctypes.c_int),  # sample index in the output
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


@dataclass
class _Collector:
    chunks: list[bytes] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    words: list[tuple[int, int]] = field(default_factory=list)  # (text_position, length)


_collector = _Collector()


@_SynthCallback
def _on_synth(wav, n_samples, events):
    if wav and n_samples > 0:
        _collector.chunks.append(ctypes.string_at(wav, 2 * n_samples))
    i = 0
    while events[i].type != _EVENT_LIST_TERMINATED:
        ev = events[i]
        if ev.type == _EVENT_PHONEME:
            name = ev.id.string.decode("utf-8", errors="ignore")
            _collector.marks.append(Mark(ev.sample, name, len(_collector.words) - 1))
        elif ev.type == _EVENT_WORD:
            _collector.words.append((ev.text_position, ev.length))
        i += 1
    return 0


# --- library, data and voices -------------------------------------------------------------


def _loader():
    try:
        import espeakng_loader
    except ImportError as e:  # pragma: no cover - a declared dependency
        raise RuntimeError(
            "the espeak engine needs the espeakng-loader wheel: pip install espeakng-loader"
        ) from e
    return espeakng_loader


@functools.cache
def data_path() -> Path:
    """The ``espeak-ng-data`` folder of the wheel."""
    return Path(_loader().get_data_path())


def _private_library() -> str:
    """A copy of the wheel's libespeak-ng that only this module loads (see the module docstring)."""
    dst = _private_library_path()
    if not dst.exists():  # the temp folder may have been cleaned since
        src = Path(_loader().get_library_path())
        folder = dst.parent
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{src.name}.{os.getpid()}.tmp"
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    return str(dst)


@functools.cache
def _private_library_path() -> Path:
    src = Path(_loader().get_library_path())
    digest = hashlib.sha1(src.read_bytes()).hexdigest()[:16]
    user = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"avzoo-espeak-{user}-{digest}" / src.name


@functools.cache
def languages() -> dict[str, str]:
    """espeak-ng languages: lower-case code (``en-us``) → voice file identifier (``gmw/en-US``)."""
    root = data_path() / "lang"
    return {p.name.lower(): p.relative_to(root).as_posix() for p in sorted(root.rglob("*")) if p.is_file()}


@functools.cache
def variants() -> tuple[str, ...]:
    """Voice variants (``m3``, ``f2``, ``klatt``, ...) that combine with any language as ``lang+variant``."""
    return tuple(sorted(p.name for p in (data_path() / "voices" / "!v").iterdir() if p.is_file()))


def list_voices(language: str | None = None) -> list[str]:
    """Voices ``lang`` and ``lang+variant`` for every language matching ``language`` (``en`` matches ``en-us``)."""
    langs = [code for code in languages() if language is None or _language_matches(code, language)]
    return [v for code in langs for v in (code, *(f"{code}+{var}" for var in variants()))]


def _language_matches(code: str, language: str) -> bool:
    language = language.lower()
    return code == language or code.startswith(language + "-")


def parse_voice(voice: str) -> tuple[str, str | None]:
    """Check ``lang[+variant]`` against the installed data; returns ``(lang, variant)``."""
    if not isinstance(voice, str) or not voice.strip():
        raise ValueError(
            f"voice must be 'language' or 'language+variant' (e.g. {DEFAULT_VOICE!r}), got {voice!r}"
        )
    lang, _, variant = voice.strip().partition("+")
    lang = lang.lower()
    if lang not in languages():
        near = [c for c in languages() if c.split("-")[0] == lang.split("-")[0]]
        hint = f" (did you mean one of {near}?)" if near else " (see list_voices('espeak'))"
        raise ValueError(f"unknown espeak-ng language {lang!r} in voice {voice!r}{hint}")
    if variant and variant not in variants():
        raise ValueError(
            f"unknown espeak-ng variant {variant!r} in voice {voice!r}; known variants: {list(variants())}"
        )
    return lang, variant or None


# --- text preparation -----------------------------------------------------------------------


def _prepare(text: str, emphasis: tuple[int, ...]) -> tuple[str, list[int], int]:
    """Input for espeak (SSML when emphasising) and, per input character, its index in ``text``."""
    tokens = [m.span() for m in re.finditer(r"\S+", text)]
    if emphasis and emphasis[-1] >= len(tokens):
        raise ValueError(
            f"emphasis word index {emphasis[-1]} is out of range: the text has {len(tokens)} words"
        )
    if not emphasis:
        return text, list(range(len(text))), 0
    parts: list[tuple[str, int]] = [("<speak>", -1)]
    cursor = 0
    for k, (a, b) in enumerate(tokens):
        parts += [(escape(text[i]), i) for i in range(cursor, a)]
        if k in emphasis:
            parts.append(("<emphasis>", a))
        parts += [(escape(text[i]), i) for i in range(a, b)]
        if k in emphasis:
            parts.append(("</emphasis>", b - 1))
        cursor = b
    parts += [(escape(text[i]), i) for i in range(cursor, len(text))]
    parts.append(("</speak>", len(text) - 1))
    source = "".join(s for s, _ in parts)
    index = [i for s, i in parts for _ in s]
    return source, index, _SSML


# --- synthesis ------------------------------------------------------------------------------


@dataclass
class RawSynthesis:
    """espeak-ng's output before conversion: int16 audio at 22050 Hz, marks and word spans."""

    audio: np.ndarray
    marks: list[Mark]
    words: list[tuple[int, int]]  # (start, end) character spans in the caller's text


def synthesize_raw(text: str, voice: str, prosody: Prosody) -> RawSynthesis:
    """Run espeak-ng once on a fresh library instance (deterministic; see the module docstring)."""
    parse_voice(voice)
    source, index, flags = _prepare(text, prosody.emphasis)
    encoded = source.encode("utf-8")
    with _LOCK:
        _collector.chunks.clear()
        _collector.marks.clear()
        _collector.words.clear()
        lib = ctypes.CDLL(_private_library())
        try:
            lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
            lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
            lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
            lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
            lib.espeak_Synth.argtypes = [
                ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
                ctypes.c_void_p, ctypes.c_void_p,
            ]  # fmt: skip
            options = _INIT_PHONEME_EVENTS | _INIT_PHONEME_IPA | _INIT_DONT_EXIT
            rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, str(data_path()).encode(), options)
            if rate != NATIVE_RATE:
                raise RuntimeError(f"espeak-ng failed to initialise from {data_path()} (returned {rate})")
            lib.espeak_SetSynthCallback(_on_synth)
            if lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise ValueError(f"espeak-ng could not load voice {voice!r}")
            for param, value in (
                (_RATE, prosody.rate),
                (_PITCH, prosody.pitch),
                (_RANGE, prosody.pitch_range),
                (_VOLUME, prosody.volume),
                (_PUNCTUATION, 0),
            ):
                lib.espeak_SetParameter(param, round(value), 0)
            lib.espeak_ng_SetRandSeed(_SEED)
            status = lib.espeak_Synth(
                encoded, len(encoded) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8 | flags, None, None
            )
            if status != 0:
                raise RuntimeError(f"espeak_Synth failed with status {status}")
        finally:
            lib.espeak_Terminate()
            _unload(lib._handle)
        audio = np.frombuffer(b"".join(_collector.chunks), np.int16).copy()
        marks = [m for m in _collector.marks if not (m.ipa.startswith("(") and m.ipa.endswith(")"))]
        words = []
        for pos, length in _collector.words:
            lo = min(max(pos - 1, 0), len(index) - 1) if index else 0
            hi = min(max(pos - 1 + length, lo + 1), len(index))
            chars = [index[i] for i in range(lo, hi) if index[i] >= 0] or [index[lo]]
            words.append((min(chars), max(chars) + 1))
    return RawSynthesis(audio, marks, words)


def segments(raw: RawSynthesis, refine: bool = True) -> list[Segment]:
    """Common-phone segments (in samples at 22050 Hz) from espeak-ng's marks."""
    audio = raw.audio.astype(np.float32) / 32768.0
    segs = segments_from_marks(raw.marks, len(raw.audio), NATIVE_RATE, audio)
    if refine:
        segs = refine_boundaries(segs, audio, NATIVE_RATE)
    return give_time_to_short(segs, NATIVE_RATE)
