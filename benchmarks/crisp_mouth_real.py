"""crisp_mouth on real speech: lip closures and tongueOut of the raw and the filtered track, loud vs neutral.

Real clips (evaluation use only): RAVDESS angry, strong intensity (``03-01-05-02-*``: emotion 05 = angry,
intensity 02 = strong) -- loud emotional speech -- and a few neutral LibriSpeech read-speech clips. Every clip goes
the pipeline's way (``processor`` → ``model`` → ``processor.post_process_blendshapes``; checked against
``pipeline("audio-to-blendshapes")`` on the first clip), keeping the model's ``phone_logits`` for the tongue gate.

Tracks compared per clip:

* ``raw``: ``post_process_blendshapes(..., crisp_mouth=False)``;
* ``offline_plain`` / ``offline``: the processor's calibrated offline filter without / with ``keep_closures``
  (the raw frames' closures kept; ``offline`` is what ``crisp_mouth=True`` gives);
* ``stream_plain`` / ``stream``: the processor's streaming filter (``crisp_mouth_streamer()``), same two ways;
* ``raw_tongue`` / ``offline_tongue`` / ``stream_tongue``: the track with :func:`gate_tongue` on the model's phone
  posteriors (look-around 2 frames; causal, ``lookahead=0``, for the stream); ``offline_tongue_level``: the
  level rule (no posteriors);
* ``as_wired``: ``post_process_blendshapes(model_outputs, crisp_mouth=True)`` given the whole output object, i.e.
  whatever the processor does today (equal to ``offline`` until it applies the tongue gate itself).

Numbers per group (pooled frames):

* closures per second by the lip gap: lips nearly shut when ``max(jawOpen - mouthClose, 0) <
  LIP_GAP_CLOSED`` (``avzoo.evaluation.real_takes``, 0.05); a closure is an entry into that state lasting >= 2
  frames. Per second of audio (``closures_per_s``) and per second of speech time with the closure touching speech
  (``speech_closures_per_s``; pauses as in ``avzoo.evaluation.real_voices``);
* the real-voice evaluation's closure events per second of speech (``lip_state`` closures: closure score >= 0.2
  and lip gap < 0.1; ``real_voices.pool_stats``), which ``avzoo evaluate av-lipsync`` reports;
* ``raw_shut_frames_kept``: the share of frames shut in the raw track (by each rule) still shut after filtering;
  ``clips_losing_every_closure``: clips with closures in speech in the raw track and none in this one;
* tongueOut p95, p99 and max, and the share of frames above 0.05.

With ``--corpus`` (the synthetic corpus, built by ``avzoo synth corpus``) its test split is predicted the same
way and scored against the labels: tongueOut MAE and r, the mean tongue on dental frames (label tongueOut > 0.1)
and elsewhere, and the share of label /th/ peaks (runs of label tongueOut > 0.2) whose prediction reaches half the
label's peak; plus the mouth metrics of ``avzoo.release.crisp_mouth_calibration.metrics`` (speech MAE, closure and
open accuracy, jitter) so the closure rule's cost on synthetic speech shows.

Usage:
    python benchmarks/crisp_mouth_real.py [--librispeech-clips 8] [--corpus /work/runs/corpus-v2]
        [--synthetic-utterances 400] [--out benchmarks/results/crisp_mouth_real.json]
"""

from __future__ import annotations

import argparse
import glob
import json
import platform
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import avzoo  # noqa: E402,F401  (registers the pipeline task)
from avzoo import arkit  # noqa: E402
from avzoo.evaluation.real_takes import LIP_GAP_CLOSED  # noqa: E402
from avzoo.evaluation.real_voices import pool_stats, runs, track_audio_stats  # noqa: E402
from avzoo.io.audio import load_audio  # noqa: E402
from avzoo.metrics.functional.blendshape import lip_aperture, lip_state  # noqa: E402
from avzoo.models.av_lipsync.tongue_gate import gate_tongue  # noqa: E402
from avzoo.pretrained import load  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "real-speech"
RAVDESS_GLOB = str(DATA / "ravdess" / "Actor_*" / "03-01-05-02-*.flac")
LIBRISPEECH = DATA / "librispeech" / "train-clean-100"
MIN_CLOSURE_FRAMES = 2
TONGUE = arkit.INDEX["tongueOut"]
#: Label tongueOut above which a synthetic frame is a dental (/th/ /dh/ peak 0.45; /l/ is 0.08).
DENTAL_LABEL = 0.1
#: Label tongueOut above which a run is a /th/ peak (recall: the prediction reaches half the label's peak).
PEAK_LABEL = 0.2


def shut_frames(track: np.ndarray) -> np.ndarray:
    """Frames whose lips are nearly shut by the lip gap rule."""
    return lip_aperture(track) < LIP_GAP_CLOSED


def closures(shut: np.ndarray, speech_time: np.ndarray | None = None) -> int:
    """Entries into the shut state lasting >= MIN_CLOSURE_FRAMES (touching speech time when given)."""
    return sum(
        1
        for a, b in runs(shut)
        if b - a >= MIN_CLOSURE_FRAMES and (speech_time is None or speech_time[a:b].any())
    )


class Model:
    """The pipeline's path with the model outputs kept: processor → model → outputs."""

    def __init__(self, source: str):
        self.model, self.processor = load(source)
        self.vocab = list(self.model.config.phone_labels_vocab)

    def outputs(
        self, audios: Sequence[np.ndarray], labels: dict[str, list] | None = None, batch_size: int = 8
    ) -> list[dict]:
        """Per clip: its ``blendshapes`` (1, T, 52), ``phone_logits`` (T, V) and the output object cut to it."""
        proc, order, out = self.processor, sorted(range(len(audios)), key=lambda i: -len(audios[i])), {}
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                options = {k: [v[i] for i in idx] for k, v in (labels or {}).items()}
                batch = proc(
                    [audios[i] for i in idx],
                    sampling_rate=proc.sampling_rate,
                    return_tensors="pt",
                    padding="longest",
                    **options,
                )
                res = self.model(**batch)
                lengths = batch["attention_mask"].sum(-1).tolist()
                for j, i in enumerate(idx):
                    n = int(lengths[j])
                    out[i] = {
                        "blendshapes": res.blendshapes[j : j + 1, :n],
                        "phone_logits": res.phone_logits[j, :n].float().numpy(),
                        "output": type(res)(**{k: v[j : j + 1, :n] for k, v in res.items() if v is not None}),
                    }
        return [out[i] for i in range(len(audios))]

    def variants(self, item: dict) -> dict[str, np.ndarray]:
        proc = self.processor
        post = proc.post_process_blendshapes
        raw = post(item["blendshapes"], crisp_mouth=False)[0]
        offline = post(item["blendshapes"], crisp_mouth=True)[0]
        stream = np.clip(proc.crisp_mouth_streamer()(raw), 0, 1)
        logits = item["phone_logits"]
        return {
            "raw": raw,
            "offline_plain": post(item["blendshapes"], crisp_mouth={"keep_closures": False})[0],
            "offline": offline,
            "stream_plain": np.clip(proc.crisp_mouth_streamer(keep_closures=False)(raw), 0, 1),
            "stream": stream,
            "raw_tongue": gate_tongue(raw, phone_logits=logits, phone_vocab=self.vocab),
            "offline_tongue": gate_tongue(offline, phone_logits=logits, phone_vocab=self.vocab),
            "offline_tongue_level": gate_tongue(offline),
            "stream_tongue": gate_tongue(stream, phone_logits=logits, phone_vocab=self.vocab, lookahead=0),
            "as_wired": post(item["output"], crisp_mouth=True)[0],
        }


def _r(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), 4)


def real_group(model: Model, files: Sequence[str], batch_size: int) -> dict[str, Any]:
    audios = [load_audio(f, model.processor.sampling_rate) for f in files]
    items = model.outputs(audios, batch_size=batch_size)
    fps, rate = float(model.processor.fps), model.processor.sampling_rate
    tracks: dict[str, list[np.ndarray]] = {}
    stats: dict[str, list[dict]] = {}
    counts: dict[str, np.ndarray] = {}
    raw_shut = []
    raw_closed = []
    for audio, item in zip(audios, items, strict=True):
        variants = model.variants(item)
        raw = variants["raw"]
        raw_shut.append(shut_frames(raw))
        raw_closed.append(lip_state(raw)[0])
        for name, track in variants.items():
            s = track_audio_stats(track, audio, sampling_rate=rate, fps=fps)
            shut = shut_frames(track)
            c = counts.setdefault(name, np.zeros(6))
            events = closures(shut, s["_speech_time"])
            if name == "raw":
                raw_events = (events, s["closure_events"])
            c += [
                closures(shut),
                events,
                (shut & raw_shut[-1]).sum(),
                (lip_state(track)[0] & raw_closed[-1]).sum(),
                raw_events[0] > 0 and events == 0,
                raw_events[1] > 0 and s["closure_events"] == 0,
            ]
            tracks.setdefault(name, []).append(track)
            stats.setdefault(name, []).append(s)
    seconds = sum(len(t) for t in tracks["raw"]) / fps
    n_shut, n_closed = sum(m.sum() for m in raw_shut), sum(m.sum() for m in raw_closed)
    out: dict[str, Any] = {"clips": len(files), "seconds": round(seconds, 2)}
    for name, c in counts.items():
        pooled = pool_stats(stats[name], tracks[name])
        tongue = np.concatenate([t[:, TONGUE] for t in tracks[name]])
        out[name] = {
            "closures_per_s": _r(c[0] / seconds),
            "speech_closures_per_s": _r(c[1] / pooled["speech_seconds"]),
            "lip_state_closures_per_speech_s": _r(pooled["closures_per_second"]),
            "raw_shut_frames_kept": {
                "lip_gap": _r(c[2] / max(n_shut, 1)),
                "lip_state": _r(c[3] / max(n_closed, 1)),
            },
            "clips_losing_every_closure": {"lip_gap": int(c[4]), "lip_state": int(c[5])},
            "tongue_p95": _r(np.percentile(tongue, 95)),
            "tongue_p99": _r(np.percentile(tongue, 99)),
            "tongue_max": _r(tongue.max()),
            "tongue_frames_above_0.05": _r((tongue > 0.05).mean()),
        }
    out["speech_seconds"] = round(pool_stats(stats["raw"], tracks["raw"])["speech_seconds"], 2)
    return out


def tongue_scores(preds: Sequence[np.ndarray], refs: Sequence[np.ndarray]) -> dict[str, Any]:
    p = np.concatenate([x[:, TONGUE] for x in preds]).astype(np.float64)
    r = np.concatenate([x[:, TONGUE] for x in refs]).astype(np.float64)
    dental = r > DENTAL_LABEL
    hit = total = 0
    for pred, ref in zip(preds, refs, strict=True):
        for a, b in runs(ref[:, TONGUE] > PEAK_LABEL):
            total += 1
            lo, hi = max(a - 1, 0), min(b + 1, len(ref))
            hit += pred[lo:hi, TONGUE].max() >= 0.5 * ref[a:b, TONGUE].max()
    return {
        "tongue_mae": _r(np.abs(p - r).mean()),
        "tongue_pearson": _r(np.corrcoef(p, r)[0, 1]),
        "dental_frames": int(dental.sum()),
        "tongue_mean_dental": {"prediction": _r(p[dental].mean()), "label": _r(r[dental].mean())},
        "tongue_mean_elsewhere": {"prediction": _r(p[~dental].mean()), "label": _r(r[~dental].mean())},
        "tongue_p95_elsewhere": _r(np.percentile(p[~dental], 95)),
        "th_peaks": total,
        "th_peak_recall": _r(hit / total if total else float("nan")),
    }


def synthetic(model: Model, corpus: str, limit: int, batch_size: int) -> dict[str, Any]:
    from avzoo.evaluation.rows import emotion_label, intensity_label, load_test_rows
    from avzoo.release.crisp_mouth_calibration import metrics
    from avzoo.synth.corpus import load_corpus

    ds = load_corpus(corpus)["test"]
    ds = ds.select(range(min(limit, len(ds))))
    rows = load_test_rows(ds, float(model.processor.fps))
    labels = {
        "emotion": [emotion_label(r["emotion"]) for r in rows],
        "intensity": [intensity_label(r["intensity"]) for r in rows],
    }
    items = model.outputs([r["audio"] for r in rows], labels, batch_size=batch_size)
    refs = [r["reference"] for r in rows]
    variants: dict[str, list[np.ndarray]] = {}
    for ref, item in zip(refs, items, strict=True):
        for name, track in model.variants(item).items():
            n = min(len(track), len(ref))
            track = (
                track[:n]
                if len(track) >= len(ref)
                else np.concatenate([track, track[-1:].repeat(len(ref) - n, 0)])
            )
            variants.setdefault(name, []).append(track)
    out: dict[str, Any] = {"corpus": corpus, "split": "test", "utterances": len(rows)}
    keep: Callable[[str], bool] = lambda name: name != "as_wired"  # noqa: E731
    for name, preds in variants.items():
        if keep(name):
            out[name] = {**tongue_scores(preds, refs), **{k: _r(v) for k, v in metrics(preds, refs).items()}}
    out["label"] = tongue_scores(refs, refs)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="avzoo/av-lipsync")
    parser.add_argument("--ravdess", default=RAVDESS_GLOB, help="glob of the loud clips")
    parser.add_argument("--librispeech", type=Path, default=LIBRISPEECH)
    parser.add_argument("--librispeech-clips", type=int, default=8)
    parser.add_argument(
        "--corpus", default=None, help="synthetic corpus folder: score tongueOut on its test split"
    )
    parser.add_argument("--synthetic-utterances", type=int, default=400)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "crisp_mouth_real.json")
    args = parser.parse_args()
    start = time.perf_counter()
    model = Model(args.model)
    loud = sorted(glob.glob(args.ravdess))
    neutral = sorted(glob.glob(str(args.librispeech / "*.flac")))[: args.librispeech_clips]
    if not loud:
        parser.error(f"no clips match {args.ravdess}")

    # The path above is the pipeline's: check it on one clip.
    from transformers import pipeline

    animate = pipeline("audio-to-blendshapes", model=args.model, model_kwargs={"use_safetensors": True})
    audio = load_audio(loud[0], model.processor.sampling_rate)
    item = model.outputs([audio])[0]
    ours = model.variants(item)
    check = max(
        float(np.abs(animate(loud[0], crisp_mouth=flag)["blendshapes"] - ours[name]).max())
        for flag, name in ((False, "raw"), (True, "offline"))
    )

    result: dict[str, Any] = {
        "benchmark": "crisp_mouth_real",
        "machine": {"platform": platform.platform(), "note": "shared machine"},
        "model": args.model,
        "closure_rule": {
            "lip_gap_closed": LIP_GAP_CLOSED,
            "min_frames": MIN_CLOSURE_FRAMES,
            "lip_state": "closure score >= 0.2 and lip gap < 0.1 (avzoo.metrics lip_state), events in speech",
        },
        "pipeline_max_abs_difference": check,
        "filter_params": {
            "offline": model.processor.crisp_mouth_offline,
            "stream_alpha": model.processor.crisp_mouth_stream["alpha"],
        },
        "ravdess_angry_strong": {"glob": args.ravdess, **real_group(model, loud, args.batch_size)},
        "librispeech_neutral": {
            "folder": str(args.librispeech),
            **real_group(model, neutral, args.batch_size),
        },
    }
    if args.corpus:
        result["synthetic_test"] = synthetic(model, args.corpus, args.synthetic_utterances, args.batch_size)
    result["seconds"] = round(time.perf_counter() - start, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=float) + "\n")

    print(f"pipeline check: max |difference| {check:.2e}")
    head = (
        f"{'':22s} {'clos/s':>7s} {'speech':>7s} {'lipstate':>8s} {'kept':>6s} {'lost':>5s} "
        f"{'t p95':>6s} {'t max':>6s}"
    )
    for group in ("ravdess_angry_strong", "librispeech_neutral"):
        g = result[group]
        print(f"{group}: {g['clips']} clips, {g['seconds']} s")
        print(head)
        for name in ours:
            m = g[name]
            print(
                f"{name:22s} {m['closures_per_s']:7.3f} {m['speech_closures_per_s']:7.3f} "
                f"{m['lip_state_closures_per_speech_s']:8.3f} {m['raw_shut_frames_kept']['lip_gap']:6.3f} "
                f"{m['clips_losing_every_closure']['lip_state']:5d} "
                f"{m['tongue_p95']:6.3f} {m['tongue_max']:6.3f}"
            )
    if args.corpus:
        s = result["synthetic_test"]
        print(
            f"synthetic test ({s['utterances']} utterances): tongue MAE, r, dental mean (label), recall; closure acc"
        )
        for name in [k for k in s if isinstance(s[k], dict) and "tongue_mae" in s[k]]:
            m = s[name]
            print(
                f"{name:22s} {m['tongue_mae']:.4f} {m['tongue_pearson']} {m['tongue_mean_dental']['prediction']} "
                f"({m['tongue_mean_dental']['label']}) {m['th_peak_recall']} {m.get('lip_closure_accuracy')}"
            )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
