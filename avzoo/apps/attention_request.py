"""The attention-maps request without UI: a sentence and its speech → text-audio-emotion's 7 emotion probabilities
and its two cross-modal attention maps, drawn as figures over the words and the audio time.

The Gradio page around it is :mod:`avzoo.apps.attention_maps`; this module imports no gradio. Bad input is a
``ValueError`` whose message names the problem and never a server path.

**The speech** comes one of two ways:

* **given** (``audio=``): a file path (an upload or a recording; any format :func:`avzoo.io.audio.load_audio`
  reads), a ``(rate, array)`` pair as gradio's ``type="numpy"`` audio gives it, or an ``(array, rate)`` pair.
  ``None`` is no speech: the model answers from the text alone.
* **synthesised** (``tone=``): the sentence spoken by one of the synthetic corpus voices (:data:`VOICES`, test
  speakers of :func:`avzoo.synth.speakers.make_speakers`, so voices the model never trained on) with the prosody
  of a RAVDESS emotion (:data:`TONES`) at strong intensity, as :mod:`avzoo.synth.emotion_speech` builds its rows;
  the voice's speaker metadata (gender, age group, pitch band) goes to the model as it did in training, and the
  synthesiser's word timings are kept (:attr:`Analysis.spoken_words`), so the page can show where each word was
  actually said next to where the model looked for it.

**The rules are the processor's** (:class:`~avzoo.models.text_audio_emotion.TextAudioEmotionProcessor`), not
repeated here: a text without words or audio without speech (below its ``min_speech_peak``) marks that modality
missing and the model answers from the other one (:attr:`Analysis.modalities` says which); neither is a
``ValueError``; a text past ``max_text_length`` tokens and speech past ``max_audio_seconds`` are truncated and
reported; unreadable, NaN, clipped or too-short audio is :func:`~avzoo.io.audio.load_audio`'s ``ValueError``.
This module adds server limits only: an upload longer than :data:`MAX_UPLOAD_SECONDS` is refused from its header
before it is decoded, a text longer than :data:`MAX_TEXT_CHARS` characters is refused, and synthesis takes at most
:data:`MAX_SYNTH_CHARS` characters (about the 20 s the model hears).

**The maps** are the processor's :meth:`~TextAudioEmotionProcessor.attention_maps`: ``text_to_audio`` (layers,
heads, tokens, frames) and ``audio_to_text`` (layers, heads, frames, tokens). :func:`word_maps` reads one layer and
one head (or their mean) and merges word pieces into the processor's ``words`` (a text→audio row is the mean of
its pieces' rows, so it still sums to 1 over the audio; an audio→text column is the sum of its pieces' columns,
the word's share of that frame's attention; the share on ``[CLS]``/``[SEP]`` is reported, not drawn).
:func:`attention_figures` draws both as matplotlib figures with the words on the y axis and the audio time in
seconds on the x axis, the waveform (with the spoken words, for synthesised speech) and optionally a log-mel
spectrogram under each map on the same time axis. :meth:`Analysis.table` is the processor's ``word_spans``: per
word, the audio span its last-layer, head-mean text→audio attention peaks on.
"""

from __future__ import annotations

import os
import re
import threading
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from avzoo.apps.blendshape_request import _hide_upload_path, torch_threads
from avzoo.emotions import to_meld
from avzoo.io.audio import DEFAULT_SAMPLING_RATE, load_audio
from avzoo.models.text_audio_emotion.processing_text_audio_emotion import has_words
from avzoo.pipelines.text_audio_emotion import TASK, bundled_model
from avzoo.synth.emotion_speech import VOICE_EMOTIONS, pitch_band, voice_metadata

#: The Space this module serves.
SPACE = "attention-maps"
#: The emotions a synthesised voice can take (RAVDESS names; ``calm`` has no MELD class and is left out).
TONES: tuple[str, ...] = VOICE_EMOTIONS
#: The voice tone of the page's first run.
DEFAULT_TONE = "angry"
#: The synthetic speakers offered: ``make_speakers({"test": VOICE_SPEAKERS}, seed=VOICE_SEED)["test"]`` at these
#: indices (test speakers: held-out voices). Two flite voices (female, male) and two espeak-ng ones.
VOICE_SEED = 0
VOICE_SPEAKERS = 8
VOICE_PICKS: tuple[int, ...] = (0, 1, 3, 7)
#: Longest upload accepted (seconds), checked from the file's header before decoding; the model hears the first
#: ``max_audio_seconds`` (20 s by default) of what is accepted, and the summary says so.
MAX_UPLOAD_SECONDS = 120.0
#: Longest text accepted (characters); the model reads its first ``max_text_length`` tokens.
MAX_TEXT_CHARS = 2000
#: Longest text synthesised (characters): about 20 s of speech, what the model hears.
MAX_SYNTH_CHARS = 300
#: The layer or head choice that averages them.
MEAN = "mean"
#: Frames per second of the spectrogram strip.
SPECTROGRAM_FPS = 100
#: The figures are 11 in wide: 1320 px at this resolution, a little more than the page's width on a laptop.
FIGURE_DPI = 120


# --- the model --------------------------------------------------------------------------------------------------

_CLASSIFIERS: dict[str, Any] = {}
_CLASSIFIERS_LOCK = threading.Lock()


def load_classifier(model: Any = None) -> Any:
    """The ``"text-audio-emotion-classification"`` pipeline of ``model``: a checkpoint folder or Hub id (default
    :func:`bundled_model`, read at call time), loaded once per process in float32; a loaded pipeline is returned
    as it is."""
    if model is not None and not isinstance(model, (str, os.PathLike)):
        if not hasattr(model, "processor") or not hasattr(model, "model"):
            raise ValueError(
                f"model must be a checkpoint folder, a Hub id or a {TASK} pipeline, got {model!r}"
            )
        return model
    key = str(bundled_model() if model is None else model)
    with _CLASSIFIERS_LOCK:
        if key not in _CLASSIFIERS:
            import torch
            from transformers import pipeline

            from avzoo.families import register

            register()  # the Auto classes and the task (idempotent)

            _CLASSIFIERS[key] = pipeline(
                TASK, model=key, dtype=torch.float32, model_kwargs={"use_safetensors": True}
            )
        return _CLASSIFIERS[key]


def model_shape(classifier: Any) -> tuple[int, int, str]:
    """``(cross-attention layers, heads, fusion)`` of a classifier's model."""
    config = classifier.model.config
    return int(config.num_cross_layers), int(config.num_attention_heads), str(config.fusion)


# --- the voices -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Voice:
    """A synthetic corpus speaker offered by the page; ``key`` is its engine voice name (``"slt"``,
    ``"en-029+Henrique"``), what the API takes; ``name`` the short one (``"Henrique"``)."""

    key: str
    name: str
    label: str
    speaker: Any = field(repr=False, compare=False)
    gender: str = "unknown"
    age_group: str = "unknown"
    pitch_band: str = "unknown"

    @property
    def metadata(self) -> dict[str, str]:
        """What the model's metadata embeddings take for this voice, as the training rows had it."""
        return {"gender": self.gender, "age_group": self.age_group, "pitch_band": self.pitch_band}


@lru_cache(maxsize=1)
def voices() -> dict[str, Voice]:
    """The offered voices, ``{key: Voice}`` in :data:`VOICE_PICKS` order."""
    from avzoo.synth.speakers import make_speakers

    speakers = make_speakers({"test": VOICE_SPEAKERS}, seed=VOICE_SEED)["test"]
    out: dict[str, Voice] = {}
    for i in VOICE_PICKS:
        s = speakers[i]
        gender, age_group = voice_metadata(s.engine, s.voice)
        band = pitch_band(s.pitch)
        name = s.voice.split("+")[-1]
        who = gender if gender != "unknown" else "voice"
        label = f"{name} · {who}, {band} pitch"
        out[s.voice] = Voice(s.voice, name, label, s, gender, age_group, band)
    return out


def default_voice() -> str:
    return next(iter(voices()))


def check_tone(tone: Any) -> str:
    key = tone.strip().lower() if isinstance(tone, str) else tone
    if key not in TONES:
        raise ValueError(f"unknown tone {tone!r}; choose one of {', '.join(TONES)}")
    return key


def check_voice(voice: Any) -> Voice:
    table = voices()
    if voice is None:
        return table[default_voice()]
    if voice not in table:
        raise ValueError(f"unknown voice {voice!r}; choose one of {', '.join(table)}")
    return table[voice]


def check_text(text: Any) -> str | None:
    """``None`` or a string of at most :data:`MAX_TEXT_CHARS` characters (words or not: that is the processor's
    rule)."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise ValueError(f"text must be a string, got {type(text).__name__}")
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(
            f"the sentence is {len(text)} characters long; at most {MAX_TEXT_CHARS} are accepted"
        )
    return text


@dataclass(frozen=True)
class Speech:
    """Audio for the model: 16 kHz mono float32, and where it came from."""

    audio: np.ndarray
    source: str  # "upload" or "synthesised"
    name: str = ""  # the upload's file name
    voice: Voice | None = None
    tone: str | None = None
    #: synthesised speech: ``[(word, start, end)]`` in seconds, as the synthesiser spoke them
    words: list[tuple[str, float, float]] | None = None

    @property
    def seconds(self) -> float:
        return len(self.audio) / DEFAULT_SAMPLING_RATE


def synthesise(text: str, tone: str = DEFAULT_TONE, voice: str | None = None) -> Speech:
    """``text`` spoken by ``voice`` (a key of :func:`voices`; default the first) with the prosody of ``tone`` (one
    of :data:`TONES`) at strong intensity."""
    from avzoo.synth.speech import synthesize

    tone = check_tone(tone)
    chosen = check_voice(voice)
    text = check_text(text)
    if not has_words(text):
        raise ValueError("type a sentence to synthesise: the text has no words to speak")
    if len(text) > MAX_SYNTH_CHARS:
        raise ValueError(
            f"the sentence is {len(text)} characters long; synthesis takes at most {MAX_SYNTH_CHARS} "
            "(about the 20 s the model hears). Shorten it, or upload the speech instead"
        )
    speaker = chosen.speaker
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # flite's rms voice ignores pitch_range: known
        utt = synthesize(text, speaker.engine, speaker.voice, speaker.prosody(tone, "strong"))
    audio = np.asarray(utt.audio, dtype=np.float32)
    if utt.sampling_rate != DEFAULT_SAMPLING_RATE:
        audio = load_audio((audio, utt.sampling_rate), DEFAULT_SAMPLING_RATE, allow_silence=True)
    words = [(w.text, float(w.start), float(w.end)) for w in utt.words]
    return Speech(audio, "synthesised", voice=chosen, tone=tone, words=words)


def read_audio(audio: Any, max_seconds: float = MAX_UPLOAD_SECONDS) -> Speech | None:
    """Given speech as 16 kHz mono float32 (None for None): a file path, gradio's ``(rate, array)`` or an
    ``(array, rate)`` pair. The checks are :func:`~avzoo.io.audio.load_audio`'s, as the processor runs them
    (silence passes: the processor decides what is speech), plus ``max_seconds`` from the file's header."""
    if audio is None:
        return None
    name = "audio"
    source: Any = audio
    if isinstance(audio, (str, os.PathLike)):
        name = f"audio file {Path(audio).name!r}"
    elif isinstance(audio, Mapping) and "path" in audio:  # a gradio FileData dict
        source = audio["path"]
        name = f"audio file {Path(str(audio.get('orig_name') or source)).name!r}"
    elif isinstance(audio, (tuple, list)) and len(audio) == 2 and np.isscalar(audio[0]):
        source = (audio[1], audio[0])  # gradio's (rate, array)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # light clipping is fine for a demo
            wave = load_audio(source, DEFAULT_SAMPLING_RATE, max_seconds=max_seconds, allow_silence=True)
    except ValueError as e:
        message = str(e)
        if isinstance(source, (str, os.PathLike)):  # the user never saw the server's upload path
            message = _hide_upload_path(message, source, name)
        raise ValueError(message) from None
    return Speech(wave, "upload", name=name if name != "audio" else "")


# --- the request ------------------------------------------------------------------------------------------------


@dataclass
class Analysis:
    """One request's result: the processor's ``post_process_emotion`` with its attention maps, and the input."""

    label: str
    scores: dict[str, float]
    modalities: list[str]
    attentions: dict[str, Any]
    text: str | None
    speech: Speech | None
    text_truncated: bool = False
    audio_truncated: bool = False
    max_audio_seconds: float = 20.0
    min_speech_peak: float = 0.0
    layers: int = 1
    heads: int = 1
    fusion: str = "bidirectional"
    seconds: float = 0.0
    #: per processor word: the synthesiser's (start, end) of that word, or None (no synthesis, or no match)
    spoken: list[tuple[float, float] | None] = field(default_factory=list)

    @property
    def words(self) -> list[str]:
        return [w for w, _, _ in self.attentions.get("words", [])]

    @property
    def heard(self) -> np.ndarray | None:
        """The speech the model heard (its first ``max_audio_seconds``), None when it heard none."""
        if self.speech is None or "audio" not in self.modalities:
            return None
        return self.speech.audio[: round(self.max_audio_seconds * DEFAULT_SAMPLING_RATE)]

    @property
    def both(self) -> bool:
        return "text" in self.modalities and "audio" in self.modalities

    def summary(self) -> str:
        """Markdown: the emotion, the modalities used and why, the speech, the truncations."""
        modalities = " + ".join(self.modalities)
        lines = [f"**{self.label}** ({self.scores[self.label]:.0%}) from **{modalities}**"]
        speech = self.speech
        if speech is not None and speech.source == "synthesised":
            assert speech.voice is not None and speech.tone is not None
            lines.append(
                f"Synthesised speech: voice *{speech.voice.label}*, tone **{speech.tone}** (strong; MELD "
                f"{to_meld(speech.tone)}), {speech.seconds:.2f} s."
            )
        elif speech is not None:
            lines.append(
                f"Uploaded speech{': ' + speech.name if speech.name else ''}, {speech.seconds:.2f} s."
            )
        if "text" not in self.modalities:
            why = "no sentence was given" if not (self.text or "").strip() else "the sentence has no words"
            lines.append(f"Audio only: {why}.")
        if "audio" not in self.modalities:
            why = (
                "no audio was given"
                if speech is None
                else f"the audio has no speech (its peak is below {self.min_speech_peak:g})"
            )
            lines.append(f"Text only: {why}.")
        if self.text_truncated:
            lines.append("The sentence was cut to the tokens the model reads.")
        if self.audio_truncated:
            lines.append(f"The model heard the first {self.max_audio_seconds:g} s of the speech only.")
        if self.fusion != "bidirectional":
            lines.append(f"This model's fusion is *{self.fusion}*: only the maps it has are drawn.")
        lines.append(f"Analysed in {self.seconds:.1f} s.")
        return "  \n".join(lines)

    def table(self) -> pd.DataFrame:
        """The processor's ``word_spans``: per word, the audio span (s) its last-layer, head-mean text→audio
        attention peaks on, with the peak; for synthesised speech, where the word was actually spoken."""
        rows = []
        spans = self.attentions.get("word_spans") or []
        for i, span in enumerate(spans):
            row = {
                "word": span["word"],
                "attends from (s)": span["start"],
                "to (s)": span["end"],
                "peak attention": round(float(span["peak"]), 4),
            }
            if self.speech is not None and self.speech.words is not None:
                said = self.spoken[i] if i < len(self.spoken) else None
                row["spoken (s)"] = "" if said is None else f"{said[0]:.2f}–{said[1]:.2f}"
            rows.append(row)
        columns = ["word", "attends from (s)", "to (s)", "peak attention"]
        if self.speech is not None and self.speech.words is not None:
            columns.append("spoken (s)")
        return pd.DataFrame(rows, columns=columns)

    def figures(self, layer: Any = MEAN, head: Any = MEAN, spectrogram: bool = True) -> tuple[Any, Any]:
        """The text→audio and audio→text figures for ``layer`` and ``head`` (see :func:`attention_figures`)."""
        return attention_figures(self, layer, head, spectrogram=spectrogram)


def _describe_nothing(text: str | None, speech: Speech | None) -> str:
    said = "no sentence was given" if not (text or "").strip() else "the sentence has no words"
    heard = "no audio was given" if speech is None else "the audio has no speech (it is silent)"
    return f"nothing to analyse: {said} and {heard}. Give a sentence, audio with speech, or both"


def analyse(
    text: str | None = None,
    audio: Any = None,
    *,
    tone: str | None = None,
    voice: str | None = None,
    classifier: Any = None,
    max_upload_seconds: float = MAX_UPLOAD_SECONDS,
    num_threads: int | None = 1,
) -> Analysis:
    """Emotion and attention maps for a sentence and its speech.

    Args:
        text: the sentence (None or blank: the model answers from the audio alone).
        audio: the speech (see :func:`read_audio`); None: from the text alone, or synthesised with ``tone``.
        tone: synthesise ``text`` in this emotion (one of :data:`TONES`) with ``voice`` (a key of :func:`voices`,
            default the first); not with ``audio``.
        classifier: the pipeline, or a checkpoint folder / Hub id for :func:`load_classifier` (default the bundled
            checkpoint).
        max_upload_seconds: longest upload accepted (checked before decoding).
        num_threads: torch's intra-op threads during the call (None: as torch is).

    Raises ``ValueError`` naming the problem: no input at all, unreadable audio, an unknown tone or voice, a text
    too long, synthesis without words.
    """
    start = time.perf_counter()
    text = check_text(text)
    if tone is not None and audio is not None:
        raise ValueError("give the speech or ask for it to be synthesised (a tone), not both")
    if tone is None and voice is not None:
        check_voice(voice)  # a typo in the voice is still an error
    clf = load_classifier(classifier)
    processor = clf.processor
    speech = (
        synthesise(text or "", tone, voice) if tone is not None else read_audio(audio, max_upload_seconds)
    )
    metadata = speech.voice.metadata if speech is not None and speech.voice is not None else {}
    inputs = {"text": text, "audio": None if speech is None else speech.audio}
    try:
        with torch_threads(num_threads):
            result = clf(inputs, sampling_rate=DEFAULT_SAMPLING_RATE, return_attentions=True, **metadata)
    except ValueError as e:
        if "neither words nor speech" in str(e):  # the processor's rule, said for this request
            raise ValueError(_describe_nothing(text, speech)) from None
        raise
    layers, heads, fusion = model_shape(clf)
    analysis = Analysis(
        label=result["label"],
        scores=dict(result["scores"]),
        modalities=list(result["modalities"]),
        attentions=result["attentions"],
        text=text,
        speech=speech,
        text_truncated=bool(result.get("text_truncated")),
        audio_truncated=bool(result.get("audio_truncated")),
        max_audio_seconds=float(processor.max_audio_seconds),
        min_speech_peak=float(processor.min_speech_peak),
        layers=layers,
        heads=heads,
        fusion=fusion,
    )
    if speech is not None and speech.words is not None:
        analysis.spoken = align_spoken(analysis.words, speech.words)
    analysis.seconds = time.perf_counter() - start
    return analysis


def _norm(word: str) -> str:
    return re.sub(r"[\W_]", "", word.lower())


def align_spoken(
    words: Sequence[str], spoken: Sequence[tuple[str, float, float]]
) -> list[tuple[float, float] | None]:
    """For each processor word, the ``(start, end)`` of the spoken word it is part of, or None (punctuation, or a
    word the synthesiser said differently, such as a number spelt out). Greedy, in order: the processor splits
    ``can't`` into ``can ' t``, all three parts of the one spoken word."""
    out: list[tuple[float, float] | None] = []
    j, rest = 0, _norm(spoken[0][0]) if spoken else ""
    for word in words:
        key = _norm(word)
        if not key or j >= len(spoken):
            out.append(None)
            continue
        if not rest.startswith(key):  # look a few spoken words ahead (one skipped or said differently)
            for k in range(j + 1, min(j + 4, len(spoken))):
                ahead = _norm(spoken[k][0])
                # a fragment such as the "t" of "can ' t" matches only in place, never a later word
                if ahead == key or (len(key) >= 3 and ahead.startswith(key)):
                    j, rest = k, ahead
                    break
            else:
                out.append(None)
                continue
        out.append((round(spoken[j][1], 3), round(spoken[j][2], 3)))
        rest = rest[len(key) :]
        if not rest:
            j += 1
            rest = _norm(spoken[j][0]) if j < len(spoken) else ""
    return out


# --- the maps ---------------------------------------------------------------------------------------------------


def _index(value: Any, count: int, what: str) -> int | None:
    """``MEAN`` (None) or a 1-based index given as an int or a digit string → None or a 0-based index."""
    if value is None or (isinstance(value, str) and value.strip().lower() in (MEAN, "average", "")):
        return None
    try:
        n = int(value)
    except (TypeError, ValueError):
        n = 0
    if isinstance(value, (bool, float)) or not 1 <= n <= count:
        raise ValueError(f"{what} must be {MEAN!r} or 1..{count}, got {value!r}")
    return n - 1


def _select(maps: np.ndarray, layer: int | None, head: int | None) -> np.ndarray:
    m = maps.mean(0) if layer is None else maps[layer]
    return m.mean(0) if head is None else m[head]


@dataclass(frozen=True)
class WordMaps:
    """One layer/head choice, word pieces merged: ``(words, frames)`` each (None for a direction the model lacks
    or an input that has no words or no speech), the frame times, and the mean share of each audio frame's
    attention that goes to ``[CLS]``/``[SEP]``."""

    words: list[str]
    frame_times: np.ndarray
    text_to_audio: np.ndarray | None
    audio_to_text: np.ndarray | None
    special_share: float


def word_maps(analysis: Analysis, layer: Any = MEAN, head: Any = MEAN) -> WordMaps:
    """The maps of ``layer`` and ``head`` (1-based, or :data:`MEAN` for their average) over words × frames."""
    li = _index(layer, analysis.layers, "layer")
    hi = _index(head, analysis.heads, "head")
    att = analysis.attentions
    spans = att.get("words", [])
    words = [w for w, _, _ in spans]
    times = np.asarray(att.get("frame_times", []), dtype=np.float64)
    t2a = a2t = None
    share = 0.0
    if analysis.both and words:
        raw = np.asarray(att["text_to_audio"])
        if raw.ndim == 4 and raw.size:
            m = _select(raw, li, hi)  # (L, F)
            t2a = np.stack([m[a:b].mean(0) for _, a, b in spans])
        raw = np.asarray(att["audio_to_text"])
        if raw.ndim == 4 and raw.size:
            m = _select(raw, li, hi)  # (F, L)
            a2t = np.stack([m[:, a:b].sum(1) for _, a, b in spans])
            share = float(np.clip(1.0 - a2t.sum(0), 0.0, 1.0).mean())
    return WordMaps(words, times, t2a, a2t, share)


def _which(value: Any, count: int, what: str) -> str:
    i = _index(value, count, what)
    if count == 1:
        return f"its one {what}"
    return f"mean of {count} {what}s" if i is None else f"{what} {i + 1} of {count}"


def attention_figures(
    analysis: Analysis, layer: Any = MEAN, head: Any = MEAN, *, spectrogram: bool = True
) -> tuple[Any, Any]:
    """Two matplotlib figures, text→audio then audio→text: the words down the y axis, the audio time in seconds
    along the x axis, the colour the attention weight; under each, on the same time axis, the waveform (with the
    spoken words of synthesised speech) and, with ``spectrogram``, the log-mel spectrogram. A figure whose map the
    request has none of (text or speech missing, or a fusion without that direction) says why instead."""
    maps = word_maps(analysis, layer, head)
    which = f"{_which(layer, analysis.layers, 'layer')}, {_which(head, analysis.heads, 'head')}"
    t2a = _figure(
        analysis,
        maps,
        "text_to_audio",
        f"Text → audio: where in the speech each word looks ({which})",
        "each row is one word's attention over the audio frames (it sums to 1)",
        spectrogram,
    )
    a2t = _figure(
        analysis,
        maps,
        "audio_to_text",
        f"Audio → text: which words each moment of speech looks at ({which})",
        "each column is one audio frame's attention over the words; "
        f"{maps.special_share:.0%} of it goes to [CLS]/[SEP] (not drawn)",
        spectrogram,
    )
    return t2a, a2t


def _missing_reason(analysis: Analysis) -> str:
    if "text" not in analysis.modalities or not analysis.words:
        return "No map: the sentence has no words, so the model listened to the audio alone."
    if "audio" not in analysis.modalities:
        return "No map: there is no speech, so the model read the text alone."
    return f"No map: this model's fusion ({analysis.fusion}) has no attention in this direction."


def _figure(
    analysis: Analysis,
    maps: WordMaps,
    direction: str,
    title: str,
    subtitle: str,
    spectrogram: bool,
) -> Any:
    from matplotlib.figure import Figure

    width = 11.0
    values = getattr(maps, direction)
    if values is None:
        fig = Figure(figsize=(width, 1.1), dpi=FIGURE_DPI)
        fig.text(0.01, 0.72, title.split(" (")[0], fontsize=11, weight="bold")
        fig.text(0.01, 0.3, _missing_reason(analysis), fontsize=10, color="#555555")
        return fig

    audio = analysis.heard
    assert audio is not None
    duration = len(audio) / DEFAULT_SAMPLING_RATE
    n_words = len(maps.words)
    font = 9 if n_words <= 40 else 7 if n_words <= 80 else 5
    row_in = 0.22 if n_words <= 40 else 0.14 if n_words <= 80 else 0.09
    map_h = float(np.clip(n_words * row_in, 1.4, 14.0))
    strips = [("wave", 0.75)] + ([("mel", 0.95)] if spectrogram else [])
    heights = [map_h] + [h for _, h in strips]
    top_in, bottom_in = 0.62, 0.5
    # room for the longest word (and the strips' labels) left of the map, no more
    left = float(np.clip(0.45 + 0.07 * max(map(len, maps.words)) * font / 9, 0.9, 2.2)) / width
    fig_h = sum(heights) + top_in + bottom_in + 0.12 * len(strips)
    fig = Figure(figsize=(width, fig_h), dpi=FIGURE_DPI)
    grid = fig.add_gridspec(
        len(heights),
        2,
        height_ratios=heights,
        width_ratios=[1.0, 0.018],
        left=left,
        right=0.93,
        top=1 - top_in / fig_h,
        bottom=bottom_in / fig_h,
        hspace=0.12 / (sum(heights) / len(heights)),  # 0.12 in between rows
        wspace=0.015,
    )
    ax = fig.add_subplot(grid[0, 0])
    image = ax.imshow(
        values,
        aspect="auto",
        interpolation="nearest",
        cmap="magma",
        extent=(0.0, duration, n_words, 0.0),
        vmin=0.0,
        vmax=max(float(values.max()), 1e-9),
    )
    ax.set_yticks(np.arange(n_words) + 0.5, maps.words, fontsize=font)
    ax.set_xlim(0.0, duration)
    ax.tick_params(axis="x", labelbottom=False)
    ax.set_ylabel("word", fontsize=9)
    fig.text(left, 1 - 0.2 / fig_h, title, fontsize=11, weight="bold", va="top")
    fig.text(left, 1 - 0.42 / fig_h, subtitle, fontsize=9, color="#555555", va="top")
    bar = fig.colorbar(image, cax=fig.add_subplot(grid[0, 1]))
    bar.ax.tick_params(labelsize=7)
    bar.set_label("attention", fontsize=8)

    last = ax
    for row, (kind, _) in enumerate(strips, start=1):
        strip = fig.add_subplot(grid[row, 0], sharex=ax)
        if kind == "wave":
            _draw_wave(strip, audio, analysis.speech.words if analysis.speech is not None else None, duration)
        else:
            _draw_mel(strip, audio, duration)
        strip.tick_params(axis="x", labelbottom=False)
        last = strip
    last.tick_params(axis="x", labelbottom=True, labelsize=8)
    last.set_xlabel("time (s)", fontsize=9)
    return fig


def _draw_wave(
    ax: Any, audio: np.ndarray, words: list[tuple[str, float, float]] | None, duration: float
) -> None:
    bins = int(min(len(audio), 2000))
    edges = np.linspace(0, len(audio), bins + 1).astype(int)
    lo = np.minimum.reduceat(audio, edges[:-1])
    hi = np.maximum.reduceat(audio, edges[:-1])
    x = (edges[:-1] + edges[1:]) / 2 / DEFAULT_SAMPLING_RATE
    ax.fill_between(x, lo, hi, color="#4c72b0", linewidth=0.4)
    peak = max(float(np.abs(audio).max()), 1e-6)
    ax.set_ylim(-1.15 * peak, 1.15 * peak)
    ax.set_yticks([])
    ax.set_ylabel("speech", fontsize=9, rotation=0, ha="right", va="center")
    for spine in ("top", "right", "left"):
        ax.spines[spine].set_visible(False)
    if words:
        for i, (word, start, end) in enumerate(words):
            if start >= duration:
                break
            ax.axvline(start, color="#999999", linewidth=0.6, linestyle=":")
            ax.text(
                (start + min(end, duration)) / 2,
                1.12 * peak if i % 2 == 0 else -1.12 * peak,
                word,
                fontsize=7,
                ha="center",
                va="top" if i % 2 == 0 else "bottom",
                color="#333333",
                clip_on=True,
            )


def _draw_mel(ax: Any, audio: np.ndarray, duration: float) -> None:
    from avzoo.features.logmel import log_mel

    mel = log_mel(audio, DEFAULT_SAMPLING_RATE, fps=SPECTROGRAM_FPS)  # (T, 80)
    mel = np.maximum(mel, mel.max() - 18.0)  # an 80 dB-ish range: natural log units
    ax.imshow(
        mel.T,
        aspect="auto",
        origin="lower",
        interpolation="nearest",
        cmap="viridis",
        extent=(0.0, len(mel) / SPECTROGRAM_FPS, 0, mel.shape[1]),
    )
    ax.set_xlim(0.0, duration)
    ax.set_yticks([])
    ax.set_ylabel("log-mel", fontsize=9, rotation=0, ha="right", va="center")


__all__ = [
    "DEFAULT_TONE",
    "MAX_SYNTH_CHARS",
    "MAX_TEXT_CHARS",
    "MAX_UPLOAD_SECONDS",
    "MEAN",
    "SPACE",
    "TONES",
    "Analysis",
    "Speech",
    "Voice",
    "WordMaps",
    "align_spoken",
    "analyse",
    "attention_figures",
    "bundled_model",
    "check_text",
    "check_tone",
    "check_voice",
    "default_voice",
    "load_classifier",
    "model_shape",
    "read_audio",
    "synthesise",
    "voices",
    "word_maps",
]
