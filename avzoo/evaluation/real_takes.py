"""A blendshape model against a real capture of a face with its audio: ``avzoo evaluate av-lipsync --take``.

The take is a Live Link Face CSV (timecoded; its fps is read from the timecodes) or a plain per-frame CSV
whose header is ``frame`` (optional) and ARKit channel names in any spelling, at ``take_fps`` (the
``../shared/data/arkit-real/t2a-mandarin`` layout: 37 channels at 25 fps). Channels the take does not hold are
not scored. The model hears the take's audio through the pipeline (offline), and its 30 fps track is resampled
to the take's frames.

Reported, per take:

* jawOpen Pearson r at lag 0 and at the best lag within ``±max_lag`` frames (positive lag: the prediction is
  late), so a constant offset between capture and audio shows instead of hiding in a low r;
* per-channel r and the 5th/95th percentiles of prediction and take (real rigs and performers differ in scale);
* lipsync-group MAE of the prediction beside the take's own mean pose held still (the baseline a model must
  beat);
* jawOpen against the audio's loudness (frame RMS in dB), for the take and for the prediction, each at its best
  lag: when the two best lags differ, the capture and the prediction sit differently against the sound, which
  separates a model that is late from labels that are shifted against their audio;
* closures judged by the lip gap ``max(jawOpen - mouthClose, 0)`` under :data:`LIP_GAP_CLOSED`: the share of
  frames whose lips are nearly shut, in the take and in the prediction. (The synthetic metric's closure rule
  fires on almost no real frames, so it says nothing here.)

Mismatched lengths are refused when the audio and the capture differ by more than ``max_length_gap_s``
(likely different recordings, or an offset of seconds); smaller differences are cropped to the shorter.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from avzoo.arkit import ARKIT_NAMES, LIPSYNC, canonical_name
from avzoo.evaluation.real_voices import _lagged_pearson, _pearson
from avzoo.io.livelink import read_livelink_csv, resample_blendshapes

#: Lip gap (jawOpen - mouthClose) under which the lips count as nearly shut.
LIP_GAP_CLOSED = 0.05
#: Largest audio/capture length difference (seconds) cropped rather than refused.
MAX_LENGTH_GAP_S = 0.5


def read_take(path: str | Path, take_fps: float | None = None) -> tuple[np.ndarray, list[str], float]:
    """A real take as ``(frames (T, C), canonical channel names, fps)``; see the module docstring for layouts."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            header = next(csv.reader(f), None)
    except (UnicodeDecodeError, OSError) as err:
        raise ValueError(f"{path}: cannot read the take as CSV text ({err})") from None
    if not header:
        raise ValueError(f"{path}: empty file; expected a CSV header")
    if any(h.strip().lower() == "timecode" for h in header):
        take = read_livelink_csv(path)
        return take.blendshapes, list(ARKIT_NAMES), float(take.fps)
    columns = [h.strip() for h in header]
    skip = 1 if columns and columns[0].lower() in ("frame", "frames", "index") else 0
    try:
        names = [canonical_name(c) for c in columns[skip:]]
    except ValueError as err:
        raise ValueError(
            f"{path}: unknown layout ({err}); expected a Live Link Face CSV or a header of ARKit channel names"
        ) from None
    if not names or len(set(names)) != len(names):
        raise ValueError(f"{path}: the header names no ARKit channel, or one twice")
    if take_fps is None:
        raise ValueError(f"{path} has no timecodes: give its frame rate (take_fps / --take-fps)")
    values = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2, dtype=np.float64)
    if values.shape[1] != len(columns):
        raise ValueError(f"{path}: rows have {values.shape[1]} cells, the header {len(columns)}")
    frames = values[:, skip:]
    if not np.isfinite(frames).all():
        raise ValueError(f"{path}: non-finite values")
    return np.clip(frames, 0.0, 1.0).astype(np.float32), names, float(take_fps)


def _r(value: float) -> float | None:
    """A correlation for JSON: None where it is undefined (a flat or too short signal)."""
    return None if not np.isfinite(value) else value


def lagged_r(prediction: np.ndarray, reference: np.ndarray, max_lag: int) -> dict[str, Any]:
    """r at lag 0 and the best r over lags ``-max_lag..max_lag`` (positive: the prediction is late)."""
    best, lag = _lagged_pearson(prediction, reference, max_lag)
    return {"r_lag0": _r(_pearson(prediction, reference)), "r_best": _r(best), "best_lag_frames": lag}


def score_take(
    prediction: np.ndarray, take: np.ndarray, names: Sequence[str], fps: float, max_lag: int = 8
) -> dict[str, Any]:
    """Metrics of a ``(T, 52)`` prediction against a take ``(T, C)`` named ``names`` (same frames)."""
    index = {n: i for i, n in enumerate(ARKIT_NAMES)}
    pred = prediction[:, [index[n] for n in names]]
    lipsync = [i for i, n in enumerate(names) if n in LIPSYNC]
    channels = {}
    for i, name in enumerate(names):
        channels[name] = {
            "r": _r(_pearson(pred[:, i], take[:, i])),
            "pred_p5_p95": [float(v) for v in np.percentile(pred[:, i], [5, 95])],
            "take_p5_p95": [float(v) for v in np.percentile(take[:, i], [5, 95])],
        }
    out: dict[str, Any] = {
        "frames": len(take),
        "fps": fps,
        "channels_scored": len(names),
        "channels": channels,
    }
    if lipsync:
        mean_pose = take[:, lipsync].mean(axis=0, keepdims=True)
        model_mae = float(np.abs(pred[:, lipsync] - take[:, lipsync]).mean())
        baseline_mae = float(np.abs(mean_pose - take[:, lipsync]).mean())
        out["lipsync_mae"] = {
            "model": model_mae,
            "take_mean_pose": baseline_mae,
            "ratio": model_mae / baseline_mae,
        }
    if "jawOpen" in names:
        jaw = names.index("jawOpen")
        out["jaw_open"] = lagged_r(pred[:, jaw], take[:, jaw], max_lag)
        if "mouthClose" in names:
            close = names.index("mouthClose")
            gap_take = np.clip(take[:, jaw] - take[:, close], 0, None)
            gap_pred = np.clip(pred[:, jaw] - pred[:, close], 0, None)
            out["lips_nearly_shut"] = {
                "take": float((gap_take < LIP_GAP_CLOSED).mean()),
                "model": float((gap_pred < LIP_GAP_CLOSED).mean()),
                "threshold": LIP_GAP_CLOSED,
            }
    return out


def evaluate_take(
    take_path: str | Path,
    audio_path: str | Path,
    model: str | Path = "avzoo/av-lipsync",
    *,
    take_fps: float | None = None,
    emotion: str | Mapping[str, float] | None = None,
    crisp_mouth: bool = False,
    max_lag: int = 8,
    max_length_gap_s: float = MAX_LENGTH_GAP_S,
) -> dict[str, Any]:
    """Run ``model`` on ``audio_path`` through the pipeline and score it against the take (module docstring)."""
    from transformers import pipeline

    from avzoo.io.audio import load_audio

    take, names, fps = read_take(take_path, take_fps)
    animate = pipeline("audio-to-blendshapes", model=str(model), model_kwargs={"use_safetensors": True})
    rate = animate.feature_extractor.sampling_rate
    audio = load_audio(audio_path, rate)
    audio_s, take_s = len(audio) / rate, len(take) / fps
    if abs(audio_s - take_s) > max_length_gap_s:
        raise ValueError(
            f"the audio lasts {audio_s:.2f} s and the take {take_s:.2f} s (at {fps:g} fps): more than "
            f"{max_length_gap_s:g} s apart, so they are probably not one recording (or offset by seconds)"
        )
    out = animate({"array": audio, "sampling_rate": rate}, emotion=emotion, crisp_mouth=crisp_mouth)
    prediction = resample_blendshapes(out["blendshapes"], out["fps"], fps)
    n = min(len(prediction), len(take))
    result = score_take(prediction[:n], take[:n], names, fps, max_lag)
    if "jawOpen" in names:
        from avzoo.evaluation.baselines import frame_rms, rms_db

        loudness = rms_db(frame_rms(audio, rate, fps, num_frames=n))
        jaw = names.index("jawOpen")
        result["jaw_vs_loudness"] = {
            "take": lagged_r(take[:n, jaw], loudness, max_lag),
            "model": lagged_r(prediction[:n, ARKIT_NAMES.index("jawOpen")], loudness, max_lag),
        }
    result.update(
        take=str(take_path), audio=str(audio_path), model=str(model), crisp_mouth=crisp_mouth, emotion=emotion
    )
    return result


def format_take(result: Mapping[str, Any]) -> str:
    """A short text summary of :func:`evaluate_take`'s result."""

    def f(v: Any) -> str:
        return "–" if v is None else f"{v:.3f}"

    lines = [f"{result.get('take')}: {result['frames']} frames at {result['fps']:g} fps"]
    if "jaw_open" in result:
        j = result["jaw_open"]
        lines.append(
            f"  jawOpen r: {f(j['r_lag0'])} at lag 0, {f(j['r_best'])} at {j['best_lag_frames']:+d} frames"
        )
    if "jaw_vs_loudness" in result:
        t, m = result["jaw_vs_loudness"]["take"], result["jaw_vs_loudness"]["model"]
        lines.append(
            f"  jawOpen vs loudness: take r {f(t['r_best'])} at {t['best_lag_frames']:+d}, "
            f"model r {f(m['r_best'])} at {m['best_lag_frames']:+d} frames"
        )
    if "lipsync_mae" in result:
        m = result["lipsync_mae"]
        lines.append(
            f"  lipsync MAE: model {f(m['model'])}, take's mean pose {f(m['take_mean_pose'])} "
            f"(ratio {m['ratio']:.2f})"
        )
    if "lips_nearly_shut" in result:
        s = result["lips_nearly_shut"]
        lines.append(f"  lips nearly shut: take {s['take']:.0%}, model {s['model']:.0%} of frames")
    return "\n".join(lines)


__all__ = [
    "LIP_GAP_CLOSED",
    "MAX_LENGTH_GAP_S",
    "evaluate_take",
    "format_take",
    "lagged_r",
    "read_take",
    "score_take",
]
