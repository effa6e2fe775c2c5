"""avzoo: audio-visual models for faces and voices, native to the Hugging Face stack.

``import avzoo`` registers every model family (:mod:`avzoo.families`) with transformers' Auto classes and
pipeline registry, so plain ``AutoModel.from_pretrained(...)``, ``AutoProcessor.from_pretrained(...)`` and
``pipeline("audio-to-blendshapes", model="avzoo/av-lipsync")`` calls work.
"""

__version__ = "0.1.0"


def _register() -> None:
    from avzoo.families import register

    register()


def _seed_hf_cache() -> None:
    """Make the bundled checkpoints loadable as ``avzoo/<name>`` offline (see :mod:`avzoo.pretrained`)."""
    try:
        from avzoo.pretrained import seed_hf_cache_on_import

        seed_hf_cache_on_import()
    except Exception:  # a convenience: whatever goes wrong here must never break ``import avzoo``
        import logging

        logging.getLogger(__name__).debug("avzoo: seeding the Hugging Face cache failed", exc_info=True)


_register()
_seed_hf_cache()
