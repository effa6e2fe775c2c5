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

import fnmatch
import json
import math
import os
import re
import shutil
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from accelerate.utils import DistributedDataParallelKwargs, ProjectConfiguration, set_seed
from torch import nn
from torch.utils.data import DataLoader, IterableDataset

from avzoo.train.config import TrainConfig
from avzoo.train.data import BucketBatchSampler, SequenceCrop, sequence_lengths

CHECKPOINT_DIR = "checkpoints"
STATE_FILE = "trainer_state.json"
_CHECKPOINT_RE = re.compile(r"^step-(\d+)$")

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


class _Run:
    """One call of :func:`train`; split into methods only to keep each step readable."""

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
            _param_groups(self.trainable, config.weight_decay),
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

    # -- data --------------------------------------------------------------------------------------------
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

    # -- validation --------------------------------------------------------------------------------------
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

    # -- checkpoints ---------------------------------------------------------------------------------------
    def _save_checkpoint(self) -> Path:
        acc, state = self.acc, self.state
        path = self.output_dir / CHECKPOINT_DIR / f"step-{state.global_step:08d}"
        if acc.is_main_process and (path / STATE_FILE).exists():
            (path / STATE_FILE).unlink()  # the marker goes last; a stale one must not vouch for a new save
        acc.wait_for_everyone()
        acc.save_state(str(path))
        acc.wait_for_everyone()
        state.last_save_step = state.global_step
        if acc.is_main_process:
            payload = {"state": state.to_dict(), "config": self.config.to_dict(), "format": 1}
            tmp = path / (STATE_FILE + ".tmp")
            tmp.write_text(json.dumps(payload, indent=2) + "\n")
            os.replace(tmp, path / STATE_FILE)
            self._rotate_checkpoints(keep=path)
        acc.wait_for_everyone()
        _fire(self.callbacks, "on_save", state, path)
        return path

    def _rotate_checkpoints(self, keep: Path) -> None:
        if self.config.keep_last <= 0:
            return
        checkpoints = [p for _, p in list_checkpoints(self.output_dir, complete_only=False)]
        old = [p for p in checkpoints if p != keep][: max(0, len(checkpoints) - self.config.keep_last)]
        for path in old:
            shutil.rmtree(path, ignore_errors=True)

    def _maybe_resume(self) -> Path | None:
        acc, state = self.acc, self.state
        path = resolve_checkpoint(self.config.resume, self.output_dir)
        if path is None:
            if self.config.resume == "auto":
                acc.print(f"resume=auto: no checkpoint in {self.output_dir / CHECKPOINT_DIR}, starting fresh")
            elif list_checkpoints(self.output_dir, complete_only=False):
                warnings.warn(
                    f"{self.output_dir} holds checkpoints of an earlier run; this fresh run will add to and rotate "
                    "them (pass resume=auto to continue that run instead)",
                    stacklevel=3,
                )
            acc.wait_for_everyone()
            if acc.is_main_process:
                # a fresh run must not inherit log lines from an earlier run in the same folder
                for name in ("log.jsonl", "metrics.jsonl"):
                    (self.output_dir / name).unlink(missing_ok=True)
            return None
        acc.load_state(str(path))
        saved = json.loads((path / STATE_FILE).read_text())["state"]
        for key in ("global_step", "epoch", "batch_in_epoch", "best_metric", "best_step", "last_eval_step"):
            setattr(state, key, saved[key])
        state.last_save_step = saved["global_step"]
        if saved.get("num_processes", 1) != acc.num_processes:
            # batch_in_epoch counts batches per process; rescale to keep roughly the same samples seen
            state.batch_in_epoch = state.batch_in_epoch * saved["num_processes"] // acc.num_processes
            warnings.warn(
                f"resuming a {saved['num_processes']}-process checkpoint with {acc.num_processes} processes: "
                "the data order from here on differs from an uninterrupted run",
                stacklevel=3,
            )
        if self.steps_per_epoch is not None and state.batch_in_epoch >= len(self.train_loader):
            state.epoch += 1
            state.batch_in_epoch = 0
        if (self.output_dir / "best").is_dir() and state.best_step is not None:
            self.best_dir = self.output_dir / "best"
        # keep only log lines up to the checkpoint, so lines written after it are not duplicated
        self.history = _read_jsonl(self.output_dir / "log.jsonl", state.global_step)
        self.eval_history = _read_jsonl(self.output_dir / "metrics.jsonl", state.global_step)
        acc.wait_for_everyone()
        if acc.is_main_process:
            _write_jsonl(self.output_dir / "log.jsonl", self.history)
            _write_jsonl(self.output_dir / "metrics.jsonl", self.eval_history)
        acc.wait_for_everyone()
        acc.print(
            f"resumed from {path} at step {state.global_step} (epoch {state.epoch}, batch {state.batch_in_epoch})"
        )
        return path

    def _save_model(self, directory: Path) -> None:
        """Weights (safetensors) and, for transformers models, config.json — main process writes."""
        acc = self.acc
        acc.wait_for_everyone()
        state_dict = acc.get_state_dict(self.model)  # collective under FSDP/DeepSpeed: every process calls it
        if acc.is_main_process:
            if directory.exists():
                shutil.rmtree(directory)
            unwrapped = acc.unwrap_model(self.model)
            if hasattr(unwrapped, "save_pretrained"):
                unwrapped.save_pretrained(directory, state_dict=state_dict)
            else:
                directory.mkdir(parents=True, exist_ok=True)
                from safetensors.torch import save_model

                save_model(unwrapped, str(directory / "model.safetensors"))
        acc.wait_for_everyone()

    def _train_mode(self) -> None:
        self.model.train()
        if self.config.freeze_eval_mode:
            for module in self.acc.unwrap_model(self.model).modules():
                params = list(module.parameters())
                if params and not any(p.requires_grad for p in params):
                    module.eval()


# -- helpers -------------------------------------------------------------------------------------------------
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


def list_checkpoints(output_dir: str | Path, complete_only: bool = True) -> list[tuple[int, Path]]:
    """``(step, path)`` of the checkpoints in ``output_dir/checkpoints``, oldest first."""
    root = Path(output_dir) / CHECKPOINT_DIR
    if not root.is_dir():
        return []
    found = []
    for path in root.iterdir():
        match = _CHECKPOINT_RE.match(path.name)
        if match and path.is_dir() and (not complete_only or (path / STATE_FILE).is_file()):
            found.append((int(match.group(1)), path))
    return sorted(found)


def resolve_checkpoint(resume: str | None, output_dir: str | Path) -> Path | None:
    """The checkpoint folder ``resume`` points at: ``"auto"`` → latest complete one in ``output_dir`` (or None)."""
    if resume is None or str(resume).strip().lower() in ("", "none", "no", "false"):
        return None
    if resume == "auto":
        found = list_checkpoints(output_dir)
        return found[-1][1] if found else None
    path = Path(resume)
    if (path / STATE_FILE).is_file():
        return path
    found = list_checkpoints(path)
    if found:
        return found[-1][1]
    raise ValueError(
        f"resume={resume!r} is neither a checkpoint folder (with {STATE_FILE}) nor a run folder with complete "
        f"checkpoints; use resume=auto to continue from output_dir when possible"
    )


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


def _has_len(obj: Any) -> bool:
    try:
        len(obj)
    except TypeError:
        return False
    return True


def _fire(callbacks: Sequence[Any], hook: str, *args: Any) -> None:
    for callback in callbacks:
        method = getattr(callback, hook, None)
        if method is not None:
            method(*args)


def _read_jsonl(path: Path, max_step: int) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [line for line in lines if line.get("step", 0) <= max_step]


def _write_jsonl(path: Path, lines: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def _flat_config(config: TrainConfig) -> dict[str, Any]:
    """Tracker-friendly config (scalars only)."""
    out = {}
    for key, value in config.to_dict().items():
        out[key] = value if isinstance(value, (int, float, str, bool)) or value is None else str(value)
    return out
