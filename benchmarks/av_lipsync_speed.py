"""av-lipsync speed on one CPU thread: offline RTF, streaming compute per frame, ONNX Runtime vs eager PyTorch.

Timed as users call it: ``pipeline("audio-to-blendshapes", model=...)`` offline and ``model.streamer(processor, ...)``
for streaming, on the bundled checkpoint (``--model PATH`` times another saved folder; the weights do not change the
speed, so with no checkpoint bundled an untrained default-config model stands in):

* offline: the whole pipeline call (``pipe(audio, sampling_rate=16000, emotion="happy", crisp_mouth=True)``) on
  ``--seconds`` of audio, and its stages (processor: features + condition; model forward; post-processing with the
  offline crisp_mouth), as real-time factors (RTF = compute seconds / audio seconds; the target is <= 0.01);
* streaming: ``model.stream_step`` on one feature frame at a time, and the streamer
  (``model.streamer(processor, emotion="happy", crisp_mouth=True)``: features, model, streaming crisp_mouth) fed one
  33 ms chunk at a time: median, 95th percentile and max milliseconds per frame (target <= 5 ms per 33 ms frame);
* ONNX (``export_onnx(model, processor, ...)``): the window graph (model + the processor's streaming crisp_mouth)
  vs the same wrapper in eager PyTorch on the whole clip,
  float32 and int8; the step graph per frame vs eager ``stream_step`` + filter; the int8 model's extra error;
* size: parameters, safetensors and ONNX file sizes;
* algorithmic latency: STFT right context + look-ahead, plus the chunk duration for a few chunk sizes.

Timings are medians over ``--repeats`` runs after a warm-up, with ``torch.set_num_threads(1)`` and one ONNX Runtime
thread. They depend on the machine and its load: the JSON records both (this machine is shared with other jobs).

Usage:
    python benchmarks/av_lipsync_speed.py [--seconds 60] [--repeats 5] [--stream-frames 300] [--model PATH|untrained]
        [--out benchmarks/results/av_lipsync_speed.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from transformers import pipeline  # noqa: E402

from avzoo.export.onnx_av_lipsync import (  # noqa: E402
    AvLipsyncOnnxWindow,
    OnnxLipsyncStream,
    export_onnx,
    onnx_session,
)
from avzoo.models.av_lipsync import AvLipsyncConfig, AvLipsyncModel, AvLipsyncProcessor  # noqa: E402
from avzoo.pipelines.audio_to_blendshapes import TASK  # noqa: E402

SR = 16000
BUNDLED = REPO / "avzoo" / "pretrained" / "av-lipsync"
#: The emotion every timed call asks for (a condition is built and fed, as in real use).
EMOTION = "happy"


def load_speech(seconds: float) -> tuple[np.ndarray, str]:
    """Real LibriSpeech speech from the shared recordings, concatenated; a synthetic stand-in if absent."""
    root = Path(os.environ.get("AVZOO_SHARED_DATA", REPO.parent / "shared" / "data"))
    files = sorted((root / "real-speech" / "librispeech" / "train-clean-100").glob("*.flac"))
    if files:
        from avzoo.io.audio import load_audio

        parts, total = [], 0
        for f in files:
            parts.append(load_audio(f))
            total += len(parts[-1])
            if total >= seconds * SR:
                break
        return np.concatenate(parts)[: int(seconds * SR)], f"LibriSpeech train-clean-100 ({len(parts)} files)"
    t = np.arange(int(seconds * SR)) / SR
    audio = 0.2 * np.sin(2 * np.pi * 150 * t) * np.clip(np.sin(2 * np.pi * 3 * t), 0, None)
    return audio.astype(np.float32), "synthetic voiced bursts (shared data not found)"


def timed(fn, repeats: int) -> tuple[float, object]:
    """Median wall time of ``fn()`` over ``repeats`` runs after one warm-up run, and its last result."""
    result = fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), result


def per_call_ms(times: list[float]) -> dict[str, float]:
    arr = np.asarray(times) * 1000.0
    return {
        "median_ms": round(float(np.median(arr)), 4),
        "p95_ms": round(float(np.percentile(arr, 95)), 4),
        "max_ms": round(float(arr.max()), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--stream-frames", type=int, default=300)
    parser.add_argument(
        "--model",
        default=None,
        help="a saved av-lipsync folder, or 'untrained' (default: the bundled checkpoint, untrained if none)",
    )
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "av_lipsync_speed.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)

    source = args.model or (str(BUNDLED) if (BUNDLED / "config.json").is_file() else "untrained")
    if source != "untrained":
        pipe = pipeline(TASK, model=source, dtype=torch.float32)
        weights = source
    else:
        model = AvLipsyncModel(AvLipsyncConfig()).eval()
        pipe = pipeline(TASK, model=model, feature_extractor=AvLipsyncProcessor())
        weights = "untrained (random init, default config)"
    model, processor = pipe.model.eval(), pipe.feature_extractor
    audio, source = load_speech(args.seconds)
    seconds = len(audio) / SR
    result: dict = {
        "benchmark": "av_lipsync_speed",
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "note": "shared machine: other jobs ran at the same time",
        },
        "weights": weights,
        "audio": {"source": source, "seconds": seconds},
    }

    # --- offline -------------------------------------------------------------------------------------------------
    # The call users make, then its stages one by one.
    pipe_time, out = timed(
        lambda: pipe(audio, sampling_rate=SR, emotion=EMOTION, crisp_mouth=True), args.repeats
    )
    fe_time, batch = timed(lambda: processor(audio, sampling_rate=SR, emotion=EMOTION), args.repeats)
    features = batch["input_features"]
    with torch.no_grad():
        model_time, outputs = timed(lambda: model(**batch), args.repeats)
    post_time, _ = timed(
        lambda: processor.post_process_blendshapes(outputs, batch["attention_mask"], crisp_mouth=True),
        args.repeats,
    )
    result["offline"] = {
        "mode": out.get(
            "mode"
        ),  # the pipeline's default for a file: the offline quality mode where there is one
        "frames": len(out["blendshapes"]),
        "pipeline_seconds": pipe_time,
        "feature_seconds": fe_time,
        "model_seconds": model_time,
        "postprocess_seconds": post_time,
        "rtf_pipeline": pipe_time / seconds,
        "rtf_features": fe_time / seconds,
        "rtf_model": model_time / seconds,
        "rtf_postprocess": post_time / seconds,
        "rtf_total": (fe_time + model_time + post_time) / seconds,
    }
    # The low-level timings below feed the model the same held condition, one vector per frame.
    condition = batch["condition"][:, None, :].expand(1, features.shape[1], -1).contiguous()

    # --- streaming -------------------------------------------------------------------------------------------------
    n = min(args.stream_frames, features.shape[1])
    state = model.init_stream(1)
    step_times = []
    with torch.no_grad():
        for t in range(n):
            start = time.perf_counter()
            _, state = model.stream_step(features[:, t : t + 1], condition[:, t : t + 1], state)
            step_times.append(time.perf_counter() - start)
    streamer = model.streamer(processor, emotion=EMOTION, crisp_mouth=True)
    chunk = round(SR / processor.fps)  # one frame of audio per push
    push_times = []
    for i in range(0, n * chunk, chunk):
        start = time.perf_counter()
        streamer.push(audio[i : i + chunk])
        push_times.append(time.perf_counter() - start)
    result["streaming"] = {
        "frames": n,
        "model_stream_step_1_frame": per_call_ms(step_times[5:]),
        "streamer_push_33ms_chunk_with_features_and_filter": per_call_ms(push_times[5:]),
        "budget_ms_per_frame": 1000.0 / processor.fps,
    }

    # --- ONNX ------------------------------------------------------------------------------------------------------
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        window = export_onnx(model, processor, tmp / "window.onnx")
        window_int8 = export_onnx(model, processor, tmp / "window_int8.onnx", quantize=True)
        step = export_onnx(model, processor, tmp / "step.onnx", streaming=True)
        step_int8 = export_onnx(model, processor, tmp / "step_int8.onnx", streaming=True, quantize=True)
        model.save_pretrained(tmp / "hf")
        wrapper = AvLipsyncOnnxWindow(model, processor).eval()
        prev = torch.zeros(1, model.config.num_blendshapes)
        with torch.no_grad():
            eager_time, eager_out = timed(lambda: wrapper(features, condition, prev), args.repeats)
        feeds = {
            "input_features": features.numpy(),
            "condition": condition.numpy(),
            "prev_smoothed": prev.numpy(),
        }
        onnx_result = {}
        for name, path in (("float32", window), ("int8", window_int8)):
            session = onnx_session(path, threads=1)
            run_time, out = timed(lambda session=session: session.run(None, feeds), args.repeats)
            err = np.abs(out[0] - eager_out[0].numpy())
            onnx_result[name] = {
                "seconds": run_time,
                "rtf": run_time / seconds,
                "speedup_vs_eager": eager_time / run_time,
                "max_abs_error_vs_eager": float(err.max()),
                "mean_abs_error_vs_eager": float(err.mean()),
                "file_bytes": path.stat().st_size,
            }
        # Streaming: eager stream_step + filter vs the step graph, one frame per call.
        step_result = {}
        filt = processor.crisp_mouth_streamer()
        state = model.init_stream(1)
        eager_step = []
        with torch.no_grad():
            for t in range(n):
                start = time.perf_counter()
                out, state = model.stream_step(features[:, t : t + 1], condition[:, t : t + 1], state)
                filt(out)
                eager_step.append(time.perf_counter() - start)
        step_result["eager_stream_step_plus_filter"] = per_call_ms(eager_step[5:])
        feats, held = features[0].numpy(), batch["condition"][0].numpy()
        for name, path in (("onnx_float32", step), ("onnx_int8", step_int8)):
            stream = OnnxLipsyncStream(path, model.config)
            times = []
            for t in range(n):
                start = time.perf_counter()
                stream.push(feats[t : t + 1], held)
                times.append(time.perf_counter() - start)
            step_result[name] = {**per_call_ms(times[5:]), "file_bytes": path.stat().st_size}
        result["onnx"] = {
            "window_graph_whole_clip": {
                "eager_seconds": eager_time,
                "eager_rtf": eager_time / seconds,
                **onnx_result,
            },
            "step_graph_per_frame": step_result,
        }
        result["size"] = {
            "parameters": model.num_parameters(),
            "parameters_lipsync": sum(p.numel() for p in model.lipsync.parameters()),
            "parameters_expression": sum(p.numel() for p in model.expression.parameters()),
            "safetensors_bytes_fp32": (tmp / "hf" / "model.safetensors").stat().st_size,
            "onnx_window_bytes_fp32": window.stat().st_size,
            "onnx_window_bytes_int8": window_int8.stat().st_size,
        }

    # --- latency ---------------------------------------------------------------------------------------------------
    lat = streamer.latency_ms  # one definition, the streamer's
    after_middle_ms = lat["total_without_chunking"]
    result["latency_ms"] = {
        "stft_right_context": lat["stft_right_context"],
        "lookahead": lat["lookahead"],
        "algorithmic_without_chunking": after_middle_ms,
        "from_window_centre_without_chunking": lat["total_from_window_centre"],
        "note": (
            "from the middle of the frame's interval, (t + 0.5)/fps, the instant its blendshapes describe, to the end "
            "of the audio it needs; from the STFT window centre t/fps it is half a frame (16.7 ms) more"
        ),
        "with_chunks_up_to": {f"{ms}ms": after_middle_ms + ms for ms in (10, 16, 20, 33.3)},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    off, st, ox = result["offline"], result["streaming"], result["onnx"]
    print(f"audio {seconds:.1f} s ({source}); params {result['size']['parameters']:,}")
    print(
        f"offline RTF: pipeline {off['rtf_pipeline']:.4f} (features {off['rtf_features']:.4f}, model "
        f"{off['rtf_model']:.4f}, post-processing {off['rtf_postprocess']:.4f})"
    )
    print(
        f"streaming ms/frame: stream_step {st['model_stream_step_1_frame']['median_ms']:.2f} "
        f"(p95 {st['model_stream_step_1_frame']['p95_ms']:.2f}), streamer push "
        f"{st['streamer_push_33ms_chunk_with_features_and_filter']['median_ms']:.2f} "
        f"(p95 {st['streamer_push_33ms_chunk_with_features_and_filter']['p95_ms']:.2f})"
    )
    w = ox["window_graph_whole_clip"]
    print(
        f"window graph: eager {w['eager_seconds'] * 1000:.1f} ms, onnx fp32 {w['float32']['seconds'] * 1000:.1f} ms "
        f"(x{w['float32']['speedup_vs_eager']:.2f}, err {w['float32']['max_abs_error_vs_eager']:.1e}), int8 "
        f"{w['int8']['seconds'] * 1000:.1f} ms (x{w['int8']['speedup_vs_eager']:.2f}, "
        f"err {w['int8']['max_abs_error_vs_eager']:.1e})"
    )
    s = ox["step_graph_per_frame"]
    print(
        f"step graph ms/frame: eager {s['eager_stream_step_plus_filter']['median_ms']:.3f}, onnx fp32 "
        f"{s['onnx_float32']['median_ms']:.3f}, int8 {s['onnx_int8']['median_ms']:.3f}"
    )
    print(f"sizes: {result['size']}")
    print(f"latency: {result['latency_ms']['algorithmic_without_chunking']:.1f} ms + chunk")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
