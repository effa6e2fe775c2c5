import pytest

from avzoo.emotions import MELD_EMOTIONS, RAVDESS_EMOTIONS, to_meld, to_ravdess
from avzoo.synth.text import SARCASM_TONES, TextGenerator, normalise, sentence_split


def test_emotion_sets_and_mapping():
    assert len(RAVDESS_EMOTIONS) == 8 and len(MELD_EMOTIONS) == 7
    assert {to_meld(e) for e in RAVDESS_EMOTIONS} == set(MELD_EMOTIONS)
    assert to_ravdess("Joy") == "happy" and to_meld("calm") == "neutral"
    with pytest.raises(ValueError, match="unknown emotion"):
        to_ravdess("bored")


def test_deterministic_per_seed():
    a = [s.text for s in TextGenerator(3).batch(20)]
    b = [s.text for s in TextGenerator(3).batch(20)]
    c = [s.text for s in TextGenerator(4).batch(20)]
    assert a == b and a != c


def test_splits_never_share_sentences_and_match_hash():
    seen = {}
    for split in ("train", "validation", "test"):
        for s in TextGenerator(1).batch(200, split=split):
            assert s.split == split == sentence_split(s.text)
            seen.setdefault(normalise(s.text), set()).add(split)
    assert all(len(v) == 1 for v in seen.values())


@pytest.mark.parametrize("emotion", RAVDESS_EMOTIONS + MELD_EMOTIONS)
def test_every_emotion_has_sentences(emotion):
    s = TextGenerator(0).sample(emotion)
    assert s.emotion == to_ravdess(emotion) and len(s.text.split()) >= 3


def test_sarcasm_words_contradict_tone():
    gen = TextGenerator(0)
    for tone in SARCASM_TONES:
        s = gen.sample(tone, kind="sarcastic")
        assert s.kind == "sarcastic" and s.emotion == tone and s.text_emotion != tone
    with pytest.raises(ValueError, match="no sarcastic"):
        gen.sample("calm", kind="sarcastic")


def test_variety_is_large():
    texts = {s.text for s in TextGenerator(0).batch(2000)}
    assert len(texts) > 1800
