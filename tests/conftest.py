"""Shared fixtures: seeds, paths to the real recordings in ../shared/data, tiny audio."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest

# Tests never reach the Hugging Face Hub: loads resolve from local folders or the (seeded) cache. Set before any
# test module imports huggingface_hub, which reads it once.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("AVZOO_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(autouse=True)
def _seed():
    random.seed(0)
    np.random.seed(0)
    try:
        import torch

        torch.manual_seed(0)
    except ImportError:
        pass


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real recordings folder; tests that need it skip with a clear reason when it's absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real recordings not found at {SHARED_DATA} (set AVZOO_SHARED_DATA)")
    return SHARED_DATA
