#!/usr/bin/env bash
# Installs what avzoo needs and is missing; does nothing (in about a second) when all is present.
#
#   system tools  apt-get (Debian/Ubuntu), with sudo when not root: ffmpeg, chromium,
#                 chromium-driver, espeak-ng, flite, sox
#   Python deps   `pip install -e ".[dev]"` into the current `python` (activate a venv first
#                 if you want one), run only when a requirement in pyproject.toml is unmet
#
# Options: --print-apt-packages  print the apt package names and exit
#          --force               run pip install even when everything looks satisfied
# Environment: PYTHON (default: python), AVZOO_SKIP_APT=1 to never touch apt.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python}"

# "command it provides:apt package" — the command is how we tell the package is present.
APT_TOOLS=(
    "ffmpeg:ffmpeg"
    "chromium:chromium"
    "chromedriver:chromium-driver"
    "espeak-ng:espeak-ng"
    "flite:flite"
    "sox:sox"
)

force=0
for arg in "$@"; do
    case "$arg" in
        --print-apt-packages)
            for pair in "${APT_TOOLS[@]}"; do echo "${pair#*:}"; done
            exit 0
            ;;
        --force) force=1 ;;
        *)
            echo "setup.sh: unknown option '$arg' (accepted: --print-apt-packages, --force)" >&2
            exit 2
            ;;
    esac
done

log() { echo "[setup] $*"; }

install_system_packages() {
    local missing=() pair
    for pair in "${APT_TOOLS[@]}"; do
        command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        log "system tools present"
        return 0
    fi
    if [ "${AVZOO_SKIP_APT:-0}" = "1" ]; then
        log "AVZOO_SKIP_APT=1: not installing ${missing[*]} (the tests that need them will skip or fail)"
        return 0
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        log "WARNING: no apt-get here; install these yourself: ${missing[*]} (the tests that need them will skip or fail)"
        return 0
    fi
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if ! command -v sudo >/dev/null 2>&1; then
            echo "[setup] need root or sudo to apt-get install: ${missing[*]}" >&2
            return 1
        fi
        # Without a terminal (CI) sudo must fail rather than wait for a password.
        if [ -t 0 ]; then sudo=(sudo); else sudo=(sudo -n); fi
    fi
    log "apt-get install ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"
}

# Exit 0 when every requirement in pyproject.toml (with the dev extra) is installed at a
# matching version and avzoo itself is installed; print what is unmet otherwise.
python_deps_ok() {
    (cd "$REPO" && "$PYTHON" - <<'EOF'
import sys
from importlib import metadata

try:
    import tomllib
    from packaging.requirements import Requirement
except ImportError as e:  # python 3.10 or no packaging yet: let pip decide
    print(f"cannot check requirements here ({e})")
    sys.exit(1)

with open("pyproject.toml", "rb") as f:
    project = tomllib.load(f)["project"]
requirements = [*project.get("dependencies", []), *project.get("optional-dependencies", {}).get("dev", [])]
unmet = []
for line in [project["name"], *requirements]:
    req = Requirement(line)
    if req.marker is not None and not req.marker.evaluate():
        continue
    try:
        version = metadata.version(req.name)
    except metadata.PackageNotFoundError:
        unmet.append(f"{req.name} (missing)")
        continue
    if req.specifier and not req.specifier.contains(version, prereleases=True):
        unmet.append(f"{req.name} {version} (wanted {req.specifier})")
if unmet:
    print("unmet: " + ", ".join(unmet))
    sys.exit(1)
EOF
    )
}

install_python_packages() {
    if ! command -v "$PYTHON" >/dev/null 2>&1; then
        echo "[setup] no '$PYTHON' on PATH; set PYTHON=/path/to/python3.10+" >&2
        return 1
    fi
    local why
    if [ "$force" -eq 0 ] && why="$(python_deps_ok)"; then
        log "python deps present ($("$PYTHON" --version 2>&1))"
        return 0
    fi
    log "pip install -e .[dev] ${why:+($why)}"
    (cd "$REPO" && "$PYTHON" -m pip install --progress-bar off -e ".[dev]")
}

# Subprocess tests (remote code, the CLI) import the *installed* avzoo: make it this checkout.
link_this_checkout() {
    local here
    here="$(cd / && "$PYTHON" -c 'import os, avzoo; print(os.path.realpath(os.path.dirname(avzoo.__file__)))' 2>/dev/null || true)"
    if [ "$here" != "$(realpath "$REPO/avzoo")" ]; then
        log "pointing the installed avzoo at $REPO (was: ${here:-none})"
        (cd "$REPO" && "$PYTHON" -m pip install --progress-bar off --no-deps -e . >/dev/null)
    fi
}

install_system_packages
install_python_packages
link_this_checkout
log "ready"
