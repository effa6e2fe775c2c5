"""Which model families the zoo can serve here, and their demo UIs (the families are :mod:`avzoo.families`).

A family is *available* when its Gradio UI module imports and its bundled checkpoint is on disk
(``avzoo/pretrained/<family id>/`` holding ``config.json`` and safetensors weights). Nothing is
hard-coded: a family lights up in ``avzoo serve`` as soon as both land.

UI contract for ``Family.ui`` (``"package.module:builder"``): calling the builder with no
arguments returns a ``gr.Blocks``. The zoo renders it inside a tab; the family's Space calls
``.launch()`` on it. A module may also define ``CSS: str``, which both add to ``launch()``.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from avzoo.families import FAMILIES, PRETRAINED_DIR, Family, get_family

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Status:
    """Whether a family can be served here, and why not when it can't."""

    family: Family
    available: bool
    reason: str = ""
    builder: Callable | None = field(default=None, repr=False, compare=False)
    css: str = field(default="", repr=False, compare=False)


SPACE_TITLES: dict[str, str] = {
    "blendshape-animation": "Blendshape animation",
    "fer": "Emotion recognition",
    "speech-separation": "Speech separation",
    "attention-maps": "Attention maps",
}


def _checkpoint_problem(folder: Path) -> str:
    if not folder.is_dir():
        return f"no bundled checkpoint at {folder}"
    if not (folder / "config.json").is_file():
        return f"bundled checkpoint {folder} has no config.json"
    if not any(folder.glob("*.safetensors")):
        return f"bundled checkpoint {folder} has no .safetensors weights"
    return ""


def _load_builder(spec: str) -> tuple[Callable | None, str, str]:
    """Import ``module:attr``; return (builder, module CSS, problem)."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        return None, "", f"UI spec {spec!r} is not of the form 'package.module:builder'"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name == module_name or module_name.startswith(f"{e.name}."):
            return None, "", f"UI module {module_name} does not exist yet"
        logger.warning("UI module %s failed to import: %r", module_name, e)
        return None, "", f"UI module {module_name} failed to import: {e}"
    except Exception as e:  # a broken UI must not take the whole zoo down
        logger.warning("UI module %s failed to import: %r", module_name, e)
        return None, "", f"UI module {module_name} failed to import: {type(e).__name__}: {e}"
    builder = getattr(module, attr, None)
    if not callable(builder):
        return None, "", f"UI module {module_name} has no callable {attr!r}"
    css = getattr(module, "CSS", "")
    return builder, css if isinstance(css, str) else "", ""


def family_status(family: Family) -> Status:
    """Check one family: its checkpoint first (cheap), then its UI module."""
    problem = _checkpoint_problem(family.checkpoint)
    if problem:
        return Status(family, False, problem)
    builder, css, problem = _load_builder(family.ui)
    if problem:
        return Status(family, False, problem)
    return Status(family, True, builder=builder, css=css)


def statuses(families: Iterable[Family] = FAMILIES) -> list[Status]:
    """Availability of every family, in registry order."""
    return [family_status(f) for f in families]


__all__ = [
    "FAMILIES",
    "PRETRAINED_DIR",
    "SPACE_TITLES",
    "Family",
    "Status",
    "family_status",
    "get_family",
    "statuses",
]
