"""Checks of phone timing against landmarks in the waveform itself.

A synthesiser's phone times can be checked without a reference alignment, because some
phones leave an unmistakable trace in the signal:

* a stop (``P B T D K G CH JH``) closes the mouth, so the quietest point between its
  neighbours falls within the stop (``stop_dip_errors``);
* a pause is silent, so each ``sil`` phone between words should coincide with a silent stretch
  of the waveform, start to start and end to end (``pause_errors``);
* speech starts at the first phone and stops at the end of the last (``edge_errors``);
* a nasal's release into a vowel brings a jump in energy (``nasal_release_errors``).

Each function returns errors in seconds (0 when the landmark lies inside the phone).
"""

from __future__ import annotations

import numpy as np

from avzoo.synth.phonemes import INVENTORY, SILENCE
from avzoo.synth.speech.alignment import frame_energy_db, silence_threshold_db
from avzoo.synth.speech.utterance import Utterance

_STOPS = frozenset(p for p, i in INVENTORY.items() if i.is_stop)
# Phones that can be (nearly) as quiet as a pause: stops (their closure), the non-sibilant
# fricatives and the nasals (espeak's Klatt voices murmur them 30+ dB under the vowels).
# Next to a pause, the silent stretch may run into them.
_WEAK = _STOPS | {"F", "V", "TH", "DH", "HH", "M", "N", "NG"}


#: Silent frames for pauses and edges: this far below loud speech (95th percentile of energy).
#: 30 dB counts the echo some espeak variants add (10% amplitude) as silence but not /h/ or /f/.
PAUSE_BELOW_SPEECH_DB = 30.0


def _energy(utt: Utterance):
    energy, hop = frame_energy_db(utt.audio, utt.sampling_rate)
    return energy, hop / utt.sampling_rate


def _outside(t: float, start: float, end: float) -> float:
    return max(0.0, start - t, t - end)


def _is_closure(p) -> bool:
    """A stop with a real closure: flaps (``ɾ``, American "butter") are tapped, not held."""
    return p.symbol in _STOPS and "ɾ" not in p.ipa


def stop_dip_errors(utt: Utterance) -> list[float]:
    """Per run of stops between two spoken phones: how far the energy minimum around it (at
    most 50 ms into each neighbour, 2 ms short of their far ends) lies outside the run. Consecutive stops (``t p`` in "hot pot") count as one run: their
    closures merge into one silence. Flaps have no closure and are left out."""
    energy, step = _energy(utt)
    errors = []
    ph = utt.phones
    i = 1
    while i < len(ph) - 1:
        if not _is_closure(ph[i]):
            i += 1
            continue
        j = i
        while j + 1 < len(ph) and _is_closure(ph[j + 1]):
            j += 1
        if j + 1 < len(ph) and not ph[i - 1].is_silence and not ph[j + 1].is_silence:
            lo = round(max(ph[i - 1].start, ph[i].start - 0.05) / step) + 2
            hi = round(min(ph[j + 1].end, ph[j].end + 0.05) / step) - 2
            t = (lo + int(np.argmin(energy[lo : hi + 1]))) * step
            errors.append(_outside(t, ph[i].start, ph[j].end))
        i = j + 1
    return errors


def nasal_release_errors(utt: Utterance, min_rise_db: float = 6.0) -> list[float]:
    """Per nasal (``M N NG``) between a spoken phone and a vowel: the distance from the
    nasal-vowel boundary to the steepest energy rise (over 10 ms) within 40 ms of it, where
    the mouth opens and the vowel's energy arrives; not in the nasal's first half, where its
    own onset is. Boundaries without a rise of ``min_rise_db`` are left out (flite's nasals are
    often as loud as its vowels); so are nasals after a pause, whose onset is the bigger rise."""
    # 10 ms windows: shorter ones ripple with the pitch periods of a low voice
    energy, hop = frame_energy_db(utt.audio, utt.sampling_rate, win_s=0.010)
    step = hop / utt.sampling_rate
    half = max(1, round(0.005 / step))
    errors = []
    ph = utt.phones
    for before, nasal, vowel in zip(ph, ph[1:], ph[2:], strict=False):
        if (
            nasal.symbol not in ("M", "N", "NG")
            or before.is_silence
            or vowel.is_silence
            or not vowel.info.is_vowel
        ):
            continue
        lo = max(round(max((nasal.start + nasal.end) / 2, nasal.end - 0.04) / step), half)
        hi = min(round(min(vowel.end, vowel.start + 0.04) / step), len(energy) - 1 - half)
        if hi <= lo:
            continue
        ks = np.arange(lo, hi + 1)
        rise = energy[ks + half] - energy[ks - half]
        if rise.max() >= min_rise_db:
            errors.append(abs(ks[int(np.argmax(rise))] * step - vowel.start))
    return errors


def _silent_runs(silent: np.ndarray, bridge: int) -> list[tuple[int, int]]:
    """[start, end) frame runs where ``silent`` holds, bridging gaps of up to ``bridge`` frames."""
    d = np.diff(np.concatenate([[0], silent.astype(np.int8), [0]]))
    runs = list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True))
    merged: list[tuple[int, int]] = []
    for a, b in runs:
        if merged and a - merged[-1][1] <= bridge:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged


def pause_errors(utt: Utterance, min_pause: float = 0.05) -> list[float]:
    """Per pause (a ``sil`` phone of at least ``min_pause`` s between spoken phones): the
    distances from its start and its end to those of the silent stretch it overlaps most.
    Flickers above the threshold of up to 10 ms do not break a stretch: some espeak variants
    add an echo that does that. Next to a stop, a weak fricative (``F V TH DH HH``) or a nasal
    the silence may run into that phone (a stop's closure is silent), so there the stretch
    need only end inside it. A pause with no silent stretch counts as an error of its length."""
    energy, step = _energy(utt)
    runs = _silent_runs(energy < silence_threshold_db(energy, PAUSE_BELOW_SPEECH_DB), round(0.010 / step))
    errors = []
    ph = utt.phones
    for i in range(1, len(ph) - 1):
        p = ph[i]
        if not p.is_silence or p.duration < min_pause:
            continue
        best, overlap = None, 0.0
        for a, b in runs:
            o = min(b * step, p.end) - max(a * step, p.start)
            if o > overlap:
                best, overlap = (a * step, b * step), o
        if best is None:
            errors += [p.duration, p.duration]
            continue
        errors.append(_edge_error(best[0], p.start, ph[i - 1]))
        errors.append(_edge_error(best[1], p.end, ph[i + 1]))
    return errors


def _edge_error(t: float, boundary: float, weak_neighbour) -> float:
    """Distance from a silence edge ``t`` to ``boundary``, or to the span of a quiet neighbour."""
    if weak_neighbour.symbol in _WEAK:
        return _outside(t, min(boundary, weak_neighbour.start), max(boundary, weak_neighbour.end))
    return abs(t - boundary)


def edge_errors(utt: Utterance) -> list[float]:
    """Distances from the first spoken phone's start to where sound begins, and from the last
    spoken phone's end to where it stops (for a stop, weak fricative or nasal: from that phone)."""
    energy, step = _energy(utt)
    loud = np.flatnonzero(energy >= silence_threshold_db(energy, PAUSE_BELOW_SPEECH_DB))
    spoken = [p for p in utt.phones if p.symbol != SILENCE]
    if not len(loud) or not spoken:
        return []
    return [
        _edge_error(loud[0] * step, spoken[0].start, spoken[0]),
        _edge_error(loud[-1] * step, spoken[-1].end, spoken[-1]),
    ]


def timing_errors(utt: Utterance) -> dict[str, list[float]]:
    """All landmark errors of one utterance, by kind."""
    return {
        "stop": stop_dip_errors(utt),
        "pause": pause_errors(utt),
        "edge": edge_errors(utt),
        "nasal": nasal_release_errors(utt),
    }
