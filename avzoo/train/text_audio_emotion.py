"""Training recipe for text-audio-emotion: spoken synthetic sentences, the voice's emotion as the label.

    AVZOO_TORCH_THREADS=2 avzoo train text-audio-emotion output_dir=../runs/tae/full data_dir=../runs/tae/data
    avzoo release text-audio-emotion --model ../runs/tae/full/best --corpus ../runs/tae/data

(``accelerate launch -m avzoo.train.text_audio_emotion ...`` runs the same recipe on several devices.)

Steps:

1. Data: :mod:`avzoo.synth.emotion_speech` under ``data_dir`` (built there first if missing: 6,000 training
   sentences spoken by 48 speakers; validation and test speakers, voices and sentences are held out). Half are
   congruent, a quarter neutral words with an emotional voice, a quarter words against the voice.
2. Model: :class:`~avzoo.models.text_audio_emotion.TextAudioEmotionForSequenceClassification`. With
   ``text_init=bundled`` the text encoder starts from avzoo's text-vad student (an ALBERT distilled from
   all-MiniLM-L6-v2 on real EmoBank sentences) and uses its tokenizer; ``text_encoder=``/``audio_encoder=``
   name Hub or local models instead (their configs replace the defaults, their weights are loaded).
3. Training: cross-entropy with label smoothing (+ the optional attention regularisers), AdamW with a lower
   learning rate on the pretrained text encoder (``lr_multipliers``); per step, **modality dropout** (the text
   or the audio of a row is marked missing, so text-only and audio-only inputs are trained for), **metadata
   dropout** (speaker metadata set to unknown, since users rarely have it), and audio augmentation (random gain,
   noise at 15–40 dB SNR).

Real data (MELD, IEMOCAP, any CSV of transcribed, emotion-labelled clips): convert it once with
:mod:`avzoo.data.emotion_utterances` (``python -m avzoo.data.emotion_utterances OUT --layout meld --media-root
MELD.Raw --train MELD.Raw/train_sent_emo.csv --validation MELD.Raw/dev_sent_emo.csv --test
MELD.Raw/test_sent_emo.csv``; IEMOCAP exported to the generic CSV layout with ``--labels iemocap``) and pass
``data_dir=OUT``: the shards have the synthetic set's columns, so nothing else changes. Real rows have
``condition`` "unknown" and no speaker metadata (gender and age unknown, pitch band "mid").

Outputs as every recipe: ``best/`` and ``final/`` (model + processor), ``metrics.jsonl``, ``log.jsonl``.
"""

from __future__ import annotations

import os
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from avzoo.models.text_audio_emotion import (
    TextAudioEmotionConfig,
    TextAudioEmotionForSequenceClassification,
    TextAudioEmotionLossWeights,
    TextAudioEmotionProcessor,
)
from avzoo.synth.emotion_speech import (
    EmotionSpeechConfig,
    build_emotion_speech,
    load_emotion_speech,
    metadata_names,
)
from avzoo.train.checkpoints import KeepProcessor
from avzoo.train.config import TrainConfig
from avzoo.train.loop import train

BUNDLED_TEXT = Path(__file__).resolve().parents[1] / "pretrained" / "text-vad"


@dataclass
class TextAudioEmotionTrainConfig(TrainConfig):
    data_dir: str = "runs/tae/data"
    synth_train: int = 6000  # used only when data_dir has no dataset yet
    synth_validation: int = 400
    synth_test: int = 700
    text_init: str | None = (
        "bundled"  # "bundled" (text-vad's encoder + tokenizer), None (random), or a folder
    )
    text_encoder: str | None = None  # a Hub id/folder of a BERT-family encoder (replaces text_init)
    audio_encoder: str | None = None  # a Hub id/folder of a wav2vec2-family encoder
    model: dict = field(default_factory=dict)  # TextAudioEmotionConfig overrides (fusion=concat, ...)
    modality_dropout: float = 0.3  # share of rows with one modality marked missing (half text, half audio)
    metadata_dropout: float = 0.5  # share of rows whose speaker metadata is set to unknown
    noise_rate: float = 0.3  # share of rows with added noise (SNR 15-40 dB)
    gain_db: float = 6.0  # random gain in [-gain_db, gain_db]
    max_audio_seconds: float = 10.0
    label_smoothing: float = 0.1
    entropy_weight: float = 0.0
    alignment_weight: float = 0.0
    max_train: int = 0  # cap on training rows (0: all), for quick runs
    # TrainConfig defaults suited to this recipe
    learning_rate: float = 1e-3
    lr_multipliers: dict[str, float] = field(default_factory=lambda: {"*text_encoder.*": 0.3})
    weight_decay: float = 0.01
    batch_size: int = 32
    num_epochs: int = 8
    warmup_ratio: float = 0.05
    output_dir: str = "runs/tae/full"
    metric_for_best: str | None = "eval_accuracy"
    greater_is_better: bool = True
    log_every: int = 25

    def validate(self) -> None:
        super().validate()
        for name in ("modality_dropout", "metadata_dropout", "noise_rate", "label_smoothing"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.gain_db < 0 or self.max_audio_seconds <= 0:
            raise ValueError("gain_db must be >= 0 and max_audio_seconds > 0")

    def loss_weights(self) -> TextAudioEmotionLossWeights:
        return TextAudioEmotionLossWeights(
            label_smoothing=self.label_smoothing, entropy=self.entropy_weight, alignment=self.alignment_weight
        )


def load_data(config: TextAudioEmotionTrainConfig):
    """The dataset under ``data_dir``, built there first if it is missing."""
    folder = Path(config.data_dir)
    if not any(folder.glob("*/shard-*.parquet")):
        build_emotion_speech(
            EmotionSpeechConfig(
                utterances={
                    "train": config.synth_train,
                    "validation": config.synth_validation,
                    "test": config.synth_test,
                },
                seed=config.seed,
            ),
            folder,
        )
    return load_emotion_speech(folder)


class EmotionSpeechDataset(Dataset):
    """Rows of an emotion-speech split → raw items (text, audio, metadata, label); the collator augments,
    drops modalities and calls the processor."""

    def __init__(self, split, max_rows: int = 0, augment: bool = False):
        self.augment = augment
        self.split = split.select(range(min(len(split), max_rows))) if max_rows else split
        self.texts = self.split["text"]
        self.labels = self.split["label"]
        self.meta = metadata_names(self.split)

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, index: int) -> dict[str, Any]:
        audio = self.split[int(index)]["audio"]
        samples = audio["array"] if isinstance(audio, dict) else audio.get_all_samples().data.mean(0).numpy()
        return {
            "index": int(index),
            "augment": self.augment,
            "text": self.texts[index],
            "audio": np.asarray(samples, dtype=np.float32),
            "label": int(self.labels[index]),
            **{k: v[index] for k, v in self.meta.items()},
        }


class Collator:
    """Items → processor tensors + ``labels``; items of the training set (``augment``) get augmentation and
    modality/metadata dropout drawn from their index and the epoch (a resumed run repeats an uninterrupted one)."""

    def __init__(self, processor: TextAudioEmotionProcessor, config: TextAudioEmotionTrainConfig):
        self.processor, self.config = processor, config
        self.epoch = 0

    def __call__(self, items: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        cfg = self.config
        texts, clips, meta = [], [], {"gender": [], "age_group": [], "pitch_band": []}
        for item in items:
            rng = np.random.default_rng([cfg.seed, self.epoch, item["index"]]) if item["augment"] else None
            text, audio = item["text"], item["audio"][: int(cfg.max_audio_seconds * 16000)]
            if rng is not None:
                audio = audio * 10 ** (rng.uniform(-cfg.gain_db, cfg.gain_db) / 20)
                if rng.random() < cfg.noise_rate:
                    power = float(np.mean(audio**2)) + 1e-12
                    snr = rng.uniform(15, 40)
                    audio = audio + rng.standard_normal(len(audio)).astype(np.float32) * np.sqrt(
                        power / 10 ** (snr / 10)
                    )
                audio = np.clip(audio, -0.99, 0.99).astype(np.float32)
                if rng.random() < cfg.modality_dropout:
                    if rng.random() < 0.5:
                        text = ""
                    else:
                        audio = None
                drop_meta = rng.random() < cfg.metadata_dropout
            else:
                drop_meta = False
            texts.append(text)
            clips.append(audio)
            for k in meta:
                meta[k].append(None if drop_meta else item[k])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            batch = self.processor(texts, clips, sampling_rate=16000, **meta)
        out = {k: batch[k] for k in self.processor.model_input_names if k in batch}
        out["labels"] = torch.tensor([item["label"] for item in items], dtype=torch.long)
        return out


class _EpochCollator(torch.utils.data.Dataset):
    """Wraps the training set so the loop's ``set_epoch`` reaches the collator (fresh augmentation per epoch)."""

    def __init__(self, dataset: Dataset, collator: Collator):
        self.dataset, self.collator = dataset, collator

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        return self.dataset[index]

    def set_epoch(self, epoch: int) -> None:
        self.collator.epoch = epoch


def build_processor(
    tokenizer_source: str | Path, audio_encoder: str | None = None, max_audio_seconds: float = 20.0
) -> TextAudioEmotionProcessor:
    """The processor: ``tokenizer_source``'s tokenizer + ``audio_encoder``'s feature extractor (default: the
    16 kHz log-mel ``SeamlessM4TFeatureExtractor`` of the default w2v-BERT)."""
    from transformers import AutoFeatureExtractor, AutoTokenizer, SeamlessM4TFeatureExtractor

    if audio_encoder:
        feature_extractor = AutoFeatureExtractor.from_pretrained(audio_encoder, return_attention_mask=True)
    else:
        feature_extractor = SeamlessM4TFeatureExtractor(sampling_rate=16000, return_attention_mask=True)
    return TextAudioEmotionProcessor(
        feature_extractor,
        AutoTokenizer.from_pretrained(str(tokenizer_source)),
        max_audio_seconds=max_audio_seconds,
    )


def build_model(
    config: TextAudioEmotionTrainConfig,
) -> tuple[TextAudioEmotionForSequenceClassification, TextAudioEmotionProcessor]:
    """Model and processor as the config says (see the module docstring, step 2)."""
    from transformers import AutoConfig

    overrides = dict(config.model)
    text_source: str | Path | None = None
    if config.text_encoder:
        overrides.setdefault("text_config", AutoConfig.from_pretrained(config.text_encoder).to_dict())
        text_source = config.text_encoder
    elif config.text_init == "bundled":
        text_source = BUNDLED_TEXT
    elif config.text_init:
        text_source = config.text_init
    if config.audio_encoder:
        overrides.setdefault("audio_config", AutoConfig.from_pretrained(config.audio_encoder).to_dict())
    if text_source is None:
        raise ValueError("set text_init (bundled or a folder) or text_encoder: the tokenizer comes from it")
    processor = build_processor(text_source, config.audio_encoder)
    if not config.text_encoder:
        vocab = len(processor.tokenizer)
        text_config = dict(overrides.get("text_config") or {})
        if not text_config:
            from avzoo.models.text_audio_emotion import default_text_config

            text_config = default_text_config()
        text_config["vocab_size"] = vocab
        overrides["text_config"] = text_config
    torch.manual_seed(config.seed)
    model = TextAudioEmotionForSequenceClassification(TextAudioEmotionConfig(**overrides))
    inner = model.text_audio_emotion
    if config.text_encoder or config.audio_encoder:
        inner.load_encoders(config.text_encoder, config.audio_encoder)
    elif text_source is not None and config.text_init:
        load_text_vad_encoder(inner.text_encoder, text_source)
    return model, processor


def load_text_vad_encoder(encoder: torch.nn.Module, folder: str | Path) -> None:
    """Copy a text-vad checkpoint's ALBERT weights into ``encoder`` (every encoder weight must be found)."""
    from safetensors.torch import load_file

    state = load_file(str(Path(folder) / "model.safetensors"))
    prefix = next((p for p in ("text_vad.albert.", "albert.") if any(k.startswith(p) for k in state)), None)
    if prefix is None:
        raise ValueError(f"{folder} holds no text-vad ALBERT weights")
    weights = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    missing, _ = encoder.load_state_dict(weights, strict=False)
    missing = [k for k in missing if not k.startswith("pooler")]
    if missing:
        raise ValueError(f"{folder} lacks encoder weights {missing[:5]}")


def main(argv: list[str] | None = None):
    config = TextAudioEmotionTrainConfig.from_cli(sys.argv[1:] if argv is None else argv)
    torch.set_num_threads(int(os.environ.get("AVZOO_TORCH_THREADS", torch.get_num_threads())))
    data = load_data(config)
    model, processor = build_model(config)
    weights = config.loss_weights()
    collate = Collator(processor, config)
    train_ds = _EpochCollator(EmotionSpeechDataset(data["train"], config.max_train, augment=True), collate)
    val_ds = EmotionSpeechDataset(data["validation"]) if "validation" in data else None

    def compute_loss(model, batch, state):
        return model(**batch, loss_weights=weights).loss

    def compute_metrics(model, batch, state):
        logits = model(**{k: v for k, v in batch.items() if k != "labels"}).logits
        return {"accuracy": (logits.argmax(-1) == batch["labels"]).float()}

    keep = KeepProcessor(processor, config.output_dir)
    result = train(model, train_ds, val_ds, config, collate, compute_loss, compute_metrics, callbacks=[keep])
    keep.write()
    return result


if __name__ == "__main__":
    main()
