"""The data side of a training run: train/eval data loaders, length buckets, per-epoch reseeding."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch.utils.data import DataLoader, IterableDataset

from avzoo.data.lengths import sequence_lengths
from avzoo.train.data import BucketBatchSampler, SequenceCrop


class _LoaderMixin:
    """Data-loader methods of the run in :mod:`avzoo.train.loop` (uses its ``acc``, ``config``, generators)."""

    def _loader_kwargs(self, collate_fn: Callable | None, generator: torch.Generator) -> dict[str, Any]:
        return {
            "collate_fn": collate_fn,
            "num_workers": self.config.num_workers,
            "pin_memory": self.acc.device.type == "cuda",
            "generator": generator,
        }

    def _train_loader(self, dataset: Any, collate_fn: Callable | None, lengths: Sequence[int] | None):
        config = self.config
        kwargs = self._loader_kwargs(collate_fn, self.train_generator)
        if isinstance(dataset, IterableDataset):
            return DataLoader(
                dataset, batch_size=config.batch_size, drop_last=config.drop_last, **kwargs
            ), None
        if not _has_len(dataset):
            raise ValueError(
                f"train_dataset ({type(dataset).__name__}) needs __len__ or must be an IterableDataset"
            )
        if lengths is None and config.group_by_length:
            lengths = _dataset_lengths(dataset, config.length_column)
        sampler = BucketBatchSampler(
            len(dataset),
            config.batch_size,
            lengths,
            shuffle=True,
            drop_last=config.drop_last,
            bucket_size=config.bucket_size,
            seed=config.seed,
        )
        return DataLoader(dataset, batch_sampler=sampler, **kwargs), sampler

    def _eval_loader(self, dataset: Any, collate_fn: Callable | None) -> DataLoader:
        kwargs = self._loader_kwargs(collate_fn, self.eval_generator)
        return DataLoader(dataset, batch_size=self.config.per_device_eval_batch_size, shuffle=False, **kwargs)

    def _set_epoch(self, epoch: int) -> None:
        self.train_generator.manual_seed(self.config.seed + epoch)
        if self.sampler is not None:
            self.sampler.set_epoch(epoch)
        if hasattr(self.train_dataset, "set_epoch"):
            self.train_dataset.set_epoch(epoch)
        self.train_loader.set_epoch(epoch)


def _dataset_lengths(dataset: Any, column: str | None) -> list[int]:
    cap = None
    inner = dataset
    if isinstance(dataset, SequenceCrop):
        cap, inner = dataset.max_frames, dataset.dataset
    if column is None:
        lengths = getattr(inner, "lengths", None)
        if lengths is None:
            raise ValueError(
                "group_by_length needs lengths: set length_column, pass train_lengths=, or give the dataset a "
                "`lengths` attribute"
            )
    else:
        lengths = sequence_lengths(inner, column)
    return [min(int(n), cap) if cap else int(n) for n in lengths]


def _has_len(obj: Any) -> bool:
    try:
        len(obj)
    except TypeError:
        return False
    return True
