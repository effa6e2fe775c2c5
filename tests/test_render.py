"""The 2D face renderer: shapes, determinism, every blendshape visible where a face would move."""

from __future__ import annotations

import numpy as np
import pytest

from avzoo.arkit import ARKIT_NAMES, INDEX, from_dict
from avzoo.render import (
    HAIR_STYLES,
    KEYPOINT_NAMES,
    FaceIdentity,
    FaceRenderer,
    random_identity,
    render,
    render_video,
)

EYE_REGION = ("eye", "brow")
LOWER_REGION = ("jaw", "mouth", "tongue")
DIRECTIONAL = {"jawLeft", "jawRight", "mouthLeft", "mouthRight"}  # Left/Right name a direction, not a side


def _channel_frames(size: int, identity: FaceIdentity):
    """Neutral frame followed by each of the 52 channels alone at 1.0."""
    b = np.zeros((53, 52), np.float32)
    b[np.arange(1, 53), np.arange(52)] = 1.0
    frames, kp = FaceRenderer(identity).render(b, size=size, return_keypoints=True)
    return frames.astype(np.int32), kp


@pytest.fixture(scope="module", params=[96, 224])
def channel_diffs(request):
    size = request.param
    frames, kp = _channel_frames(size, FaceIdentity())
    diffs = np.abs(frames[1:] - frames[0]).sum(-1) / 255.0  # (52, H, W)
    eye_y = kp["eye_left"][0, 1]
    mouth_y = 0.5 * (kp["mouth_left"][0, 1] + kp["mouth_right"][0, 1])
    mid_x = 0.5 * (kp["eye_left"][0, 0] + kp["eye_right"][0, 0])
    yy, xx = np.mgrid[0:size, 0:size]
    upper = yy < 0.5 * (eye_y + mouth_y)
    regions = {"upper": upper, "lower": ~upper, "image_right": xx > mid_x + 1, "image_left": xx < mid_x - 1}
    return size, diffs, regions, kp


@pytest.mark.parametrize("name", ARKIT_NAMES)
def test_every_channel_changes_the_picture_where_a_face_would(channel_diffs, name):
    size, diffs, regions, _ = channel_diffs
    d = diffs[INDEX[name]]
    # at least ~10 pixels fully changed at 96 px (more at larger sizes)
    assert d.sum() > 3.0 * size / 96, f"{name} barely changes the picture at {size}px: {d.sum():.1f}"
    up, low = d[regions["upper"]].sum(), d[regions["lower"]].sum()
    if name.startswith(EYE_REGION):
        assert up > 4 * low, f"{name} should change the eyes/brows, not the mouth ({up:.1f} vs {low:.1f})"
    if name.startswith(LOWER_REGION):
        assert low > 2.5 * up, f"{name} should change the lower face ({low:.1f} vs {up:.1f})"
    if name.endswith(("Left", "Right")) and name not in DIRECTIONAL:
        # ARKit Left = the subject's left = the image right in this (non-mirrored) renderer
        same, other = (
            ("image_right", "image_left") if name.endswith("Left") else ("image_left", "image_right")
        )
        a, b = d[regions[same]].sum(), d[regions[other]].sum()
        assert a > 2 * b, f"{name} should act on the {same.replace('_', ' ')} ({a:.1f} vs {b:.1f})"


def _keypoints(values: dict[str, float], size: int = 128, **kwargs):
    _, kp = FaceRenderer(FaceIdentity()).render(from_dict(values), size=size, return_keypoints=True, **kwargs)
    return kp


def test_gaze_in_moves_each_iris_towards_the_nose():
    base = _keypoints({})
    look_in = _keypoints({"eyeLookInLeft": 1.0, "eyeLookInRight": 1.0})
    look_out = _keypoints({"eyeLookOutLeft": 1.0, "eyeLookOutRight": 1.0})
    nose_x = base["nose_tip"][0]
    for eye in ("eye_left", "eye_right"):
        d0 = abs(base[eye][0] - nose_x)
        assert abs(look_in[eye][0] - nose_x) < d0 - 2  # towards the nose
        assert abs(look_out[eye][0] - nose_x) > d0 + 2
    assert base["eye_left"][0] > nose_x > base["eye_right"][0]  # subject's left eye on the image right
    down = _keypoints({"eyeLookDownLeft": 1.0})
    assert down["eye_left"][1] > base["eye_left"][1] + 1.5 and down["eye_right"][1] == base["eye_right"][1]


def test_directional_channels_move_towards_the_subjects_side():
    base = _keypoints({})
    for channel, sign in (("jawLeft", 1), ("jawRight", -1)):
        moved = _keypoints({channel: 1.0})
        assert sign * (moved["chin"][0] - base["chin"][0]) > 3
    for channel, sign in (("mouthLeft", 1), ("mouthRight", -1)):
        moved = _keypoints({channel: 1.0})
        centre = lambda k: 0.5 * (k["mouth_left"][0] + k["mouth_right"][0])  # noqa: E731
        assert sign * (centre(moved) - centre(base)) > 3


def _mouth_box(kp, frame):
    x0, x1 = int(kp["mouth_right"][0]) - 4, int(kp["mouth_left"][0]) + 5
    y0, y1 = int(kp["upper_lip"][1]) - 2, int(kp["lower_lip"][1]) + 3
    return frame[y0:y1, x0:x1].astype(int)


def _dark(px):  # mouth interior colour
    return ((px[..., 0] < 110) & (px[..., 1] < 50) & (px[..., 2] < 60)).sum()


def _white(px):  # teeth / eye whites: bright and unsaturated (skin is bright but saturated)
    return ((px.min(-1) > 170) & (px.max(-1) - px.min(-1) < 40)).sum()


def test_jaw_open_shows_mouth_interior_teeth_and_mouth_close_shuts_it():
    r = FaceRenderer(FaceIdentity())
    open_, kp = r.render(from_dict({"jawOpen": 0.7}), size=224, return_keypoints=True)
    closed, kp_closed = r.render(
        from_dict({"jawOpen": 0.7, "mouthClose": 0.7}), size=224, return_keypoints=True
    )
    neutral, kp0 = r.render(from_dict({}), size=224, return_keypoints=True)
    box = lambda f: _mouth_box(kp, f)  # noqa: E731
    assert _dark(box(open_)) > 150 and _white(box(open_)) > 20
    assert _dark(box(closed)) < 0.05 * _dark(box(open_))
    assert _dark(box(neutral)) == 0
    # the chin drops with the jaw, and stays down when only the lips close
    assert kp["chin"][1] > kp0["chin"][1] + 8
    assert kp_closed["chin"][1] == kp["chin"][1]


def test_upper_up_and_lower_down_bare_the_teeth():
    r = FaceRenderer(FaceIdentity())
    neutral, kp = r.render(from_dict({}), size=224, return_keypoints=True)
    for pose in (
        {"mouthUpperUpLeft": 1.0, "mouthUpperUpRight": 1.0},
        {"mouthLowerDownLeft": 1.0, "mouthLowerDownRight": 1.0},
    ):
        img = r.render(from_dict(pose), size=224)
        assert _white(_mouth_box(kp, img)) > _white(_mouth_box(kp, neutral)) + 15, pose


def test_tongue_out_shows_tongue_below_the_lips():
    r = FaceRenderer(FaceIdentity())
    img, kp = r.render(from_dict({"tongueOut": 1.0}), size=160, return_keypoints=True)
    x = int(kp["lower_lip"][0])
    y = int(kp["lower_lip"][1])
    patch = img[y - 6 : y + 4, x - 3 : x + 4].reshape(-1, 3).astype(int)
    tongue = np.array([196, 94, 104])
    assert (np.abs(patch - tongue).sum(-1) < 60).mean() > 0.5


def test_blink_closes_the_eye():
    r = FaceRenderer(FaceIdentity())
    open_, kp = r.render(from_dict({}), size=224, return_keypoints=True)
    shut = r.render(from_dict({"eyeBlinkLeft": 1.0, "eyeBlinkRight": 1.0}), size=224)
    for eye in ("eye_left", "eye_right"):
        x, y = (int(v) for v in kp[eye])
        box = lambda f, x=x, y=y: f[y - 10 : y + 10, x - 18 : x + 19].astype(int)  # noqa: E731
        assert _white(box(open_)) > 20 and _white(box(shut)) == 0


def test_shapes_sizes_and_dtype():
    b = np.zeros((3, 52), np.float32)
    frames = render(b, FaceIdentity(), size=96)
    assert frames.shape == (3, 96, 96, 3) and frames.dtype == np.uint8
    assert render(np.zeros(52), FaceIdentity(), size=(72, 128)).shape == (72, 128, 3)
    frames, kp = FaceRenderer(3).render(b, size=64, return_keypoints=True)
    assert set(kp) == set(KEYPOINT_NAMES) and kp["chin"].shape == (3, 2)
    assert (kp["chin"] >= 0).all() and (kp["chin"] < 64).all()


def test_same_seed_same_pixels_and_different_seeds_differ():
    b = np.random.default_rng(0).uniform(0, 0.6, (4, 52)).astype(np.float32)
    a1 = render(b, random_identity(11), size=96)
    a2 = FaceRenderer(random_identity(11)).render(b, size=96)  # fresh renderer: no shared cache
    assert random_identity(11) == random_identity(11)
    assert np.array_equal(a1, a2)
    assert (
        random_identity(11).noise > 0 or random_identity(11).jitter_translate > 0
    )  # the camera is random too
    assert not np.array_equal(a1, render(b, random_identity(12), size=96))
    assert not np.array_equal(a1, render(b, random_identity(11), size=96, rng=5))  # other shake and noise


def test_random_identities_vary_widely():
    ids = [random_identity(s) for s in range(60)]
    lum = np.array([np.dot(i.skin, [0.299, 0.587, 0.114]) for i in ids])
    assert lum.min() < 70 and lum.max() > 200  # dark to light skin
    assert len({i.hair_style for i in ids}) >= len(HAIR_STYLES) - 1
    assert any(i.glasses != "none" for i in ids) and any(i.glasses == "none" for i in ids)
    assert len({i.background_style for i in ids}) >= 4
    assert len({i.hair for i in ids}) > 40
    frames = np.stack([render(np.zeros(52), i.still(), size=48) for i in ids[:8]])
    assert np.abs(frames[:, None].astype(int) - frames[None].astype(int)).mean(axis=(2, 3, 4)).max() > 30


def test_camera_jitter_and_noise_change_frames_of_a_still_face():
    ident = random_identity(4).replace(jitter_translate=0.01, jitter_rotate=0.02, noise=4.0)
    frames = render(np.zeros((3, 52)), ident, size=96)
    assert not np.array_equal(frames[0], frames[1])
    still = render(np.zeros((3, 52)), ident.still(), size=96)
    assert np.array_equal(still[0], still[1]) and np.array_equal(still[1], still[2])


def test_head_pose_moves_features_plausibly():
    base = _keypoints({})
    yaw = _keypoints({}, head_pose=(0.4, 0.0, 0.0))
    assert yaw["nose_tip"][0] > base["nose_tip"][0] + 3  # yaw > 0: towards the subject's left (image right)
    pitch = _keypoints({}, head_pose=(0.0, 0.3, 0.0))
    assert pitch["nose_tip"][1] < base["nose_tip"][1] - 2  # chin up: the face rises
    roll = _keypoints({}, head_pose=(0.0, 0.0, 0.3))
    # roll > 0 turns the head clockwise in the image: the image-right eye goes down
    assert roll["eye_left"][1] > roll["eye_right"][1] + 5
    per_frame = np.zeros((2, 3))
    per_frame[1, 0] = 0.3
    frames = render(np.zeros((2, 52)), FaceIdentity(), size=96, head_pose=per_frame)
    assert not np.array_equal(frames[0], frames[1])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"blendshapes": np.zeros(51)}, "shape"),
        ({"blendshapes": np.zeros((2, 3, 52))}, "shape"),
        ({"blendshapes": np.full(52, np.nan)}, "NaN"),
        ({"blendshapes": np.full(52, 1.5)}, r"\[0, 1\]"),
        ({"blendshapes": np.zeros((0, 52))}, "no frames"),
        ({"size": 8}, "size"),
        ({"size": "big"}, "size"),
        ({"head_pose": np.zeros(2)}, "head_pose"),
        ({"head_pose": np.full(3, 3.0)}, "head_pose"),
        ({"rng": -1}, "rng"),
    ],
)
def test_bad_input_raises_clear_errors(kwargs, match):
    args = {"blendshapes": np.zeros(52), "identity": FaceIdentity(), "size": 64} | kwargs
    with pytest.raises(ValueError, match=match):
        render(**args)


def test_identity_validation():
    with pytest.raises(ValueError, match="hair_style"):
        FaceIdentity(hair_style="mullet")
    with pytest.raises(ValueError, match="eye_size"):
        FaceIdentity(eye_size=5.0)
    with pytest.raises(ValueError, match="skin"):
        FaceIdentity(skin=(300, 0, 0))
    with pytest.raises(ValueError, match="seed"):
        random_identity(-3)
    with pytest.raises(ValueError, match="identity"):
        render(np.zeros(52), identity="alice")


def test_render_video_writes_mp4_with_audio(tmp_path):
    import av

    b = np.zeros((6, 52), np.float32)
    b[:, INDEX["jawOpen"]] = np.linspace(0, 1, 6)
    audio = (0.1 * np.sin(np.linspace(0, 400, 3200))).astype(np.float32)
    path = render_video(b, random_identity(2), fps=30, audio=audio, path=tmp_path / "face.mp4", size=64)
    with av.open(str(path)) as c:
        assert c.streams.video and c.streams.audio
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(frames) == 6 and frames[0].shape == (64, 64, 3)


def test_long_clips_render_in_chunks_with_identical_pixels(monkeypatch):
    import avzoo.render.renderer as renderer

    b = np.random.default_rng(1).uniform(0, 0.5, (7, 52))
    ident = random_identity(9)
    whole = FaceRenderer(ident).render(b, size=48, head_pose=np.full((7, 3), 0.1))
    monkeypatch.setattr(renderer, "_CHUNK", 3)
    chunked = FaceRenderer(ident).render(b, size=48, head_pose=np.full((7, 3), 0.1))
    assert np.array_equal(whole, chunked)
