"""Speech with phone timing: the common phone inventory, both engines, timing against the waveform."""

from __future__ import annotations

import itertools
import threading
import warnings

import numpy as np
import pytest

from avzoo.synth import phonemes
from avzoo.synth.phonemes import INVENTORY, festival_to_arpabet, ipa_to_arpabet, split_stress
from avzoo.synth.speech import (
    EMPHASIS_GAIN,
    ENGINES,
    Prosody,
    default_voice,
    espeak,
    flite,
    landmarks,
    list_voices,
    synthesize,
)

# Stops next to vowels, stop clusters, pauses at commas and full stops, nasals opening into vowels.
STOPS_AND_PAUSES = (
    "Put the big map back, then pick a good top. Dad kept it, I bet. My mother knows a nice man."
)

needs_flite = pytest.mark.skipif(
    not flite.available_voices(), reason="flite is not installed (apt-get install flite)"
)


def _f0(utt) -> float:
    """Median F0 (Hz) over the middle 40 ms of the vowels, by autocorrelation."""
    sr, out = utt.sampling_rate, []
    for p in utt.phones:
        if not p.is_silence and p.info.is_vowel and p.duration >= 0.06:
            c = (p.start + p.end) / 2
            x = utt.audio[int((c - 0.02) * sr) : int((c + 0.02) * sr)]
            x = x - x.mean()
            r = np.correlate(x, x, "full")[len(x) - 1 :]
            lo, hi = int(sr / 400), int(sr / 60)
            out.append(sr / (lo + int(np.argmax(r[lo:hi]))))
    return float(np.median(out))


def _check_tiling(utt):
    assert utt.audio.dtype == np.float32 and utt.audio.ndim == 1
    assert np.abs(utt.audio).max() <= 1.0
    ph = utt.phones
    assert ph[0].start == 0.0
    assert ph[-1].end == pytest.approx(len(utt.audio) / utt.sampling_rate, abs=1e-9)
    for a, b in itertools.pairwise(ph):
        assert a.end == b.start and a.end > a.start
    assert all(p.symbol in INVENTORY for p in ph)
    assert any(not p.is_silence for p in ph)
    for w, nxt in zip(utt.words, utt.words[1:], strict=False):
        assert w.start < w.end <= nxt.start + 1e-9


# --- the common inventory ------------------------------------------------------------------


def test_inventory_is_what_the_viseme_stage_reads():
    from avzoo.synth import visemes

    assert set(INVENTORY) == set(visemes.TARGETS)


def test_articulatory_features():
    f = phonemes.features
    assert f("P").is_bilabial and f("P").is_stop and not f("P").voiced
    assert f("M").is_bilabial and f("M").manner == "nasal"
    assert f("F").is_labiodental and f("V").voiced
    assert f("TH").is_dental and f("DH").is_dental
    assert f("S").is_alveolar and f("S").is_sibilant
    assert f("SH").rounded and f("W").rounded and not f("Y").rounded
    assert f("UW").rounded and f("UW").is_close and f("UW").backness == "back"
    assert f("IY").is_close and not f("IY").rounded
    assert f("AA").is_open and f("AA").openness == 1.0 and f("IY").openness == 0.0
    assert f("AY").kind == "diphthong" and f("AY").glide == "IY"
    assert f("sil").is_silence and not f("sil").is_vowel
    with pytest.raises(ValueError, match="unknown phone"):
        f("XX")


@pytest.mark.parametrize(
    ("ipa", "expected"),
    [
        ("ˈaɪ", ["AY"]),
        ("ɔːɹ", ["AO", "R"]),  # r-coloured vowel: two phones
        ("tʃ", ["CH"]),
        ("ts", ["T", "S"]),  # German z
        ("ɐ̃ʊ̃", ["AW"]),  # nasal diphthong: nasality dropped
        ("ã", ["AA"]),  # precomposed letter
        ("n̩", ["N"]),  # syllabic mark dropped
        ("ɾ", ["D"]),  # flap: no lip rounding, unlike R
        ("y", ["UW"]),  # rounded front vowel looks rounded
        ("ʁ", ["G"]),
        ("", ["sil"]),
    ],
)
def test_ipa_to_arpabet(ipa, expected):
    assert [s for s, _ in ipa_to_arpabet(ipa)] == expected


def test_ipa_weights_and_stress():
    (vowel, wv), (cons, wc) = ipa_to_arpabet("ˈɔːɹ")
    assert (vowel, cons) == ("AO", "R") and wv > wc
    assert split_stress("ˈaɪ") == ("aɪ", 1)
    assert split_stress("ˌoʊ") == ("oʊ", 2)
    assert split_stress("ə") == ("ə", 0)


def test_festival_phoneset_maps_into_inventory():
    radio = "aa ae ah ao aw ax axr ay b ch d dh dx eh el em en er ey f g hh ih iy jh k l m n ng ow oy p r s sh t th uh uw v w y z zh pau"
    for name in radio.split():
        assert all(s in INVENTORY for s in festival_to_arpabet(name))
    assert festival_to_arpabet("ay1") == ("AY",)
    assert festival_to_arpabet("pau") == ("sil",)
    with pytest.raises(ValueError, match="unknown festival phone"):
        festival_to_arpabet("xx")


# --- espeak-ng ---------------------------------------------------------------------------


def test_espeak_utterance_contract():
    utt = synthesize(STOPS_AND_PAUSES, voice="en-us+m3")
    _check_tiling(utt)
    assert utt.sampling_rate == 16000 and utt.engine == "espeak" and utt.voice == "en-us+m3"
    assert [w.text for w in utt.words][:4] == ["Put", "the", "big", "map"]
    spoken = "".join(p.symbol + " " for p in utt.phones if not p.is_silence)
    assert spoken.startswith("P UH T DH AH B IH G M AE P B AE K")
    assert any(p.lexical_stress == 1 for p in utt.phones)
    assert utt.phonemes()[0] == {"phone": utt.phones[0].symbol, "start": 0.0, "end": utt.phones[0].end}


@pytest.mark.parametrize(
    "voice", ["en-us+m3", "en-us+f2", "en+klatt"]
)  # f2 has an echo, klatt another synthesiser
def test_espeak_timing_matches_waveform(voice):
    utt = synthesize(STOPS_AND_PAUSES, voice=voice)
    errors = landmarks.timing_errors(utt)
    assert len(errors["stop"]) >= 10 and len(errors["pause"]) >= 6 and len(errors["nasal"]) >= 2
    for kind, errs in errors.items():
        assert max(errs) <= 0.020, (kind, errs)


def test_espeak_boundary_correction_is_what_makes_stops_line_up(monkeypatch):
    """espeak marks a stop after its closure and a vowel after a nasal late; with its marks
    alone the landmarks fall more than 20 ms away."""
    refined = synthesize(STOPS_AND_PAUSES)
    marks_only = espeak.segments
    monkeypatch.setattr(espeak, "segments", lambda raw, refine=True: marks_only(raw, refine=False))
    raw = synthesize(STOPS_AND_PAUSES)
    assert np.array_equal(raw.audio, refined.audio)
    for check in (landmarks.stop_dip_errors, landmarks.nasal_release_errors):
        assert max(check(raw)) > 0.020
        assert max(check(refined)) <= 0.020


def test_espeak_is_deterministic():
    a = synthesize("Determinism matters for a corpus.", voice="en-us+f3", prosody=Prosody(rate=190))
    synthesize("Something else in between, to disturb any state.", voice="de")
    b = synthesize("Determinism matters for a corpus.", voice="en-us+f3", prosody=Prosody(rate=190))
    assert np.array_equal(a.audio, b.audio)
    assert a.phones == b.phones and a.words == b.words


def test_espeak_threads_are_serialised():
    texts = ["One two three.", "Four five six.", "Seven eight nine.", "Ten eleven twelve."]
    expected = [synthesize(t).audio for t in texts]
    got: dict[int, np.ndarray] = {}

    def work(i):
        got[i] = synthesize(texts[i]).audio

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(texts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(np.array_equal(got[i], expected[i]) for i in range(len(texts)))


def test_espeak_prosody_controls():
    text = "Go home and say hello to everybody you meet on the road."
    base = synthesize(text)
    slow, fast = synthesize(text, prosody=Prosody(rate=110)), synthesize(text, prosody=Prosody(rate=300))
    assert slow.duration > 1.4 * base.duration > 1.4 * 1.4 * fast.duration
    low, high = synthesize(text, prosody=Prosody(pitch=15)), synthesize(text, prosody=Prosody(pitch=90))
    assert _f0(low) < 0.9 * _f0(base) and _f0(high) > 1.3 * _f0(base)
    quiet = synthesize(text, prosody=Prosody(volume=50))
    rms = lambda u: float(np.sqrt(np.mean(u.audio**2)))  # noqa: E731
    assert rms(quiet) == pytest.approx(rms(base) / 2, rel=0.1)
    flat = synthesize(text, prosody=Prosody(pitch_range=0))
    assert not np.array_equal(flat.audio, base.audio)


def test_espeak_emphasis():
    text = "I never said she stole my money."
    plain = synthesize(text)
    stressed = synthesize(text, prosody=Prosody(emphasis=(2,)))
    assert stressed.duration > plain.duration
    word = next(w for w in stressed.words if w.text == "said")
    inside = [p for p in stressed.phones if word.start <= p.start < word.end]
    assert inside and all(p.stress == EMPHASIS_GAIN for p in inside)
    assert all(p.stress == 1.0 for p in stressed.phones if p.end <= word.start or p.start >= word.end)
    # markup characters in the text are spoken as text, not parsed
    utt = synthesize("Tom & <Jerry> ran.", prosody=Prosody(emphasis=(0,)))
    assert [w.text for w in utt.words][:2] == ["Tom", "&"]


def test_espeak_voices_and_languages():
    assert len(espeak.variants()) >= 90
    en = list_voices("espeak", language="en")
    assert {"en-us", "en-us+m3", "en-us+f2", "en-us+klatt", "en-gb-x-rp+m1"} <= set(en)
    assert all(v.split("+")[0].startswith("en") for v in en)
    assert default_voice("espeak") == "en-us+m3"
    m3, f2 = synthesize("Hello there.", voice="en-us+m3"), synthesize("Hello there.", voice="en-us+f2")
    assert _f0(f2) > 1.4 * _f0(m3)
    texts = {
        "es": "El perro de San Roque no tiene rabo.",
        "de": "Zwölf Boxkämpfer jagen Viktor über den großen Deich.",
        "fr": "Portez ce vieux whisky au juge blond qui fume.",
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every phone maps into the inventory
        for lang, text in texts.items():
            utt = synthesize(text, voice=f"{lang}+f3")
            _check_tiling(utt)
            assert len(utt.words) == len(text.split())


@pytest.mark.parametrize("rate", [8000, 22050])
def test_sampling_rate(rate):
    utt = synthesize("Resample me.", sampling_rate=rate)
    ref = synthesize("Resample me.")
    assert utt.sampling_rate == rate
    assert len(utt.audio) == pytest.approx(len(ref.audio) * rate / 16000, abs=2)
    assert [p.symbol for p in utt.phones] == [p.symbol for p in ref.phones]
    _check_tiling(utt)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"text": ""}, "non-empty"),
        ({"text": "   "}, "non-empty"),
        ({"text": None}, "non-empty"),
        ({"text": "...", "voice": "en"}, "nothing to say"),
        ({"engine": "festivalx"}, "unknown engine"),
        ({"voice": "xx-yy"}, "unknown espeak-ng language"),
        ({"voice": "en-us+nobody"}, "unknown espeak-ng variant"),
        ({"voice": "en-uss"}, "did you mean"),
        ({"sampling_rate": 4000}, r"\[8000, 48000\]"),
        ({"sampling_rate": 16000.0}, "integer"),
        ({"prosody": {"rate": 100}}, "must be a Prosody"),
        ({"prosody": Prosody(emphasis=(7,))}, "out of range: the text has 2 words"),
    ],
)
def test_bad_input(kwargs, match):
    args = {"text": "Hello there."} | kwargs
    with pytest.raises(ValueError, match=match):
        synthesize(**args)


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("rate", 50, r"\[80, 450\]"),
        ("rate", 500, r"\[80, 450\]"),
        ("pitch", 101, r"\[0, 100\]"),
        ("pitch_range", -1, r"\[0, 100\]"),
        ("volume", 201, r"\[0, 200\]"),
        ("volume", float("nan"), "number"),
        ("rate", True, "number"),
        ("emphasis", "12", "sequence of word indices"),
        ("emphasis", (-1,), "indices >= 0"),
    ],
)
def test_prosody_ranges(field, value, match):
    with pytest.raises(ValueError, match=match):
        Prosody(**{field: value})


def test_prosody_random_is_valid_and_seeded():
    a = Prosody.random(np.random.default_rng(0), n_words=10, p_emphasis=0.3)
    b = Prosody.random(np.random.default_rng(0), n_words=10, p_emphasis=0.3)
    assert a == b and all(0 <= i < 10 for i in a.emphasis)


# --- flite -----------------------------------------------------------------------------------


@needs_flite
def test_flite_utterance_contract_and_timing():
    assert ENGINES == ("espeak", "flite")
    assert set(list_voices("flite")) == {"slt", "rms", "awb"}
    assert list_voices("flite", language="en-us") == ["slt", "rms"]
    for voice in ("slt", "awb"):
        utt = synthesize(STOPS_AND_PAUSES, engine="flite", voice=voice)
        _check_tiling(utt)
        assert utt.engine == "flite" and utt.voice == voice
        assert [w.text for w in utt.words][:4] == ["put", "the", "big", "map"]
        errors = landmarks.timing_errors(utt)
        assert len(errors["stop"]) >= 10 and len(errors["pause"]) >= 6
        for kind, errs in errors.items():
            assert max(errs, default=0.0) <= 0.020, (voice, kind, errs)


@needs_flite
def test_flite_deterministic_and_prosody():
    text = "Go home and say hello to everybody you meet on the road."
    a = synthesize(text, engine="flite", voice="slt")
    synthesize("Something else.", engine="flite", voice="awb")
    assert np.array_equal(a.audio, synthesize(text, engine="flite", voice="slt").audio)
    slow = synthesize(text, engine="flite", voice="slt", prosody=Prosody(rate=110))
    assert slow.duration > 1.4 * a.duration
    high = synthesize(text, engine="flite", voice="slt", prosody=Prosody(pitch=90))
    assert _f0(high) > 1.2 * _f0(a)
    quiet = synthesize(text, engine="flite", voice="slt", prosody=Prosody(volume=50))
    np.testing.assert_allclose(quiet.audio, a.audio / 2, atol=1e-4)
    with pytest.raises(ValueError, match="no emphasis control"):
        synthesize(text, engine="flite", prosody=Prosody(emphasis=(1,)))
    # rms ignores flite's F0 targets: its pitch moves by resampling, with every phone time
    rms = synthesize(text, engine="flite", voice="rms")
    rms_high = synthesize(text, engine="flite", voice="rms", prosody=Prosody(pitch=80))
    assert _f0(rms_high) > 1.15 * _f0(rms)
    assert rms_high.duration == pytest.approx(rms.duration, rel=0.02)
    _check_tiling(rms_high)
    assert [p.symbol for p in rms_high.phones] == [p.symbol for p in rms.phones]
    assert max(landmarks.stop_dip_errors(rms_high)) <= 0.020
    with pytest.warns(UserWarning, match="pitch range"):
        synthesize(text, engine="flite", voice="rms", prosody=Prosody(pitch_range=80))
    with pytest.raises(ValueError, match="unknown flite voice"):
        synthesize(text, engine="flite", voice="en-us+m3")
