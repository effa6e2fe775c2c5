import hashlib

import numpy as np
import pytest

from avzoo import arkit
from avzoo.emotions import RAVDESS_EMOTIONS
from avzoo.synth.expressions import (
    EXPRESSION_LABELS,
    ExpressionStyle,
    compose,
    expression_track,
    idle_track,
    prototype,
)
from avzoo.synth.visemes import (
    LABEL_VERSIONS,
    TARGETS,
    ArticulationStyle,
    Phone,
    lips_closed,
    phones_to_blendshapes,
)

J = arkit.INDEX["jawOpen"]


def seq(*items, start=0.2):
    """Phones from (symbol, duration) pairs, back to back."""
    out, t = [], start
    for sym, d in items:
        out.append(Phone(sym, t, t + d))
        t += d
    return out


def frames_in(p: Phone, fps=30):
    k = np.arange(int(p.start * fps), int(np.ceil(p.end * fps)))
    centres = (k + 0.5) / fps
    return k[(centres >= p.start) & (centres < p.end)]


@pytest.mark.parametrize("bilabial", ["P", "B", "M"])
@pytest.mark.parametrize("dur", [0.04, 0.07, 0.12])
def test_lips_close_on_every_bilabial_even_between_open_vowels(bilabial, dur):
    phones = seq(("AA", 0.15), (bilabial, dur), ("AA", 0.15))
    y = phones_to_blendshapes(phones, duration=1.0, style=ArticulationStyle.random(np.random.default_rng(1)))
    closed = lips_closed(y)
    b = phones[1]
    ks = frames_in(b) if len(frames_in(b)) else [int((b.start + b.end) / 2 * 30)]
    assert closed[ks].any()
    assert not closed[frames_in(phones[0])[1:-1]].any()  # open during the vowel
    assert y[frames_in(phones[0]), J].max() > 0.3  # the jaw opens on /a/


def test_silence_relaxes_to_rest_and_jaw_follows_openness():
    phones = seq(("IY", 0.2), ("sil", 0.5), ("AA", 0.2))
    y = phones_to_blendshapes([p for p in phones if p.symbol != "sil"], duration=1.5)
    mid_pause = int((phones[1].start + 0.25) * 30)
    assert np.abs(y[mid_pause]).max() < 0.05
    assert y[frames_in(phones[2]), J].max() > 2 * y[frames_in(phones[0]), J].max()
    assert np.abs(y[-3:]).max() < 0.02  # after the utterance


def test_rounding_is_anticipated():
    phones = seq(("S", 0.12), ("UW", 0.2))
    y = phones_to_blendshapes(phones, duration=0.8)
    pucker = y[:, arkit.INDEX["mouthPucker"]]
    s_frames = frames_in(phones[0])
    assert pucker[s_frames[-1]] > 0.15  # /s/ before /u/ is already rounded
    assert pucker[frames_in(phones[1])].max() > 0.5


def test_labiodental_and_dental_targets():
    y = phones_to_blendshapes(seq(("AH", 0.15), ("F", 0.1), ("AH", 0.15), ("TH", 0.1), ("AH", 0.15)), 1.2)
    ph = seq(("AH", 0.15), ("F", 0.1), ("AH", 0.15), ("TH", 0.1), ("AH", 0.15))
    assert y[frames_in(ph[1]), arkit.INDEX["mouthRollLower"]].max() > 0.3
    assert y[frames_in(ph[3]), arkit.INDEX["tongueOut"]].max() > 0.25
    assert y[frames_in(ph[0]), arkit.INDEX["tongueOut"]].max() < 0.1


def test_only_speech_channels_and_range():
    phones = seq(*[(p, 0.08) for p in TARGETS if p != "sil"])
    y = phones_to_blendshapes(phones)
    assert y.min() >= 0 and y.max() <= 1
    assert np.abs(y[:, arkit.group_mask("expression")]).max() == 0
    with pytest.raises(ValueError, match="unknown phone"):
        phones_to_blendshapes([Phone("QQ", 0, 0.1)])


def test_expressions_follow_facs_and_vary_by_speaker():
    happy, sad = prototype("happy"), prototype("sad", "normal")
    assert happy[arkit.INDEX["mouthSmileLeft"]] > 0.5 and happy[arkit.INDEX["cheekSquintLeft"]] > 0.3
    assert sad[arkit.INDEX["browInnerUp"]] == pytest.approx(0.7 * 0.55)
    assert not prototype("neutral").any()
    for e in RAVDESS_EMOTIONS[1:]:
        assert prototype(e).any()
    a = expression_track("angry", "strong", 60, style=ExpressionStyle.random(np.random.default_rng(1)))
    b = expression_track("angry", "strong", 60, style=ExpressionStyle.random(np.random.default_rng(2)))
    assert not np.allclose(a, b)
    assert a[-1, arkit.INDEX["browDownLeft"]] > 0.2
    with pytest.raises(ValueError, match="intensity"):
        prototype("happy", "extreme")


def test_idle_life_blinks_and_head_pose():
    rng = np.random.default_rng(0)
    idle, head = idle_track(30 * 20, style=ExpressionStyle(blink_rate=20), rng=rng)
    blink = idle[:, arkit.INDEX["eyeBlinkLeft"]]
    onsets = np.flatnonzero((blink[1:] > 0.8) & (blink[:-1] <= 0.8))
    assert 2 <= len(onsets) <= 15  # ~20 per minute over 20 s
    assert head.shape == (600, 3) and np.abs(head).max() < 0.3


def test_compose_keeps_closures_and_suppresses_smile_when_rounded():
    phones = seq(("M", 0.1), ("UW", 0.3))
    speech = phones_to_blendshapes(phones, duration=1.0)
    expr = expression_track("happy", "strong", len(speech))
    idle = np.zeros_like(speech)
    y = compose(speech, expr, idle)
    assert lips_closed(y)[frames_in(phones[0])].any()
    k = frames_in(phones[1])[-1]
    assert y[k, arkit.INDEX["mouthSmileLeft"]] < expr[k, arkit.INDEX["mouthSmileLeft"]]
    with pytest.raises(ValueError, match="shapes differ"):
        compose(speech, expr[:5], idle)


def test_speaking_rate_scales_articulation_and_habits_stay_narrow():
    phones = seq(("AA", 0.2), ("P", 0.08), ("IY", 0.2))
    style = ArticulationStyle()
    slow = phones_to_blendshapes(phones, 1.0, style=style.at_rate(120))
    fast = phones_to_blendshapes(phones, 1.0, style=style.at_rate(260))
    normal = phones_to_blendshapes(phones, 1.0, style=style.at_rate(175))
    assert slow[:, J].max() > normal[:, J].max() > fast[:, J].max()
    assert np.allclose(normal, phones_to_blendshapes(phones, 1.0, style=style))
    assert style.at_rate(1000).jaw_gain == pytest.approx(0.85)  # undershoot is bounded
    with pytest.raises(ValueError, match="rate_wpm"):
        style.at_rate(0)
    rng = np.random.default_rng(0)
    habits = [ArticulationStyle.random(rng) for _ in range(200)]
    assert all(0.92 <= h.jaw_gain <= 1.08 and 0.92 <= h.lip_gain <= 1.08 for h in habits)


# --- label versions ------------------------------------------------------------------------------------------


def _sha(a) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]


def test_v1_labels_are_pinned():
    """v1 (the default) is what the bundled model was trained and evaluated on: these hashes were taken before
    label versions existed, and must not change (a new label version goes in its own table)."""
    syms = [p for p in TARGETS if p != "sil"]
    phones = seq(*[(p, 0.06 + 0.01 * (i % 5)) for i, p in enumerate(syms)])
    style = ArticulationStyle.random(np.random.default_rng(1)).at_rate(150)
    y = phones_to_blendshapes(phones, duration=phones[-1].end + 0.3, style=style)
    assert _sha(y) == "46812430f315ceb9"
    assert _sha(phones_to_blendshapes(phones, phones[-1].end + 0.3, style=style, labels="v1")) == _sha(y)
    es = ExpressionStyle.random(np.random.default_rng(3))
    assert _sha(es.gains) == "8bce55ec2a190d4b"
    scalars = np.array([es.expressiveness, es.blink_rate, es.gaze_range, es.head_motion, es.brow_flash])
    assert _sha(scalars) == "5ae791bb22defcbc"
    for emotion, pin in (
        ("sad", "c37638adec49b6e8"),
        ("angry", "514de2a12139c9af"),
        ("disgust", "67d14ce96f9a5e4e"),
    ):
        track = expression_track(
            emotion, "strong", len(y), style=es, rng=np.random.default_rng(4), accents=(0.5, 1.5)
        )
        assert _sha(track) == pin, emotion
    idle, head = idle_track(300, style=es, rng=np.random.default_rng(5), emotion="sad", accents=(1.0,))
    assert idle[:, arkit.INDEX["eyeBlinkLeft"]].max() > 0.5  # the pin covers blinks
    assert (_sha(idle), _sha(head)) == ("23ed6aa954bbe5a8", "41d0ad07c3de5034")
    assert es.relabel("v1") is es


def _at_centre(y, p: Phone, ch: int) -> float:
    return float(y[int((p.start + p.end) / 2 * 30), ch])


def test_v2_real_lower_lip_opens_with_the_jaw_and_spares_the_upper_lip():
    vowels = seq(("AA", 0.15), ("AE", 0.15), ("AH", 0.15), ("AO", 0.15), ("EH", 0.15), ("OW", 0.15))
    lower = arkit.indices(["mouthLowerDownLeft", "mouthLowerDownRight"])
    ratio = {}
    for labels in LABEL_VERSIONS:
        y = phones_to_blendshapes(vowels, 1.5, labels=labels)
        ks = np.concatenate([frames_in(p)[1:-1] for p in vowels])
        ratio[labels] = y[ks][:, lower].mean() / y[ks, J].mean()
        assert np.allclose(y[ks, J], phones_to_blendshapes(vowels, 1.5)[ks, J])  # jawOpen kept on vowels
    assert ratio["v1"] < 0.5 and 0.7 <= ratio["v2-real"] <= 0.9
    fric = seq(("AH", 0.15), ("F", 0.1), ("AH", 0.15), ("S", 0.1), ("AH", 0.15), ("SH", 0.1), ("AH", 0.15))
    up = arkit.INDEX["mouthUpperUpLeft"]
    v1, v2 = (phones_to_blendshapes(fric, 1.5, labels=lab) for lab in LABEL_VERSIONS)
    for p in fric[1::2]:
        assert _at_centre(v2, p, up) < 0.6 * _at_centre(v1, p, up) and _at_centre(v2, p, up) <= 0.1


def test_v2_real_tongue_only_on_th_dh():
    others = [p for p in TARGETS if p not in ("sil", "TH", "DH")]
    y = phones_to_blendshapes(seq(*[(p, 0.08) for p in others]), labels="v2-real")
    assert y[:, arkit.INDEX["tongueOut"]].max() == 0.0  # /l/ included
    ph = seq(("AH", 0.15), ("TH", 0.1), ("AH", 0.15), ("L", 0.1), ("AH", 0.15))
    v1, v2 = (
        phones_to_blendshapes(ph, 1.0, labels=lab)[:, arkit.INDEX["tongueOut"]] for lab in LABEL_VERSIONS
    )
    assert 0.1 < v2[frames_in(ph[1])].max() <= 0.16 < v1[frames_in(ph[1])].max()
    assert v2[frames_in(ph[3])].max() < 0.01 < v1[frames_in(ph[3])].max()  # v1 shows the tongue on /l/


def test_v2_real_alveolars_and_velars_partly_seal_the_lips():
    ph = seq(("AH", 0.15), ("T", 0.08), ("AA", 0.15), ("D", 0.08), ("EH", 0.15), ("N", 0.08), ("AE", 0.15),
             ("K", 0.08), ("AH", 0.15), ("S", 0.1), ("T", 0.08), ("IY", 0.15))  # fmt: skip
    c = arkit.INDEX["mouthClose"]
    v1, v2 = (phones_to_blendshapes(ph, 2.0, labels=lab) for lab in LABEL_VERSIONS)
    for p in ph:
        if p.symbol in ("T", "D", "N", "K", "S"):
            assert _at_centre(v1, p, c) == 0.0
            assert 0.5 * _at_centre(v2, p, J) < _at_centre(v2, p, c) < _at_centre(v2, p, J)  # partial seal
    gap = np.maximum(v2[:, J] - v2[:, c], 0)
    assert (gap[frames_in(ph[9])] < 0.05).all() and (gap[frames_in(ph[10])] < 0.05).all()  # /st/ nearly shut
    assert lips_closed(v2)[frames_in(ph[2])[1:-1]].sum() == 0  # vowels stay open


def test_v2_real_press_roll_pucker_stretch_lighter():
    ph = seq(("AA", 0.15), ("M", 0.1), ("UW", 0.2), ("W", 0.1), ("IY", 0.2), ("F", 0.1), ("AA", 0.15))
    v1, v2 = (phones_to_blendshapes(ph, 1.5, labels=lab) for lab in LABEL_VERSIONS)
    for name, cap in (("mouthPressLeft", 0.1), ("mouthRollUpper", 0.1), ("mouthRollLower", 0.26),
                      ("mouthPucker", 0.46), ("mouthStretchLeft", 0.29)):  # fmt: skip
        k = arkit.INDEX[name]
        assert v2[:, k].max() <= cap < v1[:, k].max(), name
    gap = v2[:, J] - v2[:, arkit.INDEX["mouthClose"]]
    assert (gap[frames_in(ph[1])] < 0.01).any()  # bilabials still shut the lips (lip gap, not press)


def test_v2_real_expressions_and_blinks():
    assert prototype("surprised", labels="v2-real")[arkit.INDEX["browInnerUp"]] == pytest.approx(0.35)
    for e in RAVDESS_EMOTIONS:
        assert (prototype(e, labels="v2-real") <= prototype(e) + 1e-7).all()  # never stronger than v1
    assert prototype("happy", labels="v2-real")[arkit.INDEX["mouthSmileLeft"]] == pytest.approx(0.7)
    rng = np.random.default_rng(0)
    styles = [ExpressionStyle.random(rng, "v2-real") for _ in range(2000)]
    rates = np.array([s.blink_rate for s in styles])
    assert 20 < np.median(rates) < 24 and rates.min() >= 5 and rates.max() <= 40
    assert all(0.6 <= s.expressiveness <= 1.0 for s in styles)
    v1 = [ExpressionStyle.random(np.random.default_rng(i)) for i in range(50)]
    v2 = [s.relabel("v2-real") for s in v1]
    order = np.argsort([s.blink_rate for s in v1])
    assert np.all(np.diff([v2[i].blink_rate for i in order]) >= 0)  # same quantile, same order
    assert all(
        np.array_equal(a.gains, b.gains) and a.gaze_range == b.gaze_range for a, b in zip(v1, v2, strict=True)
    )
    assert EXPRESSION_LABELS["v2-real"].blink_depth == (0.5, 0.9)
    # Blinks: shallower, and a clip does not start with an early blink (the first wait is a plain exponential).
    counts = {lab: 0 for lab in LABEL_VERSIONS}
    for lab in LABEL_VERSIONS:
        for i in range(300):
            idle, _ = idle_track(
                90, style=ExpressionStyle(blink_rate=20), rng=np.random.default_rng(i), labels=lab
            )
            b = idle[:, arkit.INDEX["eyeBlinkLeft"]]
            up = b >= 0.3
            counts[lab] += int((up[1:] & ~up[:-1]).sum() + up[0])
            if lab == "v2-real":
                assert b.max() <= 0.9
    per_min = {lab: n / (300 * 3) * 60 for lab, n in counts.items()}
    assert per_min["v1"] > 22 and 15 < per_min["v2-real"] < 21  # 20/min nominal, 0.25-s gap between blinks


def test_bad_label_version():
    with pytest.raises(ValueError, match="unknown label version 'v3'"):
        phones_to_blendshapes(seq(("AA", 0.1)), labels="v3")
    for call in (
        lambda: prototype("happy", labels="v3"),
        lambda: expression_track("happy", "strong", 10, labels="v3"),
        lambda: idle_track(10, labels="v3"),
        lambda: ExpressionStyle.random(np.random.default_rng(0), "v3"),
        lambda: ExpressionStyle().relabel("v3"),
    ):
        with pytest.raises(ValueError, match="v1, v2-real"):
            call()
