"""The loss av-lipsync trains with, in one place: :class:`AvLipsyncForBlendshapeRegression` returns it.

``loss = l1 + velocity_weight * velocity + mse_weight * active_mse + seal_weight * seal_bce + phone_weight * ce``

* ``l1``: per-channel weighted mean absolute error over real frames (``l1_weights``, name or name-prefix keys);
* ``velocity``: the same on first differences (``velocity_weights``); the recipe ramps ``velocity_weight`` up;
* ``active_mse``: squared error, weighted ``1 + active_weight`` where the target channel is active (above
  ``active_threshold``; ``closure_active_weight`` for the lip-closure channels). L1 alone drives sparse
  channels (lip press, rolls, mouthClose: zero on most frames) to their conditional median, zero, and they
  never fire;
* ``seal_bce``: the lip-seal head's binary cross-entropy against the metric's lip state (``lip_seal`` models);
* ``ce``: the auxiliary phone head's cross-entropy (when ``phone_labels`` are given).

``branch="lipsync"`` scores the lipsync branch alone (``lipsync_blendshapes``) on the lipsync channels (phase 1);
``"full"`` scores ``blendshapes`` on every channel. The weights and the branch are the recipe's to choose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from avzoo.losses import masked_l1, velocity_l1

#: The lip-state rule of ``avzoo.metrics``' blendshape_error: closed when max(mouthClose, mean lip press, mean lip
#: roll) >= 0.2 and the lip gap max(jawOpen - mouthClose, 0) < 0.1.
SEAL_CLOSURE_THRESHOLD = 0.2
SEAL_OPEN_THRESHOLD = 0.1
#: Channels whose activity weighs ``closure_active_weight`` (name prefixes).
CLOSURE_PREFIXES = ("mouthClose", "mouthPress", "mouthRoll")


@dataclass
class AvLipsyncLossWeights:
    """Weights of the loss terms (see the module docstring); the defaults are the bundled model's."""

    l1_weights: dict[str, float] = field(
        default_factory=lambda: {"jawOpen": 2.0, "mouthClose": 3.0, "mouthPress": 3.0, "mouthRoll": 2.0}
    )
    velocity_weight: float = 1.0
    velocity_weights: dict[str, float] = field(default_factory=lambda: {"brow": 0.45})
    mse_weight: float = 4.0
    active_weight: float = 2.0
    closure_active_weight: float = 4.0
    active_threshold: float = 0.05
    seal_weight: float = 1.0
    phone_weight: float = 0.5

    def __post_init__(self) -> None:
        for name in (
            "velocity_weight",
            "mse_weight",
            "active_weight",
            "closure_active_weight",
            "seal_weight",
        ):
            value = float(getattr(self, name))
            if not value >= 0 or value == float("inf"):
                raise ValueError(f"{name} must be finite and >= 0, got {getattr(self, name)!r}")
        if not float(self.phone_weight) >= 0:
            raise ValueError(f"phone_weight must be >= 0, got {self.phone_weight!r}")
        for name in ("l1_weights", "velocity_weights"):
            bad = {k: v for k, v in dict(getattr(self, name)).items() if not float(v) >= 0}
            if bad:
                raise ValueError(f"{name} must hold weights >= 0, got {bad}")


@dataclass
class AvLipsyncLoss:
    """A loss and its parts (each a scalar tensor; ``seal``/``phone`` None when the term is absent)."""

    loss: torch.Tensor
    l1: torch.Tensor
    velocity: torch.Tensor
    active_mse: torch.Tensor
    seal: torch.Tensor | None = None
    phone: torch.Tensor | None = None

    def parts(self) -> dict[str, float]:
        """The terms as floats, for logging."""
        names = ("loss", "l1", "velocity", "active_mse", "seal", "phone")
        return {n: float(getattr(self, n).detach()) for n in names if getattr(self, n) is not None}


def lips_sealed(frames: torch.Tensor, names: list[str] | tuple[str, ...]) -> torch.Tensor:
    """(..., 52) blendshapes named ``names`` → (...) bool, True where the lips are closed (the metric's rule)."""
    idx = {n: i for i, n in enumerate(names)}
    press = (frames[..., idx["mouthPressLeft"]] + frames[..., idx["mouthPressRight"]]) / 2
    roll = (frames[..., idx["mouthRollLower"]] + frames[..., idx["mouthRollUpper"]]) / 2
    close, jaw = frames[..., idx["mouthClose"]], frames[..., idx["jawOpen"]]
    closure = torch.maximum(close, torch.maximum(press, roll))
    return (closure >= SEAL_CLOSURE_THRESHOLD) & ((jaw - close).clamp_min(0) < SEAL_OPEN_THRESHOLD)


def _masked_mean(values: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    return (values * weights).sum() / weights.sum().clamp_min(1e-8)


def av_lipsync_loss(
    outputs: Any,
    labels: torch.Tensor,
    attention_mask: torch.Tensor | None,
    config: Any,
    weights: AvLipsyncLossWeights | None = None,
    branch: str = "full",
    phone_labels: torch.Tensor | None = None,
) -> AvLipsyncLoss:
    """The training loss of av-lipsync outputs against ``labels`` (B, T, 52); see the module docstring.

    ``outputs`` has ``blendshapes``, ``lipsync_blendshapes``, ``seal_logits`` and ``phone_logits`` (an
    :class:`AvLipsyncOutput`); ``config`` gives the channel names and groups.
    """
    weights = AvLipsyncLossWeights() if weights is None else weights
    if branch not in ("full", "lipsync"):
        raise ValueError(f"branch must be 'full' or 'lipsync', got {branch!r}")
    predictions = outputs.blendshapes if branch == "full" else outputs.lipsync_blendshapes
    labels = torch.as_tensor(labels, dtype=predictions.dtype, device=predictions.device)
    if predictions.shape != labels.shape:
        raise ValueError(f"labels have shape {tuple(labels.shape)}, predictions {tuple(predictions.shape)}")
    dtype, device = predictions.dtype, predictions.device
    names = list(config.blendshape_names)
    channels = config.channel_indices(config.lipsync_channels) if branch == "lipsync" else range(len(names))
    keep = torch.zeros(len(names), dtype=dtype, device=device)
    keep[list(channels)] = 1.0
    mask = (
        torch.ones(predictions.shape[:2], dtype=dtype, device=device)
        if attention_mask is None
        else attention_mask.to(device=device, dtype=dtype)
    )[..., None]

    def channel_weights(table: dict[str, float]) -> torch.Tensor:
        # Scaled to mean 1 over all channels: each term is then a weighted mean over the scored channels.
        w = torch.as_tensor(config.channel_weights(table), dtype=dtype, device=device) * keep
        return w * (len(names) / w.sum().clamp_min(1e-8))

    frames = mask[..., 0]
    l1 = masked_l1(predictions, labels, frames, channel_weights(weights.l1_weights))
    velocity = velocity_l1(predictions, labels, frames, channel_weights(weights.velocity_weights))
    closure = torch.tensor([n.startswith(CLOSURE_PREFIXES) for n in names], dtype=dtype, device=device)
    active_w = weights.active_weight + (weights.closure_active_weight - weights.active_weight) * closure
    emphasis = 1.0 + active_w * (labels > weights.active_threshold).to(dtype)
    active_mse = _masked_mean((predictions - labels).square() * emphasis, mask * keep)
    loss = l1 + weights.velocity_weight * velocity + weights.mse_weight * active_mse

    seal = None
    seal_logits = getattr(outputs, "seal_logits", None)
    if seal_logits is not None:
        target = lips_sealed(labels, names).to(dtype)
        bce = nn.functional.binary_cross_entropy_with_logits(seal_logits, target, reduction="none")
        seal = _masked_mean(bce, mask[..., 0])
        loss = loss + weights.seal_weight * seal
    phone = None
    if phone_labels is not None:
        logits = getattr(outputs, "phone_logits", None)
        if logits is None:
            raise ValueError("phone_labels need a model with config.phone_labels_vocab set")
        targets = torch.as_tensor(phone_labels, device=logits.device).long()
        if targets.shape != logits.shape[:2]:
            raise ValueError(f"phone_labels must be (batch, frames), got {tuple(targets.shape)}")
        if attention_mask is not None:
            targets = targets.masked_fill(attention_mask.to(targets.device) == 0, -100)
        phone = nn.functional.cross_entropy(logits.transpose(1, 2), targets, ignore_index=-100)
        loss = loss + weights.phone_weight * phone
    return AvLipsyncLoss(loss=loss, l1=l1, velocity=velocity, active_mse=active_mse, seal=seal, phone=phone)


__all__ = ["AvLipsyncLoss", "AvLipsyncLossWeights", "av_lipsync_loss", "lips_sealed"]
