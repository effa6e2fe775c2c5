"""The loss koemorph trains with: :class:`KoemorphForBlendshapeRegression` returns it.

``loss = l1 + velocity_weight * velocity + mse_weight * active_mse``

* ``l1``: per-channel weighted mean absolute error over real frames (``l1_weights``: name or name-prefix keys);
* ``velocity``: the same on first differences (``velocity_weights``), against a jittery per-frame output;
* ``active_mse``: squared error weighted ``1 + active_weight`` where the target channel is active (above
  ``active_threshold``). L1 alone drives sparse channels (lip press, rolls: zero on most frames) to zero.

The weights are the recipe's to choose per call (``loss_weights=``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from avzoo.losses import masked_l1, velocity_l1


@dataclass
class KoemorphLossWeights:
    """Weights of the loss terms (see the module docstring); the defaults are the bundled model's."""

    l1_weights: dict[str, float] = field(
        default_factory=lambda: {"jawOpen": 2.0, "mouthClose": 3.0, "mouthPress": 3.0, "mouthRoll": 2.0}
    )
    velocity_weight: float = 0.5
    velocity_weights: dict[str, float] = field(default_factory=dict)
    mse_weight: float = 4.0
    active_weight: float = 2.0
    active_threshold: float = 0.05

    def __post_init__(self) -> None:
        for name in ("velocity_weight", "mse_weight", "active_weight", "active_threshold"):
            value = float(getattr(self, name))
            if not value >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
            setattr(self, name, value)


def koemorph_loss(
    predictions: torch.Tensor,
    labels: torch.Tensor,
    attention_mask: torch.Tensor | None,
    config: Any,
    weights: KoemorphLossWeights | None = None,
) -> torch.Tensor:
    """The training loss of ``predictions`` (B, T, 52) against ``labels``; see the module docstring."""
    weights = KoemorphLossWeights() if weights is None else weights
    labels = torch.as_tensor(labels, dtype=predictions.dtype, device=predictions.device)
    if predictions.shape != labels.shape:
        raise ValueError(f"labels have shape {tuple(labels.shape)}, predictions {tuple(predictions.shape)}")
    dtype, device = predictions.dtype, predictions.device
    frames = (
        torch.ones(predictions.shape[:2], dtype=dtype, device=device)
        if attention_mask is None
        else attention_mask.to(device=device, dtype=dtype)
    )

    def channel_weights(table: dict[str, float]) -> torch.Tensor:
        return torch.as_tensor(config.channel_weights(table), dtype=dtype, device=device)

    l1 = masked_l1(predictions, labels, frames, channel_weights(weights.l1_weights))
    velocity = velocity_l1(predictions, labels, frames, channel_weights(weights.velocity_weights))
    emphasis = 1.0 + weights.active_weight * (labels > weights.active_threshold).to(dtype)
    squared = (predictions - labels).square() * emphasis * frames[..., None]
    active_mse = squared.sum() / (frames.sum() * predictions.shape[-1]).clamp_min(1e-8)
    return l1 + weights.velocity_weight * velocity + weights.mse_weight * active_mse


__all__ = ["KoemorphLossWeights", "koemorph_loss"]
