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

Bad input is refused with a ``ValueError`` naming the file and the problem, before the model loads where it
can be: a CSV in no known layout, empty, header-only, with ragged rows or non-numeric cells; a take shorter
than :data:`MIN_TAKE_S`; a take with no face motion (every channel's 5th-95th percentile spread under
:data:`MIN_MOTION`); audio that is silent or near-silent (no frame louder than :data:`MIN_SPEECH_DB`).

**Offsets of seconds** (:func:`find_offset`). The take's mouth opening (jawOpen, else the lip opening) is
cross-correlated with the audio's loudness envelope (frame RMS in dB at the take's fps, floored
:data:`LOUDNESS_RANGE_DB` under its loudest frame) over lags up to ±:data:`MAX_OFFSET_S` seconds, bounded so
that at least half of the shorter signal, and :data:`MIN_OFFSET_OVERLAP_S`, overlaps (a short r is a noisy one,
and a rhythmic signal repeats itself: a 2 s clip is not searched at all). The rule: an offset is reported when the best
lag lies beyond ``max_lag`` frames, its r is at least :data:`OFFSET_MIN_R`, and it beats the best r within
``±max_lag`` frames of lag 0 by :data:`OFFSET_MARGIN` or more. (On the three t2a clips the natural best lag is
-1 to -3 frames, the mouth opening ahead of the sound, and the best r beyond ±8 frames trails the near one by
0.16-0.31; shifted by 2 s either way, the far peak beats the near window by 0.15-0.74.) A reported offset is
refused, naming it, unless ``align=True`` (``--align``): then the take is shifted onto the audio by the
measured lag and both are cropped to their overlap, and the result records ``"alignment"``. The lag is
measured against the sound, so it carries the mouth's natural lead over the sound (a few frames): after
aligning, the best-lag numbers are recovered, the lag-0 ones only to within that lead.

Mismatched lengths are refused when the audio and the capture differ by more than ``max_length_gap_s``
(likely different recordings, or an offset of seconds) unless ``align=True``, which crops to the overlap;
smaller differences are cropped to the shorter.

:func:`render_take_strip` draws the take above the prediction, frame by frame, with :mod:`avzoo.render`
(``--strip``); :func:`face_cell` and :func:`tile` are the pieces it shares with ``scripts/filmstrip.py``.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from avzoo.arkit import ARKIT_NAMES, LIPSYNC, canonical_name
from avzoo.data.schema import SAMPLING_RATE
from avzoo.io.livelink import read_livelink_csv, resample_blendshapes
from avzoo.metrics.functional.correlation import lagged_pearson, pearson

#: Lip gap (jawOpen - mouthClose) under which the lips count as nearly shut.
LIP_GAP_CLOSED = 0.05
#: Largest audio/capture length difference (seconds) cropped rather than refused (without ``align``).
MAX_LENGTH_GAP_S = 0.5
#: Shortest take (seconds), and shortest overlap of take and audio, that is scored.
MIN_TAKE_S = 1.0
#: A take whose every channel spreads less than this between its 5th and 95th percentile holds no face motion.
MIN_MOTION = 0.02
#: Audio whose loudest frame (RMS at the take's fps) is quieter than this (dBFS) holds no speech.
MIN_SPEECH_DB = -50.0
#: The loudness envelope for the offset search is floored this far (dB) under its loudest frame.
LOUDNESS_RANGE_DB = 40.0
#: Largest offset (seconds) searched between take and audio.
MAX_OFFSET_S = 3.0
#: Each lag searched overlaps take and audio by at least this (seconds), and by half the shorter of the two.
MIN_OFFSET_OVERLAP_S = 2.0
#: An offset is reported when its r is at least this ...
OFFSET_MIN_R = 0.3
#: ... and beats the best r within ±max_lag frames of lag 0 by at least this.
OFFSET_MARGIN = 0.1
#: What :func:`find_offset` does, as the results record it.
OFFSET_METHOD = (
    "cross-correlation of the take's mouth opening with the audio's loudness envelope (frame RMS dB), "
    "whole frames"
)
#: Lip-opening channels, averaged where a take has no jawOpen.
LIP_OPENING = ("mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft", "mouthUpperUpRight")


# --- reading and checking -----------------------------------------------------------------------------------


def read_take(path: str | Path, take_fps: float | None = None) -> tuple[np.ndarray, list[str], float]:
    """A real take as ``(frames (T, C), canonical channel names, fps)``; see the module docstring for layouts."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            header = next(csv.reader(f), None)
    except (UnicodeDecodeError, OSError, csv.Error) as err:
        raise ValueError(f"{path}: cannot read the take as CSV text ({err})") from None
    if not header or not any(h.strip() for h in header):
        raise ValueError(f"{path}: empty file; expected a CSV header of ARKit channel names")
    if any(h.strip().lower() == "timecode" for h in header):
        take = read_livelink_csv(path)
        return take.blendshapes, list(ARKIT_NAMES), float(take.fps)
    columns = [h.strip() for h in header]
    skip = 1 if columns and columns[0].lower() in ("frame", "frames", "index") else 0
    try:
        names = [canonical_name(c) for c in columns[skip:]]
    except ValueError as err:
        raise ValueError(
            f"{path}: unknown layout ({err}); expected a Live Link Face CSV (with a Timecode column) or a "
            "header of ARKit channel names, optionally after a 'frame' column"
        ) from None
    if not names or len(set(names)) != len(names):
        raise ValueError(f"{path}: the header names no ARKit channel, or one twice")
    if take_fps is None:
        raise ValueError(f"{path} has no timecodes: give its frame rate (take_fps / --take-fps)")
    if not (math.isfinite(take_fps) and 1.0 <= take_fps <= 240.0):
        raise ValueError(f"take_fps must be between 1 and 240 frames per second, got {take_fps!r}")
    frames = _read_values(path, columns)[:, skip:]
    return np.clip(frames, 0.0, 1.0).astype(np.float32), names, float(take_fps)


def _read_values(path: Path, columns: Sequence[str]) -> np.ndarray:
    """The data rows under ``columns`` as floats; ``ValueError`` naming the line and cell of any bad one."""
    rows: list[list[float]] = []
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        next(reader)
        try:
            for cells in reader:
                line = reader.line_num
                if not any(c.strip() for c in cells):
                    continue  # blank line, e.g. a trailing one
                if len(cells) != len(columns):
                    raise ValueError(
                        f"{path}, line {line}: {len(cells)} cells, but the header has {len(columns)} columns"
                    )
                row = []
                for name, cell in zip(columns, cells, strict=True):
                    try:
                        value = float(cell)
                    except ValueError:
                        raise ValueError(
                            f"{path}, line {line}: column {name!r} holds {cell.strip()!r}, not a number"
                        ) from None
                    if not math.isfinite(value):
                        raise ValueError(
                            f"{path}, line {line}: column {name!r} holds {cell.strip()!r}; values must be finite"
                        )
                    row.append(value)
                rows.append(row)
        except csv.Error as err:
            raise ValueError(f"{path}, line {reader.line_num + 1}: not a readable CSV ({err})") from None
    if not rows:
        raise ValueError(f"{path}: a header but no data rows")
    return np.asarray(rows, dtype=np.float64)


def check_take(frames: np.ndarray, names: Sequence[str], fps: float, path: str | Path = "the take") -> None:
    """``ValueError`` for a take too short to score or with no face motion (module docstring)."""
    seconds = len(frames) / fps
    if seconds < MIN_TAKE_S:
        raise ValueError(
            f"{path}: {len(frames)} frames at {fps:g} fps ({seconds:.2f} s) is too short to score; "
            f"give at least {MIN_TAKE_S:g} s"
        )
    spread = np.percentile(frames, 95, axis=0) - np.percentile(frames, 5, axis=0)
    if float(spread.max()) < MIN_MOTION:
        widest = names[int(spread.argmax())]
        raise ValueError(
            f"{path}: no face motion; every one of its {len(names)} channels is constant or nearly so "
            f"(the widest 5th-95th percentile spread is {widest} {float(spread.max()):.4f}, under {MIN_MOTION:g})"
        )


def check_speech(audio: np.ndarray, sampling_rate: float, fps: float, path: str | Path = "the audio") -> None:
    """``ValueError`` for near-silent audio: no frame (RMS at ``fps``) louder than :data:`MIN_SPEECH_DB`."""
    from avzoo.evaluation.baselines import frame_rms, rms_db

    loudest = float(rms_db(frame_rms(audio, sampling_rate, fps)).max())
    if loudest < MIN_SPEECH_DB:
        raise ValueError(
            f"audio file {path} holds no speech: its loudest frame is {loudest:.0f} dBFS, quieter than "
            f"{MIN_SPEECH_DB:g} dBFS (silent or near-silent; is it the right file?)"
        )


# --- offsets between take and audio -------------------------------------------------------------------------


def mouth_opening(frames: np.ndarray, names: Sequence[str]) -> tuple[np.ndarray, str] | None:
    """The take's mouth opening: jawOpen, else the mean lip opening; None when it holds neither."""
    if "jawOpen" in names:
        return frames[:, list(names).index("jawOpen")], "jawOpen"
    lips = [i for i, n in enumerate(names) if n in LIP_OPENING]
    if lips:
        return frames[:, lips].mean(axis=1), "lip opening (" + ", ".join(names[i] for i in lips) + ")"
    return None


def loudness_envelope(audio: np.ndarray, sampling_rate: float, fps: float) -> np.ndarray:
    """Frame RMS in dB at ``fps``, floored :data:`LOUDNESS_RANGE_DB` under the loudest frame."""
    from avzoo.evaluation.baselines import frame_rms, rms_db

    db = rms_db(frame_rms(audio, sampling_rate, fps))
    return np.maximum(db, db.max() - LOUDNESS_RANGE_DB)


def lag_correlations(
    mouth: np.ndarray, loudness: np.ndarray, lags: range, min_overlap: int = 3
) -> dict[int, float]:
    """r of ``mouth[k + lag]`` with ``loudness[k]`` over their overlap, per lag; NaN under ``min_overlap`` frames."""
    out = {}
    for lag in lags:
        a, b = max(0, -lag), max(0, lag)
        n = min(len(loudness) - a, len(mouth) - b)
        out[lag] = (
            pearson(mouth[b : b + n], loudness[a : a + n]) if n >= max(min_overlap, 3) else float("nan")
        )
    return out


def find_offset(
    mouth: np.ndarray, loudness: np.ndarray, fps: float, max_lag: int = 8, max_offset_s: float = MAX_OFFSET_S
) -> dict[str, Any]:
    """The take's offset against its audio (module docstring: the rule); positive: the take is late.

    ``mouth`` (take frames) and ``loudness`` (audio frames) are at ``fps``. Returns ``offset`` (whether the rule
    fires), the best lag in frames and seconds with its r, the best r within ``±max_lag`` and the search range.
    """
    shorter = min(len(mouth), len(loudness))
    min_overlap = max(math.ceil(shorter / 2), round(MIN_OFFSET_OVERLAP_S * fps))
    search = max(round(max_offset_s * fps), max_lag)
    r = lag_correlations(mouth, loudness, range(-search, search + 1), min_overlap)
    finite = {lag: v for lag, v in r.items() if np.isfinite(v)}
    out: dict[str, Any] = {
        "offset": False,
        "lag_frames": 0,
        "offset_s": 0.0,
        "r": None,
        "r_near": None,
        "near_lag_frames": 0,
        "search_s": search / fps,
        "min_overlap_s": min_overlap / fps,
    }
    if not finite:
        return out
    best = max(finite, key=lambda lag: (finite[lag], -abs(lag)))
    near = {lag: v for lag, v in finite.items() if abs(lag) <= max_lag}
    near_best = max(near, key=lambda lag: (near[lag], -abs(lag))) if near else 0
    r_near = near.get(near_best, float("nan"))
    out.update(
        lag_frames=int(best),
        offset_s=best / fps,
        r=float(finite[best]),
        r_near=float(r_near) if np.isfinite(r_near) else None,
        near_lag_frames=int(near_best),
    )
    out["offset"] = bool(
        abs(best) > max_lag
        and finite[best] >= OFFSET_MIN_R
        and (not np.isfinite(r_near) or finite[best] >= r_near + OFFSET_MARGIN)
    )
    return out


# --- running the model on a take ----------------------------------------------------------------------------


@dataclass
class TakeRun:
    """A take and the model's prediction on its audio, on the same (aligned, cropped) frames."""

    take: np.ndarray  #: (n, C) the take's frames
    names: list[str]  #: its C canonical channel names
    fps: float
    prediction: np.ndarray  #: (n, 52) the model's track at the take's fps
    loudness: np.ndarray  #: (n,) the audio's frame RMS in dBFS
    audio_start: int  #: the audio frame (at ``fps``) the first scored frame sits at
    take_start: int  #: the take frame the first scored frame is
    offset_check: dict[str, Any]  #: :func:`find_offset`'s answer (``{"skipped": why}`` when it could not run)
    alignment: dict[str, Any] | None  #: with ``align``: the shift applied
    take_path: str
    audio_path: str
    model: str
    emotion: str | Mapping[str, float] | None = None
    crisp_mouth: bool = False
    style: str | None = None
    mode: str | None = None  #: the model mode that ran (av-lipsync: offline or streaming)


def _predict(
    audio: np.ndarray,
    sampling_rate: int,
    fps: float,
    model: Any,
    emotion: str | Mapping[str, float] | None,
    crisp_mouth: bool,
    style: Any = None,
    mode: str | None = None,
) -> tuple[np.ndarray, str | None]:
    """The one pipeline call: the model's ``(T, 52)`` track on the whole audio, resampled to ``fps``, and the mode
    that ran.

    ``model`` is a model name or folder, or an ``audio-to-blendshapes`` pipeline already loaded (reused as is);
    ``mode`` None is the pipeline's default (a model's offline quality mode where it has one).
    """
    from transformers import Pipeline, pipeline

    animate = (
        model
        if isinstance(model, Pipeline)
        else pipeline("audio-to-blendshapes", model=str(model), model_kwargs={"use_safetensors": True})
    )
    out = animate(
        {"array": audio, "sampling_rate": sampling_rate},
        emotion=emotion,
        crisp_mouth=crisp_mouth,
        style=style,
        **({"mode": mode} if mode is not None else {}),
    )
    return resample_blendshapes(out["blendshapes"], out["fps"], fps), out.get("mode")


def run_take(
    take_path: str | Path,
    audio_path: str | Path,
    model: Any = "avzoo/av-lipsync",
    *,
    take_fps: float | None = None,
    emotion: str | Mapping[str, float] | None = None,
    crisp_mouth: bool = False,
    max_lag: int = 8,
    max_length_gap_s: float = MAX_LENGTH_GAP_S,
    align: bool = False,
    style: Any = None,
    mode: str | None = None,
) -> TakeRun:
    """Check the take and the audio, find (and with ``align`` undo) an offset, and run the model (docstring).

    ``model`` is a model name or folder, or a loaded ``audio-to-blendshapes`` pipeline (reused).
    """
    from avzoo.evaluation.baselines import frame_rms, rms_db
    from avzoo.io.audio import load_audio

    take, names, fps = read_take(take_path, take_fps)
    check_take(take, names, fps, take_path)
    rate = SAMPLING_RATE
    audio = load_audio(audio_path, rate)
    check_speech(audio, rate, fps, audio_path)
    audio_frames = len(frame_rms(audio, rate, fps))
    opening = mouth_opening(take, names)
    if opening is None:
        offset_check: dict[str, Any] = {"skipped": "the take has neither jawOpen nor a lip-opening channel"}
    else:
        offset_check = {
            "signal": opening[1],
            **find_offset(opening[0], loudness_envelope(audio, rate, fps), fps, max_lag),
        }
    lag = int(offset_check["lag_frames"]) if offset_check.get("offset") else 0
    if lag and not align:
        late = "late" if lag > 0 else "early"
        raise ValueError(
            f"the take is {abs(lag) / fps:.2f} s {late} against its audio ({lag:+d} frames at {fps:g} fps: its "
            f"{offset_check['signal']} follows the audio's loudness with r {offset_check['r']:.2f} there, "
            f"{_fmt(offset_check['r_near'])} at best within ±{max_lag} frames of lag 0); pass --align "
            "(align=True) to shift the take onto the audio, or fix the recording"
        )
    audio_s, take_s = len(audio) / rate, len(take) / fps
    if not align and abs(audio_s - take_s) > max_length_gap_s:
        raise ValueError(
            f"the audio lasts {audio_s:.2f} s and the take {take_s:.2f} s (at {fps:g} fps): more than "
            f"{max_length_gap_s:g} s apart, so they are probably not one recording (or offset by seconds); "
            "--align (align=True) crops them to their overlap"
        )
    a, b = max(0, -lag), max(0, lag)
    n = min(audio_frames - a, len(take) - b)
    if n < MIN_TAKE_S * fps:
        raise ValueError(
            f"the take and the audio overlap by {max(n, 0) / fps:.2f} s after shifting by {lag / fps:+.2f} s: "
            f"too short to score (at least {MIN_TAKE_S:g} s)"
        )
    prediction, mode = _predict(audio, rate, fps, model, emotion, crisp_mouth, style, mode)
    n = min(n, len(prediction) - a)
    alignment = None
    if align:
        alignment = {
            "offset_s": lag / fps,
            "offset_frames": lag,
            "method": OFFSET_METHOD,
            "shifted": bool(lag),
            "frames_scored": n,
        }
    loudness = rms_db(frame_rms(audio, rate, fps, num_frames=a + n))[a:]
    return TakeRun(
        take=take[b : b + n],
        names=names,
        fps=fps,
        prediction=prediction[a : a + n],
        loudness=loudness,
        audio_start=a,
        take_start=b,
        offset_check=offset_check,
        alignment=alignment,
        take_path=str(take_path),
        audio_path=str(audio_path),
        model=str(getattr(getattr(model, "model", None), "name_or_path", model)),
        emotion=emotion,
        crisp_mouth=crisp_mouth,
        style=None if style is None else str(style) if isinstance(style, (str, Path)) else "given",
        mode=mode,
    )


def _fmt(v: Any) -> str:
    return "–" if v is None else f"{v:.2f}"


# --- scoring ------------------------------------------------------------------------------------------------


def _r(value: float) -> float | None:
    """A correlation for JSON: None where it is undefined (a flat or too short signal)."""
    return None if not np.isfinite(value) else value


def lagged_r(prediction: np.ndarray, reference: np.ndarray, max_lag: int) -> dict[str, Any]:
    """r at lag 0 and the best r over lags ``-max_lag..max_lag`` (positive: the prediction is late)."""
    best, lag = lagged_pearson(prediction, reference, max_lag)
    return {"r_lag0": _r(pearson(prediction, reference)), "r_best": _r(best), "best_lag_frames": lag}


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
            "r": _r(pearson(pred[:, i], take[:, i])),
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


def score_run(run: TakeRun, max_lag: int = 8) -> dict[str, Any]:
    """:func:`score_take` of a :class:`TakeRun`, plus jawOpen against loudness, the offset check and its inputs."""
    result = score_take(run.prediction, run.take, run.names, run.fps, max_lag)
    if "jawOpen" in run.names:
        jaw = run.names.index("jawOpen")
        result["jaw_vs_loudness"] = {
            "take": lagged_r(run.take[:, jaw], run.loudness, max_lag),
            "model": lagged_r(run.prediction[:, ARKIT_NAMES.index("jawOpen")], run.loudness, max_lag),
        }
    result["offset_check"] = run.offset_check
    if run.alignment is not None:
        result["alignment"] = run.alignment
    result.update(
        take=run.take_path,
        audio=run.audio_path,
        model=run.model,
        crisp_mouth=run.crisp_mouth,
        emotion=run.emotion,
        style=run.style,
        mode=run.mode,
    )
    return result


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
    align: bool = False,
    style: Any = None,
    mode: str | None = None,
) -> dict[str, Any]:
    """Run ``model`` on ``audio_path`` through the pipeline and score it against the take (module docstring)."""
    run = run_take(
        take_path,
        audio_path,
        model,
        take_fps=take_fps,
        emotion=emotion,
        crisp_mouth=crisp_mouth,
        max_lag=max_lag,
        max_length_gap_s=max_length_gap_s,
        align=align,
        style=style,
        mode=mode,
    )
    return score_run(run, max_lag)


def format_take(result: Mapping[str, Any]) -> str:
    """A short text summary of :func:`evaluate_take`'s result."""

    def f(v: Any) -> str:
        return "–" if v is None else f"{v:.3f}"

    mode = f", {result['mode']} mode" if result.get("mode") else ""
    lines = [f"{result.get('take')}: {result['frames']} frames at {result['fps']:g} fps{mode}"]
    if result.get("alignment"):
        a = result["alignment"]
        lines.append(f"  aligned: the take shifted by {a['offset_s']:+.2f} s onto the audio ({a['method']})")
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


# --- the side-by-side strip ---------------------------------------------------------------------------------

#: Caption text: font, scale, line height (pixels).
_FONT_SCALE, _LINE_H = 0.38, 16


def face_cell(
    renderer: Any,
    blendshapes: np.ndarray,
    size: int,
    lines: Sequence[tuple[str, tuple[int, int, int]]],
    *,
    mouth: bool = False,
) -> np.ndarray:
    """One rendered frame (``(52,)`` blendshapes) above a white caption of ``(text, RGB colour)`` lines.

    ``mouth`` shows the lower middle of a 3x render (lips and jaw) at the cell size. Returns RGB uint8.
    """
    import cv2

    frame = np.asarray(blendshapes, np.float32)[None]
    if mouth:
        big = renderer.render(frame, size=3 * size)[0]
        h = big.shape[0]
        top = int(0.5 * h) - size // 4
        img = big[top : top + size, int(0.5 * h - size / 2) :][:, :size]
    else:
        img = renderer.render(frame, size=size)[0]
    caption = np.full((_LINE_H * len(lines) + 2, size, 3), 255, np.uint8)
    for i, (text, colour) in enumerate(lines):
        cv2.putText(
            caption,
            text,
            (3, 13 + _LINE_H * i),
            cv2.FONT_HERSHEY_SIMPLEX,
            _FONT_SCALE,
            colour,
            1,
            cv2.LINE_AA,
        )
    return np.vstack([np.ascontiguousarray(img), caption])


def tile(cells: Sequence[np.ndarray], per_row: int) -> np.ndarray:
    """Same-sized cells in rows of ``per_row``, the last row padded with white."""
    if not cells:
        raise ValueError("no cells to tile")
    blank = np.full_like(cells[0], 255)
    rows = []
    for i in range(0, len(cells), per_row):
        row = list(cells[i : i + per_row])
        rows.append(np.hstack(row + [blank] * (per_row - len(row))))
    return np.vstack(rows)


def text_band(lines: Sequence[str], width: int) -> np.ndarray:
    """White band of black text lines, ``width`` pixels wide (RGB uint8)."""
    import cv2

    band = np.full((_LINE_H * len(lines) + 6, width, 3), 255, np.uint8)
    for i, text in enumerate(lines):
        cv2.putText(
            band, text, (4, 14 + _LINE_H * i), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA
        )
    return band


def render_take_strip(
    run: TakeRun,
    start_s: float | None = None,
    seconds: float = 3.0,
    stride: int = 3,
    *,
    size: int = 128,
    per_row: int = 13,
    identity: int = 7,
    mouth: bool = True,
) -> np.ndarray:
    """The take (top row) above the prediction (bottom row), every ``stride``-th frame (RGB uint8).

    ``start_s`` and ``seconds`` are in the audio's time (``start_s`` None: where the scored stretch starts, 0
    unless the take was aligned). Each frame is captioned with its time and jawOpen; the
    take's absent channels are rendered at 0 (neutral), which a heading says. Rows wrap every ``per_row``
    frames into further take/prediction pairs. ``mouth`` (the default) shows the lips and jaw of a 3x render,
    where the opening is visible; False shows the whole face.
    """
    from avzoo.render import FaceRenderer

    if not (seconds > 0 and stride >= 1 and per_row >= 1 and size >= 32):
        raise ValueError(
            f"strip: seconds must be > 0, stride and per_row >= 1 and size >= 32; got {seconds}, {stride}, "
            f"{per_row}, {size}"
        )
    fps, n = run.fps, len(run.take)
    if start_s is None:
        start_s = run.audio_start / fps
    first = math.ceil(start_s * fps - 1e-9) - run.audio_start
    last = min(n, math.ceil((start_s + seconds) * fps - 1e-9) - run.audio_start)
    if first < 0 or first >= n:
        scored = (run.audio_start / fps, (run.audio_start + n) / fps)
        raise ValueError(
            f"strip start {start_s:g} s lies outside the scored stretch {scored[0]:.2f}-{scored[1]:.2f} s of the audio"
        )
    frames = range(first, max(last, first + 1), stride)
    index = [ARKIT_NAMES.index(name) for name in run.names]
    take52 = np.zeros((n, len(ARKIT_NAMES)), np.float32)
    take52[:, index] = run.take
    jaw = ARKIT_NAMES.index("jawOpen")
    renderer = FaceRenderer(identity)
    blue, black = (0, 0, 160), (0, 0, 0)

    def cells(track: np.ndarray, who: str) -> list[np.ndarray]:
        return [
            face_cell(
                renderer,
                track[k],
                size,
                [(f"{who} {(run.audio_start + k) / fps:.2f}s", black), (f"jaw {track[k, jaw]:.2f}", blue)],
                mouth=mouth,
            )
            for k in frames
        ]

    top, bottom = cells(take52, "take"), cells(run.prediction, "model")
    pairs = []
    for i in range(0, len(top), per_row):
        pair = [tile(top[i : i + per_row], per_row), tile(bottom[i : i + per_row], per_row)]
        pairs += [*pair, np.full((6, pair[0].shape[1], 3), 200, np.uint8)]
    body = np.vstack(pairs[:-1])
    absent = len(ARKIT_NAMES) - len(run.names)
    held = f"; its {absent} absent channels held at 0 (neutral)" if absent else ""
    heading = [
        f"top: take {Path(run.take_path).name} ({len(run.names)} of {len(ARKIT_NAMES)} channels{held})",
        f"bottom: model {run.model} on {Path(run.audio_path).name}; every {stride} of {fps:g} fps frames"
        + ("; mouth region" if mouth else ""),
    ]
    if run.alignment and run.alignment["shifted"]:
        heading.append(f"take shifted {run.alignment['offset_s']:+.2f} s onto the audio (--align)")
    return np.vstack([text_band(heading, body.shape[1]), body])


def write_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file in its folder, so no half-written file is ever seen."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def encode_png(image: np.ndarray) -> bytes:
    """An RGB uint8 image as PNG bytes (cv2)."""
    import cv2

    ok, buf = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError("cv2 could not encode the strip as PNG")
    return buf.tobytes()


__all__ = [
    "LIP_GAP_CLOSED",
    "MAX_LENGTH_GAP_S",
    "MAX_OFFSET_S",
    "MIN_MOTION",
    "MIN_OFFSET_OVERLAP_S",
    "MIN_SPEECH_DB",
    "MIN_TAKE_S",
    "OFFSET_MARGIN",
    "OFFSET_MIN_R",
    "TakeRun",
    "check_speech",
    "check_take",
    "encode_png",
    "evaluate_take",
    "face_cell",
    "find_offset",
    "format_take",
    "lag_correlations",
    "lagged_r",
    "loudness_envelope",
    "mouth_opening",
    "read_take",
    "render_take_strip",
    "run_take",
    "score_run",
    "score_take",
    "tile",
    "write_atomic",
]
