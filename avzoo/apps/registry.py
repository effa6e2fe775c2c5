"""The model families of the zoo, where their demo UIs live, and whether each is usable here.

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

PRETRAINED_DIR = Path(__file__).resolve().parents[1] / "pretrained"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Family:
    """One model family: its Hub id, what it does, its Space and the demo that the zoo shows."""

    id: str
    title: str
    description: str
    io: str
    space: str
    ui: str
    checkpoint_dir: Path | None = field(default=None)

    @property
    def hub_id(self) -> str:
        return f"avzoo/{self.id}"

    @property
    def checkpoint(self) -> Path:
        """The bundled checkpoint folder (``avzoo/pretrained/<id>`` unless overridden)."""
        return self.checkpoint_dir if self.checkpoint_dir is not None else PRETRAINED_DIR / self.id


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

FAMILIES: tuple[Family, ...] = (
    Family(
        id="av-lipsync",
        title="AV Lipsync",
        description=(
            "Speech to 52 ARKit blendshapes at 30 fps, with a lipsync branch, an expression branch, "
            "a mouth filter and streaming ONNX export."
        ),
        io="16 kHz speech (+ optional emotion) → (T, 52) blendshapes",
        space="blendshape-animation",
        ui="avzoo.apps.blendshape_animation:build_ui",
    ),
    Family(
        id="koemorph",
        title="KoeMorph",
        description=(
            "Speech to 52 ARKit blendshapes from two streams: log-mel for the mouth, "
            "eGeMAPS prosody for the expression."
        ),
        io="16 kHz speech → (T, 52) blendshapes",
        space="blendshape-animation",
        ui="avzoo.apps.blendshape_animation:build_ui",
    ),
    Family(
        id="av-fer",
        title="AV-FER",
        description=(
            "Audio-visual emotion recognition over a talking-face clip: 8 RAVDESS emotions "
            "per clip and per segment."
        ),
        io="face video + audio → 8 emotions",
        space="fer",
        ui="avzoo.apps.fer:build_ui",
    ),
    Family(
        id="av-separator",
        title="AV Separator",
        description="Separates 2–6 talkers from one mixture, steered by a face track per talker.",
        io="mixture + face tracks → one waveform per talker",
        space="speech-separation",
        ui="avzoo.apps.speech_separation:build_ui",
    ),
    Family(
        id="text-audio-emotion",
        title="Text-Audio Emotion",
        description=(
            "Emotion from what is said and how it is said (7 classes), with bidirectional "
            "cross-modal attention maps."
        ),
        io="text + audio → 7 emotions + attention maps",
        space="attention-maps",
        ui="avzoo.apps.attention_maps:build_ui",
    ),
)


def get_family(family_id: str, families: Iterable[Family] = FAMILIES) -> Family:
    """The family with this id; ``ValueError`` listing the known ids otherwise."""
    families = tuple(families)
    for family in families:
        if family.id == family_id:
            return family
    known = ", ".join(f.id for f in families)
    raise ValueError(f"unknown model family {family_id!r}; known families: {known}")


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
