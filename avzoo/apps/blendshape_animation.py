"""The blendshape-animation Space: speech (+ an emotion, or the text being spoken) → an animated face, blendshape
curves, and Live Link Face CSV / JSON downloads, from av-lipsync or koemorph, or from both side by side.

Two modules:

* :mod:`avzoo.apps.blendshape_request` is the request without any UI (no gradio): the checks, the predictors
  (:func:`load_predictors`, :class:`PipelinePredictor`), :func:`animate` (audio in, an :class:`Animation` out) and
  :func:`compare` (every model on the same audio). Every public name of it is re-exported here, so
  ``from avzoo.apps.blendshape_animation import animate, load_predictors`` keeps working; the settings its
  functions read at call time (``OUTPUT_ROOT``, ``TEXT_MODEL_DIR``) are patched there, not here.
* This module is the page: :func:`build_ui` wraps the request in a ``gr.Blocks`` whose events are ``/animate`` (one
  model) and ``/compare`` (all of them, when there are two or more; also for ``gradio_client``); the Space's
  ``app.py`` launches it, and ``avzoo serve`` shows it as a tab once a checkpoint is bundled.

The "Model" dropdown lists the models whose checkpoints exist (:data:`DEFAULT_MODEL_DIRS`, or the folders given to
:func:`build_ui`): av-lipsync, and koemorph once ``avzoo/pretrained/koemorph/`` holds its checkpoint.

**The emotion controls follow the model.** av-lipsync takes the Emotion menu, the Intensity and the "Expression
from this text" box. koemorph hears the emotion in the voice: with it selected the three are disabled and a note
says so. ``/animate`` with such a model does not pass them on (the page still sends their values, and a
``gradio_client`` caller has to send the emotion and intensity, which are positional): the summary says "emotion
from the voice". :func:`animate` itself, the Python API, refuses them with a ``ValueError`` instead, so a script
never loses an argument silently. The performer style and upper-face life apply to every model.

**Compare both models** (a button, shown when two or more models are available) runs every model on the same
audio and face (:func:`compare`) and shows the results side by side in place of the single view: per model the
face video, a summary line (model, emotion or "from the voice", mode if any, seconds), the curves and the
downloads. The emotion settings go to av-lipsync (the models that take them), whichever model the dropdown shows;
a performer style goes to the model it was fitted on. ``/compare`` takes the inputs of ``/animate`` but the model.

The page's "Upper-face life" checkbox is *on* by default (:data:`DEFAULT_LIFE`): people trying a demo expect a
living face, and a face that never blinks looks broken; :func:`animate` keeps it off by default. The page asks for
``life=True``, which is seed 0: the same upload gives the same blinks every time.

Server settings, sized for a 2-core CPU server such as a free Space:

* :data:`MAX_FILE_SIZE` (50 MB per upload; ``launch(max_file_size=...)``, set by :func:`launch`): 60 s of
  audio is at most ~35 MB even as 96 kHz / 24-bit stereo WAV (11.5 MB as 48 kHz / 16-bit stereo), so
  nothing the app accepts is refused, while a larger upload is stopped before it fills the disk.
* :data:`QUEUE_MAX_SIZE` (16 waiting requests) and :data:`CONCURRENCY_LIMIT` (2 at a time), set on the
  ``Blocks`` by :func:`build_ui`; ``/animate`` and ``/compare`` share that limit (one concurrency group, which
  carries into ``avzoo serve`` too). Each request runs torch on one thread and holds up to ~400 MB of video
  frames (a comparison renders its faces one after the other), so two at a time use both cores and under 1 GB;
  sixteen waiting is at most a few minutes' wait before a new request gets "queue full" at once instead of
  waiting indefinitely.
* :data:`DELETE_CACHE` (every hour, files older than an hour): gradio's copies of uploads, including the
  refused ones, and of outputs do not pile up until a restart.

Errors reach the page and ``gradio_client`` as plain text (``gr.Error``), never a stack trace: gradio's page shows
the message as sanitised HTML, so nothing in it can run, and the API returns it verbatim, so it is not
HTML-escaped. Upload paths on the server are replaced by the file's name, once.
"""

from __future__ import annotations

import html
import logging
import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from avzoo.apps import blendshape_request
from avzoo.apps.blendshape_request import (
    CSV_FPS,
    DEFAULT_CHANNELS,
    DEFAULT_MODEL_DIRS,
    DEFAULT_SEED,
    EMOTIONS,
    MAX_SECONDS,
    MAX_SEED,
    MAX_TEXT_CHARS,
    MIN_SECONDS,
    OUTPUT_MAX_AGE_S,
    OUTPUT_ROOT,
    SPACE,
    TEXT_MODEL_DIR,
    VIDEO_SIZE,
    VOICE_NOTE,
    Animation,
    PipelinePredictor,
    Predictor,
    animate,
    check_channels,
    check_emotion,
    check_intensity,
    check_life,
    check_seed,
    check_text,
    compare,
    curves_frame,
    load_predictors,
    read_speech,
    read_style,
    takes_emotion,
    text_expression,
    torch_threads,
)
from avzoo.arkit import ARKIT_NAMES
from avzoo.emotions import INTENSITY_VALUES

logger = logging.getLogger(__name__)

#: Largest upload the server accepts, in bytes (50 MB): 60 s of audio is at most ~35 MB (96 kHz/24-bit stereo WAV).
MAX_FILE_SIZE = 50 * 1024 * 1024
#: Requests that may wait in the queue; more get "queue full" at once.
QUEUE_MAX_SIZE = 16
#: Requests run at the same time (``/animate`` and ``/compare`` together): one per core of a 2-core CPU server
#: (each runs torch single-threaded).
CONCURRENCY_LIMIT = 2
#: The concurrency group of ``/animate`` and ``/compare``.
CONCURRENCY_ID = "blendshape-animation"
#: gradio's cache sweep: every hour, delete cached uploads and outputs older than an hour.
DELETE_CACHE = (3600, 3600)
#: The plot's legend is one row: more channels than this get cut off, so the UI caps the choice.
MAX_PLOT_CHANNELS = 6
DEFAULT_EMOTION = "happy"
DEFAULT_INTENSITY = 0.8
#: The page's "Upper-face life" checkbox starts on (a demo's face should blink); :func:`animate` defaults to off.
DEFAULT_LIFE = True
EXAMPLE_TEXT = "Put the big map back on the table, and then we can find the way home."

TITLE = "Blendshape animation"
INTRO = (
    "Speech in, a talking face out. Upload or record up to 60 s of speech, pick an emotion (or type the "
    "sentence and let its words choose one) and how strongly to show it, and the model predicts the 52 ARKit "
    "blendshapes at 30 fps: a lipsync branch drives the jaw and lips from the audio, an expression branch adds "
    "the emotion to brows, eyes and cheeks. "
    "The face below is drawn from those 52 numbers alone; download them as a Live Link Face CSV "
    "(Unreal / MetaHuman) or JSON (three.js, Unity)."
)

# Scoped to the header by gradio (css_template), so the Space looks right without launch(css=...).
# Bold text avoids the theme font: gradio ships its SemiBold as a subset that lacks capitals such as "B".
HEADER_CSS = """
h1 { font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 2rem; font-weight: 700; margin: 4px 0 2px; letter-spacing: -0.01em; }
p { margin: 2px 0 6px; max-width: 100ch; line-height: 1.5; }
.ba-note { font-size: 0.9rem; opacity: 0.75; }
code { font-family: var(--font-mono); font-size: 0.85em; }
"""
#: Page CSS for ``launch(css=...)`` (the zoo adds it too); class names are prefixed to stay out of the way.
CSS = """
.ba-status { min-height: 1.6em; font-size: 0.95rem; }
.ba-voice-note { font-size: 0.9rem; border-left: 3px solid var(--color-accent); padding: 2px 0 2px 10px; }
.ba-emotion-control:has(input:disabled, textarea:disabled) { opacity: 0.5; }
#ba-animate, #ba-compare { font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
"""


def _user_error(message: str) -> gr.Error:
    # Plain text, not HTML-escaped: gradio_client hands the message over verbatim (escaping showed there as
    # &#x27; and &quot;), and the page passes it through its HTML sanitiser, so file names cannot inject markup.
    return gr.Error(message, title="Cannot animate this", print_exception=False)


def example_audio() -> Path | None:
    """A synthetic example sentence (espeak-ng), made once per machine under
    ``blendshape_request.OUTPUT_ROOT``; None if synthesis is unavailable."""
    path = blendshape_request.OUTPUT_ROOT / "examples" / "put-the-big-map-back.wav"
    if path.is_file():
        return path
    try:
        from avzoo.io.audio import save_audio
        from avzoo.synth.speech import synthesize

        utt = synthesize(EXAMPLE_TEXT, voice="en-us+m3")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{uuid.uuid4().hex}.wav")
        save_audio(tmp, utt.audio, utt.sampling_rate)
        tmp.replace(path)  # atomic: two workers never see half a file
        return path
    except Exception as e:  # an example is a nicety; the demo works without one
        logger.warning("could not synthesise the example clip: %r", e)
        return None


def _plot_update(curves: pd.DataFrame) -> Any:
    return gr.update(value=curves, x_lim=[0.0, float(curves["time"].max()) if len(curves) else 1.0])


def _clear_plot(track: Any) -> Any:
    # Gradio's plot rebuilds its chart when the axis range changes but may draw the old data into it, and keeps the
    # old channels in the legend when only the data changes; emptying the plot before new data arrives makes it
    # build a fresh chart from the new data.
    return gr.update() if track is None else None


def _replot(track: Any, channels: Any) -> Any:
    if track is None:
        return gr.update()
    blendshapes, fps = track
    try:
        return _plot_update(curves_frame(blendshapes, channels or [], fps))
    except ValueError as e:
        raise _user_error(str(e)) from None


def _voice_note(model: str, names: list[str], conditioned: list[str]) -> str:
    """What the page says under the emotion controls when ``model`` hears the emotion in the voice."""
    note = f"**{model}** {VOICE_NOTE}: Emotion, Intensity and the text do not apply to it."
    if len(names) > 1 and conditioned:
        note += f" *Compare both models* still gives them to {' and '.join(conditioned)}."
    return note


def _intro(names: list[str], models: Mapping[str, Predictor]) -> str:
    intro = INTRO
    hearing = [name for name in names if not takes_emotion(models[name])]
    if hearing:
        intro += f" {' and '.join(hearing)} {VOICE_NOTE} instead of taking one from the menu."
    if len(names) > 1:
        intro += f" Compare {' and '.join(names)} on the same audio, side by side."
    return intro


def _plot(title: str, height: int, elem_id: str) -> gr.LinePlot:
    return gr.LinePlot(
        x="time",
        y="value",
        color="channel",
        x_title="time (s)",
        y_title="blendshape value",
        y_lim=[0.0, 1.0],
        label=title,
        show_label=False,
        title=title,
        height=height,
        elem_id=elem_id,
    )


def build_ui(
    model_dir: str | os.PathLike | Mapping[str, str | os.PathLike | None] | None = None,
    *,
    predictors: Mapping[str, Predictor] | None = None,
    examples: bool = True,
) -> gr.Blocks:
    """The Space's Blocks (launch with ``css=CSS``). Events: ``/animate``, and ``/compare`` with two or more models.

    ``/animate`` takes (audio file, emotion, intensity, face seed, channels, model, performer style file or None,
    upper-face life, text or None) and returns (video, curves, Live Link CSV, JSON, summary); the last three inputs
    have defaults (no style; life on, :data:`DEFAULT_LIFE`; no text: the emotion applies), so a six-argument call
    still works. A text that is not blank replaces the emotion (see :func:`animate`). With a model that hears the
    emotion in the voice (koemorph) the emotion, intensity and text are not used.

    ``/compare`` takes the same inputs but the model (audio, emotion, intensity, seed, channels, style, life, text)
    and returns (video, curves, Live Link CSV, JSON, summary) per model, in the dropdown's order (:func:`compare`).

    ``model_dir`` is av-lipsync's checkpoint folder or a ``{model name: folder}`` mapping (default: the bundled
    ones; see :func:`load_predictors`); ``predictors`` replaces loading altogether. ``examples`` adds a synthetic
    example clip.
    """
    models = dict(predictors) if predictors is not None else load_predictors(model_dir)
    if not models:
        raise ValueError("build_ui needs at least one predictor")
    names = list(models)
    conditioned = [name for name in names if takes_emotion(models[name])]
    comparing = len(names) > 1

    def outputs_of(result: Animation) -> tuple:
        return (
            str(result.video),
            _plot_update(result.curves),
            str(result.livelink_csv),
            str(result.json),
            result.summary(),
        )

    # The defaults of style, life and text make them optional for gradio_client (gradio reads a None default from
    # the signature, and the checkbox's initial value), so calls with the first six inputs keep working.
    def run(
        audio,
        emotion,
        intensity,
        identity_seed,
        channels,
        model,
        style=None,
        life=DEFAULT_LIFE,
        text=None,
        progress=gr.Progress(),
    ):
        if model not in models:
            raise _user_error(f"unknown model {model!r}; choose one of {', '.join(names)}")
        progress(0.1, desc="Predicting blendshapes and rendering the face")
        takes = (
            model in conditioned
        )  # a model that hears the emotion gets none of the page's emotion settings
        try:
            result = animate(
                audio,
                emotion if takes else None,
                intensity if takes else None,
                predictor=models[model],
                model=model,
                identity_seed=identity_seed,
                channels=channels or [],
                style=style,
                life=bool(life),  # the page's checkbox: True is seed 0, so an upload always blinks the same
                text=text if takes else None,  # a blank box is no text: the emotion menu applies
            )
        except (ValueError, FileNotFoundError) as e:  # bad input; a missing text-vad checkpoint
            raise _user_error(str(e)) from None
        except Exception as e:  # the page shows a message, the log keeps the trace
            logger.exception("animation failed")
            raise _user_error(f"animation failed: {type(e).__name__}: {e}") from None
        return (*outputs_of(result), (result.blendshapes, result.fps))

    def run_compare(
        audio,
        emotion,
        intensity,
        identity_seed,
        channels,
        style=None,
        life=DEFAULT_LIFE,
        text=None,
        progress=gr.Progress(),
    ):
        progress(0.1, desc=f"Running {' and '.join(names)} and rendering their faces")
        try:
            results = compare(
                audio,
                emotion,
                intensity,
                predictors=models,
                identity_seed=identity_seed,
                channels=channels or [],
                style=style,
                life=bool(life),
                text=text,
            )
        except (ValueError, FileNotFoundError) as e:
            raise _user_error(str(e)) from None
        except Exception as e:
            logger.exception("comparison failed")
            raise _user_error(f"comparison failed: {type(e).__name__}: {e}") from None
        outputs = [value for name in names for value in outputs_of(results[name])]
        return (*outputs, {name: (r.blendshapes, r.fps) for name, r in results.items()})

    def on_model(model):
        hears = model in models and model not in conditioned
        note = _voice_note(model, names, conditioned) if hears else ""
        controls = [gr.update(interactive=not hears)] * 3
        return (*controls, gr.update(value=note, visible=hears))

    first_hears = names[0] not in conditioned
    with gr.Blocks(title=f"{TITLE} · avzoo", analytics_enabled=False, delete_cache=DELETE_CACHE) as demo:
        gr.HTML(
            f'<div class="ba-header"><h1>{html.escape(TITLE)}</h1><p>{html.escape(_intro(names, models))}</p>'
            f'<p class="ba-note">Clips of {MIN_SECONDS:g}–{MAX_SECONDS:g} s. The models learned from synthetic '
            "speech, so real voices move the mouth less precisely. A performer style from "
            "<code>avzoo calibrate</code> maps the output to one performer's face. Also callable with "
            '<code>gradio_client</code>: <code>api_name="/animate"</code>'
            + (' or <code>"/compare"</code>' if comparing else "")
            + ".</p></div>",
            css_template=HEADER_CSS,
            padding=False,
        )
        with gr.Row(equal_height=False):
            with gr.Column(scale=5, min_width=320):
                audio = gr.Audio(
                    sources=["upload", "microphone"],
                    type="filepath",
                    label=f"Speech (upload or record, up to {MAX_SECONDS:g} s)",
                    elem_id="ba-audio",
                )
                with gr.Row():
                    emotion = gr.Dropdown(
                        choices=[(e.capitalize(), e) for e in EMOTIONS],
                        value=DEFAULT_EMOTION,
                        label="Emotion",
                        interactive=not first_hears,
                        elem_classes="ba-emotion-control",
                        elem_id="ba-emotion",
                    )
                    intensity = gr.Slider(
                        0.0,
                        1.0,
                        value=DEFAULT_INTENSITY,
                        step=0.05,
                        label="Intensity",
                        info=" · ".join(f"{v:g} ≈ RAVDESS {w}" for w, v in INTENSITY_VALUES.items()),
                        interactive=not first_hears,
                        elem_classes="ba-emotion-control",
                        elem_id="ba-intensity",
                    )
                text = gr.Textbox(
                    label="Expression from this text",
                    placeholder="optional: the sentence being spoken; its emotion drives the face",
                    info="When filled in, the text's emotion (the text-vad model) replaces the Emotion menu; "
                    "Intensity still applies. Only emoji or punctuation: a neutral face.",
                    lines=2,
                    max_lines=6,
                    max_length=MAX_TEXT_CHARS,
                    interactive=not first_hears,
                    elem_classes="ba-emotion-control",
                    elem_id="ba-text",
                )
                voice_note = gr.Markdown(
                    _voice_note(names[0], names, conditioned) if first_hears else "",
                    visible=first_hears,
                    elem_classes="ba-voice-note",
                    elem_id="ba-voice-note",
                )
                with gr.Row():
                    model = gr.Dropdown(
                        choices=names,
                        value=names[0],
                        label="Model",
                        interactive=comparing,
                        elem_id="ba-model",
                    )
                    seed = gr.Number(
                        value=DEFAULT_SEED,
                        precision=0,
                        minimum=0,
                        maximum=MAX_SEED,
                        label="Face (identity seed)",
                        elem_id="ba-seed",
                    )
                channels = gr.Dropdown(
                    choices=list(ARKIT_NAMES),
                    value=list(DEFAULT_CHANNELS),
                    multiselect=True,
                    max_choices=MAX_PLOT_CHANNELS,
                    label=f"Channels to plot (up to {MAX_PLOT_CHANNELS})",
                    elem_id="ba-channels",
                )
                with gr.Row(equal_height=True):
                    style = gr.File(
                        file_count="single",
                        file_types=[".json"],
                        type="filepath",
                        label="Performer style (JSON from `avzoo calibrate`)",
                        height=110,
                        scale=3,
                        elem_id="ba-style",
                    )
                    life = gr.Checkbox(
                        value=DEFAULT_LIFE,
                        label="Upper-face life (blinks, brow raises)",
                        info="Timed by the speech's pauses and stresses; seed 0, so an upload blinks the same "
                        "each time.",
                        scale=2,
                        elem_id="ba-life",
                    )
                with gr.Row():
                    button = gr.Button("Animate", variant="primary", elem_id="ba-animate")
                    compare_button = gr.Button(
                        "Compare both models" if len(names) == 2 else f"Compare all {len(names)} models",
                        variant="secondary",
                        visible=comparing,
                        elem_id="ba-compare",
                    )
                example = example_audio() if examples else None
                if example is not None:
                    # The examples clear the text box, so their emotion is the one shown.
                    gr.Examples(
                        examples=[[str(example), "happy", 0.8, ""], [str(example), "angry", 1.0, ""]],
                        inputs=[audio, emotion, intensity, text],
                        label="Example (synthetic voice)",
                        cache_examples=False,
                    )
            with gr.Column(scale=7, min_width=360):
                with gr.Column(elem_id="ba-single") as single:
                    video = gr.Video(
                        label="Animated face (with the audio)",
                        height=340,
                        autoplay=True,
                        interactive=False,
                        elem_id="ba-video",
                    )
                    # Labelled so the API names this output "summary" (not value_<id>); the page hides the label.
                    status = gr.Markdown(
                        "", label="Summary", show_label=False, elem_classes="ba-status", elem_id="ba-status"
                    )
                    plot = _plot("Blendshape curves (30 fps)", 320, "ba-curves")
                    with gr.Row():
                        csv_file = gr.File(label="Live Link Face CSV (60 fps)", elem_id="ba-csv")
                        json_file = gr.File(label="Blendshapes JSON (30 fps)", elem_id="ba-json")
                # The comparison replaces the single view: the faces and summaries side by side, in the dropdown's
                # order; the curves one above the other, at the full width (their time axes line up, and at half
                # width the plot's one-row legend cut channels off); each model's downloads under its face's column.
                side_videos, side_status, side_plots, side_csv, side_json = {}, {}, {}, {}, {}
                with gr.Column(visible=False, elem_id="ba-comparison") as pair:
                    with gr.Row(equal_height=False):
                        for i, name in enumerate(names):
                            with gr.Column(min_width=240):
                                side_videos[name] = gr.Video(
                                    label=f"{name}: animated face",
                                    height=300,
                                    autoplay=True,
                                    interactive=False,
                                    elem_id=f"ba-video-{i}",
                                )
                                side_status[name] = gr.Markdown(
                                    "",
                                    label=f"{name}: summary",
                                    show_label=False,
                                    elem_classes="ba-status",
                                    elem_id=f"ba-status-{i}",
                                )
                    for i, name in enumerate(names):
                        side_plots[name] = _plot(f"{name}: blendshape curves (30 fps)", 260, f"ba-curves-{i}")
                    with gr.Row(equal_height=False):
                        for i, name in enumerate(names):
                            with gr.Column(min_width=240):
                                side_csv[name] = gr.File(
                                    label=f"{name}: Live Link Face CSV (60 fps)", elem_id=f"ba-csv-{i}"
                                )
                                side_json[name] = gr.File(
                                    label=f"{name}: Blendshapes JSON (30 fps)", elem_id=f"ba-json-{i}"
                                )
        track = gr.State(None)
        tracks = gr.State(None)  # the comparison's {model: (blendshapes, fps)}
        # per model, in the order of /animate's outputs
        side_outputs = [
            component
            for name in names
            for component in (
                side_videos[name],
                side_plots[name],
                side_csv[name],
                side_json[name],
                side_status[name],
            )
        ]
        pair_plots = [side_plots[name] for name in names]

        def show_single(track):
            return gr.update(visible=True), gr.update(visible=False), _clear_plot(track)

        def show_pair(tracks):
            return (gr.update(visible=False), gr.update(visible=True), *[_clear_plot(tracks)] * len(names))

        button.click(
            show_single, track, [single, pair, plot], api_visibility="private", show_progress="hidden"
        ).then(
            run,
            inputs=[audio, emotion, intensity, seed, channels, model, style, life, text],
            outputs=[video, plot, csv_file, json_file, status, track],
            api_name="animate",
            concurrency_limit=CONCURRENCY_LIMIT,
            concurrency_id=CONCURRENCY_ID,
        )
        if comparing:
            compare_button.click(
                show_pair,
                tracks,
                [single, pair, *pair_plots],
                api_visibility="private",
                show_progress="hidden",
            ).then(
                run_compare,
                inputs=[audio, emotion, intensity, seed, channels, style, life, text],
                outputs=[*side_outputs, tracks],
                api_name="compare",
                concurrency_limit=CONCURRENCY_LIMIT,
                concurrency_id=CONCURRENCY_ID,
            )
        model.change(
            on_model,
            model,
            [emotion, intensity, text, voice_note],
            api_visibility="private",
            show_progress="hidden",
        )

        def clear_plots(track, tracks):
            return (_clear_plot(track), *[_clear_plot(tracks)] * len(names))

        def replot(track, tracks, channels):
            pairs = [_replot(None if tracks is None else tracks[name], channels) for name in names]
            return (_replot(track, channels), *pairs)

        channels.change(
            clear_plots,
            [track, tracks],
            [plot, *pair_plots],
            api_visibility="private",
            show_progress="hidden",
        ).then(
            replot,
            [track, tracks, channels],
            [plot, *pair_plots],
            api_visibility="private",
            show_progress="hidden",
        )
    # The Space's queue (app.py launches this Blocks); under `avzoo serve` the zoo's queue applies instead.
    demo.queue(max_size=QUEUE_MAX_SIZE, default_concurrency_limit=CONCURRENCY_LIMIT)
    return demo


def launch(model_dir: str | os.PathLike | None = None, **launch_kwargs) -> gr.Blocks:
    """Build the UI and launch it with the Space's CSS, errors shown and uploads capped at
    :data:`MAX_FILE_SIZE` (the queue settings come with :func:`build_ui`); ``launch_kwargs`` override them."""
    demo = build_ui(model_dir)
    launch_kwargs.setdefault("show_error", True)
    launch_kwargs.setdefault("css", CSS)
    launch_kwargs.setdefault("max_file_size", MAX_FILE_SIZE)
    demo.launch(**launch_kwargs)
    return demo


__all__ = [
    "CONCURRENCY_ID",
    "CONCURRENCY_LIMIT",
    "CSS",
    "CSV_FPS",
    "DEFAULT_CHANNELS",
    "DEFAULT_EMOTION",
    "DEFAULT_INTENSITY",
    "DEFAULT_LIFE",
    "DEFAULT_MODEL_DIRS",
    "DEFAULT_SEED",
    "DELETE_CACHE",
    "EMOTIONS",
    "EXAMPLE_TEXT",
    "HEADER_CSS",
    "INTRO",
    "MAX_FILE_SIZE",
    "MAX_PLOT_CHANNELS",
    "MAX_SECONDS",
    "MAX_SEED",
    "MAX_TEXT_CHARS",
    "MIN_SECONDS",
    "OUTPUT_MAX_AGE_S",
    "OUTPUT_ROOT",
    "QUEUE_MAX_SIZE",
    "SPACE",
    "TEXT_MODEL_DIR",
    "TITLE",
    "VIDEO_SIZE",
    "VOICE_NOTE",
    "Animation",
    "PipelinePredictor",
    "Predictor",
    "animate",
    "build_ui",
    "check_channels",
    "check_emotion",
    "check_intensity",
    "check_life",
    "check_seed",
    "check_text",
    "compare",
    "curves_frame",
    "example_audio",
    "launch",
    "load_predictors",
    "read_speech",
    "read_style",
    "takes_emotion",
    "text_expression",
    "torch_threads",
]
