"""Configuration of the tiny test model."""

from transformers import PreTrainedConfig


class TinyConfig(PreTrainedConfig):
    """Conv + GRU over (B, T, F) features into 52 ARKit channels.

    Fields are annotated class attributes (transformers v5 configs are dataclasses); pass them by keyword.
    """

    model_type = "avzoo-tiny"

    feature_size: int = 8
    hidden_size: int = 16
    kernel_size: int = 3
    num_blendshapes: int = 52
    initializer_range: float = 0.02

    def __post_init__(self, **kwargs):
        if self.kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd so frames stay aligned, got {self.kernel_size}")
        super().__post_init__(**kwargs)


__all__ = ["TinyConfig"]
