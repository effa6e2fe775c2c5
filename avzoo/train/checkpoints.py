"""Resumable checkpoints of a training run: where they live, which one to resume, saving and resuming.

A checkpoint ``output_dir/checkpoints/step-00000120/`` holds ``accelerator.save_state`` (weights, optimizer,
scheduler, grad scaler, every process's RNG state) and ``trainer_state.json``, written last: a folder without
it is incomplete and never resumed from.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import warnings
from pathlib import Path
from typing import Any

from avzoo.train.state import _fire

CHECKPOINT_DIR = "checkpoints"
STATE_FILE = "trainer_state.json"
_CHECKPOINT_RE = re.compile(r"^step-(\d+)$")


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


def _read_jsonl(path: Path, max_step: int) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [line for line in lines if line.get("step", 0) <= max_step]


def _write_jsonl(path: Path, lines: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


class _CheckpointMixin:
    """Checkpoint and model-saving methods of the run in :mod:`avzoo.train.loop`."""

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


class KeepProcessor:
    """Loop callback: writes a recipe's processor next to every model the loop saves (``best/`` and ``final/``), so
    each saved folder loads with ``AutoProcessor`` too. Call :meth:`write` once more after training."""

    def __init__(self, processor: Any, output_dir: str | Path):
        self.processor, self.output_dir = processor, Path(output_dir)

    def write(self) -> None:
        if int(os.environ.get("RANK", "0")) != 0:
            return
        for name in ("best", "final"):
            folder = self.output_dir / name
            if (folder / "config.json").exists():
                self.processor.save_pretrained(folder)

    def on_evaluate(self, state: Any, metrics: Any) -> None:
        self.write()
