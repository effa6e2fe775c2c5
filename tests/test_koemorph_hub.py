"""koemorph on the Hub: a code-less bundle pushed gets its remote code (model, processor, the shared pipeline and the
vendored avzoo modules) and loads where avzoo is blocked; a saved tiny folder serves ``"audio-to-blendshapes"``.
Pushes are intercepted at the HfApi level (test_hub's fixtures), nothing reaches the network."""

from __future__ import annotations

import json

import numpy as np
import pytest
import test_hub
import torch
from koemorph_helpers import SR, speechlike, tiny_model, tiny_processor
from model_mixin import run_as_remote_code
from safetensors.torch import load as load_safetensors
from transformers import AutoModel, AutoProcessor, pipeline

from avzoo import arkit
from avzoo.hub import check_self_contained, push_model, save_model_folder
from avzoo.models.koemorph import KoemorphModel, KoemorphProcessor
from avzoo.pipelines.audio_to_blendshapes import TASK, AudioToBlendshapesPipeline

# The fixtures of test_hub that intercept HfApi.create_repo / create_commit (offline: nothing reaches the network).
hub, offline = test_hub.hub, test_hub.offline
CARD = "---\nlicense: apache-2.0\ntags:\n- avzoo\n---\n# koemorph\n\nMeasured, not typed.\n"


def custom_processor() -> KoemorphProcessor:
    """Non-default normalisation, so a load that falls back to the defaults shows."""
    return tiny_processor(
        mel_mean=-7.0,
        mel_std=[3.5 + 0.01 * i for i in range(80)],
        egemaps_mean=[0.5 * i for i in range(88)],
        egemaps_std=[2.0 + 0.1 * i for i in range(88)],
    )


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A tiny koemorph saved the way the Hub gets it: model, processor and the family's pipeline."""
    return save_model_folder(tiny_model(), tmp_path_factory.mktemp("hub") / "koemorph", custom_processor())


def test_push_of_a_code_less_bundle_adds_remote_code_and_loads_without_avzoo(hub, tmp_path):
    bundle = tmp_path / "bundle"
    model, processor = tiny_model(), custom_processor()
    model.save_pretrained(bundle)
    processor.save_pretrained(bundle)
    (bundle / "README.md").write_text(CARD)
    push_model(bundle, "someone/koemorph")
    [commit] = hub["create_commit"]
    files = commit["files"]
    assert {
        "configuration_koemorph.py",
        "modeling_koemorph.py",
        "loss_koemorph.py",
        "processing_koemorph.py",
        "audio_to_blendshapes.py",
    } <= set(files)
    # What the model folder imports from avzoo travels with it.
    assert {
        "avzoo_arkit.py",
        "avzoo_io_audio.py",
        "avzoo_features_logmel.py",
        "avzoo_features_egemaps.py",
    } <= set(files)
    assert {"config.json", "model.safetensors", "preprocessor_config.json"} <= set(files)
    assert not any(name.endswith((".bin", ".pt", ".pkl")) for name in files)
    assert files["README.md"].decode() == CARD
    config = json.loads(files["config.json"])
    assert config["auto_map"]["AutoModel"] == "modeling_koemorph.KoemorphModel"
    assert config["custom_pipelines"][TASK]["impl"] == "audio_to_blendshapes.AudioToBlendshapesPipeline"
    preprocessor = json.loads(files["preprocessor_config.json"])
    assert preprocessor["auto_map"] == {"AutoFeatureExtractor": "processing_koemorph.KoemorphProcessor"}
    assert preprocessor["egemaps_mean"] == processor.egemaps_mean
    weights = load_safetensors(files["model.safetensors"])
    for name, tensor in model.state_dict().items():
        assert torch.equal(weights[name], tensor), name
    assert {p.name for p in bundle.iterdir()} == {
        "config.json",
        "model.safetensors",
        "preprocessor_config.json",
        "README.md",
    }

    # The pushed folder loads as remote code in a fresh interpreter where avzoo cannot be imported.
    pushed = tmp_path / "pushed"
    pushed.mkdir()
    for name, data in files.items():
        (pushed / name).write_bytes(data)
    check_self_contained(pushed)  # no code file imports avzoo
    inputs = dict(processor([speechlike(1.0), speechlike(0.6, seed=2)], sampling_rate=SR))
    outputs, classes = run_as_remote_code(pushed, tmp_path, ["avzoo"], inputs, "AutoFeatureExtractor")
    assert set(classes) == {"config", "model", "preprocessor"}
    assert all(module.startswith("transformers_modules") for module in classes.values()), classes
    with torch.no_grad():
        expected = model(**inputs)
    torch.testing.assert_close(outputs["blendshapes"], expected.blendshapes, atol=1e-6, rtol=0)
    torch.testing.assert_close(outputs["stream_weights"], expected.stream_weights)


def test_saved_folder_loads_as_the_package_classes(folder):
    config = json.loads((folder / "config.json").read_text())
    assert config["custom_pipelines"] == {
        TASK: {"impl": "audio_to_blendshapes.AudioToBlendshapesPipeline", "pt": ["AutoModel"]}
    }
    assert type(AutoModel.from_pretrained(folder)) is KoemorphModel
    assert type(AutoModel.from_pretrained(folder, trust_remote_code=True)) is KoemorphModel  # local wins
    loaded = AutoProcessor.from_pretrained(folder)
    assert type(loaded) is KoemorphProcessor and loaded.egemaps_std == custom_processor().egemaps_std


def test_pipeline_on_an_array(folder):
    pipe = pipeline(TASK, model=str(folder))
    assert isinstance(pipe, AudioToBlendshapesPipeline)
    assert type(pipe.model) is KoemorphModel and type(pipe.feature_extractor) is KoemorphProcessor
    audio = speechlike(1.1, seed=3)
    out = pipe(audio, sampling_rate=SR)
    assert out["blendshapes"].shape == (33, 52) and out["blendshapes"].dtype == np.float32
    assert out["names"] == list(arkit.ARKIT_NAMES) and out["fps"] == 30.0
    assert "mode" not in out  # koemorph has no offline/streaming modes
    assert out["blendshapes"].min() >= 0 and out["blendshapes"].max() <= 1
    # What the pipeline gives is the processor + model + post-processing, nothing else.
    model, processor = tiny_model(), custom_processor()
    inputs = processor(audio, sampling_rate=SR)
    with torch.no_grad():
        (expected,) = processor.post_process_blendshapes(model(**inputs), inputs["attention_mask"])
    np.testing.assert_allclose(out["blendshapes"], expected, atol=1e-6, rtol=0)
    # Another rate, as a datasets-style dict, is resampled to the same frames.
    as_dict = pipe({"array": speechlike(1.1, rate=22050, seed=3), "sampling_rate": 22050})
    assert as_dict["blendshapes"].shape == (33, 52)
    lively = pipe(audio, sampling_rate=SR, life=2)["blendshapes"]
    assert lively.shape == (33, 52)


def test_pipeline_refuses_what_koemorph_cannot_do(folder):
    pipe = pipeline(TASK, model=str(folder))
    audio = speechlike(0.5)
    for options in ({"emotion": "happy"}, {"intensity": "strong"}):
        with pytest.raises(ValueError, match="koemorph hears the emotion in the voice"):
            pipe(audio, sampling_rate=SR, **options)
    with pytest.raises(ValueError, match="no crisp_mouth filter"):
        pipe(audio, sampling_rate=SR, crisp_mouth=True)
    with pytest.raises(ValueError, match="this model has no modes"):
        pipe(audio, sampling_rate=SR, mode="streaming")
    with pytest.raises(ValueError, match="digital silence"):
        pipe(np.zeros(SR, np.float32), sampling_rate=SR)
    with pytest.raises(ValueError, match="needs its rate"):
        pipe(audio)
