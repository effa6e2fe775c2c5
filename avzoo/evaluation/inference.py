"""Batched, padded, masked inference of a speech → blendshapes model, one (T_i, 52) track per clip back.

Works with :class:`avzoo.models.av_lipsync.AvLipsyncModel` and anything that follows the same small protocol:
``feature_extractor(list_of_clips, sampling_rate=..., return_tensors="pt")`` gives ``input_features`` (B, T, F)
and ``attention_mask`` (B, T); ``model(input_features=..., condition=..., attention_mask=...)`` returns an output
with ``.blendshapes`` (B, T, 52), a tuple whose first item is that, or the tensor itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

SAMPLING_RATE = 16000


def _model_device(model: Any) -> torch.device:
    try:
        return next(model.parameters()).device
    except (AttributeError, StopIteration, TypeError):
        return torch.device("cpu")


def _model_dtype(model: Any) -> torch.dtype:
    try:
        return next(model.parameters()).dtype
    except (AttributeError, StopIteration, TypeError):
        return torch.float32


def blendshapes_of(output: Any) -> torch.Tensor:
    """The (B, T, 52) blendshapes of a model output (an output object, a tuple, or a tensor)."""
    if isinstance(output, torch.Tensor):
        return output
    value = getattr(output, "blendshapes", None)
    if value is None and isinstance(output, (tuple, list)) and output:
        value = output[0]
    if not isinstance(value, torch.Tensor):
        raise ValueError(
            f"model output has no blendshapes tensor (got {type(output).__name__}); "
            "return an object with .blendshapes (B, T, 52), a tuple starting with it, or the tensor"
        )
    return value


def predict_blendshapes(
    model: Any,
    feature_extractor: Any,
    audios: Sequence[np.ndarray],
    conditions: Sequence[np.ndarray | None] | None = None,
    *,
    batch_size: int = 8,
    sampling_rate: int = SAMPLING_RATE,
    num_frames: Sequence[int] | None = None,
) -> list[np.ndarray]:
    """Run ``model`` over ``audios`` in batches; returns one float32 (T_i, 52) track per clip, in input order.

    Args:
        audios: mono float32 clips at ``sampling_rate``.
        conditions: per clip a ``(C,)`` vector (held for every frame), a ``(T_i, C)`` per-frame condition, or
            None (no condition: the model's default, neutral). None for all clips when not given.
        batch_size: clips per forward pass; clips are grouped by length so padding stays small.
        num_frames: the wanted length of each track (e.g. the reference's); the prediction is cropped to it, or
            extended with its last frame when the model returned fewer frames (that count is small: at most one
            frame from rounding, else a ``ValueError``).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    audios = list(audios)
    if not audios:
        raise ValueError("no clips to run the model on")
    if conditions is not None and len(conditions) != len(audios):
        raise ValueError(f"got {len(conditions)} conditions for {len(audios)} clips")
    if num_frames is not None and len(num_frames) != len(audios):
        raise ValueError(f"got {len(num_frames)} frame counts for {len(audios)} clips")
    if hasattr(model, "eval"):
        model.eval()
    device, dtype = _model_device(model), _model_dtype(model)
    order = sorted(range(len(audios)), key=lambda i: -len(audios[i]))
    out: list[np.ndarray | None] = [None] * len(audios)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            batch = feature_extractor(
                [audios[i] for i in idx], sampling_rate=sampling_rate, return_tensors="pt", padding="longest"
            )
            features = torch.as_tensor(batch["input_features"]).to(device=device, dtype=dtype)
            mask = batch.get("attention_mask")
            b, t = features.shape[:2]
            if mask is None:
                mask = torch.ones(b, t, dtype=torch.long)
            mask = torch.as_tensor(mask).to(device)
            kwargs: dict[str, Any] = {"input_features": features, "attention_mask": mask}
            if conditions is not None and any(conditions[i] is not None for i in idx):
                kwargs["condition"] = _batch_condition([conditions[i] for i in idx], mask, dtype, device)
            pred = blendshapes_of(model(**kwargs)).detach().float().cpu().numpy()
            if pred.shape[:2] != (b, t):
                raise ValueError(
                    f"model returned shape {pred.shape} for input features {tuple(features.shape)}"
                )
            lengths = mask.sum(dim=1).cpu().numpy()
            for j, i in enumerate(idx):
                track = pred[j, : int(lengths[j])]
                if num_frames is not None:
                    track = _fit_length(track, int(num_frames[i]), i)
                out[i] = np.clip(track, 0.0, 1.0).astype(np.float32)
    return out  # type: ignore[return-value]


def _batch_condition(
    items: list[np.ndarray | None], mask: torch.Tensor, dtype: torch.dtype, device: torch.device
) -> torch.Tensor:
    b, t = mask.shape
    width = next(np.asarray(c).shape[-1] for c in items if c is not None)
    cond = np.zeros((b, t, width), dtype=np.float32)
    lengths = mask.sum(dim=1).cpu().numpy()
    for j, c in enumerate(items):
        if c is None:
            continue
        c = np.asarray(c, dtype=np.float32)
        n = int(lengths[j])
        if c.ndim == 1:
            cond[j, :n] = c
        elif c.ndim == 2 and c.shape[1] == width:
            m = min(n, len(c))
            cond[j, :m] = c[:m]
            if m < n:  # hold the last condition over frames the per-frame condition does not cover
                cond[j, m:n] = c[m - 1] if m else 0.0
        else:
            raise ValueError(f"condition {j} must be (C,) or (T, C) with C = {width}, got shape {c.shape}")
    return torch.from_numpy(cond).to(device=device, dtype=dtype)


def _fit_length(track: np.ndarray, n: int, i: int) -> np.ndarray:
    if len(track) >= n:
        return track[:n]
    if n - len(track) > 1 or len(track) == 0:
        raise ValueError(
            f"clip {i}: the model gave {len(track)} frames but the reference has {n}; "
            "check that the feature extractor uses the reference frame rate"
        )
    return np.concatenate([track, track[-1:]], axis=0)


__all__ = ["blendshapes_of", "predict_blendshapes"]
