#!/usr/bin/env bash
# Times avzoo's set-up on a fresh environment and prints JSON (also written to --out):
#   clone_s        git clone of this repo
#   venv_s         python -m venv
#   pip_install_s  pip install -e ".[dev]" into that empty venv (what `make setup` runs on a new machine)
#   make_setup_noop_s  scripts/setup.sh (`make setup`) again once everything is installed (the idempotent fast path)
#   apt_download_s     download of the apt packages and everything apt would pull in with them on a
#                      bare system, into a scratch folder (the system is left untouched; unpacking
#                      and configuring are not timed)
#
# Usage: benchmarks/setup_time.sh [--out PATH] [--no-pip-cache] [--skip-pip] [--keep]
# Network and the shared machine dominate these numbers; rerun before quoting them.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$REPO/benchmarks/results/setup_time.json"
PIP_CACHE=1
SKIP_PIP=0
KEEP=0
while [ $# -gt 0 ]; do
    case "$1" in
        --out) OUT="$2"; shift 2 ;;
        --no-pip-cache) PIP_CACHE=0; shift ;;
        --skip-pip) SKIP_PIP=1; shift ;;
        --keep) KEEP=1; shift ;;
        *) echo "unknown option '$1' (accepted: --out PATH, --no-pip-cache, --skip-pip, --keep)" >&2; exit 2 ;;
    esac
done

WORK="$(mktemp -d /tmp/avzoo-setup-time.XXXXXX)"
[ "$KEEP" -eq 1 ] || trap 'rm -rf "$WORK"' EXIT
now() { date +%s.%N; }
since() { python -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 2))" "$1" "$(now)"; }
log() { echo "[setup_time] $*" >&2; }

t=$(now); git clone -q "$REPO" "$WORK/clone"; clone_s=$(since "$t")
t=$(now); python -m venv "$WORK/venv"; venv_s=$(since "$t")

pip_install_s=null
make_setup_noop_s=null
if [ "$SKIP_PIP" -eq 0 ]; then
    cache_flag=()
    [ "$PIP_CACHE" -eq 1 ] || cache_flag=(--no-cache-dir)
    log "pip install -e .[dev] into a fresh venv (log: $WORK/pip.log)"
    t=$(now)
    "$WORK/venv/bin/python" -m pip install --progress-bar off "${cache_flag[@]}" -e "$WORK/clone[dev]" \
        >"$WORK/pip.log" 2>&1 || { tail -20 "$WORK/pip.log" >&2; exit 1; }
    pip_install_s=$(since "$t")
    t=$(now)
    PYTHON="$WORK/venv/bin/python" bash "$REPO/scripts/setup.sh" >/dev/null
    make_setup_noop_s=$(since "$t")
fi

apt_download_s=null
apt_download_mb=null
apt_packages=0
if command -v apt-get >/dev/null 2>&1 && command -v apt-cache >/dev/null 2>&1; then
    mapfile -t wanted < <(bash "$REPO/scripts/setup.sh" --print-apt-packages)
    # What apt would install, recommends included, on a system with no packages at all (an empty
    # dpkg status): an upper bound, since real base images already hold libc and friends.
    : >"$WORK/empty-status"
    mapfile -t closure < <(apt-get install -s -q -o Dir::State::status="$WORK/empty-status" "${wanted[@]}" \
        | awk '/^Inst /{print $2}')
    mkdir -p "$WORK/apt"
    log "apt-get download ${#closure[@]} packages"
    t=$(now)
    if (cd "$WORK/apt" && apt-get download -q "${closure[@]}" >"$WORK/apt.log" 2>&1); then
        apt_download_s=$(since "$t")
        apt_packages=$(find "$WORK/apt" -name '*.deb' | wc -l)
        apt_download_mb=$(du -sm "$WORK/apt" | cut -f1)
    else
        log "apt-get download failed (see $WORK/apt.log); apt_download_s left null"
    fi
fi

mkdir -p "$(dirname "$OUT")"
python - "$OUT" <<EOF
import json, platform, sys
result = {
    "clone_s": $clone_s,
    "venv_s": $venv_s,
    "pip_install_s": $pip_install_s,
    "pip_cache": bool($PIP_CACHE),
    "make_setup_noop_s": $make_setup_noop_s,
    "apt_download_s": $apt_download_s,
    "apt_download_mb": $apt_download_mb,
    "apt_packages_downloaded": $apt_packages,
    "python": platform.python_version(),
    "cpus": __import__("os").cpu_count(),
    "note": "shared machine; network-bound; apt unpack/configure time not included",
}
json.dump(result, open(sys.argv[1], "w"), indent=2)
print(json.dumps(result, indent=2))
EOF
