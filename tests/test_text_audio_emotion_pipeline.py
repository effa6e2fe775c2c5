"""The "text-audio-emotion-classification" pipeline on a tiny saved folder: dict, keyword, file and list inputs,
missing modalities, the truncation reports, attention maps on request and the errors for unknown options/keys."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch
from text_audio_emotion_helpers import SR, speechlike, tiny_model, tiny_processor
from transformers import pipeline

import avzoo  # noqa: F401  (registers the task)
from avzoo.emotions import MELD_EMOTIONS
from avzoo.hub import save_model_folder
from avzoo.models.text_audio_emotion import TextAudioEmotionModel, TextAudioEmotionProcessor
from avzoo.pipelines.text_audio_emotion import TASK, TextAudioEmotionPipeline


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def processor() -> TextAudioEmotionProcessor:
    return tiny_processor(max_audio_seconds=1.0, max_text_length=8)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return save_model_folder(tiny_model(), tmp_path_factory.mktemp("pipe") / "tae", processor())


@pytest.fixture(scope="module")
def pipe(folder):
    return pipeline(TASK, model=str(folder))


def direct(text, audio, **kwargs) -> dict:
    """What the processor + model + post-processing give, without the pipeline."""
    proc = processor()
    inputs = proc(text, audio, sampling_rate=SR, **kwargs)
    with torch.no_grad():
        return proc.post_process_emotion(tiny_model()(**inputs), inputs)[0]


def assert_same_result(got: dict, expected: dict) -> None:
    assert got["label"] == expected["label"]
    assert list(got["scores"]) == list(expected["scores"])
    np.testing.assert_allclose(list(got["scores"].values()), list(expected["scores"].values()), atol=1e-6)
    for key in ("modalities", "text_truncated", "audio_truncated"):
        assert got[key] == expected[key], key


def test_the_task_loads_the_package_classes(pipe):
    assert isinstance(pipe, TextAudioEmotionPipeline)
    assert type(pipe.model) is TextAudioEmotionModel and type(pipe.processor) is TextAudioEmotionProcessor
    assert pipe.processor.max_audio_seconds == 1.0 and pipe.processor.max_text_length == 8


def test_dict_input_gives_what_the_parts_give(pipe):
    clip = speechlike(0.7, seed=2)
    got = pipe({"text": "i am so happy", "audio": clip, "sampling_rate": SR})
    assert set(got) == {"label", "scores", "modalities", "text_truncated", "audio_truncated"}
    assert got["label"] in MELD_EMOTIONS and sum(got["scores"].values()) == pytest.approx(1.0, abs=1e-5)
    assert got["modalities"] == ["text", "audio"]
    assert_same_result(got, direct("i am so happy", clip))
    as_value = pipe({"text": "i am so happy", "audio": {"array": clip, "sampling_rate": SR}})
    assert_same_result(as_value, got)


def test_keywords_and_a_file(pipe, tmp_path):
    clip = speechlike(0.6, seed=3)
    expected = direct("we lost", clip)
    assert_same_result(pipe(text="we lost", audio=clip, sampling_rate=SR), expected)
    path = tmp_path / "clip.wav"
    sf.write(path, clip, SR, subtype="FLOAT")
    assert_same_result(pipe({"text": "we lost", "audio": str(path)}), expected)
    assert_same_result(pipe(text="we lost", audio=path), expected)
    # a file at another rate is resampled
    sf.write(tmp_path / "clip44.wav", speechlike(0.6, seed=3, rate=44100), 44100, subtype="FLOAT")
    assert pipe({"text": "we lost", "audio": str(tmp_path / "clip44.wav")})["modalities"] == ["text", "audio"]


def test_missing_modalities_and_reports(pipe):
    assert pipe({"text": "i am so happy"})["modalities"] == ["text"]
    assert pipe("i am so happy")["modalities"] == ["text"]  # a bare string is the text
    assert pipe({"text": "🙂🙂", "audio": speechlike(0.5), "sampling_rate": SR})["modalities"] == ["audio"]
    assert pipe(audio=np.zeros(SR, np.float32), text="we won", sampling_rate=SR)["modalities"] == ["text"]
    # long inputs are cut, and the result says so (max 8 tokens, 1 s here)
    long_text = "i am so happy today and now everything is fine"
    got = pipe({"text": long_text, "audio": speechlike(1.6), "sampling_rate": SR})
    assert got["text_truncated"] is True and got["audio_truncated"] is True
    assert_same_result(got, direct(long_text, speechlike(1.6)))
    short = pipe({"text": "we won", "audio": speechlike(0.5), "sampling_rate": SR})
    assert short["text_truncated"] is False and short["audio_truncated"] is False


def test_a_list_of_inputs(pipe):
    items = [
        {"text": "i am so happy", "audio": speechlike(0.5, seed=1), "sampling_rate": SR},
        {"text": "", "audio": speechlike(0.4, seed=2), "sampling_rate": SR},
        {"text": "we lost"},
    ]
    out = pipe(items)
    assert isinstance(out, list) and len(out) == 3
    assert [r["modalities"] for r in out] == [["text", "audio"], ["audio"], ["text"]]
    assert_same_result(out[0], direct("i am so happy", speechlike(0.5, seed=1)))


def test_metadata_options_and_keys(pipe):
    clip = speechlike(0.5, seed=4)
    expected = direct("we won", clip, gender="female", age_group="senior")
    assert_same_result(
        pipe(text="we won", audio=clip, sampling_rate=SR, gender="female", age_group="senior"), expected
    )
    in_dict = {
        "text": "we won",
        "audio": clip,
        "sampling_rate": SR,
        "gender": "female",
        "age_group": "senior",
    }
    assert_same_result(pipe(in_dict), expected)
    # the input's own metadata wins over the call option
    assert_same_result(pipe(in_dict, gender="male"), expected)
    with pytest.raises(ValueError, match="gender must be one of"):
        pipe(text="we won", audio=clip, sampling_rate=SR, gender="robot")


def test_return_attentions(pipe):
    got = pipe(
        {"text": "i am so happy", "audio": speechlike(0.8), "sampling_rate": SR}, return_attentions=True
    )
    maps = got["attentions"]
    assert set(maps) == {"tokens", "words", "frame_times", "text_to_audio", "audio_to_text", "word_spans"}
    assert maps["tokens"] == ["[CLS]", "i", "am", "so", "happy", "[SEP]"]
    layers, heads, n_tokens, n_frames = maps["text_to_audio"].shape
    assert (layers, heads, n_tokens) == (1, 2, 6) and maps["audio_to_text"].shape == (1, 2, n_frames, 6)
    assert len(maps["frame_times"]) == n_frames and maps["frame_times"][-1] < 0.8
    assert [s["word"] for s in maps["word_spans"]] == ["i", "am", "so", "happy"]
    assert all(0 <= s["start"] < s["end"] <= 0.8 + 1e-6 for s in maps["word_spans"])
    assert "attentions" not in pipe({"text": "i am so happy", "audio": speechlike(0.8), "sampling_rate": SR})


def test_unknown_options_and_keys_are_errors(pipe):
    clip = speechlike(0.4)
    with pytest.raises(ValueError, match=r"options are .*got \['top_k'\]"):
        pipe({"text": "hi", "audio": clip, "sampling_rate": SR}, top_k=2)
    with pytest.raises(ValueError, match=r"unknown input keys \['speaker'\]"):
        pipe({"text": "hi", "audio": clip, "sampling_rate": SR, "speaker": "ann"})
    with pytest.raises(ValueError, match="not both"):
        pipe({"text": "hi"}, text="hi")
    with pytest.raises(ValueError, match="needs a dict with 'text' and/or 'audio'"):
        pipe(42)
    with pytest.raises(ValueError, match="neither words nor speech"):
        pipe({"text": "", "audio": np.zeros(SR, np.float32), "sampling_rate": SR})
    with pytest.raises(ValueError, match="sampling_rate is required"):
        pipe({"text": "hi", "audio": clip})
