"""avzoo.train: the shared Accelerate training loop, its config and batching helpers (losses: :mod:`avzoo.losses`).

One recipe per model family lives next to these modules and runs with ``python -m`` or, unchanged, with
``accelerate launch -m avzoo.train.<recipe> key=value ...`` on many GPUs or nodes. A recipe's shape::

    @dataclass
    class RecipeConfig(TrainConfig):
        phase: int = 1
        velocity_weight: float = 0.5
        max_frames: int = 240

    def main(argv=None):
        config = RecipeConfig.from_cli(sys.argv[1:] if argv is None else argv)
        ds = build_dataset().with_format("torch")  # a datasets.Dataset
        train_ds = SequenceCrop(ds["train"], config.max_frames, ["input_features", "labels"], seed=config.seed)
        loss_fn = avzoo.losses.SequenceLoss(velocity_weight=config.velocity_weight, velocity_warmup_steps=500)

        def compute_loss(model, batch, state):
            pred = model(batch["input_features"], attention_mask=batch["attention_mask"]).blendshapes
            step = state.global_step if state.training else None
            return loss_fn(pred, batch["labels"], batch["attention_mask"], step=step)

        train(model, train_ds, ds["validation"], config, SequenceCollator(["input_features", "labels"]),
              compute_loss, trainable_filter="expression.*" if config.phase == 2 else None)

On one CPU: ``python -m avzoo.train.<recipe> output_dir=runs/x``. On N GPUs: ``accelerate launch
--multi_gpu --num_processes N -m avzoo.train.<recipe> ...``. On N CPU processes (a check of the
distributed path without GPUs): ``ACCELERATE_USE_CPU=1 accelerate launch --multi_gpu --num_processes N
...`` (``--cpu --num_processes N`` alone starts one process unless MPI is set up).
"""

from __future__ import annotations

import importlib
from typing import Any

# Submodules load on first use, so `avzoo train --help` does not import torch, datasets and accelerate.
_LAZY = {
    "BucketBatchSampler": "data",
    "Callback": "loop",
    "SequenceCollator": "data",
    "SequenceCrop": "data",
    "TrainConfig": "config",
    "TrainResult": "loop",
    "TrainState": "loop",
    "crop_item": "data",
    "crop_start": "data",
    "default_compute_loss": "loop",
    "list_checkpoints": "loop",
    "load_mapping": "config",
    "pad_sequences": "data",
    "parse_overrides": "config",
    "resolve_checkpoint": "loop",
    "select_trainable": "loop",
    "sequence_lengths": "data",
    "train": "loop",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"avzoo.train.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BucketBatchSampler",
    "Callback",
    "SequenceCollator",
    "SequenceCrop",
    "TrainConfig",
    "TrainResult",
    "TrainState",
    "crop_item",
    "crop_start",
    "default_compute_loss",
    "list_checkpoints",
    "load_mapping",
    "pad_sequences",
    "parse_overrides",
    "resolve_checkpoint",
    "select_trainable",
    "sequence_lengths",
    "train",
]
