"""avzoo.pretrained: bundled checkpoints made loadable as ``avzoo/<name>`` from the Hugging Face cache, offline."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import huggingface_hub.constants as hub_constants
import pytest
import torch
from huggingface_hub import hf_hub_download, scan_cache_dir, snapshot_download
from transformers import AutoConfig, AutoFeatureExtractor, AutoModel, AutoProcessor

import avzoo
import avzoo.pretrained as pretrained
from avzoo.hub import pull_model, save_model_folder
from avzoo.models.av_lipsync import AvLipsyncConfig, AvLipsyncModel, AvLipsyncProcessor

REPO = Path(__file__).resolve().parents[1]
NAME = "av-lipsync"
REPO_ID = "avzoo/av-lipsync"
CACHE_FOLDER = "models--avzoo--av-lipsync"


def tiny_model(seed: int = 0) -> AvLipsyncModel:
    torch.manual_seed(seed)
    config = AvLipsyncConfig(
        lipsync_hidden_size=16,
        lipsync_dilations=[1, 2],
        expression_hidden_size=8,
        expression_dilations=[1],
        head_bias_init=0.0,
    )
    return AvLipsyncModel(config).eval()


def outputs(model: AvLipsyncModel) -> torch.Tensor:
    features = torch.randn(1, 12, model.config.n_mels, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        return model(features).blendshapes


@pytest.fixture(scope="module")
def saved_folder(tmp_path_factory) -> Path:
    return save_model_folder(
        tiny_model(), tmp_path_factory.mktemp("saved") / NAME, feature_extractor=AvLipsyncProcessor()
    )


@pytest.fixture
def root(tmp_path, monkeypatch, saved_folder) -> Path:
    """A bundled-checkpoints folder holding a copy of the tiny av-lipsync folder."""
    root = tmp_path / "pretrained"
    shutil.copytree(saved_folder, root / NAME)
    monkeypatch.setattr(pretrained, "ROOT", root)
    return root


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "hub-cache"
    monkeypatch.setenv("HF_HUB_CACHE", str(root))
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(root))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_MODULES_CACHE", str(tmp_path / "modules"))
    return root


def main_revision(cache: Path) -> str:
    return (cache / CACHE_FOLDER / "refs" / "main").read_text()


def tree(path: Path) -> dict[str, str]:
    """Every entry under ``path``: file bytes (hex), link targets, and directories."""
    out = {}
    for p in sorted(path.rglob("*")):
        rel = p.relative_to(path).as_posix()
        if p.is_symlink():
            out[rel] = "-> " + os.readlink(p)
        elif p.is_dir():
            out[rel] = "dir"
        else:
            out[rel] = p.read_bytes().hex()
    return out


# --- what is bundled -------------------------------------------------------------------------------------------


def test_bundled_lists_model_folders_only(root):
    (root / "no-weights").mkdir()
    (root / "no-weights" / "config.json").write_text("{}")
    (root / "_private").mkdir()
    shutil.copy(root / NAME / "config.json", root / "_private")
    shutil.copy(root / NAME / "model.safetensors", root / "_private")
    (root / "notes.txt").write_text("not a model")
    assert pretrained.bundled() == {NAME: root / NAME}
    assert pretrained.path(NAME) == root / NAME
    assert pretrained.path(REPO_ID) == root / NAME
    assert pretrained.repo_id(NAME) == REPO_ID
    with pytest.raises(ValueError, match=r"no bundled checkpoint named 'koemorph'; bundled: av-lipsync"):
        pretrained.path("koemorph")
    with pytest.raises(ValueError, match="must be a string"):
        pretrained.path(3)


def test_the_package_root_is_the_pretrained_folder():
    assert pretrained.ROOT == REPO / "avzoo" / "pretrained"
    for name, folder in pretrained.bundled().items():
        assert (folder / "config.json").is_file() and list(folder.glob("*.safetensors")), name
        # Data only: the code is the package's (a Hub copy gets it from save_model_folder), so nothing may point
        # at code files the folder does not hold.
        assert not list(folder.glob("*.py")), name
        for config in ("config.json", "preprocessor_config.json", "processor_config.json"):
            if (folder / config).is_file():
                assert "auto_map" not in json.loads((folder / config).read_text()), (name, config)


# --- seeding and loading ---------------------------------------------------------------------------------------


def test_seeded_cache_loads_through_the_auto_classes_offline(root, cache):
    assert pretrained.seed_hf_cache() == [REPO_ID]
    repo = cache / CACHE_FOLDER
    revision = main_revision(cache)
    assert len(revision) == 40 and int(revision, 16) >= 0
    snapshot = repo / "snapshots" / revision
    assert {p.name for p in snapshot.iterdir()} == {p.name for p in (root / NAME).iterdir()}
    weights = snapshot / "model.safetensors"
    # snapshot -> blobs/<sha256>.avzoo -> the package file: deleting cache entries only ever unlinks links.
    assert weights.is_symlink() and (weights.parent / os.readlink(weights)).parent.name == "blobs"
    assert weights.resolve() == (root / NAME / "model.safetensors").resolve()
    assert json.loads((repo / pretrained.MARKER).read_text())["revision"] == revision

    model = AutoModel.from_pretrained(REPO_ID)
    assert type(model) is AvLipsyncModel
    torch.testing.assert_close(outputs(model), outputs(tiny_model()), rtol=0, atol=0)
    assert type(AutoFeatureExtractor.from_pretrained(REPO_ID)) is AvLipsyncProcessor
    assert type(AutoProcessor.from_pretrained(REPO_ID)) is AvLipsyncProcessor
    assert AutoConfig.from_pretrained(REPO_ID).lipsync_hidden_size == 16
    # The remote-code path resolves from the same snapshot.
    remote = AutoModel.from_pretrained(REPO_ID, trust_remote_code=True)
    torch.testing.assert_close(outputs(remote), outputs(tiny_model()), rtol=0, atol=0)
    assert Path(hf_hub_download(REPO_ID, "config.json")).parent == snapshot
    assert Path(snapshot_download(REPO_ID)) == snapshot
    assert pull_model(REPO_ID) == snapshot

    # huggingface_hub sees an ordinary cached repo: scan_cache_dir raises on broken links or dangling refs.
    info = scan_cache_dir(cache)
    assert not info.warnings
    [cached] = info.repos
    assert cached.repo_id == REPO_ID
    assert [(r.commit_hash, set(r.refs)) for r in cached.revisions] == [(revision, {"main"})]


def test_optional_files_are_recorded_as_absent(root, cache):
    pretrained.seed_hf_cache()
    absent = cache / CACHE_FOLDER / ".no_exist" / main_revision(cache)
    names = {p.relative_to(absent).as_posix() for p in absent.rglob("*") if p.is_file()}
    assert "processor_config.json" in names and "tokenizer_config.json" in names
    assert names == set(pretrained.PROBED_FILES) - {p.name for p in (root / NAME).iterdir()}


def test_seeding_again_changes_nothing_and_hashes_nothing(root, cache, monkeypatch):
    assert pretrained.seed_hf_cache() == [REPO_ID]
    before = tree(cache)
    stamps = {p: p.lstat().st_mtime_ns for p in cache.rglob("*")}

    def no_hashing(path):
        raise AssertionError(f"hashed {path} although the cache was up to date")

    monkeypatch.setattr(pretrained, "_sha256", no_hashing)
    assert pretrained.seed_hf_cache() == [REPO_ID]
    assert tree(cache) == before
    assert {p: p.lstat().st_mtime_ns for p in cache.rglob("*")} == stamps


def test_changed_checkpoint_gets_a_new_revision(root, cache):
    pretrained.seed_hf_cache()
    old = main_revision(cache)
    repo = cache / CACHE_FOLDER
    old_blobs = {p.name for p in (repo / "blobs").iterdir()}
    save_model_folder(tiny_model(seed=1), root / NAME, feature_extractor=AvLipsyncProcessor())

    assert pretrained.seed_hf_cache() == [REPO_ID]
    new = main_revision(cache)
    assert new != old
    # The old snapshot would now read the new files under the old revision, so it is gone, with its records.
    assert [p.name for p in (repo / "snapshots").iterdir()] == [new]
    assert [p.name for p in (repo / ".no_exist").iterdir()] == [new]
    new_blobs = {p.name for p in (repo / "blobs").iterdir()}
    assert new_blobs != old_blobs and old_blobs & new_blobs  # weights changed, the code files did not
    assert all((repo / "blobs" / b).exists() for b in new_blobs)
    torch.testing.assert_close(
        outputs(AutoModel.from_pretrained(REPO_ID)), outputs(tiny_model(seed=1)), rtol=0, atol=0
    )
    assert not scan_cache_dir(cache).warnings


def test_a_real_hub_download_is_left_alone(root, cache):
    repo = cache / CACHE_FOLDER
    snapshot = repo / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text('{"model_type": "av-lipsync"}')
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("a" * 40)
    before = tree(cache)
    assert pretrained.seed_hf_cache() == []
    assert tree(cache) == before


def test_our_folder_is_left_alone_once_main_points_at_a_hub_download(root, cache):
    pretrained.seed_hf_cache()
    repo = cache / CACHE_FOLDER
    # What hf_hub_download does when the real repo is reachable: a new snapshot, refs/main moved to it.
    (repo / "snapshots" / ("b" * 40)).mkdir()
    (repo / "refs" / "main").write_text("b" * 40)
    (root / NAME / "README.md").write_text("# changed card\n")  # a changed bundle would normally reseed
    before = tree(cache)
    assert pretrained.seed_hf_cache() == []
    assert tree(cache) == before


def test_deleting_the_cached_revision_keeps_the_package_files(root, cache):
    pretrained.seed_hf_cache()
    package = tree(root)
    revision = main_revision(cache)
    # Another revision keeps the repo, so the deletion removes our snapshot and blobs one by one.
    other = cache / CACHE_FOLDER / "snapshots" / ("c" * 40)
    other.mkdir()
    (other / "config.json").write_text("{}")
    strategy = scan_cache_dir(cache).delete_revisions(revision)
    assert not strategy.repos and strategy.blobs
    strategy.execute()
    assert tree(root) == package
    assert not (cache / CACHE_FOLDER / "snapshots" / revision).exists()
    shutil.rmtree(other)
    # The next import puts it back.
    assert pretrained.seed_hf_cache() == [REPO_ID]
    assert type(AutoModel.from_pretrained(REPO_ID)) is AvLipsyncModel


def test_without_symlinks_the_files_are_copied(root, cache, monkeypatch):
    def no_symlinks(*args, **kwargs):
        raise OSError("symlinks are not supported here")

    monkeypatch.setattr(os, "symlink", no_symlinks)
    assert pretrained.seed_hf_cache() == [REPO_ID]
    snapshot = cache / CACHE_FOLDER / "snapshots" / main_revision(cache)
    for path in (root / NAME).iterdir():
        copy = snapshot / path.name
        assert not copy.is_symlink() and copy.read_bytes() == path.read_bytes()
    assert type(AutoModel.from_pretrained(REPO_ID)) is AvLipsyncModel


def test_unwritable_cache_is_skipped_quietly(root, tmp_path, monkeypatch):
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    assert pretrained.seed_hf_cache(blocked / "hub") == []  # cannot create a folder under a file

    def read_only(*args, **kwargs):
        raise PermissionError(30, "Read-only file system")

    monkeypatch.setattr(pretrained, "_write_atomic", read_only)
    assert pretrained.seed_hf_cache(tmp_path / "cache") == []


def test_opt_out_and_import_wiring(root, cache, monkeypatch):
    monkeypatch.setenv(pretrained.SEED_ENV, "0")
    assert pretrained.seed_hf_cache_on_import() == []
    avzoo._seed_hf_cache()
    assert not cache.exists()
    monkeypatch.setenv(pretrained.SEED_ENV, "1")
    avzoo._seed_hf_cache()  # what `import avzoo` runs
    assert main_revision(cache)

    def broken():
        raise RuntimeError("anything at all")

    monkeypatch.setattr(pretrained, "seed_hf_cache_on_import", broken)
    avzoo._seed_hf_cache()  # never raises: import must not break over the cache


@pytest.mark.slow
def test_unreachable_hub_falls_back_to_the_cache(root, tmp_path):
    """No HF_HUB_OFFLINE, a Hub that refuses connections: transformers loads the seeded snapshot, and no optional
    file is looked up online (each such lookup would wait out huggingface_hub's retries)."""
    home = tmp_path / "hf-home"  # HF_HOME alone: the cache is $HF_HOME/hub
    script = textwrap.dedent(
        f"""
        import json, sys, time
        time.sleep = lambda seconds: None  # a regression then fails fast instead of waiting out retries
        from pathlib import Path
        import torch
        import huggingface_hub.file_download as fd
        import avzoo.pretrained as pretrained
        from huggingface_hub import constants
        from transformers import AutoFeatureExtractor, AutoModel

        lookups = []
        original = fd._get_metadata_or_catch_error
        def counted(**kwargs):
            lookups.append(kwargs["filename"])
            return original(**kwargs)
        fd._get_metadata_or_catch_error = counted

        pretrained.ROOT = Path({str(root)!r})
        seeded = pretrained.seed_hf_cache()
        model = AutoModel.from_pretrained({REPO_ID!r})
        extractor = AutoFeatureExtractor.from_pretrained({REPO_ID!r})
        features = torch.randn(1, 12, 80, generator=torch.Generator().manual_seed(3))
        with torch.no_grad():
            out = model(features).blendshapes
        print(json.dumps({{
            "offline": constants.HF_HUB_OFFLINE, "cache": constants.HF_HUB_CACHE, "seeded": seeded,
            "model": type(model).__name__, "extractor": type(extractor).__name__,
            "sum": float(out.double().sum()), "lookups": lookups,
        }}))
        """
    )
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env.update(
        HF_HOME=str(home),
        HF_ENDPOINT="http://127.0.0.1:9",  # the discard port: nothing listens, connections are refused
        AVZOO_SEED_HF_CACHE="0",  # the child's import must not seed the real bundled checkpoints here
        PYTHONPATH=str(REPO),
    )
    env.pop("HF_HUB_CACHE", None)
    env.pop("HF_MODULES_CACHE", None)
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["offline"] is False
    assert result["cache"] == str(home / "hub")
    assert result["seeded"] == [REPO_ID]
    assert (result["model"], result["extractor"]) == ("AvLipsyncModel", "AvLipsyncProcessor")
    assert result["sum"] == pytest.approx(float(outputs(tiny_model()).double().sum()), abs=1e-9)
    # Files in the snapshot are served from it; absent optional files are known absent. Nothing asked the Hub
    # for a file it would then have retried.
    assert result["lookups"] == [], result["lookups"]
