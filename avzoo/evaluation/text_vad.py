"""Evaluation of text-vad: the student against its teacher and against human ratings, on held-out sentences.

    avzoo evaluate text-vad --model avzoo/pretrained/text-vad --heldout runs/text-vad/student/heldout.jsonl \\
        --out eval_results.json

``heldout.jsonl`` is what the recipe (:mod:`avzoo.train.text_vad`) writes: sentences no model trained on, each
with the teacher's VAD and emotion probabilities, and the human VAD ratings (EmoBank ``dev`` and the validation
part of ``train``) or the template's emotion (synthetic ``test`` split). Scored, through the processor only:

* EmoBank dev: Pearson r of valence, arousal, dominance with the human ratings, student and teacher;
* every held-out sentence: Pearson r of the student's VAD with the teacher's, per dimension (all sets pooled: the
  bar; and per set, where the real sentences' narrower range gives lower numbers);
* synthetic test sentences: emotion accuracy against the words' emotion, student and teacher, and how often the
  student's top emotion is the teacher's.

The bars of issue 15 (student-teacher r >= 0.9, emotion within 3 points, EmoBank dev r >= 0.75 / 0.5 / 0.4) are
written beside the numbers with a pass flag.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

DIMS = ("valence", "arousal", "dominance")
#: Issue 15's bars.
BARS = {
    "student_teacher_r": 0.9,
    "emotion_accuracy_gap_points": 3.0,
    "emobank_dev_r": {"valence": 0.75, "arousal": 0.5, "dominance": 0.4},
}


def read_heldout(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a recipe's ``heldout.jsonl``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run avzoo train text-vad (it writes heldout.jsonl)")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@torch.inference_mode()
def predict(
    model: Any, processor: Any, texts: Sequence[str], batch_size: int = 64
) -> tuple[np.ndarray, np.ndarray]:
    """The model's ``(N, 3)`` VAD (clipped to [-1, 1]) and ``(N, E)`` emotion probabilities, via the processor."""
    vad, probs = [], []
    order = np.argsort([len(t) for t in texts], kind="stable")
    for i in range(0, len(texts), batch_size):
        batch = [texts[j] for j in order[i : i + batch_size]]
        results = processor.post_process_vad(model(**processor(batch)), batch)
        vad += [[r[d] for d in DIMS] for r in results]
        probs += [[r["scores"][label] for label in processor.emotion_labels] for r in results]
    inverse = np.argsort(order)
    return np.asarray(vad, np.float64)[inverse], np.asarray(probs, np.float64)[inverse]


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1]) if len(a) > 1 else float("nan")


def score(model: Any, processor: Any, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Every number of the module docstring for ``rows``, as a JSON-able dict."""
    texts = [r["text"] for r in rows]
    vad, probs = predict(model, processor, texts)
    teacher_vad = np.asarray([r["teacher_vad"] for r in rows], np.float64)
    teacher_probs = np.asarray([r["teacher_probs"] for r in rows], np.float64)
    sets = np.asarray([r["set"] for r in rows])
    out: dict[str, Any] = {"num_sentences": {s: int((sets == s).sum()) for s in sorted(set(sets))}}
    out["student_teacher_r"] = {d: pearson(vad[:, k], teacher_vad[:, k]) for k, d in enumerate(DIMS)}
    out["student_teacher_r_by_set"] = {
        name: {d: pearson(vad[sets == name, k], teacher_vad[sets == name, k]) for k, d in enumerate(DIMS)}
        for name in sorted(set(sets))
    }
    out["student_teacher_mae"] = {
        d: float(np.abs(vad[:, k] - teacher_vad[:, k]).mean()) for k, d in enumerate(DIMS)
    }
    dev = sets == "emobank_dev"
    if dev.any():
        human = np.asarray([r["human_vad"] for r, keep in zip(rows, dev, strict=True) if keep], np.float64)
        out["emobank_dev_r"] = {
            "student": {d: pearson(vad[dev, k], human[:, k]) for k, d in enumerate(DIMS)},
            "teacher": {
                d: pearson(np.clip(teacher_vad[dev, k], -1, 1), human[:, k]) for k, d in enumerate(DIMS)
            },
        }
    syn = sets == "synth_test"
    if syn.any():
        labels = list(processor.emotion_labels)
        truth = np.asarray([labels.index(r["emotion"]) for r, keep in zip(rows, syn, strict=True) if keep])
        student_top, teacher_top = probs[syn].argmax(-1), teacher_probs[syn].argmax(-1)
        out["emotion_accuracy"] = {
            "student": float((student_top == truth).mean()),
            "teacher": float((teacher_top == truth).mean()),
            "student_agrees_with_teacher": float((student_top == teacher_top).mean()),
        }
    bars: dict[str, Any] = {}
    bars["student_teacher_r"] = {
        d: {"value": out["student_teacher_r"][d], "bar": BARS["student_teacher_r"],
            "pass": out["student_teacher_r"][d] >= BARS["student_teacher_r"]}
        for d in DIMS
    }  # fmt: skip
    if "emotion_accuracy" in out:
        gap = 100 * (out["emotion_accuracy"]["teacher"] - out["emotion_accuracy"]["student"])
        bars["emotion_accuracy_gap_points"] = {
            "value": gap, "bar": BARS["emotion_accuracy_gap_points"], "pass": gap <= BARS["emotion_accuracy_gap_points"]
        }  # fmt: skip
    if "emobank_dev_r" in out:
        bars["emobank_dev_r"] = {
            d: {"value": out["emobank_dev_r"]["student"][d], "bar": BARS["emobank_dev_r"][d],
                "pass": out["emobank_dev_r"]["student"][d] >= BARS["emobank_dev_r"][d]}
            for d in DIMS
        }  # fmt: skip
    out["bars"] = bars
    return out


def to_eval_results(scores: dict[str, Any], model_id: str, command: str = "") -> list[dict[str, Any]]:
    """The evaluation JSON (:mod:`avzoo.hub.cards`): EmoBank dev vs humans, held-out vs teacher, emotions."""
    task = {"type": "text-to-vad", "name": "Text to valence/arousal/dominance"}
    extra = {**scores, "command": command}
    results = []
    if "emobank_dev_r" in scores:
        results.append({
            "model": model_id, "task": task,
            "dataset": {"name": "EmoBank (dev, human ratings)", "type": "JULIELab/EmoBank", "split": "dev"},
            "metrics": [{"type": "pearsonr", "name": f"Pearson r, {d}", "value": v, "config": d}
                        for d, v in scores["emobank_dev_r"]["student"].items()],
            "extra": extra,
        })  # fmt: skip
    results.append({
        "model": model_id, "task": task,
        "dataset": {"name": "held-out sentences, teacher's outputs", "type": "avzoo/text-vad-heldout"},
        "metrics": [{"type": "pearsonr", "name": f"Pearson r with the teacher, {d}", "value": v, "config": d}
                    for d, v in scores["student_teacher_r"].items()],
        "extra": extra,
    })  # fmt: skip
    if "emotion_accuracy" in scores:
        results.append({
            "model": model_id, "task": task,
            "dataset": {"name": "avzoo synthetic sentences (emotion)", "type": "avzoo/synth", "split": "test"},
            "metrics": [{"type": "accuracy", "name": "Emotion accuracy", "value": scores["emotion_accuracy"]["student"]}],
            "extra": extra,
        })  # fmt: skip
    return results


def run_evaluation(
    model_dir: str | Path, heldout: str | Path, out: str | Path, model_id: str | None = None
) -> Path:
    """Score the model in ``model_dir`` on ``heldout`` and write the evaluation JSON to ``out``."""
    from transformers import AutoModel, AutoProcessor

    torch.manual_seed(0)
    model = AutoModel.from_pretrained(str(model_dir), dtype=torch.float32).eval()
    processor = AutoProcessor.from_pretrained(str(model_dir))
    scores = score(model, processor, read_heldout(heldout))
    command = f"avzoo evaluate text-vad --model {model_dir} --heldout {heldout} --out {out}"
    results = to_eval_results(scores, model_id or str(model_dir), command)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return out


def main(argv: Sequence[str] | None = None, prog: str = "avzoo evaluate text-vad") -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--model", required=True, help="model folder or Hub id")
    parser.add_argument(
        "--heldout", required=True, type=Path, help="heldout.jsonl of a text-vad training run"
    )
    parser.add_argument("--out", type=Path, default=Path("eval_results.json"))
    args = parser.parse_args(argv)
    try:
        path = run_evaluation(args.model, args.heldout, args.out)
    except (FileNotFoundError, ValueError) as err:
        parser.error(str(err))
    data = json.loads(Path(path).read_text())
    print(json.dumps(data[0]["extra"]["bars"], indent=2))
    return 0


__all__ = ["BARS", "DIMS", "main", "predict", "read_heldout", "run_evaluation", "score", "to_eval_results"]
