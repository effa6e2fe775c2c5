"""The attention-maps Space: the request without UI (synthesis, uploads, missing modalities, errors, word maps and
figures), gradio_client, the zoo tab, the Space folder, and the page in headless chromium. Uses a tiny randomly
initialised text-audio-emotion checkpoint (2 cross-attention layers of 2 heads) with text-vad's tokenizer and a
processor that hears 4 s of speech; no trained weights.

The request module (:mod:`avzoo.apps.attention_request`, ``ar``) holds ``bundled_model``, which the page calls at
build time, so the tests that build the page without a model patch it there."""

from __future__ import annotations

import runpy
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from browser import (  # noqa: F401
    LOOPBACK,
    chrome_fixture,
    free_port,
    open_gradio,
    screenshot_fixture,
    serve_blocks,
)

from avzoo.apps import attention_maps as am
from avzoo.apps import attention_request as ar
from avzoo.apps import zoo
from avzoo.apps.registry import Family, family_status, get_family
from avzoo.emotions import MELD_EMOTIONS
from avzoo.io.audio import save_audio

REPO = Path(__file__).resolve().parents[1]
SPACE = REPO / "spaces" / "attention-maps"
SR = 16000
SENTENCE = "I can't believe you did that to me!"
#: Seconds of speech the tiny processor hears (the bundled one: 20).
HEARD_SECONDS = 4.0


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """A tiny random text-audio-emotion checkpoint folder: model, processor (text-vad's tokenizer, w2v-BERT's
    log-mel features, 4 s of speech heard)."""
    from transformers import AlbertConfig, Wav2Vec2BertConfig

    from avzoo.models.text_audio_emotion import (
        TextAudioEmotionConfig,
        TextAudioEmotionForSequenceClassification,
    )
    from avzoo.train.text_audio_emotion import BUNDLED_TEXT, build_processor

    folder = tmp_path_factory.mktemp("text-audio-emotion")
    processor = build_processor(BUNDLED_TEXT, max_audio_seconds=HEARD_SECONDS)
    text_config = AlbertConfig(
        vocab_size=len(processor.tokenizer),
        embedding_size=16,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    ).to_dict()
    audio_config = Wav2Vec2BertConfig(
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        feature_projection_input_dim=160,
        add_adapter=False,
        vocab_size=32,
    ).to_dict()
    config = TextAudioEmotionConfig(
        text_config=text_config,
        audio_config=audio_config,
        hidden_size=32,
        num_attention_heads=2,
        num_cross_layers=2,
        classifier_hidden_size=32,
    )
    torch.manual_seed(0)
    TextAudioEmotionForSequenceClassification(config).eval().save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def classifier(model_dir):
    return ar.load_classifier(model_dir)


@pytest.fixture(scope="module")
def synthesised(classifier) -> ar.Analysis:
    return ar.analyse(SENTENCE, tone="angry", voice="en-029+Henrique", classifier=classifier)


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory) -> Path:
    speech = ar.synthesise(SENTENCE, "sad", "slt")
    return save_audio(tmp_path_factory.mktemp("speech") / "my take.wav", speech.audio, SR)


@pytest.fixture
def bad_audio(tmp_path) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt " + rng.bytes(200))
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    t = np.arange(3 * SR) / SR
    return {
        "corrupt": corrupt,
        "empty": empty,
        "long": save_audio(tmp_path / "long.wav", (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)),
        "silent": save_audio(tmp_path / "silent.wav", np.zeros(2 * SR, np.float32)),
    }


# --- the request without UI -------------------------------------------------------------------------------------


def test_synthesised_speech_gives_probabilities_both_maps_and_where_each_word_was_said(synthesised):
    a = synthesised
    assert list(a.scores) == list(MELD_EMOTIONS)
    assert sum(a.scores.values()) == pytest.approx(1.0, abs=1e-5)
    assert a.label == max(a.scores, key=a.scores.get)
    assert a.modalities == ["text", "audio"] and a.both
    assert (a.layers, a.heads, a.fusion) == (2, 2, "bidirectional")
    assert a.speech is not None and a.speech.source == "synthesised"
    assert a.speech.tone == "angry" and a.speech.voice.key == "en-029+Henrique"
    assert a.speech.voice.metadata == {"gender": "male", "age_group": "adult", "pitch_band": "high"}

    att = a.attentions
    n_tokens, n_frames = len(att["tokens"]), len(att["frame_times"])
    assert att["text_to_audio"].shape == (2, 2, n_tokens, n_frames)
    assert att["audio_to_text"].shape == (2, 2, n_frames, n_tokens)
    assert a.words == ["i", "can", "'", "t", "believe", "you", "did", "that", "to", "me", "!"]
    # the synthesiser's word times, matched to the processor's words; punctuation has none
    spoken = dict(zip(a.words, a.spoken, strict=True))
    assert spoken["!"] is None and spoken["'"] is None
    assert spoken["i"][0] < spoken["believe"][0] < spoken["me"][0] <= a.speech.seconds
    summary = a.summary()
    assert summary.startswith(f"**{a.label}**") and "from **text + audio**" in summary
    assert "tone **angry** (strong; MELD anger)" in summary and "Henrique" in summary

    table = a.table()
    assert list(table.columns) == ["word", "attends from (s)", "to (s)", "peak attention", "spoken (s)"]
    assert list(table["word"]) == a.words
    assert (table["attends from (s)"] < table["to (s)"]).all()
    assert (table["to (s)"] <= a.speech.seconds + 0.05).all()
    assert table.loc[table["word"] == "believe", "spoken (s)"].item() == "{:.2f}–{:.2f}".format(
        *spoken["believe"]
    )


def test_word_maps_merge_pieces_and_read_one_layer_and_head_or_their_mean(classifier):
    a = ar.analyse("Hello unbelievably cheerful friends", tone="happy", voice="slt", classifier=classifier)
    att = a.attentions
    pieces = [(w, s, e) for w, s, e in att["words"] if e - s > 1]
    assert pieces, f"expected a word in several pieces: {att['tokens']}"
    t2a, a2t = att["text_to_audio"], att["audio_to_text"]

    maps = ar.word_maps(a, layer=2, head="1")
    assert maps.words == a.words and maps.text_to_audio.shape == (len(a.words), len(att["frame_times"]))
    word, s, e = pieces[0]
    i = a.words.index(word)
    np.testing.assert_allclose(maps.text_to_audio[i], t2a[1, 0, s:e].mean(0), rtol=1e-6)
    np.testing.assert_allclose(maps.audio_to_text[i], a2t[1, 0, :, s:e].sum(1), rtol=1e-6)
    np.testing.assert_allclose(maps.text_to_audio.sum(1), 1.0, atol=1e-4)  # each word's row: all of the audio
    # each frame's attention: the words plus [CLS]/[SEP]
    special = [k for k, t in enumerate(att["tokens"]) if t in ("[CLS]", "[SEP]")]
    np.testing.assert_allclose(maps.audio_to_text.sum(0) + a2t[1, 0][:, special].sum(1), 1.0, atol=1e-4)
    assert maps.special_share == pytest.approx(float(a2t[1, 0][:, special].sum(1).mean()), abs=1e-4)

    mean = ar.word_maps(a)  # layers and heads averaged
    np.testing.assert_allclose(mean.text_to_audio[i], t2a[:, :, s:e].mean((0, 1)).mean(0), rtol=1e-5)
    for layer, head, message in ((3, "mean", r"layer must be 'mean' or 1\.\.2, got 3"), ("mean", 0, "head"),
                                 ("top", 1, "layer"), (1, 1.5, "head")):  # fmt: skip
        with pytest.raises(ValueError, match=message):
            ar.word_maps(a, layer, head)


def test_figures_put_words_on_y_and_seconds_on_x_with_the_waveform_and_spectrogram_aligned(synthesised):
    a = synthesised
    t2a, a2t = a.figures()
    for fig, title in ((t2a, "Text → audio"), (a2t, "Audio → text")):
        heat, bar, wave, mel = fig.axes
        assert [t.get_text() for t in heat.get_yticklabels()] == a.words
        duration = len(a.heard) / SR
        for ax in (heat, wave, mel):
            assert ax.get_xlim() == pytest.approx((0.0, duration))
        assert mel.get_xlabel() == "time (s)" and bar.get_ylabel() == "attention"
        # the strips sit under the map, each as wide as it (the colour bar stands beside the map only)
        h, w, m = (ax.get_position() for ax in (heat, wave, mel))
        assert h.x0 == pytest.approx(w.x0) == pytest.approx(m.x0)
        assert h.x1 == pytest.approx(w.x1) == pytest.approx(m.x1)
        assert h.y0 > w.y1 and w.y0 > m.y1
        texts = [t.get_text() for t in fig.texts]
        assert any(t.startswith(title) and "mean of 2 layers, mean of 2 heads" in t for t in texts)
    assert "believe" in [t.get_text() for t in t2a.axes[2].texts]  # the spoken words on the waveform
    assert any("goes to [CLS]/[SEP]" in t.get_text() for t in a2t.texts)
    one, _ = a.figures(layer=1, head=2, spectrogram=False)
    assert len(one.axes) == 3
    assert any("layer 1 of 2, head 2 of 2" in t.get_text() for t in one.texts)
    np.testing.assert_allclose(
        one.axes[0].images[0].get_array(), ar.word_maps(a, 1, 2).text_to_audio, rtol=1e-6
    )


def test_uploads_as_files_and_as_gradio_arrays_give_the_same_answer(classifier, speech_wav):
    from_file = ar.analyse(SENTENCE, str(speech_wav), classifier=classifier)
    assert from_file.speech.source == "upload" and from_file.modalities == ["text", "audio"]
    assert "Uploaded speech: audio file 'my take.wav'" in from_file.summary()
    assert "spoken (s)" not in from_file.table().columns
    pcm = (ar.read_audio(speech_wav).audio * 32767).astype(np.int16)
    from_array = ar.analyse(SENTENCE, (SR, pcm), classifier=classifier)  # gradio's type="numpy"
    for label, p in from_file.scores.items():
        assert from_array.scores[label] == pytest.approx(p, abs=2e-3)
    stereo = ar.read_audio((2 * SR, np.stack([pcm, pcm], 1).repeat(2, 0)))  # (rate, (n, 2) int16) at 32 kHz
    assert abs(len(stereo.audio) - len(pcm)) <= 2


def test_speech_past_what_the_model_hears_is_cut_and_said(classifier):
    t = np.arange(int(6 * SR)) / SR
    tone = (0.3 * np.sin(2 * np.pi * 180 * t)).astype(np.float32)
    a = ar.analyse(SENTENCE, (tone, SR), classifier=classifier)
    assert a.audio_truncated and len(a.heard) == HEARD_SECONDS * SR
    assert f"heard the first {HEARD_SECONDS:g} s" in a.summary()
    assert a.attentions["frame_times"][-1] < HEARD_SECONDS


@pytest.mark.parametrize(
    ("text", "audio", "modalities", "note"),
    [
        ("Good morning, everyone.", None, ["text"], "Text only: no audio was given."),
        (
            "Good morning, everyone.",
            "silent",
            ["text"],
            "Text only: the audio has no speech (its peak is below",
        ),
        ("", "speech", ["audio"], "Audio only: no sentence was given."),
        ("😀 !!", "speech", ["audio"], "Audio only: the sentence has no words."),
    ],
)
def test_a_missing_modality_is_reported_and_its_maps_explained(
    classifier, speech_wav, bad_audio, text, audio, modalities, note
):
    source = {"silent": bad_audio["silent"], "speech": speech_wav, None: None}[audio]
    a = ar.analyse(text, source, classifier=classifier)
    assert a.modalities == modalities
    assert note in a.summary()
    assert a.table().empty
    why = "no speech" if modalities == ["text"] else "no words"
    for fig in a.figures():
        assert not fig.axes and any(why in t.get_text() for t in fig.texts)


@pytest.mark.parametrize(
    ("text", "audio", "message"),
    [
        (None, None, "nothing to analyse: no sentence was given and no audio was given"),
        ("   ", None, "nothing to analyse: no sentence was given and no audio was given"),
        ("…?!", "silent", "nothing to analyse: the sentence has no words and the audio has no speech"),
        (SENTENCE, "corrupt", r"cannot read audio from 'corrupt\.wav' \(unreadable or corrupt\)"),
        (SENTENCE, "empty", r"cannot read audio from 'empty\.wav': the file is empty"),
        (SENTENCE, "long", r"audio file 'long\.wav' is 3\.00 s long; at most 2 s is accepted"),
        (SENTENCE, np.zeros(4), r"source must be a file path or an \(array, sampling_rate\) pair"),
        (123, None, "text must be a string"),
        ("x" * (ar.MAX_TEXT_CHARS + 1), None, "at most 2000 are accepted"),
    ],
)
def test_bad_input_gets_a_clear_error_without_server_paths(classifier, bad_audio, text, audio, message):
    source = bad_audio.get(audio, audio) if isinstance(audio, str) else audio
    with pytest.raises(ValueError, match=message) as info:
        ar.analyse(text, source, classifier=classifier, max_upload_seconds=2.0)
    assert str(bad_audio["corrupt"].parent) not in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"text": SENTENCE, "tone": "calm"}, r"unknown tone 'calm'; choose one of neutral, happy"),
        (
            {"text": SENTENCE, "tone": "angry", "voice": "hal9000"},
            r"unknown voice 'hal9000'; choose one of slt",
        ),
        ({"text": SENTENCE, "voice": "hal9000"}, "unknown voice"),
        ({"text": "👍 ...", "tone": "happy"}, "type a sentence to synthesise: the text has no words"),
        ({"text": "word " * 80, "tone": "happy"}, "synthesis takes at most 300"),
        ({"text": SENTENCE, "tone": "happy", "audio": "x.wav"}, "not both"),
    ],
)
def test_bad_synthesis_requests_are_refused(classifier, kwargs, message):
    with pytest.raises(ValueError, match=message):
        ar.analyse(classifier=classifier, **kwargs)


def test_the_voices_are_held_out_corpus_speakers():
    from avzoo.synth.speakers import make_speakers

    table = ar.voices()
    assert list(table) == ["slt", "en-029+Henrique", "en-us+Storm", "rms"]
    test_speakers = make_speakers({"test": 8}, seed=0)["test"]
    assert [v.speaker.speaker_id for v in table.values()] == [
        test_speakers[i].speaker_id for i in ar.VOICE_PICKS
    ]
    assert all(v.speaker.split == "test" for v in table.values())
    assert {v.speaker.engine for v in table.values()} == {"flite", "espeak"}
    assert table["slt"].label == "slt · female, mid pitch" and table["en-029+Henrique"].name == "Henrique"
    assert ar.TONES == ("neutral", "happy", "sad", "angry", "fearful", "disgust", "surprised")


def test_align_spoken_matches_pieces_in_order_and_leaves_the_rest_blank():
    spoken = [
        ("I", 0.0, 0.1),
        ("can't", 0.1, 0.5),
        ("believe", 0.5, 0.9),
        ("two", 0.9, 1.2),
        ("tea", 1.2, 1.4),
    ]
    words = ["i", "can", "'", "t", "believe", "2", "tea", "!"]
    assert ar.align_spoken(words, spoken) == [
        (0.0, 0.1), (0.1, 0.5), None, (0.1, 0.5), (0.5, 0.9), None, (1.2, 1.4), None,
    ]  # fmt: skip
    # espeak drops the "'t" of "can't": the fragment "t" matches no later word starting with t
    spoken = [("can", 0.1, 0.5), ("believe", 0.5, 0.9), ("that", 0.9, 1.2)]
    assert ar.align_spoken(["can", "'", "t", "believe", "that"], spoken) == [
        (0.1, 0.5), None, None, (0.5, 0.9), (0.9, 1.2),
    ]  # fmt: skip
    assert ar.align_spoken(["hello"], []) == [None]


# --- the page -------------------------------------------------------------------------------------------------


def _props(demo) -> dict[str, dict]:
    components = demo.get_config_file()["components"]
    return {c["props"]["elem_id"]: c["props"] for c in components if c["props"].get("elem_id")}


def test_the_page_offers_the_layers_heads_tones_and_voices_of_the_model(classifier):
    demo = am.build_ui(classifier, examples=False)
    props = _props(demo)
    assert [tuple(c) for c in props["am-layer"]["choices"]] == [
        ("Mean of the 2 layers", "mean"), ("Layer 1", "1"), ("Layer 2", "2"),
    ]  # fmt: skip
    assert props["am-layer"]["value"] == "mean" and props["am-layer"]["interactive"]
    assert [c[1] for c in props["am-head"]["choices"]] == ["mean", "1", "2"]
    assert [c[1] for c in props["am-tone"]["choices"]] == list(ar.TONES)
    assert [c[1] for c in props["am-voice"]["choices"]] == list(ar.voices())
    assert props["am-source"]["value"] == am.SYNTHESISE and not props["am-audio"]["visible"]
    assert props["am-synth"]["visible"]
    assert am._choices(1, "layer") == [("Its one layer", "mean"), ("Layer 1", "1")]


def test_ui_answers_through_gradio_client(classifier, speech_wav, bad_audio):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    demo = am.build_ui(classifier, examples=False)
    with serve_blocks(demo, css=am.CSS) as url:
        client = Client(url, verbose=False, analytics_enabled=False)
        endpoint = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/analyse"]
        parameters = {p["parameter_name"]: p for p in endpoint["parameters"]}
        assert list(parameters) == [
            "text",
            "source",
            "audio",
            "tone",
            "voice",
            "layer",
            "head",
            "spectrogram",
        ]
        assert not parameters["text"]["parameter_has_default"]
        assert {k: p["parameter_default"] for k, p in parameters.items() if k != "text"} == {
            "source": "synthesise", "audio": None, "tone": "angry", "voice": "slt", "layer": "mean",
            "head": "mean", "spectrogram": True,
        }  # fmt: skip
        assert [r["label"] for r in endpoint["returns"]] == [
            "Emotion (7 MELD classes)",
            "Summary",
            "Speech the model heard",
            "Text → audio attention",
            "Audio → text attention",
            "Where each word's attention peaks in the speech (last layer, mean of heads)",
        ]

        # the sentence alone: synthesised in the default tone and voice, the same answer as the request
        label, summary, heard, t2a, a2t, table = client.predict(SENTENCE, api_name="/analyse")
        expected = ar.analyse(SENTENCE, tone="angry", voice="slt", classifier=classifier)
        assert label["label"] == expected.label
        assert {c["label"]: c["confidence"] for c in label["confidences"]} == pytest.approx(expected.scores)
        assert "from **text + audio**" in summary and "tone **angry**" in summary and "slt" in summary
        assert Path(heard).is_file()
        for plot in (t2a, a2t):
            assert plot["type"] == "matplotlib" and plot["plot"].startswith("data:image/png;base64,")
        assert table["headers"][-1] == "spoken (s)" and [r[0] for r in table["data"]] == expected.words

        # an upload, one layer and head, no spectrogram
        label, summary, _, t2a, _, table = client.predict(
            SENTENCE,
            "upload",
            handle_file(str(speech_wav)),
            "happy",
            "slt",
            "2",
            "1",
            False,
            api_name="/analyse",
        )
        assert "Uploaded speech: audio file 'my take.wav'" in summary and "tone" not in summary
        assert "spoken (s)" not in table["headers"]
        # the upload choice with no file: the text alone
        _, summary, heard, t2a, _, table = client.predict(SENTENCE, "upload", None, api_name="/analyse")
        assert "Text only: no audio was given." in summary and heard is None and table["data"] == []

        for args, message in (
            (("", "upload", None), "nothing to analyse: no sentence was given and no audio was given"),
            (("", "synthesise"), "type a sentence to synthesise"),
            ((SENTENCE, "upload", handle_file(str(bad_audio["corrupt"]))), r"'corrupt\.wav' \(unreadable"),
        ):
            with pytest.raises(AppError, match=message) as info:
                client.predict(*args, api_name="/analyse")
            assert info.value.title == "Cannot analyse this"
            assert "Traceback" not in str(info.value) and "/tmp" not in str(info.value)
        # gradio itself refuses a choice its menus do not offer
        with pytest.raises(AppError, match=r"Value: 5 is not in the list of choices: \['mean', '1', '2'\]"):
            client.predict(SENTENCE, "synthesise", None, "angry", "slt", "5", api_name="/analyse")


def test_zoo_shows_the_space_as_a_tab_only_with_a_checkpoint(model_dir, tmp_path, monkeypatch):
    family = get_family("text-audio-emotion")
    bundled = family.checkpoint
    assert family.ui == "avzoo.apps.attention_maps:build_ui"
    has_bundled = (bundled / "config.json").is_file() and any(bundled.glob("*.safetensors"))
    assert family_status(family).available == has_bundled

    missing = family_status(Family(**{**family.__dict__, "checkpoint_dir": tmp_path / "missing"}))
    assert not missing.available and "no bundled checkpoint" in missing.reason
    assert zoo.demo_tabs([missing]) == []

    # with a checkpoint the tab appears: the zoo calls build_ui() without arguments, which loads bundled_model()
    monkeypatch.setattr(ar, "bundled_model", lambda: str(model_dir))
    status = family_status(Family(**{**family.__dict__, "checkpoint_dir": model_dir}))
    assert status.available, status.reason
    assert status.builder is am.build_ui and status.css == am.CSS
    assert zoo.app_css([status]) == am.CSS
    config = zoo.build_app([status]).get_config_file()
    tabs = [c["props"].get("label") for c in config["components"] if c["type"] == "tabitem"]
    assert tabs == ["Overview", "Attention maps"]
    assert any(d.get("api_name") == "analyse" for d in config["dependencies"])


def test_space_folder_is_a_thin_gradio_space(model_dir, monkeypatch):
    yaml = pytest.importorskip("yaml")
    readme = (SPACE / "README.md").read_text()
    assert readme.startswith("---\n")
    meta = yaml.safe_load(readme.split("---\n")[1])
    assert meta["sdk"] == "gradio" and str(meta["sdk_version"]).startswith("6.")
    assert (
        meta["app_file"] == "app.py" and meta["title"] and meta["emoji"] and meta["license"] == "apache-2.0"
    )
    assert meta["models"] == ["avzoo/text-audio-emotion"] and len(meta["short_description"]) <= 60
    assert 'api_name="/analyse"' in readme
    requirements = (SPACE / "requirements.txt").read_text().split()
    assert any(r.startswith("avzoo") for r in requirements)
    app_py = (SPACE / "app.py").read_text()
    assert len(app_py.splitlines()) < 30 and "avzoo.apps.attention_maps" in app_py

    import gradio as gr

    monkeypatch.setattr(ar, "bundled_model", lambda: str(model_dir))
    namespace = runpy.run_path(str(SPACE / "app.py"), run_name="space_app")  # builds, does not launch
    assert isinstance(namespace["demo"], gr.Blocks)


def test_launch_caps_uploads_and_bounds_the_queue(classifier, monkeypatch):
    monkeypatch.setattr(ar, "bundled_model", lambda: classifier)
    demo = am.launch(server_name=LOOPBACK, server_port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        assert demo.max_file_size == am.MAX_FILE_SIZE
        assert demo._queue.max_size == am.QUEUE_MAX_SIZE == 16
        fn = next(fn for fn in demo.fns.values() if fn.api_name == "analyse")
        assert fn.concurrency_limit == am.CONCURRENCY_LIMIT == 2
        assert demo.delete_cache == am.DELETE_CACHE
    finally:
        demo.close()


# --- in a browser -----------------------------------------------------------------------------------------------


@pytest.mark.browser
def test_page_synthesises_a_sentence_and_draws_both_maps_in_chromium(chrome, screenshot, classifier):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def js(script: str):
        return chrome.execute_script(script)

    def shown(selector: str) -> bool:
        return js(
            f"const e = document.querySelector({selector!r}); return !!e && e.getClientRects().length > 0"
        )

    def plot_src(plot: str) -> str:
        return js(f"return document.querySelector('{plot} img')?.getAttribute('src') ?? ''")

    def summary() -> str:
        return js("return document.querySelector('#am-summary')?.innerText ?? ''")

    def choose(dropdown: str, label: str) -> None:
        chrome.find_element(By.CSS_SELECTOR, f"{dropdown} input").click()
        option = WebDriverWait(chrome, 10).until(
            lambda d: d.find_element(By.CSS_SELECTOR, f"{dropdown} li[role=option][aria-label='{label}']")
        )
        option.click()
        WebDriverWait(chrome, 10).until(
            lambda d: d.find_element(By.CSS_SELECTOR, f"{dropdown} input").get_attribute("value") == label
        )

    def radio(label: str) -> None:
        chrome.find_element(By.XPATH, f"//*[@id='am-source']//label[contains(., '{label}')]").click()

    demo = am.build_ui(classifier)
    with serve_blocks(demo, css=am.CSS) as url:
        page = open_gradio(
            chrome, url, expect_text=[am.TITLE, "Sentence", "Speech", "Tone of voice", "Analyse"]
        )
        assert "Examples (synthesised)" in page
        screenshot("attention-maps-empty")
        # the speech choice swaps the tone and voice for the audio input, and back
        radio("Upload or record")
        WebDriverWait(chrome, 10).until(lambda d: shown("#am-audio") and not shown("#am-synth"))
        radio("Synthesise the sentence")
        WebDriverWait(chrome, 10).until(lambda d: shown("#am-synth") and not shown("#am-audio"))

        chrome.find_element(By.CSS_SELECTOR, "#am-text textarea").send_keys(SENTENCE)
        choose("#am-tone", "Sad")
        choose("#am-voice", ar.voices()["en-029+Henrique"].label)
        chrome.find_element(By.ID, "am-analyse").click()
        WebDriverWait(chrome, 120, poll_frequency=0.5).until(lambda d: "tone sad" in summary())
        WebDriverWait(chrome, 30).until(lambda d: plot_src("#am-t2a") and plot_src("#am-a2t"))
        WebDriverWait(chrome, 30).until(  # 11 words and the header
            lambda d: (
                js("return document.querySelector('#am-spans [role=grid]')?.getAttribute('aria-rowcount')")
                == "12"
            )
        )
        assert "from text + audio" in summary() and "Henrique" in summary()
        scores = js("return document.querySelector('#am-label')?.innerText ?? ''")
        assert all(label in scores for label in MELD_EMOTIONS)
        time.sleep(0.5)
        shot = screenshot("attention-maps-result")

        # the maps fill the page's width, one under the other, the table under them
        rects = {
            e: js(f"return document.querySelector('{e}').getBoundingClientRect().toJSON()")
            for e in ("#am-t2a img", "#am-a2t img", "#am-spans", "#am-text")
        }
        width = js("return document.querySelector('.gradio-container').getBoundingClientRect().width")
        for plot in ("#am-t2a img", "#am-a2t img"):
            assert rects[plot]["width"] > 0.8 * width and rects[plot]["height"] > 250
        assert rects["#am-t2a img"]["bottom"] <= rects["#am-a2t img"]["top"] <= rects["#am-spans"]["top"]
        assert rects["#am-text"]["bottom"] < rects["#am-t2a img"]["top"]

        # another head redraws the maps from the last result, without running the model again
        before, text = plot_src("#am-t2a"), summary()
        choose("#am-head", "Head 2")
        WebDriverWait(chrome, 30).until(lambda d: plot_src("#am-t2a") not in ("", before))
        assert summary() == text
    assert shot.stat().st_size > 30_000
