"""avzoo: audio-visual models for faces and voices, native to the Hugging Face stack.

``import avzoo`` registers every model family with transformers' Auto classes, so plain
``AutoModel.from_pretrained(...)`` / ``AutoFeatureExtractor.from_pretrained(...)`` calls work.
"""

__version__ = "0.1.0"


def _register() -> None:
    from avzoo.models.av_lipsync import register as register_av_lipsync

    register_av_lipsync()


_register()
