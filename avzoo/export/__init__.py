"""Exporters of avzoo models to deployment formats (ONNX). Submodules load lazily (``avzoo export --help`` is fast)."""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "OnnxLipsyncStream": "onnx_av_lipsync",
    "check_onnx_parity": "onnx_av_lipsync",
    "export_onnx": "onnx_av_lipsync",
    "load_for_export": "onnx_av_lipsync",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = sorted(_LAZY)
