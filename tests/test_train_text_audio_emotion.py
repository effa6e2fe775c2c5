"""The text-audio-emotion data and recipe: a tiny emotion-speech build (espeak-ng/flite), its label rule, conditions
and held-out sentences, determinism, the collator's seeded augmentation and modality dropout, the bundled text-vad
encoder, and two training steps whose saved folder loads with the Auto classes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from text_audio_emotion_helpers import SR, speechlike

from avzoo.emotions import MELD_EMOTIONS, to_meld
from avzoo.synth import emotion_speech
from avzoo.synth.emotion_speech import (
    CONDITIONS,
    EmotionSpeechConfig,
    build_emotion_speech,
    load_emotion_speech,
    make_row,
)
from avzoo.synth.speakers import Speaker
from avzoo.synth.text import sentence_split
from avzoo.train.text_audio_emotion import (
    BUNDLED_TEXT,
    Collator,
    EmotionSpeechDataset,
    TextAudioEmotionTrainConfig,
    build_model,
    build_processor,
    main,
)

CONFIG = EmotionSpeechConfig(
    utterances={"train": 12, "validation": 4, "test": 4},
    speakers={"train": 3, "validation": 1, "test": 1},
    shard_size=8,
)
#: The recipe's model at test size: the default (text-vad-shaped) text encoder, so the bundled weights load, with a
#: one-layer w2v-BERT of width 32 and a width-16 cross-modal block.
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


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch):
    monkeypatch.setenv("AVZOO_TORCH_THREADS", "1")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("emotion-speech")
    build_emotion_speech(CONFIG, out, num_proc=1)
    return out


@pytest.fixture(scope="module")
def data(data_dir):
    return load_emotion_speech(data_dir)


def rows(split) -> list[dict]:
    return list(split.remove_columns("audio"))


# --- the dataset --------------------------------------------------------------------------------------------------------


def test_build_writes_the_splits_in_shards(data_dir, data):
    assert {k: len(v) for k, v in data.items()} == {"train": 12, "validation": 4, "test": 4}
    assert sorted(p.name for p in (data_dir / "train").iterdir()) == [
        "shard-00000.parquet",
        "shard-00001.parquet",
    ]
    assert (data_dir / "config.txt").read_text() == repr(CONFIG)
    with pytest.raises(ValueError, match="built with another config"):
        build_emotion_speech(EmotionSpeechConfig(utterances={"train": 2}, speakers={"train": 1}), data_dir)
    # a second build of the same config resumes: nothing to redo
    stamp = (data_dir / "train" / "shard-00000.parquet").stat().st_mtime_ns
    assert len(build_emotion_speech(CONFIG, data_dir, num_proc=1)["train"]) == 12
    assert (data_dir / "train" / "shard-00000.parquet").stat().st_mtime_ns == stamp


def test_rows_follow_the_label_rule_and_conditions(data):
    meld = data["train"].features["label"].names
    assert meld == list(MELD_EMOTIONS)
    neutral = meld.index("neutral")
    seen = set()
    for split, ds in data.items():
        for row in rows(ds):
            seen.add(row["condition"])
            assert row["condition"] in CONDITIONS and row["source"] == "synthetic"
            assert row["id"].startswith(f"tae-{split}-0-")
            if row["condition"] == "congruent":
                assert row["text_emotion"] == row["label"], row
            elif row["condition"] == "neutral_text":
                assert row["text_emotion"] == neutral and row["label"] != neutral, row
            else:  # incongruent: the words say another emotion than the voice
                assert row["text_emotion"] != row["label"], row
            if row["label"] == neutral:  # a neutral voice has no strong version
                assert row["intensity"] == "normal"
            assert row["intensity"] in ("normal", "strong")
    assert seen == set(CONDITIONS)
    for ds in data.values():
        for clip in ds["audio"][:2]:
            samples = clip["array"] if isinstance(clip, dict) else clip.get_all_samples().data.numpy()
            assert (
                0.3 * SR < samples.size <= 10 * SR
                and np.isfinite(samples).all()
                and np.abs(samples).max() > 0.01
            )


def test_test_sentences_are_never_training_sentences(data):
    texts = {split: {r["text"] for r in rows(ds)} for split, ds in data.items()}
    assert not texts["test"] & texts["train"] and not texts["validation"] & texts["train"]
    for split, ds in data.items():
        assert all(sentence_split(t) == split for t in texts[split]), split  # held out by a hash of the text
        speakers = {r["speaker_id"] for r in rows(ds)}
        assert all(s.startswith(f"synth-{split[:2]}") for s in speakers)


def test_label_is_the_voice_emotion(monkeypatch):
    """Whatever the words say, the label is the emotion the speaker's prosody was drawn for."""
    asked = []
    original = Speaker.prosody

    def recording(self, emotion, intensity, *args, **kwargs):
        asked.append((emotion, intensity))
        return original(self, emotion, intensity, *args, **kwargs)

    monkeypatch.setattr(Speaker, "prosody", recording)
    conditions = set()
    for index in range(8):
        asked.clear()
        row = make_row(CONFIG, "train", index)
        (emotion, intensity), *retries = asked
        assert all(a == (emotion, intensity) for a in retries)
        assert emotion != "calm" and row["label"] == MELD_EMOTIONS.index(to_meld(emotion))
        assert row["intensity"] == intensity
        conditions.add(row["condition"])
    # the rule holds where words and voice disagree too
    assert "congruent" in conditions and len(conditions) >= 2


def test_make_row_is_deterministic(data):
    first = make_row(CONFIG, "validation", 2)
    emotion_speech._STATE.clear()  # a fresh worker draws the same row
    again = make_row(CONFIG, "validation", 2)
    assert first["text"] == again["text"] and first["speaker_id"] == again["speaker_id"]
    np.testing.assert_array_equal(first["audio"]["array"], again["audio"]["array"])
    built = data["validation"][2]
    assert {k: built[k] for k in ("id", "text", "label", "text_emotion", "condition", "voice")} == {
        k: first[k] for k in ("id", "text", "label", "text_emotion", "condition", "voice")
    }
    other_seed = make_row(EmotionSpeechConfig(**{**CONFIG.__dict__, "seed": 1}), "validation", 2)
    assert other_seed["id"] != first["id"] and (
        other_seed["text"] != first["text"] or other_seed["speaker_id"] != first["speaker_id"]
    )


def test_config_checks():
    with pytest.raises(ValueError, match="condition_rates"):
        EmotionSpeechConfig(condition_rates=(0.5, 0.5, 0.5))
    with pytest.raises(ValueError, match="unknown split"):
        EmotionSpeechConfig(utterances={"dev": 3})
    with pytest.raises(ValueError, match=">= 1 speaker"):
        EmotionSpeechConfig(utterances={"train": 3}, speakers={"train": 0})
    with pytest.raises(ValueError, match="strong_rate"):
        EmotionSpeechConfig(strong_rate=2)


# --- the recipe's parts -------------------------------------------------------------------------------------------------


def _config(tmp_path, data_dir, **overrides) -> TextAudioEmotionTrainConfig:
    values = {
        "data_dir": str(data_dir),
        "output_dir": str(tmp_path / "run"),
        "model": TINY_MODEL,
        "progress": False,
    }
    return TextAudioEmotionTrainConfig(**{**values, **overrides})


def test_model_dict_and_multipliers_parse_from_key_value(tmp_path, data_dir):
    config = TextAudioEmotionTrainConfig.from_cli(
        [
            f"data_dir={data_dir}",
            f"model={json.dumps(TINY_MODEL)}",
            "lr_multipliers={'*text_encoder.*': 0.25, '*audio_encoder.*': 2}",
            "modality_dropout=0.5",
        ]
    )
    assert config.model == TINY_MODEL and config.modality_dropout == 0.5
    assert config.lr_multipliers == {"*text_encoder.*": 0.25, "*audio_encoder.*": 2.0}
    assert TextAudioEmotionTrainConfig().lr_multipliers == {"*text_encoder.*": 0.3}
    with pytest.raises(ValueError, match="modality_dropout must be in"):
        TextAudioEmotionTrainConfig(modality_dropout=1.5)
    with pytest.raises(ValueError, match="model: expected a mapping"):
        TextAudioEmotionTrainConfig.from_cli(["model=fusion=concat"])


def test_build_model_starts_from_the_bundled_text_encoder(tmp_path, data_dir):
    model, processor = build_model(_config(tmp_path, data_dir, model={**TINY_MODEL, "fusion": "concat"}))
    inner = model.text_audio_emotion
    assert inner.config.fusion == "concat" and inner.config.audio_config.hidden_size == 32
    assert inner.config.text_config.vocab_size == len(processor.tokenizer) == 14817
    bundled = load_file(str(BUNDLED_TEXT / "model.safetensors"))
    prefix = next(p for p in ("text_vad.albert.", "albert.") if any(k.startswith(p) for k in bundled))
    encoder = inner.text_encoder.state_dict()
    compared = 0
    for key, value in bundled.items():
        if key.startswith(prefix) and not key[len(prefix) :].startswith("pooler"):
            assert torch.equal(encoder[key[len(prefix) :]], value), key
            compared += 1
    assert compared > 10
    with pytest.raises(ValueError, match="set text_init"):
        build_model(_config(tmp_path, data_dir, text_init=None))


def test_collator_modality_dropout_is_marked_and_seeded(tmp_path, data, data_dir):
    processor = build_processor(BUNDLED_TEXT)
    train_items = EmotionSpeechDataset(data["train"], max_rows=6, augment=True)
    assert len(train_items) == 6
    items = [train_items[i] for i in range(6)]

    def collate(epoch=0, **overrides):
        collator = Collator(processor, _config(tmp_path, data_dir, **overrides))
        collator.epoch = epoch
        return collator(items)

    dropped = collate(modality_dropout=1.0, metadata_dropout=1.0)
    # every row lost exactly one modality, and the batch says which
    assert (dropped["has_text"] ^ dropped["has_audio"]).all()
    assert set(dropped["labels"].tolist()) <= set(range(7))
    assert dropped["labels"].tolist() == [item["label"] for item in items]
    for key in ("gender", "age_group", "pitch_band"):
        assert dropped[key].tolist() == [0] * 6  # metadata dropped to "unknown"
    kept = collate(modality_dropout=0.0, metadata_dropout=0.0)
    assert kept["has_text"].all() and kept["has_audio"].all()
    assert kept["gender"].tolist() == [
        processor._metadata("gender", item["gender"], 1).item() for item in items
    ]
    # the same (seed, epoch, index) draws the same augmentation; another epoch or seed draws another
    again = collate(modality_dropout=1.0, metadata_dropout=1.0)
    for key, value in dropped.items():
        assert torch.equal(value, again[key]), key
    other_epoch = collate(epoch=1, modality_dropout=0.0, metadata_dropout=0.0)
    assert not torch.equal(other_epoch["input_features"], kept["input_features"])
    half = [collate(epoch=e, modality_dropout=0.5)["has_text"].tolist() for e in range(4)]
    assert len({tuple(h) for h in half}) > 1
    # validation items are never augmented nor dropped
    val_items = EmotionSpeechDataset(data["validation"])
    collator = Collator(processor, _config(tmp_path, data_dir, modality_dropout=1.0, metadata_dropout=1.0))
    val = collator([val_items[i] for i in range(4)])
    assert val["has_text"].all() and val["has_audio"].all()
    plain = processor(
        [val_items[i]["text"] for i in range(4)], [val_items[i]["audio"] for i in range(4)], sampling_rate=SR
    )
    torch.testing.assert_close(val["input_features"], plain["input_features"])


# --- two training steps ---------------------------------------------------------------------------------------------


def test_two_steps_save_a_folder_that_loads(tmp_path, data_dir):
    from transformers import AutoModel, AutoProcessor

    import avzoo  # noqa: F401  (registers the Auto classes)
    from avzoo.models.text_audio_emotion import TextAudioEmotionModel, TextAudioEmotionProcessor

    run = tmp_path / "run"
    args = [
        f"data_dir={data_dir}",
        f"output_dir={run}",
        f"model={json.dumps(TINY_MODEL)}",
        "max_steps=2",
        "batch_size=4",
        "eval_every=2",
        "log_every=1",
        "max_audio_seconds=4",
        "progress=false",
        "cpu=true",
        "entropy_weight=0.1",
        "alignment_weight=0.1",
    ]
    initial, _ = build_model(TextAudioEmotionTrainConfig.from_cli(args))
    initial = initial.text_audio_emotion.state_dict()
    main(args)
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [entry["step"] for entry in log if "loss" in entry] == [1, 2]
    assert all(np.isfinite(entry["loss"]) for entry in log if "loss" in entry)
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics if "eval_accuracy" in m] == [2]
    for name in ("best", "final"):
        folder = run / name
        assert (folder / "processor_config.json").is_file(), name
        model, info = AutoModel.from_pretrained(folder, output_loading_info=True)
        assert type(model) is TextAudioEmotionModel and not info["missing_keys"], info
        processor = AutoProcessor.from_pretrained(folder)
        assert type(processor) is TextAudioEmotionProcessor and processor.sampling_rate == SR
        inputs = processor(
            ["I am so happy today!", ""], [speechlike(0.8), speechlike(0.5, seed=1)], sampling_rate=SR
        )
        with torch.no_grad():
            out = model.eval()(**inputs)
        assert out.logits.shape == (2, 7) and torch.isfinite(out.logits).all()
        results = processor.post_process_emotion(out, inputs)
        assert [r["modalities"] for r in results] == [["text", "audio"], ["audio"]]
    # The recipe's lr_multipliers ({"*text_encoder.*": 0.3}) reached the optimizer: AdamW's first step moves a
    # weight by about its learning rate (1e-3, then 0 at the schedule's end), the text encoder's by 0.3 of it.
    trained = model.state_dict()
    moved = {k: (trained[k] - v).abs().max().item() for k, v in initial.items() if v.is_floating_point()}
    text = max(v for k, v in moved.items() if k.startswith("text_encoder."))
    rest = max(v for k, v in moved.items() if k.startswith(("fuse.", "classifier.", "text_to_audio.")))
    assert 0 < text <= 3.3e-4 and 9e-4 <= rest <= 1.1e-3, (text, rest)
