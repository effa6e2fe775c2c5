"""Settings for the notebooks nbmake executes; the kernels it starts inherit this process's environment."""

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Kernels run in notebooks/, so without this they would import whatever avzoo is installed, not this checkout
# (scripts/test.sh runs pytest from the repo root for the same reason).
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
# CI has no network and must not download: loads resolve from the bundled checkpoints via the seeded cache.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
