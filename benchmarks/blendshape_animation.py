"""Time one request of the blendshape-animation Space on a 5 s speech clip.

Two measurements, each the median of ``--repeats`` runs after one warm-up:

* ``animate``: :func:`avzoo.apps.blendshape_animation.animate` alone (load and check the audio, model,
  render + H.264/AAC encode, Live Link CSV + JSON), per stage and in total, at each ``--sizes`` video size.
* ``client``: the whole round trip through ``gradio_client`` against the UI served on loopback (upload,
  queue, the request, Gradio's post-processing, downloading the outputs), at the Space's video size.

The model is the bundled ``avzoo/pretrained/av-lipsync`` checkpoint when it exists, otherwise a randomly
initialised av-lipsync with the *default* config (the bundled model's architecture, so its compute is the
same); the JSON says which. The clip is synthetic speech (espeak-ng) cut or padded to exactly 5 s.
Timings depend on the machine and its load; the JSON records the CPU count and load average.

Usage:
    python benchmarks/blendshape_animation.py [--seconds 5] [--repeats 3] [--sizes 256 320] [--threads 1]
                                              [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from avzoo.apps import blendshape_animation as ba  # noqa: E402
from avzoo.io.audio import save_audio  # noqa: E402

TEXT = (
    "Put the big map back on the table, and then we can find the way home before the evening comes. "
    "Maybe we should bring some bread."
)


def speech_clip(seconds: float, folder: Path) -> Path:
    from avzoo.synth.speech import synthesize

    utt = synthesize(TEXT, voice="en-us+m3")
    n = round(seconds * 16000)
    audio = np.zeros(n, np.float32)
    audio[: min(n, len(utt.audio))] = utt.audio[:n]
    return save_audio(folder / "speech-5s.wav", audio)


def model_folder(folder: Path) -> tuple[Path, str]:
    bundled = ba.DEFAULT_MODEL_DIRS["av-lipsync"]
    if (bundled / "config.json").is_file():
        return bundled, f"bundled checkpoint {bundled.relative_to(REPO)}"
    import torch

    from avzoo.models.av_lipsync import AvLipsyncConfig, AvLipsyncModel, AvLipsyncProcessor

    torch.manual_seed(0)
    out = folder / "av-lipsync-random"
    AvLipsyncModel(AvLipsyncConfig()).eval().save_pretrained(out)
    AvLipsyncProcessor().save_pretrained(out)
    return out, "randomly initialised av-lipsync, default config (no bundled checkpoint yet)"


def median_stages(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: round(statistics.median(r[k] for r in runs), 4) for k in runs[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--sizes", type=int, nargs="+", default=[ba.VIDEO_SIZE, 320])
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads during the model call (the Space uses 1; 0: torch's default)",
    )
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "blendshape_animation.json")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="avzoo-bench-ba-") as tmp:
        tmp = Path(tmp)
        wav = speech_clip(args.seconds, tmp)
        folder, model_note = model_folder(tmp)
        # The Space's model: the audio-to-blendshapes pipeline of the folder, created once.
        predictor = ba.PipelinePredictor(folder, num_threads=args.threads or None)

        animate: dict[str, dict[str, float]] = {}
        for size in args.sizes:
            runs = []
            for i in range(args.repeats + 1):
                result = ba.animate(
                    wav, "happy", 0.8, predictor=predictor, out_dir=tmp / f"out-{size}-{i}", size=size
                )
                if i:  # the first run warms caches (renderer, torch, codecs)
                    runs.append(result.timings)
            animate[str(size)] = median_stages(runs)
            print(f"animate @ {size}px: {animate[str(size)]}")

        from gradio_client import Client, handle_file

        from avzoo.apps.serving import serve_blocks

        demo = ba.build_ui(predictors={"av-lipsync": predictor}, examples=False)
        client_s = []
        with serve_blocks(demo, css=ba.CSS) as url:
            client = Client(
                url, verbose=False, analytics_enabled=False, download_files=str(tmp / "downloads")
            )
            for i in range(args.repeats + 1):
                start = time.perf_counter()
                client.predict(
                    handle_file(str(wav)),
                    "happy",
                    0.8,
                    7,
                    list(ba.DEFAULT_CHANNELS),
                    "av-lipsync",
                    api_name="/animate",
                )
                if i:
                    client_s.append(time.perf_counter() - start)
        client_median = round(statistics.median(client_s), 4)
        print(f"gradio_client round trip @ {ba.VIDEO_SIZE}px: {client_median} s")

    report = {
        "clip_seconds": args.seconds,
        "frames": len(result.blendshapes),
        "fps": result.fps,
        "repeats": args.repeats,
        "model": model_note,
        "torch_threads": args.threads or "torch default",
        "animate_median_s": animate,
        "client_round_trip_median_s": client_median,
        "client_video_size": ba.VIDEO_SIZE,
        "machine": {
            "cpus": os.cpu_count(),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
            "note": "timings on a machine shared with other jobs; compare runs on the same machine only",
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
