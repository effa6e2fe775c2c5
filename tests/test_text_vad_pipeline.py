"""The "text-to-vad" pipeline and the text → av-lipsync condition track (tiny model; a fake scorer for timing)."""

from __future__ import annotations

import numpy as np
import pytest
from text_vad_helpers import tiny_model, tiny_processor
from transformers import pipeline

import avzoo  # noqa: F401  (registers the task)
from avzoo.models.av_lipsync import AvLipsyncProcessor
from avzoo.pipelines.text_to_vad import TASK, clause_spans, split_clauses, text_condition_track, text_emotion

DIMS = ("valence", "arousal", "dominance")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("text-vad")
    tiny_model().save_pretrained(folder)
    tiny_processor().save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def scorer(folder):
    return pipeline(TASK, model=str(folder))


class FakeScorer:
    """Happy for clauses that say "happy", sad for "sad", neutral otherwise; records what it was asked."""

    def __init__(self):
        self.seen: list[str] = []

    def __call__(self, text: str) -> dict:
        self.seen.append(text)
        label = "happy" if "happy" in text.lower() else "sad" if "sad" in text.lower() else "neutral"
        scores = {e: float(e == label) for e in AvLipsyncProcessor().emotion_labels}
        v = {"happy": 0.4, "sad": -0.4, "neutral": 0.0}[label]
        return {"valence": v, "arousal": 0.0, "dominance": 0.0, "emotion": label, "scores": scores}


def test_pipeline_returns_vad_and_emotion(scorer):
    out = scorer("I am so happy today")
    assert set(out) == {*DIMS, "emotion", "scores", "empty", "truncated"}
    assert all(-1 <= out[d] <= 1 for d in DIMS) and out["emotion"] in out["scores"]
    many = scorer(["we won", "we lost"])
    assert isinstance(many, list) and len(many) == 2


@pytest.mark.parametrize("text", ["", "   ", "🙂🎉", "!!!"])
def test_pipeline_wordless_text_is_neutral(scorer, text):
    out = scorer(text)
    assert out["empty"] and out["emotion"] == "neutral" and all(out[d] == 0.0 for d in DIMS)


def test_pipeline_non_english_and_long_text(scorer):
    for text in ("Je suis très heureux aujourd'hui", "今日はとても嬉しい", "Ich bin so traurig"):
        out = scorer(text)
        assert not out["empty"] and all(np.isfinite(out[d]) for d in DIMS)
    long = scorer("I am so happy today. " * 200)
    assert long["truncated"] and all(np.isfinite(long[d]) for d in DIMS)


def test_pipeline_rejects_bad_input(scorer):
    with pytest.raises(ValueError, match="needs a string"):
        scorer(None)
    with pytest.raises(ValueError, match="takes no options"):
        scorer("hello", emotion="happy")


def test_split_clauses():
    assert split_clauses("") == [] and split_clauses("🙂 ...") == []
    assert [c for c, _, _ in split_clauses("I was happy, but now I'm sad!")] == [
        "I was happy,",
        "but now I'm sad!",
    ]
    clauses = split_clauses("One two. Three four five? Six")
    assert [(a, b) for _, a, b in clauses] == [(0, 2), (2, 5), (5, 6)]


def test_clause_spans_follow_word_timings_or_word_counts():
    clauses = split_clauses("so happy. but sad now")
    assert clause_spans(clauses, 5.0) == [(0.0, 2.0), (2.0, 5.0)]
    timings = [("so", 0.1, 0.3), {"word": "happy", "start": 0.3, "end": 0.8}, ("but", 1.5, 1.7), ("sad", 1.7, 2.0),
               ("now", 2.0, 2.4)]  # fmt: skip
    assert clause_spans(clauses, 5.0, timings) == [(0.1, 0.8), (1.5, 2.4)]
    with pytest.raises(ValueError, match="start <= end"):
        clause_spans(clauses, 5.0, [("so", 1.0, 0.5)] * 5)


def test_condition_track_is_neutral_zeros_without_words():
    processor = AvLipsyncProcessor()
    for text in ("", "   ", "🙂🙂", "..."):
        track = text_condition_track(text, 45, 30, processor, model=FakeScorer())
        assert track.shape == (45, processor.condition_dim) and track.dtype == np.float32
        assert not track.any()
    assert text_condition_track("so happy", 0, 30, processor, model=FakeScorer()).shape == (0, 12)


def test_condition_track_follows_the_clauses_over_time():
    processor = AvLipsyncProcessor()
    happy, sad = processor.emotion_labels.index("happy"), processor.emotion_labels.index("sad")
    fake = FakeScorer()
    track = text_condition_track("I am so happy today. But now I am sad.", 90, 30, processor, model=fake)
    assert fake.seen == ["I am so happy today.", "But now I am sad."]
    assert np.isfinite(track).all()
    assert track[0, happy] == pytest.approx(1.0) and track[-1, sad] == pytest.approx(1.0)
    np.testing.assert_allclose(track[:, :8].sum(1), 1.0, atol=1e-5)  # probabilities stay a distribution
    assert 0 < track[44, happy] < 1  # cross-faded around the switch (5 of 10 words: frame 45)
    # with word timings the switch moves to where "But" is spoken (2.5 s = frame 75)
    words = ["I", "am", "so", "happy", "today", "But", "now", "I", "am", "sad"]
    timings = [(w, 0.2 * i, 0.2 * i + 0.2) for i, w in enumerate(words[:5])] + [
        (w, 2.5 + 0.1 * i, 2.6 + 0.1 * i) for i, w in enumerate(words[5:])
    ]
    timed = text_condition_track(
        "I am so happy today. But now I am sad.", 120, 30, processor, timings, model=FakeScorer()
    )
    assert timed[60, happy] == pytest.approx(1.0) and timed[90, sad] == pytest.approx(1.0)
    # the VAD entries blend the text's VAD with the emotion anchors (vad_weight=0.5)
    assert timed[0, 8] == pytest.approx(0.5 * 0.4 + 0.5 * processor.emotion_vad[happy][0], abs=1e-6)


def test_condition_track_long_text_and_bad_arguments():
    processor = AvLipsyncProcessor()
    track = text_condition_track("I am happy. I am sad. " * 100, 300, 30, processor, model=FakeScorer())
    assert track.shape == (300, 12) and np.isfinite(track).all()
    with pytest.raises(ValueError, match="text must be a string"):
        text_condition_track(None, 10, 30, processor, model=FakeScorer())
    with pytest.raises(ValueError, match="num_frames"):
        text_condition_track("hi", -1, 30, processor, model=FakeScorer())
    with pytest.raises(ValueError, match="fps"):
        text_condition_track("hi", 10, 0, processor, model=FakeScorer())
    with pytest.raises(ValueError, match="vad_weight"):
        text_condition_track("hi", 10, 30, processor, model=FakeScorer(), vad_weight=2)


def test_condition_track_with_a_real_tiny_model(folder):
    processor = AvLipsyncProcessor()
    track = text_condition_track("I am so happy. But I am sad", 30, 30, processor, model=str(folder))
    assert track.shape == (30, 12) and np.isfinite(track).all()
    assert np.all(np.abs(track[:, 8:11]) <= 1.0) and np.all(track[:, 11] == 1.0)


def test_text_emotion_is_a_clip_level_emotion_or_none(folder):
    assert text_emotion("🙂 !!", model=str(folder)) is None and text_emotion("", model=str(folder)) is None
    scores = text_emotion("I am so happy", model=str(folder))
    assert set(scores) == set(AvLipsyncProcessor().emotion_labels) and sum(scores.values()) == pytest.approx(
        1, abs=1e-5
    )
    AvLipsyncProcessor().condition_for(scores)  # what the audio-to-blendshapes pipeline does with emotion=
    with pytest.raises(ValueError, match="text must be a string"):
        text_emotion(None)
