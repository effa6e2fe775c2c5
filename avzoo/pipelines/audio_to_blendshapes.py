"""The ``"audio-to-blendshapes"`` pipeline: speech in, a ``(T, 52)`` ARKit track with its names and fps out.

::

    import avzoo  # registers the task
    from transformers import pipeline

    animate = pipeline("audio-to-blendshapes", model="avzoo/av-lipsync")  # or avzoo/koemorph
    out = animate("speech.wav", emotion="happy", intensity="normal", crisp_mouth=True)
    out["blendshapes"]  # (T, 52) float32 in [0, 1]; out["names"], out["fps"], out["mode"]

A file is a whole utterance, so the pipeline runs a model's offline quality mode when it has one (``mode=None``;
``mode="streaming"`` gives what the streamer computes, with its bounded look-ahead).

Inputs: a file path (any format FFmpeg reads), an array with ``sampling_rate=`` (any rate, mono or
multi-channel), an ``{"array", "sampling_rate"}`` dict (a decoded ``datasets`` Audio value, or transformers'
``{"raw", "sampling_rate"}``), an undecoded ``{"path", "bytes"}`` Audio value, or a torchcodec ``AudioDecoder``
(what ``datasets`` Audio columns give). A list of inputs gives a list of results. Every input goes through the
processor's checks (silence, clipping, NaN, rate, length), which raise ``ValueError`` naming the problem.

Any family whose processor has ``post_process_blendshapes`` and ``blendshape_names`` serves this task. A Hub
copy of the model carries this file as remote code (``custom_pipelines`` in its config.json).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import Pipeline

from avzoo.animation.style import load_style
from avzoo.io.audio import load_audio

#: The task name users pass to ``pipeline(...)``.
TASK = "audio-to-blendshapes"


class AudioToBlendshapesPipeline(Pipeline):
    """Speech → blendshapes with a processor that has ``post_process_blendshapes`` (see the module docstring).

    Call options: ``emotion`` (label, ``{label: probability}`` or None), ``intensity`` (number in [0, 1] or
    ``"normal"``/``"strong"``), ``crisp_mouth`` (False, True or a dict of filter overrides), ``style`` (a
    performer's calibration from ``avzoo calibrate``: a JSON path, dict or ``PerformerStyle``, fitted on this
    model), ``life`` (False, True or an int seed: blinks and brow raises on stressed syllables) and
    ``sampling_rate`` (for array inputs) and ``mode`` (``"offline"``, ``"streaming"`` or None: the model's best
    for a whole file; families without modes accept only None).
    """

    _load_processor = False
    _load_image_processor = False
    _load_feature_extractor = True
    _load_tokenizer = False

    def _sanitize_parameters(
        self,
        emotion: Any = None,
        intensity: float | str | None = None,
        crisp_mouth: bool | dict | None = None,
        sampling_rate: int | float | None = None,
        style: Any = None,
        life: bool | int | None = None,
        mode: str | None = None,
        **kwargs: Any,
    ) -> tuple[dict, dict, dict]:
        if kwargs:
            raise ValueError(
                f"unknown option(s) {sorted(kwargs)}; accepted: emotion, intensity, crisp_mouth, style, life, "
                "sampling_rate, mode"
            )
        forward: dict[str, Any] = {}
        postprocess: dict[str, Any] = {} if crisp_mouth is None else {"crisp_mouth": crisp_mouth}
        if mode is not None:
            resolve = getattr(self.model, "resolve_mode", None)
            if resolve is None:
                raise ValueError(f"this model has no modes; mode={mode!r} cannot apply (leave it None)")
            # An unknown mode, or offline on a model without it, fails here, before any audio is read.
            forward["mode"] = postprocess["mode"] = resolve(mode)
        preprocess: dict[str, Any] = {}
        if emotion is not None:
            preprocess["emotion"] = emotion
        if intensity is not None:
            preprocess["intensity"] = intensity
        if sampling_rate is not None:
            preprocess["sampling_rate"] = sampling_rate
        if style is not None:
            # Loaded and checked once per call, before any audio is read: a style for another model fails fast.
            style = load_style(style)
            style.check_model(self.model)
            postprocess["style"] = style
        if life is not None:
            postprocess["life"] = life
        return preprocess, forward, postprocess

    def _audio(self, inputs: Any, sampling_rate: int | float | None) -> tuple[Any, int | float]:
        """Samples and their rate, from any accepted input form."""
        fe = self.feature_extractor
        limits = {
            "max_seconds": fe.max_seconds,
            "allow_silence": fe.allow_silence,
            "max_clipped_fraction": fe.max_clipped_fraction,
        }
        if isinstance(inputs, (str, os.PathLike)):
            return load_audio(inputs, fe.sampling_rate, **limits), fe.sampling_rate
        if hasattr(inputs, "get_all_samples"):  # torchcodec AudioDecoder, as datasets' Audio decodes to
            samples = inputs.get_all_samples()
            return samples.data, samples.sample_rate
        if isinstance(inputs, dict):
            array = inputs.get("array", inputs.get("raw"))
            if array is not None:
                if "sampling_rate" not in inputs:
                    raise ValueError("an audio dict needs 'sampling_rate' next to its 'array' (or 'raw')")
                return array, inputs["sampling_rate"]
            if inputs.get("bytes"):
                suffix = Path(str(inputs.get("path") or "audio.wav")).suffix or ".wav"
                with tempfile.TemporaryDirectory() as folder:
                    path = Path(folder) / f"audio{suffix}"
                    path.write_bytes(inputs["bytes"])
                    return load_audio(path, fe.sampling_rate, **limits), fe.sampling_rate
            if inputs.get("path"):
                return load_audio(inputs["path"], fe.sampling_rate, **limits), fe.sampling_rate
            raise ValueError("an audio dict needs 'array' and 'sampling_rate', or 'path' / 'bytes'")
        if isinstance(inputs, (np.ndarray, torch.Tensor, list, tuple)):
            if sampling_rate is None:
                raise ValueError(
                    "an array input needs its rate: pipe(array, sampling_rate=16000), or pass "
                    "{'array': ..., 'sampling_rate': ...}"
                )
            return inputs, sampling_rate
        if isinstance(inputs, (int, float, np.number)):
            raise ValueError(
                "got a single number as input: a list given to the pipeline is a batch of inputs, so pass the "
                "samples of one clip as a numpy array (with sampling_rate=)"
            )
        raise ValueError(
            "input must be a file path, an array with sampling_rate=, an {'array', 'sampling_rate'} dict, a "
            f"{{'path', 'bytes'}} dict or an AudioDecoder; got {type(inputs).__name__}"
        )

    def preprocess(
        self,
        inputs: Any,
        emotion: Any = None,
        intensity: float | str = 1.0,
        sampling_rate: int | float | None = None,
    ) -> dict[str, Any]:
        audio, rate = self._audio(inputs, sampling_rate)
        batch = self.feature_extractor(audio, sampling_rate=rate, emotion=emotion, intensity=intensity)
        return dict(batch)

    def _forward(self, model_inputs: dict[str, Any], mode: str | None = None) -> dict[str, Any]:
        if mode is not None:
            model_inputs = {**model_inputs, "mode": mode}
        outputs = self.model(**model_inputs)
        return {
            "blendshapes": outputs.blendshapes,
            "attention_mask": model_inputs.get("attention_mask"),
            "phone_logits": getattr(outputs, "phone_logits", None),
        }

    def postprocess(
        self,
        model_outputs: dict[str, Any],
        crisp_mouth: bool | dict = False,
        style: Any = None,
        life: bool | int = False,
        mode: str | None = None,
    ) -> dict[str, Any]:
        fe = self.feature_extractor
        # Only what was asked for (and what the model gave) is passed on, so a processor that takes just
        # ``crisp_mouth`` still serves the task.
        life = None if life is False or life is None else life  # an int is a seed, 0 included
        options = {"style": style, "life": life, "phone_logits": model_outputs.get("phone_logits")}
        (track,) = fe.post_process_blendshapes(
            model_outputs["blendshapes"],
            model_outputs.get("attention_mask"),
            crisp_mouth=crisp_mouth,
            **{k: v for k, v in options.items() if v is not None},
        )
        out = {"blendshapes": track, "names": list(fe.blendshape_names), "fps": float(fe.fps)}
        resolve = getattr(self.model, "resolve_mode", None)
        if resolve is not None:  # the mode that ran (None: the model's default)
            out["mode"] = resolve(mode)
        return out


__all__ = ["TASK", "AudioToBlendshapesPipeline"]
