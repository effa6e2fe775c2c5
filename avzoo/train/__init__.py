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

from avzoo.train.config import TrainConfig, load_mapping, parse_overrides
from avzoo.train.data import (
    BucketBatchSampler,
    SequenceCollator,
    SequenceCrop,
    crop_item,
    crop_start,
    pad_sequences,
    sequence_lengths,
)
from avzoo.train.loop import (
    Callback,
    TrainResult,
    TrainState,
    default_compute_loss,
    list_checkpoints,
    resolve_checkpoint,
    select_trainable,
    train,
)

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
