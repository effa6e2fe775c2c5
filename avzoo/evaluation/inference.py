"""The one inference path of a speech → blendshapes family, batched: processor → model → processor.

Every prediction of the evaluation goes through :func:`predict_blendshapes`, which does what
``pipeline("audio-to-blendshapes")`` does, for many clips at once:

1. ``processor(clips, sampling_rate=..., emotion=..., intensity=...)`` gives ``input_features`` (B, T, F),
   ``attention_mask`` (B, T) and, when an emotion is given, ``condition`` (B, C);
2. ``model(**inputs)`` returns an output with ``.blendshapes`` (B, T, 52) (or a tuple starting with it, or
   the tensor);
3. ``processor.post_process_blendshapes(outputs, attention_mask, crisp_mouth=...)`` cuts each clip to its real
   frames, applies the processor's mouth filter when asked, and clips to [0, 1].

Rates (audio sampling rate, frames per second), the emotion and intensity vocabularies and the mouth filter's
settings all come from the processor (``preprocessor_config.json``), never from constants here.
:func:`load_model` loads a model folder or Hub id as ``(model, processor)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch


def _model_device(model: Any) -> torch.device:
    try:
        return next(model.parameters()).device
    except (AttributeError, StopIteration, TypeError):
        return torch.device("cpu")


def _model_dtype(model: Any) -> torch.dtype:
    try:
        return next(model.parameters()).dtype
    except (AttributeError, StopIteration, TypeError):
        return torch.float32


def blendshapes_of(output: Any) -> torch.Tensor:
    """The (B, T, 52) blendshapes of a model output (an output object, a tuple, or a tensor)."""
    if isinstance(output, torch.Tensor):
        return output
    value = getattr(output, "blendshapes", None)
    if value is None and isinstance(output, (tuple, list)) and output:
        value = output[0]
    if not isinstance(value, torch.Tensor):
        raise ValueError(
            f"model output has no blendshapes tensor (got {type(output).__name__}); "
            "return an object with .blendshapes (B, T, 52), a tuple starting with it, or the tensor"
        )
    return value


def _per_clip(value: Any, n: int, what: str) -> list[Any] | None:
    """``value`` as one entry per clip (a list/tuple is per clip already; anything else is for all clips)."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(
                f"got {len(value)} {what} values for {n} clips; give one for all or one per clip"
            )
        return list(value)
    return [value] * n


def predict_blendshapes(
    model: Any,
    processor: Any,
    audios: Sequence[np.ndarray],
    conditions: Sequence[np.ndarray | None] | None = None,
    *,
    emotion: Any = None,
    intensity: Any = None,
    batch_size: int = 8,
    sampling_rate: float | None = None,
    num_frames: Sequence[int] | None = None,
    crisp_mouth: bool | Mapping[str, Any] = False,
    mode: str | None = None,
    return_phone_logits: bool = False,
) -> list[np.ndarray] | tuple[list[np.ndarray], list[np.ndarray | None]]:
    """Run ``processor`` → ``model`` → ``processor.post_process_blendshapes`` over ``audios`` in batches.

    Returns one float32 (T_i, 52) track per clip, in input order, clipped to [0, 1].

    Args:
        processor: an ``AvLipsyncProcessor`` (or anything with its ``__call__`` and ``post_process_blendshapes``).
        audios: mono float32 clips at ``sampling_rate`` (default: the processor's rate).
        conditions: ready-made conditions, per clip a ``(C,)`` vector (held for every frame), a ``(T_i, C)``
            per-frame condition, or None (neutral); not together with ``emotion``.
        emotion, intensity: passed to the processor, which builds the condition (``processor.condition_for``):
            one value for all clips or a list with one per clip; ``emotion=None`` is neutral. ``intensity`` is a
            number in [0, 1] or a word of ``processor.intensity_values`` (None: the processor's default).
        batch_size: clips per forward pass; clips are grouped by length so padding stays small.
        num_frames: the wanted length of each track (e.g. the reference's); the prediction is cut to it before
            post-processing, or extended with its last frame when the model returned fewer frames (at most one
            frame from rounding, else a ``ValueError``).
        crisp_mouth: False (raw), True (the processor's calibrated offline mouth filter) or a dict of overrides.
        mode: passed to the model as ``mode=`` when given (av-lipsync: ``"streaming"`` or ``"offline"``).
        return_phone_logits: also return each clip's ``(T_i, V)`` phone logits (None from a model without a
            phone head), cut like its track, so a later :func:`post_process_tracks` can apply the tongue gate.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    audios = list(audios)
    if not audios:
        raise ValueError("no clips to run the model on")
    if conditions is not None and emotion is not None:
        raise ValueError("give either ready conditions or emotion (+ intensity), not both")
    if conditions is not None and len(conditions) != len(audios):
        raise ValueError(f"got {len(conditions)} conditions for {len(audios)} clips")
    if num_frames is not None and len(num_frames) != len(audios):
        raise ValueError(f"got {len(num_frames)} frame counts for {len(audios)} clips")
    emotions = _per_clip(emotion, len(audios), "emotion")
    intensities = _per_clip(intensity, len(audios), "intensity")
    rate = processor.sampling_rate if sampling_rate is None else sampling_rate
    if hasattr(model, "eval"):
        model.eval()
    device, dtype = _model_device(model), _model_dtype(model)
    order = sorted(range(len(audios)), key=lambda i: -len(audios[i]))
    out: list[np.ndarray | None] = [None] * len(audios)
    clip_logits: list[np.ndarray | None] = [None] * len(audios)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            options: dict[str, Any] = {}
            if emotions is not None:
                options["emotion"] = [emotions[i] for i in idx]
            if intensities is not None:
                options["intensity"] = [intensities[i] for i in idx]
            batch = processor(
                [audios[i] for i in idx],
                sampling_rate=rate,
                return_tensors="pt",
                padding="longest",
                **options,
            )
            features = torch.as_tensor(batch["input_features"]).to(device=device, dtype=dtype)
            b, t = features.shape[:2]
            mask = batch.get("attention_mask")
            mask = torch.ones(b, t, dtype=torch.long) if mask is None else torch.as_tensor(mask)
            mask = mask.to(device)
            inputs: dict[str, Any] = {"input_features": features, "attention_mask": mask}
            # Further streams the processor makes for its model (koemorph: emotion_features) go in as they are.
            for key in getattr(processor, "model_input_names", ()):
                if key not in (*inputs, "condition") and batch.get(key) is not None:
                    inputs[key] = torch.as_tensor(batch[key]).to(device=device, dtype=dtype)
            if batch.get("condition") is not None:
                inputs["condition"] = torch.as_tensor(batch["condition"]).to(device=device, dtype=dtype)
            elif conditions is not None and any(conditions[i] is not None for i in idx):
                inputs["condition"] = _batch_condition([conditions[i] for i in idx], mask, dtype, device)
            if mode is not None:
                inputs["mode"] = mode
            output = model(**inputs)
            pred = blendshapes_of(output)
            # the mouth filter's tongue gate reads the phone head's logits, as in the pipeline
            logits = getattr(output, "phone_logits", None)
            extra = {"phone_logits": logits} if logits is not None else {}
            if tuple(pred.shape[:2]) != (b, t):
                raise ValueError(
                    f"model returned shape {tuple(pred.shape)} for input features {tuple(features.shape)}"
                )
            lengths = mask.sum(dim=1).cpu()
            if num_frames is not None:  # cut to the wanted length before the (temporal) mouth filter
                lengths = torch.minimum(lengths, torch.tensor([int(num_frames[i]) for i in idx]))
            keep = (torch.arange(t)[None, :] < lengths[:, None]).long()
            tracks = processor.post_process_blendshapes(
                pred, attention_mask=keep, crisp_mouth=crisp_mouth, **extra
            )
            for j, i in enumerate(idx):
                track = tracks[j]
                if num_frames is not None:
                    track = _fit_length(track, int(num_frames[i]), i)
                out[i] = track
                if return_phone_logits and logits is not None:
                    clip = logits[j, : int(lengths[j])].float().cpu().numpy()
                    clip_logits[i] = _fit_length(clip, len(track), i) if len(clip) else clip
    if return_phone_logits:
        return out, clip_logits  # type: ignore[return-value]
    return out  # type: ignore[return-value]


def post_process_tracks(
    processor: Any,
    tracks: Sequence[np.ndarray],
    crisp_mouth: bool | Mapping[str, Any] = True,
    phone_logits: Sequence[np.ndarray | None] | None = None,
) -> list[np.ndarray]:
    """``processor.post_process_blendshapes`` of finished (T_i, 52) tracks, one by one (e.g. the mouth filter on
    tracks :func:`predict_blendshapes` returned raw, so raw and filtered scores share one model run).

    ``phone_logits``: per track its ``(T_i, V)`` logits (``predict_blendshapes(..., return_phone_logits=True)``),
    so the processor's tongue gate runs as it does in the pipeline.
    """
    if phone_logits is not None and len(phone_logits) != len(tracks):
        raise ValueError(f"got {len(phone_logits)} phone-logit arrays for {len(tracks)} tracks")
    out = []
    for i, t in enumerate(tracks):
        extra = {}
        if phone_logits is not None and phone_logits[i] is not None:
            extra["phone_logits"] = np.asarray(phone_logits[i], np.float32)[None]
        out.append(
            processor.post_process_blendshapes(
                np.asarray(t, np.float32)[None], crisp_mouth=crisp_mouth, **extra
            )[0]
        )
    return out


def has_crisp_mouth(processor: Any) -> bool:
    """Whether ``processor`` has a mouth filter (``post_process_blendshapes(..., crisp_mouth=True)``)."""
    return callable(getattr(processor, "crisp_mouth", None))


def _batch_condition(
    items: list[np.ndarray | None], mask: torch.Tensor, dtype: torch.dtype, device: torch.device
) -> torch.Tensor:
    b, t = mask.shape
    width = next(np.asarray(c).shape[-1] for c in items if c is not None)
    cond = np.zeros((b, t, width), dtype=np.float32)
    lengths = mask.sum(dim=1).cpu().numpy()
    for j, c in enumerate(items):
        if c is None:
            continue
        c = np.asarray(c, dtype=np.float32)
        n = int(lengths[j])
        if c.ndim == 1 and c.shape[0] == width:
            cond[j, :n] = c
        elif c.ndim == 2 and c.shape[1] == width:
            m = min(n, len(c))
            cond[j, :m] = c[:m]
            if m < n:  # hold the last condition over frames the per-frame condition does not cover
                cond[j, m:n] = c[m - 1] if m else 0.0
        else:
            raise ValueError(f"condition {j} must be (C,) or (T, C) with C = {width}, got shape {c.shape}")
    return torch.from_numpy(cond).to(device=device, dtype=dtype)


def _fit_length(track: np.ndarray, n: int, i: int) -> np.ndarray:
    if len(track) >= n:
        return track[:n]
    if n - len(track) > 1 or len(track) == 0:
        raise ValueError(
            f"clip {i}: the model gave {len(track)} frames but the reference has {n}; "
            "check that the processor uses the reference frame rate"
        )
    return np.concatenate([track, track[-1:]], axis=0)


def load_model(model_dir_or_id: str | Path) -> tuple[Any, Any]:
    """``(AutoModel, AutoProcessor)`` from a model folder or a Hub id, safetensors only, in float32.

    A Hub id of a bundled checkpoint (``avzoo/av-lipsync``) loads the folder inside the package, so no network
    is needed. The model is put in eval mode; float32 whatever the stored dtype (a bundled fp16 checkpoint is
    scored as it runs on CPU). The processor must have ``post_process_blendshapes`` (an ``AvLipsyncProcessor``).
    The Auto classes know the families because importing any ``avzoo`` module runs ``avzoo/__init__``.
    """
    from avzoo.pretrained import load

    model, processor = load(model_dir_or_id)
    if not hasattr(processor, "post_process_blendshapes"):
        raise ValueError(
            f"{model_dir_or_id!r}: its preprocessor_config.json gives a {type(processor).__name__}, which has no "
            "post_process_blendshapes; save the folder with the family's processor (e.g. AvLipsyncProcessor)"
        )
    return model, processor


__all__ = ["blendshapes_of", "has_crisp_mouth", "load_model", "post_process_tracks", "predict_blendshapes"]
