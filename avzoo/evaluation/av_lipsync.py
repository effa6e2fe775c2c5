"""Evaluation of av-lipsync on the held-out synthetic test split, against two baselines, plus real voices.

:func:`evaluate_av_lipsync` runs the model over every test utterance (batched, padded, masked), scores it with
:func:`avzoo.metrics.functional.blendshape.blendshape_errors` and scores the baselines of
:mod:`avzoo.evaluation.baselines` (fitted on the train split) on the same frames:

* lipsync-group MAE (``avzoo.arkit.LIPSYNC``: jaw, lips, tongue), overall MAE and RMSE, MAE per channel group;
* jawOpen Pearson r;
* lip-closure accuracy on /p b m/ frames: the frames whose centre ``(k + 0.5) / fps`` lies inside a P, B or M
  phone of the ``phonemes`` column (passed as ``lips_closed``), and open-lip accuracy elsewhere;
* velocity MAE and jitter (prediction vs reference);
* ``baseline MAE / model MAE`` per baseline (lipsync group, all channels, jawOpen);
* closure events per second of speech from the phone labels, the reference tracks and the model, and the
  jawOpen-vs-loudness statistics of :mod:`avzoo.evaluation.real_voices` on the synthetic audio, so the real-voice
  numbers have a synthetic counterpart.

The model's condition (``AvLipsyncConfig.condition_for``: 8 emotion probabilities, valence/arousal/dominance,
intensity) comes from the dataset's ``emotion``/``intensity`` columns (``condition_mode="oracle"``; intensity
``normal`` = 0.55 and ``strong`` = 1.0, the gains the synthetic corpus animates with) or is all zeros
(``"neutral"``). The result follows the evaluation-JSON schema of :mod:`avzoo.hub.cards`; ``extra`` holds
everything else, including the pass/fail of the issue's thresholds (:data:`THRESHOLDS`).

:func:`run_evaluation` is the whole job behind ``avzoo evaluate av-lipsync``: load model and corpus, fit the
baselines, evaluate, add the real-voice report, write the JSON and print a table.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from avzoo import arkit
from avzoo.emotions import RAVDESS_EMOTIONS, RAVDESS_INTENSITIES
from avzoo.evaluation.baselines import Baseline, audio_array, check_one_split, fit_baselines
from avzoo.evaluation.inference import predict_blendshapes
from avzoo.evaluation.real_voices import (
    default_real_voice_files,
    jsonable,
    pool_stats,
    real_voice_report,
    track_audio_stats,
)
from avzoo.metrics.functional.blendshape import blendshape_errors

DEFAULT_FPS = 30.0
SAMPLING_RATE = 16000
CONDITION_MODES = ("oracle", "neutral")
POSTPROCESS = ("none", "crisp_mouth")
BILABIAL_PHONES = frozenset({"P", "B", "M"})
#: Condition intensity of the corpus' intensity labels (``avzoo.synth.expressions.NORMAL_INTENSITY`` for normal).
INTENSITY_VALUES = {"normal": 0.55, "strong": 1.0}
#: The issue's quality bars on the held-out test split.
THRESHOLDS = {
    "lipsync_mae_max": 0.015,
    "jaw_open_pearson_min": 0.9,
    "lip_closure_accuracy_min": 0.90,
    "baseline_mae_ratio_min": 3.0,
}
TASK = {"type": "audio-to-blendshapes", "name": "Speech to ARKit blendshapes"}
DATASET = {"name": "avzoo-synth", "type": "avzoo/synth", "split": "test (held-out speakers and sentences)"}
DEFAULT_MODEL_ID = "avzoo/av-lipsync"
#: MAE ratios are capped here, so a model with zero error still gets a finite (JSON-able) ratio.
RATIO_CAP = 1e6

_JAW_OPEN = arkit.INDEX["jawOpen"]
_STRESS = re.compile(r"[0-9]+$")


# --- labels → masks and conditions ---------------------------------------------------------------------------------


def _phone(symbol: Any) -> str:
    return _STRESS.sub("", str(symbol).strip().upper())


def bilabial_mask(
    phonemes: Sequence[Mapping[str, Any]] | None, num_frames: int, fps: float = DEFAULT_FPS
) -> np.ndarray:
    """(T,) True where frame ``k``'s centre ``(k + 0.5) / fps`` lies in a P, B or M phone ``[start, end)``."""
    mask = np.zeros(int(num_frames), dtype=bool)
    centres = (np.arange(int(num_frames)) + 0.5) / fps
    for p in phonemes or ():
        if _phone(p["phone"]) in BILABIAL_PHONES:
            mask |= (centres >= float(p["start"])) & (centres < float(p["end"]))
    return mask


def bilabial_events(phonemes: Sequence[Mapping[str, Any]] | None) -> int:
    """Number of runs of consecutive P/B/M phones (``"m b"`` in *number* is one closure)."""
    count, previous = 0, False
    for p in phonemes or ():
        current = _phone(p["phone"]) in BILABIAL_PHONES
        count += int(current and not previous)
        previous = current
    return count


def _label(value: Any, names: Sequence[str], what: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        key = value.strip().lower()
        if key not in names:
            raise ValueError(f"unknown {what} {value!r}; expected one of {list(names)}")
        return key
    index = int(value)
    if index < 0:
        return None  # ClassLabel -1: unknown
    if index >= len(names):
        raise ValueError(f"{what} index {index} out of range [0, {len(names)})")
    return names[index]


def intensity_value(intensity: Any) -> float:
    """Condition intensity of a label (``"normal"``/``"strong"`` or its ClassLabel index) or a number in [0, 1].

    Unknown (None or -1) reads as normal.
    """
    if isinstance(intensity, (float, np.floating)):
        if not 0.0 <= float(intensity) <= 1.0:
            raise ValueError(f"intensity must be in [0, 1], got {intensity!r}")
        return float(intensity)
    label = _label(intensity, RAVDESS_INTENSITIES, "intensity")
    return INTENSITY_VALUES[label or "normal"]


def _condition_config(model: Any) -> Any:
    config = getattr(model, "config", None)
    if config is not None and hasattr(config, "condition_for"):
        return config
    from avzoo.models.av_lipsync import AvLipsyncConfig

    return AvLipsyncConfig()


def condition_from_labels(config: Any, emotion: Any, intensity: Any) -> np.ndarray:
    """``config.condition_for(emotion, intensity)`` from dataset labels; an unknown emotion gives zeros."""
    label = _label(emotion, RAVDESS_EMOTIONS, "emotion")
    return config.condition_for(label, intensity=intensity_value(intensity)).astype(np.float32)


# --- data ------------------------------------------------------------------------------------------------------------


def load_test_rows(dataset: Any, fps: float = DEFAULT_FPS) -> list[dict[str, Any]]:
    """Decode a split into ``{id, audio, reference, lips_closed, bilabial_events, emotion, intensity, speaker}``.

    Rows without blendshapes are skipped (nothing to score); the blendshape rate must be ``fps``.
    """
    check_one_split(dataset, "test")
    columns = ["id", "audio", "blendshapes", "fps", "phonemes", "emotion", "intensity", "speaker_id"]
    names = getattr(dataset, "column_names", None)
    if names is not None:
        missing = [c for c in ("audio", "blendshapes", "phonemes") if c not in names]
        if missing:
            raise ValueError(f"the test split lacks column(s) {missing}; it has {names}")
        dataset = dataset.select_columns([c for c in columns if c in names])
    rows = []
    for i, row in enumerate(dataset):
        if row.get("blendshapes") is None:
            continue
        if row.get("fps") is not None and abs(float(row["fps"]) - fps) > 1e-6:
            raise ValueError(
                f"row {i} has blendshapes at {row['fps']} fps; this evaluation runs at {fps} fps"
            )
        ref = np.asarray(row["blendshapes"], dtype=np.float32)
        if ref.ndim != 2 or ref.shape[1] != arkit.NUM_BLENDSHAPES:
            raise ValueError(f"row {i}: blendshapes must be (T, 52), got shape {ref.shape}")
        rows.append(
            {
                "id": row.get("id", str(i)),
                "audio": audio_array(row["audio"]),
                "reference": ref,
                "lips_closed": bilabial_mask(row.get("phonemes"), len(ref), fps),
                "bilabial_events": bilabial_events(row.get("phonemes")),
                "emotion": row.get("emotion"),
                "intensity": row.get("intensity"),
                "speaker": row.get("speaker_id"),
            }
        )
    if not rows:
        raise ValueError("the test split has no rows with blendshapes to evaluate on")
    return rows


# --- scoring -----------------------------------------------------------------------------------------------------------


def summarize(errors: Mapping[str, Any]) -> dict[str, Any]:
    """The numbers this evaluation reports, from a :func:`blendshape_errors` result (NaN as None)."""
    return jsonable(
        {
            "lipsync_mae": errors["mae_per_group"].get("lipsync", float("nan")),
            "mae": errors["mae"],
            "rmse": errors["rmse"],
            "jaw_open_mae": errors["mae_per_channel"].get("jawOpen", float("nan")),
            "jaw_open_pearson": errors["pearson_per_channel"].get("jawOpen", float("nan")),
            "pearson_mean": errors["pearson"],
            "lip_closure_accuracy": errors["lip_closure_accuracy"],
            "lip_open_accuracy": errors["lip_open_accuracy"],
            "lip_closed_frames": errors["lip_closed_frames"],
            "lip_open_frames": errors["lip_open_frames"],
            "velocity_mae": errors["velocity_mae"],
            "jitter_pred": errors["jitter_pred"],
            "jitter_ref": errors["jitter_ref"],
            "jitter_ratio": errors["jitter_ratio"],
            "mae_per_group": errors["mae_per_group"],
            "pearson_per_group": errors["pearson_per_group"],
        }
    )


def score_rows(
    predictions: list[np.ndarray], rows: list[dict[str, Any]], fps: float = DEFAULT_FPS
) -> dict[str, Any]:
    """:func:`summarize` of ``predictions`` against :func:`load_test_rows` rows (closure on their /p b m/ frames)."""
    return summarize(
        blendshape_errors(
            predictions,
            [r["reference"] for r in rows],
            fps=fps,
            lips_closed=[r["lips_closed"] for r in rows],
        )
    )


def predict_rows(
    model: Any,
    feature_extractor: Any,
    rows: list[dict[str, Any]],
    condition_mode: str = "oracle",
    *,
    batch_size: int = 8,
) -> list[np.ndarray]:
    """Raw model tracks for :func:`load_test_rows` rows, each cut to its reference's length.

    ``condition_mode`` ``"oracle"`` conditions on the rows' emotion/intensity labels, ``"neutral"`` on zeros.
    """
    if condition_mode not in CONDITION_MODES:
        raise ValueError(f"condition_mode must be one of {CONDITION_MODES}, got {condition_mode!r}")
    conditions = None
    if condition_mode == "oracle":
        config = _condition_config(model)
        conditions = [condition_from_labels(config, r["emotion"], r["intensity"]) for r in rows]
    return predict_blendshapes(
        model,
        feature_extractor,
        [r["audio"] for r in rows],
        conditions,
        batch_size=batch_size,
        num_frames=[len(r["reference"]) for r in rows],
    )


def _ratio(numerator: Any, denominator: Any) -> float | None:
    """``numerator / denominator``, capped at :data:`RATIO_CAP` (a perfect model); None when undefined."""
    if (
        numerator is None
        or denominator is None
        or not math.isfinite(numerator)
        or not math.isfinite(denominator)
    ):
        return None
    if denominator <= 0:
        return RATIO_CAP if numerator > 0 else None
    return min(numerator / denominator, RATIO_CAP)


def _ratios(baseline: Mapping[str, Any], model: Mapping[str, Any]) -> dict[str, float | None]:
    return {
        "lipsync": _ratio(baseline["lipsync_mae"], model["lipsync_mae"]),
        "all": _ratio(baseline["mae"], model["mae"]),
        "jawOpen": _ratio(baseline["jaw_open_mae"], model["jaw_open_mae"]),
    }


def check_thresholds(model: Mapping[str, Any], ratios: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Pass/fail of each bar in :data:`THRESHOLDS` (a missing value fails) and ``all_pass``."""

    def bar(value: Any, threshold: float, at_least: bool) -> dict[str, Any]:
        ok = value is not None and (value >= threshold if at_least else value <= threshold)
        return {"value": value, "threshold": threshold, "pass": bool(ok)}

    t = THRESHOLDS
    out = {
        "lipsync_mae": bar(model["lipsync_mae"], t["lipsync_mae_max"], at_least=False),
        "jaw_open_pearson": bar(model["jaw_open_pearson"], t["jaw_open_pearson_min"], at_least=True),
        "lip_closure_accuracy": bar(
            model["lip_closure_accuracy"], t["lip_closure_accuracy_min"], at_least=True
        ),
    }
    for name, r in ratios.items():
        value = r["lipsync"]
        out[f"lipsync_mae_ratio_vs_{name}"] = bar(value, t["baseline_mae_ratio_min"], at_least=True)
    out["all_pass"] = all(v["pass"] for v in out.values())
    return out


def _closure_rates(rows: list[dict[str, Any]], tracks: list[np.ndarray], fps: float) -> dict[str, Any]:
    """Closure events per second of speech: phone labels, references, and ``tracks`` (the model)."""
    model_stats = [track_audio_stats(t, r["audio"], fps=fps) for t, r in zip(tracks, rows, strict=True)]
    ref_stats = [track_audio_stats(r["reference"], r["audio"], fps=fps) for r in rows]
    speech_seconds = sum(s["speech_seconds"] for s in model_stats)
    labels = sum(r["bilabial_events"] for r in rows)
    model_pool = pool_stats(model_stats, tracks)
    ref_pool = pool_stats(ref_stats, [r["reference"] for r in rows])
    per_s = (lambda n: n / speech_seconds) if speech_seconds > 0 else (lambda n: float("nan"))
    return jsonable(
        {
            "closure_rate": {
                "speech_seconds": speech_seconds,
                "bilabial_phone_events_per_second": per_s(labels),
                "reference_closures_per_second": per_s(ref_pool["closure_events"]),
                "model_closures_per_second": per_s(model_pool["closure_events"]),
            },
            "voice_stats_model": {k: v for k, v in model_pool.items() if k != "files"},
            "voice_stats_reference": {k: v for k, v in ref_pool.items() if k != "files"},
        }
    )


def _metric(type_: str, name: str, value: Any, config: str | None = None) -> dict[str, Any] | None:
    if value is None or isinstance(value, bool) or not math.isfinite(value):
        return None
    out = {"type": type_, "name": name, "value": float(value)}
    if config:
        out["config"] = config
    return out


def _metrics_list(
    model: Mapping[str, Any], baselines: Mapping[str, Any], ratios: Mapping[str, Any]
) -> list[dict]:
    items = [
        _metric("mae", "Lipsync-group MAE", model["lipsync_mae"], "lipsync"),
        _metric("mae", "MAE (all 52 channels)", model["mae"], "all"),
        _metric("rmse", "RMSE (all 52 channels)", model["rmse"], "all"),
        _metric("pearsonr", "jawOpen Pearson r", model["jaw_open_pearson"], "jawOpen"),
        _metric(
            "accuracy", "Lip-closure accuracy on /p b m/ frames", model["lip_closure_accuracy"], "lip_closure"
        ),
        _metric("accuracy", "Open-lip accuracy outside /p b m/", model["lip_open_accuracy"], "lip_open"),
        _metric("velocity_mae", "Velocity MAE (1/s)", model["velocity_mae"], "all"),
        _metric("jitter_ratio", "Jitter ratio (prediction / reference)", model["jitter_ratio"], "all"),
    ]
    for name, scores in baselines.items():
        items.append(
            _metric("mae", f"Lipsync-group MAE of baseline {name}", scores["lipsync_mae"], f"lipsync/{name}")
        )
        items.append(
            _metric(
                "mae_ratio",
                f"Baseline {name} / model, lipsync-group MAE",
                ratios[name]["lipsync"],
                f"lipsync/{name}",
            )
        )
    return [m for m in items if m is not None]


def evaluate_av_lipsync(
    model: Any,
    feature_extractor: Any,
    dataset: Any,
    baselines: Mapping[str, Baseline],
    batch_size: int = 8,
    condition_mode: str = "oracle",
    *,
    model_id: str = DEFAULT_MODEL_ID,
    postprocess: str = "none",
    fps: float = DEFAULT_FPS,
    out_json: str | Path | None = None,
    rows: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Score ``model`` and ``baselines`` on a test split; returns (and writes to ``out_json``) the evaluation JSON.

    Args:
        model: an ``AvLipsyncModel`` or a callable with its forward signature (see :mod:`avzoo.evaluation.inference`).
        feature_extractor: its feature extractor.
        dataset: the test split (shared utterance schema: ``audio``, ``blendshapes``, ``phonemes``, ``emotion``...).
        baselines: ``{name: baseline}`` fitted on the train split (:func:`avzoo.evaluation.baselines.fit_baselines`).
        batch_size: utterances per forward pass.
        condition_mode: ``"oracle"`` (condition from the emotion/intensity labels) or ``"neutral"`` (zeros).
        model_id: the name written into the JSON.
        postprocess: ``"none"`` scores the raw model output; ``"crisp_mouth"`` the output after the model's offline
            mouth filter. The other variant is reported in ``extra`` when the model has the filter.
        rows: already decoded rows (:func:`load_test_rows`), to share decoding between calls.
    """
    if condition_mode not in CONDITION_MODES:
        raise ValueError(f"condition_mode must be one of {CONDITION_MODES}, got {condition_mode!r}")
    if postprocess not in POSTPROCESS:
        raise ValueError(f"postprocess must be one of {POSTPROCESS}, got {postprocess!r}")
    if postprocess == "crisp_mouth" and not hasattr(model, "crisp_mouth"):
        raise ValueError("postprocess='crisp_mouth' needs a model with a crisp_mouth method (AvLipsyncModel)")
    if not baselines:
        raise ValueError("give at least one baseline (fit_baselines(corpus['train']))")
    t0 = time.perf_counter()
    rows = load_test_rows(dataset, fps) if rows is None else rows
    raw = predict_rows(model, feature_extractor, rows, condition_mode, batch_size=batch_size)
    variants = {"none": raw}
    if hasattr(model, "crisp_mouth"):
        variants["crisp_mouth"] = [np.asarray(model.crisp_mouth(t), dtype=np.float32) for t in raw]
    tracks = variants[postprocess]
    scores = score_rows(tracks, rows, fps)
    seconds_model = time.perf_counter() - t0

    baseline_scores, baseline_params = {}, {}
    for name, baseline in baselines.items():
        preds = [baseline.predict(r["audio"], len(r["reference"])) for r in rows]
        baseline_scores[name] = score_rows(preds, rows, fps)
        params = baseline.to_dict()
        if name != "mean_pose":
            params.pop("mean_pose", None)  # the same numbers as the mean_pose baseline's
        baseline_params[name] = params
    ratios = {name: _ratios(s, scores) for name, s in baseline_scores.items()}
    thresholds = check_thresholds(scores, ratios)
    ceiling = score_rows([r["reference"] for r in rows], rows, fps)

    extra: dict[str, Any] = {
        "command": f"avzoo.evaluation.av_lipsync.evaluate_av_lipsync(condition_mode={condition_mode!r}, "
        f"postprocess={postprocess!r}, batch_size={batch_size})",
        "condition_mode": condition_mode,
        "intensity_values": INTENSITY_VALUES,
        "postprocess": postprocess,
        "fps": fps,
        "num_utterances": len(rows),
        "num_frames": int(sum(len(r["reference"]) for r in rows)),
        "num_speakers": len({r["speaker"] for r in rows}),
        "bilabial_frames": int(sum(r["lips_closed"].sum() for r in rows)),
        "thresholds": thresholds,
        "model": scores,
        "baselines": {
            name: {"metrics": baseline_scores[name], "params": baseline_params[name]} for name in baselines
        },
        "mae_ratios": ratios,
        "reference_closure_accuracy": ceiling["lip_closure_accuracy"],
        "seconds": time.perf_counter() - t0,
        "seconds_model": seconds_model,
    }
    other = "crisp_mouth" if postprocess == "none" else "none"
    if other in variants:
        extra["model_crisp_mouth" if other == "crisp_mouth" else "model_raw"] = score_rows(
            variants[other], rows, fps
        )
    extra.update(_closure_rates(rows, tracks, fps))
    result = {
        "model": model_id,
        "task": dict(TASK),
        "dataset": {**DATASET, "config": f"condition={condition_mode}"},
        "metrics": _metrics_list(scores, baseline_scores, ratios),
        "extra": jsonable(extra),
    }
    if out_json is not None:
        write_json(result, out_json)
    return result


def write_json(result: Any, path: str | Path) -> Path:
    """Write strict JSON (NaN/inf become null) and check it against the card schema."""
    from avzoo.hub.cards import load_eval_results

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(jsonable(result), indent=2, allow_nan=False) + "\n", encoding="utf-8")
    if isinstance(result, Mapping) and "metrics" in result:
        load_eval_results(path)
    return path


# --- the command -----------------------------------------------------------------------------------------------------


def format_table(result: Mapping[str, Any]) -> str:
    """A compact text table: model vs baselines, the threshold checks, and the real-voice summary."""
    extra = result["extra"]
    model = extra["model"]
    names = list(extra["baselines"])
    cols = ["model", *names]
    scores = {"model": model, **{n: extra["baselines"][n]["metrics"] for n in names}}

    def fmt(v: Any) -> str:
        if v is None:
            return "-"
        if isinstance(v, bool):
            return "yes" if v else "NO"
        return f"{v:.4f}" if abs(v) < 100 else f"{v:.3g}"

    rows = [
        ("lipsync MAE", "lipsync_mae"),
        ("MAE (52)", "mae"),
        ("RMSE (52)", "rmse"),
        ("jawOpen MAE", "jaw_open_mae"),
        ("jawOpen r", "jaw_open_pearson"),
        ("closure acc /p b m/", "lip_closure_accuracy"),
        ("open-lip acc", "lip_open_accuracy"),
        ("velocity MAE (1/s)", "velocity_mae"),
        ("jitter ratio", "jitter_ratio"),
    ]
    width = max(len(label) for label, _ in rows) + 2
    lines = [
        f"av-lipsync on {result['dataset']['name']} {result['dataset']['split']} "
        f"({extra['num_utterances']} utterances, {extra['num_frames']} frames, condition={extra['condition_mode']}, "
        f"postprocess={extra['postprocess']})",
        "".ljust(width) + "".join(c.rjust(12) for c in cols),
    ]
    for label, key in rows:
        lines.append(label.ljust(width) + "".join(fmt(scores[c].get(key)).rjust(12) for c in cols))
    lines.append(
        "baseline/model MAE".ljust(width)
        + "".rjust(12)
        + "".join(fmt(extra["mae_ratios"][n]["lipsync"]).rjust(12) for n in names)
    )
    lines.append("thresholds:")
    for name, check in extra["thresholds"].items():
        if name == "all_pass":
            continue
        lines.append(
            f"  {name:<32} {fmt(check['value']):>10}  (bar {check['threshold']:g})  {fmt(check['pass'])}"
        )
    lines.append(f"  {'all pass':<32} {fmt(extra['thresholds']['all_pass']):>10}")
    rate = extra.get("closure_rate", {})
    if rate:
        lines.append(
            "closures/s of speech (synthetic): phones {} reference {} model {}".format(
                fmt(rate.get("bilabial_phone_events_per_second")),
                fmt(rate.get("reference_closures_per_second")),
                fmt(rate.get("model_closures_per_second")),
            )
        )
    for mode, summary in extra.get("other_conditions", {}).items():
        lines.append(
            f"condition={mode}: lipsync MAE {fmt(summary['lipsync_mae'])}, MAE {fmt(summary['mae'])}, "
            f"jawOpen r {fmt(summary['jaw_open_pearson'])}, closure acc {fmt(summary['lip_closure_accuracy'])}, "
            f"all pass {fmt(summary['all_pass'])}"
        )
    real = extra.get("real_voices")
    if real and "summary" in real:
        for source, s in real["summary"].items():
            lines.append(
                f"real voices [{source}] {s['files']} files: jaw~RMS r {fmt(s.get('jaw_rms_r'))} "
                f"(dB {fmt(s.get('jaw_log_rms_r'))}), jaw pause {fmt(s.get('jaw_pause_mean'))} vs speech "
                f"{fmt(s.get('jaw_speech_mean'))}, closures/s {fmt(s.get('closures_per_second'))}"
            )
    elif real:
        lines.append(f"real voices: {real.get('skipped', 'not run')}")
    return "\n".join(lines)


def _bundled_model_dir() -> Path:
    return Path(__file__).resolve().parents[1] / "pretrained" / "av-lipsync"


def load_model(model_dir_or_id: str | Path) -> tuple[Any, Any]:
    """``AutoModel`` + ``AutoFeatureExtractor`` from a folder or a Hub id (the bundled folder for avzoo/av-lipsync)."""
    import torch
    from transformers import AutoFeatureExtractor, AutoModel

    from avzoo.models.av_lipsync import register

    register()
    source = Path(model_dir_or_id)
    if not source.is_dir() and str(model_dir_or_id) == DEFAULT_MODEL_ID and _bundled_model_dir().is_dir():
        source = _bundled_model_dir()
    try:
        # float32 whatever the stored dtype: a bundled fp16 checkpoint is scored as it runs on CPU
        model = AutoModel.from_pretrained(str(source), dtype=torch.float32)
        feature_extractor = AutoFeatureExtractor.from_pretrained(str(source))
    except OSError as err:
        raise ValueError(f"cannot load an av-lipsync model from {model_dir_or_id!r}: {err}") from err
    return model.eval(), feature_extractor


def run_evaluation(
    model_dir_or_id: str | Path,
    corpus_dir: str | Path,
    out_json: str | Path,
    real_voices: bool = True,
    *,
    batch_size: int = 8,
    condition_modes: Sequence[str] = CONDITION_MODES,
    postprocess: str = "none",
    rms_method: str = "piecewise",
    real_voice_files: Sequence[str | Path] | None = None,
    print_table: bool = True,
) -> dict[str, Any]:
    """Evaluate a saved av-lipsync model on a built corpus and write the evaluation JSON (the card's source).

    Fits the baselines on ``train``, scores on ``test`` with the first of ``condition_modes`` (the headline
    result) and summarises the others under ``extra["other_conditions"]``. With ``real_voices``, runs
    :func:`real_voice_report` (neutral condition) on ``real_voice_files`` (default: the shared real recordings;
    skipped with a note when they are missing), writes it next to ``out_json`` as ``<stem>.real_voices.json`` and
    adds its summary under ``extra["real_voices"]``. Prints :func:`format_table` unless ``print_table`` is False.
    """
    from avzoo.synth.corpus import load_corpus

    if not condition_modes or any(m not in CONDITION_MODES for m in condition_modes):
        raise ValueError(
            f"condition_modes must be a non-empty subset of {CONDITION_MODES}, got {condition_modes!r}"
        )
    model, feature_extractor = load_model(model_dir_or_id)
    corpus = load_corpus(corpus_dir)
    for split in ("train", "test"):
        if split not in corpus or len(corpus[split]) == 0:
            raise ValueError(
                f"corpus {corpus_dir} has no {split!r} split; build one with train and test utterances"
            )
    baselines = fit_baselines(corpus["train"], rms_method=rms_method)
    rows = load_test_rows(corpus["test"])
    model_id = str(model_dir_or_id)
    results = [
        evaluate_av_lipsync(
            model,
            feature_extractor,
            corpus["test"],
            baselines,
            batch_size,
            mode,
            model_id=model_id,
            postprocess=postprocess,
            rows=rows,
        )
        for mode in condition_modes
    ]
    result = results[0]
    extra = result["extra"]
    extra["command"] = (
        f"avzoo.evaluation.av_lipsync.run_evaluation({model_id!r}, {str(corpus_dir)!r}, {str(out_json)!r}, "
        f"real_voices={real_voices}, batch_size={batch_size}, condition_modes={list(condition_modes)}, "
        f"postprocess={postprocess!r}, rms_method={rms_method!r})"
    )
    extra["corpus"] = str(corpus_dir)
    extra["train_utterances"] = len(corpus["train"])
    if len(results) > 1:
        extra["other_conditions"] = {
            r["extra"]["condition_mode"]: {
                **{
                    k: r["extra"]["model"][k]
                    for k in ("lipsync_mae", "mae", "jaw_open_pearson", "lip_closure_accuracy")
                },
                "mae_per_group": r["extra"]["model"]["mae_per_group"],
                "mae_ratios": r["extra"]["mae_ratios"],
                "all_pass": r["extra"]["thresholds"]["all_pass"],
            }
            for r in results[1:]
        }
    out_json = Path(out_json)
    if real_voices:
        try:
            files = default_real_voice_files() if real_voice_files is None else list(real_voice_files)
        except ValueError as err:
            extra["real_voices"] = {"skipped": str(err)}
        else:
            report = real_voice_report(
                model,
                feature_extractor,
                files,
                batch_size=max(1, batch_size // 2),
                postprocess=model.crisp_mouth if postprocess == "crisp_mouth" else None,
            )
            report_path = write_json(report, out_json.with_name(out_json.stem + ".real_voices.json"))
            synthetic = extra.get("closure_rate", {})
            real_rate = report["summary"]["all"].get("closures_per_second")
            synth_rate = synthetic.get("model_closures_per_second")
            real_r = report["summary"]["all"].get("jaw_rms_r")
            metric = _metric(
                "pearsonr", "Real voices: jawOpen vs frame RMS, mean r per file", real_r, "real-voices"
            )
            if metric is not None:
                result["metrics"].append(metric)
            extra["real_voices"] = {
                "report": report_path.name,
                "summary": report["summary"],
                "closures_per_second_real_vs_synthetic_model": _ratio(real_rate, synth_rate),
                "limitation": report["limitation"],
            }
    write_json(result, out_json)
    if print_table:
        print(format_table(result))
    return result


def evaluate_baselines(
    corpus_dir: str | Path, out_json: str | Path | None = None, *, rms_method: str = "piecewise"
) -> dict[str, Any]:
    """Fit the baselines on a corpus' train split and score them on its test split (no model needed).

    Returns ``{"corpus", "num_utterances", "num_frames", "baselines": {name: {"metrics", "params"}},
    "reference_closure_accuracy", "closure_rate"}`` and writes it to ``out_json`` when given. What a model must
    reach to be 3x better is ``lipsync_mae / 3`` of each baseline.
    """
    from avzoo.synth.corpus import load_corpus

    corpus = load_corpus(corpus_dir)
    for split in ("train", "test"):
        if split not in corpus or len(corpus[split]) == 0:
            raise ValueError(f"corpus {corpus_dir} has no {split!r} split")
    baselines = fit_baselines(corpus["train"], rms_method=rms_method)
    rows = load_test_rows(corpus["test"])
    report: dict[str, Any] = {
        "corpus": str(corpus_dir),
        "train_utterances": len(corpus["train"]),
        "num_utterances": len(rows),
        "num_frames": int(sum(len(r["reference"]) for r in rows)),
        "baselines": {},
        "reference_closure_accuracy": score_rows([r["reference"] for r in rows], rows, DEFAULT_FPS)[
            "lip_closure_accuracy"
        ],
    }
    for name, baseline in baselines.items():
        preds = [baseline.predict(r["audio"], len(r["reference"])) for r in rows]
        scores = score_rows(preds, rows, DEFAULT_FPS)
        report["baselines"][name] = {
            "metrics": scores,
            "model_lipsync_mae_for_3x": None if scores["lipsync_mae"] is None else scores["lipsync_mae"] / 3,
            "params": baseline.to_dict(),
        }
    ref_stats = [track_audio_stats(r["reference"], r["audio"]) for r in rows]
    speech = sum(s["speech_seconds"] for s in ref_stats)
    pooled = pool_stats(ref_stats, [r["reference"] for r in rows])
    report["closure_rate"] = {
        "speech_seconds": speech,
        "bilabial_phone_events_per_second": sum(r["bilabial_events"] for r in rows) / speech
        if speech
        else None,
        "reference_closures_per_second": pooled["closures_per_second"],
    }
    report["voice_stats_reference"] = {k: v for k, v in pooled.items() if k != "files"}
    report = jsonable(report)
    if out_json is not None:
        write_json(report, out_json)
    return report


def format_baselines(report: Mapping[str, Any]) -> str:
    """A text table of :func:`evaluate_baselines`."""
    names = list(report["baselines"])
    keys = ("lipsync_mae", "mae", "jaw_open_mae", "jaw_open_pearson", "lip_closure_accuracy", "velocity_mae")
    lines = [
        f"baselines on {report['corpus']} test ({report['num_utterances']} utterances, {report['num_frames']} frames;"
        f" fitted on {report['train_utterances']} train utterances)",
        "".ljust(22) + "".join(n.rjust(12) for n in names),
    ]
    for key in keys:
        values = [report["baselines"][n]["metrics"].get(key) for n in names]
        lines.append(key.ljust(22) + "".join(("-" if v is None else f"{v:.4f}").rjust(12) for v in values))
    values = [report["baselines"][n]["model_lipsync_mae_for_3x"] for n in names]
    lines.append("3x bar (lipsync MAE)".ljust(22) + "".join(f"{v:.4f}".rjust(12) for v in values))
    rate = report["closure_rate"]
    lines.append(
        f"/p b m/ closures per second of speech: phones {rate['bilabial_phone_events_per_second']:.3f}, "
        f"reference tracks {rate['reference_closures_per_second']:.3f}; reference closure accuracy "
        f"{report['reference_closure_accuracy']:.3f}"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m avzoo.evaluation.av_lipsync --model DIR --corpus DIR --out JSON``: :func:`run_evaluation`."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m avzoo.evaluation.av_lipsync", description=run_evaluation.__doc__
    )
    parser.add_argument("--model", default=DEFAULT_MODEL_ID, help="model folder or Hub id (default: bundled)")
    parser.add_argument("--baselines-only", action="store_true", help="score only the baselines (no model)")
    parser.add_argument("--corpus", required=True, help="a corpus folder built by avzoo.synth.corpus")
    parser.add_argument("--out", required=True, help="where to write the evaluation JSON")
    parser.add_argument("--no-real-voices", action="store_true", help="skip the real-voice report")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument(
        "--condition-modes", nargs="+", default=list(CONDITION_MODES), choices=CONDITION_MODES
    )
    parser.add_argument("--postprocess", default="none", choices=POSTPROCESS)
    parser.add_argument("--rms-method", default="piecewise", choices=("piecewise", "affine"))
    parser.add_argument(
        "--strict", action="store_true", help="exit with status 1 unless every threshold passes"
    )
    args = parser.parse_args(argv)
    if args.baselines_only:
        print(format_baselines(evaluate_baselines(args.corpus, args.out, rms_method=args.rms_method)))
        return 0
    result = run_evaluation(
        args.model,
        args.corpus,
        args.out,
        real_voices=not args.no_real_voices,
        batch_size=args.batch_size,
        condition_modes=args.condition_modes,
        postprocess=args.postprocess,
        rms_method=args.rms_method,
    )
    return 1 if args.strict and not result["extra"]["thresholds"]["all_pass"] else 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = [
    "BILABIAL_PHONES",
    "CONDITION_MODES",
    "INTENSITY_VALUES",
    "THRESHOLDS",
    "bilabial_events",
    "bilabial_mask",
    "check_thresholds",
    "condition_from_labels",
    "evaluate_av_lipsync",
    "evaluate_baselines",
    "format_baselines",
    "format_table",
    "intensity_value",
    "load_model",
    "load_test_rows",
    "main",
    "predict_rows",
    "run_evaluation",
    "score_rows",
    "summarize",
    "write_json",
]
