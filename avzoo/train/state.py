"""What a recipe plugs into :func:`~avzoo.train.loop.train` and gets back.

:class:`TrainState` (where training stands; saved in every checkpoint), the :class:`Callback` hooks,
:class:`TrainResult`, and the signatures of ``compute_loss`` / ``compute_metrics``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from torch import nn

LossFn = Callable[[nn.Module, Any, "TrainState"], Any]
MetricsFn = Callable[[nn.Module, Any, "TrainState"], Mapping[str, Any]]


@dataclass
class TrainState:
    """Where training stands; saved in every checkpoint and handed to ``compute_loss`` and callbacks."""

    global_step: int = 0  # optimizer updates done
    epoch: int = 0  # index of the current epoch (= epochs completed)
    batch_in_epoch: int = 0  # batches of the current epoch this process has consumed
    total_steps: int = 0
    steps_per_epoch: int | None = None
    num_processes: int = 1
    best_metric: float | None = None
    best_step: int | None = None
    last_eval_step: int = -1
    last_save_step: int = -1
    training: bool = True  # False while validating (compute_loss can switch off warm-ups etc.)
    should_stop: bool = False  # a callback sets this to end training after the current step

    @property
    def epoch_float(self) -> float:
        """Epochs completed, with the fraction of the current one (for logs)."""
        if not self.steps_per_epoch:
            return float(self.epoch)
        done_in_epoch = self.global_step - self.epoch * self.steps_per_epoch
        return round(self.epoch + max(0, done_in_epoch) / self.steps_per_epoch, 4)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("training")
        out.pop("should_stop")
        return out


class Callback:
    """Hooks run on every process (so a stop decision based on gathered metrics is the same everywhere).

    Any object with some of these methods works; this class only documents them.
    """

    def on_train_begin(self, state: TrainState, accelerator: Accelerator) -> None: ...
    def on_step_end(self, state: TrainState) -> None: ...
    def on_log(self, state: TrainState, logs: dict[str, float]) -> None: ...
    def on_evaluate(self, state: TrainState, metrics: dict[str, float]) -> None: ...
    def on_save(self, state: TrainState, checkpoint_dir: Path) -> None: ...
    def on_epoch_end(self, state: TrainState) -> None: ...
    def on_train_end(self, state: TrainState, result: TrainResult) -> None: ...


@dataclass
class TrainResult:
    """What :func:`train` returns. ``history`` and ``eval_history`` include lines from before a resume."""

    model: nn.Module
    global_step: int
    epoch: float
    output_dir: Path
    final_dir: Path
    history: list[dict[str, Any]] = field(default_factory=list)
    eval_history: list[dict[str, Any]] = field(default_factory=list)
    best_metric: float | None = None
    best_step: int | None = None
    best_dir: Path | None = None
    resumed_from: Path | None = None

    @property
    def metrics(self) -> dict[str, Any]:
        """The last validation line (empty without an eval dataset)."""
        return self.eval_history[-1] if self.eval_history else {}


def _call_loss(
    fn: LossFn, model: nn.Module, batch: Any, state: TrainState
) -> tuple[torch.Tensor, dict[str, Any]]:
    out = fn(model, batch, state)
    logs: Mapping[str, Any] = {}
    if isinstance(out, tuple):
        if len(out) != 2 or not isinstance(out[1], Mapping):
            raise ValueError("compute_loss must return a loss tensor or a (loss, logs_dict) tuple")
        out, logs = out
    # validation accepts per-sample (B,) losses, which average exactly across processes
    allowed = (0,) if state.training else (0, 1)
    if not isinstance(out, torch.Tensor) or out.dim() not in allowed:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        what = "a scalar tensor" if state.training else "a scalar or per-sample (B,) tensor"
        raise ValueError(f"compute_loss must return {what}, got {shape}")
    return out, dict(logs)


def _fire(callbacks: Sequence[Any], hook: str, *args: Any) -> None:
    for callback in callbacks:
        method = getattr(callback, hook, None)
        if method is not None:
            method(*args)
