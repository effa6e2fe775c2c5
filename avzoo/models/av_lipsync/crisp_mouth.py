"""crisp_mouth: a mouth filter that removes jitter but keeps lip closures crisp, offline and streaming.

It acts on the mouth channels (names starting with ``jaw``, ``mouth`` or ``tongue``: the 28 speech channels);
every other channel passes through unchanged. Both forms share three steps -- smooth, gate, gain:

Offline, :func:`crisp_mouth` (whole utterance known):
    1. ``s = gaussian(x, sigma)`` along time, per channel (zero-phase, edges held);
    2. per-utterance normalisation: ``n = s / max(level, MIN_LEVEL)`` with ``level`` the channel's peak of ``s``
       in this utterance (channels that never rise above ``MIN_LEVEL`` = 0.05 are not blown up);
    3. ``y = clip(scale * s * smoothstep(edge0, edge1, n), 0, 1)``: a soft noise gate with *relative* edges --
       low-level wobble (a half-open jaw during a closure, noise in silence) goes to 0, strong movements pass.

Streaming, :class:`CrispMouthStream` (frame by frame, state ``prev_smoothed``):
    1. ``s_t = alpha * x_t + (1 - alpha) * s_{t-1}``: a causal EMA (adds no latency);
    2. -- (no utterance statistics exist yet);
    3. ``y_t = clip(scale * s_t * smoothstep(edge0, edge1, s_t), 0, 1)`` with *absolute* edges (a number or one
       value per channel, e.g. the offline edges times each channel's typical level).

Both forms then give ``mouthClose`` the raw frame's ``mouthClose / jawOpen`` ratio (:func:`keep_close_ratio`), so
a seal the model predicted survives the smoothing of the jaw, and keep every closure the raw frame has
(:func:`keep_closures`, on by default): where the raw lips are nearly shut (lip gap ``jawOpen - mouthClose`` under
:data:`KEEP_GAP`) or pressed/rolled (:data:`KEEP_PRESS`), the filtered lip gap is no wider and the press/roll no
weaker (up to :data:`KEEP_PRESS_MAX`) than the raw frame's. Smoothing alone loses them on loud speech, where the
model's closures are 1-2 frame press peaks and jaw dips between wide-open vowels: a Gaussian of sigma 1 halves a
1-frame peak and fills the dip. Both can then apply the closure seal
(:func:`apply_seal`, parameters ``seal_edge0``/``seal_edge1``, off when None): where the predicted lip press says the lips are sealed, ``mouthClose`` is raised to ``jawOpen`` so the lips
really meet, as they do on every /p b m/.

``alpha`` and ``sigma`` both say how much to smooth: :func:`alpha_from_sigma` gives the EMA whose impulse response
has the Gaussian's variance, and each form derives its own smoother from the other parameter when its own is not
given. :func:`calibrate_stream` fits the streaming parameters (alpha, per-channel absolute edges) to match the
offline form on example tracks; ``benchmarks/crisp_mouth.py`` reports the remaining gap.

:func:`ema_window` is the same EMA as a fixed-size computation over a window (a truncated impulse response whose
error is below ``1e-7``), used by the ONNX export where a per-frame loop cannot have a dynamic length.

The tongue gate (``tongueOut`` only on /th/ /dh/) is in :mod:`.tongue_gate`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from avzoo.arkit import ARKIT_NAMES

#: Channels the filter acts on: the jaw, the lips and the tongue.
MOUTH_PREFIXES = ("jaw", "mouth", "tongue")
#: A channel's utterance level is at least this, so near-silent channels are not normalised up to 1.
MIN_LEVEL = 0.05
#: Below this jawOpen the mouthClose/jawOpen ratio is taken as mouthClose / RATIO_EPS (clipped to 1).
RATIO_EPS = 1e-6
#: Truncation error bound of :func:`ema_window`'s impulse response.
EMA_TOLERANCE = 1e-7

#: :func:`keep_closures`: a raw frame whose lip gap (``jawOpen - mouthClose``) is at most ``KEEP_GAP[0]`` keeps
#: its gap in full, one at ``KEEP_GAP[1]`` or more not at all (smoothstep between). ``KEEP_GAP[0]`` is the lip gap
#: under which real captures count the lips as nearly shut (``avzoo.evaluation.real_takes.LIP_GAP_CLOSED``).
KEEP_GAP = (0.05, 0.08)
#: :func:`keep_closures`: raw mean lip press (or roll) from which the frame's press/roll and lip gap are kept
#: (smoothstep between the edges); ``KEEP_PRESS[1]`` is the metric's closure threshold
#: (``avzoo.metrics.functional.blendshape.DEFAULT_CLOSURE_THRESHOLD``).
KEEP_PRESS = (0.1, 0.2)
#: :func:`keep_closures`: a kept press (or roll) pair is scaled down to this mean at most -- above the closure
#: threshold, below the raw peaks' overshoot (keeping those in full costs speech MAE and jitter on synthetic tests).
KEEP_PRESS_MAX = 0.25
#: Offline defaults: chosen by ``benchmarks/crisp_mouth.py`` on fabricated tracks (blurred, shrunk, noisy viseme
#: tracks), so recalibrate them on a trained model's validation predictions.
DEFAULT_OFFLINE = {"sigma": 1.5, "edge0": 0.2, "edge1": 0.7, "scale": 1.3}
#: Typical per-utterance peak of each mouth channel (smoothed) on the same tracks; the streaming edges are the
#: offline relative edges times these levels (:func:`calibrate_stream` recomputes them from any tracks).
TYPICAL_LEVEL = {
    "jawForward": 0.054,
    "jawLeft": 0.051,
    "jawRight": 0.052,
    "jawOpen": 0.343,
    "mouthClose": 0.095,
    "mouthFunnel": 0.382,
    "mouthPucker": 0.513,
    "mouthLeft": 0.050,
    "mouthRight": 0.052,
    "mouthSmileLeft": 0.105,
    "mouthSmileRight": 0.108,
    "mouthFrownLeft": 0.051,
    "mouthFrownRight": 0.058,
    "mouthDimpleLeft": 0.050,
    "mouthDimpleRight": 0.056,
    "mouthStretchLeft": 0.230,
    "mouthStretchRight": 0.252,
    "mouthRollLower": 0.367,
    "mouthRollUpper": 0.156,
    "mouthShrugLower": 0.156,
    "mouthShrugUpper": 0.051,
    "mouthPressLeft": 0.226,
    "mouthPressRight": 0.237,
    "mouthLowerDownLeft": 0.157,
    "mouthLowerDownRight": 0.152,
    "mouthUpperUpLeft": 0.190,
    "mouthUpperUpRight": 0.187,
    "tongueOut": 0.326,
}
#: Streaming defaults, from the same benchmark: alpha from :func:`calibrate_stream`, absolute per-channel edges.
DEFAULT_STREAM = {
    "alpha": 0.601,
    "edge0": [round(DEFAULT_OFFLINE["edge0"] * TYPICAL_LEVEL.get(n, 0.0), 5) for n in ARKIT_NAMES],
    "edge1": [
        round(DEFAULT_OFFLINE["edge1"] * TYPICAL_LEVEL.get(n, 1.0 / DEFAULT_OFFLINE["edge1"]), 5)
        for n in ARKIT_NAMES
    ],
    "scale": DEFAULT_OFFLINE["scale"],
}


def mouth_channels(names: Sequence[str]) -> list[int]:
    """Indices of the channels in ``names`` the filter acts on (jaw*, mouth*, tongue*)."""
    return [i for i, n in enumerate(names) if n.startswith(MOUTH_PREFIXES)]


def alpha_from_sigma(sigma: float) -> float:
    """EMA coefficient whose impulse response ``alpha (1 - alpha)^k`` has variance ``sigma**2`` frames²."""
    sigma = float(sigma)
    if not math.isfinite(sigma) or sigma < 0:
        raise ValueError(f"sigma must be a finite number of frames >= 0, got {sigma!r}")
    if sigma == 0:
        return 1.0
    return (math.sqrt(1.0 + 4.0 * sigma**2) - 1.0) / (2.0 * sigma**2)


def sigma_from_alpha(alpha: float) -> float:
    """Inverse of :func:`alpha_from_sigma`: ``sqrt(1 - alpha) / alpha``."""
    alpha = _check_alpha(alpha)
    return math.sqrt(1.0 - alpha) / alpha


def _check_alpha(alpha: Any) -> float:
    alpha = float(alpha)
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"alpha must be in (0, 1] (1 = no smoothing), got {alpha!r}")
    return alpha


def _check_gate(edge0: Any, edge1: Any, scale: Any, size: int) -> tuple[np.ndarray, np.ndarray, float]:
    try:
        e0 = np.broadcast_to(np.asarray(edge0, dtype=np.float64), (size,)).copy()
        e1 = np.broadcast_to(np.asarray(edge1, dtype=np.float64), (size,)).copy()
    except (TypeError, ValueError):
        raise ValueError(f"edge0 and edge1 must be numbers or {size} values (one per channel)") from None
    if not (np.isfinite(e0).all() and np.isfinite(e1).all()) or np.any(e0 < 0) or np.any(e1 <= e0):
        raise ValueError(f"need 0 <= edge0 < edge1 (per channel), got edge0={edge0!r}, edge1={edge1!r}")
    scale = float(scale)
    if not math.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale must be a positive number, got {scale!r}")
    return e0, e1, scale


def smoothstep(edge0: Any, edge1: Any, x: Any) -> Any:
    """``t * t * (3 - 2 t)`` with ``t = clip((x - edge0) / (edge1 - edge0), 0, 1)``; numpy or torch."""
    if isinstance(x, torch.Tensor):
        t = torch.clamp((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    else:
        t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _seal_indices(width: int) -> tuple[int, int, int, int] | None:
    """(mouthClose, jawOpen, mouthPressLeft, mouthPressRight) in the canonical layout, else None."""
    if width != len(ARKIT_NAMES):
        return None
    names = list(ARKIT_NAMES)
    return tuple(names.index(n) for n in ("mouthClose", "jawOpen", "mouthPressLeft", "mouthPressRight"))


def _check_seal(seal_edge0: Any, seal_edge1: Any) -> tuple[float, float] | None:
    if seal_edge0 is None and seal_edge1 is None:
        return None
    e0, e1 = float(seal_edge0), float(seal_edge1)
    if not (math.isfinite(e0) and math.isfinite(e1) and 0.0 <= e0 < e1):
        raise ValueError(
            f"seal edges must satisfy 0 <= seal_edge0 < seal_edge1, got {seal_edge0}, {seal_edge1}"
        )
    return e0, e1


def apply_seal(frames: Any, seal: tuple[float, float] | None) -> Any:
    """Close the lips where the lip press says they are sealed: ``mouthClose = max(mouthClose, s * jawOpen)``.

    ``s = smoothstep(seal_edge0, seal_edge1, mean lip press)``. In ARKit ``mouthClose`` closes the lips against the
    current jaw opening, so a sealed frame needs ``mouthClose`` equal to ``jawOpen``; a regression model rarely
    hits that equality by itself, while it does predict the press that comes with every /p b m/. Works in place
    on numpy (..., 52) arrays and returns torch tensors anew; other layouts are returned unchanged.
    """
    if seal is None:
        return frames
    idx = _seal_indices(frames.shape[-1])
    if idx is None:
        return frames
    close, jaw, pl, pr = idx
    s = smoothstep(seal[0], seal[1], (frames[..., pl] + frames[..., pr]) * 0.5)
    if isinstance(frames, torch.Tensor):
        sealed = torch.maximum(frames[..., close], s * frames[..., jaw])
        onehot = torch.zeros(frames.shape[-1], dtype=frames.dtype, device=frames.device)
        onehot[close] = 1.0
        return frames + (sealed - frames[..., close]).unsqueeze(-1) * onehot
    frames[..., close] = np.maximum(frames[..., close], s * frames[..., jaw])
    return frames


def keep_close_ratio(filtered: Any, raw: Any, channels: Sequence[int] | None = None) -> Any:
    """Give the filtered frames the raw frames' ``mouthClose / jawOpen`` ratio: ``mouthClose = ratio * jawOpen``.

    ARKit's ``mouthClose`` closes the lips against the current jaw opening, so a seal is the *ratio* reaching 1,
    not a level. Smoothing the two channels separately spreads the neighbouring vowels' jaw into a 1-2 frame
    /p b m/ and leaves the lips apart; keeping the per-frame ratio keeps the seal where the model put it and
    adds no latency. Acts only when both channels are filtered (``channels``: None means both are). Works in
    place on numpy (..., 52) arrays and returns torch tensors anew; other layouts are returned unchanged.
    """
    idx = _seal_indices(filtered.shape[-1])
    if idx is None:
        return filtered
    close, jaw = idx[0], idx[1]
    if channels is not None and not (close in channels and jaw in channels):
        return filtered
    if isinstance(filtered, torch.Tensor):
        ratio = torch.clamp(raw[..., close] / torch.clamp(raw[..., jaw], min=RATIO_EPS), 0.0, 1.0)
        onehot = torch.zeros(filtered.shape[-1], dtype=filtered.dtype, device=filtered.device)
        onehot[close] = 1.0
        return filtered + (ratio * filtered[..., jaw] - filtered[..., close]).unsqueeze(-1) * onehot
    ratio = np.clip(raw[..., close] / np.maximum(raw[..., jaw], RATIO_EPS), 0.0, 1.0)
    filtered[..., close] = ratio * filtered[..., jaw]
    return filtered


def _closure_indices(width: int) -> tuple[int, ...] | None:
    """(mouthClose, jawOpen, mouthPressLeft, mouthPressRight, mouthRollLower, mouthRollUpper), else None."""
    if width != len(ARKIT_NAMES):
        return None
    names = list(ARKIT_NAMES)
    return tuple(
        names.index(n)
        for n in (
            "mouthClose",
            "jawOpen",
            "mouthPressLeft",
            "mouthPressRight",
            "mouthRollLower",
            "mouthRollUpper",
        )
    )


def keep_closures(
    filtered: Any,
    raw: Any,
    channels: Sequence[int] | None = None,
    *,
    mask: torch.Tensor | None = None,
    gap_edges: tuple[float, float] = KEEP_GAP,
    press_edges: tuple[float, float] = KEEP_PRESS,
    press_max: float = KEEP_PRESS_MAX,
) -> Any:
    """Keep the closures of the raw frames in the filtered ones, frame by frame (no state, no latency).

    With ``w_press = smoothstep(*press_edges, max(mean raw press, mean raw roll))`` and
    ``w = max(1 - smoothstep(*gap_edges, raw lip gap), w_press)``:

    * the press pair and the roll pair: ``y = max(y, w_press * x * min(1, press_max / mean of the pair's x))``
      -- a 1-2 frame press peak is not averaged away; it is kept up to a pair mean of ``press_max`` (enough to
      close the lips, without the raw frame's overshoot and wobble);
    * ``mouthClose``: ``y = max(y, w * (y_jawOpen - raw lip gap))`` -- the filtered lip gap is no wider than the
      raw one where the raw lips are shut or pressed, however the smoothing moved the jaw.

    Elsewhere (open lips, silence, where the filter already closed more) nothing changes. Acts on the channels
    that are filtered (``channels``; None: all; the lip-gap rule needs both jawOpen and mouthClose); the torch form
    takes ``mask`` ((C,) bool tensor of filtered channels) instead, so an exported graph has no branches. Works in
    place on numpy (..., 52) arrays and returns torch tensors anew; other layouts are returned unchanged.
    """
    idx = _closure_indices(filtered.shape[-1])
    if idx is None:
        return filtered
    close, jaw, pl, pr, rl, ru = idx
    is_torch = isinstance(filtered, torch.Tensor)
    maximum = torch.maximum if is_torch else np.maximum

    def floor_at(x: Any, low: float) -> Any:
        return torch.clamp(x, min=low) if is_torch else np.maximum(x, low)

    press = (raw[..., pl] + raw[..., pr]) * 0.5
    roll = (raw[..., rl] + raw[..., ru]) * 0.5
    w_press = smoothstep(press_edges[0], press_edges[1], maximum(press, roll))
    gap = floor_at(raw[..., jaw] - raw[..., close], 0.0)
    w = maximum(1.0 - smoothstep(gap_edges[0], gap_edges[1], gap), w_press)
    # min(1, press_max / mean) = 1 / max(1, mean / press_max)
    press_gain = w_press / floor_at(press / press_max, 1.0)
    roll_gain = w_press / floor_at(roll / press_max, 1.0)
    new = {
        pl: maximum(filtered[..., pl], press_gain * raw[..., pl]),
        pr: maximum(filtered[..., pr], press_gain * raw[..., pr]),
        rl: maximum(filtered[..., rl], roll_gain * raw[..., rl]),
        ru: maximum(filtered[..., ru], roll_gain * raw[..., ru]),
        close: maximum(filtered[..., close], w * (filtered[..., jaw] - gap)),
    }
    if is_torch:
        out = filtered
        for c, value in new.items():
            onehot = torch.zeros(filtered.shape[-1], dtype=filtered.dtype, device=filtered.device)
            onehot[c] = 1.0
            on = torch.ones((), dtype=torch.bool, device=filtered.device)
            if mask is not None:
                on = mask[c] & mask[jaw] if c == close else mask[c]
            delta = torch.where(on, value - filtered[..., c], torch.zeros_like(value))
            out = out + delta.unsqueeze(-1) * onehot
        return out
    chans = set(range(filtered.shape[-1]) if channels is None else channels)
    for c, value in new.items():
        if c in chans and (c != close or jaw in chans):
            filtered[..., c] = value
    return filtered


_keep_closures = keep_closures  # the filters' ``keep_closures`` flag shadows the name


def gaussian_smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing along axis 0 of ``(T, C)``, edges held (``scipy.ndimage`` "nearest", truncate 4)."""
    if sigma <= 0 or len(x) < 2:
        return x.copy()
    radius = int(4.0 * sigma + 0.5)  # as scipy.ndimage.gaussian_filter1d(truncate=4)
    k = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (k / sigma) ** 2)
    kernel /= kernel.sum()
    padded = np.concatenate([np.repeat(x[:1], radius, 0), x, np.repeat(x[-1:], radius, 0)])
    out = np.zeros_like(x, dtype=np.float64)
    for j, w in enumerate(kernel):
        out += w * padded[j : j + len(x)]
    return out


def _as_batch(blendshapes: Any) -> tuple[np.ndarray, bool, bool]:
    is_torch = isinstance(blendshapes, torch.Tensor)
    arr = blendshapes.detach().cpu().numpy() if is_torch else np.asarray(blendshapes)
    if arr.ndim not in (2, 3) or arr.shape[-1] == 0:
        raise ValueError(f"blendshapes must be (T, C) or (B, T, C), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError("blendshapes contain NaN/inf")
    single = arr.ndim == 2
    return (arr[None] if single else arr).astype(np.float64), single, is_torch


def _restore(out: np.ndarray, like: Any, single: bool, is_torch: bool) -> Any:
    out = out[0] if single else out
    if is_torch:
        return torch.as_tensor(out, dtype=like.dtype, device=like.device)
    return out.astype(np.asarray(like).dtype if np.asarray(like).dtype.kind == "f" else np.float32)


def _channels(channels: Sequence[int] | Sequence[str] | None, width: int) -> list[int]:
    if channels is None:
        names = ARKIT_NAMES
        if width != len(names):
            raise ValueError(f"blendshapes have {width} channels; pass channels= for a non-ARKit layout")
        return mouth_channels(names)
    chans = list(channels)
    if chans and isinstance(chans[0], str):
        index = {n: i for i, n in enumerate(ARKIT_NAMES)}
        try:
            chans = [index[c] for c in chans]
        except KeyError as err:
            raise ValueError(f"unknown blendshape name {err.args[0]!r}") from None
    if any(not 0 <= c < width for c in chans):
        raise ValueError(f"channel indices must be in [0, {width}), got {chans}")
    return chans


def crisp_mouth(
    blendshapes: Any,
    alpha: float | None = None,
    edge0: float = DEFAULT_OFFLINE["edge0"],
    edge1: float = DEFAULT_OFFLINE["edge1"],
    scale: float = DEFAULT_OFFLINE["scale"],
    sigma: float | None = None,
    seal_edge0: float | None = None,
    seal_edge1: float | None = None,
    *,
    channels: Sequence[int] | Sequence[str] | None = None,
    lengths: Sequence[int] | None = None,
    keep_closures: bool = True,
) -> Any:
    """Offline crisp_mouth of ``(T, 52)`` or ``(B, T, 52)`` tracks (numpy or torch; same type back).

    Args:
        blendshapes: tracks in [0, 1], canonical ARKit order unless ``channels`` says which to filter.
        alpha: only used when ``sigma`` is None: the Gaussian then gets the EMA's spread
            (``sigma_from_alpha(alpha)``), so one parameter set drives both forms.
        edge0, edge1: gate edges on the *normalised* level ``s / utterance peak`` (0 <= edge0 < edge1).
        scale: output gain after the gate.
        sigma: Gaussian pre-smoothing in frames (default 1.0; 0 disables it).
        channels: indices or names of the channels to filter (default: jaw*, mouth*, tongue*).
        lengths: real length of each item of a right-padded batch (padding is left untouched).
        seal_edge0, seal_edge1: the closure seal (:func:`apply_seal`) on the filtered frames; None disables it.
        keep_closures: keep the raw frames' closures (:func:`keep_closures`); False gives the plain filter.
    """
    arr, single, is_torch = _as_batch(blendshapes)
    seal = _check_seal(seal_edge0, seal_edge1)
    if sigma is None:
        sigma = sigma_from_alpha(alpha) if alpha is not None else DEFAULT_OFFLINE["sigma"]
    sigma = float(sigma)
    if not math.isfinite(sigma) or sigma < 0:
        raise ValueError(f"sigma must be a finite number of frames >= 0, got {sigma!r}")
    e0, e1, scale = _check_gate(edge0, edge1, scale, 1)
    chans = _channels(channels, arr.shape[-1])
    if lengths is None:
        lengths = [arr.shape[1]] * arr.shape[0]
    if len(lengths) != arr.shape[0] or any(not 0 <= int(n) <= arr.shape[1] for n in lengths):
        raise ValueError(f"lengths must give one length in [0, {arr.shape[1]}] per item, got {list(lengths)}")
    out = arr.copy()
    for b, n in enumerate(lengths):
        n = int(n)
        if n == 0 or not chans:
            continue
        s = gaussian_smooth(arr[b, :n][:, chans], sigma)
        level = np.maximum(s.max(axis=0), MIN_LEVEL)
        gate = smoothstep(e0[0], e1[0], s / level)
        item = out[b]  # a view: (T, C)
        item[:n, chans] = np.clip(scale * s * gate, 0.0, 1.0)
        keep_close_ratio(item[:n], arr[b, :n], chans)
        if keep_closures:
            _keep_closures(item[:n], arr[b, :n], chans)
        apply_seal(item[:n], seal)
    return _restore(out, blendshapes, single, is_torch)


class CrispMouthStream:
    """Streaming crisp_mouth: a causal EMA with state ``prev_smoothed``, then the gate with absolute edges.

    Call it on chunks of ``(k, C)`` or ``(B, k, C)`` frames (numpy or torch; same type back). The state is the
    smoothed value of every channel (B, C); it starts at ``initial`` (0: the rest pose). ``edge0``/``edge1`` are
    numbers or one value per channel (length C; only the filtered channels' entries are used).
    """

    def __init__(
        self,
        alpha: float | None = None,
        edge0: float | Sequence[float] = DEFAULT_STREAM["edge0"],
        edge1: float | Sequence[float] = DEFAULT_STREAM["edge1"],
        scale: float = DEFAULT_STREAM["scale"],
        sigma: float | None = None,
        seal_edge0: float | None = None,
        seal_edge1: float | None = None,
        *,
        channels: Sequence[int] | Sequence[str] | None = None,
        num_channels: int = 52,
        initial: float = 0.0,
        keep_closures: bool = True,
    ):
        if alpha is None:
            alpha = alpha_from_sigma(sigma) if sigma is not None else DEFAULT_STREAM["alpha"]
        self.alpha = _check_alpha(alpha)
        self.num_channels = int(num_channels)
        self.edge0, self.edge1, self.scale = _check_gate(edge0, edge1, scale, self.num_channels)
        self.channels = _channels(channels, self.num_channels)
        self.initial = float(initial)
        self.seal = _check_seal(seal_edge0, seal_edge1)
        self.keep_closures = bool(keep_closures)
        self.prev_smoothed: np.ndarray | None = None

    @classmethod
    def from_config(cls, params: dict[str, Any], **kwargs) -> CrispMouthStream:
        keys = ("alpha", "edge0", "edge1", "scale", "seal_edge0", "seal_edge1", "keep_closures")
        return cls(**{k: params[k] for k in keys if k in params}, **kwargs)

    def params(self) -> dict[str, Any]:
        """``alpha``, ``edge0``, ``edge1`` (per channel), ``scale``, the seal, ``keep_closures`` and the channels."""
        return {
            "alpha": self.alpha,
            "edge0": self.edge0.tolist(),
            "edge1": self.edge1.tolist(),
            "scale": self.scale,
            "seal_edge0": None if self.seal is None else self.seal[0],
            "seal_edge1": None if self.seal is None else self.seal[1],
            "keep_closures": self.keep_closures,
            "channels": list(self.channels),
        }

    def reset(self) -> None:
        self.prev_smoothed = None

    def init_state(self, batch_size: int = 1) -> np.ndarray:
        return np.full((batch_size, self.num_channels), self.initial, dtype=np.float64)

    def __call__(self, frames: Any) -> Any:
        arr, single, is_torch = _as_batch(frames)
        if arr.shape[-1] != self.num_channels:
            raise ValueError(
                f"frames have {arr.shape[-1]} channels, the filter was built for {self.num_channels}"
            )
        if self.prev_smoothed is None or self.prev_smoothed.shape[0] != arr.shape[0]:
            self.prev_smoothed = self.init_state(arr.shape[0])
        out = arr.copy()
        a, prev = self.alpha, self.prev_smoothed
        chans = self.channels
        e0, e1 = self.edge0[chans], self.edge1[chans]
        for t in range(arr.shape[1]):
            prev = a * arr[:, t] + (1.0 - a) * prev
            s = prev[:, chans]
            out[:, t, chans] = np.clip(self.scale * s * smoothstep(e0, e1, s), 0.0, 1.0)
        keep_close_ratio(out, arr, chans)
        if self.keep_closures:
            _keep_closures(out, arr, chans)
        apply_seal(out, self.seal)
        self.prev_smoothed = prev
        return _restore(out, frames, single, is_torch)


def ema_taps(alpha: float, tolerance: float = EMA_TOLERANCE) -> int:
    """Impulse-response length after which the EMA's remaining weight ``(1 - alpha)^K`` is below ``tolerance``."""
    alpha = _check_alpha(alpha)
    if alpha == 1.0:
        return 1
    return max(1, math.ceil(math.log(tolerance) / math.log(1.0 - alpha)))


def ema_window(x: torch.Tensor, prev: torch.Tensor, alpha: float, taps: int | None = None) -> torch.Tensor:
    """The EMA ``s_t = alpha x_t + (1 - alpha) s_{t-1}`` over a window, without a loop (exportable to ONNX).

    ``x`` is (B, T, C), ``prev`` (B, C) the smoothed value before the window; returns ``s`` (B, T, C). The
    contribution of ``prev`` is exact; that of the inputs is a ``taps``-long impulse response, whose truncation
    error is below ``(1 - alpha)^taps`` (default: below 1e-7).
    """
    alpha = _check_alpha(alpha)
    taps = ema_taps(alpha) if taps is None else int(taps)
    decay = 1.0 - alpha
    channels = x.shape[-1]
    # Built from Python numbers, so a traced graph holds the kernel as a constant (ONNX needs its shape).
    weights = alpha * decay ** np.arange(taps - 1, -1, -1, dtype=np.float64)  # oldest first
    kernel = torch.tensor(np.tile(weights, (channels, 1, 1)), dtype=x.dtype, device=x.device)
    xt = torch.nn.functional.pad(x.transpose(1, 2), (taps - 1, 0))
    fir = torch.nn.functional.conv1d(xt, kernel, groups=channels).transpose(1, 2)
    steps = torch.arange(1, x.shape[1] + 1, dtype=x.dtype, device=x.device)
    carry = torch.pow(torch.full_like(steps, decay), steps)[None, :, None] * prev[:, None, :]
    return fir + carry


def crisp_mouth_stream_window(
    x: torch.Tensor,
    prev_smoothed: torch.Tensor,
    alpha: float,
    edge0: torch.Tensor,
    edge1: torch.Tensor,
    scale: float,
    mask: torch.Tensor,
    seal: tuple[float, float] | None = None,
    keep_closures: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """:class:`CrispMouthStream` over a (B, T, C) window in torch: returns (filtered frames, next prev_smoothed).

    ``edge0``/``edge1`` are (C,) tensors, ``mask`` a (C,) bool tensor of the filtered channels, ``keep_closures``
    as in the stream (:func:`keep_closures`, default on).
    """
    s = ema_window(x, prev_smoothed, alpha)
    gated = torch.where(mask, torch.clamp(scale * s * smoothstep(edge0, edge1, s), 0.0, 1.0), x)
    idx = _seal_indices(x.shape[-1])
    if idx is not None:  # keep_close_ratio where both channels are filtered (mask is data, so no branching)
        close, jaw = idx[0], idx[1]
        kept = keep_close_ratio(gated, x)
        gated = torch.where(mask[close] & mask[jaw], kept, gated)
        if keep_closures:
            gated = _keep_closures(gated, x, mask=mask)
    return apply_seal(gated, seal), s[:, -1]


def calibrate_stream(
    tracks: Sequence[np.ndarray],
    offline: dict[str, float] | None = None,
    alphas: Sequence[float] | None = None,
    channels: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Streaming parameters that best match the offline form on example tracks (lowest mean absolute gap).

    ``tracks`` are (T, C) arrays (e.g. model predictions on validation audio); ``offline`` the offline parameters
    (default :data:`DEFAULT_OFFLINE`). The absolute edges of each channel are the offline relative edges times the
    median of that channel's per-utterance level; ``alpha`` is searched over ``alphas`` (default a grid around
    ``alpha_from_sigma(sigma)``) and ``scale`` is kept. Returns ``{"alpha", "edge0", "edge1", "scale", "gap"}``
    with per-channel edges (lists) and the mean absolute gap on the filtered channels.
    """
    offline = {**DEFAULT_OFFLINE, **(offline or {})}
    tracks = [np.asarray(t, dtype=np.float64) for t in tracks]
    if not tracks or any(t.ndim != 2 for t in tracks):
        raise ValueError("tracks must be a non-empty list of (T, C) arrays")
    width = tracks[0].shape[1]
    chans = _channels(channels, width)
    levels = np.stack(
        [np.maximum(gaussian_smooth(t[:, chans], offline["sigma"]).max(axis=0), MIN_LEVEL) for t in tracks]
    )
    typical = np.median(levels, axis=0)
    edge0 = np.zeros(width)
    edge1 = np.ones(width)
    edge0[chans] = offline["edge0"] * typical
    edge1[chans] = offline["edge1"] * typical
    targets = [crisp_mouth(t, channels=chans, **offline) for t in tracks]
    base = alpha_from_sigma(offline["sigma"])
    if alphas is None:
        alphas = sorted(
            {round(min(1.0, base * f), 3) for f in (0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25, 1.4, 1.6)}
        )
    best: dict[str, Any] | None = None
    for alpha in alphas:
        gaps = []
        for t, target in zip(tracks, targets, strict=True):
            stream = CrispMouthStream(
                alpha, edge0, edge1, offline["scale"], channels=chans, num_channels=width
            )
            gaps.append(np.abs(stream(t)[:, chans] - target[:, chans]).ravel())
        gap = float(np.concatenate(gaps).mean())
        if best is None or gap < best["gap"]:
            best = {"alpha": float(alpha), "gap": gap}
    assert best is not None
    return {
        "alpha": best["alpha"],
        "edge0": edge0.tolist(),
        "edge1": edge1.tolist(),
        "scale": float(offline["scale"]),
        "gap": best["gap"],
    }


__all__ = [
    "DEFAULT_OFFLINE",
    "DEFAULT_STREAM",
    "KEEP_GAP",
    "KEEP_PRESS",
    "KEEP_PRESS_MAX",
    "MIN_LEVEL",
    "MOUTH_PREFIXES",
    "CrispMouthStream",
    "alpha_from_sigma",
    "apply_seal",
    "calibrate_stream",
    "crisp_mouth",
    "crisp_mouth_stream_window",
    "ema_taps",
    "ema_window",
    "gaussian_smooth",
    "keep_close_ratio",
    "keep_closures",
    "mouth_channels",
    "sigma_from_alpha",
    "smoothstep",
]
