"""Evaluation of av-lipsync on the held-out synthetic test split, against two baselines, plus real voices.

:func:`evaluate_av_lipsync` runs the model over every test utterance on the family's one inference path
(processor → model → ``processor.post_process_blendshapes``, batched: :mod:`avzoo.evaluation.inference`), scores
it (:mod:`avzoo.evaluation.scoring`) and scores the baselines of :mod:`avzoo.evaluation.baselines` (fitted on the
train split) on the same frames. The condition comes from the dataset's ``emotion``/``intensity`` labels through
the processor (``condition_mode="oracle"``; :mod:`avzoo.evaluation.rows`) or is none (``"neutral"``); rates,
intensity values and the mouth filter are the processor's. The result follows the evaluation-JSON schema of
:mod:`avzoo.hub.cards` (:mod:`avzoo.evaluation.report`); ``extra`` holds everything else, including the pass/fail
of the issue's thresholds (:data:`THRESHOLDS`).

:func:`run_evaluation` is the whole job behind ``avzoo evaluate av-lipsync`` (and :func:`main`, ``python -m
avzoo.evaluation.av_lipsync``): load model and processor, load the corpus, fit the baselines, evaluate, add the
real-voice report (:mod:`avzoo.evaluation.real_voices`), write the JSON and print a table.

The helpers this module used to define live in the modules named above; it re-exports them under the same names.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from avzoo.emotions import INTENSITY_VALUES
from avzoo.evaluation.baselines import Baseline, fit_baselines
from avzoo.evaluation.inference import has_crisp_mouth, load_model, post_process_tracks
from avzoo.evaluation.real_voices import default_real_voice_files, jsonable, real_voice_report
from avzoo.evaluation.report import format_baselines, format_table, metric, metrics_list, write_json
from avzoo.evaluation.rows import (
    BILABIAL_PHONES,
    CONDITION_MODES,
    bilabial_events,
    bilabial_mask,
    condition_from_labels,
    intensity_value,
    load_corpus_splits,
    load_test_rows,
    predict_rows,
    rows_fps,
)
from avzoo.evaluation.scoring import (
    OFFLINE_THRESHOLDS,
    RATIO_CAP,
    THRESHOLDS,
    check_thresholds,
    closure_rates,
    evaluate_baselines,
    mae_ratios,
    ratio,
    score_baselines,
    score_rows,
    summarize,
)

POSTPROCESS = ("none", "crisp_mouth")
TASK = {"type": "audio-to-blendshapes", "name": "Speech to ARKit blendshapes"}
DATASET = {"name": "avzoo-synth", "type": "avzoo/synth", "split": "test (held-out speakers and sentences)"}
DEFAULT_MODEL_ID = "avzoo/av-lipsync"


def evaluate_av_lipsync(
    model: Any,
    processor: Any,
    dataset: Any,
    baselines: Mapping[str, Baseline],
    batch_size: int = 8,
    condition_mode: str = "oracle",
    *,
    model_id: str = DEFAULT_MODEL_ID,
    postprocess: str = "none",
    fps: float | None = None,
    out_json: str | Path | None = None,
    rows: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Score ``model`` and ``baselines`` on a test split; returns (and writes to ``out_json``) the evaluation JSON.

    Args:
        model: an ``AvLipsyncModel`` or a callable with its forward signature (see :mod:`avzoo.evaluation.inference`).
        processor: its processor (``AvLipsyncProcessor``): features, condition, post-processing, rates.
        dataset: the test split (shared utterance schema: ``audio``, ``blendshapes``, ``phonemes``, ``emotion``...).
        baselines: ``{name: baseline}`` fitted on the train split (:func:`avzoo.evaluation.baselines.fit_baselines`).
        batch_size: utterances per forward pass.
        condition_mode: ``"oracle"`` (condition from the emotion/intensity labels) or ``"neutral"`` (none).
        model_id: the name written into the JSON.
        postprocess: ``"none"`` scores the raw model output; ``"crisp_mouth"`` the output after the processor's
            offline mouth filter. The other variant is reported in ``extra`` when the processor has the filter.
        fps: the frame rate scored at (default: the processor's); the references must be at it.
        rows: already decoded rows (:func:`load_test_rows`), to share decoding between calls.
    """
    if condition_mode not in CONDITION_MODES:
        raise ValueError(f"condition_mode must be one of {CONDITION_MODES}, got {condition_mode!r}")
    if postprocess not in POSTPROCESS:
        raise ValueError(f"postprocess must be one of {POSTPROCESS}, got {postprocess!r}")
    if postprocess == "crisp_mouth" and not has_crisp_mouth(processor):
        raise ValueError(
            "postprocess='crisp_mouth' needs a processor with a mouth filter (AvLipsyncProcessor.crisp_mouth)"
        )
    if not baselines:
        raise ValueError("give at least one baseline (fit_baselines(corpus['train']))")
    fps = float(processor.fps if fps is None else fps)
    t0 = time.perf_counter()
    rows = load_test_rows(dataset, fps) if rows is None else rows
    if abs(rows_fps(rows) - fps) > 1e-6:
        raise ValueError(f"the rows' blendshapes are at {rows_fps(rows)} fps; the model runs at {fps} fps")
    offline = has_offline_mode(model)
    # The headline is the streaming mode (what the streamer and the ONNX step compute); the offline quality mode,
    # where the checkpoint has one, is scored on the same rows under extra["model_offline"].
    stream = "streaming" if offline else None
    # The phone logits go with the raw tracks, so the filtered variant gets the tongue gate as the pipeline does.
    raw, logits = predict_rows(
        model, processor, rows, condition_mode, batch_size=batch_size, mode=stream, return_phone_logits=True
    )
    variants = {"none": raw}
    if has_crisp_mouth(processor):
        variants["crisp_mouth"] = post_process_tracks(processor, raw, crisp_mouth=True, phone_logits=logits)
    tracks = variants[postprocess]
    scores = score_rows(tracks, rows, fps)
    seconds_model = time.perf_counter() - t0

    baseline_scores = score_baselines(baselines, rows, fps)
    baseline_params = {}
    for name, baseline in baselines.items():
        params = baseline.to_dict()
        if name != "mean_pose":
            params.pop("mean_pose", None)  # the same numbers as the mean_pose baseline's
        baseline_params[name] = params
    ratios = {name: mae_ratios(s, scores) for name, s in baseline_scores.items()}
    thresholds = check_thresholds(scores, ratios)
    ceiling = score_rows([r["reference"] for r in rows], rows, fps)

    extra: dict[str, Any] = {
        "command": f"avzoo.evaluation.av_lipsync.evaluate_av_lipsync(condition_mode={condition_mode!r}, "
        f"postprocess={postprocess!r}, batch_size={batch_size})",
        "condition_mode": condition_mode,
        "intensity_values": dict(getattr(processor, "intensity_values", INTENSITY_VALUES)),
        "postprocess": postprocess,
        "fps": fps,
        "num_utterances": len(rows),
        "num_frames": int(sum(len(r["reference"]) for r in rows)),
        "num_speakers": len({r["speaker"] for r in rows}),
        "bilabial_frames": int(sum(r["lips_closed"].sum() for r in rows)),
        "thresholds": thresholds,
        "model": scores,
        "baselines": {
            name: {"metrics": baseline_scores[name], "params": baseline_params[name]} for name in baselines
        },
        "mae_ratios": ratios,
        "reference_closure_accuracy": ceiling["lip_closure_accuracy"],
        "seconds": time.perf_counter() - t0,
        "seconds_model": seconds_model,
    }
    other = "crisp_mouth" if postprocess == "none" else "none"
    if other in variants:
        extra["model_crisp_mouth" if other == "crisp_mouth" else "model_raw"] = score_rows(
            variants[other], rows, fps
        )
    if offline:
        t1 = time.perf_counter()
        raw_offline, logits_offline = predict_rows(
            model,
            processor,
            rows,
            condition_mode,
            batch_size=batch_size,
            mode="offline",
            return_phone_logits=True,
        )
        offline_variants = {"none": raw_offline}
        if has_crisp_mouth(processor):
            offline_variants["crisp_mouth"] = post_process_tracks(
                processor, raw_offline, crisp_mouth=True, phone_logits=logits_offline
            )
        scores_offline = score_rows(offline_variants[postprocess], rows, fps)
        if other in offline_variants:
            key = "model_offline_crisp_mouth" if other == "crisp_mouth" else "model_offline_raw"
            extra[key] = score_rows(offline_variants[other], rows, fps)
        ratios_offline = {name: mae_ratios(s, scores_offline) for name, s in baseline_scores.items()}
        extra["model_offline"] = scores_offline
        extra["mae_ratios_offline"] = ratios_offline
        extra["thresholds_offline"] = check_thresholds(scores_offline, ratios_offline, OFFLINE_THRESHOLDS)
        extra["offline_lookahead_frames"] = int(model.config.offline_lookahead_frames)
        extra["seconds_model_offline"] = time.perf_counter() - t1
    extra.update(closure_rates(rows, tracks, fps))
    result = {
        "model": model_id,
        "task": dict(TASK),
        "dataset": {**DATASET, "config": f"condition={condition_mode}"},
        "metrics": metrics_list(scores, baseline_scores, ratios, extra.get("model_offline")),
        "extra": jsonable(extra),
    }
    if out_json is not None:
        write_json(result, out_json)
    return result


def has_offline_mode(model: Any) -> bool:
    """Whether ``model`` (or its config) has the offline quality mode."""
    return bool(getattr(getattr(model, "config", None), "has_offline_mode", False))


def _add_real_voices(
    result: dict[str, Any],
    model: Any,
    processor: Any,
    out_json: Path,
    files: Sequence[str | Path] | None,
    batch_size: int,
    crisp_mouth: bool,
) -> None:
    """Run :func:`real_voice_report`, write it next to ``out_json`` and add its summary to ``result``."""
    extra = result["extra"]
    try:
        files = default_real_voice_files() if files is None else list(files)
    except ValueError as err:
        extra["real_voices"] = {"skipped": str(err)}
        return
    report = real_voice_report(model, processor, files, batch_size=batch_size, crisp_mouth=crisp_mouth)
    report_path = write_json(report, out_json.with_name(out_json.stem + ".real_voices.json"))
    real_rate = report["summary"]["all"].get("closures_per_second")
    synth_rate = extra.get("closure_rate", {}).get("model_closures_per_second")
    real_r = report["summary"]["all"].get("jaw_rms_r")
    entry = metric("pearsonr", "Real voices: jawOpen vs frame RMS, mean r per file", real_r, "real-voices")
    if entry is not None:
        result["metrics"].append(entry)
    extra["real_voices"] = {
        "report": report_path.name,
        "summary": report["summary"],
        "closures_per_second_real_vs_synthetic_model": ratio(real_rate, synth_rate),
        "limitation": report["limitation"],
    }


def _check_arguments(
    model_dir_or_id: str | Path | None, corpus_dir: str | Path, out_json: str | Path
) -> None:
    """Cheap checks of the paths, before anything loads: ``ValueError`` naming the problem.

    The corpus folder exists, ``out_json`` can be written, and the model is a folder with a config.json or
    reads as a Hub id (``name`` or ``org/name``; absolute, ``./``/``~`` or deeper paths must exist).
    """
    import os

    corpus = Path(corpus_dir)
    if not corpus.is_dir():
        raise ValueError(
            f"corpus folder {corpus} does not exist; build one with `avzoo synth corpus {corpus}`"
        )
    out = Path(out_json)
    if out.is_dir():
        raise ValueError(f"output {out} is a folder; give the path of the JSON file to write")
    folder = next((p for p in out.absolute().parents if p.exists()), None)
    if folder is None or not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"cannot write {out}: {folder} is not a writable folder")
    if out.exists() and not os.access(out, os.W_OK):
        raise ValueError(f"cannot write {out}: the file is read-only")
    if model_dir_or_id is None:
        return
    model, text = Path(model_dir_or_id), str(model_dir_or_id)
    if model.is_dir():
        if not (model / "config.json").is_file():
            raise ValueError(f"model folder {model} has no config.json (save it with save_model_folder)")
    elif (
        model.exists()
        or model.is_absolute()
        or text.startswith((".", "~"))
        or text.count("/") > 1
        or "\\" in text
    ):
        raise ValueError(
            f"no model folder {text!r}: give a model folder or a Hub id such as {DEFAULT_MODEL_ID!r}"
        )


def run_evaluation(
    model_dir_or_id: str | Path,
    corpus_dir: str | Path,
    out_json: str | Path,
    real_voices: bool = True,
    *,
    batch_size: int = 8,
    condition_modes: Sequence[str] = CONDITION_MODES,
    postprocess: str = "none",
    rms_method: str = "piecewise",
    real_voice_files: Sequence[str | Path] | None = None,
    print_table: bool = True,
) -> dict[str, Any]:
    """Evaluate a saved av-lipsync model on a built corpus and write the evaluation JSON (the card's source).

    Fits the baselines on ``train``, scores on ``test`` with the first of ``condition_modes`` (the headline
    result) and summarises the others under ``extra["other_conditions"]``. With ``real_voices``, runs
    :func:`real_voice_report` (neutral condition) on ``real_voice_files`` (default: the shared real recordings;
    skipped with a note when they are missing), writes it next to ``out_json`` as ``<stem>.real_voices.json`` and
    adds its summary under ``extra["real_voices"]``. Prints :func:`format_table` unless ``print_table`` is False.
    """
    if not condition_modes or any(m not in CONDITION_MODES for m in condition_modes):
        raise ValueError(
            f"condition_modes must be a non-empty subset of {CONDITION_MODES}, got {condition_modes!r}"
        )
    _check_arguments(model_dir_or_id, corpus_dir, out_json)
    corpus = load_corpus_splits(corpus_dir)  # its folder and splits are checked before the model loads
    model, processor = load_model(model_dir_or_id)
    baselines = fit_baselines(corpus["train"], rms_method=rms_method)
    rows = load_test_rows(corpus["test"], float(processor.fps))
    model_id = str(model_dir_or_id)
    results = [
        evaluate_av_lipsync(
            model,
            processor,
            corpus["test"],
            baselines,
            batch_size,
            mode,
            model_id=model_id,
            postprocess=postprocess,
            rows=rows,
        )
        for mode in condition_modes
    ]
    result = results[0]
    extra = result["extra"]
    extra["command"] = (
        f"avzoo.evaluation.av_lipsync.run_evaluation({model_id!r}, {str(corpus_dir)!r}, {str(out_json)!r}, "
        f"real_voices={real_voices}, batch_size={batch_size}, condition_modes={list(condition_modes)}, "
        f"postprocess={postprocess!r}, rms_method={rms_method!r})"
    )
    extra["corpus"] = str(corpus_dir)
    extra["train_utterances"] = len(corpus["train"])
    if len(results) > 1:
        keys = ("lipsync_mae", "mae", "jaw_open_pearson", "lip_closure_accuracy")
        extra["other_conditions"] = {
            r["extra"]["condition_mode"]: {
                **{k: r["extra"]["model"][k] for k in keys},
                "mae_per_group": r["extra"]["model"]["mae_per_group"],
                "mae_ratios": r["extra"]["mae_ratios"],
                "all_pass": r["extra"]["thresholds"]["all_pass"],
            }
            for r in results[1:]
        }
    out_json = Path(out_json)
    if real_voices:
        crisp = postprocess == "crisp_mouth"
        _add_real_voices(result, model, processor, out_json, real_voice_files, max(1, batch_size // 2), crisp)
    write_json(result, out_json)
    if print_table:
        print(format_table(result))
    return result


def main(argv: Sequence[str] | None = None, prog: str = "avzoo evaluate av-lipsync") -> int:
    """``python -m avzoo.evaluation.av_lipsync --model DIR --corpus DIR --out JSON``: :func:`run_evaluation`."""
    import argparse

    parser = argparse.ArgumentParser(prog=prog, description=run_evaluation.__doc__)
    parser.add_argument("--model", default=DEFAULT_MODEL_ID, help="model folder or Hub id (default: bundled)")
    parser.add_argument("--baselines-only", action="store_true", help="score only the baselines (no model)")
    parser.add_argument("--corpus", help="a corpus folder built by avzoo.synth.corpus")
    parser.add_argument(
        "--out", help="where to write the evaluation JSON (default eval/av-lipsync.json; none for --take)"
    )
    take = parser.add_argument_group("a real take instead of the corpus (avzoo.evaluation.real_takes)")
    take.add_argument("--take", type=Path, help="a Live Link Face CSV, or a CSV of ARKit-named channels")
    take.add_argument("--audio", type=Path, help="the take's audio")
    take.add_argument("--take-fps", type=float, help="the take's frame rate when it has no timecodes")
    take.add_argument("--emotion", help="condition the model on this emotion (default: neutral)")
    take.add_argument("--crisp-mouth", action="store_true", help="score the mouth-filtered output")
    take.add_argument("--style", type=Path, help="apply this performer style (from `avzoo calibrate`) first")
    take.add_argument(
        "--mode",
        choices=("offline", "streaming"),
        help="the model mode (default: the pipeline's, offline where the checkpoint has it)",
    )
    take.add_argument(
        "--align",
        action="store_true",
        help="shift the take onto the audio when they are offset by more than 8 frames, and crop to the overlap",
    )
    take.add_argument("--strip", type=Path, help="also render the take above the prediction to this PNG")
    take.add_argument(
        "--strip-start",
        type=float,
        help="strip: seconds into the audio (default: where the scored stretch starts, 0 unless aligned)",
    )
    take.add_argument("--strip-seconds", type=float, default=3.0, help="strip: how many seconds (default 3)")
    take.add_argument("--strip-stride", type=int, default=3, help="strip: every n-th frame (default 3)")
    parser.add_argument("--no-real-voices", action="store_true", help="skip the real-voice report")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument(
        "--condition-modes", nargs="+", default=list(CONDITION_MODES), choices=CONDITION_MODES
    )
    parser.add_argument("--postprocess", default="none", choices=POSTPROCESS)
    parser.add_argument("--rms-method", default="piecewise", choices=("piecewise", "affine"))
    parser.add_argument(
        "--strict", action="store_true", help="exit with status 1 unless every threshold passes"
    )
    args = parser.parse_args(argv)
    if args.take is not None:
        return _main_take(parser, args)
    if args.corpus is None:
        parser.error("give --corpus (the synthetic test split) or --take with --audio (a real capture)")
    args.out = args.out or "eval/av-lipsync.json"
    if args.batch_size < 1:
        parser.error(f"--batch-size must be >= 1, got {args.batch_size}")
    try:  # before anything loads
        _check_arguments(None if args.baselines_only else args.model, args.corpus, args.out)
    except ValueError as err:
        parser.error(str(err))
    if args.baselines_only:
        print(format_baselines(evaluate_baselines(args.corpus, args.out, rms_method=args.rms_method)))
        return 0
    try:  # run_evaluation checks the corpus splits and the model folder before it loads the model
        result = run_evaluation(
            args.model,
            args.corpus,
            args.out,
            real_voices=not args.no_real_voices,
            batch_size=args.batch_size,
            condition_modes=args.condition_modes,
            postprocess=args.postprocess,
            rms_method=args.rms_method,
        )
    except (ValueError, OSError) as err:
        parser.error(str(err))
    return 1 if args.strict and not result["extra"]["thresholds"]["all_pass"] else 0


def _main_take(parser: Any, args: Any) -> int:
    """``--take``: score the model against a real capture (:mod:`avzoo.evaluation.real_takes`).

    Bad input ends in one line on stderr and exit status 2, with nothing written; the JSON (``--out``) and the
    strip (``--strip``) are written only once everything has succeeded, each atomically.
    """
    import json
    import sys

    from avzoo.evaluation.real_takes import (
        encode_png,
        format_take,
        render_take_strip,
        run_take,
        score_run,
        write_atomic,
    )

    try:
        for flag, path in (("--take", args.take), ("--audio", args.audio)):
            if path is None or not path.is_file():
                raise ValueError(f"{flag} needs an existing file, got {path}")
        if args.out is not None and Path(args.out).is_dir():
            raise ValueError(f"--out {args.out} is a folder; give the path of the JSON file to write")
        if args.strip is not None and (args.strip.is_dir() or args.strip.suffix.lower() != ".png"):
            raise ValueError(f"--strip needs the path of a .png file to write, got {args.strip}")
        if args.strip is not None and not (args.strip_seconds > 0 and args.strip_stride >= 1):
            raise ValueError(
                f"--strip-seconds must be > 0 and --strip-stride >= 1, got {args.strip_seconds}, "
                f"{args.strip_stride}"
            )
        run = run_take(
            args.take,
            args.audio,
            args.model,
            take_fps=args.take_fps,
            emotion=args.emotion,
            crisp_mouth=args.crisp_mouth,
            align=args.align,
            style=args.style,
            mode=args.mode,
        )
        result = score_run(run)
        strip = None
        if args.strip is not None:
            strip = encode_png(
                render_take_strip(run, args.strip_start, args.strip_seconds, args.strip_stride)
            )
            result["strip"] = str(args.strip)
        text = json.dumps(jsonable(result), indent=2, allow_nan=False) + "\n"
    except (ValueError, OSError) as err:
        print(f"{parser.prog}: error: {' '.join(str(err).split())}", file=sys.stderr)
        return 2
    print(format_take(result))
    if args.out:
        write_atomic(args.out, text.encode("utf-8"))
    if strip is not None:
        write_atomic(args.strip, strip)
        print(f"wrote {args.strip}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = [
    "BILABIAL_PHONES",
    "CONDITION_MODES",
    "DATASET",
    "DEFAULT_MODEL_ID",
    "INTENSITY_VALUES",
    "OFFLINE_THRESHOLDS",
    "POSTPROCESS",
    "RATIO_CAP",
    "TASK",
    "THRESHOLDS",
    "bilabial_events",
    "bilabial_mask",
    "check_thresholds",
    "condition_from_labels",
    "evaluate_av_lipsync",
    "evaluate_baselines",
    "format_baselines",
    "format_table",
    "intensity_value",
    "load_model",
    "load_test_rows",
    "main",
    "predict_rows",
    "run_evaluation",
    "score_rows",
    "summarize",
    "write_json",
]
