"""Phones to ARKit blendshape tracks with coarticulation.

Each phone has an articulatory *target* (a sparse dict of ARKit channels) and, per channel
group, a *dominance*: how strongly it holds that group against its neighbours. The track is
the dominance-weighted average of targets (Cohen & Massaro 1993), sampled at frame centres:

    D_i,g(t) = a_i,g * exp(-theta_g,side * |t - c_i| ** c)       (side: before/after the centre)
    y_k(t)   = sum_i D_i,g(k)(t) * T_i,k / sum_i D_i,g(k)(t)

Anticipation (``theta`` before a phone's centre) is slower than carry-over, so lip rounding
spreads ahead into preceding consonants ("s" in "soon" is rounded) and a jaw opening lingers a
little after a vowel. Jaw and lips are separate groups: a /p/ after /a/ closes the lips
(``mouthClose`` rises with ``jawOpen``) while the jaw stays part-open; labiodentals tuck the
lower lip; dentals show the tongue. Bilabials dominate the closure group so strongly that lips
meet on every /p b m/, which the corpus tests assert. Silence relaxes to the rest pose.

Phone symbols are ARPAbet (stress digits ignored); :func:`avzoo.synth.phonemes` maps each
engine's own symbols into it.

Mapping table (targets; values are the channel at full articulation, before style gains):

=========  ==================================================================================
phones     target
=========  ==================================================================================
AA         jawOpen .65, mouthLowerDown .25, mouthUpperUp .10
AE         jawOpen .55, mouthStretch .30, mouthLowerDown .25, mouthUpperUp .15
AH AX      jawOpen .35, mouthLowerDown .15
AO         jawOpen .52, mouthFunnel .35, mouthPucker .10
AW         jawOpen .52, mouthFunnel .25, mouthPucker .20 (diphthong: see :data:`DIPHTHONGS`)
AY         jawOpen .56 -> IY
EH         jawOpen .30, mouthStretch .20, mouthLowerDown .15
ER         jawOpen .18, mouthFunnel .35, mouthPucker .15
EY         jawOpen .28 -> IY
IH         jawOpen .16, mouthStretch .25, mouthSmile .10
IY         jawOpen .10, mouthStretch .40, mouthSmile .20, mouthUpperUp .10
OW         jawOpen .32, mouthFunnel .45, mouthPucker .30
OY         OW -> IY
UH         jawOpen .18, mouthFunnel .35, mouthPucker .35
UW         jawOpen .10, mouthPucker .75, mouthFunnel .30
P B M      jawOpen .06, mouthClose .06 (= jawOpen: lips meet), mouthPress .35, mouthRoll .20
F V        jawOpen .08, mouthRollLower .55, mouthUpperUp .25, mouthLowerDown 0, mouthShrugLower .20
TH DH      jawOpen .14, tongueOut .45, mouthUpperUp .10
S Z        jawOpen .05, mouthStretch .22, mouthUpperUp .18, mouthLowerDown .18
SH ZH CH JH  jawOpen .10, mouthFunnel .50, mouthPucker .35, mouthUpperUp .15
T D N      jawOpen .12, mouthStretch .10
L          jawOpen .20, tongueOut .08
R          jawOpen .12, mouthFunnel .30, mouthPucker .25
W          jawOpen .06, mouthPucker .80, mouthFunnel .30
Y          jawOpen .10, mouthStretch .30
K G NG     jawOpen .20
HH         jawOpen .25 (low dominance: takes the next vowel's shape)
sil        rest (all zero)
=========  ==================================================================================

Label versions. The table above is ``"v1"``, the default: the bundled av-lipsync model and every
recorded evaluation number were made with it, so it stays bit-identical. ``"v2-real"``
(:data:`TARGETS_V2_REAL`, opt-in through ``labels=``) moves the labels toward real ARKit captures
as ``docs/label-realism.md`` section (d) measured: the lower lip opens with the jaw on vowels,
the upper lip, press, roll, pucker and stretch are lighter, tongueOut shows only on /th dh/, and
/t d n s z l/ and velars partly seal the lips (:data:`SEAL_V2_REAL`). Vowel jawOpen is as in v1.
:data:`VISEME_LABELS` holds each version's targets, seal targets and dominance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from avzoo import arkit
from avzoo.arkit import BLENDSHAPE_FPS

FPS = BLENDSHAPE_FPS
#: Label versions: "v1" is today's labels (the default; the bundled model was trained and evaluated on them),
#: "v2-real" the labels moved toward real ARKit captures (``docs/label-realism.md``, section (d)).
LABELS_V1 = "v1"
LABELS_V2_REAL = "v2-real"
LABEL_VERSIONS = (LABELS_V1, LABELS_V2_REAL)
#: Speaking rate (words per minute) at which an :class:`ArticulationStyle`'s gains apply unchanged.
REFERENCE_RATE_WPM = 175.0

# Channel groups with their own dominance: the jaw, lip aperture (how far apart and how the
# lips are held), lip shape (rounding/spreading) and the tongue. ``mouthClose`` is not blended
# directly: a separate lip-seal signal in [0, 1] is, and mouthClose = seal * jawOpen, because
# in ARKit mouthClose closes the lips *against* the current jaw opening.
_APERTURE = {
    "mouthPressLeft", "mouthPressRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower",
    "mouthShrugUpper", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft", "mouthUpperUpRight",
}  # fmt: skip
GROUPS = ("jaw", "aperture", "shape", "tongue", "seal")


def _group(channel: str) -> str:
    if channel == "jawOpen":
        return "jaw"
    if channel == "tongueOut":
        return "tongue"
    return "aperture" if channel in _APERTURE else "shape"


def _sym(d: dict[str, float]) -> dict[str, float]:
    """Expand ``mouthStretch`` -> Left/Right etc. for bilateral shapes."""
    out = {}
    for k, v in d.items():
        if k in ("mouthStretch", "mouthSmile", "mouthPress", "mouthLowerDown", "mouthUpperUp", "mouthRoll"):
            if k == "mouthRoll":
                out["mouthRollLower"] = out["mouthRollUpper"] = v
            else:
                out[k + "Left"] = out[k + "Right"] = v
        else:
            out[k] = v
    return out


_BILABIAL = _sym({"jawOpen": 0.06, "mouthPress": 0.35, "mouthRoll": 0.2})
_SIBILANT = _sym({"jawOpen": 0.05, "mouthStretch": 0.22, "mouthUpperUp": 0.18, "mouthLowerDown": 0.18})
_POSTALV = _sym({"jawOpen": 0.10, "mouthFunnel": 0.5, "mouthPucker": 0.35, "mouthUpperUp": 0.15})
_LABIODENT = _sym({"jawOpen": 0.08, "mouthRollLower": 0.55, "mouthUpperUp": 0.25, "mouthShrugLower": 0.2})
_DENTAL = _sym({"jawOpen": 0.14, "tongueOut": 0.45, "mouthUpperUp": 0.10})
_ALVEOLAR = _sym({"jawOpen": 0.12, "mouthStretch": 0.10})
_VELAR = {"jawOpen": 0.20}

TARGETS: dict[str, dict[str, float]] = {
    "AA": _sym({"jawOpen": 0.65, "mouthLowerDown": 0.25, "mouthUpperUp": 0.10}),
    "AE": _sym({"jawOpen": 0.55, "mouthStretch": 0.30, "mouthLowerDown": 0.25, "mouthUpperUp": 0.15}),
    "AH": _sym({"jawOpen": 0.35, "mouthLowerDown": 0.15}),
    "AO": {"jawOpen": 0.52, "mouthFunnel": 0.35, "mouthPucker": 0.10},
    "AW": {"jawOpen": 0.52, "mouthFunnel": 0.25, "mouthPucker": 0.20},
    "AY": _sym({"jawOpen": 0.56, "mouthLowerDown": 0.2}),
    "EH": _sym({"jawOpen": 0.30, "mouthStretch": 0.20, "mouthLowerDown": 0.15}),
    "ER": {"jawOpen": 0.18, "mouthFunnel": 0.35, "mouthPucker": 0.15},
    "EY": _sym({"jawOpen": 0.28, "mouthStretch": 0.25}),
    "IH": _sym({"jawOpen": 0.16, "mouthStretch": 0.25, "mouthSmile": 0.10}),
    "IY": _sym({"jawOpen": 0.10, "mouthStretch": 0.40, "mouthSmile": 0.20, "mouthUpperUp": 0.10}),
    "OW": {"jawOpen": 0.32, "mouthFunnel": 0.45, "mouthPucker": 0.30},
    "OY": {"jawOpen": 0.35, "mouthFunnel": 0.40, "mouthPucker": 0.25},
    "UH": {"jawOpen": 0.18, "mouthFunnel": 0.35, "mouthPucker": 0.35},
    "UW": {"jawOpen": 0.10, "mouthPucker": 0.75, "mouthFunnel": 0.30},
    "P": _BILABIAL, "B": _BILABIAL, "M": _BILABIAL,
    "F": _LABIODENT, "V": _LABIODENT,
    "TH": _DENTAL, "DH": _DENTAL,
    "S": _SIBILANT, "Z": _SIBILANT,
    "SH": _POSTALV, "ZH": _POSTALV, "CH": _POSTALV, "JH": _POSTALV,
    "T": _ALVEOLAR, "D": _ALVEOLAR, "N": _ALVEOLAR,
    "L": {"jawOpen": 0.20, "tongueOut": 0.08},
    "R": {"jawOpen": 0.12, "mouthFunnel": 0.30, "mouthPucker": 0.25},
    "W": {"jawOpen": 0.06, "mouthPucker": 0.80, "mouthFunnel": 0.30},
    "Y": _sym({"jawOpen": 0.10, "mouthStretch": 0.30}),
    "K": _VELAR, "G": _VELAR, "NG": _VELAR,
    "HH": {"jawOpen": 0.25},
    "sil": {},
}  # fmt: skip

# "v2-real": section (d) of docs/label-realism.md, item by item; "(d)n" below names the item, whose source
# is the measured table it quotes (t2a = the Mandarin speech takes, ROM = range-of-motion takes, idles = the
# calibrated emotion idles). jawOpen is v1's everywhere except the partially sealing consonants ((d)3),
# pending an English iPhone speech take ((d)7).
# (d)5: press .35 -> .08 (press p95 .37 vs t2a .05, idles .04, ROM .23); roll .20 -> .08 (p95 .23/.14 vs t2a .08/.07)
_BILABIAL_V2 = _sym({"jawOpen": 0.06, "mouthPress": 0.08, "mouthRoll": 0.08})
# (d)2: upperUp .18 -> .08 (upperUp p95 .31 vs t2a .10)
_SIBILANT_V2 = _sym({"jawOpen": 0.05, "mouthStretch": 0.22, "mouthUpperUp": 0.08, "mouthLowerDown": 0.18})
# (d)6: pucker .35 -> .25 (pucker p95 .50 vs t2a .30); (d)2: upperUp .15 -> .08
_POSTALV_V2 = _sym({"jawOpen": 0.10, "mouthFunnel": 0.5, "mouthPucker": 0.25, "mouthUpperUp": 0.08})
# (d)5: rollLower .55 -> .25 (.55 is past the ROM's p99 .36); (d)2: upperUp .25 -> .10 (t2a p95 .10)
_LABIODENT_V2 = _sym({"jawOpen": 0.08, "mouthRollLower": 0.25, "mouthUpperUp": 0.10, "mouthShrugLower": 0.2})
# (d)4: tongueOut .45 -> .15 (speech p95 .28 vs 0.00 in every real take)
_DENTAL_V2 = _sym({"jawOpen": 0.14, "tongueOut": 0.15, "mouthUpperUp": 0.10})
# (d)3: jawOpen .12 -> .06-.10 (and .20 -> .06-.10 for velars), so a partial seal leaves the lips nearly shut
_ALVEOLAR_V2 = _sym({"jawOpen": 0.08, "mouthStretch": 0.10})
_VELAR_V2 = {"jawOpen": 0.10}

TARGETS_V2_REAL: dict[str, dict[str, float]] = {
    # (d)1: mouthLowerDown ~.7-.9 x jawOpen on every vowel (v1: .15-.25 on some, ~.45 x); speech lip opening
    # / jawOpen .31 vs t2a .91, ROM .93; mouthLowerDown p50/p95 .04/.16 vs t2a .32/.58. The page names the
    # open vowels; the close ones get .8 x jawOpen too (measured: the ratio .39 -> .47).
    "AA": _sym({"jawOpen": 0.65, "mouthLowerDown": 0.50, "mouthUpperUp": 0.10}),  # (d)1: LD .25 -> .50
    "AE": _sym({"jawOpen": 0.55, "mouthStretch": 0.30, "mouthLowerDown": 0.45, "mouthUpperUp": 0.15}),  # (d)1: LD .25 -> .45
    "AH": _sym({"jawOpen": 0.35, "mouthLowerDown": 0.30}),  # (d)1: LD .15 -> .30
    "AO": _sym({"jawOpen": 0.52, "mouthFunnel": 0.35, "mouthPucker": 0.10, "mouthLowerDown": 0.40}),  # (d)1: LD added
    "AW": _sym({"jawOpen": 0.52, "mouthFunnel": 0.25, "mouthPucker": 0.20, "mouthLowerDown": 0.40}),  # (d)1: LD added
    "AY": _sym({"jawOpen": 0.56, "mouthLowerDown": 0.45}),  # (d)1: LD .20 -> .45
    "EH": _sym({"jawOpen": 0.30, "mouthStretch": 0.20, "mouthLowerDown": 0.25}),  # (d)1: LD .15 -> .25
    "ER": _sym({"jawOpen": 0.18, "mouthFunnel": 0.35, "mouthPucker": 0.15, "mouthLowerDown": 0.14}),  # (d)1: LD .8 x jaw
    "EY": _sym({"jawOpen": 0.28, "mouthStretch": 0.25, "mouthLowerDown": 0.22}),  # (d)1: LD .8 x jaw
    "IH": _sym({"jawOpen": 0.16, "mouthStretch": 0.25, "mouthSmile": 0.10, "mouthLowerDown": 0.13}),  # (d)1: LD .8 x jaw
    "IY": _sym({"jawOpen": 0.10, "mouthStretch": 0.28,  # (d)6: .40 -> .28; stretch p95 .39 vs t2a .28
                "mouthSmile": 0.20, "mouthUpperUp": 0.10, "mouthLowerDown": 0.08}),  # (d)1: LD .8 x jaw
    "OW": _sym({"jawOpen": 0.32, "mouthFunnel": 0.45, "mouthPucker": 0.25,  # (d)6: pucker .30 -> .25
                "mouthLowerDown": 0.25}),  # (d)1: LD added
    "OY": _sym({"jawOpen": 0.35, "mouthFunnel": 0.40, "mouthPucker": 0.25, "mouthLowerDown": 0.28}),  # (d)1: LD .8 x jaw
    "UH": _sym({"jawOpen": 0.18, "mouthFunnel": 0.35, "mouthPucker": 0.25,  # (d)6: pucker .35 -> .25
                "mouthLowerDown": 0.14}),  # (d)1: LD .8 x jaw
    "UW": _sym({"jawOpen": 0.10, "mouthPucker": 0.45,  # (d)6: pucker .75 -> .45 (ROM p99 .60)
                "mouthFunnel": 0.30, "mouthLowerDown": 0.08}),  # (d)1: LD .8 x jaw
    "P": _BILABIAL_V2, "B": _BILABIAL_V2, "M": _BILABIAL_V2,
    "F": _LABIODENT_V2, "V": _LABIODENT_V2,
    "TH": _DENTAL_V2, "DH": _DENTAL_V2,
    "S": _SIBILANT_V2, "Z": _SIBILANT_V2,
    "SH": _POSTALV_V2, "ZH": _POSTALV_V2, "CH": _POSTALV_V2, "JH": _POSTALV_V2,
    "T": _ALVEOLAR_V2, "D": _ALVEOLAR_V2, "N": _ALVEOLAR_V2,
    "L": {"jawOpen": 0.10},  # (d)3: jaw .20 -> .10; (d)4: tongueOut .08 -> 0 (real takes: p95 0.00)
    "R": {"jawOpen": 0.12, "mouthFunnel": 0.30, "mouthPucker": 0.25},
    "W": {"jawOpen": 0.06, "mouthPucker": 0.45, "mouthFunnel": 0.30},  # (d)6: pucker .80 -> .45
    "Y": _sym({"jawOpen": 0.10, "mouthStretch": 0.30}),
    "K": _VELAR_V2, "G": _VELAR_V2, "NG": _VELAR_V2,
    "HH": {"jawOpen": 0.25},
    "sil": {},
}  # fmt: skip

#: Diphthongs glide to a second target over their second half.
DIPHTHONGS: dict[str, str] = {"AY": "IY", "EY": "IY", "OY": "IY", "AW": "UW", "OW": "UW"}

VOWELS = frozenset({"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"})
BILABIALS = frozenset({"P", "B", "M"})
LABIODENTALS = frozenset({"F", "V"})
DENTALS = frozenset({"TH", "DH"})
ROUNDED = frozenset({"UW", "UH", "OW", "AO", "W", "R", "SH", "ZH", "CH", "JH", "ER", "OY", "AW"})
OPEN_VOWELS = frozenset({"AA", "AE", "AO", "AY", "AW"})
#: Tongue-tip and tongue-back consonants: /t d n l/ and velars (in v1 "light" like /h j/).
LINGUAL = frozenset({"T", "D", "N", "L", "K", "G", "NG"})

# Dominance per (phone class, group): magnitude a, and a width factor on the time constants
# (below 1 = sharper). Bilabials, labiodentals and dentals hold their own group firmly but only
# over their own span, so they do not smear into the neighbouring vowels. "lingual" is "light" in v1.
_DOMINANCE: dict[str, dict[str, tuple[float, float]]] = {
    "vowel": {"jaw": (1.0, 1.0), "aperture": (1.0, 1.0), "shape": (1.0, 1.0), "tongue": (0.6, 1.0), "seal": (1.0, 1.0)},
    "bilabial": {"jaw": (1.5, 0.8), "aperture": (6.0, 0.4), "shape": (0.5, 1.0), "tongue": (0.3, 1.0), "seal": (6.0, 0.35)},
    "labiodental": {"jaw": (1.5, 0.8), "aperture": (6.0, 0.5), "shape": (0.8, 1.0), "tongue": (0.3, 1.0), "seal": (1.0, 1.0)},
    "dental": {"jaw": (0.8, 1.0), "aperture": (1.0, 1.0), "shape": (0.3, 1.0), "tongue": (8.0, 0.5), "seal": (1.0, 1.0)},
    "rounded_cons": {"jaw": (0.6, 1.0), "aperture": (0.8, 1.0), "shape": (3.0, 1.0), "tongue": (0.3, 1.0), "seal": (1.0, 1.0)},
    "sibilant": {"jaw": (2.0, 0.8), "aperture": (1.2, 1.0), "shape": (1.2, 1.0), "tongue": (0.3, 1.0), "seal": (1.0, 1.0)},
    "light": {"jaw": (0.5, 1.0), "aperture": (0.3, 1.0), "shape": (0.15, 1.0), "tongue": (0.2, 1.0), "seal": (1.0, 1.0)},
    "lingual": {"jaw": (0.5, 1.0), "aperture": (0.3, 1.0), "shape": (0.15, 1.0), "tongue": (0.2, 1.0), "seal": (1.0, 1.0)},
    "sil": {"jaw": (0.6, 1.0), "aperture": (0.6, 1.0), "shape": (0.6, 1.0), "tongue": (0.6, 1.0), "seal": (0.6, 1.0)},
}  # fmt: skip


def _phone_class(p: str) -> str:
    if p in VOWELS:
        return "vowel"
    if p in BILABIALS:
        return "bilabial"
    if p in LABIODENTALS:
        return "labiodental"
    if p in DENTALS:
        return "dental"
    if p in ("W", "R", "SH", "ZH", "CH", "JH"):
        return "rounded_cons"
    if p in ("S", "Z"):
        return "sibilant"
    if p == "sil":
        return "sil"
    return "lingual" if p in LINGUAL else "light"


# "v2-real": the partly sealing consonants hold their seal over their own span, as firmly as bilabials hold
# theirs ((d)3; with v1's seal row (1.0, 1.0) the neighbouring vowels' zero seal wins: 15% of speech frames
# nearly shut instead of 26% at seal .75, measured on corpus-v2's test phones). Their jaw dominance stays v1's.
_SEAL_HOLD = (6.0, 0.5)
_DOMINANCE_V2_REAL = {
    **_DOMINANCE,
    "sibilant": {**_DOMINANCE["sibilant"], "seal": _SEAL_HOLD},
    "lingual": {**_DOMINANCE["lingual"], "seal": _SEAL_HOLD},
}

#: Lip-seal target per phone, blended like a channel group; mouthClose = seal * jawOpen (absent phones: 0).
SEAL_V1 = dict.fromkeys(BILABIALS, 1.0)
SEAL_V2_REAL = {
    **SEAL_V1,
    # (d)3: a partial seal on the low-jaw consonants /t d n s z l k g ng/: lips nearly shut (gap < .05) in 6%
    # of v1 speech frames vs 28% of t2a's (25-37% per take); mouthClose p50 .00 vs t2a .06. The page's
    # seal ~.5 assumed these consonants reach their own low jaw target, but their jaw dominance is low (the
    # vowels' jaw carries through them): .5 gave 10-13% nearly shut, .75 gives 26% (corpus-v2 test phones).
    **dict.fromkeys(LINGUAL | {"S", "Z"}, 0.75),
}


@dataclass(frozen=True)
class VisemeLabels:
    """One label version of the articulation: per-phone targets, lip-seal targets and dominance."""

    targets: dict[str, dict[str, float]]
    seal: dict[str, float]
    dominance: dict[str, dict[str, tuple[float, float]]]


#: The articulation of each label version (:data:`LABEL_VERSIONS`).
VISEME_LABELS: dict[str, VisemeLabels] = {
    LABELS_V1: VisemeLabels(TARGETS, SEAL_V1, _DOMINANCE),
    LABELS_V2_REAL: VisemeLabels(TARGETS_V2_REAL, SEAL_V2_REAL, _DOMINANCE_V2_REAL),
}


def check_labels(labels: str) -> str:
    """``labels`` if it names a label version, else a ValueError listing them."""
    if labels not in LABEL_VERSIONS:
        raise ValueError(f"unknown label version {labels!r}; expected one of {', '.join(LABEL_VERSIONS)}")
    return labels


@dataclass
class ArticulationStyle:
    """A speaker's way of articulating: gains on the jaw and lips, coarticulation spread, bias.

    ``hyper`` > 1 articulates more precisely (narrower dominance, less coarticulation);
    ``asymmetry`` moves the right side relative to the left (real mouths are not symmetric).
    """

    jaw_gain: float = 1.0
    lip_gain: float = 1.0
    round_gain: float = 1.0
    stretch_gain: float = 1.0
    hyper: float = 1.0
    asymmetry: float = 0.0
    anticipation_s: float = 0.09
    carryover_s: float = 0.06

    @classmethod
    def random(cls, rng: np.random.Generator) -> ArticulationStyle:
        """A speaker's idiosyncratic habits: narrow spreads (gains within ±8 %) around the default.

        Narrow on purpose. Habits that leave no trace in the audio are label noise to any model that
        animates a face from speech: with ±25 % gains, an oracle that knew every phone's exact timing
        but not the speaker still scored a lipsync MAE of 0.0154 on the held-out corpus
        (``benchmarks/lipsync_label_ceiling.py``). The large, audible source of variation is the
        speaking rate, applied per utterance by :meth:`at_rate`.
        """
        return cls(
            jaw_gain=float(rng.uniform(0.92, 1.08)),
            lip_gain=float(rng.uniform(0.92, 1.08)),
            round_gain=float(rng.uniform(0.9, 1.1)),
            stretch_gain=float(rng.uniform(0.9, 1.1)),
            hyper=float(rng.uniform(0.9, 1.1)),
            asymmetry=float(rng.uniform(-0.05, 0.05)),
            anticipation_s=float(rng.uniform(0.08, 0.1)),
            carryover_s=float(rng.uniform(0.055, 0.065)),
        )

    def at_rate(self, rate_wpm: float) -> ArticulationStyle:
        """This style at a speaking rate: fast speech undershoots its targets, slow speech overshoots.

        Articulatory undershoot (Lindblom 1963): the jaw and lip gains scale by
        ``sqrt(REFERENCE_RATE_WPM / rate)``, clipped to [0.85, 1.15]. The rate is audible, so a model
        can infer this part of a speaker's articulation from the speech itself.
        """
        if not np.isfinite(rate_wpm) or rate_wpm <= 0:
            raise ValueError(f"rate_wpm must be a positive number of words per minute, got {rate_wpm}")
        k = float(np.clip(np.sqrt(REFERENCE_RATE_WPM / rate_wpm), 0.85, 1.15))
        return replace(self, jaw_gain=self.jaw_gain * k, lip_gain=self.lip_gain * k)

    def gain(self, channel: str) -> float:
        if channel == "jawOpen":
            return self.jaw_gain
        if "Funnel" in channel or "Pucker" in channel:
            return self.round_gain * self.lip_gain
        g = self.lip_gain * (self.stretch_gain if "Stretch" in channel or "Smile" in channel else 1.0)
        if channel.endswith("Right"):
            g *= 1 + self.asymmetry
        elif channel.endswith("Left"):
            g *= 1 - self.asymmetry
        return g


@dataclass(frozen=True)
class Phone:
    symbol: str
    start: float
    end: float
    stress: float = 1.0  # emphasis gain on the jaw (1 = normal)


@dataclass
class _Segment:
    symbol: str
    centre: float
    half: float
    target: np.ndarray = field(repr=False)
    stress: float = 1.0


def _segments(
    phones: Sequence[Phone], style: ArticulationStyle, targets: dict[str, dict[str, float]]
) -> list[_Segment]:
    gains = np.array([style.gain(n) for n in arkit.ARKIT_NAMES], np.float32)
    segs = []
    for p in phones:
        if p.symbol not in targets:
            raise ValueError(f"unknown phone {p.symbol!r}; expected ARPAbet symbols or 'sil'")
        if p.end < p.start:
            raise ValueError(f"phone {p.symbol} ends before it starts ({p.start:.3f} > {p.end:.3f})")
        dur = max(p.end - p.start, 1e-3)
        glide = DIPHTHONGS.get(p.symbol)
        parts = [(p.symbol, p.start, p.end)]
        if glide:  # first target over 60% of the vowel, the glide target over the rest
            mid = p.start + 0.6 * dur
            parts = [(p.symbol, p.start, mid), (glide, mid, p.end)]
        for sym, a, b in parts:
            t = np.zeros(arkit.NUM_BLENDSHAPES, np.float32)
            for k, v in targets[sym].items():
                t[arkit.INDEX[k]] = v
            t *= gains
            j = arkit.INDEX["jawOpen"]
            t[j] *= p.stress
            segs.append(
                _Segment(
                    sym if sym != glide or not glide else p.symbol, (a + b) / 2, (b - a) / 2, t, p.stress
                )
            )
    return segs


def phones_to_blendshapes(
    phones: Sequence[Phone],
    duration: float | None = None,
    fps: float = FPS,
    style: ArticulationStyle | None = None,
    labels: str = LABELS_V1,
) -> np.ndarray:
    """Articulation track (T, 52) for a phone sequence, with T = ceil(duration * fps).

    Gaps between phones and the time before the first and after the last are silence.
    Only the speech channels (:data:`avzoo.arkit.SPEECH`) are non-zero. ``labels`` picks the
    label version (:data:`LABEL_VERSIONS`; a ValueError names them for any other).
    """
    table = VISEME_LABELS[check_labels(labels)]
    style = style or ArticulationStyle()
    phones = sorted(phones, key=lambda p: p.start)
    if duration is None:
        duration = phones[-1].end if phones else 0.0
    n_frames = int(np.ceil(duration * fps - 1e-9))
    out = np.zeros((n_frames, arkit.NUM_BLENDSHAPES), np.float32)
    if n_frames == 0 or not phones:
        return out
    filled: list[Phone] = []
    cursor = 0.0
    for p in phones:  # explicit silences so that long pauses relax to rest
        if p.start - cursor > 0.02:
            filled.append(Phone("sil", cursor, p.start))
        filled.append(p)
        cursor = max(cursor, p.end)
    if duration - cursor > 0.02:
        filled.append(Phone("sil", cursor, duration))
    segs = _segments(filled, style, table.targets)

    t = (np.arange(n_frames) + 0.5) / fps  # frame k covers [k/fps, (k+1)/fps)
    centres = np.array([s.centre for s in segs])[:, None]
    halves = np.array([s.half for s in segs])[:, None]
    targets = np.stack([s.target for s in segs])  # (N, 52)
    dt = t[None, :] - centres  # (N, T)
    # Distance beyond the segment's own plateau, so long phones hold their target.
    inside = np.maximum(np.abs(dt) - 0.6 * halves, 0.0)
    tau = np.where(dt < 0, style.anticipation_s, style.carryover_s) / style.hyper
    ch_group = np.array([GROUPS.index(_group(n)) for n in arkit.ARKIT_NAMES])
    classes = [_phone_class(s.symbol) for s in segs]
    dom_table = np.array([[table.dominance[c][g] for g in GROUPS] for c in classes])  # (N, G, 2)
    seal_target = np.array([table.seal.get(s.symbol, 0.0) for s in segs])
    seal = np.zeros(n_frames)
    for g, name in enumerate(GROUPS):
        amp, width = dom_table[:, g, 0:1], dom_table[:, g, 1:2]
        dom = amp * np.exp(-((inside / (tau * width)) ** 1.5)) + 1e-6  # (N, T)
        if name == "seal":
            seal = (dom.T @ seal_target) / dom.sum(0)
            continue
        cols = np.flatnonzero(ch_group == g)
        out[:, cols] = (dom.T @ targets[:, cols]) / dom.sum(0)[:, None]

    # Real lips seal for every /p b m/, however short: hold the seal over the middle of each
    # bilabial, or at least on the frame nearest its centre.
    for s in segs:
        if s.symbol in BILABIALS:
            k0 = int(np.ceil((s.centre - 0.7 * s.half) * fps - 0.5))
            k1 = int(np.floor((s.centre + 0.7 * s.half) * fps - 0.5))
            ks = np.arange(k0, k1 + 1) if k1 >= k0 else np.array([int(s.centre * fps)])
            seal[np.clip(ks, 0, n_frames - 1)] = 1.0
    jaw = arkit.INDEX["jawOpen"]
    out[:, arkit.INDEX["mouthClose"]] = seal * out[:, jaw]
    return np.clip(out, 0.0, 1.0)


def lips_closed(blendshapes: np.ndarray) -> np.ndarray:
    """Frames where the lips touch, by the same rule the blendshape metric scores."""
    from avzoo.metrics.functional.blendshape import lip_state

    return lip_state(np.asarray(blendshapes))[0]
