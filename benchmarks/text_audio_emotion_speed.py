"""text-audio-emotion speed on one CPU thread, and the memory of a very long input.

Rows (each a median over ``--repeats`` runs after one warm-up, ``torch.set_num_threads(1)``):

* ``model_5s_20tok``: the model forward on a 5 s clip with a 20-token sentence (the issue's bar: <= 150 ms);
* ``end_to_end_5s_20tok``: processor (checks, resampling from 44.1 kHz, log-mel, tokeniser) + model +
  ``post_process_emotion``, what a pipeline call costs;
* ``with_attention_maps``: the same with ``return_attentions`` (maps trimmed, word spans found);
* ``text_only`` and ``audio_only``: the missing-modality paths, for comparison in the same run;
* ``end_to_end_{1,10,20}s``: how the cost grows with the clip.

Memory: a ``--long-seconds`` (600) input runs end to end; the processor keeps the first ``max_audio_seconds``
(20 s by default, reported as ``audio_truncated``), so the model's working set is bounded; the peak RSS growth
(``ru_maxrss``) of that call in a fresh process is recorded.

The audio is real read speech (LibriSpeech, ``$AVZOO_SHARED_DATA`` or ``../shared/data``) when present, else
synthetic speech from avzoo's corpus voices; the JSON says which. The model is ``--model``, else the bundled
``avzoo/pretrained/text-audio-emotion``. Timings depend on the machine and its load (recorded).

Usage:
    python benchmarks/text_audio_emotion_speed.py [--model PATH] [--repeats 20] [--long-seconds 600]
        [--out benchmarks/results/text_audio_emotion_speed.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

BUNDLED = REPO / "avzoo" / "pretrained" / "text-audio-emotion"
SENTENCE_20 = "Honestly, I cannot believe they cancelled the whole trip again after we waited all summer."
BAR_MS = 150.0


def speech(seconds: float) -> tuple[np.ndarray, str]:
    """``seconds`` of speech at 16 kHz: LibriSpeech when the shared data is here, else synthetic."""
    from avzoo.io.audio import load_audio

    root = Path(os.environ.get("AVZOO_SHARED_DATA", REPO.parent / "shared" / "data"))
    files = sorted((root / "real-speech" / "librispeech").rglob("*.flac"))[:200]
    pieces, total = [], 0
    for path in files:
        wave = load_audio(path)
        pieces.append(wave)
        total += len(wave)
        if total >= seconds * 16000:
            return np.concatenate(pieces)[: int(seconds * 16000)], "librispeech"
    from avzoo.synth.speech import synthesize

    wave = synthesize("The quick brown fox jumps over the lazy dog near the river bank.").audio
    reps = int(np.ceil(seconds * 16000 / len(wave)))
    return np.tile(wave, reps)[: int(seconds * 16000)].astype(np.float32), "synthetic"


def median_ms(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return round(1000 * float(np.median(times)), 2)


def long_input_memory(model: str, seconds: float) -> dict:
    """Peak RSS growth of one end-to-end call on ``seconds`` of audio, in a fresh process."""
    code = f"""
import json, resource, sys, numpy as np, torch
sys.path.insert(0, {str(REPO)!r})
torch.set_num_threads(1)
import avzoo
from transformers import pipeline
clf = pipeline("text-audio-emotion-classification", model={model!r})
rng = np.random.default_rng(0)
audio = (0.1 * rng.standard_normal(int({seconds} * 16000))).astype(np.float32)
clf({{"text": "warm up", "audio": audio[:16000], "sampling_rate": 16000}})
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
out = clf({{"text": "a long recording", "audio": audio, "sampling_rate": 16000}})
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"peak_growth_mb": round((after - before) / 1024, 1), "peak_rss_mb": round(after / 1024, 1), "audio_mb": round(audio.nbytes / 2**20, 1),
                  "audio_truncated": out["audio_truncated"]}}))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default=None)
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--long-seconds", type=float, default=600.0)
    p.add_argument(
        "--out", type=Path, default=REPO / "benchmarks" / "results" / "text_audio_emotion_speed.json"
    )
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    import soxr
    from transformers import AutoModel, AutoProcessor

    import avzoo  # noqa: F401

    model_path = a.model or str(BUNDLED)
    model = AutoModel.from_pretrained(model_path).eval()
    processor = AutoProcessor.from_pretrained(model_path)
    clip, source = speech(20.0)
    tokens = len(processor.tokenizer(SENTENCE_20)["input_ids"])
    load = os.getloadavg()

    def run(text, audio, rate=16000, maps=False):
        batch = processor(text, audio, sampling_rate=rate)
        with torch.inference_mode():
            out = model(**{k: batch[k] for k in processor.model_input_names if k in batch})
        return processor.post_process_emotion(out, batch, return_attentions=maps)

    five = clip[: 5 * 16000]
    five_44k = soxr.resample(five, 16000, 44100).astype(np.float32)
    batch5 = processor(SENTENCE_20, five, sampling_rate=16000)
    inputs5 = {k: batch5[k] for k in processor.model_input_names if k in batch5}

    def forward():
        with torch.inference_mode():
            model(**inputs5)

    rows = {
        "model_5s_20tok": median_ms(forward, a.repeats),
        "end_to_end_5s_20tok": median_ms(lambda: run(SENTENCE_20, five_44k, 44100), a.repeats),
        "with_attention_maps": median_ms(lambda: run(SENTENCE_20, five, maps=True), a.repeats),
        "text_only": median_ms(lambda: run(SENTENCE_20, None), a.repeats),
        "audio_only": median_ms(lambda: run(None, five), a.repeats),
    }
    for seconds in (1, 10, 20):
        rows[f"end_to_end_{seconds}s"] = median_ms(
            lambda s=seconds: run(SENTENCE_20, clip[: s * 16000]), a.repeats
        )
    result = {
        "model": model_path,
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "safetensors_bytes": (Path(model_path) / "model.safetensors").stat().st_size
        if (Path(model_path) / "model.safetensors").is_file()
        else None,
        "audio_source": source,
        "sentence_tokens": tokens,
        "ms": rows,
        "bar_ms": BAR_MS,
        "pass": rows["model_5s_20tok"] <= BAR_MS,
        "long_input": {"seconds": a.long_seconds, **long_input_memory(model_path, a.long_seconds)},
        "threads": 1,
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "loadavg_before": load,
            "loadavg_after": os.getloadavg(),
        },
        "torch": torch.__version__,
        "command": "python benchmarks/text_audio_emotion_speed.py"
        + (f" --model {a.model}" if a.model else ""),
    }
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
