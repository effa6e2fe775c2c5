"""The "audio-to-blendshapes" pipeline: every accepted input form, options, errors, and equality with the
model + processor path it wraps."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch
from av_lipsync_helpers import SR, speechlike, tiny_model
from torchcodec.decoders import AudioDecoder
from transformers import pipeline
from transformers.pipelines import PIPELINE_REGISTRY

from avzoo import arkit
from avzoo.models.av_lipsync import AvLipsyncProcessor
from avzoo.pipelines.audio_to_blendshapes import TASK, AudioToBlendshapesPipeline
from avzoo.pretrained import path as pretrained_path


@pytest.fixture(scope="module")
def model():
    return tiny_model()


@pytest.fixture(scope="module")
def processor():
    return AvLipsyncProcessor()


@pytest.fixture(scope="module")
def pipe(model, processor):
    return pipeline(TASK, model=model, feature_extractor=processor)


@pytest.fixture(scope="module")
def stereo_44k() -> np.ndarray:
    """0.8 s of 44.1 kHz stereo, (samples, channels), channels differ."""
    return np.stack([speechlike(0.8, rate=44100), 0.5 * speechlike(0.8, rate=44100, seed=1)], axis=1)


@pytest.fixture(scope="module")
def wav_44k(tmp_path_factory, stereo_44k):
    path = tmp_path_factory.mktemp("audio") / "speech.wav"
    sf.write(path, stereo_44k, 44100, subtype="FLOAT")
    return path


def expected(model, processor, audio, rate, crisp_mouth=False, **emotion) -> np.ndarray:
    """The model + processor path the pipeline wraps."""
    inputs = processor(audio, sampling_rate=rate, **emotion)
    with torch.no_grad():
        out = model(**inputs)
    (track,) = processor.post_process_blendshapes(out, inputs["attention_mask"], crisp_mouth=crisp_mouth)
    return track


def test_the_task_is_registered_on_import():
    assert PIPELINE_REGISTRY.supported_tasks[TASK]["impl"] is AudioToBlendshapesPipeline


def test_output_keys_shape_names_and_fps(pipe):
    out = pipe(speechlike(1.0), sampling_rate=SR)
    assert set(out) == {"blendshapes", "names", "fps", "mode"}
    assert out["mode"] == "streaming"  # the tiny model has no offline refiner
    track = out["blendshapes"]
    assert isinstance(track, np.ndarray) and track.dtype == np.float32 and track.shape == (30, 52)
    assert track.min() >= 0 and track.max() <= 1
    assert out["names"] == list(arkit.ARKIT_NAMES)
    assert out["fps"] == 30.0


@pytest.mark.parametrize(
    ("emotion", "intensity", "crisp_mouth"),
    [(None, None, False), ("happy", "normal", True), ({"sad": 2, "angry": 1}, 0.3, {"sigma": 0.5})],
)
def test_equals_model_and_processor(pipe, model, processor, emotion, intensity, crisp_mouth):
    audio = speechlike(1.0)
    options = {"emotion": emotion, **({} if intensity is None else {"intensity": intensity})}
    out = pipe(audio, sampling_rate=SR, crisp_mouth=crisp_mouth, **options)
    np.testing.assert_array_equal(
        out["blendshapes"], expected(model, processor, audio, SR, crisp_mouth, **options)
    )


def test_array_at_another_rate_and_stereo(pipe, model, processor, stereo_44k):
    out = pipe(stereo_44k, sampling_rate=44100)
    want = expected(model, processor, stereo_44k, 44100)
    assert out["blendshapes"].shape == (24, 52)  # 0.8 s at 30 fps
    np.testing.assert_array_equal(out["blendshapes"], want)
    # Channels first, a tensor, integer PCM: the same audio, the same answer.
    np.testing.assert_array_equal(pipe(stereo_44k.T, sampling_rate=44100)["blendshapes"], want)
    np.testing.assert_array_equal(
        pipe(torch.from_numpy(stereo_44k), sampling_rate=44100)["blendshapes"], want
    )
    pcm = (speechlike(0.5) * 32767).astype(np.int16)
    np.testing.assert_allclose(
        pipe(pcm, sampling_rate=SR)["blendshapes"],
        expected(model, processor, pcm.astype(np.float32) / 32768, SR),
        atol=1e-5,
    )


def test_file_path_dicts_and_decoder_give_the_same_answer(pipe, model, processor, wav_44k, stereo_44k):
    want = expected(model, processor, stereo_44k, 44100)
    inputs = {
        "path": str(wav_44k),
        "pathlib": wav_44k,
        "array dict": {"array": stereo_44k, "sampling_rate": 44100},
        "raw dict": {"raw": stereo_44k, "sampling_rate": 44100},
        "bytes dict": {"path": "speech.wav", "bytes": wav_44k.read_bytes()},
        "path dict": {"path": str(wav_44k), "bytes": None},
        "AudioDecoder": AudioDecoder(str(wav_44k)),
    }
    for name, value in inputs.items():
        got = pipe(value)["blendshapes"]
        # A file goes through soundfile + soxr (load_audio), an array through the processor: the same audio.
        np.testing.assert_allclose(got, want, atol=1e-5, err_msg=name)


def test_a_list_of_inputs_gives_a_list_of_results(pipe, model, processor, wav_44k):
    short = speechlike(0.5, seed=2)
    results = pipe([str(wav_44k), {"array": short, "sampling_rate": SR}])
    assert isinstance(results, list) and len(results) == 2
    assert [r["blendshapes"].shape for r in results] == [(24, 52), (15, 52)]
    np.testing.assert_array_equal(results[1]["blendshapes"], expected(model, processor, short, SR))
    # Batched through the model: padding is trimmed off again and leaks nowhere.
    batched = pipe([speechlike(1.0), short], sampling_rate=SR, batch_size=2)
    assert [r["blendshapes"].shape for r in batched] == [(30, 52), (15, 52)]
    np.testing.assert_allclose(batched[1]["blendshapes"], results[1]["blendshapes"], atol=1e-6)
    happy = pipe([speechlike(1.0), short], sampling_rate=SR, batch_size=2, emotion="happy", intensity=0.7)
    np.testing.assert_allclose(
        happy[1]["blendshapes"],
        expected(model, processor, short, SR, emotion="happy", intensity=0.7),
        atol=1e-6,
    )


def test_an_array_needs_its_rate(pipe):
    with pytest.raises(ValueError, match="needs its rate"):
        pipe(speechlike(0.5))
    # A list is a batch of inputs, so a list of samples is a list of numbers: refused, one by one.
    with pytest.raises(ValueError, match="list given to the pipeline is a batch"):
        pipe(speechlike(0.5).tolist(), sampling_rate=SR)
    with pytest.raises(ValueError, match="needs 'sampling_rate'"):
        pipe({"array": speechlike(0.5)})


BAD = [
    ("silent", np.zeros(SR, np.float32), "digital silence"),
    ("nan", np.full(SR, np.nan, np.float32), "NaN"),
    ("empty", np.zeros(0, np.float32), "empty"),
    ("clipped", np.ones(SR, np.float32), "clipped"),
    ("unscaled PCM", np.full(SR, 300.0, np.float32), "peak magnitude"),
]


@pytest.mark.parametrize(("name", "audio", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_audio_is_a_value_error(pipe, tmp_path, name, audio, message):
    with pytest.raises(ValueError, match=message):
        pipe(audio, sampling_rate=SR)
    with pytest.raises(ValueError, match=message):
        pipe({"array": audio, "sampling_rate": SR})


def test_bad_files_inputs_and_options(pipe, tmp_path):
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(SR, np.float32), SR)
    with pytest.raises(ValueError, match="digital silence"):
        pipe(str(silent))
    with pytest.raises(ValueError, match="digital silence"):
        pipe({"path": "silent.wav", "bytes": silent.read_bytes()})
    with pytest.raises(ValueError, match="no such file"):
        pipe(str(tmp_path / "missing.wav"))
    (tmp_path / "noise.wav").write_bytes(b"not a wav file at all")
    with pytest.raises(ValueError, match="cannot read audio"):
        pipe(str(tmp_path / "noise.wav"))
    with pytest.raises(ValueError, match="single number"):
        pipe(3)
    with pytest.raises(ValueError, match="input must be"):
        pipe(object())
    with pytest.raises(ValueError, match="needs 'array' and 'sampling_rate', or 'path'"):
        pipe({"sampling_rate": SR})
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['emotions'\]"):
        pipe(speechlike(0.5), sampling_rate=SR, emotions="happy")
    with pytest.raises(ValueError, match="unknown emotion 'bored'"):
        pipe(speechlike(0.5), sampling_rate=SR, emotion="bored")
    with pytest.raises(ValueError, match="intensity"):
        pipe(speechlike(0.5), sampling_rate=SR, emotion="happy", intensity=3)
    with pytest.raises(ValueError, match=r"\[4000, 768000\]"):
        pipe(speechlike(0.5), sampling_rate=100)


def test_the_bundled_checkpoint_through_the_pipeline():
    folder = pretrained_path("av-lipsync")
    pipe = pipeline(TASK, model=str(folder))
    assert isinstance(pipe, AudioToBlendshapesPipeline) and isinstance(
        pipe.feature_extractor, AvLipsyncProcessor
    )
    audio = speechlike(1.0)
    out = pipe(audio, sampling_rate=SR, emotion="happy", intensity="normal", crisp_mouth=True)
    want = expected(
        pipe.model,
        AvLipsyncProcessor.from_pretrained(folder),
        audio,
        SR,
        True,
        emotion="happy",
        intensity="normal",
    )
    np.testing.assert_array_equal(out["blendshapes"], want)
    # The Hub id resolves offline from the cache that `import avzoo` seeds.
    by_id = pipeline(TASK, model="avzoo/av-lipsync")
    np.testing.assert_array_equal(
        by_id(audio, sampling_rate=SR, emotion="happy", intensity="normal", crisp_mouth=True)["blendshapes"],
        want,
    )


def test_mode_defaults_to_offline_where_the_model_has_it(processor):
    """A file is a whole utterance: the pipeline runs the offline refiner by default, streaming on request."""
    model = tiny_model(offline_dilations=[1, 2], offline_hidden_size=16)
    with torch.no_grad():
        model.offline.head.weight.normal_(0, 0.3)
    pipe = pipeline(TASK, model=model, feature_extractor=processor)
    audio = speechlike(1.2)
    inputs = processor(audio, sampling_rate=SR)
    for mode in ("offline", "streaming"):
        with torch.no_grad():
            out = model(**inputs, mode=mode)
        (want,) = processor.post_process_blendshapes(out, inputs["attention_mask"])
        got = pipe(audio, sampling_rate=SR, mode=mode)
        assert got["mode"] == mode
        np.testing.assert_allclose(got["blendshapes"], want, atol=1e-6)
    default = pipe(audio, sampling_rate=SR)
    assert default["mode"] == "offline"
    assert not np.allclose(
        default["blendshapes"], pipe(audio, sampling_rate=SR, mode="streaming")["blendshapes"]
    )


def test_mode_errors(pipe):
    with pytest.raises(ValueError, match="no offline quality mode"):
        pipe(speechlike(0.5), sampling_rate=SR, mode="offline")
    with pytest.raises(ValueError, match="mode must be one of"):
        pipe(speechlike(0.5), sampling_rate=SR, mode="best")
