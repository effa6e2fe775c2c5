"""Load times of the real-data adapters on the shared recordings, and how well their mixtures add up.

Measures, on ``$AVZOO_SHARED_DATA`` (default ``../shared/data``):

* ``load_ravdess`` on the 960 RAVDESS takes (paths only, nothing decoded) and the time to decode
  ``--decode`` of its rows to 16 kHz through ``datasets``;
* ``load_mixture_folder`` on ``real-mixtures`` (with its decode-everything length/sum check), and per
  mixture the mixture-to-error ratio ``10 log10(|mix|^2 / |mix - s1 - s2|^2)`` in dB at 16 kHz, which
  says how exactly each mixture is the sum of its references.

Usage:
    python benchmarks/data_adapters.py [--decode 50] [--out benchmarks/results/data_adapters.json]

Timings depend on the machine and its load (the JSON records the machine; first calls include
importing torch/torchcodec, so each load is timed after a warm-up call).
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from avzoo.data import load_mixture_folder, load_ravdess  # noqa: E402


def timed(fn, repeat: int = 3) -> tuple[float, object]:
    fn()  # warm-up: imports and file-system caches
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decode", type=int, default=50, help="RAVDESS rows to decode")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "data_adapters.json"))
    args = parser.parse_args()
    shared = Path(os.environ.get("AVZOO_SHARED_DATA", REPO.parent / "shared" / "data"))
    if not shared.is_dir():
        sys.exit(f"shared recordings not found at {shared} (set AVZOO_SHARED_DATA)")

    ravdess_s, ravdess = timed(lambda: load_ravdess(shared / "real-speech" / "ravdess"))
    rows = ravdess.select(range(min(args.decode, len(ravdess))))
    start = time.perf_counter()
    seconds = sum(len(r["audio"]["array"]) for r in rows) / 16000
    decode_s = time.perf_counter() - start

    mixtures_s, mixtures = timed(lambda: load_mixture_folder(shared / "real-mixtures"))
    ratios = {}
    for row in mixtures:
        mix, s1, s2 = (np.asarray(row[k]["array"], np.float64) for k in ("mixture", "s1", "s2"))
        ratios[row["id"]] = round(float(10 * np.log10(np.sum(mix**2) / np.sum((mix - s1 - s2) ** 2))), 2)

    result = {
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
        "ravdess": {
            "rows": len(ravdess),
            "load_seconds": round(ravdess_s, 3),
            "decoded_rows": len(rows),
            "decoded_audio_seconds": round(seconds, 2),
            "decode_seconds": round(decode_s, 3),
            "decode_real_time_factor": round(decode_s / seconds, 4),
        },
        "real_mixtures": {
            "rows": len(mixtures),
            "load_with_check_seconds": round(mixtures_s, 3),
            "mixture_to_error_db": ratios,
        },
    }
    print(json.dumps(result, indent=2))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
