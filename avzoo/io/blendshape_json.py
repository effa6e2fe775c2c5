"""Blendshape tracks as JSON, for web (three.js, TalkingHead) and Unity users.

The document is ``{"fps": 30, "names": [...52 names...], "frames": T, "blendshapes": {name: [T values]}}``:
one list of values per channel, keyed by name, with ``names`` giving the channel order. Values are written
as the shortest decimals that read back as the same float32, so :func:`from_json` returns exactly what
:func:`to_json` was given.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from avzoo.arkit import INDEX, NUM_BLENDSHAPES, ORDERS, canonical_name
from avzoo.io.livelink import float32_text

#: Spellings ``to_json`` can write: orders of :mod:`avzoo.arkit` that hold all 52 names.
NAME_STYLES = tuple(
    k for k, v in ORDERS.items() if len(v) == NUM_BLENDSHAPES and not any(n[0] == "_" for n in v)
)


def to_json(
    blendshapes: np.ndarray, fps: float, path: str | Path | None = None, names: str = "canonical"
) -> dict[str, Any]:
    """(T, 52) canonical blendshapes -> the JSON document (also written to ``path`` when given).

    ``names`` picks spelling and order of the keys: ``"canonical"`` (``jawOpen``), ``"livelink"``
    (``JawOpen``, Live Link Face order), ``"apple"`` (``eyeBlink_L``) or ``"alphabetical"``.
    """
    x = np.asarray(blendshapes)
    if x.ndim != 2 or x.shape[1] != NUM_BLENDSHAPES:
        raise ValueError(f"blendshapes must have shape (T, {NUM_BLENDSHAPES}), got {x.shape}")
    if not np.issubdtype(x.dtype, np.number) or not np.isfinite(x).all():
        raise ValueError("blendshapes must be finite numbers")
    fps = _check_fps(fps)
    if names not in NAME_STYLES:
        raise ValueError(f"names must be one of {NAME_STYLES}, got {names!r}")
    order = ORDERS[names]
    x = x.astype(np.float32, copy=False)
    channels = {}
    for name in order:
        column = x[:, INDEX[canonical_name(name)]]
        channels[name] = [float(t) for t in float32_text(column)]
    doc = {
        "fps": int(fps) if float(fps).is_integer() else fps,
        "names": list(order),
        "frames": len(x),
        "blendshapes": channels,
    }
    if path is not None:
        Path(path).write_text(json.dumps(doc) + "\n", encoding="utf-8")
    return doc


def from_json(source: str | Path | Mapping[str, Any]) -> tuple[np.ndarray, float]:
    """Read a document written by :func:`to_json` (a path, JSON text or the parsed dict).

    Returns ``(blendshapes, fps)`` with blendshapes (T, 52) float32 in canonical order. Keys may use any
    spelling :func:`avzoo.arkit.canonical_name` knows; all 52 channels must be present.
    """
    if isinstance(source, Mapping):
        doc = source
    else:
        text = source if isinstance(source, str) and source.lstrip().startswith("{") else None
        try:
            doc = json.loads(text if text is not None else Path(source).read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise ValueError(f"not valid JSON: {e}") from None
    if not isinstance(doc, Mapping) or not isinstance(doc.get("blendshapes"), Mapping) or "fps" not in doc:
        raise ValueError('expected an object with "fps" and "blendshapes": {name: [values...]}')
    fps = _check_fps(doc["fps"])
    channels = doc["blendshapes"]
    lengths = {len(v) if isinstance(v, list) else -1 for v in channels.values()}
    if -1 in lengths:
        raise ValueError("every blendshape must map to a list of values")
    if len(lengths) > 1:
        raise ValueError(f"blendshape lists differ in length: {sorted(lengths)}")
    frames = lengths.pop() if lengths else 0
    if "frames" in doc and doc["frames"] != frames:
        raise ValueError(f'"frames" says {doc["frames"]} but the lists hold {frames} values')

    out = np.zeros((frames, NUM_BLENDSHAPES), dtype=np.float32)
    seen = set()
    for name, values in channels.items():
        canonical = canonical_name(name)  # ValueError for unknown names
        if canonical in seen:
            raise ValueError(f"blendshape {canonical!r} appears twice")
        seen.add(canonical)
        try:
            column = np.array(values, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"blendshape {name!r} holds values that are not numbers") from None
        if not np.isfinite(column).all():
            raise ValueError(f"blendshape {name!r} holds non-finite values")
        out[:, INDEX[canonical]] = column.astype(np.float32)
    missing = sorted(set(INDEX) - seen, key=INDEX.get)
    if missing:
        raise ValueError(f"missing blendshape(s) {missing}")
    return out, fps


def _check_fps(fps: Any) -> float:
    if isinstance(fps, bool) or not isinstance(fps, (int, float, np.integer, np.floating)):
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    if not (math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    return float(fps)
