"""The loss :class:`~.modeling_text_audio_emotion.TextAudioEmotionForSequenceClassification` returns.

Cross-entropy with label smoothing, plus two optional attention regularisers (weight 0 by default):

* ``entropy``: the mean normalised entropy of each attention row (in [0, 1]: 1 is uniform over the valid keys).
  A positive weight sharpens the maps (each word picks a span), a negative one spreads them.
* ``alignment``: 1 − the cosine similarity between the text→audio map and the transposed audio→text map
  (head means, first layer), so both directions agree on which word goes with which stretch of speech.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class TextAudioEmotionLossWeights:
    """Weights the recipe passes per call (``loss_weights=``)."""

    label_smoothing: float = 0.1
    entropy: float = 0.0
    alignment: float = 0.0


@dataclass
class TextAudioEmotionLoss:
    total: torch.Tensor
    classification: torch.Tensor
    entropy: torch.Tensor
    alignment: torch.Tensor


def attention_entropy(
    weights: torch.Tensor, query_mask: torch.Tensor, key_mask: torch.Tensor
) -> torch.Tensor:
    """Mean normalised entropy of the rows of ``weights`` (B, H, Q, K) over valid queries; rows with one valid
    key count as 0."""
    ent = -(weights * weights.clamp(min=1e-12).log()).sum(-1)  # (B, H, Q)
    n_keys = key_mask.sum(-1).to(weights.dtype).clamp(min=1)  # (B,)
    norm = torch.where(n_keys > 1, n_keys.log(), torch.ones_like(n_keys))
    ent = ent / norm[:, None, None]
    valid = query_mask[:, None, :].expand_as(ent).to(weights.dtype)
    return (ent * valid).sum() / valid.sum().clamp(min=1)


def attention_alignment(t2a: torch.Tensor, a2t: torch.Tensor, text_mask, audio_mask) -> torch.Tensor:
    """1 − cosine similarity of the head-mean text→audio map (B, L, F) and audio→text map transposed."""
    valid = (text_mask[:, :, None] & audio_mask[:, None, :]).to(t2a.dtype)
    x = t2a.mean(1) * valid
    y = a2t.mean(1).transpose(1, 2) * valid
    cos = F.cosine_similarity(x.flatten(1), y.flatten(1), dim=-1, eps=1e-8)
    return (1 - cos).mean()


def text_audio_emotion_loss(
    outputs, labels: torch.Tensor, weights: TextAudioEmotionLossWeights | None = None
):
    """The total loss and its parts from model ``outputs`` (logits, maps, masks) and ``labels`` (B,)."""
    weights = weights or TextAudioEmotionLossWeights()
    logits = outputs.logits
    labels = torch.as_tensor(labels, device=logits.device).long().view(-1)
    if labels.shape[0] != logits.shape[0]:
        raise ValueError(
            f"labels must be (B,) = ({logits.shape[0]},) class indices, got {tuple(labels.shape)}"
        )
    if labels.numel() and (labels.min() < 0 or labels.max() >= logits.shape[-1]):
        raise ValueError(f"labels must be class indices in [0, {logits.shape[-1]}), got {labels.tolist()}")
    ce = F.cross_entropy(logits, labels, label_smoothing=weights.label_smoothing)
    zero = logits.new_zeros(())
    entropy = alignment = zero
    t2a, a2t = outputs.text_to_audio_attentions, outputs.audio_to_text_attentions
    tm, am = outputs.text_mask, outputs.audio_mask
    if weights.entropy and (t2a or a2t):
        parts = [attention_entropy(w, tm, am) for w in t2a] + [attention_entropy(w, am, tm) for w in a2t]
        entropy = torch.stack(parts).mean()
    if weights.alignment and t2a and a2t:
        alignment = attention_alignment(t2a[0], a2t[0], tm, am)
    total = ce + weights.entropy * entropy + weights.alignment * alignment
    if not math.isfinite(float(total.detach())):
        raise FloatingPointError("text-audio-emotion loss is not finite")
    return TextAudioEmotionLoss(total=total, classification=ce.detach(), entropy=entropy.detach(),
                                alignment=alignment.detach())  # fmt: skip


__all__ = [
    "TextAudioEmotionLoss",
    "TextAudioEmotionLossWeights",
    "attention_alignment",
    "attention_entropy",
    "text_audio_emotion_loss",
]
