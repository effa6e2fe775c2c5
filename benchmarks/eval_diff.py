"""Compare two evaluation JSON files number by number (e.g. a re-run against the bundled eval_results.json).

Walks both documents in parallel and reports every numeric leaf that differs by more than ``--tol``, the
largest absolute difference, and keys present on one side only. Timing and provenance fields (``seconds*``,
``command``, ``corpus``, ``model``, ``machine`` when they are plain values, not sections) are skipped: they
differ between runs by design.

    python benchmarks/eval_diff.py avzoo/pretrained/av-lipsync/eval_results.json /tmp/eval_new.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

SKIP = ("seconds", "command", "corpus", "model", "machine", "report", "path")


def _skipped(key: str) -> bool:
    return any(key == s or key.startswith(f"{s}_") for s in SKIP)


def walk(a: Any, b: Any, path: str, out: dict[str, Any]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if _skipped(key) and not isinstance(a.get(key, b.get(key)), (dict, list)):
                continue
            if key not in a or key not in b:
                out["one_side"].append(f"{path}/{key}")
                continue
            walk(a[key], b[key], f"{path}/{key}", out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            walk(x, y, f"{path}[{i}]", out)
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        out["numbers"] += 1
        if math.isnan(a) and math.isnan(b):
            return
        diff = abs(a - b)
        if diff > out["max_diff"][0]:
            out["max_diff"] = (diff, path)
        if diff > out["tol"]:
            out["differ"].append((path, a, b))
    elif a != b:
        out["differ"].append((path, a, b))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--tol", type=float, default=1e-6, help="absolute tolerance per number (1e-6)")
    args = parser.parse_args(argv)
    out: dict[str, Any] = {"tol": args.tol, "numbers": 0, "differ": [], "one_side": [], "max_diff": (0.0, "")}
    walk(json.loads(args.old.read_text()), json.loads(args.new.read_text()), "", out)
    summary = {
        "numbers_compared": out["numbers"],
        "max_abs_diff": out["max_diff"][0],
        "max_abs_diff_at": out["max_diff"][1],
        "over_tolerance": [{"at": p, "old": x, "new": y} for p, x, y in out["differ"]],
        "one_side_only": out["one_side"],
    }
    print(json.dumps(summary, indent=2))
    return 1 if out["differ"] else 0


if __name__ == "__main__":
    sys.exit(main())
