"""Loading a Hub copy of a model where avzoo is installed: the local pipeline registration wins.

A saved model folder names its pipeline task in ``custom_pipelines`` (config.json) so that users without avzoo get it
as remote code (``trust_remote_code=True``). Where ``import avzoo`` has registered that task with the same class,
transformers would still demand ``trust_remote_code=True`` because of the entry; every family's config calls
:func:`prefer_registered_pipelines` after loading, so the local registration wins, as it does for the model.
"""

from __future__ import annotations

from typing import Any


def prefer_registered_pipelines(config: Any) -> None:
    """Drop ``config.custom_pipelines`` entries for tasks this process registered with the same class."""
    custom = getattr(config, "custom_pipelines", None)
    if not custom:
        return
    from transformers.pipelines import PIPELINE_REGISTRY

    keep = {}
    for task, info in custom.items():
        impl = PIPELINE_REGISTRY.supported_tasks.get(task, {}).get("impl")
        if impl is None or str(info.get("impl", "")).rsplit(".", 1)[-1] != impl.__name__:
            keep[task] = info
    if keep:
        config.custom_pipelines = keep
    else:
        del config.custom_pipelines


__all__ = ["prefer_registered_pipelines"]
