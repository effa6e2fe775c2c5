"""The shared training loop every avzoo recipe uses, built on ``accelerate.Accelerator``.

The same call runs on one CPU and, unchanged, under ``accelerate launch`` on many GPUs or nodes: the
accelerator places the model, shards the data loaders, syncs gradients and gathers metrics; only the main
process writes files. Checkpoints (``accelerator.save_state``) hold weights, optimizer, scheduler, grad scaler
and every process's RNG state, plus ``trainer_state.json`` with the step and the position inside the epoch,
so a resumed run skips the batches it already saw (``skip_first_batches``) and reproduces an uninterrupted
run exactly on the same hardware.

Output folder layout::

    output_dir/
      train_config.json           the config this run started with
      log.jsonl                   training loss, lr, grad norm every ``log_every`` steps
      metrics.jsonl               one line per validation
      checkpoints/step-00000120/  resumable state (the last ``keep_last`` are kept)
      best/                       the best model by ``metric_for_best`` (if set)
      final/                      the final model (``save_pretrained``, safetensors)
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from accelerate.utils import DistributedDataParallelKwargs, ProjectConfiguration, set_seed
from torch import nn

from avzoo.train.checkpoints import (
    CHECKPOINT_DIR,
    STATE_FILE,
    _CheckpointMixin,
    list_checkpoints,
    resolve_checkpoint,
)
from avzoo.train.config import TrainConfig
from avzoo.train.loaders import _has_len, _LoaderMixin
from avzoo.train.params import _param_groups, select_trainable
from avzoo.train.state import Callback, LossFn, MetricsFn, TrainResult, TrainState, _call_loss, _fire
from avzoo.train.validation import _ValidationMixin

__all__ = [
    "CHECKPOINT_DIR",
    "STATE_FILE",
    "Callback",
    "LossFn",
    "MetricsFn",
    "TrainResult",
    "TrainState",
    "default_compute_loss",
    "list_checkpoints",
    "resolve_checkpoint",
    "select_trainable",
    "train",
]


def default_compute_loss(model: nn.Module, batch: Any, state: TrainState) -> torch.Tensor:
    """Call the model on the batch (``**batch`` for a mapping) and return ``outputs.loss``."""
    if isinstance(batch, Mapping):
        outputs = model(**batch)
    elif isinstance(batch, (tuple, list)):
        outputs = model(*batch)
    else:
        outputs = model(batch)
    if isinstance(outputs, Mapping):
        loss = outputs.get("loss")
    elif isinstance(outputs, torch.Tensor):
        loss = outputs if outputs.dim() == 0 else None  # a model that returns its loss directly
    else:
        loss = getattr(outputs, "loss", None)
    if loss is None:
        raise ValueError(
            "the model returned no loss (pass labels the model understands, or give train() a compute_loss)"
        )
    return loss


def train(
    model: nn.Module,
    train_dataset: Any,
    eval_dataset: Any = None,
    config: TrainConfig | None = None,
    collate_fn: Callable[[list[Any]], Any] | None = None,
    compute_loss: LossFn | None = None,
    compute_metrics: MetricsFn | None = None,
    trainable_filter: Callable[[str, nn.Parameter], bool] | str | Sequence[str] | None = None,
    callbacks: Sequence[Any] | None = None,
    *,
    train_lengths: Sequence[int] | None = None,
) -> TrainResult:
    """Train ``model`` on ``train_dataset``, validating on ``eval_dataset``; see the module docstring.

    - Datasets: a ``datasets.Dataset`` (use ``.with_format("torch")``), any map-style torch dataset, or an
      ``IterableDataset`` (then one epoch = one pass, and ``max_steps`` is needed if it has no length).
    - ``compute_loss(model, batch, state)`` returns the loss, or ``(loss, logs)`` with a dict of extra
      scalars to log and to average in validation. Default: ``model(**batch).loss``.
    - ``compute_metrics(model, batch, state)`` returns extra validation values: scalars (batch means) or
      per-sample ``(B,)`` tensors; every value is averaged over all validation samples of all processes and
      logged as ``eval_<name>`` next to ``eval_loss``.
    - ``trainable_filter`` chooses what trains: ``f(name, param) -> bool`` or glob patterns on parameter
      names (``"expression.*"``); the rest gets ``requires_grad=False`` and stays out of the optimizer.
      Without it the model's own ``requires_grad`` flags are used.
    - ``train_lengths`` (per-item lengths) turns on length-bucketed batches; so does
      ``config.group_by_length`` with ``config.length_column``.
    - A dataset with ``set_epoch(epoch)`` (e.g. :class:`~avzoo.train.data.SequenceCrop`, a dynamic mixer)
      is told the epoch before each pass; it must draw its randomness from that, not from global RNG, for a
      resumed run to repeat an uninterrupted one.

    Validation under several processes: accelerate pads the last batch with repeated samples and
    ``gather_for_metrics`` drops their values, which is exact for per-sample values; a scalar batch mean
    from that last batch still includes the repeats. Return per-sample values (e.g.
    ``masked_l1(..., reduction="none")`` when ``not state.training``) where exact numbers matter.
    Mixed precision is fixed per process by accelerate: later ``train()`` calls in the same process must
    use the same ``mixed_precision``.
    """
    config = config if config is not None else TrainConfig()
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    callbacks = list(callbacks or [])
    compute_loss = compute_loss or default_compute_loss
    output_dir = Path(config.output_dir)

    accelerator = Accelerator(
        mixed_precision=config.mixed_precision,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        cpu=config.cpu,
        log_with=list(config.log_with) or None,
        project_config=ProjectConfiguration(
            project_dir=str(output_dir), logging_dir=str(output_dir / "logs")
        ),
        # the loop steps the scheduler once per optimizer update itself, whatever the process count
        step_scheduler_with_optimizer=False,
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=config.find_unused_parameters)],
    )
    try:
        return _Run(
            accelerator, model, train_dataset, eval_dataset, config, collate_fn, compute_loss, compute_metrics,
            trainable_filter, callbacks, train_lengths,
        ).run()  # fmt: skip
    finally:
        # not accelerator.end_training(): it destroys the process group, and a recipe may call train()
        # again in the same launched process (phase 2 after phase 1)
        for tracker in accelerator.trackers:
            tracker.finish()
        if accelerator.device.type != "cpu":  # hand cached device memory back before a next phase
            accelerator.free_memory()


class _Run(_LoaderMixin, _ValidationMixin, _CheckpointMixin):
    """One call of :func:`train`; split into methods only to keep each step readable.

    The data-loader, validation and checkpoint methods live in :mod:`avzoo.train.loaders`,
    :mod:`avzoo.train.validation` and :mod:`avzoo.train.checkpoints`.
    """

    def __init__(
        self,
        accelerator: Accelerator,
        model: nn.Module,
        train_dataset: Any,
        eval_dataset: Any,
        config: TrainConfig,
        collate_fn: Callable | None,
        compute_loss: LossFn,
        compute_metrics: MetricsFn | None,
        trainable_filter: Any,
        callbacks: list[Any],
        train_lengths: Sequence[int] | None,
    ) -> None:
        self.acc = accelerator
        self.config = config
        self.compute_loss = compute_loss
        self.compute_metrics = compute_metrics
        self.callbacks = callbacks
        self.output_dir = Path(config.output_dir)
        self.train_dataset = train_dataset
        self.history: list[dict[str, Any]] = []
        self.eval_history: list[dict[str, Any]] = []
        self.best_dir: Path | None = None

        set_seed(config.seed)
        self.trainable = select_trainable(model, trainable_filter)
        if not self.trainable:
            raise ValueError(
                "no trainable parameters: trainable_filter (or requires_grad flags) froze everything"
            )
        optimizer = torch.optim.AdamW(
            _param_groups(self.trainable, config.weight_decay, config.learning_rate, config.lr_multipliers),
            lr=config.learning_rate,
            betas=(config.adam_beta1, config.adam_beta2),
            eps=config.adam_epsilon,
        )
        # Loaders own their generators (reseeded per epoch) so that loading never draws from the global RNG:
        # dropout then sees the same random stream in a resumed run as in an uninterrupted one.
        self.train_generator = torch.Generator()
        self.eval_generator = torch.Generator()
        train_loader, self.sampler = self._train_loader(train_dataset, collate_fn, train_lengths)
        self.model, self.optimizer, self.train_loader = accelerator.prepare(model, optimizer, train_loader)
        self.eval_loader = None
        if eval_dataset is not None:
            self.eval_loader = accelerator.prepare(self._eval_loader(eval_dataset, collate_fn))

        self.state = TrainState(num_processes=accelerator.num_processes)
        self.steps_per_epoch = None
        if _has_len(self.train_loader):
            if len(self.train_loader) == 0:
                raise ValueError(
                    "the training data loader has no batches (empty dataset, or drop_last with too few items)"
                )
            self.steps_per_epoch = math.ceil(len(self.train_loader) / config.gradient_accumulation_steps)
        if config.max_steps > 0:
            total = config.max_steps
        elif self.steps_per_epoch is not None:
            total = config.num_epochs * self.steps_per_epoch
        else:
            raise ValueError("the training dataset has no length: set max_steps > 0 to say how long to train")
        self.state.total_steps = total
        self.state.steps_per_epoch = self.steps_per_epoch
        warmup = config.warmup_steps or math.ceil(config.warmup_ratio * total)
        from transformers import get_scheduler

        scheduler = get_scheduler(
            config.lr_scheduler, self.optimizer.optimizer, num_warmup_steps=warmup, num_training_steps=total
        )
        self.scheduler = accelerator.prepare(scheduler)

    # -- main loop ---------------------------------------------------------------------------------------
    def run(self) -> TrainResult:
        acc, config, state = self.acc, self.config, self.state
        resumed_from = self._maybe_resume()
        if acc.is_main_process:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            config.save(self.output_dir / "train_config.json")
        if config.log_with:
            acc.init_trackers(self.output_dir.name or "avzoo", config=_flat_config(config))
        self._train_mode()
        _fire(self.callbacks, "on_train_begin", state, acc)

        from tqdm.auto import tqdm

        progress = tqdm(
            total=state.total_steps,
            initial=min(state.global_step, state.total_steps),
            desc="train",
            disable=not (config.progress and acc.is_local_main_process),
            dynamic_ncols=True,
        )
        self._running: dict[str, list[torch.Tensor]] = {}
        self._grad_norm: torch.Tensor | None = None
        max_epochs = None if config.max_steps > 0 else config.num_epochs

        while state.global_step < state.total_steps and not state.should_stop:
            if max_epochs is not None and state.epoch >= max_epochs:
                break
            finished_epoch = self._run_epoch(progress)
            if finished_epoch:
                self._end_epoch()
        progress.close()

        if self.eval_loader is not None and state.last_eval_step != state.global_step:
            self._evaluate()
        if (config.save_every or config.save_each_epoch) and state.last_save_step != state.global_step:
            self._save_checkpoint()
        final_dir = self.output_dir / "final"
        self._save_model(final_dir)
        result = TrainResult(
            model=acc.unwrap_model(self.model, keep_fp32_wrapper=False),
            global_step=state.global_step,
            epoch=state.epoch_float,
            output_dir=self.output_dir,
            final_dir=final_dir,
            history=self.history,
            eval_history=self.eval_history,
            best_metric=state.best_metric,
            best_step=state.best_step,
            best_dir=self.best_dir,
            resumed_from=resumed_from,
        )
        _fire(self.callbacks, "on_train_end", state, result)
        return result

    def _run_epoch(self, progress) -> bool:
        """Run (the rest of) the current epoch; True if it reached the end of the data."""
        acc, config, state = self.acc, self.config, self.state
        self._set_epoch(state.epoch)
        loader = self.train_loader
        if state.batch_in_epoch > 0:
            loader = acc.skip_first_batches(self.train_loader, state.batch_in_epoch)
        seen = 0
        for batch in loader:
            seen += 1
            with acc.accumulate(self.model):
                loss, logs = _call_loss(self.compute_loss, self.model, batch, state)
                acc.backward(loss)
                if acc.sync_gradients and config.max_grad_norm > 0:
                    # kept as a tensor: converting here would sync the device every step
                    self._grad_norm = acc.clip_grad_norm_(
                        [p for _, p in self.trainable], config.max_grad_norm
                    )
                self.optimizer.step()
                if acc.sync_gradients and not acc.optimizer_step_was_skipped:
                    self.scheduler.step()
                self.optimizer.zero_grad(set_to_none=True)
            state.batch_in_epoch += 1
            self._accumulate_logs(loss, logs)
            if not acc.sync_gradients:
                continue
            state.global_step += 1
            progress.update(1)
            end_of_epoch = acc.gradient_state.end_of_dataloader
            done = state.global_step >= state.total_steps
            if (config.log_every and state.global_step % config.log_every == 0) or done or end_of_epoch:
                self._log(progress)
            _fire(self.callbacks, "on_step_end", state)
            done = done or state.should_stop
            # at an epoch end, the epoch-end validation and checkpoint cover this step
            eval_due = config.eval_every and state.global_step % config.eval_every == 0
            if eval_due and self.eval_loader is not None and not (end_of_epoch and config.eval_each_epoch):
                self._evaluate()
            if (
                config.save_every
                and state.global_step % config.save_every == 0
                and not (end_of_epoch or done)
            ):
                self._save_checkpoint()
            if done and not end_of_epoch:
                return False
        if seen == 0 and state.batch_in_epoch == 0:
            raise ValueError(f"the training data produced no batches in epoch {state.epoch}")
        return True

    def _end_epoch(self) -> None:
        config, state = self.config, self.state
        state.epoch += 1
        state.batch_in_epoch = 0
        if self.eval_loader is not None and config.eval_each_epoch:
            self._evaluate()
        pending = (
            config.save_every
            and state.global_step // config.save_every > state.last_save_step // config.save_every
        )
        if config.save_each_epoch or pending:
            self._save_checkpoint()
        _fire(self.callbacks, "on_epoch_end", state)

    # -- logging -----------------------------------------------------------------------------------------
    def _accumulate_logs(self, loss: torch.Tensor, logs: Mapping[str, Any]) -> None:
        self._running.setdefault("loss", []).append(loss.detach().float())
        for key, value in logs.items():
            value = torch.as_tensor(value, device=loss.device).detach().float()
            self._running.setdefault(key, []).append(value.mean() if value.dim() else value)

    def _log(self, progress) -> dict[str, Any]:
        acc, state = self.acc, self.state
        if not self._running:
            return {}
        keys = sorted(self._running)
        means = torch.stack([torch.stack(self._running[k]).mean() for k in keys])
        means = acc.reduce(means, reduction="mean").tolist()
        self._running = {}
        line: dict[str, Any] = {"step": state.global_step, "epoch": state.epoch_float}
        line.update({k: float(v) for k, v in zip(keys, means, strict=True)})
        line["lr"] = float(self.scheduler.get_last_lr()[0])
        if self._grad_norm is not None:
            line["grad_norm"] = float(self._grad_norm)
        if not math.isfinite(line["loss"]):
            raise RuntimeError(
                f"training diverged: loss is {line['loss']} at step {state.global_step}; "
                "lower learning_rate, keep max_grad_norm > 0, or check the data for NaN/inf"
            )
        self.history.append(line)
        self._append_jsonl("log.jsonl", line)
        if self.config.log_with:
            acc.log({f"train/{k}": v for k, v in line.items() if k != "step"}, step=state.global_step)
        progress.set_postfix(loss=f"{line['loss']:.4g}", lr=f"{line['lr']:.3g}", refresh=False)
        _fire(self.callbacks, "on_log", state, line)
        return line

    def _append_jsonl(self, name: str, line: Mapping[str, Any]) -> None:
        if self.acc.is_main_process:
            with open(self.output_dir / name, "a") as f:
                f.write(json.dumps(line) + "\n")

    def _train_mode(self) -> None:
        self.model.train()
        if self.config.freeze_eval_mode:
            for module in self.acc.unwrap_model(self.model).modules():
                params = list(module.parameters())
                if params and not any(p.requires_grad for p in params):
                    module.eval()


def _flat_config(config: TrainConfig) -> dict[str, Any]:
    """Tracker-friendly config (scalars only)."""
    out = {}
    for key, value in config.to_dict().items():
        out[key] = value if isinstance(value, (int, float, str, bool)) or value is None else str(value)
    return out
