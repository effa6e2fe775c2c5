"""text-vad on the Hub: a code-less bundle pushed gets its remote code (model, processor, pipeline, vendored avzoo
modules) and loads where avzoo is blocked; pushes are intercepted at the HfApi level, nothing reaches the network."""

from __future__ import annotations

import json

import pytest
import test_hub
import torch
from model_mixin import run_as_remote_code
from safetensors.torch import load as load_safetensors
from text_vad_helpers import tiny_model, tiny_processor

from avzoo.hub import check_self_contained, push_model
from avzoo.pipelines.text_to_vad import TASK

# The fixtures of test_hub that intercept HfApi.create_repo / create_commit (offline: nothing reaches the network).
hub, offline = test_hub.hub, test_hub.offline
CARD = "---\nlicense: cc-by-sa-4.0\ntags:\n- avzoo\n---\n# text-vad\n\nTrained on EmoBank (CC BY-SA 4.0).\n"


@pytest.fixture
def bundle(tmp_path):
    """A folder like ``avzoo release`` writes: config, weights, processor and tokenizer files, card; no code."""
    folder = tmp_path / "bundle"
    tiny_model().save_pretrained(folder)
    tiny_processor().save_pretrained(folder)
    (folder / "README.md").write_text(CARD)
    return folder


def test_push_of_a_code_less_bundle_adds_remote_code(hub, bundle, tmp_path):
    push_model(bundle, "someone/text-vad")
    [commit] = hub["create_commit"]
    files = commit["files"]
    assert {
        "configuration_text_vad.py",
        "modeling_text_vad.py",
        "loss_text_vad.py",
        "processing_text_vad.py",
    } <= set(files)
    assert "text_to_vad.py" in files and "avzoo_emotions.py" in files  # the pipeline and its vendored import
    assert {"tokenizer.json", "tokenizer_config.json", "processor_config.json", "model.safetensors"} <= set(
        files
    )
    assert files["README.md"].decode() == CARD
    config = json.loads(files["config.json"])
    assert config["auto_map"]["AutoModel"] == "modeling_text_vad.TextVadModel"
    assert TASK in config["custom_pipelines"]
    weights = load_safetensors(files["model.safetensors"])
    for name, tensor in tiny_model().state_dict().items():
        assert torch.equal(weights[name], tensor), name
    # the pushed folder loads as remote code where avzoo cannot be imported
    pushed = tmp_path / "pushed"
    pushed.mkdir()
    for name, data in files.items():
        (pushed / name).write_bytes(data)
    check_self_contained(pushed)  # no code file imports avzoo
    inputs = dict(tiny_processor()(["i am so happy", "we lost"]))
    outputs, classes = run_as_remote_code(pushed, tmp_path, ["avzoo"], inputs, "AutoProcessor")
    assert classes["model"].startswith("transformers_modules") and classes["preprocessor"].startswith(
        "transformers_modules"
    )
    with torch.no_grad():
        expected = tiny_model()(**inputs).vad
    torch.testing.assert_close(outputs["vad"], expected)
