"""avzoo: audio-visual models for faces and voices, native to the Hugging Face stack.

``import avzoo`` registers every model family with transformers' Auto classes, so plain
``AutoModel.from_pretrained(...)`` / ``AutoFeatureExtractor.from_pretrained(...)`` calls work.
"""

__version__ = "0.1.0"


def _register() -> None:
    from avzoo.models.av_lipsync import register as register_av_lipsync

    register_av_lipsync()


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
