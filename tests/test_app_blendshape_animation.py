"""The blendshape-animation Space: the request without UI, its errors, performer styles, upper-face life and the
expression from a text, koemorph (which hears the emotion in the voice) and the comparison of both models,
gradio_client, the zoo tab, the Space folder, and the page in headless chromium. Uses tiny randomly initialised
av-lipsync and koemorph checkpoints; the text tests use the bundled text-vad, and those that measure the face the
bundled av-lipsync (they skip without it).

The request module (:mod:`avzoo.apps.blendshape_request`, ``req``) holds the settings read at call time
(``OUTPUT_ROOT``, ``TEXT_MODEL_DIR``), so the tests patch them there; everything else goes through the page module
(``ba``), which re-exports the request's public names."""

from __future__ import annotations

import math
import os
import runpy
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from browser import (  # noqa: F401
    LOOPBACK,
    chrome_fixture,
    free_port,
    open_gradio,
    screenshot_fixture,
    serve_blocks,
)
from koemorph_helpers import tiny_config, tiny_processor

from avzoo import emotions
from avzoo.animation.style import PerformerStyle, fit_style, load_style, model_fingerprint
from avzoo.apps import blendshape_animation as ba
from avzoo.apps import blendshape_request as req
from avzoo.apps import zoo
from avzoo.apps.registry import Family, family_status, get_family
from avzoo.arkit import ARKIT_NAMES, EXPRESSION, indices
from avzoo.io.audio import SILENCE_PEAK, save_audio
from avzoo.io.blendshape_json import from_json
from avzoo.io.livelink import read_livelink_csv, resample_blendshapes
from avzoo.io.video import read_video
from avzoo.models.av_lipsync import AvLipsyncConfig, AvLipsyncModel, AvLipsyncProcessor
from avzoo.models.koemorph import KoemorphModel

REPO = Path(__file__).resolve().parents[1]
SPACE = REPO / "spaces" / "blendshape-animation"
SR = 16000
EYES = indices(["eyeBlinkLeft", "eyeBlinkRight"])
#: Channels of the test styles: a "performer" whose jaw, lip closure and inner brows are a monotone function of
#: the model's.
STYLE_CHANNELS = ["jawOpen", "mouthClose", "browInnerUp"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """A tiny random av-lipsync checkpoint folder (config, safetensors, processor config)."""
    folder = tmp_path_factory.mktemp("av-lipsync")
    torch.manual_seed(0)
    config = AvLipsyncConfig(
        lipsync_hidden_size=16,
        lipsync_dilations=[1, 2],
        expression_hidden_size=8,
        expression_dilations=[1, 2],
    )
    model = AvLipsyncModel(config).eval()
    with torch.no_grad():  # untrained heads sit at the rest pose; spread them so curves move
        model.lipsync.head.bias.normal_(-1.0, 0.5)
        model.expression.head.bias.normal_(-1.0, 0.5)
    model.save_pretrained(folder)
    AvLipsyncProcessor().save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def predictors(model_dir) -> dict:
    return ba.load_predictors({"av-lipsync": model_dir, "koemorph": None})  # not a bundled koemorph


@pytest.fixture(scope="module")
def koemorph_dir(tmp_path_factory) -> Path:
    """A tiny random koemorph checkpoint folder (config, safetensors, processor config)."""
    folder = tmp_path_factory.mktemp("koemorph")
    torch.manual_seed(0)
    config = tiny_config()  # hidden 16, 2 heads, 16 mel frames of context, 2 + 2 queries, emotion_dim 16
    model = KoemorphModel(config).eval()
    with torch.no_grad():  # the untrained head sits at the rest pose; spread it so curves move
        model.output.bias.normal_(-1.0, 0.5)
    model.save_pretrained(folder)
    tiny_processor(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def both(model_dir, koemorph_dir) -> dict:
    """av-lipsync and koemorph, as the Space loads them once both checkpoints are there."""
    return ba.load_predictors({"av-lipsync": model_dir, "koemorph": koemorph_dir})


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory) -> Path:
    from avzoo.synth.speech import synthesize

    utt = synthesize("Hello there, nice to meet you.", voice="en-us+m3")
    return save_audio(tmp_path_factory.mktemp("speech") / "hello.wav", utt.audio, utt.sampling_rate)


@pytest.fixture
def bad_audio(tmp_path) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    t = np.arange(int(ba.MAX_SECONDS * SR + SR)) / SR
    files = {
        "silent": save_audio(tmp_path / "silent.wav", np.zeros(2 * SR, np.float32)),
        # below the processor's digital-silence peak (a 24-bit file keeps it)
        "near_silent": save_audio(
            tmp_path / "near-silent.wav",
            np.full(2 * SR, SILENCE_PEAK / 4, np.float32),
            subtype="PCM_24",
        ),
        "too_long": save_audio(tmp_path / "long.wav", (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)),
        "too_short": save_audio(
            tmp_path / "short.wav", (0.3 * rng.standard_normal(SR // 4)).astype(np.float32)
        ),
    }
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt " + rng.bytes(200))
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    return {**files, "corrupt": corrupt, "empty": empty}


@pytest.fixture(scope="module")
def paused_wav(speech_wav) -> Path:
    """The speech clip, half a second of silence, the clip again (3.7 s): long enough for a style fit (50 frames)
    and, with seed 0, for a blink."""
    audio, rate = sf.read(speech_wav, dtype="float32")
    pause = np.zeros(rate // 2, np.float32)
    return save_audio(
        speech_wav.with_name("hello-pause-hello.wav"), np.concatenate([audio, pause, audio]), rate
    )


@pytest.fixture(scope="module")
def style_files(predictors, paused_wav, tmp_path_factory) -> dict[str, Path]:
    """Performer-style JSON files for the test checkpoint: ``good`` (fitted on its own output against a
    transformed copy, tied to its weights), ``foreign`` (the same curves tied to other weights), and two files
    that are not styles (``not_json``, ``not_style``)."""
    predict = predictors["av-lipsync"]
    out = predict(ba.read_speech(paused_wav), "happy", 0.8)
    track, fps = np.asarray(out["blendshapes"]), out["fps"]
    take = 0.05 + 0.5 * track[:, indices(STYLE_CHANNELS)] ** 2
    style = fit_style(track, take, STYLE_CHANNELS, fps, fit_delay=False)
    mine = PerformerStyle(
        **{
            **style.__dict__,
            "model_type": predict.model.config.model_type,
            "model_fingerprint": model_fingerprint(predict.model),
        }
    )
    folder = tmp_path_factory.mktemp("styles")
    not_json = folder / "notes.json"
    not_json.write_text("jawOpen: more, please\n")
    not_style = folder / "settings.json"
    not_style.write_text('{"theme": "dark"}')
    return {
        "good": mine.save(folder / "me.json"),
        "foreign": PerformerStyle(**{**mine.__dict__, "model_fingerprint": "0123456789abcdef"}).save(
            folder / "someone-else.json"
        ),
        "not_json": not_json,
        "not_style": not_style,
    }


# --- the request without UI -------------------------------------------------------------------------


def test_animate_makes_a_playable_video_with_audio_and_matching_files(predictors, speech_wav, tmp_path):
    result = ba.animate(
        speech_wav,
        "happy",
        0.8,
        predictor=predictors["av-lipsync"],
        identity_seed=3,
        channels=["jawOpen", "BrowInnerUp"],
        out_dir=tmp_path,
    )
    duration = result.seconds
    n = len(result.blendshapes)
    assert result.blendshapes.shape == (n, 52) and result.blendshapes.dtype == np.float32
    assert result.fps == 30.0
    assert abs(n - duration * result.fps) <= 1
    assert result.blendshapes.min() >= 0.0 and result.blendshapes.max() <= 1.0

    clip = read_video(result.video)
    assert result.video.suffix == ".mp4"
    assert clip.fps == pytest.approx(30.0)
    assert abs(clip.num_frames - duration * 30) <= 1
    assert (clip.height, clip.width) == (ba.VIDEO_SIZE, ba.VIDEO_SIZE)
    assert clip.audio is not None
    assert abs(len(clip.audio) / SR - duration) < 0.1
    assert np.sqrt(np.mean(clip.audio**2)) > 0.01  # the speech is in there, not silence
    assert clip.frames.std(axis=0).max() > 0  # the face moves

    take = read_livelink_csv(result.livelink_csv)
    assert take.fps == pytest.approx(60.0)
    assert len(take) == 2 * n - 1
    np.testing.assert_array_equal(take.blendshapes, resample_blendshapes(result.blendshapes, 30, 60))
    np.testing.assert_array_equal(resample_blendshapes(take.blendshapes, 60, 30), result.blendshapes)
    header = result.livelink_csv.read_text().splitlines()[0].split(",")
    assert header[:3] == ["Timecode", "BlendshapeCount", "EyeBlinkLeft"] and len(header) == 63

    values, fps = from_json(result.json)
    assert fps == 30
    np.testing.assert_array_equal(values, result.blendshapes)

    curves = result.curves
    assert list(curves.columns) == ["time", "channel", "value"]
    assert list(dict.fromkeys(curves["channel"])) == ["jawOpen", "browInnerUp"]
    jaw = curves[curves["channel"] == "jawOpen"]
    np.testing.assert_allclose(jaw["value"], result.blendshapes[:, ARKIT_NAMES.index("jawOpen")], rtol=1e-6)
    np.testing.assert_allclose(jaw["time"], np.arange(n) / 30)
    assert "happy" in result.summary() and f"{n} frames" in result.summary()


def test_the_app_runs_the_pipeline_with_the_processors_mouth_filter(
    predictors, model_dir, speech_wav, tmp_path
):
    from transformers import pipeline

    predict = predictors["av-lipsync"]
    assert isinstance(predict, ba.PipelinePredictor) and predict.pipeline.task == "audio-to-blendshapes"
    result = ba.animate(speech_wav, "sad", "normal", predictor=predict, out_dir=tmp_path)
    assert result.intensity == emotions.INTENSITY_VALUES["normal"]
    pipe = pipeline("audio-to-blendshapes", model=str(model_dir))
    expected = pipe(str(speech_wav), emotion="sad", intensity="normal", crisp_mouth=True)
    np.testing.assert_allclose(result.blendshapes, expected["blendshapes"], atol=1e-6)
    assert result.fps == expected["fps"] == predict.processor.fps
    raw = pipe(str(speech_wav), emotion="sad", intensity="normal")["blendshapes"]
    assert np.abs(raw - result.blendshapes).max() > 1e-4  # the mouth filter ran


def test_emotion_and_intensity_reach_the_expression_channels(predictors, speech_wav, tmp_path):
    predict = predictors["av-lipsync"]
    audio = ba.read_speech(speech_wav)
    expr = indices(EXPRESSION)
    happy = predict(audio, "happy", 1.0)["blendshapes"]
    angry = predict(audio, "angry", 1.0)["blendshapes"]
    mild = predict(audio, "angry", ba.check_intensity("normal"))["blendshapes"]
    assert happy.shape == angry.shape == (len(happy), 52)
    assert np.abs(happy[:, expr] - angry[:, expr]).max() > 1e-4
    assert np.abs(mild[:, expr] - angry[:, expr]).max() > 1e-6


def test_other_rates_and_arrays_are_accepted(predictors, tmp_path):
    t = np.arange(int(1.5 * 44100)) / 44100
    stereo = 0.3 * np.stack([np.sin(2 * np.pi * 180 * t), np.sin(2 * np.pi * 240 * t)], axis=1)
    path = tmp_path / "stereo.flac"
    sf.write(path, stereo.astype(np.float32), 44100)  # save_audio writes mono only
    from_file = ba.animate(path, "calm", "strong", predictor=predictors["av-lipsync"], out_dir=tmp_path / "a")
    from_array = ba.animate(
        (stereo.T.astype(np.float32), 44100),
        "Calm",
        1.0,
        predictor=predictors["av-lipsync"],
        out_dir=tmp_path / "b",
    )
    assert len(from_file.blendshapes) == len(from_array.blendshapes) == 45
    assert from_file.intensity == 1.0 and from_array.emotion == "calm"


def test_a_performer_style_is_applied_as_the_pipeline_applies_it(
    predictors, model_dir, paused_wav, style_files, tmp_path
):
    from transformers import pipeline

    predict = predictors["av-lipsync"]
    plain = ba.animate(paused_wav, "happy", 0.8, predictor=predict, out_dir=tmp_path / "plain")
    styled = ba.animate(
        paused_wav, "happy", 0.8, predictor=predict, out_dir=tmp_path / "styled", style=style_files["good"]
    )
    channels = indices(STYLE_CHANNELS)
    assert np.abs(styled.blendshapes[:, channels] - plain.blendshapes[:, channels]).max() > 0.05
    others = np.setdiff1d(np.arange(52), channels)
    np.testing.assert_array_equal(styled.blendshapes[:, others], plain.blendshapes[:, others])
    pipe = pipeline("audio-to-blendshapes", model=str(model_dir))
    expected = pipe(
        str(paused_wav), emotion="happy", intensity=0.8, crisp_mouth=True, style=style_files["good"]
    )
    np.testing.assert_allclose(styled.blendshapes, expected["blendshapes"], atol=1e-6)
    # the files and the summary follow the styled track
    np.testing.assert_allclose(from_json(styled.json)[0], styled.blendshapes, atol=1e-6)
    assert styled.style == "'me.json'" and "style 'me.json'" in styled.summary()
    assert plain.style is None and "style" not in plain.summary()
    # a loaded style or its dict work the same as the file
    for given in (load_style(style_files["good"]), load_style(style_files["good"]).to_dict()):
        again = ba.animate(
            paused_wav, "happy", 0.8, predictor=predict, out_dir=tmp_path / "again", style=given
        )
        np.testing.assert_array_equal(again.blendshapes, styled.blendshapes)
        assert again.style == "(custom)"


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("foreign", r"^style file 'someone-else\.json': this style was fitted on other weights"),
        ("not_json", r"^style file 'notes\.json' is not JSON \("),
        ("not_style", r"^style file 'settings\.json': not a performer style .*avzoo calibrate"),
        ("missing", r"^style file 'gone\.json' does not exist$"),
    ],
)
def test_a_bad_style_file_gets_a_clear_error_before_the_audio_is_read(predictors, style_files, case, message):
    path = style_files.get(case, style_files["good"].with_name("gone.json"))
    # the audio file does not exist either: the style's error comes first
    with pytest.raises(ValueError, match=message) as info:
        ba.animate("never-read.wav", predictor=predictors["av-lipsync"], style=path)
    assert str(path.parent) not in str(info.value)
    with pytest.raises(ValueError, match=message):
        ba.read_style(str(path), predictors["av-lipsync"])


def test_a_style_for_another_model_type_is_refused(predictors, style_files):
    other = PerformerStyle(
        **{**load_style(style_files["good"]).__dict__, "model_type": "koemorph", "model_fingerprint": None}
    )
    with pytest.raises(ValueError, match=r"^the performer style: this style was fitted on a koemorph model"):
        ba.read_style(other, predictors["av-lipsync"])
    assert ba.read_style(None) is None and ba.read_style("") is None


def test_upper_face_life_blinks_reproducibly_and_only_when_asked(predictors, paused_wav, tmp_path):
    predict = predictors["av-lipsync"]
    off = ba.animate(paused_wav, "happy", 0.8, predictor=predict, out_dir=tmp_path / "off")
    assert (
        ba.animate(paused_wav, predictor=predict, out_dir=tmp_path / "none", life=None).life is False
    )  # None: the API default, off
    on = ba.animate(paused_wav, "happy", 0.8, predictor=predict, out_dir=tmp_path / "on", life=True)
    again = ba.animate(paused_wav, "happy", 0.8, predictor=predict, out_dir=tmp_path / "again", life=True)
    assert np.abs(on.blendshapes[:, EYES] - off.blendshapes[:, EYES]).max() > 0.3  # a blink
    assert (on.blendshapes[:, EYES] >= off.blendshapes[:, EYES]).all()  # life never lowers a value
    np.testing.assert_array_equal(on.blendshapes, again.blendshapes)  # True is seed 0: reproducible
    mouth = indices(["jawOpen", "mouthClose", "mouthFunnel"])
    np.testing.assert_array_equal(on.blendshapes[:, mouth], off.blendshapes[:, mouth])
    assert "upper-face life" in on.summary() and "life" not in off.summary()
    seeded = ba.animate(paused_wav, "happy", 0.8, predictor=predict, out_dir=tmp_path / "seeded", life=0)
    np.testing.assert_array_equal(seeded.blendshapes[:, EYES], on.blendshapes[:, EYES])


def test_a_predictor_without_the_options_is_refused_only_when_they_are_used(
    speech_wav, style_files, tmp_path
):
    def plain(audio, emotion, intensity):
        return _fake_predictor(audio, emotion, intensity)

    assert len(ba.animate(speech_wav, predictor=plain, size=64, out_dir=tmp_path).blendshapes) > 0
    with pytest.raises(ValueError, match=r"model 'plain' does not support upper-face life"):
        ba.animate(speech_wav, predictor=plain, model="plain", life=True)
    with pytest.raises(ValueError, match=r"model 'plain' does not support a performer style"):
        ba.animate(speech_wav, predictor=plain, model="plain", style=style_files["good"])


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("silent", r"silent \(all zeros\)"),
        ("near_silent", r"silent"),
        ("too_long", r"61\.00 s long; at most 60 s"),
        ("too_short", r"0\.25 s long; it must be 0\.6 to 60 s"),
        ("corrupt", r"unreadable or corrupt"),
        ("empty", r"the file is empty"),
    ],
)
def test_bad_audio_gets_a_clear_error_without_server_paths(predictors, bad_audio, case, message):
    with pytest.raises(ValueError, match=message) as info:
        ba.animate(bad_audio[case], "happy", 0.5, predictor=predictors["av-lipsync"])
    assert str(bad_audio[case].parent) not in str(info.value)
    assert bad_audio[case].name in str(info.value)


@pytest.mark.parametrize("case", ["too_long", "too_short", "corrupt", "empty", "silent"])
def test_bad_audio_names_the_upload_once(predictors, bad_audio, case):
    with pytest.raises(ValueError) as info:
        ba.read_speech(bad_audio[case])
    message = str(info.value)
    assert message.count(bad_audio[case].name) == 1, message
    assert "audio file audio file" not in message and str(bad_audio[case].parent) not in message


def test_a_long_m4a_is_refused_from_its_header_before_decoding(tmp_path, monkeypatch):
    """20 minutes of .m4a used to be decoded in full (~0.9 GB for 48 kHz stereo) before the 60 s check."""
    import shutil
    import subprocess
    import time

    import av

    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg not installed")
    piece, path = tmp_path / "piece.m4a", tmp_path / "long.m4a"
    run = ["ffmpeg", "-loglevel", "error", "-y"]
    subprocess.run(
        [*run, "-f", "lavfi", "-i", "sine=frequency=220:duration=2", "-c:a", "aac", str(piece)], check=True
    )
    # 20 minutes in a fraction of a second: the 2 s piece repeated without re-encoding
    subprocess.run([*run, "-stream_loop", "599", "-i", str(piece), "-c", "copy", str(path)], check=True)

    def no_decoding(*args, **kwargs):
        raise AssertionError("the long file was decoded")

    def no_prediction(*args):
        raise AssertionError("the model ran")

    monkeypatch.setattr(av, "AudioResampler", no_decoding)
    start = time.perf_counter()
    with pytest.raises(
        ValueError, match=r"^audio file 'long\.m4a' is 1\d{3}\.\d\d s long; at most 60 s is accepted"
    ):
        ba.animate(path, predictor=no_prediction)
    assert time.perf_counter() - start < 1.0


def test_quiet_speech_is_animated_only_digital_silence_is_refused(predictors, speech_wav, tmp_path):
    audio, rate = sf.read(speech_wav, dtype="float32")
    quiet = save_audio(tmp_path / "quiet.wav", audio * (10 ** (-65 / 20) / np.abs(audio).max()), rate)
    result = ba.animate(quiet, predictor=predictors["av-lipsync"], out_dir=tmp_path / "out")
    assert len(result.blendshapes) > 0 and np.abs(result.audio).max() > SILENCE_PEAK


def test_predictor_runs_torch_single_threaded_and_restores_the_setting(predictors, speech_wav):
    seen = []
    predict = predictors["av-lipsync"]
    hook = predict.model.register_forward_pre_hook(lambda *_: seen.append(torch.get_num_threads()))
    before = torch.get_num_threads()
    try:
        predict(ba.read_speech(speech_wav), "neutral", 0.0)
        with ba.torch_threads(None):
            assert torch.get_num_threads() == before
    finally:
        hook.remove()
    assert seen == [1]
    assert torch.get_num_threads() == before


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"audio": None}, r"no audio: upload a speech file or record"),
        ({"audio": ""}, r"no audio"),
        ({"emotion": "joyful"}, r"unknown emotion 'joyful'; choose one of neutral, calm, happy"),
        ({"intensity": 1.5}, r"intensity must be a number in \[0, 1\]"),
        ({"intensity": "very"}, r"intensity must be a number in \[0, 1\] or 'normal'/'strong'"),
        ({"identity_seed": -1}, r"face seed must be a whole number in \[0, 2147483647\]"),
        ({"identity_seed": 2.5}, r"face seed must be a whole number"),
        ({"channels": ["jawOpen", "noseWiggle"]}, r"unknown ARKit blendshape name 'noseWiggle'"),
        ({"size": 8}, r"size must be a whole number of pixels in \[64, 1024\]"),
        ({"life": 0.5}, r"life must be True/False or a whole-number seed"),
        ({"life": "yes"}, r"life must be True/False or a whole-number seed"),
        ({"style": 3}, r"style must be a path, a dict or a PerformerStyle, got int"),
        ({"text": 42}, r"text must be a string \(the sentence being spoken\) or None, got int"),
        ({"text": b"so happy"}, r"text must be a string .* got bytes"),
        ({"text": ["so", "happy"]}, r"text must be a string .* got list"),
        ({"text": "ha " * 1000}, r"the text is 3000 characters long; at most 2000 are accepted"),
        # a text replaces the emotion, but a wrong emotion name is still refused
        ({"text": "I'm so happy!", "emotion": "joyful"}, r"unknown emotion 'joyful'"),
    ],
)
def test_bad_arguments_get_a_clear_error(predictors, speech_wav, kwargs, message):
    args = {"audio": speech_wav, "emotion": "happy", "intensity": 0.5, **kwargs}
    with pytest.raises(ValueError, match=message):
        ba.animate(predictor=predictors["av-lipsync"], **args)


def test_a_model_returning_garbage_is_reported_not_passed_on(speech_wav):
    def returns(**out):
        return lambda a, e, i: {"names": list(ARKIT_NAMES), "fps": 30.0, **out}

    with pytest.raises(RuntimeError, match=r"returned shape \(10, 51\), expected \(frames, 52\)"):
        ba.animate(speech_wav, predictor=returns(blendshapes=np.zeros((10, 51))), model="broken")
    with pytest.raises(RuntimeError, match="NaN/inf"):
        ba.animate(speech_wav, predictor=returns(blendshapes=np.full((10, 52), np.nan)), model="broken")
    with pytest.raises(RuntimeError, match=r"returned ndarray, expected the audio-to-blendshapes pipeline's"):
        ba.animate(speech_wav, predictor=lambda a, e, i: np.zeros((10, 52)), model="broken")
    with pytest.raises(RuntimeError, match=r"returned frame rate 0"):
        ba.animate(speech_wav, predictor=returns(blendshapes=np.zeros((10, 52)), fps=0), model="broken")
    names = [*ARKIT_NAMES[:51], "noseWiggle"]
    with pytest.raises(RuntimeError, match=r"unknown channel names.*noseWiggle"):
        ba.animate(speech_wav, predictor=returns(blendshapes=np.zeros((10, 52)), names=names), model="broken")


def test_frame_rate_and_channel_order_come_from_the_models_output(speech_wav, tmp_path):
    """A model at 25 fps with its channels in alphabetical order: files, video and curves follow its output."""
    rng = np.random.default_rng(0)
    canonical = rng.uniform(0, 1, (40, 52)).astype(np.float32)
    order = sorted(ARKIT_NAMES)
    alphabetical = canonical[:, [ARKIT_NAMES.index(n) for n in order]]

    def predictor(audio, emotion, intensity):
        return {"blendshapes": alphabetical, "names": order, "fps": 25.0}

    result = ba.animate(speech_wav, predictor=predictor, model="other", size=64, out_dir=tmp_path)
    assert result.fps == 25.0
    np.testing.assert_array_equal(result.blendshapes, canonical)
    values, fps = from_json(result.json)
    assert fps == 25 and np.allclose(values, canonical, atol=1e-6)
    assert read_video(result.video).fps == pytest.approx(25.0)
    assert len(read_livelink_csv(result.livelink_csv)) == len(resample_blendshapes(canonical, 25, 60))
    jaw = result.curves[result.curves["channel"] == "jawOpen"]
    np.testing.assert_allclose(jaw["time"], np.arange(40) / 25)


def test_default_output_folders_are_fresh_and_old_ones_swept(predictors, speech_wav, tmp_path, monkeypatch):
    monkeypatch.setattr(req, "OUTPUT_ROOT", tmp_path / "root")
    example = ba.example_audio()
    assert example is not None and example.parent == tmp_path / "root" / "examples"
    assert len(ba.read_speech(example)) > SR
    old = tmp_path / "root" / "requests" / "old"
    old.mkdir(parents=True)
    stale = 2 * ba.OUTPUT_MAX_AGE_S
    os.utime(old, (old.stat().st_atime - stale, old.stat().st_mtime - stale))
    os.utime(example, (example.stat().st_atime - stale, example.stat().st_mtime - stale))
    first = ba.animate(speech_wav, predictor=predictors["av-lipsync"])
    second = ba.animate(speech_wav, predictor=predictors["av-lipsync"])
    assert first.video.parent != second.video.parent
    assert first.video.parent.parent == tmp_path / "root" / "requests"
    assert not old.exists() and first.video.is_file()
    assert ba.example_audio() == example and example.is_file()


def test_load_predictors_explains_missing_checkpoints(model_dir, tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"is not a av-lipsync checkpoint folder"):
        ba.load_predictors(tmp_path / "nowhere")
    with pytest.raises(ValueError, match=r"unknown model\(s\) \['nope'\]"):
        ba.load_predictors({"nope": model_dir})
    with pytest.raises(ValueError, match=r"holds a av-lipsync checkpoint, not koemorph"):
        ba.load_predictors({"koemorph": model_dir})
    monkeypatch.setitem(ba.DEFAULT_MODEL_DIRS, "av-lipsync", tmp_path / "not-bundled")
    monkeypatch.setitem(ba.DEFAULT_MODEL_DIRS, "koemorph", tmp_path / "not-bundled-either")
    with pytest.raises(
        ValueError, match=r"no model checkpoint found \(looked in .*not-bundled, .*not-bundled-either\)"
    ):
        ba.load_predictors()
    assert list(ba.load_predictors({"av-lipsync": model_dir})) == ["av-lipsync"]
    with pytest.raises(ValueError, match=r"no model checkpoint found"):  # None leaves a model out
        ba.load_predictors({"av-lipsync": None})


# --- koemorph and the comparison ------------------------------------------------------------------


def test_koemorph_takes_no_emotion_and_has_no_mouth_filter(both, koemorph_dir, speech_wav):
    from transformers import pipeline

    av, km = both["av-lipsync"], both["koemorph"]
    assert list(both) == ["av-lipsync", "koemorph"]  # the registry's order: the dropdown's
    assert ba.takes_emotion(av) and av.crisp_mouth is True
    assert not ba.takes_emotion(km) and km.crisp_mouth is False
    assert ba.takes_emotion(_fake_predictor)  # a plain callable counts as taking one
    audio = ba.read_speech(speech_wav)
    out = km(audio, None, None, life=True)
    pipe = pipeline("audio-to-blendshapes", model=str(koemorph_dir))
    np.testing.assert_allclose(
        out["blendshapes"], pipe(audio, sampling_rate=SR, life=True)["blendshapes"], atol=1e-6
    )
    assert "mode" not in out and out["fps"] == 30.0
    with pytest.raises(
        ValueError, match=r"^koemorph hears the emotion in the voice; it takes no emotion or intensity$"
    ):
        km(audio, "happy", 0.8)
    with pytest.raises(ValueError, match=r"^koemorph has no crisp_mouth filter; leave crisp_mouth unset$"):
        ba.PipelinePredictor(koemorph_dir, crisp_mouth=True)
    assert ba.PipelinePredictor(koemorph_dir, crisp_mouth=False).crisp_mouth is False


def test_animate_with_koemorph_hears_the_emotion_in_the_voice(both, speech_wav, tmp_path):
    km = both["koemorph"]
    result = ba.animate(
        speech_wav, predictor=km, model="koemorph", identity_seed=3, out_dir=tmp_path, life=True
    )
    assert result.emotion is None and result.intensity is None and result.mode is None and result.text is None
    expected = km(result.audio, None, None, life=True)["blendshapes"]
    np.testing.assert_allclose(result.blendshapes, np.clip(expected, 0, 1), atol=1e-6)
    assert result.blendshapes.std(axis=0).max() > 1e-3  # the tiny model's curves move
    assert result.video.name == "koemorph-voice.mp4" and result.json.name == "koemorph-voice-blendshapes.json"
    assert read_video(result.video).audio is not None
    summary = result.summary()
    assert "frames with **koemorph** (emotion from the voice, face #3, upper-face life)." in summary
    assert "intensity" not in summary and "mode" not in summary
    # a blank text is no text
    blank = ba.animate(
        speech_wav,
        predictor=km,
        model="koemorph",
        identity_seed=3,
        text=" \n",
        life=True,
        out_dir=tmp_path / "b",
    )
    np.testing.assert_array_equal(blank.blendshapes, result.blendshapes)


@pytest.mark.parametrize(
    ("kwargs", "got"),
    [
        ({"emotion": "happy"}, "emotion 'happy'"),
        ({"intensity": 0.5}, "intensity 0.5"),
        ({"text": "I'm so happy!"}, "a text"),
        ({"emotion": "neutral", "intensity": "strong"}, "emotion 'neutral', intensity 'strong'"),
    ],
)
def test_an_emotion_for_koemorph_is_refused_before_the_audio_is_read(both, kwargs, got):
    """The Python API refuses what koemorph cannot use rather than dropping it (the page disables those controls
    and its /animate does not pass them on)."""
    with pytest.raises(ValueError) as info:
        ba.animate("never-read.wav", predictor=both["koemorph"], model="koemorph", **kwargs)
    assert str(info.value) == (
        f"model 'koemorph' hears the emotion in the voice and takes no emotion, intensity or text (got {got}); "
        "leave them unset"
    )


def test_compare_runs_both_models_on_the_same_audio_and_face(both, paused_wav, style_files, tmp_path):
    channels = ["jawOpen", "browInnerUp"]
    common = {"identity_seed": 3, "channels": channels, "life": True, "size": 64}
    results = ba.compare(
        paused_wav, "sad", 0.6, predictors=both, out_dir=tmp_path, style=style_files["good"], **common
    )
    assert list(results) == ["av-lipsync", "koemorph"]
    av, km = results["av-lipsync"], results["koemorph"]
    # Each is what animate gives alone: av-lipsync with the emotion and the style fitted on it, koemorph without.
    alone_av = ba.animate(
        paused_wav,
        "sad",
        0.6,
        predictor=both["av-lipsync"],
        style=style_files["good"],
        out_dir=tmp_path / "a",
        **common,
    )
    alone_km = ba.animate(
        paused_wav, predictor=both["koemorph"], model="koemorph", out_dir=tmp_path / "k", **common
    )
    np.testing.assert_array_equal(av.blendshapes, alone_av.blendshapes)
    np.testing.assert_array_equal(km.blendshapes, alone_km.blendshapes)
    assert np.abs(av.blendshapes - km.blendshapes).max() > 0.01  # two different models
    assert (av.emotion, av.intensity, av.style) == ("sad", 0.6, "'me.json'")
    assert av.mode == alone_av.mode == "streaming"  # the tiny av-lipsync has no offline head
    assert (km.emotion, km.intensity, km.style, km.mode) == (None, None, None, None)
    np.testing.assert_array_equal(av.audio, km.audio)
    assert len(av.blendshapes) == len(km.blendshapes) and av.identity_seed == km.identity_seed == 3
    assert av.video.parent == km.video.parent == tmp_path and av.video.name != km.video.name
    assert list(dict.fromkeys(km.curves["channel"])) == channels
    assert (
        "with **av-lipsync** (sad, intensity 0.60, face #3, streaming mode, style 'me.json', upper-face life)"
        in (av.summary())
    )
    assert "with **koemorph** (emotion from the voice, face #3, upper-face life)" in km.summary()

    # A text goes to av-lipsync only (one without words needs no text model).
    texts = ba.compare(paused_wav, "happy", predictors=both, text="?!", out_dir=tmp_path / "t", size=64)
    assert (texts["av-lipsync"].text, texts["av-lipsync"].emotion) == ("?!", "neutral")
    assert (texts["koemorph"].text, texts["koemorph"].emotion) == (None, None)


def test_compare_checks_everything_before_any_model_runs(both, speech_wav, bad_audio, style_files):
    def never(*args, **kwargs):
        raise AssertionError("a model ran")

    class NeverHears:
        takes_emotion = False

        def __call__(self, *args, **kwargs):
            raise AssertionError("a model ran")

    idle = {"av-lipsync": never, "koemorph": NeverHears()}
    for kwargs, message in (
        ({"emotion": "joyful"}, r"^unknown emotion 'joyful'"),
        ({"intensity": 2}, r"^intensity must be a number in \[0, 1\]"),
        ({"identity_seed": -1}, r"^face seed must be a whole number"),
        ({"text": "ha " * 1000}, r"^the text is 3000 characters long"),
        ({"style": style_files["not_json"]}, r"^style file 'notes\.json' is not JSON"),
        ({"audio": bad_audio["silent"]}, r"^audio file 'silent\.wav' is silent"),
    ):
        with pytest.raises(ValueError, match=message):
            ba.compare(**{"audio": speech_wav, **kwargs}, predictors=idle)
    # a style fitted on neither model: av-lipsync's reason; none at all
    with pytest.raises(
        ValueError, match=r"^style file 'someone-else\.json': this style was fitted on other weights"
    ):
        ba.compare("never-read.wav", predictors=both, style=style_files["foreign"])
    with pytest.raises(ValueError, match=r"^compare needs at least one model$"):
        ba.compare(speech_wav, predictors={})


# --- expression from a text -------------------------------------------------------------------------

SMILE = indices(["mouthSmileLeft", "mouthSmileRight"])
HAPPY_TEXT = "We won! I can't believe it, this is wonderful!"
SAD_TEXT = "I miss her so much, everything feels empty now."


@pytest.fixture(scope="module")
def bundled_predictor():
    """The bundled av-lipsync (the text-vad checkpoint must be bundled too); skips without them."""
    folder = get_family("av-lipsync").checkpoint
    if not req._is_checkpoint(folder) or not req._is_checkpoint(ba.TEXT_MODEL_DIR):
        pytest.skip("needs the bundled av-lipsync and text-vad checkpoints")
    return ba.load_predictors({"av-lipsync": folder, "koemorph": None})["av-lipsync"]


@pytest.fixture(scope="module")
def plain_wav(tmp_path_factory) -> Path:
    """A sentence said flatly by espeak-ng: the voice carries no emotion, so the face's comes from the text."""
    from avzoo.synth.speech import synthesize

    utt = synthesize("I got the letter this morning and read it twice.", voice="en-us+m3")
    return save_audio(tmp_path_factory.mktemp("plain") / "letter.wav", utt.audio, utt.sampling_rate)


def test_a_happy_text_smiles_and_a_sad_one_does_not_with_the_bundled_models(
    bundled_predictor, plain_wav, tmp_path
):
    def run(text, emotion="neutral", intensity=0.8):
        return ba.animate(
            plain_wav, emotion, intensity, predictor=bundled_predictor, text=text, size=64, out_dir=tmp_path
        )

    happy, sad = run(HAPPY_TEXT), run(SAD_TEXT)
    assert max(happy.text_emotion, key=happy.text_emotion.get) == happy.emotion == "happy"
    assert max(sad.text_emotion, key=sad.text_emotion.get) == sad.emotion == "sad"
    assert set(happy.text_emotion) == set(ba.EMOTIONS) and happy.text == HAPPY_TEXT
    assert abs(sum(happy.text_emotion.values()) - 1) < 1e-4
    # The same flat voice: the mouth corners follow the text. Measured 0.45 vs 0.04 (difference 0.41).
    smile_happy, smile_sad = happy.blendshapes[:, SMILE].mean(), sad.blendshapes[:, SMILE].mean()
    assert smile_happy - smile_sad > 0.25, (smile_happy, smile_sad)
    assert "happy from the text" in happy.summary() and "sad from the text" in sad.summary()
    assert happy.video.name == "av-lipsync-text-happy.mp4" and "text" in happy.timings

    # The emotion menu is ignored when there is a text; the intensity still applies.
    np.testing.assert_array_equal(run(HAPPY_TEXT, emotion="angry").blendshapes, happy.blendshapes)
    assert run(HAPPY_TEXT, intensity=0.2).blendshapes[:, SMILE].mean() < smile_happy - 0.05
    # The text's mix is what the pipeline gets as emotion=
    expected = bundled_predictor(happy.audio, happy.text_emotion, 0.8)["blendshapes"]
    np.testing.assert_allclose(happy.blendshapes, np.clip(expected, 0, 1), atol=1e-6)


@pytest.mark.parametrize("text", ["😀🎉🥳", "...!?", " 👍 "])
def test_a_text_without_words_gives_the_neutral_face(predictors, speech_wav, tmp_path, text):
    predict = predictors["av-lipsync"]
    result = ba.animate(speech_wav, "happy", 0.8, predictor=predict, text=text, out_dir=tmp_path)
    assert result.text == text and result.text_emotion is None and result.emotion == "neutral"
    assert "neutral: the text has no words" in result.summary()
    neutral = predict(result.audio, None, 0.8)["blendshapes"]  # the all-zeros condition
    np.testing.assert_allclose(result.blendshapes, np.clip(neutral, 0, 1), atol=1e-6)


@pytest.mark.parametrize("text", [None, "", "  \n\t "])
def test_no_text_or_a_blank_one_leaves_the_emotion_menu_in_charge(predictors, speech_wav, tmp_path, text):
    predict = predictors["av-lipsync"]
    result = ba.animate(speech_wav, "sad", 0.8, predictor=predict, text=text, out_dir=tmp_path)
    plain = ba.animate(speech_wav, "sad", 0.8, predictor=predict, out_dir=tmp_path)
    assert result.text is None and result.text_emotion is None and result.emotion == "sad"
    assert "(sad, intensity" in result.summary() and "text" not in result.summary()
    np.testing.assert_array_equal(result.blendshapes, plain.blendshapes)


def test_a_missing_text_model_is_a_clear_error_before_the_audio_is_read(predictors, tmp_path, monkeypatch):
    monkeypatch.setattr(req, "TEXT_MODEL_DIR", tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match=r"the text-vad checkpoint is not installed here"):
        ba.animate(None, predictor=predictors["av-lipsync"], text="I'm so happy!")  # no audio: not read yet
    # without a text, or with one that has no words, the app needs no text model
    assert ba.text_expression("🙂") is None


# --- the UI -----------------------------------------------------------------------------------------


def _api(client):
    info = client.view_api(print_info=False, return_format="dict")
    return info["named_endpoints"]


def test_ui_answers_through_gradio_client(model_dir, speech_wav, paused_wav, bad_audio, style_files):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    demo = ba.build_ui(model_dir, examples=False)
    with serve_blocks(demo, css=ba.CSS) as url:
        client = Client(url, verbose=False, analytics_enabled=False)
        endpoints = _api(client)
        assert "/animate" in endpoints
        assert [p["parameter_name"] for p in endpoints["/animate"]["parameters"]] == [
            "audio",
            "emotion",
            "intensity",
            "identity_seed",
            "channels",
            "model",
            "style",
            "life",
            "text",
        ]
        parameters = {p["parameter_name"]: p for p in endpoints["/animate"]["parameters"]}
        assert parameters["text"]["parameter_has_default"] and not parameters["text"]["parameter_default"]
        assert (
            parameters["style"]["parameter_has_default"] and parameters["style"]["parameter_default"] is None
        )
        assert parameters["life"]["parameter_default"] is ba.DEFAULT_LIFE is True
        # six arguments, as before the style and life inputs: no style, life on (the page's default)
        video, plot, csv_path, json_path, summary = client.predict(
            handle_file(str(speech_wav)),
            "sad",
            0.6,
            11,
            ["jawOpen", "mouthClose"],
            "av-lipsync",
            api_name="/animate",
        )
        clip = read_video(video["video"] if isinstance(video, dict) else video)
        assert clip.audio is not None and abs(clip.num_frames - clip.duration * 30) < 1e-6
        take = read_livelink_csv(csv_path)
        values, fps = from_json(json_path)
        assert fps == 30 and len(take) == 2 * len(values) - 1 and len(values) == clip.num_frames
        rows = plot["value"]["data"]
        assert len(rows) == 2 * len(values)
        assert "sad" in summary and "face #11" in summary and "upper-face life" in summary
        assert "style" not in summary and "text" not in summary

        # a text (the ninth input) replaces the emotion: the summary names the text's
        *_, summary = client.predict(
            handle_file(str(speech_wav)),
            "happy",
            0.6,
            11,
            [],
            "av-lipsync",
            None,
            True,
            SAD_TEXT,
            api_name="/animate",
        )
        assert "sad from the text" in summary and "happy" not in summary

        # a style upload and life off: the same track as animate() with that style, without life
        *_, json_path, summary = client.predict(
            handle_file(str(paused_wav)),
            "happy",
            0.8,
            7,
            [],
            "av-lipsync",
            handle_file(str(style_files["good"])),
            False,
            api_name="/animate",
        )
        expected = ba.animate(
            paused_wav,
            "happy",
            0.8,
            predictor=ba.load_predictors({"av-lipsync": model_dir})["av-lipsync"],
            style=style_files["good"],
        )
        np.testing.assert_allclose(from_json(json_path)[0], expected.blendshapes, atol=1e-6)
        assert "style 'me.json'" in summary and "life" not in summary
        for case, message in (
            ("foreign", r"style file 'someone-else\.json': this style was fitted on other weights"),
            ("not_json", r"style file 'notes\.json' is not JSON"),
        ):
            with pytest.raises(AppError, match=message) as info:
                client.predict(
                    handle_file(str(speech_wav)),
                    "happy",
                    0.5,
                    1,
                    [],
                    "av-lipsync",
                    handle_file(str(style_files[case])),
                    True,
                    api_name="/animate",
                )
            assert "gradio" not in str(info.value) and str(style_files[case].parent) not in str(info.value)
            assert info.value.title == "Cannot animate this"
        with pytest.raises(AppError, match=r"Invalid file type"):  # gradio refuses what is not .json
            client.predict(
                handle_file(str(speech_wav)),
                "happy",
                0.5,
                1,
                [],
                "av-lipsync",
                handle_file(str(speech_wav)),
                api_name="/animate",
            )

        for case, message in (("silent", "silent"), ("too_long", "at most 60 s"), ("corrupt", "corrupt")):
            with pytest.raises(AppError, match=message):
                client.predict(
                    handle_file(str(bad_audio[case])), "happy", 0.5, 1, [], "av-lipsync", api_name="/animate"
                )
        with pytest.raises(AppError, match="no audio"):
            client.predict(None, "happy", 0.5, 1, [], "av-lipsync", api_name="/animate")


def _fake_predictor(audio, emotion, intensity, **options):
    n = max(1, len(audio) * 30 // SR)
    return {"blendshapes": np.full((n, 52), 0.5, np.float32), "names": list(ARKIT_NAMES), "fps": 30.0}


def test_api_names_every_output_and_errors_arrive_as_plain_text(tmp_path):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    t = np.arange(61 * SR) / SR
    name = "it's long & loud.wav"  # quotes and an ampersand: what HTML escaping used to mangle
    long = save_audio(tmp_path / name, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32))
    demo = ba.build_ui(predictors={"av-lipsync": _fake_predictor}, examples=False)
    with serve_blocks(demo, css=ba.CSS) as url:
        client = Client(url, verbose=False, analytics_enabled=False)
        returns = _api(client)["/animate"]["returns"]
        assert [r["label"] for r in returns] == [
            "Animated face (with the audio)",
            "Blendshape curves (30 fps)",
            "Live Link Face CSV (60 fps)",
            "Blendshapes JSON (30 fps)",
            "Summary",
        ]
        text = client.view_api(print_info=False, return_format="str")
        assert "value_" not in text and "summary: str" in text
        with pytest.raises(AppError) as info:
            client.predict(handle_file(str(long)), "happy", 0.5, 1, [], "av-lipsync", api_name="/animate")
    message = str(info.value)
    assert message == (
        f"audio file {name!r} is 61.00 s long; at most 60 s is accepted (max_seconds). Trim it or raise max_seconds"
    )
    assert info.value.title == "Cannot animate this"


def _props(demo) -> dict[str, dict]:
    """The page's components' props, by elem_id."""
    components = demo.get_config_file()["components"]
    return {c["props"]["elem_id"]: c["props"] for c in components if c["props"].get("elem_id")}


def test_the_emotion_controls_follow_the_model_and_compare_is_offered_with_both(both):
    emotion_controls = ("ba-emotion", "ba-intensity", "ba-text")
    # koemorph first: the page opens with the emotion controls off and the note shown
    demo = ba.build_ui(
        predictors={"koemorph": both["koemorph"], "av-lipsync": both["av-lipsync"]}, examples=False
    )
    props = _props(demo)
    assert [props[e]["interactive"] for e in emotion_controls] == [False, False, False]
    assert props["ba-voice-note"]["visible"]
    assert props["ba-voice-note"]["value"] == (
        "**koemorph** hears the emotion in the voice: Emotion, Intensity and the text do not apply to it. "
        "*Compare both models* still gives them to av-lipsync."
    )
    assert props["ba-compare"]["visible"] and props["ba-compare"]["value"] == "Compare both models"
    assert props["ba-model"]["interactive"]
    assert [tuple(c) for c in props["ba-model"]["choices"]] == [("koemorph",) * 2, ("av-lipsync",) * 2]
    assert props["ba-single"]["visible"] and not props["ba-comparison"]["visible"]
    # choosing a model switches the controls and the note
    on_model = next(fn.fn for fn in demo.fns.values() if fn.name == "on_model")
    *controls, note = on_model("av-lipsync")
    assert [c["interactive"] for c in controls] == [True, True, True] and note["visible"] is False
    *controls, note = on_model("koemorph")
    assert [c["interactive"] for c in controls] == [False, False, False] and note["visible"] is True
    assert note["value"].startswith("**koemorph** hears the emotion in the voice")
    intro = next(c["props"]["value"] for c in demo.get_config_file()["components"] if c["type"] == "html")
    assert "koemorph hears the emotion in the voice" in intro and "/compare" in intro

    # av-lipsync alone: nothing to compare, and no note
    props = _props(ba.build_ui(predictors={"av-lipsync": both["av-lipsync"]}, examples=False))
    assert [props[e]["interactive"] for e in emotion_controls] == [True, True, True]
    assert not props["ba-voice-note"]["visible"] and not props["ba-compare"]["visible"]
    assert props["ba-model"]["interactive"] is False


def test_ui_offers_koemorph_and_the_comparison_through_gradio_client(
    model_dir, koemorph_dir, both, speech_wav, style_files, bad_audio
):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    audio = handle_file(str(speech_wav))
    demo = ba.build_ui({"av-lipsync": model_dir, "koemorph": koemorph_dir}, examples=False)
    with serve_blocks(demo, css=ba.CSS) as url:
        client = Client(url, verbose=False, analytics_enabled=False)
        endpoints = _api(client)
        assert sorted(endpoints) == ["/animate", "/compare"]
        assert [p["parameter_name"] for p in endpoints["/compare"]["parameters"]] == [
            "audio",
            "emotion",
            "intensity",
            "identity_seed",
            "channels",
            "style",
            "life",
            "text",
        ]
        assert [r["label"] for r in endpoints["/compare"]["returns"]] == [
            f"{model}: {what}"
            for model in ("av-lipsync", "koemorph")
            for what in (
                "animated face",
                "blendshape curves (30 fps)",
                "Live Link Face CSV (60 fps)",
                "Blendshapes JSON (30 fps)",
                "summary",
            )
        ]
        animate_fn = next(fn for fn in demo.fns.values() if fn.api_name == "animate")
        compare_fn = next(fn for fn in demo.fns.values() if fn.api_name == "compare")
        assert animate_fn.concurrency_id == compare_fn.concurrency_id  # one limit for both
        assert compare_fn.concurrency_limit == ba.CONCURRENCY_LIMIT

        # /animate with koemorph: the page's (disabled) emotion, intensity and text are not passed on
        expected = ba.animate(speech_wav, predictor=both["koemorph"], model="koemorph", identity_seed=5)
        *_, json_path, summary = client.predict(
            audio, "angry", 0.3, 5, ["jawOpen"], "koemorph", None, False, "I am furious!", api_name="/animate"
        )
        np.testing.assert_allclose(from_json(json_path)[0], expected.blendshapes, atol=1e-6)
        assert "with **koemorph** (emotion from the voice, face #5)." in summary
        assert "angry" not in summary and "text" not in summary

        # /compare: both models on the same audio, each with what applies to it
        out = client.predict(
            audio, "angry", 0.3, 5, ["jawOpen", "mouthClose"], None, False, api_name="/compare"
        )
        assert len(out) == 10
        av_summary, km_summary = out[4], out[9]
        assert "with **av-lipsync** (angry, intensity 0.30, face #5, streaming mode)." in av_summary
        assert "with **koemorph** (emotion from the voice, face #5)." in km_summary
        np.testing.assert_allclose(from_json(out[8])[0], expected.blendshapes, atol=1e-6)
        frames = len(expected.blendshapes)
        for video, plot in ((out[0], out[1]), (out[5], out[6])):
            clip = read_video(video["video"] if isinstance(video, dict) else video)
            assert clip.audio is not None and clip.num_frames == frames
            assert len(plot["value"]["data"]) == 2 * frames
        assert len(from_json(out[3])[0]) == frames and len(read_livelink_csv(out[7])) == 2 * frames - 1

        # the style goes to the model it was fitted on (av-lipsync); life on by default
        out = client.predict(
            audio, "happy", 0.8, 5, [], handle_file(str(style_files["good"])), api_name="/compare"
        )
        assert "style 'me.json', upper-face life" in out[4]
        assert "style" not in out[9] and "upper-face life" in out[9]

        # errors: one line, no trace, no server path
        for upload, style, message in (
            (bad_audio["silent"], None, r"^audio file 'silent\.wav' is silent"),
            (
                speech_wav,
                style_files["foreign"],
                r"^style file 'someone-else\.json': this style was fitted on other",
            ),
        ):
            with pytest.raises(AppError, match=message) as info:
                client.predict(
                    handle_file(str(upload)),
                    "happy",
                    0.5,
                    1,
                    [],
                    None if style is None else handle_file(str(style)),
                    api_name="/compare",
                )
            assert "Traceback" not in str(info.value) and "/tmp" not in str(info.value)
            assert info.value.title == "Cannot animate this"


def test_launch_caps_uploads_and_bounds_the_queue(model_dir):
    import httpx

    port = free_port()
    demo = ba.launch(model_dir, server_name=LOOPBACK, server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        assert demo.max_file_size == ba.MAX_FILE_SIZE == 50 * 1024 * 1024
        assert demo._queue.max_size == ba.QUEUE_MAX_SIZE == 16
        assert demo._queue.default_concurrency_limit == ba.CONCURRENCY_LIMIT == 2
        animate_fn = next(fn for fn in demo.fns.values() if fn.api_name == "animate")
        assert animate_fn.concurrency_limit == 2
        assert demo.delete_cache == ba.DELETE_CACHE == (3600, 3600)
        upload = f"http://{LOOPBACK}:{port}/gradio_api/upload"
        big = httpx.post(upload, files={"files": ("big.wav", bytes(ba.MAX_FILE_SIZE + 1))}, timeout=60)
        assert big.status_code == 413 and "maximum allowed size" in big.text
        small = httpx.post(upload, files={"files": ("small.wav", bytes(1000))}, timeout=60)
        assert small.status_code == 200
    finally:
        demo.close()


def test_zoo_shows_the_space_as_a_tab_only_with_a_checkpoint(model_dir, koemorph_dir, tmp_path, monkeypatch):
    bundled = get_family("av-lipsync")
    has_bundled = (bundled.checkpoint / "config.json").is_file()
    assert family_status(bundled).available == has_bundled

    missing = Family(**{**bundled.__dict__, "checkpoint_dir": tmp_path / "missing"})
    status = family_status(missing)
    assert not status.available and "no bundled checkpoint" in status.reason
    assert zoo.demo_tabs([status]) == []

    monkeypatch.setitem(ba.DEFAULT_MODEL_DIRS, "av-lipsync", model_dir)
    monkeypatch.setitem(ba.DEFAULT_MODEL_DIRS, "koemorph", tmp_path / "no-koemorph")
    status = family_status(Family(**{**bundled.__dict__, "checkpoint_dir": model_dir}))
    assert status.available, status.reason
    assert status.builder is ba.build_ui and status.css == ba.CSS
    app = zoo.build_app([status])
    config = app.get_config_file()
    tabs = [c["props"].get("label") for c in config["components"] if c["type"] == "tabitem"]
    assert tabs == ["Overview", "Blendshape animation"]
    assert any(d.get("api_name") == "animate" for d in config["dependencies"])
    assert not any(d.get("api_name") == "compare" for d in config["dependencies"])

    # koemorph's checkpoint joins the same tab: both in the Model dropdown, and the comparison
    monkeypatch.setitem(ba.DEFAULT_MODEL_DIRS, "koemorph", koemorph_dir)
    koemorph = family_status(Family(**{**get_family("koemorph").__dict__, "checkpoint_dir": koemorph_dir}))
    assert koemorph.available, koemorph.reason
    config = zoo.build_app([status, koemorph]).get_config_file()
    tabs = [c["props"].get("label") for c in config["components"] if c["type"] == "tabitem"]
    assert tabs == ["Overview", "Blendshape animation"]
    dropdown = next(c["props"] for c in config["components"] if c["props"].get("elem_id") == "ba-model")
    assert [tuple(c) for c in dropdown["choices"]] == [("av-lipsync",) * 2, ("koemorph",) * 2]
    assert any(d.get("api_name") == "compare" for d in config["dependencies"])


def test_space_folder_is_a_thin_gradio_space(model_dir, monkeypatch):
    yaml = pytest.importorskip("yaml")
    readme = (SPACE / "README.md").read_text()
    assert readme.startswith("---\n")
    meta = yaml.safe_load(readme.split("---\n")[1])
    assert meta["sdk"] == "gradio" and str(meta["sdk_version"]).startswith("6.")
    assert meta["app_file"] == "app.py"
    assert meta["title"] and meta["emoji"] and meta["license"] == "apache-2.0"
    requirements = (SPACE / "requirements.txt").read_text().split()
    assert any(r.startswith("avzoo") for r in requirements)
    app_py = (SPACE / "app.py").read_text()
    assert len(app_py.splitlines()) < 30 and "avzoo.apps.blendshape_animation" in app_py

    import gradio as gr

    monkeypatch.setitem(ba.DEFAULT_MODEL_DIRS, "av-lipsync", model_dir)
    namespace = runpy.run_path(str(SPACE / "app.py"), run_name="space_app")  # builds, does not launch
    assert isinstance(namespace["demo"], gr.Blocks)


@pytest.fixture(scope="module")
def longer_wav(speech_wav) -> Path:
    """The speech clip twice over: a second upload of another length."""
    audio, rate = sf.read(speech_wav, dtype="float32")
    return save_audio(speech_wav.with_name("hello-twice.wav"), np.concatenate([audio, audio]), rate)


@pytest.mark.browser
def test_page_renders_and_animates_an_upload_in_chromium(
    chrome, screenshot, model_dir, speech_wav, longer_wav
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    # Read in one script call: the plot re-renders, so a found element may be gone a moment later.
    def status(d) -> str:
        return d.execute_script("return document.querySelector('#ba-status')?.innerText ?? ''")

    def legend(d) -> str:
        return d.execute_script(
            "return document.querySelector('#ba-curves [aria-roledescription=legend]')"
            "?.getAttribute('aria-label') ?? ''"
        )

    def lines_span(d) -> float:
        """How much of the plot's width the drawn curves cover (0 when there are none)."""
        return d.execute_script(
            "const f = document.querySelector('#ba-curves .role-frame path.background');"
            "const l = [...document.querySelectorAll('#ba-curves .role-mark path')];"
            "if (!f || !l.length) return 0;"
            "return Math.max(...l.map(p => p.getBBox().width)) / f.getBBox().width;"
        )

    def animate(path: Path, frames: int) -> None:
        chrome.find_element(By.CSS_SELECTOR, "#ba-audio input[type=file]").send_keys(str(path))
        WebDriverWait(chrome, 30).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, "#ba-audio audio, #ba-audio .waveform-container")
        )
        chrome.find_element(By.ID, "ba-animate").click()
        WebDriverWait(chrome, 120, poll_frequency=0.5).until(lambda d: f"{frames} frames with" in status(d))
        WebDriverWait(chrome, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#ba-video video[src]"))
        WebDriverWait(chrome, 30).until(lambda d: lines_span(d) > 0.95)

    fps = AvLipsyncProcessor.from_pretrained(model_dir).fps
    frames = [math.ceil(len(ba.read_speech(p)) * fps / SR) for p in (speech_wav, longer_wav)]
    demo = ba.build_ui(model_dir)
    with serve_blocks(demo, css=ba.CSS) as url:
        text = open_gradio(
            chrome,
            url,
            expect_text=[ba.TITLE, "Emotion", "Intensity", "Model", "Channels to plot", "Animate"],
        )
        assert "Live Link Face CSV (60 fps)" in text and "Blendshapes JSON (30 fps)" in text
        screenshot("blendshape-animation-empty")

        # Inputs sit left of the outputs.
        audio_box = chrome.find_element(By.ID, "ba-audio").rect
        video_box = chrome.find_element(By.ID, "ba-video").rect
        assert audio_box["x"] + audio_box["width"] <= video_box["x"]

        animate(speech_wav, frames[0])
        assert "av-lipsync" in status(chrome) and "happy" in status(chrome)
        files = (
            chrome.find_element(By.ID, "ba-csv").text + chrome.find_element(By.ID, "ba-json").text
        ).replace("\n", "")
        assert "livelink.csv" in files and "blendshapes.json" in files
        shot = screenshot("blendshape-animation-result")
        assert "6 values" in legend(chrome) and "eyeBlinkLeft" in legend(chrome)

        # Changing the channels re-plots the last result without running the model again.
        before = status(chrome)
        chip = chrome.find_element(
            By.XPATH, "//*[@id='ba-channels']//div[@class[contains(., 'token')]][contains(., 'eyeBlinkLeft')]"
        )
        chip.find_element(By.CSS_SELECTOR, ".token-remove").click()
        WebDriverWait(chrome, 30).until(lambda d: "5 values" in legend(d))
        assert "eyeBlinkLeft" not in legend(chrome)
        assert status(chrome) == before

        # A clip of another length replaces the curves over the whole new time axis.
        chrome.find_element(By.CSS_SELECTOR, "#ba-audio button[aria-label='Clear']").click()
        animate(longer_wav, frames[1])
    assert shot.stat().st_size > 20_000


@pytest.mark.browser
def test_page_animates_with_a_performer_style_and_upper_face_life_in_chromium(
    chrome, screenshot, model_dir, paused_wav, style_files
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def status(d) -> str:
        return d.execute_script("return document.querySelector('#ba-status')?.innerText ?? ''")

    def life_box():
        return chrome.find_element(By.CSS_SELECTOR, "#ba-life input[type=checkbox]")

    def style_name(d) -> str:
        """The file name the style box shows ('' when empty)."""
        return d.execute_script(
            "return document.querySelector('#ba-style td.filename')?.getAttribute('aria-label') ?? ''"
        )

    def upload_style(path: Path) -> None:
        chrome.find_element(By.CSS_SELECTOR, "#ba-style input[type=file]").send_keys(str(path))
        WebDriverWait(chrome, 30).until(lambda d: style_name(d) == path.name)

    def clear_style() -> None:
        chrome.find_element(By.CSS_SELECTOR, "#ba-style button[aria-label='Clear']").click()
        WebDriverWait(chrome, 30).until(lambda d: style_name(d) == "")

    def animate(expect: str, absent: str = "\0") -> str:
        """Click Animate and wait for a summary (one of the second run's own: its timings differ) with ``expect``
        and without ``absent``."""
        before = status(chrome)
        chrome.find_element(By.ID, "ba-animate").click()
        WebDriverWait(chrome, 120, poll_frequency=0.5).until(
            lambda d: (s := status(d)) != before and expect in s and absent not in s and "Model " in s
        )
        return status(chrome)

    predict = ba.load_predictors({"av-lipsync": model_dir})["av-lipsync"]
    frames = len(ba.animate(paused_wav, predictor=predict).blendshapes)
    demo = ba.build_ui(model_dir, examples=False)
    with serve_blocks(demo, css=ba.CSS) as url:
        text = open_gradio(
            chrome,
            url,
            expect_text=[
                "Performer style (JSON from `avzoo calibrate`)",
                "Upper-face life (blinks, brow raises)",
            ],
        )
        assert "avzoo calibrate" in text
        assert life_box().is_selected()  # on by default on the page

        chrome.find_element(By.CSS_SELECTOR, "#ba-audio input[type=file]").send_keys(str(paused_wav))
        WebDriverWait(chrome, 30).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, "#ba-audio audio, #ba-audio .waveform-container")
        )
        upload_style(style_files["good"])
        animate(f"{frames} frames with")
        assert "style 'me.json'" in status(chrome) and "upper-face life" in status(chrome)
        WebDriverWait(chrome, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#ba-video video[src]"))
        WebDriverWait(chrome, 30).until(
            lambda d: (
                d.execute_script("return document.querySelectorAll('#ba-curves .role-mark path').length") > 0
            )
        )
        time.sleep(1.0)  # the plot's transition
        shot = screenshot("blendshape-animation-style")

        # Life off: the summary says so; the style stays.
        life_box().click()
        assert not life_box().is_selected()
        assert "life" not in animate("style 'me.json'", absent="life")

        # A style fitted on other weights: the error toast names the file, and no trace or server path shows.
        clear_style()
        upload_style(style_files["foreign"])
        chrome.find_element(By.ID, "ba-animate").click()

        def toast(d) -> str:
            return d.execute_script(
                "return [...document.querySelectorAll('[data-testid=toast-body]')].map(t => t.innerText).join('|')"
            )

        WebDriverWait(chrome, 60).until(lambda d: "fitted on other weights" in toast(d))
        message = toast(chrome)
        assert "Error" in message and "style file 'someone-else.json': this style was fitted on" in message
        body = chrome.find_element(By.TAG_NAME, "body").text
        assert "Traceback" not in body and "/gradio/" not in body and "/tmp" not in body
    assert shot.stat().st_size > 20_000


@pytest.mark.browser
def test_page_takes_the_expression_from_a_typed_text_in_chromium(
    chrome, screenshot, bundled_predictor, plain_wav
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    def status(d) -> str:
        return d.execute_script("return document.querySelector('#ba-status')?.innerText ?? ''")

    def text_box():
        return chrome.find_element(By.CSS_SELECTOR, "#ba-text textarea")

    def type_text(value: str) -> None:
        box = text_box()
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys(Keys.DELETE)
        if value:
            box.send_keys(value)
        WebDriverWait(chrome, 10).until(lambda d: text_box().get_attribute("value") == value)

    def animate(expect: str) -> str:
        before = status(chrome)
        chrome.find_element(By.ID, "ba-animate").click()
        WebDriverWait(chrome, 120, poll_frequency=0.5).until(
            lambda d: (s := status(d)) != before and expect in s and "Model " in s
        )
        return status(chrome)

    demo = ba.build_ui(predictors={"av-lipsync": bundled_predictor}, examples=False)
    with serve_blocks(demo, css=ba.CSS) as url:
        text = open_gradio(chrome, url, expect_text=["Expression from this text", "Emotion", "Animate"])
        assert "replaces the Emotion menu" in text
        assert text_box().get_attribute("placeholder").startswith("optional: the sentence being spoken")
        # The text box sits between the emotion/intensity row and the model row.
        emotion_box = chrome.find_element(By.ID, "ba-emotion").rect
        text_rect = chrome.find_element(By.ID, "ba-text").rect
        model_box = chrome.find_element(By.ID, "ba-model").rect
        assert emotion_box["y"] < text_rect["y"] < model_box["y"]

        chrome.find_element(By.CSS_SELECTOR, "#ba-audio input[type=file]").send_keys(str(plain_wav))
        WebDriverWait(chrome, 30).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, "#ba-audio audio, #ba-audio .waveform-container")
        )
        # The menu says happy (the default); the sad sentence wins.
        type_text(SAD_TEXT)
        summary = animate("sad from the text")
        assert "happy" not in summary
        WebDriverWait(chrome, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#ba-video video[src]"))
        WebDriverWait(chrome, 30).until(
            lambda d: (
                d.execute_script("return document.querySelectorAll('#ba-curves .role-mark path').length") > 0
            )
        )
        time.sleep(1.0)  # the plot's transition
        shot = screenshot("blendshape-animation-text")

        # Punctuation only: the neutral face. An emptied box gives the menu back its say.
        type_text("?!")
        animate("neutral: the text has no words")
        type_text("")
        assert "(happy, intensity" in animate("(happy, intensity")
    assert shot.stat().st_size > 20_000


@pytest.mark.browser
def test_page_switches_to_koemorph_and_compares_both_models_in_chromium(
    chrome, screenshot, model_dir, koemorph_dir, speech_wav
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def text_of(d, selector: str) -> str:
        return d.execute_script(f"return document.querySelector({selector!r})?.innerText ?? ''")

    def shown(d, selector: str) -> bool:
        """Whether the element is on the page and takes up room (gradio hides columns with display: none)."""
        return d.execute_script(
            f"const e = document.querySelector({selector!r}); return !!e && e.getClientRects().length > 0"
        )

    def disabled(d) -> list[bool]:
        return d.execute_script(
            "return ['#ba-emotion input', '#ba-intensity input[type=range]', '#ba-text textarea']"
            ".map(s => document.querySelector(s).disabled)"
        )

    def lines_span(d, plot: str) -> float:
        return d.execute_script(
            f"const f = document.querySelector('{plot} .role-frame path.background');"
            f"const l = [...document.querySelectorAll('{plot} .role-mark path')];"
            "if (!f || !l.length) return 0;"
            "return Math.max(...l.map(p => p.getBBox().width)) / f.getBBox().width;"
        )

    def choose_model(name: str) -> None:
        chrome.find_element(By.CSS_SELECTOR, "#ba-model input").click()
        option = WebDriverWait(chrome, 10).until(
            lambda d: d.find_element(By.CSS_SELECTOR, f"#ba-model li[role=option][aria-label='{name}']")
        )
        option.click()
        WebDriverWait(chrome, 10).until(
            lambda d: d.find_element(By.CSS_SELECTOR, "#ba-model input").get_attribute("value") == name
        )

    frames = len(ba.read_speech(speech_wav)) * 30 // SR
    demo = ba.build_ui({"av-lipsync": model_dir, "koemorph": koemorph_dir}, examples=False)
    with serve_blocks(demo, css=ba.CSS) as url:
        page = open_gradio(chrome, url, expect_text=[ba.TITLE, "Model", "Animate", "Compare both models"])
        assert "koemorph hears the emotion in the voice instead" in page
        assert disabled(chrome) == [False, False, False] and not shown(chrome, "#ba-voice-note")
        screenshot("koemorph-space-open")

        # koemorph: the emotion controls go off and the note says why
        choose_model("koemorph")
        WebDriverWait(chrome, 10).until(lambda d: disabled(d) == [True, True, True])
        WebDriverWait(chrome, 10).until(lambda d: shown(d, "#ba-voice-note"))
        assert text_of(chrome, "#ba-voice-note").startswith("koemorph hears the emotion in the voice")
        chrome.find_element(By.CSS_SELECTOR, "#ba-audio input[type=file]").send_keys(str(speech_wav))
        WebDriverWait(chrome, 30).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, "#ba-audio audio, #ba-audio .waveform-container")
        )
        chrome.find_element(By.ID, "ba-animate").click()
        WebDriverWait(chrome, 120, poll_frequency=0.5).until(
            lambda d: "frames with koemorph (emotion from the voice" in text_of(d, "#ba-status")
        )
        WebDriverWait(chrome, 30).until(lambda d: lines_span(d, "#ba-curves") > 0.95)
        time.sleep(1.0)  # the plot's transition
        single_shot = screenshot("koemorph-single")

        # Compare both models: the single view gives way to one column per model, side by side
        chrome.find_element(By.ID, "ba-compare").click()
        WebDriverWait(chrome, 120, poll_frequency=0.5).until(
            lambda d: (
                "with av-lipsync (happy, intensity 0.80" in text_of(d, "#ba-status-0")
                and "with koemorph (emotion from the voice" in text_of(d, "#ba-status-1")
            )
        )
        assert not shown(chrome, "#ba-single") and shown(chrome, "#ba-comparison")
        for i in (0, 1):
            WebDriverWait(chrome, 30).until(
                lambda d, i=i: d.find_elements(By.CSS_SELECTOR, f"#ba-video-{i} video[src]")
            )
            WebDriverWait(chrome, 30).until(lambda d, i=i: lines_span(d, f"#ba-curves-{i}") > 0.95)
        for i in (0, 1):
            assert f"{frames} frames" in text_of(
                chrome, f"#ba-status-{i}"
            ) or f"{frames + 1} frames" in text_of(chrome, f"#ba-status-{i}")
        # the faces side by side; the curves one above the other at the full width, every channel in the legend
        left, right = (chrome.find_element(By.ID, f"ba-video-{i}").rect for i in (0, 1))
        assert left["x"] + left["width"] <= right["x"] and abs(left["y"] - right["y"]) < 2
        assert right["width"] > 250
        top, bottom = (chrome.find_element(By.ID, f"ba-curves-{i}").rect for i in (0, 1))
        assert top["y"] + top["height"] <= bottom["y"] and top["x"] == bottom["x"] == left["x"]
        assert top["width"] > left["width"] + right["width"]
        for i in (0, 1):
            legend = chrome.execute_script(
                f"return document.querySelector('#ba-curves-{i} [aria-roledescription=legend]')"
                "?.getAttribute('aria-label') ?? ''"
            )
            assert "6 values" in legend and "eyeBlinkLeft" in legend
        time.sleep(1.0)
        compare_shot = screenshot("koemorph-compare")

        # back to av-lipsync: the controls come back; Animate shows the single view again
        choose_model("av-lipsync")
        WebDriverWait(chrome, 10).until(lambda d: disabled(d) == [False, False, False])
        WebDriverWait(chrome, 10).until(lambda d: not shown(d, "#ba-voice-note"))
        chrome.find_element(By.ID, "ba-animate").click()
        WebDriverWait(chrome, 120, poll_frequency=0.5).until(
            lambda d: "with av-lipsync (happy" in text_of(d, "#ba-status") and shown(d, "#ba-single")
        )
        assert not shown(chrome, "#ba-comparison")
        body = chrome.find_element(By.TAG_NAME, "body").text
        assert "Traceback" not in body and "Error" not in body
    assert single_shot.stat().st_size > 20_000 and compare_shot.stat().st_size > 20_000
