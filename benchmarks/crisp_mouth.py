"""crisp_mouth on synthetic tracks: jitter and lip closures before/after, and the streaming-vs-offline gap.

Until a trained av-lipsync exists, the "predictions" are fabricated from reference viseme tracks the way a
frame-wise regression model errs: ``pred = clip(gain * gaussian(ref, blur) + bias + noise, 0, 1)`` on the mouth
channels (undershoot, temporal blur, a small offset that keeps the mouth ajar, white per-frame noise = jitter).
References come from ``avzoo.synth.visemes.phones_to_blendshapes`` on random ARPAbet phone sequences with pauses
and random speaker styles.

The calibration itself is the library's, :func:`avzoo.release.crisp_mouth_calibration.calibrate_crisp_mouth`
(the one ``avzoo release av-lipsync`` runs): a grid search of the offline parameters on the calibration half
(``speech MAE + 0.1 * (1 - closure accuracy) + 0.3 * (1 - open accuracy) + 0.005 * max(jitter ratio - 1, 0)``),
``calibrate_stream`` for the streaming parameters, the closure seal on top of each, and on the held-out half the
metrics of the raw tracks, the offline and streaming filters and the stream-vs-offline gap (MAE on the mouth
channels) next to the raw-vs-offline distance for scale. See that module for the metrics.

The held-out rows ``*_without_keep_closures`` run the same calibrated parameters with ``keep_closures=False``
(the filter without its rule that keeps the raw frames' closures), so the rule's effect shows at equal settings.

With ``--model`` and ``--corpus`` the tracks are a trained model's real predictions instead: the corpus'
validation split calibrates, its test split (held-out speakers and sentences) is scored, as ``avzoo release``
does when it chooses the bundled checkpoint's filter parameters.

Usage:
    python benchmarks/crisp_mouth.py [--utterances 40] [--seed 0] [--out benchmarks/results/crisp_mouth.json]
    python benchmarks/crisp_mouth.py --model avzoo/pretrained/av-lipsync --corpus runs/corpus --utterances 150
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from avzoo.models.av_lipsync.crisp_mouth import CrispMouthStream, crisp_mouth, gaussian_smooth  # noqa: E402
from avzoo.release.crisp_mouth_calibration import (  # noqa: E402
    FPS,
    MOUTH,
    STREAM_KEYS,
    calibrate_crisp_mouth,
    metrics,
)
from avzoo.synth.visemes import TARGETS, ArticulationStyle, Phone, phones_to_blendshapes  # noqa: E402

NOISE = {"blur_sigma_frames": 1.2, "gain": 0.85, "bias": 0.02, "noise_sd": 0.03}


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


def model_tracks(model_dir: str, corpus_dir: str, split: str, limit: int) -> tuple[list, list]:
    """References and a trained model's raw predictions (oracle emotion condition) on a corpus split."""
    from avzoo.evaluation.av_lipsync import load_model, load_test_rows, predict_rows
    from avzoo.synth.corpus import load_corpus

    model, processor = load_model(model_dir)
    ds = load_corpus(corpus_dir)[split]
    ds = ds.select(range(min(limit, len(ds))))
    rows = load_test_rows(ds, float(processor.fps))
    return [r["reference"] for r in rows], predict_rows(model, processor, rows)


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

    report = calibrate_crisp_mouth(cal_preds, cal_refs, test_preds, test_refs)
    # The same calibrated parameters without keep_closures (the filter before it kept the raw frames' closures).
    plain = {"keep_closures": False}
    stream = {k: report["stream_params"][k] for k in STREAM_KEYS}
    report["held_out"]["offline_without_keep_closures"] = metrics(
        [crisp_mouth(p, **report["offline_params"], **plain) for p in test_preds], test_refs
    )
    report["held_out"]["stream_calibrated_without_keep_closures"] = metrics(
        [CrispMouthStream(**stream, **plain)(p) for p in test_preds], test_refs
    )
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
        **report,
        "seconds": round(time.perf_counter() - start, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    rows = [
        "raw",
        "offline",
        "offline_without_keep_closures",
        "stream_calibrated",
        "stream_calibrated_without_keep_closures",
        "stream_alpha_from_sigma",
        "reference",
    ]
    print(f"offline params {report['offline_params']}; stream alpha {report['stream_params']['alpha']:.3f}")
    print(f"{'':40s} {'MAE':>7s} {'jitter':>8s} {'ratio':>6s} {'closure':>8s} {'open':>6s}")
    for row in rows:
        m = result["held_out"][row]
        print(
            f"{row:40s} {m['speech_mae']:7.4f} {m['mouth_jitter']:8.3f} {m['mouth_jitter_ratio']:6.2f} "
            f"{m['lip_closure_accuracy']:8.3f} {m['lip_open_accuracy']:6.3f}"
        )
    print("gap (MAE, mouth channels):", {k: round(v, 4) for k, v in result["gap_mae_mouth"].items()})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
