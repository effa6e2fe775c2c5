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


def _avzoo_imports(source: str, path: Path) -> set[str]:
    """Modules of avzoo that ``source`` imports; raises for forms the rewrite cannot handle."""
    found = set()
    for node in ast.walk(ast.parse(source, filename=str(path))):
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


def vendor_avzoo_imports(folder: str | Path) -> list[str]:
    """Rewrite the ``.py`` files in ``folder`` to import avzoo modules from vendored copies beside them.

    Returns the vendored file names (sorted). Files already in the folder are rewritten in place; a vendored
    module that collides with an existing file of another content raises ``ValueError``.
    """
    folder = Path(folder)
    pending = [(p, p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.py"))]
    vendored: dict[str, Path] = {}
    while pending:
        path, source = pending.pop()
        for module in sorted(_avzoo_imports(source, path)):
            if module in vendored:
                continue
            target = folder / f"{vendored_name(module)}.py"
            vendored[module] = target
            pending.append((target, _module_file(module).read_text(encoding="utf-8")))
        header = ""
        if path in vendored.values():
            module = next(m for m, p in vendored.items() if p == path)
            header = f"# Vendored from {module} by avzoo.hub.vendor; edit the original, not this copy.\n"
        path.write_text(header + _rewrite(source), encoding="utf-8")
    return sorted(p.name for p in vendored.values())
