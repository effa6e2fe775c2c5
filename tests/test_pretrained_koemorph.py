"""The bundled koemorph checkpoint: it ships complete, loads the plain way, and meets quality floors on held-out data.

The bundle is part of the package, so a missing or incomplete folder fails here (nothing is skipped). The held-out
set is built with a seed the training corpus did not use (new speakers) from the ``test`` sentence split. The floors
are regression guards set below the checkpoint's measured numbers on this set (see FLOORS); the issue's bars and the
full evaluation are in the model card.
"""

import json

import numpy as np
import pytest
import torch

from avzoo import arkit
from avzoo.evaluation.inference import predict_blendshapes
from avzoo.evaluation.rows import load_test_rows
from avzoo.families import get_family
from avzoo.metrics.functional.blendshape import blendshape_errors
from avzoo.pretrained import bundled, path
from avzoo.synth.corpus import CorpusConfig, build_corpus

# Measured on this held-out set: lipsync MAE 0.0468 (its own mean pose 0.0510, ratio 0.92), jawOpen r 0.566, expression
# MAE 0.114 (mean pose 0.106: worse, see the card); on 2 s of -80 dBFS noise jawOpen stays under 0.018 and the face
# moves 0.0004 per frame.
FLOORS = {
    "lipsync_mae_max": 0.050,
    "lipsync_vs_mean_pose_max": 0.97,
    "jaw_open_pearson_min": 0.50,
    "expression_mae_max": 0.125,
    "silence_jaw_max": 0.05,
    "silence_motion_max": 0.005,
}
BUNDLE_FILES = {
    "config.json",
    "model.safetensors",
    "preprocessor_config.json",
    "README.md",
    "eval_results.json",
}


@pytest.fixture(scope="module")
def held_out(tmp_path_factory):
    cfg = CorpusConfig(utterances={"test": 16}, speakers={"test": 4}, seed=2024, shard_size=16)
    ds = build_corpus(cfg, tmp_path_factory.mktemp("heldout"), num_proc=1, progress=False)
    return load_test_rows(ds["test"])


@pytest.fixture(scope="module")
def tracks(held_out):
    from transformers import AutoModel, AutoProcessor

    torch.set_num_threads(1)
    model = AutoModel.from_pretrained("avzoo/koemorph", use_safetensors=True).eval()
    processor = AutoProcessor.from_pretrained("avzoo/koemorph")
    return predict_blendshapes(
        model, processor, [r["audio"] for r in held_out], num_frames=[len(r["reference"]) for r in held_out]
    )


def test_bundle_is_complete_and_scored():
    assert "koemorph" in bundled(), "the bundled koemorph checkpoint is missing from the package"
    folder = path("koemorph")
    assert get_family("koemorph").checkpoint == folder
    assert {f.name for f in folder.iterdir()} == BUNDLE_FILES
    config = json.loads((folder / "config.json").read_text())
    assert config["model_type"] == "koemorph" and config["architectures"] == ["KoemorphModel"]
    assert config["use_emotion_stream"] and config["mel_context_frames"] == 256
    processor = json.loads((folder / "preprocessor_config.json").read_text())
    assert processor["feature_extractor_type"] == "KoemorphProcessor"
    assert len(processor["egemaps_mean"]) == len(processor["egemaps_std"]) == 88
    assert len(processor["mel_mean"]) == 80
    assert "auto_map" not in config and "auto_map" not in processor, "the bundle is not remote code"
    result = json.loads((folder / "eval_results.json").read_text())
    result = result[0] if isinstance(result, list) else result
    assert result["model"] == "avzoo/koemorph" and result["extra"]["num_utterances"] >= 100
    assert {"koemorph", "mel_only", "av_lipsync_streaming_oracle"} <= set(
        result["extra"]["synthetic"]["systems"]
    )


def test_quality_floors_on_held_out_synthetic_speech(held_out, tracks):
    refs = [r["reference"] for r in held_out]
    errors = blendshape_errors(tracks, refs, fps=30.0, lips_closed=[r["lips_closed"] for r in held_out])
    still = [np.broadcast_to(np.concatenate(refs).mean(0), r.shape) for r in refs]  # the set's own mean pose
    baseline = blendshape_errors(still, refs, fps=30.0)
    lipsync = errors["mae_per_group"]["lipsync"]
    assert lipsync <= FLOORS["lipsync_mae_max"]
    assert lipsync <= baseline["mae_per_group"]["lipsync"] * FLOORS["lipsync_vs_mean_pose_max"]
    assert errors["pearson_per_channel"]["jawOpen"] >= FLOORS["jaw_open_pearson_min"]
    assert errors["mae_per_group"]["expression"] <= FLOORS["expression_mae_max"]


def test_silence_gives_a_still_face_near_rest():
    from transformers import pipeline

    import avzoo  # noqa: F401

    animate = pipeline("audio-to-blendshapes", model="avzoo/koemorph")
    rng = np.random.default_rng(0)
    quiet = (1e-4 * rng.standard_normal(16000 * 2)).astype(np.float32)
    track = animate(quiet, sampling_rate=16000)["blendshapes"]
    assert track[:, arkit.INDEX["jawOpen"]].max() <= FLOORS["silence_jaw_max"]
    assert np.abs(np.diff(track, axis=0)).mean() <= FLOORS["silence_motion_max"]
