"""Per-item sequence lengths of a dataset column, read without decoding the data where possible.

Shared by corpus statistics (durations) and by length-bucketed batching in training.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def sequence_lengths(dataset: Any, column: str) -> list[int]:
    """Per-item lengths from ``column``: an integer column is read as is, a sequence column is measured.

    For a ``datasets.Dataset`` this reads Arrow metadata only (no decoding); other datasets are indexed
    item by item.
    """
    try:
        import datasets
    except ImportError:  # pragma: no cover - datasets is a core dependency
        datasets = None
    if datasets is not None and isinstance(dataset, datasets.Dataset):
        if column not in dataset.column_names:
            raise ValueError(
                f"length column {column!r} is not in the dataset; columns: {dataset.column_names}"
            )
        import pyarrow as pa
        import pyarrow.compute as pc

        array = dataset.with_format("arrow")[column]
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
        if isinstance(array, pa.ExtensionArray):
            array = array.storage
        if pa.types.is_integer(array.type):
            return [int(v) for v in array.to_pylist()]
        if (
            pa.types.is_list(array.type)
            or pa.types.is_large_list(array.type)
            or pa.types.is_fixed_size_list(array.type)
        ):
            return [int(v) for v in pc.list_value_length(array).to_pylist()]
        raise ValueError(f"length column {column!r} has type {array.type}; need integers or sequences")
    lengths = []
    for i in range(len(dataset)):
        value = dataset[i][column]
        lengths.append(int(value) if np.ndim(value) == 0 else len(value))
    return lengths
