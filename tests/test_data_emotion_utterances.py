"""MELD/IEMOCAP-style utterance CSVs -> text-audio-emotion shards (:mod:`avzoo.data.emotion_utterances`).

A tiny MELD.Raw is built in tmp_path in the official layout with real FFmpeg mp4s (H.264 + AAC); the generic
layout uses wav files; the written folder is read back by the emotion-speech loader and the recipe's dataset.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile as sf
import torch

from avzoo.data.emotion_utterances import (
    CSV,
    IEMOCAP_LABELS,
    MELD,
    PITCH_BAND_FILL,
    load_emotion_utterances,
    main,
    write_emotion_utterances,
)
from avzoo.emotions import MELD_EMOTIONS
from avzoo.synth.emotion_speech import emotion_speech_features, load_emotion_speech
from avzoo.train.text_audio_emotion import EmotionSpeechDataset, metadata_names

SR = 16000
MELD_HEADER = (
    "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,StartTime,EndTime\n"
)


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def ffmpeg(*args: str) -> None:
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed")
    subprocess.run(["nice", "-n", "10", "ffmpeg", "-loglevel", "error", "-y", *args], check=True)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """A 1 s 64x64 H.264 video with a 440 Hz AAC track at 48 kHz, like a (tiny) MELD clip."""
    path = tmp_path_factory.mktemp("media") / "clip.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "sine=frequency=440:duration=1:sample_rate=48000",
        "-f", "lavfi", "-i", "color=size=64x64:duration=1:rate=10", "-shortest",
        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", str(path),
    )  # fmt: skip
    return path


def meld_row(n: int, text: str, speaker: str, emotion: str, dia: int, utt: int) -> str:
    return f'{n},"{text}",{speaker},{emotion},neutral,{dia},{utt},1,1,"00:00:01,000","00:00:02,000"\n'


@pytest.fixture
def meld(tmp_path, clip) -> Path:
    """MELD.Raw: three CSVs and their official clip folders. Train has 3 good rows, one whose clip is missing
    (dia1_utt1) and one labelled ``contempt``."""
    root = tmp_path / "MELD.Raw"
    splits = {
        "train": ("train_splits", ["joy", "anger", "sadness"]),
        "dev": ("dev_splits_complete", ["neutral", "fear", "surprise"]),
        "test": ("output_repeated_splits_test", ["disgust", "joy", "neutral"]),
    }
    for split, (folder, emotions) in splits.items():
        (root / folder).mkdir(parents=True)
        lines = [MELD_HEADER]
        for i, emotion in enumerate(emotions):
            lines.append(meld_row(i + 1, f"{split} line {i}, \u201cquoted\u201d", "Phoebe", emotion, 0, i))
            shutil.copy(clip, root / folder / f"dia0_utt{i}.mp4")
        if split == "train":
            lines.append(meld_row(4, "Where is my clip?", "Ross", "joy", 1, 1))  # no dia1_utt1.mp4
            lines.append(meld_row(5, "Hmpf.", "Monica", "contempt", 1, 2))
            shutil.copy(clip, root / folder / "dia1_utt2.mp4")
        (root / f"{split}_sent_emo.csv").write_text("".join(lines), encoding="utf-8")
    return root


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    lines = [",".join(header)] + [",".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def tone(seconds: float, rate: int, freq: float = 220.0, channels: int = 1) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    wave = (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return wave if channels == 1 else np.stack([wave] * channels, axis=1)


def decode(audio) -> tuple[np.ndarray, int]:
    samples = audio.get_all_samples()
    return samples.data.numpy(), samples.sample_rate


# --- MELD ----------------------------------------------------------------------------------------------------------


def test_meld_rows_skips_and_schema(meld):
    with pytest.warns(UserWarning) as caught:
        ds = load_emotion_utterances(meld / "train_sent_emo.csv", meld, MELD, split="train")
    assert len(caught) == 1
    message = str(caught[0].message)
    assert message.startswith("2 of 5 rows of train_sent_emo.csv were skipped")
    assert "1 with a missing or unreadable media file" in message and "dia1_utt1.mp4 (missing)" in message
    assert "1 with unknown label(s) ['contempt']" in message
    assert ds.features == emotion_speech_features()
    assert ds["id"] == ["meld-train-dia0_utt0", "meld-train-dia0_utt1", "meld-train-dia0_utt2"]
    assert ds.features["label"].int2str(ds["label"]) == ["joy", "anger", "sadness"]
    assert ds["text"][1] == "train line 1, \u201cquoted\u201d"
    assert set(ds["condition"]) == {"unknown"} and set(ds["intensity"]) == {"unknown"}
    assert ds["text_emotion"] == [-1, -1, -1]
    assert set(metadata_names(ds)["gender"]) == {"unknown"} and set(metadata_names(ds)["age_group"]) == {
        "unknown"
    }
    assert set(metadata_names(ds)["pitch_band"]) == {PITCH_BAND_FILL}
    assert set(ds["source"]) == {"meld"} and set(ds["engine"]) == {"meld"}
    assert ds["speaker_id"] == ["meld-Phoebe"] * 3
    paths = ds.cast_column("audio", ds.features["audio"].__class__(decode=False))["audio"]
    assert [Path(a["path"]) for a in paths] == [
        (meld / "train_splits" / f"dia0_utt{i}.mp4") for i in range(3)
    ]
    samples, rate = decode(ds[0]["audio"])
    assert rate == SR and samples.shape[0] == 1 and abs(samples.shape[1] - SR) < 400
    # The clip folder itself works as media_root too; "dev" names the validation split.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dev = load_emotion_utterances(
            meld / "dev_sent_emo.csv", meld / "dev_splits_complete", "meld", split="dev"
        )
    assert dev["id"][0] == "meld-validation-dia0_utt0"


def test_meld_corrupt_clip_and_nothing_left(meld, tmp_path):
    (meld / "test_splits_broken").mkdir()
    (meld / "test_splits_broken" / "dia0_utt0.mp4").write_bytes(
        b"\x00\x00\x00\x18ftypmp42 not really a video"
    )
    csv = tmp_path / "one.csv"
    csv.write_text(MELD_HEADER + meld_row(1, "Hi.", "Joey", "joy", 0, 0))
    with pytest.raises(ValueError, match=r"no usable rows .*1 with a missing or unreadable media file"):
        load_emotion_utterances(csv, meld / "test_splits_broken", MELD)
    # probe=False only checks that the file exists
    assert len(load_emotion_utterances(csv, meld / "test_splits_broken", MELD, probe=False)) == 1
    with pytest.raises(ValueError, match=r"missing column\(s\) \['Emotion', 'Dialogue_ID', 'Utterance_ID'\]"):
        load_emotion_utterances(write_csv(tmp_path / "bad.csv", ["Utterance"], [["Hi."]]), tmp_path, MELD)
    with pytest.raises(ValueError, match="utterance CSV not found"):
        load_emotion_utterances(tmp_path / "nope.csv", tmp_path, MELD)
    with pytest.raises(ValueError, match="media folder not found"):
        load_emotion_utterances(csv, tmp_path / "nope", MELD)
    with pytest.raises(ValueError, match="unknown layout"):
        load_emotion_utterances(csv, tmp_path, "iemocap")


# --- the generic layout and IEMOCAP's labels --------------------------------------------------------------------------


@pytest.fixture
def wavs(tmp_path) -> Path:
    root = tmp_path / "wavs"
    (root / "sub").mkdir(parents=True)
    sf.write(root / "a.wav", tone(0.5, 22050), 22050, subtype="PCM_16")
    sf.write(root / "sub" / "b.wav", tone(0.25, 44100, channels=2), 44100, subtype="PCM_16")
    sf.write(root / "c.flac", tone(0.75, 16000), 16000)
    return root


def test_generic_csv_with_wavs(wavs, tmp_path):
    csv = write_csv(
        tmp_path / "utts.csv",
        ["path", "text", "emotion", "speaker"],
        [
            ["a.wav", "I am thrilled", "Joy", "s1"],
            ["sub/b.wav", "Go away", "angry", "s2"],  # RAVDESS name -> anger
            [str(wavs / "c.flac"), "", "neutral", ""],  # absolute path, no text, no speaker
            ["missing.wav", "Gone", "sadness", "s1"],
        ],
    )
    with pytest.warns(UserWarning, match=r"1 of 4 rows of utts\.csv were skipped .*missing\.wav \(missing\)"):
        ds = load_emotion_utterances(csv, wavs, split="train")
    assert ds["id"] == ["csv-train-000001", "csv-train-000002", "csv-train-000003"]
    assert ds.features["label"].int2str(ds["label"]) == ["joy", "anger", "neutral"]
    assert ds["text"] == ["I am thrilled", "Go away", ""]
    assert ds["speaker_id"] == ["csv-s1", "csv-s2", None]
    assert set(ds["source"]) == {"csv"}
    for row, seconds in zip(ds, (0.5, 0.25, 0.75), strict=True):
        samples, rate = decode(row["audio"])
        assert rate == SR and samples.shape == (1, pytest.approx(seconds * SR, abs=2))
    # Without media_root, paths are relative to the CSV's folder; the speaker column is optional.
    (tmp_path / "x.wav").write_bytes((wavs / "a.wav").read_bytes())
    plain = write_csv(tmp_path / "plain.csv", ["path", "text", "emotion"], [["x.wav", "hello", "surprise"]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        one = load_emotion_utterances(plain)
    assert one["id"] == ["csv-plain-000001"] and one["speaker_id"] == [None]


def test_iemocap_labels(wavs, tmp_path):
    codes = ["ang", "hap", "exc", "sad", "neu", "fru", "fea", "sur", "dis", "xxx", "oth", "fru", "NEU"]
    csv = write_csv(
        tmp_path / "iemocap.csv",
        ["path", "text", "emotion", "speaker"],
        [["a.wav", f"turn {i}", code, "Ses01F"] for i, code in enumerate(codes)],
    )
    with pytest.warns(
        UserWarning, match=r"4 of 13 .*4 with label\(s\) mapped to no class \{'fru': 2, 'oth': 1, 'xxx': 1\}"
    ):
        ds = load_emotion_utterances(csv, wavs, CSV, IEMOCAP_LABELS)
    assert ds.features["label"].int2str(ds["label"]) == [
        "anger", "joy", "joy", "sadness", "neutral", "fear", "surprise", "disgust", "neutral",
    ]  # fmt: skip
    assert set(IEMOCAP_LABELS.values()) - {None} == set(MELD_EMOTIONS)
    with pytest.warns(UserWarning, match=r"2 of 13 .*\{'oth': 1, 'xxx': 1\}"):
        kept = load_emotion_utterances(csv, wavs, CSV, {**IEMOCAP_LABELS, "fru": "anger"})
    assert kept.features["label"].int2str(kept["label"]).count("anger") == 3
    # Labels the map does not know are unknown (listed), and every row gone is an error.
    only = {k: v for k, v in IEMOCAP_LABELS.items() if k not in ("dis", "fea", "sur")}
    with pytest.warns(UserWarning, match=r"3 with unknown label\(s\) \['dis', 'fea', 'sur'\]"):
        assert len(load_emotion_utterances(csv, wavs, CSV, only)) == 6
    # The default (MELD and RAVDESS names) knows no IEMOCAP code but "sad", RAVDESS' word for sadness.
    with pytest.warns(UserWarning, match=r"12 of 13 .*12 with unknown label"):
        assert load_emotion_utterances(csv, wavs)["text"] == ["turn 3"]
    with pytest.raises(ValueError, match=r"no usable rows .*13 with unknown label"):
        load_emotion_utterances(csv, wavs, CSV, {"joy": "joy"})
    with pytest.raises(ValueError, match="label_map sends 'fru' to 'frustration'"):
        load_emotion_utterances(csv, wavs, CSV, {**IEMOCAP_LABELS, "fru": "frustration"})


def test_iemocap_export_from_the_docstring(tmp_path, monkeypatch):
    """The module docstring's IEMOCAP export, run on a tiny IEMOCAP_full_release (two sessions)."""
    from test_data_adapters import write_iemocap

    import avzoo.data.emotion_utterances as module

    root = tmp_path / "IEMOCAP_full_release"
    write_iemocap(root)  # sessions 1 (neu, exc, fru without a wav) and 2 (ang, xxx)
    doc = module.__doc__
    code = doc[doc.index("    import csv") : doc.index("then::")]
    code = "\n".join(line[4:] for line in code.splitlines())
    code = code.replace('"IEMOCAP_full_release"', repr(str(root))).replace(
        "test_session=5, validation_session=4", "2"
    )
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the fixture lacks one wav on purpose
        exec(compile(code, "docstring", "exec"), {})
    with pytest.warns(UserWarning, match=r"1 of 2 .*mapped to no class \{'xxx': 1\}"):
        test = load_emotion_utterances(tmp_path / "iemocap_test.csv", label_map=IEMOCAP_LABELS)
    assert test.features["label"].int2str(test["label"]) == ["anger"]
    main(
        [str(tmp_path / "data"), "--labels", "iemocap", "--source", "iemocap", "--train", "iemocap_train.csv"]
    )
    train = load_emotion_speech(tmp_path / "data")["train"]
    assert train.features["label"].int2str(train["label"]) == ["neutral", "joy"]
    assert train["speaker_id"] == ["iemocap-Ses01F", "iemocap-Ses01M"] and train["text"][0] == "Excuse me."


# --- writing shards ---------------------------------------------------------------------------------------------------


def load_meld_splits(meld: Path) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            split: load_emotion_utterances(meld / f"{name}_sent_emo.csv", meld, MELD, split=split)
            for split, name in (("train", "train"), ("validation", "dev"), ("test", "test"))
        }


def test_write_then_load_emotion_speech(meld, tmp_path):
    out = tmp_path / "data"
    data = write_emotion_utterances(load_meld_splits(meld), out, shard_size=2)
    assert list(data) == ["train", "validation", "test"]  # read back, in load_emotion_speech's order
    assert sorted(p.relative_to(out).as_posix() for p in out.glob("*/shard-*.parquet")) == [
        "test/shard-00000.parquet", "test/shard-00001.parquet", "train/shard-00000.parquet",
        "train/shard-00001.parquet", "validation/shard-00000.parquet", "validation/shard-00001.parquet",
    ]  # fmt: skip
    stored = pq.read_table(out / "train" / "shard-00000.parquet").column("audio").to_pylist()
    assert [a["bytes"] for a in stored] == [None, None] and Path(stored[0]["path"]).is_absolute()
    again = load_emotion_speech(out)
    assert {k: len(v) for k, v in again.items()} == {"train": 3, "validation": 3, "test": 3}
    assert again["train"].features == emotion_speech_features()
    assert again["validation"].features["label"].int2str(again["validation"]["label"]) == [
        "neutral",
        "fear",
        "surprise",
    ]
    samples, rate = decode(again["test"][2]["audio"])
    assert rate == SR and samples.shape[0] == 1 and abs(samples.shape[1] - SR) < 400
    spectrum = np.abs(np.fft.rfft(samples[0]))
    assert abs(np.argmax(spectrum) * SR / len(samples[0]) - 440) < 5
    # The recipe's dataset reads it: audio arrays at 16 kHz, metadata names the processor knows.
    item = EmotionSpeechDataset(again["train"])[1]
    assert item["label"] == MELD_EMOTIONS.index("anger") and item["audio"].dtype == np.float32
    assert abs(len(item["audio"]) - SR) < 400 and (item["gender"], item["pitch_band"]) == ("unknown", "mid")
    # An occupied folder needs overwrite; the synthetic builder will not add shards to it.
    with pytest.raises(ValueError, match="already holds 6 shard"):
        write_emotion_utterances({"train": again["train"]}, out)
    write_emotion_utterances({"train": again["train"]}, out, overwrite=True)
    assert list(load_emotion_speech(out)) == ["train"]
    from avzoo.synth.emotion_speech import EmotionSpeechConfig, build_emotion_speech

    with pytest.raises(ValueError, match="another config"):
        build_emotion_speech(EmotionSpeechConfig(), out)


def test_write_embedded_audio_is_self_contained(meld, tmp_path):
    out = tmp_path / "data"
    write_emotion_utterances({"dev": load_meld_splits(meld)["validation"]}, out, embed_audio=True)
    shutil.rmtree(meld)  # the media are gone; the shards hold the audio
    stored = pq.read_table(out / "validation" / "shard-00000.parquet").column("audio").to_pylist()
    assert all(a["path"] is None and a["bytes"][:4] == b"fLaC" for a in stored)
    data = load_emotion_speech(out)
    samples, rate = decode(data["validation"][1]["audio"])
    assert rate == SR and abs(samples.shape[1] - SR) < 400 and 0.1 < np.abs(samples).max() < 1


def test_write_checks(meld, tmp_path):
    train = load_meld_splits(meld)["train"]
    with pytest.raises(ValueError, match="keys among"):
        write_emotion_utterances({"training": train}, tmp_path / "a")
    with pytest.raises(ValueError, match="keys among"):
        write_emotion_utterances({}, tmp_path / "a")
    with pytest.raises(ValueError, match=r"missing \['text'\]"):
        write_emotion_utterances({"train": train.remove_columns("text")}, tmp_path / "a")
    with pytest.raises(ValueError, match="is empty"):
        write_emotion_utterances({"train": train.select([])}, tmp_path / "a")


# --- the CLI and the recipe ---------------------------------------------------------------------------------------------


def test_cli_meld_layout(meld, tmp_path, capsys):
    out = tmp_path / "data"
    args = [
        str(out),
        "--layout",
        "meld",
        "--media-root",
        str(meld),
        "--train",
        str(meld / "train_sent_emo.csv"),
    ]
    args += ["--dev", str(meld / "dev_sent_emo.csv"), "--test", str(meld / "test_sent_emo.csv")]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "warning: 2 of 5 rows of train_sent_emo.csv were skipped" in printed
    assert "train 3 {'anger': 1, 'joy': 1, 'sadness': 1}" in printed
    assert {k: len(v) for k, v in load_emotion_speech(out).items()} == {
        "train": 3,
        "validation": 3,
        "test": 3,
    }
    with pytest.raises(SystemExit):
        main([str(tmp_path / "x")])


def test_cli_generic_iemocap(wavs, tmp_path, capsys):
    csv = write_csv(
        tmp_path / "s.csv", ["path", "text", "emotion"], [["a.wav", "hi", "hap"], ["c.flac", "", "fru"]]
    )
    out = tmp_path / "data"
    main(
        [
            str(out),
            "--train",
            str(csv),
            "--media-root",
            str(wavs),
            "--labels",
            "iemocap",
            "--source",
            "iemocap",
        ]
    )
    data = load_emotion_speech(out)["train"]
    assert data["id"] == ["iemocap-train-000001"] and data["source"] == ["iemocap"]
    assert "label(s) mapped to no class {'fru': 1}" in capsys.readouterr().out


TINY_MODEL = {
    "hidden_size": 16,
    "num_attention_heads": 2,
    "classifier_hidden_size": 16,
    "audio_config": {
        "model_type": "wav2vec2-bert",
        "feature_projection_input_dim": 160,
        "hidden_size": 32,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "intermediate_size": 64,
        "conv_depthwise_kernel_size": 5,
        "position_embeddings_type": "relative_key",
        "left_max_position_embeddings": 16,
        "right_max_position_embeddings": 4,
        "add_adapter": False,
        "vocab_size": 32,
    },
}


def test_recipe_trains_one_step_on_meld(meld, tmp_path, monkeypatch):
    from avzoo.train.text_audio_emotion import main as train_main

    monkeypatch.setenv("AVZOO_TORCH_THREADS", "1")
    out = tmp_path / "data"
    write_emotion_utterances(load_meld_splits(meld), out)
    run = tmp_path / "run"
    train_main(
        [f"data_dir={out}", f"output_dir={run}", f"model={json.dumps(TINY_MODEL)}", "max_steps=1", "batch_size=3",
         "eval_every=1", "log_every=1", "max_audio_seconds=2", "progress=false", "cpu=true"]
    )  # fmt: skip
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [entry["step"] for entry in log if "loss" in entry] == [1]
    assert (run / "final" / "processor_config.json").is_file()
