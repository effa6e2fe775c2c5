"""av-lipsync's release hooks (see :mod:`avzoo.release` for the order they run in).

* :func:`calibrate`: on the corpus' validation split, the lip-seal head's lip-press floor (``model.config.
  lip_seal_floor``), then the crisp_mouth filter on the model's own predictions (:mod:`.crisp_mouth_calibration`;
  validation calibrates, the test split scores) into the processor's ``crisp_mouth_offline`` /
  ``crisp_mouth_stream``;
* :func:`evaluate`: :func:`avzoo.evaluation.av_lipsync.run_evaluation` on the test split, with the real-voice
  report, into the bundle's ``eval_results.json``;
* :func:`benchmark`: ``benchmarks/av_lipsync_speed.py --model <bundle>`` (a source checkout's script);
* :func:`card_variables`: the data the card template (``templates/av-lipsync.md``) formats: evaluation, calibration,
  speed, label-ceiling and training-run JSON. With no training folders (the runs are gone) the runs come from
  ``benchmarks/results/av_lipsync_training_runs.json``, which a release with ``train_dirs`` rewrites.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from avzoo.pretrained import ROOT as PRETRAINED_ROOT
from avzoo.release import checkout_script, read_json, run_script

#: Lip-press floors the seal head is tried with on validation.
SEAL_FLOORS = (0.25, 0.3, 0.35, 0.4, 0.45, 0.5)
#: The channels the floor applies to.
PRESS = ("mouthPressLeft", "mouthPressRight")
#: Utterances of each split the crisp_mouth calibration uses (validation calibrates, test scores).
CRISP_UTTERANCES = 150
#: Identification delay of the causal label-ceiling row the card quotes.
CEILING_DELAY_S = 0.02
TRAINING_RUNS = "av_lipsync_training_runs.json"
CALIBRATION = "av_lipsync_calibration.json"
SPEED = "av_lipsync_speed.json"
CEILING = "lipsync_label_ceiling.json"

#: Card metadata (the YAML front matter); the card's text is the template.
CARD_METADATA = {
    "license": "apache-2.0",
    "language": ["en"],
    "tags": ["audio-to-blendshapes", "lipsync", "arkit", "facial-animation", "streaming", "onnx"],
    "datasets": ["avzoo-synth", "librispeech_asr"],
}


# --- calibrate ----------------------------------------------------------------------------------------------------


def seal_floor_objective(scores: Mapping[str, Any]) -> float:
    """Closure accuracy minus three times the false-closure rate: more /p b m/ closures must not be bought with
    closures elsewhere (the crisp_mouth calibration weighs a false closure the same way)."""
    return scores["lip_closure_accuracy"] - 3 * (1 - scores["lip_open_accuracy"])


def _streaming(model: Any) -> str | None:
    """The mode the release calibrates on: streaming (the seal floor and the filters serve both modes; the streaming
    output is what the stream filter sees and the harder case for the seal)."""
    from avzoo.evaluation.av_lipsync import has_offline_mode

    return "streaming" if has_offline_mode(model) else None


def calibrate_seal_floor(model: Any, processor: Any, rows: list[dict]) -> tuple[dict, list[Any]]:
    """Pick the seal head's lip-press floor on ``rows``; sets ``model.config.lip_seal_floor``.

    Returns the JSON-able report (``chosen``, ``trials``) and the raw predictions with the chosen floor.
    """
    from avzoo.evaluation.av_lipsync import predict_rows, score_rows

    trials, predictions = [], {}
    for floor in SEAL_FLOORS:
        model.config.lip_seal_floor = dict.fromkeys(PRESS, floor)
        predictions[floor] = predict_rows(model, processor, rows, mode=_streaming(model))
        m = score_rows(predictions[floor], rows)
        keys = ("lipsync_mae", "lip_closure_accuracy", "lip_open_accuracy")
        trials.append({"floor": floor, "objective": seal_floor_objective(m), **{k: m[k] for k in keys}})
        print(trials[-1], flush=True)
    best = max(trials, key=lambda t: (round(t["objective"], 4), -t["floor"]))
    model.config.lip_seal_floor = dict.fromkeys(PRESS, best["floor"])
    report = {"split": "validation", "utterances": len(rows), "chosen": best["floor"], "trials": trials}
    return report, predictions[best["floor"]]


def calibrate(model: Any, processor: Any, corpus: str | Path) -> dict[str, Any]:
    """Lip-seal floor, then crisp_mouth, on ``corpus`` (validation calibrates, test scores the filter).

    Sets ``model.config.lip_seal_floor`` (when the model has the seal head) and the processor's
    ``crisp_mouth_offline`` / ``crisp_mouth_stream``. Returns ``{"lip_seal_floor": report | None,
    "crisp_mouth": report}``.
    """
    from avzoo.evaluation.av_lipsync import load_test_rows, predict_rows
    from avzoo.release.crisp_mouth_calibration import calibrate_crisp_mouth, processor_settings
    from avzoo.synth.corpus import load_corpus

    splits = load_corpus(str(corpus))
    for split in ("validation", "test"):
        if split not in splits or len(splits[split]) == 0:
            raise ValueError(
                f"corpus {corpus} has no {split!r} split; the release calibrates and scores on both"
            )
    fps = float(processor.fps)
    validation = load_test_rows(splits["validation"], fps)
    seal = None
    if model.config.lip_seal:
        seal, val_preds = calibrate_seal_floor(model, processor, validation)
    else:
        val_preds = predict_rows(model, processor, validation, mode=_streaming(model))
    test_split = splits["test"].select(range(min(CRISP_UTTERANCES, len(splits["test"]))))
    test = load_test_rows(test_split, fps)
    test_preds = predict_rows(model, processor, test, mode=_streaming(model))
    cal = validation[:CRISP_UTTERANCES]
    crisp = calibrate_crisp_mouth(
        val_preds[:CRISP_UTTERANCES],
        [r["reference"] for r in cal],
        test_preds,
        [r["reference"] for r in test],
    )
    crisp = {
        "data": {
            "calibration": len(cal),
            "held_out": len(test),
            "frames_held_out": int(sum(len(r["reference"]) for r in test)),
            "predictions": f"the model with the chosen lip-seal floor on {corpus}",
        },
        **crisp,
    }
    processor.crisp_mouth_offline, processor.crisp_mouth_stream = processor_settings(crisp)
    return {"lip_seal_floor": seal, "crisp_mouth": crisp}


# --- evaluate, benchmark --------------------------------------------------------------------------------------------


def evaluate(bundle_dir: Path, corpus: str | Path) -> Path:
    """``run_evaluation`` of the bundle on the corpus' test split (+ real voices) into its ``eval_results.json``."""
    from avzoo.evaluation.av_lipsync import run_evaluation

    out = Path(bundle_dir) / "eval_results.json"
    run_evaluation(Path(bundle_dir), corpus, out, real_voices=True)
    return out


def benchmark(bundle_dir: Path, results_dir: Path) -> Path:
    """The speed benchmark of the bundle (``benchmarks/av_lipsync_speed.py``, next to ``results_dir``)."""
    script = checkout_script(Path(results_dir).parent / "av_lipsync_speed.py", "the speed benchmark")
    out = Path(results_dir) / SPEED
    run_script(script, ["--model", bundle_dir, "--out", out])
    return out


# --- card -------------------------------------------------------------------------------------------------------------


def _read(path: Path) -> Any:
    return read_json(path, "av-lipsync")


def training_run(folder: Path) -> dict[str, Any]:
    """One training output folder (``train_config.json``, ``metrics.jsonl``) as the card's run record."""
    folder = Path(folder)
    tc = json.loads((folder / "train_config.json").read_text())
    metrics = folder / "metrics.jsonl"
    evals = (
        [json.loads(x) for x in metrics.read_text().splitlines() if x.strip()] if metrics.is_file() else []
    )
    start = (folder / "train_config.json").stat().st_mtime
    end = max(p.stat().st_mtime for p in folder.rglob("*"))
    init_from = grown_from = None
    if tc.get("init_from"):
        init = Path(tc["init_from"])
        init_from = init.parent.name if init.name in ("final", "best") else init.name
        grow = init / "grow.json"
        if grow.exists():  # scripts/grow_av_lipsync.py
            g = json.loads(grow.read_text())
            grown_from = {
                "source": Path(g["source"]).parent.name,
                "appended_blocks": len(g["appended_dilations"]),
            }
    overrides = tc.get("model") or {}
    return {
        "name": folder.name,
        "phase": tc.get("phase"),
        "corpus": Path(tc["corpus_dir"]).name,
        "corpus_dir": str(tc["corpus_dir"]),
        "init_from": init_from,
        "grown_from": grown_from,
        "lookahead_frames": overrides.get("lookahead_frames"),
        "lipsync_blocks": len(overrides["lipsync_dilations"]) if "lipsync_dilations" in overrides else None,
        "phone_head": bool(tc.get("phone_head")),
        "num_epochs": tc.get("num_epochs"),
        "batch_size": tc.get("batch_size"),
        "learning_rate": tc.get("learning_rate"),
        "steps": evals[-1]["step"] if evals else None,
        # The training clock starts when train_config.json is written: after phase 3 built its state cache.
        "minutes": (end - start) / 60,
        "state_cache_passes": tc.get("state_cache_passes") or 0,
    }


def training_runs(train_dirs: Sequence[str | Path], results_dir: Path) -> dict[str, Any]:
    """``{"runs": [...], "corpora": {name: {train_utterances, train_speakers}}}`` of the released model.

    From ``train_dirs`` when given (and then saved to ``results_dir/av_lipsync_training_runs.json``), else from
    that file; empty when neither exists. Runs that start from the bundled checkpoint itself (``init_from`` is the
    package's ``av-lipsync`` folder, e.g. phase 3 on the released model) extend the recorded history instead of
    replacing it.
    """
    path = Path(results_dir) / TRAINING_RUNS
    previous = json.loads(path.read_text()) if path.is_file() else {"runs": [], "corpora": {}}
    if not train_dirs:
        return previous
    runs = [training_run(Path(d)) for d in train_dirs]
    bundle = (PRETRAINED_ROOT / "av-lipsync").resolve()
    configs = [json.loads((Path(d) / "train_config.json").read_text()) for d in train_dirs]
    if configs and all(c.get("init_from") and Path(c["init_from"]).resolve() == bundle for c in configs):
        names = {r["name"] for r in runs}
        runs = [r for r in previous["runs"] if r["name"] not in names] + runs
    corpora = dict(previous.get("corpora", {})) if len(runs) > len(train_dirs) else {}
    for run in runs:
        if run["corpus"] not in corpora:
            cc = json.loads((Path(run["corpus_dir"]) / "config.json").read_text())
            corpora[run["corpus"]] = {
                "train_utterances": cc["utterances"]["train"],
                "train_speakers": cc["speakers"]["train"],
            }
    record = {
        "note": "Training runs of the bundled av-lipsync checkpoint, written by `avzoo release av-lipsync` from "
        "its training folders; the card lists them.",
        "runs": runs,
        "corpora": corpora,
    }
    path.write_text(json.dumps(record, indent=2) + "\n")
    return record


def card_variables(
    bundle_dir: Path, results_dir: Path, train_dirs: Sequence[str | Path] = ()
) -> dict[str, Any]:
    """What the card template formats: metadata, then the evaluation, calibration, speed, ceiling and run data."""
    bundle_dir, results_dir = Path(bundle_dir), Path(results_dir)
    ev = _read(bundle_dir / "eval_results.json")
    ev = ev[0] if isinstance(ev, list) else ev
    extra = ev["extra"]
    cfg = _read(bundle_dir / "config.json")
    calibration = _read(results_dir / CALIBRATION)
    ceiling = _read(results_dir / CEILING)
    causal = next(
        (
            c
            for c in ceiling["causal"]
            if c["lookahead_frames"] == cfg["lookahead_frames"]
            and c["identification_delay_s"] == CEILING_DELAY_S
        ),
        None,
    )
    if causal is None:
        raise ValueError(
            f"{results_dir / CEILING} has no causal row for look-ahead {cfg['lookahead_frames']} and "
            f"{CEILING_DELAY_S} s delay; rerun benchmarks/lipsync_label_ceiling.py"
        )
    bars = [{"name": k, **t} for k, t in extra["thresholds"].items() if isinstance(t, Mapping)]
    offline_bars = [
        {"name": k, **t} for k, t in extra.get("thresholds_offline", {}).items() if isinstance(t, Mapping)
    ]
    real = extra.get("real_voices", {}).get("summary", {})
    return {
        **CARD_METADATA,
        "eval": extra,
        "model": extra["model"],
        "model_crisp_mouth": extra.get("model_crisp_mouth", {}),
        "baselines": extra["baselines"],
        "bars": bars,
        "offline_bars": offline_bars,
        "model_offline": extra.get("model_offline"),
        "failing": [f"streaming {b['name']}" for b in bars if not b["pass"]]
        + [f"offline {b['name']}" for b in offline_bars if not b["pass"]],
        "real_voices": {k: v for k, v in real.items() if isinstance(v, Mapping)},
        "config": cfg,
        "seal_floor": calibration.get("lip_seal_floor"),
        "crisp": calibration["crisp_mouth"],
        "speed": _read(results_dir / SPEED),
        "ceiling": ceiling,
        "causal": causal,
        "training": training_runs(train_dirs, results_dir),
    }


__all__ = [
    "CARD_METADATA",
    "PRESS",
    "SEAL_FLOORS",
    "benchmark",
    "calibrate",
    "calibrate_seal_floor",
    "card_variables",
    "evaluate",
    "training_run",
    "training_runs",
]
