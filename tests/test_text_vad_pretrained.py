"""The bundled text-vad checkpoint: it ships complete, loads the plain way and meets floors on held-out sentences.

The bundle is part of the package, so a missing or incomplete folder fails here (nothing skips, except the EmoBank
check, which needs ``../shared/data``). Held-out data:

* ``HAND_WRITTEN``: sentences written for this test, in no template and no training set; the checks are only
  what any reader would agree with (good news reads more positive than bad news, a fire alarm more aroused than a
  nap, being in charge more dominant than being helpless);
* ``tests/fixtures/text_vad_teacher_targets.json``: the teacher's outputs on 200 held-out synthetic sentences;
* EmoBank ``dev`` (human ratings, never trained on), when ``../shared/data`` is present.

Floors are regression guards set below the numbers measured at release (``benchmarks/results/text_vad.json``);
the issue's bars are reported in the card, with the ones missed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from transformers import AutoModel, AutoProcessor, pipeline

import avzoo  # noqa: F401  (registers text-vad)
from avzoo.evaluation.text_vad import predict
from avzoo.families import get_family
from avzoo.models.av_lipsync import AvLipsyncProcessor
from avzoo.pipelines.text_to_vad import TASK, text_condition_track

BUNDLE = get_family("text-vad").checkpoint
FIXTURE = Path(__file__).parent / "fixtures" / "text_vad_teacher_targets.json"
EMOBANK = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "real-text"
    / "emobank"
    / "emobank_train_dev.csv"
)
BUNDLE_FILES = {
    "config.json",
    "model.safetensors",
    "processor_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "README.md",
    "eval_results.json",
}
DIMS = ("valence", "arousal", "dominance")

#: Written for this test; in no template and no training set.
HAND_WRITTEN = {
    "positive": [
        "The surprise party was wonderful and everyone laughed all night.",
        "I finally got the scholarship I had dreamed about for years!",
        "Thank you so much, this gift made my whole week.",
        "Our baby daughter smiled at me for the first time.",
        "The sunset over the lake was absolutely beautiful.",
        "We are thrilled to announce that the project succeeded.",
        "She hugged me and told me how proud she was of me.",
        "What a delightful, relaxing holiday that was.",
    ],
    "negative": [
        "My grandmother passed away last night after a long illness.",
        "The flood destroyed our house and everything we owned.",
        "He betrayed my trust and I can never forgive him.",
        "I failed the exam again and feel completely worthless.",
        "The company fired hundreds of workers without any warning.",
        "Nobody answered when I called for help in the dark.",
        "The food was disgusting and the waiter was rude to us.",
        "I am furious that they cancelled the concert at the last minute.",
    ],
    "aroused": [
        "Run, the building is on fire!",
        "I screamed with excitement when our team scored in the final second!",
        "He slammed the door and shouted at everyone in the room.",
        "The crowd went wild as the fireworks exploded overhead.",
        "Watch out, the car is heading straight for us!",
    ],
    "calm": [
        "The cat dozed quietly on the warm windowsill.",
        "We sat by the fire and slowly sipped our tea.",
        "The afternoon passed gently with soft rain outside.",
        "She read her book in the quiet library until evening.",
        "The lake was still and the air was mild.",
    ],
    "dominant": [
        "I am in charge here and I will make the final decision.",
        "We won the championship and proved we are the strongest team.",
        "She confidently took control of the negotiation.",
        "I stood my ground and they backed down.",
    ],
    "submissive": [
        "I felt helpless and small as they ignored my pleas.",
        "There was nothing I could do; they controlled everything.",
        "He was too frightened to say a word to his boss.",
        "I begged them to stop but nobody listened to me.",
    ],
}

# Regression floors, below the release's measurements (in brackets; benchmarks/results/text_vad.json for the rest).
FLOORS = {
    "valence_gap": 0.25,  # mean valence of the positive sentences minus the negative ones [0.38]
    "arousal_gap": 0.1,  # aroused minus calm [0.20]
    "dominance_gap": 0.04,  # dominant minus submissive [0.075]
    "teacher_r": {
        "valence": 0.97,
        "arousal": 0.97,
        "dominance": 0.95,
    },  # fixture sentences [0.991, 0.991, 0.983]
    "emotion_accuracy": 0.97,  # fixture sentences, their words' emotion [1.0]
    "emobank_dev_r": {"valence": 0.5, "arousal": 0.4, "dominance": 0.22},  # [0.547, 0.446, 0.275]
}


@pytest.fixture(scope="module")
def loaded():
    model = AutoModel.from_pretrained(str(BUNDLE)).eval()
    processor = AutoProcessor.from_pretrained(str(BUNDLE))
    return model, processor


def test_bundle_is_complete_small_and_says_its_licence():
    assert {p.name for p in BUNDLE.iterdir()} == BUNDLE_FILES
    assert not list(BUNDLE.glob("*.py")), "a bundle holds no code"
    assert (BUNDLE / "model.safetensors").stat().st_size < 8 * 2**20
    card = (BUNDLE / "README.md").read_text()
    assert "license: cc-by-sa-4.0" in card and "CC BY-SA 4.0" in card and "EmoBank" in card
    assert "Russell" in card  # where the emotions' VAD anchors come from


def test_loads_through_the_hub_id_and_the_pipeline(loaded):
    model, processor = loaded
    assert type(model).__name__ == "TextVadModel" and type(processor).__name__ == "TextVadProcessor"
    assert model.config.num_hidden_layers > 1 and model.albert.config.num_hidden_groups == 1  # shared layers
    vad = pipeline(TASK, model="avzoo/text-vad")
    out = vad("What a wonderful day!")
    assert out["valence"] > 0 and set(DIMS) <= set(out)


def test_hand_written_sentences_get_plausible_vad(loaded):
    model, processor = loaded
    mean = {}
    for group, texts in HAND_WRITTEN.items():
        vad, _ = predict(model, processor, texts)
        mean[group] = vad.mean(0)
        assert np.isfinite(vad).all() and (np.abs(vad) <= 1).all()
    assert mean["positive"][0] - mean["negative"][0] >= FLOORS["valence_gap"], mean
    positive, _ = predict(model, processor, HAND_WRITTEN["positive"])
    negative, _ = predict(model, processor, HAND_WRITTEN["negative"])
    assert (positive[:, 0] > 0).all() and (negative[:, 0] < 0).all(), (positive[:, 0], negative[:, 0])
    assert mean["aroused"][1] - mean["calm"][1] >= FLOORS["arousal_gap"], mean
    assert mean["dominant"][2] - mean["submissive"][2] >= FLOORS["dominance_gap"], mean


def test_student_follows_the_stored_teacher_targets(loaded):
    model, processor = loaded
    rows = json.loads(FIXTURE.read_text())["rows"]
    vad, probs = predict(model, processor, [r["text"] for r in rows])
    teacher = np.array([r["teacher_vad"] for r in rows])
    for k, d in enumerate(DIMS):
        r = np.corrcoef(vad[:, k], teacher[:, k])[0, 1]
        assert r >= FLOORS["teacher_r"][d], f"{d}: r {r:.3f} with the teacher"
    truth = np.array([processor.emotion_labels.index(r["emotion"]) for r in rows])
    assert (probs.argmax(1) == truth).mean() >= FLOORS["emotion_accuracy"]


def test_emobank_dev_against_human_ratings(loaded):
    if not EMOBANK.is_file():
        pytest.skip(
            f"EmoBank is not at {EMOBANK} (../shared/data/real-text/emobank): the real-text check is skipped"
        )
    model, processor = loaded
    dev = pd.read_csv(EMOBANK, keep_default_na=False)
    dev = dev[(dev["split"] == "dev") & dev["text"].astype(str).str.contains("[A-Za-z]", regex=True)]
    vad, _ = predict(model, processor, dev["text"].astype(str).str.strip().tolist())
    human = (dev[["V", "A", "D"]].to_numpy(float) - 3) / 2
    for k, d in enumerate(DIMS):
        r = np.corrcoef(vad[:, k], human[:, k])[0, 1]
        assert r >= FLOORS["emobank_dev_r"][d], f"{d}: r {r:.3f} with EmoBank dev ratings"


def test_non_english_text_is_scored_near_neutral(loaded):
    """Documented behaviour, not a promise of meaning: the student reads only English word pieces."""
    model, processor = loaded
    vad, _ = predict(
        model, processor, ["Je suis très heureux aujourd'hui", "Ich bin so traurig", "今日はとても嬉しい"]
    )
    assert np.isfinite(vad).all() and (np.abs(vad) < 0.2).all(), vad


def test_condition_track_from_text_changes_with_the_feeling():
    processor = AvLipsyncProcessor()
    happy = text_condition_track("What a wonderful surprise, I love it!", 30, 30, processor)
    sad = text_condition_track("My dog died and I miss him terribly.", 30, 30, processor)
    turn = text_condition_track(
        "We won the final, I am so happy! But then my father fell ill.", 120, 30, processor
    )
    for track in (happy, sad, turn):
        assert track.shape == (track.shape[0], 12) and np.isfinite(track).all()
    assert happy[0, 8] > sad[0, 8] + 0.2  # valence entry
    assert turn[0, 8] > turn[-1, 8]  # the face turns with the text
    assert not text_condition_track(
        "🙂", 30, 30, processor
    ).any()  # no words: the neutral, all-zeros condition


def test_bundled_card_is_the_rendered_one():
    """The card in the bundle and in model_cards/ is what the template renders from the release's JSON files."""
    from avzoo.release import CARDS_DIR, render_card

    card = render_card("text-vad")
    assert (CARDS_DIR / "text-vad.md").read_text() == card
    assert (BUNDLE / "README.md").read_text() == card
