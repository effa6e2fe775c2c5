"""text-vad's release hooks (see :mod:`avzoo.release` for the order they run in).

``avzoo release text-vad --model runs/text-vad/student/final --corpus runs/text-vad/student`` (the corpus is the
training run's folder: its ``heldout.jsonl`` and ``teacher/report.json``):

* :func:`calibrate`: nothing to calibrate; records the vocabulary, the parameter count and the teacher's fit;
* :func:`evaluate`: :func:`avzoo.evaluation.text_vad.run_evaluation` on the run's held-out sentences;
* :func:`benchmark`: ``benchmarks/text_vad.py`` (student vs teacher: size, one-thread speed, EmoBank dev);
* :func:`card_variables`: what ``templates/text-vad.md`` formats.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from avzoo.evaluation.text_vad import run_evaluation
from avzoo.release import checkout_script, read_json, run_script

CALIBRATION = "text_vad_calibration.json"
BENCHMARK = "text_vad.json"
HELDOUT = "heldout.jsonl"

#: Card metadata (the YAML front matter). EmoBank's licence binds the weights: CC BY-SA 4.0.
CARD_METADATA = {
    "license": "cc-by-sa-4.0",
    "language": ["en"],
    "tags": [
        "text-to-vad",
        "valence-arousal-dominance",
        "emotion",
        "albert",
        "distillation",
        "facial-animation",
    ],
    "datasets": ["JULIELab/EmoBank", "avzoo-synth"],
    "base_model": "sentence-transformers/all-MiniLM-L6-v2",
}


def _read(path: Path) -> Any:
    return read_json(path, "text-vad")


def calibrate(model: Any, processor: Any, corpus: str | Path) -> dict[str, Any]:
    """No calibrated setting: the report records what the card quotes about the run (vocabulary, sizes, teacher)."""
    corpus = Path(corpus)
    if not (corpus / HELDOUT).is_file():
        raise ValueError(f"{corpus} has no {HELDOUT}: pass the text-vad training run's folder as --corpus")
    report_path = corpus / "teacher" / "report.json"
    teacher = json.loads(report_path.read_text()) if report_path.is_file() else {}
    return {
        "run": str(corpus.resolve()),
        "vocab_size": int(model.config.vocab_size),
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "teacher": teacher,
    }


def evaluate(bundle_dir: Path, corpus: str | Path) -> Path:
    """The bundle scored on the run's held-out sentences into its ``eval_results.json``."""
    out = Path(bundle_dir) / "eval_results.json"
    run_evaluation(Path(bundle_dir), Path(corpus) / HELDOUT, out)
    return out


def benchmark(bundle_dir: Path, results_dir: Path) -> Path:
    """``benchmarks/text_vad.py --model <bundle> --run <the run calibrate recorded>`` (a source checkout's script;
    needs the teacher extra)."""
    script = checkout_script(Path(__file__).resolve().parents[2] / "benchmarks" / "text_vad.py")
    run = _read(Path(results_dir) / CALIBRATION)["run"]
    out = Path(results_dir) / BENCHMARK
    run_script(script, ["--model", bundle_dir, "--run", run, "--out", out])
    return out


def card_variables(
    bundle_dir: Path, results_dir: Path, train_dirs: Sequence[str | Path] = ()
) -> dict[str, Any]:
    """Metadata, the evaluation, the benchmark, the calibration report and the bundle's config."""
    bundle_dir, results_dir = Path(bundle_dir), Path(results_dir)
    ev = _read(bundle_dir / "eval_results.json")
    extra = (ev[0] if isinstance(ev, list) else ev)["extra"]
    bars = []
    for name, bar in extra["bars"].items():
        if "pass" in bar:
            bars.append({"name": name, **bar})
        else:
            bars += [{"name": f"{name} ({d})", **b} for d, b in bar.items()]
    return {
        **CARD_METADATA,
        "eval": extra,
        "bars": bars,
        "failing": [b["name"] for b in bars if not b["pass"]],
        "config": _read(bundle_dir / "config.json"),
        "processor": _read(bundle_dir / "processor_config.json"),
        "calibration": _read(results_dir / CALIBRATION),
        "bench": _read(results_dir / BENCHMARK),
    }


__all__ = ["CARD_METADATA", "benchmark", "calibrate", "card_variables", "evaluate"]
