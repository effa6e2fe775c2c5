"""ONNX export of av-lipsync with the streaming crisp_mouth built in: window and step graphs, int8, parity, the
loader and the ``avzoo export av-lipsync`` command.

The filter's settings live in the processor (``AvLipsyncProcessor.crisp_mouth_stream``); every export takes the
model and its processor and bakes those settings in.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import typer
from av_lipsync_helpers import SR, speechlike, tiny_model
from click.testing import CliRunner

from avzoo.export import cli as export_cli
from avzoo.export.onnx_av_lipsync import (
    OnnxLipsyncStream,
    check_onnx_parity,
    export_onnx,
    load_for_export,
    onnx_session,
)
from avzoo.models.av_lipsync import AvLipsyncProcessor

pytestmark = pytest.mark.slow

#: Non-default streaming filter settings, with the closure seal on, so the graphs must carry the processor's.
STREAM = {"alpha": 0.7, "seal_edge0": 0.05, "seal_edge1": 0.1}


@pytest.fixture(scope="module")
def processor() -> AvLipsyncProcessor:
    return AvLipsyncProcessor(crisp_mouth_stream=STREAM)


@pytest.fixture(scope="module")
def onnx_files(tmp_path_factory, processor):
    model = tiny_model()
    folder = tmp_path_factory.mktemp("onnx")
    return model, {
        "window": export_onnx(model, processor, folder / "window.onnx"),
        "window_int8": export_onnx(model, processor, folder / "window_int8.onnx", quantize=True),
        "step": export_onnx(model, processor, folder / "step.onnx", streaming=True),
    }


def test_onnx_window_parity_dynamic_shapes(onnx_files, processor):
    import onnx

    model, files = onnx_files
    graph = onnx.load(files["window"]).graph
    assert [i.name for i in graph.input] == ["input_features", "condition", "prev_smoothed"]
    assert [o.name for o in graph.output] == ["blendshapes", "next_smoothed"]
    for batch, frames in ((1, 1), (2, 45), (3, 200)):
        errors = check_onnx_parity(model, processor, files["window"], batch=batch, frames=frames)
        assert max(errors.values()) < 1e-4, (batch, frames, errors)


def test_onnx_int8_runs_smaller_and_close(onnx_files, processor):
    import onnx

    model, files = onnx_files
    ops = {node.op_type for node in onnx.load(files["window_int8"]).graph.node}
    assert {"DynamicQuantizeLinear", "ConvInteger", "MatMulInteger"} & ops, (
        ops
    )  # int8 kernels are in the graph
    errors = check_onnx_parity(model, processor, files["window_int8"], frames=60)
    assert 0 < errors["blendshapes"] < 0.1


def test_onnx_step_graph_streams_like_pytorch(onnx_files, processor):
    model, files = onnx_files
    errors = check_onnx_parity(model, processor, files["step"], streaming=True, frames=40)
    assert max(errors.values()) < 1e-4, errors
    audio = speechlike(1.0)
    features = processor(audio, sampling_rate=SR, return_tensors="np")["input_features"][0]
    condition = processor.condition_for("happy")
    stream = OnnxLipsyncStream(files["step"], model.config)
    got = [stream.push(features[i : i + 4], condition) for i in range(0, len(features), 4)] + [stream.flush()]
    got = np.concatenate(got)
    # The PyTorch stream as users run it: raw audio in 20 ms chunks, the processor's streaming mouth filter
    # (its alpha and seal, baked into the graph).
    streamer = model.streamer(processor, emotion="happy", crisp_mouth=True)
    expected = np.concatenate(list(streamer.stream(audio[i : i + 320] for i in range(0, len(audio), 320))))
    assert got.shape == expected.shape == (len(features), 52)
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_saved_processor_settings_reach_the_export(tmp_path, processor):
    model = tiny_model()
    model.save_pretrained(tmp_path / "m")
    processor.save_pretrained(tmp_path / "m")
    again, loaded = load_for_export(tmp_path / "m")
    assert (
        loaded.crisp_mouth_stream == processor.crisp_mouth_stream
        and loaded.crisp_mouth_stream["seal_edge1"] == 0.1
    )
    path = export_onnx(again, loaded, tmp_path / "w.onnx")
    assert max(check_onnx_parity(again, loaded, path).values()) < 1e-4

    features = loaded(speechlike(1.0), sampling_rate=SR)["input_features"]
    with torch.no_grad():
        raw = again(features).blendshapes.numpy()
    frames = features.shape[1]
    (out, _) = onnx_session(path).run(
        None,
        {
            "input_features": features.numpy(),
            "condition": np.zeros((1, frames, again.config.condition_dim), np.float32),
            "prev_smoothed": np.zeros((1, 52), np.float32),
        },
    )
    np.testing.assert_allclose(out, loaded.crisp_mouth_streamer()(raw), atol=1e-4)
    default = AvLipsyncProcessor().crisp_mouth_streamer()(raw)
    assert np.abs(out - default).max() > 1e-3  # the saved settings, not the defaults


def test_export_refuses_a_processor_that_does_not_fit_the_model(tmp_path):
    model = tiny_model()
    with pytest.raises(ValueError, match=r"processor must be the model's AvLipsyncProcessor"):
        export_onnx(model, model.config, tmp_path / "x.onnx")
    with pytest.raises(ValueError, match=r"makes 40 mel bands .* the model takes 80"):
        export_onnx(model, AvLipsyncProcessor(feature_size=40), tmp_path / "x.onnx")
    with pytest.raises(ValueError, match=r"model must be an AvLipsyncModel"):
        export_onnx(torch.nn.Linear(2, 2), AvLipsyncProcessor(), tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()


def test_export_command_writes_checked_graphs(tmp_path, processor):
    model = tiny_model()
    model.save_pretrained(tmp_path / "m")
    processor.save_pretrained(tmp_path / "m")
    group = typer.main.get_group(export_cli.app)  # as `avzoo export` mounts it
    runner = CliRunner()
    out = tmp_path / "out"
    result = runner.invoke(
        group, ["av-lipsync", "--model", str(tmp_path / "m"), "--out-dir", str(out), "--no-quantize"]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["av-lipsync-step.onnx", "av-lipsync-window.onnx"]
    lines = [line for line in result.output.splitlines() if "max |onnx - torch| = " in line]
    errors = [float(line.rsplit("= ", 1)[1].rstrip(")")) for line in lines]
    assert len(errors) == 2 and max(errors) < 1e-4

    missing = runner.invoke(group, ["av-lipsync", "--model", str(tmp_path / "nowhere")])
    assert missing.exit_code != 0 and "cannot load an av-lipsync model and processor" in missing.output
