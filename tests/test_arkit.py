import numpy as np
import pytest

from avzoo import arkit


def test_canonical_names_match_reference():
    assert len(arkit.ARKIT_NAMES) == 52 == len(set(arkit.ARKIT_NAMES))
    assert arkit.ARKIT_NAMES[0] == "eyeBlinkLeft"
    assert arkit.ARKIT_NAMES[17] == "jawOpen"
    assert arkit.ARKIT_NAMES[-1] == "tongueOut"


def test_functional_groups_partition_the_52():
    parts = [set(arkit.LIPSYNC), set(arkit.SHARED), set(arkit.EXPRESSION)]
    assert sum(len(p) for p in parts) == 52
    assert set.union(*parts) == set(arkit.ARKIT_NAMES)
    assert "jawOpen" in arkit.LIPSYNC and "browInnerUp" in arkit.EXPRESSION
    assert "mouthSmileLeft" in arkit.SHARED
    assert arkit.group_mask("brows").sum() == 5


def test_livelink_swaps_two_pairs():
    ll = arkit.LIVELINK_NAMES
    assert ll[15:17] == ("JawRight", "JawLeft")
    assert ll[21:23] == ("MouthRight", "MouthLeft")
    assert ll[17] == "JawOpen"


@pytest.mark.parametrize("order", ["livelink", "alphabetical", "apple"])
def test_roundtrip_exact(order):
    x = np.random.default_rng(0).random((7, 52)).astype(np.float32)
    y = arkit.convert(x, "canonical", order)
    assert not np.array_equal(x, y) or order == "apple"
    np.testing.assert_array_equal(arkit.convert(y, order, "canonical"), x)


def test_conversion_is_by_name():
    x = np.zeros(52, np.float32)
    x[arkit.INDEX["jawLeft"]] = 1.0
    ll = arkit.convert(x, "canonical", "livelink")
    assert ll[list(arkit.LIVELINK_NAMES).index("JawLeft")] == 1.0
    assert ll[15] == 0.0 and ll[16] == 1.0


def test_mediapipe_roundtrip_drops_only_tongue():
    x = np.random.default_rng(1).random((3, 52)).astype(np.float32)
    mp = arkit.convert(x, "canonical", "mediapipe")
    assert mp.shape == (3, 52) and np.all(mp[:, 0] == 0)
    back = arkit.convert(mp, "mediapipe", "canonical")
    keep = arkit.INDEX["tongueOut"]
    np.testing.assert_array_equal(np.delete(back, keep, -1), np.delete(x, keep, -1))
    assert np.all(back[:, keep] == 0)


def test_spellings_and_errors():
    assert arkit.canonical_name("EyeBlinkLeft") == "eyeBlinkLeft"
    assert arkit.canonical_name("mouthUpperUp_R") == "mouthUpperUpRight"
    assert arkit.to_apple_key("jawLeft") == "jawLeft"
    with pytest.raises(ValueError, match="unknown ARKit"):
        arkit.canonical_name("smile")
    with pytest.raises(ValueError, match="channels"):
        arkit.convert(np.zeros(51), "canonical", "livelink")
    d = arkit.to_dict(np.arange(52) / 52)
    np.testing.assert_allclose(arkit.from_dict(d), np.arange(52) / 52, rtol=1e-6)
