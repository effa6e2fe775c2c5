"""``avzoo calibrate``: fit a performer's style (:mod:`avzoo.animation.style`) on a real take of their face.

With the take's audio, the model runs on the audio through the ``audio-to-blendshapes`` pipeline (raw unless
``crisp_mouth``) exactly as ``avzoo evaluate av-lipsync --take`` runs it (:func:`~avzoo.evaluation.real_takes.run_take`),
and the curves and time offset are fitted on the frame pairs. Without audio only the rest pose is fitted (``method="rest"``). The style records the model it was
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
from avzoo.evaluation.real_takes import check_take, read_take, run_take

#: Default style method with and without the take's audio.
DEFAULT_METHOD = "isotonic"


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
    align: bool = False,
    mode: str | None = None,
) -> PerformerStyle:
    """Fit a :class:`PerformerStyle` for ``model`` on a take (and its audio); see the module docstring.

    With audio, the take and the audio go through the real-take evaluation's checks (:func:`run_take`: layout,
    motion, speech, length, an offset of seconds refused unless ``align``). ``mode`` is the model mode the style is
    fitted on (None: the pipeline's default, offline where the checkpoint has it); fit on the mode you will use.
    """
    from transformers import pipeline

    method = method or (DEFAULT_METHOD if audio_path is not None else "rest")
    if method != "rest" and audio_path is None:
        raise ValueError(
            f"method {method!r} fits the model's output to the take: give the take's audio (--audio)"
        )
    source: dict[str, Any] = {"take": str(take_path), "model": str(model)}
    # Loaded once: it animates the take's audio and gives the type and weights' fingerprint the style is tied to.
    animate = pipeline("audio-to-blendshapes", model=str(model), model_kwargs={"use_safetensors": True})
    if audio_path is None:
        take, names, fps = read_take(take_path, take_fps)
        check_take(take, names, fps, take_path)
        style = fit_style(None, take, names, fps, method="rest")
    else:
        run = run_take(
            take_path,
            audio_path,
            animate,
            take_fps=take_fps,
            emotion=emotion,
            crisp_mouth=crisp_mouth,
            align=align,
            mode=mode,
        )
        take, names, fps = run.take, run.names, run.fps
        style = fit_style(
            run.prediction,
            take,
            names,
            fps,
            method=method,
            max_lag_frames=max_lag_frames,
            fit_delay=fit_delay,
        )
        source.update(
            audio=str(audio_path),
            alignment=run.alignment,
            in_sample_lipsync_mae={
                "before": _lipsync_mae(run.prediction, take, names),
                "after": _lipsync_mae(style.apply(run.prediction, fps=fps), take, names),
            },
        )
    run_mode = None if audio_path is None else run.mode
    source.update(frames=len(take), fps=fps)
    loaded = animate.model
    return PerformerStyle(
        curves=style.curves,
        delay_s=style.delay_s,
        method=style.method,
        model_type=loaded.config.model_type,
        model_fingerprint=model_fingerprint(loaded),
        fitted_on={**style.fitted_on, "crisp_mouth": crisp_mouth, "emotion": emotion, "mode": run_mode},
        source=source,
    )


__all__ = ["DEFAULT_METHOD", "calibrate"]
