"""Layers point one way: a module under ``avzoo/`` imports only from its own layer or the layers below.

From the ground up (ARCHITECTURE.md, "Layers"), with the packages the plan does not place put where they fit:

    arkit, emotions, io, losses  <  features, render, metrics, animation  <  synth, data  <  models, pipelines
        <  train, evaluation, export, hub, pretrained  <  apps, release  <  avzoo/__init__.py, cli.py, families.py

A model folder (``avzoo/models/<family>/``) stands alone: it imports no other family's folder, and from the
layers below only what :mod:`avzoo.hub.vendor` copies into its Hub copy (``tests/model_mixin.py`` loads that
copy where avzoo cannot be imported). Code inside a bundled checkpoint folder (``avzoo/pretrained/<id>/``)
imports nothing from avzoo outside that folder. ``avzoo/families.py`` names modules of every layer as strings;
it is data, imports nothing from avzoo, and every layer may read it.

Every import counts, those inside functions too (a lazy import is still a dependency), and so does an entry
point written as a ``"avzoo.pkg.module:attr"`` string. The tests parse the source; nothing is imported.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "avzoo"

#: Ground up; a module may import from its own layer and those before it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("arkit", "emotions", "io", "losses"),
    ("features", "render", "metrics", "animation"),
    ("synth", "data"),
    ("models", "pipelines"),
    ("train", "evaluation", "export", "hub", "pretrained"),
    ("apps", "release"),
)
#: Top level: these may import anything ("" is avzoo/__init__.py).
TOP = ("", "cli", "families")
TOP_LAYER = len(LAYERS)
#: Registries: data that names modules of every layer as strings, imports nothing from avzoo, and that every
#: layer may read.
REGISTRIES = ("families",)
#: Packages of folders whose code may import nothing from avzoo outside its own folder.
SELF_CONTAINED = ("pretrained",)
#: Packages of folders that may not import each other (each family's model folder stands alone).
INDEPENDENT = ("models",)

#: (importing file, imported module) -> why this upward import is allowed. Keep it short and honest.
ALLOWED: dict[tuple[str, str], str] = {
    (
        "avzoo/apps/zoo.py",
        "avzoo",
    ): "`from avzoo import __version__` only; Python runs avzoo/__init__ first anyway",
}

ENTRY_POINT = re.compile(r"^(avzoo(?:\.[A-Za-z_]\w*)+):[A-Za-z_]\w*$")


@dataclass(frozen=True)
class Import:
    file: str  # path relative to the repository root
    line: int
    module: str  # the importing module, dotted
    target: str  # the imported avzoo module, dotted
    statement: bool = True  # False for a "module:attr" string

    def __str__(self) -> str:
        return (
            f"{self.file}:{self.line}: {self.module} {'imports' if self.statement else 'names'} {self.target}"
        )


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def module_file(dotted: str) -> Path | None:
    """The source file of an avzoo module or package, or None if there is none."""
    base = PACKAGE_DIR.parent.joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def resolve(module: str, is_package: bool, node: ast.ImportFrom) -> tuple[str, ...]:
    """The avzoo modules a ``from ... import ...`` statement loads (a submodule when a name is one)."""
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        base_parts = package[: len(package) - (node.level - 1)]
        base = ".".join(base_parts + ([node.module] if node.module else []))
    else:
        base = node.module or ""
    if base != "avzoo" and not base.startswith("avzoo."):
        return ()
    targets = []
    for alias in node.names:
        sub = f"{base}.{alias.name}"
        targets.append(sub if alias.name != "*" and module_file(sub) is not None else base)
    return tuple(dict.fromkeys(targets))


def imports_of(path: Path) -> list[Import]:
    module = module_name(path)
    rel = path.relative_to(PACKAGE_DIR.parent).as_posix()
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
    found: list[Import] = []
    for node in ast.walk(tree):
        statement = True
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names if a.name == "avzoo" or a.name.startswith("avzoo.")]
        elif isinstance(node, ast.ImportFrom):
            targets = list(resolve(module, path.name == "__init__.py", node))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = ENTRY_POINT.match(node.value)
            targets, statement = ([match.group(1)] if match else []), False
        else:
            continue
        found.extend(Import(rel, node.lineno, module, target, statement) for target in targets)
    return found


def layer(dotted: str) -> int:
    parts = dotted.split(".")
    head = parts[1] if len(parts) > 1 else ""
    if head in TOP:
        return TOP_LAYER
    for index, names in enumerate(LAYERS):
        if head in names:
            return index
    raise AssertionError(f"avzoo.{head} has no layer: add it to LAYERS (or TOP) in {Path(__file__).name}")


def own_folder(imp: Import, packages: tuple[str, ...]) -> str | None:
    """``avzoo.<package>.<folder>`` when ``imp`` is made in a folder of one of ``packages``."""
    parts = imp.file.split("/")  # avzoo/<package>/<folder>/<file>.py
    if len(parts) >= 4 and parts[1] in packages:
        return ".".join(parts[:3])
    return None


def inside(target: str, folder: str) -> bool:
    return target == folder or target.startswith(folder + ".")


def violation(imp: Import) -> str | None:
    """Why ``imp`` breaks the layering, or None."""
    folder = own_folder(imp, SELF_CONTAINED)
    if folder is not None:
        if inside(imp.target, folder):
            return None
        return f"{folder.replace('.', '/')}/ is copied to the Hub as is and must import nothing from avzoo"
    folder = own_folder(imp, INDEPENDENT)
    if folder is not None:
        package = folder.rsplit(".", 1)[0]
        if imp.target.startswith(package + ".") and not inside(imp.target, folder):
            return f"{folder.replace('.', '/')}/ stands alone and must not use another folder of {package}"
    if imp.target in {f"avzoo.{name}" for name in REGISTRIES}:
        return None
    mine, theirs = layer(imp.module), layer(imp.target)
    if mine == TOP_LAYER or theirs <= mine:
        return None
    return f"layer {mine} imports layer {theirs} (upward)"


def all_imports() -> list[Import]:
    return [imp for path in sorted(PACKAGE_DIR.rglob("*.py")) for imp in imports_of(path)]


def test_every_package_has_a_layer():
    heads = {p.stem for p in PACKAGE_DIR.glob("*.py")} | {
        p.parent.name for p in PACKAGE_DIR.glob("*/__init__.py")
    }
    heads = {"" if h == "__init__" else h for h in heads}
    placed = set(TOP).union(*LAYERS)
    assert heads <= placed, f"place these in LAYERS or TOP of {Path(__file__).name}: {sorted(heads - placed)}"


def test_imports_point_down(capsys):
    problems, allowed = [], []
    for imp in all_imports():
        why = violation(imp)
        if why is None:
            continue
        reason = ALLOWED.get((imp.file, imp.target))
        (allowed if reason else problems).append(
            f"{imp}: {why}" + (f" [allowed: {reason}]" if reason else "")
        )
    with capsys.disabled():
        for line in allowed:
            print(f"\nallow-listed: {line}")
    assert not problems, "imports that point up the layers:\n" + "\n".join(problems)


def test_allowlist_is_current():
    used = {(imp.file, imp.target) for imp in all_imports() if violation(imp)}
    stale = sorted(set(ALLOWED) - used)
    assert not stale, f"ALLOWED entries that no longer match an upward import (delete them): {stale}"


@pytest.mark.parametrize("name", REGISTRIES)
def test_registries_import_nothing_from_avzoo(name):
    path = module_file(f"avzoo.{name}")
    if path is None:
        pytest.skip(f"avzoo/{name}.py does not exist")
    assert [str(imp) for imp in imports_of(path) if imp.statement] == []


@pytest.mark.parametrize(
    ("file", "source", "target"),
    [
        ("avzoo/train/x.py", "from avzoo.data.schema import utterance_features", "avzoo.data.schema"),
        ("avzoo/train/x.py", "from avzoo import arkit", "avzoo.arkit"),
        ("avzoo/train/x.py", "from avzoo import __version__", "avzoo"),
        ("avzoo/train/x.py", "from . import losses", "avzoo.train.losses"),
        ("avzoo/train/__init__.py", "from .loop import train", "avzoo.train.loop"),
        ("avzoo/models/m/x.py", "from ..other import y", "avzoo.models.other"),
        ("avzoo/apps/x.py", "def f():\n    import avzoo.cli", "avzoo.cli"),
        ("avzoo/apps/x.py", "UI = 'avzoo.apps.zoo:build_app'", "avzoo.apps.zoo"),
    ],
)
def test_imports_are_resolved(tmp_path, monkeypatch, file, source, target):
    root = tmp_path / "avzoo"
    # arkit.py and train/losses.py exist, so `from <package> import <name>` resolves to those submodules
    for rel, text in (
        ("arkit.py", ""),
        ("train/losses.py", ""),
        (file.removeprefix("avzoo/"), source + "\n"),
    ):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE_DIR", root)
    assert [imp.target for imp in imports_of(root / file.removeprefix("avzoo/"))] == [target]


def test_upward_and_escaping_imports_are_caught():
    def imp(file: str, target: str) -> Import:
        return Import(file, 1, file.removesuffix(".py").replace("/", "."), target)

    caught = [
        imp("avzoo/synth/corpus.py", "avzoo.train.data"),  # upward
        imp("avzoo/apps/zoo.py", "avzoo"),  # the top level
        imp("avzoo/io/audio.py", "avzoo.models.av_lipsync"),  # a model from below
        imp("avzoo/models/a/modeling_a.py", "avzoo.models.b.modeling_b"),  # another family's folder
        imp("avzoo/models/a/modeling_a.py", "avzoo.train.losses"),  # upward from a model
        imp("avzoo/pretrained/a/modeling_a.py", "avzoo.arkit"),  # out of a bundled folder
    ]
    fine = [
        imp("avzoo/train/loop.py", "avzoo.data.lengths"),
        imp("avzoo/models/a/modeling_a.py", "avzoo.models.a.configuration_a"),
        imp("avzoo/models/a/modeling_a.py", "avzoo.arkit"),  # vendored into the Hub copy
        imp("avzoo/pretrained/a/modeling_a.py", "avzoo.pretrained.a.configuration_a"),
        imp("avzoo/io/audio.py", "avzoo.families"),  # a registry
        imp("avzoo/cli.py", "avzoo.apps.zoo"),
    ]
    assert [str(i) for i in caught if violation(i) is None] == []
    assert [f"{i}: {violation(i)}" for i in fine if violation(i) is not None] == []
