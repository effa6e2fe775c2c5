"""Make a saved model folder self-contained: copy the avzoo modules its code imports next to it.

Model code lives once, in ``avzoo/models/<family>/``, and imports what the families share (the ARKit names,
the emotion tables, audio checks, log-mel) from the lower layers of avzoo. A Hub copy must run with
``trust_remote_code=True`` where avzoo is not installed, and transformers copies only a class's own module
and its same-folder relative imports (``from .x import y``). :func:`vendor_avzoo_imports` closes that gap at
save time: every ``from avzoo.a.b import ...`` in the folder's code becomes ``from .avzoo_a_b import ...``
and ``avzoo/a/b.py`` is copied in as ``avzoo_a_b.py`` (recursively, for what that module imports in turn).

Only ``from avzoo.<module> import names`` is accepted in code that can be vendored; ``import avzoo...`` and
imports of packages (``avzoo.io`` rather than ``avzoo.io.audio``) raise, because their rewrite would not be
exact. Vendored modules must import nothing from avzoo lazily either: the same rewrite applies everywhere in
the file.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

__all__ = ["vendor_avzoo_imports", "vendored_name"]

_FROM_AVZOO = re.compile(
    r"^(?P<indent>[ \t]*)from[ \t]+(?P<module>avzoo(?:\.\w+)+)[ \t]+import\b", re.MULTILINE
)


def vendored_name(module: str) -> str:
    """File stem of a vendored module: ``avzoo.io.audio`` → ``avzoo_io_audio``."""
    return module.replace(".", "_")


HEADER = "# Vendored from {module} by avzoo.hub.vendor; edit the original, not this copy.\n"


def _avzoo_imports(source: str, path: Path, vendored: bool = False) -> set[str]:
    """Modules of avzoo that ``source`` imports; raises for forms the rewrite cannot handle."""
    found = set()
    for node in ast.walk(ast.parse(source, filename=str(path))):
        if vendored and isinstance(node, ast.ImportFrom) and node.level:
            raise ValueError(
                f"{path.name}:{node.lineno}: a relative import cannot be vendored (its package is not copied); "
                "import with 'from avzoo.<module> import <names>'"
            )
        if isinstance(node, ast.Import):
            bad = [a.name for a in node.names if a.name == "avzoo" or a.name.startswith("avzoo.")]
            if bad:
                raise ValueError(
                    f"{path.name}:{node.lineno}: 'import {bad[0]}' cannot be vendored into a Hub folder; "
                    "write 'from avzoo.<module> import <names>'"
                )
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and node.module
            and (node.module == "avzoo" or node.module.startswith("avzoo."))
        ):
            found.add(node.module)
    return found


def _module_file(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        raise ValueError(f"cannot vendor {module!r}: no Python source file found")
    if spec.submodule_search_locations is not None:
        raise ValueError(f"cannot vendor the package {module!r}; import from one of its modules instead")
    return Path(spec.origin)


def _rewrite(source: str) -> str:
    return _FROM_AVZOO.sub(lambda m: f"{m['indent']}from .{vendored_name(m['module'])} import", source)


def _is_vendored(path: Path) -> bool:
    with path.open(encoding="utf-8") as f:
        return f.readline().startswith("# Vendored from ")


def vendor_avzoo_imports(folder: str | Path) -> list[str]:
    """Rewrite the ``.py`` files in ``folder`` to import avzoo modules from vendored copies beside them.

    Returns the vendored file names (sorted). Copies vendored by an earlier save are replaced; a vendored module
    whose name collides with another file in the folder raises ``ValueError``.
    """
    folder = Path(folder)
    own = [p for p in sorted(folder.glob("*.py")) if not _is_vendored(p)]
    pending = [(p, p.read_text(encoding="utf-8"), None) for p in own]
    if not any(_avzoo_imports(source, path) for path, source, _ in pending):
        return []  # nothing imports avzoo (any more): already vendored, or self-contained
    for old in set(folder.glob("*.py")) - set(own):
        old.unlink()  # copies from an earlier save; they are made afresh from this avzoo
    vendored: dict[str, Path] = {}
    while pending:
        path, source, module_of = pending.pop()
        for module in sorted(_avzoo_imports(source, path, vendored=module_of is not None)):
            if module in vendored:
                continue
            target = folder / f"{vendored_name(module)}.py"
            if target.exists():
                raise ValueError(
                    f"cannot vendor {module} into {folder}: {target.name} exists and is not a vendored copy"
                )
            vendored[module] = target
            pending.append((target, _module_file(module).read_text(encoding="utf-8"), module))
        header = "" if module_of is None else HEADER.format(module=module_of)
        path.write_text(header + _rewrite(source), encoding="utf-8")
    return sorted(p.name for p in vendored.values())
