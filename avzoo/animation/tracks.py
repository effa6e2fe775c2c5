"""Model outputs → finished tracks, the part every speech-to-blendshape processor shares.

:func:`finish_tracks` turns a batch of model outputs into one clipped ``(T_i, 52)`` float32 track per clip: trimmed by
the attention mask, passed through the family's own mouth filter (if any), then a performer's style
(:mod:`avzoo.animation.style`) and speech-driven life (:mod:`avzoo.animation.life`) on top.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from avzoo.animation.life import add_life
from avzoo.animation.style import PerformerStyle, load_style

#: ``mouth_filter(i, track)``: clip ``i``'s trimmed raw track → its filtered track.
MouthFilter = Callable[[int, np.ndarray], np.ndarray]


def life_seed(life: Any) -> int | None:
    """``life`` (False/None, True or an int seed) → the seed (True is 0) or None; ``ValueError`` otherwise."""
    if isinstance(life, bool) or life is None:
        return 0 if life else None
    if isinstance(life, (int, np.integer)):
        return int(life)
    raise ValueError(f"life must be True/False or an int seed, got {life!r}")


def output_array(outputs: Any, num_channels: int) -> np.ndarray:
    """``outputs`` (a model output with ``.blendshapes`` (B, T, C), or that tensor/array) → float32 numpy."""
    values = getattr(outputs, "blendshapes", outputs)
    if hasattr(values, "detach"):
        values = values.detach().float().cpu().numpy()
    if not isinstance(values, np.ndarray) or values.ndim != 3:
        raise ValueError("outputs must be a model output with .blendshapes (B, T, 52) or that array")
    if values.shape[-1] != num_channels:
        raise ValueError(f"expected {num_channels} channels, got {values.shape[-1]}")
    return values.astype(np.float32, copy=False)


def finish_tracks(
    outputs: Any,
    attention_mask: Any,
    fps: float,
    names: Sequence[str],
    style: PerformerStyle | str | Mapping[str, Any] | None = None,
    life: bool | int | None = False,
    mouth_filter: MouthFilter | None = None,
) -> list[np.ndarray]:
    """One float32 ``(T_i, len(names))`` track per clip, clipped to [0, 1].

    ``attention_mask`` (B, T) trims each track to its real frames. ``mouth_filter`` runs first on each raw track,
    then ``style`` (a performer's calibration: its curves, then its time offset), and ``life`` (seed; clip ``i``
    of a batch uses seed + i) is derived from the filtered track and added on top of the style, so a style
    fitted on a still upper face does not erase it.
    """
    seed = life_seed(life)
    style = load_style(style)
    values = output_array(outputs, len(names))
    lengths = [values.shape[1]] * values.shape[0]
    if attention_mask is not None:
        mask = attention_mask.detach().cpu().numpy() if hasattr(attention_mask, "detach") else attention_mask
        lengths = [int(n) for n in np.asarray(mask).sum(-1)]
    tracks = []
    for i, (track, n) in enumerate(zip(values, lengths, strict=True)):
        track = track[:n]
        if mouth_filter is not None and len(track):
            track = mouth_filter(i, track)
        track = np.clip(track, 0.0, 1.0)
        lively = add_life(track, fps=fps, seed=seed + i) - track if seed is not None and len(track) else 0
        if style is not None and len(track):
            track = style.apply(track, fps=fps, names=names)
        tracks.append(np.clip(track + lively, 0.0, 1.0).astype(np.float32))
    return tracks


__all__ = ["MouthFilter", "finish_tracks", "life_seed", "output_array"]
