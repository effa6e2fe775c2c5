"""The av-lipsync recipe end to end on a tiny corpus: phase 1, phase 2 with the lipsync branch frozen, and
phase 3 (the offline refiner, with and without cached states) with everything else frozen."""

import numpy as np
import pytest
import torch

from avzoo.models.av_lipsync import AvLipsyncForBlendshapeRegression, AvLipsyncModel, AvLipsyncProcessor
from avzoo.synth.corpus import CorpusConfig, build_corpus
from avzoo.train.augment import Augmenter
from avzoo.train.av_lipsync import AvLipsyncTrainConfig, main

TINY = {
    "lipsync_hidden_size": 16,
    "lipsync_dilations": [1, 2],
    "expression_hidden_size": 8,
    "expression_dilations": [1],
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus")
    cfg = CorpusConfig(
        utterances={"train": 6, "validation": 2}, speakers={"train": 2, "validation": 1}, shard_size=6
    )
    build_corpus(cfg, out, num_proc=1, progress=False)
    return out


@pytest.mark.slow
def test_phase2_keeps_phase1_lipsync_bit_identical(corpus, tmp_path):
    common = [f"corpus_dir={corpus}", "batch_size=3", "progress=false", "num_epochs=1", "learning_rate=0.01"]
    p1 = main([*common, f"output_dir={tmp_path / 'p1'}", "phase=1", f"model={TINY}"])
    p2 = main([*common, f"output_dir={tmp_path / 'p2'}", "phase=2", f"init_from={p1.final_dir}"])
    a = AvLipsyncModel.from_pretrained(p1.final_dir).eval()
    b = AvLipsyncModel.from_pretrained(p2.final_dir).eval()
    x = torch.randn(2, 40, 80)
    cond = torch.zeros(2, 40, 12)
    cond[:, :, 2] = 1.0
    oa, ob = a(x, cond), b(x, cond)
    assert torch.equal(oa.lipsync_blendshapes, ob.lipsync_blendshapes)
    assert not torch.equal(oa.blendshapes, ob.blendshapes)  # the expression branch did train
    assert (p2.final_dir / "preprocessor_config.json").exists()
    # The processor saved with the model is the one phase 1 fitted (normalisation), loadable on its own.
    assert (
        AvLipsyncProcessor.from_pretrained(p2.final_dir).mel_mean
        == AvLipsyncProcessor.from_pretrained(p1.final_dir).mel_mean
    )
    assert np.isfinite(p1.eval_history[-1]["eval_lipsync_mae"])


@pytest.mark.slow
def test_phone_head_learns_frame_phones_and_phase1_can_continue(corpus, tmp_path):
    from avzoo.synth.corpus import load_corpus
    from avzoo.train.av_lipsync import PHONES, frame_phones

    row = load_corpus(str(corpus))["train"][0]
    phones = frame_phones(row["phonemes"], len(row["blendshapes"]))
    centre = row["phonemes"][1]
    k = int((centre["start"] + centre["end"]) / 2 * 30)
    assert PHONES[phones[k]] == centre["phone"]
    made_up = [{"phone": "AA", "start": 0.1, "end": 0.2}, {"phone": "XX", "start": 0.2, "end": 0.3}]
    assert [PHONES[i] if i >= 0 else None for i in frame_phones(made_up, 10)] == [
        "sil", "sil", "sil", "AA", "AA", "AA", None, None, None, "sil"]  # fmt: skip
    assert (frame_phones(None, 5) == -100).all()

    common = [f"corpus_dir={corpus}", "batch_size=3", "progress=false", "phase=1", f"model={TINY}"]
    base = main([*common, "num_epochs=1", f"output_dir={tmp_path / 'a'}"])
    more = main([*common, "num_epochs=4", "learning_rate=0.01", "phone_head=true",
                 f"init_from={base.final_dir}", f"output_dir={tmp_path / 'b'}"])  # fmt: skip
    model = AvLipsyncModel.from_pretrained(more.final_dir).eval()
    assert model.config.phone_labels_vocab == list(PHONES)
    losses = [h["loss"] for h in more.history]
    assert losses[-1] < losses[0]  # the phone cross-entropy is being learned
    x = torch.randn(1, 20, 80)
    labels = torch.rand(1, 20, 52)
    head = AvLipsyncForBlendshapeRegression.from_pretrained(more.final_dir).eval()
    out = head(x, labels=labels, branch="lipsync")
    assert out.phone_logits.shape == (1, 20, len(PHONES))
    with_phones = head(x, labels=labels, branch="lipsync", phone_labels=torch.zeros(1, 20, dtype=torch.long))
    assert with_phones.loss > out.loss
    plain = AvLipsyncForBlendshapeRegression.from_pretrained(base.final_dir)
    with pytest.raises(ValueError, match="phone_labels_vocab"):
        plain(x, labels=labels, phone_labels=torch.zeros(1, 20, dtype=torch.long))


@pytest.mark.slow
@pytest.mark.parametrize("cache", [0, 2])
def test_phase3_trains_the_offline_refiner_and_leaves_streaming_bit_identical(corpus, tmp_path, cache):
    common = [f"corpus_dir={corpus}", "batch_size=3", "progress=false", "learning_rate=0.01"]
    p1 = main([*common, "num_epochs=1", f"output_dir={tmp_path / 'p1'}", "phase=1", f"model={TINY}"])
    p3 = main([*common, "num_epochs=2", f"output_dir={tmp_path / 'p3'}", "phase=3", f"init_from={p1.final_dir}",
               "offline_dilations=[1, 2]", "offline_hidden_size=8", f"state_cache_passes={cache}"])  # fmt: skip
    a = AvLipsyncModel.from_pretrained(p1.final_dir).eval()
    b = AvLipsyncModel.from_pretrained(p3.final_dir).eval()
    assert b.config.has_offline_mode and not a.config.has_offline_mode
    x = torch.randn(2, 40, 80)
    with torch.no_grad():
        assert torch.equal(a(x).blendshapes, b(x, mode="streaming").blendshapes)
        assert not torch.equal(b(x, mode="streaming").blendshapes, b(x).blendshapes)  # the refiner trained
    losses = [h["loss"] for h in p3.history]
    assert np.isfinite(losses).all() and np.isfinite(p3.eval_history[-1]["eval_lipsync_mae"])
    assert (p3.final_dir / "preprocessor_config.json").exists()


def test_config_errors():
    with pytest.raises(ValueError, match="init_from"):
        AvLipsyncTrainConfig(phase=2)
    with pytest.raises(ValueError, match="init_from"):
        AvLipsyncTrainConfig(phase=3)
    with pytest.raises(ValueError, match="phase"):
        AvLipsyncTrainConfig(phase=4)
    with pytest.raises(ValueError, match="state_cache_passes"):
        AvLipsyncTrainConfig(state_cache_passes=2)
    with pytest.raises(ValueError, match="offline_dilations"):
        AvLipsyncTrainConfig(phase=3, init_from="x", offline_dilations=[])
    with pytest.raises(ValueError, match="silence_rate"):
        AvLipsyncTrainConfig(silence_rate=1.0)
    with pytest.raises(ValueError, match="mse_weight"):
        AvLipsyncTrainConfig(mse_weight=-1.0)


def test_loss_weights_ramp_velocity_and_default_to_the_bundled_model():
    config = AvLipsyncTrainConfig(loss_velocity_warmup_steps=100)
    assert config.loss_weights(0).velocity_weight == 0.0
    assert config.loss_weights(50).velocity_weight == pytest.approx(0.5)
    assert config.loss_weights(500).velocity_weight == config.loss_weights(None).velocity_weight == 1.0
    from avzoo.models.av_lipsync import AvLipsyncLossWeights

    assert config.loss_weights(None) == AvLipsyncLossWeights()


def test_recipe_loss_is_the_head_loss(corpus):
    """What compute_loss returns is out.loss of the task head: one loss, defined once."""
    from avzoo.models.av_lipsync import AvLipsyncConfig, av_lipsync_loss
    from avzoo.train.av_lipsync import LipsyncDataset, collate, load_split

    torch.manual_seed(0)
    config = AvLipsyncTrainConfig(corpus_dir=str(corpus), augment=False)
    ds = LipsyncDataset(load_split(str(corpus), "train"), AvLipsyncProcessor(), config, None, train=True)
    batch = collate([ds[0], ds[1]])
    model = AvLipsyncForBlendshapeRegression(AvLipsyncConfig(**TINY)).eval()
    weights = config.loss_weights(10)
    inputs = {k: batch[k] for k in ("input_features", "condition", "attention_mask")}
    out = model(**inputs, labels=batch["labels"], loss_weights=weights, branch="lipsync")
    base = model.av_lipsync(**inputs)
    expected = av_lipsync_loss(
        base, batch["labels"], batch["attention_mask"], model.config, weights, "lipsync"
    )
    assert torch.equal(out.loss, expected.loss)
    assert batch["input_features"].shape[:2] == batch["labels"].shape[:2] == batch["attention_mask"].shape


def test_silence_items_are_quiet_noise_with_the_rest_pose(corpus):
    from avzoo.train.av_lipsync import PHONES, LipsyncDataset, load_split

    rows = load_split(str(corpus), "train")
    config = AvLipsyncTrainConfig(silence_rate=0.5, phone_head=True, max_frames=60)
    ds = LipsyncDataset(rows, AvLipsyncProcessor(), config, None, train=True)
    items = [ds[i] for i in range(len(ds))]
    quiet = [x for x in items if not x["labels"].any()]
    assert 0 < len(quiet) < len(items)  # some, not all, items are replaced
    for x in quiet:
        assert len(x["labels"]) <= 60 and (x["phone_labels"] == PHONES.index("sil")).all()
        assert x["input_features"].mean() < min(
            y["input_features"].mean() for y in items if y["labels"].any()
        )


def test_augmenter_keeps_length_and_range():
    rng = np.random.default_rng(0)
    x = (0.5 * np.sin(np.arange(16000) / 10)).astype(np.float32)
    aug = Augmenter(
        p_gain=1, p_filter=1, p_reverb=1, p_noise=1, p_babble=1, babble=[rng.standard_normal(8000) * 0.1]
    )
    y = aug(x, rng)
    assert y.shape == x.shape and y.dtype == np.float32 and np.abs(y).max() <= 0.99 + 1e-6
    assert not np.allclose(x, y)
