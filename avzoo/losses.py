"""Model-agnostic sequence regression losses over ``(B, T, C)`` with padding masks and per-channel weights.

Shared by the families' task heads (``avzoo/models/<family>/loss_*.py``; a Hub copy vendors this module) and
by recipes (``warmup_factor`` for loss-weight ramps). torch only, so any layer may use it.

Normalisation: a loss is the weighted sum of absolute errors divided by (valid frames × C), so a channel
weight acts as a plain multiplier on that channel's share (weight 0.45 → 0.45× the pull of a weight-1
channel) and all-ones weights give the ordinary mean. Padding never contributes, even if it holds NaN.

Per-group weights come from channel-index groups, e.g. with ``avzoo.arkit``::

    groups = {name: arkit.indices(arkit.GROUPS[name]) for name in ("brows", "eyes", "lipsync")}
    vel_w = group_weights(52, groups, {"brows": 0.45})
    loss_fn = SequenceLoss(velocity_weight=0.5, velocity_channel_weights=vel_w, velocity_warmup_steps=1000)
    loss, parts = loss_fn(pred, target, batch["attention_mask"], step=state.global_step)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

REDUCTIONS = ("mean", "sum", "none")
WARMUP_SCHEDULES = ("linear", "cosine")


def _check(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None, weights: Any, name: str):
    if not isinstance(pred, torch.Tensor) or not isinstance(target, torch.Tensor):
        raise ValueError(f"{name}: pred and target must be tensors")
    if pred.shape != target.shape:
        raise ValueError(
            f"{name}: pred {tuple(pred.shape)} and target {tuple(target.shape)} must have the same shape"
        )
    if pred.dim() == 2:  # a single (T, C) sequence
        pred, target = pred[None], target[None]
        mask = None if mask is None else torch.as_tensor(mask)[None]
    if pred.dim() != 3:
        raise ValueError(f"{name}: expected (B, T, C) or (T, C) tensors, got shape {tuple(pred.shape)}")
    batch, frames, channels = pred.shape
    if mask is None:
        mask = torch.ones(batch, frames, dtype=torch.bool, device=pred.device)
    else:
        mask = torch.as_tensor(mask, device=pred.device)
        if mask.shape != (batch, frames):
            raise ValueError(
                f"{name}: mask must have shape (B, T) = {(batch, frames)}, got {tuple(mask.shape)}"
            )
    w = None
    if weights is not None:
        w = torch.as_tensor(weights, dtype=pred.dtype, device=pred.device)
        if w.shape != (channels,):
            raise ValueError(
                f"{name}: channel weights must have shape (C,) = ({channels},), got {tuple(w.shape)}"
            )
    return pred, target, mask, w


def _reduce(
    err: torch.Tensor, mask: torch.Tensor, weights: torch.Tensor | None, reduction: str
) -> torch.Tensor:
    """``err`` (B, T', C) absolute errors, ``mask`` (B, T') bool/0-1/soft weights."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    frame_w = mask.to(err.dtype)
    # where() rather than multiply: NaN/inf in padded frames must not leak into the loss
    err = torch.where((frame_w > 0)[..., None], err * frame_w[..., None], err.new_zeros(()))
    if weights is not None:
        err = err * weights
    channels = err.shape[-1]
    if reduction == "sum":
        return err.sum()
    if reduction == "none":
        denom = frame_w.sum(dim=1) * channels
        return torch.where(denom > 0, err.sum(dim=(1, 2)) / denom.clamp_min(1e-12), err.new_zeros(()))
    # no valid frame gives 0 (still connected to the graph); clamp instead of a branch avoids a device sync
    return err.sum() / (frame_w.sum() * channels).clamp_min(1e-12)


def masked_l1(
    pred: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor | None = None,
    channel_weights: torch.Tensor | Sequence[float] | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """L1 over valid frames. ``mask`` (B, T): 1/True = real frame. ``reduction="none"`` gives per-sample (B,)."""
    pred, target, mask, w = _check(pred, target, mask, channel_weights, "masked_l1")
    return _reduce((pred - target).abs(), mask, w, reduction)


def velocity_l1(
    pred: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor | None = None,
    channel_weights: torch.Tensor | Sequence[float] | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """L1 between first differences along T; a difference counts only where both of its frames are valid."""
    pred, target, mask, w = _check(pred, target, mask, channel_weights, "velocity_l1")
    if pred.shape[1] < 2:
        return _reduce(pred.new_zeros(pred.shape[0], 0, pred.shape[2]), mask[:, :0], w, reduction)
    dp = pred[:, 1:] - pred[:, :-1]
    dt = target[:, 1:] - target[:, :-1]
    if mask.dtype == torch.bool:
        pair = mask[:, 1:] & mask[:, :-1]
    else:
        pair = torch.minimum(mask[:, 1:], mask[:, :-1])
    return _reduce((dp - dt).abs(), pair, w, reduction)


def warmup_factor(step: int, warmup_steps: int, delay: int = 0, schedule: str = "linear") -> float:
    """A loss-weight ramp in [0, 1]: 0 until ``delay``, then rising to 1 over ``warmup_steps`` steps.

    ``"linear"`` rises evenly; ``"cosine"`` eases in and out (half a cosine). ``warmup_steps=0`` jumps to 1
    at ``delay``.
    """
    if schedule not in WARMUP_SCHEDULES:
        raise ValueError(f"schedule must be one of {WARMUP_SCHEDULES}, got {schedule!r}")
    if warmup_steps < 0 or delay < 0:
        raise ValueError(f"warmup_steps and delay must be >= 0, got {warmup_steps} and {delay}")
    if step < delay:
        return 0.0
    if warmup_steps == 0:
        return 1.0
    progress = min(1.0, (step - delay) / warmup_steps)
    if schedule == "cosine":
        return 0.5 * (1.0 - math.cos(math.pi * progress))
    return progress


def group_weights(
    num_channels: int,
    groups: Mapping[str, Sequence[int]],
    weights: Mapping[str, float],
    default: float = 1.0,
) -> torch.Tensor:
    """Per-channel weight vector ``(num_channels,)`` from named channel-index groups.

    Channels outside every weighted group get ``default``. Groups are applied in the order of ``weights``,
    so a later, narrower group overrides an earlier, wider one (e.g. ``{"mouth": 1.0, "closure": 2.0}``).
    """
    out = torch.full((num_channels,), float(default))
    for name, value in weights.items():
        if name not in groups:
            raise ValueError(f"unknown channel group {name!r}; known groups: {sorted(groups)}")
        if value < 0:
            raise ValueError(f"weight of group {name!r} must be >= 0, got {value}")
        idx = list(groups[name])
        bad = [i for i in idx if not 0 <= int(i) < num_channels]
        if bad:
            raise ValueError(f"group {name!r} has channel indices {bad} outside [0, {num_channels})")
        out[idx] = float(value)
    return out


@dataclass
class SequenceLoss:
    """L1 plus a warmed-up velocity L1, each with optional per-channel weights.

    ``loss = l1_weight * masked_l1(w_l1) + velocity_weight * warmup(step) * velocity_l1(w_vel)``.
    Call with ``step=None`` (e.g. for validation) to use the full velocity weight. Returns
    ``(loss, parts)`` where ``parts`` holds detached ``l1``, ``velocity`` and ``velocity_factor`` values.
    """

    l1_weight: float = 1.0
    velocity_weight: float = 0.0
    channel_weights: torch.Tensor | Sequence[float] | None = None
    velocity_channel_weights: torch.Tensor | Sequence[float] | None = None
    velocity_warmup_steps: int = 0
    velocity_warmup_delay: int = 0
    velocity_warmup_schedule: str = "linear"

    def __post_init__(self) -> None:
        if self.l1_weight < 0 or self.velocity_weight < 0:
            raise ValueError(
                f"loss weights must be >= 0, got l1={self.l1_weight}, velocity={self.velocity_weight}"
            )
        warmup_factor(
            0, self.velocity_warmup_steps, self.velocity_warmup_delay, self.velocity_warmup_schedule
        )

    def velocity_factor(self, step: int | None) -> float:
        if step is None:
            return 1.0
        return warmup_factor(
            step, self.velocity_warmup_steps, self.velocity_warmup_delay, self.velocity_warmup_schedule
        )

    def __call__(
        self,
        pred: torch.Tensor,
        target: torch.Tensor,
        mask: torch.Tensor | None = None,
        step: int | None = None,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        l1 = masked_l1(pred, target, mask, self.channel_weights)
        factor = self.velocity_factor(step)
        if self.velocity_weight > 0:
            vel = velocity_l1(pred, target, mask, self.velocity_channel_weights)
        else:
            vel = l1.new_zeros(())
        loss = self.l1_weight * l1 + (self.velocity_weight * factor) * vel
        parts = {"l1": l1.detach(), "velocity": vel.detach(), "velocity_factor": l1.new_tensor(factor)}
        return loss, parts
