"""Model cards rendered from a template plus evaluation JSON, with ``model-index`` metadata.

The evaluation JSON is what every ``avzoo evaluate`` command writes and what a card quotes. One result is::

    {
      "model": "avzoo/av-lipsync",                       # Hub id (or local name) that was scored
      "task": {"type": "audio-to-blendshapes",             # machine id of the task
               "name": "Speech to ARKit blendshapes"},     # optional, human readable
      "dataset": {"name": "avzoo synthetic speech",        # human readable
                  "type": "avzoo/synth",                   # Hub id or short id of the dataset
                  "split": "test",                         # optional
                  "config": "default",                     # optional
                  "revision": "abc123"},                   # optional
      "metrics": [{"type": "mse",                          # machine id (an evaluate module name)
                   "name": "Blendshape MSE",               # optional, human readable
                   "value": 0.0123,                        # a finite number
                   "config": "lipsync"}],                  # optional
      "extra": {"num_clips": 64, "seed": 0,                # optional, free-form evaluation settings
                "command": "avzoo evaluate av-lipsync ..."}
    }

A file holds one such object or a list of them (one per dataset/task). The card's results table and its
``model-index`` metadata are both generated from it, so a number on a card always comes from a run.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData

TEMPLATE_PATH = Path(__file__).with_name("model_card_template.md")

#: Template variables that go into the card's YAML metadata rather than its body.
CARD_DATA_KEYS = (
    "license",
    "tags",
    "datasets",
    "pipeline_tag",
    "base_model",
    "language",
    "library_name",
    "metrics",
)

#: Template variables the body understands; anything else is passed through to a custom template.
BODY_KEYS = (
    "model_id",
    "title",
    "summary",
    "description",
    "usage",
    "intended_use",
    "training",
    "limitations",
    "citation",
    "has_feature_extractor",
)

EvalJSON = Mapping[str, Any] | Sequence[Mapping[str, Any]] | str | Path


def load_eval_results(source: EvalJSON | None) -> list[dict[str, Any]]:
    """Read evaluation JSON (a path, one result, or a list of results) and validate it against the schema."""
    if source is None:
        return []
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise ValueError(f"evaluation JSON not found: {path}")
        try:
            source = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ValueError(f"evaluation JSON {path} is not valid JSON: {err}") from err
    results = [source] if isinstance(source, Mapping) else list(source)
    return [_validate_result(result, i) for i, result in enumerate(results)]


def _require(mapping: Any, key: str, where: str) -> Any:
    if not isinstance(mapping, Mapping):
        raise ValueError(f"{where} must be an object, got {type(mapping).__name__}")
    value = mapping.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError(f"{where} is missing required field {key!r}")
    return value


def _validate_result(result: Any, index: int) -> dict[str, Any]:
    where = f"evaluation result #{index}"
    _require(result, "model", where)
    task = _require(result, "task", where)
    _require(task, "type", f"{where} task")
    dataset = _require(result, "dataset", where)
    for key in ("name", "type"):
        _require(dataset, key, f"{where} dataset")
    metrics = _require(result, "metrics", where)
    if not isinstance(metrics, list) or not metrics:
        raise ValueError(f"{where} 'metrics' must be a non-empty list of {{type, value}} objects")
    for j, metric in enumerate(metrics):
        _require(metric, "type", f"{where} metric #{j}")
        value = metric.get("value") if isinstance(metric, Mapping) else None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{where} metric #{j} 'value' must be a finite number, got {value!r}")
    extra = result.get("extra", {})
    if not isinstance(extra, Mapping):
        raise ValueError(f"{where} 'extra' must be an object, got {type(extra).__name__}")
    return json.loads(json.dumps(result))  # a plain, detached copy


def to_eval_results(results: Sequence[Mapping[str, Any]]) -> list[EvalResult]:
    """One ``huggingface_hub.EvalResult`` per metric of each validated result."""
    out = []
    for result in results:
        task, dataset = result["task"], result["dataset"]
        for metric in result["metrics"]:
            out.append(
                EvalResult(
                    task_type=task["type"],
                    task_name=task.get("name"),
                    dataset_type=dataset["type"],
                    dataset_name=dataset["name"],
                    dataset_split=dataset.get("split"),
                    dataset_config=dataset.get("config"),
                    dataset_revision=dataset.get("revision"),
                    metric_type=metric["type"],
                    metric_name=metric.get("name"),
                    metric_value=metric["value"],
                    metric_config=metric.get("config"),
                )
            )
    return out


def _format_value(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:.4g}"


def results_table(results: Sequence[Mapping[str, Any]]) -> str:
    """A markdown table with one row per metric, straight from the evaluation JSON."""
    if not results:
        return ""
    rows = ["| Task | Dataset | Split | Metric | Value |", "| --- | --- | --- | --- | --- |"]
    for result in results:
        task, dataset = result["task"], result["dataset"]
        for metric in result["metrics"]:
            rows.append(
                f"| {task.get('name') or task['type']} | {dataset['name']} | {dataset.get('split') or '-'} "
                f"| {metric.get('name') or metric['type']} | {_format_value(metric['value'])} |"
            )
    return "\n".join(rows)


def results_setup(results: Sequence[Mapping[str, Any]]) -> str:
    """The ``extra`` settings of each result as a short bullet list (seed, item count, command...)."""
    lines = []
    for result in results:
        # Only scalar settings belong in a card's prose; nested reports stay in eval_results.json.
        extra = {
            k: v for k, v in (result.get("extra") or {}).items() if isinstance(v, (str, int, float, bool))
        }
        if not extra:
            continue
        settings = ", ".join(f"{key}: `{json.dumps(extra[key])}`" for key in sorted(extra))
        lines.append(f"- {result['dataset']['name']} ({result['dataset'].get('split') or '-'}): {settings}")
    return "\n".join(lines)


def render_model_card(
    template_vars: Mapping[str, Any] | None = None,
    eval_results_json: EvalJSON | None = None,
    template_path: str | Path | None = None,
) -> ModelCard:
    """Render the avzoo card template with ``template_vars`` and the results of ``eval_results_json``.

    ``template_vars`` keys in ``CARD_DATA_KEYS`` become YAML metadata; the rest fill the body (``model_id``,
    ``title``, ``summary``, ``description``, ``usage``, ``intended_use``, ``training``, ``limitations``,
    ``citation``, ``has_feature_extractor``). ``model_id`` defaults to the evaluated model's id.
    """
    variables = dict(template_vars or {})
    results = load_eval_results(eval_results_json)
    model_id = variables.get("model_id") or (results[0]["model"] if results else None)
    if not model_id:
        raise ValueError(
            "render_model_card needs template_vars['model_id'] (or evaluation results naming a model)"
        )
    variables["model_id"] = model_id
    variables.setdefault("title", model_id.split("/")[-1])
    variables.setdefault("summary", "")

    card_data = {key: variables.pop(key) for key in CARD_DATA_KEYS if key in variables}
    card_data.setdefault("library_name", "transformers")
    tags = list(card_data.get("tags") or [])
    card_data["tags"] = ["avzoo", *[t for t in tags if t != "avzoo"]]
    data = ModelCardData(
        model_name=model_id if results else None, eval_results=to_eval_results(results) or None, **card_data
    )
    return ModelCard.from_template(
        data,
        template_path=str(template_path or TEMPLATE_PATH),
        results_table=results_table(results),
        results_setup=results_setup(results),
        **variables,
    )
