"""``avzoo evaluate av-lipsync --take``: a model against a real capture with its audio."""

import json

import numpy as np
import pytest
import soundfile as sf

import avzoo  # noqa: F401  (registers the pipeline task)
from avzoo.arkit import ARKIT_NAMES
from avzoo.evaluation.av_lipsync import main
from avzoo.evaluation.real_takes import evaluate_take, lagged_r, read_take, score_take
from avzoo.io.livelink import resample_blendshapes

SR = 16000
#: The t2a layout: a frame column, then PascalCase ARKit names (a subset of the 52).
T2A_CHANNELS = ["JawOpen", "MouthClose", "MouthFunnel", "MouthPucker", "BrowInnerUp"]


def speechlike(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    envelope = (np.sin(2 * np.pi * 3 * t) > 0).astype(np.float32)  # syllable-like bursts and pauses
    voice = np.sin(2 * np.pi * 140 * t) + 0.5 * np.sin(2 * np.pi * 280 * t)
    return (0.3 * envelope * voice + 0.01 * rng.standard_normal(len(t))).astype(np.float32)


def write_t2a(path, frames: np.ndarray, names=T2A_CHANNELS) -> None:
    rows = [",".join(["frame", *names])]
    rows += [",".join([str(i), *(f"{v:.6f}" for v in row)]) for i, row in enumerate(frames)]
    path.write_text("\n".join(rows) + "\n")


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """Audio plus a 'capture' that is the bundled model's own output at 25 fps, in the t2a layout."""
    from transformers import pipeline

    folder = tmp_path_factory.mktemp("take")
    audio = speechlike(2.0)
    sf.write(folder / "take.wav", audio, SR, subtype="FLOAT")
    out = pipeline("audio-to-blendshapes", model="avzoo/av-lipsync")({"array": audio, "sampling_rate": SR})
    frames = resample_blendshapes(out["blendshapes"], out["fps"], 25.0)
    index = [ARKIT_NAMES.index(n[0].lower() + n[1:]) for n in T2A_CHANNELS]
    write_t2a(folder / "take.csv", frames[:, index])
    return folder, frames


def test_read_take_maps_names_and_needs_a_rate(tmp_path):
    write_t2a(tmp_path / "t.csv", np.full((4, len(T2A_CHANNELS)), 0.2))
    frames, names, fps = read_take(tmp_path / "t.csv", take_fps=25)
    assert names == ["jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "browInnerUp"]
    assert frames.shape == (4, 5) and fps == 25.0
    with pytest.raises(ValueError, match="no timecodes"):
        read_take(tmp_path / "t.csv")
    (tmp_path / "bad.csv").write_text("frame,Smirk\n0,0.1\n")
    with pytest.raises(ValueError, match="unknown layout"):
        read_take(tmp_path / "bad.csv", take_fps=25)


def test_lagged_r_finds_a_constant_offset():
    reference = np.sin(np.linspace(0, 12, 200)) + 0.1 * np.random.default_rng(0).standard_normal(200)
    late = np.concatenate([np.zeros(3), reference[:-3]])  # the prediction comes 3 frames late
    result = lagged_r(late, reference, max_lag=8)
    assert result["best_lag_frames"] == 3 and result["r_best"] > 0.99 > result["r_lag0"]


def test_a_perfect_prediction_beats_the_mean_pose():
    rng = np.random.default_rng(1)
    take = rng.uniform(0, 0.5, (50, 2)).astype(np.float32)
    prediction = np.zeros((50, 52), np.float32)
    prediction[:, ARKIT_NAMES.index("jawOpen")] = take[:, 0]
    prediction[:, ARKIT_NAMES.index("mouthClose")] = take[:, 1]
    result = score_take(prediction, take, ["jawOpen", "mouthClose"], 25.0)
    assert result["jaw_open"]["r_lag0"] == pytest.approx(1.0)
    assert result["lipsync_mae"]["model"] == 0.0 < result["lipsync_mae"]["take_mean_pose"]
    assert result["lips_nearly_shut"]["take"] == result["lips_nearly_shut"]["model"]


def test_the_model_against_its_own_output_as_a_take(recording):
    folder, _ = recording
    result = evaluate_take(folder / "take.csv", folder / "take.wav", take_fps=25)
    assert result["frames"] == 50 and result["channels_scored"] == len(T2A_CHANNELS)
    assert result["jaw_open"]["r_lag0"] > 0.999 and result["jaw_open"]["best_lag_frames"] == 0
    assert result["lipsync_mae"]["ratio"] < 0.01  # 6-decimal rounding of the CSV is all that differs
    # the take is the prediction, so both sit the same way against the sound
    take, model = result["jaw_vs_loudness"]["take"], result["jaw_vs_loudness"]["model"]
    assert take["best_lag_frames"] == model["best_lag_frames"]
    assert take["r_best"] == pytest.approx(model["r_best"], abs=1e-3)


def test_audio_and_take_of_different_lengths_are_refused(recording, tmp_path):
    folder, frames = recording
    write_t2a(tmp_path / "long.csv", np.concatenate([frames, frames])[:, :5])
    with pytest.raises(ValueError, match="probably not one recording"):
        evaluate_take(tmp_path / "long.csv", folder / "take.wav", take_fps=25)


def test_the_command_prints_and_writes_json(recording, tmp_path, capsys):
    folder, _ = recording
    out = tmp_path / "take.json"
    args = ["--take", str(folder / "take.csv"), "--audio", str(folder / "take.wav"), "--take-fps", "25"]
    assert main([*args, "--out", str(out)]) == 0
    assert "jawOpen r:" in capsys.readouterr().out
    assert json.loads(out.read_text())["lipsync_mae"]["ratio"] < 0.01
    with pytest.raises(SystemExit):
        main(["--take", str(folder / "take.csv")])  # no audio
