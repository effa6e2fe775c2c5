"""Write a complete Hub model folder: config, safetensors weights, preprocessing config, card and code."""

from __future__ import annotations

import contextlib
import copy
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from huggingface_hub import ModelCard
from transformers import PreTrainedModel
from transformers.dynamic_module_utils import get_imports
from transformers.feature_extraction_utils import FeatureExtractionMixin
from transformers.image_processing_utils import ImageProcessingMixin
from transformers.processing_utils import ProcessorMixin
from transformers.tokenization_utils_base import PreTrainedTokenizerBase

from .cards import EvalJSON, load_eval_results, render_model_card
from .vendor import vendor_avzoo_imports

EVAL_RESULTS_NAME = "eval_results.json"
#: Top-level packages a copied code file may not import: the Hub copy must run without avzoo installed.
FORBIDDEN_IMPORTS = ("avzoo",)


def auto_class_name(preprocessor: Any) -> str:
    """The Auto class a preprocessing object loads through (``AutoFeatureExtractor``, ``AutoProcessor``...)."""
    if isinstance(preprocessor, ProcessorMixin):
        return "AutoProcessor"
    if isinstance(preprocessor, ImageProcessingMixin):
        return "AutoImageProcessor"
    if isinstance(preprocessor, FeatureExtractionMixin):
        return "AutoFeatureExtractor"
    if isinstance(preprocessor, PreTrainedTokenizerBase):
        return "AutoTokenizer"
    raise ValueError(
        "feature_extractor must be a transformers feature extractor, image processor or processor, "
        f"got {type(preprocessor).__name__}"
    )


def _parts(model: PreTrainedModel, preprocessor: Any | None) -> list[tuple[Any, str]]:
    """The objects whose classes get registered, each with the Auto class it resolves through.

    A processor's parts are included, so their code is copied and their nested config gets an ``auto_map``.
    """
    parts = [(model, "AutoModel"), (model.config, "AutoConfig")]
    if preprocessor is not None:
        parts.append((preprocessor, auto_class_name(preprocessor)))
        if isinstance(preprocessor, ProcessorMixin):
            attributes = [getattr(preprocessor, name) for name in preprocessor.get_attributes()]
            parts += [(part, auto_class_name(part)) for part in attributes if part is not None]
    return parts


@contextlib.contextmanager
def _registered_for_auto(model: PreTrainedModel, preprocessor: Any | None) -> Iterator[None]:
    """Register the classes for their Auto class only while saving.

    ``register_for_auto_class`` sets a class attribute, and ``save_pretrained`` then writes ``auto_map`` into
    the live config and preprocessors. Both are undone afterwards, so a later plain ``save_pretrained`` does not
    point at code files it did not copy. Classes that ship with transformers are left alone: their source is
    not self-contained and loading them needs no remote code.
    """
    parts = _parts(model, preprocessor)
    classes = {type(obj): auto for obj, auto in parts if not type(obj).__module__.startswith("transformers.")}
    saved_classes = {cls: cls.__dict__.get("_auto_class", _MISSING) for cls in classes}
    saved_maps = [
        (obj, copy.deepcopy(obj.__dict__["auto_map"]) if "auto_map" in obj.__dict__ else _MISSING)
        for obj, _ in parts
    ]
    try:
        for cls, auto_class in classes.items():
            cls.register_for_auto_class(auto_class)
        yield
    finally:
        for cls, value in saved_classes.items():
            if value is _MISSING:
                # The attribute lives on a base class; drop the subclass override to expose it again.
                with contextlib.suppress(AttributeError):
                    delattr(cls, "_auto_class")
            else:
                cls._auto_class = value
        for obj, value in saved_maps:
            if value is _MISSING:
                obj.__dict__.pop("auto_map", None)
            else:
                obj.auto_map = value


_MISSING = object()
_HUB_ID = re.compile(r"[\w.-]+/[\w.-]+")


def _default_model_id(model: PreTrainedModel) -> str:
    """The Hub id the model was loaded from, else its model type (a local path makes a poor card title)."""
    name = str(model.config.name_or_path or "")
    if _HUB_ID.fullmatch(name) and not Path(name).exists():
        return name
    return model.config.model_type


def check_self_contained(folder: str | Path) -> None:
    """Raise ``ValueError`` when a code file in ``folder`` imports avzoo (remote code must run without it)."""
    for path in sorted(Path(folder).glob("*.py")):
        bad = sorted(set(get_imports(str(path))) & set(FORBIDDEN_IMPORTS))
        if bad:
            raise ValueError(
                f"{path.name} imports {', '.join(bad)}; a model folder must be self-contained (same-folder "
                "relative imports only) so trust_remote_code=True works without avzoo installed"
            )


def _pipeline_info(pipeline_class: type) -> dict[str, Any]:
    """``custom_pipelines`` entries of the tasks registered for ``pipeline_class`` (as transformers writes them)."""
    from transformers.pipelines import PIPELINE_REGISTRY

    info = {}
    for task, impl in PIPELINE_REGISTRY.supported_tasks.items():
        if impl.get("impl") is pipeline_class:
            entry = {k: v for k, v in impl.items() if k not in ("impl", "pt")}
            entry["impl"] = f"{pipeline_class.__module__.rsplit('.', 1)[-1]}.{pipeline_class.__name__}"
            entry["pt"] = tuple(c.__name__ for c in impl.get("pt", ()))
            info[task] = entry
    if not info:
        raise ValueError(f"{pipeline_class.__name__} is not registered with transformers' PIPELINE_REGISTRY")
    return info


def family_pipeline_class(model: PreTrainedModel) -> type | None:
    """The pipeline class of the avzoo family ``model`` belongs to (:mod:`avzoo.families`), or None."""
    import importlib

    from avzoo.families import with_part

    module = type(model).__module__
    for family in with_part("models"):
        if family.pipeline and (module == family.models or module.startswith(f"{family.models}.")):
            module_name, _, name = family.pipeline[1].partition(":")
            return getattr(importlib.import_module(module_name), name)
    return None


_AUTO = object()


def save_model_folder(
    model: PreTrainedModel,
    folder: str | Path,
    feature_extractor: Any | None = None,
    card: ModelCard | str | Mapping[str, Any] | None = None,
    eval_results: EvalJSON | None = None,
    pipeline_class: type | object | None = _AUTO,
) -> Path:
    """Save everything a Hub repo of ``model`` needs into ``folder`` and return it.

    Writes ``config.json`` (with ``auto_map``), ``model.safetensors``, the feature extractor / processor config
    (with its own ``auto_map``), the model's own ``.py`` files for ``trust_remote_code=True`` with the avzoo
    modules they import vendored beside them (:func:`avzoo.hub.vendor.vendor_avzoo_imports`), the pipeline's
    code and ``custom_pipelines`` entry (by default the pipeline of the model's family in :mod:`avzoo.families`;
    None for none), ``eval_results.json`` when results are given, and ``README.md``.

    ``card`` is template variables for :func:`render_model_card` (a dict, the default), or a finished
    ``ModelCard`` / markdown string; evaluation results can only be combined with template variables.
    """
    if not isinstance(model, PreTrainedModel):
        raise ValueError(f"model must be a transformers PreTrainedModel, got {type(model).__name__}")
    if eval_results is not None and isinstance(card, (ModelCard, str)):
        raise ValueError(
            "pass card as template variables (a dict), not a rendered card, when giving eval_results"
        )
    results = load_eval_results(eval_results)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)

    from transformers.dynamic_module_utils import custom_object_save

    if pipeline_class is _AUTO:
        pipeline_class = family_pipeline_class(model)
    had_pipelines = "custom_pipelines" in model.config.__dict__
    saved_pipelines = model.config.__dict__.get("custom_pipelines")
    try:
        if pipeline_class is not None:
            model.config.custom_pipelines = _pipeline_info(pipeline_class)
            custom_object_save(pipeline_class, folder)
        with _registered_for_auto(model, feature_extractor):
            model.save_pretrained(folder)
            if feature_extractor is not None:
                feature_extractor.save_pretrained(folder)
    finally:
        if had_pipelines:
            model.config.custom_pipelines = saved_pipelines
        else:
            model.config.__dict__.pop("custom_pipelines", None)
    vendor_avzoo_imports(folder)
    check_self_contained(folder)

    if results:
        (folder / EVAL_RESULTS_NAME).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if not isinstance(card, (ModelCard, str)):
        variables = {"has_feature_extractor": feature_extractor is not None, **(card or {})}
        variables.setdefault("model_id", results[0]["model"] if results else _default_model_id(model))
        variables["tags"] = list(dict.fromkeys([model.config.model_type, *(variables.get("tags") or [])]))
        card = render_model_card(variables, results or None)
    elif isinstance(card, str):
        card = ModelCard(card)
    card.save(folder / "README.md")
    return folder
