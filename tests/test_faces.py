"""Face detection, tracking and crops: real recordings (shared data) and synthetic detections."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from avzoo.io.face_detection import FaceBox, FaceDetector, box_iou, detect_faces, detect_faces_video
from avzoo.io.face_tracking import FaceTrack, track_faces
from avzoo.io.faces import (
    crop_faces,
    crop_mouths,
    face_tracks,
    main_face_crops,
    main_face_track,
    mouth_centers,
)
from avzoo.io.video import VideoClip, read_video


def _rgb(path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def _steps(track: FaceTrack) -> np.ndarray:
    """Frame-to-frame centre movement as a fraction of the face size."""
    return np.linalg.norm(np.diff(track.centers, axis=0), axis=1) / track.sizes[1:]


# --- real recordings ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_speakers(shared_data):
    clip = read_video(shared_data / "talking-faces" / "two-speakers.mp4", max_side=480, audio=False)
    return clip, face_tracks(clip, every=5)


def test_two_speakers_give_two_stable_tracks(two_speakers):
    clip, tracks = two_speakers
    assert len(tracks) == 2
    half = clip.width / 2
    left, right = sorted(tracks, key=lambda t: t.centers[:, 0].mean())
    # Split screen: one speaker per half, for the whole track.
    assert np.all(left.centers[:, 0] < half) and np.all(right.centers[:, 0] > half)
    for track in tracks:
        assert len(track) >= 0.9 * clip.num_frames
        assert np.array_equal(track.frames, np.arange(track.start, track.end))
        assert track.frame_size == (clip.height, clip.width)
        assert track.score > 0.8
        steps = _steps(track)
        assert np.median(steps) < 0.05 and steps.max() < 0.15, (np.median(steps), steps.max())
        assert track.sizes.std() / track.sizes.mean() < 0.1
        assert 0.1 * clip.height < track.sizes.mean() < 0.5 * clip.height


def test_two_speakers_crops(two_speakers):
    clip, tracks = two_speakers
    track = tracks[0]
    faces = crop_faces(clip, track, size=64)
    mouths = crop_mouths(clip, track, size=48)
    assert faces.shape == (len(track), 64, 64, 3) and faces.dtype == np.uint8
    assert mouths.shape == (len(track), 48, 48, 3) and mouths.dtype == np.uint8
    # The mouth keypoint sits inside the face box, in its lower half (off-centre when the
    # head turns: the left speaker is seen half in profile).
    mouth = mouth_centers(track)
    rel_y = (mouth[:, 1] - track.boxes[:, 1]) / (track.boxes[:, 3] - track.boxes[:, 1])
    rel_x = (mouth[:, 0] - track.boxes[:, 0]) / (track.boxes[:, 2] - track.boxes[:, 0])
    assert np.all((rel_y > 0.5) & (rel_y < 0.9)) and np.all((rel_x > 0.0) & (rel_x < 1.0))
    # Crops are real image content (not black padding), and consecutive crops look alike.
    assert faces.mean() > 40
    assert np.abs(np.diff(faces.astype(np.float32), axis=0)).mean() < 25


def test_no_face_video(shared_data):
    path = shared_data / "faces" / "no_face.mp4"
    clip = read_video(path, max_side=480, audio=False)
    assert face_tracks(clip, every=3) == []
    with pytest.raises(ValueError, match=r"no face found in no_face\.mp4"):
        main_face_track(clip, every=3)
    with pytest.raises(ValueError, match="no face found in"):
        main_face_crops(clip, every=3)


def test_single_face_video(shared_data):
    clip = read_video(shared_data / "faces" / "single_face.mp4", audio=False)
    tracks = face_tracks(clip, every=3)
    assert len(tracks) == 1
    assert len(tracks[0]) >= 0.9 * clip.num_frames
    assert main_face_track(tracks) is tracks[0]
    crops = main_face_crops(clip, region="mouth", size=32, every=3)
    assert crops.shape == (clip.num_frames, 32, 32, 3)


def test_face_that_leaves_the_frame(shared_data):
    clip = read_video(shared_data / "faces" / "face_noface.mov", max_side=480, audio=False)
    tracks = face_tracks(clip, every=3)
    assert len(tracks) == 1
    track = tracks[0]
    # The face is on screen for the first 2.4 s of the 6.4 s clip, then leaves for good.
    assert track.start == 0
    assert 2.0 < track.end / clip.fps < 2.6
    assert clip.num_frames - track.end > 3 * clip.fps


def test_still_images(shared_data):
    single = detect_faces(_rgb(shared_data / "faces" / "single_face.jpg"))
    assert len(single) == 1 and single[0].score > 0.8
    many = detect_faces(_rgb(shared_data / "faces" / "multi_face.jpg"))
    assert len(many) >= 4
    boxes = np.stack([f.as_array() for f in many])
    overlap = box_iou(boxes, boxes)[~np.eye(len(many), dtype=bool)]
    assert overlap.max() < 0.3  # distinct faces, not one face found twice
    assert all(f.keypoints.shape == (6, 2) for f in many)
    assert [f.score for f in many] == sorted((f.score for f in many), reverse=True)
    assert len(detect_faces(_rgb(shared_data / "faces" / "multi_face.jpg"), max_faces=2)) == 2


# --- detector on synthetic input ------------------------------------------------------------


def test_blank_and_noise_frames_have_no_face():
    rng = np.random.default_rng(0)
    assert detect_faces(np.zeros((120, 160, 3), np.uint8)) == []
    assert detect_faces(rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)) == []


def test_detector_input_checks():
    with pytest.raises(ValueError, match="uint8"):
        detect_faces(np.zeros((32, 32, 3), np.float32))
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        detect_faces(np.zeros((32, 32), np.uint8))
    with pytest.raises(ValueError, match="min_score"):
        detect_faces(np.zeros((32, 32, 3), np.uint8), min_score=1.5)
    with pytest.raises(ValueError, match="not found"):
        FaceDetector("/nonexistent/model.onnx")


def test_detect_faces_video_marks_skipped_frames():
    frames = np.zeros((7, 40, 40, 3), np.uint8)
    out = detect_faces_video(VideoClip(frames=frames, fps=25), every=3)
    assert len(out) == 7
    # Frames 0, 3, 6 are looked at (6 is also the last); the rest are skipped.
    assert [o is not None for o in out] == [True, False, False, True, False, False, True]
    assert detect_faces_video(frames[:5], every=3)[4] == []  # the last frame always runs
    with pytest.raises(ValueError, match="every"):
        detect_faces_video(frames, every=0)
    with pytest.raises(ValueError, match="no frames"):
        detect_faces_video(frames[:0])


# --- tracker on synthetic detections --------------------------------------------------------


def _face(cx: float, cy: float, size: float = 40.0, score: float = 0.9) -> FaceBox:
    return FaceBox(cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2, score)


def test_tracker_bridges_gaps_and_interpolates():
    dets = [[_face(100 + t, 80)] for t in range(40)]
    for t in (10, 11, 12):
        dets[t] = []  # missed by the detector
    tracks = track_faces(dets, smoothing=0)
    assert len(tracks) == 1
    track = tracks[0]
    assert (track.start, track.end) == (0, 40)
    assert not track.detected[10:13].any() and track.detected[:10].all()
    assert np.all(track.scores[10:13] == 0)
    np.testing.assert_allclose(track.centers[:, 0], 100 + np.arange(40), atol=1e-4)  # linear in the gap


def test_tracker_ends_a_track_after_max_missed():
    dets = [[_face(100, 80)] if t < 15 or t >= 25 else [] for t in range(40)]
    tracks = track_faces(dets, max_missed=5)
    assert [(t.start, t.end) for t in tracks] == [(0, 15), (25, 40)]


def test_tracker_handles_skipped_frames_and_swapped_order():
    dets: list = []
    for t in range(30):
        if t % 3:
            dets.append(None)  # the detector skipped this frame
            continue
        a, b = _face(50, 50 + 0.5 * t), _face(200, 60)
        dets.append([a, b] if t % 2 else [b, a])  # list order must not matter
    tracks = track_faces(dets, smoothing=1.0)
    assert len(tracks) == 2
    left, right = sorted(tracks, key=lambda t: t.centers[0, 0])
    assert (left.start, left.end) == (0, 28) and len(left) == 28
    assert np.all(np.abs(left.centers[:, 0] - 50) < 1) and np.all(np.abs(right.centers[:, 0] - 200) < 1)
    assert left.detected.sum() == 10


def test_tracker_drops_short_and_low_score_tracks():
    dets = [[_face(100, 80)] for t in range(30)]
    for t in (5, 6):
        dets[t] = [*dets[t], _face(300, 200)]  # a two-frame blip
    for t in range(30):
        dets[t] = [*dets[t], _face(500, 80, score=0.62)]  # steady but never confident
    tracks = track_faces(dets)
    assert len(tracks) == 1 and tracks[0].centers[0, 0] == pytest.approx(100)
    assert len(track_faces(dets, min_track_score=0.5)) == 2
    assert track_faces([[] for _ in range(10)]) == []
    # A clip shorter than min_length keeps a face seen throughout it.
    assert len(track_faces([[_face(50, 50)] for _ in range(4)], min_length=10)) == 1


def test_tracker_smooths_jitter():
    rng = np.random.default_rng(0)
    dets = [[_face(100 + rng.normal(0, 2), 80 + rng.normal(0, 2))] for _ in range(60)]
    raw = track_faces(dets, smoothing=0)[0]
    smooth = track_faces(dets, smoothing=2.0)[0]
    assert np.diff(smooth.centers, axis=0).std() < 0.5 * np.diff(raw.centers, axis=0).std()


def test_tracker_argument_checks():
    with pytest.raises(ValueError):
        track_faces([], min_length=0)
    with pytest.raises(ValueError):
        track_faces([], min_track_score=2)


# --- crops on synthetic frames ---------------------------------------------------------------


def _synthetic_track(n: int, box, frame_size) -> FaceTrack:
    return FaceTrack(
        frames=np.arange(n),
        boxes=np.tile(np.asarray(box, np.float32), (n, 1)),
        scores=np.full(n, 0.9, np.float32),
        detected=np.ones(n, bool),
        frame_size=frame_size,
    )


def test_crop_geometry_and_rescaling():
    frames = np.zeros((3, 100, 200, 3), np.uint8)
    frames[:, 20:60, 40:80] = 200  # the "face": a 40 px square
    frames[:, 45:55, 55:65] = 255  # its "mouth", 73 % down the box
    track = _synthetic_track(3, (40, 20, 80, 60), (100, 200))
    faces = crop_faces(frames, track, size=40, margin=0.0)
    assert faces.shape == (3, 40, 40, 3)
    assert faces[:, 2:-2, 2:-2].min() >= 200  # the bare box is all face
    mouths = crop_mouths(frames, track, size=24, mouth_scale=0.25)  # a 10 px square on the mouth
    np.testing.assert_allclose(mouth_centers(track)[0], (60, 20 + 0.73 * 40))
    assert mouths[:, 6:-6, 6:-6].min() == 255
    # The same video at twice the resolution: the track is rescaled, the crops agree.
    big = np.repeat(np.repeat(frames, 2, axis=1), 2, axis=2)
    assert np.abs(crop_faces(big, track, size=40, margin=0.0).astype(int) - faces).mean() < 2
    # Outside the frame is black.
    corner = _synthetic_track(3, (-20, -20, 20, 20), (100, 200))
    assert crop_faces(frames, corner, size=20, margin=0.0)[:, :8, :8].max() == 0


def test_crop_checks():
    frames = np.zeros((3, 100, 200, 3), np.uint8)
    track = _synthetic_track(5, (40, 20, 80, 60), (100, 200))
    with pytest.raises(ValueError, match="only 3 frames"):
        crop_faces(frames, track)
    track = _synthetic_track(3, (40, 20, 80, 60), (100, 100))
    with pytest.raises(ValueError, match="aspect ratio"):
        crop_faces(frames, track)
    track = _synthetic_track(3, (40, 20, 80, 60), (100, 200))
    with pytest.raises(ValueError, match="size"):
        crop_faces(frames, track, size=4)
    with pytest.raises(ValueError, match="margin"):
        crop_faces(frames, track, margin=-1)
    with pytest.raises(ValueError, match="mouth_scale"):
        crop_mouths(frames, track, mouth_scale=3)
    with pytest.raises(ValueError, match="region"):
        main_face_crops(frames, region="eyes")


def test_track_helpers():
    track = _synthetic_track(5, (40, 20, 80, 60), (100, 200))
    track = FaceTrack(**{**track.__dict__, "frames": np.arange(3, 8)})
    full = track.extended(10)
    assert len(full) == 10 and full.start == 0 and not full.detected[:3].any() and full.detected[3:8].all()
    np.testing.assert_array_equal(full.boxes[0], track.boxes[0])
    assert track.box_at(4).center == (60.0, 40.0)
    with pytest.raises(ValueError, match="outside"):
        track.box_at(0)
    half = track.rescaled(50, 100)
    np.testing.assert_allclose(half.boxes[0], [20, 10, 40, 30])
    with pytest.raises(ValueError):
        track.extended(4)
