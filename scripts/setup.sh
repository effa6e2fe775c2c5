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

# One Python process (each start costs a tenth of a second or more) checks that every requirement in
# pyproject.toml (with the dev extra) is installed at a matching version, and that avzoo is installed editable
# from this checkout. The latter reads pip's record of the install (direct_url.json, PEP 610) instead of importing
# avzoo, which imports torch and transformers (seconds). Runs from / so that an avzoo.egg-info in the working
# directory does not count. Prints the Python version, then what is wrong; exits 0 when all is there, 1 when a
# requirement is unmet (or cannot be checked), 2 when only the installed avzoo is not this checkout.
python_check() {
    (cd / && "$PYTHON" - "$REPO" <<'EOF'
import json
import os
import sys
from importlib import metadata
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

print(f"Python {sys.version.split()[0]}")
repo = os.path.realpath(sys.argv[1])
try:
    import tomllib
    from packaging.requirements import Requirement
except ImportError as e:  # python 3.10 or no packaging yet: let pip decide
    print(f"cannot check requirements here ({e})")
    sys.exit(1)

with open(os.path.join(repo, "pyproject.toml"), "rb") as f:
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

dist = metadata.distribution(project["name"])
try:
    record = json.loads(dist.read_text("direct_url.json") or "{}")
except ValueError:
    record = {}
url = urlparse(record.get("url", ""))
source = os.path.realpath(url2pathname(unquote(url.path))) if url.scheme == "file" else ""
editable = bool(record.get("dir_info", {}).get("editable"))
if not (editable and source == repo):
    kind = "editable install of" if editable else "installed copy of"
    print(f"{kind} {source}" if source else f"{dist.name} {dist.version} in {dist.locate_file('')}")
    sys.exit(2)
EOF
    )
}

# `pip install -e .[dev]` when a requirement is unmet (or with --force); otherwise, since subprocess tests (remote
# code, the CLI) import the *installed* avzoo, `pip install --no-deps -e .` when that is not this checkout.
install_python_packages() {
    if ! command -v "$PYTHON" >/dev/null 2>&1; then
        echo "[setup] no '$PYTHON' on PATH; set PYTHON=/path/to/python3.10+" >&2
        return 1
    fi
    local out status=0 version why
    out="$(python_check)" || status=$?
    version="$(head -n 1 <<<"$out")"
    why="$(tail -n +2 <<<"$out")"
    if [ "$force" -eq 0 ] && { [ "$status" -eq 0 ] || [ "$status" -eq 2 ]; }; then
        log "python deps present ($version)"
        if [ "$status" -eq 2 ]; then
            log "pointing the installed avzoo at $REPO (was: ${why:-none})"
            (cd "$REPO" && "$PYTHON" -m pip install --progress-bar off --no-deps -e . >/dev/null)
        fi
        return 0
    fi
    log "pip install -e .[dev] ${why:+($why)}"
    (cd "$REPO" && "$PYTHON" -m pip install --progress-bar off -e ".[dev]")
}

install_system_packages
install_python_packages
log "ready"
