"""Training recipe for koemorph on the synthetic corpus (the speaker's emotion drives the expression channels and
the voice: rate, pitch, range and level).

Two steps, both resumable::

    python -m avzoo.train.koemorph corpus_dir=runs/corpus-v2-full output_dir=runs/koemorph \\
        features_dir=runs/koemorph-features extra_corpus_dirs='{"runs/real-aligned": 3}'

1. **Features** (``features_dir``, computed once and reused by every run on the same corpus): the processor's
   normalisation is fitted on training audio, then every utterance's log-mel and eGeMAPS grid are computed through
   the processor's own feature code (:meth:`KoemorphProcessor.features` path: ``log_mel`` and ``egemaps_grid``),
   in ``feature_workers`` processes. A share (``augment_share``) of the training utterances is augmented first
   (gain, microphone colouring, reverb, noise, real LibriSpeech talkers in the background;
   :mod:`avzoo.train.augment`), the same audio for both streams. eGeMAPS costs ~0.1 s per utterance, so the
   augmentation is drawn once per utterance rather than per epoch. ``silence_items`` clips of low-level noise with
   the rest pose as target teach silence → rest.
2. **Training**: random crops of up to ``max_frames`` frames, most (``history_rate``) preceded by the mel of 1-3 other
   utterances of the same talker as history (``history_features``: the far context taps hear speech, not only
   padding); the emotion features of a crop keep the real history
   of its utterance (they were computed on the whole clip). ``model.use_emotion_stream=false`` trains the mel-only
   ablation on the same features.

It runs unchanged under ``accelerate launch -m avzoo.train.koemorph ...``.
"""

from __future__ import annotations

import json
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from avzoo.models.koemorph import (
    KoemorphConfig,
    KoemorphForBlendshapeRegression,
    KoemorphLossWeights,
    KoemorphProcessor,
)
from avzoo.synth.mixtures import coloured_noise
from avzoo.train.augment import Augmenter
from avzoo.train.av_lipsync import _babble, load_split
from avzoo.train.checkpoints import KeepProcessor
from avzoo.train.config import TrainConfig
from avzoo.train.data import SequenceCollator, crop_start
from avzoo.train.loop import train

_DEFAULT_LOSS = KoemorphLossWeights()
FEATURES_VERSION = 1


@dataclass
class KoemorphTrainConfig(TrainConfig):
    corpus_dir: str = "runs/corpus"
    features_dir: str = ""  # default: <output_dir>/features
    extra_corpus_dirs: dict = field(default_factory=dict)  # {corpus folder: repeats} mixed into training
    init_from: str | None = None  # a koemorph model folder to continue from
    model: dict = field(default_factory=dict)  # KoemorphConfig overrides
    max_frames: int = 120  # random crops of 4 s
    max_train_utterances: int = 0  # 0: all
    augment_share: float = 0.5  # share of training utterances augmented (once, at feature time)
    babble_dir: str | None = None  # LibriSpeech train-clean-100 folder for background talkers
    silence_items: int = 300  # noise-only training clips with the rest pose as target
    # Share of training items preceded by 1-3 other utterances of their talker as mel history: corpus clips are ~3 s,
    # and without it the far taps of the 256-frame context (4-8.5 s back) would never hear speech in training.
    history_rate: float = 0.75
    normalization_clips: int = 400
    feature_workers: int = 2
    loss_l1_weights: dict = field(default_factory=lambda: dict(_DEFAULT_LOSS.l1_weights))
    loss_velocity_weight: float = _DEFAULT_LOSS.velocity_weight
    mse_weight: float = _DEFAULT_LOSS.mse_weight
    active_weight: float = _DEFAULT_LOSS.active_weight

    def validate(self) -> None:
        super().validate()
        if not 0.0 <= self.augment_share <= 1.0:
            raise ValueError(f"augment_share must be in [0, 1], got {self.augment_share}")
        if self.max_frames < 1 or self.silence_items < 0 or self.feature_workers < 1:
            raise ValueError("max_frames and feature_workers must be >= 1, silence_items >= 0")
        self.loss_weights()

    def loss_weights(self) -> KoemorphLossWeights:
        return KoemorphLossWeights(
            l1_weights=dict(self.loss_l1_weights),
            velocity_weight=self.loss_velocity_weight,
            mse_weight=self.mse_weight,
            active_weight=self.active_weight,
        )

    @property
    def features_path(self) -> Path:
        return Path(self.features_dir or Path(self.output_dir) / "features")


# --- step 1: features ----------------------------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init_worker(processor_dict: dict, babble_dir: str | None) -> None:
    torch.set_num_threads(1)
    _WORKER["processor"] = KoemorphProcessor.from_dict(processor_dict)
    _WORKER["augmenter"] = Augmenter(babble=_babble(babble_dir))


def _item_features(job: tuple[np.ndarray, int, bool]) -> dict[str, np.ndarray]:
    audio, seed, augment = job
    processor = _WORKER["processor"]
    if augment:
        audio = _WORKER["augmenter"](audio, np.random.default_rng(seed))
    audio = np.clip(np.nan_to_num(audio), -1.0, 1.0).astype(np.float32)
    out = {"mel": processor.raw_log_mel(audio).astype(np.float16), "samples": len(audio)}
    if processor.use_emotion_stream:
        out["grid"] = processor.egemaps_grid(audio)
    return out


def _feature_processor(config: KoemorphTrainConfig, rows: Any) -> KoemorphProcessor:
    """A processor for the model config, its normalisation fitted on the first training clips."""
    model_config = KoemorphConfig(**config.model)
    processor = KoemorphProcessor.for_config(model_config, use_emotion_stream=True)
    sample = rows.select(range(min(config.normalization_clips, len(rows))))
    processor.fit_normalization(sample[: len(sample)]["audio"], sampling_rate=processor.sampling_rate)
    return processor


def _write_split(folder: Path, name: str, items: list[dict], labels: list[np.ndarray], meta: dict) -> None:
    # Label and feature frame counts can differ by one at the end of a clip: keep the common frames.
    lengths = np.array([min(len(x["mel"]), len(lab)) for x, lab in zip(items, labels, strict=True)], np.int64)
    np.savez(
        folder / f"{name}.npz",
        mel=np.concatenate([x["mel"][:n] for x, n in zip(items, lengths, strict=True)]),
        grid=np.concatenate([x["grid"] for x in items]).astype(np.float32),
        labels=np.concatenate([lab[:n] for lab, n in zip(labels, lengths, strict=True)]).astype(np.float16),
        lengths=lengths,
        grid_lengths=np.array([len(x["grid"]) for x in items], np.int64),
        samples=np.array([x["samples"] for x in items], np.int64),
        emotion=np.array(meta["emotion"], np.int64),
        intensity=np.array(meta["intensity"], np.int64),
    )


def compute_features(config: KoemorphTrainConfig) -> KoemorphProcessor:
    """Step 1 (see the module docstring): ``features_dir`` with ``processor/`` and one ``<split>.npz`` per split."""
    from multiprocessing import get_context

    from tqdm.auto import tqdm

    folder = config.features_path
    done = folder / "done.json"
    if done.exists():
        return KoemorphProcessor.from_pretrained(folder / "processor")
    folder.mkdir(parents=True, exist_ok=True)
    train_rows = load_split(config.corpus_dir, "train", config.max_train_utterances, config.extra_corpus_dirs)
    processor = _feature_processor(config, train_rows)
    processor.save_pretrained(folder / "processor")
    rng = np.random.default_rng(config.seed)
    splits = {"train": train_rows, "validation": load_split(config.corpus_dir, "validation")}
    ctx = get_context("fork")
    with ctx.Pool(config.feature_workers, _init_worker, (processor.to_dict(), config.babble_dir)) as pool:
        for split, rows in splits.items():
            if (folder / f"{split}.npz").exists():
                continue
            labels, meta, jobs = [], {"emotion": [], "intensity": []}, []
            for i in range(len(rows)):
                row = rows[i]
                augment = split == "train" and rng.random() < config.augment_share
                jobs.append((row["audio"], int(rng.integers(2**31)), augment))
                labels.append(row["blendshapes"])
                meta["emotion"].append(row["emotion"])
                meta["intensity"].append(row["intensity"])
            if split == "train":
                for _ in range(config.silence_items):
                    frames = int(rng.integers(30, config.max_frames + 1))
                    kind = ("white", "pink", "brown")[int(rng.integers(3))]
                    level = 10 ** rng.uniform(-5, -2.5)
                    noise = level * coloured_noise(
                        kind, round(frames * processor.sampling_rate / processor.fps), rng
                    )
                    jobs.append((noise.astype(np.float32), 0, False))
                    labels.append(np.zeros((frames + 1, len(processor.blendshape_names)), np.float32))
                    meta["emotion"].append(-1)
                    meta["intensity"].append(-1)
            items = list(
                tqdm(pool.imap(_item_features, jobs, chunksize=8), total=len(jobs), desc=f"features {split}")
            )
            _write_split(folder, split, items, labels, meta)
    done.write_text(json.dumps({"version": FEATURES_VERSION, "corpus_dir": config.corpus_dir}))
    return processor


# --- step 2: training ----------------------------------------------------------------------------------------------


class KoemorphFeatureDataset(Dataset):
    """Items from a ``<split>.npz`` of step 1: normalised streams, labels, random crops (train) or whole clips.

    Item ``i`` at epoch ``e`` depends only on ``(seed, e, i)``, so a resumed run sees the same items.
    """

    def __init__(
        self,
        path: Path,
        processor: KoemorphProcessor,
        max_frames: int,
        seed: int,
        train: bool,
        speakers: list[str] | None = None,
        history_rate: float = 0.0,
        history_frames: int = 255,
    ):
        data = np.load(path)
        self.mel, self.grid, self.labels = data["mel"], data["grid"], data["labels"]
        self.lengths, self.samples = data["lengths"], data["samples"]
        self.emotion = data["emotion"]
        self.offsets = np.concatenate([[0], np.cumsum(self.lengths)])
        self.grid_offsets = np.concatenate([[0], np.cumsum(data["grid_lengths"])])
        self.processor, self.max_frames, self.seed, self.train = processor, max_frames, seed, train
        self.history_rate, self.history_frames = history_rate, history_frames
        self.same_speaker: dict[str, list[int]] = {}
        if speakers is not None:
            if len(speakers) != len(self.lengths):
                raise ValueError(
                    f"{len(speakers)} speaker ids for {len(self.lengths)} feature items in {path}"
                )
            for i, speaker in enumerate(speakers):
                if speaker:
                    self.same_speaker.setdefault(speaker, []).append(i)
        self.speakers = speakers
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.lengths)

    def mel_of(self, i: int) -> np.ndarray:
        """Clip ``i``'s cached log-mel, normalised by the processor."""
        return self.processor.normalize_mel(self.mel[self.offsets[i] : self.offsets[i + 1]])

    def history(self, i: int, rng: np.random.Generator) -> np.ndarray:
        """Normalised mel of 1-3 other utterances of clip ``i``'s talker, back to back (the far mel context)."""
        others = [j for j in self.same_speaker.get(self.speakers[i], []) if j != i] if self.speakers else []
        if not others or rng.random() >= self.history_rate:
            return np.zeros((0, self.mel.shape[1]), np.float32)
        picks = rng.choice(others, size=min(len(others), int(rng.integers(1, 4))), replace=False)
        return np.concatenate([self.mel_of(int(j)) for j in picks])[-self.history_frames :]

    def clip(self, i: int) -> dict[str, np.ndarray]:
        """The whole clip ``i``: ``input_features``, ``emotion_features``, ``labels``."""
        a, b = self.offsets[i], self.offsets[i + 1]
        mel = self.mel_of(i)
        out = {
            "input_features": mel,
            "labels": self.labels[a:b].astype(np.float32),
        }
        if self.processor.use_emotion_stream:
            grid = self.processor.normalize_egemaps(
                self.grid[self.grid_offsets[i] : self.grid_offsets[i + 1]]
            )
            out["emotion_features"] = self.processor.emotion_frames(grid, len(mel), int(self.samples[i]))
        return out

    def __getitem__(self, i: int) -> dict[str, np.ndarray]:
        item = self.clip(int(i))
        if not self.train:
            return item
        rng = np.random.default_rng([self.seed, self.epoch, int(i)])
        history = self.history(int(i), rng)
        n = len(item["labels"])
        if n > self.max_frames:
            start = crop_start(n, self.max_frames, "random", rng.integers(2**31))
            # The crop keeps what came before it as history: a mid-clip frame hears its past.
            history = np.concatenate([history, item["input_features"][:start]])[-self.history_frames :]
            item = {k: v[start : start + self.max_frames] for k, v in item.items()}
        item["history_features"] = history
        return item


def collate(items: list[dict]) -> dict[str, torch.Tensor]:
    """Right-pads the clip streams (with ``attention_mask``); left-pads the history (with ``history_mask``)."""
    keys = [k for k in ("input_features", "emotion_features", "labels") if k in items[0]]
    batch = SequenceCollator(sequence_keys=keys)([{k: item[k] for k in keys} for item in items])
    for key in keys:
        batch[key] = batch[key].float()
    if "history_features" in items[0]:
        h = max(len(item["history_features"]) for item in items)
        if h:
            width = items[0]["input_features"].shape[-1]
            history = torch.zeros(len(items), h, width)
            mask = torch.zeros(len(items), h, dtype=torch.long)
            for i, item in enumerate(items):
                n = len(item["history_features"])
                if n:
                    history[i, h - n :] = torch.as_tensor(item["history_features"])
                    mask[i, h - n :] = 1
            batch["history_features"], batch["history_mask"] = history, mask
    return batch


def train_speakers(config: KoemorphTrainConfig) -> list[str]:
    """Talker id of every training feature item, in :func:`compute_features`' order ("" for the noise clips)."""
    from avzoo.synth.corpus import load_corpus

    ds = load_corpus(config.corpus_dir)["train"]
    if config.max_train_utterances:
        ds = ds.select(range(min(config.max_train_utterances, len(ds))))
    speakers = [f"{config.corpus_dir}:{s}" for s in ds["speaker_id"]]
    for folder, repeat in config.extra_corpus_dirs.items():
        speakers += [f"{folder}:{s}" for s in load_corpus(folder)["train"]["speaker_id"]] * int(repeat)
    return speakers + [""] * config.silence_items


def build(config: KoemorphTrainConfig):
    """Model (with its loss head), processor and the two datasets."""
    feature_processor = compute_features(config)
    if config.init_from:
        model = KoemorphForBlendshapeRegression.from_pretrained(config.init_from, use_safetensors=True)
    else:
        model = KoemorphForBlendshapeRegression(KoemorphConfig(**config.model))
    processor = KoemorphProcessor.for_config(
        model.config,
        **{
            k: v
            for k, v in feature_processor.to_dict().items()
            if k in ("mel_mean", "mel_std", "egemaps_mean", "egemaps_std", "egemaps_clip")
        },
    )
    folder = config.features_path
    train_ds = KoemorphFeatureDataset(
        folder / "train.npz",
        processor,
        config.max_frames,
        config.seed,
        True,
        speakers=train_speakers(config),
        history_rate=config.history_rate,
        history_frames=model.config.mel_context_frames - 1,
    )
    val_ds = KoemorphFeatureDataset(
        folder / "validation.npz", processor, config.max_frames, config.seed, False
    )
    return model, processor, train_ds, val_ds


def main(argv: list[str] | None = None):
    config = KoemorphTrainConfig.from_cli(sys.argv[1:] if argv is None else argv)
    model, processor, train_ds, val_ds = build(config)
    weights = config.loss_weights()

    def compute_loss(model, batch, state):
        return model(
            batch["input_features"],
            batch.get("emotion_features"),
            attention_mask=batch["attention_mask"],
            labels=batch["labels"],
            loss_weights=weights,
            history_features=batch.get("history_features"),
            history_mask=batch.get("history_mask"),
        ).loss

    def compute_metrics(model, batch, state):
        pred = model(
            batch["input_features"], batch.get("emotion_features"), attention_mask=batch["attention_mask"]
        )
        mask = batch["attention_mask"].unsqueeze(-1).float()
        cfg = getattr(model, "module", model).config
        err = (pred.blendshapes - batch["labels"]).abs() * mask
        out = {}
        for name, channels in (("lipsync", cfg.lipsync_channels), ("expression", cfg.expression_channels)):
            idx = cfg.channel_indices(channels)
            out[f"{name}_mae"] = err[..., idx].sum((1, 2)) / (mask.sum((1, 2)) * len(idx))
        return out

    keep = KeepProcessor(processor, config.output_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        result = train(
            model, train_ds, val_ds, config, collate, compute_loss, compute_metrics, callbacks=[keep]
        )
    keep.write()
    return result


if __name__ == "__main__":
    main()
