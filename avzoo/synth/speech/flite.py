"""flite (CMU's small festival) through ctypes on Debian's ``libflite1``: a second, different voice.

espeak-ng is a formant synthesiser; flite's ``cmu_us_*`` voices are statistical parametric
(clustergen) voices trained on real speakers, so they sound nothing alike, which is the point
of a second engine in the corpus. Three voices have reliable timing: ``slt`` (US female),
``rms`` (US male), ``awb`` (Scottish male). The diphone voices ``kal``/``kal16`` are left out:
their segment times disagree with their own audio by 100 ms and more.

Phone times are flite's own ``Segment`` relation (``end`` of each item; clustergen renders
each segment's frames exactly), words come from the ``Word`` relation through ``SylStructure``.
Phones use the CMU radio phoneset, mapped by :func:`avzoo.synth.phonemes.festival_to_arpabet`.

Prosody: ``rate`` sets ``duration_stretch`` (175 / rate), ``pitch`` scales the voice's mean F0
(``int_f0_target_mean``; 0 and 100 are half an octave down and up), ``pitch_range`` scales its
F0 standard deviation (``int_f0_target_stddev``; 50 keeps it), ``volume`` scales the waveform.
``rms`` ignores those F0 targets (its F0 does not move with them, measured), so for it
``pitch`` works by playing the speech faster or slower: flite speaks ``shift`` times slower
and the waveform is resampled ``shift`` times faster, which moves F0 *and* the formants (a
shorter or longer vocal tract: another-sounding speaker, as a pitch change should give) and
scales every phone time exactly. Its ``pitch_range`` has no effect (a warning says so).
flite has no emphasis control.
The excitation noise uses libc ``rand()``, which is re-seeded (``srand``) before every call
so that output is deterministic.

Needs the Debian/Ubuntu packages ``flite`` and ``libflite1`` (``apt-get install flite``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import threading
import warnings
from dataclasses import dataclass

import numpy as np

from avzoo.synth.phonemes import INVENTORY, SILENCE, festival_to_arpabet, festival_to_ipa
from avzoo.synth.speech.alignment import Segment
from avzoo.synth.speech.prosody import NORMAL_RATE, Prosody

NAME = "flite"
DEFAULT_VOICE = "slt"
#: voice → (library stem, language)
VOICES: dict[str, tuple[str, str]] = {
    "slt": ("cmu_us_slt", "en-us"),
    "rms": ("cmu_us_rms", "en-us"),
    "awb": ("cmu_us_awb", "en-gb-scotland"),
}
#: Voices whose F0 ignores ``int_f0_target_mean``/``_stddev`` (checked by measuring it): their
#: pitch moves by resampling (see the module docstring), their pitch range not at all.
RESAMPLED_PITCH = frozenset({"rms"})
_SEED = 1

_LOCK = threading.Lock()
# flite keeps the *pointer* to a feature name, so the names must outlive every voice.
_NAMES = {k: ctypes.create_string_buffer(k.encode()) for k in (
    "duration_stretch", "int_f0_target_mean", "int_f0_target_stddev", "cg_db", "name", "end", "Segment", "Word",
    "R:SylStructure.parent.stress", "R:SylStructure.daughter1.daughter1.R:Segment.p.end",
    "R:SylStructure.daughtern.daughtern.R:Segment.end",
)}  # fmt: skip


class _Wave(ctypes.Structure):
    """``cst_wave`` (flite's cst_wave.h)."""

    _fields_ = [
        ("type", ctypes.c_char_p),
        ("sample_rate", ctypes.c_int),
        ("num_samples", ctypes.c_int),
        ("num_channels", ctypes.c_int),
        ("samples", ctypes.POINTER(ctypes.c_short)),
    ]


def _library_missing() -> RuntimeError:
    return RuntimeError("the flite engine needs Debian's flite libraries: apt-get install flite libflite1")


@functools.cache
def _lib() -> ctypes.CDLL:
    path = ctypes.util.find_library("flite")
    if path is None:
        raise _library_missing()
    lib = ctypes.CDLL(path)
    vp, cp = ctypes.c_void_p, ctypes.c_char_p
    signatures = {
        "flite_init": ([], ctypes.c_int),
        "flite_synth_text": ([cp, vp], vp),
        "utt_wave": ([vp], ctypes.POINTER(_Wave)),
        "utt_relation": ([vp, cp], vp),
        "relation_head": ([vp], vp),
        "item_next": ([vp], vp),
        "item_feat_string": ([vp, cp], cp),
        "item_feat_float": ([vp, cp], ctypes.c_float),
        "ffeature_string": ([vp, cp], cp),
        "ffeature_float": ([vp, cp], ctypes.c_float),
        "delete_utterance": ([vp], None),
        "feat_set_float": ([vp, cp, ctypes.c_float], None),
        "feat_val": ([vp, cp], vp),
        "val_cg_db": ([vp], vp),
    }
    for name, (args, res) in signatures.items():
        fn = getattr(lib, name)
        fn.argtypes, fn.restype = args, res
    lib.flite_init()
    return lib


@dataclass
class _Voice:
    handle: int  # cst_voice*
    features: int  # cst_features* of the voice
    f0_mean: float
    f0_stddev: float


@functools.cache
def _voice(name: str) -> _Voice:
    lib = _lib()
    stem = VOICES[name][0]
    path = ctypes.util.find_library(f"flite_{stem}")
    if path is None:
        raise _library_missing()
    vlib = ctypes.CDLL(path)
    register = getattr(vlib, f"register_{stem}")
    register.argtypes, register.restype = [ctypes.c_char_p], ctypes.c_void_p
    handle = register(None)
    # struct cst_voice { const char *name; cst_features *features; ... }
    features = ctypes.cast(handle, ctypes.POINTER(ctypes.c_void_p))[1]
    # struct cst_cg_db { const char *name; const char * const *types; int num_types; int sample_rate;
    #                    float f0_mean, f0_stddev; ... }
    db = lib.val_cg_db(lib.feat_val(features, _NAMES["cg_db"]))
    f0 = ctypes.cast(db + 24, ctypes.POINTER(ctypes.c_float))
    _keep_alive.append(vlib)
    return _Voice(handle, features, float(f0[0]), float(f0[1]))


_keep_alive: list[ctypes.CDLL] = []


@functools.cache
def available_voices() -> tuple[str, ...]:
    """The voices whose libraries are installed."""
    if ctypes.util.find_library("flite") is None:
        return ()
    return tuple(v for v, (stem, _) in VOICES.items() if ctypes.util.find_library(f"flite_{stem}"))


def list_voices(language: str | None = None) -> list[str]:
    """Installed voices whose language matches ``language`` (``en`` matches ``en-us`` and ``en-gb-...``)."""
    out = []
    for v in available_voices():
        code = VOICES[v][1]
        if language is None or code == language.lower() or code.startswith(language.lower() + "-"):
            out.append(v)
    return out


def parse_voice(voice: str) -> str:
    if voice not in VOICES:
        raise ValueError(f"unknown flite voice {voice!r}; flite voices: {sorted(VOICES)}")
    if voice not in available_voices():
        raise _library_missing()
    return voice


@dataclass
class RawSynthesis:
    """flite's output: int16 audio at ``sampling_rate``, segments in samples, word spans.

    ``sampling_rate`` is the rate the samples are to be played at: the voice's own, or for a
    pitch moved by resampling (:data:`RESAMPLED_PITCH`) that times the shift.
    """

    audio: np.ndarray
    sampling_rate: float
    segments: list[Segment]
    words: list[tuple[str, float, float]]


def synthesize_raw(text: str, voice: str, prosody: Prosody) -> RawSynthesis:
    """Run flite once (deterministic: libc ``rand`` is re-seeded first)."""
    if prosody.emphasis:
        raise ValueError(
            "the flite engine has no emphasis control; use engine='espeak' or Prosody(emphasis=())"
        )
    parse_voice(voice)
    shift = 2.0 ** ((prosody.pitch - 50) / 100)
    resampled = voice in RESAMPLED_PITCH
    if resampled and prosody.pitch_range != 50:  # the warnings filter shows it once per place
        warnings.warn(
            f"flite voice {voice!r} cannot change its pitch range; pitch_range is ignored", stacklevel=3
        )
    with _LOCK:
        lib, vox = _lib(), _voice(voice)
        stretch = NORMAL_RATE / prosody.rate * (shift if resampled else 1.0)
        lib.feat_set_float(vox.features, _NAMES["duration_stretch"], stretch)
        lib.feat_set_float(
            vox.features, _NAMES["int_f0_target_mean"], vox.f0_mean * (1.0 if resampled else shift)
        )
        lib.feat_set_float(
            vox.features, _NAMES["int_f0_target_stddev"], vox.f0_stddev * prosody.pitch_range / 50
        )
        _libc().srand(_SEED)
        utt = lib.flite_synth_text(text.encode("utf-8"), vox.handle)
        if not utt:
            raise RuntimeError(f"flite failed to synthesise {text!r}")
        try:
            wave = lib.utt_wave(utt).contents
            sr = wave.sample_rate
            n = wave.num_samples * wave.num_channels
            audio = np.ctypeslib.as_array(wave.samples, shape=(n,)).copy() if n else np.zeros(0, np.int16)
            if wave.num_channels > 1:
                audio = audio.reshape(-1, wave.num_channels)[:, 0].copy()
            segs, words = _read_relations(lib, utt, sr)
        finally:
            lib.delete_utterance(utt)
    if resampled and shift != 1.0:
        sr = sr * shift
        words = [(w, a / shift, b / shift) for w, a, b in words]
    return RawSynthesis(audio, sr, segs, words)


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c"))


def _read_relations(lib, utt, sr: int) -> tuple[list[Segment], list[tuple[str, float, float]]]:
    words = []
    item = lib.relation_head(lib.utt_relation(utt, _NAMES["Word"]))
    while item:
        name = (lib.item_feat_string(item, _NAMES["name"]) or b"").decode("utf-8", errors="replace")
        start = lib.ffeature_float(item, _NAMES["R:SylStructure.daughter1.daughter1.R:Segment.p.end"])
        end = lib.ffeature_float(item, _NAMES["R:SylStructure.daughtern.daughtern.R:Segment.end"])
        if end > start:
            words.append((name, float(start), float(end)))
        item = lib.item_next(item)

    segs: list[Segment] = []
    start = 0
    item = lib.relation_head(lib.utt_relation(utt, _NAMES["Segment"]))
    while item:
        name = lib.item_feat_string(item, _NAMES["name"]).decode()
        end = round(lib.item_feat_float(item, _NAMES["end"]) * sr)
        stress = 0
        parts = festival_to_arpabet(name)
        if parts[0] != SILENCE:
            s = lib.ffeature_string(item, _NAMES["R:SylStructure.parent.stress"])
            stress = 1 if s == b"1" else 0
        edges = np.linspace(start, max(end, start), len(parts) + 1).round().astype(int)
        for sym, a, b in zip(parts, edges[:-1], edges[1:], strict=True):
            if b > a:
                if sym == SILENCE and segs and segs[-1].symbol == SILENCE:
                    segs[-1].end = int(b)
                else:
                    vowel_stress = stress if INVENTORY[sym].is_vowel else 0
                    segs.append(Segment(sym, int(a), int(b), vowel_stress, festival_to_ipa(name)))
        start = max(start, end)
        item = lib.item_next(item)
    return segs, words
