"""The text-vad processor: text → token ids (a WordPiece tokenizer), model outputs → VAD + emotion per text.

It holds the tables the outputs are read with: the emotion names of the emotion head and their
valence/arousal/dominance anchors (:data:`avzoo.emotions.VAD`, after Russell 1980 and the NRC VAD lexicon), and
the longest input in tokens.

Bad input, by design:

* ``None`` or a non-string: ``ValueError``.
* Text with no letter or digit (empty, spaces, emoji-only, punctuation-only): the model is not run on it as a
  sentence; :meth:`TextVadProcessor.post_process_vad` returns exactly neutral (VAD 0, emotion ``neutral`` with
  probability 1) and ``"empty": True``. The student knows English word pieces only; an emoji is ``[UNK]``.
* Non-English text: scored as it comes (its word pieces); no error, but the numbers mean little (the card says so).
* Longer than ``max_length`` tokens: truncated to the first ``max_length`` tokens, with ``"truncated": True`` in
  the result; :func:`avzoo.pipelines.text_to_vad.text_condition_track` scores long text clause by clause instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from transformers import BatchEncoding, ProcessorMixin

from avzoo.emotions import RAVDESS_EMOTIONS, VAD

#: A text "has words" when it holds a letter or a digit in any script.
_WORDLIKE = re.compile(r"[^\W_]")


def has_words(text: str) -> bool:
    """True when ``text`` holds at least one letter or digit (emoji, punctuation and spaces are not words)."""
    return bool(_WORDLIKE.search(text))


class TextVadProcessor(ProcessorMixin):
    r"""Tokenizer + the tables that read text-vad's outputs.

    Args:
        tokenizer: a WordPiece tokenizer (``BertTokenizerFast``) whose vocabulary the model was trained with.
        emotion_labels: names of the emotion head's classes, in order (default the 8 RAVDESS emotions).
        emotion_vad: one (valence, arousal, dominance) anchor in [-1, 1] per label (default
            :data:`avzoo.emotions.VAD`).
        max_length (128): inputs are truncated to this many tokens (the model's ``max_position_embeddings``).
    """

    tokenizer_class = "AutoTokenizer"
    model_input_names: ClassVar[list[str]] = ["input_ids", "attention_mask"]

    def __init__(
        self,
        tokenizer: Any = None,
        emotion_labels: Sequence[str] = RAVDESS_EMOTIONS,
        emotion_vad: Sequence[Sequence[float]] | None = None,
        max_length: int = 128,
        **kwargs: Any,
    ):
        super().__init__(tokenizer, **kwargs)
        self.emotion_labels = [str(x).strip().lower() for x in emotion_labels]
        if not self.emotion_labels or len(set(self.emotion_labels)) != len(self.emotion_labels):
            raise ValueError(f"emotion_labels must be distinct names, got {list(emotion_labels)}")
        if emotion_vad is None:
            unknown = [x for x in self.emotion_labels if x not in VAD]
            if unknown:
                raise ValueError(f"emotion labels {unknown} have no built-in VAD anchor; pass emotion_vad")
            emotion_vad = [VAD[x] for x in self.emotion_labels]
        self.emotion_vad = [[float(v) for v in row] for row in emotion_vad]
        if len(self.emotion_vad) != len(self.emotion_labels) or any(
            len(r) != 3 or not all(-1.0 <= v <= 1.0 for v in r) for r in self.emotion_vad
        ):
            raise ValueError(
                "emotion_vad needs one (valence, arousal, dominance) triple in [-1, 1] per label"
            )
        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 4:
            raise ValueError(f"max_length must be an integer >= 4, got {max_length!r}")
        self.max_length = max_length

    # --- in ----------------------------------------------------------------------------------------------------

    @staticmethod
    def _texts(text: str | Sequence[str]) -> list[str]:
        texts = [text] if isinstance(text, str) else text
        if texts is None or isinstance(texts, (bytes, Mapping)) or not isinstance(texts, Sequence):
            raise ValueError(f"text must be a string or a list of strings, got {type(text).__name__}")
        texts = list(texts)
        bad = [type(t).__name__ for t in texts if not isinstance(t, str)]
        if bad or not texts:
            raise ValueError(
                f"text must be a string or a non-empty list of strings, got {bad or 'an empty list'}"
            )
        return texts

    def __call__(
        self, text: str | Sequence[str] | None = None, return_tensors: str | None = "pt", **kwargs: Any
    ):
        """``input_ids`` and ``attention_mask`` (B, L) for one text or a list, truncated to ``max_length``."""
        texts = self._texts(text)
        encoded = self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_length, return_tensors=return_tensors
        )
        return BatchEncoding({k: encoded[k] for k in self.model_input_names}, tensor_type=None)

    def is_truncated(self, text: str) -> bool:
        """Whether ``text`` is longer than ``max_length`` tokens (special tokens included)."""
        if len(text) + 2 <= self.max_length:  # every token covers at least one character: no need to tokenise
            return False
        return len(self.tokenizer(text, truncation=False)["input_ids"]) > self.max_length

    # --- out ---------------------------------------------------------------------------------------------------

    def post_process_vad(self, outputs: Any, texts: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Model outputs → one result per text.

        A result is ``{"valence", "arousal", "dominance"}`` (floats clipped to [-1, 1]), ``"emotion"`` (the top
        label), ``"scores"`` (``{label: probability}``), ``"empty"`` and ``"truncated"`` (bools; see the module
        docstring). With ``texts``, a text with no words is neutral whatever the model says.
        """
        vad = getattr(outputs, "vad", None)
        logits = getattr(outputs, "emotion_logits", None)
        if vad is None or logits is None:
            raise ValueError("outputs must have .vad (B, 3) and .emotion_logits (B, E)")
        vad = torch.as_tensor(vad).detach().float().cpu().numpy()
        probs = torch.softmax(torch.as_tensor(logits).detach().float().cpu(), dim=-1).numpy()
        if probs.shape[-1] != len(self.emotion_labels):
            raise ValueError(f"expected {len(self.emotion_labels)} emotion logits, got {probs.shape[-1]}")
        if texts is not None and len(texts) != len(vad):
            raise ValueError(f"got {len(texts)} texts for {len(vad)} outputs")
        results = []
        for i in range(len(vad)):
            text = None if texts is None else texts[i]
            empty = text is not None and not has_words(text)
            v = np.zeros(3) if empty else np.clip(np.nan_to_num(vad[i]), -1.0, 1.0)
            p = np.eye(len(self.emotion_labels))[self.emotion_labels.index("neutral")] if (
                empty and "neutral" in self.emotion_labels
            ) else probs[i]  # fmt: skip
            results.append(
                {
                    "valence": float(v[0]),
                    "arousal": float(v[1]),
                    "dominance": float(v[2]),
                    "emotion": self.emotion_labels[int(np.argmax(p))],
                    "scores": {label: float(q) for label, q in zip(self.emotion_labels, p, strict=True)},
                    "empty": bool(empty),
                    "truncated": bool(text is not None and not empty and self.is_truncated(text)),
                }
            )
        return results


__all__ = ["TextVadProcessor", "has_words"]
