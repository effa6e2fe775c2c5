"""Real-time factor and agreement of the three eGeMAPS window methods in ``avzoo.features.egemaps``.

For each context length it times ``egemaps_frames`` (one 88-vector per frame at ``--fps``) with the
"opensmile" (one pass, openSMILE list-of-windows functionals) and "numpy" (LLDs once + numpy statistics)
methods on the whole clip, and the "naive" method (openSMILE per cropped window) on an evenly spaced
subset of the frames, from which its full-clip time is extrapolated (it is linear in the window count).
RTF = processing seconds / audio seconds (lower is faster; < 1 is faster than real time).

Agreement: on the naive subset, per feature, Pearson r, Spearman rank correlation and the median absolute
error of each fast method against "naive". Features whose values are constant get r = null. The
coefficient-of-variation features (``*_stddevNorm``) of LLDs whose mean is near zero (mfcc2-4, spectral
slopes) are ratios of tiny numbers: one boundary frame can flip them, so their Pearson r is low for any
method that does not crop exactly like "naive".

Usage:
    python benchmarks/egemaps_rtf.py [--seconds 60] [--fps 30] [--contexts 2 20] [--out PATH]

The audio is real read speech: LibriSpeech utterances from the shared recordings folder
(``$AVZOO_SHARED_DATA`` or ``../shared/data``), concatenated to ``--seconds``. Timings depend on the
machine and its load; the JSON records both.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from avzoo.features.egemaps import EGEMAPS_NAMES, egemaps_windows, frame_end_times  # noqa: E402
from avzoo.features.frames import frame_count  # noqa: E402
from avzoo.io.audio import load_audio  # noqa: E402

SR = 16000


def speech(seconds: float) -> tuple[np.ndarray, str]:
    root = Path(os.environ.get("AVZOO_SHARED_DATA", REPO.parent / "shared" / "data"))
    folder = root / "real-speech" / "librispeech" / "train-clean-100"
    files = sorted(folder.glob("*.flac"))
    if not files:
        raise SystemExit(f"no LibriSpeech files under {folder}; set AVZOO_SHARED_DATA")
    parts, total, used = [], 0, []
    for f in files:
        parts.append(load_audio(f))
        used.append(f.name)
        total += len(parts[-1])
        if total >= seconds * SR:
            break
    audio = np.concatenate(parts)[: int(seconds * SR)]
    return audio, f"{folder} ({len(used)} files, first {used[0]})"


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def agreement(ref: np.ndarray, other: np.ndarray) -> dict:
    per = {}
    rs, rhos = [], []
    for j, name in enumerate(EGEMAPS_NAMES):
        a, b = ref[:, j].astype(np.float64), other[:, j].astype(np.float64)
        varies = a.std() > 0 and b.std() > 0
        r = float(np.corrcoef(a, b)[0, 1]) if varies else None
        rho = float(spearmanr(a, b).statistic) if varies else None
        if r is not None:
            rs.append(r)
            rhos.append(rho)
        per[name] = {
            "r": None if r is None else round(r, 4),
            "spearman": None if rho is None else round(rho, 4),
            "median_abs_err": float(np.median(np.abs(a - b))),
            "naive_std": float(a.std()),
        }
    rs, rhos = np.asarray(rs), np.asarray(rhos)
    stable = [v["r"] for n, v in per.items() if v["r"] is not None and not n.endswith("stddevNorm")]
    return {
        "median_r": float(np.median(rs)),
        "median_r_without_stddevNorm": float(np.median(stable)),
        "features_without_stddevNorm_r_ge_0.95": int(np.sum(np.asarray(stable) >= 0.95)),
        "features_without_stddevNorm": len(stable),
        "median_spearman": float(np.median(rhos)),
        "features_spearman_ge_0.9": int(np.sum(rhos >= 0.9)),
        "features_r_ge_0.99": int(np.sum(rs >= 0.99)),
        "features_r_ge_0.9": int(np.sum(rs >= 0.9)),
        "features_with_r": len(rs),
        "worst": sorted(
            ((n, v["r"]) for n, v in per.items() if v["r"] is not None), key=lambda item: item[1]
        )[:8],
        "per_feature": per,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--contexts", type=float, nargs="+", default=[2.0, 20.0])
    parser.add_argument("--naive-windows", type=int, default=90, help="frames timed with the naive method")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "egemaps_rtf.json")
    args = parser.parse_args()

    audio, source = speech(args.seconds)
    duration = len(audio) / SR
    n_frames = frame_count(len(audio), SR, args.fps)
    ends = frame_end_times(n_frames, args.fps, duration)
    subset = np.unique(np.linspace(0, n_frames - 1, min(args.naive_windows, n_frames)).round().astype(int))
    egemaps_windows(audio[: 2 * SR], [1.0])  # warm-up: library load and first openSMILE instance

    report = {
        "benchmark": "egemaps_rtf",
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "note": "timings depend on load; this machine may be shared with other jobs",
        },
        "audio": {"source": source, "seconds": duration, "sampling_rate": SR},
        "fps": args.fps,
        "frames": n_frames,
        "results": [],
        "agreement_vs_naive": {},
        "numpy_equal_to_opensmile": {},
    }
    for context in args.contexts:
        rows = {}
        for method in ("opensmile", "numpy"):
            feats, secs = timed(lambda m=method, c=context: egemaps_windows(audio, ends, context=c, method=m))
            rows[method] = feats
            report["results"].append(
                {
                    "method": method,
                    "context": context,
                    "windows": n_frames,
                    "seconds": secs,
                    "rtf": secs / duration,
                }
            )
        naive, secs = timed(lambda c=context: egemaps_windows(audio, ends[subset], context=c, method="naive"))
        full_secs = secs / len(subset) * n_frames
        report["results"].append(
            {
                "method": "naive",
                "context": context,
                "windows": len(subset),
                "seconds": secs,
                "extrapolated_seconds_all_frames": full_secs,
                "rtf": full_secs / duration,
            }
        )
        report["agreement_vs_naive"][str(context)] = {
            method: agreement(naive, rows[method][subset]) for method in ("opensmile", "numpy")
        }
        same = np.isclose(rows["numpy"], rows["opensmile"], rtol=1e-3, atol=1e-3).all(axis=0)
        report["numpy_equal_to_opensmile"][str(context)] = {
            "features_equal_on_every_frame": int(same.sum()),
            "differing": [n for n, ok in zip(EGEMAPS_NAMES, same, strict=True) if not ok],
        }

    print(f"audio: {duration:.1f} s of speech, {n_frames} frames at {args.fps:g} fps")
    print(f"{'method':<10} {'context':>8} {'windows':>8} {'seconds':>9} {'RTF':>8}")
    for row in report["results"]:
        print(
            f"{row['method']:<10} {row['context']:>8.1f} {row['windows']:>8d} {row['seconds']:>9.3f} {row['rtf']:>8.4f}"
        )
    for context, methods in report["agreement_vs_naive"].items():
        for method, agg in methods.items():
            print(
                f"context {context} s, {method} vs naive: median r {agg['median_r']:.4f}, "
                f"{agg['features_r_ge_0.99']}/{agg['features_with_r']} features r>=0.99, "
                f"{agg['features_r_ge_0.9']} r>=0.9, {agg['features_spearman_ge_0.9']} Spearman>=0.9; "
                f"worst r {agg['worst'][:4]}; without *_stddevNorm: median r "
                f"{agg['median_r_without_stddevNorm']:.4f}, {agg['features_without_stddevNorm_r_ge_0.95']}/"
                f"{agg['features_without_stddevNorm']} r>=0.95"
            )
    for context, eq in report["numpy_equal_to_opensmile"].items():
        print(
            f"context {context} s: numpy equals opensmile (1e-3) on {eq['features_equal_on_every_frame']}/88 features"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
