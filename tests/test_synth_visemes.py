import numpy as np
import pytest

from avzoo import arkit
from avzoo.emotions import RAVDESS_EMOTIONS
from avzoo.synth.expressions import ExpressionStyle, compose, expression_track, idle_track, prototype
from avzoo.synth.visemes import TARGETS, ArticulationStyle, Phone, lips_closed, phones_to_blendshapes

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
