#!/usr/bin/env bash
# Times the pytest suite in one process and with pytest-xdist workers, alternating runs, and prints
# JSON (also written to --out). Decides scripts/test.sh's default; the test results do not matter here.
#
# Usage: benchmarks/test_suite_time.sh [--out PATH] [--repeats N] [--workers N] [pytest args...]
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
OUT="$REPO/benchmarks/results/test_suite_time.json"
REPEATS=1
WORKERS=2
while [ $# -gt 0 ]; do
    case "$1" in
        --out) OUT="$2"; shift 2 ;;
        --repeats) REPEATS="$2"; shift 2 ;;
        --workers) WORKERS="$2"; shift 2 ;;
        *) break ;;
    esac
done
PYTHON="${PYTHON:-python}"

plain=()
xdist=()
for _ in $(seq "$REPEATS"); do
    for mode in plain xdist; do
        args=(-q -p no:cacheprovider)
        [ "$mode" = xdist ] && args+=(-n "$WORKERS")
        start=$(date +%s.%N)
        "$PYTHON" -m pytest "${args[@]}" "$@" >/dev/null 2>&1
        secs=$("$PYTHON" -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 1))" "$start" "$(date +%s.%N)")
        echo "[test_suite_time] $mode: ${secs}s" >&2
        if [ "$mode" = plain ]; then plain+=("$secs"); else xdist+=("$secs"); fi
    done
done

mkdir -p "$(dirname "$OUT")"
"$PYTHON" - "$OUT" "$WORKERS" "${plain[*]}" "${xdist[*]}" <<'PY'
import json, os, sys
out, workers, plain, xdist = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(), sys.argv[4].split()
result = {
    "plain_s": [float(x) for x in plain],
    f"xdist_{workers}_workers_s": [float(x) for x in xdist],
    "cpus": os.cpu_count(),
    "load_average_1min_after": round(os.getloadavg()[0], 2),
    "note": "wall time of `python -m pytest` over the current tree; shared machine",
}
json.dump(result, open(out, "w"), indent=2)
print(json.dumps(result, indent=2))
PY
