"""Blendshape baselines that a speech-driven model must beat, fitted on a training split only.

* :class:`MeanPoseBaseline` -- every frame is the per-channel mean over all training frames.
* :class:`RmsJawBaseline` -- jawOpen follows the loudness of the audio, everything else is the mean pose.
  Loudness is the frame RMS in dB on the blendshape frame grid (frame ``k`` covers ``[k / fps, (k + 1) / fps)``,
  as in the synthetic corpus), and the map from dB to jawOpen is a least-squares fit on the training frames:
  ``"piecewise"`` (default) a monotone non-decreasing piecewise-linear curve through quantile knots, flat outside
  them; ``"affine"`` a straight line. Either is clipped to [0, 1].

Both are deliberately simple: they say how much of a model's score comes from predicting "the average face" or
"open the jaw when it is loud". :func:`fit_baselines` fits both from a dataset in the shared utterance schema
(:mod:`avzoo.data.schema`) and the fitted parameters round-trip through ``to_dict``/:func:`baseline_from_dict`, so
an evaluation JSON records exactly what was compared against.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from avzoo import arkit
from avzoo.data.schema import SAMPLING_RATE  # the shared utterance schema's audio rate
from avzoo.metrics.functional.blendshape import DEFAULT_FPS  # blendshape rate unless a dataset gives one

#: RMS floor: frames quieter than this (-100 dBFS, digital silence) all read as this level.
RMS_FLOOR = 1e-5
#: Knots of the piecewise-linear fit, at these quantiles of the training loudness.
DEFAULT_NUM_KNOTS = 12
RMS_JAW_METHODS = ("piecewise", "affine")
_JAW_OPEN = arkit.INDEX["jawOpen"]


# --- loudness on the blendshape frame grid --------------------------------------------------------------------


def num_frames_for(num_samples: int, sampling_rate: float = SAMPLING_RATE, fps: float = DEFAULT_FPS) -> int:
    """``ceil(num_samples * fps / sampling_rate)``: the corpus' and the feature extractor's frame count."""
    return max(0, math.ceil(num_samples * fps / sampling_rate - 1e-9))


def _check_audio(audio: Any, name: str = "audio") -> np.ndarray:
    try:
        arr = np.asarray(audio, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a 1-D array of samples: {err}") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D mono samples, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty; it needs at least one sample")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite samples")
    return arr


def frame_rms(
    audio: Any,
    sampling_rate: float = SAMPLING_RATE,
    fps: float = DEFAULT_FPS,
    num_frames: int | None = None,
) -> np.ndarray:
    """RMS of each frame ``k`` over samples ``[floor(k * sr / fps + 0.5), floor((k + 1) * sr / fps + 0.5))``.

    There are ``ceil(N * fps / sr)`` frames (the last may be short; an empty one reads the last sample).
    ``num_frames`` crops the result or extends it with the last frame's value, to match a reference track.
    """
    arr = _check_audio(audio)
    if not sampling_rate > 0 or not fps > 0:
        raise ValueError(f"sampling_rate and fps must be positive, got {sampling_rate!r}, {fps!r}")
    n = len(arr)
    t = num_frames_for(n, sampling_rate, fps)
    hop = sampling_rate / fps
    bounds = np.floor(np.arange(t + 1) * hop + 0.5).astype(np.int64)
    start = np.minimum(bounds[:-1], n - 1)
    end = np.clip(bounds[1:], start + 1, n)
    csum = np.concatenate([[0.0], np.cumsum(arr * arr)])
    rms = np.sqrt(np.maximum(csum[end] - csum[start], 0.0) / (end - start))
    if num_frames is not None:
        if num_frames < 0:
            raise ValueError(f"num_frames must be >= 0, got {num_frames}")
        rms = rms[:num_frames] if num_frames <= t else np.concatenate([rms, np.full(num_frames - t, rms[-1])])
    return rms


def rms_db(rms: Any) -> np.ndarray:
    """RMS in dB full scale, floored at ``20 log10(RMS_FLOOR)`` = -100 dB."""
    return 20.0 * np.log10(np.maximum(np.asarray(rms, dtype=np.float64), RMS_FLOOR))


# --- the baselines --------------------------------------------------------------------------------------------


class Baseline(Protocol):
    """What the evaluation needs from a baseline."""

    name: str

    def predict(self, audio: Any, num_frames: int, sampling_rate: float = SAMPLING_RATE) -> np.ndarray: ...

    def to_dict(self) -> dict[str, Any]: ...


def _check_pose(pose: Any) -> np.ndarray:
    arr = np.asarray(pose, dtype=np.float32)
    if arr.shape != (arkit.NUM_BLENDSHAPES,) or not np.isfinite(arr).all():
        raise ValueError(f"mean pose must be {arkit.NUM_BLENDSHAPES} finite values, got shape {arr.shape}")
    return np.clip(arr, 0.0, 1.0)


@dataclass
class MeanPoseBaseline:
    """The per-channel mean of the training frames, on every frame."""

    mean_pose: np.ndarray
    fps: float = DEFAULT_FPS
    name: str = "mean_pose"

    def __post_init__(self) -> None:
        self.mean_pose = _check_pose(self.mean_pose)

    def predict(self, audio: Any, num_frames: int, sampling_rate: float = SAMPLING_RATE) -> np.ndarray:
        """``(num_frames, 52)`` copies of the mean pose (``audio`` is ignored)."""
        return np.repeat(self.mean_pose[None], int(num_frames), axis=0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "mean_pose",
            "fps": float(self.fps),
            "mean_pose": dict(zip(arkit.ARKIT_NAMES, map(float, self.mean_pose), strict=True)),
        }


@dataclass
class RmsJawBaseline:
    """jawOpen from frame loudness (dB), the other channels at the mean pose.

    ``method="piecewise"``: ``jawOpen = interp(db, knots_db, knot_values)`` (flat outside the knots, values
    non-decreasing). ``method="affine"``: ``jawOpen = clip(slope * db + intercept, 0, 1)``.
    """

    mean_pose: np.ndarray
    method: str = "piecewise"
    knots_db: Sequence[float] = ()
    knot_values: Sequence[float] = ()
    slope: float = 0.0
    intercept: float = 0.0
    fps: float = DEFAULT_FPS
    train_frames: int = 0
    train_mae: float = float("nan")
    name: str = "rms_jaw"

    def __post_init__(self) -> None:
        self.mean_pose = _check_pose(self.mean_pose)
        if self.method not in RMS_JAW_METHODS:
            raise ValueError(f"method must be one of {RMS_JAW_METHODS}, got {self.method!r}")
        self.knots_db = np.asarray(self.knots_db, dtype=np.float64)
        self.knot_values = np.asarray(self.knot_values, dtype=np.float64)
        if self.method == "piecewise":
            k, v = self.knots_db, self.knot_values
            if k.ndim != 1 or k.shape != v.shape or len(k) < 1:
                raise ValueError("piecewise fit needs as many knot_values as knots_db (at least one)")
            if np.any(np.diff(k) <= 0) or np.any(np.diff(v) < -1e-9):
                raise ValueError("knots_db must increase and knot_values must not decrease")

    def jaw_open(self, db: Any) -> np.ndarray:
        """jawOpen for frame loudness ``db`` (dBFS), in [0, 1]."""
        db = np.asarray(db, dtype=np.float64)
        if self.method == "piecewise":
            jaw = np.interp(db, self.knots_db, self.knot_values)
        else:
            jaw = self.slope * db + self.intercept
        return np.clip(jaw, 0.0, 1.0)

    def predict(self, audio: Any, num_frames: int, sampling_rate: float = SAMPLING_RATE) -> np.ndarray:
        """``(num_frames, 52)``: the mean pose with jawOpen from the audio's frame loudness."""
        out = np.repeat(self.mean_pose[None], int(num_frames), axis=0)
        if num_frames:
            out[:, _JAW_OPEN] = self.jaw_open(
                rms_db(frame_rms(audio, sampling_rate, self.fps, int(num_frames)))
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": "rms_jaw", "method": self.method, "fps": float(self.fps)}
        if self.method == "piecewise":
            out["knots_db"] = [float(x) for x in self.knots_db]
            out["knot_values"] = [float(x) for x in self.knot_values]
        else:
            out["slope"] = float(self.slope)
            out["intercept"] = float(self.intercept)
        out["train_frames"] = int(self.train_frames)
        out["train_jaw_open_mae"] = None if not np.isfinite(self.train_mae) else float(self.train_mae)
        out["mean_pose"] = dict(zip(arkit.ARKIT_NAMES, map(float, self.mean_pose), strict=True))
        return out


def baseline_from_dict(values: Mapping[str, Any]) -> MeanPoseBaseline | RmsJawBaseline:
    """Rebuild a baseline from its ``to_dict()``."""
    kind = values.get("kind")
    pose = (
        arkit.from_dict(dict(values["mean_pose"])) if isinstance(values.get("mean_pose"), Mapping) else None
    )
    if pose is None:
        raise ValueError("baseline dict needs a 'mean_pose' {name: value} mapping")
    fps = float(values.get("fps", DEFAULT_FPS))
    if kind == "mean_pose":
        return MeanPoseBaseline(pose, fps=fps)
    if kind == "rms_jaw":
        return RmsJawBaseline(
            pose,
            method=values.get("method", "piecewise"),
            knots_db=values.get("knots_db", ()),
            knot_values=values.get("knot_values", ()),
            slope=float(values.get("slope", 0.0)),
            intercept=float(values.get("intercept", 0.0)),
            fps=fps,
            train_frames=int(values.get("train_frames", 0)),
            train_mae=float("nan")
            if values.get("train_jaw_open_mae") is None
            else values["train_jaw_open_mae"],
        )
    raise ValueError(f"unknown baseline kind {kind!r}; expected 'mean_pose' or 'rms_jaw'")


# --- fitting ----------------------------------------------------------------------------------------------------


def fit_mean_pose(blendshapes: Iterable[Any], fps: float = DEFAULT_FPS) -> MeanPoseBaseline:
    """Mean over every frame of every (T_i, 52) track (frames pool equally)."""
    total = np.zeros(arkit.NUM_BLENDSHAPES, np.float64)
    count = 0
    for i, track in enumerate(blendshapes):
        arr = _check_track(track, i)
        total += arr.sum(axis=0)
        count += len(arr)
    if count == 0:
        raise ValueError("fit_mean_pose needs at least one frame of training blendshapes")
    return MeanPoseBaseline(total / count, fps=fps)


def _check_track(track: Any, i: int) -> np.ndarray:
    arr = np.asarray(track, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != arkit.NUM_BLENDSHAPES:
        raise ValueError(f"blendshapes[{i}] must be (T, {arkit.NUM_BLENDSHAPES}), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"blendshapes[{i}] contains NaN or infinite values")
    return arr


def _fit_piecewise(db: np.ndarray, jaw: np.ndarray, num_knots: int) -> tuple[np.ndarray, np.ndarray]:
    """Monotone piecewise-linear least squares: intercept free, one slope >= 0 per knot interval."""
    from scipy.optimize import lsq_linear

    knots = np.unique(np.quantile(db, np.linspace(0.01, 0.99, num_knots)))
    if len(knots) < 2:  # (nearly) constant loudness: the best monotone fit is the mean
        return np.array([float(db.mean())]), np.array([float(jaw.mean())])
    widths = np.diff(knots)
    basis = np.clip(db[:, None] - knots[None, :-1], 0.0, widths[None, :])
    design = np.concatenate([np.ones((len(db), 1)), basis], axis=1)
    lower = np.concatenate([[-np.inf], np.zeros(len(widths))])
    fit = lsq_linear(design, jaw, bounds=(lower, np.full(len(widths) + 1, np.inf)), method="bvls")
    values = fit.x[0] + np.concatenate([[0.0], np.cumsum(fit.x[1:] * widths)])
    return knots, np.maximum.accumulate(np.clip(values, 0.0, 1.0))


def fit_rms_jaw(
    audios: Iterable[Any],
    blendshapes: Iterable[Any],
    *,
    sampling_rate: float = SAMPLING_RATE,
    fps: float = DEFAULT_FPS,
    method: str = "piecewise",
    num_knots: int = DEFAULT_NUM_KNOTS,
    mean_pose: Any = None,
) -> RmsJawBaseline:
    """Fit jawOpen = f(frame dB) on paired audio and (T_i, 52) tracks; other channels get ``mean_pose``.

    ``mean_pose`` defaults to the mean of the same tracks. Audio must be mono at ``sampling_rate``.
    """
    if method not in RMS_JAW_METHODS:
        raise ValueError(f"method must be one of {RMS_JAW_METHODS}, got {method!r}")
    if num_knots < 2:
        raise ValueError(f"num_knots must be >= 2, got {num_knots}")
    dbs, jaws, tracks = [], [], []
    for i, (audio, track) in enumerate(zip(audios, blendshapes, strict=True)):
        arr = _check_track(track, i)
        dbs.append(rms_db(frame_rms(_check_audio(audio, f"audio[{i}]"), sampling_rate, fps, len(arr))))
        jaws.append(arr[:, _JAW_OPEN])
        tracks.append(arr)
    if not dbs or sum(len(j) for j in jaws) < 2:
        raise ValueError("fit_rms_jaw needs at least 2 training frames")
    db, jaw = np.concatenate(dbs), np.concatenate(jaws)
    pose = fit_mean_pose(tracks, fps).mean_pose if mean_pose is None else mean_pose
    if method == "piecewise":
        knots, values = _fit_piecewise(db, jaw, num_knots)
        baseline = RmsJawBaseline(pose, "piecewise", knots, values, fps=fps, train_frames=len(db))
    else:
        if np.var(db) < 1e-12:
            slope, intercept = 0.0, float(jaw.mean())
        else:
            slope, intercept = np.polyfit(db, jaw, 1)
        baseline = RmsJawBaseline(
            pose, "affine", slope=float(slope), intercept=float(intercept), fps=fps, train_frames=len(db)
        )
    baseline.train_mae = float(np.abs(baseline.jaw_open(db) - jaw).mean())
    return baseline


def check_one_split(dataset: Any, split: str, why: str = "") -> None:
    """``ValueError`` for a ``DatasetDict`` (or any mapping of splits) where one split is expected."""
    if isinstance(dataset, Mapping) or isinstance(getattr(dataset, "column_names", None), Mapping):
        raise ValueError(
            f"pass one split (e.g. corpus[{split!r}]), not a DatasetDict" + (f": {why}" if why else "")
        )


def _rows(dataset: Any, columns: Sequence[str]) -> Iterable[dict[str, Any]]:
    check_one_split(dataset, "train", "baselines are fitted on the train split only")
    names = getattr(dataset, "column_names", None)
    if names is not None:
        missing = [c for c in columns if c not in names]
        if missing:
            raise ValueError(f"dataset lacks column(s) {missing}; it has {names}")
        dataset = dataset.select_columns(list(columns))
    yield from dataset


def audio_array(value: Any, expected_rate: float = SAMPLING_RATE) -> np.ndarray:
    """Mono float32 samples of an ``audio`` cell (a datasets Audio dict/decoder or an array) at ``expected_rate``."""
    rate = expected_rate
    if isinstance(value, (np.ndarray, list, tuple)) or hasattr(value, "numpy"):
        array = value
    else:
        try:
            array, rate = value["array"], value["sampling_rate"]
        except (KeyError, TypeError) as err:
            raise ValueError(
                f"audio cell must be an array or an Audio value with 'array', got {value!r}"
            ) from err
    arr = np.asarray(array, dtype=np.float32)
    if arr.ndim == 2:  # (channels, samples) from a decoder that kept channels
        arr = arr.mean(axis=0) if arr.shape[0] < arr.shape[1] else arr.mean(axis=1)
    if float(rate) != float(expected_rate):
        raise ValueError(
            f"audio is at {rate} Hz; expected {expected_rate} Hz (cast the column with datasets.Audio)"
        )
    return arr


def fit_baselines(
    train_dataset: Any,
    *,
    rms_method: str = "piecewise",
    num_knots: int = DEFAULT_NUM_KNOTS,
    fps: float = DEFAULT_FPS,
) -> dict[str, MeanPoseBaseline | RmsJawBaseline]:
    """Fit ``{"mean_pose", "rms_jaw"}`` on a training split (``audio`` at 16 kHz, ``blendshapes``, ``fps``)."""
    audios, tracks = [], []
    for i, row in enumerate(_rows(train_dataset, ("audio", "blendshapes", "fps"))):
        if row["blendshapes"] is None:
            continue  # real rows without labels cannot teach a baseline
        if row.get("fps") is not None and abs(float(row["fps"]) - fps) > 1e-6:
            raise ValueError(
                f"row {i} has blendshapes at {row['fps']} fps; the baselines are fitted at {fps} fps"
            )
        audios.append(audio_array(row["audio"]))
        tracks.append(_check_track(row["blendshapes"], i).astype(np.float32))
    if not tracks:
        raise ValueError("the training split has no rows with blendshapes to fit the baselines on")
    mean = fit_mean_pose(tracks, fps)
    rms = fit_rms_jaw(
        audios, tracks, fps=fps, method=rms_method, num_knots=num_knots, mean_pose=mean.mean_pose
    )
    return {"mean_pose": mean, "rms_jaw": rms}


__all__ = [
    "RMS_JAW_METHODS",
    "Baseline",
    "MeanPoseBaseline",
    "RmsJawBaseline",
    "audio_array",
    "baseline_from_dict",
    "check_one_split",
    "fit_baselines",
    "fit_mean_pose",
    "fit_rms_jaw",
    "frame_rms",
    "num_frames_for",
    "rms_db",
]
