import itertools

import numpy as np
import pytest

from avzoo.synth.mixtures import DynamicMixer, MixtureConfig, Talker, fixed_mixtures, librispeech_talkers, mix


def tone_talker(i: int, seconds: float = 2.0, faces: bool = True) -> Talker:
    t = np.arange(int(seconds * 16000)) / 16000
    audio = (0.3 * np.sin(2 * np.pi * (200 + 50 * i) * t)).astype(np.float32)
    frames = np.full((int(seconds * 30), 8, 8, 3), i * 20, np.uint8) if faces else None
    if frames is not None:
        frames[:, 0, 0, 0] = np.arange(len(frames)) % 256  # frame counter to check alignment
    return Talker(audio, f"spk{i}", frames, fps=30.0)


@pytest.mark.parametrize("k", [2, 3, 6])
def test_mixture_is_sum_of_references(k):
    cfg = MixtureConfig(num_talkers=(k, k), duration=3.0, noise_snr_db=(5, 10))
    m = mix([tone_talker(i) for i in range(k)], cfg, np.random.default_rng(0))
    assert m.sources.shape == (k, 48000) and m.mixture.shape == (48000,)
    np.testing.assert_allclose(m.sources.sum(0) + m.noise, m.mixture, atol=1e-6)
    assert np.abs(m.mixture).max() <= 0.9 + 1e-6
    snr = 10 * np.log10(np.mean(m.sources.sum(0) ** 2) / np.mean(m.noise**2))
    assert snr == pytest.approx(m.snr_db, abs=0.01)
    assert len(set(m.speaker_ids)) == k and 0 <= m.overlap <= 1


def test_faces_follow_the_audio_offset():
    cfg = MixtureConfig(duration=4.0, fps=30.0)
    talkers = [tone_talker(0, 2.0), tone_talker(1, 2.0, faces=False)]
    m = mix(talkers, cfg, np.random.default_rng(3))
    assert m.face_mask.tolist() == [True, False] and m.faces[1] is None
    f = m.faces[0]
    assert f.shape == (120, 8, 8, 3)
    start = int(np.ceil(m.offsets[0] * 30))
    # Inside the utterance the face frame counter advances one per frame.
    assert f[start + 5, 0, 0, 0] - f[start + 4, 0, 0, 0] == 1


def test_dynamic_and_fixed_are_reproducible_and_distinct():
    pool = [tone_talker(i) for i in range(5)]
    cfg = MixtureConfig(num_talkers=(2, 4), duration=2.0)
    a = list(itertools.islice(DynamicMixer(pool, cfg, seed=1), 4))
    b = list(itertools.islice(DynamicMixer(pool, cfg, seed=1), 4))
    c = list(itertools.islice(DynamicMixer(pool, cfg, seed=2), 4))
    assert all(np.array_equal(x.mixture, y.mixture) for x, y in zip(a, b, strict=True))
    assert not all(np.array_equal(x.mixture, y.mixture) for x, y in zip(a, c, strict=True))
    f1, f2 = fixed_mixtures(pool, 3, cfg), fixed_mixtures(pool, 5, cfg)
    assert all(np.array_equal(x.mixture, y.mixture) for x, y in zip(f1, f2[:3], strict=True))


def test_bad_config_and_pool():
    with pytest.raises(ValueError, match="num_talkers"):
        MixtureConfig(num_talkers=(1, 7))
    with pytest.raises(ValueError, match="distinct speakers"):
        fixed_mixtures([tone_talker(0), tone_talker(1)], 1, MixtureConfig(num_talkers=(3, 3)))
    with pytest.raises(ValueError, match="2-6 talkers"):
        mix([tone_talker(0)], MixtureConfig(), np.random.default_rng(0))


def test_librispeech_talkers(shared_data):
    talkers = librispeech_talkers(shared_data / "real-speech/librispeech/test-other/1688", max_seconds=2.0)
    assert len(talkers) == 10 and {t.speaker_id for t in talkers} == {"libri-1688"}
    assert all(t.faces is None and len(t.audio) <= 32000 for t in talkers)
    with pytest.raises(ValueError, match="no LibriSpeech"):
        librispeech_talkers(shared_data / "faces")
