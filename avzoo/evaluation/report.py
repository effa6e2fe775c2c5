"""The evaluation's outputs: the ``metrics`` list the card quotes, strict JSON files, and the text tables.

The JSON follows the evaluation-JSON schema of :mod:`avzoo.hub.cards` (checked on write by :func:`write_json`);
:func:`format_table` and :func:`format_baselines` print what ``avzoo evaluate av-lipsync`` and
``--baselines-only`` computed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from avzoo.evaluation.real_voices import jsonable


def metric(type_: str, name: str, value: Any, config: str | None = None) -> dict[str, Any] | None:
    """One ``metrics`` entry of the card schema; None for a missing or non-finite value."""
    if value is None or isinstance(value, bool) or not math.isfinite(value):
        return None
    out = {"type": type_, "name": name, "value": float(value)}
    if config:
        out["config"] = config
    return out


def metrics_list(
    model: Mapping[str, Any],
    baselines: Mapping[str, Any],
    ratios: Mapping[str, Any],
    offline: Mapping[str, Any] | None = None,
) -> list[dict]:
    """The card's ``metrics``: the model's (streaming) scores, each baseline's lipsync MAE and its ratio to the model,
    then the offline quality mode's headline scores when there is one."""
    items = [
        metric("mae", "Lipsync-group MAE", model["lipsync_mae"], "lipsync"),
        metric("mae", "MAE (all 52 channels)", model["mae"], "all"),
        metric("rmse", "RMSE (all 52 channels)", model["rmse"], "all"),
        metric("pearsonr", "jawOpen Pearson r", model["jaw_open_pearson"], "jawOpen"),
        metric(
            "accuracy", "Lip-closure accuracy on /p b m/ frames", model["lip_closure_accuracy"], "lip_closure"
        ),
        metric("accuracy", "Open-lip accuracy outside /p b m/", model["lip_open_accuracy"], "lip_open"),
        metric("velocity_mae", "Velocity MAE (1/s)", model["velocity_mae"], "all"),
        metric("jitter_ratio", "Jitter ratio (prediction / reference)", model["jitter_ratio"], "all"),
    ]
    for name, scores in baselines.items():
        items.append(
            metric("mae", f"Lipsync-group MAE of baseline {name}", scores["lipsync_mae"], f"lipsync/{name}")
        )
        items.append(
            metric(
                "mae_ratio",
                f"Baseline {name} / model, lipsync-group MAE",
                ratios[name]["lipsync"],
                f"lipsync/{name}",
            )
        )
    if offline is not None:
        items += [
            metric("mae", "Offline mode: lipsync-group MAE", offline["lipsync_mae"], "lipsync/offline"),
            metric(
                "pearsonr", "Offline mode: jawOpen Pearson r", offline["jaw_open_pearson"], "jawOpen/offline"
            ),
            metric(
                "accuracy",
                "Offline mode: lip-closure accuracy on /p b m/ frames",
                offline["lip_closure_accuracy"],
                "lip_closure/offline",
            ),
        ]
    return [m for m in items if m is not None]


def write_json(result: Any, path: str | Path) -> Path:
    """Write strict JSON (NaN/inf become null) and check it against the card schema."""
    from avzoo.hub.cards import load_eval_results

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(jsonable(result), indent=2, allow_nan=False) + "\n", encoding="utf-8")
    if isinstance(result, Mapping) and "metrics" in result:
        load_eval_results(path)
    return path


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "NO"
    return f"{v:.4f}" if abs(v) < 100 else f"{v:.3g}"


_TABLE_ROWS = (
    ("lipsync MAE", "lipsync_mae"),
    ("MAE (52)", "mae"),
    ("RMSE (52)", "rmse"),
    ("jawOpen MAE", "jaw_open_mae"),
    ("jawOpen r", "jaw_open_pearson"),
    ("closure acc /p b m/", "lip_closure_accuracy"),
    ("open-lip acc", "lip_open_accuracy"),
    ("velocity MAE (1/s)", "velocity_mae"),
    ("jitter ratio", "jitter_ratio"),
)


def format_table(result: Mapping[str, Any]) -> str:
    """A compact text table: model vs baselines, the threshold checks, and the real-voice summary."""
    extra = result["extra"]
    names = list(extra["baselines"])
    offline = ["offline"] if "model_offline" in extra else []
    cols = ["model", *offline, *names]
    scores = {"model": extra["model"], **{n: extra["baselines"][n]["metrics"] for n in names}}
    if offline:
        scores["offline"] = extra["model_offline"]
    width = max(len(label) for label, _ in _TABLE_ROWS) + 2
    lines = [
        f"av-lipsync on {result['dataset']['name']} {result['dataset']['split']} "
        f"({extra['num_utterances']} utterances, {extra['num_frames']} frames, condition={extra['condition_mode']}, "
        f"postprocess={extra['postprocess']})",
        "".ljust(width) + "".join(c.rjust(12) for c in cols),
    ]
    for label, key in _TABLE_ROWS:
        lines.append(label.ljust(width) + "".join(_fmt(scores[c].get(key)).rjust(12) for c in cols))
    lines.append(
        "baseline/model MAE".ljust(width)
        + "".rjust(12) * (1 + len(offline))
        + "".join(_fmt(extra["mae_ratios"][n]["lipsync"]).rjust(12) for n in names)
    )
    if offline:
        lines.append(
            "baseline/offline MAE".ljust(width)
            + "".rjust(24)
            + "".join(_fmt(extra["mae_ratios_offline"][n]["lipsync"]).rjust(12) for n in names)
        )
    checks = [("thresholds (streaming):" if offline else "thresholds:", extra["thresholds"])]
    if offline:
        checks.append(
            (
                f"thresholds (offline, {extra['offline_lookahead_frames']} frames ahead):",
                extra["thresholds_offline"],
            )
        )
    for title, table in checks:
        lines.append(title)
        for name, check in table.items():
            if name == "all_pass":
                continue
            lines.append(
                f"  {name:<32} {_fmt(check['value']):>10}  (bar {check['threshold']:g})  {_fmt(check['pass'])}"
            )
        lines.append(f"  {'all pass':<32} {_fmt(table['all_pass']):>10}")
    rate = extra.get("closure_rate", {})
    if rate:
        lines.append(
            "closures/s of speech (synthetic): phones {} reference {} model {}".format(
                _fmt(rate.get("bilabial_phone_events_per_second")),
                _fmt(rate.get("reference_closures_per_second")),
                _fmt(rate.get("model_closures_per_second")),
            )
        )
    for mode, summary in extra.get("other_conditions", {}).items():
        lines.append(
            f"condition={mode}: lipsync MAE {_fmt(summary['lipsync_mae'])}, MAE {_fmt(summary['mae'])}, "
            f"jawOpen r {_fmt(summary['jaw_open_pearson'])}, closure acc {_fmt(summary['lip_closure_accuracy'])}, "
            f"all pass {_fmt(summary['all_pass'])}"
        )
    real = extra.get("real_voices")
    if real and "summary" in real:
        for source, s in real["summary"].items():
            lines.append(
                f"real voices [{source}] {s['files']} files: jaw~RMS r {_fmt(s.get('jaw_rms_r'))} "
                f"(dB {_fmt(s.get('jaw_log_rms_r'))}), jaw pause {_fmt(s.get('jaw_pause_mean'))} vs speech "
                f"{_fmt(s.get('jaw_speech_mean'))}, closures/s {_fmt(s.get('closures_per_second'))}"
            )
    elif real:
        lines.append(f"real voices: {real.get('skipped', 'not run')}")
    return "\n".join(lines)


def format_baselines(report: Mapping[str, Any]) -> str:
    """A text table of :func:`avzoo.evaluation.av_lipsync.evaluate_baselines`."""
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


__all__ = ["format_baselines", "format_table", "metric", "metrics_list", "write_json"]
