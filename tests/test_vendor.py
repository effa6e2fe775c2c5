"""avzoo.hub.vendor: a saved model folder gets the avzoo modules its code imports, with the imports rewritten."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from av_lipsync_helpers import speechlike, tiny_model

import avzoo
from avzoo import arkit
from avzoo.features.logmel import LogMel
from avzoo.hub import check_self_contained, save_model_folder
from avzoo.hub.vendor import vendor_avzoo_imports, vendored_name
from avzoo.models.av_lipsync import AvLipsyncProcessor
from avzoo.pipelines.audio_to_blendshapes import AudioToBlendshapesPipeline

HEADER = "# Vendored from {} by avzoo.hub.vendor; edit the original, not this copy.\n"


def avzoo_imports(source: str) -> set[str]:
    """Absolute ``from avzoo.x import ...`` modules and ``import avzoo...`` names in ``source``."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "").split(".")[0] == "avzoo"
        ):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "avzoo"}
    return found


def closure(modules: set[str]) -> set[str]:
    """Every avzoo module reachable from ``modules`` through their imports (computed here, independently)."""
    seen, todo = set(), list(modules)
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        todo += avzoo_imports(Path(importlib.util.find_spec(module).origin).read_text())
    return seen


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


@pytest.fixture
def import_folder():
    """``import_folder(folder, package, module)``: import ``folder`` as package ``package`` (its relative imports
    resolve inside it) and return ``package.module``; the package leaves ``sys.modules`` after the test."""
    packages = []

    def load(folder: Path, package: str, module: str):
        (folder / "__init__.py").touch()
        spec = importlib.util.spec_from_file_location(
            package, folder / "__init__.py", submodule_search_locations=[str(folder)]
        )
        pkg = importlib.util.module_from_spec(spec)
        sys.modules[package] = pkg
        packages.append(package)
        spec.loader.exec_module(pkg)
        return importlib.import_module(f"{package}.{module}")

    yield load
    for package in packages:
        for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
            sys.modules.pop(name)


@pytest.fixture
def fake_avzoo_module(tmp_path, monkeypatch):
    """Make ``avzoo.<name>`` resolve to a file written by the test (avzoo/ itself is not touched)."""
    extra = tmp_path / "avzoo_extra"
    extra.mkdir()
    monkeypatch.setattr(avzoo, "__path__", [*avzoo.__path__, str(extra)])

    def make(name: str, source: str) -> str:
        (extra / f"{name}.py").write_text(source)
        importlib.invalidate_caches()
        return f"avzoo.{name}"

    return make


def test_vendored_name():
    assert vendored_name("avzoo.io.audio") == "avzoo_io_audio"
    assert vendored_name("avzoo.arkit") == "avzoo_arkit"


def test_rewrites_the_import_and_copies_the_module(tmp_path, import_folder):
    folder = write(
        tmp_path / "f",
        {
            "modeling_x.py": "from avzoo.arkit import ARKIT_NAMES, INDEX\n\nNAMES = ARKIT_NAMES\nJAW = INDEX['jawOpen']\n",
            "other.py": "import numpy as np\n\nX = np.ones(2)\n",
        },
    )
    other = (folder / "other.py").read_bytes()
    assert vendor_avzoo_imports(folder) == ["avzoo_arkit.py"]
    assert (folder / "modeling_x.py").read_text().startswith("from .avzoo_arkit import ARKIT_NAMES, INDEX\n")
    source = Path(arkit.__file__).read_text()
    assert (folder / "avzoo_arkit.py").read_text() == HEADER.format("avzoo.arkit") + source
    assert (folder / "other.py").read_bytes() == other  # files without avzoo imports are left as they are
    check_self_contained(folder)
    module = import_folder(folder, "vendored_pkg_a", "modeling_x")
    assert module.NAMES == arkit.ARKIT_NAMES
    assert module.JAW == 17  # jawOpen
    assert module.__name__ == "vendored_pkg_a.modeling_x"


def test_copies_transitive_modules_and_they_run(tmp_path, import_folder):
    folder = write(
        tmp_path / "f",
        {
            "feature_x.py": (
                "def make():\n"
                "    from avzoo.features.logmel import (\n"  # lazy and parenthesised: rewritten all the same
                "        LogMel,\n"
                "    )\n"
                "    return LogMel()\n"
            )
        },
    )
    vendored = vendor_avzoo_imports(folder)
    expected = closure({"avzoo.features.logmel"})
    assert {"avzoo.features.logmel", "avzoo.features.frames", "avzoo.io.audio"} <= expected
    assert vendored == sorted(f"{vendored_name(m)}.py" for m in expected)
    for path in folder.glob("*.py"):
        assert not avzoo_imports(path.read_text()), f"{path.name} still imports avzoo"
    assert "    from .avzoo_features_logmel import (\n" in (folder / "feature_x.py").read_text()
    check_self_contained(folder)
    module = import_folder(folder, "vendored_pkg_b", "feature_x")
    audio = speechlike(0.5)
    np.testing.assert_array_equal(module.make()(audio), LogMel()(audio))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("import avzoo", r"m\.py:2: 'import avzoo' cannot be vendored"),
        ("import avzoo.arkit", r"'import avzoo\.arkit' cannot be vendored"),
        ("import avzoo.arkit as arkit", r"'import avzoo\.arkit' cannot be vendored"),
        ("import numpy, avzoo.io.audio", r"'import avzoo\.io\.audio' cannot be vendored"),
        ("from avzoo import arkit", "cannot vendor the package 'avzoo'"),
        ("from avzoo.io import audio", r"cannot vendor the package 'avzoo\.io'"),
        ("from avzoo.no_such_module import x", "no Python source file"),
    ],
)
def test_refuses_forms_it_cannot_rewrite_exactly(tmp_path, line, message):
    folder = write(tmp_path / "f", {"m.py": f"import os\n{line}\n"})
    with pytest.raises(ValueError, match=message):
        vendor_avzoo_imports(folder)


def test_vendoring_a_vendored_folder_changes_nothing(tmp_path):
    folder = write(tmp_path / "f", {"m.py": "from avzoo.features.logmel import LogMel\n"})
    vendor_avzoo_imports(folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert vendor_avzoo_imports(folder) == []
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_saving_again_into_the_same_folder_refreshes_the_vendored_copies(tmp_path):
    fresh = save_model_folder(tiny_model(), tmp_path / "fresh", AvLipsyncProcessor())
    again = tmp_path / "again"
    save_model_folder(tiny_model(), again, AvLipsyncProcessor())
    stale = again / "avzoo_arkit.py"
    stale.write_text(stale.read_text() + "\nSTALE = True  # what an older avzoo would have vendored\n")
    save_model_folder(tiny_model(), again, AvLipsyncProcessor())
    for path in sorted(fresh.glob("*.py")):
        assert (again / path.name).read_text() == path.read_text(), path.name


def test_a_colliding_file_is_refused(tmp_path):
    folder = write(
        tmp_path / "f",
        {
            "m.py": "from avzoo.arkit import ARKIT_NAMES\n",
            "avzoo_arkit.py": "ARKIT_NAMES = ('not', 'these')\n",
        },
    )
    with pytest.raises(ValueError, match="avzoo_arkit"):
        vendor_avzoo_imports(folder)


def test_a_vendored_module_with_a_relative_import_is_refused(tmp_path, fake_avzoo_module):
    fake_avzoo_module("_vendor_test_relative", "from .arkit import ARKIT_NAMES\n")
    folder = write(tmp_path / "f", {"m.py": "from avzoo._vendor_test_relative import ARKIT_NAMES\n"})
    with pytest.raises(ValueError, match="relative import"):
        vendor_avzoo_imports(folder)


def test_a_vendored_module_importing_a_package_is_refused(tmp_path, fake_avzoo_module):
    fake_avzoo_module("_vendor_test_package", "def f():\n    from avzoo.io import audio\n    return audio\n")
    folder = write(tmp_path / "f", {"m.py": "from avzoo._vendor_test_package import f\n"})
    with pytest.raises(ValueError, match=r"cannot vendor the package 'avzoo\.io'"):
        vendor_avzoo_imports(folder)


def test_the_av_lipsync_hub_folder_vendors_exactly_what_its_code_imports(tmp_path):
    folder = save_model_folder(
        tiny_model(), tmp_path / "m", AvLipsyncProcessor(), pipeline_class=AudioToBlendshapesPipeline
    )
    package = Path(importlib.util.find_spec("avzoo.models.av_lipsync").origin).parent
    code = {p.name for p in package.glob("*.py")} - {"__init__.py"}
    imported = set()
    pipeline_file = Path(importlib.util.find_spec(AudioToBlendshapesPipeline.__module__).origin)
    for path in [*(package / name for name in code), pipeline_file]:
        imported |= avzoo_imports(path.read_text())
    vendored = {f"{vendored_name(m)}.py" for m in closure(imported)}
    assert {p.name for p in folder.glob("*.py")} == code | {"audio_to_blendshapes.py"} | vendored
    check_self_contained(folder)
    # Each vendored copy is today's module with its avzoo imports pointed at the copies.
    for module in closure(imported):
        source = Path(importlib.util.find_spec(module).origin).read_text()
        copy = (folder / f"{vendored_name(module)}.py").read_text()
        assert copy.startswith(HEADER.format(module))
        body = copy[len(HEADER.format(module)) :]
        assert body.count("\n") == source.count("\n")
        for original, vendored_line in zip(source.splitlines(), body.splitlines(), strict=True):
            if original != vendored_line:
                assert original.lstrip().startswith("from avzoo."), (module, original)
                assert vendored_line.lstrip().startswith("from .avzoo_"), (module, vendored_line)
    assert not list(folder.glob("__init__.py"))


def test_vendored_model_code_runs_like_the_package(tmp_path, import_folder):
    """The copied model code, imported as a plain package, computes what avzoo computes."""
    model = tiny_model()
    processor = AvLipsyncProcessor()
    folder = save_model_folder(model, tmp_path / "m", processor)
    copy = shutil.copytree(folder, tmp_path / "vendored_pkg_c")
    processing = import_folder(copy, "vendored_pkg_c", "processing_av_lipsync")
    vendored_processor = processing.AvLipsyncProcessor.from_pretrained(folder)
    audio = speechlike(0.5)
    mine = processor(audio, sampling_rate=16000, emotion="happy")
    theirs = vendored_processor(audio, sampling_rate=16000, emotion="happy")
    for key in ("input_features", "attention_mask", "condition"):
        assert torch.equal(mine[key], theirs[key]), key
