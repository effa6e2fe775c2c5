"""avzoo: audio-visual models for faces and voices, native to the Hugging Face stack."""

__version__ = "0.1.0"
