"""The bundled text-audio-emotion checkpoint: it ships complete, loads the plain way and meets floors on held-out
synthetic speech.

The bundle is part of the package, so a missing or incomplete folder fails here (nothing skips). Held-out data: the
first ``N_ROWS`` rows of the ``test`` split of :mod:`avzoo.synth.emotion_speech` with its default config (speakers,
voices and sentences no training row has), synthesised here with espeak-ng/flite (about 30 ms a row).

Floors are regression guards set below the numbers measured at release on the whole test split (the card,
``avzoo/pretrained/text-audio-emotion/eval_results.json``); the issue's bars are reported in the card, with the ones
missed.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from transformers import AutoModel, AutoProcessor, pipeline

import avzoo  # noqa: F401  (registers the family)
from avzoo.evaluation.text_audio_emotion import predict
from avzoo.families import get_family
from avzoo.pipelines.text_audio_emotion import TASK
from avzoo.synth.emotion_speech import EmotionSpeechConfig, emotion_speech_features, make_row

BUNDLE = get_family("text-audio-emotion").checkpoint
BUNDLE_FILES = {
    "config.json",
    "model.safetensors",
    "processor_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "README.md",
    "eval_results.json",
}
N_ROWS = 84
#: Floors (accuracy on these rows; at release: overall 0.62, congruent 1.0, text only on congruent 1.0). The audio
#: path alone is at chance at release (14 % here, 18.7 % on the whole test split: the card's main finding), so it
#: has no floor to guard; the pipeline test checks that it answers.
FLOORS = {"overall": 0.5, "congruent": 0.9, "text_only_congruent": 0.9}


def test_bundle_ships_complete():
    present = {p.name for p in BUNDLE.iterdir()}
    assert present >= BUNDLE_FILES, f"missing {sorted(BUNDLE_FILES - present)}"
    assert not [p for p in present if p.endswith((".py", ".bin", ".pt"))]


@pytest.fixture(scope="module")
def bundle():
    torch.manual_seed(0)
    model = AutoModel.from_pretrained("avzoo/text-audio-emotion").eval()
    return model, AutoProcessor.from_pretrained("avzoo/text-audio-emotion")


@pytest.fixture(scope="module")
def heldout():
    config = EmotionSpeechConfig()
    names = emotion_speech_features()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        rows = [make_row(config, "test", i) for i in range(N_ROWS)]
    meta = {k: [names[k].int2str(r[k]) for r in rows] for k in ("gender", "age_group", "pitch_band")}
    return {
        "texts": [r["text"] for r in rows],
        "audios": [r["audio"]["array"] for r in rows],
        "labels": np.array([r["label"] for r in rows]),
        "conditions": np.array([r["condition"] for r in rows]),
        "metadata": meta,
    }


def _accuracy(model, processor, heldout, texts, audios, keep=None):
    probs = predict(model, processor, texts, audios, heldout["metadata"], batch_size=12)["probs"]
    hit = probs.argmax(-1) == heldout["labels"]
    return float(hit[keep].mean() if keep is not None else hit.mean())


def test_meets_floors_on_heldout_speech(bundle, heldout):
    model, processor = bundle
    n = len(heldout["texts"])
    congruent = heldout["conditions"] == "congruent"
    both = _accuracy(model, processor, heldout, heldout["texts"], heldout["audios"])
    assert both >= FLOORS["overall"], both
    assert (
        _accuracy(model, processor, heldout, heldout["texts"], heldout["audios"], congruent)
        >= FLOORS["congruent"]
    )
    text_only = _accuracy(model, processor, heldout, heldout["texts"], [None] * n, congruent)
    assert text_only >= FLOORS["text_only_congruent"], text_only


def test_pipeline_reports_modalities_and_maps(bundle, heldout):
    clf = pipeline(TASK, model="avzoo/text-audio-emotion")
    audio = heldout["audios"][0]
    out = clf({"text": heldout["texts"][0], "audio": audio, "sampling_rate": 16000}, return_attentions=True)
    assert out["modalities"] == ["text", "audio"]
    assert abs(sum(out["scores"].values()) - 1) < 1e-5
    maps = out["attentions"]
    n_tokens, n_frames = len(maps["tokens"]), len(maps["frame_times"])
    assert maps["text_to_audio"].shape[-2:] == (n_tokens, n_frames)
    assert np.allclose(maps["text_to_audio"].sum(-1), 1, atol=1e-4)
    assert maps["frame_times"][-1] <= len(audio) / 16000 + 0.05
    assert clf(text=heldout["texts"][0])["modalities"] == ["text"]
    assert clf(audio=audio, sampling_rate=16000)["modalities"] == ["audio"]
