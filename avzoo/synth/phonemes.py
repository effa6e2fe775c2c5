"""The common phone inventory of the synthetic corpus, with articulatory features.

Every speech engine names its phones its own way: espeak-ng reports IPA (``ˈaɪ``, ``ɾ``,
``ɐ̃ʊ``), festival and flite use the CMU "radio" phoneset (``ay``, ``dx``, ``pau``). The
corpus keys everything downstream (visemes, datasets) off one inventory: the 39 ARPAbet
phonemes of CMUdict without stress digits, plus ``sil`` for silence. This module maps both
naming schemes into it and gives each common phone its articulatory features.

Sounds that English lacks map to the ARPAbet phone that looks most alike on the face, since
the viseme stage is what consumes them: rounded front vowels go to rounded ones (French
``y`` → ``UW``), taps and trills to ``D`` (no lip rounding, unlike English ``R``), uvular and
velar fricatives to ``HH``/``G``, the glottal stop to ``HH``. Affricates and r-coloured or
vowel + consonant clusters that an engine reports as one phone (``ts``, ``ɔːɹ``, ``əl``) split
into several common phones; :func:`ipa_to_arpabet` returns relative weights for sharing the
time between them.
"""

from __future__ import annotations

import unicodedata
import warnings
from dataclasses import dataclass

__all__ = [
    "INVENTORY",
    "SILENCE",
    "PhoneInfo",
    "features",
    "festival_to_arpabet",
    "festival_to_ipa",
    "ipa_to_arpabet",
    "split_stress",
]

SILENCE = "sil"

_HEIGHTS = ("close", "near-close", "close-mid", "mid", "open-mid", "near-open", "open")


@dataclass(frozen=True)
class PhoneInfo:
    """Articulatory description of one common phone.

    ``kind`` is ``vowel``, ``diphthong``, ``consonant`` or ``silence``. Consonants have a
    ``place`` and ``manner``; vowels a ``height`` and ``backness`` (diphthongs describe their
    onset and name the vowel they glide to in ``glide``). ``rounded`` marks lip rounding or
    protrusion, also on consonants (``W``, and ``SH ZH CH JH`` which English speakers say
    with protruded lips).
    """

    symbol: str
    kind: str
    ipa: str
    place: str | None = None
    manner: str | None = None
    voiced: bool = False
    height: str | None = None
    backness: str | None = None
    rounded: bool = False
    rhotic: bool = False
    glide: str | None = None

    @property
    def is_vowel(self) -> bool:
        return self.kind in ("vowel", "diphthong")

    @property
    def is_consonant(self) -> bool:
        return self.kind == "consonant"

    @property
    def is_silence(self) -> bool:
        return self.kind == "silence"

    @property
    def is_bilabial(self) -> bool:
        return self.place == "bilabial"

    @property
    def is_labiodental(self) -> bool:
        return self.place == "labiodental"

    @property
    def is_dental(self) -> bool:
        return self.place == "dental"

    @property
    def is_alveolar(self) -> bool:
        return self.place == "alveolar"

    @property
    def is_stop(self) -> bool:
        """Oral stops and affricates: a full closure somewhere in the mouth."""
        return self.manner in ("stop", "affricate")

    @property
    def is_sibilant(self) -> bool:
        return self.symbol in ("S", "Z", "SH", "ZH", "CH", "JH")

    @property
    def is_sonorant(self) -> bool:
        return self.is_vowel or self.manner in ("nasal", "approximant", "lateral")

    @property
    def openness(self) -> float | None:
        """Vowel height as jaw opening in [0, 1] (close 0, open 1); ``None`` for non-vowels."""
        if self.height is None:
            return None
        return _HEIGHTS.index(self.height) / (len(_HEIGHTS) - 1)

    @property
    def is_open(self) -> bool:
        return self.height in ("open-mid", "near-open", "open")

    @property
    def is_close(self) -> bool:
        return self.height in ("close", "near-close")


def _c(sym: str, ipa: str, place: str, manner: str, voiced: bool, rounded: bool = False) -> PhoneInfo:
    return PhoneInfo(sym, "consonant", ipa, place=place, manner=manner, voiced=voiced, rounded=rounded)


def _v(
    sym: str,
    ipa: str,
    height: str,
    backness: str,
    rounded: bool,
    rhotic: bool = False,
    glide: str | None = None,
) -> PhoneInfo:
    kind = "diphthong" if glide else "vowel"
    return PhoneInfo(sym, kind, ipa, voiced=True, height=height, backness=backness, rounded=rounded, rhotic=rhotic, glide=glide)  # fmt: skip


#: The common inventory: ARPAbet (CMUdict, no stress digits) plus ``sil``.
INVENTORY: dict[str, PhoneInfo] = {
    p.symbol: p
    for p in (
        PhoneInfo(SILENCE, "silence", ""),
        # vowels
        _v("AA", "ɑ", "open", "back", False),
        _v("AE", "æ", "near-open", "front", False),
        _v("AH", "ʌ", "open-mid", "central", False),
        _v("AO", "ɔ", "open-mid", "back", True),
        _v("EH", "ɛ", "open-mid", "front", False),
        _v("ER", "ɚ", "mid", "central", True, rhotic=True),
        _v("IH", "ɪ", "near-close", "front", False),
        _v("IY", "i", "close", "front", False),
        _v("UH", "ʊ", "near-close", "back", True),
        _v("UW", "u", "close", "back", True),
        _v("AW", "aʊ", "open", "front", False, glide="UW"),
        _v("AY", "aɪ", "open", "front", False, glide="IY"),
        _v("EY", "eɪ", "close-mid", "front", False, glide="IY"),
        _v("OW", "oʊ", "close-mid", "back", True, glide="UW"),
        _v("OY", "ɔɪ", "open-mid", "back", True, glide="IY"),
        # consonants
        _c("P", "p", "bilabial", "stop", False),
        _c("B", "b", "bilabial", "stop", True),
        _c("M", "m", "bilabial", "nasal", True),
        _c("F", "f", "labiodental", "fricative", False),
        _c("V", "v", "labiodental", "fricative", True),
        _c("TH", "θ", "dental", "fricative", False),
        _c("DH", "ð", "dental", "fricative", True),
        _c("T", "t", "alveolar", "stop", False),
        _c("D", "d", "alveolar", "stop", True),
        _c("N", "n", "alveolar", "nasal", True),
        _c("S", "s", "alveolar", "fricative", False),
        _c("Z", "z", "alveolar", "fricative", True),
        _c("L", "l", "alveolar", "lateral", True),
        _c("R", "ɹ", "postalveolar", "approximant", True),
        _c("SH", "ʃ", "postalveolar", "fricative", False, rounded=True),
        _c("ZH", "ʒ", "postalveolar", "fricative", True, rounded=True),
        _c("CH", "tʃ", "postalveolar", "affricate", False, rounded=True),
        _c("JH", "dʒ", "postalveolar", "affricate", True, rounded=True),
        _c("Y", "j", "palatal", "approximant", True),
        _c("K", "k", "velar", "stop", False),
        _c("G", "ɡ", "velar", "stop", True),
        _c("NG", "ŋ", "velar", "nasal", True),
        _c("W", "w", "labial-velar", "approximant", True, rounded=True),
        _c("HH", "h", "glottal", "fricative", False),
    )
}


def features(symbol: str) -> PhoneInfo:
    """The :class:`PhoneInfo` of a common phone (``ValueError`` for anything else)."""
    try:
        return INVENTORY[symbol]
    except KeyError:
        raise ValueError(f"unknown phone {symbol!r}; the common inventory is {sorted(INVENTORY)}") from None


# --- festival / flite (CMU radio phoneset) ---------------------------------------------------

_FESTIVAL: dict[str, tuple[str, ...]] = {
    **{p.lower(): (p,) for p in INVENTORY if p != SILENCE},
    "ax": ("AH",),
    "axr": ("ER",),
    "ix": ("IH",),
    "ux": ("UW",),
    "dx": ("D",),
    "nx": ("N",),
    "el": ("AH", "L"),
    "em": ("AH", "M"),
    "en": ("AH", "N"),
    "q": ("HH",),
    "pau": (SILENCE,),
    "h#": (SILENCE,),
    "brth": (SILENCE,),
    "sil": (SILENCE,),
    "ssil": (SILENCE,),
}


_FESTIVAL_IPA = {
    "aa": "ɑ", "ae": "æ", "ah": "ʌ", "ao": "ɔ", "aw": "aʊ", "ax": "ə", "axr": "ɚ", "ay": "aɪ", "b": "b",
    "ch": "tʃ", "d": "d", "dh": "ð", "dx": "ɾ", "eh": "ɛ", "el": "l̩", "em": "m̩", "en": "n̩", "er": "ɝ",
    "ey": "eɪ", "f": "f", "g": "ɡ", "hh": "h", "ih": "ɪ", "ix": "ɨ", "iy": "i", "jh": "dʒ", "k": "k",
    "l": "l", "m": "m", "n": "n", "ng": "ŋ", "nx": "ɾ̃", "ow": "oʊ", "oy": "ɔɪ", "p": "p", "q": "ʔ",
    "r": "ɹ", "s": "s", "sh": "ʃ", "t": "t", "th": "θ", "uh": "ʊ", "uw": "u", "ux": "ʉ", "v": "v",
    "w": "w", "y": "j", "z": "z", "zh": "ʒ",
}  # fmt: skip


def festival_to_ipa(name: str) -> str:
    """IPA for a festival/flite phone name ("" for pauses)."""
    festival_to_arpabet(name)  # validates
    return _FESTIVAL_IPA.get(name.lower().rstrip("012"), "")


def festival_to_arpabet(name: str) -> tuple[str, ...]:
    """Common phones for a festival/flite phone name (radio phoneset, stress digits allowed)."""
    key = name.lower().rstrip("012")
    try:
        return _FESTIVAL[key]
    except KeyError:
        raise ValueError(f"unknown festival phone {name!r}; known: {sorted(_FESTIVAL)}") from None


# --- IPA (espeak-ng) ---------------------------------------------------------------------------

# Multi-letter units first; the tokenizer matches the longest unit at each position.
_IPA_UNITS: dict[str, tuple[str, ...]] = {
    # diphthongs
    "aɪ": ("AY",), "aʊ": ("AW",), "eɪ": ("EY",), "oʊ": ("OW",), "əʊ": ("OW",), "ɔɪ": ("OY",),
    "ɔʏ": ("OY",), "ɔø": ("OY",), "ɑɪ": ("AY",), "ʌɪ": ("AY",), "ɒɪ": ("OY",), "ɑʊ": ("AW",),
    "ɐʊ": ("AW",), "ɐɪ": ("AY",), "ɛɪ": ("EY",), "ei": ("EY",), "ai": ("AY",), "au": ("AW",),
    "oi": ("OY",), "ou": ("OW",), "aɛ": ("AY",), "œy": ("OY",), "œʏ": ("OY",),
    # affricates (one phone in the engine, two on the face)
    "tʃ": ("CH",), "dʒ": ("JH",), "tɕ": ("CH",), "dʑ": ("JH",), "ʈʂ": ("CH",), "ɖʐ": ("JH",),
    "ts": ("T", "S"), "dz": ("D", "Z"), "pf": ("P", "F"), "tθ": ("T", "TH"), "dð": ("D", "DH"),
    # vowels
    "i": ("IY",), "y": ("UW",), "ɨ": ("IH",), "ʉ": ("UW",), "ɯ": ("IH",), "u": ("UW",),
    "ɪ": ("IH",), "ʏ": ("UH",), "ʊ": ("UH",), "ᵻ": ("IH",), "ᵿ": ("UH",),
    "e": ("EH",), "ø": ("UH",), "ɘ": ("AH",), "ɵ": ("UH",), "ɤ": ("AH",), "o": ("OW",),
    "ə": ("AH",), "ɛ": ("EH",), "œ": ("AO",), "ɜ": ("ER",), "ɞ": ("AO",), "ʌ": ("AH",), "ɔ": ("AO",),
    "æ": ("AE",), "ɐ": ("AH",), "a": ("AA",), "ɶ": ("AA",), "ɑ": ("AA",), "ɒ": ("AO",),
    "ɚ": ("ER",), "ɝ": ("ER",),
    # consonants
    "p": ("P",), "b": ("B",), "m": ("M",), "ɸ": ("F",), "β": ("B",), "ʙ": ("B",),
    "f": ("F",), "v": ("V",), "ʋ": ("V",), "ɱ": ("M",),
    "θ": ("TH",), "ð": ("DH",),
    "t": ("T",), "d": ("D",), "n": ("N",), "s": ("S",), "z": ("Z",), "l": ("L",), "ɫ": ("L",),
    "ɾ": ("D",), "r": ("D",), "ɽ": ("D",), "ɬ": ("L",), "ɮ": ("L",),
    "ɹ": ("R",), "ɻ": ("R",),
    "ʃ": ("SH",), "ʒ": ("ZH",), "ɕ": ("SH",), "ʑ": ("ZH",), "ʂ": ("SH",), "ʐ": ("ZH",),
    "ʈ": ("T",), "ɖ": ("D",), "ɳ": ("N",), "ɭ": ("L",),
    "c": ("K",), "ɟ": ("G",), "ɲ": ("N",), "ç": ("Y",), "ʝ": ("Y",), "j": ("Y",), "ʎ": ("L",),
    "k": ("K",), "ɡ": ("G",), "g": ("G",), "ŋ": ("NG",), "x": ("HH",), "ɣ": ("G",), "ɰ": ("W",), "ʟ": ("L",),
    "q": ("K",), "ɢ": ("G",), "ɴ": ("NG",), "χ": ("HH",), "ʁ": ("G",), "ʀ": ("G",),
    "ħ": ("HH",), "ʕ": ("HH",), "h": ("HH",), "ɦ": ("HH",), "ʔ": ("HH",),
    "w": ("W",), "ʍ": ("W",), "ɥ": ("W",),
}  # fmt: skip
_MAX_UNIT = max(len(k) for k in _IPA_UNITS)

_STRESS = {"ˈ": 1, "ˌ": 2, "'": 1, ",": 2}
_R_HOOK = "\u02de"  # ˞ rhotic hook: ə˞ is ɚ

_warned: set[str] = set()


def split_stress(ipa: str) -> tuple[str, int]:
    """Strip stress marks: ``("ˈaɪ")`` → ``("aɪ", 1)``; 1 primary, 2 secondary, 0 none."""
    stress = 0
    for mark, level in _STRESS.items():
        if mark in ipa:
            stress = stress or level
            ipa = ipa.replace(mark, "")
    return ipa, stress


def _base_letters(ipa: str) -> str:
    """Keep the letters that decide the phone; drop what does not change it.

    Dropped: combining diacritics (nasalisation, syllabicity, ties, voicing marks), modifier
    letters (length, aspiration, secondary articulations) and anything that is not a letter
    (tone letters, digits, espeak's ``-`` and ``#``). A precomposed letter that is not an IPA
    unit itself (``ã``) keeps its base letter.
    """
    out = []
    for ch in unicodedata.normalize("NFC", ipa):
        if ch not in _IPA_UNITS:
            ch = unicodedata.normalize("NFD", ch)[0]
        if (
            unicodedata.combining(ch)
            or not unicodedata.category(ch).startswith("L")
            or unicodedata.category(ch) == "Lm"
        ):
            continue
        out.append(ch)
    return "".join(out)


def _is_vowel(sym: str) -> bool:
    return INVENTORY[sym].is_vowel


def ipa_to_arpabet(ipa: str) -> list[tuple[str, float]]:
    """Common phones for one engine phone written in IPA, each with a relative duration weight.

    An empty string (espeak's name for pauses) is silence. Stress marks, length marks and
    diacritics are ignored; see :func:`split_stress` to read the stress. Vowels weigh 1.5 and
    consonants 1, so ``ɔːɹ`` splits 60/40 into ``AO R``. A character outside IPA is skipped with
    a warning (once per character).
    """
    ipa, _ = split_stress(ipa)
    chars = _base_letters(ipa.replace("ə" + _R_HOOK, "ɚ"))
    if not chars:
        return [(SILENCE, 1.0)]
    out: list[str] = []
    i = 0
    while i < len(chars):
        for n in range(min(_MAX_UNIT, len(chars) - i), 0, -1):
            unit = _IPA_UNITS.get(chars[i : i + n])
            if unit is not None:
                out.extend(unit)
                i += n
                break
        else:
            if chars[i] not in _warned:
                _warned.add(chars[i])
                warnings.warn(
                    f"no common phone for IPA {chars[i]!r} (U+{ord(chars[i]):04X}); skipped", stacklevel=2
                )
            i += 1
    if not out:
        return [(SILENCE, 1.0)]
    return [(s, 1.5 if _is_vowel(s) else 1.0) for s in out]
