"""text-audio-emotion on the Hub: a folder written by ``save_model_folder`` carries its remote code (model, processor,
pipeline, vendored avzoo modules) and, in a fresh interpreter where avzoo is blocked, gives the package's logits,
maps and pipeline results; a code-less bundle pushed gets the same code. Pushes are intercepted at the HfApi level
(test_hub's fixtures), nothing reaches the network."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import test_hub
import torch
from safetensors.torch import load as load_safetensors
from text_audio_emotion_helpers import SR, speechlike, tiny_model, tiny_processor
from transformers import AutoModel, AutoProcessor, pipeline

from avzoo.hub import check_self_contained, push_model, save_model_folder
from avzoo.models.text_audio_emotion import TextAudioEmotionModel, TextAudioEmotionProcessor
from avzoo.pipelines.text_audio_emotion import TASK, TextAudioEmotionPipeline

# The fixtures of test_hub that intercept HfApi.create_repo / create_commit (offline: nothing reaches the network).
hub, offline = test_hub.hub, test_hub.offline
CARD = "---\nlicense: apache-2.0\ntags:\n- avzoo\n---\n# text-audio-emotion\n\nSynthetic speech.\n"
CODE = {
    "configuration_text_audio_emotion.py",
    "modeling_text_audio_emotion.py",
    "loss_text_audio_emotion.py",
    "processing_text_audio_emotion.py",
    "text_audio_emotion.py",  # the pipeline
    "avzoo_emotions.py",  # what the code imports from avzoo, vendored
    "avzoo_io_audio.py",
}
TEXTS = ["i am so happy today and now everything is fine", "🙂", "we lost"]
SECONDS = [1.4, 0.6, 0.5]


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def processor() -> TextAudioEmotionProcessor:
    """Non-default limits and labels, so a load that falls back to the defaults shows."""
    return tiny_processor(max_text_length=8, max_audio_seconds=1.0, min_speech_peak=0.01)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return save_model_folder(tiny_model(), tmp_path_factory.mktemp("hub") / "text-audio-emotion", processor())


def test_saved_folder_has_its_code_and_loads_as_the_package_classes(folder):
    names = {p.name for p in folder.iterdir()}
    assert CODE | {"config.json", "model.safetensors", "processor_config.json", "tokenizer.json"} <= names
    assert not any(name.endswith((".bin", ".pt", ".pkl")) for name in names)
    check_self_contained(folder)  # no code file imports avzoo
    config = json.loads((folder / "config.json").read_text())
    assert config["auto_map"]["AutoModel"] == "modeling_text_audio_emotion.TextAudioEmotionModel"
    assert config["custom_pipelines"] == {
        TASK: {"impl": "text_audio_emotion.TextAudioEmotionPipeline", "pt": ["AutoModel"]}
    }
    assert json.loads((folder / "processor_config.json").read_text())["auto_map"] == {
        "AutoProcessor": "processing_text_audio_emotion.TextAudioEmotionProcessor"
    }
    assert type(AutoModel.from_pretrained(folder)) is TextAudioEmotionModel
    # the package's registration wins over the copied code even when remote code is allowed
    assert type(AutoModel.from_pretrained(folder, trust_remote_code=True)) is TextAudioEmotionModel
    loaded = AutoProcessor.from_pretrained(folder)
    assert type(loaded) is TextAudioEmotionProcessor and loaded.max_audio_seconds == 1.0
    assert isinstance(pipeline(TASK, model=str(folder), trust_remote_code=True), TextAudioEmotionPipeline)


_REMOTE = textwrap.dedent(
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

    torch.set_num_threads(1)
    args = json.load(open(sys.argv[1]))
    folder = args["folder"]
    clips = [np.load(path) for path in args["audio"]]
    config = AutoConfig.from_pretrained(folder, trust_remote_code=True)
    model = AutoModel.from_pretrained(folder, trust_remote_code=True).eval()
    processor = AutoProcessor.from_pretrained(folder, trust_remote_code=True)
    inputs = processor(args["texts"], clips, sampling_rate=16000, gender=["female", None, "male"])
    with torch.no_grad():
        out = model(**inputs)
    results = processor.post_process_emotion(out, inputs)
    pipe = pipeline(args["task"], model=folder, trust_remote_code=True)
    piped = pipe({"text": args["texts"][0], "audio": clips[0], "sampling_rate": 16000}, return_attentions=True)
    try:
        pipe({"text": "", "audio": np.zeros(16000, np.float32), "sampling_rate": 16000})
        error = None
    except ValueError as err:
        error = str(err)
    np.savez(
        args["outputs"],
        input_ids=inputs["input_ids"].numpy(),
        input_features=inputs["input_features"].numpy(),
        logits=out.logits.numpy(),
        text_to_audio=out.text_to_audio_attentions[0].numpy(),
        pipeline_text_to_audio=piped["attentions"]["text_to_audio"],
    )
    report = {
        "classes": {
            "config": type(config).__module__,
            "model": type(model).__module__,
            "processor": type(processor).__module__,
            "pipeline": type(pipe).__module__,
            "pipeline_model": type(pipe.model).__module__,
        },
        "tokenizer": type(processor.tokenizer).__module__,
        "limits": [processor.max_text_length, processor.max_audio_seconds, processor.min_speech_peak],
        "results": results,
        "piped": {k: v for k, v in piped.items() if k != "attentions"},
        "error": error,
        "leaked": sorted(m for m in sys.modules if m.split(".")[0] == "avzoo"),
    }
    json.dump(report, open(args["report"], "w"))
    """
)


@pytest.mark.slow
def test_folder_works_without_avzoo(folder, tmp_path):
    """trust_remote_code=True in a fresh interpreter where avzoo cannot be imported: config, model, processor and
    pipeline all come from the folder's code and give what the package gives."""
    clips = [speechlike(s, seed=i) for i, s in enumerate(SECONDS)]
    paths = []
    for i, clip in enumerate(clips):
        paths.append(str(tmp_path / f"clip{i}.npy"))
        np.save(paths[-1], clip)
    args = {
        "folder": str(folder),
        "task": TASK,
        "texts": TEXTS,
        "audio": paths,
        "outputs": str(tmp_path / "outputs.npz"),
        "report": str(tmp_path / "report.json"),
    }
    (tmp_path / "args.json").write_text(json.dumps(args))
    (tmp_path / "remote.py").write_text(_REMOTE)
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
    assert report["tokenizer"].startswith("transformers.models.bert")
    assert report["limits"] == [8, 1.0, 0.01]
    assert "neither words nor speech" in report["error"]

    model, proc = tiny_model(), processor()
    inputs = proc(TEXTS, clips, sampling_rate=SR, gender=["female", None, "male"])
    with torch.no_grad():
        out = model(**inputs)
    expected = proc.post_process_emotion(out, inputs)
    remote = np.load(tmp_path / "outputs.npz")
    np.testing.assert_array_equal(remote["input_ids"], inputs["input_ids"].numpy())
    np.testing.assert_array_equal(remote["input_features"], inputs["input_features"].numpy())
    np.testing.assert_allclose(remote["logits"], out.logits.numpy(), atol=1e-6, rtol=0)
    np.testing.assert_allclose(
        remote["text_to_audio"], out.text_to_audio_attentions[0].numpy(), atol=1e-6, rtol=0
    )
    for got, want in zip(report["results"], expected, strict=True):
        assert got["label"] == want["label"] and got["modalities"] == want["modalities"]
        assert (got["text_truncated"], got["audio_truncated"]) == (
            want["text_truncated"],
            want["audio_truncated"],
        )
        np.testing.assert_allclose(list(got["scores"].values()), list(want["scores"].values()), atol=1e-6)
    assert [r["modalities"] for r in report["results"]] == [["text", "audio"], ["audio"], ["text", "audio"]]
    assert report["results"][0]["text_truncated"] and report["results"][0]["audio_truncated"]
    # the pipeline, run alone on the first example, reports the same and returns its maps
    piped = report["piped"]
    assert piped["modalities"] == ["text", "audio"] and piped["text_truncated"] and piped["audio_truncated"]
    assert remote["pipeline_text_to_audio"].shape[:3] == (1, 2, 8)


def test_push_of_a_code_less_bundle_adds_remote_code(hub, tmp_path):
    bundle = tmp_path / "bundle"
    model, proc = tiny_model(), processor()
    model.save_pretrained(bundle)
    proc.save_pretrained(bundle)
    (bundle / "README.md").write_text(CARD)
    push_model(bundle, "someone/text-audio-emotion")
    [commit] = hub["create_commit"]
    files = commit["files"]
    assert set(files) >= CODE
    assert {"config.json", "model.safetensors", "processor_config.json", "tokenizer.json"} <= set(files)
    assert files["README.md"].decode() == CARD
    config = json.loads(files["config.json"])
    assert config["auto_map"]["AutoModel"] == "modeling_text_audio_emotion.TextAudioEmotionModel"
    assert config["custom_pipelines"][TASK]["impl"] == "text_audio_emotion.TextAudioEmotionPipeline"
    assert json.loads(files["processor_config.json"])["max_audio_seconds"] == 1.0
    weights = load_safetensors(files["model.safetensors"])
    for name, tensor in model.state_dict().items():
        assert torch.equal(weights[name], tensor), name
    pushed = tmp_path / "pushed"
    pushed.mkdir()
    for name, data in files.items():
        (pushed / name).write_bytes(data)
    check_self_contained(pushed)
    assert {p.name for p in bundle.iterdir()} == {
        "config.json",
        "model.safetensors",
        "processor_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "README.md",
    }  # the bundle itself is left as it was
