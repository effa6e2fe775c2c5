"""Push a model folder to the Hub and pull one into the local cache."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from huggingface_hub import CommitInfo, CommitOperationAdd, HfApi, ModelCard, snapshot_download
from huggingface_hub.errors import LocalEntryNotFoundError
from transformers import PreTrainedModel

from .cards import EvalJSON, render_model_card
from .folder import EVAL_RESULTS_NAME, check_self_contained, save_model_folder

#: Files that may travel with a model. Pickled weights are refused: avzoo ships safetensors only.
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")
#: What ``pull_model`` fetches: configs, weights, code, card and text assets, never pickles.
PULL_PATTERNS = ["*.json", "*.safetensors", "*.py", "*.md", "*.txt", "*.jinja"]
REQUIRED_FILES = ("config.json",)


class IncompleteModelError(OSError):
    """A local or cached model folder lacks files a model needs (config or safetensors weights)."""


def _skipped(relative: Path) -> bool:
    # Editor, cache and git litter never belongs in a model repo.
    return (
        any(part.startswith(".") or part == "__pycache__" for part in relative.parts)
        or relative.suffix == ".pyc"
    )


def _missing_model_files(folder: Path) -> list[str]:
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if not any(folder.glob("*.safetensors")):
        missing.append("*.safetensors weights")
    return missing


def _check_model_folder(folder: Path) -> None:
    if missing := _missing_model_files(folder):
        raise IncompleteModelError(
            f"model folder {folder} is incomplete: missing {', '.join(missing)}; "
            "write it with avzoo.hub.save_model_folder (or model.save_pretrained)"
        )


def folder_operations(folder: str | Path, repo_id: str | None = None) -> list[CommitOperationAdd]:
    """The commit operations that upload ``folder``: every file except hidden/cache files, sorted by path.

    Refuses pickled weights. When the folder has no ``README.md``, one is rendered from its config and any
    ``eval_results.json`` so no model lands on the Hub without a card.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"not a folder: {folder}")
    _check_model_folder(folder)
    check_self_contained(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not _skipped(p.relative_to(folder)))
    pickles = [p.relative_to(folder).as_posix() for p in files if p.suffix in PICKLE_SUFFIXES]
    if pickles:
        raise ValueError(
            f"refusing to push pickled files {pickles}; avzoo models ship safetensors weights only"
        )
    operations = [
        CommitOperationAdd(path_in_repo=p.relative_to(folder).as_posix(), path_or_fileobj=str(p))
        for p in files
    ]
    if not (folder / "README.md").is_file():
        card = _default_card(folder, repo_id)
        operations.append(CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=str(card).encode()))
    return operations


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _default_card(folder: Path, repo_id: str | None) -> ModelCard:
    config = _read_json(folder / "config.json")
    eval_path = folder / EVAL_RESULTS_NAME
    variables = {
        "model_id": repo_id or config.get("model_type", folder.name),
        "tags": [config["model_type"]] if config.get("model_type") else [],
        "has_feature_extractor": (folder / "preprocessor_config.json").is_file()
        or (folder / "processor_config.json").is_file(),
    }
    return render_model_card(variables, eval_path if eval_path.is_file() else None)


def push_model(
    folder_or_model: str | Path | PreTrainedModel,
    repo_id: str,
    token: str | None = None,
    private: bool = False,
    commit_message: str = "Upload avzoo model",
    *,
    feature_extractor: Any | None = None,
    card: ModelCard | str | Mapping[str, Any] | None = None,
    eval_results: EvalJSON | None = None,
    revision: str | None = None,
    create_pr: bool = False,
) -> CommitInfo:
    """Create ``repo_id`` if needed and upload a model folder (or a model, saved first) in one commit.

    For a model, ``feature_extractor``, ``card`` and ``eval_results`` go to :func:`save_model_folder`; the
    card's ``model_id`` defaults to ``repo_id``. Returns the ``CommitInfo`` of the upload.
    """
    if "/" not in repo_id.strip("/"):
        raise ValueError(f"repo_id must be 'namespace/name' (e.g. 'avzoo/av-lipsync'), got {repo_id!r}")
    if isinstance(folder_or_model, PreTrainedModel):
        with tempfile.TemporaryDirectory(prefix="avzoo-push-") as tmp:
            if not isinstance(card, (ModelCard, str)):
                card = {"model_id": repo_id, **(card or {})}
            folder = save_model_folder(folder_or_model, tmp, feature_extractor, card, eval_results)
            return _push_folder(folder, repo_id, token, private, commit_message, revision, create_pr)
    if feature_extractor is not None or card is not None or eval_results is not None:
        raise ValueError(
            "feature_extractor, card and eval_results apply when pushing a model, not a saved folder"
        )
    folder = Path(folder_or_model)
    if _needs_code(folder):
        with tempfile.TemporaryDirectory(prefix="avzoo-push-") as tmp:
            complete = with_remote_code(folder, tmp)
            return _push_folder(complete, repo_id, token, private, commit_message, revision, create_pr)
    return _push_folder(folder, repo_id, token, private, commit_message, revision, create_pr)


def _needs_code(folder: Path) -> bool:
    """A folder of an avzoo model saved without its code (e.g. a bundled checkpoint): no ``auto_map``."""
    config = folder / "config.json"
    if not config.is_file():
        return False
    from avzoo.families import with_part

    model_type = _read_json(config).get("model_type")
    known = {f.id for f in with_part("models")}
    return model_type in known and "auto_map" not in _read_json(config)


def with_remote_code(folder: str | Path, out: str | Path) -> Path:
    """Copy of a code-less avzoo model folder in ``out`` with its remote code (``save_model_folder``).

    The card (README.md) and evaluation JSON files are kept as they are.
    """
    import shutil

    from transformers import AutoModel, AutoProcessor

    folder, out = Path(folder), Path(out)
    _check_model_folder(folder)
    model = AutoModel.from_pretrained(folder, use_safetensors=True)
    has_processor = (folder / "preprocessor_config.json").is_file() or (
        folder / "processor_config.json"
    ).is_file()
    processor = AutoProcessor.from_pretrained(folder) if has_processor else None
    readme = folder / "README.md"
    card = readme.read_text(encoding="utf-8") if readme.is_file() else None
    save_model_folder(model, out, processor, card=card)
    for extra in folder.glob("eval_results*.json"):
        shutil.copy2(extra, out / extra.name)
    return out


def _push_folder(
    folder: Path,
    repo_id: str,
    token: str | None,
    private: bool,
    commit_message: str,
    revision: str | None,
    create_pr: bool,
) -> CommitInfo:
    operations = folder_operations(folder, repo_id)
    api = HfApi(token=token)
    repo = api.create_repo(repo_id, private=private, repo_type="model", exist_ok=True)
    return api.create_commit(
        repo.repo_id,
        operations,
        commit_message=commit_message,
        repo_type="model",
        revision=revision,
        create_pr=create_pr,
    )


def pull_model(
    repo_id: str,
    revision: str | None = None,
    token: str | None = None,
    cache_dir: str | Path | None = None,
    local_files_only: bool = False,
) -> Path:
    """Download (or find in the cache) a model repo's safe files and return the local snapshot folder.

    Loading is plain ``AutoModel.from_pretrained(repo_id)``; this helper is for tools that need the files
    themselves (the evaluation JSON, the card). Raises :class:`IncompleteModelError` when the cached snapshot
    lacks the config or weights and the Hub cannot fill it in (offline).
    """
    try:
        path = snapshot_download(
            repo_id,
            revision=revision,
            token=token,
            cache_dir=cache_dir,
            local_files_only=local_files_only,
            allow_patterns=PULL_PATTERNS,
        )
    except LocalEntryNotFoundError as err:  # IncompleteSnapshotError is a subclass
        raise IncompleteModelError(
            f"{repo_id} is not (fully) in the local Hugging Face cache and the Hub cannot be reached "
            f"(offline mode or no network): {err}"
        ) from err
    folder = Path(path)
    if missing := _missing_model_files(folder):
        raise IncompleteModelError(
            f"the snapshot of {repo_id} at {folder} lacks {', '.join(missing)}; it was only partly downloaded "
            "(or the repo holds no avzoo model). Run pull_model again with network access to complete it."
        )
    return folder
