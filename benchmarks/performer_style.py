"""Does a performer's style fitted on one real clip help on their other clips? (issue 10, item 3)

For every ordered pair of the t2a-mandarin clips (one speaker, one rig), fits a style on clip A (its take and
audio) and scores the model with it on clip B, beside the model without a style and beside clip B's own mean pose
held still (the baseline the target is stated against: calibrated lipsync MAE <= 0.8x the clip's mean-pose MAE).
Each style method is run with and without the fitted time offset, for each model mode (av-lipsync: the offline
quality mode, the default for files, and the streaming mode), so the modes compare on the same clips.

    python benchmarks/performer_style.py --out benchmarks/results/av_lipsync_performer_style.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import avzoo  # noqa: E402, F401  (registers the pipeline task)
from avzoo.animation.style import fit_style  # noqa: E402
from avzoo.evaluation.real_takes import run_take, score_take  # noqa: E402

CLIPS = ("a8", "a10", "A1")
T2A_FPS = 25.0


def _summary(score: dict) -> dict:
    return {
        "lipsync_mae": score["lipsync_mae"]["model"],
        "mean_pose_mae": score["lipsync_mae"]["take_mean_pose"],
        "ratio_to_mean_pose": score["lipsync_mae"]["ratio"],
        "jaw_r_lag0": score["jaw_open"]["r_lag0"],
        "jaw_r_best": score["jaw_open"]["r_best"],
        "jaw_best_lag_frames": score["jaw_open"]["best_lag_frames"],
        "lips_nearly_shut_model": score["lips_nearly_shut"]["model"],
        "lips_nearly_shut_take": score["lips_nearly_shut"]["take"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data", type=Path, default=REPO.parent / "shared" / "data" / "arkit-real" / "t2a-mandarin"
    )
    ap.add_argument("--model", default="avzoo/av-lipsync")
    ap.add_argument("--crisp-mouth", action="store_true", help="fit and score the mouth-filtered output")
    ap.add_argument(
        "--modes",
        nargs="+",
        default=["offline", "streaming"],
        help="model modes to run (default: offline streaming; use 'default' for a model without modes)",
    )
    ap.add_argument(
        "--out", type=Path, default=REPO / "benchmarks" / "results" / "av_lipsync_performer_style.json"
    )
    args = ap.parse_args()
    if not args.data.is_dir():
        sys.exit(f"{args.data} is missing: this benchmark needs the real t2a-mandarin clips")
    by_mode = {}
    for mode in args.modes:
        rows = _pairs(args, None if mode == "default" else mode)
        by_mode[mode] = {"rows": rows, "means": _means(rows)}
        _print(mode, rows)
    result = {
        "what": "style fitted on one t2a clip, scored on another (same speaker and rig); t2a at 25 fps",
        "model": args.model,
        "crisp_mouth": args.crisp_mouth,
        "target_ratio_to_mean_pose": 0.8,
        "by_mode": by_mode,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))


def _pairs(args: argparse.Namespace, mode: str | None) -> list[dict]:
    """Every (fit on, score on) pair of clips, for every style method, in one model mode."""
    from transformers import pipeline

    animate = pipeline("audio-to-blendshapes", model=str(args.model), model_kwargs={"use_safetensors": True})
    clips = {}
    for clip in CLIPS:
        run = run_take(
            args.data / f"{clip}.csv", args.data / f"{clip}.wav", animate, take_fps=T2A_FPS,
            crisp_mouth=args.crisp_mouth, mode=mode,
        )  # fmt: skip
        clips[clip] = (run.take, run.names, run.prediction)
    rows = []
    for target, (take, names, pred) in clips.items():
        raw = _summary(score_take(pred, take, names, T2A_FPS))
        rows.append({"fit_on": None, "score_on": target, "method": "none", "with_delay": False, **raw})
        for source in CLIPS:
            if source == target:
                continue
            s_take, s_names, s_pred = clips[source]
            for method in ("isotonic", "quantile"):
                for fit_delay in (False, True):
                    style = fit_style(s_pred, s_take, s_names, T2A_FPS, method=method, fit_delay=fit_delay)
                    styled = style.apply(pred, fps=T2A_FPS)
                    rows.append(
                        {
                            "fit_on": source,
                            "score_on": target,
                            "method": method,
                            "with_delay": fit_delay,
                            "delay_s": style.delay_s,
                            **_summary(score_take(styled, take, names, T2A_FPS)),
                        }
                    )
    return rows


def _print(mode: str, rows: list[dict]) -> None:
    print(f"== mode {mode}")
    print(
        f"{'method':16} {'fit':>4} -> {'score':5} {'MAE':>7} {'mean pose':>9} {'ratio':>6} {'jaw r0':>6} {'shut':>9}"
    )
    for r in rows:
        print(
            f"{_key(r):16} {r['fit_on'] or '-':>4} -> {r['score_on']:5} "
            f"{r['lipsync_mae']:7.4f} {r['mean_pose_mae']:9.4f} {r['ratio_to_mean_pose']:6.2f} "
            f"{r['jaw_r_lag0'] if r['jaw_r_lag0'] is not None else float('nan'):6.2f} "
            f"{r['lips_nearly_shut_model']:4.0%}/{r['lips_nearly_shut_take']:3.0%}"
        )
    for key, group in _means(rows).items():
        print(f"mean {key:22} ratio {group['ratio']:.2f}  jaw r0 {group['jaw_r_lag0']:.2f}")


def _key(row: dict) -> str:
    return row["method"] + ("+delay" if row["with_delay"] else "")


def _means(rows: list[dict]) -> dict[str, dict[str, float]]:
    """Mean ratio and jaw r per method over the scored pairs."""
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(_key(r), []).append(r)
    return {
        k: {
            "ratio": float(np.mean([r["ratio_to_mean_pose"] for r in v])),
            "jaw_r_lag0": float(
                np.nanmean([np.nan if r["jaw_r_lag0"] is None else r["jaw_r_lag0"] for r in v])
            ),
        }
        for k, v in groups.items()
    }


if __name__ == "__main__":
    with np.errstate(invalid="ignore", divide="ignore"):  # r of a channel the take holds still is undefined
        main()
