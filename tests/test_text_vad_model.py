"""text-vad's model folder: config checks, the shared model tests, the loss, and the processor's bad-input rules."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from model_mixin import ModelTesterMixin, run_as_remote_code
from text_vad_helpers import tiny_config, tiny_model, tiny_processor, tiny_tokenizer

from avzoo.emotions import RAVDESS_EMOTIONS, VAD
from avzoo.models.text_vad import (
    TextVadConfig,
    TextVadForVadRegression,
    TextVadLossWeights,
    TextVadModel,
    has_words,
    text_vad_loss,
)


class TestTextVadModel(ModelTesterMixin):
    model_class = TextVadModel
    config_class = TextVadConfig
    output_key = "vad"

    def get_config(self):
        return tiny_config()

    def get_inputs(self, batch_size):
        texts = ["I am so happy today", "the dog is calm", "we lost", "terrible"][:batch_size]
        return dict(tiny_processor()(texts))

    def get_feature_extractor(self):
        return tiny_processor()

    @pytest.mark.slow
    def test_remote_code_without_avzoo(self, tmp_path):
        """As the mixin's, except that the tokenizer is transformers' own BertTokenizer (no copied code needed)."""
        model = self.get_model()
        inputs = self.get_inputs(self.batch_size)
        expected = self.forward(model, inputs)
        folder = self.save(model, tmp_path / "model")
        outputs, classes = run_as_remote_code(
            folder, tmp_path, self.remote_code_blocked, inputs, "AutoProcessor"
        )
        assert classes.pop("tokenizer").startswith("transformers.models.bert")
        assert set(classes) == {"config", "model", "preprocessor"}
        assert all(module.startswith("transformers_modules") for module in classes.values()), classes
        self.assert_close(outputs["vad"], expected["vad"], "remote-code output")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("hidden_size", 0, "hidden_size must be a positive integer"),
        ("num_attention_heads", 3, "multiple of num_attention_heads"),
        ("hidden_dropout_prob", 1.0, r"hidden_dropout_prob must be in \[0, 1\)"),
        ("pad_token_id", 10**6, "pad_token_id must be in"),
    ],
)
def test_config_rejects_bad_fields(field, value, message):
    with pytest.raises(ValueError, match=message):
        tiny_config(**{field: value})


def test_albert_shares_one_layer_and_factorises_embeddings():
    model = tiny_model()
    config = model.albert.config
    assert config.num_hidden_groups == 1 and config.num_hidden_layers == 2
    assert len(model.albert.encoder.albert_layer_groups) == 1
    assert model.albert.embeddings.word_embeddings.weight.shape == (len(tiny_tokenizer()), 8)


def test_head_returns_loss_and_trains():
    torch.manual_seed(0)
    model = TextVadForVadRegression(tiny_config()).train()
    batch = dict(tiny_processor()(["i am so happy", "i am so sad"]))
    labels = torch.tensor(
        [[0.8, 0.5, 0.4, *np.eye(8)[2]], [-0.7, -0.4, -0.4, *np.eye(8)[3]]], dtype=torch.float32
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(100):
        loss = model(**batch, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]
    model.eval()
    out = model(**batch)
    assert out.vad[0, 0] > 0.5 > -0.5 > out.vad[1, 0]
    assert out.emotion_logits.argmax(-1).tolist() == [2, 3]


def test_loss_skips_missing_parts():
    vad = torch.zeros(2, 3)
    logits = torch.zeros(2, 8)
    nan_emotion = [math.nan] * 8
    labels = torch.tensor([[0.5, 0.0, 0.0, *nan_emotion], [math.nan] * 3 + [1.0] + [0.0] * 7])
    loss = text_vad_loss(vad, logits, labels, TextVadLossWeights(vad=1.0, emotion=0.0))
    assert loss.vad.item() == pytest.approx(0.25 / 3)  # only row 0's VAD counts, row 1's is NaN
    assert loss.emotion.item() == pytest.approx(math.log(8))  # only row 1's emotion
    assert torch.isfinite(loss.total)
    with pytest.raises(ValueError, match="labels must be"):
        text_vad_loss(vad, logits, torch.zeros(2, 5))


def test_processor_saves_its_tables(tmp_path):
    processor = tiny_processor()
    assert processor.emotion_labels == list(RAVDESS_EMOTIONS)
    assert processor.emotion_vad == [list(VAD[e]) for e in RAVDESS_EMOTIONS]
    with pytest.raises(ValueError, match="no built-in VAD anchor"):
        tiny_processor(emotion_labels=["joy"])
    with pytest.raises(ValueError, match="one \\(valence"):
        tiny_processor(emotion_labels=["happy"], emotion_vad=[[2.0, 0.0, 0.0]])


@pytest.mark.parametrize("bad", [None, 3, b"bytes", [], ["ok", None]])
def test_processor_rejects_non_text(bad):
    with pytest.raises(ValueError, match="text must be"):
        tiny_processor()(bad)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", False),
        ("   ", False),
        ("🙂🎉😡", False),
        ("?!...", False),
        ("ok", True),
        ("日本語", True),
        ("42", True),
    ],
)
def test_has_words(text, words):
    assert has_words(text) is words


def test_post_process_neutral_for_wordless_text_and_flags_truncation():
    processor = tiny_processor()
    model = tiny_model()
    texts = ["", "🙂🙂🙂", "i am so happy", "happy " * 100]
    results = processor.post_process_vad(model(**processor(texts)), texts)
    for r in results[:2]:
        assert r["empty"] and (r["valence"], r["arousal"], r["dominance"]) == (0.0, 0.0, 0.0)
        assert r["emotion"] == "neutral" and r["scores"]["neutral"] == 1.0
    assert not results[2]["empty"] and not results[2]["truncated"]
    assert results[3]["truncated"]
    for r in results:
        assert all(math.isfinite(r[d]) and -1 <= r[d] <= 1 for d in ("valence", "arousal", "dominance"))
        assert sum(r["scores"].values()) == pytest.approx(1.0, abs=1e-5)
