"""Audio augmentation that moves synthetic speech toward real recordings.

The corpus voices are clean TTS at one level. Real users record at any level, through
microphones that colour the spectrum, in rooms that reverberate, with noise and other people
in the background. Each transform here simulates one of those and keeps the length, so frame
labels stay aligned. ``babble`` draws real LibriSpeech talkers (CC BY 4.0) as background
speech: real voices enter training without needing blendshape labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.signal import butter, fftconvolve, sosfilt

from avzoo.synth.mixtures import coloured_noise

SR = 16000


def _at_snr(signal: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    ps = np.mean(signal**2) + 1e-12
    pn = np.mean(noise**2) + 1e-12
    return noise * np.sqrt(ps / (pn * 10 ** (snr_db / 10)))


def _room_impulse(rng: np.random.Generator) -> np.ndarray:
    rt60 = rng.uniform(0.15, 0.7)
    n = int(rt60 * SR)
    t = np.arange(n) / SR
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    ir = tail * rng.uniform(0.05, 0.4)
    ir[0] = 1.0  # the direct path
    return ir / np.sqrt(np.sum(ir**2))


@dataclass
class Augmenter:
    """Random gain, microphone colouring, reverb, noise and background talkers, each with a probability."""

    p_gain: float = 0.9
    gain_db: tuple[float, float] = (-24.0, 6.0)
    p_filter: float = 0.5
    p_reverb: float = 0.3
    p_noise: float = 0.5
    noise_snr_db: tuple[float, float] = (5.0, 35.0)
    p_babble: float = 0.3
    babble_snr_db: tuple[float, float] = (12.0, 30.0)
    babble: list[np.ndarray] = field(default_factory=list, repr=False)

    def __call__(self, audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        x = audio.astype(np.float64)
        if rng.random() < self.p_filter:
            lo, hi = rng.uniform(40, 300), rng.uniform(3000, 7800)
            x = sosfilt(butter(2, [lo, hi], btype="bandpass", fs=SR, output="sos"), x)
        if rng.random() < self.p_reverb:
            x = fftconvolve(x, _room_impulse(rng))[: len(x)]
        if self.babble and rng.random() < self.p_babble:
            talker = self.babble[int(rng.integers(len(self.babble)))]
            start = int(rng.integers(max(len(talker) - len(x), 0) + 1))
            seg = np.resize(talker[start : start + len(x)], len(x))
            x = x + _at_snr(x, seg, rng.uniform(*self.babble_snr_db))
        if rng.random() < self.p_noise:
            kind = str(rng.choice(["white", "pink", "brown"]))
            x = x + _at_snr(x, coloured_noise(kind, len(x), rng), rng.uniform(*self.noise_snr_db))
        if rng.random() < self.p_gain:
            x = x * 10 ** (rng.uniform(*self.gain_db) / 20)
        peak = np.abs(x).max()
        if peak > 0.99:
            x = x * (0.99 / peak)
        return x.astype(np.float32)
