"""Multi-talker mixtures for audio-visual separation: 2-6 talkers, each with a face track.

A :class:`Talker` is one utterance: 16 kHz audio and, when known, its face frames. Synthetic
talkers come from the corpus (their faces are rendered from their own blendshapes); real
LibriSpeech talkers have no face until a model drives one from their speech, so their
``faces`` is ``None`` and the mixture's ``face_mask`` says so.

:func:`mix` places talkers on a common timeline with random gains and offsets (and so a random
overlap), adds optional noise at a random SNR, and returns the mixture with the scaled
references, so that ``mixture == sources.sum(0) + noise`` exactly. :class:`DynamicMixer`
draws fresh mixtures forever for training (dynamic mixing); :func:`fixed_mixtures` draws a
seeded, reproducible set for evaluation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from avzoo.arkit import BLENDSHAPE_FPS
from avzoo.io.audio import load_audio

SAMPLING_RATE = 16000


@dataclass
class Talker:
    audio: np.ndarray
    speaker_id: str
    faces: np.ndarray | None = None  # (T, H, W, 3) uint8 at ``fps``
    fps: float = BLENDSHAPE_FPS
    origin: str = "synthetic"


@dataclass
class MixtureConfig:
    """How mixtures are drawn. Ranges are sampled uniformly per mixture (gains per talker)."""

    num_talkers: tuple[int, int] = (2, 2)
    duration: float = 4.0
    gain_db: tuple[float, float] = (-5.0, 5.0)
    min_overlap: float = 0.5  # fraction of the shorter talker that must overlap another
    noise_snr_db: tuple[float, float] | None = None
    noise_kinds: tuple[str, ...] = ("white", "pink", "brown")
    fps: float = 25.0
    face_size: int | None = None  # resize face frames to this square size (None: keep)

    def __post_init__(self):
        lo, hi = self.num_talkers
        if not 2 <= lo <= hi <= 6:
            raise ValueError(f"num_talkers must be a range within [2, 6], got {self.num_talkers}")
        if self.duration <= 0:
            raise ValueError(f"duration must be positive, got {self.duration}")


@dataclass
class Mixture:
    mixture: np.ndarray  # (N,)
    sources: np.ndarray  # (K, N), as they sound in the mixture
    noise: np.ndarray  # (N,)
    faces: list[np.ndarray | None]  # per talker (T, H, W, 3) on the mixture timeline, or None
    face_mask: np.ndarray  # (K,) bool
    speaker_ids: list[str]
    offsets: np.ndarray  # seconds, per talker
    gains_db: np.ndarray
    overlap: float  # fraction of active time with >= 2 talkers
    snr_db: float | None = None
    meta: dict = field(default_factory=dict)


def coloured_noise(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-variance white, pink (1/f power) or brown (1/f²) noise of ``n`` samples."""
    white = rng.standard_normal(n)
    if kind == "white":
        return white
    spec = np.fft.rfft(white)
    f = np.maximum(np.fft.rfftfreq(n), 1.0 / n)
    spec /= np.sqrt(f) if kind == "pink" else f
    x = np.fft.irfft(spec, n)
    return x / (x.std() + 1e-12)


def _face_timeline(t: Talker, offset: float, n_frames: int, fps: float, size: int | None) -> np.ndarray:
    """The talker's face on the mixture's frame grid; outside their utterance, hold the nearest frame."""
    frames = t.faces
    src = np.floor(((np.arange(n_frames) / fps) - offset) * t.fps).astype(int)
    out = frames[np.clip(src, 0, len(frames) - 1)]
    if size is not None and out.shape[1:3] != (size, size):
        import cv2

        out = np.stack([cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA) for f in out])
    return out


def mix(talkers: Sequence[Talker], config: MixtureConfig, rng: np.random.Generator) -> Mixture:
    """Mix the given talkers on a ``config.duration`` timeline."""
    k = len(talkers)
    if not 2 <= k <= 6:
        raise ValueError(f"a mixture needs 2-6 talkers, got {k}")
    n = round(config.duration * SAMPLING_RATE)
    sources = np.zeros((k, n), np.float32)
    offsets = np.zeros(k)
    gains = rng.uniform(*config.gain_db, size=k)
    for i, t in enumerate(talkers):
        a = np.asarray(t.audio, np.float32)
        if a.ndim != 1 or len(a) == 0:
            raise ValueError(f"talker {t.speaker_id}: audio must be a non-empty 1-D array")
        if len(a) > n:  # crop a random window that keeps the talker speaking throughout
            start = rng.integers(0, len(a) - n + 1)
            a = a[start : start + n]
            offsets[i] = -start / SAMPLING_RATE
            place = 0
        else:
            slack = n - len(a)
            # Bias the placement so talkers overlap at least ``min_overlap`` of the shorter one.
            max_place = int(slack * (1 - config.min_overlap)) if i else slack
            place = int(rng.integers(0, max_place + 1))
            offsets[i] = place / SAMPLING_RATE
        rms = np.sqrt(np.mean(a**2)) + 1e-8
        sources[i, place : place + len(a)] = a / rms * 0.05 * 10 ** (gains[i] / 20)
    noise = np.zeros(n, np.float32)
    snr = None
    if config.noise_snr_db is not None:
        snr = float(rng.uniform(*config.noise_snr_db))
        nz = coloured_noise(str(rng.choice(config.noise_kinds)), n, rng)
        speech_power = np.mean(sources.sum(0) ** 2)
        noise = (nz * np.sqrt(speech_power / 10 ** (snr / 10))).astype(np.float32)
    mixture = sources.sum(0) + noise
    peak = np.abs(mixture).max()
    if peak > 0.9:  # scale everything together so the references still sum to the mixture
        scale = 0.9 / peak
        mixture, sources, noise = mixture * scale, sources * scale, noise * scale
    active = np.abs(sources) > 1e-4
    frames = active.reshape(k, -1, 160).any(-1) if n % 160 == 0 else active
    busy = frames.sum(0)
    overlap = float((busy >= 2).sum() / max((busy >= 1).sum(), 1))
    n_frames = int(np.ceil(config.duration * config.fps))
    faces = [
        _face_timeline(t, offsets[i], n_frames, config.fps, config.face_size) if t.faces is not None else None
        for i, t in enumerate(talkers)
    ]
    return Mixture(
        mixture=mixture.astype(np.float32),
        sources=sources.astype(np.float32),
        noise=noise.astype(np.float32),
        faces=faces,
        face_mask=np.array([f is not None for f in faces]),
        speaker_ids=[t.speaker_id for t in talkers],
        offsets=offsets,
        gains_db=gains,
        overlap=overlap,
        snr_db=snr,
    )


def _draw(pool: Sequence[Talker], config: MixtureConfig, rng: np.random.Generator) -> Mixture:
    by_speaker: dict[str, list[int]] = {}
    for i, t in enumerate(pool):
        by_speaker.setdefault(t.speaker_id, []).append(i)
    speakers = sorted(by_speaker)
    k = int(rng.integers(config.num_talkers[0], config.num_talkers[1] + 1))
    if len(speakers) < k:
        raise ValueError(
            f"the talker pool has {len(speakers)} distinct speakers; a {k}-talker mixture needs {k}"
        )
    chosen = rng.choice(len(speakers), size=k, replace=False)  # distinct speakers per mixture
    talkers = [pool[int(rng.choice(by_speaker[speakers[c]]))] for c in chosen]
    return mix(talkers, config, rng)


class DynamicMixer:
    """An endless stream of fresh mixtures from a talker pool (dynamic mixing for training).

    Iterating twice with the same seed yields the same stream; use a different ``seed`` per
    epoch or per data-loader worker (``seed + worker_id``) for new material.
    """

    def __init__(self, pool: Sequence[Talker], config: MixtureConfig, seed: int = 0):
        self.pool, self.config, self.seed = list(pool), config, seed

    def __iter__(self) -> Iterator[Mixture]:
        rng = np.random.default_rng(self.seed)
        while True:
            yield _draw(self.pool, self.config, rng)


def fixed_mixtures(pool: Sequence[Talker], n: int, config: MixtureConfig, seed: int = 1234) -> list[Mixture]:
    """``n`` reproducible mixtures for evaluation: mixture i depends only on (seed, i)."""
    return [_draw(pool, config, np.random.default_rng([seed, i])) for i in range(n)]


_LIBRI = re.compile(r"^(\d+)-(\d+)-(\d+)\.flac$")


def librispeech_talkers(folder: str | Path, max_seconds: float | None = None) -> list[Talker]:
    """Real talkers from a LibriSpeech folder (``<spk>-<chapter>-<utt>.flac``, nested or flat).

    The speaker id is ``libri-<spk>``; faces are ``None`` (no video exists for LibriSpeech).
    """
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*.flac") if _LIBRI.match(p.name))
    if not files:
        raise ValueError(f"no LibriSpeech-style .flac files (<spk>-<chapter>-<utt>.flac) under {folder}")
    out = []
    for p in files:
        audio = load_audio(p)
        if max_seconds is not None:
            audio = audio[: int(max_seconds * SAMPLING_RATE)]
        out.append(Talker(audio, f"libri-{_LIBRI.match(p.name).group(1)}", origin="librispeech"))
    return out
