"""The attention-maps Space: a sentence and its speech → text-audio-emotion's 7 emotions and where each modality
looked in the other (text→audio and audio→text cross-attention maps over the words and the audio time).

Two modules:

* :mod:`avzoo.apps.attention_request` is the request without any UI (no gradio): the voices, synthesis,
  :func:`~avzoo.apps.attention_request.analyse` (a sentence and speech in, an ``Analysis`` out) and the figures.
* This module is the page: :func:`build_ui` wraps the request in a ``gr.Blocks`` whose event ``/analyse`` is also
  callable with ``gradio_client``; the Space's ``app.py`` launches it, and ``avzoo serve`` shows it as a tab once
  the checkpoint is bundled (``avzoo/pretrained/text-audio-emotion/``).

The speech is synthesised (the sentence in a chosen tone by one of the corpus' held-out voices) or uploaded /
recorded; without speech the model reads the text alone, and without words it listens to the audio alone (the
summary says which). Changing the layer, the head or the spectrogram switch redraws the maps of the last result
without running the model again.

Server settings as the blendshape-animation Space's, for a 2-core CPU server: uploads up to :data:`MAX_FILE_SIZE`,
:data:`QUEUE_MAX_SIZE` waiting requests, :data:`CONCURRENCY_LIMIT` at a time, gradio's cache swept hourly
(:data:`DELETE_CACHE`). Errors reach the page and ``gradio_client`` as plain text (``gr.Error``), never a trace,
and never a server path.
"""

from __future__ import annotations

import html
import logging
from typing import Any

import gradio as gr
import numpy as np
import pandas as pd

from avzoo.apps import attention_request as request
from avzoo.apps.attention_request import (
    DEFAULT_TONE,
    MAX_TEXT_CHARS,
    MAX_UPLOAD_SECONDS,
    MEAN,
    SPACE,
    TONES,
    Analysis,
)
from avzoo.io.audio import DEFAULT_SAMPLING_RATE

logger = logging.getLogger(__name__)

#: Largest upload the server accepts, in bytes (50 MB).
MAX_FILE_SIZE = 50 * 1024 * 1024
#: Requests that may wait in the queue; more get "queue full" at once.
QUEUE_MAX_SIZE = 16
#: Requests of ``/analyse`` run at the same time: one per core of a 2-core server (torch runs single-threaded).
CONCURRENCY_LIMIT = 2
CONCURRENCY_ID = SPACE
#: gradio's cache sweep: every hour, delete cached uploads and outputs older than an hour.
DELETE_CACHE = (3600, 3600)
#: The speech choices, as ``(label, value)``; the value is what ``/analyse`` takes.
SYNTHESISE, UPLOAD = "synthesise", "upload"
SOURCES = (("Synthesise the sentence", SYNTHESISE), ("Upload or record", UPLOAD))
EXAMPLE_TEXT = "I can't believe you did that to me!"
EXAMPLES = (
    (EXAMPLE_TEXT, "angry", "en-029+Henrique"),
    ("We won the final, this is the best day of my life!", "sad", "slt"),
    ("The train leaves at half past nine from platform two.", "happy", "rms"),
)

TITLE = "Attention maps"
INTRO = (
    "What is said and how it is said. Type a sentence, let a synthetic voice speak it in an emotional tone (or "
    "upload or record the speech), and text-audio-emotion answers with one of 7 emotions, from both. Its two "
    "cross-attention maps show where each word looked in the speech (text → audio) and which words each moment of "
    "speech looked at (audio → text), on the same time axis as the waveform."
)

HEADER_CSS = """
h1 { font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 2rem; font-weight: 700; margin: 4px 0 2px; letter-spacing: -0.01em; }
p { margin: 2px 0 6px; max-width: 110ch; line-height: 1.5; }
.am-note { font-size: 0.9rem; opacity: 0.75; }
code { font-family: var(--font-mono); font-size: 0.85em; }
"""
#: Page CSS for ``launch(css=...)`` (the zoo adds it too); class names are prefixed to stay out of the way.
CSS = """
.am-summary { min-height: 1.6em; font-size: 0.95rem; }
#am-t2a img, #am-a2t img { width: 100%; height: auto; }
#am-analyse { font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
"""


def _user_error(message: str) -> gr.Error:
    # Plain text: gradio_client hands it over verbatim and the page sanitises it.
    return gr.Error(message, title="Cannot analyse this", print_exception=False)


def _heard(analysis: Analysis) -> tuple[int, np.ndarray] | None:
    audio = analysis.heard
    if audio is None:
        return None
    return DEFAULT_SAMPLING_RATE, (np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16)


def _choices(count: int, what: str) -> list[tuple[str, str]]:
    """``MEAN`` first (also with one layer or head, so ``/analyse`` takes ``"mean"`` from every model), then each."""
    mean = (f"Mean of the {count} {what}s" if count > 1 else f"Its one {what}", MEAN)
    return [mean] + [(f"{what.capitalize()} {i}", str(i)) for i in range(1, count + 1)]


def build_ui(model: Any = None, *, examples: bool = True) -> gr.Blocks:
    """The Space's Blocks (launch with ``css=CSS``). Event ``/analyse``.

    ``/analyse`` takes (sentence, speech source ``"synthesise"`` or ``"upload"``, audio file or None, tone, voice,
    layer, head, spectrogram) and returns (emotion probabilities, summary, the speech the model heard, the
    text→audio figure, the audio→text figure, the per-word table); all but the sentence have defaults
    (synthesis in :data:`DEFAULT_TONE` with the first voice, the mean of layers and heads, a spectrogram).

    ``model``: a checkpoint folder or Hub id, or a loaded ``"text-audio-emotion-classification"`` pipeline
    (default :func:`~avzoo.pipelines.text_audio_emotion.bundled_model`). ``examples`` adds example sentences.
    """
    classifier = request.load_classifier(request.bundled_model() if model is None else model)
    layers, heads, fusion = request.model_shape(classifier)
    has_maps = fusion != "concat"
    voice_table = request.voices()
    first_voice = next(iter(voice_table))
    max_audio = float(classifier.processor.max_audio_seconds)

    def run(
        text,
        source=SYNTHESISE,
        audio=None,
        tone=DEFAULT_TONE,
        voice=first_voice,
        layer=MEAN,
        head=MEAN,
        spectrogram=True,
        progress=gr.Progress(),
    ):
        if source not in (SYNTHESISE, UPLOAD):
            raise _user_error(f"unknown speech source {source!r}; choose {SYNTHESISE!r} or {UPLOAD!r}")
        progress(0.1, desc="Synthesising and analysing" if source == SYNTHESISE else "Analysing")
        try:
            if source == SYNTHESISE:
                analysis = request.analyse(text, tone=tone, voice=voice, classifier=classifier)
            else:
                analysis = request.analyse(text, audio, classifier=classifier)
            t2a, a2t = analysis.figures(layer, head, spectrogram=bool(spectrogram))
        except ValueError as e:
            raise _user_error(str(e)) from None
        except Exception as e:  # the page shows a message, the log keeps the trace
            logger.exception("analysis failed")
            raise _user_error(f"analysis failed: {type(e).__name__}: {e}") from None
        return (
            analysis.scores,
            analysis.summary(),
            _heard(analysis),
            t2a,
            a2t,
            analysis.table(),
            analysis,
        )

    def replot(analysis, layer, head, spectrogram):
        if analysis is None:
            return gr.update(), gr.update()
        try:
            return analysis.figures(layer, head, spectrogram=bool(spectrogram))
        except ValueError as e:
            raise _user_error(str(e)) from None

    def on_source(source):
        synth = source == SYNTHESISE
        return gr.update(visible=synth), gr.update(visible=not synth)

    with gr.Blocks(title=f"{TITLE} · avzoo", analytics_enabled=False, delete_cache=DELETE_CACHE) as demo:
        gr.HTML(
            f'<div class="am-header"><h1>{html.escape(TITLE)}</h1><p>{html.escape(INTRO)}</p>'
            f'<p class="am-note">The model hears the first {max_audio:g} s of speech (uploads up to '
            f"{MAX_UPLOAD_SECONDS:g} s). It learned from synthetic voices, so real ones are read less "
            "reliably; words and tone may disagree on purpose: try a happy sentence in a sad voice. Also "
            'callable with <code>gradio_client</code>: <code>api_name="/analyse"</code>.</p></div>',
            css_template=HEADER_CSS,
            padding=False,
        )
        with gr.Row(equal_height=False):
            with gr.Column(scale=5, min_width=320):
                text = gr.Textbox(
                    label="Sentence",
                    placeholder="what is said, e.g. " + EXAMPLE_TEXT,
                    lines=2,
                    max_lines=6,
                    max_length=MAX_TEXT_CHARS,
                    elem_id="am-text",
                )
                source = gr.Radio(
                    choices=list(SOURCES),
                    value=SYNTHESISE,
                    label="Speech",
                    info="how it is said: a corpus voice speaks the sentence, or your own audio",
                    elem_id="am-source",
                )
                with gr.Row(visible=True, elem_id="am-synth") as synth_row:
                    tone = gr.Dropdown(
                        choices=[(t.capitalize(), t) for t in TONES],
                        value=DEFAULT_TONE,
                        label="Tone of voice",
                        scale=2,
                        min_width=120,
                        elem_id="am-tone",
                    )
                    voice = gr.Dropdown(
                        choices=[(v.label, key) for key, v in voice_table.items()],
                        value=first_voice,
                        label="Voice (held-out corpus speakers)",
                        scale=3,
                        elem_id="am-voice",
                    )
                audio = gr.Audio(
                    sources=["upload", "microphone"],
                    type="filepath",
                    label=f"Speech (upload or record; the model hears the first {max_audio:g} s)",
                    visible=False,
                    elem_id="am-audio",
                )
                button = gr.Button("Analyse", variant="primary", elem_id="am-analyse")
                if examples:
                    rows = [(s, t, v) for s, t, v in EXAMPLES if v in voice_table]
                    # Labels, not a table: four columns of a narrow column cut the voices' names off.
                    gr.Examples(
                        examples=[[s, SYNTHESISE, t, v] for s, t, v in rows],
                        inputs=[text, source, tone, voice],
                        example_labels=[
                            f"{t.capitalize()}, {voice_table[v].name}: “{s}”" for s, t, v in rows
                        ],
                        label="Examples (synthesised)",
                        cache_examples=False,
                    )
            with gr.Column(scale=7, min_width=360):
                label = gr.Label(num_top_classes=7, label="Emotion (7 MELD classes)", elem_id="am-label")
                # Labelled so the API names this output "summary"; the page hides the label.
                summary = gr.Markdown(
                    "", label="Summary", show_label=False, elem_classes="am-summary", elem_id="am-summary"
                )
                heard = gr.Audio(
                    label="Speech the model heard",
                    type="numpy",
                    interactive=False,
                    elem_id="am-heard",
                )
        with gr.Row(equal_height=True):
            layer = gr.Dropdown(
                choices=_choices(layers, "layer"),
                value=MEAN,
                label="Cross-attention layer",
                interactive=has_maps and layers > 1,
                elem_id="am-layer",
            )
            head = gr.Dropdown(
                choices=_choices(heads, "head"),
                value=MEAN,
                label="Head",
                interactive=has_maps and heads > 1,
                elem_id="am-head",
            )
            spectrogram = gr.Checkbox(
                value=True, label="Log-mel spectrogram under the maps", elem_id="am-spectrogram"
            )
        # The figures carry their own titles; a shown label would sit on top of them.
        t2a = gr.Plot(label="Text → audio attention", show_label=False, format="png", elem_id="am-t2a")
        a2t = gr.Plot(label="Audio → text attention", show_label=False, format="png", elem_id="am-a2t")
        table = gr.Dataframe(
            value=pd.DataFrame(columns=["word", "attends from (s)", "to (s)", "peak attention"]),
            label="Where each word's attention peaks in the speech (last layer, mean of heads)",
            interactive=False,
            wrap=True,
            max_height=420,
            elem_id="am-spans",
        )
        state = gr.State(None)

        source.change(on_source, source, [synth_row, audio], api_visibility="private", show_progress="hidden")
        button.click(
            run,
            inputs=[text, source, audio, tone, voice, layer, head, spectrogram],
            outputs=[label, summary, heard, t2a, a2t, table, state],
            api_name="analyse",
            concurrency_limit=CONCURRENCY_LIMIT,
            concurrency_id=CONCURRENCY_ID,
        )
        for control in (layer, head, spectrogram):
            control.change(
                replot,
                [state, layer, head, spectrogram],
                [t2a, a2t],
                api_visibility="private",
                show_progress="minimal",
            )
    demo.queue(max_size=QUEUE_MAX_SIZE, default_concurrency_limit=CONCURRENCY_LIMIT)
    return demo


def launch(model: Any = None, **launch_kwargs) -> gr.Blocks:
    """Build the UI and launch it with the Space's CSS, errors shown and uploads capped at :data:`MAX_FILE_SIZE`;
    ``launch_kwargs`` override them."""
    demo = build_ui(model)
    launch_kwargs.setdefault("show_error", True)
    launch_kwargs.setdefault("css", CSS)
    launch_kwargs.setdefault("max_file_size", MAX_FILE_SIZE)
    demo.launch(**launch_kwargs)
    return demo


__all__ = [
    "CONCURRENCY_ID",
    "CONCURRENCY_LIMIT",
    "CSS",
    "DELETE_CACHE",
    "EXAMPLES",
    "HEADER_CSS",
    "INTRO",
    "MAX_FILE_SIZE",
    "QUEUE_MAX_SIZE",
    "SOURCES",
    "SYNTHESISE",
    "TITLE",
    "UPLOAD",
    "build_ui",
    "launch",
]
