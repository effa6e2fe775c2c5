"""A performer's style: fitting, applying, files, and its use by the processor, pipeline, streamer and CLI."""

import json

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

import avzoo  # noqa: F401  (registers the pipeline task)
from avzoo.animation.style import PerformerStyle, fit_style, load_style, model_fingerprint
from avzoo.arkit import ARKIT_NAMES
from avzoo.io.livelink import resample_blendshapes

SR = 16000
JAW = ARKIT_NAMES.index("jawOpen")
NAMES = ["jawOpen", "mouthClose", "mouthFunnel", "browInnerUp"]


def speechlike(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    envelope = (np.sin(2 * np.pi * 2.7 * t) > 0).astype(np.float32)
    voice = np.sin(2 * np.pi * 140 * t) + 0.5 * np.sin(2 * np.pi * 280 * t)
    return (0.3 * envelope * voice + 0.01 * rng.standard_normal(len(t))).astype(np.float32)


def moving_track(frames: int = 200, seed: int = 0) -> np.ndarray:
    """A (T, 52) 'prediction' whose channels move smoothly and independently."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames)[:, None]
    phases = rng.uniform(0, 2 * np.pi, (1, 52))
    rates = rng.uniform(0.05, 0.3, (1, 52))
    return (0.3 + 0.25 * np.sin(rates * t + phases)).astype(np.float32)


def performer(track: np.ndarray, lag: int = 0) -> np.ndarray:
    """The 'take' of a performer whose face is a known monotone function of the model, ``lag`` frames earlier."""
    take = np.stack([0.05 + 0.5 * track[:, ARKIT_NAMES.index(n)] ** 2 for n in NAMES], 1)
    if lag:
        take = np.concatenate([take[lag:], np.repeat(take[-1:], lag, 0)])
    return take


@pytest.mark.parametrize("method", ["isotonic", "quantile"])
def test_fit_recovers_a_monotone_map(method):
    track = moving_track()
    take = performer(track)
    style = fit_style(track, take, NAMES, 25.0, method=method, fit_delay=False)
    styled = style.apply(track, fps=25.0)[:, [ARKIT_NAMES.index(n) for n in NAMES]]
    raw_err = np.abs(track[:, [ARKIT_NAMES.index(n) for n in NAMES]] - take).mean()
    assert np.abs(styled - take).mean() < 0.01 < raw_err
    # channels the take does not hold pass unchanged
    other = ARKIT_NAMES.index("mouthSmileLeft")
    assert np.array_equal(style.apply(track, fps=25.0)[:, other], track[:, other])


def test_fit_finds_the_capture_offset_and_shifts_offline_only():
    track = moving_track(300)
    take = performer(track, lag=3)  # the capture runs 3 frames ahead of the model
    style = fit_style(track, take, NAMES, 25.0)
    assert style.delay_s == pytest.approx(-3 / 25.0)
    jaw = NAMES.index("jawOpen")
    shifted = style.apply(track, fps=25.0)[:, JAW]
    assert np.corrcoef(shifted[:-5], take[:-5, jaw])[0, 1] > 0.99
    # per-frame use (a stream) applies the curves without the shift
    assert np.corrcoef(style.apply_frames(track)[:, JAW], take[:, jaw])[0, 1] < 0.99


def test_rest_method_sets_the_upper_face_rest_and_leaves_the_mouth():
    take = np.tile([0.2, 0.0, 0.1, 0.3], (100, 1)) + np.linspace(0, 0.05, 100)[:, None]
    style = fit_style(None, take, NAMES, 60.0, method="rest")
    assert set(style.curves) == {"browInnerUp"}
    out = style.apply(np.zeros((5, 52), np.float32))
    assert out[:, ARKIT_NAMES.index("browInnerUp")] == pytest.approx(np.median(take[:, 3]), abs=1e-6)
    assert not out[:, JAW].any()


def test_fit_refuses_bad_takes():
    track = moving_track()
    with pytest.raises(ValueError, match="no face motion"):
        fit_style(track, np.full((200, 4), 0.3), NAMES, 25.0)
    with pytest.raises(ValueError, match="at least"):
        fit_style(track[:10], performer(track)[:10], NAMES, 25.0)
    with pytest.raises(ValueError, match="needs the model's output"):
        fit_style(None, performer(track), NAMES, 25.0)
    with pytest.raises(ValueError, match="unknown style method"):
        fit_style(track, performer(track), NAMES, 25.0, method="magic")


def test_files_round_trip_and_refuse_bad_ones(tmp_path):
    track = moving_track()
    style = fit_style(track, performer(track), NAMES, 25.0)
    path = style.save(tmp_path / "style.json")
    again = load_style(path)
    assert np.array_equal(again.apply(track), style.apply(track))
    (tmp_path / "notjson.json").write_text("{oops")
    with pytest.raises(ValueError, match="not JSON"):
        load_style(tmp_path / "notjson.json")
    with pytest.raises(ValueError, match="not a performer style"):
        load_style({"curves": {}})
    with pytest.raises(ValueError, match="does not exist"):
        load_style(tmp_path / "missing.json")
    data = style.to_dict()
    data["curves"]["jawOpen"] = {"x": [0.0, 0.5, 0.4], "y": [0.0, 0.1, 0.2]}
    with pytest.raises(ValueError, match="monotone"):
        load_style(data)
    data["curves"]["jawOpen"] = {"x": [0.0, 1.0], "y": [0.0, 1.5]}
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        load_style(data)


@pytest.fixture(scope="module")
def animate():
    from transformers import pipeline

    return pipeline("audio-to-blendshapes", model="avzoo/av-lipsync")


@pytest.fixture(scope="module")
def take_files(tmp_path_factory, animate):
    """Audio and a t2a-layout take that is a known function of the bundled model's output, 2 frames ahead."""
    folder = tmp_path_factory.mktemp("style")
    audio = speechlike(4.0)
    sf.write(folder / "take.wav", audio, SR, subtype="FLOAT")
    out = animate({"array": audio, "sampling_rate": SR})
    frames = resample_blendshapes(out["blendshapes"], out["fps"], 25.0)
    take = performer(frames, lag=2)
    rows = [",".join(["frame", *NAMES])] + [
        ",".join([str(i), *(f"{v:.6f}" for v in row)]) for i, row in enumerate(take)
    ]
    (folder / "take.csv").write_text("\n".join(rows) + "\n")
    return folder, audio


def test_calibrate_cli_writes_a_style_the_pipeline_uses(take_files, animate, tmp_path):
    from avzoo.cli import app

    folder, audio = take_files
    out = tmp_path / "style.json"
    args = ["calibrate", "--take", str(folder / "take.csv"), "--audio", str(folder / "take.wav")]
    result = CliRunner().invoke(app, [*args, "--take-fps", "25", "--out", str(out)])
    assert result.exit_code == 0, result.output
    style = json.loads(out.read_text())
    assert style["model_fingerprint"] == model_fingerprint(animate.model)
    assert style["delay_s"] == pytest.approx(-2 / 25.0)
    mae = style["source"]["in_sample_lipsync_mae"]
    assert mae["after"] < 0.5 * mae["before"]

    plain = animate({"array": audio, "sampling_rate": SR})["blendshapes"]
    styled = animate({"array": audio, "sampling_rate": SR}, style=str(out))["blendshapes"]
    expected = load_style(out).apply(plain, fps=30.0)
    assert np.allclose(styled, expected, atol=1e-6)
    assert not np.allclose(styled, plain)


def test_calibrate_cli_errors_are_one_line(tmp_path, take_files):
    from avzoo.cli import app

    folder, _ = take_files
    (tmp_path / "still.csv").write_text("frame,JawOpen\n" + "".join(f"{i},0.2\n" for i in range(100)))
    result = CliRunner().invoke(
        app,
        [
            "calibrate",
            "--take",
            str(tmp_path / "still.csv"),
            "--take-fps",
            "25",
            "--out",
            str(tmp_path / "s.json"),
        ],
    )
    assert result.exit_code != 0 and "no face motion" in result.output
    assert not (tmp_path / "s.json").exists()
    result = CliRunner().invoke(
        app,
        [
            "calibrate",
            "--take",
            str(folder / "take.csv"),
            "--audio",
            str(tmp_path / "none.wav"),
            "--out",
            "x",
        ],
    )
    assert result.exit_code != 0 and "is not a file" in result.output
    (tmp_path / "odd.csv").write_text("frame,Smirk\n0,0.1\n")
    args = ["calibrate", "--take", str(tmp_path / "odd.csv"), "--audio", str(folder / "take.wav")]
    result = CliRunner().invoke(app, [*args, "--take-fps", "25", "--out", str(tmp_path / "s.json")])
    assert result.exit_code != 0 and "unknown layout" in result.output and not (tmp_path / "s.json").exists()


def test_a_style_for_other_weights_is_refused(animate):
    track = moving_track()
    style = fit_style(track, performer(track), NAMES, 25.0)
    foreign = PerformerStyle(**{**style.__dict__, "model_fingerprint": "0123456789abcdef"})
    with pytest.raises(ValueError, match="other weights"):
        animate({"array": speechlike(1.0), "sampling_rate": SR}, style=foreign)
    other_type = PerformerStyle(**{**style.__dict__, "model_type": "koemorph", "model_fingerprint": None})
    with pytest.raises(ValueError, match="fitted on a koemorph model"):
        animate.model.streamer(animate.feature_extractor, style=other_type)


def test_streamer_applies_the_curves_per_frame(animate):
    model, processor = animate.model, animate.feature_extractor
    track = moving_track()
    style = PerformerStyle(**{**fit_style(track, performer(track), NAMES, 25.0).__dict__, "delay_s": 0.0})
    audio = speechlike(1.5)
    plain = np.concatenate(
        list(model.streamer(processor).stream([audio[i : i + 1600] for i in range(0, len(audio), 1600)]))
    )
    styled = np.concatenate(
        list(
            model.streamer(processor, style=style).stream(
                [audio[i : i + 1600] for i in range(0, len(audio), 1600)]
            )
        )
    )
    assert np.allclose(styled, style.apply_frames(plain), atol=1e-6)
