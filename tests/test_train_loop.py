"""The shared training loop (avzoo.train): config parsing, losses, batching, and train() behaviour.

Tiny models on random sequences; every train() call takes well under a second after the first (which pays
for importing torch's compiler stack inside the optimizer).
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch
from accelerate.state import AcceleratorState, GradientState
from safetensors.torch import load_file
from torch import nn

from avzoo.losses import SequenceLoss, group_weights, masked_l1, velocity_l1, warmup_factor
from avzoo.train import (
    BucketBatchSampler,
    SequenceCollator,
    SequenceCrop,
    TrainConfig,
    crop_item,
    list_checkpoints,
    pad_sequences,
    sequence_lengths,
    train,
)


@pytest.fixture(autouse=True)
def _fresh_accelerate_state():
    # AcceleratorState is a per-process singleton; tests that change mixed precision need a clean one.
    # One torch thread: these ops are tiny, and on a busy shared CPU extra threads only spin (10x slower).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()
    yield
    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()
    torch.set_num_threads(threads)


# -- tiny task ---------------------------------------------------------------------------------------------
class GRURegressor(nn.Module):
    """(B, T, 4) → (B, T, 3); dropout makes resume determinism depend on the restored RNG state."""

    def __init__(self, dropout: float = 0.2):
        super().__init__()
        self.gru = nn.GRU(4, 8, batch_first=True)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        hidden, _ = self.gru(x)
        return self.head(self.drop(hidden))


def make_items(n: int = 24, seed: int = 0, min_len: int = 4, max_len: int = 20) -> list[dict]:
    g = torch.Generator().manual_seed(seed)
    weight = torch.randn(4, 3, generator=torch.Generator().manual_seed(123))
    items = []
    for _ in range(n):
        length = int(torch.randint(min_len, max_len + 1, (1,), generator=g))
        x = torch.randn(length, 4, generator=g)
        items.append({"x": x, "y": torch.tanh(x @ weight)})
    return items


LOSS = SequenceLoss(velocity_weight=0.5, velocity_warmup_steps=4)


def seq_loss(model, batch, state):
    pred = model(batch["x"])
    return LOSS(pred, batch["y"], batch["attention_mask"], step=state.global_step if state.training else None)


def config(tmp_path: Path, name: str = "run", **overrides) -> TrainConfig:
    base = {
        "output_dir": str(tmp_path / name),
        "batch_size": 4,
        "num_epochs": 2,
        "learning_rate": 3e-2,
        "progress": False,
        "log_every": 2,
    }
    base.update(overrides)
    return TrainConfig(**base)


def run_seq(tmp_path, name="run", items=None, seed=0, callbacks=(), **overrides):
    items = items if items is not None else make_items()
    torch.manual_seed(seed)
    model = GRURegressor()
    crop = SequenceCrop(items, 12, ["x", "y"], seed=seed)
    return train(
        model,
        crop,
        items[:8],
        config(tmp_path, name, **overrides),
        SequenceCollator(["x", "y"]),
        seq_loss,
        train_lengths=[min(len(it["x"]), 12) for it in items],
        callbacks=list(callbacks),
    )


class Crash(Exception):
    pass


class CrashAt:
    def __init__(self, step: int):
        self.step = step

    def on_step_end(self, state):
        if state.global_step == self.step:
            raise Crash(f"simulated crash at step {self.step}")


# -- config ------------------------------------------------------------------------------------------------
@dataclass
class RecipeConfig(TrainConfig):
    velocity_weight: float = 0.5
    group_weights: dict[str, float] = field(default_factory=dict)
    freeze: list[str] = field(default_factory=list)


def test_config_yaml_with_overrides_and_coercion(tmp_path):
    path = tmp_path / "phase1.yaml"
    # YAML 1.1 reads 3e-4 as a string and a bare `no` as False: both must still land right
    path.write_text("learning_rate: 3e-4\nmixed_precision: no\nnum_epochs: 5\nlog_with: [tensorboard]\n")
    cfg = RecipeConfig.from_cli(
        [
            "--config",
            str(path),
            "batch_size=16",
            "eval_batch_size=none",
            "group_by_length=yes",
            "max_grad_norm=0",
            "velocity_weight=0.25",
            "group_weights={brows: 0.45, eyes: 1}",
            "freeze=lipsync.*,shared.*",
            "resume=auto",
        ]
    )
    assert cfg.learning_rate == pytest.approx(3e-4) and isinstance(cfg.learning_rate, float)
    assert cfg.mixed_precision == "no"
    assert cfg.num_epochs == 5 and cfg.batch_size == 16 and isinstance(cfg.batch_size, int)
    assert cfg.eval_batch_size is None and cfg.per_device_eval_batch_size == 16
    assert cfg.group_by_length is True and cfg.max_grad_norm == 0.0
    assert cfg.log_with == ["tensorboard"]
    assert cfg.velocity_weight == 0.25
    assert cfg.group_weights == {"brows": 0.45, "eyes": 1.0}
    assert cfg.freeze == ["lipsync.*", "shared.*"]
    assert cfg.resume == "auto"

    # round trip through JSON, and later values win over the file
    saved = cfg.save(tmp_path / "cfg.json")
    again = RecipeConfig.from_file(saved, ["num_epochs=7"])
    assert again.num_epochs == 7 and again.group_weights == cfg.group_weights
    assert cfg.with_overrides(["seed=3"]).seed == 3


def test_config_errors_are_clear(tmp_path):
    with pytest.raises(
        ValueError, match=r"unknown TrainConfig key.*'learnig_rate'.*did you mean 'learning_rate'"
    ):
        TrainConfig.from_cli(["learnig_rate=1e-3"])
    (tmp_path / "bad.yaml").write_text("batch_sise: 4\n")
    with pytest.raises(ValueError, match="did you mean 'batch_size'"):
        TrainConfig.from_file(tmp_path / "bad.yaml")
    with pytest.raises(ValueError, match="batch_size: expected an integer"):
        TrainConfig.from_cli(["batch_size=four"])
    with pytest.raises(ValueError, match="batch_size: expected an integer"):
        TrainConfig.from_cli(["batch_size=2.5"])
    with pytest.raises(ValueError, match=r"mixed_precision: 'fp8' is not one of"):
        TrainConfig.from_cli(["mixed_precision=fp8"])
    with pytest.raises(ValueError, match="progress: expected a boolean"):
        TrainConfig.from_cli(["progress=maybe"])
    with pytest.raises(ValueError, match="learning_rate must be > 0"):
        TrainConfig.from_cli(["learning_rate=-1"])
    with pytest.raises(ValueError, match="not key=value"):
        TrainConfig.from_cli(["learning_rate"])
    with pytest.raises(ValueError, match="config file not found"):
        TrainConfig.from_cli(["--config", str(tmp_path / "missing.yaml")])
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ValueError, match="must hold a mapping"):
        TrainConfig.from_file(tmp_path / "list.yaml")


# -- losses ------------------------------------------------------------------------------------------------
def _batch_with_padding():
    g = torch.Generator().manual_seed(1)
    pred = torch.rand(3, 7, 5, generator=g)
    target = torch.rand(3, 7, 5, generator=g)
    lengths = [7, 4, 1]
    mask = torch.zeros(3, 7, dtype=torch.long)
    for b, n in enumerate(lengths):
        mask[b, :n] = 1
        pred[b, n:] = float("nan")  # padding garbage must not leak
        target[b, n:] = 1e6
    return pred, target, mask, lengths


def test_masked_l1_ignores_padding_and_weights_channels():
    pred, target, mask, lengths = _batch_with_padding()
    w = torch.tensor([1.0, 0.45, 2.0, 0.0, 1.0])
    total, frames = 0.0, 0
    per_sample = []
    for b, n in enumerate(lengths):
        err = ((pred[b, :n] - target[b, :n]).abs() * w).double()
        total += err.sum().item()
        frames += n
        per_sample.append(err.sum().item() / (n * 5))
    expected = total / (frames * 5)
    assert masked_l1(pred, target, mask, w).item() == pytest.approx(expected, rel=1e-6)
    assert masked_l1(pred, target, mask.bool(), w).item() == pytest.approx(expected, rel=1e-6)
    assert masked_l1(pred, target, mask, w, reduction="none").tolist() == pytest.approx(per_sample, rel=1e-6)
    # all-ones weights = the plain mean over valid frames
    valid = mask.bool()
    assert masked_l1(pred, target, mask).item() == pytest.approx(
        (pred[valid] - target[valid]).abs().mean().item(), rel=1e-6
    )
    # gradient flows only through valid frames
    p = pred.nan_to_num(0.0).requires_grad_()
    masked_l1(p, target, mask).backward()
    assert torch.all(p.grad[~valid] == 0) and torch.all(p.grad[valid] != 0)


def test_velocity_l1_matches_manual_differences():
    pred, target, mask, lengths = _batch_with_padding()
    w = torch.tensor([1.0, 0.45, 2.0, 0.0, 1.0])
    total, count = 0.0, 0
    for b, n in enumerate(lengths):
        for t in range(1, n):
            d = (pred[b, t] - pred[b, t - 1]) - (target[b, t] - target[b, t - 1])
            total += (d.abs() * w).sum().item()
            count += 1
    assert velocity_l1(pred, target, mask, w).item() == pytest.approx(total / (count * 5), rel=1e-6)
    # a one-frame item has no velocity: per-sample value 0, not NaN
    assert velocity_l1(pred, target, mask, w, reduction="none")[2].item() == 0.0
    # identical motion offset by a constant has zero velocity loss
    assert velocity_l1(target[:1, :4], target[:1, :4] + 0.3).item() == pytest.approx(0.0, abs=1e-6)


def test_loss_shape_errors():
    x = torch.zeros(2, 5, 3)
    with pytest.raises(ValueError, match="same shape"):
        masked_l1(x, torch.zeros(2, 5, 4))
    with pytest.raises(ValueError, match=r"mask must have shape \(B, T\)"):
        masked_l1(x, x, torch.ones(2, 4))
    with pytest.raises(ValueError, match=r"channel weights must have shape \(C,\)"):
        velocity_l1(x, x, None, torch.ones(4))
    with pytest.raises(ValueError, match="reduction"):
        masked_l1(x, x, reduction="max")


def test_velocity_warmup_schedule():
    assert [warmup_factor(s, 4) for s in range(6)] == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    assert [warmup_factor(s, 2, delay=3) for s in range(7)] == [0.0, 0.0, 0.0, 0.0, 0.5, 1.0, 1.0]
    assert warmup_factor(0, 0) == 1.0 and warmup_factor(2, 0, delay=3) == 0.0
    cos = [warmup_factor(s, 4, schedule="cosine") for s in range(5)]
    assert cos[0] == 0.0 and cos[2] == pytest.approx(0.5) and cos[4] == pytest.approx(1.0)
    assert cos[1] < 0.25  # eases in
    with pytest.raises(ValueError, match="schedule"):
        warmup_factor(0, 4, schedule="step")

    pred, target, mask, _ = _batch_with_padding()
    loss_fn = SequenceLoss(l1_weight=1.0, velocity_weight=2.0, velocity_warmup_steps=4)
    l1 = masked_l1(pred, target, mask).item()
    vel = velocity_l1(pred, target, mask).item()
    for step, factor in [(0, 0.0), (1, 0.25), (4, 1.0), (None, 1.0)]:
        loss, parts = loss_fn(pred, target, mask, step=step)
        assert loss.item() == pytest.approx(l1 + 2.0 * factor * vel, rel=1e-6)
        assert parts["velocity_factor"].item() == factor


def test_group_weights_from_channel_groups():
    groups = {"mouth": [0, 1, 2, 3], "closure": [2, 3], "brows": [6, 7]}
    w = group_weights(8, groups, {"mouth": 1.5, "closure": 3.0, "brows": 0.45}, default=1.0)
    assert w.tolist() == pytest.approx([1.5, 1.5, 3.0, 3.0, 1.0, 1.0, 0.45, 0.45])
    with pytest.raises(ValueError, match="unknown channel group 'nose'"):
        group_weights(8, groups, {"nose": 1.0})
    with pytest.raises(ValueError, match="outside"):
        group_weights(4, groups, {"brows": 1.0})


# -- batching ----------------------------------------------------------------------------------------------
def test_pad_sequences_and_collator():
    padded, mask = pad_sequences(
        [torch.ones(3, 2), torch.ones(1, 2) * 2], pad_value=-1.0, pad_to_multiple_of=4
    )
    assert padded.shape == (2, 4, 2) and mask.tolist() == [[1, 1, 1, 0], [1, 0, 0, 0]]
    assert padded[1, 1:].eq(-1).all() and padded[1, 0].eq(2).all()
    with pytest.raises(ValueError, match="share every axis but the first"):
        pad_sequences([torch.ones(3, 2), torch.ones(3, 5)])

    collate = SequenceCollator(
        ["feats", "audio"],
        masks={"feats": "attention_mask", "audio": "audio_mask"},
        pad_values={"feats": 0.5},
    )
    batch = collate(
        [
            {"feats": np.ones((2, 3), np.float32), "audio": torch.ones(8), "label": 1, "id": "a"},
            {"feats": np.ones((5, 3), np.float32), "audio": torch.ones(20), "label": 0, "id": "b"},
        ]
    )
    assert batch["feats"].shape == (2, 5, 3) and batch["feats"][0, 2:].eq(0.5).all()
    assert batch["attention_mask"].sum(1).tolist() == [2, 5]
    assert batch["audio"].shape == (2, 20) and batch["audio_mask"].sum(1).tolist() == [8, 20]
    assert batch["label"].tolist() == [1, 0] and batch["id"] == ["a", "b"]
    with pytest.raises(ValueError, match="no sequence key 'feats'"):
        collate([{"audio": torch.ones(3)}])


@pytest.mark.parametrize("drop_last", [False, True])
def test_bucket_sampler_covers_each_index_once_per_epoch(drop_last):
    g = torch.Generator().manual_seed(0)
    n, bs = 103, 8
    lengths = torch.randint(1, 500, (n,), generator=g).tolist()
    sampler = BucketBatchSampler(n, bs, lengths, drop_last=drop_last, bucket_size=4, seed=5)
    orders = []
    for epoch in range(3):
        sampler.set_epoch(epoch)
        batches = list(sampler)
        assert len(batches) == len(sampler)
        flat = [i for b in batches for i in b]
        assert len(flat) == len(set(flat))  # no index twice
        if drop_last:
            assert len(flat) == n - n % bs and all(len(b) == bs for b in batches)
        else:
            assert sorted(flat) == list(range(n))  # every index exactly once
            assert all(len(b) == bs for b in batches[:-1]) and len(batches[-1]) == n % bs  # short batch last
        orders.append(flat)
        # determinism: the same epoch gives the same batches
        sampler.set_epoch(epoch)
        assert list(sampler) == batches
    assert orders[0] != orders[1] != orders[2]

    # bucketing: much less padding than a plain shuffle
    def padding(batches):
        return sum(max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b) for b in batches)

    plain = BucketBatchSampler(n, bs, None, drop_last=drop_last, seed=5)
    assert padding(list(sampler)) < 0.5 * padding(list(plain))
    plain_flat = [i for b in plain for i in b]
    assert len(set(plain_flat)) == len(plain_flat) == (n - n % bs if drop_last else n)


def test_sequence_crop_is_seeded_and_aligned_across_rates():
    frames = 50
    item = {
        "feats": torch.arange(frames).float()[:, None].repeat(1, 2),  # value = frame index
        "audio": torch.arange(frames * 4).float() / 4,  # 4 samples per frame, value = time in frames
        "id": "x",
    }
    crop = SequenceCrop([item, item], 10, {"feats": 1, "audio": 4}, seed=7)
    a, b = crop[0], crop[0]
    assert torch.equal(a["feats"], b["feats"]) and a["feats"].shape == (10, 2) and a["audio"].shape == (40,)
    assert a["audio"][0].item() == a["feats"][0, 0].item()  # both keys cut at the same moment
    starts = set()
    for epoch in range(6):
        crop.set_epoch(epoch)
        starts.add(int(crop[0]["feats"][0, 0]))
        starts.add(int(crop[1]["feats"][0, 0]))
    assert len(starts) > 3  # the window moves between epochs and items
    assert SequenceCrop([item], 10, ["feats"], mode="center")[0]["feats"][0, 0].item() == 20
    short = {"feats": torch.ones(4, 2)}
    assert SequenceCrop([short], 10, ["feats"])[0]["feats"].shape == (4, 2)
    assert crop_item(item, 3, 5, {"feats": 1})["feats"][:, 0].tolist() == [3, 4, 5, 6, 7]
    with pytest.raises(ValueError, match="mode"):
        SequenceCrop([item], 10, ["feats"], mode="middle")


# -- train() -----------------------------------------------------------------------------------------------
def _eval_l1(model, items) -> float:
    batch = SequenceCollator(["x", "y"])(items)
    model.eval()
    with torch.no_grad():
        return masked_l1(model(batch["x"]), batch["y"], batch["attention_mask"]).item()


def test_loss_decreases_and_outputs_are_written(tmp_path):
    items = make_items()
    torch.manual_seed(0)
    untrained = _eval_l1(GRURegressor(), items[:8])
    result = run_seq(
        tmp_path, items=items, num_epochs=4, keep_last=2, metric_for_best="eval_l1", eval_batch_size=8
    )
    evals = [line["eval_l1"] for line in result.eval_history]
    assert len(evals) == 4 and evals[-1] < evals[0] and evals[-1] < 0.5 * untrained
    assert _eval_l1(result.model, items[:8]) == pytest.approx(evals[-1], rel=1e-5)
    assert result.history[-1]["loss"] < result.history[0]["loss"]
    assert all(line["eval_samples"] == 8 for line in result.eval_history)
    out = Path(result.output_dir)
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 4
    assert [json.loads(line)["step"] for line in (out / "log.jsonl").read_text().splitlines()] == [
        line["step"] for line in result.history
    ]
    assert TrainConfig.from_file(out / "train_config.json").num_epochs == 4
    steps = [s for s, _ in list_checkpoints(out)]
    assert steps == [18, 24]  # 6 steps per epoch, one checkpoint per epoch, last 2 kept
    weights = load_file(out / "final" / "model.safetensors")
    assert torch.equal(weights["head.weight"], result.model.head.weight.detach())
    assert result.best_step == min(result.eval_history, key=lambda line: line["eval_l1"])["step"]
    assert (out / "best" / "model.safetensors").is_file()


def test_resume_mid_epoch_matches_uninterrupted_run(tmp_path):
    common = {
        "num_epochs": 2,
        "gradient_accumulation_steps": 2,
        "save_every": 2,
        "eval_every": 2,
        "keep_last": 5,
    }
    full = run_seq(tmp_path, "full", **common)

    with pytest.raises(Crash):
        run_seq(tmp_path, "cut", callbacks=[CrashAt(5)], **common)
    latest = list_checkpoints(tmp_path / "cut")[-1][1]
    saved = json.loads((latest / "trainer_state.json").read_text())["state"]
    # 24 items / batch 4 = 6 batches = 3 steps per epoch; step 4 is mid-epoch 1 (2 of 6 batches seen)
    assert saved["global_step"] == 4 and saved["epoch"] == 1 and saved["batch_in_epoch"] == 2

    resumed = run_seq(tmp_path, "cut", resume="auto", **common)
    assert resumed.resumed_from == latest
    assert resumed.global_step == full.global_step == 6
    a, b = full.model.state_dict(), resumed.model.state_dict()
    for key in a:
        assert torch.equal(a[key], b[key]), key  # bit-identical
    assert resumed.eval_history == full.eval_history
    assert resumed.history == full.history
    # no duplicated lines from the steps run twice (5 before the crash, re-run after the resume)
    lines = (tmp_path / "cut" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [line["step"] for line in full.eval_history]


def test_resume_options(tmp_path):
    fresh = run_seq(tmp_path, "auto", resume="auto", num_epochs=1)
    assert fresh.resumed_from is None and fresh.global_step == 6
    # resuming a finished run with more epochs continues from its last checkpoint
    more = run_seq(tmp_path, "auto", resume="auto", num_epochs=2)
    assert more.resumed_from is not None and more.global_step == 12
    assert [line["step"] for line in more.eval_history] == [6, 12]
    with pytest.raises(ValueError, match="neither a checkpoint folder"):
        run_seq(tmp_path, "other", resume=str(tmp_path / "nowhere"))


class TwoBranch(nn.Module):
    def __init__(self):
        super().__init__()
        self.lipsync = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Dropout(0.1), nn.Linear(8, 3))
        self.expression = nn.Linear(4, 3)

    def forward(self, x):
        return self.lipsync(x) + self.expression(x)


@pytest.mark.parametrize("how", ["patterns", "callable"])
def test_trainable_filter_keeps_frozen_branch_bit_identical(tmp_path, how):
    g = torch.Generator().manual_seed(0)
    data = [(torch.randn(4, generator=g), torch.randn(3, generator=g)) for _ in range(32)]
    torch.manual_seed(0)
    model = TwoBranch()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    trainable = "expression.*" if how == "patterns" else (lambda name, p: name.startswith("expression."))

    def loss(model, batch, state):
        x, y = batch
        return (model(x) - y).abs().mean()

    result = train(
        model, data, data[:8], config(tmp_path, weight_decay=0.1), None, loss, trainable_filter=trainable
    )
    after = result.model.state_dict()
    for key in before:
        if key.startswith("lipsync."):  # weights and BatchNorm running stats
            assert torch.equal(before[key], after[key]), key
        else:
            assert not torch.equal(before[key], after[key]), key
    assert not any(p.requires_grad for p in result.model.lipsync.parameters())
    with pytest.raises(ValueError, match="matches no parameter"):
        train(TwoBranch(), data, None, config(tmp_path, "x"), None, loss, trainable_filter="decoder.*")
    with pytest.raises(ValueError, match="no trainable parameters"):
        train(TwoBranch(), data, None, config(tmp_path, "y"), None, loss, trainable_filter=lambda n, p: False)


def test_hf_dataset_pretrained_model_and_length_buckets(tmp_path):
    import datasets
    from tiny_model import TinyBlendshapeModel, TinyConfig

    g = np.random.default_rng(0)
    lengths = g.integers(5, 30, size=20)
    feats = [g.standard_normal((n, 8)).astype(np.float32) for n in lengths]
    labels = [1 / (1 + np.exp(-f @ np.ones((8, 52), np.float32) / 8)) for f in feats]
    features = datasets.Features(
        {
            "input_features": datasets.Array2D(shape=(None, 8), dtype="float32"),
            "labels": datasets.Array2D(shape=(None, 52), dtype="float32"),
            "num_frames": datasets.Value("int32"),
        }
    )
    ds = datasets.Dataset.from_dict(
        {"input_features": feats, "labels": labels, "num_frames": lengths.tolist()}, features=features
    ).with_format("torch")
    assert sequence_lengths(ds, "input_features") == lengths.tolist()
    assert sequence_lengths(ds.select([3, 1]), "num_frames") == [lengths[3], lengths[1]]

    torch.manual_seed(0)
    model = TinyBlendshapeModel(TinyConfig())
    cfg = config(tmp_path, group_by_length=True, length_column="input_features", num_epochs=3)
    # default compute_loss: model(**batch).loss
    result = train(
        model,
        ds,
        ds.select(range(6)),
        cfg,
        SequenceCollator(["input_features", "labels"], ignore_keys=["num_frames"]),
    )
    assert result.eval_history[-1]["eval_loss"] < result.eval_history[0]["eval_loss"]
    reloaded = TinyBlendshapeModel.from_pretrained(result.final_dir)
    assert (result.final_dir / "config.json").is_file()
    for key, value in reloaded.state_dict().items():
        assert torch.equal(value, result.model.state_dict()[key]), key


class Stream(torch.utils.data.IterableDataset):
    """A finite stream whose content depends on the epoch (dynamic mixing)."""

    def __init__(self, n: int = 10):
        self.n = n
        self.epoch = 0
        self.epochs_seen: list[int] = []

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        self.epochs_seen.append(epoch)

    def __iter__(self):
        g = torch.Generator().manual_seed(1000 + self.epoch)
        for _ in range(self.n):
            x = torch.randn(4, generator=g)
            yield {"x": x, "y": x[:3] * 2}


def test_iterable_dataset_needs_max_steps_and_runs_many_passes(tmp_path):
    def loss(model, batch, state):
        return (model(batch["x"]) - batch["y"]).pow(2).mean()

    with pytest.raises(ValueError, match="set max_steps"):
        train(nn.Linear(4, 3), Stream(), None, config(tmp_path, "a"), None, loss)
    stream = Stream(10)  # 3 batches of 4 per pass
    result = train(
        nn.Linear(4, 3), stream, [next(iter(Stream(1)))], config(tmp_path, "b", max_steps=7), None, loss
    )
    assert result.global_step == 7
    assert sorted(set(stream.epochs_seen)) == [0, 1, 2]  # 7 steps = passes 0, 1 (3 steps each) and 2


class StopAt:
    def __init__(self, step: int):
        self.step = step
        self.evaluated: list[int] = []

    def on_step_end(self, state):
        state.should_stop = state.global_step >= self.step

    def on_evaluate(self, state, metrics):
        self.evaluated.append(metrics["step"])


def test_per_sample_validation_metrics_and_early_stop(tmp_path):
    items = make_items()

    def loss(model, batch, state):
        pred = model(batch["x"])
        reduction = "mean" if state.training else "none"  # per-sample values average exactly
        return masked_l1(pred, batch["y"], batch["attention_mask"], reduction=reduction)

    def metrics(model, batch, state):
        pred = model(batch["x"])
        first = (pred[:, 0] - batch["y"][:, 0]).abs().mean(dim=1)  # per sample
        return {"first_frame_l1": first, "constant": 2.0}

    stop = StopAt(3)
    torch.manual_seed(0)
    result = train(
        GRURegressor(dropout=0.0),
        items,
        items[:8],
        config(tmp_path, eval_batch_size=3, eval_every=2),  # batches of 3, 3, 2
        SequenceCollator(["x", "y"]),
        loss,
        metrics,
        callbacks=[stop],
    )
    assert result.global_step == 3 and stop.evaluated == [2, 3]
    model = result.model.eval()
    per_item = []
    firsts = []
    with torch.no_grad():
        for item in items[:8]:
            pred = model(item["x"][None])[0]
            per_item.append((pred - item["y"]).abs().mean().item())
            firsts.append((pred[0] - item["y"][0]).abs().mean().item())
    final = result.metrics
    assert final["eval_samples"] == 8
    assert final["eval_loss"] == pytest.approx(np.mean(per_item), rel=1e-5)
    assert final["eval_first_frame_l1"] == pytest.approx(np.mean(firsts), rel=1e-5)
    assert final["eval_constant"] == 2.0


def test_bad_compute_loss_output_is_reported(tmp_path):
    data = [(torch.randn(4), torch.randn(3)) for _ in range(8)]
    with pytest.raises(ValueError, match="compute_loss must return a scalar tensor"):
        train(nn.Linear(4, 3), data, None, config(tmp_path), None, lambda m, b, s: m(b[0]))
    with pytest.raises(ValueError, match="returned no loss"):
        train(nn.Linear(4, 3), [{"input": torch.randn(4)} for _ in range(4)], None, config(tmp_path, "b"))


def test_bf16_mixed_precision_on_cpu(tmp_path):
    result = run_seq(tmp_path, mixed_precision="bf16", num_epochs=1)
    assert math.isfinite(result.metrics["eval_loss"])
    assert result.model.head.weight.dtype == torch.float32  # master weights stay fp32


# -- multi-process -------------------------------------------------------------------------------------------
DDP_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    import torch
    from torch import nn
    from accelerate import PartialState
    from avzoo.losses import masked_l1
    from avzoo.train import SequenceCollator, SequenceCrop, TrainConfig, train

    class Crash(Exception):
        pass

    class CrashAt:
        def __init__(self, step):
            self.step = step
        def on_step_end(self, state):
            if state.global_step == self.step:
                raise Crash(self.step)

    g = torch.Generator().manual_seed(0)
    items = []
    for _ in range(32):
        x = torch.randn(int(torch.randint(6, 16, (1,), generator=g)), 4, generator=g)
        items.append({"x": x, "y": x[:, :3] * 2 - x[:, 1:] })

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8, batch_first=True)
            self.head = nn.Linear(8, 3)
        def forward(self, x):
            return self.head(self.gru(x)[0])

    def loss(model, batch, state):
        return masked_l1(model(batch["x"]), batch["y"], batch["attention_mask"])

    config = TrainConfig.from_cli(sys.argv[1:])
    torch.manual_seed(0)
    crash = int(os.environ.get("CRASH_AT", "0"))
    try:
        result = train(Model(), SequenceCrop(items, 8, ["x", "y"]), items[:8], config, SequenceCollator(["x", "y"]),
                       loss, callbacks=[CrashAt(crash)] if crash else [])
    except Crash:
        sys.exit(3)
    state = PartialState()
    out = {"rank": state.process_index, "world": state.num_processes, "type": str(state.distributed_type),
           "step": result.global_step, "metrics": result.metrics,
           "weights": {k: v.flatten().tolist() for k, v in result.model.state_dict().items()}}
    with open(os.path.join(config.output_dir, f"rank{state.process_index}.json"), "w") as f:
        json.dump(out, f)
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(script: Path, args: list[str], processes: int, crash_at: int = 0) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "ACCELERATE_USE_CPU": "1", "CRASH_AT": str(crash_at)}
    if processes == 1:
        cmd = [sys.executable, str(script), *args]
    else:
        # `--cpu --num_processes N` alone starts one process (it needs mpirun); --multi_gpu starts N with
        # torchrun, and ACCELERATE_USE_CPU=1 makes each one pick the gloo CPU backend
        cmd = [
            sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", str(processes),
            "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
            "--main_process_port", str(_free_port()), str(script), *args,
        ]  # fmt: skip
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_two_cpu_processes_match_gradient_accumulation_and_resume(tmp_path):
    """2 processes x batch 4 == 1 process x batch 4 x 2 accumulation steps; a 2-process resume is exact."""
    script = tmp_path / "ddp_task.py"
    script.write_text(DDP_SCRIPT)
    common = ["batch_size=4", "eval_batch_size=4", "num_epochs=2", "learning_rate=0.01", "progress=false"]

    single = _launch(script, [*common, f"output_dir={tmp_path / 'one'}", "gradient_accumulation_steps=2"], 1)
    assert single.returncode == 0, single.stderr[-3000:]
    multi = _launch(script, [*common, f"output_dir={tmp_path / 'two'}", "save_every=3"], 2)
    assert multi.returncode == 0, multi.stderr[-3000:]

    one = json.loads((tmp_path / "one" / "rank0.json").read_text())
    ranks = [json.loads((tmp_path / "two" / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert one["world"] == 1 and [r["world"] for r in ranks] == [2, 2]
    assert all(r["type"] == "DistributedType.MULTI_CPU" for r in ranks)
    assert one["step"] == ranks[0]["step"] == 8  # 32 items: 8 batches of 4 → 4 updates per epoch
    for key, values in one["weights"].items():
        assert ranks[0]["weights"][key] == ranks[1]["weights"][key]  # replicas agree exactly
        np.testing.assert_allclose(ranks[0]["weights"][key], values, atol=1e-6)
    # validation was gathered over all 8 samples, and only rank 0 wrote the log files
    assert ranks[0]["metrics"]["eval_samples"] == 8
    assert ranks[0]["metrics"]["eval_loss"] == pytest.approx(one["metrics"]["eval_loss"], abs=1e-6)
    assert len((tmp_path / "two" / "metrics.jsonl").read_text().splitlines()) == 2

    # crash after the mid-epoch checkpoint at step 3, resume with 2 processes: same final weights
    cut_args = [*common, f"output_dir={tmp_path / 'cut'}", "save_every=3", "save_each_epoch=false"]
    cut = _launch(script, cut_args, 2, crash_at=5)
    assert cut.returncode != 0
    assert [s for s, _ in list_checkpoints(tmp_path / "cut")] == [3]
    resumed = _launch(script, [*cut_args, "resume=auto"], 2)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    again = json.loads((tmp_path / "cut" / "rank0.json").read_text())
    assert again["weights"] == ranks[0]["weights"]


# -- differential learning rates (lr_multipliers) -------------------------------------------------------------------
def test_lr_multipliers_groups_first_match_and_errors(tmp_path):
    from avzoo.train.params import _param_groups

    model = TwoBranch()
    trainable = list(model.named_parameters())
    groups = _param_groups(
        trainable, 0.1, 1e-3, {"lipsync.0.*": 0.1, "*.weight": 2.0, "lipsync.*": 0.5, "expression.bias": 0.0}
    )
    by_param = {id(p): g for g in groups for p in g["params"]}
    # each trainable parameter in exactly one group
    assert sum(len(g["params"]) for g in groups) == len(by_param) == len(trainable)

    def lr_and_decay(name):
        group = by_param[id(dict(trainable)[name])]
        return group.get("lr", "default"), group["weight_decay"]

    # first matching glob wins: lipsync.0.weight matches "lipsync.0.*" (0.1) before "*.weight" (2.0)
    assert lr_and_decay("lipsync.0.weight") == (pytest.approx(1e-4), 0.1)
    assert lr_and_decay("lipsync.0.bias") == (pytest.approx(1e-4), 0.0)  # 1-D: never decayed
    assert lr_and_decay("lipsync.3.weight") == (pytest.approx(2e-3), 0.1)
    assert lr_and_decay("lipsync.1.weight") == (pytest.approx(2e-3), 0.0)  # BatchNorm scale: 1-D
    assert lr_and_decay("lipsync.3.bias") == (pytest.approx(5e-4), 0.0)
    assert lr_and_decay("lipsync.1.bias") == (pytest.approx(5e-4), 0.0)
    assert lr_and_decay("expression.weight") == (pytest.approx(2e-3), 0.1)
    assert lr_and_decay("expression.bias") == (0.0, 0.0)  # a factor of 0 freezes through the optimizer
    # without multipliers: just the decay split, and no per-group lr
    plain = _param_groups(trainable, 0.1, 1e-3)
    assert [g["weight_decay"] for g in plain] == [0.1, 0.0] and not any("lr" in g for g in plain)
    # a glob that matches no trainable parameter is an error (a typo must not silently train at full rate) ...
    with pytest.raises(
        ValueError, match=r"lr_multipliers pattern 'decoder\.\*' matches no trainable parameter"
    ):
        _param_groups(trainable, 0.1, 1e-3, {"lipsync.*": 0.5, "decoder.*": 0.1})
    # ... also when it only names frozen parameters
    with pytest.raises(ValueError, match="matches no trainable parameter"):
        _param_groups(
            [(n, p) for n, p in trainable if n.startswith("lipsync.")], 0.0, 1e-3, {"expression.*": 0.5}
        )


def test_lr_multipliers_in_config_and_train(tmp_path):
    with pytest.raises(ValueError, match="lr_multipliers maps name globs to factors >= 0"):
        TrainConfig(lr_multipliers={"encoder.*": -0.5})
    with pytest.raises(ValueError, match=r"lr_multipliers\[encoder.\*\]: expected a number"):
        TrainConfig.from_cli(["lr_multipliers={'encoder.*': fast}"])
    parsed = TrainConfig.from_cli(["lr_multipliers={'encoder.*': 0.3, '*.bias': 0}"])
    assert parsed.lr_multipliers == {"encoder.*": 0.3, "*.bias": 0.0}
    assert isinstance(parsed.lr_multipliers["encoder.*"], float)

    # through train(): a factor of 0 leaves its branch bit-identical (AdamW's decay scales with the lr too), while a
    # factor of 0.5 moves the other one less than a full-rate run does
    g = torch.Generator().manual_seed(0)
    data = [(torch.randn(4, generator=g), torch.randn(3, generator=g)) for _ in range(32)]

    def loss(model, batch, state):
        x, y = batch
        return (model(x) - y).abs().mean()

    def run(name, multipliers):
        torch.manual_seed(0)
        model = TwoBranch()
        before = {k: v.clone() for k, v in model.named_parameters()}
        cfg = config(
            tmp_path,
            name,
            weight_decay=0.1,
            num_epochs=1,
            lr_multipliers=multipliers,
            lr_scheduler="constant",
        )
        after = dict(train(model, data, None, cfg, None, loss).model.named_parameters())
        return {k: (after[k].detach() - before[k]).abs().max().item() for k in before}

    full = run("full", {})
    slowed = run("slowed", {"expression.*": 0.0, "lipsync.*": 0.5})
    assert slowed["expression.weight"] == slowed["expression.bias"] == 0.0
    assert full["expression.weight"] > 0
    for name in ("lipsync.0.weight", "lipsync.3.weight"):
        assert 0 < slowed[name] < full[name], name
    with pytest.raises(ValueError, match="matches no trainable parameter"):
        train(
            TwoBranch(), data, None, config(tmp_path, "typo", lr_multipliers={"expresion.*": 0.5}), None, loss
        )
