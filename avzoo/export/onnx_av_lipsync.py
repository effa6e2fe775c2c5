"""ONNX export of av-lipsync with the streaming crisp_mouth filter built in.

Every function takes the model and its processor (:class:`AvLipsyncProcessor`): the processor holds the streaming
filter's calibrated settings (``processor.crisp_mouth_stream``), which the graphs bake in as constants.
:func:`load_for_export` loads both from a folder or Hub id with the transformers Auto classes.

Two graphs, both with dynamic batch and time:

**Window graph** (``export_onnx(model, processor, path)``), the deployable "model + streaming crisp_mouth":

    inputs   input_features (B, T, 80) normalised log-mel, condition (B, T, C), prev_smoothed (B, 52)
    outputs  blendshapes (B, T, 52) filtered, next_smoothed (B, 52)

It runs the model over the window as a whole utterance (zero history before it, ``lookahead_frames`` zero frames
after it), then the streaming filter (EMA from ``prev_smoothed``, absolute gate edges; the parameters come from
``processor.crisp_mouth_stream``). Use it for files or long windows: pass ``prev_smoothed = 0`` for a new utterance,
or the previous window's ``next_smoothed`` to keep the filter continuous across windows. The model itself restarts
at each window edge; for frame-exact real time use the step graph.

**Step graph** (``export_onnx(model, processor, path, streaming=True)``): one streaming step with explicit state.
Inputs are those of the window graph plus ``frames_in`` (int64, shape (1,): feature frames fed before this call),
``condition_queue`` (B, L, C) and one cache per causal conv (``lipsync_cache_<i>``, ``expression_cache_<i>``,
shaped (B, hidden, context)); the outputs add the next value of each state (``*_out``). Start with all-zero state
and ``frames_in = 0``. Each call takes n >= 1 new feature frames and returns n rows; row ``i`` is blendshape frame
``frames_in + i - L`` (``L = lookahead_frames``), so drop the rows whose frame is negative (the first L of the
stream: the graph keeps them out of the filter). At the end of the audio feed ``L`` zero feature frames (with zero
condition) to get the last ``L`` frames. Features come from ``processor.stream()`` (or any implementation of its
documented log-mel) and conditions from ``processor.condition_for(...)``, so the whole pipeline matches the PyTorch
stream (``model.streamer(processor, crisp_mouth=True)``).
:class:`OnnxLipsyncStream` does this bookkeeping for Python users and shows it for other languages.

Both are exported with PyTorch's TorchScript exporter (``dynamo=False``; the dynamo exporter needs onnxscript,
which is not installed). ``quantize=True`` writes an int8 model (``onnxruntime.quantization.quantize_dynamic``:
int8 weights of the convolutions and matrix products, activations quantised on the fly).
"""

from __future__ import annotations

import contextlib
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from avzoo.models.av_lipsync.crisp_mouth import crisp_mouth_stream_window, mouth_channels

__all__ = [
    "OnnxLipsyncStream",
    "check_onnx_parity",
    "export_onnx",
    "load_for_export",
    "onnx_session",
    "stream_state_names",
]

DEFAULT_OPSET = 17


def _check_pair(model: nn.Module, processor: Any) -> None:
    """``ValueError`` unless ``model`` is an AvLipsyncModel and ``processor`` its processor."""
    if not hasattr(model, "compute") or not hasattr(model, "stream_positions"):
        raise ValueError(f"model must be an AvLipsyncModel, got {type(model).__name__}")
    if not hasattr(processor, "crisp_mouth_stream") or not hasattr(processor, "blendshape_names"):
        raise ValueError(
            f"processor must be the model's AvLipsyncProcessor (AutoProcessor.from_pretrained(folder)), got "
            f"{type(processor).__name__}"
        )
    config = model.config
    if list(processor.blendshape_names) != list(config.blendshape_names):
        raise ValueError(
            "the processor's blendshape_names differ from the model's: not this model's processor"
        )
    if processor.feature_size != config.n_mels or processor.condition_dim != config.condition_dim:
        raise ValueError(
            f"the processor makes {processor.feature_size} mel bands and {processor.condition_dim}-d conditions, "
            f"the model takes {config.n_mels} and {config.condition_dim}: not this model's processor"
        )


class _FilterParams(nn.Module):
    """The processor's streaming crisp_mouth parameters (plus overrides), as constants of the traced graph."""

    def __init__(self, processor: Any, overrides: dict[str, Any] | None = None):
        super().__init__()
        params = {**processor.crisp_mouth_stream, **(overrides or {})}
        width = len(processor.blendshape_names)
        self.alpha = float(params["alpha"])
        if not 0.0 < self.alpha <= 1.0:
            raise ValueError(f"crisp_mouth alpha must be in (0, 1], got {self.alpha}")
        self.scale = float(params["scale"])
        edge0 = np.broadcast_to(np.asarray(params["edge0"], np.float32), (width,))
        edge1 = np.broadcast_to(np.asarray(params["edge1"], np.float32), (width,))
        mask = np.zeros(width, dtype=bool)
        mask[mouth_channels(processor.blendshape_names)] = True
        self.register_buffer("edge0", torch.tensor(edge0), persistent=False)
        self.register_buffer("edge1", torch.tensor(edge1), persistent=False)
        self.register_buffer("mask", torch.tensor(mask), persistent=False)
        seal = (params.get("seal_edge0"), params.get("seal_edge1"))
        self.seal = None if seal[0] is None else (float(seal[0]), float(seal[1]))

    def forward(self, x: torch.Tensor, prev: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return crisp_mouth_stream_window(
            x, prev, self.alpha, self.edge0, self.edge1, self.scale, self.mask, self.seal
        )


class AvLipsyncOnnxWindow(nn.Module):
    """``model + streaming crisp_mouth`` over a window: (features, condition, prev_smoothed) → (blendshapes, next)."""

    def __init__(self, model: nn.Module, processor: Any, crisp_mouth: dict[str, Any] | None = None):
        super().__init__()
        _check_pair(model, processor)
        self.model = model
        self.filter = _FilterParams(processor, crisp_mouth)

    def forward(self, input_features, condition, prev_smoothed):
        blendshapes = self.model.compute(input_features, condition)[0]
        return self.filter(blendshapes, prev_smoothed)


class AvLipsyncOnnxStep(nn.Module):
    """One streaming step with explicit state; see the module docstring for the inputs and outputs."""

    def __init__(self, model: nn.Module, processor: Any, crisp_mouth: dict[str, Any] | None = None):
        super().__init__()
        _check_pair(model, processor)
        self.model = model
        self.filter = _FilterParams(processor, crisp_mouth)
        self.num_lipsync = len(_live(model.lipsync.stack))
        self.num_expression = len(_live(model.expression.stack))

    def forward(self, input_features, condition, prev_smoothed, frames_in, condition_queue, *caches):
        model = self.model
        lip_caches = _fill(model.lipsync.stack, caches[: self.num_lipsync], input_features)
        expr_caches = _fill(model.expression.stack, caches[self.num_lipsync :], input_features)
        out, lip_new, expr_new, queue = model.stream_positions(
            input_features, condition, lip_caches, expr_caches, condition_queue
        )
        steps = torch.arange(out.shape[1], device=out.device)
        valid = (frames_in + steps >= model.lookahead_frames)[None, :, None]
        # Warm-up rows (frames before 0) enter the filter as its own state, which leaves the state unchanged.
        out = torch.where(valid, out, prev_smoothed[:, None, :])
        blendshapes, next_smoothed = self.filter(out, prev_smoothed)
        live_lip = [lip_new[i] for i in _live(model.lipsync.stack)]
        live_expr = [expr_new[i] for i in _live(model.expression.stack)]
        return (blendshapes, next_smoothed, queue, *live_lip, *live_expr)


def _live(stack: nn.Module) -> list[int]:
    """Blocks whose causal conv has a context (a kernel-1 conv needs no cache and gets no graph input)."""
    return [i for i, block in enumerate(stack.blocks) if block.conv.context > 0]


def _fill(stack: nn.Module, given: tuple[torch.Tensor, ...], like: torch.Tensor) -> list[torch.Tensor]:
    caches = []
    given_iter = iter(given)
    for block in stack.blocks:
        if block.conv.context > 0:
            caches.append(next(given_iter))
        else:
            caches.append(like.new_zeros(like.shape[0], block.conv.in_channels, 0))
    return caches


def stream_state_names(model: nn.Module) -> list[str]:
    """Names of the step graph's state inputs after ``frames_in`` (outputs append ``_out``)."""
    names = ["condition_queue"]
    names += [f"lipsync_cache_{i}" for i in _live(model.lipsync.stack)]
    names += [f"expression_cache_{i}" for i in _live(model.expression.stack)]
    return names


def _example_inputs(model: nn.Module, batch: int, frames: int, streaming: bool, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    config = model.config
    features = torch.randn(batch, frames, config.n_mels, generator=generator)
    condition = torch.rand(batch, frames, config.condition_dim, generator=generator)
    prev = torch.rand(batch, config.num_blendshapes, generator=generator) * 0.2
    if not streaming:
        return (features, condition, prev)
    state = model.init_stream(batch)
    caches = [state.lipsync_caches[i] for i in _live(model.lipsync.stack)]
    caches += [state.expression_caches[i] for i in _live(model.expression.stack)]
    frames_in = torch.zeros(1, dtype=torch.int64)
    return (features, condition, prev, frames_in, state.condition_queue, *caches)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
        yield


#: What onnxruntime's quantizer logs on every int8 export of these graphs (prefix → summary), expected and harmless:
#: one multi-line warning per integer tensor it leaves alone (conv padding and slice indices), and its advice to run
#: its shape-inference pre-processing first. Summarised in one INFO line instead of ~250 lines of warnings.
_QUANTIZATION_NOTES = {
    "Inference failed or unsupported type to quantize": "integer tensors left as they are",
    "Please consider to run pre-processing before quantization": "advice to pre-process the graph",
}


@contextlib.contextmanager
def _quantization_log(target: Path) -> Iterator[None]:
    """Catch what onnxruntime's quantizer logs with the root logger (``logging.warning(...)``) meanwhile.

    The expected notes (:data:`_QUANTIZATION_NOTES`) become one INFO line on this module's logger (each one at
    DEBUG); anything else is logged again on this module's logger at its own level, so real problems stay visible.
    Exceptions propagate as they are.
    """
    import logging
    from collections import Counter

    logger = logging.getLogger(__name__)
    root = logging.getLogger()
    caught: list[logging.LogRecord] = []

    def catch(record: logging.LogRecord) -> bool:
        if "onnxruntime" in record.pathname.replace("\\", "/").split("/"):
            caught.append(record)
            return False
        return True

    # logging.warning() gives a root logger without handlers a stderr handler for good (basicConfig); a
    # placeholder handler, removed after, keeps that from happening.
    placeholder = None if root.handlers else logging.NullHandler()
    if placeholder is not None:
        root.addHandler(placeholder)
    root.addFilter(catch)
    try:
        yield
    finally:
        root.removeFilter(catch)
        if placeholder is not None:
            root.removeHandler(placeholder)
        notes: Counter[str] = Counter()
        for record in caught:
            message = record.getMessage()
            note = next((n for prefix, n in _QUANTIZATION_NOTES.items() if message.startswith(prefix)), None)
            if note is None:
                logger.log(record.levelno, "onnxruntime quantization: %s", message)
            else:
                notes[note] += 1
                logger.debug("onnxruntime quantization: %s", message)
        if notes:
            summary = ", ".join(f"{count} {note}" for note, count in notes.items())
            logger.info(
                "int8 quantization of %s: onnxruntime notes: %s (DEBUG shows them)", target.name, summary
            )


def load_for_export(model: str | Path) -> tuple[nn.Module, Any]:
    """An av-lipsync model (float32, eval mode) and its processor from a folder or Hub id, via the Auto classes.

    ``avzoo/av-lipsync`` (the family's Hub id) loads the checkpoint bundled with the package when it is there, with
    no network. ``ValueError`` naming the source when it is not an av-lipsync model folder.
    """
    from avzoo.pretrained import load

    loaded, processor = load(model, "an av-lipsync model and processor")
    try:
        _check_pair(loaded, processor)
    except ValueError as err:
        raise ValueError(f"{str(model)!r} is not an av-lipsync model folder: {err}") from None
    return loaded, processor


def export_onnx(
    model: nn.Module,
    processor: Any,
    path: str | Path,
    quantize: bool = False,
    *,
    streaming: bool = False,
    crisp_mouth: dict[str, Any] | None = None,
    opset: int = DEFAULT_OPSET,
) -> Path:
    """Export ``model`` + the streaming crisp_mouth to ONNX at ``path``; returns the path.

    ``processor`` is the model's :class:`AvLipsyncProcessor`: the graph bakes in its ``crisp_mouth_stream``
    settings. ``streaming=False`` writes the window graph, ``True`` the step graph (module docstring).
    ``quantize=True`` writes the int8 dynamic-quantised model at ``path`` instead of the float32 one.
    ``crisp_mouth`` overrides ``processor.crisp_mouth_stream`` (e.g. ``{"alpha": 1.0, "edge0": 0, "edge1": 1e-6,
    "scale": 1}`` to nearly disable it). The model is exported in float32, in eval mode, on CPU (it is copied: the
    original is left as it is).
    """
    _check_pair(model, processor)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    import copy

    model = copy.deepcopy(model).float().cpu().eval()
    wrapper = (AvLipsyncOnnxStep if streaming else AvLipsyncOnnxWindow)(model, processor, crisp_mouth).eval()
    inputs = _example_inputs(model, 2, 7, streaming)
    names = ["input_features", "condition", "prev_smoothed"]
    outputs = ["blendshapes", "next_smoothed"]
    dynamic = {
        "input_features": {0: "batch", 1: "frames"},
        "condition": {0: "batch", 1: "frames"},
        "prev_smoothed": {0: "batch"},
        "blendshapes": {0: "batch", 1: "frames"},
        "next_smoothed": {0: "batch"},
    }
    if streaming:
        state = stream_state_names(model)
        names += ["frames_in", *state]
        outputs += [f"{n}_out" for n in state]
        for n in state:
            dynamic[n] = {0: "batch"}
            dynamic[f"{n}_out"] = {0: "batch"}
    target = path
    if quantize:
        tmp = tempfile.TemporaryDirectory()
        target = Path(tmp.name) / "float32.onnx"
    with _quiet(), torch.no_grad():
        torch.onnx.export(
            wrapper,
            inputs,
            str(target),
            input_names=names,
            output_names=outputs,
            dynamic_axes=dynamic,
            opset_version=opset,
            dynamo=False,
            do_constant_folding=True,
        )
    if quantize:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        with _quiet(), _quantization_log(path):
            quantize_dynamic(str(target), str(path), weight_type=QuantType.QInt8)
        tmp.cleanup()
    return path


def onnx_session(path: str | Path, threads: int = 1):
    """An onnxruntime CPU session with ``threads`` intra-op threads (1: the real-time setting)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxLipsyncStream:
    """Runs the step graph on feature frames with the state bookkeeping done: ``push(features)`` → frames.

    ``features`` are (n, 80) or (B, n, 80) normalised log-mel frames (from ``processor.stream()``); ``condition`` is
    (C,), (B, C), (n, C) or (B, n, C) (``processor.condition_for(...)``) or None. ``flush()`` feeds the closing zero
    frames. ``config`` is the model's config (shapes and look-ahead).
    """

    def __init__(self, path: str | Path, config: Any, batch_size: int = 1, threads: int = 1):
        self.session = onnx_session(path, threads)
        self.config = config
        self.batch_size = batch_size
        self.reset()

    def reset(self) -> None:
        """Start a new stream: zero state, ``frames_in = 0``."""
        self.frames_in = 0
        self._single = self.batch_size == 1
        self.state: dict[str, np.ndarray] = {}
        for spec in self.session.get_inputs()[4:]:
            shape = [self.batch_size if i == 0 else int(d) for i, d in enumerate(spec.shape)]
            self.state[spec.name] = np.zeros(shape, dtype=np.float32)
        self.prev_smoothed = np.zeros((self.batch_size, self.config.num_blendshapes), dtype=np.float32)

    def push(self, features: np.ndarray, condition: np.ndarray | None = None) -> np.ndarray:
        features = np.asarray(features, dtype=np.float32)
        single = features.ndim == 2
        if single:
            features = features[None]
        if (
            features.ndim != 3
            or features.shape[0] != self.batch_size
            or features.shape[2] != self.config.n_mels
        ):
            raise ValueError(
                f"features must be (frames, {self.config.n_mels}) or ({self.batch_size}, frames, "
                f"{self.config.n_mels}), got {np.shape(features)}"
            )
        self._single = single
        b, n, _ = features.shape
        if n == 0:
            return np.zeros((b, 0, self.config.num_blendshapes), np.float32)[0 if single else slice(None)]
        c = self.config.condition_dim
        if condition is None:
            cond = np.zeros((b, n, c), np.float32)
        else:
            cond = np.asarray(condition, np.float32)
            if cond.ndim == 1:  # one vector for every frame and stream
                cond = np.broadcast_to(cond, (b, n, c))
            elif cond.ndim == 2:  # (n, C) for one stream, (B, C) for a batch
                cond = cond[None] if single else np.broadcast_to(cond[:, None, :], (b, n, c))
            if cond.shape != (b, n, c):
                raise ValueError(f"condition must broadcast to {(b, n, c)}, got {np.shape(condition)}")
        feeds = {
            "input_features": features,
            "condition": np.ascontiguousarray(cond),
            "prev_smoothed": self.prev_smoothed,
            "frames_in": np.array([self.frames_in], dtype=np.int64),
            **self.state,
        }
        result = self.session.run(None, feeds)
        out, self.prev_smoothed = result[0], result[1]
        for name, value in zip(self.state, result[2:], strict=True):
            self.state[name] = value
        drop = max(0, self.config.lookahead_frames - self.frames_in)
        self.frames_in += n
        out = out[:, min(drop, n) :]
        return out[0] if single else out

    def flush(self) -> np.ndarray:
        """End of stream: feeds the L closing zero frames and returns the last frames (shaped like push's)."""
        lookahead = self.config.lookahead_frames
        single = self._single
        out = np.zeros((self.batch_size, 0, self.config.num_blendshapes), np.float32)
        if lookahead:
            empty = np.zeros((self.batch_size, lookahead, self.config.n_mels), np.float32)
            out = self.push(
                empty, np.zeros((self.batch_size, lookahead, self.config.condition_dim), np.float32)
            )
            self.frames_in -= lookahead
        return out[0] if single else out


def check_onnx_parity(
    model: nn.Module,
    processor: Any,
    path: str | Path,
    *,
    streaming: bool = False,
    batch: int = 2,
    frames: int = 90,
    crisp_mouth: dict[str, Any] | None = None,
    seed: int = 1,
) -> dict[str, float]:
    """Run the ONNX graph and the PyTorch wrapper on the same random inputs; returns the max abs errors.

    ``processor`` and ``crisp_mouth`` as given to :func:`export_onnx`. For the step graph the inputs are fed in a
    few chunks of different sizes with the state carried along.
    """
    import copy

    model = copy.deepcopy(model).float().cpu().eval()
    session = onnx_session(path)
    if not streaming:
        wrapper = AvLipsyncOnnxWindow(model, processor, crisp_mouth).eval()
        inputs = _example_inputs(model, batch, frames, False, seed)
        with torch.no_grad():
            expected = [t.numpy() for t in wrapper(*inputs)]
        names = [i.name for i in session.get_inputs()]
        got = session.run(None, {n: t.numpy() for n, t in zip(names, inputs, strict=True)})
        return {
            "blendshapes": float(np.abs(got[0] - expected[0]).max()),
            "next_smoothed": float(np.abs(got[1] - expected[1]).max()),
        }
    wrapper = AvLipsyncOnnxStep(model, processor, crisp_mouth).eval()
    features, condition, prev, _, *state = _example_inputs(model, batch, frames, True, seed)
    names = [i.name for i in session.get_inputs()]
    errors = {"blendshapes": 0.0, "next_smoothed": 0.0, "state": 0.0}
    torch_state = [prev, *state]
    onnx_state = [prev.numpy(), *[s.numpy() for s in state]]
    start = 0
    for size in (1, 5, 2, 17, frames):
        stop = min(frames, start + size)
        if stop <= start:
            break
        fin = torch.tensor([start], dtype=torch.int64)
        chunk = (features[:, start:stop], condition[:, start:stop])
        with torch.no_grad():
            expected = wrapper(*chunk, torch_state[0], fin, *torch_state[1:])
        feeds = dict(
            zip(
                names,
                [chunk[0].numpy(), chunk[1].numpy(), onnx_state[0], fin.numpy(), *onnx_state[1:]],
                strict=True,
            )
        )
        got = session.run(None, feeds)
        errors["blendshapes"] = max(errors["blendshapes"], float(np.abs(got[0] - expected[0].numpy()).max()))
        errors["next_smoothed"] = max(
            errors["next_smoothed"], float(np.abs(got[1] - expected[1].numpy()).max())
        )
        for g, e in zip(got[2:], expected[2:], strict=True):
            errors["state"] = max(errors["state"], float(np.abs(g - e.numpy()).max()) if g.size else 0.0)
        torch_state = [expected[1], *expected[2:]]
        onnx_state = [got[1], *got[2:]]
        start = stop
    return errors


def main(argv: Sequence[str] | None = None, prog: str = "avzoo export av-lipsync") -> int:
    """``avzoo export av-lipsync [--model ID] [--out-dir DIR] [--no-quantize]``: window and step graphs (+ int8)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog=prog,
        description="Model + streaming crisp_mouth as ONNX: a window graph and a stateful step graph, fp32 "
        "(+ int8 dynamic-quantised variants), each checked against PyTorch.",
    )
    parser.add_argument(
        "--onnx", action="store_true", help="write ONNX graphs (the only format so far; default)"
    )
    parser.add_argument("--model", default="avzoo/av-lipsync", help="model folder or id (default: bundled)")
    parser.add_argument("--out-dir", type=Path, default=Path("export/av-lipsync"), help="output folder")
    parser.add_argument("--no-quantize", action="store_true", help="skip the int8 variants")
    args = parser.parse_args(argv)
    if args.out_dir.exists() and not args.out_dir.is_dir():
        parser.error(f"--out-dir {args.out_dir} is a file")
    try:
        model, processor = load_for_export(args.model)
    except (ValueError, OSError) as err:
        parser.error(str(err))
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for streaming, name in ((False, "window"), (True, "step")):
        path = export_onnx(model, processor, args.out_dir / f"av-lipsync-{name}.onnx", streaming=streaming)
        err = check_onnx_parity(model, processor, path, streaming=streaming)
        worst = max(err.values()) if err else float("nan")
        print(f"{path}  ({path.stat().st_size / 2**20:.2f} MB, max |onnx - torch| = {worst:.2e})")
        if not args.no_quantize:
            out = args.out_dir / f"av-lipsync-{name}-int8.onnx"
            q = export_onnx(model, processor, out, quantize=True, streaming=streaming)
            print(f"{q}  ({q.stat().st_size / 2**20:.2f} MB, int8)")
    return 0
