"""The tongue gate: ``tongueOut`` only where the phone calls for it (/th/ /dh/), offline and streaming.

Real speech captures keep ``tongueOut`` at 0 except on dentals, while a speech model's tongue channel wobbles on
any loud vowel. :func:`gate_tongue` multiplies ``tongueOut`` by the smoothed posterior of the dental phones from the
model's phone head (or, without posteriors, keeps only short clear peaks); :class:`TongueGateStream` is its causal
form. The mouth filter (:mod:`.crisp_mouth`) applies it after smoothing when the processor's ``tongue_gate`` is on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from avzoo.arkit import ARKIT_NAMES

from .crisp_mouth import _as_batch, _restore, smoothstep

#: :func:`gate_tongue` defaults: the phones that show the tongue, the posterior edges (smoothstep) of the gate,
#: the frames of look-around of the posterior, and the level rule used without phone posteriors.
TONGUE_PHONES = ("TH", "DH")
TONGUE_EDGES = (0.05, 0.3)
TONGUE_SPREAD = 2
TONGUE_LEVEL = (0.15, 0.3)
TONGUE_MAX_FRAMES = 10


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _dilate(x: np.ndarray, before: int, after: int) -> np.ndarray:
    """Running max over ``[t - before, t + after]`` along axis -1 (edges held)."""
    if before + after <= 0 or x.shape[-1] < 2:
        return x
    pad = np.concatenate([np.repeat(x[..., :1], before, -1), x, np.repeat(x[..., -1:], after, -1)], -1)
    n = x.shape[-1]
    return np.max(np.stack([pad[..., j : j + n] for j in range(before + after + 1)]), axis=0)


def _level_gate(tongue: np.ndarray, level: tuple[float, float], max_frames: int) -> np.ndarray:
    """Per-frame gain of the level rule on a (T,) tongue track (see :func:`gate_tongue`)."""
    from_level = level[0] * 0.5
    gain = np.zeros_like(tongue)
    above = np.concatenate([[False], tongue > from_level, [False]])
    edges = np.flatnonzero(np.diff(above.astype(np.int8)))
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        if b - a <= max_frames:
            gain[a:b] = smoothstep(level[0], level[1], tongue[a:b].max())
    return gain


def _tongue_channel(width: int, channel: int | str) -> int:
    if isinstance(channel, str):
        if width != len(ARKIT_NAMES):
            raise ValueError(
                f"blendshapes have {width} channels; pass channel= (an index) for a non-ARKit layout"
            )
        channel = list(ARKIT_NAMES).index(channel)
    if not 0 <= int(channel) < width:
        raise ValueError(f"channel must be in [0, {width}), got {channel}")
    return int(channel)


def gate_tongue(
    blendshapes: Any,
    phone_probs: Any = None,
    phone_vocab: Sequence[str] | None = None,
    allowed: Sequence[str] = TONGUE_PHONES,
    *,
    phone_logits: Any = None,
    edges: tuple[float, float] = TONGUE_EDGES,
    spread: int = TONGUE_SPREAD,
    lookahead: int | None = None,
    level: tuple[float, float] = TONGUE_LEVEL,
    max_frames: int = TONGUE_MAX_FRAMES,
    channel: int | str = "tongueOut",
) -> Any:
    """``tongueOut`` only where the phone calls for it, on ``(T, C)`` or ``(B, T, C)`` tracks (same type back).

    With phone posteriors (``phone_probs``, or ``phone_logits`` softmaxed; ``(T, V)`` / ``(B, T, V)`` over
    ``phone_vocab``): ``tongueOut *= smoothstep(edges[0], edges[1], max(p[t - spread : t + lookahead + 1]))`` with
    ``p`` the summed posterior of the ``allowed`` phones (default /th/ /dh/, the only ones whose viseme shows the
    tongue). The look-around keeps the tongue's onset and release, which spread beyond the phone as the
    articulation does; ``lookahead`` defaults to ``spread``, and ``lookahead=0`` is causal (each frame needs only
    its own and earlier posteriors), for streaming.

    Without posteriors, a level rule: a run of frames above ``level[0] / 2`` keeps ``smoothstep(level[0],
    level[1], its peak)`` of its values when it lasts at most ``max_frames`` frames and is zeroed otherwise (a
    dental is a short, clear peak; low wobble and a tongue held out are not speech); frames outside such runs go
    to 0. Other channels pass unchanged.
    """
    arr, single, is_torch = _as_batch(blendshapes)
    channel = _tongue_channel(arr.shape[-1], channel)
    e0, e1 = float(edges[0]), float(edges[1])
    if not 0.0 <= e0 < e1:
        raise ValueError(f"need 0 <= edges[0] < edges[1], got {edges}")
    lookahead = spread if lookahead is None else lookahead
    if int(spread) < 0 or int(lookahead) < 0 or int(max_frames) < 1:
        raise ValueError(
            f"need spread >= 0, lookahead >= 0 and max_frames >= 1, got {spread}, {lookahead}, {max_frames}"
        )
    if phone_probs is not None and phone_logits is not None:
        raise ValueError("give phone_probs or phone_logits, not both")
    out = arr.copy()
    given = phone_probs if phone_probs is not None else phone_logits
    if given is None:
        for b in range(arr.shape[0]):
            out[b, :, channel] = arr[b, :, channel] * _level_gate(arr[b, :, channel], level, int(max_frames))
        return _restore(out, blendshapes, single, is_torch)
    if isinstance(given, torch.Tensor):
        given = given.detach().float().cpu().numpy()
    probs = np.asarray(given, dtype=np.float64)
    probs = probs[None] if probs.ndim == 2 else probs
    if probs.ndim != 3 or probs.shape[:2] != arr.shape[:2]:
        raise ValueError(
            f"phone posteriors must be (T, V) or (B, T, V) matching {arr.shape[:2]}, got {probs.shape}"
        )
    if phone_vocab is None or len(phone_vocab) != probs.shape[-1]:
        raise ValueError(f"phone_vocab must name the {probs.shape[-1]} phones of the posteriors")
    if phone_logits is not None:
        probs = _softmax(probs)
    vocab = list(phone_vocab)
    picked = [vocab.index(p) for p in allowed if p in vocab]
    if not picked:
        raise ValueError(f"none of the allowed phones {list(allowed)} is in phone_vocab")
    p = _dilate(probs[..., picked].sum(-1), int(spread), int(lookahead))
    out[..., channel] = arr[..., channel] * smoothstep(e0, e1, p)
    return _restore(out, blendshapes, single, is_torch)


class TongueGateStream:
    """:func:`gate_tongue` with phone posteriors, chunk by chunk and causal (``lookahead=0``), for streaming.

    Call it on ``(k, C)`` / ``(B, k, C)`` frames with the same frames' ``phone_logits`` (or ``phone_probs``); it
    keeps the last ``spread`` frames' dental posterior (state), so chunked output equals
    ``gate_tongue(whole, ..., lookahead=0)`` on the whole track.
    """

    def __init__(
        self,
        phone_vocab: Sequence[str],
        allowed: Sequence[str] = TONGUE_PHONES,
        *,
        edges: tuple[float, float] = TONGUE_EDGES,
        spread: int = TONGUE_SPREAD,
        channel: int | str = "tongueOut",
    ):
        self.vocab = list(phone_vocab)
        self.allowed = tuple(allowed)
        self.edges = (float(edges[0]), float(edges[1]))
        self.spread = int(spread)
        self.channel = channel
        if not [p for p in self.allowed if p in self.vocab]:
            raise ValueError(f"none of the allowed phones {list(self.allowed)} is in phone_vocab")
        if self.spread < 0 or not 0.0 <= self.edges[0] < self.edges[1]:
            raise ValueError(f"need spread >= 0 and 0 <= edges[0] < edges[1], got {spread}, {edges}")
        self.past: np.ndarray | None = None  # (B, spread) summed allowed posterior of the latest frames

    def reset(self) -> None:
        self.past = None

    def __call__(self, frames: Any, phone_logits: Any = None, phone_probs: Any = None) -> Any:
        if (phone_logits is None) == (phone_probs is None):
            raise ValueError("give phone_logits or phone_probs (one of them)")
        given = phone_logits if phone_probs is None else phone_probs
        if isinstance(given, torch.Tensor):
            given = given.detach().float().cpu().numpy()
        probs = np.asarray(given, dtype=np.float64)
        probs = probs[None] if probs.ndim == 2 else probs
        arr, single, is_torch = _as_batch(frames)
        channel = _tongue_channel(arr.shape[-1], self.channel)
        if probs.ndim != 3 or probs.shape[:2] != arr.shape[:2] or probs.shape[-1] != len(self.vocab):
            raise ValueError(
                f"phone posteriors must be (k, {len(self.vocab)}) or (B, k, {len(self.vocab)}) matching the "
                f"frames {arr.shape[:2]}, got {probs.shape}"
            )
        if phone_logits is not None:
            probs = _softmax(probs)
        picked = [self.vocab.index(p) for p in self.allowed if p in self.vocab]
        p = probs[..., picked].sum(-1)  # (B, k)
        if self.past is None or self.past.shape[0] != p.shape[0]:
            self.past = np.zeros((p.shape[0], self.spread))
        joined = np.concatenate([self.past, p], axis=1)
        gain = smoothstep(*self.edges, _dilate(joined, self.spread, 0)[:, self.spread :])
        self.past = joined[:, joined.shape[1] - self.spread :]
        out = arr.copy()
        out[..., channel] = arr[..., channel] * gain
        return _restore(out, frames, single, is_torch)


__all__ = ["TONGUE_PHONES", "TongueGateStream", "gate_tongue"]
