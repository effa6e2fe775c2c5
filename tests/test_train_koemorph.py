"""The koemorph recipe end to end on a tiny corpus: cached features, same-talker mel history, a few steps, and the
saved folder loading through the pipeline."""

import json

import numpy as np
import pytest
import torch

from avzoo.synth.corpus import CorpusConfig, build_corpus
from avzoo.train.koemorph import KoemorphTrainConfig, build, collate, main, train_speakers

TINY = {
    "hidden_size": 16,
    "num_attention_heads": 2,
    "mel_context_frames": 32,
    "num_mouth_queries": 2,
    "num_expression_queries": 2,
    "emotion_dim": 16,
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus")
    cfg = CorpusConfig(
        utterances={"train": 6, "validation": 2}, speakers={"train": 2, "validation": 1}, shard_size=6
    )
    build_corpus(cfg, out, num_proc=1, progress=False)
    return out


def _config(corpus, tmp_path, **overrides):
    values = {
        "corpus_dir": str(corpus),
        "output_dir": str(tmp_path / "run"),
        "features_dir": str(tmp_path / "features"),
        "model": TINY,
        "silence_items": 2,
        "normalization_clips": 4,
        "feature_workers": 1,
        "batch_size": 4,
        "max_frames": 40,
        "history_rate": 1.0,
        "progress": False,
        **overrides,
    }
    return KoemorphTrainConfig(**values)


@pytest.mark.slow
def test_features_history_and_a_short_run(corpus, tmp_path):
    config = _config(corpus, tmp_path, max_steps=3, eval_every=3, metric_for_best="eval_loss")
    _, _, train_ds, val_ds = build(config)
    assert len(train_ds) == 6 + 2 and len(val_ds) == 2
    speakers = train_speakers(config)
    assert speakers[-2:] == ["", ""] and len(set(speakers[:6])) == 2
    # noise clips: quiet input, rest-pose target
    assert np.abs(train_ds.clip(7)["labels"]).max() == 0
    item = train_ds[0]
    assert 0 < len(item["history_features"]) <= 31  # 1-3 utterances of the same talker, cut to context - 1
    assert set(item) == {"input_features", "emotion_features", "labels", "history_features"}
    assert item["emotion_features"].shape == (len(item["labels"]), 264)
    batch = collate([train_ds[i] for i in range(4)])
    assert batch["history_mask"].shape == batch["history_features"].shape[:2]
    rows = batch["history_mask"].sum(1)
    for i in range(4):  # left-padded: the real history sits next to the clip
        assert batch["history_mask"][i, batch["history_mask"].shape[1] - int(rows[i]) :].all()
    assert val_ds[0].get("history_features") is None  # validation scores clips as users give them
    # a second build reuses the cached features
    stamp = (tmp_path / "features" / "train.npz").stat().st_mtime
    main(
        [
            f"{k}={json.dumps(v) if isinstance(v, dict) else v}"
            for k, v in config.__dict__.items()
            if v is not None
        ]
    )
    assert (tmp_path / "features" / "train.npz").stat().st_mtime == stamp
    run = tmp_path / "run"
    assert (run / "final" / "model.safetensors").is_file() and (
        run / "final" / "preprocessor_config.json"
    ).is_file()

    from transformers import pipeline

    import avzoo  # noqa: F401  (registers the task)

    animate = pipeline("audio-to-blendshapes", model=str(run / "final"))
    out = animate(np.random.default_rng(0).normal(0, 0.1, 16000).astype(np.float32), sampling_rate=16000)
    assert out["blendshapes"].shape == (30, 52) and np.isfinite(out["blendshapes"]).all()


def test_config_errors(tmp_path):
    with pytest.raises(ValueError, match="augment_share"):
        KoemorphTrainConfig(augment_share=1.5, output_dir=str(tmp_path))
    with pytest.raises(ValueError, match="max_frames"):
        KoemorphTrainConfig(max_frames=0, output_dir=str(tmp_path))
    assert torch.is_tensor(
        collate([{"input_features": np.zeros((3, 80), np.float32), "labels": np.zeros((3, 52), np.float32)}])[
            "labels"
        ]
    )
