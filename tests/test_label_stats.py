"""The label statistics (avzoo.metrics.label_stats) on hand-made tracks with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from avzoo.arkit import INDEX, NUM_BLENDSHAPES
from avzoo.metrics.label_stats import (
    blink_events,
    blink_stats,
    lip_to_jaw_ratio,
    percentile_table,
    shut_share,
    summarize,
    to_canonical,
)

FPS = 30.0


def blink_train(seconds: float, every_s: float, closed_frames: int, flicker: bool = False) -> np.ndarray:
    """An eyelid track with one blink every ``every_s`` seconds, each ``closed_frames`` frames at 0.9."""
    track = np.zeros(int(seconds * FPS))
    for start in range(int(FPS), len(track) - 10, int(every_s * FPS)):
        track[start - 1] = 0.3  # closing, under the threshold
        track[start : start + closed_frames] = 0.9
        if flicker:  # the lid dips under the threshold for one frame mid-blink: still one blink
            track[start + closed_frames] = 0.45
            track[start + closed_frames + 1] = 0.7
        track[start + closed_frames + 2 * flicker] = 0.3  # opening
    return track


def test_blink_rate_and_duration_of_a_known_train():
    track = blink_train(60.0, every_s=3.0, closed_frames=4)  # blinks at 1, 4, .., 58 s
    onsets, lengths = blink_events(track, FPS)
    assert len(onsets) == 20
    assert np.all(lengths == 4)
    stats = blink_stats([track], FPS)
    assert stats["rate_per_min"] == pytest.approx(20.0)
    assert stats["duration_ms_p50"] == pytest.approx(4 / FPS * 1000, abs=1e-3)
    assert stats["peak_p50"] == pytest.approx(0.9)


def test_refractory_period_merges_a_flicker_and_a_lower_threshold_counts_shallow_blinks():
    track = blink_train(30.0, every_s=2.0, closed_frames=3, flicker=True)  # blinks at 1, 3, .., 29 s
    assert len(blink_events(track, FPS)[0]) == 15
    assert len(blink_events(track, FPS, refractory_s=0.0)[0]) == 30  # without it each flicker counts twice
    shallow = track * 0.5  # peaks at 0.45: no blink at 0.5, all of them at 0.3
    assert blink_stats([shallow], FPS)["blinks"] == 0
    assert blink_stats([shallow], FPS, threshold=0.3)["blinks"] == 15


def test_blinks_are_counted_per_track_and_a_closed_start_is_not_a_blink():
    track = blink_train(60.0, every_s=3.0, closed_frames=4)
    stats = blink_stats([track, track], FPS)
    assert stats["blinks"] == 40 and stats["minutes"] == pytest.approx(2.0)
    closed_at_start = np.r_[np.full(5, 0.9), np.zeros(100)]
    assert len(blink_events(closed_at_start, FPS)[0]) == 0
    assert blink_stats([np.zeros(30)], FPS)["duration_ms_p50"] is None


def frames_with(jaw: np.ndarray, close: np.ndarray, lips: float = 0.0) -> np.ndarray:
    frames = np.zeros((len(jaw), NUM_BLENDSHAPES))
    frames[:, INDEX["jawOpen"]], frames[:, INDEX["mouthClose"]] = jaw, close
    for name in ("mouthUpperUpLeft", "mouthUpperUpRight", "mouthLowerDownLeft", "mouthLowerDownRight"):
        frames[:, INDEX[name]] = lips
    return frames


def test_lip_shut_share_uses_the_lip_gap():
    jaw = np.array([0.0, 0.04, 0.3, 0.3, 0.5, 0.2, 0.1, 0.6])
    close = np.array([0.0, 0.0, 0.28, 0.0, 0.0, 0.0, 0.08, 0.1])
    # gaps: 0, .04, .02, .3, .5, .2, .02, .5 -> four under 0.05
    assert shut_share(frames_with(jaw, close), 0.05) == pytest.approx(0.5)
    assert shut_share(np.zeros((0, NUM_BLENDSHAPES)), 0.05) is None


def test_lip_to_jaw_ratio():
    frames = frames_with(np.full(10, 0.4), np.zeros(10), lips=0.1)
    assert lip_to_jaw_ratio(frames) == pytest.approx(0.25)
    assert lip_to_jaw_ratio(frames_with(np.zeros(5), np.zeros(5))) is None


def test_percentile_table_and_absent_channels():
    frames = np.zeros((101, NUM_BLENDSHAPES))
    frames[:, INDEX["jawOpen"]] = np.linspace(0, 1, 101)
    table = percentile_table(frames, (50, 95, 99))
    assert table["jawOpen"] == {"p50": 0.5, "p95": 0.95, "p99": 0.99}
    assert table["tongueOut"] == {"p50": 0.0, "p95": 0.0, "p99": 0.0}

    # A 2-channel take: the other 50 channels are absent (NaN) and report None, not 0.
    take = to_canonical(np.c_[np.linspace(0, 1, 101), np.zeros(101)], ["JawOpen", "MouthClose"])
    assert take.shape == (101, NUM_BLENDSHAPES)
    table = percentile_table(take)
    assert table["jawOpen"]["p95"] == 0.95 and table["tongueOut"] == {"p50": None, "p95": None}
    stats = summarize(take, 0.05)
    assert stats["tongue_out_p95"] is None and stats["brows_std"]["browInnerUp"] is None
    assert stats["lips_nearly_shut"] == pytest.approx(5 / 101, abs=1e-4)
    assert stats["lip_opening"] == {"p50": None, "p95": None}
