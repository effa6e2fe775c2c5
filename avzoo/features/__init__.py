"""Audio features shared by the model families: log-mel at the model frame rate, eGeMAPS prosody windows.

Names are loaded lazily so that ``import avzoo.features.egemaps`` does not pull in torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "LogMel": "logmel",
    "LogMelStream": "logmel",
    "frame_centers": "frames",
    "frame_count": "frames",
    "log_mel": "logmel",
    "log_mel_torch": "logmel",
    "EGEMAPS_LLD_NAMES": "egemaps",
    "EGEMAPS_NAMES": "egemaps",
    "egemaps_frames": "egemaps",
    "egemaps_functionals": "egemaps",
    "egemaps_lld": "egemaps",
    "egemaps_windows": "egemaps",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
