"""koemorph's evaluation parts on made-up tracks: the fixed emotion probe, per-system scores and the bars."""

import numpy as np
import pytest

from avzoo import arkit
from avzoo.emotions import RAVDESS_EMOTIONS
from avzoo.evaluation.emotion_probe import PROBE_CHANNELS, EmotionProbe, clip_features
from avzoo.evaluation.koemorph import EMOTIVE, check_bars, information_balance, score_system
from avzoo.models.koemorph import KoemorphConfig

EMOTIONS = ("neutral", "happy", "sad", "angry")
#: Each made-up emotion raises one probe channel.
SIGNS = {"neutral": None, "happy": "mouthSmileLeft", "sad": "browInnerUp", "angry": "browDownLeft"}


def _track(emotion: str, rng: np.random.Generator, frames: int = 40, gain: float = 0.4) -> np.ndarray:
    track = rng.uniform(0, 0.05, (frames, 52)).astype(np.float32)
    if SIGNS[emotion]:
        track[:, arkit.INDEX[SIGNS[emotion]]] += gain
    return track


def _data(n: int, seed: int, gain: float = 0.4):
    rng = np.random.default_rng(seed)
    emotions = [EMOTIONS[i % 4] for i in range(n)]
    return [_track(e, rng, gain=gain) for e in emotions], emotions


def test_probe_reads_emotions_and_round_trips():
    tracks, emotions = _data(80, 0)
    probe = EmotionProbe().fit(tracks, emotions)
    test_tracks, test_emotions = _data(40, 1)
    score = probe.score(test_tracks, test_emotions)
    assert score["accuracy"] == 1.0 and set(score["per_emotion"]) == set(EMOTIONS)
    assert score["chance_uniform"] == 0.25 and score["num_clips"] == 40
    # a face that does not move reads as one emotion at best
    flat = probe.score([np.zeros((40, 52), np.float32)] * 40, test_emotions)
    assert flat["accuracy"] == pytest.approx(0.25)
    # emotions never seen in training are never predicted; the parameters survive JSON
    assert set(probe.predict(test_tracks)) <= set(EMOTIONS)
    again = EmotionProbe.from_dict(probe.to_dict())
    assert again.predict(test_tracks) == probe.predict(test_tracks)


def test_probe_features_and_errors():
    assert clip_features(np.zeros((5, 52))).shape == (2 * len(PROBE_CHANNELS),)
    assert not set(PROBE_CHANNELS) & (set(arkit.BLINKS) | set(arkit.GAZE))
    with pytest.raises(ValueError, match="no frames"):
        clip_features(np.zeros((0, 52)))
    with pytest.raises(ValueError, match="not fitted"):
        EmotionProbe().predict([np.zeros((5, 52))])


def _rows(tracks, emotions):
    names = list(RAVDESS_EMOTIONS)
    return [
        {"reference": t, "lips_closed": np.zeros(len(t), bool), "fps": 30.0, "emotion": names.index(e)}
        for t, e in zip(tracks, emotions, strict=True)
    ]


def test_score_system_and_bars():
    train, train_emotions = _data(80, 0)
    probe = EmotionProbe().fit(train, train_emotions)
    refs, emotions = _data(20, 2)
    rows = _rows(refs, emotions)
    shifted = score_system([r + 0.01 for r in refs], rows, None)
    assert shifted["expression_mae"] == pytest.approx(0.01, abs=1e-6)
    assert shifted["emotive_mae"] == pytest.approx(0.01, abs=1e-6) and "emotion_fidelity" not in shifted
    good = score_system(refs, rows, probe)
    weak = score_system(_data(20, 3, gain=0.0)[0], rows, probe)
    assert good["emotion_fidelity"]["accuracy"] == 1.0 > weak["emotion_fidelity"]["accuracy"]
    assert set(good["pearson_per_channel"]) == set(arkit.ARKIT_NAMES)
    assert all(n in arkit.EXPRESSION for n in EMOTIVE)
    weak["expression_mae"] = 0.05
    systems = {
        "koemorph": good,
        "mel_only": weak,
        "av_lipsync_streaming_oracle": {**good, "lipsync_mae": 0.02},
    }
    bars = check_bars({"synthetic": {"systems": systems}})
    assert bars["expression_mae"]["pass"] and bars["dual_beats_mel_only"]["pass"]
    assert bars["lipsync_vs_av_lipsync"]["ratio"] == pytest.approx(good["lipsync_mae"] / 0.02)
    swapped = check_bars({"synthetic": {"systems": {**systems, "koemorph": weak, "mel_only": good}}})
    assert not swapped["dual_beats_mel_only"]["pass"] and not swapped["expression_mae"]["pass"]


def test_information_balance_is_the_designs():
    balance = information_balance(KoemorphConfig())
    assert balance["mel_values"] == 20_720 and balance["emotion_values"] == 264
    assert information_balance(KoemorphConfig(use_emotion_stream=False))["emotion_values"] == 0
