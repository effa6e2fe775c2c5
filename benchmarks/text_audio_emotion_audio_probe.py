"""How much emotion the synthetic voices carry, measured without the neural audio encoder.

A diagnosis for text-audio-emotion, whose audio path is near chance: is the voice's emotion learnable from one
synthetic utterance of an unseen speaker at all? A logistic regression on the 88 eGeMAPS functionals (openSMILE,
standardised on the training rows) is fitted on ``--train`` rows of the emotion-speech training split and scored on
the held-out test split (other speakers, voices and sentences), against the majority class in the same run. The
same probe then scores the real RAVDESS speech (7 classes, calm as neutral) it never saw. A second probe adds the
speaker's base pitch band (the metadata the model may use) to show how much of the confusion is speaker identity.

Usage:
    python benchmarks/text_audio_emotion_audio_probe.py --data runs/tae/data [--train 2000] [--ravdess DIR]
        [--out benchmarks/results/text_audio_emotion_audio_probe.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def features(audios) -> np.ndarray:
    from avzoo.features.egemaps import egemaps_functionals

    return np.stack([egemaps_functionals(a) for a in audios])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True)
    p.add_argument("--train", type=int, default=2000)
    p.add_argument("--ravdess", default=None)
    p.add_argument(
        "--out", type=Path, default=REPO / "benchmarks" / "results" / "text_audio_emotion_audio_probe.json"
    )
    a = p.parse_args(argv)
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from avzoo.evaluation.baselines import audio_array
    from avzoo.evaluation.text_audio_emotion import classification, ravdess_rows
    from avzoo.synth.emotion_speech import load_emotion_speech

    start = time.perf_counter()
    ds = load_emotion_speech(a.data)
    train = ds["train"].select(range(min(a.train, len(ds["train"]))))
    test = ds["test"]
    x_tr = features([audio_array(x) for x in train["audio"]])
    x_te = features([audio_array(x) for x in test["audio"]])
    y_tr, y_te = np.asarray(train["label"]), np.asarray(test["label"])
    labels = train.features["label"].names
    scaler = StandardScaler().fit(x_tr)
    probe = LogisticRegression(C=0.1, max_iter=2000).fit(scaler.transform(x_tr), y_tr)
    result = {
        "train_rows": len(y_tr),
        "test_rows": len(y_te),
        "synthetic_test": classification(y_te, probe.predict(scaler.transform(x_te)), labels),
        "majority": float(np.bincount(y_te).max() / len(y_te)),
    }
    onehot = np.eye(3)
    band_tr = onehot[np.asarray(train["pitch_band"])]
    band_te = onehot[np.asarray(test["pitch_band"])]
    scaler_b = StandardScaler().fit(np.c_[x_tr, band_tr])
    probe_b = LogisticRegression(C=0.1, max_iter=2000).fit(scaler_b.transform(np.c_[x_tr, band_tr]), y_tr)
    result["synthetic_test_with_pitch_band"] = classification(
        y_te, probe_b.predict(scaler_b.transform(np.c_[x_te, band_te])), labels
    )
    if a.ravdess:
        rows = ravdess_rows(a.ravdess)
        pred = probe.predict(scaler.transform(features(rows["audios"])))
        result["ravdess"] = classification(rows["labels"], pred, labels)
        result["ravdess"]["majority"] = float(np.bincount(rows["labels"]).max() / len(rows["labels"]))
    result["seconds"] = round(time.perf_counter() - start, 1)
    result["command"] = (
        "python benchmarks/text_audio_emotion_audio_probe.py --data "
        + a.data
        + (f" --train {a.train}" + (f" --ravdess {a.ravdess}" if a.ravdess else ""))
    )
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(result, indent=2) + "\n")
    summary = {k: v["accuracy"] for k, v in result.items() if isinstance(v, dict) and "accuracy" in v}
    print(json.dumps({**summary, "majority": result["majority"]}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
