"""Batching helpers for variable-length sequences: padding with masks, length-bucketed batches, crops.

- :func:`pad_sequences` / :class:`SequenceCollator` pad ``(T, ...)`` items to ``(B, T_max, ...)`` and add
  ``attention_mask`` (1 = real frame, 0 = padding), right-padded.
- :class:`BucketBatchSampler` groups items of similar length (less padding, faster epochs) and still visits
  every index exactly once per epoch; its order depends only on ``(seed, epoch)``, so a resumed run sees the
  same batches.
- :class:`SequenceCrop` cuts long items to ``max_frames``; the random offset depends only on
  ``(seed, epoch, index)``, not on global RNG state, which keeps mid-epoch resume bit-exact and makes the
  crops identical however many workers or processes load the data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler, default_collate

from avzoo.data.lengths import sequence_lengths as sequence_lengths  # re-exported; it lives in avzoo.data

CROP_MODES = ("random", "start", "center")


def pad_sequences(
    sequences: Sequence[Any], pad_value: float = 0.0, pad_to_multiple_of: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad ``(T_i, ...)`` sequences to ``(B, T_max, ...)``; returns ``(padded, mask)`` with mask ``(B, T_max)``.

    The mask is ``torch.long`` (1 for real frames), the transformers convention for ``attention_mask``.
    """
    if len(sequences) == 0:
        raise ValueError("pad_sequences needs at least one sequence, got an empty list")
    tensors = [torch.as_tensor(s) for s in sequences]
    trailing = tensors[0].shape[1:]
    for i, t in enumerate(tensors):
        if t.dim() == 0:
            raise ValueError(
                f"sequence {i} is a scalar; sequences must have a time axis first, shape (T, ...)"
            )
        if t.shape[1:] != trailing:
            raise ValueError(
                f"sequence {i} has shape {tuple(t.shape)} but sequence 0 has {tuple(tensors[0].shape)}: "
                "all sequences must share every axis but the first (time)"
            )
    lengths = [t.shape[0] for t in tensors]
    max_len = max(lengths)
    if pad_to_multiple_of:
        max_len = int(math.ceil(max_len / pad_to_multiple_of) * pad_to_multiple_of)
    out = tensors[0].new_full((len(tensors), max_len, *trailing), pad_value)
    mask = torch.zeros(len(tensors), max_len, dtype=torch.long)
    for i, t in enumerate(tensors):
        out[i, : t.shape[0]] = t.to(out.dtype)
        mask[i, : t.shape[0]] = 1
    return out, mask


@dataclass
class SequenceCollator:
    """Collate a list of dict items, padding the time-axis ``sequence_keys`` and adding masks.

    ``masks`` maps a sequence key to the name of its mask in the batch (default: the first sequence key →
    ``"attention_mask"``); give one per key when keys run at different rates (audio samples vs frames).
    Other keys are stacked with ``default_collate`` when they are numbers/tensors, and kept as lists otherwise
    (strings, ``None``). ``ignore_keys`` are dropped.
    """

    sequence_keys: Sequence[str]
    masks: Mapping[str, str] | None = None
    pad_values: Mapping[str, float] = field(default_factory=dict)
    pad_to_multiple_of: int | None = None
    ignore_keys: Sequence[str] = ()

    def __post_init__(self) -> None:
        if isinstance(self.sequence_keys, str):
            self.sequence_keys = [self.sequence_keys]
        if not self.sequence_keys:
            raise ValueError("SequenceCollator needs at least one sequence key")
        if self.masks is None:
            self.masks = {self.sequence_keys[0]: "attention_mask"}
        unknown = [k for k in self.masks if k not in self.sequence_keys]
        if unknown:
            raise ValueError(
                f"masks name keys {unknown} that are not sequence_keys {list(self.sequence_keys)}"
            )

    def __call__(self, items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        if len(items) == 0:
            raise ValueError("cannot collate an empty batch")
        batch: dict[str, Any] = {}
        for key in self.sequence_keys:
            for item in items:
                if key not in item:
                    raise ValueError(f"item has no sequence key {key!r}; its keys are {sorted(item)}")
            padded, mask = pad_sequences(
                [item[key] for item in items], self.pad_values.get(key, 0.0), self.pad_to_multiple_of
            )
            batch[key] = padded
            if key in self.masks:
                batch[self.masks[key]] = mask
        skip = set(self.sequence_keys) | set(self.ignore_keys)
        for key in items[0]:
            if key in skip:
                continue
            values = [item[key] for item in items]
            batch[key] = _collate_plain(values)
        return batch


def _collate_plain(values: list[Any]) -> Any:
    if all(isinstance(v, (torch.Tensor, np.ndarray, int, float, np.number)) for v in values):
        try:
            return default_collate(values)
        except RuntimeError:  # differently shaped tensors: leave them as a list
            return values
    return values


class BucketBatchSampler(Sampler[list[int]]):
    """Batches of indices; with ``lengths``, items of similar length share a batch.

    Each epoch: shuffle all indices with a generator seeded by ``seed + epoch``; cut the order into windows
    of ``batch_size * bucket_size``; sort each window by length (longest first) and cut it into batches;
    shuffle the full batches. A short remainder batch (at most one) comes last, or is dropped with
    ``drop_last`` — accelerate's multi-process sharding expects the short batch at the end. Without
    ``lengths`` it is a plain seeded shuffle. Call :meth:`set_epoch` before each epoch.
    """

    def __init__(
        self,
        num_samples: int,
        batch_size: int,
        lengths: Sequence[int] | None = None,
        *,
        shuffle: bool = True,
        drop_last: bool = False,
        bucket_size: int = 50,
        seed: int = 0,
    ) -> None:
        if num_samples < 1:
            raise ValueError(f"num_samples must be >= 1, got {num_samples} (is the dataset empty?)")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if bucket_size < 1:
            raise ValueError(f"bucket_size must be >= 1, got {bucket_size}")
        if lengths is not None:
            lengths = [int(n) for n in lengths]
            if len(lengths) != num_samples:
                raise ValueError(f"got {len(lengths)} lengths for {num_samples} samples; they must match")
        if drop_last and num_samples < batch_size:
            raise ValueError(
                f"drop_last with {num_samples} samples < batch_size {batch_size} leaves no batch"
            )
        self.num_samples = num_samples
        self.batch_size = batch_size
        self.lengths = lengths
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.bucket_size = bucket_size
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        if self.drop_last:
            return self.num_samples // self.batch_size
        return math.ceil(self.num_samples / self.batch_size)

    def batches(self) -> list[list[int]]:
        """This epoch's batches (what ``__iter__`` yields)."""
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        n, bs = self.num_samples, self.batch_size
        order = torch.randperm(n, generator=generator).tolist() if self.shuffle else list(range(n))
        if self.lengths is not None:
            window = bs * self.bucket_size
            lengths = self.lengths
            order = [
                i
                for start in range(0, n, window)
                for i in sorted(order[start : start + window], key=lambda j: -lengths[j])
            ]
        batches = [order[i : i + bs] for i in range(0, n, bs)]
        full = [b for b in batches if len(b) == bs]
        rest = [b for b in batches if len(b) < bs]
        if self.shuffle and self.lengths is not None:
            full = [full[i] for i in torch.randperm(len(full), generator=generator).tolist()]
        return full if self.drop_last else full + rest

    def __iter__(self):
        yield from self.batches()


class SequenceCrop(Dataset):
    """Wrap a map-style dataset so that items longer than ``max_frames`` are cut to ``max_frames``.

    ``keys`` maps each time-axis key to its rate relative to the frame axis (1 for per-frame features and
    targets; e.g. ``16000 / 30`` for a 16 kHz waveform cut alongside 30 fps targets); a plain list means
    rate 1 for every key. The first key sets the item's frame count. ``mode`` is ``"random"`` (offset from
    ``(seed, epoch, index)``), ``"start"`` or ``"center"``. Shorter items pass through unchanged.
    """

    def __init__(
        self,
        dataset: Any,
        max_frames: int,
        keys: Mapping[str, float] | Sequence[str],
        mode: str = "random",
        seed: int = 0,
    ) -> None:
        if max_frames < 1:
            raise ValueError(f"max_frames must be >= 1, got {max_frames}")
        if mode not in CROP_MODES:
            raise ValueError(f"mode must be one of {CROP_MODES}, got {mode!r}")
        rates = (
            dict(keys)
            if isinstance(keys, Mapping)
            else dict.fromkeys([keys] if isinstance(keys, str) else keys, 1.0)
        )
        if not rates:
            raise ValueError("SequenceCrop needs at least one key to crop")
        for key, rate in rates.items():
            if not rate > 0:
                raise ValueError(f"rate of key {key!r} must be > 0, got {rate}")
        self.dataset = dataset
        self.max_frames = int(max_frames)
        self.rates = rates
        self.mode = mode
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = self.dataset[index]
        first, rate = next(iter(self.rates.items()))
        if first not in item:
            raise ValueError(f"item {index} has no key {first!r} to crop; its keys are {sorted(item)}")
        num_frames = int(len(item[first]) / rate)
        start = crop_start(num_frames, self.max_frames, self.mode, (self.seed, self.epoch, int(index)))
        return crop_item(item, start, self.max_frames, self.rates) if num_frames > self.max_frames else item


def crop_start(num_frames: int, max_frames: int, mode: str = "random", seed: Any = None) -> int:
    """First frame of a ``max_frames`` window in ``num_frames`` (0 when the item already fits).

    ``seed`` feeds ``numpy.random.default_rng`` for ``"random"`` (an int or a tuple such as
    ``(seed, epoch, index)``), so the same seed always gives the same window.
    """
    if num_frames <= max_frames:
        return 0
    if mode == "start":
        return 0
    if mode == "center":
        return (num_frames - max_frames) // 2
    if mode == "random":
        return int(np.random.default_rng(seed).integers(0, num_frames - max_frames + 1))
    raise ValueError(f"mode must be one of {CROP_MODES}, got {mode!r}")


def crop_item(
    item: Mapping[str, Any], start: int, num_frames: int, rates: Mapping[str, float]
) -> dict[str, Any]:
    """Copy of ``item`` with each key in ``rates`` sliced to frames ``[start, start + num_frames)``.

    A key at rate ``r`` is sliced at ``[round(start * r), round(start * r) + round(num_frames * r))``, so all
    crops of a key have the same length.
    """
    out = dict(item)
    for key, rate in rates.items():
        if key not in item:
            raise ValueError(f"item has no key {key!r} to crop; its keys are {sorted(item)}")
        begin = round(start * rate)
        out[key] = item[key][begin : begin + round(num_frames * rate)]
    return out
