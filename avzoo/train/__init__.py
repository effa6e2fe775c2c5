"""avzoo.train: the shared Accelerate training loop, its config, sequence losses and batching helpers.

One recipe per model family lives next to these modules and runs with ``python -m`` or, unchanged, with
``accelerate launch -m avzoo.train.<recipe> key=value ...`` on many GPUs or nodes.
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
from avzoo.train.losses import SequenceLoss, group_weights, masked_l1, velocity_l1, warmup_factor

__all__ = [
    "BucketBatchSampler",
    "Callback",
    "SequenceCollator",
    "SequenceCrop",
    "SequenceLoss",
    "TrainConfig",
    "TrainResult",
    "TrainState",
    "crop_item",
    "crop_start",
    "default_compute_loss",
    "group_weights",
    "list_checkpoints",
    "load_mapping",
    "masked_l1",
    "pad_sequences",
    "parse_overrides",
    "resolve_checkpoint",
    "select_trainable",
    "sequence_lengths",
    "train",
    "velocity_l1",
    "warmup_factor",
]
