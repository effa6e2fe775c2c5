"""A performer's style: per-channel monotone curves (and a time offset) that map a model's output to one face.

Real rigs and performers differ a lot in scale (a t2a clip's median jawOpen is ~0.2, an iPhone take of English
speech ~0.05), and a model trained on synthetic labels knows neither. A :class:`PerformerStyle` is fitted on a
short real take of the performer and applied after the model, by the processor (``style=``), the pipeline, the
streamer and the Space:

* ``method="isotonic"`` (take + its audio): per channel, the monotone curve that best predicts the take from the
  model's output on the same audio (isotonic regression, least squares). Where the model tracks a channel poorly,
  the curve flattens toward the performer's typical value, so it lowers the error but can damp motion.
* ``method="quantile"`` (take + its audio): per channel, the curve that gives the model's output the take's
  distribution (quantile mapping): the performer's range of motion and share of shut lips, whatever the timing.
* ``method="rest"`` (take without audio, e.g. a range-of-motion or idle take): the performer's rest pose on the
  upper face and cheeks (the take's median added to the model's value); the mouth is left alone, because a take
  without speech says nothing about how this performer's mouth follows speech.

With audio, ``delay_s`` is the constant offset between the model and the capture (from jawOpen's best lag within
``max_lag_frames``): a capture pipeline's own latency, or labels that run ahead of the model. Offline tracks are
shifted by it; a stream can only apply a delay >= 0 (it cannot show a frame before it is computed), so
:meth:`PerformerStyle.apply_frames` applies the curves only.

A style belongs to one checkpoint: it records the model type and a fingerprint of the weights, and
:meth:`PerformerStyle.check_model` refuses another model.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from avzoo.arkit import ARKIT_NAMES, BLENDSHAPE_FPS, EXPRESSION, canonical_name
from avzoo.metrics.functional.correlation import lagged_pearson

FORMAT = "avzoo-performer-style"
VERSION = 1
METHODS = ("isotonic", "quantile", "rest")
#: Knots per curve: enough for the shapes isotonic fits take on a few seconds of speech, small in JSON.
NUM_KNOTS = 33
#: Fewest frames a fit accepts (about 2 s at 25-30 fps): less says little about a performer.
MIN_FRAMES = 50
#: A take channel whose spread (p95 - p5) is below this counts as still.
STILL_SPREAD = 1e-3


@dataclass(frozen=True)
class PerformerStyle:
    """Per-channel curves ``{name: (x knots, y knots)}`` (channels not named pass unchanged) and ``delay_s``."""

    curves: dict[str, tuple[tuple[float, ...], tuple[float, ...]]]
    delay_s: float = 0.0
    method: str = "isotonic"
    model_type: str | None = None
    model_fingerprint: str | None = None
    fitted_on: dict[str, Any] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown style method {self.method!r}; expected one of {list(METHODS)}")
        if not np.isfinite(self.delay_s) or abs(self.delay_s) > 2.0:
            raise ValueError(f"style delay_s must be finite and within ±2 s, got {self.delay_s!r}")
        for name, (x, y) in self.curves.items():
            if name not in ARKIT_NAMES:
                raise ValueError(f"style curve for unknown channel {name!r}")
            xs, ys = np.asarray(x, float), np.asarray(y, float)
            if xs.ndim != 1 or xs.shape != ys.shape or len(xs) < 1:
                raise ValueError(f"style curve {name!r}: x and y must be equal-length lists of knots")
            if not (np.isfinite(xs).all() and np.isfinite(ys).all()):
                raise ValueError(f"style curve {name!r}: non-finite knots")
            if np.any(np.diff(xs) <= 0) or np.any(np.diff(ys) < 0):
                raise ValueError(f"style curve {name!r}: knots must increase (the curve is monotone)")
            if ys.min() < 0 or ys.max() > 1:
                raise ValueError(f"style curve {name!r}: values must lie in [0, 1]")

    # --- applying ------------------------------------------------------------------------------------------------

    def apply_frames(self, frames: np.ndarray, names: Sequence[str] = ARKIT_NAMES) -> np.ndarray:
        """The curves on ``(..., C)`` frames named ``names`` (no time shift): a new float32 array."""
        frames = np.asarray(frames, dtype=np.float32)
        if frames.shape[-1] != len(names):
            raise ValueError(f"style: frames have {frames.shape[-1]} channels, names {len(names)}")
        out = frames.copy()
        index = {n: i for i, n in enumerate(names)}
        for name, (x, y) in self.curves.items():
            if name in index:
                i = index[name]
                out[..., i] = np.interp(frames[..., i], x, y)
        return out

    def apply(
        self, track: np.ndarray, fps: float = BLENDSHAPE_FPS, names: Sequence[str] = ARKIT_NAMES
    ) -> np.ndarray:
        """A whole ``(T, C)`` track: the curves, then the time offset (edges held)."""
        out = self.apply_frames(track, names)
        if self.delay_s == 0.0 or len(out) < 2:
            return out
        times = np.arange(len(out)) / float(fps)
        source = np.clip(times - self.delay_s, 0.0, times[-1])
        return np.stack([np.interp(source, times, out[:, i]) for i in range(out.shape[1])], 1).astype(
            np.float32
        )

    # --- checks --------------------------------------------------------------------------------------------------

    def check_model(self, model: Any) -> None:
        """Refuse a model other than the one this style was fitted on (type, then weights)."""
        model_type = getattr(getattr(model, "config", None), "model_type", None)
        if self.model_type and model_type and model_type != self.model_type:
            raise ValueError(
                f"this style was fitted on a {self.model_type} model, not {model_type}; fit one for this model "
                "with `avzoo calibrate --model ...`"
            )
        if self.model_fingerprint and self.model_fingerprint != model_fingerprint(model):
            raise ValueError(
                f"this style was fitted on other weights ({self.source.get('model', 'another checkpoint')}); "
                "a style's curves hold for one checkpoint only: refit it with `avzoo calibrate --model ...`"
            )

    # --- files ---------------------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "method": self.method,
            "delay_s": self.delay_s,
            "model_type": self.model_type,
            "model_fingerprint": self.model_fingerprint,
            "fitted_on": self.fitted_on,
            "source": self.source,
            "curves": {n: {"x": list(x), "y": list(y)} for n, (x, y) in self.curves.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PerformerStyle:
        if not isinstance(data, Mapping) or data.get("format") != FORMAT:
            raise ValueError(
                f"not a performer style (expected format {FORMAT!r}; make one with `avzoo calibrate`)"
            )
        if data.get("version") != VERSION:
            raise ValueError(
                f"performer style version {data.get('version')!r} is not supported (expected {VERSION})"
            )
        try:
            curves = {
                str(n): (tuple(float(v) for v in c["x"]), tuple(float(v) for v in c["y"]))
                for n, c in dict(data["curves"]).items()
            }
            return cls(
                curves=curves,
                delay_s=float(data.get("delay_s", 0.0)),
                method=str(data.get("method", "isotonic")),
                model_type=data.get("model_type"),
                model_fingerprint=data.get("model_fingerprint"),
                fitted_on=dict(data.get("fitted_on") or {}),
                source=dict(data.get("source") or {}),
            )
        except (KeyError, TypeError, AttributeError) as err:
            raise ValueError(f"malformed performer style ({err!r})") from None

    def save(self, path: str | Path) -> Path:
        """Write the style as JSON, atomically (a failed write leaves no half file)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(self.to_dict(), f, indent=1)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path


def load_style(style: str | os.PathLike | Mapping[str, Any] | PerformerStyle | None) -> PerformerStyle | None:
    """A :class:`PerformerStyle` from a JSON path, a dict or a style (None stays None)."""
    if style is None or isinstance(style, PerformerStyle):
        return style
    if isinstance(style, Mapping):
        return PerformerStyle.from_dict(style)
    if isinstance(style, (str, os.PathLike)):
        path = Path(style)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ValueError(f"style file {path} does not exist") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ValueError(f"style file {path} is not JSON ({err})") from None
        return PerformerStyle.from_dict(data)
    raise ValueError(f"style must be a path, a dict or a PerformerStyle, got {type(style).__name__}")


def model_fingerprint(model: Any) -> str:
    """A short hash of a model's weights (float32, name order), to tie a style to its checkpoint.

    The base model's prefix is dropped from the names, so a task head class (e.g. ``...ForBlendshapeRegression``)
    loading the same checkpoint has the same fingerprint.
    """
    prefix = f"{getattr(model, 'base_model_prefix', '') or '<none>'}."
    weights = {n.removeprefix(prefix): t for n, t in model.state_dict().items()}
    digest = hashlib.sha256()
    for name, tensor in sorted(weights.items()):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(tensor.detach().float().cpu().numpy()).tobytes())
    return digest.hexdigest()[:16]


# --- fitting ---------------------------------------------------------------------------------------------------------


def _shift(x: np.ndarray, lag: int) -> np.ndarray:
    """``x`` moved ``lag`` frames earlier (lag > 0) or later (lag < 0), edges held."""
    if lag == 0:
        return x
    idx = np.clip(np.arange(len(x)) + lag, 0, len(x) - 1)
    return x[idx]


def _curve_isotonic(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from scipy.optimize import isotonic_regression

    order = np.argsort(x, kind="stable")
    fitted = isotonic_regression(y[order], increasing=True).x
    xs, first = np.unique(x[order], return_index=True)
    # equal inputs share one fitted value: their mean
    values = np.add.reduceat(fitted, first) / np.diff(np.r_[first, len(fitted)])
    knots = np.unique(np.quantile(x, np.linspace(0, 1, NUM_KNOTS)))
    if len(knots) == 1:
        return knots, np.array([y.mean()])
    return knots, np.maximum.accumulate(np.interp(knots, xs, values))


def _curve_quantile(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    q = np.linspace(0, 1, NUM_KNOTS)
    xq, yq = np.quantile(x, q), np.quantile(y, q)
    keep = np.r_[True, np.diff(xq) > 1e-9]  # a flat stretch of the model's output maps to its first value
    return xq[keep], np.maximum.accumulate(yq[keep])


def _knots(x: np.ndarray, y: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    if len(x) == 1:  # a constant model channel: a flat curve at the target value
        x = np.array([0.0, 1.0])
        y = np.repeat(y, 2)
    y = np.clip(y, 0.0, 1.0)
    return tuple(float(v) for v in x), tuple(float(v) for v in y)


def fit_style(
    prediction: np.ndarray | None,
    take: np.ndarray,
    names: Sequence[str],
    fps: float,
    *,
    method: str = "isotonic",
    max_lag_frames: int = 8,
    fit_delay: bool = True,
) -> PerformerStyle:
    """Fit a style on a take ``(T, C)`` whose channels are ``names``; see the module docstring for the methods.

    ``prediction`` is the model's ``(T, 52)`` output on the take's audio, resampled to the take's ``fps`` (None for
    ``method="rest"``). Several takes: concatenate them (the lag is fitted on the concatenation).
    """
    if method not in METHODS:
        raise ValueError(f"unknown style method {method!r}; expected one of {list(METHODS)}")
    names = [canonical_name(n) for n in names]
    take = np.asarray(take, dtype=np.float64)
    if take.ndim != 2 or take.shape[1] != len(names):
        raise ValueError(f"take must be (frames, {len(names)} channels), got shape {take.shape}")
    if len(take) < MIN_FRAMES:
        raise ValueError(f"the take has {len(take)} frames; a style needs at least {MIN_FRAMES} (about 2 s)")
    if not np.isfinite(take).all():
        raise ValueError("the take has non-finite values")
    spread = np.percentile(take, 95, axis=0) - np.percentile(take, 5, axis=0)
    if spread.max() < STILL_SPREAD:
        raise ValueError("the take has no face motion (every channel is still); a style needs a moving face")
    if method == "rest":
        curves = {}
        for i, name in enumerate(names):
            if name in EXPRESSION:
                rest = float(np.median(take[:, i]))
                if rest <= STILL_SPREAD:
                    continue  # a rest at 0 is the model's own rest: nothing to add
                rest = min(rest, 0.99)
                curves[name] = _knots(np.array([0.0, 1.0 - rest, 1.0]), np.array([rest, 1.0, 1.0]))
        return PerformerStyle(curves=curves, method=method, fitted_on={"fps": fps, "audio": False})
    if prediction is None:
        raise ValueError(f"method {method!r} needs the model's output on the take's audio (give --audio)")
    prediction = np.asarray(prediction, dtype=np.float64)
    if prediction.shape != (len(take), len(ARKIT_NAMES)):
        raise ValueError(f"prediction must be ({len(take)}, {len(ARKIT_NAMES)}), got {prediction.shape}")
    pred = prediction[:, [ARKIT_NAMES.index(n) for n in names]]
    lag = 0
    if fit_delay and "jawOpen" in names:
        jaw = names.index("jawOpen")
        lag = lagged_pearson(pred[:, jaw], take[:, jaw], max_lag_frames)[1]
    pred = _shift(pred, lag)
    curve = _curve_isotonic if method == "isotonic" else _curve_quantile
    curves = {name: _knots(*curve(pred[:, i], take[:, i])) for i, name in enumerate(names)}
    return PerformerStyle(
        curves=curves,
        delay_s=round(-lag / float(fps), 6),
        method=method,
        fitted_on={"fps": fps, "audio": True},
    )


__all__ = ["METHODS", "PerformerStyle", "fit_style", "load_style", "model_fingerprint"]
