"""text-audio-emotion's release hooks (see :mod:`avzoo.release` for the order they run in)::

    avzoo release text-audio-emotion --model runs/tae/full/best --corpus runs/tae/data \\
        --train-dir runs/tae/full --train-dir runs/tae/concat --train-dir runs/tae/text_to_audio \\
        --hook-option concat=runs/tae/concat/best --hook-option text_to_audio=runs/tae/text_to_audio/best

* :func:`calibrate`: nothing to calibrate; records sizes, the fusion and the learned temperature;
* :func:`evaluate`: :func:`avzoo.evaluation.text_audio_emotion.run_evaluation` with the ablations in the same run,
  plus RAVDESS where ``../shared/data`` (or ``$AVZOO_SHARED_DATA``) has it;
* :func:`benchmark`: ``benchmarks/text_audio_emotion_speed.py`` (one thread; a 600 s input's memory);
* :func:`card_variables`: what ``templates/text-audio-emotion.md`` formats.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from avzoo.evaluation.text_audio_emotion import run_evaluation
from avzoo.release import checkout_script, read_json, run_script

CALIBRATION = "text_audio_emotion_calibration.json"
BENCHMARK = "text_audio_emotion_speed.json"
RUNS = "text_audio_emotion_training_runs.json"

#: The text encoder starts from text-vad, whose weights EmoBank's CC BY-SA 4.0 binds: so does this checkpoint's.
CARD_METADATA = {
    "license": "cc-by-sa-4.0",
    "language": ["en"],
    "tags": [
        "text-audio-emotion-classification",
        "emotion-recognition",
        "multimodal",
        "cross-modal-attention",
        "speech",
        "w2v-bert",
        "albert",
    ],
    "datasets": ["avzoo-synth", "JULIELab/EmoBank"],
}


def _read(path: Path) -> Any:
    return read_json(path, "text-audio-emotion")


def _ravdess_folder() -> Path | None:
    root = Path(os.environ.get("AVZOO_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
    folder = root / "real-speech" / "ravdess"
    return folder if folder.is_dir() else None


def calibrate(model: Any, processor: Any, corpus: str | Path) -> dict[str, Any]:
    """No calibrated setting: records what the card quotes about the model."""
    inner = getattr(model, "text_audio_emotion", model)
    return {
        "corpus": str(corpus),
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "text_encoder_parameters": int(sum(p.numel() for p in inner.text_encoder.parameters())),
        "audio_encoder_parameters": int(sum(p.numel() for p in inner.audio_encoder.parameters())),
        "fusion": model.config.fusion,
        "temperature": float(inner.temperature.detach()),
    }


def evaluate(
    bundle_dir: Path, corpus: str | Path, concat: str | None = None, text_to_audio: str | None = None
) -> Path:
    """The bundle scored on the dataset's test split (with the ablations) and RAVDESS into ``eval_results.json``."""
    out = Path(bundle_dir) / "eval_results.json"
    ablations = {k: v for k, v in (("concat", concat), ("text_to_audio", text_to_audio)) if v}
    run_evaluation(bundle_dir, corpus, out, ablations, _ravdess_folder())
    return out


def benchmark(bundle_dir: Path, results_dir: Path) -> Path:
    """``benchmarks/text_audio_emotion_speed.py --model <bundle>`` (a source checkout's script)."""
    script = checkout_script(
        Path(__file__).resolve().parents[2] / "benchmarks" / "text_audio_emotion_speed.py"
    )
    out = Path(results_dir) / BENCHMARK
    run_script(script, ["--model", bundle_dir, "--out", out])
    return out


def _runs(results_dir: Path, train_dirs: Sequence[str | Path]) -> list[dict[str, Any]]:
    """The training runs' settings, best validation and wall time, kept in ``RUNS``."""
    path = Path(results_dir) / RUNS
    if not train_dirs:
        return _read(path) if path.is_file() else []
    runs = []
    for folder in map(Path, train_dirs):
        config = json.loads((folder / "train_config.json").read_text())
        metrics = [json.loads(x) for x in (folder / "metrics.jsonl").read_text().splitlines() if x.strip()]
        evals = [m for m in metrics if "eval_accuracy" in m]
        logs = [json.loads(x) for x in (folder / "log.jsonl").read_text().splitlines() if x.strip()]
        runs.append(
            {
                "run": folder.name,
                "fusion": config.get("model", {}).get("fusion", "bidirectional"),
                "num_epochs": config.get("num_epochs"),
                "steps": max((m.get("step", 0) for m in logs), default=0),
                "batch_size": config.get("batch_size"),
                "learning_rate": config.get("learning_rate"),
                "best": max(evals, key=lambda m: m["eval_accuracy"]) if evals else {},
                "validation": evals,
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
    speed = bench["ms"]["model_5s_20tok"]
    bars.append(
        {"name": "speed_5s_20tokens_ms", "value": speed, "bar": bench["bar_ms"], "pass": bool(bench["pass"])}
    )
    return {
        **CARD_METADATA,
        "eval": extra,
        "bars": bars,
        "failing": [b["name"] for b in bars if not b["pass"]],
        "config": _read(bundle_dir / "config.json"),
        "processor": _read(bundle_dir / "processor_config.json"),
        "calibration": _read(results_dir / CALIBRATION),
        "bench": bench,
        "runs": _runs(results_dir, train_dirs),
    }


__all__ = ["CARD_METADATA", "benchmark", "calibrate", "card_variables", "evaluate"]
