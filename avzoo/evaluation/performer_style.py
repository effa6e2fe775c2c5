"""``avzoo calibrate``: fit a performer's style (:mod:`avzoo.animation.style`) on a real take of their face.

With the take's audio, the model runs on the audio through the ``audio-to-blendshapes`` pipeline (raw unless
``crisp_mouth``), its track is resampled to the take's frames, and the curves and time offset are fitted on the
pairs. Without audio only the rest pose is fitted (``method="rest"``). The style records the model it was
fitted on, the take, and its in-sample error before and after (in-sample: it says the fit worked, not how well it
generalises; ``benchmarks/performer_style.py`` measures that on held-out clips).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from avzoo.animation.style import PerformerStyle, fit_style, model_fingerprint
from avzoo.arkit import ARKIT_NAMES, LIPSYNC
from avzoo.evaluation.real_takes import read_take

#: Default style method with and without the take's audio.
DEFAULT_METHOD = "isotonic"


def predict_for_take(
    animate: Any,
    audio_path: str | Path,
    num_frames: int,
    fps: float,
    *,
    emotion: str | Mapping[str, float] | None = None,
    crisp_mouth: bool = False,
    max_length_gap_s: float = 0.5,
    **options: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """The pipeline's ``(num_frames, 52)`` track for ``audio_path`` at the take's ``fps``, and the audio.

    Refuses audio whose length differs from the take's by more than ``max_length_gap_s``.
    """
    from avzoo.io.audio import load_audio
    from avzoo.io.livelink import resample_blendshapes

    rate = animate.feature_extractor.sampling_rate
    try:
        audio = load_audio(audio_path, rate)
    except ValueError as err:
        raise ValueError(f"{audio_path}: {err}") from None
    audio_s, take_s = len(audio) / rate, num_frames / fps
    if abs(audio_s - take_s) > max_length_gap_s:
        raise ValueError(
            f"the audio lasts {audio_s:.2f} s and the take {take_s:.2f} s (at {fps:g} fps): more than "
            f"{max_length_gap_s:g} s apart, so they are probably not one recording (or offset by seconds)"
        )
    out = animate(
        {"array": audio, "sampling_rate": rate}, emotion=emotion, crisp_mouth=crisp_mouth, **options
    )
    prediction = resample_blendshapes(out["blendshapes"], out["fps"], fps)[:num_frames]
    if len(prediction) < num_frames:  # a shorter audio: hold the last frame over the take's tail
        prediction = np.concatenate([prediction, np.repeat(prediction[-1:], num_frames - len(prediction), 0)])
    return prediction, audio


def _lipsync_mae(prediction: np.ndarray, take: np.ndarray, names: list[str]) -> float | None:
    cols = [i for i, n in enumerate(names) if n in LIPSYNC]
    if not cols:
        return None
    pred = prediction[:, [ARKIT_NAMES.index(names[i]) for i in cols]]
    return float(np.abs(pred - take[:, cols]).mean())


def calibrate(
    take_path: str | Path,
    audio_path: str | Path | None = None,
    model: str | Path = "avzoo/av-lipsync",
    *,
    take_fps: float | None = None,
    method: str | None = None,
    emotion: str | Mapping[str, float] | None = None,
    crisp_mouth: bool = False,
    max_lag_frames: int = 8,
    fit_delay: bool = True,
) -> PerformerStyle:
    """Fit a :class:`PerformerStyle` for ``model`` on a take (and its audio); see the module docstring."""
    from transformers import pipeline

    take, names, fps = read_take(take_path, take_fps)
    method = method or (DEFAULT_METHOD if audio_path is not None else "rest")
    if method != "rest" and audio_path is None:
        raise ValueError(
            f"method {method!r} fits the model's output to the take: give the take's audio (--audio)"
        )
    animate = pipeline("audio-to-blendshapes", model=str(model), model_kwargs={"use_safetensors": True})
    source: dict[str, Any] = {"take": str(take_path), "frames": len(take), "fps": fps, "model": str(model)}
    if audio_path is None:
        style = fit_style(None, take, names, fps, method="rest")
    else:
        prediction, _ = predict_for_take(
            animate, audio_path, len(take), fps, emotion=emotion, crisp_mouth=crisp_mouth
        )
        style = fit_style(
            prediction, take, names, fps, method=method, max_lag_frames=max_lag_frames, fit_delay=fit_delay
        )
        fitted = style.apply(prediction, fps=fps)
        source.update(
            audio=str(audio_path),
            in_sample_lipsync_mae={
                "before": _lipsync_mae(prediction, take, names),
                "after": _lipsync_mae(fitted, take, names),
            },
        )
    return PerformerStyle(
        curves=style.curves,
        delay_s=style.delay_s,
        method=style.method,
        model_type=animate.model.config.model_type,
        model_fingerprint=model_fingerprint(animate.model),
        fitted_on={**style.fitted_on, "crisp_mouth": crisp_mouth, "emotion": emotion},
        source=source,
    )


__all__ = ["DEFAULT_METHOD", "calibrate", "predict_for_take"]
