"""Metrics: plain functions against reference implementations and hand-worked cases, and the
evaluate modules loading offline and agreeing with the functions."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import warnings
from itertools import permutations

import numpy as np
import pytest

from avzoo import arkit
from avzoo.metrics import METRICS, load, metric_path
from avzoo.metrics.functional import (
    blendshape_errors,
    classification_metrics,
    lip_state,
    match_sources,
    pairwise_si_snr,
    sdr,
    separation_metrics,
    separation_scores,
    si_snr,
)


def assert_same(a, b, rtol=1e-9, atol=1e-12, path="result"):
    """Recursive equality of metric outputs, NaN == NaN, floats within tolerance."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), f"{path}: keys {sorted(a)} vs {sorted(b)}"
        for k in a:
            assert_same(a[k], b[k], rtol, atol, f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{path}: length {len(a)} vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, rtol, atol, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            assert math.isnan(a) and math.isnan(b), f"{path}: {a} vs {b}"
        else:
            assert math.isclose(a, b, rel_tol=rtol, abs_tol=atol), f"{path}: {a} vs {b}"
    else:
        assert a == b, f"{path}: {a!r} vs {b!r}"


# --- classification --------------------------------------------------------------------------


def test_classification_matches_sklearn():
    import sklearn.metrics as skm

    rng = np.random.default_rng(0)
    refs = rng.integers(0, 5, 200)  # classes 0-4 in the references
    preds = np.where(rng.random(200) < 0.6, refs, rng.integers(0, 6, 200))  # class 5 only predicted
    preds[preds == 3] = 4  # class 3 never predicted: precision 0 by convention
    out = classification_metrics(preds.tolist(), refs.tolist())
    labels = list(range(6))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns about the absent classes, by design here
        assert out["accuracy"] == pytest.approx(skm.accuracy_score(refs, preds))
        assert out["uar"] == pytest.approx(skm.balanced_accuracy_score(refs, preds))
        assert out["war"] == pytest.approx(skm.recall_score(refs, preds, average="weighted", zero_division=0))
        assert out["macro_f1"] == pytest.approx(skm.f1_score(refs, preds, average="macro", zero_division=0))
        assert out["weighted_f1"] == pytest.approx(
            skm.f1_score(refs, preds, average="weighted", zero_division=0)
        )
        assert out["macro_precision"] == pytest.approx(
            skm.precision_score(refs, preds, average="macro", zero_division=0)
        )
        prec, rec, f1, sup = skm.precision_recall_fscore_support(refs, preds, labels=labels, zero_division=0)
    assert out["confusion_matrix"] == skm.confusion_matrix(refs, preds, labels=labels).tolist()
    assert out["labels"] == [str(c) for c in labels]
    np.testing.assert_allclose(list(out["per_class_precision"].values()), prec)
    np.testing.assert_allclose(list(out["per_class_f1"].values()), f1)
    assert list(out["support"].values()) == sup.tolist()
    recall = list(out["per_class_recall"].values())
    np.testing.assert_allclose(recall[:5], rec[:5])
    assert math.isnan(recall[5])  # class 5 has no reference examples: recall undefined
    assert out["war"] == out["accuracy"]


def test_classification_hand_worked_with_names():
    out = classification_metrics(
        ["happy", "sad", "sad", "happy", "angry"],
        ["happy", "sad", "happy", "happy", "sad"],
        labels=["sad", "happy", "angry", "fear"],
    )
    assert out["labels"] == ["sad", "happy", "angry", "fear"]
    # rows = reference, columns = prediction
    assert out["confusion_matrix"] == [[1, 0, 1, 0], [1, 2, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    assert out["accuracy"] == pytest.approx(3 / 5)
    assert out["uar"] == pytest.approx((1 / 2 + 2 / 3) / 2)  # angry, fear have no references
    f1_sad, f1_happy = 2 * 1 / (2 + 2), 2 * 2 / (3 + 2)
    assert out["macro_f1"] == pytest.approx((f1_sad + f1_happy + 0.0) / 3)  # fear occurs nowhere: left out
    assert out["weighted_f1"] == pytest.approx((2 * f1_sad + 3 * f1_happy) / 5)
    assert math.isnan(out["per_class_f1"]["fear"])


def test_classification_rejects_bad_input():
    with pytest.raises(ValueError, match="not among the classes"):
        classification_metrics([0, 3], [0, 1], labels=["a", "b"])
    with pytest.raises(ValueError, match="2 predictions but 3 references"):
        classification_metrics([0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="mix integer and string"):
        classification_metrics([0, "a"], [0, 1])
    with pytest.raises(ValueError, match="non-integer"):
        classification_metrics([0.5], [1])


# --- separation ------------------------------------------------------------------------------


def _noise_at_snr(signal: np.ndarray, snr_db: float, rng) -> np.ndarray:
    """Zero-mean noise orthogonal to the zero-mean signal, at exactly `snr_db` below it."""
    s = signal - signal.mean()
    n = rng.standard_normal(signal.shape)
    n -= n.mean()
    n -= (n @ s) / (s @ s) * s
    return n * np.sqrt((s @ s) / (n @ n) / 10 ** (snr_db / 10))


def test_si_snr_hand_worked():
    rng = np.random.default_rng(0)
    ref = rng.standard_normal(8000)
    assert si_snr(0.25 * ref, ref)[0] > 140  # a scaled copy is perfect, capped near 150 dB
    for snr_db in (-5.0, 0.0, 10.0, 25.0):
        est = ref + _noise_at_snr(ref, snr_db, rng)
        assert si_snr(est, ref)[0] == pytest.approx(snr_db, abs=0.01)
        assert si_snr(3.0 * est + 0.2, ref)[0] == pytest.approx(
            snr_db, abs=0.01
        )  # scale and offset invariant


def test_sdr_forgives_filtering_and_matches_mir_eval():
    rng = np.random.default_rng(1)
    ref = rng.standard_normal((3, 4000))
    delayed = np.concatenate([np.zeros(5), ref[0, :-5]])
    # A 5-sample delay ruins SI-SNR but sits inside BSS-eval's 512-tap distortion filter.
    assert si_snr(delayed, ref[0])[0] < -20
    assert sdr(delayed, ref[0])[0] > 25
    est = np.stack(
        [
            ref[0] + 0.3 * rng.standard_normal(4000),
            np.convolve(ref[1], [1.0, 0.5, -0.2])[:4000] + 0.05 * rng.standard_normal(4000),
            0.5 * ref[2] + 0.5 * ref[0],
        ]
    )
    ours = sdr(est, ref)
    import mir_eval

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # bss_eval_sources is deprecated in mir_eval 0.8
        expected = mir_eval.separation.bss_eval_sources(ref, est, compute_permutation=False)[0]
    np.testing.assert_allclose(ours, expected, atol=1e-6)


@pytest.mark.parametrize("n_sources", [2, 3, 4, 6])
def test_permutation_recovered(n_sources):
    rng = np.random.default_rng(n_sources)
    refs = rng.standard_normal((n_sources, 2000))
    shuffle = rng.permutation(n_sources)
    while n_sources > 1 and (shuffle == np.arange(n_sources)).all():
        shuffle = rng.permutation(n_sources)
    est = refs[shuffle] + 0.1 * rng.standard_normal(refs.shape)  # est[j] is a noisy ref[shuffle[j]]
    res = separation_scores(est, refs)
    assert res["permutation"] == np.argsort(shuffle).tolist()
    assert min(res["si_snr"]) > 15
    np.testing.assert_allclose(res["si_snr"], si_snr(est[res["permutation"]], refs))


def test_hungarian_equals_brute_force():
    rng = np.random.default_rng(0)
    for n in (4, 5, 6):
        for _ in range(50):
            scores = rng.normal(size=(n, n)) * 10
            brute = max(permutations(range(n)), key=lambda p: sum(scores[i, p[i]] for i in range(n)))
            assert match_sources(scores, "hungarian") == brute
            assert match_sources(scores, "exhaustive") == brute
            assert match_sources(scores) == brute


def test_pairwise_matrix_orientation():
    rng = np.random.default_rng(0)
    refs = rng.standard_normal((3, 1000))
    est = rng.standard_normal((3, 1000))
    m = pairwise_si_snr(est, refs)
    assert m[2, 0] == pytest.approx(si_snr(est[0], refs[2])[0])  # row: reference, column: estimate


def test_improvements_are_zero_for_the_mixture_itself():
    rng = np.random.default_rng(0)
    refs = rng.standard_normal((2, 2000))
    mix = refs.sum(axis=0)
    res = separation_scores(np.stack([mix, mix]), refs, mix)
    np.testing.assert_allclose(res["si_snri"], 0.0, atol=1e-9)
    np.testing.assert_allclose(res["sdri"], 0.0, atol=1e-9)
    good = separation_scores(refs + 0.01 * rng.standard_normal(refs.shape), refs, mix)
    assert min(good["si_snri"]) > 30


def test_separation_input_errors_and_trim():
    rng = np.random.default_rng(0)
    refs = rng.standard_normal((2, 2000))
    with pytest.raises(ValueError, match="lengths differ"):
        separation_scores(refs[:, :1990], refs)
    trimmed = separation_scores(refs[:, :1990], refs, trim=True)
    assert_same(trimmed, separation_scores(refs[:, :1990], refs[:, :1990]))
    silent = refs.copy()
    silent[1] = 0.0
    with pytest.raises(ValueError, match=r"reference source\(s\) \[1\] are silent"):
        separation_scores(refs, silent)
    with pytest.raises(ValueError, match=r"estimate source\(s\) \[1\] are silent"):
        separation_scores(silent, refs)
    with pytest.raises(ValueError, match="3 estimated sources but 2 references"):
        separation_scores(np.vstack([refs, refs[:1]]), refs)
    with pytest.raises(ValueError, match="example 1"):
        separation_metrics([refs, refs], [refs, silent])


def test_separation_on_real_mixture(shared_data):
    import soundfile as sf

    folder = shared_data / "real-mixtures" / "sample1"
    s1, _ = sf.read(folder / "s1.wav", dtype="float32")
    s2, _ = sf.read(folder / "s2.wav", dtype="float32")
    mix, _ = sf.read(folder / "mix.wav", dtype="float32")
    n = 16000 * 2  # 2 s keep the test fast
    refs = np.stack([s1[:n], s2[:n]])
    est = np.stack([0.9 * s2[:n] + 0.1 * s1[:n], 0.8 * s1[:n] + 0.2 * s2[:n]])
    res = separation_metrics([est], [refs], [mix[:n]])
    assert res["permutations"] == [[1, 0]]
    assert min(res["si_snri_per_example"][0]) > 5


# --- blendshapes -----------------------------------------------------------------------------


def _tracks(rng, lengths=(40, 25)):
    refs = [rng.random((t, 52)).astype(np.float32) for t in lengths]
    preds = [np.clip(r + rng.normal(0, 0.1, r.shape), 0, 1).astype(np.float32) for r in refs]
    return preds, refs


def test_blendshape_errors_match_numpy_and_scipy():
    from scipy import stats

    preds, refs = _tracks(np.random.default_rng(0))
    out = blendshape_errors(preds, refs)
    P, R = np.concatenate(preds).astype(np.float64), np.concatenate(refs).astype(np.float64)
    assert out["num_frames"] == 65
    assert out["mae"] == pytest.approx(np.abs(P - R).mean())
    assert out["rmse"] == pytest.approx(np.sqrt(((P - R) ** 2).mean()))
    for name in ("jawOpen", "eyeBlinkLeft", "tongueOut"):
        i = arkit.INDEX[name]
        assert out["mae_per_channel"][name] == pytest.approx(np.abs(P[:, i] - R[:, i]).mean())
        assert out["pearson_per_channel"][name] == pytest.approx(stats.pearsonr(P[:, i], R[:, i])[0])
    for group in ("lipsync", "shared", "expression", "eyes", "brows", "jaw", "mouth"):
        idx = arkit.indices(group)
        assert out["mae_per_group"][group] == pytest.approx(np.abs(P[:, idx] - R[:, idx]).mean())
        assert out["rmse_per_group"][group] == pytest.approx(np.sqrt(((P[:, idx] - R[:, idx]) ** 2).mean()))
    vel = np.concatenate(
        [
            np.diff(p.astype(float), axis=0) - np.diff(r.astype(float), axis=0)
            for p, r in zip(preds, refs, strict=True)
        ]
    )
    assert out["velocity_mae"] == pytest.approx(np.abs(vel).mean() * 30)
    jp = np.concatenate([np.abs(np.diff(p.astype(float), 2, axis=0)).ravel() for p in preds]).mean() * 900
    jr = np.concatenate([np.abs(np.diff(r.astype(float), 2, axis=0)).ravel() for r in refs]).mean() * 900
    assert out["jitter_pred"] == pytest.approx(jp)
    assert out["jitter_ref"] == pytest.approx(jr)
    assert out["jitter_ratio"] == pytest.approx(jp / jr)


def test_constant_channel_has_no_pearson_and_leaves_the_mean():
    preds, refs = _tracks(np.random.default_rng(1), lengths=(30,))
    refs[0][:, arkit.INDEX["cheekPuff"]] = 0.0
    out = blendshape_errors(preds, refs)
    assert math.isnan(out["pearson_per_channel"]["cheekPuff"])
    assert out["pearson_undefined"] == ["cheekPuff"]
    others = [v for k, v in out["pearson_per_channel"].items() if k != "cheekPuff"]
    assert out["pearson"] == pytest.approx(np.mean(others))
    cheeks = [out["pearson_per_channel"][n] for n in arkit.CHEEKS if n != "cheekPuff"]
    assert out["pearson_per_group"]["cheeks"] == pytest.approx(np.mean(cheeks))


def test_jitter_hand_worked():
    t = np.arange(12)
    ref = np.zeros((12, 52))
    ref[:, arkit.INDEX["jawOpen"]] = 0.0625 * t  # an exact ramp: no acceleration
    pred = ref.copy()
    pred[:, arkit.INDEX["jawOpen"]] += 0.01 * (-1.0) ** t  # a 0.01 zig-zag: |second difference| = 0.04
    out = blendshape_errors(pred, ref, fps=25)
    assert out["jitter_ref"] == 0.0
    assert out["jitter_pred"] == pytest.approx(0.04 / 52 * 25**2)
    assert math.isnan(out["jitter_ratio"])
    assert out["velocity_mae"] == pytest.approx(0.02 / 52 * 25)  # |first difference| error is 0.02


def _frame(**values):
    return arkit.from_dict(values)


def test_lip_closure_constructed_case():
    closed = _frame(jawOpen=0.3, mouthClose=0.3)  # lips together with the jaw dropped
    pressed = _frame(mouthPressLeft=0.5, mouthPressRight=0.5)  # lips pressed, jaw shut
    opened = _frame(jawOpen=0.5)
    rest = _frame()
    ref = np.stack([closed, pressed, closed, opened, opened, opened, rest, rest])
    pred = np.stack([pressed, closed, opened, opened, closed, rest, pressed, rest])
    c, o = lip_state(ref)
    assert c.tolist() == [True, True, True, False, False, False, False, False]
    assert o.tolist() == [False, False, False, True, True, True, False, False]
    out = blendshape_errors(pred, ref)
    assert out["lip_closed_frames"] == 3 and out["lip_open_frames"] == 3
    assert out["lip_closure_accuracy"] == pytest.approx(2 / 3)  # frame 2 opened instead of closing
    assert out["lip_open_accuracy"] == pytest.approx(2 / 3)  # frame 4 closed while it should be open
    # A phoneme-derived mask replaces the reference closed set: frames 0 and 6 must close.
    mask = np.zeros(8, dtype=bool)
    mask[[0, 6]] = True
    out = blendshape_errors(pred, ref, lips_closed=[mask])
    assert out["lip_closed_frames"] == 2 and out["lip_closure_accuracy"] == 1.0
    assert out["lip_open_frames"] == 3 and out["lip_open_accuracy"] == pytest.approx(2 / 3)
    none_closed = blendshape_errors(np.stack([opened] * 3), np.stack([opened] * 3))
    assert math.isnan(none_closed["lip_closure_accuracy"]) and none_closed["lip_open_accuracy"] == 1.0


def test_blendshape_orders_are_converted_by_name():
    preds, refs = _tracks(np.random.default_rng(2), lengths=(20,))
    canonical = blendshape_errors(preds, refs)
    livelink = blendshape_errors(
        [arkit.convert(p, "canonical", "livelink") for p in preds],
        [arkit.convert(r, "canonical", "livelink") for r in refs],
        names="livelink",
    )
    assert_same(canonical, livelink)
    mixed = blendshape_errors(
        [arkit.convert(p, "canonical", "alphabetical") for p in preds],
        refs,
        names="alphabetical",
        reference_names="canonical",
    )
    assert_same(canonical, mixed)
    mp = blendshape_errors(
        [arkit.convert(p, "canonical", "mediapipe") for p in preds],
        refs,
        names="mediapipe",
        reference_names="canonical",
    )
    assert "tongueOut" not in mp["mae_per_channel"]  # MediaPipe has no tongueOut: left out, not compared as 0
    assert "tongue" not in mp["mae_per_group"]


def test_blendshape_input_errors_and_trim():
    preds, refs = _tracks(np.random.default_rng(3), lengths=(20,))
    with pytest.raises(ValueError, match="lengths differ"):
        blendshape_errors([preds[0][:18]], refs)
    assert_same(
        blendshape_errors([preds[0][:18]], refs, trim=True),
        blendshape_errors([preds[0][:18]], [refs[0][:18]]),
    )
    with pytest.raises(ValueError, match="51 channels but its channel order names 52"):
        blendshape_errors([preds[0][:, :51]], refs)
    bad = preds[0].copy()
    bad[3, 4] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        blendshape_errors([bad], refs)
    with pytest.raises(ValueError, match="fps"):
        blendshape_errors(preds, refs, fps=0)


# --- evaluate modules ------------------------------------------------------------------------


def test_metric_path_and_unknown_name():
    for name in METRICS:
        assert os.path.isfile(os.path.join(metric_path(name), f"{name}.py"))
    with pytest.raises(ValueError, match="unknown metric"):
        metric_path("bleu")


def test_evaluate_modules_match_functions_with_batches():
    rng = np.random.default_rng(4)

    preds, refs = _tracks(rng, lengths=(12, 9, 15))
    masks = [rng.random(len(r)) < 0.3 for r in refs]
    metric = load("blendshape_error", config_name="with_lips_closed", keep_in_memory=True)
    metric.add_batch(predictions=preds[:2], references=refs[:2], lips_closed=masks[:2])
    metric.add_batch(predictions=preds[2:], references=refs[2:], lips_closed=masks[2:])
    assert_same(metric.compute(fps=25), blendshape_errors(preds, refs, fps=25, lips_closed=masks))
    plain = load("blendshape_error", keep_in_memory=True)
    assert_same(plain.compute(predictions=preds, references=refs), blendshape_errors(preds, refs))

    srcs = [rng.standard_normal((k, 1200)).astype(np.float32) for k in (2, 3, 2)]
    ests = [(s[::-1] + 0.2 * rng.standard_normal(s.shape)).astype(np.float32) for s in srcs]
    mixes = [s.sum(axis=0) for s in srcs]
    metric = load("separation", config_name="with_mixture", keep_in_memory=True)
    for e, s, m in zip(ests, srcs, mixes, strict=True):
        metric.add_batch(predictions=[e], references=[s], mixtures=[m])
    expected = separation_metrics(ests, srcs, mixes)
    assert_same(metric.compute(), expected, rtol=1e-6)
    assert expected["permutations"] == [[1, 0], [2, 1, 0], [1, 0]]

    metric = load("classification", keep_in_memory=True)
    metric.add_batch(predictions=[0, 1, 2], references=[0, 2, 2])
    metric.add_batch(predictions=[1, 1], references=[1, 0])
    names = ["neutral", "happy", "sad"]
    assert_same(metric.compute(labels=names), classification_metrics([0, 1, 2, 1, 1], [0, 2, 2, 1, 0], names))
    assert load("classification").compute(predictions=["a", "b"], references=["a", "a"])["labels"] == [
        "a",
        "b",
    ]


_OFFLINE_SCRIPT = """
import json, socket, sys
def _no_network(*args, **kwargs):
    raise OSError("network access attempted")
socket.socket.connect = _no_network
socket.create_connection = _no_network
import numpy as np
import evaluate
from avzoo.metrics import metric_path
rng = np.random.default_rng(0)
out = {}
m = evaluate.load(metric_path("classification"))
out["classification"] = m.compute(predictions=[0, 1, 1], references=[0, 1, 0])["uar"]
m = evaluate.load(metric_path("blendshape_error"))
ref = rng.random((10, 52)).astype("float32")
out["blendshape_error"] = m.compute(predictions=[ref + 0.125], references=[ref])["mae"]
m = evaluate.load(metric_path("separation"))
refs = rng.standard_normal((2, 1024)).astype("float32")
out["separation"] = m.compute(predictions=[refs[::-1]], references=[refs])["permutations"]
json.dump(out, sys.stdout)
"""


def test_evaluate_load_offline(tmp_path):
    env = {
        **os.environ,
        "HF_HOME": str(tmp_path / "hf"),  # fresh module cache: the scripts are copied and imported anew
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_EVALUATE_OFFLINE": "1",
    }
    proc = subprocess.run(
        [sys.executable, "-c", _OFFLINE_SCRIPT], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["classification"] == pytest.approx(0.75)
    assert out["blendshape_error"] == pytest.approx(0.125, abs=1e-6)
    assert out["separation"] == [[1, 0]]
