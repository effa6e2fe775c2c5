"""text-audio-emotion processor: every bad-input rule of its docstring, speaker metadata, the post-processing into
emotions and readable attention maps, and the save/load round trip."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch
from text_audio_emotion_helpers import SR, speechlike, tiny_model, tiny_processor
from transformers import AutoProcessor, SeamlessM4TFeatureExtractor

from avzoo.emotions import MELD_EMOTIONS
from avzoo.models.text_audio_emotion import TextAudioEmotionProcessor, has_words


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def processor() -> TextAudioEmotionProcessor:
    return tiny_processor()


@pytest.fixture(scope="module")
def model():
    return tiny_model()


def results(processor, model, text, audio, **kwargs):
    inputs = processor(text, audio, **kwargs)
    with torch.no_grad():
        outputs = model(**inputs)
    return inputs, outputs, processor.post_process_emotion(outputs, inputs)


# --- missing modalities -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [None, "", "   ", "🙂🎉😡", "?!...", ["🙂"]])
def test_no_words_means_no_text(processor, model, text):
    inputs, outputs, (result,) = results(processor, model, text, speechlike(0.6), sampling_rate=SR)
    assert inputs["has_text"].tolist() == [False] and inputs["has_audio"].tolist() == [True]
    assert result["modalities"] == ["audio"] and not result["text_truncated"]
    assert inputs["input_ids"].shape[1] == 2  # [CLS] [SEP]: the emoji never reach the encoder
    assert torch.isfinite(outputs.logits).all()


@pytest.mark.parametrize(
    ("text", "words"), [("ok", True), ("日本語", True), ("42", True), ("🙂 !", False), (None, False)]
)
def test_has_words(text, words):
    assert has_words(text) is words


@pytest.mark.parametrize(
    "audio",
    [
        None,
        np.zeros(SR, np.float32),
        (0.0005 * np.random.default_rng(0).standard_normal(SR)).astype(np.float32),  # hiss, peak ~0.002
    ],
    ids=["none", "zeros", "hiss"],
)
def test_no_speech_means_no_audio(processor, model, audio):
    inputs, outputs, (result,) = results(processor, model, "i am so happy", audio, sampling_rate=SR)
    assert inputs["has_audio"].tolist() == [False] and inputs["has_text"].tolist() == [True]
    assert result["modalities"] == ["text"]
    assert torch.isfinite(outputs.logits).all()


def test_min_speech_peak_sets_the_line(model):
    quiet = 0.02 * speechlike(0.5) / np.abs(speechlike(0.5)).max()  # peak 0.02
    assert tiny_processor()("hi", quiet, sampling_rate=SR)["has_audio"].tolist() == [True]
    assert tiny_processor(min_speech_peak=0.05)("hi", quiet, sampling_rate=SR)["has_audio"].tolist() == [
        False
    ]


def test_both_missing_is_an_error(processor):
    with pytest.raises(ValueError, match=r"example\(s\) \[0\] have neither words nor speech"):
        processor("", np.zeros(SR, np.float32), sampling_rate=SR)
    with pytest.raises(ValueError, match="neither words nor speech"):
        processor(None, None)
    with pytest.raises(ValueError, match=r"example\(s\) \[1\]"):
        processor(["hi", "🙂"], [speechlike(0.3), None], sampling_rate=SR)


def test_a_batch_mixes_missing_and_present(processor, model):
    _, _, out = results(
        processor,
        model,
        ["i am so happy", "", "we lost"],
        [None, speechlike(0.5), speechlike(0.4)],
        sampling_rate=SR,
    )
    assert [r["modalities"] for r in out] == [["text"], ["audio"], ["text", "audio"]]


# --- audio formats ----------------------------------------------------------------------------------------------------


def test_stereo_is_downmixed(processor):
    left, right = speechlike(0.8, seed=1), speechlike(0.8, seed=2)
    mono = processor("hi", (left + right) / 2, sampling_rate=SR)["input_features"]
    for stereo in (np.stack([left, right]), np.stack([left, right], axis=1)):
        got = processor("hi", stereo, sampling_rate=SR)["input_features"]
        torch.testing.assert_close(got, mono, atol=1e-4, rtol=1e-4)


def test_other_rates_are_resampled(processor):
    at_16k = processor("hi", speechlike(1.0), sampling_rate=SR)
    at_44k = processor("hi", speechlike(1.0, rate=44100), sampling_rate=44100)
    assert at_44k["input_features"].shape == at_16k["input_features"].shape
    assert at_44k.audio_seconds == pytest.approx([1.0], abs=1e-3)
    as_dict = processor("hi", {"array": speechlike(1.0, rate=22050), "sampling_rate": 22050})
    assert as_dict["input_features"].shape == at_16k["input_features"].shape


def test_arrays_tensors_lists_and_files(processor, tmp_path):
    clip = speechlike(0.5)
    expected = processor("hi", clip, sampling_rate=SR)["input_features"]
    torch.testing.assert_close(
        processor("hi", torch.from_numpy(clip), sampling_rate=SR)["input_features"], expected
    )
    torch.testing.assert_close(processor("hi", clip.tolist(), sampling_rate=SR)["input_features"], expected)
    path = tmp_path / "clip.wav"
    sf.write(path, clip, SR, subtype="FLOAT")
    for source in (path, str(path)):
        torch.testing.assert_close(processor("hi", source)["input_features"], expected)
    two = processor(["hi", "we won"], [path, str(path)])  # a list of paths is a batch, not samples
    torch.testing.assert_close(two["input_features"], expected.expand(2, -1, -1))


@pytest.mark.parametrize(
    ("audio", "kwargs", "message"),
    [
        (np.full(SR, np.nan, np.float32), {"sampling_rate": SR}, "NaN|non-finite|finite"),
        (speechlike(0.5), {}, "sampling_rate is required"),
        ({"samples": speechlike(0.5)}, {}, "an audio dict needs 'array'"),
        (speechlike(0.5), {"sampling_rate": 1000}, "sampling"),
        (np.zeros(5, np.float32) + 0.1, {"sampling_rate": SR}, "too short"),
        ("/no/such/clip.wav", {}, "clip.wav"),
        (np.ones((2, 3, SR), np.float32), {"sampling_rate": SR}, "audio must be one item"),
    ],
    ids=["nan", "no-rate", "dict-without-array", "bad-rate", "too-short", "missing-file", "3-d"],
)
def test_bad_audio_is_a_value_error(processor, audio, kwargs, message):
    with pytest.raises(ValueError, match=message):
        processor("i am so happy", audio, **kwargs)


# --- limits -----------------------------------------------------------------------------------------------------------


def test_long_audio_is_truncated_and_reported(model):
    processor = tiny_processor(max_audio_seconds=1.0)
    long, short = speechlike(1.7, seed=4), speechlike(0.6, seed=5)
    inputs, _, out = results(processor, model, ["i am so happy", "we lost"], [long, short], sampling_rate=SR)
    assert inputs.audio_truncated == [True, False]
    assert inputs.audio_seconds == pytest.approx([1.0, 0.6])
    assert [r["audio_truncated"] for r in out] == [True, False]
    first_second = processor("i am so happy", long[:SR], sampling_rate=SR)
    n = first_second["input_features"].shape[1]
    assert int(inputs["audio_attention_mask"][0].sum()) == n
    torch.testing.assert_close(inputs["input_features"][0, :n], first_second["input_features"][0])


def test_long_text_is_truncated_and_reported(model):
    processor = tiny_processor(max_text_length=8)
    texts = ["i am so happy today and now everything is fine", "happy happy", "we lost"]
    inputs, _, out = results(processor, model, texts, speechlike(0.5), sampling_rate=SR)
    assert inputs["input_ids"].shape[1] == 8
    assert inputs.text_truncated == [True, False, False]  # "happy happy": 13 characters, but only 4 tokens
    assert [r["text_truncated"] for r in out] == [True, False, False]
    assert processor.tokenizer.convert_ids_to_tokens(inputs["input_ids"][0].tolist())[-1] == "[SEP]"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"emotion_labels": ["joy", "Joy"]}, "emotion_labels must be distinct"),
        ({"emotion_labels": []}, "emotion_labels must be distinct"),
        ({"max_text_length": 3}, "max_text_length must be an integer >= 4"),
        ({"max_text_length": 8.0}, "max_text_length must be an integer"),
        ({"max_audio_seconds": 0.1}, r"max_audio_seconds must be in \[0.5, 600\]"),
        ({"min_speech_peak": 0.5}, r"min_speech_peak must be in \[0, 0.5\)"),
    ],
)
def test_processor_rejects_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tiny_processor(**kwargs)


# --- metadata and batches ---------------------------------------------------------------------------------------------


def test_metadata_names_indices_and_none(processor):
    clips = [speechlike(0.3), speechlike(0.4)]
    inputs = processor(
        ["hi", "we won"],
        clips,
        sampling_rate=SR,
        gender=[" Female", None],
        age_group=[3, "young"],
        pitch_band="HIGH",
    )
    assert inputs["gender"].tolist() == [1, 0]
    assert inputs["age_group"].tolist() == [3, 1]
    assert inputs["pitch_band"].tolist() == [3, 3]  # one value for the whole batch
    unknown = processor(["hi", "we won"], clips, sampling_rate=SR)
    assert (
        unknown["gender"].tolist()
        == unknown["age_group"].tolist()
        == unknown["pitch_band"].tolist()
        == [0, 0]
    )
    assert processor("hi", clips[0], sampling_rate=SR, gender=np.int64(2))["gender"].tolist() == [2]
    assert processor("hi", clips[0], sampling_rate=SR, age_group=np.array([1]))["age_group"].tolist() == [1]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"gender": "robot"}, "gender must be one of"),
        ({"gender": 3}, "gender must be one of"),
        ({"age_group": -1}, "age_group must be one of"),
        ({"pitch_band": True}, "pitch_band must be one of"),
        ({"pitch_band": 1.5}, "pitch_band must be one of"),
        ({"gender": ["female", "male"]}, r"gender needs one value per example \(1\), got 2"),
    ],
)
def test_bad_metadata_is_a_value_error(processor, kwargs, message):
    with pytest.raises(ValueError, match=message):
        processor("hi", speechlike(0.3), sampling_rate=SR, **kwargs)


def test_batch_lengths_must_match(processor):
    with pytest.raises(ValueError, match="got 2 texts for 3 audio clips"):
        processor(["hi", "we won"], [speechlike(0.3)] * 3, sampling_rate=SR)
    with pytest.raises(ValueError, match="text must be one item or a non-empty list"):
        processor([], speechlike(0.3), sampling_rate=SR)
    with pytest.raises(ValueError, match="text must be"):
        processor(3, speechlike(0.3), sampling_rate=SR)
    # one text goes with every clip, one clip with every text
    assert processor("hi", [speechlike(0.3), speechlike(0.4)], sampling_rate=SR)["input_ids"].shape[0] == 2
    assert (
        processor(["hi", "we won", "ok"], speechlike(0.3), sampling_rate=SR)["input_features"].shape[0] == 3
    )


# --- out ---------------------------------------------------------------------------------------------------------------


def test_post_process_scores_and_label(processor, model):
    _, outputs, out = results(
        processor, model, ["i am so happy", "we lost", "terrible"], [speechlike(s, seed=s) for s in (1, 2, 3)],
        sampling_rate=SR,
    )  # fmt: skip
    probs = torch.softmax(outputs.logits, -1)
    for i, r in enumerate(out):
        assert list(r["scores"]) == list(MELD_EMOTIONS)
        assert sum(r["scores"].values()) == pytest.approx(1.0, abs=1e-5)
        assert r["label"] == max(r["scores"], key=r["scores"].get) == MELD_EMOTIONS[int(probs[i].argmax())]
        assert r["scores"][r["label"]] == pytest.approx(float(probs[i].max()))
    # a decisive logit wins
    logits = torch.zeros(1, 7)
    logits[0, 5] = 9.0
    (r,) = processor.post_process_emotion(type(outputs)(logits=logits))
    assert r["label"] == "sadness" and r["scores"]["sadness"] > 0.99 and "modalities" not in r
    with pytest.raises(ValueError, match="expected 7 logits, got 3"):
        processor.post_process_emotion(type(outputs)(logits=torch.zeros(1, 3)))
    with pytest.raises(ValueError, match="needs the processor's inputs"):
        processor.post_process_emotion(outputs, return_attentions=True)
    with pytest.raises(ValueError, match=r"outputs must have \.logits"):
        processor.post_process_emotion(object())


def test_attention_maps_are_readable(processor, model):
    inputs, outputs, _ = results(
        processor,
        model,
        ["i am so happy with dogs", "we lost"],
        [speechlike(1.0), speechlike(0.5)],
        sampling_rate=SR,
    )
    maps = processor.attention_maps(outputs, inputs, 0)
    assert maps["tokens"][0] == "[CLS]" and maps["tokens"][-1] == "[SEP]"
    assert "##s" in maps["tokens"]  # "dogs" → dog ##s
    # word pieces are merged back into words ("with" is w ##i ##t ##h in the tiny vocabulary)
    assert [w for w, _, _ in maps["words"]] == ["i", "am", "so", "happy", "with", "dogs"]
    for word, first, end in maps["words"]:
        assert "".join(t.removeprefix("##") for t in maps["tokens"][first:end]) == word
    n_tokens, n_frames = len(maps["tokens"]), int(inputs["audio_attention_mask"][0].sum())
    assert maps["text_to_audio"].shape == (1, 2, n_tokens, n_frames)
    assert maps["audio_to_text"].shape == (1, 2, n_frames, n_tokens)
    np.testing.assert_allclose(maps["text_to_audio"].sum(-1), 1.0, atol=1e-5)
    times = maps["frame_times"]
    assert len(times) == n_frames and (np.diff(times) > 0).all() and 0 < times[0] < times[-1] < 1.0
    assert len(maps["word_spans"]) == len(maps["words"])
    for span in maps["word_spans"]:
        assert 0 <= span["start"] < span["end"] <= 1.0 + 1e-6 and 0 < span["peak"] <= 1
    # the second example's maps are trimmed to its own tokens and frames
    second = processor.attention_maps(outputs, inputs, 1)
    assert second["tokens"] == ["[CLS]", "we", "lost", "[SEP]"]
    assert second["text_to_audio"].shape[-1] == int(inputs["audio_attention_mask"][1].sum())
    assert second["frame_times"][-1] < 0.5
    # without speech there is nothing to align
    inputs, outputs, _ = results(processor, model, "i am so happy", None)
    assert processor.attention_maps(outputs, inputs, 0)["word_spans"] == []
    # and post_process carries them on request
    (r,) = processor.post_process_emotion(outputs, inputs, return_attentions=True)
    assert set(r["attentions"]) == {
        "tokens",
        "words",
        "frame_times",
        "text_to_audio",
        "audio_to_text",
        "word_spans",
    }


def test_save_and_load_round_trip(tmp_path):
    import avzoo  # noqa: F401  (registers the processor with AutoProcessor)

    processor = tiny_processor(
        emotion_labels=["Calm", "angry", "sad"],
        max_text_length=40,
        max_audio_seconds=7.5,
        min_speech_peak=0.01,
    )
    assert processor.emotion_labels == ["calm", "angry", "sad"]
    processor.save_pretrained(tmp_path)
    for loaded in (
        TextAudioEmotionProcessor.from_pretrained(tmp_path),
        AutoProcessor.from_pretrained(tmp_path),
    ):
        assert type(loaded) is TextAudioEmotionProcessor
        assert loaded.emotion_labels == ["calm", "angry", "sad"]
        assert (
            loaded.max_text_length == 40
            and loaded.max_audio_seconds == 7.5
            and loaded.min_speech_peak == 0.01
        )
        assert (
            isinstance(loaded.feature_extractor, SeamlessM4TFeatureExtractor) and loaded.sampling_rate == SR
        )
        assert loaded.tokenizer.get_vocab() == processor.tokenizer.get_vocab()
        clip = speechlike(0.4)
        for key in ("input_ids", "input_features", "audio_attention_mask"):
            torch.testing.assert_close(
                loaded("i am so happy", clip, sampling_rate=SR)[key],
                processor("i am so happy", clip, sampling_rate=SR)[key],
            )
