"""Cost of seeding the Hugging Face cache with the bundled checkpoints (what ``import avzoo`` runs).

Times :func:`avzoo.pretrained.seed_hf_cache_on_import` into a temporary cache:

* ``first``: an empty cache (hash every file, write links, refs/main, the .no_exist records);
* ``up_to_date``: an already seeded cache (the cost every later ``import avzoo`` pays);
* ``touched``: the files were rewritten with the same bytes (e.g. a reinstall): rehash, same revision.

It uses the checkpoints bundled in ``avzoo/pretrained/``; when none is bundled yet, a randomly initialised default
av-lipsync folder stands in, laid out like a bundled one (``config.json``, ``model.safetensors``,
``preprocessor_config.json`` of the processor; no code). Medians over
``--repeats`` runs; the machine may be shared with other jobs, so treat them as upper bounds.

Usage:
    python benchmarks/pretrained_seed.py [--repeats 200] [--out benchmarks/results/pretrained_seed.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ["AVZOO_SEED_HF_CACHE"] = "0"  # the import below must not seed the user's cache

import avzoo.pretrained as pretrained  # noqa: E402

os.environ.pop("AVZOO_SEED_HF_CACHE")


def stand_in(root: Path) -> None:
    import torch

    from avzoo.models.av_lipsync import AvLipsyncConfig, AvLipsyncModel, AvLipsyncProcessor

    torch.manual_seed(0)
    AvLipsyncModel(AvLipsyncConfig()).eval().save_pretrained(root / "av-lipsync")
    AvLipsyncProcessor().save_pretrained(root / "av-lipsync")


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return 1000.0 * (time.perf_counter() - start)


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median_ms": round(statistics.median(ordered), 4),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 4),
        "max_ms": round(ordered[-1], 4),
        "runs": len(ordered),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "pretrained_seed.json")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        source = "bundled"
        if not pretrained.bundled():
            source = "stand-in (random default av-lipsync)"
            stand_in(tmp / "pretrained")
            pretrained.ROOT = tmp / "pretrained"
        folders = pretrained.bundled()
        files = [p for folder in folders.values() for p in folder.rglob("*") if p.is_file()]
        size = sum(p.stat().st_size for p in files)
        os.environ["HF_HUB_CACHE"] = str(tmp / "cache")
        from huggingface_hub import constants

        constants.HF_HUB_CACHE = str(tmp / "cache")

        first = []
        for _ in range(max(3, args.repeats // 20)):
            shutil.rmtree(tmp / "cache", ignore_errors=True)
            first.append(timed(pretrained.seed_hf_cache_on_import))
        assert pretrained.seed_hf_cache_on_import() == [pretrained.repo_id(n) for n in folders]
        up_to_date = [timed(pretrained.seed_hf_cache_on_import) for _ in range(args.repeats)]
        touched = []
        for _ in range(max(3, args.repeats // 20)):
            for path in files:
                path.write_bytes(path.read_bytes())
            touched.append(timed(pretrained.seed_hf_cache_on_import))
        bundled_call = [timed(pretrained.bundled) for _ in range(args.repeats)]

    result = {
        "checkpoints": sorted(folders),
        "source": source,
        "files": len(files),
        "bytes": size,
        "first_seed": summary(first),
        "up_to_date": summary(up_to_date),
        "touched_same_bytes": summary(touched),
        "bundled_scan": summary(bundled_call),
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "shared": True},
    }
    print(json.dumps(result, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
