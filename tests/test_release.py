"""`avzoo release`: the driver's steps (bundle, evaluation naming, card) with tiny models and fake JSON, the
av-lipsync card template, and the crisp_mouth calibration on synthetic tracks. No corpus needed."""

from __future__ import annotations

import dataclasses
import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

import avzoo.release as rel
from avzoo import arkit
from avzoo.families import get_family
from avzoo.models.av_lipsync import (
    AvLipsyncConfig,
    AvLipsyncForBlendshapeRegression,
    AvLipsyncModel,
    AvLipsyncProcessor,
)
from avzoo.release import av_lipsync as hooks
from avzoo.release.crisp_mouth_calibration import (
    MOUTH,
    STREAM_KEYS,
    calibrate_crisp_mouth,
    processor_settings,
)

REPO = Path(__file__).resolve().parents[1]
TINY = {
    "lipsync_hidden_size": 16,
    "lipsync_dilations": [1, 2],
    "expression_hidden_size": 8,
    "expression_dilations": [1],
    "lip_seal": True,
}
BUNDLE_FILES = {"config.json", "model.safetensors", "preprocessor_config.json"}


def tiny_model() -> AvLipsyncModel:
    torch.manual_seed(0)
    return AvLipsyncModel(AvLipsyncConfig(**TINY)).eval()


def tmp_family(tmp_path: Path, **changes):
    return dataclasses.replace(get_family("av-lipsync"), checkpoint_dir=tmp_path / "bundle", **changes)


def front_matter(card: str) -> dict:
    _, meta, _ = card.split("---\n", 2)
    return yaml.safe_load(meta)


# --- bundle ----------------------------------------------------------------------------------------------------------


def test_bundle_holds_config_weights_and_processor_only(tmp_path):
    family = tmp_family(tmp_path)
    family.checkpoint.mkdir()
    (family.checkpoint / "modeling_av_lipsync.py").write_text("# stale remote code of an older release\n")
    model, processor = tiny_model(), AvLipsyncProcessor()
    model.config.auto_map = {"AutoModel": "modeling_av_lipsync.AvLipsyncModel"}
    model.config.custom_pipelines = {"audio-to-blendshapes": {"impl": "x.Pipeline"}}
    processor.auto_map = {"AutoProcessor": "processing_av_lipsync.AvLipsyncProcessor"}

    folder = rel.write_bundle(family, model, processor)

    assert folder == tmp_path / "bundle"
    assert {p.name for p in folder.iterdir()} == BUNDLE_FILES
    for name in ("config.json", "preprocessor_config.json"):
        saved = json.loads((folder / name).read_text())
        assert "auto_map" not in saved and "custom_pipelines" not in saved, name
    loaded, loaded_processor = rel.load(folder)
    assert type(loaded) is AvLipsyncModel and type(loaded_processor) is AvLipsyncProcessor
    for (name, a), b in zip(model.state_dict().items(), loaded.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_load_takes_the_recipes_task_head_checkpoint(tmp_path):
    """The recipe saves AvLipsyncForBlendshapeRegression; the release loads its base model with AutoModel."""
    torch.manual_seed(0)
    head = AvLipsyncForBlendshapeRegression(AvLipsyncConfig(**TINY)).eval()
    head.save_pretrained(tmp_path / "final")
    AvLipsyncProcessor().save_pretrained(tmp_path / "final")
    model, _ = rel.load(tmp_path / "final")
    assert type(model) is AvLipsyncModel
    for name, value in model.state_dict().items():
        assert torch.equal(value, head.av_lipsync.state_dict()[name]), name


def test_release_runs_the_hooks_in_order(tmp_path, monkeypatch):
    """The driver with a fake hook module and template: calibration report, bundle, Hub id in the evaluation
    JSON, benchmark, card and README."""
    calls = []
    fake = types.ModuleType("fake_release_hooks")

    def calibrate(model, processor, corpus):
        calls.append("calibrate")
        processor.crisp_mouth_offline = {**processor.crisp_mouth_offline, "sigma": 0.75}
        return {"corpus": str(corpus), "sigma": 0.75}

    def evaluate(bundle_dir, corpus):
        calls.append("evaluate")
        result = {
            "model": str(bundle_dir),
            "task": {"type": "audio-to-blendshapes"},
            "dataset": {"name": "fake", "type": "avzoo/synth", "split": "test"},
            "metrics": [{"type": "mae", "name": "MAE", "value": 0.25}],
        }
        (bundle_dir / "eval_results.json").write_text(json.dumps(result))
        return bundle_dir / "eval_results.json"

    def benchmark(bundle_dir, results_dir):
        calls.append("benchmark")

    def card_variables(bundle_dir, results_dir, train_dirs):
        calls.append("card_variables")
        return {
            "license": "apache-2.0",
            "sigma": json.loads((results_dir / "tiny_fam_calibration.json").read_text())["sigma"],
        }

    for fn in (calibrate, evaluate, benchmark, card_variables):
        setattr(fake, fn.__name__, fn)
    monkeypatch.setitem(sys.modules, "fake_release_hooks", fake)
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "tiny-fam.md").write_text(
        "---\n{{ card_data }}\n---\n\n# {{ model_id }}\n\nsigma {{ sigma }}\n"
    )
    monkeypatch.setattr(rel, "TEMPLATES_DIR", templates)
    family = tmp_family(tmp_path, id="tiny-fam", release="fake_release_hooks")
    model_dir = tmp_path / "final"
    tiny_model().save_pretrained(model_dir)
    AvLipsyncProcessor().save_pretrained(model_dir)

    card_path = rel.release(
        family, model_dir, "corpus-dir", results_dir=tmp_path / "results", cards_dir=tmp_path / "cards"
    )

    assert calls == ["calibrate", "evaluate", "benchmark", "card_variables"]
    assert (
        json.loads((tmp_path / "results" / "tiny_fam_calibration.json").read_text())["corpus"] == "corpus-dir"
    )
    bundle = family.checkpoint
    assert {p.name for p in bundle.iterdir()} == {*BUNDLE_FILES, "eval_results.json", "README.md"}
    assert (
        json.loads((bundle / "preprocessor_config.json").read_text())["crisp_mouth_offline"]["sigma"] == 0.75
    )
    assert json.loads((bundle / "eval_results.json").read_text())["model"] == "avzoo/tiny-fam"
    card = card_path.read_text()
    assert card_path == tmp_path / "cards" / "tiny-fam.md" and (bundle / "README.md").read_text() == card
    assert card.endswith("---\n\n# avzoo/tiny-fam\n\nsigma 0.75")
    assert front_matter(card)["model-index"][0]["results"][0]["metrics"][0]["value"] == 0.25

    calls.clear()
    rel.release(family, card_only=True, results_dir=tmp_path / "results", cards_dir=tmp_path / "cards")
    assert calls == ["card_variables"]
    with pytest.raises(ValueError, match="model_dir and corpus"):
        rel.release(family, results_dir=tmp_path / "results", cards_dir=tmp_path / "cards")


def test_every_family_with_release_hooks_has_them_and_a_card_template():
    from avzoo.families import with_part

    for family in with_part("release"):
        module = rel.hooks(family)
        for name in ("calibrate", "evaluate", "card_variables"):
            assert callable(getattr(module, name)), f"{family.release}.{name}"
        assert rel.card_template(family).is_file()
    with pytest.raises(ValueError, match="no release hooks"):
        rel.hooks("av-fer")


# --- the av-lipsync card -------------------------------------------------------------------------------------------


def fake_eval(failing: bool = False, offline: bool = False) -> dict:
    model = {
        "lipsync_mae": 0.0123,
        "mae": 0.0301,
        "rmse": 0.05,
        "jaw_open_mae": 0.02,
        "jaw_open_pearson": 0.93,
        "lip_closure_accuracy": 0.91,
        "lip_open_accuracy": 0.99,
        "jitter_ratio": 1.5,
    }
    if failing:
        model["lipsync_mae"] = 0.0456

    def bar(value, threshold, at_least):
        return {
            "value": value,
            "threshold": threshold,
            "pass": value >= threshold if at_least else value <= threshold,
        }

    thresholds = {
        "lipsync_mae": bar(model["lipsync_mae"], 0.015, False),
        "jaw_open_pearson": bar(model["jaw_open_pearson"], 0.9, True),
        "lip_closure_accuracy": bar(model["lip_closure_accuracy"], 0.9, True),
    }
    thresholds["all_pass"] = all(t["pass"] for t in thresholds.values())
    baseline = {"metrics": {**model, "lipsync_mae": 0.05, "jaw_open_pearson": float("nan")}}
    return {
        "model": "avzoo/av-lipsync",
        "task": {"type": "audio-to-blendshapes", "name": "Speech to ARKit blendshapes"},
        "dataset": {"name": "avzoo-synth", "type": "avzoo/synth", "split": "test"},
        "metrics": [
            {"type": "mae", "name": "Lipsync-group MAE", "value": model["lipsync_mae"], "config": "lipsync"},
            {"type": "pearsonr", "name": "jawOpen Pearson r", "value": 0.93, "config": "jawOpen"},
        ],
        "extra": {
            "num_utterances": 7,
            "num_frames": 777,
            "num_speakers": 3,
            "train_utterances": 4321,
            "thresholds": thresholds,
            "model": model,
            "model_crisp_mouth": {**model, "jitter_ratio": 1.01},
            "baselines": {"mean_pose": baseline, "rms_jaw": baseline},
            "real_voices": {"summary": {"all": {"files": 5, "jaw_rms_r": 0.61}, "note": "not a source"}},
            **(
                {
                    "model_offline": {**model, "lipsync_mae": 0.0111, "jaw_open_pearson": 0.96},
                    "offline_lookahead_frames": 20,
                    "thresholds_offline": {
                        "lipsync_mae": bar(0.0111, 0.0147, False),
                        "jaw_open_pearson": bar(0.96, 0.95, True),
                        "lipsync_mae_ratio_vs_mean_pose": bar(2.5, 3.0, True),
                        "all_pass": False,
                    },
                }
                if offline
                else {}
            ),
        },
    }


def fake_calibration() -> dict:
    held = {"speech_mae": 0.02, "mouth_jitter": 5.5, "lip_closure_accuracy": 0.9, "lip_open_accuracy": 0.98}
    return {
        "lip_seal_floor": {
            "chosen": 0.35,
            "trials": [
                {"floor": 0.3, "lip_closure_accuracy": 0.9, "lip_open_accuracy": 0.99},
                {"floor": 0.35, "lip_closure_accuracy": 0.95, "lip_open_accuracy": 0.985},
            ],
        },
        "crisp_mouth": {
            "data": {"held_out": 12},
            "offline_params": {"sigma": 1.5, "edge0": 0.1, "edge1": 0.4, "scale": 1.2},
            "stream_params": {"alpha": 0.6543},
            "held_out": dict.fromkeys(
                ("raw", "offline_without_seal", "offline", "stream_calibrated", "reference"), held
            ),
            "gap_mae_mouth": {"stream_calibrated_vs_offline": 0.0044, "raw_vs_offline": 0.0069},
        },
    }


@pytest.fixture
def card_inputs(tmp_path):
    """A bundle folder (tiny config + fake evaluation JSON) and a results folder (fake calibration; the recorded
    speed and label-ceiling benchmarks)."""
    bundle, results = tmp_path / "bundle", tmp_path / "results"
    AvLipsyncConfig(**TINY).save_pretrained(bundle)
    (bundle / "eval_results.json").write_text(json.dumps(fake_eval()))
    results.mkdir()
    (results / hooks.CALIBRATION).write_text(json.dumps(fake_calibration()))
    for name in (hooks.SPEED, hooks.CEILING):
        (results / name).write_text((REPO / "benchmarks" / "results" / name).read_text())
    return tmp_path, bundle, results


SECTIONS = [
    "# av-lipsync: speech → 52 ARKit blendshapes",
    "## Model description",
    "## Benchmarks",
    "### Quality bars",
    "### Against baselines and the label ceilings (same run, same frames)",
    "### Lip-seal head",
    "### crisp_mouth (validation-calibrated; scored on test)",
    "### Real voices (no labels: behaviour checks)",
    "### Speed (one CPU thread)",
    "## How to use",
    "## Evaluation results",
    "## Intended use",
    "## Training",
    "## Limitations",
]


def test_av_lipsync_card_from_fake_evaluation(card_inputs):
    _, bundle, results = card_inputs
    family = dataclasses.replace(get_family("av-lipsync"), checkpoint_dir=bundle)

    card = rel.render_card(family, results_dir=results)

    meta = front_matter(card)
    assert meta["license"] == "apache-2.0" and meta["library_name"] == "transformers"
    assert meta["tags"][:2] == ["avzoo", "audio-to-blendshapes"]
    (index,) = meta["model-index"]
    assert index["name"] == "avzoo/av-lipsync"
    assert [m["value"] for m in index["results"][0]["metrics"]] == [0.0123, 0.93]
    headings = [line for line in card.splitlines() if line.startswith("#")]
    assert [h for h in headings if h in SECTIONS] == SECTIONS
    assert "It meets every quality bar of the project" in card
    assert "| streaming | lipsync_mae | 0.0123 | 0.015 | pass |" in card
    assert "| jawOpen Pearson r | 0.9300 | 0.9300 | – | – |" in card  # NaN baseline cells
    assert "Offline quality mode" not in card and "| offline |" not in card  # a checkpoint without it
    assert "| all | 5 | 0.6100 | – | – | – | – |" in card and "| note |" not in card
    assert "0.3 (closure 0.900, open 0.990), 0.35 (closure 0.950, open 0.985)" in card
    assert "Gaussian σ = 1.5, gate edges 0.1–0.4, scale\n1.2; closure seal off" in card
    assert "causal EMA α = 0.654" in card and "Scored on the first 12 test utterances" in card
    assert "predicts the 28 speech channels" in card and "t* + 2 (look-ahead)" in card
    assert "Held-out synthetic test split: 7 utterances, 777 frames,\n3 speakers" in card
    assert "(4321 training utterances; espeak-ng" in card  # no training runs recorded
    assert 'pipeline("audio-to-blendshapes", model="avzoo/av-lipsync")' in card
    assert 'animate("speech.wav", emotion="happy", intensity="normal", crisp_mouth=True)' in card
    assert "model.streamer(processor," in card and 'processor.condition_for("happy", 0.8)' in card
    for gone in ("model.config.condition_for", "model.crisp_mouth(", "scripts/release_av_lipsync.py"):
        assert gone not in card
    assert card.endswith("- Head pose is not predicted.\n")

    (bundle / "eval_results.json").write_text(json.dumps(fake_eval(failing=True)))
    card = rel.render_card(family, results_dir=results)
    assert card.count("It misses these quality bars: streaming lipsync_mae (see Benchmarks).") == 2
    assert "| streaming | lipsync_mae | 0.0456 | 0.015 | **fail** |" in card

    (bundle / "eval_results.json").write_text(json.dumps(fake_eval(offline=True)))
    AvLipsyncConfig(**TINY, offline_dilations=[1, 2]).save_pretrained(bundle)
    card = rel.render_card(family, results_dir=results)
    assert "It misses these quality bars: offline lipsync_mae_ratio_vs_mean_pose (see Benchmarks)." in card
    assert "| offline | lipsync_mae | 0.0111 | 0.0147 | pass |" in card
    assert "| jawOpen Pearson r | 0.9300 | 0.9300 | 0.9600 | – | – | – |" in card  # no offline + crisp_mouth
    assert "**Offline quality mode**" in card and "sees 20 frames (667 ms) ahead" in card
    assert "Phase 3 freezes both and trains the offline refiner" in card


def test_av_lipsync_card_lists_training_runs_and_records_them(card_inputs):
    tmp_path, bundle, results = card_inputs
    corpus = tmp_path / "corpus-x"
    corpus.mkdir()
    (corpus / "config.json").write_text(json.dumps({"utterances": {"train": 900}, "speakers": {"train": 9}}))
    runs = []
    for name, extra in (
        (
            "p1",
            {
                "phase": 1,
                "model": {"lookahead_frames": 1, "lipsync_dilations": [1, 2, 4]},
                "phone_head": True,
            },
        ),
        ("p2", {"phase": 2, "init_from": str(tmp_path / "p1" / "final")}),
    ):
        run = tmp_path / name
        run.mkdir()
        config = {
            "corpus_dir": str(corpus),
            "num_epochs": 3,
            "batch_size": 4,
            "learning_rate": 0.0005,
            **extra,
        }
        (run / "train_config.json").write_text(json.dumps(config))
        (run / "metrics.jsonl").write_text('{"step": 10}\n{"step": 20}\n')
        runs.append(run)

    variables = hooks.card_variables(bundle, results, runs)
    family = dataclasses.replace(get_family("av-lipsync"), checkpoint_dir=bundle)
    card = rel.render_card(family, runs, results_dir=results)

    assert "(`corpus-x`: 900 training utterances from 9 speakers; espeak-ng" in card
    assert (
        "- `p1`, phase 1, on `corpus-x`, look-ahead 1 frame, 3 lipsync blocks, with the auxiliary phone head: "
        "up to epoch 3, batch 4, lr 0.0005, 20 steps, 0 min wall-clock" in card
    )
    assert "- `p2`, phase 2, on `corpus-x`, starting from `p1`: up to epoch 3" in card
    recorded = json.loads((results / hooks.TRAINING_RUNS).read_text())
    assert recorded["runs"] == variables["training"]["runs"]
    assert rel.render_card(family, results_dir=results) == card  # later re-renders read the record

    # A run that continues the bundled checkpoint itself (phase 3 on the release) extends the recorded history.
    p3 = tmp_path / "p3"
    p3.mkdir()
    bundled = REPO / "avzoo" / "pretrained" / "av-lipsync"
    config = {"corpus_dir": str(corpus), "phase": 3, "init_from": str(bundled), "num_epochs": 1}
    (p3 / "train_config.json").write_text(json.dumps({**config, "batch_size": 4, "learning_rate": 0.001}))
    extended = hooks.training_runs([p3], results)
    assert [r["name"] for r in extended["runs"]] == ["p1", "p2", "p3"]
    assert extended["runs"][-1]["init_from"] == "av-lipsync" and "corpus-x" in extended["corpora"]


def test_bundled_card_is_the_rendered_one():
    """model_cards/av-lipsync.md and the bundle's README.md are what `avzoo release av-lipsync --card-only`
    renders from the JSON files in place: rerun it after changing the template or the results."""
    card = rel.render_card("av-lipsync")
    assert (REPO / "model_cards" / "av-lipsync.md").read_text() == card
    assert (get_family("av-lipsync").checkpoint / "README.md").read_text() == card


# --- calibration ------------------------------------------------------------------------------------------------------


def synthetic_tracks(n: int, seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """References with opening/closing mouths and pauses, and predictions that blur, undershoot and jitter."""
    rng = np.random.default_rng(seed)
    refs, preds = [], []
    for _ in range(n):
        frames = int(rng.integers(60, 90))
        t = np.arange(frames) / 30.0
        ref = np.zeros((frames, arkit.NUM_BLENDSHAPES), np.float32)
        speech = (np.sin(2 * np.pi * 0.5 * t + rng.uniform(0, 6)) > -0.3).astype(np.float32)
        jaw = speech * np.clip(np.sin(2 * np.pi * rng.uniform(3, 5) * t), 0, None) * rng.uniform(0.3, 0.6)
        ref[:, MOUTH] = jaw[:, None] * rng.uniform(0.2, 1.0, len(MOUTH))[None]
        ref[:, arkit.INDEX["jawOpen"]] = jaw
        pred = 0.85 * ref + 0.02 + 0.03 * rng.standard_normal(ref.shape)
        refs.append(ref)
        preds.append(np.clip(pred, 0, 1).astype(np.float32))
    return preds, refs


def test_crisp_mouth_calibration_on_synthetic_tracks():
    grid = {"sigma": [0.5, 1.5], "edge0": [0.0, 0.2], "edge1": [0.2, 0.6], "scale": [1.0, 1.2]}
    seal_grid = [(None, None), (0.1, 0.2)]
    cal_preds, cal_refs = synthetic_tracks(5, seed=0)
    test_preds, test_refs = synthetic_tracks(5, seed=1)

    report = calibrate_crisp_mouth(cal_preds, cal_refs, test_preds, test_refs, grid=grid, seal_grid=seal_grid)

    offline = report["offline_params"]
    for key, values in grid.items():
        assert offline[key] in values, key
    assert offline["edge0"] < offline["edge1"]
    assert (offline.get("seal_edge0"), offline.get("seal_edge1")) in seal_grid
    stream = report["stream_params"]
    assert 0.0 < stream["alpha"] <= 1.0 and stream["scale"] == offline["scale"]
    edge0, edge1 = np.array(stream["edge0"]), np.array(stream["edge1"])
    assert edge0.shape == edge1.shape == (arkit.NUM_BLENDSHAPES,)
    assert np.all(edge0 >= 0) and np.all(edge0 <= edge1) and np.all(edge1 <= 1)
    held = report["held_out"]
    assert held["offline"]["mouth_jitter"] < held["raw"]["mouth_jitter"]  # the filter steadies the mouth
    assert held["reference"]["speech_mae"] == 0.0
    assert all(np.isfinite(v) for v in report["gap_mae_mouth"].values())
    json.dumps(report, allow_nan=False)  # the calibration JSON the release writes

    offline_settings, stream_settings = processor_settings(report)
    processor = AvLipsyncProcessor(crisp_mouth_offline=offline_settings, crisp_mouth_stream=stream_settings)
    assert set(processor.crisp_mouth_stream) == {*STREAM_KEYS, "keep_closures"}
    assert processor.crisp_mouth_offline["keep_closures"] and processor.crisp_mouth_offline["tongue_gate"]
    assert processor.crisp_mouth(test_preds[0]).shape == test_preds[0].shape


def test_seal_floor_choice_trades_closures_against_false_closures(monkeypatch):
    """The floor maximises closure accuracy - 3 x false-closure rate; ties go to the lower floor."""
    import avzoo.evaluation.av_lipsync as evaluation

    model = types.SimpleNamespace(config=AvLipsyncConfig(**TINY))
    closure = {0.25: 0.90, 0.3: 0.93, 0.35: 0.95, 0.4: 0.96, 0.45: 0.96, 0.5: 0.97}
    opened = {0.25: 0.99, 0.3: 0.99, 0.35: 0.99, 0.4: 0.99, 0.45: 0.99, 0.5: 0.98}

    def predict_rows(model_, processor, rows, mode=None):
        assert mode is None  # a model without the offline mode is calibrated as it runs
        return [model_.config.lip_seal_floor["mouthPressLeft"]]

    def score_rows(predictions, rows):
        (floor,) = predictions
        return {
            "lipsync_mae": 0.02,
            "lip_closure_accuracy": closure[floor],
            "lip_open_accuracy": opened[floor],
        }

    monkeypatch.setattr(evaluation, "predict_rows", predict_rows)
    monkeypatch.setattr(evaluation, "score_rows", score_rows)
    report, predictions = hooks.calibrate_seal_floor(model, None, rows=[{}] * 4)
    assert report["chosen"] == 0.4 and predictions == [0.4]
    assert model.config.lip_seal_floor == {"mouthPressLeft": 0.4, "mouthPressRight": 0.4}
    assert [t["floor"] for t in report["trials"]] == list(hooks.SEAL_FLOORS)
