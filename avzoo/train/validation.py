"""Validation inside a training run: averaged over every sample of every process, and best-model tracking."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from avzoo.train.state import _call_loss, _fire


class _ValidationMixin:
    """Validation methods of the run in :mod:`avzoo.train.loop` (uses its ``acc``, ``state``, loaders)."""

    def _evaluate(self) -> dict[str, Any]:
        acc, state = self.acc, self.state
        self.model.eval()
        state.training = False
        self.eval_generator.manual_seed(self.config.seed)
        totals: dict[str, float] = {}
        count = 0
        with torch.no_grad():
            for batch in self.eval_loader:
                size = _batch_size(batch)
                loss, logs = _call_loss(self.compute_loss, self.model, batch, state)
                values: dict[str, Any] = {"loss": loss, **logs}
                if self.compute_metrics is not None:
                    values.update(self.compute_metrics(self.model, batch, state))
                per_sample = {k: _per_sample(v, size, k, acc.device) for k, v in values.items()}
                gathered = acc.gather_for_metrics(per_sample)
                for key, value in gathered.items():
                    totals[key] = totals.get(key, 0.0) + float(value.double().sum())
                count += int(next(iter(gathered.values())).shape[0])
        state.training = True
        self._train_mode()
        if count == 0:
            raise ValueError("the validation data produced no batches")
        line: dict[str, Any] = {"step": state.global_step, "epoch": state.epoch_float}
        line.update({f"eval_{k}": v / count for k, v in totals.items()})
        line["eval_samples"] = count
        state.last_eval_step = state.global_step
        self.eval_history.append(line)
        self._append_jsonl("metrics.jsonl", line)
        if self.config.log_with:
            acc.log(
                {k.replace("eval_", "eval/", 1): v for k, v in line.items() if k != "step"},
                step=state.global_step,
            )
        shown = ", ".join(
            f"{k}={v:.5g}" for k, v in line.items() if k.startswith("eval_") and k != "eval_samples"
        )
        acc.print(f"[step {state.global_step} | epoch {state.epoch_float:g}] {shown}")
        self._track_best(line)
        _fire(self.callbacks, "on_evaluate", state, line)
        return line

    def _track_best(self, line: Mapping[str, Any]) -> None:
        name = self.config.metric_for_best
        if not name:
            return
        key = name if name in line else f"eval_{name}"
        if key not in line:
            raise ValueError(f"metric_for_best={name!r} is not among the validation values {sorted(line)}")
        value = float(line[key])
        best = self.state.best_metric
        better = best is None or (value > best if self.config.greater_is_better else value < best)
        if better:
            self.state.best_metric = value
            self.state.best_step = self.state.global_step
            self.best_dir = self.output_dir / "best"
            self._save_model(self.best_dir)


def _per_sample(value: Any, size: int, key: str, device: torch.device) -> torch.Tensor:
    value = torch.as_tensor(value, device=device).detach().float()
    if value.dim() == 0:
        return value.expand(size).contiguous()
    if value.shape == (size,):
        return value
    raise ValueError(
        f"validation value {key!r} has shape {tuple(value.shape)}; return a scalar or one value per sample ({size},)"
    )


def _batch_size(batch: Any) -> int:
    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0])
    if isinstance(batch, Mapping):
        items = list(batch.values())
    elif isinstance(batch, (list, tuple)):
        items = list(batch)
    else:
        raise ValueError(f"cannot tell the batch size of a {type(batch).__name__}")
    for item in items:
        if isinstance(item, torch.Tensor) and item.dim() > 0:
            return int(item.shape[0])
    for item in items:
        if isinstance(item, (list, tuple)):
            return len(item)
    raise ValueError("cannot tell the batch size: the batch holds no tensor with a batch axis")
