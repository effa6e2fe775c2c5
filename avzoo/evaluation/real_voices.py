"""How a speech → blendshapes model behaves on real recordings, where no reference animation exists.

Three checks, per file and pooled, all on the blendshape frame grid (the processor's ``fps``; frame ``k`` covers
``[k / fps, (k + 1) / fps)``; loudness from :func:`avzoo.evaluation.baselines.frame_rms`):

1. **jawOpen follows loudness**: Pearson r of predicted jawOpen with frame RMS, linear and in dB; also the best r
   within +-``max_lag`` frames and its lag (positive: the jaw moves after the sound).
2. **The jaw closes in pauses and opens in speech**: a frame is *quiet* when its level is below the clip's
   silence threshold, ``max(p95 - silence_below_loud_db, p5 + noise_margin_db)`` (30 dB below the clip's loud
   level, or 10 dB above its noise floor, whichever is higher: it copes with studio silence and with noisy
   recordings alike). A *pause* is a run of at least ``min_pause_frames`` quiet frames (200 ms); shorter quiet runs
   (stop closures, brief gaps) belong to the speech. Reported: mean jawOpen in pauses and in loud (non-quiet)
   frames, their difference, and the share of pause frames whose lips are not open (:func:`lip_state`).
3. **Lips close during speech**: the share of speech-time (non-pause) frames with closed lips, and closure
   *events* (runs of closed frames that touch speech time) per second of speech time.

Limitation: real speech here has no phone alignment (no transcripts ship with the clips and no offline forced
aligner is available), so "lips close on audible /p b m/" cannot be scored frame by frame. Instead the closure
rate is compared with the same statistic on the synthetic test set, where /p b m/ phones are known
(``evaluate_av_lipsync`` reports the phone-label rate, the reference tracks' rate and the model's rate there). A
similar rate on real speech says closures happen about as often as the language needs; it cannot say each one
lands on a bilabial.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from avzoo import arkit
from avzoo.evaluation.baselines import frame_rms, rms_db
from avzoo.evaluation.inference import predict_blendshapes
from avzoo.metrics.functional.blendshape import lip_state
from avzoo.metrics.functional.correlation import lagged_pearson, pearson

SILENCE_BELOW_LOUD_DB = 30.0
NOISE_MARGIN_DB = 10.0
MIN_PAUSE_FRAMES = 6
MAX_LAG = 3
_JAW_OPEN = arkit.INDEX["jawOpen"]

LIMITATION = (
    "No phone alignment exists for the real clips (no transcripts, no offline forced aligner), so closures on "
    "/p b m/ are not scored frame by frame on real speech; closure events per second of speech are compared with "
    "the synthetic test set instead, where the /p b m/ phones are known."
)


# --- frame-level helpers (shared with the synthetic evaluation) --------------------------------------------------


def silence_threshold_db(
    db: np.ndarray,
    silence_below_loud_db: float = SILENCE_BELOW_LOUD_DB,
    noise_margin_db: float = NOISE_MARGIN_DB,
) -> float:
    """``max(p95 - silence_below_loud_db, p5 + noise_margin_db)`` of a clip's frame levels (dB)."""
    loud, floor = np.percentile(db, [95, 5])
    return float(max(loud - silence_below_loud_db, floor + noise_margin_db))


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[start, end)`` of every run of True in a 1-D boolean array."""
    m = np.concatenate([[False], np.asarray(mask, dtype=bool), [False]])
    edges = np.flatnonzero(np.diff(m.astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def pause_mask(quiet: np.ndarray, min_pause_frames: int = MIN_PAUSE_FRAMES) -> np.ndarray:
    """Quiet frames that lie in runs of at least ``min_pause_frames``."""
    out = np.zeros(len(quiet), dtype=bool)
    for a, b in runs(quiet):
        if b - a >= min_pause_frames:
            out[a:b] = True
    return out


def closure_events(closed: np.ndarray, speech_time: np.ndarray) -> int:
    """Runs of closed frames with at least one frame in speech time."""
    return sum(1 for a, b in runs(closed) if speech_time[a:b].any())


def _mean(x: np.ndarray) -> float:
    return float(x.mean()) if len(x) else float("nan")


def track_audio_stats(
    blendshapes: np.ndarray,
    audio: np.ndarray,
    *,
    sampling_rate: float,
    fps: float,
    silence_below_loud_db: float = SILENCE_BELOW_LOUD_DB,
    noise_margin_db: float = NOISE_MARGIN_DB,
    min_pause_frames: int = MIN_PAUSE_FRAMES,
    max_lag: int = MAX_LAG,
) -> dict[str, Any]:
    """Loudness-vs-animation statistics of one (T, 52) track at ``fps`` and its audio at ``sampling_rate``."""
    track = np.asarray(blendshapes, dtype=np.float64)
    if track.ndim != 2 or track.shape[1] != arkit.NUM_BLENDSHAPES:
        raise ValueError(f"blendshapes must be (T, {arkit.NUM_BLENDSHAPES}), got shape {track.shape}")
    n = len(track)
    rms = frame_rms(audio, sampling_rate, fps, n)
    db = rms_db(rms)
    threshold = silence_threshold_db(db, silence_below_loud_db, noise_margin_db)
    quiet = db < threshold
    pauses = pause_mask(quiet, min_pause_frames)
    loud = ~quiet
    speech_time = ~pauses
    jaw = track[:, _JAW_OPEN]
    closed, is_open = lip_state(track)
    r_db_lag, lag = lagged_pearson(jaw, db, max_lag)
    return {
        "frames": n,
        "seconds": n / fps,
        "silence_threshold_db": threshold,
        "jaw_rms_r": pearson(jaw, rms),
        "jaw_log_rms_r": pearson(jaw, db),
        "jaw_log_rms_r_best_lag": r_db_lag,
        "best_lag_frames": lag,
        "pause_frames": int(pauses.sum()),
        "loud_frames": int(loud.sum()),
        "speech_seconds": float(speech_time.sum() / fps),
        "jaw_pause_mean": _mean(jaw[pauses]),
        "jaw_speech_mean": _mean(jaw[loud]),
        "pause_lips_not_open_fraction": _mean((~is_open[pauses]).astype(np.float64)),
        "speech_lips_closed_fraction": _mean(closed[speech_time].astype(np.float64)),
        "closure_events": closure_events(closed, speech_time),
        # masks for callers that pool frames; dropped from the JSON report
        "_pauses": pauses,
        "_loud": loud,
        "_speech_time": speech_time,
    }


def pool_stats(stats: Sequence[Mapping[str, Any]], blendshapes: Sequence[np.ndarray]) -> dict[str, Any]:
    """Pool per-clip :func:`track_audio_stats`: frame-weighted means and event rates; per-clip r averaged."""
    if not stats:
        return {"files": 0}
    jaw_pause, jaw_loud, lips_pause, closed_speech = [], [], [], []
    for s, track in zip(stats, blendshapes, strict=True):
        track = np.asarray(track, dtype=np.float64)
        jaw = track[:, _JAW_OPEN]
        closed, is_open = lip_state(track)
        jaw_pause.append(jaw[s["_pauses"]])
        jaw_loud.append(jaw[s["_loud"]])
        lips_pause.append(~is_open[s["_pauses"]])
        closed_speech.append(closed[s["_speech_time"]])
    speech_seconds = float(sum(s["speech_seconds"] for s in stats))
    events = int(sum(s["closure_events"] for s in stats))
    pause_mean = _mean(np.concatenate(jaw_pause))
    speech_mean = _mean(np.concatenate(jaw_loud))
    with_both = [s for s in stats if s["pause_frames"] and s["loud_frames"]]

    def avg(key: str) -> float:
        values = [s[key] for s in stats if np.isfinite(s[key])]
        return float(np.mean(values)) if values else float("nan")

    return {
        "files": len(stats),
        "seconds": float(sum(s["seconds"] for s in stats)),
        "speech_seconds": speech_seconds,
        "jaw_rms_r": avg("jaw_rms_r"),
        "jaw_log_rms_r": avg("jaw_log_rms_r"),
        "jaw_log_rms_r_best_lag": avg("jaw_log_rms_r_best_lag"),
        "jaw_pause_mean": pause_mean,
        "jaw_speech_mean": speech_mean,
        "jaw_speech_minus_pause": speech_mean - pause_mean,
        "files_jaw_opens_in_speech": (
            float(np.mean([s["jaw_speech_mean"] > s["jaw_pause_mean"] for s in with_both]))
            if with_both
            else None
        ),
        "pause_lips_not_open_fraction": _mean(np.concatenate(lips_pause).astype(np.float64)),
        "speech_lips_closed_fraction": _mean(np.concatenate(closed_speech).astype(np.float64)),
        "closure_events": events,
        "closures_per_second": events / speech_seconds if speech_seconds > 0 else float("nan"),
    }


def public(stats: Mapping[str, Any]) -> dict[str, Any]:
    """A stats dict without its frame masks, NaN as None: JSON-ready."""
    return {k: jsonable(v) for k, v in stats.items() if not k.startswith("_")}


def jsonable(value: Any) -> Any:
    """Numbers as plain floats/ints, NaN/inf as None, containers recursively."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    return value


# --- files --------------------------------------------------------------------------------------------------------


def default_shared_data() -> Path | None:
    """``$AVZOO_SHARED_DATA``, else ``<repo>/../shared/data`` when it exists, else None."""
    env = os.environ.get("AVZOO_SHARED_DATA")
    if env:
        return Path(env) if Path(env).is_dir() else None
    guess = Path(__file__).resolve().parents[2].parent / "shared" / "data"
    return guess if guess.is_dir() else None


def default_real_voice_files(shared_data: str | Path | None = None) -> list[Path]:
    """``real-mixtures/*/s1.wav`` and ``real-speech/librispeech/test-other/*/*.flac`` (held-out talkers)."""
    root = Path(shared_data) if shared_data is not None else default_shared_data()
    if root is None or not root.is_dir():
        raise ValueError(
            f"real recordings folder not found ({root or 'set AVZOO_SHARED_DATA'}); pass files= explicitly"
        )
    files = sorted(root.glob("real-mixtures/*/s1.wav")) + sorted(
        root.glob("real-speech/librispeech/test-other/*/*.flac")
    )
    if not files:
        raise ValueError(f"no real voice files under {root} (real-mixtures/*/s1.wav, librispeech/test-other)")
    return files


def source_of(path: str | Path) -> str:
    """A short name for where a file comes from: ``real-mixtures``, ``librispeech/<subset>`` or ``other``."""
    parts = Path(path).parts
    if "real-mixtures" in parts:
        return "real-mixtures"
    if "librispeech" in parts:
        i = parts.index("librispeech")
        return f"librispeech/{parts[i + 1]}" if i + 2 < len(parts) else "librispeech"
    return "other"


def _speaker_of(path: Path) -> str:
    return path.parent.name


# --- the report ---------------------------------------------------------------------------------------------------


def real_voice_report(
    model: Any,
    processor: Any,
    files: Iterable[str | Path] | None = None,
    *,
    emotion: Any = None,
    intensity: float | str | None = None,
    condition: np.ndarray | None = None,
    batch_size: int = 4,
    silence_below_loud_db: float = SILENCE_BELOW_LOUD_DB,
    noise_margin_db: float = NOISE_MARGIN_DB,
    min_pause_frames: int = MIN_PAUSE_FRAMES,
    max_lag: int = MAX_LAG,
    crisp_mouth: bool | Mapping[str, Any] = False,
) -> dict[str, Any]:
    """Jaw-vs-loudness, pause and closure statistics of the model on real speech files (JSON-ready dict).

    Predictions go through :func:`avzoo.evaluation.inference.predict_blendshapes` (processor → model →
    ``processor.post_process_blendshapes``); files are read at the processor's rate and scored at its ``fps``.
    ``files`` defaults to :func:`default_real_voice_files`. The condition is ``emotion`` (+ ``intensity``) for
    all files, through the processor, or a ready ``(C,)`` ``condition`` vector; neither: neutral.
    ``crisp_mouth`` as in ``processor.post_process_blendshapes`` (True: its calibrated offline mouth filter).
    Returns ``{"files": [...], "summary": {"all": ..., <source>: ...}, "settings", "limitation"}``; a file that
    cannot be read is listed with its ``error`` and left out of the summary.
    """
    from avzoo.io.audio import load_audio

    if emotion is not None and condition is not None:
        raise ValueError("give either emotion (+ intensity) or a ready condition, not both")
    paths = [Path(f) for f in (default_real_voice_files() if files is None else files)]
    if not paths:
        raise ValueError("no files given for the real-voice report")
    rate, fps = processor.sampling_rate, float(processor.fps)
    if emotion is not None:
        condition = processor.condition_for(emotion, 1.0 if intensity is None else intensity)
        conditioning = {"emotion": emotion, "intensity": intensity}
    else:
        conditioning = {}
    audios, ok, rows = [], [], []
    for path in paths:
        try:
            audios.append(load_audio(path, rate))
            ok.append(path)
        except ValueError as err:
            rows.append({"path": str(path), "source": source_of(path), "error": str(err)})
    tracks = []
    if ok:
        if not conditioning and condition is not None:
            conditioning = {"conditions": [np.asarray(condition, np.float32)] * len(ok)}
        tracks = predict_blendshapes(
            model, processor, audios, batch_size=batch_size, crisp_mouth=crisp_mouth, **conditioning
        )
    settings = {
        "fps": fps,
        "silence_below_loud_db": silence_below_loud_db,
        "noise_margin_db": noise_margin_db,
        "min_pause_frames": min_pause_frames,
        "max_lag": max_lag,
        "condition": "neutral (zeros)" if condition is None else [float(c) for c in np.asarray(condition)],
        "postprocess": None if crisp_mouth is False or crisp_mouth is None else "crisp_mouth",
    }
    stats = [
        track_audio_stats(
            t,
            a,
            sampling_rate=rate,
            fps=fps,
            silence_below_loud_db=silence_below_loud_db,
            noise_margin_db=noise_margin_db,
            min_pause_frames=min_pause_frames,
            max_lag=max_lag,
        )
        for t, a in zip(tracks, audios, strict=True)
    ]
    for path, s in zip(ok, stats, strict=True):
        rows.append({"path": str(path), "source": source_of(path), "speaker": _speaker_of(path), **public(s)})
    summary = {"all": jsonable(pool_stats(stats, tracks))}
    for source in sorted({source_of(p) for p in ok}):
        keep = [i for i, p in enumerate(ok) if source_of(p) == source]
        summary[source] = jsonable(pool_stats([stats[i] for i in keep], [tracks[i] for i in keep]))
    rows.sort(key=lambda row: row["path"])
    return {"files": rows, "summary": summary, "settings": jsonable(settings), "limitation": LIMITATION}


__all__ = [
    "LIMITATION",
    "closure_events",
    "default_real_voice_files",
    "default_shared_data",
    "jsonable",
    "pause_mask",
    "pool_stats",
    "public",
    "real_voice_report",
    "runs",
    "silence_threshold_db",
    "source_of",
    "track_audio_stats",
]
