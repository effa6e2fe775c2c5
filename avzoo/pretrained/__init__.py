"""The bundled checkpoints: one Hugging Face model folder per family, shipped inside the package.

Each folder (``avzoo/pretrained/<name>/``, written by ``avzoo release <name>``) holds ``config.json``,
safetensors weights, the processor config, its card and evaluation JSON, and no code: avzoo is installed
wherever it loads (a Hub push adds the self-contained remote code, :func:`avzoo.hub.save_model_folder`). The
hyphenated names keep them data, not subpackages.

``import avzoo`` calls :func:`seed_hf_cache_on_import`, which makes every bundled folder look like a download
of ``avzoo/<name>`` in the Hugging Face cache, so plain calls work with no network::

    import avzoo
    from transformers import AutoModel, AutoProcessor, pipeline

    animate = pipeline("audio-to-blendshapes", model="avzoo/av-lipsync")
    model = AutoModel.from_pretrained("avzoo/av-lipsync")
    processor = AutoProcessor.from_pretrained("avzoo/av-lipsync")

The cache entry is the standard layout, ``models--avzoo--<name>/{refs/main, snapshots/<rev>/..., blobs/...}``:
``<rev>`` is a content hash of the folder, the snapshot files link to ``blobs/<sha256>`` and those link to the
package files (copies where the file system has no symlinks). ``scan_cache_dir``/``delete-cache`` therefore see
an ordinary repo and, deleting it, unlink the links, never the package files. Optional files transformers looks
for and the folder lacks (``processor_config.json``, tokenizer files...) are recorded under ``.no_exist/<rev>/``,
as huggingface_hub records a 404, so looking for them costs no network round trip.

When does the cache answer?

* ``HF_HUB_OFFLINE=1``: always, with no network call.
* No network, or a Hub that cannot be reached (connection refused, DNS failure, 5xx): transformers falls back to
  the cached ``refs/main`` and loads the snapshot (one failed request per ``from_pretrained``; a firewall that
  silently drops packets makes each wait out ``HF_HUB_ETAG_TIMEOUT``, so set ``HF_HUB_OFFLINE=1`` there).
  huggingface_hub warns "Could not reach the Hub (...). Using cached commit hash" on each of those requests (a model
  and its processor: twice); for a repo that resolves to a bundled checkpoint that becomes one line per process
  saying so (:class:`_BundledFallbackNote`), and other repos' warnings are left as they are.
* The Hub is reachable and has ``avzoo/<name>``: transformers downloads the real repo into the same folder and
  moves ``refs/main`` to it; from then on this module leaves the folder alone.
* The Hub is reachable but answers "repository not found" (before ``avzoo/<name>`` is published):
  ``AutoConfig``/``AutoModel`` still load from the cache, but ``AutoFeatureExtractor`` raises (it first asks
  for ``processor_config.json`` by branch name, and huggingface_hub only falls back for files the snapshot
  holds). Set ``HF_HUB_OFFLINE=1``, or load the folder itself: ``from_pretrained(avzoo.pretrained.path(name))``.

Rules: a repo folder is only touched when it is missing or carries our marker file (:data:`MARKER`), and
``refs/main`` only while it points at a revision we wrote; the check on an already seeded cache costs a
few stat calls (``benchmarks/pretrained_seed.py``). ``AVZOO_SEED_HF_CACHE=0`` turns the import-time seeding
off; ``HF_HUB_CACHE`` / ``HF_HOME`` choose the cache as for every Hugging Face library.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

#: Where the bundled model folders live (tests point it elsewhere).
ROOT = Path(__file__).resolve().parent
#: The Hub organisation the bundled checkpoints are published under.
HUB_ORG = "avzoo"
#: File inside ``models--avzoo--<name>/`` that marks a cache entry as written by avzoo (JSON).
MARKER = ".avzoo-bundled.json"
#: Environment variable: set to 0 / false / no / off to skip seeding on ``import avzoo``.
SEED_ENV = "AVZOO_SEED_HF_CACHE"
#: How many of our past revisions the marker remembers (to recognise ``refs/main`` as ours).
_HISTORY = 20
_SKIP_DIRS = {"__pycache__"}
_CHUNK = 1 << 20
#: Suffix of our blob names: a real download's blob is named by its bare etag (sha256 for LFS files), so ours
#: never collide with one even when the Hub file has the same content.
_BLOB_SUFFIX = ".avzoo"
#: Optional files transformers looks for. A snapshot records the absent ones under ``.no_exist/<rev>/`` (as
#: huggingface_hub does after a 404), so looking for them never goes to the network: without that, every probe
#: on a machine with no network waits out huggingface_hub's retries (about 23 s each).
PROBED_FILES = (
    "adapter_config.json",
    "added_tokens.json",
    "chat_template.jinja",
    "chat_template.json",
    "custom_generate/generate.py",
    "feature_extractor_config.json",
    "generation_config.json",
    "image_processor_config.json",
    "model.safetensors",
    "model.safetensors.index.json",
    "preprocessor_config.json",
    "processor_config.json",
    "special_tokens_map.json",
    "tokenizer.json",
    "tokenizer.model",
    "tokenizer_config.json",
    "video_preprocessor_config.json",
)

__all__ = [
    "HUB_ORG",
    "MARKER",
    "PROBED_FILES",
    "ROOT",
    "SEED_ENV",
    "bundled",
    "load",
    "path",
    "repo_id",
    "seed_hf_cache",
    "seed_hf_cache_on_import",
]


# --- what is bundled -------------------------------------------------------------------------------------------


def bundled() -> dict[str, Path]:
    """``{name: folder}`` of every bundled checkpoint: folders under :data:`ROOT` with config.json and weights."""
    found = {}
    try:
        entries = sorted(os.scandir(ROOT), key=lambda e: e.name)
    except OSError:
        return {}
    for entry in entries:
        if entry.name.startswith((".", "_")) or not entry.is_dir():
            continue
        folder = Path(entry.path)
        if (folder / "config.json").is_file() and any(folder.glob("*.safetensors")):
            found[entry.name] = folder
    return found


def path(name: str) -> Path:
    """The folder of bundled checkpoint ``name`` (``"av-lipsync"`` or ``"avzoo/av-lipsync"``).

    Raises ``ValueError`` naming what is bundled when there is no such checkpoint.
    """
    if not isinstance(name, str):
        raise ValueError(f"name must be a string such as 'av-lipsync', got {type(name).__name__}")
    key = name.removeprefix(f"{HUB_ORG}/")
    folders = bundled()
    if key not in folders:
        have = ", ".join(sorted(folders)) or "none"
        raise ValueError(
            f"no bundled checkpoint named {name!r}; bundled: {have} "
            f"(folders under {ROOT} with config.json and *.safetensors)"
        )
    return folders[key]


def repo_id(name: str) -> str:
    """The Hub id a bundled checkpoint is published and cached under: ``avzoo/<name>``."""
    return f"{HUB_ORG}/{name.removeprefix(f'{HUB_ORG}/')}"


def load(source: str | os.PathLike, what: str = "a model and processor") -> tuple[Any, Any]:
    """``(AutoModel, AutoProcessor)`` from a folder or Hub id: safetensors only, float32, eval mode.

    The Hub id of a bundled checkpoint (``avzoo/av-lipsync``) loads the folder inside the package, with no
    network. float32 whatever the stored dtype: avzoo scores, exports and calibrates models as they run on a CPU.
    ``ValueError`` (``"cannot load <what> from ..."``) when the source cannot be loaded.
    """
    import torch
    from transformers import AutoModel, AutoProcessor

    from avzoo.families import register

    register()  # idempotent: the Auto classes know the families whether or not `import avzoo` ran it yet
    folder = Path(source)
    org, _, name = str(source).partition("/")
    if not folder.is_dir() and org == HUB_ORG and name in bundled():
        folder = bundled()[name]
    try:
        model = AutoModel.from_pretrained(str(folder), dtype=torch.float32, use_safetensors=True)
        processor = AutoProcessor.from_pretrained(str(folder))
    except (OSError, ValueError) as err:
        raise ValueError(f"cannot load {what} from {str(source)!r}: {err}") from err
    return model.eval(), processor


# --- seeding the Hugging Face cache ----------------------------------------------------------------------------


def _hub_cache(cache_dir: str | os.PathLike | None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir)
    # Read at call time: the value transformers and huggingface_hub use (HF_HUB_CACHE, else HF_HOME/hub).
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def _files(folder: Path) -> list[tuple[str, os.stat_result]]:
    """(relative posix path, stat) of every file a Hub copy of ``folder`` holds, sorted by path."""
    stack = [(folder, "")]
    found = []
    while stack:
        directory, prefix = stack.pop()
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.name.startswith(".") or entry.name.endswith(".pyc"):
                    continue
                rel = prefix + entry.name
                if entry.is_dir():
                    if entry.name not in _SKIP_DIRS:
                        stack.append((Path(entry.path), rel + "/"))
                elif entry.is_file():
                    found.append((rel, entry.stat()))
    return sorted(found, key=lambda item: item[0])


def _stat_key(folder: Path, files: list[tuple[str, os.stat_result]]) -> str:
    """Cheap fingerprint of the folder's files; ctime changes on every write, so edits are never missed."""
    parts = [str(folder)]
    parts += [f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}\0{st.st_ino}" for rel, st in files]
    return hashlib.sha1("\n".join(parts).encode(), usedforsecurity=False).hexdigest()


def _sha256(file: Path) -> str:
    digest = hashlib.sha256()
    with open(file, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _revision(hashes: dict[str, str]) -> str:
    """40-hex content hash of the folder: its file names and their sha256, like a commit id."""
    listing = "".join(f"{rel}\0{sha}\n" for rel, sha in sorted(hashes.items()))
    return hashlib.sha1(listing.encode(), usedforsecurity=False).hexdigest()


def _read_text(file: Path) -> str | None:
    try:
        return file.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return None


def _read_marker(repo: Path) -> dict[str, Any] | None:
    text = _read_text(repo / MARKER)
    if text is None:
        return None
    try:
        marker = json.loads(text)
    except ValueError:
        marker = None
    # An unreadable marker still marks the folder as ours; it just holds no revisions.
    return marker if isinstance(marker, dict) else {}


def _write_atomic(target: Path, text: str, scratch: Path) -> None:
    """Write ``text`` to ``target`` via a temporary file in ``scratch`` (same file system) and a rename."""
    tmp = scratch / f".avzoo-tmp-{uuid.uuid4().hex}"
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _link(target: str, link: Path, scratch: Path) -> None:
    """Make ``link`` a symlink to ``target``, replacing whatever is there atomically."""
    if link.is_symlink() and os.readlink(link) == target:
        return
    tmp = scratch / f".avzoo-tmp-{uuid.uuid4().hex}"
    os.symlink(target, tmp)
    try:
        os.replace(tmp, link)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise


def _copy(source: Path, dest: Path, scratch: Path) -> None:
    tmp = scratch / f".avzoo-tmp-{uuid.uuid4().hex}"
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _up_to_date(repo: Path, marker: dict[str, Any], key: str, files: list[str]) -> bool:
    revision = marker.get("revision")
    if marker.get("stat_key") != key or not revision:
        return False
    if _read_text(repo / "refs" / "main") != revision:
        return False
    snapshot = repo / "snapshots" / revision
    # exists() follows both link hops, so a moved or removed package shows up here.
    return all(os.path.exists(snapshot / rel) for rel in files)


def _blob(sha: str) -> str:
    return sha + _BLOB_SUFFIX


def _build_snapshot(repo: Path, folder: Path, hashes: dict[str, str], revision: str) -> None:
    """snapshots/<rev>/<file> -> ../../blobs/<sha256>.avzoo -> the package file (or a copy), + .no_exist/<rev>/."""
    blobs = repo / "blobs"
    snapshot = repo / "snapshots" / revision
    blobs.mkdir(parents=True, exist_ok=True)
    snapshot.mkdir(parents=True, exist_ok=True)
    for rel, sha in hashes.items():
        source = folder / rel
        dest = snapshot / rel
        blob = blobs / _blob(sha)
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            _link(str(source), blob, repo)
            _link(os.path.relpath(blob, dest.parent), dest, repo)
        except OSError as err:  # no symlinks here (some Windows setups, some mounts): copy instead
            logger.debug("avzoo: symlink failed (%s); copying %s into the cache", err, rel)
            _copy(source, dest, repo)
    # The revision is a hash of exactly these files, so everything else is known to be absent from it.
    for rel in PROBED_FILES:
        if rel not in hashes:
            missing = repo / ".no_exist" / revision / rel
            missing.parent.mkdir(parents=True, exist_ok=True)
            missing.touch()


def _prune(repo: Path, marker: dict[str, Any], revision: str, hashes: dict[str, str]) -> None:
    """Drop our older snapshots and blobs: their links now lead to the new files under old names."""
    for old in marker.get("revisions", []):
        if old != revision and isinstance(old, str) and len(old) == 40 and old.isalnum():
            shutil.rmtree(repo / "snapshots" / old, ignore_errors=True)  # unlinks, never follows links
            shutil.rmtree(repo / ".no_exist" / old, ignore_errors=True)
    keep = {_blob(sha) for sha in hashes.values()}
    for blob in marker.get("blobs", []):
        if isinstance(blob, str) and blob.endswith(_BLOB_SUFFIX) and blob not in keep and "/" not in blob:
            (repo / "blobs" / blob).unlink(missing_ok=True)


def _seed_one(name: str, folder: Path, cache: Path) -> bool:
    """Seed one checkpoint; True when ``avzoo/<name>`` now resolves to it from the cache."""
    from huggingface_hub.file_download import repo_folder_name

    folder = folder.resolve()
    repo = cache / repo_folder_name(repo_id=repo_id(name), repo_type="model")
    stats = _files(folder)
    key = _stat_key(folder, stats)
    rels = [rel for rel, _ in stats]

    marker = _read_marker(repo)
    if marker is None:
        if repo.exists():
            logger.debug("avzoo: %s holds a download that is not ours; leaving it alone", repo)
            return False
        cache.mkdir(parents=True, exist_ok=True)
        try:
            repo.mkdir()
        except FileExistsError:  # another process is seeding right now, or a download began
            return False
        marker = {}
        _write_atomic(repo / MARKER, json.dumps({"source": str(folder)}), repo)
    elif _up_to_date(repo, marker, key, rels):
        return True

    revisions = [r for r in marker.get("revisions", []) if isinstance(r, str)]
    main = _read_text(repo / "refs" / "main")
    if main is not None and main not in revisions:
        logger.debug("avzoo: refs/main of %s points at %s (a Hub download); leaving it alone", repo, main)
        return False

    hashes = {rel: _sha256(folder / rel) for rel in rels}
    revision = _revision(hashes)
    _build_snapshot(repo, folder, hashes, revision)
    (repo / "refs").mkdir(exist_ok=True)
    # Record the revision as ours before refs/main moves to it, so a crash in between never reads as foreign.
    history = [revision, *[r for r in revisions if r != revision]][:_HISTORY]
    current = {_blob(sha) for sha in hashes.values()}
    blobs = sorted(current | {b for b in marker.get("blobs", []) if isinstance(b, str)})
    _write_atomic(
        repo / MARKER,
        json.dumps({"source": str(folder), "revisions": history, "blobs": blobs}, indent=1),
        repo,
    )
    _write_atomic(repo / "refs" / "main", revision, repo)
    _prune(repo, {"revisions": history, "blobs": blobs}, revision, hashes)
    _write_atomic(
        repo / MARKER,
        json.dumps(
            {
                "source": str(folder),
                "revision": revision,
                "stat_key": key,
                "revisions": history,
                "blobs": sorted(current),
            },
            indent=1,
        ),
        repo,
    )
    logger.debug("avzoo: seeded %s at revision %s from %s", repo_id(name), revision, folder)
    return True


def seed_hf_cache(cache_dir: str | os.PathLike | None = None) -> list[str]:
    """Make every bundled checkpoint loadable as ``avzoo/<name>`` from the Hugging Face cache.

    ``cache_dir`` defaults to huggingface_hub's ``HF_HUB_CACHE`` (``$HF_HOME/hub``). Idempotent and cheap once
    seeded; a changed checkpoint gets a new snapshot revision and ``refs/main`` moves to it. Repo folders that
    avzoo did not create, or whose ``refs/main`` now points at a real Hub download, are left alone. Failures
    (a read-only cache...) skip that checkpoint with a debug log. Returns the repo ids that resolve to the
    bundled checkpoints.
    """
    cache = _hub_cache(cache_dir)
    seeded = []
    for name, folder in bundled().items():
        try:
            if _seed_one(name, folder, cache):
                seeded.append(repo_id(name))
                _FALLBACK_NOTE.watch(repo_id(name), cache)
        except OSError as err:
            logger.debug("avzoo: could not seed %s into %s: %s", repo_id(name), cache, err)
    return seeded


# --- the message when the Hub cannot be reached ----------------------------------------------------------------


class _BundledFallbackNote(logging.Filter):
    """On huggingface_hub's logger: its "Could not reach the Hub" warning, for a seeded repo, once and accurate.

    Without ``HF_HUB_OFFLINE``, every ``from_pretrained`` first asks the Hub for the repo's revision and, with no
    Hub, huggingface_hub warns "Could not reach the Hub (<error>). Using cached commit hash for '<repo>'." (twice
    for a model and its processor). For a repo whose ``refs/main`` is still the revision we seeded, the first such
    warning in a process is rewritten to say that the checkpoint bundled with avzoo is what loads, and the repeats
    are dropped. Warnings about any other repo, or ours once a Hub download owns ``refs/main``, pass unchanged.
    """

    LOGGER = "huggingface_hub.hf_api"
    PATTERN = re.compile(
        r"Could not reach the Hub \((?P<error>.*)\)\. Using cached commit hash for '(?P<repo>[^']+)'\.", re.S
    )

    def __init__(self) -> None:
        super().__init__()
        self.caches: dict[str, Path] = {}  # repo id -> the cache we seeded it in
        self.noted: set[str] = set()

    def watch(self, repo: str, cache: Path) -> None:
        self.caches[repo] = cache
        hub_logger = logging.getLogger(self.LOGGER)
        if self not in hub_logger.filters:
            hub_logger.addFilter(self)

    def _is_bundled(self, repo: str) -> bool:
        if repo not in self.caches:
            return False
        from huggingface_hub.file_download import repo_folder_name

        folder = self.caches[repo] / repo_folder_name(repo_id=repo, repo_type="model")
        revision = (_read_marker(folder) or {}).get("revision")
        return revision is not None and _read_text(folder / "refs" / "main") == revision

    def filter(self, record: logging.LogRecord) -> bool:
        match = self.PATTERN.fullmatch(str(record.msg)) if not record.args else None
        if match is None or not self._is_bundled(match["repo"]):
            return True
        if match["repo"] in self.noted:
            return False
        self.noted.add(match["repo"])
        record.msg = (
            "avzoo: the Hugging Face Hub cannot be reached (%s); %s loads from the checkpoint bundled with avzoo "
            "(set HF_HUB_OFFLINE=1 to skip the lookup)"
        )
        record.args = (match["error"], match["repo"])
        return True


_FALLBACK_NOTE = _BundledFallbackNote()


def seed_hf_cache_on_import() -> list[str]:
    """What ``import avzoo`` runs: :func:`seed_hf_cache` unless ``AVZOO_SEED_HF_CACHE`` is 0/false/no/off."""
    if os.environ.get(SEED_ENV, "1").strip().lower() in {"0", "false", "no", "off"}:
        return []
    return seed_hf_cache()
