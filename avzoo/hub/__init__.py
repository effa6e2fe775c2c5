"""Hub utilities: complete model folders, push/pull, and model cards generated from evaluation JSON.

- :func:`save_model_folder` writes config, safetensors weights, preprocessing config, the model's own code
  (``auto_map`` set, so ``trust_remote_code=True`` works without avzoo), ``eval_results.json`` and README.md.
- :func:`push_model` uploads a folder (or a model) in one commit with ``HfApi``.
- :func:`pull_model` fetches a repo's safe files; loading a model is plain ``AutoModel.from_pretrained``.
- :func:`render_model_card` renders the card template plus evaluation JSON into a ``ModelCard`` with
  ``model-index`` metadata. The evaluation-JSON schema is documented in :mod:`avzoo.hub.cards`.
"""

from .cards import (
    TEMPLATE_PATH,
    load_eval_results,
    render_model_card,
    results_table,
    to_eval_results,
)
from .folder import EVAL_RESULTS_NAME, auto_class_name, check_self_contained, save_model_folder
from .transfer import IncompleteModelError, folder_operations, pull_model, push_model

__all__ = [
    "EVAL_RESULTS_NAME",
    "TEMPLATE_PATH",
    "IncompleteModelError",
    "auto_class_name",
    "check_self_contained",
    "folder_operations",
    "load_eval_results",
    "pull_model",
    "push_model",
    "render_model_card",
    "results_table",
    "save_model_folder",
    "to_eval_results",
]
