"""The loss :class:`~.modeling_text_vad.TextVadForVadRegression` returns: VAD regression + soft emotion targets.

``labels`` is one ``(B, 3 + E)`` tensor: valence, arousal, dominance in [-1, 1], then a probability over the
``E`` emotions (a teacher's soft targets, or a one-hot). NaN marks what a row lacks: EmoBank sentences carry VAD
and no emotion, so the two parts are averaged over the rows that have them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class TextVadLossWeights:
    """Weights of the two parts; the recipe passes them per call (``loss_weights=``)."""

    vad: float = 1.0
    emotion: float = 1.0


@dataclass
class TextVadLoss:
    total: torch.Tensor
    vad: torch.Tensor
    emotion: torch.Tensor


def text_vad_loss(
    vad: torch.Tensor,
    emotion_logits: torch.Tensor,
    labels: torch.Tensor,
    weights: TextVadLossWeights | None = None,
) -> TextVadLoss:
    """Masked mean squared VAD error + soft cross-entropy of the emotion logits against ``labels``."""
    weights = weights or TextVadLossWeights()
    num_emotions = emotion_logits.shape[-1]
    if labels.shape != (*vad.shape[:-1], 3 + num_emotions):
        raise ValueError(
            f"labels must be (B, {3 + num_emotions}) = VAD + emotion probabilities, got {tuple(labels.shape)}"
        )
    labels = labels.to(vad.dtype)
    vad_target, emo_target = labels[..., :3], labels[..., 3:]
    has_vad = torch.isfinite(vad_target)
    diff = torch.where(has_vad, vad - torch.nan_to_num(vad_target), torch.zeros_like(vad))
    vad_loss = diff.pow(2).sum() / has_vad.sum().clamp(min=1)
    has_emo = torch.isfinite(emo_target).all(-1)
    log_p = torch.log_softmax(emotion_logits, dim=-1)
    ce = -(torch.nan_to_num(emo_target) * log_p).sum(-1)
    emo_loss = (ce * has_emo).sum() / has_emo.sum().clamp(min=1)
    total = weights.vad * vad_loss + weights.emotion * emo_loss
    return TextVadLoss(total=total, vad=vad_loss.detach(), emotion=emo_loss.detach())


__all__ = ["TextVadLoss", "TextVadLossWeights", "text_vad_loss"]
