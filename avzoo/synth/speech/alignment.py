"""From an engine's phone marks to a gap-free phone tiling of the waveform.

Engines report where each of their phones begins. Turning that into common phones takes
four steps: tell pauses from unnamed phones, split engine phones that are several common
phones (``ɔːɹ`` → ``AO R``) (both :func:`segments_from_marks`), give a duration to phones the
engine marks with none (espeak folds a post-vocalic /l/ into the vowel before it,
:func:`give_time_to_short`), and, where an engine's marks are known to sit off the acoustic
boundary, move them onto the waveform's own landmarks (:func:`refine_boundaries`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from avzoo.synth.phonemes import INVENTORY, SILENCE, ipa_to_arpabet, split_stress

# Nasals, laterals and glides, after which espeak-ng marks a vowel late (see refine_boundaries).
_SONORANT_CONSONANTS = frozenset({"M", "N", "NG", "L", "R", "W", "Y"})
_STOPS = frozenset(p for p, i in INVENTORY.items() if i.is_stop)


@dataclass
class Mark:
    """An engine phone: where it starts (a sample index), its IPA name ("" = pause), its word."""

    sample: int
    ipa: str
    word: int = -1


@dataclass
class Segment:
    """A common phone in samples; ``word`` indexes the engine's words (-1 for none)."""

    symbol: str
    start: int
    end: int
    lexical_stress: int = 0
    ipa: str = ""
    word: int = -1

    @property
    def length(self) -> int:
        return self.end - self.start


def _is_vowel(symbol: str) -> bool:
    return INVENTORY[symbol].is_vowel


def segments_from_marks(
    marks: list[Mark], n_samples: int, sampling_rate: int, audio: np.ndarray | None = None
) -> list[Segment]:
    """Common-phone segments tiling ``[0, n_samples)`` from engine marks (in order of time).

    An engine phone that is several common phones is split by their weights. Phones the
    engine gives no time keep a zero-length segment, for :func:`give_time_to_short` to fill.
    An engine phone with no common phone is a pause if it has no name and ``audio`` is
    silent over most of it; otherwise (espeak's palatalisation ``ʲ``, or an unnamed voiced
    phoneme such as English ``;``) its time goes to the phone before it.
    """
    marks = [m for m in marks if 0 <= m.sample <= n_samples]
    starts, latest = [], 0
    for m in marks:  # marks never go back in time
        latest = max(latest, m.sample)
        starts.append(latest)
    spans = []  # [start, end, ipa, word]
    if not marks or starts[0] > 0:
        spans.append([0, starts[0] if marks else n_samples, "", -1])
    for i, m in enumerate(marks):
        spans.append([starts[i], starts[i + 1] if i + 1 < len(marks) else n_samples, m.ipa, m.word])

    silent = None
    if audio is not None and len(audio):
        energy, hop = frame_energy_db(audio, sampling_rate)
        silent = energy < silence_threshold_db(energy)

    def is_pause(start: int, end: int) -> bool:
        if silent is None or end <= start:
            return True
        return float(np.mean(silent[start // hop : max(end // hop, start // hop + 1)])) >= 0.5

    resolved: list[list] = []
    carry = None  # start of time waiting for the next phone
    for span in spans:
        start, end, ipa, _ = span
        if ipa_to_arpabet(ipa)[0][0] != SILENCE or (not ipa and is_pause(start, end)):
            if carry is not None and ipa:
                span[0], carry = carry, None
            elif carry is not None:
                resolved.append([carry, start, "", span[3]])
                carry = None
            resolved.append(span)
        elif resolved and resolved[-1][2]:
            resolved[-1][1] = end
        elif carry is None:
            carry = start
    if carry is not None:
        resolved.append([carry, n_samples, "", -1])

    segs: list[Segment] = []
    for start, end, ipa, word in resolved:
        if not ipa:
            if end > start:
                if segs and segs[-1].symbol == SILENCE:
                    segs[-1].end = end
                else:
                    segs.append(Segment(SILENCE, start, end, 0, "", word))
            continue
        _, stress = split_stress(ipa)
        parts = ipa_to_arpabet(ipa)
        total, acc, a = sum(w for _, w in parts), 0.0, start
        for sym, w in parts:
            acc += w
            b = start + round(acc / total * (end - start))
            segs.append(Segment(sym, a, b, stress if _is_vowel(sym) else 0, ipa, word))
            a = b
    return segs


def give_time_to_short(segs: list[Segment], sampling_rate: int, min_s: float = 0.010) -> list[Segment]:
    """Phones shorter than ``min_s`` take up to 40% (at most 70 ms) of a longer neighbour.

    espeak-ng folds a consonant after a vowel into the vowel's ending (``l`` in "sells") and
    marks it with no time; the vowel before it is where its sound is, so that is the neighbour
    it takes from when there is one.
    """
    min_len = int(min_s * sampling_rate)
    cap = int(0.070 * sampling_rate)
    for i, seg in enumerate(segs):
        if seg.symbol == SILENCE or seg.length >= min_len:
            continue
        prev = segs[i - 1] if i > 0 else None
        nxt = segs[i + 1] if i + 1 < len(segs) else None
        need = min_len - seg.length
        if (
            prev is not None
            and prev.symbol != SILENCE
            and _is_vowel(prev.symbol)
            and prev.length > min_len + need
        ):
            take = max(need, min(int(0.4 * prev.length), cap))
            prev.end -= take
            seg.start -= take
        elif nxt is not None and nxt.symbol != SILENCE and nxt.length > min_len + need:
            take = max(need, min(int(0.4 * nxt.length), cap))
            nxt.start += take
            seg.end += take
        elif prev is not None and prev.length > min_len + need:
            take = max(need, min(int(0.4 * prev.length), cap))
            prev.end -= take
            seg.start -= take
    return [s for s in segs if s.length > 0]


def _is_spoken_vowel(symbol: str) -> bool:
    return symbol != SILENCE and _is_vowel(symbol)


def frame_energy_db(audio: np.ndarray, sampling_rate: int, win_s: float = 0.005, hop_s: float = 0.001):
    """Short-time energy in dB (re full scale) on a ``hop_s`` grid; frame k is centred at k * hop_s."""
    x = np.asarray(audio, np.float64)
    win, hop = max(1, int(win_s * sampling_rate)), max(1, int(hop_s * sampling_rate))
    csum = np.concatenate([[0.0], np.cumsum(x * x)])
    centres = np.arange(0, len(x) + 1, hop)
    lo = np.clip(centres - win // 2, 0, len(x))
    hi = np.clip(centres + win - win // 2, 0, len(x))
    energy = (csum[hi] - csum[lo]) / np.maximum(hi - lo, 1)
    return 10 * np.log10(energy + 1e-12), hop


def silence_threshold_db(energy_db: np.ndarray, below_speech_db: float = 30.0) -> float:
    """Energy under which a frame counts as silent: ``below_speech_db`` under loud speech (95th pct)."""
    return float(np.percentile(energy_db, 95)) - below_speech_db


def _closure_by_fall(energy: np.ndarray, hop: int, earliest: int, mark: int, ms: float) -> int | None:
    """Where a closure starts that breath noise keeps from being silent: the steepest energy
    fall (over 10 ms) in the 80 ms before the mark, if it falls 10 dB and what follows up to
    the mark stays 12 dB under what came before."""
    half = max(1, int(5 * ms / hop))
    k_lo = max(round(max(earliest, mark - 80 * ms) / hop), 2 * half)
    k_mark = round(mark / hop)
    k_hi = min(k_mark + int(3 * ms / hop), len(energy) - 1 - half)
    if k_hi <= k_lo:
        return None
    ks = np.arange(k_lo, k_hi + 1)
    fall = energy[ks - half] - energy[ks + half]
    k = int(ks[int(np.argmax(fall))])
    before = float(energy[k - 2 * half : k - half + 1].max())
    after = float(energy[k + half : max(k_mark, k + half) + 1].mean())
    if fall.max() >= 10.0 and before - after >= 12.0:
        return k * hop
    return None


def refine_boundaries(segs: list[Segment], audio: np.ndarray, sampling_rate: int) -> list[Segment]:
    """Move espeak-ng's phone marks onto the acoustic boundaries they are known to miss.

    espeak-ng emits a phone's mark *after* some of its sound in two cases (``Generate()`` in
    its ``synthesize.c``):

    * a stop's closure (the silent gap before the burst, its ``prepause``) is played before the
      stop's mark, so the closure is counted in the phone before. The closure is found as the
      run of silent frames that ends at (or up to 20 ms before) the mark, and the stop starts
      where it begins; in voices whose breath noise fills the closure, at the steepest energy
      fall before the mark (:func:`_closure_by_fall`).
    * a vowel after a nasal, lateral or glide is marked after its onset transition. The vowel
      starts instead at the steepest energy rise (over 10 ms, in 10 ms windows) in the 60 ms
      before the mark, if that rise is at least 3 dB.

    Every phone keeps at least 30% of its length (and 5 ms).
    """
    if len(segs) < 2:
        return segs
    energy, hop = frame_energy_db(audio, sampling_rate)
    # 25 dB under loud speech: espeak's closures are digital silence, or the 10% echo or the
    # breath noise of some variants (f2, f4), all below it; weak fricatives are above it.
    silent = energy < silence_threshold_db(energy, 25.0)
    smooth, _ = frame_energy_db(audio, sampling_rate, win_s=0.010)  # no pitch-period ripple
    ms = sampling_rate / 1000.0

    def frame(sample: int) -> int:
        return int(np.clip(round(sample / hop), 0, len(energy) - 1))

    for i in range(1, len(segs)):
        prev, seg = segs[i - 1], segs[i]
        if prev.symbol == SILENCE or seg.length == 0 or prev.length == 0:
            continue
        earliest = prev.start + max(int(0.3 * prev.length), int(5 * ms))
        if earliest >= seg.start:
            continue
        new_start = None
        if seg.symbol in _STOPS:
            # the last silent frame at or shortly before the mark (breathy voices fill the
            # end of the closure with noise), then back to the start of its run
            k = frame(seg.start + int(3 * ms))
            k_min = frame(seg.start - int(20 * ms))
            while k >= k_min and not silent[k]:
                k -= 1
            if k >= k_min:
                k0 = k
                while k0 > 0 and silent[k0 - 1] and (k0 - 1) * hop >= earliest:
                    k0 -= 1
                if (k - k0 + 1) * hop >= 8 * ms:
                    new_start = k0 * hop
            if new_start is None:
                new_start = _closure_by_fall(energy, hop, earliest, seg.start, ms)
        elif _is_spoken_vowel(seg.symbol) and prev.symbol in _SONORANT_CONSONANTS:
            half = max(1, int(5 * ms / hop))
            k_lo = max(frame(max(earliest, seg.start - int(60 * ms))), half)
            k_hi = min(frame(seg.start + int(5 * ms)), len(energy) - 1 - half)
            if k_hi > k_lo:
                ks = np.arange(k_lo, k_hi + 1)
                rise = smooth[ks + half] - smooth[ks - half]
                best = int(np.argmax(rise))
                if rise[best] >= 3.0:
                    new_start = int(ks[best]) * hop
        if new_start is not None:
            new_start = int(np.clip(new_start, earliest, seg.end - max(int(0.3 * seg.length), int(5 * ms))))
            if new_start < seg.end:
                prev.end = seg.start = new_start
    return segs
