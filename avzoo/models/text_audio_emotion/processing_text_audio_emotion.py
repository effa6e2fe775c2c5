"""The text-audio-emotion processor: (sentence, speech) → model tensors; model outputs → emotions and maps.

It pairs a WordPiece tokenizer (text-vad's, by default) with the audio encoder's feature extractor (for the default
w2v-BERT, ``SeamlessM4TFeatureExtractor``: 80-bin log-mel frames stacked in pairs, normalised per clip; a raw
wav2vec2 uses ``Wav2Vec2FeatureExtractor``) and holds the tables the outputs are read with: the 7 emotion names, the speaker-metadata
vocabularies and the input limits.

Bad input, by design (every case is reported in the result, never silently):

* **No text** (``None``, empty, spaces, emoji or punctuation only): the text path is marked missing
  (``has_text`` False) and the model answers from the audio alone; ``"modalities": ["audio"]``.
* **No speech** (``None``, or audio whose peak is below ``min_speech_peak``, i.e. digital silence or hiss far
  below speech): the audio path is marked missing; ``"modalities": ["text"]``. Both missing is a ``ValueError``.
* **Long text**: truncated to ``max_text_length`` tokens (``"text_truncated": True``). **Long audio**: the first
  ``max_audio_seconds`` are used (``"audio_truncated": True``); the rest is not heard.
* **Other audio problems** (NaN, unscaled PCM, heavy clipping, fewer than 17 samples, unreadable files, a bad
  rate) raise the ``ValueError`` of :func:`avzoo.io.audio.load_audio`; stereo is downmixed and any rate
  resampled to 16 kHz.
* Text in another language is tokenised as it comes (word pieces of an English vocabulary): no error, and
  little meaning; the audio path still works.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from transformers import BatchFeature, ProcessorMixin

from avzoo.emotions import MELD_EMOTIONS
from avzoo.io.audio import load_audio

_WORDLIKE = re.compile(r"[^\W_]")
GENDERS: tuple[str, ...] = ("unknown", "female", "male")
AGE_GROUPS: tuple[str, ...] = ("unknown", "young", "adult", "senior")
PITCH_BANDS: tuple[str, ...] = ("unknown", "low", "mid", "high")
_METADATA = {"gender": GENDERS, "age_group": AGE_GROUPS, "pitch_band": PITCH_BANDS}


def has_words(text: str | None) -> bool:
    """True when ``text`` holds at least one letter or digit."""
    return isinstance(text, str) and bool(_WORDLIKE.search(text))


class TextAudioEmotionProcessor(ProcessorMixin):
    r"""Tokenizer + feature extractor + the tables that read text-audio-emotion's outputs.

    Args:
        feature_extractor: the audio encoder's feature extractor at 16 kHz (``SeamlessM4TFeatureExtractor`` or
            ``Wav2Vec2FeatureExtractor``), returning an attention mask.
        tokenizer: the text encoder's tokenizer.
        emotion_labels: the classifier's class names, in order (default the 7 MELD emotions).
        max_text_length (128): tokens kept (the text encoder's position limit).
        max_audio_seconds (20.0): seconds of speech kept from the start.
        min_speech_peak (0.003): audio whose peak is below this is "no speech" (the audio path is skipped).
    """

    model_input_names: ClassVar[list[str]] = [
        "input_ids", "attention_mask", "input_features", "input_values", "audio_attention_mask", "has_text", "has_audio",
        "gender", "age_group", "pitch_band",
    ]  # fmt: skip

    def __init__(
        self,
        feature_extractor: Any = None,
        tokenizer: Any = None,
        emotion_labels: Sequence[str] = MELD_EMOTIONS,
        max_text_length: int = 128,
        max_audio_seconds: float = 20.0,
        min_speech_peak: float = 0.003,
        **kwargs: Any,
    ):
        super().__init__(feature_extractor, tokenizer, **kwargs)
        self.emotion_labels = [str(x).strip().lower() for x in emotion_labels]
        if not self.emotion_labels or len(set(self.emotion_labels)) != len(self.emotion_labels):
            raise ValueError(f"emotion_labels must be distinct names, got {list(emotion_labels)}")
        if isinstance(max_text_length, bool) or not isinstance(max_text_length, int) or max_text_length < 4:
            raise ValueError(f"max_text_length must be an integer >= 4, got {max_text_length!r}")
        if not 0.5 <= float(max_audio_seconds) <= 600:
            raise ValueError(f"max_audio_seconds must be in [0.5, 600], got {max_audio_seconds!r}")
        if not 0.0 <= float(min_speech_peak) < 0.5:
            raise ValueError(f"min_speech_peak must be in [0, 0.5), got {min_speech_peak!r}")
        self.max_text_length = max_text_length
        self.max_audio_seconds = float(max_audio_seconds)
        self.min_speech_peak = float(min_speech_peak)

    @property
    def sampling_rate(self) -> int:
        return int(self.feature_extractor.sampling_rate)

    # --- in ----------------------------------------------------------------------------------------------------

    @staticmethod
    def _batch(value: Any, name: str, is_item) -> list:
        if value is None:
            return [None]
        if is_item(value):
            return [value]
        if isinstance(value, (list, tuple)) and value and all(v is None or is_item(v) for v in value):
            return list(value)
        raise ValueError(f"{name} must be one item or a non-empty list of them, got {type(value).__name__}")

    def _audio(self, clip: Any, sampling_rate: Any) -> tuple[np.ndarray | None, bool]:
        """One clip → (16 kHz mono float32 or None for no speech, truncated?)."""
        if clip is None:
            return None, False
        if isinstance(clip, Mapping):  # a datasets Audio value or {"array", "sampling_rate"}
            if "array" not in clip:
                raise ValueError(f"an audio dict needs 'array' and 'sampling_rate', got keys {sorted(clip)}")
            clip, sampling_rate = clip["array"], clip.get("sampling_rate", sampling_rate)
        if isinstance(clip, str) or hasattr(clip, "__fspath__"):
            wave = load_audio(clip, self.sampling_rate, allow_silence=True)
        else:
            if sampling_rate is None:
                raise ValueError(
                    f"sampling_rate is required with audio arrays (the model works at {self.sampling_rate} Hz)"
                )
            if hasattr(clip, "detach"):
                clip = clip.detach().cpu().numpy()
            wave = load_audio((np.asarray(clip), sampling_rate), self.sampling_rate, allow_silence=True)
        limit = round(self.max_audio_seconds * self.sampling_rate)
        truncated = len(wave) > limit
        wave = wave[:limit]
        if float(np.max(np.abs(wave))) < self.min_speech_peak:
            return None, truncated
        return wave, truncated

    def _metadata(self, name: str, value: Any, n: int) -> torch.Tensor:
        names = _METADATA[name]
        # one name, index (numpy's too) or None for every example, else one value per example
        values = [value] * n if np.ndim(value) == 0 else list(value)
        if len(values) != n:
            raise ValueError(f"{name} needs one value per example ({n}), got {len(values)}")
        out = []
        for v in values:
            if v is None:
                out.append(0)
            elif isinstance(v, str) and v.strip().lower() in names:
                out.append(names.index(v.strip().lower()))
            elif isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 0 <= v < len(names):
                out.append(int(v))
            else:
                raise ValueError(f"{name} must be one of {names} (or its index, or None), got {v!r}")
        return torch.tensor(out, dtype=torch.long)

    def __call__(
        self,
        text: str | Sequence[str | None] | None = None,
        audio: Any = None,
        sampling_rate: int | None = None,
        gender: Any = None,
        age_group: Any = None,
        pitch_band: Any = None,
        return_tensors: str | None = "pt",
        **kwargs: Any,
    ) -> BatchFeature:
        """Tensors for one example or a batch: ``text`` a string or list, ``audio`` an array (1-D, or 2-D with
        channels), a path, a ``{"array", "sampling_rate"}`` dict, or a list of those; ``None`` marks a missing
        modality. ``gender``/``age_group``/``pitch_band``: names (see the tables) or None (unknown)."""
        texts = self._batch(text, "text", lambda t: isinstance(t, str))

        def is_clip(a):
            return isinstance(a, (str, Mapping)) or hasattr(a, "__fspath__") or (
                hasattr(a, "shape") and getattr(a, "ndim", 0) in (1, 2)
            )  # fmt: skip

        # one clip given as a list of samples (checked first: _batch would refuse it); a list of paths is a batch
        samples = isinstance(audio, (list, tuple)) and audio and all(
            np.isscalar(x) and not isinstance(x, str) for x in audio
        )  # fmt: skip
        clips = [np.asarray(audio, dtype=np.float32)] if samples else self._batch(audio, "audio", is_clip)
        if len(texts) == 1 and len(clips) > 1:
            texts = texts * len(clips)
        if len(clips) == 1 and len(texts) > 1:
            clips = clips * len(texts)
        if len(texts) != len(clips):
            raise ValueError(f"got {len(texts)} texts for {len(clips)} audio clips")
        has_text = [has_words(t) for t in texts]
        loaded = [self._audio(c, sampling_rate) for c in clips]
        waves = [w for w, _ in loaded]
        has_audio = [w is not None for w in waves]
        missing_both = [i for i, (t, a) in enumerate(zip(has_text, has_audio, strict=True)) if not (t or a)]
        if missing_both:
            raise ValueError(
                f"example(s) {missing_both} have neither words nor speech: give a sentence, audio with speech, "
                "or both"
            )
        encoded = self.tokenizer(
            [t if h else "" for t, h in zip(texts, has_text, strict=True)],
            padding=True,
            truncation=True,
            max_length=self.max_text_length,
            return_tensors="pt",
        )
        placeholder = np.full(
            self.sampling_rate // 2, 1e-4, dtype=np.float32
        )  # never heard: has_audio is False
        features = self.feature_extractor(
            [w if w is not None else placeholder for w in waves],
            sampling_rate=self.sampling_rate,
            padding=True,
            return_attention_mask=True,
            return_tensors="pt",
        )
        audio_key = "input_features" if "input_features" in features else "input_values"
        data = {
            "input_ids": encoded["input_ids"],
            "attention_mask": encoded["attention_mask"],
            audio_key: features[audio_key],
            "audio_attention_mask": features["attention_mask"],
            "has_text": torch.tensor(has_text),
            "has_audio": torch.tensor(has_audio),
            "gender": self._metadata("gender", gender, len(texts)),
            "age_group": self._metadata("age_group", age_group, len(texts)),
            "pitch_band": self._metadata("pitch_band", pitch_band, len(texts)),
        }
        batch = BatchFeature(data, tensor_type=return_tensors)
        batch.text_truncated = [h and self._text_truncated(t) for t, h in zip(texts, has_text, strict=True)]
        batch.audio_truncated = [t for _, t in loaded]
        batch.audio_seconds = [len(w) / self.sampling_rate if w is not None else 0.0 for w in waves]
        return batch

    def _text_truncated(self, text: str) -> bool:
        if len(text) + 2 <= self.max_text_length:  # every token covers at least one character
            return False
        return len(self.tokenizer(text, truncation=False)["input_ids"]) > self.max_text_length

    # --- out ---------------------------------------------------------------------------------------------------

    def post_process_emotion(
        self, outputs: Any, inputs: BatchFeature | None = None, return_attentions: bool = False
    ) -> list[dict[str, Any]]:
        """Model outputs → one result per example.

        A result is ``{"label", "scores": {label: probability}, "modalities": [...]}``, plus ``text_truncated``
        and ``audio_truncated`` when ``inputs`` (the processor's output) is given. With ``return_attentions``
        (needs ``inputs``), ``"attentions"`` holds :meth:`attention_maps` for the example.
        """
        logits = getattr(outputs, "logits", None)
        if logits is None:
            raise ValueError("outputs must have .logits (B, num_labels)")
        probs = torch.softmax(torch.as_tensor(logits).detach().float().cpu(), dim=-1).numpy()
        if probs.shape[-1] != len(self.emotion_labels):
            raise ValueError(f"expected {len(self.emotion_labels)} logits, got {probs.shape[-1]}")
        if return_attentions and inputs is None:
            raise ValueError(
                "return_attentions needs the processor's inputs (for the tokens and audio times)"
            )
        results = []
        for i, p in enumerate(probs):
            result: dict[str, Any] = {
                "label": self.emotion_labels[int(np.argmax(p))],
                "scores": {label: float(q) for label, q in zip(self.emotion_labels, p, strict=True)},
            }
            if inputs is not None:
                result["modalities"] = [
                    m
                    for m, on in (("text", inputs["has_text"][i]), ("audio", inputs["has_audio"][i]))
                    if bool(on)
                ]
                result["text_truncated"] = bool(getattr(inputs, "text_truncated", [False] * len(probs))[i])
                result["audio_truncated"] = bool(getattr(inputs, "audio_truncated", [False] * len(probs))[i])
            if return_attentions:
                result["attentions"] = self.attention_maps(outputs, inputs, i)
            results.append(result)
        return results

    def attention_maps(self, outputs: Any, inputs: BatchFeature, index: int = 0) -> dict[str, Any]:
        """Example ``index``'s maps, trimmed to its real tokens and audio frames.

        Returns ``tokens`` (L word pieces, special tokens included), ``words`` (``[(word, first, end)]`` token
        ranges, for grouping word pieces), ``frame_times`` (F frame centres in seconds),
        ``text_to_audio`` (layers, heads, L, F) and ``audio_to_text`` (layers, heads, F, L) as numpy arrays
        (empty when the fusion has no such direction), and ``word_spans``: per word, the audio span (start,
        end seconds) its head-mean text→audio attention (last layer) peaks on.
        """
        tm = outputs.text_mask[index].bool().cpu().numpy()
        am = outputs.audio_mask[index].bool().cpu().numpy()
        ids = inputs["input_ids"][index][: int(tm.sum())].tolist()
        tokens = self.tokenizer.convert_ids_to_tokens(ids)
        n_frames = int(am.sum())
        hop = float(getattr(inputs, "audio_seconds", [n_frames * 0.02] * (index + 1))[index]) / max(
            n_frames, 1
        )
        t2a = np.stack([w[index].detach().float().cpu().numpy()[:, tm][:, :, am] for w in
                        outputs.text_to_audio_attentions]) if outputs.text_to_audio_attentions else np.zeros((0,))  # fmt: skip
        a2t = np.stack([w[index].detach().float().cpu().numpy()[:, am][:, :, tm] for w in
                        outputs.audio_to_text_attentions]) if outputs.audio_to_text_attentions else np.zeros((0,))  # fmt: skip
        words = _words(tokens, self.tokenizer.all_special_tokens)
        spans = []
        if t2a.size and bool(inputs["has_audio"][index]):
            mean = t2a[-1].mean(0)  # (L, F)
            for word, a, b in words:
                profile = mean[a:b].mean(0)
                peak = int(np.argmax(profile))
                above = profile >= 0.5 * profile[peak]
                lo = peak
                while lo > 0 and above[lo - 1]:
                    lo -= 1
                hi = peak
                while hi + 1 < len(profile) and above[hi + 1]:
                    hi += 1
                spans.append({"word": word, "start": round(lo * hop, 3), "end": round((hi + 1) * hop, 3),
                              "peak": float(profile[peak])})  # fmt: skip
        return {
            "tokens": tokens,
            "words": words,
            "frame_times": ((np.arange(n_frames) + 0.5) * hop).round(4),
            "text_to_audio": t2a,
            "audio_to_text": a2t,
            "word_spans": spans,
        }


def _words(tokens: list[str], special: Sequence[str]) -> list[tuple[str, int, int]]:
    """``(word, first token, end token)`` for each word: a ``##`` piece continues the word before it."""
    words: list[list] = []
    for i, tok in enumerate(tokens):
        if tok in special:
            continue
        if tok.startswith("##") and words and words[-1][2] == i:
            words[-1][0] += tok[2:]
            words[-1][2] = i + 1
        else:
            words.append([tok, i, i + 1])
    return [tuple(w) for w in words]


__all__ = ["AGE_GROUPS", "GENDERS", "PITCH_BANDS", "TextAudioEmotionProcessor", "has_words"]
