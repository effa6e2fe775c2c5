"""Training recipe for av-lipsync on the synthetic corpus.

Phase 1 trains the lipsync branch on the speech channels; phase 2 freezes it (its outputs stay
bit-identical) and trains the expression branch on all 52::

    python -m avzoo.train.av_lipsync corpus_dir=runs/corpus output_dir=runs/avl-p1 phase=1
    python -m avzoo.train.av_lipsync corpus_dir=runs/corpus output_dir=runs/avl-p2 phase=2 \\
        init_from=runs/avl-p1/final

Both run unchanged under ``accelerate launch -m avzoo.train.av_lipsync ...``. Audio is augmented
on the fly (gain, microphone colouring, reverb, noise, real LibriSpeech talkers in the
background; :mod:`avzoo.train.augment`) and log-mel is computed per batch, so every epoch sees
new acoustics for the same labels. The emotion condition comes from the corpus labels; half
of the neutral utterances get the all-zeros condition, which the model must treat as neutral.
"""

from __future__ import annotations

import io
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from datasets import Audio
from torch.utils.data import Dataset

from avzoo.emotions import RAVDESS_EMOTIONS, RAVDESS_INTENSITIES
from avzoo.models.av_lipsync import AvLipsyncConfig, AvLipsyncFeatureExtractor, AvLipsyncModel
from avzoo.synth.corpus import load_corpus
from avzoo.synth.mixtures import coloured_noise
from avzoo.synth.visemes import TARGETS
from avzoo.train.augment import Augmenter
from avzoo.train.config import TrainConfig
from avzoo.train.loop import train

INTENSITY_GAIN = {"normal": 0.55, "strong": 1.0}
SAMPLES_PER_FRAME = 16000 / 30


@dataclass
class AvLipsyncTrainConfig(TrainConfig):
    corpus_dir: str = "runs/corpus"
    phase: int = 1
    init_from: str | None = None  # phase 2: the phase-1 model folder; phase 1: a model to continue
    max_frames: int = 150  # random crops of 5 s
    min_frames: int = 45
    augment: bool = True
    babble_dir: str | None = None  # LibriSpeech train-clean-100 folder for background talkers
    zero_condition_rate: float = 0.5  # share of neutral utterances trained with the all-zeros condition
    model: dict = field(default_factory=dict)  # AvLipsyncConfig overrides (phase 1)
    # A squared-error term next to the model's L1 + velocity loss: L1 alone drives sparse channels (lip
    # press, rolls, mouthClose: zero on most frames) to their conditional median, zero, and they never fire.
    mse_weight: float = 4.0
    active_weight: float = 2.0  # extra weight on frames where a channel is active (target > 0.05)
    closure_active_weight: float = 4.0  # the same for the lip-closure channels
    max_train_utterances: int = 0  # 0: all
    # Phase 1: an auxiliary head classifies each frame's phone from the lipsync state (the corpus knows every
    # phone's timing). It teaches the branch to hear phones faster than the blendshape targets alone.
    phone_head: bool = False
    # Phase 1: share of training items replaced by background noise alone (white/pink/brown, -100 to -50 dBFS) with
    # the rest pose as target. TTS clips have little silence, and without these a model drifts to a half-open jaw
    # over a long quiet stretch.
    silence_rate: float = 0.0
    # Phase 2: lipsync channels the expression branch may add (logit) deltas to. The corpus' expressions also
    # move lip press, shrug and upper-lip raise (angry AU24, sad AU17, disgust AU10), not only the mouth corners.
    expression_shared_channels: list[str] = field(default_factory=list)

    def validate(self) -> None:
        super().validate()
        if not 0.0 <= self.silence_rate < 1.0:
            raise ValueError(f"silence_rate must be in [0, 1), got {self.silence_rate}")
        if self.phase not in (1, 2):
            raise ValueError(f"phase must be 1 or 2, got {self.phase}")
        if self.phase == 2 and not self.init_from:
            raise ValueError("phase 2 needs init_from=<phase-1 model folder>")


def _decode(rows) -> list[np.ndarray]:
    out = []
    for a in rows:
        x, sr = (
            sf.read(io.BytesIO(a["bytes"]), dtype="float32")
            if a.get("bytes")
            else sf.read(a["path"], dtype="float32")
        )
        if sr != 16000:
            raise ValueError(f"corpus audio must be 16 kHz, got {sr}")
        out.append(x if x.ndim == 1 else x.mean(1))
    return out


def load_split(corpus_dir: str, split: str, limit: int = 0) -> dict:
    """Audio, labels and condition labels of one corpus split, in memory."""
    ds = load_corpus(corpus_dir)[split]
    if limit:
        ds = ds.select(range(min(limit, len(ds))))
    ds = ds.cast_column("audio", Audio(decode=False))
    cols = ds.select_columns(["audio", "blendshapes", "emotion", "intensity"]).with_format("numpy")
    phonemes = ds["phonemes"] if "phonemes" in ds.column_names else [None] * len(ds)
    return {
        "phonemes": phonemes,
        "audio": _decode(ds["audio"]),
        "labels": [np.asarray(b, np.float32) for b in cols["blendshapes"]],
        "emotion": [RAVDESS_EMOTIONS[int(e)] for e in cols["emotion"]],
        "intensity": [RAVDESS_INTENSITIES[int(i)] for i in cols["intensity"]],
    }


class LipsyncDataset(Dataset):
    """Random crops with augmentation; item i at epoch e depends only on (seed, e, i)."""

    def __init__(
        self,
        data: dict,
        model_config: AvLipsyncConfig,
        fe: AvLipsyncFeatureExtractor,
        config: AvLipsyncTrainConfig,
        augmenter: Augmenter | None,
        train: bool,
    ):
        self.data, self.mc, self.fe, self.cfg, self.aug, self.train = (
            data,
            model_config,
            fe,
            config,
            augmenter,
            train,
        )
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.data["audio"])

    def condition(self, i: int, rng: np.random.Generator) -> np.ndarray:
        emotion, intensity = self.data["emotion"][i], self.data["intensity"][i]
        if emotion == "neutral" and rng.random() < self.cfg.zero_condition_rate:
            return self.mc.condition_for(None)
        return self.mc.condition_for(emotion, INTENSITY_GAIN[intensity])

    def __getitem__(self, i: int) -> dict:
        rng = np.random.default_rng([self.cfg.seed, self.epoch if self.train else 0, i])
        audio, labels = self.data["audio"][i], self.data["labels"][i]
        t = len(labels)
        phones = frame_phones(self.data["phonemes"][i], t) if self.cfg.phone_head else None
        if self.train and self.cfg.silence_rate and rng.random() < self.cfg.silence_rate:
            t = min(t, self.cfg.max_frames)
            kind = ("white", "pink", "brown")[int(rng.integers(3))]
            level = 10 ** rng.uniform(-5, -2.5)
            audio = (level * coloured_noise(kind, round(t * SAMPLES_PER_FRAME), rng)).astype(np.float32)
            labels = np.zeros_like(labels[:t])
            phones = None if phones is None else np.full(t, PHONES.index("sil"), np.int64)
        if self.train and t > self.cfg.max_frames:
            s = int(rng.integers(0, t - self.cfg.max_frames + 1))
            labels = labels[s : s + self.cfg.max_frames]
            phones = None if phones is None else phones[s : s + self.cfg.max_frames]
            a0 = round(s * SAMPLES_PER_FRAME)
            audio = audio[a0 : a0 + round(len(labels) * SAMPLES_PER_FRAME)]
        if self.train and self.aug is not None:
            audio = self.aug(audio, rng)
        feats = self.fe.normalize(self.fe.log_mel(audio))
        n = min(len(feats), len(labels))
        cond = np.repeat(self.condition(i, rng)[None], n, 0)
        item = {"input_features": feats[:n], "labels": labels[:n], "condition": cond}
        if phones is not None:
            item["phone_labels"] = phones[:n]
        return item


PHONES = tuple(sorted(TARGETS))


def frame_phones(phonemes: list[dict] | None, num_frames: int, fps: float = 30.0) -> np.ndarray:
    """(T,) index into :data:`PHONES` of the phone under each frame centre; gaps are ``sil``, unknown -100."""
    out = np.full(num_frames, PHONES.index("sil"), np.int64)
    if phonemes is None:
        return np.full(num_frames, -100, np.int64)
    centres = (np.arange(num_frames) + 0.5) / fps
    for p in phonemes:
        inside = (centres >= float(p["start"])) & (centres < float(p["end"]))
        out[inside] = PHONES.index(p["phone"]) if p["phone"] in TARGETS else -100
    return out


def collate(items: list[dict]) -> dict:
    n = max(len(x["labels"]) for x in items)
    out = {}
    for key in ("input_features", "labels", "condition"):
        dim = items[0][key].shape[1]
        buf = np.zeros((len(items), n, dim), np.float32)
        for j, x in enumerate(items):
            buf[j, : len(x[key])] = x[key]
        out[key] = torch.from_numpy(buf)
    mask = np.zeros((len(items), n), np.int64)
    for j, x in enumerate(items):
        mask[j, : len(x["labels"])] = 1
    out["attention_mask"] = torch.from_numpy(mask)
    if "phone_labels" in items[0]:
        phones = np.full((len(items), n), -100, np.int64)
        for j, x in enumerate(items):
            phones[j, : len(x["phone_labels"])] = x["phone_labels"]
        out["phone_labels"] = torch.from_numpy(phones)
    return out


def _babble(folder: str | None) -> list[np.ndarray]:
    if not folder or not Path(folder).is_dir():
        return []
    from avzoo.synth.mixtures import librispeech_talkers

    return [t.audio for t in librispeech_talkers(folder)]


def build(config: AvLipsyncTrainConfig):
    """Model, feature extractor and datasets for a phase."""
    train_data = load_split(config.corpus_dir, "train", config.max_train_utterances)
    val_data = load_split(config.corpus_dir, "validation")
    overrides = dict(config.model)
    if config.phone_head and config.phase == 1:
        overrides["phone_labels_vocab"] = list(PHONES)
    if config.phase == 1 and config.init_from:  # continue a phase-1 model (e.g. adding the phone head)
        model = AvLipsyncModel.from_pretrained(config.init_from, **overrides)
        fe = AvLipsyncFeatureExtractor.from_pretrained(config.init_from)
    elif config.phase == 1:
        model = AvLipsyncModel(AvLipsyncConfig(**overrides))
        fe = AvLipsyncFeatureExtractor()
        fe.fit_normalization(train_data["audio"][:400], sampling_rate=16000)
    else:
        extra = {}
        if config.expression_shared_channels:
            # The shared-delta head changes shape; the expression branch trains from scratch in phase 2 anyway.
            extra = {
                "shared_channels": list(config.expression_shared_channels),
                "ignore_mismatched_sizes": True,
            }
        model = AvLipsyncModel.from_pretrained(config.init_from, **extra)
        fe = AvLipsyncFeatureExtractor.from_pretrained(config.init_from)
        model.freeze_lipsync()
    aug = Augmenter(babble=_babble(config.babble_dir)) if config.augment else None
    train_ds = LipsyncDataset(train_data, model.config, fe, config, aug, train=True)
    val_ds = LipsyncDataset(val_data, model.config, fe, config, None, train=False)
    return model, fe, train_ds, val_ds


class _KeepFeatureExtractor:
    """Writes the (fitted) feature extractor next to every model the loop saves: best/ and final/."""

    def __init__(self, fe: AvLipsyncFeatureExtractor, output_dir: str):
        self.fe, self.output_dir = fe, Path(output_dir)

    def write(self) -> None:
        if int(os.environ.get("RANK", "0")) != 0:
            return
        for name in ("best", "final"):
            folder = self.output_dir / name
            if (folder / "config.json").exists():
                self.fe.save_pretrained(folder)

    def on_evaluate(self, state, metrics) -> None:
        self.write()


def main(argv: list[str] | None = None):
    config = AvLipsyncTrainConfig.from_cli(sys.argv[1:] if argv is None else argv)
    model, fe, train_ds, val_ds = build(config)
    branch = "lipsync" if config.phase == 1 else "full"

    mc = model.config
    channels = mc.channel_indices(mc.lipsync_channels if config.phase == 1 else mc.blendshape_names)
    closure = torch.zeros(len(mc.blendshape_names))
    closure[
        mc.channel_indices(
            [n for n in mc.blendshape_names if n.startswith(("mouthClose", "mouthPress", "mouthRoll"))]
        )
    ] = 1.0
    active_w = (config.active_weight + (config.closure_active_weight - config.active_weight) * closure)[
        channels
    ]

    def compute_loss(model, batch, state):
        out = model(
            batch["input_features"],
            condition=batch["condition"],
            attention_mask=batch["attention_mask"],
            labels=batch["labels"],
            loss_step=state.global_step if state.training else None,
            loss_branch=branch,
            phone_labels=batch.get("phone_labels") if config.phase == 1 else None,
        )
        pred = (out.lipsync_blendshapes if config.phase == 1 else out.blendshapes)[..., channels]
        target = batch["labels"][..., channels]
        mask = batch["attention_mask"].unsqueeze(-1).to(pred.dtype)
        weight = 1.0 + active_w.to(pred.device) * (target > 0.05).to(pred.dtype)
        mse = (weight * (pred - target) ** 2 * mask).sum() / (mask.sum() * len(channels))
        return out.loss + config.mse_weight * mse

    def compute_metrics(model, batch, state):
        out = model(
            batch["input_features"], condition=batch["condition"], attention_mask=batch["attention_mask"]
        )
        pred = out.lipsync_blendshapes if config.phase == 1 else out.blendshapes
        mask = batch["attention_mask"].unsqueeze(-1).float()
        idx = model.config.channel_indices(model.config.lipsync_channels)
        err = ((pred - batch["labels"]).abs() * mask)[..., idx].sum((1, 2)) / (mask.sum((1, 2)) * len(idx))
        return {"lipsync_mae": err}

    trainable = None if config.phase == 1 else "expression*"
    keep = _KeepFeatureExtractor(fe, config.output_dir)
    result = train(
        model, train_ds, val_ds, config, collate, compute_loss, compute_metrics,
        trainable_filter=trainable, callbacks=[keep],
    )  # fmt: skip
    keep.write()
    return result


if __name__ == "__main__":
    main()
