"""text-audio-emotion model: the shared model mixin, config checks, attention maps, padding and missing modalities,
the fusion ablations, the loss and its regularisers, raw-waveform and Hub-backbone encoders, Auto registration."""

from __future__ import annotations

import pytest
import torch
from model_mixin import ModelTesterMixin
from text_audio_emotion_helpers import (
    SR,
    speechlike,
    tiny_audio_config,
    tiny_config,
    tiny_head,
    tiny_model,
    tiny_processor,
    tiny_text_config,
    tiny_tokenizer,
    tiny_wav2vec2_config,
)
from transformers import (
    AlbertConfig,
    AutoConfig,
    AutoModel,
    AutoModelForAudioClassification,
    AutoProcessor,
    BertConfig,
    BertModel,
    ResNetConfig,
    Wav2Vec2BertConfig,
    Wav2Vec2Config,
    Wav2Vec2Model,
)

from avzoo.models.text_audio_emotion import (
    FUSIONS,
    TextAudioEmotionConfig,
    TextAudioEmotionForSequenceClassification,
    TextAudioEmotionLossWeights,
    TextAudioEmotionModel,
    TextAudioEmotionProcessor,
    attention_entropy,
    text_audio_emotion_loss,
)

TEXTS = ["i am so happy today", "we lost", "the dog is calm and the cat is not", "terrible"]
SECONDS = [1.0, 0.45, 0.7, 0.3]


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny ops; a training job shares the CPU
    yield
    torch.set_num_threads(threads)


def batch(n: int = 2, processor: TextAudioEmotionProcessor | None = None, **kwargs) -> dict:
    """``n`` examples whose texts and clips all differ in length (so both sides are padded)."""
    processor = processor or tiny_processor()
    clips = [speechlike(s, seed=i) for i, s in enumerate(SECONDS[:n])]
    return dict(processor(TEXTS[:n], clips, sampling_rate=SR, **kwargs))


def run(model, inputs, **kwargs):
    with torch.no_grad():
        return model(**inputs, **kwargs)


def item(inputs: dict, i: int) -> dict:
    """Example ``i`` of a processor batch as a batch of one, without its text and audio padding."""
    n_tokens, n_frames = int(inputs["attention_mask"][i].sum()), int(inputs["audio_attention_mask"][i].sum())
    out = {}
    for key, value in inputs.items():
        value = value[i : i + 1]
        if key in ("input_ids", "attention_mask", "token_type_ids"):
            value = value[:, :n_tokens]
        elif key in ("input_features", "input_values", "audio_attention_mask"):
            value = value[:, :n_frames]
        out[key] = value
    return out


# --- the shared model tests ------------------------------------------------------------------------------------------


class TestTextAudioEmotionModel(ModelTesterMixin):
    model_class = TextAudioEmotionModel
    config_class = TextAudioEmotionConfig
    output_key = "logits"
    atol = 1e-4
    rtol = 1e-4

    def get_config(self) -> TextAudioEmotionConfig:
        return tiny_config()

    def get_model(self) -> TextAudioEmotionModel:
        return tiny_model(self.seed)

    def get_inputs(self, batch_size: int) -> dict:
        return batch(batch_size, gender=["female", None, "male"][:batch_size], pitch_band="high")

    def get_feature_extractor(self) -> TextAudioEmotionProcessor:
        return tiny_processor(max_text_length=48, max_audio_seconds=12.5, min_speech_peak=0.01)

    def single_item_inputs(self, inputs, i):
        return item(inputs, i)

    def batch_item_output(self, output, i, inputs):
        return output[i : i + 1]  # (B, num_labels): no time axis to crop

    # The subprocess load where avzoo is blocked runs in test_text_audio_emotion_hub.py (one interpreter, not two).
    test_remote_code_without_avzoo = None


# --- configuration ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"fusion": "late"}, "fusion must be one of"),
        ({"fusion": "Bidirectional"}, "fusion must be one of"),
        ({"hidden_size": 18, "num_attention_heads": 4}, r"hidden_size \(18\) must be a multiple"),
        ({"num_attention_heads": 0}, "num_attention_heads must be a positive integer"),
        ({"num_cross_layers": True}, "num_cross_layers must be a positive integer"),
        ({"temperature": 0.01}, r"temperature must be in \[0.05, 20\]"),
        ({"temperature": 25.0}, r"temperature must be in \[0.05, 20\]"),
        ({"temperature": "1"}, "temperature must be in"),
        ({"hidden_dropout": 1.0}, r"hidden_dropout must be in \[0, 1\)"),
        ({"text_config": ResNetConfig().to_dict()}, r"text_config \(resnet\) has no integer hidden_size"),
        ({"audio_config": ResNetConfig()}, r"audio_config \(resnet\) has no integer hidden_size"),
        ({"text_config": {"hidden_size": 32}}, "text_config must be a transformers config or a dict"),
        ({"audio_config": "wav2vec2"}, "audio_config must be a transformers config or a dict"),
    ],
)
def test_config_rejects_bad_fields(overrides, message):
    with pytest.raises(ValueError, match=message):
        tiny_config(**overrides)


def test_config_accepts_the_edges_of_the_temperature_range():
    assert tiny_config(temperature=0.05).temperature == 0.05
    assert tiny_config(temperature=20).temperature == 20


def test_config_defaults_and_sub_configs_survive_save_and_load(tmp_path):
    default = TextAudioEmotionConfig()
    assert isinstance(default.text_config, AlbertConfig) and default.text_config.vocab_size == 14817
    assert isinstance(default.audio_config, Wav2Vec2BertConfig) and default.audio_config.hidden_size == 128
    assert default.fusion == "bidirectional" and default.num_labels == 7

    config = tiny_config(fusion="audio_to_text", temperature=2.5, num_cross_layers=2, use_metadata=False)
    config.save_pretrained(tmp_path)
    loaded = TextAudioEmotionConfig.from_pretrained(tmp_path)
    assert isinstance(loaded.text_config, AlbertConfig) and isinstance(
        loaded.audio_config, Wav2Vec2BertConfig
    )
    assert loaded.text_config.to_dict() == config.text_config.to_dict()
    assert loaded.audio_config.to_dict() == config.audio_config.to_dict()
    for name in ("fusion", "temperature", "num_cross_layers", "use_metadata", "hidden_size"):
        assert getattr(loaded, name) == getattr(config, name), name


def test_model_save_and_load_gives_the_same_logits(tmp_path):
    model = tiny_model(fusion="text_to_audio", num_cross_layers=2, temperature=0.5)
    inputs = batch(3, age_group=["young", "senior", None])
    expected = run(model, inputs)
    model.save_pretrained(tmp_path)
    loaded = TextAudioEmotionModel.from_pretrained(tmp_path).eval()
    got = run(loaded, inputs)
    torch.testing.assert_close(got.logits, expected.logits, atol=0, rtol=0)
    assert len(got.text_to_audio_attentions) == 2 and got.audio_to_text_attentions == ()
    assert float(got.temperature) == pytest.approx(0.5)


# --- forward ----------------------------------------------------------------------------------------------------------


def test_forward_shapes():
    config = tiny_config(num_cross_layers=2, temperature=2.0)
    torch.manual_seed(0)
    model = TextAudioEmotionModel(config).eval()
    inputs = batch(3)
    out = run(model, inputs)
    b, length = inputs["input_ids"].shape
    frames = inputs["input_features"].shape[1]
    assert out.logits.shape == (b, 7)
    assert len(out.text_to_audio_attentions) == len(out.audio_to_text_attentions) == 2
    for t2a, a2t in zip(out.text_to_audio_attentions, out.audio_to_text_attentions, strict=True):
        assert t2a.shape == (b, 2, length, frames) and a2t.shape == (b, 2, frames, length)
    assert out.text_mask.shape == (b, length) and out.audio_mask.shape == (b, frames)
    assert torch.equal(out.text_mask, inputs["attention_mask"].bool())
    assert torch.equal(out.audio_mask, inputs["audio_attention_mask"].bool())
    assert out.pooled.shape == (b, 4 * 16)
    assert out.temperature.shape == () and float(out.temperature) == pytest.approx(2.0)
    assert isinstance(run(model, inputs, return_dict=False), tuple)


def test_forward_rejects_bad_shapes_and_missing_audio():
    model = tiny_model()
    inputs = batch(2)
    with pytest.raises(ValueError, match=r"input_features .* or input_values"):
        model(input_ids=inputs["input_ids"])
    with pytest.raises(ValueError, match="same B"):
        model(input_ids=inputs["input_ids"][:1], input_features=inputs["input_features"])


def test_attention_maps_are_distributions_over_unmasked_keys():
    out = run(tiny_model(num_cross_layers=2), inputs := batch(4))
    text_mask, audio_mask = inputs["attention_mask"].bool(), inputs["audio_attention_mask"].bool()
    assert not text_mask.all() and not audio_mask.all()  # both sides really are padded
    for t2a, a2t in zip(out.text_to_audio_attentions, out.audio_to_text_attentions, strict=True):
        assert (t2a >= 0).all() and (a2t >= 0).all()
        torch.testing.assert_close(t2a.sum(-1), torch.ones(t2a.shape[:-1]))
        torch.testing.assert_close(a2t.sum(-1), torch.ones(a2t.shape[:-1]))
        assert (t2a.masked_select(~audio_mask[:, None, None, :].expand_as(t2a)) == 0).all()
        assert (a2t.masked_select(~text_mask[:, None, None, :].expand_as(a2t)) == 0).all()
        assert (t2a.masked_select(audio_mask[:, None, None, :].expand_as(t2a)) > 0).all()


def test_a_clip_alone_matches_it_padded_in_a_batch():
    model = tiny_model()
    inputs = batch(4, gender=["female", "male", None, "female"])
    together = run(model, inputs)
    for i in range(4):
        alone = run(model, item(inputs, i))
        torch.testing.assert_close(alone.logits, together.logits[i : i + 1], atol=1e-4, rtol=0)
        n, f = alone.text_mask.shape[1], alone.audio_mask.shape[1]
        torch.testing.assert_close(
            alone.text_to_audio_attentions[0][0],
            together.text_to_audio_attentions[0][i, :, :n, :f],
            atol=1e-4,
            rtol=0,
        )
        torch.testing.assert_close(
            alone.audio_to_text_attentions[0][0],
            together.audio_to_text_attentions[0][i, :, :f, :n],
            atol=1e-4,
            rtol=0,
        )


def test_padding_values_do_not_leak():
    model = tiny_model()
    inputs = batch(2)
    expected = run(model, inputs).logits
    noisy = dict(inputs)
    pad_frames = ~inputs["audio_attention_mask"].bool()
    noisy["input_features"] = inputs["input_features"].masked_fill(pad_frames[..., None], 7.0)
    noisy["input_ids"] = inputs["input_ids"].masked_fill(~inputs["attention_mask"].bool(), 5)
    torch.testing.assert_close(run(model, noisy).logits, expected, atol=1e-4, rtol=0)


def test_missing_text_ignores_the_text():
    model = tiny_model()
    processor = tiny_processor()
    clip = speechlike(0.8, seed=3)
    a = dict(processor("i am so happy today", clip, sampling_rate=SR))
    b = dict(processor("the dog was terrible", clip, sampling_rate=SR))
    # with the text present, the words matter ...
    assert (run(model, a).logits - run(model, b).logits).abs().max() > 1e-4
    # ... marked missing, they do not (nor does their length)
    a["has_text"] = b["has_text"] = torch.tensor([False])
    out_a, out_b = run(model, a), run(model, b)
    assert torch.isfinite(out_a.logits).all()
    torch.testing.assert_close(out_a.logits, out_b.logits, atol=1e-6, rtol=0)
    assert out_a.text_mask.tolist() == [[True] + [False] * (a["input_ids"].shape[1] - 1)]
    # every audio frame attends to the one "missing" token
    assert torch.equal(
        out_a.audio_to_text_attentions[0][..., 0], torch.ones_like(out_a.audio_to_text_attentions[0][..., 0])
    )


def test_missing_audio_ignores_the_audio():
    model = tiny_model()
    processor = tiny_processor()
    a = dict(processor("we won today", speechlike(0.8, seed=1), sampling_rate=SR))
    b = dict(processor("we won today", speechlike(0.5, seed=2), sampling_rate=SR))
    assert (run(model, a).logits - run(model, b).logits).abs().max() > 1e-4
    a["has_audio"] = b["has_audio"] = torch.tensor([False])
    out_a, out_b = run(model, a), run(model, b)
    assert torch.isfinite(out_a.logits).all()
    torch.testing.assert_close(out_a.logits, out_b.logits, atol=1e-6, rtol=0)
    t2a = out_a.text_to_audio_attentions[0]
    assert torch.equal(t2a[..., 0], torch.ones_like(t2a[..., 0]))
    # the processor marks a text-only example the same way
    text_only = processor("we won today", None)
    assert text_only["has_audio"].tolist() == [False] and text_only["has_text"].tolist() == [True]
    torch.testing.assert_close(run(model, dict(text_only)).logits, out_a.logits, atol=1e-6, rtol=0)


def test_metadata_changes_the_answer_and_can_be_turned_off():
    model = tiny_model()
    with torch.no_grad():  # fresh embeddings are tiny: make them count
        for emb in (model.gender_embedding, model.age_embedding, model.pitch_embedding):
            emb.weight.normal_(0, 1)
    unknown = run(model, batch(1)).logits
    female = run(model, batch(1, gender="female")).logits
    assert (unknown - female).abs().max() > 1e-3
    as_index = run(model, batch(1, gender=1)).logits
    torch.testing.assert_close(as_index, female, atol=0, rtol=0)
    plain = tiny_model(use_metadata=False)
    assert not hasattr(plain, "gender_embedding")
    torch.testing.assert_close(
        run(plain, batch(1, gender="female")).logits, run(plain, batch(1)).logits, atol=0, rtol=0
    )


@pytest.mark.parametrize("fusion", FUSIONS)
def test_each_fusion_runs_and_returns_its_maps(fusion):
    model = tiny_model(fusion=fusion, num_cross_layers=2)
    out = run(model, inputs := batch(2))
    t2a_on = fusion in ("bidirectional", "text_to_audio")
    a2t_on = fusion in ("bidirectional", "audio_to_text")
    assert len(out.text_to_audio_attentions) == (2 if t2a_on else 0)
    assert len(out.audio_to_text_attentions) == (2 if a2t_on else 0)
    assert out.logits.shape == (2, 7) and torch.isfinite(out.logits).all()
    names = [n for n, _ in model.named_parameters()]
    assert any(n.startswith("text_to_audio.") for n in names) is t2a_on
    assert any(n.startswith("audio_to_text.") for n in names) is a2t_on
    # the head always reads [T_att, A_att, T_raw, A_raw]; with a direction off its side passes through raw
    d = model.config.hidden_size
    pooled = out.pooled
    if not t2a_on:
        torch.testing.assert_close(pooled[:, :d], pooled[:, 2 * d : 3 * d])
    else:
        assert not torch.allclose(pooled[:, :d], pooled[:, 2 * d : 3 * d])
    if not a2t_on:
        torch.testing.assert_close(pooled[:, d : 2 * d], pooled[:, 3 * d :])
    # the processor reads whatever maps there are
    maps = tiny_processor().attention_maps(out, inputs, 0)
    assert maps["text_to_audio"].shape[:2] == ((2, 2) if t2a_on else (0,))
    assert (len(maps["word_spans"]) > 0) is t2a_on


# --- the loss ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("labels", [[0, 7], [-1, 2], [[0], [1], [2]]])
def test_loss_rejects_bad_labels(labels):
    model = tiny_head().eval()
    with pytest.raises(ValueError, match="labels must be"):
        model(**batch(2), labels=torch.tensor(labels))


def test_head_returns_the_loss_of_its_logits():
    model = tiny_head().eval()
    inputs = batch(2)
    labels = torch.tensor([3, 5])
    out = model(**inputs, labels=labels, loss_weights=TextAudioEmotionLossWeights(label_smoothing=0.0))
    expected = torch.nn.functional.cross_entropy(out.logits, labels)
    torch.testing.assert_close(out.loss, expected)
    assert model(**inputs).loss is None
    assert isinstance(model(**inputs, labels=labels, return_dict=False), tuple)


def test_regularisers_are_finite_and_move_the_loss():
    model = tiny_head().eval()
    inputs = batch(3)
    labels = torch.tensor([0, 3, 6])
    with torch.no_grad():
        out = model.text_audio_emotion(**inputs)
    plain = text_audio_emotion_loss(out, labels, TextAudioEmotionLossWeights())
    assert float(plain.entropy) == 0 and float(plain.alignment) == 0
    assert float(plain.total) == pytest.approx(float(plain.classification))
    weights = TextAudioEmotionLossWeights(entropy=0.5, alignment=2.0)
    parts = text_audio_emotion_loss(out, labels, weights)
    assert all(torch.isfinite(x) for x in (parts.total, parts.entropy, parts.alignment))
    assert 0 < float(parts.entropy) <= 1 and 0 < float(parts.alignment) <= 2
    assert float(parts.total) == pytest.approx(
        float(parts.classification) + 0.5 * float(parts.entropy) + 2.0 * float(parts.alignment), rel=1e-5
    )
    assert float(parts.total) > float(plain.total)
    negative = text_audio_emotion_loss(out, labels, TextAudioEmotionLossWeights(entropy=-0.5))
    assert float(negative.total) < float(plain.total)
    # alignment needs both directions: with one it is 0 whatever its weight
    one_way = tiny_head(fusion="text_to_audio").eval()
    with torch.no_grad():
        out = one_way.text_audio_emotion(**inputs)
    assert float(text_audio_emotion_loss(out, labels, weights).alignment) == 0


def test_entropy_of_uniform_and_one_hot_rows():
    key_mask = torch.tensor([[True, True, True, True, False]])
    query_mask = torch.tensor([[True, True, False]])
    uniform = torch.zeros(1, 2, 3, 5)
    uniform[..., :4] = 0.25
    uniform[:, :, 2] = torch.tensor([1.0, 0, 0, 0, 0])  # a padded query: not counted
    assert float(attention_entropy(uniform, query_mask, key_mask)) == pytest.approx(1.0)
    one_hot = torch.zeros(1, 2, 3, 5)
    one_hot[..., 1] = 1.0
    assert float(attention_entropy(one_hot, query_mask, key_mask)) == pytest.approx(0.0, abs=1e-6)


def test_gradients_reach_the_learned_temperature_and_both_encoders():
    model = tiny_head().train()
    weights = TextAudioEmotionLossWeights(entropy=0.1, alignment=0.1)
    loss = model(**batch(2), labels=torch.tensor([1, 4]), loss_weights=weights).loss
    loss.backward()
    inner = model.text_audio_emotion
    grad = inner.log_temperature.grad
    assert grad is not None and torch.isfinite(grad) and float(grad.abs()) > 0
    for encoder in (inner.text_encoder, inner.audio_encoder):
        grads = [p.grad for p in encoder.parameters() if p.grad is not None]
        assert grads and any(float(g.abs().sum()) > 0 for g in grads)
    # a step moves the temperature
    before = float(inner.temperature.detach())
    torch.optim.SGD([inner.log_temperature], lr=10.0).step()
    assert float(inner.temperature.detach()) != before


# --- other encoders ---------------------------------------------------------------------------------------------------


def test_raw_waveform_wav2vec2_encoder():
    torch.manual_seed(0)
    model = TextAudioEmotionModel(tiny_config(audio_config=tiny_wav2vec2_config())).eval()
    processor = tiny_processor(raw=True)
    clips = [speechlike(0.6, seed=0), speechlike(0.35, seed=1)]
    inputs = dict(processor(["i am so happy", "we lost"], clips, sampling_rate=SR))
    assert "input_values" in inputs and "input_features" not in inputs
    assert inputs["input_values"].shape == (2, int(0.6 * SR))
    out = run(model, inputs)
    assert torch.isfinite(out.logits).all() and out.logits.shape == (2, 7)
    frames = model.audio_encoder._get_feat_extract_output_lengths(inputs["audio_attention_mask"].sum(1))
    assert out.audio_mask.shape[1] == int(frames.max()) and out.audio_mask.sum(1).tolist() == frames.tolist()
    t2a = out.text_to_audio_attentions[0]
    assert t2a.shape[-1] == out.audio_mask.shape[1]
    assert (t2a[1, ..., int(frames[1]) :] == 0).all()
    # the short clip alone gives what it gives padded in the batch
    alone = run(model, dict(processor("we lost", clips[1], sampling_rate=SR)))
    torch.testing.assert_close(alone.logits, out.logits[1:], atol=1e-4, rtol=0)


def _save_tiny_bert(folder, layers: int = 2):
    torch.manual_seed(11)
    config = BertConfig(
        vocab_size=len(tiny_tokenizer()), hidden_size=24, num_hidden_layers=layers, num_attention_heads=2,
        intermediate_size=48, max_position_embeddings=64,
    )  # fmt: skip
    model = BertModel(config).eval()
    model.save_pretrained(folder)
    return model


def _save_tiny_wav2vec2(folder):
    torch.manual_seed(12)
    model = Wav2Vec2Model(Wav2Vec2Config(**tiny_wav2vec2_config())).eval()
    model.save_pretrained(folder)
    return model


def test_hub_backbones_from_local_folders(tmp_path):
    bert = _save_tiny_bert(tmp_path / "bert")
    wav2vec2 = _save_tiny_wav2vec2(tmp_path / "wav2vec2")
    config = TextAudioEmotionConfig.from_encoders(
        str(tmp_path / "bert"), str(tmp_path / "wav2vec2"), hidden_size=16, num_attention_heads=2,
        classifier_hidden_size=16, fusion="audio_to_text",
    )  # fmt: skip
    assert isinstance(config.text_config, BertConfig) and config.text_config.hidden_size == 24
    assert isinstance(config.audio_config, Wav2Vec2Config) and config.fusion == "audio_to_text"
    torch.manual_seed(0)
    model = TextAudioEmotionModel(config).eval()
    assert isinstance(model.text_encoder, BertModel) and isinstance(model.audio_encoder, Wav2Vec2Model)
    name = "embeddings.word_embeddings.weight"  # fresh weights, until loaded
    assert not torch.equal(model.text_encoder.state_dict()[name], bert.state_dict()[name])
    model.load_encoders(str(tmp_path / "bert"), str(tmp_path / "wav2vec2"))
    for encoder, saved in ((model.text_encoder, bert), (model.audio_encoder, wav2vec2)):
        state = encoder.state_dict()
        assert set(state) == set(saved.state_dict())
        for key, value in saved.state_dict().items():
            assert torch.equal(state[key], value), key
    processor = tiny_processor(raw=True)
    out = run(
        model, dict(processor(["i am so happy", ""], [speechlike(0.5), speechlike(0.4)], sampling_rate=SR))
    )
    assert torch.isfinite(out.logits).all() and len(out.audio_to_text_attentions) == 1


def test_load_encoders_refuses_a_checkpoint_that_lacks_weights(tmp_path):
    _save_tiny_bert(tmp_path / "bert2", layers=2)
    _save_tiny_bert(tmp_path / "bert1", layers=1)
    config = TextAudioEmotionConfig.from_encoders(
        str(tmp_path / "bert2"), str(tmp_path / "bert2"), hidden_size=16, num_attention_heads=2
    )
    model = TextAudioEmotionModel(config)
    with pytest.raises(ValueError, match=r"lacks \d+ weights of text_encoder"):
        model.load_encoders(text_encoder=str(tmp_path / "bert1"))


# --- registration -----------------------------------------------------------------------------------------------------


def test_auto_classes_resolve_after_import(tmp_path):
    import avzoo  # noqa: F401  (registers every family)

    config = AutoConfig.for_model(
        "text-audio-emotion", text_config=tiny_text_config(), audio_config=tiny_audio_config()
    )
    assert type(config) is TextAudioEmotionConfig
    assert type(AutoModel.from_config(config)) is TextAudioEmotionModel
    head = AutoModelForAudioClassification.from_config(config)
    assert type(head) is TextAudioEmotionForSequenceClassification
    tiny_model().save_pretrained(tmp_path)
    tiny_processor(max_audio_seconds=3.0).save_pretrained(tmp_path)
    assert type(AutoConfig.from_pretrained(tmp_path)) is TextAudioEmotionConfig
    assert type(AutoModel.from_pretrained(tmp_path)) is TextAudioEmotionModel
    processor = AutoProcessor.from_pretrained(tmp_path)
    assert type(processor) is TextAudioEmotionProcessor and processor.max_audio_seconds == 3.0
