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


def _param_groups(
    trainable: list[tuple[str, nn.Parameter]],
    weight_decay: float,
    learning_rate: float | None = None,
    lr_multipliers: dict[str, float] | None = None,
) -> list[dict[str, Any]]:
    """AdamW groups: decayed (>=2-D) and not, split further by ``lr_multipliers`` (name glob → factor on
    ``learning_rate``, first match wins). A glob that matches no trainable parameter is a ``ValueError``."""
    patterns = list((lr_multipliers or {}).items())
    for pattern, _ in patterns:
        if not any(fnmatch.fnmatchcase(n, pattern) for n, _ in trainable):
            names = [n for n, _ in trainable][:5]
            raise ValueError(
                f"lr_multipliers pattern {pattern!r} matches no trainable parameter; names look like {names}"
            )

    def factor(name: str) -> float:
        return next((f for pat, f in patterns if fnmatch.fnmatchcase(name, pat)), 1.0)

    groups: dict[tuple[bool, float], list[nn.Parameter]] = {}
    for name, p in trainable:
        groups.setdefault((weight_decay != 0 and p.dim() >= 2, factor(name)), []).append(p)
    out = []
    for (decay, f), params in sorted(groups.items(), key=lambda kv: (not kv[0][0], -kv[0][1])):
        group: dict[str, Any] = {"params": params, "weight_decay": weight_decay if decay else 0.0}
        if f != 1.0 and learning_rate is not None:
            group["lr"] = learning_rate * f
        out.append(group)
    return out
