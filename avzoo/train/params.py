"""Which parameters train (``trainable_filter``) and how they split into AdamW weight-decay groups."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Sequence
from typing import Any

from torch import nn


def select_trainable(
    model: nn.Module, trainable_filter: Callable[[str, nn.Parameter], bool] | str | Sequence[str] | None
) -> list[tuple[str, nn.Parameter]]:
    """Apply ``trainable_filter`` to ``requires_grad`` and return the trainable ``(name, param)`` pairs."""
    if trainable_filter is not None:
        if isinstance(trainable_filter, str):
            trainable_filter = [trainable_filter]
        if callable(trainable_filter):
            keep = trainable_filter
        else:
            patterns = list(trainable_filter)
            names = [n for n, _ in model.named_parameters()]
            for pattern in patterns:
                if not any(fnmatch.fnmatchcase(n, pattern) for n in names):
                    raise ValueError(
                        f"trainable pattern {pattern!r} matches no parameter; names look like {names[:5]}"
                    )

            def keep(name: str, _param: nn.Parameter) -> bool:
                return any(fnmatch.fnmatchcase(name, p) for p in patterns)

        for name, param in model.named_parameters():
            param.requires_grad_(bool(keep(name, param)))
    return [(n, p) for n, p in model.named_parameters() if p.requires_grad]


def _param_groups(trainable: list[tuple[str, nn.Parameter]], weight_decay: float) -> list[dict[str, Any]]:
    if weight_decay == 0:
        return [{"params": [p for _, p in trainable], "weight_decay": 0.0}]
    decay = [p for _, p in trainable if p.dim() >= 2]
    no_decay = [p for _, p in trainable if p.dim() < 2]  # biases and norm scales
    return [
        g
        for g in ({"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0})
        if g["params"]
    ]
