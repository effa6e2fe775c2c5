"""Real speech as training data: phone alignment (pocketsphinx) and corpus rows with generated labels."""

import json

import numpy as np
import pytest
import soundfile as sf

from avzoo.arkit import INDEX
from avzoo.synth.real_speech import SOURCE, build_real_speech_corpus, real_speech_row, speaking_rate_wpm
from avzoo.synth.visemes import Phone

pytest.importorskip("pocketsphinx")

TEXT = "Please put the painting next to the jacket."


@pytest.fixture(scope="module")
def utterance():
    from avzoo.synth.speech import synthesize

    return synthesize(TEXT, voice="en-us+m3")


def test_alignment_with_the_text_finds_espeaks_phones(utterance):
    from avzoo.synth.alignment import align_speech

    al = align_speech(utterance.audio, TEXT)
    truth = [p for p in utterance.phones if p.symbol != "sil"]
    assert al.text == "please put the painting next to the jacket" and not al.recognised
    assert [p.symbol for p in al.phones][:4] == ["P", "L", "IY", "Z"]
    assert al.phones[-1].symbol == "T"  # the last word is aligned too
    starts = {p.symbol: p.start for p in truth[:4]}
    errors = [abs(p.start - starts[p.symbol]) for p in al.phones[:4]]
    assert max(errors) < 0.06


def test_alignment_refuses_bad_input():
    from avzoo.synth.alignment import align_speech

    with pytest.raises(ValueError, match="non-empty"):
        align_speech(np.zeros(0, np.float32), "hello")
    with pytest.raises(ValueError, match="NaN"):
        align_speech(np.full(16000, np.nan, np.float32), "hello")
    with pytest.raises(ValueError, match="dictionary"):
        align_speech(np.zeros(16000, np.float32), "qwzxv")
    with pytest.raises(ValueError, match="no words"):
        align_speech(np.zeros(16000, np.float32), "  ...  ")


def test_rows_carry_real_audio_and_generated_labels(tmp_path, utterance):
    path = tmp_path / "1234-5678-0000.wav"
    sf.write(path, utterance.audio, 16000)
    alignment = {"text": "please put", "phones": [["P", 0.1, 0.2], ["UH", 0.2, 0.3], ["T", 0.3, 0.4]]}
    row = real_speech_row(path, alignment)
    assert row["source"] == SOURCE and row["speaker_id"] == "librispeech-1234"
    assert row["blendshapes"].shape == (int(np.ceil(len(utterance.audio) / 16000 * 30)), 52)
    # /p/ seals the lips: at its frame mouthClose meets jawOpen
    k = int(0.15 * 30)
    assert row["blendshapes"][k, INDEX["mouthClose"]] == pytest.approx(
        row["blendshapes"][k, INDEX["jawOpen"]]
    )
    again = real_speech_row(path, alignment)
    assert np.array_equal(row["blendshapes"], again["blendshapes"])  # seeded idle life
    realistic = real_speech_row(
        path, alignment, labels="v2-real"
    )  # the label version of the corpus mixed with
    assert not np.array_equal(realistic["blendshapes"], row["blendshapes"])
    with pytest.raises(ValueError, match="unknown label version"):
        build_real_speech_corpus(tmp_path, tmp_path / "out", labels="v9")


def test_speaking_rate():
    phones = [Phone("AH", 1.0, 1.5), Phone("B", 2.5, 3.0)]
    assert speaking_rate_wpm("one two", phones) == pytest.approx(60.0)


def test_build_uses_cached_alignments_and_loads_as_a_corpus(tmp_path, utterance):
    from avzoo.synth.corpus import load_corpus
    from avzoo.train.av_lipsync import load_split

    src = tmp_path / "src"
    src.mkdir()
    sf.write(src / "1-2-0000.wav", utterance.audio, 16000)
    out = tmp_path / "real"
    (out / "alignments").mkdir(parents=True)
    # a cached record with its words: only the (fast) alignment runs, not recognition
    (out / "alignments" / "1-2-0000.json").write_text(json.dumps({"text": TEXT, "phones": []}))
    assert build_real_speech_corpus(src, out, progress=False) == 1
    record = json.loads((out / "alignments" / "1-2-0000.json").read_text())
    assert record["aligner"] == 2 and record["phones"][0][0] == "P"
    assert len(load_corpus(out)["train"]) == 1
    mixed = load_split(str(out), "train", extra={str(out): 2})  # the real rows, oversampled twice
    assert len(mixed) == 3 and mixed[2]["blendshapes"].shape[1] == 52
