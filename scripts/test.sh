#!/usr/bin/env bash
# The whole test suite, as CI runs it: install what is missing, lint, check formatting, run pytest.
# Every step runs even when an earlier one fails; the exit status is non-zero if any failed.
#
# Usage: scripts/test.sh [pytest args...]
# Environment: PYTHON (default: python); PYTEST_ARGS, e.g. "-n 2" for pytest-xdist workers.
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
PYTHON="${PYTHON:-python}"
# One process by default: on 2 cores, xdist workers each re-import torch, transformers and gradio
# and torch already uses both cores, so -n 2 gained nothing (benchmarks/test_suite_time.sh:
# plain 233 s and 296 s, -n 2 264 s and 282 s, on a busy shared machine).
read -r -a pytest_args <<<"${PYTEST_ARGS:-}"

PYTHON="$PYTHON" bash scripts/setup.sh || exit 1

status=0
step() {
    echo "+ $*"
    "$@" || status=1
}
step "$PYTHON" -m ruff check .
step "$PYTHON" -m ruff format --check .
# -m from the repo root tests this checkout even if `pip install -e` points elsewhere.
# A module that fails to import fails the run but does not stop the other modules' tests.
step "$PYTHON" -m pytest --continue-on-collection-errors --timeout 600 "${pytest_args[@]}" "$@"
exit "$status"
