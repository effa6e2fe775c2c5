"""crisp_mouth on synthetic tracks: jitter and lip closures before/after, and the streaming-vs-offline gap.

Until a trained av-lipsync exists, the "predictions" are fabricated from reference viseme tracks the way a
frame-wise regression model errs: ``pred = clip(gain * gaussian(ref, blur) + bias + noise, 0, 1)`` on the mouth
channels (undershoot, temporal blur, a small offset that keeps the mouth ajar, white per-frame noise = jitter).
References come from ``avzoo.synth.visemes.phones_to_blendshapes`` on random ARPAbet phone sequences with pauses
and random speaker styles.

Steps:
1. Offline parameters: a grid search over (sigma, edge0, edge1, scale) on the calibration half, minimising
   ``speech MAE + 0.1 * (1 - closure accuracy) + 0.3 * (1 - open accuracy) + 0.005 * max(jitter ratio - 1, 0)``:
   a false closure costs three times a missed one, and each unit of jitter above the reference's 0.005 MAE.
2. Streaming parameters: ``crisp_mouth.calibrate_stream`` on the calibration half (alpha and per-channel absolute
   edges from the typical utterance level of each channel).
3. On the held-out half: metrics of the raw tracks, the offline filter and the streaming filter (calibrated, and
   with ``alpha_from_sigma`` instead of the searched alpha), plus the stream-vs-offline gap (MAE on the mouth
   channels) next to the raw-vs-offline distance for scale.

Metrics (``avzoo.metrics.functional.blendshape.blendshape_errors``): jitter of the mouth channels (mean |second
difference| x fps², lower is steadier) and its ratio to the reference's; lip-closure accuracy (reference-closed
frames predicted closed) and lip-open accuracy; speech-channel MAE.

With ``--model`` and ``--corpus`` the tracks are a trained model's real predictions instead: the corpus'
validation split calibrates, its test split (held-out speakers and sentences) is scored. That is how the
bundled checkpoint's filter parameters are chosen.

Usage:
    python benchmarks/crisp_mouth.py [--utterances 40] [--seed 0] [--out benchmarks/results/crisp_mouth.json]
    python benchmarks/crisp_mouth.py --model avzoo/pretrained/av-lipsync --corpus runs/corpus --utterances 150
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from avzoo import arkit  # noqa: E402
from avzoo.metrics.functional.blendshape import blendshape_errors  # noqa: E402
from avzoo.models.av_lipsync.crisp_mouth import (  # noqa: E402
    DEFAULT_OFFLINE,
    CrispMouthStream,
    alpha_from_sigma,
    calibrate_stream,
    crisp_mouth,
    gaussian_smooth,
    mouth_channels,
)
from avzoo.synth.visemes import TARGETS, ArticulationStyle, Phone, phones_to_blendshapes  # noqa: E402

FPS = 30.0
MOUTH = mouth_channels(arkit.ARKIT_NAMES)
MOUTH_NAMES = [arkit.ARKIT_NAMES[i] for i in MOUTH]
NOISE = {"blur_sigma_frames": 1.2, "gain": 0.85, "bias": 0.02, "noise_sd": 0.03}
GRID = {
    "sigma": [0.5, 0.75, 1.0, 1.5, 2.0],
    "edge0": [0.0, 0.1, 0.15, 0.2, 0.25],
    "edge1": [0.3, 0.4, 0.5, 0.6, 0.7],
    "scale": [1.0, 1.1, 1.2, 1.3],
}
#: Closure-seal edges on the mean lip press (None: no seal); searched after the gate.
SEAL_GRID = [(None, None), (0.05, 0.12), (0.08, 0.16), (0.1, 0.2), (0.12, 0.25), (0.15, 0.3), (0.2, 0.35)]


def reference(rng: np.random.Generator) -> np.ndarray:
    """A 3-5 s viseme track: phone runs of 60-180 ms, a pause of 150-500 ms every 4-9 phones."""
    symbols = [s for s in TARGETS if s != "sil"]
    seconds = float(rng.uniform(3.0, 5.0))
    phones, t, run = [], float(rng.uniform(0.1, 0.4)), int(rng.integers(4, 10))
    while t < seconds - 0.3:
        if run == 0:
            t += float(rng.uniform(0.15, 0.5))
            run = int(rng.integers(4, 10))
            continue
        dur = float(rng.uniform(0.06, 0.18))
        phones.append(Phone(str(rng.choice(symbols)), t, t + dur, stress=float(rng.uniform(0.85, 1.15))))
        t += dur
        run -= 1
    return phones_to_blendshapes(phones, duration=seconds, fps=FPS, style=ArticulationStyle.random(rng))


def fabricate_prediction(ref: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    pred = ref.astype(np.float64).copy()
    mouth = gaussian_smooth(ref[:, MOUTH].astype(np.float64), NOISE["blur_sigma_frames"])
    mouth = NOISE["gain"] * mouth + NOISE["bias"] + NOISE["noise_sd"] * rng.standard_normal(mouth.shape)
    pred[:, MOUTH] = mouth
    return np.clip(pred, 0.0, 1.0).astype(np.float32)


def metrics(preds: list[np.ndarray], refs: list[np.ndarray]) -> dict[str, float]:
    full = blendshape_errors(preds, refs, fps=FPS)
    mouth = blendshape_errors(
        [p[:, MOUTH] for p in preds], [r[:, MOUTH] for r in refs], fps=FPS, names=MOUTH_NAMES
    )
    return {
        "speech_mae": full["mae_per_group"]["speech"],
        "jaw_open_pearson": full["pearson_per_channel"]["jawOpen"],
        "lip_closure_accuracy": full["lip_closure_accuracy"],
        "lip_open_accuracy": full["lip_open_accuracy"],
        "mouth_jitter": mouth["jitter_pred"],
        "mouth_jitter_reference": mouth["jitter_ref"],
        "mouth_jitter_ratio": mouth["jitter_ratio"],
    }


def objective(m: dict[str, float]) -> float:
    """Lower is better. A false closure (lips snapping shut mid-vowel) costs 3x a missed one; jitter above the
    reference's costs about as much as 0.005 MAE per unit of ratio."""
    jitter_excess = max(m["mouth_jitter_ratio"] - 1.0, 0.0)
    return (
        m["speech_mae"]
        + 0.1 * (1.0 - m["lip_closure_accuracy"])
        + 0.3 * (1.0 - m["lip_open_accuracy"])
        + 0.005 * jitter_excess
    )


def gap(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    return float(
        np.concatenate([np.abs(x[:, MOUTH] - y[:, MOUTH]).ravel() for x, y in zip(a, b, strict=True)]).mean()
    )


def model_tracks(model_dir: str, corpus_dir: str, split: str, limit: int) -> tuple[list, list]:
    """References and a trained model's raw predictions (oracle emotion condition) on a corpus split."""
    from avzoo.evaluation.av_lipsync import load_model, load_test_rows, predict_rows
    from avzoo.synth.corpus import load_corpus

    model, fe = load_model(model_dir)
    ds = load_corpus(corpus_dir)[split]
    ds = ds.select(range(min(limit, len(ds))))
    rows = load_test_rows(ds)
    return [r["reference"] for r in rows], predict_rows(model, fe, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--utterances", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--model", default=None, help="a trained av-lipsync folder: calibrate on its predictions"
    )
    parser.add_argument(
        "--corpus", default=None, help="corpus folder (validation calibrates, test is held out)"
    )
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "crisp_mouth.json")
    args = parser.parse_args()
    start = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    if args.model:
        if not args.corpus:
            parser.error("--model needs --corpus")
        cal_refs, cal_preds = model_tracks(args.model, args.corpus, "validation", args.utterances)
        test_refs, test_preds = model_tracks(args.model, args.corpus, "test", args.utterances)
        half = len(cal_refs)
        args.utterances = len(cal_refs) + len(test_refs)
    else:
        refs = [reference(rng) for _ in range(args.utterances)]
        preds = [fabricate_prediction(r, rng) for r in refs]
        half = args.utterances // 2
        cal_refs, cal_preds, test_refs, test_preds = refs[:half], preds[:half], refs[half:], preds[half:]

    best = None
    for sigma, edge0, edge1, scale in itertools.product(*GRID.values()):
        if edge1 <= edge0:
            continue
        params = {"sigma": sigma, "edge0": edge0, "edge1": edge1, "scale": scale}
        score = objective(metrics([crisp_mouth(p, **params) for p in cal_preds], cal_refs))
        if best is None or score < best[0]:
            best = (score, params)
    assert best is not None
    offline_params = best[1]
    # Stage 2: the closure seal on top of the chosen gate (None keeps it off).
    for e0, e1 in SEAL_GRID:
        params = {**offline_params, "seal_edge0": e0, "seal_edge1": e1}
        score = objective(metrics([crisp_mouth(p, **params) for p in cal_preds], cal_refs))
        if score < best[0]:
            best = (score, params)
    offline_params = best[1]
    gate_only = {k: offline_params[k] for k in ("sigma", "edge0", "edge1", "scale")}
    stream_params = calibrate_stream(cal_preds, gate_only)
    stream_params["seal_edge0"], stream_params["seal_edge1"] = None, None
    best_stream = None
    for e0, e1 in SEAL_GRID:
        trial = {**stream_params, "seal_edge0": e0, "seal_edge1": e1}
        keys = ("alpha", "edge0", "edge1", "scale", "seal_edge0", "seal_edge1")
        out = [CrispMouthStream(**{k: trial[k] for k in keys})(p) for p in cal_preds]
        score = objective(metrics(out, cal_refs))
        if best_stream is None or score < best_stream[0]:
            best_stream = (score, trial)
    stream_params = best_stream[1]
    stream_keys = ("alpha", "edge0", "edge1", "scale", "seal_edge0", "seal_edge1")

    def run_stream(params: dict) -> list[np.ndarray]:
        return [CrispMouthStream(**{k: params[k] for k in stream_keys})(p) for p in test_preds]

    offline = [crisp_mouth(p, **offline_params) for p in test_preds]
    offline_no_seal = [crisp_mouth(p, **gate_only) for p in test_preds]
    default_offline = [crisp_mouth(p, **DEFAULT_OFFLINE) for p in test_preds]
    streamed = run_stream(stream_params)
    variance_matched = {**stream_params, "alpha": alpha_from_sigma(offline_params["sigma"])}
    streamed_matched = run_stream(variance_matched)
    mouth_levels = {
        arkit.ARKIT_NAMES[i]: round(stream_params["edge1"][i] / offline_params["edge1"], 4) for i in MOUTH
    }
    result = {
        "benchmark": "crisp_mouth",
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "note": "shared machine",
        },
        "data": {
            "utterances": args.utterances,
            "calibration": half,
            "held_out": args.utterances - half,
            "frames_held_out": int(sum(len(r) for r in test_refs)),
            "seed": args.seed,
            "predictions": f"model {args.model} on {args.corpus}" if args.model else {"fabricated": NOISE},
        },
        "grid": GRID,
        "offline_params": offline_params,
        "stream_params": {
            "alpha": stream_params["alpha"],
            "scale": stream_params["scale"],
            "seal_edge0": stream_params["seal_edge0"],
            "seal_edge1": stream_params["seal_edge1"],
            "edges_are": "offline relative edges x the median utterance level of each channel",
            "typical_level_per_channel": mouth_levels,
            "edge0": stream_params["edge0"],
            "edge1": stream_params["edge1"],
        },
        "alpha_from_sigma": alpha_from_sigma(offline_params["sigma"]),
        "held_out": {
            "raw": metrics(test_preds, test_refs),
            "offline": metrics(offline, test_refs),
            "offline_without_seal": metrics(offline_no_seal, test_refs),
            "offline_default_params": {"params": DEFAULT_OFFLINE, **metrics(default_offline, test_refs)},
            "stream_calibrated": metrics(streamed, test_refs),
            "stream_alpha_from_sigma": metrics(streamed_matched, test_refs),
            "reference": metrics(test_refs, test_refs),
        },
        "gap_mae_mouth": {
            "stream_calibrated_vs_offline": gap(streamed, offline),
            "stream_alpha_from_sigma_vs_offline": gap(streamed_matched, offline),
            "raw_vs_offline": gap(test_preds, offline),
        },
        "seconds": round(time.perf_counter() - start, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    rows = ["raw", "offline", "stream_calibrated", "stream_alpha_from_sigma", "reference"]
    print(f"offline params {offline_params}; stream alpha {stream_params['alpha']:.3f}")
    print(f"{'':26s} {'MAE':>7s} {'jitter':>8s} {'ratio':>6s} {'closure':>8s} {'open':>6s}")
    for row in rows:
        m = result["held_out"][row]
        print(
            f"{row:26s} {m['speech_mae']:7.4f} {m['mouth_jitter']:8.3f} {m['mouth_jitter_ratio']:6.2f} "
            f"{m['lip_closure_accuracy']:8.3f} {m['lip_open_accuracy']:6.3f}"
        )
    print("gap (MAE, mouth channels):", {k: round(v, 4) for k, v in result["gap_mae_mouth"].items()})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
