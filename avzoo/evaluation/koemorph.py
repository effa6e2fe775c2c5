"""Evaluation of koemorph: the held-out synthetic test split, the mel-only ablation, av-lipsync side by side, and
real speech (the t2a-mandarin captures and RAVDESS emotional speech).

Every system runs on the one inference path of its family (processor → model → ``post_process_blendshapes``,
:mod:`avzoo.evaluation.inference`), on the same test rows, in the same run:

* **koemorph** (dual stream) and its **mel-only ablation** (``--ablation``, a model trained with
  ``use_emotion_stream=false`` on the same features and steps), with no condition: they hear the emotion;
* **av-lipsync** (the bundled checkpoint, streaming mode: koemorph's latency class) given the true emotion
  (``oracle``) and given nothing (``neutral``);
* the **mean-pose** and **rms-jaw** baselines fitted on the train split.

Reported per system (:func:`score_system`): lipsync-group and expression-group MAE (``avzoo.arkit`` groups), the
expression group without blinks and gaze (which the corpus draws at random, so no model can predict them), the
per-channel Pearson r, and **emotion fidelity**: the accuracy of a fixed classifier
(:class:`avzoo.evaluation.emotion_probe.EmotionProbe`, fitted on the train split's reference tracks) on the
system's tracks, beside its accuracy on the references (the ceiling).

Real speech: each t2a take is scored against the capture as ``avzoo evaluate av-lipsync --take`` does
(:func:`avzoo.evaluation.real_takes.evaluate_take`), for koemorph and av-lipsync; RAVDESS clips (acted emotions,
two fixed sentences, so only the voice differs) go through koemorph and the probe reads the emotion off its
brows, cheeks and mouth corners: accuracy per emotion, against chance, with a binomial test.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from avzoo import arkit
from avzoo.emotions import RAVDESS_EMOTIONS
from avzoo.evaluation.baselines import fit_baselines
from avzoo.evaluation.emotion_probe import EmotionProbe
from avzoo.evaluation.inference import load_model, predict_blendshapes
from avzoo.evaluation.real_voices import default_shared_data, jsonable
from avzoo.evaluation.report import metric, write_json
from avzoo.evaluation.rows import emotion_label, load_corpus_splits, load_test_rows, predict_rows, rows_fps
from avzoo.evaluation.scoring import summarize
from avzoo.metrics.functional.blendshape import blendshape_errors

TASK = {"type": "audio-to-blendshapes", "name": "Speech to ARKit blendshapes"}
DATASET = {"name": "avzoo-synth", "type": "avzoo/synth", "split": "test (held-out speakers and sentences)"}
DEFAULT_MODEL_ID = "avzoo/koemorph"
REFERENCE_MODEL_ID = "avzoo/av-lipsync"
#: Expression channels a voice can drive: the expression group without blinks and gaze.
EMOTIVE = tuple(n for n in arkit.EXPRESSION if n not in arkit.BLINKS and n not in arkit.GAZE)
#: The issue's bars.
THRESHOLDS = {
    "expression_mae_max": 0.03,
    "lipsync_mae_vs_av_lipsync_streaming_max": 1.10,
    "rtf_max": 0.05,
}
T2A_TAKES = ("a8", "a10", "A1")
T2A_FPS = 25.0


def _group_mae(errors: Mapping[str, Any], names: Sequence[str]) -> float:
    values = [errors["mae_per_channel"][n] for n in names if n in errors["mae_per_channel"]]
    return float(np.mean(values)) if values else float("nan")


def score_system(
    tracks: Sequence[np.ndarray], rows: Sequence[Mapping[str, Any]], probe: EmotionProbe | None
) -> dict[str, Any]:
    """The numbers of one system on the test rows (see the module docstring)."""
    errors = blendshape_errors(
        list(tracks),
        [r["reference"] for r in rows],
        fps=rows_fps(rows),
        lips_closed=[r["lips_closed"] for r in rows],
    )
    out = summarize(errors)
    out["expression_mae"] = errors["mae_per_group"]["expression"]
    out["emotive_mae"] = _group_mae(errors, EMOTIVE)
    out["pearson_per_channel"] = errors["pearson_per_channel"]
    out["mae_per_channel"] = errors["mae_per_channel"]
    if probe is not None:
        out["emotion_fidelity"] = probe.score(tracks, [emotion_label(r["emotion"]) for r in rows])
    return jsonable(out)


def fit_probe(train_split: Any) -> EmotionProbe:
    """The fixed emotion classifier, fitted on a split's reference tracks and emotion labels."""
    data = train_split.select_columns(["blendshapes", "emotion"])
    names = data.features["emotion"].names
    tracks, emotions = [], []
    for row in data.with_format("numpy"):
        tracks.append(np.asarray(row["blendshapes"], np.float32))
        emotions.append(names[int(row["emotion"])])
    return EmotionProbe(RAVDESS_EMOTIONS).fit(tracks, emotions)


def evaluate_synthetic(
    systems: Mapping[str, tuple[Any, Any, dict[str, Any]]],
    rows: list[dict[str, Any]],
    probe: EmotionProbe,
    baselines: Mapping[str, Any] | None = None,
    batch_size: int = 8,
) -> dict[str, Any]:
    """``{name: score_system(...)}`` for ``systems`` ``{name: (model, processor, predict_rows options)}`` and the
    baselines, plus the probe's accuracy on the references and the seconds each system took."""
    scores: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    for name, (model, processor, options) in systems.items():
        start = time.perf_counter()
        tracks = predict_rows(model, processor, rows, batch_size=batch_size, **options)
        seconds[name] = time.perf_counter() - start
        scores[name] = score_system(tracks, rows, probe)
    for name, baseline in (baselines or {}).items():
        tracks = [baseline.predict(r["audio"], len(r["reference"])) for r in rows]
        scores[f"baseline_{name}"] = score_system(tracks, rows, probe)
    scores["reference"] = {
        "emotion_fidelity": probe.score(
            [r["reference"] for r in rows], [emotion_label(r["emotion"]) for r in rows]
        )
    }
    return {"systems": scores, "seconds": seconds}


def ravdess_clips(root: str | Path) -> dict[str, Any]:
    """RAVDESS audio-only speech under ``root``, decoded once: ``{"audios", "emotions", "actors"}``."""
    from avzoo.data.ravdess import load_ravdess
    from avzoo.evaluation.baselines import audio_array

    data = load_ravdess(root, modality="audio")
    names = data.features["emotion"].names
    return {
        "audios": [audio_array(a) for a in data["audio"]],
        "emotions": [names[int(e)] for e in data["emotion"]],
        "actors": sorted({int(a) for a in data["actor"]}),
    }


def ravdess_report(
    model: Any, processor: Any, probe: EmotionProbe, clips: Mapping[str, Any], batch_size: int = 8
) -> dict[str, Any]:
    """The probe's reading of the model's tracks on RAVDESS ``clips`` (:func:`ravdess_clips`): accuracy per
    emotion, chance, binomial p."""
    from scipy.stats import binomtest

    audios, emotions = clips["audios"], clips["emotions"]
    start = time.perf_counter()
    tracks = predict_blendshapes(model, processor, audios, batch_size=batch_size, sampling_rate=16000)
    seconds = time.perf_counter() - start
    score = probe.score(tracks, emotions)
    hits = round(score["accuracy"] * len(emotions))
    chance = score["chance_majority"]
    score["binomial_p_vs_majority"] = float(
        binomtest(hits, len(emotions), chance, alternative="greater").pvalue
    )
    score["actors"] = list(clips["actors"])
    score["seconds"] = seconds
    score["audio_seconds"] = float(sum(len(a) for a in audios) / 16000)
    return score


def takes_report(models: Mapping[str, tuple[str, dict[str, Any]]], folder: str | Path) -> dict[str, Any]:
    """``{take: {system: evaluate_take(...) summary}}`` for the t2a takes in ``folder``."""
    from avzoo.evaluation.real_takes import evaluate_take

    out: dict[str, Any] = {}
    for take in T2A_TAKES:
        csv, wav = Path(folder) / f"{take}.csv", Path(folder) / f"{take}.wav"
        if not (csv.exists() and wav.exists()):
            continue
        out[take] = {}
        for name, (model, options) in models.items():
            result = evaluate_take(csv, wav, model, take_fps=T2A_FPS, **options)
            jaw = result.get("jaw_open", {})
            out[take][name] = {
                "jaw_open": jaw,
                "lipsync_mae": result.get("lipsync_mae"),
                "lips_nearly_shut": result.get("lips_nearly_shut"),
                "channels": {
                    n: v["r"]
                    for n, v in result["channels"].items()
                    if n in arkit.EXPRESSION or n in arkit.SHARED or n == "jawOpen"
                },
            }
    return out


def _metrics(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    systems = result["extra"]["synthetic"]["systems"]
    km = systems["koemorph"]
    out = [
        metric("mae", "Lipsync-group MAE", km["lipsync_mae"], "lipsync"),
        metric("mae", "Expression-group MAE", km["expression_mae"], "expression"),
        metric("mae", "Expression MAE without blinks and gaze", km["emotive_mae"], "emotive"),
        metric("pearsonr", "jawOpen Pearson r", km["jaw_open_pearson"], "jawOpen"),
        metric(
            "accuracy", "Emotion fidelity (probe accuracy)", km["emotion_fidelity"]["accuracy"], "emotion"
        ),
        metric(
            "accuracy",
            "Emotion fidelity of the reference tracks (ceiling)",
            systems["reference"]["emotion_fidelity"]["accuracy"],
            "emotion/reference",
        ),
    ]
    for name in (
        "mel_only",
        "av_lipsync_streaming_oracle",
        "av_lipsync_streaming_neutral",
        "baseline_mean_pose",
    ):
        if name in systems:
            out.append(
                metric("mae", f"{name}: lipsync-group MAE", systems[name]["lipsync_mae"], f"lipsync/{name}")
            )
            out.append(
                metric(
                    "mae",
                    f"{name}: expression-group MAE",
                    systems[name]["expression_mae"],
                    f"expression/{name}",
                )
            )
            if "emotion_fidelity" in systems[name]:
                out.append(
                    metric(
                        "accuracy",
                        f"{name}: emotion fidelity",
                        systems[name]["emotion_fidelity"]["accuracy"],
                        f"emotion/{name}",
                    )
                )
    ravdess = result["extra"].get("ravdess", {}).get("koemorph")
    if ravdess:
        out.append(
            metric("accuracy", "RAVDESS: emotion fidelity (probe accuracy)", ravdess["accuracy"], "ravdess")
        )
    return [m for m in out if m is not None]


def check_bars(result: Mapping[str, Any]) -> dict[str, Any]:
    """Pass/fail of the issue's synthetic and real bars that this evaluation measures (speed: the benchmark)."""
    systems = result["synthetic"]["systems"]
    km = systems["koemorph"]
    bars: dict[str, Any] = {
        "expression_mae": {"value": km["expression_mae"], "max": THRESHOLDS["expression_mae_max"]},
    }
    bars["expression_mae"]["pass"] = km["expression_mae"] <= THRESHOLDS["expression_mae_max"]
    ref = systems.get("av_lipsync_streaming_oracle")
    if ref:
        ratio = km["lipsync_mae"] / ref["lipsync_mae"]
        bars["lipsync_vs_av_lipsync"] = {
            "ratio": ratio,
            "max": THRESHOLDS["lipsync_mae_vs_av_lipsync_streaming_max"],
            "pass": ratio <= THRESHOLDS["lipsync_mae_vs_av_lipsync_streaming_max"],
        }
    mel = systems.get("mel_only")
    if mel:
        bars["dual_beats_mel_only"] = {
            "expression_mae": [km["expression_mae"], mel["expression_mae"]],
            "emotive_mae": [km["emotive_mae"], mel["emotive_mae"]],
            "emotion_fidelity": [km["emotion_fidelity"]["accuracy"], mel["emotion_fidelity"]["accuracy"]],
            "pass": km["expression_mae"] < mel["expression_mae"]
            and km["emotion_fidelity"]["accuracy"] > mel["emotion_fidelity"]["accuracy"],
        }
    ravdess = result.get("ravdess", {}).get("koemorph")
    if ravdess:
        bars["ravdess_above_chance"] = {
            "accuracy": ravdess["accuracy"],
            "chance_majority": ravdess["chance_majority"],
            "binomial_p": ravdess["binomial_p_vs_majority"],
            "pass": ravdess["binomial_p_vs_majority"] < 0.01
            and ravdess["accuracy"] >= ravdess["chance_majority"] + 0.05,
        }
    return bars


def information_balance(config: Any) -> dict[str, Any]:
    """Values per frame that each stream feeds the model (the design's 20,720 mel vs 264 eGeMAPS)."""
    mel = config.n_mels * config.mel_window
    emotion = config.emotion_input_dim if config.use_emotion_stream else 0
    return {
        "mel_values": mel,
        "emotion_values": emotion,
        "emotion_compressed": config.emotion_dim if config.use_emotion_stream else 0,
        "mel_to_emotion": mel / emotion if emotion else None,
        "emotion_share": emotion / (mel + emotion),
    }


def format_summary(result: Mapping[str, Any]) -> str:
    systems = result["extra"]["synthetic"]["systems"]
    lines = [
        f"{'system':34s} {'lipsync MAE':>11s} {'expr MAE':>9s} {'emotive':>8s} {'jaw r':>6s} {'emotion acc':>11s}"
    ]
    for name, s in systems.items():
        if "lipsync_mae" not in s:
            continue
        acc = s.get("emotion_fidelity", {}).get("accuracy")
        jaw = s.get("jaw_open_pearson")
        lines.append(
            f"{name:34s} {s['lipsync_mae']:11.4f} {s['expression_mae']:9.4f} {s['emotive_mae']:8.4f} "
            f"{'' if jaw is None else f'{jaw:6.3f}':>6s} {'' if acc is None else f'{acc:11.3f}':>11s}"
        )
    ref = systems["reference"]["emotion_fidelity"]["accuracy"]
    lines.append(f"{'reference tracks (probe ceiling)':34s} {'':11s} {'':9s} {'':8s} {'':6s} {ref:11.3f}")
    ravdess = result["extra"].get("ravdess", {})
    for name, r in ravdess.items():
        per = ", ".join(f"{e} {v:.2f}" for e, v in r["per_emotion"].items())
        lines.append(
            f"RAVDESS {name}: accuracy {r['accuracy']:.3f} (majority chance {r['chance_majority']:.3f}, "
            f"p={r['binomial_p_vs_majority']:.2g}); {per}"
        )
    for bar, v in result["extra"]["bars"].items():
        lines.append(f"bar {bar}: {'PASS' if v['pass'] else 'FAIL'}")
    return "\n".join(lines)


def run_evaluation(args: argparse.Namespace) -> dict[str, Any]:
    """The whole job behind ``avzoo evaluate koemorph`` (see :func:`main`)."""
    start = time.perf_counter()
    model, processor = load_model(args.model)
    corpus = load_corpus_splits(args.corpus)
    test = corpus["test"]
    if args.limit:
        test = test.select(range(min(args.limit, len(test))))
    rows = load_test_rows(test)
    probe = fit_probe(corpus["train"])
    systems: dict[str, tuple[Any, Any, dict[str, Any]]] = {
        "koemorph": (model, processor, {"condition_mode": "neutral"})
    }
    if args.ablation:
        mel_model, mel_processor = load_model(args.ablation)
        systems["mel_only"] = (mel_model, mel_processor, {"condition_mode": "neutral"})
    if args.reference != "none":
        ref_model, ref_processor = load_model(args.reference)
        for condition in ("oracle", "neutral"):
            systems[f"av_lipsync_streaming_{condition}"] = (
                ref_model,
                ref_processor,
                {"condition_mode": condition, "mode": "streaming"},
            )
    baselines = fit_baselines(corpus["train"]) if not args.no_baselines else None
    synthetic = evaluate_synthetic(systems, rows, probe, baselines, args.batch_size)
    extra: dict[str, Any] = {
        "command": args.command,
        "corpus": str(args.corpus),
        "num_utterances": len(rows),
        "num_frames": int(sum(len(r["reference"]) for r in rows)),
        "synthetic": synthetic,
        "probe": probe.to_dict(),
        "emotive_channels": list(EMOTIVE),
        "information_balance": information_balance(model.config),
        "thresholds": THRESHOLDS,
        "models": {
            "koemorph": str(args.model),
            "mel_only": str(args.ablation),
            "av_lipsync": str(args.reference),
        },
        "lookahead_ms": model.config.lookahead_ms,
        "num_parameters": int(sum(p.numel() for p in model.parameters())),
    }
    shared = Path(args.shared_data) if args.shared_data else default_shared_data()
    if shared is not None and not args.no_real:
        ravdess_root = shared / "real-speech" / "ravdess"
        if ravdess_root.is_dir():
            clips = ravdess_clips(ravdess_root)
            extra["ravdess"] = {
                name: ravdess_report(systems[name][0], systems[name][1], probe, clips, args.batch_size)
                for name in ("koemorph", "mel_only")
                if name in systems
            }
        t2a = shared / "arkit-real" / "t2a-mandarin"
        if t2a.is_dir():
            models = {"koemorph": (str(args.model), {})}
            if args.reference != "none":
                models["av_lipsync_offline"] = (str(args.reference), {})
                models["av_lipsync_streaming"] = (str(args.reference), {"mode": "streaming"})
            extra["t2a_takes"] = takes_report(models, t2a)
    extra["bars"] = check_bars(extra)
    extra["seconds"] = time.perf_counter() - start
    result = {
        "model": str(args.model),
        "task": TASK,
        "dataset": {**DATASET, "path": str(args.corpus)},
        "extra": extra,
    }
    result["metrics"] = _metrics(result)
    return result


def main(argv: Sequence[str] | None = None, prog: str = "avzoo evaluate koemorph") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=DEFAULT_MODEL_ID, help="model folder or Hub id (default: bundled)")
    parser.add_argument(
        "--ablation", help="the mel-only model folder (trained with use_emotion_stream=false)"
    )
    parser.add_argument(
        "--reference", default=REFERENCE_MODEL_ID, help="av-lipsync model to compare with ('none' to skip)"
    )
    parser.add_argument("--corpus", required=True, help="a corpus folder built by avzoo.synth.corpus")
    parser.add_argument("--shared-data", help="the shared real data folder (default: ../shared/data)")
    parser.add_argument("--no-real", action="store_true", help="skip RAVDESS and the t2a takes")
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument("--limit", type=int, default=0, help="score only the first N test utterances")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--out", type=Path, help="write the evaluation JSON here")
    args = parser.parse_args(list(argv) if argv is not None else None)
    args.command = " ".join([prog, *(argv if argv is not None else [])])
    try:
        result = run_evaluation(args)
    except ValueError as err:
        parser.exit(2, f"{prog}: error: {err}\n")
    if args.out:
        write_json(result, args.out)
    print(format_summary(result))
    return 0


__all__ = [
    "EMOTIVE",
    "THRESHOLDS",
    "check_bars",
    "evaluate_synthetic",
    "fit_probe",
    "information_balance",
    "main",
    "ravdess_clips",
    "ravdess_report",
    "run_evaluation",
    "score_system",
    "takes_report",
]


if __name__ == "__main__":
    raise SystemExit(main())
