"""End-to-end corpus build: schema, splits, determinism, resume, and timing/viseme invariants."""

import json
from dataclasses import replace

import numpy as np
import pytest
from typer.testing import CliRunner

from avzoo import arkit
from avzoo.emotions import RAVDESS_EMOTIONS
from avzoo.synth.corpus import CorpusConfig, build_corpus, corpus_stats, load_corpus, make_utterance
from avzoo.synth.visemes import OPEN_VOWELS, lips_closed

CONFIG = CorpusConfig(
    utterances={"train": 8, "validation": 3, "test": 3},
    speakers={"train": 4, "validation": 2, "test": 2},
    shard_size=4,
    face_size=32,
    seed=7,
)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus")
    return out, build_corpus(CONFIG, out, num_proc=2, progress=False)


def test_schema_and_shapes(corpus):
    _, ds = corpus
    assert set(ds) == {"train", "validation", "test"}
    assert [len(ds[s]) for s in ("train", "validation", "test")] == [8, 3, 3]
    row = ds["train"].with_format("numpy")[0]
    audio = ds["train"][0]["audio"].get_all_samples()
    assert audio.sample_rate == 16000 and audio.data.shape[0] == 1
    n = row["blendshapes"].shape[0]
    assert row["blendshapes"].shape == (n, 52) and row["head_pose"].shape == (n, 3)
    # datasets' numpy formatter widens ragged uint8 arrays to int64; the stored type is uint8.
    assert row["face"].shape == (n, 32, 32, 3) and ds["train"].features["face"].dtype == "uint8"
    assert row["face"].min() >= 0 and row["face"].max() <= 255 and row["face"].std() > 10
    assert abs(n / 30 - audio.data.shape[1] / 16000) < 1 / 30 + 1e-6
    assert row["blendshapes"].min() >= 0 and row["blendshapes"].max() <= 1
    assert ds["train"].features["emotion"].names == list(RAVDESS_EMOTIONS)


def test_held_out_speakers_and_sentences(corpus):
    _, ds = corpus
    spk = {s: set(ds[s]["speaker_id"]) for s in ds}
    txt = {s: set(ds[s]["text"]) for s in ds}
    for a in ds:
        for b in ds:
            if a != b:
                assert not spk[a] & spk[b] and not txt[a] & txt[b]
    voices_train = {v.split("+")[-1] for v in ds["train"]["voice"] if "+" in v}
    voices_test = {v.split("+")[-1] for v in ds["test"]["voice"] if "+" in v}
    assert not voices_train & voices_test  # espeak timbres held out too
    stats = corpus_stats(ds)
    assert stats["train"]["utterances"] == 8 and stats["train"]["hours"] > 0


def test_speakers_do_not_depend_on_split_order():
    """A config read back from JSON lists its splits sorted; the speakers must not change with it."""
    from avzoo.synth.speakers import make_speakers

    ordered = make_speakers({"train": 3, "validation": 2, "test": 2})
    shuffled = make_speakers({"test": 2, "train": 3, "validation": 2})
    for split in ordered:
        assert [s.speaker_id for s in ordered[split]] == [s.speaker_id for s in shuffled[split]]
        assert [s.articulation for s in ordered[split]] == [s.articulation for s in shuffled[split]]


def test_deterministic_and_resumable(corpus, tmp_path):
    out, ds = corpus
    again = make_utterance(CONFIG, "train", 5)
    np.testing.assert_array_equal(
        np.asarray(ds["train"].with_format("numpy")[5]["blendshapes"]), again["blendshapes"]
    )
    shard = out / "train" / "shard-00001.parquet"
    before = shard.read_bytes()
    shard.unlink()
    rebuilt = build_corpus(CONFIG, out, num_proc=1, progress=False)
    assert shard.read_bytes() == before and len(rebuilt["train"]) == 8
    with pytest.raises(ValueError, match="another config"):
        build_corpus(
            CorpusConfig(seed=8, utterances={"train": 1}, speakers={"train": 1}), out, progress=False
        )
    assert len(load_corpus(out)["test"]) == 3


def test_lips_close_on_bilabials_and_jaw_opens_on_open_vowels(corpus):
    _, ds = corpus
    closed_hits = closed_total = 0
    open_jaw = []
    for row in ds["train"].with_format("numpy"):
        bs = row["blendshapes"]
        closed = lips_closed(bs)
        for ph in row["phonemes"]:
            k = np.arange(int(ph["start"] * 30), int(np.ceil(ph["end"] * 30)))
            k = k[k < len(bs)]
            if ph["phone"] in ("P", "B", "M") and len(k):
                closed_total += 1
                closed_hits += bool(closed[k].any())
            if ph["phone"] in OPEN_VOWELS and ph["end"] - ph["start"] > 0.06 and len(k):
                open_jaw.append(bs[k, arkit.INDEX["jawOpen"]].max())
    assert closed_total > 5 and closed_hits / closed_total >= 0.95
    assert np.median(open_jaw) > 0.3


def test_bad_config():
    with pytest.raises(ValueError, match="unknown split"):
        CorpusConfig(utterances={"dev": 3})
    with pytest.raises(ValueError, match="no speakers"):
        CorpusConfig(utterances={"train": 3}, speakers={"train": 0})
    with pytest.raises(ValueError, match="face_size"):
        CorpusConfig(face_size=4)


def test_label_versions_share_audio_and_never_mix(corpus):
    out, ds = corpus
    config = replace(CONFIG, face_size=None)
    v1 = make_utterance(config, "test", 1)
    v2 = make_utterance(replace(config, labels="v2-real"), "test", 1)
    np.testing.assert_array_equal(v1["audio"]["array"], v2["audio"]["array"])
    assert v1["phonemes"] == v2["phonemes"] and v1["text"] == v2["text"]
    np.testing.assert_array_equal(v1["blendshapes"], ds["test"].with_format("numpy")[1]["blendshapes"])
    assert not np.array_equal(v1["blendshapes"], v2["blendshapes"])
    bilabials = 0
    for i in range(3):  # v2-real bilabials still shut the lips (lip gap; their press is light)
        row = v2 if i == 1 else make_utterance(replace(config, labels="v2-real"), "test", i)
        bs = row["blendshapes"]
        gap = bs[:, arkit.INDEX["jawOpen"]] - bs[:, arkit.INDEX["mouthClose"]]
        for ph in row["phonemes"]:
            k = np.arange(int(ph["start"] * 30), int(np.ceil(ph["end"] * 30)))
            if ph["phone"] in ("P", "B", "M") and len(k := k[k < len(bs)]):
                bilabials += 1
                assert (gap[k] < 0.05).any()
    assert bilabials > 0
    assert json.loads((out / "config.json").read_text())["labels"] == "v1"
    with pytest.raises(ValueError, match="another config"):
        build_corpus(replace(CONFIG, labels="v2-real"), out, progress=False)
    # A config.json written before label versions existed resumes as v1, and only as v1.
    cfg = json.loads((out / "config.json").read_text())
    del cfg["labels"]
    (out / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="another config"):
        build_corpus(replace(CONFIG, labels="v2-real"), out, progress=False)
    assert len(build_corpus(CONFIG, out, progress=False)["train"]) == 8
    assert json.loads((out / "config.json").read_text())["labels"] == "v1"


def test_bad_label_version(tmp_path):
    from avzoo.synth.cli import app

    with pytest.raises(ValueError, match="unknown label version 'v3'; expected one of v1, v2-real"):
        CorpusConfig(labels="v3")
    result = CliRunner().invoke(app, ["corpus", str(tmp_path / "c"), "--test", "1", "--labels", "v3"])
    assert result.exit_code == 2 and "unknown label version" in result.output
    assert not (tmp_path / "c").exists()
