"""koemorph speed on one CPU thread: end-to-end real-time factor for 1, 5 and 10 s clips in batches of 1, 2 and 4,
its parts, and the memory a 10-minute input needs; av-lipsync's bundled model timed the same way as a reference.

End to end is what a caller runs on a batch of ``B`` clips of ``S`` seconds: the processor (checks, log-mel and the
eGeMAPS windows: one openSMILE pass per clip), the model forward, and ``post_process_blendshapes``. RTF = wall seconds /
(B × S) (lower is faster); the issue's bar is RTF <= 0.05 for every row. Each row also reports the parts on their own
(features, split into log-mel and eGeMAPS, model forward, post-processing), each a median over ``--repeats`` runs after
one warm-up, with ``torch.set_num_threads(1)``.

Memory: a ``--long-seconds`` (600) input runs end to end in a fresh child process, and again at a tenth of that
length; the JSON records each run's peak RSS over the child's RSS after loading the model, processor and audio and a
1 s warm-up (the kernel's high-water mark ``VmHWM``, reset through ``/proc/self/clear_refs`` just before the run;
``resource.getrusage`` where that reset is not allowed). The model runs in chunks of ``chunk_frames`` output
frames and openSMILE in 120 s pieces, so the growth is the features and output of the input (linear, small) plus a
bounded working set; the ratio between the two lengths shows it.

The clips are real read speech: LibriSpeech train-clean-100 utterances from the shared recordings folder
(``$AVZOO_SHARED_DATA`` or ``../shared/data``), concatenated and cut into consecutive, different clips. The model is
``--model`` (a saved koemorph folder), else the bundled ``avzoo/pretrained/koemorph``, else a freshly initialised
``KoemorphModel(KoemorphConfig())`` with a default processor: the weights and normalisation statistics do not change
the speed, and the JSON says which was used. Timings depend on the machine and its load: the JSON records both
(``os.getloadavg()`` before and after).

Usage:
    python benchmarks/koemorph_speed.py [--seconds 1 5 10] [--batch-sizes 1 2 4] [--repeats 5] [--long-seconds 600]
        [--model PATH] [--av-lipsync PATH|none] [--out benchmarks/results/koemorph_speed.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from avzoo.io.audio import load_audio  # noqa: E402
from avzoo.models.av_lipsync import AvLipsyncModel, AvLipsyncProcessor  # noqa: E402
from avzoo.models.koemorph import KoemorphConfig, KoemorphModel, KoemorphProcessor  # noqa: E402

SR = 16000
BUNDLED = REPO / "avzoo" / "pretrained" / "koemorph"
AV_LIPSYNC = REPO / "avzoo" / "pretrained" / "av-lipsync"
RTF_BAR = 0.05


def librispeech_folder() -> Path:
    root = Path(os.environ.get("AVZOO_SHARED_DATA", REPO.parent / "shared" / "data"))
    return root / "real-speech" / "librispeech" / "train-clean-100"


def speech(seconds: float) -> tuple[np.ndarray, str]:
    """``seconds`` of real speech: LibriSpeech utterances concatenated (exits with a message if absent)."""
    folder = librispeech_folder()
    files = sorted(folder.glob("*.flac"))
    if not files:
        raise SystemExit(
            f"koemorph_speed: no LibriSpeech files under {folder}; this benchmark needs real speech "
            "(set AVZOO_SHARED_DATA to the folder holding real-speech/librispeech/train-clean-100)"
        )
    parts, total = [], 0
    for f in files:
        parts.append(load_audio(f, SR))
        total += len(parts[-1])
        if total >= seconds * SR:
            break
    used = len(parts)
    if total < seconds * SR:  # not enough files: repeat what there is
        parts = parts * int(np.ceil(seconds * SR / total))
    audio = np.concatenate(parts)[: round(seconds * SR)]
    return audio, f"{folder} ({used} files concatenated, first {files[0].name})"


def timed(fn, repeats: int) -> tuple[float, object]:
    """Median wall time of ``fn()`` over ``repeats`` runs after one warm-up run, and its last result."""
    result = fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), result


# --- the two families --------------------------------------------------------------------------------------------


def load_koemorph(path: str | None) -> tuple[KoemorphModel, KoemorphProcessor, str]:
    source = path or (str(BUNDLED) if (BUNDLED / "config.json").is_file() else None)
    if source is None:
        torch.manual_seed(0)
        config = KoemorphConfig()
        weights = "freshly initialised KoemorphModel(KoemorphConfig()) (no bundled koemorph checkpoint)"
        return KoemorphModel(config).eval(), KoemorphProcessor.for_config(config), weights
    model = KoemorphModel.from_pretrained(source, use_safetensors=True).eval()
    return model, KoemorphProcessor.from_pretrained(source), source


def load_av_lipsync(path: str) -> tuple[AvLipsyncModel, AvLipsyncProcessor]:
    return AvLipsyncModel.from_pretrained(
        path, use_safetensors=True
    ).eval(), AvLipsyncProcessor.from_pretrained(path)


class Family:
    """The three stages of one family, as a caller runs them on a batch of clips."""

    def __init__(self, name: str, model, processor, forward_options: dict | None = None):
        self.name, self.model, self.processor = name, model, processor
        self.forward_options = forward_options or {}

    def features(self, clips: list[np.ndarray]):
        return self.processor(clips, sampling_rate=SR)

    def forward(self, batch):
        with torch.no_grad():
            return self.model(**batch, **self.forward_options)

    def post(self, outputs, batch):
        return self.processor.post_process_blendshapes(outputs, batch["attention_mask"])

    def end_to_end(self, clips: list[np.ndarray]):
        batch = self.features(clips)
        return self.post(self.forward(batch), batch)

    def feature_parts(self, clips: list[np.ndarray], repeats: int) -> dict[str, float]:
        """koemorph only: the log-mel and eGeMAPS parts of the features, on the prepared clips."""
        if not isinstance(self.processor, KoemorphProcessor):
            return {}
        prepared = [self.processor.prepare(c, SR) for c in clips]
        mel, _ = timed(lambda: [self.processor.log_mel(a) for a in prepared], repeats)
        out = {"features_logmel_seconds": mel}
        if self.processor.use_emotion_stream:
            grid, _ = timed(lambda: [self.processor.egemaps_grid(a) for a in prepared], repeats)
            out["features_egemaps_seconds"] = grid
        return out


def measure_row(family: Family, clips: list[np.ndarray], seconds: float, repeats: int) -> dict:
    audio_seconds = len(clips) * seconds
    total, tracks = timed(lambda: family.end_to_end(clips), repeats)
    feat, batch = timed(lambda: family.features(clips), repeats)
    model, outputs = timed(lambda: family.forward(batch), repeats)
    post, _ = timed(lambda: family.post(outputs, batch), repeats)
    row = {
        "family": family.name,
        "seconds": seconds,
        "batch_size": len(clips),
        "frames_per_clip": [len(t) for t in tracks],
        "end_to_end_seconds": total,
        "features_seconds": feat,
        "model_seconds": model,
        "postprocess_seconds": post,
        **family.feature_parts(clips, repeats),
    }
    for key in [k for k in row if k.endswith("_seconds") and k != "seconds"]:
        row["rtf_" + key[: -len("_seconds")]] = row[key] / audio_seconds
    row["passes"] = row["rtf_end_to_end"] <= RTF_BAR
    return row


# --- memory (in a child process, so the high-water mark is this input's alone) ------------------------------------


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> bool:
    """Reset the kernel's RSS high-water mark (VmHWM) to the current RSS; False where that is not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def memory_child(seconds: float, model_path: str | None) -> dict:
    torch.set_num_threads(1)
    model, processor, weights = load_koemorph(model_path)
    family = Family("koemorph", model, processor)
    audio, _ = speech(seconds)
    family.end_to_end([audio[:SR]])  # warm-up: openSMILE and torch allocate their first buffers
    base_kb = _status_kb("VmRSS")
    reset = _reset_peak()
    start = time.perf_counter()
    (track,) = family.end_to_end([audio])
    wall = time.perf_counter() - start
    peak_kb = _status_kb("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "seconds": seconds,
        "frames": len(track),
        "end_to_end_seconds": wall,
        "rtf_end_to_end": wall / seconds,
        "rss_after_load_mb": base_kb / 1024,
        "peak_rss_mb": peak_kb / 1024,
        "peak_rss_over_load_mb": (peak_kb - base_kb) / 1024,
        "peak_measured_with": "VmHWM after clear_refs" if reset else "getrusage ru_maxrss (whole process)",
        "input_audio_mb": audio.nbytes / 2**20,
        "output_track_mb": track.nbytes / 2**20,
        "chunk_frames": model.chunk_frames,
        "weights": weights,
    }


def run_memory_child(seconds: float, model_path: str | None) -> dict:
    cmd = [sys.executable, __file__, "--memory-child", str(seconds)]
    if model_path:
        cmd += ["--model", model_path]
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    if done.returncode != 0:
        raise SystemExit(f"memory child for {seconds} s failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- main ----------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, nargs="+", default=[1.0, 5.0, 10.0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--long-seconds", type=float, default=600.0, help="input length of the memory check")
    parser.add_argument(
        "--model", default=None, help="a saved koemorph folder (default: bundled, else fresh)"
    )
    parser.add_argument(
        "--av-lipsync", default=str(AV_LIPSYNC), help="av-lipsync folder timed as the reference, or 'none'"
    )
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "koemorph_speed.json")
    parser.add_argument("--memory-child", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.memory_child is not None:
        print(json.dumps(memory_child(args.memory_child, args.model)))
        return

    load_before = os.getloadavg()
    model, processor, weights = load_koemorph(args.model)
    families = [Family("koemorph", model, processor)]
    reference = None
    if args.av_lipsync != "none" and (Path(args.av_lipsync) / "config.json").is_file():
        lip_model, lip_processor = load_av_lipsync(args.av_lipsync)
        # The pipeline's default for a whole clip: the offline quality mode where the checkpoint has it.
        mode = lip_model.resolve_mode(None)
        families.append(Family("av-lipsync", lip_model, lip_processor, {"mode": mode}))
        reference = {
            "weights": args.av_lipsync,
            "mode": mode,
            "options": "no emotion, no crisp_mouth (defaults)",
        }

    longest = max(args.seconds) * max(args.batch_sizes)
    audio, source = speech(longest)
    rows = []
    for seconds in args.seconds:
        n = round(seconds * SR)
        for batch_size in args.batch_sizes:
            clips = [audio[i * n : (i + 1) * n] for i in range(batch_size)]  # different speech in each clip
            for family in families:
                row = measure_row(family, clips, seconds, args.repeats)
                rows.append(row)
                print(
                    f"{family.name:10s} {seconds:4.0f} s x{batch_size}: RTF {row['rtf_end_to_end']:.4f} "
                    f"(features {row['rtf_features']:.4f}, model {row['rtf_model']:.4f}) "
                    f"{'pass' if row['passes'] else 'FAIL'}",
                    flush=True,
                )
    memory = [run_memory_child(s, args.model) for s in (args.long_seconds / 10, args.long_seconds)]
    load_after = os.getloadavg()

    koemorph_rows = [r for r in rows if r["family"] == "koemorph"]
    result = {
        "benchmark": "koemorph_speed",
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in load_after],
            "note": "timings depend on load; the load averages before and after the run are recorded here",
        },
        "weights": weights,
        "config": {
            "hidden_size": model.config.hidden_size,
            "mel_context_frames": model.config.mel_context_frames,
            "use_emotion_stream": model.config.use_emotion_stream,
            "backend": model.config.backend,
            "emotion_context": model.config.emotion_context,
            "emotion_hop": model.config.emotion_hop,
            "chunk_frames": model.chunk_frames,
            "parameters": model.num_parameters(),
        },
        "reference": reference,
        "audio": {"source": source, "sampling_rate": SR},
        "repeats": args.repeats,
        "rtf_bar": RTF_BAR,
        "rows": rows,
        "all_koemorph_rows_pass": all(r["passes"] for r in koemorph_rows),
        "memory": {
            "runs": memory,
            "growth_ratio_long_vs_tenth": (
                memory[1]["peak_rss_over_load_mb"] / memory[0]["peak_rss_over_load_mb"]
                if memory[0]["peak_rss_over_load_mb"] > 0
                else None
            ),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")

    print(f"\naudio: {source}; koemorph weights: {weights}; load {load_before[0]:.2f} -> {load_after[0]:.2f}")
    header = (
        f"{'family':10s} {'clip':>5s} {'B':>2s} {'RTF e2e':>8s} {'feat':>7s} {'mel':>7s} {'egemaps':>8s} "
    )
    print(header + f"{'model':>7s} {'post':>7s}  bar {RTF_BAR}")
    for r in rows:
        mel = f"{r['rtf_features_logmel']:.4f}" if "rtf_features_logmel" in r else "-"
        ege = f"{r['rtf_features_egemaps']:.4f}" if "rtf_features_egemaps" in r else "-"
        print(
            f"{r['family']:10s} {r['seconds']:4.0f}s {r['batch_size']:2d} {r['rtf_end_to_end']:8.4f} "
            f"{r['rtf_features']:7.4f} {mel:>7s} {ege:>8s} {r['rtf_model']:7.4f} {r['rtf_postprocess']:7.4f}  "
            f"{'pass' if r['passes'] else 'FAIL'}"
        )
    for m in memory:
        print(
            f"memory {m['seconds']:.0f} s input: RTF {m['rtf_end_to_end']:.4f}, peak RSS {m['peak_rss_mb']:.0f} MB, "
            f"+{m['peak_rss_over_load_mb']:.0f} MB over the loaded process ({m['frames']} frames)"
        )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
