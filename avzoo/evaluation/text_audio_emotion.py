"""Evaluation of text-audio-emotion: held-out synthetic speech by condition and modality, the fusion ablations,
the attention analysis, and real RAVDESS speech.

    avzoo evaluate text-audio-emotion --model avzoo/pretrained/text-audio-emotion --data runs/tae/data \\
        --ablation concat=runs/tae/concat/best --ablation text_to_audio=runs/tae/text_to_audio/best \\
        --ravdess ../shared/data/real-speech/ravdess --out eval_results.json

Scored through the processor only, in one run:

* **Synthetic test split** (held-out speakers, voices and sentences; :mod:`avzoo.synth.emotion_speech`): accuracy,
  macro-F1 and per-class recall/F1 overall and on the ``congruent``, ``neutral_text`` and ``incongruent`` subsets,
  plus the same rows with the audio removed (``text_only``) and with the text removed (``audio_only``). Every
  ablation model is scored on the same rows. Baselines in the same run: the majority class, and ``words``: the
  emotion the words alone carry (``text_emotion``), i.e. a perfect reader of the text.
* **Attention analysis** per class (full model, congruent + incongruent + neutral_text rows with both modalities):
  ``entropy`` (mean normalised entropy of the text→audio rows, 1 = uniform), ``a2t_entropy``, ``alignment``
  (cosine between the text→audio map and the transposed audio→text map), ``temporal_consistency`` (Spearman
  correlation between a word's position and the time its attention peaks on: 1 means the words find their
  own stretch of speech in order).
* **Real RAVDESS speech** (actors under ``--ravdess``; never trained on): 8 labels mapped to the 7 classes with
  ``calm`` → neutral (:data:`avzoo.emotions.RAVDESS_TO_MELD`), also reported with calm left out; the spoken
  statement as the text (its words are neutral), and audio only. Accuracy, macro-F1, per-class recall, the
  confusion matrix and a binomial test against the majority class.

The bars of issue 14 sit beside the numbers with a pass flag.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from avzoo.emotions import MELD_EMOTIONS, RAVDESS_TO_MELD

SUBSETS = ("congruent", "neutral_text", "incongruent")
#: Issue 14's bars.
BARS = {"accuracy": 0.85, "ravdess_accuracy": 0.35}
DESIGN_CLAIMS = {"over_concat_points": 12.3, "over_single_direction_points": 7.8}


def _inputs(batch: Mapping[str, Any], processor: Any) -> dict[str, Any]:
    return {k: batch[k] for k in processor.model_input_names if k in batch}


@torch.inference_mode()
def predict(
    model: Any,
    processor: Any,
    texts: Sequence[str | None],
    audios: Sequence[np.ndarray | None],
    metadata: Mapping[str, Sequence[Any]] | None = None,
    batch_size: int = 16,
    analyse: bool = False,
) -> dict[str, Any]:
    """``probs`` (N, C) for each (text, audio) pair (either may be None: a missing modality), and with ``analyse``
    the per-row attention statistics of :func:`attention_stats`."""
    n = len(texts)
    lengths = [0 if a is None else len(a) for a in audios]
    order = np.argsort(lengths, kind="stable")  # similar lengths together: less padding
    probs = np.zeros((n, len(processor.emotion_labels)))
    stats: list[dict[str, float] | None] = [None] * n
    for start in range(0, n, batch_size):
        idx = [int(i) for i in order[start : start + batch_size]]
        meta = {k: [v[i] for i in idx] for k, v in (metadata or {}).items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            batch = processor([texts[i] for i in idx], [audios[i] for i in idx], sampling_rate=16000, **meta)
        out = model(**_inputs(batch, processor))
        probs[idx] = torch.softmax(out.logits.float(), -1).numpy()
        if analyse:
            for j, i in enumerate(idx):
                if bool(batch["has_text"][j]) and bool(batch["has_audio"][j]):
                    stats[i] = attention_stats(processor.attention_maps(out, batch, j))
    return {"probs": probs, "stats": stats}


def attention_stats(maps: Mapping[str, Any]) -> dict[str, float]:
    """Entropy, alignment and temporal consistency of one example's maps (last layer, head mean; see the module
    docstring). Special tokens are left out of the word statistics."""
    from scipy.stats import spearmanr

    t2a, a2t = maps["text_to_audio"], maps["audio_to_text"]
    out: dict[str, float] = {}
    if t2a.size:
        m = t2a[-1]  # (heads, L, F)
        f = m.shape[-1]
        ent = -(m * np.log(np.clip(m, 1e-12, None))).sum(-1) / np.log(max(f, 2))
        out["entropy"] = float(ent.mean())
        words = maps["words"]
        if len(words) >= 3:
            mean = m.mean(0)
            peaks = [float(np.argmax(mean[a:b].mean(0))) for _, a, b in words]
            rho = spearmanr(np.arange(len(peaks)), peaks).statistic
            out["temporal_consistency"] = float(rho) if np.isfinite(rho) else 0.0
    if a2t.size:
        m = a2t[-1]
        lt = m.shape[-1]
        ent = -(m * np.log(np.clip(m, 1e-12, None))).sum(-1) / np.log(max(lt, 2))
        out["a2t_entropy"] = float(ent.mean())
    if t2a.size and a2t.size:
        x, y = t2a[-1].mean(0).ravel(), a2t[-1].mean(0).T.ravel()
        out["alignment"] = float(x @ y / (np.linalg.norm(x) * np.linalg.norm(y) + 1e-12))
    return out


def classification(y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro-F1 over the classes present, per-class recall/F1/support and the confusion matrix."""
    from sklearn.metrics import confusion_matrix, f1_score, recall_score

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    present = sorted(set(y_true.tolist()))
    if not len(y_true):
        return {"n": 0}
    recall = recall_score(y_true, y_pred, labels=present, average=None, zero_division=0)
    f1 = f1_score(y_true, y_pred, labels=present, average=None, zero_division=0)
    return {
        "n": len(y_true),
        "accuracy": float(np.mean(y_true == y_pred)),
        "macro_f1": float(np.mean(f1)),
        "per_class": {
            labels[c]: {"recall": float(r), "f1": float(f), "support": int(np.sum(y_true == c))}
            for c, r, f in zip(present, recall, f1, strict=True)
        },
        "confusion": confusion_matrix(y_true, y_pred, labels=list(range(len(labels)))).tolist(),
    }


def load_test_rows(data_dir: str | Path, split: str = "test", limit: int = 0) -> dict[str, Any]:
    """The split's texts, audio, labels, conditions, words' emotions and speaker metadata, decoded once."""
    from avzoo.evaluation.baselines import audio_array
    from avzoo.synth.emotion_speech import load_emotion_speech, metadata_names

    ds = load_emotion_speech(data_dir)
    if split not in ds:
        raise ValueError(f"{data_dir} has no {split!r} split (has {sorted(ds)})")
    rows = ds[split]
    if limit:
        rows = rows.select(range(min(limit, len(rows))))
    meta = metadata_names(rows)
    return {
        "texts": list(rows["text"]),
        "audios": [audio_array(a) for a in rows["audio"]],
        "labels": np.asarray(rows["label"]),
        "text_emotion": np.asarray(rows["text_emotion"]),
        "conditions": np.asarray(rows["condition"]),
        "metadata": meta,
    }


def score_synthetic(
    model: Any, processor: Any, rows: Mapping[str, Any], modes: bool = True
) -> dict[str, Any]:
    """One model on the synthetic rows: overall and per subset; with ``modes`` also text-only and audio-only."""
    labels = processor.emotion_labels
    y = rows["labels"]
    start = time.perf_counter()
    full = predict(model, processor, rows["texts"], rows["audios"], rows["metadata"], analyse=modes)
    seconds = time.perf_counter() - start
    pred = full["probs"].argmax(-1)
    out = {"overall": classification(y, pred, labels), "seconds": round(seconds, 2)}
    for subset in SUBSETS:
        keep = rows["conditions"] == subset
        out[subset] = classification(y[keep], pred[keep], labels)
    if modes:
        n = len(y)
        text_only = predict(model, processor, rows["texts"], [None] * n, rows["metadata"])["probs"].argmax(-1)
        audio_only = predict(model, processor, [None] * n, rows["audios"], rows["metadata"])["probs"].argmax(
            -1
        )
        out["text_only"] = classification(y, text_only, labels)
        out["audio_only"] = classification(y, audio_only, labels)
        for subset in SUBSETS:
            keep = rows["conditions"] == subset
            out["text_only"][subset] = float(np.mean(text_only[keep] == y[keep]))
            out["audio_only"][subset] = float(np.mean(audio_only[keep] == y[keep]))
        out["attention"] = attention_table(full["stats"], y, labels)
    return out


def attention_table(stats: Sequence[dict[str, float] | None], y: np.ndarray, labels: Sequence[str]) -> dict:
    """Mean of each attention statistic per true class and overall."""
    table: dict[str, dict[str, float]] = {}
    keys = ("entropy", "a2t_entropy", "alignment", "temporal_consistency")
    for name, keep in [("all", np.ones(len(y), bool))] + [(lab, y == c) for c, lab in enumerate(labels)]:
        rows = [s for s, k in zip(stats, keep, strict=True) if k and s]
        if rows:
            table[name] = {k: round(float(np.mean([r[k] for r in rows if k in r])), 4) for k in keys
                           if any(k in r for r in rows)}  # fmt: skip
            table[name]["n"] = len(rows)
    return table


def baselines(rows: Mapping[str, Any], labels: Sequence[str], train_labels: np.ndarray | None = None) -> dict:
    """Majority class (of the training labels when given) and the words' own emotion, on the same rows."""
    y = rows["labels"]
    ref = train_labels if train_labels is not None else y
    majority = int(np.bincount(ref, minlength=len(labels)).argmax())
    out = {
        "majority": classification(y, np.full_like(y, majority), labels),
        "majority_label": labels[majority],
    }
    words = rows["text_emotion"]
    out["words"] = classification(y, words, labels)
    for subset in SUBSETS:
        keep = rows["conditions"] == subset
        out["words"][subset] = float(np.mean(words[keep] == y[keep]))
    return out


def ravdess_rows(root: str | Path, actors: Sequence[int] | None = None) -> dict[str, Any]:
    """RAVDESS audio-only speech under ``root`` (``actors``: all by default): audio, the spoken statement, the
    RAVDESS and mapped labels."""
    from avzoo.data.ravdess import RAVDESS_STATEMENTS, load_ravdess
    from avzoo.evaluation.baselines import audio_array

    data = load_ravdess(root, modality="audio", actors=actors)
    names = data.features["emotion"].names
    emotions = [names[int(e)] for e in data["emotion"]]
    return {
        "audios": [audio_array(a) for a in data["audio"]],
        "texts": [RAVDESS_STATEMENTS[int(s) - 1] for s in data["statement"]],
        "ravdess": emotions,
        "labels": np.asarray([MELD_EMOTIONS.index(RAVDESS_TO_MELD[e]) for e in emotions]),
        "actors": sorted({int(a) for a in data["actor"]}),
    }


def score_ravdess(model: Any, processor: Any, rows: Mapping[str, Any]) -> dict[str, Any]:
    """Text + audio and audio-only on RAVDESS (see the module docstring)."""
    from scipy.stats import binomtest

    labels = processor.emotion_labels
    y = rows["labels"]
    calm = np.asarray([e == "calm" for e in rows["ravdess"]])
    out: dict[str, Any] = {"clips": len(y), "actors": rows["actors"]}
    n = len(y)
    for mode, texts in (("text_and_audio", rows["texts"]), ("audio_only", [None] * n)):
        start = time.perf_counter()
        probs = predict(model, processor, texts, rows["audios"])["probs"]
        pred = probs.argmax(-1)
        res = classification(y, pred, labels)
        majority = float(np.bincount(y).max() / n)
        hits = int(np.sum(pred == y))
        res["chance_majority"] = majority
        res["binomial_p_vs_majority"] = float(binomtest(hits, n, majority, alternative="greater").pvalue)
        res["without_calm"] = classification(y[~calm], pred[~calm], labels)
        res["predicted_share"] = {labels[c]: round(float(np.mean(pred == c)), 4) for c in range(len(labels))}
        res["by_ravdess_label"] = {
            e: {labels[c]: round(float(np.mean(pred[np.asarray(rows["ravdess"]) == e] == c)), 3)
                for c in range(len(labels))}
            for e in sorted(set(rows["ravdess"]))
        }  # fmt: skip
        res["seconds"] = round(time.perf_counter() - start, 2)
        out[mode] = res
    return out


def check_bars(result: Mapping[str, Any]) -> dict[str, Any]:
    """Issue 14's bars, each with the measured value and a pass flag."""
    syn = result["synthetic"]
    full = syn["model"]
    bars: dict[str, Any] = {
        "accuracy": {"value": full["overall"]["accuracy"], "bar": BARS["accuracy"],
                     "pass": full["overall"]["accuracy"] >= BARS["accuracy"]},
    }  # fmt: skip
    concat = syn.get("ablations", {}).get("concat")
    if concat:
        a, b = full["incongruent"]["accuracy"], concat["incongruent"]["accuracy"]
        bars["beats_concat_on_incongruent"] = {"value": a, "concat": b, "pass": a > b}
    if "ravdess" in result:
        acc = result["ravdess"]["text_and_audio"]["accuracy"]
        bars["ravdess_accuracy"] = {
            "value": acc,
            "bar": BARS["ravdess_accuracy"],
            "pass": acc >= BARS["ravdess_accuracy"],
        }
    return bars


def _load(path: str | Path) -> tuple[Any, Any]:
    from avzoo.pretrained import load

    return load(path, "a text-audio-emotion model")


def run_evaluation(
    model_dir: str | Path,
    data_dir: str | Path,
    out: str | Path,
    ablations: Mapping[str, str | Path] | None = None,
    ravdess: str | Path | None = None,
    limit: int = 0,
    model_id: str | None = None,
    ravdess_actors: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Score the model (and its ablations) and write the evaluation JSON to ``out``; returns the result dict."""
    torch.manual_seed(0)
    model, processor = _load(model_dir)
    rows = load_test_rows(data_dir, limit=limit)
    from avzoo.synth.emotion_speech import load_emotion_speech

    train_labels = np.asarray(load_emotion_speech(data_dir)["train"]["label"])
    labels = processor.emotion_labels
    synthetic: dict[str, Any] = {
        "rows": len(rows["labels"]),
        "model": score_synthetic(model, processor, rows),
    }
    synthetic["baselines"] = baselines(rows, labels, train_labels)
    synthetic["ablations"] = {}
    for name, path in (ablations or {}).items():
        m, p = _load(path)
        synthetic["ablations"][name] = score_synthetic(m, p, rows, modes=False)
        synthetic["ablations"][name]["fusion"] = m.config.fusion
    result: dict[str, Any] = {"synthetic": synthetic}
    if synthetic["ablations"]:
        acc = synthetic["model"]["overall"]["accuracy"]
        result["ablation_gains_points"] = {
            name: round(100 * (acc - a["overall"]["accuracy"]), 2)
            for name, a in synthetic["ablations"].items()
        }
        result["design_claims_points"] = DESIGN_CLAIMS
    if ravdess is not None:
        result["ravdess"] = score_ravdess(model, processor, ravdess_rows(ravdess, ravdess_actors))
    result["bars"] = check_bars(result)
    result["parameters"] = int(sum(p.numel() for p in model.parameters()))
    result["fusion"] = model.config.fusion
    command = f"avzoo evaluate text-audio-emotion --model {model_dir} --data {data_dir}"
    command += "".join(f" --ablation {k}={v}" for k, v in (ablations or {}).items())
    command += f" --ravdess {ravdess}" if ravdess else ""
    command += " --ravdess-actors " + " ".join(map(str, ravdess_actors)) if ravdess and ravdess_actors else ""
    result["command"] = command + (f" --limit {limit}" if limit else "")
    write_results(result, model_id or str(model_dir), out)
    return result


def write_results(result: Mapping[str, Any], model_id: str, out: str | Path) -> Path:
    """The evaluation JSON (:mod:`avzoo.hub.cards` format): synthetic test, and RAVDESS when scored."""
    task = {"type": "text-audio-emotion-classification", "name": "Emotion from text and speech"}
    full = result["synthetic"]["model"]
    entries = [{
        "model": model_id,
        "task": task,
        "dataset": {"name": "avzoo synthetic emotional speech (held-out speakers and sentences)",
                    "type": "avzoo/synth-emotion-speech", "split": "test"},
        "metrics": [
            {"type": "accuracy", "name": "Accuracy", "value": full["overall"]["accuracy"]},
            {"type": "f1", "name": "Macro F1", "value": full["overall"]["macro_f1"], "config": "macro"},
            {"type": "accuracy", "name": "Accuracy (incongruent)", "value": full["incongruent"]["accuracy"],
             "config": "incongruent"},
        ],
        "extra": dict(result),
    }]  # fmt: skip
    if "ravdess" in result:
        rav = result["ravdess"]["text_and_audio"]
        entries.append({
            "model": model_id,
            "task": task,
            "dataset": {"name": "RAVDESS speech (real actors, 7 classes, calm as neutral)", "type": "ravdess"},
            "metrics": [
                {"type": "accuracy", "name": "Accuracy", "value": rav["accuracy"]},
                {"type": "f1", "name": "Macro F1", "value": rav["macro_f1"], "config": "macro"},
            ],
        })  # fmt: skip
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(entries, indent=2) + "\n", encoding="utf-8")
    return out


def format_summary(result: Mapping[str, Any]) -> str:
    """A short text table of the headline numbers."""
    syn = result["synthetic"]
    lines = ["system            overall  congruent  neutral_text  incongruent"]
    systems = [("model", syn["model"]), *list(syn.get("ablations", {}).items())]
    for name, s in systems:
        lines.append(f"{name:<17} {s['overall']['accuracy']:.3f}    " + "  ".join(
            f"{s[k]['accuracy']:.3f}      " for k in SUBSETS))  # fmt: skip
    m = syn["model"]
    lines.append(f"text_only {m['text_only']['accuracy']:.3f}  audio_only {m['audio_only']['accuracy']:.3f}")
    if "ravdess" in result:
        r = result["ravdess"]
        lines.append(f"RAVDESS text+audio {r['text_and_audio']['accuracy']:.3f}  audio-only "
                     f"{r['audio_only']['accuracy']:.3f}  (majority {r['text_and_audio']['chance_majority']:.3f})")  # fmt: skip
    lines.append(json.dumps(result["bars"]))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None, prog: str = "avzoo evaluate text-audio-emotion") -> int:
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--model", required=True, help="model folder or Hub id")
    parser.add_argument(
        "--data", required=True, type=Path, help="an avzoo.synth.emotion_speech dataset folder"
    )
    parser.add_argument("--ablation", action="append", default=[], help="NAME=FOLDER of an ablation model")
    parser.add_argument("--ravdess", type=Path, default=None, help="RAVDESS folder (Actor_XX/ inside)")
    parser.add_argument("--limit", type=int, default=0, help="score only the first N test rows (quick runs)")
    parser.add_argument(
        "--ravdess-actors", type=int, nargs="*", default=None, help="RAVDESS actors (default all)"
    )
    parser.add_argument("--out", type=Path, default=Path("eval_results.json"))
    args = parser.parse_args(argv)
    ablations = {}
    for item in args.ablation:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            parser.error(f"--ablation must be NAME=FOLDER, got {item!r}")
        ablations[name] = path
    try:
        result = run_evaluation(
            args.model,
            args.data,
            args.out,
            ablations,
            args.ravdess,
            args.limit,
            ravdess_actors=args.ravdess_actors,
        )
    except (FileNotFoundError, ValueError) as err:
        parser.error(str(err))
    print(format_summary(result))
    return 0


__all__ = [
    "BARS",
    "attention_stats",
    "classification",
    "main",
    "predict",
    "run_evaluation",
    "score_ravdess",
    "score_synthetic",
]


if __name__ == "__main__":
    raise SystemExit(main())
