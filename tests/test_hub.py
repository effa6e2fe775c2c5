"""avzoo.hub: model folders, pushes intercepted at the HfApi level, cards from evaluation JSON, offline cache."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import huggingface_hub.constants as hub_constants
import numpy as np
import pytest
import torch
import yaml
from av_lipsync_helpers import speechlike
from av_lipsync_helpers import tiny_model as tiny_av_lipsync
from huggingface_hub import CommitInfo, CommitOperationAdd, HfApi, ModelCard, RepoUrl
from huggingface_hub.errors import EntryNotFoundError
from model_mixin import run_as_remote_code
from safetensors.torch import load as load_safetensors
from tiny_model import TinyBlendshapeModel, TinyConfig, TinyFeatureExtractor
from tiny_model.processing_tiny import TinyProcessor
from transformers import AutoConfig, AutoFeatureExtractor, AutoModel, AutoProcessor, pipeline

from avzoo.hub import (
    IncompleteModelError,
    check_self_contained,
    load_eval_results,
    pull_model,
    push_model,
    render_model_card,
    save_model_folder,
)
from avzoo.models.av_lipsync import AvLipsyncModel, AvLipsyncProcessor
from avzoo.pipelines.audio_to_blendshapes import TASK, AudioToBlendshapesPipeline

EVAL = {
    "model": "avzoo/tiny",
    "task": {"type": "audio-to-blendshapes", "name": "Speech to ARKit blendshapes"},
    "dataset": {"name": "avzoo synthetic speech", "type": "avzoo/synth", "split": "test"},
    "metrics": [
        {"type": "mse", "name": "Blendshape MSE", "value": 0.012345678},
        {"type": "lip_vertex_error", "value": 3},
    ],
    "extra": {"num_clips": 4, "seed": 0},
}
CODE_FILES = {"configuration_tiny.py", "modeling_tiny.py", "feature_extraction_tiny.py"}
FOLDER_FILES = {
    "README.md",
    "config.json",
    "model.safetensors",
    "preprocessor_config.json",
    "eval_results.json",
    *CODE_FILES,
}


def tiny_model() -> TinyBlendshapeModel:
    torch.manual_seed(0)
    return TinyBlendshapeModel(TinyConfig(hidden_size=12)).eval()


def front_matter(markdown: str) -> dict:
    return yaml.safe_load(markdown.split("---")[1])


@pytest.fixture
def saved(tmp_path) -> Path:
    return save_model_folder(tiny_model(), tmp_path / "tiny", TinyFeatureExtractor(), eval_results=EVAL)


@pytest.fixture
def registered():
    AutoConfig.register(TinyConfig.model_type, TinyConfig, exist_ok=True)
    AutoModel.register(TinyConfig, TinyBlendshapeModel, exist_ok=True)
    AutoFeatureExtractor.register(TinyConfig, TinyFeatureExtractor, exist_ok=True)


@pytest.fixture
def offline(monkeypatch):
    """No network: any call that slips past the HfApi mocks fails instead of reaching out."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)


@pytest.fixture
def hub(monkeypatch, offline):
    """Intercept HfApi.create_repo / create_commit and record what would reach the Hub."""
    calls: dict = {"create_repo": [], "create_commit": []}

    def create_repo(self, repo_id, **kwargs):
        calls["create_repo"].append({"repo_id": repo_id, "token": self.token, **kwargs})
        return RepoUrl(f"https://huggingface.co/{repo_id}")

    def create_commit(self, repo_id, operations, **kwargs):
        operations = list(operations)
        files = {}
        for op in operations:
            assert isinstance(op, CommitOperationAdd)
            source = op.path_or_fileobj
            files[op.path_in_repo] = Path(source).read_bytes() if isinstance(source, str) else bytes(source)
        calls["create_commit"].append({"repo_id": repo_id, "files": files, **kwargs})
        return CommitInfo(
            commit_url=f"https://huggingface.co/{repo_id}/commit/{'1' * 40}",
            commit_message=kwargs["commit_message"],
            commit_description="",
            oid="1" * 40,
        )

    def no_card(*args, **kwargs):
        raise EntryNotFoundError("new repo: no README.md yet")

    monkeypatch.setattr(HfApi, "create_repo", create_repo)
    monkeypatch.setattr(HfApi, "create_commit", create_commit)
    monkeypatch.setattr(ModelCard, "load", classmethod(no_card))
    return calls


# --- save_model_folder ---------------------------------------------------------------------------------------


def test_save_model_folder_writes_a_complete_hub_folder(saved):
    assert {p.name for p in saved.iterdir()} == FOLDER_FILES
    config = json.loads((saved / "config.json").read_text())
    assert config["auto_map"] == {
        "AutoConfig": "configuration_tiny.TinyConfig",
        "AutoModel": "modeling_tiny.TinyBlendshapeModel",
    }
    assert config["model_type"] == "avzoo-tiny" and config["hidden_size"] == 12
    preprocessor = json.loads((saved / "preprocessor_config.json").read_text())
    assert preprocessor["auto_map"] == {
        "AutoFeatureExtractor": "feature_extraction_tiny.TinyFeatureExtractor"
    }
    # The copied code is the package's own source, byte for byte.
    source = Path(__file__).parent / "tiny_model"
    for name in CODE_FILES:
        assert (saved / name).read_bytes() == (source / name).read_bytes()
    assert json.loads((saved / "eval_results.json").read_text()) == [EVAL]


def test_save_model_folder_leaves_classes_and_config_as_they_were(saved, tmp_path):
    model = tiny_model()
    save_model_folder(model, tmp_path / "again")
    assert TinyBlendshapeModel._auto_class is None and TinyConfig._auto_class is None
    assert TinyFeatureExtractor._auto_class is None
    assert "auto_map" not in model.config.__dict__
    # A later plain save must not point auto_map at code files it did not copy.
    model.save_pretrained(tmp_path / "plain")
    assert "auto_map" not in json.loads((tmp_path / "plain" / "config.json").read_text())
    assert not list((tmp_path / "plain").glob("*.py"))


def test_saved_folder_loads_through_auto_classes(saved, registered):
    model = tiny_model()
    features = torch.randn(2, 6, 8)
    loaded = AutoModel.from_pretrained(saved)
    assert type(loaded) is TinyBlendshapeModel
    assert torch.equal(loaded(features).blendshapes, model(features).blendshapes)
    assert type(AutoFeatureExtractor.from_pretrained(saved)) is TinyFeatureExtractor


def test_save_model_folder_rejects_code_that_imports_avzoo_as_a_package(tmp_path, monkeypatch):
    """``import avzoo`` cannot be vendored exactly (only ``from avzoo.<module> import ...`` can): refused."""
    package = tmp_path / "leaky_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "modeling_leaky.py").write_text(
        textwrap.dedent(
            """
            import avzoo
            from tiny_model import TinyBlendshapeModel


            class LeakyModel(TinyBlendshapeModel):
                pass
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    from leaky_pkg.modeling_leaky import LeakyModel

    with pytest.raises(ValueError, match=r"modeling_leaky\.py:2: 'import avzoo' cannot be vendored"):
        save_model_folder(LeakyModel(TinyConfig()), tmp_path / "out")
    with pytest.raises(ValueError, match=r"modeling_leaky\.py imports avzoo.*self-contained"):
        check_self_contained(tmp_path / "out")


def test_save_model_folder_vendors_what_the_code_imports_from_avzoo(tmp_path, monkeypatch):
    package = tmp_path / "arkit_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "modeling_named.py").write_text(
        textwrap.dedent(
            """
            from tiny_model import TinyBlendshapeModel

            from avzoo.arkit import ARKIT_NAMES


            class NamedModel(TinyBlendshapeModel):
                names = ARKIT_NAMES
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    from arkit_pkg.modeling_named import NamedModel

    folder = save_model_folder(NamedModel(TinyConfig()), tmp_path / "out")
    assert "from .avzoo_arkit import ARKIT_NAMES" in (folder / "modeling_named.py").read_text()
    assert (folder / "avzoo_arkit.py").is_file()
    check_self_contained(folder)


def test_save_model_folder_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="PreTrainedModel"):
        save_model_folder(torch.nn.Linear(2, 2), tmp_path)
    with pytest.raises(ValueError, match="feature_extractor must be"):
        save_model_folder(tiny_model(), tmp_path, feature_extractor=object())
    with pytest.raises(ValueError, match="template variables"):
        save_model_folder(tiny_model(), tmp_path, card="# done", eval_results=EVAL)


@pytest.mark.slow
def test_processor_folder_saves_and_loads_as_remote_code(tmp_path, registered):
    model = tiny_model()
    extractor = TinyFeatureExtractor()
    processor = TinyProcessor(extractor)
    folder = save_model_folder(model, tmp_path / "tiny", processor)
    assert {p.name for p in folder.iterdir()} == {
        "README.md",
        "config.json",
        "model.safetensors",
        "processor_config.json",
        "processing_tiny.py",
        *CODE_FILES,
    }
    saved = json.loads((folder / "processor_config.json").read_text())
    assert saved["auto_map"] == {"AutoProcessor": "processing_tiny.TinyProcessor"}
    assert saved["feature_extractor"]["auto_map"]["AutoFeatureExtractor"] == (
        "feature_extraction_tiny.TinyFeatureExtractor"
    )
    assert "auto_map" not in processor.__dict__ and "auto_map" not in extractor.__dict__
    assert TinyProcessor._auto_class is None

    AutoProcessor.register(TinyConfig, TinyProcessor, exist_ok=True)
    local = AutoProcessor.from_pretrained(folder)
    assert type(local) is TinyProcessor and type(local.feature_extractor) is TinyFeatureExtractor

    features = torch.randn(2, 6, 8)
    outputs, classes = run_as_remote_code(
        folder,
        tmp_path,
        ["avzoo", "tiny_model"],
        {"input_features": features},
        preprocessor_auto="AutoProcessor",
    )
    assert set(classes) == {"config", "model", "preprocessor", "feature_extractor"}
    assert all(module.startswith("transformers_modules") for module in classes.values()), classes
    assert torch.equal(outputs["blendshapes"], model(features).blendshapes)


# --- the av-lipsync Hub folder: model, processor and pipeline as remote code ----------------------------------

# Runs in a fresh interpreter where avzoo cannot be imported: loads the folder with trust_remote_code=True only,
# runs the model, the processor, the pipeline and the streamer, and saves what they give.
_REMOTE_AV_LIPSYNC = textwrap.dedent(
    """
    import importlib.abc
    import json
    import sys


    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "avzoo" or name.startswith("avzoo."):
                raise ImportError(f"{name} is blocked: remote code must work without avzoo")
            return None


    sys.meta_path.insert(0, Blocker())

    import numpy as np
    import torch
    from transformers import AutoConfig, AutoModel, AutoProcessor, pipeline

    args = json.load(open(sys.argv[1]))
    folder, audio = args["folder"], np.load(args["audio"])
    config = AutoConfig.from_pretrained(folder, trust_remote_code=True)
    model = AutoModel.from_pretrained(folder, trust_remote_code=True).eval()
    processor = AutoProcessor.from_pretrained(folder, trust_remote_code=True)
    inputs = processor(audio, sampling_rate=16000, emotion="happy", intensity="normal")
    with torch.no_grad():
        out = model(**inputs)
    pipe = pipeline("audio-to-blendshapes", model=folder, trust_remote_code=True)
    result = pipe({"array": audio, "sampling_rate": 16000}, emotion="happy", intensity="normal", crisp_mouth=True)
    streamer = model.streamer(processor, emotion="happy", intensity="normal")
    streamed = np.concatenate(list(streamer.stream(audio[i : i + 1600] for i in range(0, len(audio), 1600))))
    try:
        pipe(np.zeros(16000, np.float32), sampling_rate=16000)
        error = None
    except ValueError as err:
        error = str(err)
    np.savez(
        args["outputs"],
        input_features=inputs["input_features"].numpy(),
        condition=inputs["condition"].numpy(),
        blendshapes=out.blendshapes.numpy(),
        pipeline=result["blendshapes"],
        streamed=streamed,
    )
    classes = {
        "config": type(config).__module__,
        "model": type(model).__module__,
        "processor": type(processor).__module__,
        "pipeline": type(pipe).__module__,
        "pipeline_model": type(pipe.model).__module__,
    }
    report = {
        "classes": classes,
        "names": result["names"],
        "fps": result["fps"],
        "error": error,
        "leaked": sorted(m for m in sys.modules if m.split(".")[0] == "avzoo"),
    }
    json.dump(report, open(args["report"], "w"))
    """
)


@pytest.fixture(scope="module")
def av_lipsync_folder(tmp_path_factory):
    """A tiny av-lipsync saved the way the Hub gets it: model, processor (non-default tables) and pipeline."""
    model = tiny_av_lipsync()
    processor = AvLipsyncProcessor(
        intensity_values={"normal": 0.4, "strong": 1.0}, crisp_mouth_offline={"sigma": 1.2}
    )
    folder = save_model_folder(
        model,
        tmp_path_factory.mktemp("hub") / "av-lipsync",
        processor,
        pipeline_class=AudioToBlendshapesPipeline,
    )
    return model, processor, folder


def test_av_lipsync_folder_records_the_pipeline(av_lipsync_folder):
    _, _, folder = av_lipsync_folder
    config = json.loads((folder / "config.json").read_text())
    assert config["custom_pipelines"] == {
        TASK: {"impl": "audio_to_blendshapes.AudioToBlendshapesPipeline", "pt": ["AutoModel"]}
    }
    assert config["auto_map"]["AutoModel"] == "modeling_av_lipsync.AvLipsyncModel"
    preprocessor = json.loads((folder / "preprocessor_config.json").read_text())
    assert preprocessor["auto_map"] == {"AutoFeatureExtractor": "processing_av_lipsync.AvLipsyncProcessor"}
    assert (folder / "audio_to_blendshapes.py").is_file()
    assert not list(folder.glob("*.bin"))


def test_the_family_pipeline_is_saved_by_default(tmp_path):
    default = save_model_folder(tiny_av_lipsync(), tmp_path / "default", AvLipsyncProcessor())
    config = json.loads((default / "config.json").read_text())
    assert config["custom_pipelines"][TASK]["impl"] == "audio_to_blendshapes.AudioToBlendshapesPipeline"
    assert (default / "audio_to_blendshapes.py").is_file()
    none = save_model_folder(tiny_av_lipsync(), tmp_path / "none", AvLipsyncProcessor(), pipeline_class=None)
    assert "custom_pipelines" not in json.loads((none / "config.json").read_text())
    assert not (none / "audio_to_blendshapes.py").exists()
    # A model outside the families gets no pipeline.
    tiny = save_model_folder(tiny_model(), tmp_path / "tiny")
    assert "custom_pipelines" not in json.loads((tiny / "config.json").read_text())


def test_pushing_a_code_less_av_lipsync_folder_adds_its_remote_code(hub, tmp_path):
    """A bundled checkpoint holds data only; what reaches the Hub is complete remote code plus that data."""
    bundle = tmp_path / "bundle"
    model = tiny_av_lipsync()
    model.save_pretrained(bundle)
    AvLipsyncProcessor(intensity_values={"normal": 0.4}).save_pretrained(bundle)
    card = "---\nlicense: apache-2.0\ntags:\n- avzoo\n---\n# my card\n\nMeasured, not typed.\n"
    (bundle / "README.md").write_text(card)
    (bundle / "eval_results.json").write_text(json.dumps([EVAL]))
    push_model(bundle, "someone/av-lipsync")
    [commit] = hub["create_commit"]
    files = commit["files"]
    assert {"modeling_av_lipsync.py", "processing_av_lipsync.py", "audio_to_blendshapes.py"} <= set(files)
    assert {"avzoo_arkit.py", "avzoo_io_audio.py", "avzoo_features_logmel.py"} <= set(files)
    assert files["README.md"].decode() == card and json.loads(files["eval_results.json"]) == [EVAL]
    config = json.loads(files["config.json"])
    assert (
        config["auto_map"]["AutoModel"] == "modeling_av_lipsync.AvLipsyncModel"
        and TASK in config["custom_pipelines"]
    )
    assert json.loads(files["preprocessor_config.json"])["intensity_values"] == {"normal": 0.4}
    weights = load_safetensors(files["model.safetensors"])
    for name, tensor in model.state_dict().items():
        assert torch.equal(weights[name], tensor), name
    assert {p.name for p in bundle.iterdir()} == {
        "config.json",
        "model.safetensors",
        "preprocessor_config.json",
        "README.md",
        "eval_results.json",
    }  # the bundle itself is left as it was


def test_av_lipsync_folder_in_process(av_lipsync_folder):
    """With avzoo installed the folder loads as the package's own classes, through the Auto classes."""
    model, processor, folder = av_lipsync_folder
    loaded = AutoModel.from_pretrained(folder)
    assert type(loaded) is AvLipsyncModel
    assert type(AutoProcessor.from_pretrained(folder)) is AvLipsyncProcessor
    audio = speechlike(1.0)
    pipe = pipeline(TASK, model=str(folder), trust_remote_code=True)
    assert type(pipe.model) is AvLipsyncModel and type(pipe.feature_extractor) is AvLipsyncProcessor
    inputs = processor(audio, sampling_rate=16000, emotion="happy", intensity="normal")
    with torch.no_grad():
        (expected,) = processor.post_process_blendshapes(
            model(**inputs), inputs["attention_mask"], crisp_mouth=True
        )
    got = pipe(audio, sampling_rate=16000, emotion="happy", intensity="normal", crisp_mouth=True)
    np.testing.assert_array_equal(got["blendshapes"], expected)


def test_av_lipsync_folder_pipeline_without_trust_remote_code(av_lipsync_folder):
    _, _, folder = av_lipsync_folder
    pipe = pipeline(TASK, model=str(folder))
    assert isinstance(pipe, AudioToBlendshapesPipeline)


@pytest.mark.slow
def test_av_lipsync_folder_works_without_avzoo(av_lipsync_folder, tmp_path):
    """trust_remote_code=True in a fresh interpreter where avzoo cannot be imported: model, processor, pipeline
    and streamer all come from the folder's code and give what the package gives."""
    model, processor, folder = av_lipsync_folder
    audio = speechlike(1.0, seed=3)
    np.save(tmp_path / "audio.npy", audio)
    args = {
        "folder": str(folder),
        "audio": str(tmp_path / "audio.npy"),
        "outputs": str(tmp_path / "outputs.npz"),
        "report": str(tmp_path / "report.json"),
    }
    (tmp_path / "args.json").write_text(json.dumps(args))
    (tmp_path / "remote.py").write_text(_REMOTE_AV_LIPSYNC)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_MODULES_CACHE": str(tmp_path / "modules")}
    done = subprocess.run(
        [sys.executable, str(tmp_path / "remote.py"), str(tmp_path / "args.json")],
        cwd=tmp_path,  # keeps the repo root off sys.path
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["leaked"] == [], report["leaked"]
    for part, module in report["classes"].items():
        assert module.startswith("transformers_modules"), f"{part} came from {module}, not the folder's code"
    assert report["names"] == list(processor.blendshape_names) and report["fps"] == 30.0
    assert "digital silence" in report["error"]

    remote = np.load(tmp_path / "outputs.npz")
    inputs = processor(audio, sampling_rate=16000, emotion="happy", intensity="normal")
    with torch.no_grad():
        out = model(**inputs)
    (expected,) = processor.post_process_blendshapes(out, inputs["attention_mask"], crisp_mouth=True)
    np.testing.assert_array_equal(remote["input_features"], inputs["input_features"].numpy())
    np.testing.assert_array_equal(
        remote["condition"], inputs["condition"].numpy()
    )  # intensity "normal" = 0.4
    assert remote["condition"][0, -1] == np.float32(0.4)
    np.testing.assert_allclose(remote["blendshapes"], out.blendshapes.numpy(), atol=1e-6, rtol=0)
    np.testing.assert_allclose(remote["pipeline"], expected, atol=1e-6, rtol=0)
    np.testing.assert_allclose(remote["streamed"], out.blendshapes[0].numpy(), atol=1e-4, rtol=0)


# --- model cards -----------------------------------------------------------------------------------------------


def test_card_metadata_and_table_come_from_the_evaluation_json(saved):
    card = ModelCard.load(saved / "README.md")
    results = card.data.eval_results
    assert card.data.model_name == "avzoo/tiny"
    assert [(r.metric_type, r.metric_value) for r in results] == [
        ("mse", 0.012345678),
        ("lip_vertex_error", 3),
    ]
    assert {(r.task_type, r.dataset_type, r.dataset_split) for r in results} == {
        ("audio-to-blendshapes", "avzoo/synth", "test")
    }
    meta = front_matter(card.content)
    assert meta["library_name"] == "transformers"
    assert meta["tags"] == ["avzoo", "avzoo-tiny"]
    assert meta["model-index"][0]["name"] == "avzoo/tiny"
    assert (
        "| Speech to ARKit blendshapes | avzoo synthetic speech | test | Blendshape MSE | 0.01235 |"
        in card.text
    )
    assert "| lip_vertex_error | 3 |" in card.text
    assert "num_clips: `4`, seed: `0`" in card.text
    assert 'AutoProcessor.from_pretrained("avzoo/tiny")' in card.text


def test_render_model_card_template_vars_and_multiple_results(tmp_path):
    second = {**EVAL, "dataset": {"name": "Live Link takes", "type": "avzoo/livelink", "split": "validation"}}
    path = tmp_path / "eval.json"
    path.write_text(json.dumps([EVAL, second]))
    card = render_model_card(
        {
            "model_id": "avzoo/av-lipsync",
            "title": "AV Lipsync",
            "summary": "Speech to 52 ARKit blendshapes.",
            "limitations": "Trained on synthetic speech only.",
            "license": "apache-2.0",
            "tags": ["blendshapes"],
            "pipeline_tag": "audio-to-audio",
        },
        path,
    )
    meta = front_matter(str(card))
    assert meta["license"] == "apache-2.0" and meta["pipeline_tag"] == "audio-to-audio"
    assert meta["tags"] == ["avzoo", "blendshapes"]
    assert meta["model-index"][0]["name"] == "avzoo/av-lipsync"
    assert len(card.data.eval_results) == 4
    assert card.text.lstrip().startswith("# AV Lipsync\n\nSpeech to 52 ARKit blendshapes.")
    assert "## Limitations\n\nTrained on synthetic speech only." in card.text
    assert "| Live Link takes | validation |" in card.text
    assert "AutoProcessor" not in card.text


def test_render_model_card_without_results():
    card = render_model_card({"model_id": "avzoo/koemorph"})
    assert "model-index" not in front_matter(str(card))
    assert "No evaluation results yet." in card.text


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        ({"metrics": []}, "'metrics' must be a non-empty list"),
        ({"metrics": [{"type": "mse", "value": float("nan")}]}, "finite number"),
        ({"metrics": [{"type": "mse", "value": True}]}, "finite number"),
        ({"metrics": [{"value": 1.0}]}, "metric #0 is missing required field 'type'"),
        ({"dataset": {"name": "x"}}, "dataset is missing required field 'type'"),
        ({"task": "regression"}, "task must be an object"),
        ({"model": ""}, "missing required field 'model'"),
        ({"extra": [1]}, "'extra' must be an object"),
    ],
)
def test_evaluation_json_is_validated(broken, message):
    with pytest.raises(ValueError, match=message):
        load_eval_results({**EVAL, **broken})


def test_evaluation_json_file_errors(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        load_eval_results(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_eval_results(tmp_path / "bad.json")
    with pytest.raises(ValueError, match="model_id"):
        render_model_card({})


# --- push_model ------------------------------------------------------------------------------------------------


def test_push_model_commits_exactly_the_model_files(hub):
    model = tiny_model()
    info = push_model(
        model,
        "avzoo/tiny-test",
        token="hf_test",
        private=True,
        commit_message="Add tiny",
        feature_extractor=TinyFeatureExtractor(),
        eval_results=EVAL,
    )
    assert info.oid == "1" * 40
    assert hub["create_repo"] == [
        {
            "repo_id": "avzoo/tiny-test",
            "token": "hf_test",
            "private": True,
            "repo_type": "model",
            "exist_ok": True,
        }
    ]
    [commit] = hub["create_commit"]
    assert commit["repo_id"] == "avzoo/tiny-test"
    assert commit["commit_message"] == "Add tiny"
    files = commit["files"]
    assert set(files) == FOLDER_FILES
    meta = front_matter(files["README.md"].decode())
    # The card names the repo it is pushed to, even though the evaluation JSON scored "avzoo/tiny".
    assert meta["model-index"][0]["name"] == "avzoo/tiny-test"
    assert meta["model-index"][0]["results"][0]["metrics"][0] == {
        "type": "mse",
        "value": 0.012345678,
        "name": "Blendshape MSE",
    }
    assert json.loads(files["config.json"])["auto_map"]["AutoModel"] == "modeling_tiny.TinyBlendshapeModel"
    weights = load_safetensors(files["model.safetensors"])
    for name, tensor in model.state_dict().items():
        assert torch.equal(weights[name], tensor)


def test_push_folder_skips_litter_and_adds_a_missing_card(saved, hub):
    (saved / "README.md").unlink()
    (saved / ".cache").mkdir()
    (saved / ".cache" / "upload.lock").write_text("")
    (saved / "__pycache__").mkdir()
    (saved / "__pycache__" / "modeling_tiny.cpython-311.pyc").write_bytes(b"\0")
    push_model(saved, "someone/tiny")
    [commit] = hub["create_commit"]
    assert set(commit["files"]) == FOLDER_FILES
    card = commit["files"]["README.md"].decode()
    assert front_matter(card)["model-index"][0]["name"] == "someone/tiny"
    assert 'AutoModel.from_pretrained("someone/tiny")' in card
    assert hub["create_repo"][0]["private"] is False


def test_push_refuses_pickles_incomplete_folders_and_bad_ids(saved, hub, tmp_path):
    with pytest.raises(ValueError, match="namespace/name"):
        push_model(saved, "tiny")
    with pytest.raises(ValueError, match="not a folder"):
        push_model(tmp_path / "nowhere", "avzoo/tiny")
    with pytest.raises(ValueError, match="apply when pushing a model"):
        push_model(saved, "avzoo/tiny", eval_results=EVAL)
    torch.save({}, saved / "pytorch_model.bin")
    with pytest.raises(ValueError, match=r"refusing to push pickled files \['pytorch_model.bin'\]"):
        push_model(saved, "avzoo/tiny")
    (saved / "pytorch_model.bin").unlink()
    (saved / "model.safetensors").unlink()
    with pytest.raises(IncompleteModelError, match="safetensors"):
        push_model(saved, "avzoo/tiny")
    assert hub["create_commit"] == []


# --- loading from the local Hugging Face cache, offline --------------------------------------------------------


def make_cache(root: Path, folder: Path, skip: tuple[str, ...] = ()) -> Path:
    """The HF cache layout: models--avzoo--tiny/{refs/main, snapshots/<rev>/...}."""
    revision = "0123456789abcdef0123456789abcdef01234567"
    repo = root / "models--avzoo--tiny"
    snapshot = repo / "snapshots" / revision
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    for path in folder.iterdir():
        if path.name not in skip:
            shutil.copy(path, snapshot / path.name)
    return snapshot


@pytest.fixture
def cache(tmp_path, monkeypatch, offline):
    root = tmp_path / "hub-cache"
    root.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(root))
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(root))
    # Remote code lands in the modules cache; keep parallel tests apart.
    monkeypatch.setenv("HF_MODULES_CACHE", str(tmp_path / "modules"))
    return root


def test_auto_model_loads_offline_from_the_cache(saved, cache, registered):
    make_cache(cache, saved)
    model = AutoModel.from_pretrained("avzoo/tiny")
    assert type(model) is TinyBlendshapeModel
    features = torch.randn(1, 5, 8)
    assert torch.equal(model(features).blendshapes, tiny_model()(features).blendshapes)
    assert type(AutoFeatureExtractor.from_pretrained("avzoo/tiny")) is TinyFeatureExtractor
    snapshot = pull_model("avzoo/tiny")
    assert {p.name for p in snapshot.iterdir()} == FOLDER_FILES
    assert ModelCard.load(snapshot / "README.md").data.eval_results[0].metric_type == "mse"


def test_incomplete_snapshot_gives_a_clear_error(saved, cache, registered):
    make_cache(cache, saved, skip=("model.safetensors",))
    with pytest.raises(
        OSError, match=r"avzoo/tiny does not appear to have a file named .*model\.safetensors"
    ):
        AutoModel.from_pretrained("avzoo/tiny")
    with pytest.raises(IncompleteModelError, match=r"avzoo/tiny .* lacks \*\.safetensors weights"):
        pull_model("avzoo/tiny")


def test_pull_model_not_in_cache_offline(cache):
    with pytest.raises(IncompleteModelError, match="not \\(fully\\) in the local Hugging Face cache"):
        pull_model("avzoo/absent")
