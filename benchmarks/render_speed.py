"""Frames per second of the 2D face renderer (``avzoo.render``) on one CPU core.

Renders a smooth random (T, 52) blendshape clip with random head pose for several identities
(random hair, glasses, facial hair, camera shake and sensor noise as sampled) at each size, and
reports the best and median throughput over ``--repeats`` runs. The process pins itself to one
core (Linux) and limits OpenCV and BLAS to one thread, so the numbers are single-core numbers.

Two clocks: ``cpu`` divides the frames by the CPU time the rendering thread itself used
(``time.thread_time``), which stays meaningful when other processes share the core; ``wall`` by
elapsed time, which equals it on an idle machine and is lower under load. Timings depend on the
machine and its load; the JSON records both.

Usage:
    python benchmarks/render_speed.py [--sizes 96 224 512] [--frames 300] [--identities 4]
                                      [--repeats 5] [--out PATH]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from avzoo.render import FaceRenderer, random_identity  # noqa: E402

TARGETS = {96: 500.0, 224: 100.0}  # frames/s on one core, from the renderer's brief


def clip(frames: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Smooth random blendshapes (T, 52) in [0, 1] and head pose (T, 3), like a talking face."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames)[:, None]
    freq = rng.uniform(0.02, 0.2, (1, 52))
    phase = rng.uniform(0, 2 * np.pi, (1, 52))
    amp = rng.uniform(0.0, 0.7, (1, 52))
    b = np.clip(amp * (0.5 + 0.5 * np.sin(freq * t + phase)), 0, 1).astype(np.float32)
    pose = 0.15 * np.sin(
        np.arange(frames)[:, None] * rng.uniform(0.01, 0.05, (1, 3)) + rng.uniform(0, 6, (1, 3))
    )
    return b, pose


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[96, 224, 512])
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--identities", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "render_speed.json")
    args = ap.parse_args()

    cv2.setNumThreads(1)
    pinned = None
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        pinned = core

    renderers = [FaceRenderer(random_identity(seed)) for seed in range(args.identities)]
    clips = [clip(args.frames, seed) for seed in range(args.identities)]
    results = {}
    for size in args.sizes:
        for r, (b, pose) in zip(renderers, clips, strict=True):
            r.render(b[:2], size=size, head_pose=pose[:2])  # warm the per-size caches
        wall, cpu = [], []
        n = args.frames * len(renderers)
        for _ in range(args.repeats):
            w0, c0 = time.perf_counter(), time.thread_time()
            for r, (b, pose) in zip(renderers, clips, strict=True):
                r.render(b, size=size, head_pose=pose)
            cpu.append(n / (time.thread_time() - c0))
            wall.append(n / (time.perf_counter() - w0))
        results[str(size)] = {
            "cpu_fps_best": round(max(cpu), 1),
            "cpu_fps_median": round(statistics.median(cpu), 1),
            "wall_fps_best": round(max(wall), 1),
            "wall_fps_median": round(statistics.median(wall), 1),
            "cpu_ms_per_frame_best": round(1000 / max(cpu), 3),
            "target_fps": TARGETS.get(size),
        }
        print(f"{size:4d} px: cpu {max(cpu):7.1f} fps (median {statistics.median(cpu):7.1f}), "
              f"wall {max(wall):7.1f} fps (median {statistics.median(wall):7.1f})"
              + (f"  target {TARGETS[size]:.0f}" if size in TARGETS else ""))  # fmt: skip

    report = {
        "benchmark": "render_speed",
        "frames_per_identity": args.frames,
        "identities": args.identities,
        "repeats": args.repeats,
        "pinned_core": pinned,
        "threads": {"opencv": cv2.getNumThreads(), "omp": os.environ.get("OMP_NUM_THREADS")},
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "cpu_count": os.cpu_count(),
        "machine": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "opencv": cv2.__version__,
        "numpy": np.__version__,
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
