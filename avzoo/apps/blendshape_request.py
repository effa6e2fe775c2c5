"""The blendshape-animation request without UI: speech (+ an emotion, or the text being spoken) → an
:class:`Animation` (the (T, 52) track, a rendered face video with the audio, blendshape curves, Live Link Face CSV
and JSON files), for one model (:func:`animate`) or every model on the same audio (:func:`compare`).

The Gradio page around it is :mod:`avzoo.apps.blendshape_animation` (which re-exports every public name here);
this module imports no gradio. Bad input is a ``ValueError`` (a missing text-vad checkpoint a
``FileNotFoundError``) whose message names the problem and never a server path; a model returning something
unusable is a ``RuntimeError``.

Models are *predictors*: ``callable(audio_16k, emotion, intensity, **options)`` returning what the
``"audio-to-blendshapes"`` pipeline returns, ``{"blendshapes": (T, C), "names": [...], "fps": ...}``; the app takes
the frame rate from it and puts the channels in canonical ARKit order by name. The options are the pipeline's
``style=`` and ``life=``, passed only when a request uses them, so a plain three-argument callable still serves
requests without them. :class:`PipelinePredictor` is that pipeline on a checkpoint folder (one per folder), the one
inference path of every family (processor, model, the processor's calibrated crisp_mouth filter when it has one,
then the performer style and upper-face life when asked for). :data:`DEFAULT_MODEL_DIRS` maps model names to their
bundled folders, from the family registry (the families of the Space registered for the pipeline task):
av-lipsync, and koemorph once its checkpoint is bundled.

**Two kinds of model.** av-lipsync takes an emotion condition (a label or a ``{label: probability}`` mix) and an
intensity, and has a calibrated mouth filter (crisp_mouth). koemorph hears the emotion in the voice: its processor
refuses an emotion, an intensity and ``crisp_mouth=True``. A predictor says which kind it is with
``takes_emotion`` (:func:`takes_emotion`; :class:`PipelinePredictor` reads it off the processor, a plain callable
counts as taking one). For a model that takes none, :func:`animate` calls the predictor with ``emotion=None,
intensity=None`` and *refuses* an emotion, an intensity or a text given to it (a ``ValueError`` saying the model
hears the emotion in the voice), so nothing a caller asked for is dropped silently. :func:`compare` runs every model
on the same audio and gives the emotion, intensity and text to the models that take them only. Style and life apply
to every model.

Three per-request options go through to the pipeline:

* **Expression from this text** (``text=``; models that take an emotion): the sentence being spoken. When it is
  given and not blank, its emotion comes from the bundled ``text-vad`` model (:data:`TEXT_MODEL_DIR`, loaded once
  per process and cached): :func:`avzoo.pipelines.text_to_vad.text_emotion` scores the whole text (its first 128
  tokens) as one clip-level ``{emotion: probability}`` mix, which goes to the pipeline as ``emotion=`` in place of
  the emotion menu's label; the intensity still applies. A text with no words (only emoji or punctuation) gives the
  neutral face (the all-zeros condition). :attr:`Animation.text_emotion` and the summary say what the text gave. A
  blank text means no text (the menu's emotion); a non-string or a text over :data:`MAX_TEXT_CHARS` characters is a
  ``ValueError``; a missing text-vad checkpoint is a ``FileNotFoundError`` saying so. The emotion name is still
  checked (:func:`check_emotion`) when a text overrides it.

* **Performer style**: a JSON file from ``avzoo calibrate`` (``style=``), read and checked against the model before
  any audio is decoded (:func:`read_style`): a file that is not JSON, not a style, or fitted on other weights gets
  a one-line error naming the file, like bad audio does. A style belongs to one checkpoint: :func:`compare` applies
  it to the models it was fitted on and runs the others without it.
* **Upper-face life** (blinks, brow raises on stressed syllables; ``life=``): off by default here and in the
  pipeline, so numbers computed through the API stay comparable with the raw model's (the page turns it on).
  ``life=True`` is seed 0: the same upload gives the same blinks every time.

Limits: clips of :data:`MIN_SECONDS` to :data:`MAX_SECONDS` seconds (60 s keeps a CPU request under half a
minute and the frames of the video, held in memory, under 400 MB); the face video is
:data:`VIDEO_SIZE` px square at 30 fps. The 60 s limit is enforced from the file's header before decoding
(:func:`avzoo.io.audio.load_audio` with ``max_seconds``), so an hour of .m4a is refused in milliseconds.
:func:`compare` decodes the audio once and runs the models one after the other (twice the time of one request,
not twice the memory).

The settings the functions read at call time (:data:`OUTPUT_ROOT`, :data:`TEXT_MODEL_DIR`) live in this module:
patch them here, not on :mod:`avzoo.apps.blendshape_animation`, which only re-exports them.
"""

from __future__ import annotations

import inspect
import logging
import math
import os
import re
import shutil
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from avzoo.animation.style import PerformerStyle, load_style
from avzoo.apps.registry import FAMILIES, get_family
from avzoo.arkit import ARKIT_NAMES, NUM_BLENDSHAPES, canonical_name, convert
from avzoo.emotions import INTENSITY_VALUES, RAVDESS_EMOTIONS
from avzoo.io.audio import DEFAULT_SAMPLING_RATE, load_audio
from avzoo.io.blendshape_json import to_json
from avzoo.io.livelink import resample_blendshapes, write_livelink_csv
from avzoo.pipelines.audio_to_blendshapes import TASK

logger = logging.getLogger(__name__)

#: A model as the Space sees it: (16 kHz mono float32 audio, emotion, intensity in [0, 1], **options) → the pipeline's
#: output, ``{"blendshapes": (T, C) in [0, 1], "names": C channel names, "fps": frames per second}``. The emotion is
#: a label of :data:`EMOTIONS`, or, for a request with a text, a ``{label: probability}`` dict or None (neutral),
#: as the pipeline's ``emotion=`` takes them; a predictor whose ``takes_emotion`` is False (:func:`takes_emotion`)
#: gets None and None. The options, ``style=`` (a :class:`~avzoo.animation.style.PerformerStyle`) and ``life=``
#: (True or an int seed), are passed only when a request uses them; a predictor that does not take one is refused
#: for such a request.
Predictor = Callable[[np.ndarray, "str | dict[str, float] | None", "float | None"], Mapping[str, Any]]

#: The Space this module serves (families with this ``space`` are its models).
SPACE = "blendshape-animation"
#: Live Link Face records at 60 fps; the CSV download is resampled to it.
CSV_FPS = 60
#: Longest clip accepted (seconds).
MAX_SECONDS = 60.0
#: Shortest clip accepted (seconds): a 60 fps Live Link take needs more than 30 frames to import at its rate.
MIN_SECONDS = 0.6
#: Side of the rendered face video in pixels.
VIDEO_SIZE = 256
EMOTIONS: tuple[str, ...] = RAVDESS_EMOTIONS
#: The text → emotion model of the "Expression from this text" box: the bundled text-vad checkpoint.
TEXT_MODEL_DIR: Path = get_family("text-vad").checkpoint
#: Longest text accepted (characters): 60 s of speech is ~180 words, ~1,100 characters. The model reads the first
#: 128 tokens (~90 words) of a text.
MAX_TEXT_CHARS = 2000
#: Channels in the curves unless the caller picks others: jaw, lip closure, rounding, smile, brows, a blink.
DEFAULT_CHANNELS: tuple[str, ...] = (
    "jawOpen",
    "mouthClose",
    "mouthFunnel",
    "mouthSmileLeft",
    "browInnerUp",
    "eyeBlinkLeft",
)
DEFAULT_SEED = 7
MAX_SEED = 2**31 - 1
#: Per-request output folders live in ``requests/`` here and are swept once older than this many seconds;
#: the page's example clip lives in ``examples/``.
OUTPUT_ROOT = Path(tempfile.gettempdir()) / "avzoo-blendshape-animation"
OUTPUT_MAX_AGE_S = 3600.0
#: How the app says why a model takes no emotion (koemorph): "koemorph hears the emotion in the voice".
VOICE_NOTE = "hears the emotion in the voice"


# --- models ---------------------------------------------------------------------------------------


# torch's thread count is process-wide: calls that change it take turns.
_TORCH_THREADS = threading.Lock()


@contextmanager
def torch_threads(n: int | None):
    """Run torch ops with ``n`` intra-op threads inside the block (None: leave torch as it is)."""
    if n is None:
        yield
        return
    import torch

    with _TORCH_THREADS:
        before = torch.get_num_threads()
        torch.set_num_threads(n)
        try:
            yield
        finally:
            torch.set_num_threads(before)


class PipelinePredictor:
    """The ``"audio-to-blendshapes"`` pipeline of a checkpoint folder as a :data:`Predictor`.

    Created once per folder; each call runs ``pipeline(audio, sampling_rate=16000, emotion=..., intensity=...,
    crisp_mouth=..., style=..., life=...)`` (processor, model, post-processing with the processor's calibrated mouth
    filter by default, then the performer style and upper-face life when a call asks for them), passing only what
    the model takes: a model that hears the emotion in the voice (koemorph) gets no emotion, no intensity and no
    crisp_mouth.

    :attr:`takes_emotion` is whether the processor takes an emotion condition (it names the emotion labels of the
    condition, as av-lipsync's does). ``crisp_mouth``: None (default) is the processor's calibrated mouth filter
    when it has one (av-lipsync) and none otherwise; True, or a dict of filter overrides, asks for it (a
    ``ValueError`` for a model without one); False turns it off.

    ``num_threads`` (default 1) is torch's thread count during a call. The model is small: one thread runs a
    5 s clip in milliseconds, while several threads on a busy CPU wait on each other at every op (on a shared
    2-core machine: 0.64 s with torch's 2 threads, 0.008 s with 1; ``benchmarks/blendshape_animation.py``).
    """

    def __init__(
        self,
        model_dir: str | os.PathLike,
        num_threads: int | None = 1,
        crisp_mouth: bool | Mapping[str, Any] | None = None,
    ):
        import torch
        from transformers import pipeline

        self.model_dir = Path(model_dir)
        # float32 whatever the stored dtype: a bundled fp16 checkpoint runs in float32 on CPU
        self.pipeline = pipeline(
            TASK, model=str(self.model_dir), dtype=torch.float32, model_kwargs={"use_safetensors": True}
        )
        self.num_threads = num_threads
        self.takes_emotion = bool(getattr(self.processor, "emotion_labels", None))
        has_filter = callable(getattr(self.processor, "crisp_mouth", None))
        if crisp_mouth is None:
            crisp_mouth = has_filter
        elif crisp_mouth is not False and not has_filter:
            raise ValueError(f"{self.model_type} has no crisp_mouth filter; leave crisp_mouth unset")
        self.crisp_mouth = dict(crisp_mouth) if isinstance(crisp_mouth, Mapping) else bool(crisp_mouth)

    @property
    def model(self) -> Any:
        return self.pipeline.model

    @property
    def processor(self) -> Any:
        return self.pipeline.feature_extractor

    @property
    def model_type(self) -> str:
        return str(getattr(self.model.config, "model_type", "this model"))

    def check_style(self, style: PerformerStyle) -> None:
        """``ValueError`` unless ``style`` was fitted on this checkpoint (its model type and weights)."""
        style.check_model(self.model)

    def __call__(
        self,
        audio: np.ndarray,
        emotion: str | Mapping[str, float] | None = None,
        intensity: float | str | None = None,
        *,
        style: PerformerStyle | str | os.PathLike | Mapping[str, Any] | None = None,
        life: bool | int = False,
    ) -> dict[str, Any]:
        """Blendshapes for 16 kHz mono ``audio``.

        ``emotion`` and ``intensity``: the condition of a model that takes one (None: the all-zeros condition, and
        intensity 1); a ``ValueError`` for a model that hears the emotion in the voice. ``style``: a performer's
        calibration from ``avzoo calibrate`` (a :class:`PerformerStyle`, its JSON path or dict), fitted on this
        checkpoint; ``ValueError`` otherwise. ``life``: False, True (seed 0) or an int seed for speech-driven
        blinks and brow raises.
        """
        options: dict[str, Any] = {"style": style, "life": life}
        if self.takes_emotion:
            options.update(emotion=emotion, intensity=intensity)
        elif emotion is not None or intensity is not None:
            raise ValueError(f"{self.model_type} {VOICE_NOTE}; it takes no emotion or intensity")
        if self.crisp_mouth is not False:
            options["crisp_mouth"] = self.crisp_mouth
        with torch_threads(self.num_threads):
            return self.pipeline(audio, sampling_rate=DEFAULT_SAMPLING_RATE, **options)


def takes_emotion(predictor: Predictor) -> bool:
    """Whether ``predictor`` takes an emotion condition: its ``takes_emotion`` attribute (False for a model that
    hears the emotion in the voice, such as koemorph); True for a callable without one."""
    return bool(getattr(predictor, "takes_emotion", True))


#: Model name → its bundled checkpoint folder: the families of this Space that serve the pipeline, in registry order.
DEFAULT_MODEL_DIRS: dict[str, Path] = {
    f.id: f.checkpoint
    for f in FAMILIES
    if f.space == SPACE and f.pipeline is not None and f.pipeline[0] == TASK
}


def _is_checkpoint(folder: Path) -> bool:
    return (folder / "config.json").is_file() and any(folder.glob("*.safetensors"))


def load_predictors(
    model_dir: str | os.PathLike | Mapping[str, str | os.PathLike | None] | None = None,
    *,
    num_threads: int | None = 1,
) -> dict[str, Predictor]:
    """One :class:`PipelinePredictor` per model whose checkpoint exists, in :data:`DEFAULT_MODEL_DIRS` order.

    ``model_dir`` is av-lipsync's checkpoint folder, or a ``{model name: folder}`` mapping (the way to point the app
    at checkpoints outside the package, e.g. ``{"av-lipsync": a, "koemorph": b}``); a folder of None leaves that
    model out, and models not named use :data:`DEFAULT_MODEL_DIRS`. A folder given explicitly must hold a checkpoint
    of that model (``ValueError`` if not); a missing default one just leaves its model out. ``ValueError`` too when
    no model is left. ``num_threads`` is each predictor's torch thread count (None: torch's default).
    """
    if model_dir is None:
        given: dict[str, Path | None] = {}
    elif isinstance(model_dir, Mapping):
        given = {str(k): None if v is None else Path(v) for k, v in model_dir.items()}
        unknown = sorted(set(given) - set(DEFAULT_MODEL_DIRS))
        if unknown:
            raise ValueError(f"unknown model(s) {unknown}; known models: {list(DEFAULT_MODEL_DIRS)}")
    else:
        given = {"av-lipsync": Path(model_dir)}
    predictors: dict[str, Predictor] = {}
    for name, default in DEFAULT_MODEL_DIRS.items():
        folder = given.get(name, default)
        if folder is None:
            continue
        if not _is_checkpoint(folder):
            if name in given:
                raise ValueError(
                    f"{folder} is not a {name} checkpoint folder (it needs config.json and .safetensors weights)"
                )
            continue
        predictor = PipelinePredictor(folder, num_threads=num_threads)
        if predictor.model_type != name:
            raise ValueError(f"{folder} holds a {predictor.model_type} checkpoint, not {name}")
        predictors[name] = predictor
    if not predictors:
        folders = ", ".join(str(folder) for folder in DEFAULT_MODEL_DIRS.values())
        raise ValueError(f"no model checkpoint found (looked in {folders}); pass model_dir=")
    return predictors


# --- the request, without UI ----------------------------------------------------------------------


@dataclass
class Animation:
    """Everything one request produces."""

    blendshapes: np.ndarray  #: (T, 52) float32 at :attr:`fps`, canonical ARKit order
    audio: np.ndarray  #: the 16 kHz mono input as the model heard it
    video: Path  #: H.264 + AAC MP4 of the rendered face with the audio
    livelink_csv: Path  #: Live Link Face CSV take at 60 fps
    json: Path  #: blendshape JSON at :attr:`fps`
    curves: pd.DataFrame  #: long format: time (s), channel, value — one row per frame and chosen channel
    model: str
    #: the emotion shown: the menu's label, or the text's strongest; None when the model hears it in the voice
    emotion: str | None
    intensity: float | None  #: None when the model hears the emotion in the voice
    identity_seed: int
    fps: float  #: frame rate of the blendshapes and the video, as the model's pipeline reports it
    timings: dict[str, float] = field(default_factory=dict)  #: seconds per stage
    style: str | None = None  #: the performer style applied (its file name), None without one
    life: bool | int = False  #: upper-face life: False, or True / the int seed it ran with
    mode: str | None = (
        None  #: the model mode the pipeline ran (av-lipsync: offline for an upload), if it names one
    )
    #: the request's text, None without one (the emotion menu's label applied)
    text: str | None = None
    #: what the text gave: ``{emotion: probability}`` (the clip's emotion), None for no text or a text without words
    text_emotion: dict[str, float] | None = None

    @property
    def seconds(self) -> float:
        return len(self.audio) / DEFAULT_SAMPLING_RATE

    def summary(self) -> str:
        """One line for the page: what was made and how long each stage took (the text's emotion, not its words)."""
        t = self.timings
        if self.emotion is None:
            feeling = f"emotion from the voice, face #{self.identity_seed}"
        elif self.text is None:
            feeling = self.emotion
        elif self.text_emotion is None:
            feeling = "neutral: the text has no words"
        else:
            feeling = f"{self.emotion} from the text, {100 * self.text_emotion[self.emotion]:.0f} %"
        if self.emotion is not None:
            feeling += f", intensity {self.intensity:.2f}, face #{self.identity_seed}"
        extras = f", {self.mode} mode" if self.mode else ""
        if self.style is not None:
            extras += f", style {self.style}"
        if self.life is not False:
            extras += ", upper-face life"
        return (
            f"{self.seconds:.1f} s of speech → {len(self.blendshapes)} frames with **{self.model}** "
            f"({feeling}{extras}). "
            f"Model {t.get('model', 0):.2f} s · render {t.get('render', 0):.2f} s · "
            f"total {t.get('total', 0):.2f} s."
        )


def check_emotion(emotion: Any) -> str:
    """A RAVDESS emotion name (any case); ``ValueError`` listing them otherwise."""
    key = str(emotion).strip().lower() if isinstance(emotion, str) else None
    if key not in EMOTIONS:
        raise ValueError(f"unknown emotion {emotion!r}; choose one of {', '.join(EMOTIONS)}")
    return key


def check_text(text: Any) -> str | None:
    """The request's text: a string of at most :data:`MAX_TEXT_CHARS` characters, or None when it is None or blank
    (no text: the emotion menu applies). ``ValueError`` for anything else."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise ValueError(
            f"text must be a string (the sentence being spoken) or None, got {type(text).__name__}"
        )
    if not text.strip():
        return None
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(
            f"the text is {len(text)} characters long; at most {MAX_TEXT_CHARS} are accepted (the sentence being "
            "spoken)"
        )
    return text


# Loading the text model once: two first requests at the same time must not both load it.
_TEXT_MODEL_LOCK = threading.Lock()


def text_expression(text: str, text_model: Any = None) -> dict[str, float] | None:
    """The clip's emotion for ``text`` (:func:`avzoo.pipelines.text_to_vad.text_emotion`): ``{label: probability}``
    over :data:`EMOTIONS`, or None (neutral) when the text has no words.

    ``text_model``: a text-to-vad pipeline or checkpoint folder; None is :data:`TEXT_MODEL_DIR`, loaded on first use
    and cached for the process (``FileNotFoundError`` when that checkpoint is missing). Runs torch on one thread.
    """
    from avzoo.pipelines.text_to_vad import split_clauses, text_emotion

    if not isinstance(text, str):
        raise ValueError(f"text must be a string, got {type(text).__name__}")
    if not split_clauses(text):  # no words: neutral, and no model needed
        return None
    if text_model is None:
        if not _is_checkpoint(TEXT_MODEL_DIR):
            raise FileNotFoundError(
                "the text-vad checkpoint is not installed here (avzoo/pretrained/text-vad), so the expression "
                "cannot come from a text; leave the text empty to use the emotion menu"
            )
        text_model = str(TEXT_MODEL_DIR)
    with _TEXT_MODEL_LOCK, torch_threads(1):
        scores = text_emotion(text, text_model)
    if scores is None:
        return None
    return {str(label): float(p) for label, p in scores.items()}


def check_intensity(intensity: Any) -> float:
    """A number in [0, 1], or a RAVDESS level word (``"normal"`` / ``"strong"``), valued by
    :data:`avzoo.emotions.INTENSITY_VALUES` (the table the processors use)."""
    if isinstance(intensity, str) and intensity.strip().lower() in INTENSITY_VALUES:
        return INTENSITY_VALUES[intensity.strip().lower()]
    try:
        value = float(intensity)
    except (TypeError, ValueError):
        value = math.nan
    if isinstance(intensity, bool) or not 0.0 <= value <= 1.0:
        words = "/".join(repr(w) for w in INTENSITY_VALUES)
        raise ValueError(f"intensity must be a number in [0, 1] or {words}, got {intensity!r}")
    return value


def check_seed(seed: Any) -> int:
    """A face identity seed: a whole number in [0, 2**31 - 1] (None means the default face)."""
    if seed is None:
        return DEFAULT_SEED
    try:
        value = float(seed)
    except (TypeError, ValueError):
        value = math.nan
    if isinstance(seed, bool) or not value.is_integer() or not 0 <= value <= MAX_SEED:
        raise ValueError(f"face seed must be a whole number in [0, {MAX_SEED}], got {seed!r}")
    return int(value)


def check_life(life: Any) -> bool | int:
    """Upper-face life as the pipeline takes it: False, True (seed 0) or a whole-number seed (None is off)."""
    if life is None:
        return False
    if isinstance(life, (bool, np.bool_)):
        return bool(life)
    if isinstance(life, (int, np.integer)) and 0 <= life <= MAX_SEED:
        return int(life)
    raise ValueError(f"life must be True/False or a whole-number seed in [0, {MAX_SEED}], got {life!r}")


def read_style(
    style: str | os.PathLike | Mapping[str, Any] | PerformerStyle | None,
    predictor: Predictor | None = None,
) -> PerformerStyle | None:
    """Load a performer style (a JSON path, a dict or a :class:`PerformerStyle`; None or ``""``: no style) and,
    when ``predictor`` has ``check_style`` (:class:`PipelinePredictor` does), check it was fitted on that model.

    ``ValueError`` naming the file, never its server path, for a missing file, a file that is not JSON or not a
    performer style from ``avzoo calibrate``, and a style fitted on another model or other weights.
    """
    if style is None or (isinstance(style, str) and not style.strip()):
        return None
    name = "the performer style"
    if isinstance(style, (str, os.PathLike)):
        name = f"style file {Path(style).name!r}"
    try:
        loaded = load_style(style)
        if loaded is not None and callable(getattr(predictor, "check_style", None)):
            predictor.check_style(loaded)
    except ValueError as e:
        message = str(e)
        if isinstance(style, (str, os.PathLike)):
            message = _hide_upload_path(message, style, name, prefix="style file ")
        if not message.startswith(name):
            message = f"{name}: {message}"
        raise ValueError(message) from None
    return loaded


def _takes_option(predictor: Callable[..., Any], option: str) -> bool:
    """Whether ``predictor`` accepts the keyword ``option`` (or any keyword); True when its signature is unknown."""
    try:
        parameters = inspect.signature(predictor).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(
        p.kind is p.VAR_KEYWORD or (p.name == option and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD))
        for p in parameters
    )


def check_channels(channels: Sequence[str] | str | None) -> list[str]:
    """Canonical names of the channels to plot (any spelling :func:`avzoo.arkit.canonical_name` knows)."""
    if channels is None:
        return list(DEFAULT_CHANNELS)
    if isinstance(channels, str):
        channels = [c for c in channels.split(",") if c.strip()]
    out: list[str] = []
    for name in channels:
        canonical = canonical_name(str(name).strip())  # ValueError naming the unknown channel
        if canonical not in out:
            out.append(canonical)
    return out


def read_speech(audio: Any, max_seconds: float = MAX_SECONDS) -> np.ndarray:
    """Load a path or an ``(array, rate)`` pair as 16 kHz mono and refuse what cannot be animated.

    ``ValueError`` for no audio, unreadable/corrupt files, clips shorter than :data:`MIN_SECONDS` or
    longer than ``max_seconds``, and digital silence (the processor's rule, :data:`avzoo.io.audio.SILENCE_PEAK`).
    """
    if audio is None or (isinstance(audio, str) and not audio.strip()):
        raise ValueError("no audio: upload a speech file or record some speech first")
    name = "the audio"
    if isinstance(audio, (str, os.PathLike)):
        name = f"audio file {Path(audio).name!r}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # light clipping is fine for a demo
            # max_seconds goes down to the reader, which refuses a longer file before decoding it.
            speech = load_audio(audio, DEFAULT_SAMPLING_RATE, max_seconds=max_seconds)
    except ValueError as e:
        message = str(e)
        if isinstance(audio, (str, os.PathLike)):  # the user never saw the server's upload path
            message = _hide_upload_path(message, audio, name)
        if "digital silence" in message:
            message = f"{name} is silent (all zeros): there is no speech to animate"
        raise ValueError(message) from None
    seconds = len(speech) / DEFAULT_SAMPLING_RATE
    if seconds < MIN_SECONDS:
        raise ValueError(
            f"{name} is {seconds:.2f} s long; it must be {MIN_SECONDS:g} to {max_seconds:g} s of speech"
        )
    return speech


def _hide_upload_path(message: str, path: str | os.PathLike, name: str, prefix: str = "audio file ") -> str:
    """``message`` with the server path of an upload replaced by the file's name, once per mention.

    ``"audio file /tmp/gradio/…/x.wav is …"`` becomes ``"audio file 'x.wav' is …"`` (``name``; ``prefix`` is the
    words before the path), and any other mention of the path, quoted or not, becomes ``'x.wav'``; one pass, so
    nothing is replaced twice.
    """
    paths = sorted({str(path), str(Path(path).expanduser())}, key=len, reverse=True)
    alternatives = "|".join(re.escape(p) for p in paths)
    quoted = repr(Path(path).name)
    return re.sub(
        rf"({re.escape(prefix)})?(['\"]?)(?:{alternatives})\2",
        lambda m: name if m.group(1) else quoted,
        message,
    )


def curves_frame(blendshapes: np.ndarray, channels: Sequence[str], fps: float) -> pd.DataFrame:
    """The chosen channels of a track at ``fps`` as a long DataFrame (``time`` in s, ``channel``, ``value``) for
    ``gr.LinePlot``."""
    channels = check_channels(channels)
    n = len(blendshapes)
    times = np.arange(n, dtype=np.float64) / fps
    index = [ARKIT_NAMES.index(c) for c in channels]
    return pd.DataFrame(
        {
            "time": np.tile(times, len(channels)),
            "channel": np.repeat(np.array(channels, dtype=object), n),
            "value": np.asarray(blendshapes, dtype=np.float64)[:, index].T.reshape(-1),
        }
    )


def _check_prediction(output: Any, model: str) -> tuple[np.ndarray, float]:
    """A predictor's output (the pipeline's dict) → (canonical (T, 52) float32 in [0, 1], fps)."""
    if not isinstance(output, Mapping) or "blendshapes" not in output or "fps" not in output:
        raise RuntimeError(
            f"model {model!r} returned {type(output).__name__}, expected the audio-to-blendshapes pipeline's "
            "{'blendshapes', 'names', 'fps'} dict"
        )
    x = np.asarray(output["blendshapes"], dtype=np.float32)
    names = list(output.get("names") or ARKIT_NAMES)
    if x.ndim != 2 or x.shape[1] != len(names) or len(x) == 0:
        raise RuntimeError(f"model {model!r} returned shape {x.shape}, expected (frames, {len(names)})")
    if names != list(ARKIT_NAMES):  # another order: convert by name, refusing a track that lacks channels
        try:
            missing = set(ARKIT_NAMES) - {canonical_name(str(n)) for n in names}
        except ValueError as e:
            raise RuntimeError(f"model {model!r} returned unknown channel names: {e}") from None
        if missing:
            raise RuntimeError(f"model {model!r} returned no {sorted(missing)} channels")
        x = convert(x, names)
    if x.shape[1] != NUM_BLENDSHAPES:
        raise RuntimeError(f"model {model!r} returned shape {x.shape}, expected (frames, {NUM_BLENDSHAPES})")
    if not np.isfinite(x).all():
        raise RuntimeError(f"model {model!r} returned NaN/inf blendshapes")
    fps = output["fps"]
    if isinstance(fps, bool) or not isinstance(fps, (int, float, np.number)) or not 0 < float(fps) <= 1000:
        raise RuntimeError(f"model {model!r} returned frame rate {fps!r}, expected a positive number")
    return np.clip(x, 0.0, 1.0), float(fps)


def _output_dir() -> Path:
    """A fresh folder for one request's files; folders older than an hour are removed on the way."""
    root = OUTPUT_ROOT / "requests"
    root.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for old in root.iterdir():
        try:
            if old.is_dir() and now - old.stat().st_mtime > OUTPUT_MAX_AGE_S:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:  # another request removed it first
            pass
    out = root / uuid.uuid4().hex
    out.mkdir()
    return out


def animate(
    audio: Any,
    emotion: str | None = None,
    intensity: float | str | None = None,
    *,
    predictor: Predictor,
    model: str = "av-lipsync",
    identity_seed: int | None = DEFAULT_SEED,
    channels: Sequence[str] | None = DEFAULT_CHANNELS,
    out_dir: str | os.PathLike | None = None,
    size: int = VIDEO_SIZE,
    max_seconds: float = MAX_SECONDS,
    style: str | os.PathLike | Mapping[str, Any] | PerformerStyle | None = None,
    life: bool | int = False,
    text: str | None = None,
    text_model: Any = None,
) -> Animation:
    """Animate speech: predict blendshapes, render the face video with the audio, write CSV and JSON.

    Args:
        audio: a file path (any format :func:`avzoo.io.audio.load_audio` reads) or an ``(array, rate)`` pair.
        emotion: one of :data:`EMOTIONS` (None: neutral). intensity: in [0, 1], or ``"normal"`` / ``"strong"``
            (None: 1). For a model that hears the emotion in the voice (:func:`takes_emotion` is False: koemorph)
            both must be left None, and ``text`` too: a ``ValueError`` says so otherwise.
        predictor: the model (see :data:`Predictor`); ``model`` is its name, for the summary and the file names.
        identity_seed: which face to draw (:func:`avzoo.render.random_identity`).
        channels: the channels in :attr:`Animation.curves`.
        out_dir: where the files go (default: a fresh folder under :data:`OUTPUT_ROOT`).
        size: video side in pixels. max_seconds: longest clip accepted.
        style: a performer's calibration from ``avzoo calibrate`` (a JSON path, dict or :class:`PerformerStyle`),
            fitted on ``predictor``'s model (see :func:`read_style`); None for the model's own output.
        life: upper-face life (blinks, brow raises on stressed syllables): False (default, as in the pipeline),
            True (seed 0) or an int seed.
        text: the sentence being spoken (optional). When given and not blank, the emotion comes from it
            (:func:`text_expression`: the text-vad model's ``{emotion: probability}`` for the whole text) and
            ``emotion`` is ignored (still checked); ``intensity`` still applies. A text with no words (only emoji or
            punctuation) gives the neutral face. :attr:`Animation.text_emotion` holds what the text gave.
        text_model: the text-to-vad pipeline or checkpoint folder for ``text``; None: the bundled text-vad
            (``FileNotFoundError`` if it is missing).

    Raises ``ValueError`` naming the problem for bad input (see :func:`read_speech`, :func:`read_style` and
    :func:`check_text`).
    """
    from avzoo.render import random_identity, render_video

    start = time.perf_counter()
    conditioned = takes_emotion(predictor)
    if conditioned:
        emotion = check_emotion("neutral" if emotion is None else emotion)
        intensity = check_intensity(1.0 if intensity is None else intensity)
    seed = check_seed(identity_seed)
    channels = check_channels(channels)
    if isinstance(size, bool) or not isinstance(size, int) or not 64 <= size <= 1024:
        raise ValueError(f"size must be a whole number of pixels in [64, 1024], got {size!r}")
    life = check_life(life)
    text = check_text(text)
    if not conditioned:
        given = [
            f"{name} {value!r}"
            for name, value in (("emotion", emotion), ("intensity", intensity))
            if value is not None
        ]
        if text is not None:
            given.append("a text")
        if given:
            raise ValueError(
                f"model {model!r} {VOICE_NOTE} and takes no emotion, intensity or text (got {', '.join(given)}); "
                "leave them unset"
            )
    options: dict[str, Any] = {}
    if life is not False:
        options["life"] = life
    # The style is read and checked against the model before the audio is decoded: a wrong file fails fast.
    performer = read_style(style, predictor)
    if performer is not None:
        options["style"] = performer
    for option, what in (("style", "a performer style"), ("life", "upper-face life")):
        if option in options and not _takes_option(predictor, option):
            raise ValueError(f"model {model!r} does not support {what}")
    # The text is scored before the audio is decoded too (a missing text model fails fast).
    timings: dict[str, float] = {}
    condition: str | dict[str, float] | None = emotion
    scores = None
    if text is not None:
        t = time.perf_counter()
        condition = scores = text_expression(text, text_model)
        emotion = "neutral" if scores is None else max(scores, key=scores.__getitem__)
        timings["text"] = time.perf_counter() - t
    speech = read_speech(audio, max_seconds)
    timings["load"] = time.perf_counter() - start

    t = time.perf_counter()
    output = predictor(speech, condition, intensity, **options)
    blendshapes, fps = _check_prediction(output, model)
    mode = output.get("mode") if isinstance(output, Mapping) else None
    timings["model"] = time.perf_counter() - t

    out = Path(out_dir) if out_dir is not None else _output_dir()
    out.mkdir(parents=True, exist_ok=True)
    stem = (
        f"{model}-voice"
        if emotion is None
        else f"{model}-{emotion}"
        if text is None
        else f"{model}-text-{emotion}"
    )
    t = time.perf_counter()
    video = render_video(
        blendshapes, random_identity(seed), fps=fps, audio=speech, path=out / f"{stem}.mp4", size=size
    )
    timings["render"] = time.perf_counter() - t

    t = time.perf_counter()
    livelink = write_livelink_csv(
        out / f"{stem}-livelink.csv", resample_blendshapes(blendshapes, fps, CSV_FPS), fps=CSV_FPS
    )
    json_path = out / f"{stem}-blendshapes.json"
    to_json(blendshapes, fps, json_path)
    timings["files"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - start
    return Animation(
        blendshapes=blendshapes,
        audio=speech,
        video=Path(video),
        livelink_csv=livelink,
        json=json_path,
        curves=curves_frame(blendshapes, channels, fps),
        model=model,
        emotion=emotion,
        intensity=intensity,
        identity_seed=seed,
        fps=fps,
        timings=timings,
        style=None if performer is None else _style_name(style),
        life=life,
        mode=mode,
        text=text,
        text_emotion=scores,
    )


def compare(
    audio: Any,
    emotion: str | None = None,
    intensity: float | str | None = None,
    *,
    predictors: Mapping[str, Predictor],
    identity_seed: int | None = DEFAULT_SEED,
    channels: Sequence[str] | None = DEFAULT_CHANNELS,
    out_dir: str | os.PathLike | None = None,
    size: int = VIDEO_SIZE,
    max_seconds: float = MAX_SECONDS,
    style: str | os.PathLike | Mapping[str, Any] | PerformerStyle | None = None,
    life: bool | int = False,
    text: str | None = None,
    text_model: Any = None,
) -> dict[str, Animation]:
    """Every model of ``predictors`` on the same audio and the same face: ``{model name: Animation}``, in order.

    Each model runs as :func:`animate` runs it, with these differences: ``emotion``, ``intensity`` and ``text`` go
    to the models that take an emotion only (a model that hears it in the voice runs without them), and a performer
    ``style`` goes to the models it was fitted on only (a ``ValueError`` when it fits none). Every argument is
    checked, and the audio decoded, once and before any model runs; the files of all models go to one folder
    (``out_dir``, or a fresh one under :data:`OUTPUT_ROOT`), named by model.
    """
    if not predictors:
        raise ValueError("compare needs at least one model")
    conditioned = [name for name, predictor in predictors.items() if takes_emotion(predictor)]
    if conditioned:  # checked here, so a bad value fails before the first model runs
        check_emotion("neutral" if emotion is None else emotion)
        check_intensity(1.0 if intensity is None else intensity)
    check_seed(identity_seed)
    check_channels(channels)
    check_life(life)
    text = check_text(text)
    styled = set(predictors)
    if read_style(style) is not None:
        problems: list[ValueError] = []
        for name, predictor in predictors.items():
            try:
                read_style(style, predictor)
            except ValueError as e:
                styled.discard(name)
                problems.append(e)
        if not styled:
            raise problems[0]
    speech = read_speech(audio, max_seconds)
    out = Path(out_dir) if out_dir is not None else _output_dir()
    results: dict[str, Animation] = {}
    for name, predictor in predictors.items():
        hears = name not in conditioned
        results[name] = animate(
            (speech, DEFAULT_SAMPLING_RATE),
            None if hears else emotion,
            None if hears else intensity,
            predictor=predictor,
            model=name,
            identity_seed=identity_seed,
            channels=channels,
            out_dir=out,
            size=size,
            max_seconds=max_seconds,
            style=style if name in styled else None,
            life=life,
            text=None if hears else text,
            text_model=text_model,
        )
    return results


def _style_name(style: Any) -> str:
    """How the summary names a style: its file name, or "(custom)" for one given as a dict or object."""
    return repr(Path(style).name) if isinstance(style, (str, os.PathLike)) else "(custom)"


__all__ = [
    "CSV_FPS",
    "DEFAULT_CHANNELS",
    "DEFAULT_MODEL_DIRS",
    "DEFAULT_SEED",
    "EMOTIONS",
    "MAX_SECONDS",
    "MAX_SEED",
    "MAX_TEXT_CHARS",
    "MIN_SECONDS",
    "OUTPUT_MAX_AGE_S",
    "OUTPUT_ROOT",
    "SPACE",
    "TEXT_MODEL_DIR",
    "VIDEO_SIZE",
    "VOICE_NOTE",
    "Animation",
    "PipelinePredictor",
    "Predictor",
    "animate",
    "check_channels",
    "check_emotion",
    "check_intensity",
    "check_life",
    "check_seed",
    "check_text",
    "compare",
    "curves_frame",
    "load_predictors",
    "read_speech",
    "read_style",
    "takes_emotion",
    "text_expression",
    "torch_threads",
]
