"""``avzoo evaluate av-lipsync --take``: a model against a real capture with its audio.

Bad input (unreadable CSVs, no face motion, silent audio, too short, offsets of seconds) on small synthetic files;
the offset search and ``--align`` on the real t2a clips in ``../shared/data`` (skipped when it is missing).
"""

import json

import numpy as np
import pytest
import soundfile as sf

import avzoo  # noqa: F401  (registers the pipeline task)
from avzoo.arkit import ARKIT_NAMES
from avzoo.evaluation.av_lipsync import main
from avzoo.evaluation.real_takes import (
    evaluate_take,
    find_offset,
    lagged_r,
    loudness_envelope,
    mouth_opening,
    read_take,
    score_take,
)
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
    folder, _ = recording
    frames, _, _ = read_take(folder / "take.csv", take_fps=25)
    write_t2a(tmp_path / "long.csv", np.concatenate([frames, frames]))
    with pytest.raises(ValueError, match="probably not one recording"):
        evaluate_take(tmp_path / "long.csv", folder / "take.wav", take_fps=25)


def test_the_command_prints_and_writes_json(recording, tmp_path, capsys):
    folder, _ = recording
    out = tmp_path / "take.json"
    args = ["--take", str(folder / "take.csv"), "--audio", str(folder / "take.wav"), "--take-fps", "25"]
    assert main([*args, "--out", str(out)]) == 0
    assert "jawOpen r:" in capsys.readouterr().out
    result = json.loads(out.read_text())
    assert result["lipsync_mae"]["ratio"] < 0.01
    assert result["offset_check"]["offset"] is False and "alignment" not in result
    assert main(["--take", str(folder / "take.csv")]) == 2  # no audio
    assert "--audio needs an existing file" in capsys.readouterr().err


# --- bad input --------------------------------------------------------------------------------------------------

HEADER = "frame," + ",".join(T2A_CHANNELS)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty file"),
        ("\n\n", "empty file"),
        (HEADER + "\n", "a header but no data rows"),
        (
            HEADER + "\n0,0.1,0.1,0.1,0.1,0.1\n1,0.1,0.1,0.1\n",
            r"line 3: 4 cells, but the header has 6 columns",
        ),
        (
            HEADER + "\n0,0.1,0.1,0.1,0.1,0.1\n1,abc,0.1,0.1,0.1,0.1\n",
            r"line 3: column 'JawOpen' holds 'abc'",
        ),
        (HEADER + "\n0,,0.1,0.1,0.1,0.1\n", r"line 2: column 'JawOpen' holds '', not a number"),
        (HEADER + "\n0,0.1,nan,0.1,0.1,0.1\n", "values must be finite"),
        ("JawOpen,Smirk\n0.1,0.2\n", r"unknown layout \(.*'Smirk'\); expected a Live Link Face CSV"),
    ],
    ids=[
        "empty",
        "blank-lines",
        "header-only",
        "ragged",
        "non-numeric",
        "empty-cell",
        "nan",
        "unknown-layout",
    ],
)
def test_unreadable_csvs_are_refused_naming_the_file(tmp_path, text, message):
    path = tmp_path / "take.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as err:
        read_take(path, take_fps=25)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory):
    path = tmp_path_factory.mktemp("speech") / "speech.wav"
    sf.write(path, speechlike(2.0), SR, subtype="FLOAT")
    return path


def moving(frames: int) -> np.ndarray:
    t = np.arange(frames)[:, None] / 25.0
    return (0.2 + 0.15 * np.sin(2 * np.pi * 3 * t + np.arange(len(T2A_CHANNELS)))).clip(0, 1)


@pytest.mark.parametrize("jitter", [0.0, 0.002], ids=["constant", "near-constant"])
def test_a_take_with_no_face_motion_is_refused(tmp_path, speech_wav, jitter):
    frames = 0.1 + jitter * np.random.default_rng(0).standard_normal((50, len(T2A_CHANNELS)))
    write_t2a(tmp_path / "still.csv", frames)
    with pytest.raises(
        ValueError, match=r"still\.csv: no face motion; every one of its 5 channels is constant"
    ):
        evaluate_take(tmp_path / "still.csv", speech_wav, take_fps=25)


def test_a_take_under_a_second_is_too_short(tmp_path, speech_wav):
    write_t2a(tmp_path / "short.csv", moving(20))
    with pytest.raises(
        ValueError, match=r"short\.csv: 20 frames at 25 fps \(0\.80 s\) is too short to score"
    ):
        evaluate_take(tmp_path / "short.csv", speech_wav, take_fps=25)


@pytest.mark.parametrize("level", [0.0, 1e-4], ids=["silent", "near-silent"])
def test_audio_without_speech_is_refused_naming_the_file(tmp_path, level):
    write_t2a(tmp_path / "take.csv", moving(50))
    audio = level * np.random.default_rng(0).standard_normal(2 * SR)
    sf.write(tmp_path / "quiet.wav", audio.astype(np.float32), SR, subtype="FLOAT")
    message = (
        "digital silence"
        if level == 0
        else r"holds no speech: its loudest frame is -[0-9]+ dBFS, quieter than -50 dBFS"
    )
    with pytest.raises(ValueError, match=message) as err:
        evaluate_take(tmp_path / "take.csv", tmp_path / "quiet.wav", take_fps=25)
    assert str(tmp_path / "quiet.wav") in str(err.value)


def test_the_command_refuses_bad_input_in_one_line_and_writes_nothing(tmp_path, speech_wav, capsys):
    (tmp_path / "take.csv").write_text(HEADER + "\n0,0.1,0.1,0.1\n")
    out = tmp_path / "out" / "take.json"
    args = ["--take", str(tmp_path / "take.csv"), "--audio", str(speech_wav), "--take-fps", "25"]
    assert main([*args, "--out", str(out), "--strip", str(tmp_path / "s.png")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("avzoo evaluate av-lipsync: error: ") and "4 cells" in err
    assert not out.exists() and not (tmp_path / "s.png").exists()
    assert main([*args, "--strip", str(tmp_path / "s.jpg")]) == 2
    assert "--strip needs the path of a .png file" in capsys.readouterr().err


# --- the strip ------------------------------------------------------------------------------------------------


def test_the_command_renders_the_strip_after_the_scores(recording, tmp_path, capsys):
    import cv2

    folder, _ = recording
    out, strip = tmp_path / "take.json", tmp_path / "strip.png"
    args = ["--take", str(folder / "take.csv"), "--audio", str(folder / "take.wav"), "--take-fps", "25"]
    assert main([*args, "--out", str(out), "--strip", str(strip)]) == 0
    image = cv2.imread(str(strip))
    # 2 s at 25 fps, every 3rd frame: 17 frames, 13 a row -> two take/model pairs of rows of 128 + 34 px cells,
    # a 6 px rule between the pairs, under a two-line heading (38 px)
    assert image.shape == (38 + 2 * (2 * 162) + 6, 13 * 128, 3)
    assert json.loads(out.read_text())["strip"] == str(strip)
    # a stretch outside the recording: refused after the model ran, and still nothing written
    capsys.readouterr()
    out2, strip2 = tmp_path / "b.json", tmp_path / "b.png"
    assert main([*args, "--out", str(out2), "--strip", str(strip2), "--strip-start", "5"]) == 2
    assert "strip start 5 s lies outside the scored stretch 0.00-2.00 s" in capsys.readouterr().err
    assert not out2.exists() and not strip2.exists()


# --- offsets of seconds, on the real t2a clips -----------------------------------------------------------------

SHIFT_S = 2.0


@pytest.fixture(scope="module")
def t2a(shared_data):
    folder = shared_data / "arkit-real" / "t2a-mandarin"
    if not (folder / "a8.csv").is_file():
        pytest.skip(f"the t2a clips are not in {folder}")
    return folder


@pytest.fixture(scope="module")
def a8_shifted(t2a, tmp_path_factory):
    """a8 shifted by 2 s both ways: the take 2 s late (its first frame held), and the audio 2 s late (silence)."""
    folder = tmp_path_factory.mktemp("shifted")
    frames, names, fps = read_take(t2a / "a8.csv", take_fps=25)
    shift = round(SHIFT_S * fps)
    late = np.concatenate([np.repeat(frames[:1], shift, axis=0), frames])[: len(frames)]
    write_t2a(folder / "take_late.csv", late, names)
    audio, rate = sf.read(t2a / "a8.wav", dtype="float32")
    sf.write(
        folder / "audio_late.wav", np.concatenate([np.zeros(int(SHIFT_S * rate), np.float32), audio]), rate
    )
    return folder


@pytest.mark.parametrize("clip", ["a8", "a10", "A1"])
def test_the_natural_t2a_clips_show_no_offset(t2a, clip):
    from avzoo.io.audio import load_audio

    frames, names, fps = read_take(t2a / f"{clip}.csv", take_fps=25)
    loudness = loudness_envelope(load_audio(t2a / f"{clip}.wav", SR), SR, fps)
    check = find_offset(mouth_opening(frames, names)[0], loudness, fps)
    assert not check["offset"] and abs(check["lag_frames"]) <= 3  # the mouth opens up to 3 frames ahead


def test_a_take_shifted_by_seconds_is_refused_with_the_offset(t2a, a8_shifted, capsys):
    with pytest.raises(ValueError, match=r"the take is 1\.9[0-9] s late .*pass --align") as err:
        evaluate_take(a8_shifted / "take_late.csv", t2a / "a8.wav", take_fps=25)
    assert "\n" not in str(err.value)
    args = ["--take", str(a8_shifted / "take_late.csv"), "--audio", str(t2a / "a8.wav"), "--take-fps", "25"]
    assert (
        main([*args, "--out", str(a8_shifted / "late.json")]) == 2
    )  # the command: one line, nothing written
    assert "s late against its audio" in capsys.readouterr().err and not (a8_shifted / "late.json").exists()
    # the audio 2 s late is an offset too, not only a length mismatch
    with pytest.raises(ValueError, match=r"the take is 2\.0[0-9] s early .*pass --align"):
        evaluate_take(t2a / "a8.csv", a8_shifted / "audio_late.wav", take_fps=25)


@pytest.fixture(scope="module")
def a8_scores(t2a):
    return evaluate_take(t2a / "a8.csv", t2a / "a8.wav", take_fps=25)


def test_align_recovers_the_unshifted_scores(t2a, a8_shifted, a8_scores):
    aligned = evaluate_take(t2a / "a8.csv", a8_shifted / "audio_late.wav", take_fps=25, align=True)
    alignment = aligned["alignment"]
    assert alignment["shifted"] and alignment["offset_s"] == pytest.approx(-SHIFT_S, abs=0.12)
    assert "cross-correlation" in alignment["method"]
    # the audio's extra 2 s are cropped and the whole take scored, less the frame or so the lag is off by
    assert a8_scores["frames"] - 3 <= aligned["frames"] <= a8_scores["frames"]
    jaw, jaw0 = aligned["jaw_open"], a8_scores["jaw_open"]
    assert jaw["r_best"] == pytest.approx(jaw0["r_best"], abs=0.05)
    assert abs(jaw["best_lag_frames"] - jaw0["best_lag_frames"]) <= 3  # whole frames, within the mouth's lead
    assert aligned["lipsync_mae"]["ratio"] == pytest.approx(a8_scores["lipsync_mae"]["ratio"], rel=0.15)
    shut, shut0 = aligned["lips_nearly_shut"], a8_scores["lips_nearly_shut"]
    assert shut["take"] == pytest.approx(shut0["take"], abs=0.02)
    assert shut["model"] == pytest.approx(shut0["model"], abs=0.05)


def test_align_shifts_a_late_take_and_crops(t2a, a8_shifted, a8_scores):
    aligned = evaluate_take(a8_shifted / "take_late.csv", t2a / "a8.wav", take_fps=25, align=True)
    assert aligned["alignment"]["offset_s"] == pytest.approx(SHIFT_S, abs=0.12)
    assert aligned["frames"] == a8_scores["frames"] - aligned["alignment"]["offset_frames"]
    assert aligned["jaw_open"]["r_best"] > 0.4  # scored on the 3.5 s left (unshifted, 5.5 s: 0.49)
