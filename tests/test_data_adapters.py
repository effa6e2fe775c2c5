"""Real-dataset adapters: RAVDESS, Live Link Face takes, mixture folders, MELD / IEMOCAP / CSV transcripts.

Fixtures are built in tmp_path in each dataset's exact official layout; the real recordings in
shared/data (RAVDESS actors 1-16, the TIGER mixtures) are read through the ``shared_data`` fixture.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from avzoo.arkit import INDEX
from avzoo.data import (
    RAVDESS_FOLDS,
    iemocap_session_split,
    load_iemocap,
    load_livelink_takes,
    load_meld,
    load_mixture_folder,
    load_ravdess,
    load_transcript_csv,
    mixture_features,
    parse_ravdess_name,
    ravdess_speaker_split,
    utterance_features,
)
from avzoo.emotions import RAVDESS_EMOTIONS
from avzoo.io.livelink import write_livelink_csv


def tone(seconds: float, rate: int, freq: float = 220.0, amp: float = 0.3) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def ffmpeg(*args: str) -> None:
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed")
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *args], check=True)


@pytest.fixture(scope="module")
def av_clip(tmp_path_factory) -> Path:
    """A 1 s 64x36 H.264 + AAC 48 kHz mp4, like a (tiny) RAVDESS audio-video file."""
    path = tmp_path_factory.mktemp("media") / "clip.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc=size=64x36:rate=30", "-f", "lavfi", "-i", "sine=frequency=300:sample_rate=48000",
        "-t", "1", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", str(path),
    )  # fmt: skip
    return path


def decoded(column) -> np.ndarray:
    return np.asarray(column["array"], dtype=np.float32)


def assert_schema(ds, base) -> None:
    """The dataset has every shared column with the shared type, first and in order."""
    assert list(ds.features)[: len(base)] == list(base)
    for name, feature in base.items():
        assert ds.features[name] == feature, name


# --- RAVDESS ---------------------------------------------------------------------------------------
def write_ravdess(root: Path, names: list[str], clip: Path | None = None) -> None:
    for name in names:
        actor = int(name[18:20])
        path = root / f"Actor_{actor:02d}" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith(".wav"):
            sf.write(path, tone(0.25, 48000), 48000, subtype="PCM_16")
        else:
            shutil.copy(clip, path)


def test_parse_ravdess_name_fields_and_errors():
    info = parse_ravdess_name("03-01-05-02-01-02-12.wav")
    assert info == {
        "modality": "audio-only", "vocal_channel": "speech", "emotion": "angry", "intensity": "strong",
        "statement": 1, "repetition": 2, "actor": 12, "gender": "female", "take_id": "01-05-02-01-02-12",
    }  # fmt: skip
    assert parse_ravdess_name("01-02-06-01-02-01-23.mp4")["gender"] == "male"
    for bad, why in [
        ("03-01-09-01-01-01-01.wav", "emotion code 09"),
        ("03-01-01-02-01-01-01.wav", "neutral has no strong"),
        ("03-02-07-01-01-01-01.wav", "song covers only"),
        ("03-01-01-01-01-01-25.wav", "actor code 25"),
        ("01-01-01-01-01-01-01.wav", "modality 01"),
        ("03-01-01-01-01-01.wav", "seven two-digit fields"),
    ]:
        with pytest.raises(ValueError, match=why):
            parse_ravdess_name(bad)


def test_load_ravdess_audio_only(tmp_path):
    names = [
        "03-01-01-01-01-01-01.wav",
        "03-01-03-02-02-01-01.wav",
        "03-01-08-01-01-02-02.wav",
        "03-02-02-01-01-01-02.wav",
    ]
    write_ravdess(tmp_path / "Audio_Speech_Actors_01-24", names)
    ds = load_ravdess(tmp_path)
    assert_schema(ds, utterance_features())
    assert "video" not in ds.features
    assert ds["id"] == [
        "03-01-01-01-01-01-01",
        "03-01-03-02-02-01-01",
        "03-01-08-01-01-02-02",
    ]  # song excluded
    assert ds.features["emotion"].int2str(ds["emotion"]) == ["neutral", "happy", "surprised"]
    assert ds.features["intensity"].int2str(ds["intensity"]) == ["normal", "strong", "normal"]
    assert ds["text"] == [
        "Kids are talking by the door",
        "Dogs are sitting by the door",
        "Kids are talking by the door",
    ]
    assert ds["speaker_id"] == ["ravdess-01", "ravdess-01", "ravdess-02"]
    assert ds["gender"] == ["male", "male", "female"]
    assert ds["take_id"] == ["01-01-01-01-01-01", "01-03-02-02-01-01", "01-08-01-01-02-02"]
    assert ds["voice"] == ["audio-only/speech"] * 3 and set(ds["source"]) == {"ravdess"}
    # Stored as nulls (datasets reads a null Array2D cell back as nan, not None).
    assert ds.data.column("blendshapes").null_count == 3 and ds[0]["phonemes"] is None
    audio = ds[0]["audio"]
    assert audio["sampling_rate"] == 16000 and decoded(audio).shape == (4000,)  # 0.25 s at 48 kHz -> 16 kHz
    assert len(load_ravdess(tmp_path, vocal_channel="all")) == 4
    assert load_ravdess(tmp_path, actors=[2])["id"] == ["03-01-08-01-01-02-02"]


def test_load_ravdess_audio_video(tmp_path, av_clip):
    names = ["03-01-05-01-01-01-03.wav", "01-01-05-01-01-01-03.mp4", "02-01-05-01-01-01-03.mp4"]
    write_ravdess(tmp_path, names, av_clip)
    av = load_ravdess(tmp_path, modality="audio-video")
    assert_schema(av, utterance_features(video=True))
    assert av["id"] == ["01-01-05-01-01-01-03"] and av["voice"] == ["audio-video/speech"]
    assert av[0]["video"].endswith("Actor_03/01-01-05-01-01-01-03.mp4")
    audio = av[0]["audio"]  # the mp4's AAC track, resampled from 48 kHz
    assert audio["sampling_rate"] == 16000 and abs(len(decoded(audio)) - 16000) < 200
    everything = load_ravdess(tmp_path, modality="all")
    assert everything["modality"] == ["audio-video", "video-only", "audio-only"]
    assert everything[1]["audio"] is None and everything[1]["video"] is not None
    assert everything[2]["video"] is None
    assert len(set(everything["take_id"])) == 1  # the leakage key: one performance, three files
    with pytest.raises(ValueError, match="no RAVDESS files"):
        load_ravdess(tmp_path, modality="audio-video", vocal_channel="song")


def test_load_ravdess_bad_names_and_folders(tmp_path):
    write_ravdess(tmp_path, ["03-01-01-01-01-01-01.wav"])
    (tmp_path / "Actor_01" / "03-01-01-01-01-01.wav").write_bytes(b"")
    (tmp_path / "Actor_01" / ".DS_Store").write_bytes(b"")
    with pytest.raises(ValueError, match=r"03-01-01-01-01-01\.wav"):
        load_ravdess(tmp_path)
    with pytest.warns(UserWarning, match="skipped 1 file"):
        assert len(load_ravdess(tmp_path, strict=False)) == 1
    (tmp_path / "Actor_01" / "03-01-01-01-01-01.wav").unlink()
    sf.write(tmp_path / "Actor_01" / "03-01-02-01-01-01-02.wav", tone(0.1, 48000), 48000)
    with pytest.raises(ValueError, match="is actor 02 but sits in Actor_01"):
        load_ravdess(tmp_path)
    with pytest.raises(ValueError, match="not found"):
        load_ravdess(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no Actor_XX folders"):
        load_ravdess(tmp_path / "empty")
    with pytest.raises(ValueError, match="modality must be"):
        load_ravdess(tmp_path, modality="video")
    with pytest.raises(ValueError, match="actors must be"):
        load_ravdess(tmp_path, actors=[0, 25])


def test_ravdess_speaker_split_protocols(tmp_path, av_clip):
    names = [
        f"{m}-01-03-01-01-0{r}-{a:02d}.{'wav' if m == '03' else 'mp4'}"
        for a in range(1, 25)
        for m in ("01", "03")
        for r in (1, 2)
    ]
    write_ravdess(tmp_path, names, av_clip)
    ds = load_ravdess(tmp_path, modality="all")
    split = ravdess_speaker_split(ds)  # 16-4-4
    assert {k: sorted(set(v["actor"])) for k, v in split.items()} == {
        "train": list(range(1, 17)), "validation": [17, 18, 19, 20], "test": [21, 22, 23, 24],
    }  # fmt: skip
    tested = []
    for k in range(6):
        folds = ravdess_speaker_split(ds, "6-fold", k)
        actors = {name: set(part["actor"]) for name, part in folds.items()}
        assert actors["test"] == set(RAVDESS_FOLDS[k]) and actors["validation"] == set(RAVDESS_FOLDS[k - 1])
        assert sum(len(p) for p in folds.values()) == len(ds) == 24 * 4
        takes = {name: set(part["take_id"]) for name, part in folds.items()}
        assert not (takes["train"] & takes["test"]) and not (takes["train"] & takes["validation"])
        assert Counter(a % 2 for a in actors["test"]) == {0: 2, 1: 2}  # two male, two female
        tested += sorted(actors["test"])
    assert tested == list(range(1, 25))
    with pytest.raises(ValueError, match=r"fold=0\.\.5"):
        ravdess_speaker_split(ds, "6-fold")
    with pytest.raises(ValueError, match="protocol must be"):
        ravdess_speaker_split(ds, "5-fold", 0)
    with pytest.raises(ValueError, match=r"split 'test' .* needs actors \[21, 22, 23, 24\]"):
        ravdess_speaker_split(ds.filter(lambda r: r["actor"] <= 20))


def test_ravdess_real_takes(shared_data):
    ds = load_ravdess(shared_data / "real-speech" / "ravdess")
    assert len(ds) == 960  # 16 actors x 60 speech takes
    counts = Counter(ds.features["emotion"].int2str(ds["emotion"]))
    assert counts == {
        "neutral": 64,
        **{e: 128 for e in RAVDESS_EMOTIONS[1:]},
    }  # 16 x 4 neutral, 16 x 8 others
    assert Counter(ds["actor"]) == {a: 60 for a in range(1, 17)}
    assert len(set(ds["take_id"])) == 960
    folds = ravdess_speaker_split(ds, "6-fold", 1)  # test actors 5-8, validation 1-4, train 9-16
    actors = {k: sorted(set(v["actor"])) for k, v in folds.items()}
    assert actors == {"train": list(range(9, 17)), "validation": [1, 2, 3, 4], "test": [5, 6, 7, 8]}
    assert not set(folds["train"]["speaker_id"]) & set(folds["test"]["speaker_id"])
    audio = folds["test"][0]["audio"]
    wave = decoded(audio)
    assert audio["sampling_rate"] == 16000 and 2.5 < len(wave) / 16000 < 6 and np.abs(wave).max() > 0.01
    with pytest.raises(ValueError, match="holds actors"):
        ravdess_speaker_split(ds)  # 16-4-4 validates and tests on actors 17-24, which are not there


# --- Live Link Face takes --------------------------------------------------------------------------
def ramp_take(frames: int) -> tuple[np.ndarray, np.ndarray]:
    shapes = np.zeros((frames, 52), np.float32)
    shapes[:, INDEX["jawOpen"]] = np.linspace(0, 1, frames)
    shapes[:, INDEX["jawLeft"]] = 0.25  # swapped with jawRight in the file's column order
    rotations = np.zeros((frames, 9), np.float32)
    rotations[:, 0], rotations[:, 1], rotations[:, 2] = 0.5, -0.25, 0.1  # 90, -45, 18 degrees
    return shapes, rotations


def test_livelink_takes_with_wav(tmp_path):
    take = tmp_path / "MySlate_1_iPhone"
    take.mkdir()
    shapes, rotations = ramp_take(121)  # 2 s at 60 fps
    write_livelink_csv(take / "MySlate_1_iPhone.csv", shapes, fps=60, rotations=rotations)
    write_livelink_csv(take / "MySlate_1_iPhone_cal.csv", shapes * 0.5, fps=60, rotations=rotations)
    write_livelink_csv(take / "MySlate_1_iPhone_neutral.csv", shapes[:1], fps=30)
    (take / "frame_log.csv").write_text("Frame,Timecode\n0,00:00:00:00.000\n")
    (take / "take.json").write_text(json.dumps({"subject": "anna", "slate": "MySlate", "take": 1}))
    (take / "MySlate_1_iPhone.txt").write_text("hello there\n")
    sf.write(take / "MySlate_1_iPhone.wav", tone(2.5, 48000), 48000)

    ds = load_livelink_takes(tmp_path)
    assert_schema(ds, utterance_features())
    assert len(ds) == 1
    row = ds.with_format("numpy")[0]
    blend, pose = row["blendshapes"], row["head_pose"]
    assert blend.shape == (61, 52) and pose.shape == (61, 3) and row["fps"] == 30.0
    np.testing.assert_allclose(blend[:, INDEX["jawOpen"]], np.linspace(0, 1, 121)[::2], atol=1e-6)
    np.testing.assert_allclose(blend[:, INDEX["jawLeft"]], 0.25)
    np.testing.assert_allclose(pose[0], [math.pi / 2, -math.pi / 4, 0.1 * math.pi], rtol=1e-6)
    assert len(row["audio"]["array"]) == round(61 / 30 * 16000)  # audio cut to the frames' span
    plain = ds[0]
    assert plain["take"] == "MySlate_1_iPhone/MySlate_1_iPhone.csv" and plain["calibrated"] is False
    assert (
        plain["speaker_id"] == "livelink-anna"
        and plain["text"] == "hello there"
        and plain["source"] == "livelink"
    )
    cal = load_livelink_takes(tmp_path, calibrated=True, speaker_id="bob", fps=60)[0]
    assert (
        cal["take"].endswith("_cal.csv") and cal["calibrated"] is True and cal["speaker_id"] == "livelink-bob"
    )
    assert np.asarray(cal["blendshapes"]).shape == (121, 52)
    assert np.asarray(cal["blendshapes"])[-1, INDEX["jawOpen"]] == pytest.approx(0.5)


def test_livelink_take_aligned_by_video_timecode(tmp_path):
    # The video starts 0.5 s before the CSV's first row and is silent until then.
    folder = tmp_path / "take"
    folder.mkdir()
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc=size=64x36:rate=30", "-f", "lavfi",
        "-i", "aevalsrc=if(gte(t\\,0.5)\\,0.5*sin(2*PI*300*t)\\,0):s=48000:d=3",
        "-t", "3", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-timecode", "00:00:01:00",
        str(folder / "recording.mov"),
    )  # fmt: skip
    shapes, _ = ramp_take(60)
    write_livelink_csv(folder / "take.csv", shapes, fps=30, start_timecode="00:00:01:15")
    row = load_livelink_takes(tmp_path)[0]  # the single media file in the folder is the take's sound
    wave = decoded(row["audio"])
    assert len(wave) == 60 / 30 * 16000 and np.asarray(row["blendshapes"]).shape == (60, 52)
    assert np.sqrt(np.mean(wave[:3200] ** 2)) > 0.2  # the tone from the first frame on, not 0.5 s of silence


def test_livelink_takes_errors_and_missing_audio(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        load_livelink_takes(tmp_path / "missing")
    (tmp_path / "notes.csv").write_text("a,b\n1,2\n")
    with (
        pytest.raises(ValueError, match="no Live Link Face take"),
        pytest.warns(UserWarning, match="notes.csv"),
    ):
        load_livelink_takes(tmp_path)
    (tmp_path / "notes.csv").unlink()
    shapes, _ = ramp_take(10)
    (tmp_path / "b").mkdir()
    write_livelink_csv(tmp_path / "b" / "silent.csv", shapes, fps=30)
    with pytest.warns(UserWarning, match="no sound file"):
        ds = load_livelink_takes(tmp_path)
    assert ds["id"] == ["b/silent"] and ds[0]["audio"] is None
    assert np.asarray(ds[0]["blendshapes"]).shape == (10, 52)
    (tmp_path / "b" / "broken.csv").write_text(
        "Timecode,BlendshapeCount,EyeBlinkLeft\n00:00:00:00.000,61,0\n"
    )
    with pytest.raises(ValueError, match="missing blendshape column"):
        load_livelink_takes(tmp_path)


# --- Mixture folders -------------------------------------------------------------------------------
def write_mixture(files: dict[str, Path], rate: int, seconds: float, rng) -> None:
    """Write random references s1..sK (the keys of ``files`` other than 'mix') and their sum as 'mix'."""
    refs = {
        k: (0.2 * rng.standard_normal(round(seconds * rate))).astype(np.float32) for k in files if k != "mix"
    }
    total = np.sum(list(refs.values()), axis=0)
    for k, path in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        subtype = "FLOAT" if path.suffix == ".wav" else "PCM_24"
        sf.write(path, total if k == "mix" else refs[k], rate, subtype=subtype)


def test_mixture_folder_layout_a_three_sources(tmp_path):
    rng = np.random.default_rng(0)
    for name in ("b_mix", "a_mix"):
        write_mixture({k: tmp_path / k / f"{name}.wav" for k in ("mix", "s1", "s2", "s3")}, 8000, 0.5, rng)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = load_mixture_folder(tmp_path)
    assert ds.features == mixture_features(6)
    assert ds["id"] == ["a_mix", "b_mix"] and ds["num_sources"] == [3, 3] and ds[0]["s4"] is None
    row = ds[0]
    mix, parts = decoded(row["mixture"]), [decoded(row[f"s{k}"]) for k in (1, 2, 3)]
    assert row["mixture"]["sampling_rate"] == 16000 and len(mix) == 8000  # 0.5 s at 8 kHz, upsampled
    assert np.abs(mix - np.sum(parts, axis=0)).max() < 1e-3
    with pytest.raises(ValueError, match="more than max_sources=2"):
        load_mixture_folder(tmp_path, max_sources=2)
    (tmp_path / "s2" / "a_mix.wav").unlink()
    with pytest.raises(ValueError, match=r"a_mix\.wav .* no file of that name in \['s2'\]"):
        load_mixture_folder(tmp_path)


def test_mixture_folder_libri2mix_tree(tmp_path):
    rng = np.random.default_rng(1)
    test = tmp_path / "Libri2Mix" / "wav8k" / "max" / "test"
    for name in ("61-70968-0000_8455-210777-0012", "61-70968-0003_2412-153948-0004"):
        s1, s2 = (
            (0.2 * rng.standard_normal(2000)).astype(np.float32),
            (0.2 * rng.standard_normal(2000)).astype(np.float32),
        )
        noise = (0.1 * rng.standard_normal(2000)).astype(np.float32)
        signals = {"s1": s1, "s2": s2, "noise": noise, "mix_clean": s1 + s2, "mix_both": s1 + s2 + noise}
        for folder, signal in signals.items():
            (test / folder).mkdir(parents=True, exist_ok=True)
            sf.write(test / folder / f"{name}.wav", signal, 8000, subtype="FLOAT")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clean = load_mixture_folder(tmp_path / "Libri2Mix")  # the only set below the root
        both = load_mixture_folder(test, mixture="mix_both")  # checked against s1 + s2 + noise
    assert clean["num_sources"] == [2, 2] and clean["id"][0] == "61-70968-0000_8455-210777-0012"
    assert clean[0]["mixture"].metadata.path.endswith("mix_clean/61-70968-0000_8455-210777-0012.wav")
    assert both[1]["mixture"].metadata.path.split("/")[-2] == "mix_both" and both[1]["s3"] is None
    shutil.copytree(test, tmp_path / "Libri2Mix" / "wav16k" / "max" / "test")
    with pytest.raises(ValueError, match="holds 2 mixture sets"):
        load_mixture_folder(tmp_path / "Libri2Mix")
    with pytest.raises(ValueError, match="no 'mix_single' folder"):
        load_mixture_folder(test, mixture="mix_single")


def test_mixture_folder_per_mixture_layout(tmp_path):
    rng = np.random.default_rng(2)
    write_mixture({k: tmp_path / "set" / "m2" / f"{k}.wav" for k in ("mix", "s1", "s2")}, 16000, 0.2, rng)
    write_mixture(
        {k: tmp_path / "set" / "deep" / "m1" / f"{k}.flac" for k in ("mix", "s1", "s2", "s3", "s4")},
        16000,
        0.2,
        rng,
    )
    ds = load_mixture_folder(tmp_path / "set", source="toy")
    assert ds["id"] == ["deep/m1", "m2"] and ds["num_sources"] == [4, 2] and set(ds["source"]) == {"toy"}
    assert ds[1]["s3"] is None and len(decoded(ds[0]["s4"])) == 3200
    # A wrong reference only warns; a length mismatch is an error unless strict=False.
    sf.write(tmp_path / "set" / "m2" / "s2.wav", tone(0.2, 16000), 16000)
    with pytest.warns(UserWarning, match=r"1 of 2 mixtures match .* m2"):
        load_mixture_folder(tmp_path / "set")
    sf.write(tmp_path / "set" / "m2" / "s2.wav", tone(0.3, 16000), 16000)
    with pytest.raises(ValueError, match="m2: files differ in length"):
        load_mixture_folder(tmp_path / "set")
    with pytest.warns(UserWarning, match="1 of 2 mixtures skipped"):
        assert load_mixture_folder(tmp_path / "set", strict=False)["id"] == ["deep/m1"]
    (tmp_path / "set" / "m2" / "s2.wav").rename(tmp_path / "set" / "m2" / "s3.wav")
    with pytest.raises(ValueError, match="without gaps"):
        load_mixture_folder(tmp_path / "set")
    (tmp_path / "none").mkdir()
    with pytest.raises(ValueError, match="no mixtures"):
        load_mixture_folder(tmp_path / "none")


def test_mixture_folder_real_samples(shared_data):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # their mixes match s1 + s2 to 15-25 dB: within the default tolerance
        ds = load_mixture_folder(shared_data / "real-mixtures")
    assert ds["id"] == ["sample1", "sample2", "sample3"] and ds["num_sources"] == [2, 2, 2]
    assert ds["source"] == ["real-mixtures"] * 3
    row = ds[2]
    mix, s1, s2 = decoded(row["mixture"]), decoded(row["s1"]), decoded(row["s2"])
    assert len(mix) == len(s1) == len(s2) == 6 * 16000
    assert 10 * np.log10(np.sum(mix**2) / np.sum((mix - s1 - s2) ** 2)) > 10


# --- MELD ------------------------------------------------------------------------------------------
MELD_HEADER = (
    "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,StartTime,EndTime\n"
)


def test_load_meld_text_clips_and_encoding(tmp_path, av_clip):
    rows = (
        MELD_HEADER.encode()
        + '1,"\u201cOh my God, he\u2019s lost it.\u201d",Phoebe,surprise,negative,1,0,4,7,"00:20:57,256","00:21:00,049"\n'.encode()
        + b'2,Oh I\x92m sorry,Monica,sadness,negative,0,1,3,19,"0:12:43,012","0:12:44,500"\n'
        + '3,I\u00e2\u0080\u0099m fine\u0085 really,Chandler,joy,positive,0,0,3,19,"00:00:01,000","00:00:02,000"\n'.encode()
        + b'4,Yeah.,Ross,neutral,neutral,1,1,4,7,"00:21:01,000","00:21:01,500"\n'
    )
    (tmp_path / "train_sent_emo.csv").write_bytes(rows)
    clips = tmp_path / "train_splits"
    clips.mkdir()
    shutil.copy(av_clip, clips / "dia0_utt0.mp4")
    shutil.copy(av_clip, clips / "dia1_utt1.mp4")
    (clips / "dia0_utt1.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a video")  # corrupt
    with pytest.warns(UserWarning, match=r"2 of 4 MELD train clips are missing or unreadable"):
        ds = load_meld(tmp_path, "train")
    assert_schema(ds, utterance_features(video=True))
    assert ds["id"] == [
        "meld-train-dia0_utt0",
        "meld-train-dia0_utt1",
        "meld-train-dia1_utt0",
        "meld-train-dia1_utt1",
    ]
    assert ds["text"] == [
        "I\u2019m fine\u2026 really",
        "Oh I\u2019m sorry",
        "\u201cOh my God, he\u2019s lost it.\u201d",
        "Yeah.",
    ]
    assert ds.features["emotion"].int2str(ds["emotion"]) == ["happy", "sad", "surprised", "neutral"]
    assert ds.features["label_meld"].int2str(ds["label_meld"]) == ["joy", "sadness", "surprise", "neutral"]
    assert ds.features["sentiment"].int2str(ds["sentiment"]) == [
        "positive",
        "negative",
        "negative",
        "neutral",
    ]
    assert ds["speaker_id"][0] == "meld-Chandler"
    assert ds["start_time"][1] == pytest.approx(763.012) and ds["end_time"][2] == pytest.approx(1260.049)
    assert [r is None for r in ds["audio"]] == [
        False,
        True,
        True,
        False,
    ]  # dia0_utt1 corrupt, dia1_utt0 missing
    assert ds[0]["video"].endswith("train_splits/dia0_utt0.mp4") and ds[1]["video"] is None
    assert abs(len(decoded(ds[0]["audio"])) - 16000) < 200
    (tmp_path / "dev_sent_emo.csv").write_bytes(
        MELD_HEADER.encode() + b"1,Hi.,Joey,anger,negative,0,0,1,1,,\n"
    )
    with pytest.warns(UserWarning):
        both = load_meld(tmp_path, probe_clips=False)
    assert list(both) == ["train", "validation"] and both["validation"]["start_time"] == [None]
    assert len(load_meld(tmp_path, "validation")) == 1


def test_load_meld_errors(tmp_path):
    with pytest.raises(ValueError, match="no MELD labels"):
        load_meld(tmp_path)
    with pytest.raises(ValueError, match=r"expected .*test_sent_emo\.csv"):
        load_meld(tmp_path, "test")
    with pytest.raises(ValueError, match="split must be"):
        load_meld(tmp_path, "valid")
    (tmp_path / "test_sent_emo.csv").write_text(MELD_HEADER + "1,Hi.,Joey,contempt,negative,0,0,1,1,,\n")
    with pytest.raises(ValueError, match=r"row 2: emotion 'contempt' is not one of"):
        load_meld(tmp_path, "test")
    (tmp_path / "test_sent_emo.csv").write_text("Utterance,Speaker\nHi.,Joey\n")
    with pytest.raises(ValueError, match=r"missing column\(s\) \['Emotion', 'Dialogue_ID', 'Utterance_ID'\]"):
        load_meld(tmp_path, "test")


# --- IEMOCAP ---------------------------------------------------------------------------------------
def write_iemocap(root: Path) -> None:
    dialogs = {
        (1, "Ses01F_impro01"): [("Ses01F_impro01_F000", "neu", 6.2901, 8.2357, "Excuse me."), ("Ses01F_impro01_M000", "exc", 9.0, 10.5, "Do you have your forms?"), ("Ses01F_impro01_F001", "fru", 11.0, 12.0, "Yeah.")],
        (2, "Ses02M_script01_1"): [("Ses02M_script01_1_M000", "ang", 1.0, 2.5, "What's he going to say?"), ("Ses02M_script01_1_F000", "xxx", 3.0, 4.0, "Maybe nothing.")],
    }  # fmt: skip
    for (session, dialog), turns in dialogs.items():
        base = root / f"Session{session}"
        labels, transcripts = base / "dialog" / "EmoEvaluation", base / "dialog" / "transcriptions"
        labels.mkdir(parents=True)
        transcripts.mkdir(parents=True)
        lines = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", ""]
        text = []
        for i, (utt, cat, start, end, words) in enumerate(turns):
            lines += [
                f"[{start:.4f} - {end:.4f}]\t{utt}\t{cat}\t[{2.5 + i:.4f}, {3.0:.4f}, {1.5 + i:.4f}]",
                "C-E2:\tNeutral;\t()",
                "",
            ]
            text.append(f"{utt} [{start:08.4f}-{end:08.4f}]: {words}")
            if utt != "Ses01F_impro01_F001":
                wav = base / "sentences" / "wav" / dialog / f"{utt}.wav"
                wav.parent.mkdir(parents=True, exist_ok=True)
                sf.write(wav, tone(end - start, 16000), 16000)
        text.append("M: [BREATHING]")
        (labels / f"{dialog}.txt").write_text("\n".join(lines))
        (labels / f"._{dialog}.txt").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
        (labels / "Categorical").mkdir()
        (transcripts / f"{dialog}.txt").write_text("\n".join(text) + "\n")


def test_load_iemocap(tmp_path):
    write_iemocap(tmp_path)
    with pytest.warns(UserWarning, match="1 of 5 IEMOCAP turns have no wav"):
        ds = load_iemocap(tmp_path)
    assert_schema(ds, utterance_features())
    assert ds["id"] == [
        "Ses01F_impro01_F000",
        "Ses01F_impro01_F001",
        "Ses01F_impro01_M000",
        "Ses02M_script01_1_F000",
        "Ses02M_script01_1_M000",
    ]
    assert ds["label_iemocap"] == ["neu", "fru", "exc", "xxx", "ang"]
    assert ds["emotion"] == [0, -1, RAVDESS_EMOTIONS.index("happy"), -1, RAVDESS_EMOTIONS.index("angry")]
    assert ds["speaker_id"] == [
        "iemocap-Ses01F",
        "iemocap-Ses01F",
        "iemocap-Ses01M",
        "iemocap-Ses02F",
        "iemocap-Ses02M",
    ]
    assert ds["text"][0] == "Excuse me." and ds["text"][4] == "What's he going to say?"
    assert ds["valence"][:3] == [2.5, 4.5, 3.5] and ds["dominance"][0] == 1.5 and ds["arousal"][0] == 3.0
    assert ds["improvised"] == [True, True, True, False, False] and ds["session"] == [1, 1, 1, 2, 2]
    assert ds["start_time"][0] == pytest.approx(6.2901) and ds["audio"][1] is None
    assert len(decoded(ds[0]["audio"])) == round((8.2357 - 6.2901) * 16000)
    four = load_iemocap(tmp_path, four_class=True)
    assert four["label_iemocap"] == ["neu", "exc", "ang"]
    folds = iemocap_session_split(four, test_session=2)
    assert folds["test"]["id"] == ["Ses02M_script01_1_M000"] and len(folds["train"]) == 2
    with pytest.raises(ValueError, match="would be empty"):
        iemocap_session_split(four, test_session=3)
    with pytest.raises(ValueError, match="different sessions"):
        iemocap_session_split(four, 1, 1)
    with pytest.raises(ValueError, match="IEMOCAP session 3 not found"):
        load_iemocap(tmp_path, sessions=(1, 3))
    with pytest.raises(ValueError, match="sessions must be"):
        load_iemocap(tmp_path, sessions=(0,))


# --- Any CSV ---------------------------------------------------------------------------------------
def test_load_transcript_csv(tmp_path):
    sf.write(tmp_path / "a.wav", tone(0.5, 22050), 22050)
    (tmp_path / "labels.csv").write_bytes(
        b"file,sentence,feeling,who\na.wav,I\x92ll go,Joy,kim\nmissing.wav,Stay,ANGER,lee\n,No audio,,kim\n"
    )
    with pytest.warns(UserWarning, match="1 of 3 audio files named in labels.csv are missing"):
        ds = load_transcript_csv(tmp_path / "labels.csv", "sentence", "feeling", "file", speaker_column="who")
    assert_schema(ds, utterance_features())
    assert ds["text"] == ["I\u2019ll go", "Stay", "No audio"]
    assert ds["emotion"] == [RAVDESS_EMOTIONS.index("happy"), RAVDESS_EMOTIONS.index("angry"), -1]
    assert ds["label_raw"] == ["Joy", "ANGER", None] and ds["id"] == ["labels-1", "labels-2", "labels-3"]
    assert ds["speaker_id"] == ["labels-kim", "labels-lee", "labels-kim"] and ds["audio"][1] is None
    assert len(decoded(ds[0]["audio"])) == 8000
    mapped = load_transcript_csv(
        tmp_path / "labels.csv", "sentence", "feeling", label_map={"Joy": "calm", "ANGER": None}, source="toy"
    )
    assert mapped["emotion"] == [1, -1, -1] and mapped["source"] == ["toy"] * 3
    (tmp_path / "odd.csv").write_text("text,label\nhi,bored\nyo,meh\n")
    with pytest.raises(ValueError, match=r"unknown label\(s\) \['bored', 'meh'\]"):
        load_transcript_csv(tmp_path / "odd.csv", "text", "label")
    with pytest.raises(ValueError, match=r"missing column\(s\) \['emotion'\]"):
        load_transcript_csv(tmp_path / "odd.csv", "text", "emotion")
    with pytest.raises(ValueError, match="not found"):
        load_transcript_csv(tmp_path / "none.csv", "text", "label")


def test_adapters_share_the_schema(tmp_path):
    """Rows from different adapters concatenate once reduced to the shared columns."""
    from datasets import concatenate_datasets

    write_ravdess(tmp_path / "ravdess", ["03-01-04-02-01-01-05.wav"])
    write_iemocap(tmp_path / "iemocap")
    shapes, rotations = ramp_take(31)
    (tmp_path / "takes").mkdir()
    write_livelink_csv(tmp_path / "takes" / "t.csv", shapes, fps=30, rotations=rotations)
    sf.write(tmp_path / "takes" / "t.wav", tone(1.0, 16000), 16000)
    shared = list(utterance_features())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the IEMOCAP fixture lacks one wav on purpose
        parts = [
            load_ravdess(tmp_path / "ravdess"),
            load_iemocap(tmp_path / "iemocap"),
            load_livelink_takes(tmp_path / "takes"),
        ]
    ds = concatenate_datasets([p.select_columns(shared) for p in parts])
    assert ds.features == utterance_features() and len(ds) == 1 + 5 + 1
    assert ds["source"] == ["ravdess"] + ["iemocap"] * 5 + ["livelink"]
    assert ds.features["emotion"].int2str(ds[0]["emotion"]) == "sad"
    assert np.asarray(ds[6]["blendshapes"]).shape == (30, 52)  # 31 frames, cut to the 1 s of audio
