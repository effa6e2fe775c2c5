"""Exporters of avzoo models to deployment formats (ONNX)."""

from .onnx_av_lipsync import OnnxLipsyncStream, check_onnx_parity, export_onnx

__all__ = ["OnnxLipsyncStream", "check_onnx_parity", "export_onnx"]
