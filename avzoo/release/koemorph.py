"""koemorph's release hooks (see :mod:`avzoo.release` for the order they run in)::

    avzoo release koemorph --model runs/koemorph/dual/best --corpus runs/corpus-v2-full \\
        --train-dir runs/koemorph/dual --train-dir runs/koemorph/mel-only \\
        --hook-option ablation=runs/koemorph/mel-only/best

* :func:`calibrate`: nothing to calibrate (no mouth filter); records sizes and the information balance;
* :func:`evaluate`: :func:`avzoo.evaluation.koemorph.run_evaluation` with the mel-only ablation and av-lipsync in the
  same run, plus RAVDESS and the t2a takes where ``../shared/data`` is present;
* :func:`benchmark`: ``benchmarks/koemorph_speed.py`` (end-to-end RTF on one thread, peak memory on 10 minutes);
* :func:`card_variables`: what ``templates/koemorph.md`` formats.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from avzoo.evaluation.koemorph import information_balance, run_evaluation
from avzoo.evaluation.report import write_json
from avzoo.release import checkout_script, read_json, run_script

CALIBRATION = "koemorph_calibration.json"
BENCHMARK = "koemorph_speed.json"
RUNS = "koemorph_training_runs.json"

CARD_METADATA = {
    "license": "apache-2.0",
    "language": ["en"],
    "tags": [
        "audio-to-blendshapes",
        "arkit",
        "blendshapes",
        "lipsync",
        "facial-animation",
        "egemaps",
        "avatar",
    ],
    "datasets": ["avzoo-synth", "openslr/librispeech_asr"],
}


def _read(path: Path) -> Any:
    return read_json(path, "koemorph")


def calibrate(model: Any, processor: Any, corpus: str | Path) -> dict[str, Any]:
    """No calibrated setting (koemorph has no mouth filter): records what the card quotes about the model."""
    return {
        "corpus": str(corpus),
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "information_balance": information_balance(model.config),
        "stream_weights": [float(w) for w in model.stream_weights().detach()],
    }


def evaluate(bundle_dir: Path, corpus: str | Path, ablation: str | None = None) -> Path:
    """The bundle scored on the corpus' test split (with the ablation and av-lipsync) into ``eval_results.json``."""
    out = Path(bundle_dir) / "eval_results.json"
    args = argparse.Namespace(
        model=str(bundle_dir),
        ablation=ablation,
        reference="avzoo/av-lipsync",
        corpus=str(corpus),
        shared_data=None,
        no_real=False,
        no_baselines=False,
        limit=0,
        batch_size=8,
    )
    args.command = f"avzoo release koemorph --corpus {corpus}" + (
        f" --hook-option ablation={ablation}" if ablation else ""
    )
    write_json(run_evaluation(args), out)
    return out


def benchmark(bundle_dir: Path, results_dir: Path) -> Path:
    """``benchmarks/koemorph_speed.py --model <bundle>`` (a source checkout's script)."""
    script = checkout_script(Path(__file__).resolve().parents[2] / "benchmarks" / "koemorph_speed.py")
    out = Path(results_dir) / BENCHMARK
    run_script(script, ["--model", bundle_dir, "--out", out])
    return out


def _wall_seconds(folder: Path) -> float | None:
    final = folder / "final" / "model.safetensors"
    start = folder / "train_config.json"
    return final.stat().st_mtime - start.stat().st_mtime if final.is_file() and start.is_file() else None


def _runs(results_dir: Path, train_dirs: Sequence[str | Path]) -> list[dict[str, Any]]:
    """The training runs' settings and final validation, recorded in ``koemorph_training_runs.json``."""
    path = Path(results_dir) / RUNS
    if not train_dirs:
        return _read(path) if path.is_file() else []
    runs = []
    for folder in map(Path, train_dirs):
        config = json.loads((folder / "train_config.json").read_text())
        metrics = [
            json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines() if line.strip()
        ]
        evals = [m for m in metrics if "eval_loss" in m]
        best = min(evals, key=lambda m: m["eval_loss"]) if evals else {}
        runs.append(
            {
                "run": folder.name,
                "model": config.get("model", {}),
                "max_steps": config.get("max_steps"),
                "batch_size": config.get("batch_size"),
                "learning_rate": config.get("learning_rate"),
                "best": best,
                # Wall clock from the run's start (its config file) to its final weights, features step excluded.
                "wall_seconds": _wall_seconds(folder),
            }
        )
    path.write_text(json.dumps(runs, indent=2) + "\n")
    return runs


def card_variables(
    bundle_dir: Path, results_dir: Path, train_dirs: Sequence[str | Path] = ()
) -> dict[str, Any]:
    """Metadata, the evaluation, the benchmark, the calibration report, the runs and the bundle's config."""
    bundle_dir, results_dir = Path(bundle_dir), Path(results_dir)
    ev = _read(bundle_dir / "eval_results.json")
    extra = (ev[0] if isinstance(ev, list) else ev)["extra"]
    bars = [{"name": name, **bar} for name, bar in extra["bars"].items()]
    bench = _read(results_dir / BENCHMARK)
    return {
        **CARD_METADATA,
        "eval": extra,
        "systems": extra["synthetic"]["systems"],
        "bars": bars,
        "failing": [b["name"] for b in bars if not b["pass"]],
        "config": _read(bundle_dir / "config.json"),
        "calibration": _read(results_dir / CALIBRATION),
        "bench": bench,
        "runs": _runs(results_dir, train_dirs),
    }


__all__ = ["CARD_METADATA", "benchmark", "calibrate", "card_variables", "evaluate"]
