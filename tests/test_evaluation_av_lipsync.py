"""av-lipsync evaluation: baselines, metric plumbing on a tiny corpus, the evaluation JSON, real-voice report.

Every prediction goes through the processor (features, condition, post-processing): the fakes below are
``AvLipsyncProcessor`` subclasses that only swap the features, so conditions and post-processing stay real.
"""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from avzoo import arkit
from avzoo.emotions import INTENSITY_VALUES
from avzoo.evaluation.av_lipsync import (
    OFFLINE_THRESHOLDS,
    THRESHOLDS,
    bilabial_events,
    bilabial_mask,
    condition_from_labels,
    evaluate_av_lipsync,
    format_table,
    intensity_value,
    load_model,
    load_test_rows,
    main,
    predict_rows,
    run_evaluation,
    score_rows,
)
from avzoo.evaluation.baselines import (
    MeanPoseBaseline,
    RmsJawBaseline,
    baseline_from_dict,
    fit_baselines,
    fit_mean_pose,
    fit_rms_jaw,
    frame_rms,
    rms_db,
)
from avzoo.evaluation.inference import post_process_tracks, predict_blendshapes
from avzoo.evaluation.real_voices import pause_mask, real_voice_report, runs, track_audio_stats
from avzoo.hub.cards import load_eval_results
from avzoo.models.av_lipsync import AvLipsyncConfig, AvLipsyncModel, AvLipsyncProcessor

SR = 16000
FPS = 30.0
JAW = arkit.INDEX["jawOpen"]


# --- fixtures and fakes --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from avzoo.synth.corpus import CorpusConfig, build_corpus

    out = tmp_path_factory.mktemp("corpus")
    config = CorpusConfig(utterances={"train": 4, "test": 2}, speakers={"train": 2, "test": 1})
    build_corpus(config, out, num_proc=1, progress=False)
    return out


@pytest.fixture(scope="module")
def dataset(corpus):
    from avzoo.synth.corpus import load_corpus

    return load_corpus(corpus)


def tiny_model(seed: int = 0, **overrides) -> AvLipsyncModel:
    torch.manual_seed(seed)
    config = AvLipsyncConfig(
        lipsync_hidden_size=16,
        lipsync_dilations=[1, 2],
        expression_hidden_size=8,
        expression_dilations=[1, 2],
        **overrides,
    )
    return AvLipsyncModel(config).eval()


def stepped_audio(levels_db: np.ndarray, seed: int = 0) -> np.ndarray:
    """Alternating +-a samples, ``a`` constant per 30 fps frame: frame RMS is exactly ``a``."""
    bounds = np.floor(np.arange(len(levels_db) + 1) * SR / FPS + 0.5).astype(int)
    audio = np.zeros(bounds[-1], np.float32)
    sign = np.where(np.arange(bounds[-1]) % 2 == 0, 1.0, -1.0)
    for k, db in enumerate(levels_db):
        audio[bounds[k] : bounds[k + 1]] = 10 ** (db / 20) * sign[bounds[k] : bounds[k + 1]]
    return audio


class KeyedFeatures(AvLipsyncProcessor):
    """The real processor, but feature 0 of every frame carries the clip's index in ``clips``."""

    def __init__(self, clips, **kwargs):
        super().__init__(**kwargs)
        self.index = {np.asarray(c, np.float32).tobytes(): i for i, c in enumerate(clips)}

    def __call__(self, clips, sampling_rate=None, **kwargs):
        batch = super().__call__(clips, sampling_rate=sampling_rate, **kwargs)
        features = torch.zeros_like(batch["input_features"])
        for j, clip in enumerate(clips):
            features[j, :, 0] = self.index[np.asarray(clip, np.float32).tobytes()]
        batch["input_features"] = features
        return batch


class ReferenceModel:
    """A fake model that returns the reference track of each clip (to check the metric plumbing)."""

    def __init__(self, references):
        self.references = references
        self.conditions = {}

    def __call__(self, input_features, attention_mask, condition=None):
        out = torch.zeros(*input_features.shape[:2], 52)
        for j in range(len(input_features)):
            i = int(input_features[j, 0, 0])
            n = int(attention_mask[j].sum())
            out[j, :n] = torch.from_numpy(self.references[i][:n])
            if condition is not None:
                self.conditions[i] = condition[j].numpy().copy()  # (C,): the processor's per-clip condition
        return SimpleNamespace(blendshapes=out)


class LoudnessFeatures(AvLipsyncProcessor):
    """The real processor, but feature 0 is the frame RMS (the baselines' frame grid), normalised per clip."""

    def __call__(self, clips, sampling_rate=None, **kwargs):
        batch = super().__call__(clips, sampling_rate=sampling_rate, **kwargs)
        features = torch.zeros_like(batch["input_features"])
        for j, (clip, n) in enumerate(zip(clips, batch["attention_mask"].sum(-1).tolist(), strict=True)):
            t = frame_rms(clip, num_frames=n)
            features[j, :n, 0] = torch.from_numpy(t / t.max()).float()
        batch["input_features"] = features
        return batch


def loudness_model(input_features, attention_mask, condition=None):
    """jawOpen = normalised frame RMS; every other channel at rest."""
    out = torch.zeros(*input_features.shape[:2], 52)
    out[..., JAW] = input_features[..., 0]
    return out


# --- baselines -----------------------------------------------------------------------------------------------------


def test_frame_rms_grid_and_edges():
    levels = np.array([-20.0, -40.0, -60.0, -30.0])
    audio = stepped_audio(levels)
    assert len(frame_rms(audio)) == 4
    np.testing.assert_allclose(rms_db(frame_rms(audio)), levels, atol=1e-4)
    assert len(frame_rms(audio, num_frames=2)) == 2
    padded = frame_rms(audio, num_frames=6)
    assert padded[-1] == padded[3]
    # 1067 samples = 2.0006 frames -> 3 frames; the last has no samples of its own and reads the last one
    short = frame_rms(np.full(1067, 0.5, np.float32))
    np.testing.assert_allclose(short, 0.5)
    assert len(short) == 3
    assert rms_db(np.zeros(2)).tolist() == [-100.0, -100.0]
    with pytest.raises(ValueError, match="1-D"):
        frame_rms(np.zeros((2, 100)))
    with pytest.raises(ValueError, match="NaN"):
        frame_rms(np.array([0.1, np.nan]))


def test_mean_pose_is_the_mean_of_all_training_frames():
    rng = np.random.default_rng(0)
    tracks = [rng.random((n, 52)).astype(np.float32) for n in (5, 11)]
    baseline = fit_mean_pose(tracks)
    np.testing.assert_allclose(baseline.mean_pose, np.concatenate(tracks).mean(0), atol=1e-6)
    pred = baseline.predict(np.zeros(100), 7)
    assert pred.shape == (7, 52) and np.all(pred == baseline.mean_pose)
    again = baseline_from_dict(json.loads(json.dumps(baseline.to_dict())))
    np.testing.assert_allclose(again.mean_pose, baseline.mean_pose, atol=1e-7)
    with pytest.raises(ValueError, match="52"):
        fit_mean_pose([np.zeros((3, 51))])


@pytest.mark.parametrize("method", ["affine", "piecewise"])
def test_rms_jaw_recovers_an_affine_law(method):
    rng = np.random.default_rng(1)
    audios, tracks = [], []
    for _ in range(3):
        levels = rng.uniform(-55, -15, 60)
        track = np.full((60, 52), 0.1, np.float32)
        track[:, JAW] = 0.02 * levels + 1.2  # in [0.1, 0.9]
        audios.append(stepped_audio(levels))
        tracks.append(track)
    baseline = fit_rms_jaw(audios, tracks, method=method)
    if method == "affine":
        assert baseline.slope == pytest.approx(0.02, abs=1e-5)
        assert baseline.intercept == pytest.approx(1.2, abs=1e-4)
    test_levels = np.linspace(-50, -20, 30)
    pred = baseline.predict(stepped_audio(test_levels), 30)
    np.testing.assert_allclose(pred[:, JAW], 0.02 * test_levels + 1.2, atol=2e-3)
    others = np.delete(pred, JAW, axis=1)
    np.testing.assert_allclose(others, 0.1, atol=1e-6)
    assert baseline.train_mae < 2e-3
    again = baseline_from_dict(json.loads(json.dumps(baseline.to_dict())))
    np.testing.assert_allclose(again.predict(stepped_audio(test_levels), 30), pred, atol=1e-6)


def test_piecewise_fit_is_monotone_and_clipped():
    rng = np.random.default_rng(2)
    levels = rng.uniform(-80, -10, 400)
    track = np.zeros((400, 52), np.float32)
    track[:, JAW] = np.clip(np.sin(levels / 9.0) + rng.normal(0, 0.2, 400) + 0.5, 0, 1)  # not monotone
    baseline = fit_rms_jaw([stepped_audio(levels)], [track], method="piecewise")
    assert np.all(np.diff(baseline.knot_values) >= -1e-12)
    grid = baseline.jaw_open(np.linspace(-120, 10, 200))
    assert np.all(np.diff(grid) >= -1e-12) and grid.min() >= 0 and grid.max() <= 1
    with pytest.raises(ValueError, match="method"):
        fit_rms_jaw([stepped_audio(levels)], [track], method="cubic")
    with pytest.raises(ValueError, match="knot"):
        RmsJawBaseline(np.zeros(52), "piecewise", [0.0, -1.0], [0.0, 1.0])


def test_fit_baselines_uses_the_train_split_only(dataset):
    with pytest.raises(ValueError, match="one split"):
        fit_baselines(dataset)
    baselines = fit_baselines(dataset["train"])
    assert set(baselines) == {"mean_pose", "rms_jaw"}
    frames = np.concatenate([np.asarray(b) for b in dataset["train"].with_format("numpy")["blendshapes"]])
    np.testing.assert_allclose(baselines["mean_pose"].mean_pose, frames.mean(0), atol=1e-5)
    assert isinstance(baselines["mean_pose"], MeanPoseBaseline)
    assert baselines["rms_jaw"].train_frames == len(frames)


# --- labels --------------------------------------------------------------------------------------------------------


def test_bilabial_mask_uses_frame_centres_and_ignores_stress():
    phones = [
        {"phone": "sil", "start": 0.0, "end": 0.1},
        {"phone": "M", "start": 0.1, "end": 0.2},  # centres 0.1167 .. 0.1833: frames 3, 4, 5
        {"phone": "B", "start": 0.2, "end": 0.25},  # frame 6 (0.2167); frame 7 sits on the end, 0.25: out
        {"phone": "AA1", "start": 0.25, "end": 0.4},
        {"phone": "p", "start": 0.4, "end": 0.45},  # frame 12 (0.4167)
    ]
    mask = bilabial_mask(phones, 15, FPS)
    assert np.flatnonzero(mask).tolist() == [3, 4, 5, 6, 12]
    assert bilabial_events(phones) == 2  # "M B" is one closure
    assert not bilabial_mask(None, 4, FPS).any()
    # at 15 fps the centres are 1/30 + k/15: M holds 0.1 and 0.1667, B 0.2333, p 0.4333
    assert np.flatnonzero(bilabial_mask(phones, 8, 15.0)).tolist() == [1, 2, 3, 6]
    with pytest.raises(ValueError, match="fps"):
        bilabial_mask(phones, 4, 0)


def test_condition_from_labels_goes_through_the_processor():
    processor = AvLipsyncProcessor()
    happy = condition_from_labels(processor, 2, 0)
    assert happy[2] == 1.0 and happy[:8].sum() == 1.0 and happy[-1] == pytest.approx(0.55)
    np.testing.assert_array_equal(happy, processor.condition_for("happy", "normal"))
    assert condition_from_labels(processor, "angry", "strong")[-1] == 1.0
    assert condition_from_labels(processor, "sad", 0.3)[-1] == pytest.approx(0.3)
    assert not condition_from_labels(processor, -1, -1).any()
    # the intensity words mean what the processor (its preprocessor_config.json) says
    custom = AvLipsyncProcessor(intensity_values={"normal": 0.4, "strong": 0.8})
    assert condition_from_labels(custom, "happy", "normal")[-1] == pytest.approx(0.4)
    assert intensity_value(None) == INTENSITY_VALUES["normal"] == 0.55 and intensity_value(1) == 1.0
    assert intensity_value("strong", custom.intensity_values) == 0.8
    with pytest.raises(ValueError, match="emotion"):
        condition_from_labels(processor, "bored", 0)
    with pytest.raises(ValueError, match="intensity"):
        condition_from_labels(processor, "happy", 1.5)


# --- the evaluation ------------------------------------------------------------------------------------------------


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def test_evaluate_tiny_model_writes_a_valid_card_json(dataset, tmp_path):
    baselines = fit_baselines(dataset["train"])
    out = tmp_path / "eval.json"
    net, processor = tiny_model(), AvLipsyncProcessor()
    result = evaluate_av_lipsync(net, processor, dataset["test"], baselines, 2, out_json=out)
    loaded = load_eval_results(out)[0]
    assert loaded["task"]["type"] == "audio-to-blendshapes"
    assert loaded["dataset"]["name"] == "avzoo-synth"
    assert loaded["dataset"]["split"] == "test (held-out speakers and sentences)"
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    extra = result["extra"]
    model = extra["model"]
    for key in ("lipsync_mae", "mae", "rmse", "jaw_open_pearson", "lip_closure_accuracy", "velocity_mae"):
        assert _finite(model[key]), key
    assert set(model["mae_per_group"]) >= {"lipsync", "expression", "jaw", "closure"}
    for name in ("mean_pose", "rms_jaw"):
        assert _finite(extra["baselines"][name]["metrics"]["lipsync_mae"])
        assert _finite(extra["mae_ratios"][name]["lipsync"])
        # the streaming bars (revised by the real-people issue) have no baseline ratio; the offline ones do
        assert f"lipsync_mae_ratio_vs_{name}" not in extra["thresholds"]
    assert extra["thresholds"]["lipsync_mae"]["threshold"] == THRESHOLDS["lipsync_mae_max"] == 0.018
    assert "model_offline" not in extra  # the tiny model has no offline mode
    assert extra["baselines"]["mean_pose"]["metrics"]["jaw_open_pearson"] is None  # a constant has no r
    assert extra["thresholds"]["all_pass"] is False  # an untrained model passes nothing
    assert extra["reference_closure_accuracy"] >= 0.9
    assert extra["bilabial_frames"] > 0 and extra["num_utterances"] == 2
    assert extra["fps"] == processor.fps and extra["intensity_values"] == processor.intensity_values
    # the raw and the filtered scores are the processor's post-processing of one model run
    rows = load_test_rows(dataset["test"])
    raw = predict_rows(net, processor, rows)
    assert model_scores_equal(score_rows(raw, rows), model)
    crisp = predict_rows(net, processor, rows, crisp_mouth=True)
    assert model_scores_equal(score_rows(crisp, rows), extra["model_crisp_mouth"])
    for a, b in zip(crisp, post_process_tracks(processor, raw), strict=True):
        np.testing.assert_array_equal(a, b)
    assert _finite(extra["closure_rate"]["bilabial_phone_events_per_second"])
    types = {(m["type"], m.get("config")) for m in result["metrics"]}
    assert ("mae", "lipsync") in types and ("pearsonr", "jawOpen") in types
    assert "lipsync MAE" in format_table(result)

    neutral = evaluate_av_lipsync(tiny_model(), processor, dataset["test"], baselines, 1, "neutral")
    assert neutral["dataset"]["config"] == "condition=neutral"
    # the lipsync branch ignores the condition: same lipsync numbers under both conditions
    assert neutral["extra"]["model"]["jaw_open_mae"] == pytest.approx(model["jaw_open_mae"], abs=1e-6)
    with pytest.raises(ValueError, match="condition_mode"):
        evaluate_av_lipsync(tiny_model(), processor, dataset["test"], baselines, 1, "happy")
    with pytest.raises(ValueError, match="fps"):
        evaluate_av_lipsync(tiny_model(), processor, dataset["test"], baselines, 1, fps=25.0)


def model_scores_equal(a, b) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_predict_blendshapes_is_the_pipeline_path(dataset):
    """The evaluation's batched inference gives what ``pipeline("audio-to-blendshapes")`` gives, clip by clip."""
    from transformers import pipeline

    model, processor = tiny_model(), AvLipsyncProcessor()
    animate = pipeline("audio-to-blendshapes", model=model, feature_extractor=processor)
    audios = [r["audio"] for r in load_test_rows(dataset["test"])]
    options = {"emotion": "happy", "intensity": "strong", "crisp_mouth": True}
    ours = predict_blendshapes(model, processor, audios[:1], batch_size=1, **options)[0]
    theirs = animate(audios[0], sampling_rate=SR, **options)["blendshapes"]
    np.testing.assert_array_equal(ours, theirs)
    # batched, one emotion per clip: the same tracks as one clip at a time (padding is masked out)
    emotions, intensities = ["angry", None], [1.0, "normal"]
    batched = predict_blendshapes(model, processor, audios, emotion=emotions, intensity=intensities)
    for audio, emotion, intensity, track in zip(audios, emotions, intensities, batched, strict=True):
        alone = animate(audio, sampling_rate=SR, emotion=emotion, intensity=intensity)["blendshapes"]
        np.testing.assert_allclose(track, alone, atol=1e-6)
        assert track.dtype == np.float32 and track.min() >= 0 and track.max() <= 1
    # a ready condition vector is the same as the emotion it encodes
    ready = [processor.condition_for(e, i) for e, i in zip(emotions, intensities, strict=True)]
    for a, b in zip(predict_blendshapes(model, processor, audios, ready), batched, strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="not both"):
        predict_blendshapes(model, processor, audios, ready, emotion="happy")
    with pytest.raises(ValueError, match="one per clip"):
        predict_blendshapes(model, processor, audios, emotion=["happy"])
    with pytest.raises(ValueError, match="intensity"):
        predict_blendshapes(model, processor, audios, emotion="happy", intensity="loud")


@pytest.mark.parametrize("batch_size", [1, 2])
def test_reference_model_scores_perfectly(dataset, batch_size):
    rows = load_test_rows(dataset["test"])
    model = ReferenceModel([r["reference"] for r in rows])
    features = KeyedFeatures([r["audio"] for r in rows])
    baselines = fit_baselines(dataset["train"])
    result = evaluate_av_lipsync(model, features, dataset["test"], baselines, batch_size)
    extra = result["extra"]
    assert extra["model"]["mae"] == 0.0 and extra["model"]["lipsync_mae"] == 0.0
    assert extra["model"]["jaw_open_pearson"] == pytest.approx(1.0)
    # scoring the references themselves: the ceiling (1.0 unless a reference misses a /p b m/ frame)
    assert extra["model"]["lip_closure_accuracy"] == extra["reference_closure_accuracy"] >= 0.9
    assert extra["model"]["velocity_mae"] == 0.0
    assert all(r["lipsync"] >= 1e5 for r in extra["mae_ratios"].values())
    assert extra["thresholds"]["all_pass"] is True
    rate = extra["closure_rate"]
    assert rate["model_closures_per_second"] == rate["reference_closures_per_second"]
    # the oracle condition is each utterance's emotion and intensity, as the processor encodes them
    for i, r in enumerate(rows):
        np.testing.assert_array_equal(
            model.conditions[i], condition_from_labels(features, r["emotion"], r["intensity"])
        )
    load_eval_results(result)


def test_baseline_scores_match_a_direct_computation(dataset):
    from avzoo.metrics.functional.blendshape import blendshape_errors

    rows = load_test_rows(dataset["test"])
    baselines = fit_baselines(dataset["train"])
    result = evaluate_av_lipsync(
        ReferenceModel([r["reference"] for r in rows]),
        KeyedFeatures([r["audio"] for r in rows]),
        dataset["test"],
        baselines,
    )
    preds = [baselines["rms_jaw"].predict(r["audio"], len(r["reference"])) for r in rows]
    direct = blendshape_errors(
        preds, [r["reference"] for r in rows], lips_closed=[r["lips_closed"] for r in rows]
    )
    scored = result["extra"]["baselines"]["rms_jaw"]["metrics"]
    assert scored["lipsync_mae"] == pytest.approx(direct["mae_per_group"]["lipsync"])
    assert scored["jaw_open_pearson"] == pytest.approx(direct["pearson_per_channel"]["jawOpen"])


def test_run_evaluation_end_to_end(corpus, dataset, tmp_path, capsys):
    import soundfile as sf

    model_dir = tmp_path / "model"
    tiny_model().save_pretrained(model_dir)
    AvLipsyncProcessor(crisp_mouth_offline={"sigma": 2.0}).save_pretrained(model_dir)
    model, processor = load_model(model_dir)
    assert isinstance(processor, AvLipsyncProcessor) and processor.crisp_mouth_offline["sigma"] == 2.0
    assert not model.training and next(model.parameters()).dtype == torch.float32
    with pytest.raises(ValueError, match="cannot load"):
        load_model(tmp_path / "nowhere")
    wav = tmp_path / "voice.wav"
    sf.write(wav, load_test_rows(dataset["test"])[0]["audio"], SR)
    out = tmp_path / "results" / "av_lipsync.json"
    result = run_evaluation(model_dir, corpus, out, real_voices=True, batch_size=2, real_voice_files=[wav])
    assert load_eval_results(out)[0]["model"] == str(model_dir)
    assert set(result["extra"]["other_conditions"]) == {"neutral"}
    assert (out.parent / "av_lipsync.real_voices.json").is_file()
    assert result["extra"]["real_voices"]["summary"]["all"]["files"] == 1
    assert any(m.get("config") == "real-voices" for m in result["metrics"])
    printed = capsys.readouterr().out
    assert "thresholds" in printed and "real voices" in printed
    with pytest.raises(ValueError, match="condition_modes"):
        run_evaluation(model_dir, corpus, out, real_voices=False, condition_modes=["sad"])
    # the module's command line: an untrained model fails the bars, which only --strict turns into status 1
    argv = ["--model", str(model_dir), "--corpus", str(corpus), "--out", str(out), "--no-real-voices"]
    assert main([*argv, "--condition-modes", "oracle"]) == 0
    assert main([*argv, "--condition-modes", "neutral", "--strict"]) == 1
    assert load_eval_results(out)[0]["dataset"]["config"] == "condition=neutral"
    base = tmp_path / "baselines.json"
    assert main(["--corpus", str(corpus), "--out", str(base), "--baselines-only"]) == 0
    report = json.loads(base.read_text())
    assert report["baselines"]["rms_jaw"]["model_lipsync_mae_for_3x"] == pytest.approx(
        report["baselines"]["rms_jaw"]["metrics"]["lipsync_mae"] / 3
    )
    assert result["extra"]["baselines"]["mean_pose"]["metrics"] == report["baselines"]["mean_pose"]["metrics"]


# --- real voices ---------------------------------------------------------------------------------------------------


def test_pauses_and_runs():
    quiet = np.array([1, 1, 0, 1, 1, 1, 1, 1, 1, 0, 1], bool)
    assert runs(quiet) == [(0, 2), (3, 9), (10, 11)]
    assert np.flatnonzero(pause_mask(quiet, 6)).tolist() == list(range(3, 9))


def test_track_stats_see_a_jaw_that_follows_loudness():
    levels = np.concatenate([np.full(20, -90.0), np.linspace(-40, -15, 40), np.full(20, -90.0)])
    audio = stepped_audio(levels)
    track = np.zeros((80, 52), np.float32)
    track[:, JAW] = np.clip((levels + 90) / 80, 0, 1)
    stats = track_audio_stats(track, audio, sampling_rate=SR, fps=FPS)
    assert stats["jaw_log_rms_r"] == pytest.approx(1.0, abs=1e-6)
    assert stats["pause_frames"] == 40 and stats["loud_frames"] == 40
    assert stats["jaw_pause_mean"] == 0.0 and stats["jaw_speech_mean"] > 0.5
    assert stats["pause_lips_not_open_fraction"] == 1.0


def test_real_voice_report_with_a_loudness_following_fake(tmp_path):
    import soundfile as sf

    levels = np.concatenate([np.full(15, -95.0), np.linspace(-40, -15, 30), np.full(15, -95.0)])
    wav = tmp_path / "steps.wav"
    sf.write(wav, stepped_audio(levels), SR, subtype="FLOAT")
    report = real_voice_report(loudness_model, LoudnessFeatures(), [wav, tmp_path / "missing.wav"])
    good = [f for f in report["files"] if "error" not in f]
    assert len(good) == 1 and any("error" in f for f in report["files"])
    assert good[0]["jaw_rms_r"] == pytest.approx(1.0, abs=1e-4)
    summary = report["summary"]["all"]
    assert summary["files"] == 1 and summary["jaw_speech_minus_pause"] > 0.3
    assert summary["files_jaw_opens_in_speech"] == 1.0
    assert "alignment" in report["limitation"]
    json.dumps(report, allow_nan=False)


def test_real_voice_report_on_a_real_file(shared_data):
    wav = shared_data / "real-mixtures" / "sample1" / "s1.wav"
    if not wav.is_file():
        pytest.skip(f"{wav} missing")
    report = real_voice_report(tiny_model(), AvLipsyncProcessor(), [wav], crisp_mouth=True, emotion="calm")
    assert report["settings"]["postprocess"] == "crisp_mouth" and report["settings"]["fps"] == FPS
    assert report["settings"]["condition"][1] == 1.0  # calm, through the processor
    row = report["files"][0]
    assert row["source"] == "real-mixtures" and row["frames"] == 180
    for key in (
        "jaw_rms_r",
        "jaw_log_rms_r",
        "jaw_pause_mean",
        "jaw_speech_mean",
        "speech_lips_closed_fraction",
    ):
        assert _finite(row[key]), key
    assert row["pause_frames"] > 0 and row["loud_frames"] > 0  # real speech has pauses and speech
    assert set(report["summary"]) == {"all", "real-mixtures"}
    json.dumps(report, allow_nan=False)


def test_offline_mode_is_scored_beside_streaming(dataset):
    """A checkpoint with the refiner: the headline is streaming, the offline mode is scored on the same rows."""
    net = tiny_model(offline_dilations=[1, 2], offline_hidden_size=8)
    with torch.no_grad():
        net.offline.head.weight.normal_(0, 0.3)
    processor = AvLipsyncProcessor()
    baselines = fit_baselines(dataset["train"])
    result = evaluate_av_lipsync(net, processor, dataset["test"], baselines, 2)
    extra = result["extra"]
    rows = load_test_rows(dataset["test"])
    stream = score_rows(predict_rows(net, processor, rows, mode="streaming"), rows, processor.fps)
    offline = score_rows(predict_rows(net, processor, rows, mode="offline"), rows, processor.fps)
    assert extra["model"]["lipsync_mae"] == stream["lipsync_mae"]
    assert extra["model_offline"]["lipsync_mae"] == offline["lipsync_mae"] != stream["lipsync_mae"]
    filtered = post_process_tracks(
        processor, predict_rows(net, processor, rows, mode="offline"), crisp_mouth=True
    )
    assert extra["model_offline_crisp_mouth"] == score_rows(filtered, rows, processor.fps)
    checks = extra["thresholds_offline"]
    assert checks["lipsync_mae"]["threshold"] == OFFLINE_THRESHOLDS["lipsync_mae_max"]
    assert (
        checks["lipsync_mae_ratio_vs_mean_pose"]["threshold"] == OFFLINE_THRESHOLDS["baseline_mae_ratio_min"]
    )
    assert extra["offline_lookahead_frames"] == net.config.offline_lookahead_frames
    configs = {m.get("config") for m in result["metrics"]}
    assert {"lipsync/offline", "jawOpen/offline"} <= configs
    assert "offline" in format_table(result)


def test_filtered_variant_gets_the_phone_logits_like_the_pipeline(dataset):
    """post_process_tracks with the returned phone logits = filtering inside the model run (tongue gate included)."""
    from avzoo.train.av_lipsync import PHONES

    net = tiny_model(phone_labels_vocab=list(PHONES))
    processor = AvLipsyncProcessor(phone_labels_vocab=list(PHONES))
    rows = load_test_rows(dataset["test"])
    raw, logits = predict_rows(net, processor, rows, return_phone_logits=True)
    assert all(lg.shape == (len(t), len(PHONES)) for t, lg in zip(raw, logits, strict=True))
    inside = predict_rows(net, processor, rows, crisp_mouth=True)
    after = post_process_tracks(processor, raw, crisp_mouth=True, phone_logits=logits)
    for a, b in zip(inside, after, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    tongue = arkit.INDEX["tongueOut"]
    ungated = post_process_tracks(processor, raw, crisp_mouth=True)
    assert sum(t[:, tongue].sum() for t in after) <= sum(t[:, tongue].sum() for t in ungated)
    with pytest.raises(ValueError, match="phone-logit arrays"):
        post_process_tracks(processor, raw, phone_logits=logits[:1])
