"""Training recipe for av-lipsync on the synthetic corpus.

Phase 1 trains the lipsync branch on the speech channels; phase 2 freezes it (its outputs stay
bit-identical) and trains the expression branch on all 52::

    python -m avzoo.train.av_lipsync corpus_dir=runs/corpus output_dir=runs/avl-p1 phase=1
    python -m avzoo.train.av_lipsync corpus_dir=runs/corpus output_dir=runs/avl-p2 phase=2 \\
        init_from=runs/avl-p1/final

Phase 3 freezes the whole model and trains the offline quality mode's refiner (``offline_dilations``), which
sees the lipsync state of the frames ahead::

    python -m avzoo.train.av_lipsync corpus_dir=runs/corpus output_dir=runs/avl-p3 phase=3 \\
        init_from=runs/avl-p2/final

Phase 3 touches nothing the streaming model computes, so on a CPU it can train on cached states:
``state_cache_passes=N`` runs the frozen branch once over N augmented passes of the training crops and trains the
refiner on what it read (each step then costs the refiner alone, ~10x less); without it every step recomputes the
frozen branch on freshly augmented audio.

All phases run unchanged under ``accelerate launch -m avzoo.train.av_lipsync ...``. Audio is augmented
on the fly (gain, microphone colouring, reverb, noise, real LibriSpeech talkers in the
background; :mod:`avzoo.train.augment`) and log-mel is computed per batch, so every epoch sees
new acoustics for the same labels. The emotion condition comes from the corpus labels; half
of the neutral utterances get the all-zeros condition, which the model must treat as neutral.
"""

from __future__ import annotations

import io
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch
from datasets import Audio
from torch.utils.data import DataLoader, Dataset

from avzoo.arkit import BLENDSHAPE_FPS
from avzoo.losses import warmup_factor
from avzoo.models.av_lipsync import (
    AvLipsyncConfig,
    AvLipsyncForBlendshapeRegression,
    AvLipsyncLossWeights,
    AvLipsyncProcessor,
    av_lipsync_loss,
)
from avzoo.synth.corpus import load_corpus
from avzoo.synth.mixtures import coloured_noise
from avzoo.synth.visemes import TARGETS
from avzoo.train.augment import Augmenter
from avzoo.train.checkpoints import KeepProcessor
from avzoo.train.config import TrainConfig
from avzoo.train.data import SequenceCollator, crop_item, crop_start
from avzoo.train.loop import train

_DEFAULT_LOSS = AvLipsyncLossWeights()


@dataclass
class AvLipsyncTrainConfig(TrainConfig):
    corpus_dir: str = "runs/corpus"
    phase: int = 1
    init_from: str | None = None  # phase 2/3: the model to build on; phase 1: a model to continue
    # Phase 3: the offline refiner's architecture (AvLipsyncConfig offline_*); a model that has one keeps its own.
    offline_dilations: list[int] = field(default_factory=lambda: [1, 2, 4, 8, 1, 2])
    offline_hidden_size: int = 128
    # Phase 3: > 0 trains the refiner on the frozen branch's states of this many augmented passes, computed once.
    state_cache_passes: int = 0
    max_frames: int = 150  # random crops of 5 s
    min_frames: int = 45
    augment: bool = True
    babble_dir: str | None = None  # LibriSpeech train-clean-100 folder for background talkers
    zero_condition_rate: float = 0.5  # share of neutral utterances trained with the all-zeros condition
    model: dict = field(default_factory=dict)  # AvLipsyncConfig overrides (phase 1)
    max_train_utterances: int = 0  # 0: all
    # Further corpus folders mixed into the training split, each repeated n times: {folder: n}. Real speech with
    # aligned labels (avzoo synth real-speech) makes the model hear real voices, not only TTS.
    extra_corpus_dirs: dict = field(default_factory=dict)
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
    # The loss (avzoo.models.av_lipsync.loss_av_lipsync; the defaults are the bundled model's). The velocity weight
    # ramps linearly from 0 to loss_velocity_weight over loss_velocity_warmup_steps optimiser steps.
    loss_l1_weights: dict = field(default_factory=lambda: dict(_DEFAULT_LOSS.l1_weights))
    loss_velocity_weight: float = _DEFAULT_LOSS.velocity_weight
    loss_velocity_weights: dict = field(default_factory=lambda: dict(_DEFAULT_LOSS.velocity_weights))
    loss_velocity_warmup_steps: int = 800
    # A squared-error term next to L1 + velocity: L1 alone drives sparse channels (lip press, rolls, mouthClose:
    # zero on most frames) to their conditional median, zero, and they never fire.
    mse_weight: float = _DEFAULT_LOSS.mse_weight
    active_weight: float = (
        _DEFAULT_LOSS.active_weight
    )  # extra weight where a channel is active (target > 0.05)
    closure_active_weight: float = (
        _DEFAULT_LOSS.closure_active_weight
    )  # the same for the lip-closure channels
    loss_seal_weight: float = _DEFAULT_LOSS.seal_weight
    loss_phone_weight: float = _DEFAULT_LOSS.phone_weight

    def validate(self) -> None:
        super().validate()
        if not 0.0 <= self.silence_rate < 1.0:
            raise ValueError(f"silence_rate must be in [0, 1), got {self.silence_rate}")
        if self.phase not in (1, 2, 3):
            raise ValueError(f"phase must be 1, 2 or 3, got {self.phase}")
        if self.phase in (2, 3) and not self.init_from:
            raise ValueError(f"phase {self.phase} needs init_from=<model folder of the previous phase>")
        if self.state_cache_passes < 0 or (self.state_cache_passes and self.phase != 3):
            raise ValueError(
                f"state_cache_passes is for phase 3 and must be >= 0, got {self.state_cache_passes}"
            )
        if self.phase == 3 and not self.offline_dilations:
            raise ValueError("phase 3 trains the offline refiner: offline_dilations must not be empty")
        if self.loss_velocity_warmup_steps < 0:
            raise ValueError(
                f"loss_velocity_warmup_steps must be >= 0, got {self.loss_velocity_warmup_steps}"
            )
        self.loss_weights(None)  # checks the weights

    def loss_weights(self, step: int | None) -> AvLipsyncLossWeights:
        """The loss weights at optimiser ``step`` (None, evaluation: the full velocity weight)."""
        ramp = 1.0 if step is None else warmup_factor(step, self.loss_velocity_warmup_steps)
        return AvLipsyncLossWeights(
            l1_weights=dict(self.loss_l1_weights),
            velocity_weight=float(self.loss_velocity_weight) * ramp,
            velocity_weights=dict(self.loss_velocity_weights),
            mse_weight=self.mse_weight,
            active_weight=self.active_weight,
            closure_active_weight=self.closure_active_weight,
            seal_weight=self.loss_seal_weight,
            phone_weight=self.loss_phone_weight,
        )


def _decode_audio(batch: dict[str, list]) -> dict[str, list]:
    """``datasets`` transform: undecoded Audio values → (mono float32 samples, rate); other columns as they are."""
    out = dict(batch)
    audio, rates = [], []
    for a in batch["audio"]:
        x, sr = sf.read(io.BytesIO(a["bytes"]) if a.get("bytes") else a["path"], dtype="float32")
        audio.append(x if x.ndim == 1 else x.mean(1))
        rates.append(sr)
    out["audio"], out["sampling_rate"] = audio, rates
    out["blendshapes"] = [np.asarray(b, np.float32) for b in batch["blendshapes"]]
    return out


def load_split(corpus_dir: str, split: str, limit: int = 0, extra: dict[str, int] | None = None):
    """One corpus split as a lazily decoding ``datasets.Dataset``: rows give audio, rate, labels and emotion.

    ``extra`` maps further corpus folders (e.g. real speech from ``avzoo synth real-speech``) to how many times
    their ``split`` is repeated in the mix (their rows are few and real, so they are oversampled).
    """
    from datasets import concatenate_datasets

    ds = load_corpus(corpus_dir)[split]
    if limit:
        ds = ds.select(range(min(limit, len(ds))))
    columns = ["audio", "blendshapes", "emotion", "intensity", "phonemes"]
    parts = [ds]
    for folder, repeat in (extra or {}).items():
        other = load_corpus(folder)
        if split not in other:
            raise ValueError(f"{folder} has no {split!r} split")
        parts += [other[split]] * int(repeat)
    parts = [d.cast_column("audio", Audio(decode=False)).select_columns(columns) for d in parts]
    ds = parts[0] if len(parts) == 1 else concatenate_datasets(parts)
    return ds.with_transform(_decode_audio)


class LipsyncDataset(Dataset):
    """Corpus rows → model inputs through the processor: crops, augmentation, silence items, the condition.

    Item ``i`` at epoch ``e`` depends only on ``(seed, e, i)``, so a resumed run and any number of workers or
    processes see the same items.
    """

    def __init__(
        self,
        rows: Any,
        processor: AvLipsyncProcessor,
        config: AvLipsyncTrainConfig,
        augmenter: Augmenter | None,
        train: bool,
    ):
        self.rows, self.cfg, self.aug, self.train = rows, config, augmenter, train
        self.processor = processor
        # Training audio is augmented on purpose (gain can clip, silence items are near-silent): the same features,
        # without the checks that protect users from bad input.
        self._features = AvLipsyncProcessor.from_dict(
            {**processor.to_dict(), "allow_silence": True, "max_clipped_fraction": 1.0, "max_seconds": None}
        )
        self.samples_per_frame = processor.sampling_rate / processor.fps
        # ClassLabel columns (avzoo.data.schema): label indices → names.
        self.emotions = rows.features["emotion"].names
        self.intensities = rows.features["intensity"].names
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.rows)

    def condition(self, row: dict, rng: np.random.Generator) -> np.ndarray:
        emotion, intensity = row["emotion"], row["intensity"]
        emotion, intensity = self.emotions[emotion], self.intensities[intensity]
        if emotion == "neutral" and rng.random() < self.cfg.zero_condition_rate:
            return self.processor.condition_for(None)
        return self.processor.condition_for(emotion, intensity)

    def __getitem__(self, i: int) -> dict:
        rng = np.random.default_rng([self.cfg.seed, self.epoch if self.train else 0, i])
        row = self.rows[int(i)]
        if row["sampling_rate"] != self.processor.sampling_rate:
            raise ValueError(
                f"corpus audio must be {self.processor.sampling_rate} Hz, got {row['sampling_rate']}"
            )
        item = {"audio": row["audio"], "labels": row["blendshapes"]}
        if self.cfg.phone_head:
            item["phone_labels"] = frame_phones(row.get("phonemes"), len(item["labels"]), self.processor.fps)
        if self.train and self.cfg.silence_rate and rng.random() < self.cfg.silence_rate:
            t = min(len(item["labels"]), self.cfg.max_frames)
            kind = ("white", "pink", "brown")[int(rng.integers(3))]
            level = 10 ** rng.uniform(-5, -2.5)
            noise = level * coloured_noise(kind, round(t * self.samples_per_frame), rng)
            item = {"audio": noise.astype(np.float32), "labels": np.zeros_like(item["labels"][:t])}
            if self.cfg.phone_head:
                item["phone_labels"] = np.full(t, PHONES.index("sil"), np.int64)
        if self.train and len(item["labels"]) > self.cfg.max_frames:
            start = crop_start(len(item["labels"]), self.cfg.max_frames, "random", rng.integers(2**31))
            rates = {"labels": 1.0, "audio": self.samples_per_frame}
            if "phone_labels" in item:
                rates["phone_labels"] = 1.0
            item = crop_item(item, start, self.cfg.max_frames, rates)
        audio = item.pop("audio")
        if self.train and self.aug is not None:
            audio = self.aug(audio, rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # clipping warnings on augmented audio
            features = self._features(audio, sampling_rate=self.processor.sampling_rate, return_tensors="np")
        feats = features["input_features"][0]
        n = min(len(feats), len(item["labels"]))
        out = {
            "input_features": feats[:n],
            "labels": item["labels"][:n],
            "condition": np.repeat(self.condition(row, rng)[None], n, 0),
        }
        if "phone_labels" in item:
            out["phone_labels"] = item["phone_labels"][:n]
        return out


PHONES = tuple(sorted(TARGETS))


def frame_phones(phonemes: list[dict] | None, num_frames: int, fps: float = BLENDSHAPE_FPS) -> np.ndarray:
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
    """Pads features, labels and conditions with zeros and phone labels with -100 (ignored); adds attention_mask."""
    keys = ["input_features", "labels", "condition"] + (
        ["phone_labels"] if "phone_labels" in items[0] else []
    )
    batch = SequenceCollator(sequence_keys=keys, pad_values={"phone_labels": -100})(items)
    for key in ("input_features", "labels", "condition"):
        batch[key] = batch[key].float()
    return batch


def _babble(folder: str | None) -> list[np.ndarray]:
    if not folder or not Path(folder).is_dir():
        return []
    from avzoo.synth.mixtures import librispeech_talkers

    return [t.audio for t in librispeech_talkers(folder)]


def build(config: AvLipsyncTrainConfig):
    """Model (with its loss head), processor and datasets for a phase."""
    train_rows = load_split(config.corpus_dir, "train", config.max_train_utterances, config.extra_corpus_dirs)
    val_rows = load_split(config.corpus_dir, "validation")
    overrides = dict(config.model)
    if config.phone_head and config.phase == 1:
        overrides["phone_labels_vocab"] = list(PHONES)
    load = {"use_safetensors": True}
    if config.phase == 1 and config.init_from:  # continue a phase-1 model (e.g. adding the phone head)
        model = AvLipsyncForBlendshapeRegression.from_pretrained(config.init_from, **overrides, **load)
        processor = AvLipsyncProcessor.from_pretrained(config.init_from)
    elif config.phase == 1:
        model = AvLipsyncForBlendshapeRegression(AvLipsyncConfig(**overrides))
        processor = AvLipsyncProcessor()
        sample = train_rows.select(range(min(400, len(train_rows))))
        processor.fit_normalization(sample[: len(sample)]["audio"], sampling_rate=processor.sampling_rate)
    elif config.phase == 3:
        offline = {}
        if not AvLipsyncConfig.from_pretrained(config.init_from).has_offline_mode:
            # A new refiner's head starts at zero, so before training the offline mode equals streaming.
            offline = {
                "offline_dilations": list(config.offline_dilations),
                "offline_hidden_size": config.offline_hidden_size,
            }
        model = AvLipsyncForBlendshapeRegression.from_pretrained(config.init_from, **offline, **load)
        processor = AvLipsyncProcessor.from_pretrained(config.init_from)
        model.freeze_lipsync()
    else:
        extra = {}
        if config.expression_shared_channels:
            # The shared-delta head changes shape; the expression branch trains from scratch in phase 2 anyway.
            extra = {
                "shared_channels": list(config.expression_shared_channels),
                "ignore_mismatched_sizes": True,
            }
        model = AvLipsyncForBlendshapeRegression.from_pretrained(config.init_from, **extra, **load)
        processor = AvLipsyncProcessor.from_pretrained(config.init_from)
        model.freeze_lipsync()
    aug = Augmenter(babble=_babble(config.babble_dir)) if config.augment else None
    train_ds = LipsyncDataset(train_rows, processor, config, aug, train=True)
    val_ds = LipsyncDataset(val_rows, processor, config, None, train=False)
    return model, processor, train_ds, val_ds


STATE_KEYS = ("lipsync_hidden", "lip_logits", "expression_hidden", "labels")


class StateCache(Dataset):
    """Phase 3 on cached states: per crop the frozen branches' states (:meth:`AvLipsyncModel.branch_states`) and
    the labels."""

    def __init__(self, items: list[dict[str, torch.Tensor]]):
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return self.items[i]


def cache_states(
    model: AvLipsyncForBlendshapeRegression, dataset: LipsyncDataset, passes: int, batch_size: int
):
    """:class:`StateCache` of ``passes`` passes over ``dataset`` (epochs 0..passes-1: new augmentation each)."""
    base = model.av_lipsync
    items = []
    for epoch in range(passes):
        dataset.set_epoch(epoch)
        for batch in DataLoader(dataset, batch_size=batch_size, collate_fn=collate):
            mask = batch["attention_mask"]
            with torch.no_grad():
                states = base.branch_states(batch["input_features"], batch["condition"], mask)
            for i, n in enumerate(mask.sum(1).tolist()):
                # Clones: a view would keep its whole padded batch alive in the cache.
                values = (*states, batch["labels"])
                items.append({key: v[i, :n].clone() for key, v in zip(STATE_KEYS, values, strict=True)})
    return StateCache(items)


def _unwrap(model: Any) -> Any:
    return getattr(model, "module", model)  # DistributedDataParallel


def main(argv: list[str] | None = None):
    config = AvLipsyncTrainConfig.from_cli(sys.argv[1:] if argv is None else argv)
    model, processor, train_ds, val_ds = build(config)
    # Phase 3 scores the whole output: the refiner corrects the lipsync logits under the expression branch's
    # (frozen) deltas on the shared mouth channels, which phase 2 fitted to the streaming logits.
    branch = "lipsync" if config.phase == 1 else "full"
    mode = "offline" if config.phase == 3 else "streaming"

    def compute_loss(model, batch, state):
        return model(
            batch["input_features"],
            condition=batch["condition"],
            attention_mask=batch["attention_mask"],
            labels=batch["labels"],
            phone_labels=batch.get("phone_labels") if config.phase == 1 else None,
            loss_weights=config.loss_weights(state.global_step if state.training else None),
            branch=branch,
            mode=mode,
        ).loss

    def compute_metrics(model, batch, state):
        out = model(
            batch["input_features"],
            condition=batch["condition"],
            attention_mask=batch["attention_mask"],
            mode=mode,
        )
        pred = out.lipsync_blendshapes if config.phase == 1 else out.blendshapes
        mask = batch["attention_mask"].unsqueeze(-1).float()
        idx = model.config.channel_indices(model.config.lipsync_channels)
        err = ((pred - batch["labels"]).abs() * mask)[..., idx].sum((1, 2)) / (mask.sum((1, 2)) * len(idx))
        return {"lipsync_mae": err}

    trainable = {1: None, 2: "av_lipsync.expression*", 3: "av_lipsync.offline*"}[config.phase]
    collate_fn = collate
    if config.state_cache_passes:
        train_ds = cache_states(model, train_ds, config.state_cache_passes, config.batch_size)
        val_ds = cache_states(model, val_ds, 1, config.per_device_eval_batch_size)
        collate_fn = SequenceCollator(sequence_keys=list(STATE_KEYS))

        def outputs(model, batch):
            states = [batch[key] for key in STATE_KEYS[:3]]
            return _unwrap(model).av_lipsync.outputs_from_states(
                *states, attention_mask=batch["attention_mask"], mode="offline"
            )

        def compute_loss(model, batch, state):
            weights = config.loss_weights(state.global_step if state.training else None)
            out = outputs(model, batch)
            return av_lipsync_loss(
                out, batch["labels"], batch["attention_mask"], _unwrap(model).config, weights, "full"
            ).loss

        def compute_metrics(model, batch, state):
            pred = outputs(model, batch).blendshapes
            mask = batch["attention_mask"].unsqueeze(-1).float()
            idx = _unwrap(model).config.channel_indices(_unwrap(model).config.lipsync_channels)
            err = ((pred - batch["labels"]).abs() * mask)[..., idx].sum((1, 2)) / (
                mask.sum((1, 2)) * len(idx)
            )
            return {"lipsync_mae": err}

    keep = KeepProcessor(processor, config.output_dir)
    result = train(
        model, train_ds, val_ds, config, collate_fn, compute_loss, compute_metrics,
        trainable_filter=trainable, callbacks=[keep],
    )  # fmt: skip
    keep.write()
    return result


if __name__ == "__main__":
    main()
