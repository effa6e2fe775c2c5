"""Faces in videos: one-call face tracks, the main face, and fixed-size face and mouth crops.

Building blocks live in :mod:`avzoo.io.face_detection` (BlazeFace, :func:`detect_faces`) and
:mod:`avzoo.io.face_tracking` (:func:`track_faces`); this module puts them together and is
the usual entry point::

    from avzoo.io.faces import face_tracks, crop_faces, crop_mouths
    clip = read_video("talk.mp4", max_side=640)
    tracks = face_tracks(clip)            # [] when there is no face
    mouths = crop_mouths(clip, tracks[0])  # (len(track), 96, 96, 3)

"No face" is not an error at this level: :func:`face_tracks` returns an empty list. Helpers
that cannot do their job without a face (:func:`main_face_track`, :func:`main_face_crops`)
raise ``ValueError("no face found in ...")``.

Crop geometry (BlazeFace boxes are square, ear to ear, from the forehead to the chin; the eyes
sit at 28 % of the box height and the mouth centre at 73 %):

* face crop: a square of side ``box side * (1 + 2 * margin)`` centred on the box centre;
* mouth crop: a square of side ``mouth_scale * box side`` (0.6 by default: the lips, the chin's
  top and the nostrils' base) centred on the tracked mouth keypoint, or, for tracks without
  keypoints, on the point at 73 % of the box height on its vertical midline.

Parts of a crop outside the frame are black. Crops shrink with an area filter.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from avzoo.io.face_detection import (
    DEFAULT_MIN_SCORE,
    KEYPOINT_NAMES,
    FaceBox,
    FaceDetector,
    detect_faces,
    detect_faces_video,
    square_crop,
)
from avzoo.io.face_tracking import FaceTrack, track_faces
from avzoo.io.video import VideoClip, read_video

__all__ = [
    "DEFAULT_MAX_SIDE",
    "DEFAULT_MIN_SCORE",
    "MOUTH_CENTER_Y",
    "FaceBox",
    "FaceTrack",
    "crop_faces",
    "crop_mouths",
    "detect_faces",
    "detect_faces_video",
    "face_tracks",
    "main_face_crops",
    "main_face_track",
    "mouth_centers",
    "track_faces",
]

#: Frames are read at this long side for tracking: faces stay well above the detector's limit
#: while 1080p clips cost a ninth of the memory.
DEFAULT_MAX_SIDE = 640
#: Detections down to this score feed the tracker; the track score filter decides.
TRACKING_MIN_SCORE = 0.6
#: Mouth centre as a fraction of the box height, measured on BlazeFace keypoints.
MOUTH_CENTER_Y = 0.73
_MOUTH = KEYPOINT_NAMES.index("mouth_center")


def _as_clip(video, fps: float | None, max_side: int | None) -> VideoClip:
    if isinstance(video, VideoClip):
        return video
    if isinstance(video, (str, os.PathLike)):
        return read_video(video, fps=fps, max_side=max_side, audio=False)
    frames = np.asarray(video)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(
            "video must be a path, a VideoClip or uint8 RGB frames of shape (T, H, W, 3); "
            f"got {type(video).__name__} with shape {getattr(frames, 'shape', None)} and dtype {frames.dtype}"
        )
    return VideoClip(frames=frames, fps=float(fps or 25.0))


def face_tracks(
    video,
    *,
    every: int = 1,
    fps: float | None = None,
    max_side: int | None = DEFAULT_MAX_SIDE,
    min_score: float = TRACKING_MIN_SCORE,
    min_track_score: float = 0.75,
    max_missed: int = 5,
    min_length: int = 10,
    smoothing: float = 2.0,
    detector: FaceDetector | None = None,
    progress: bool = False,
) -> list[FaceTrack]:
    """All face tracks in a video, sorted by first frame; an empty list when there is no face.

    Args:
        video: a path (read with ``fps`` and ``max_side``, without audio), a :class:`VideoClip`
            or uint8 frames (T, H, W, 3).
        every: run the detector on every ``every``-th frame and interpolate between (2–3 is
            nearly as good as 1 for talking heads at 25–30 fps, and that much faster).
        min_score: per-detection threshold feeding the tracker.
        min_track_score: tracks whose mean detection score is below this are dropped.
        max_missed, min_length, smoothing: see :func:`track_faces`.

    The boxes refer to the frames the detector saw; ``track.frame_size`` records their size and
    :meth:`FaceTrack.rescaled` maps them to another resolution (the crop functions do it for you).
    """
    clip = _as_clip(video, fps, max_side)
    detections = detect_faces_video(
        clip, every=every, min_score=min_score, detector=detector, progress=progress
    )
    return track_faces(
        detections,
        max_missed=max_missed,
        min_length=min_length,
        min_track_score=min_track_score,
        smoothing=smoothing,
        frame_size=(clip.height, clip.width),
    )


def _main(tracks: list[FaceTrack]) -> FaceTrack:
    # The face seen in most frames; among equals, the larger (closer) one.
    return max(tracks, key=lambda t: (int(t.detected.sum()), float(np.mean(t.sizes))))


def main_face_track(video, **kwargs) -> FaceTrack:
    """The face seen in the most frames (ties: the largest). Raises ``ValueError`` if there is none.

    ``video`` is anything :func:`face_tracks` takes, or a list of tracks already found.
    """
    if isinstance(video, list) and all(isinstance(t, FaceTrack) for t in video):
        if not video:
            raise ValueError("no face found: the track list is empty")
        return _main(video)
    tracks = face_tracks(video, **kwargs)
    if not tracks:
        raise ValueError(f"no face found in {_describe(video)}")
    return _main(tracks)


def _describe(video) -> str:
    if isinstance(video, VideoClip):
        return video.name
    if isinstance(video, (str, os.PathLike)):
        return str(Path(video))
    return "the given frames"


def _frames_for(frames, track: FaceTrack) -> tuple[np.ndarray, FaceTrack]:
    """The frame array, and ``track`` mapped onto its resolution; clear errors when they don't fit."""
    frames = getattr(frames, "frames", frames)
    if not isinstance(frames, np.ndarray) or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be an array (T, H, W, 3) or a VideoClip, got {type(frames).__name__}")
    if frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 RGB, got dtype {frames.dtype}")
    if track.end > len(frames):
        raise ValueError(
            f"the track covers frames [{track.start}, {track.end}) but only {len(frames)} frames were given; "
            "crop from the same clip (same fps) the track was found in"
        )
    height, width = frames.shape[1:3]
    if track.frame_size is not None and track.frame_size != (height, width):
        th, tw = track.frame_size
        if abs(th / tw - height / width) > 0.02 * height / width:
            raise ValueError(
                f"the track was found in {tw}x{th} frames, which do not have the aspect ratio of "
                f"these {width}x{height} frames"
            )
        track = track.rescaled(height, width)
    return frames, track


def _check_size(size: int) -> int:
    if int(size) != size or not 8 <= size <= 1024:
        raise ValueError(f"size must be an integer number of pixels in [8, 1024], got {size!r}")
    return int(size)


def crop_faces(frames, track: FaceTrack, size: int = 96, margin: float = 0.2) -> np.ndarray:
    """Square face crops along a track: (len(track), size, size, 3) uint8.

    Args:
        frames: the clip (or its frames) the track indexes into; a different resolution of
            the same video is fine, the track is rescaled.
        margin: extra border on each side, as a fraction of the box side (0 = the bare box).
    """
    size = _check_size(size)
    if not 0 <= margin <= 2:
        raise ValueError(f"margin must be in [0, 2] (a fraction of the face box), got {margin}")
    frames, track = _frames_for(frames, track)
    centres, sides = track.centers, track.sizes * (1 + 2 * margin)
    return np.stack([square_crop(frames[t], *centres[i], sides[i], size) for i, t in enumerate(track.frames)])


def mouth_centers(track: FaceTrack) -> np.ndarray:
    """(len(track), 2) mouth centre per frame: the keypoint if tracked, else box geometry."""
    if track.keypoints is not None:
        return track.keypoints[:, _MOUTH].astype(np.float32)
    x = (track.boxes[:, 0] + track.boxes[:, 2]) / 2
    y = track.boxes[:, 1] + MOUTH_CENTER_Y * (track.boxes[:, 3] - track.boxes[:, 1])
    return np.stack([x, y], axis=1).astype(np.float32)


def crop_mouths(frames, track: FaceTrack, size: int = 96, mouth_scale: float = 0.6) -> np.ndarray:
    """Square mouth-region crops along a track: (len(track), size, size, 3) uint8.

    The square has side ``mouth_scale`` × the face box side and is centred on the mouth (see
    the module doc for the geometry). ``mouth_scale`` is in [0.2, 1.5].
    """
    size = _check_size(size)
    if not 0.2 <= mouth_scale <= 1.5:
        raise ValueError(f"mouth_scale must be in [0.2, 1.5] (a fraction of the face box), got {mouth_scale}")
    frames, track = _frames_for(frames, track)
    centres, sides = mouth_centers(track), track.sizes * mouth_scale
    return np.stack([square_crop(frames[t], *centres[i], sides[i], size) for i, t in enumerate(track.frames)])


def main_face_crops(
    video,
    region: str = "face",
    size: int = 96,
    *,
    fps: float | None = None,
    max_side: int | None = DEFAULT_MAX_SIDE,
    every: int = 1,
) -> np.ndarray:
    """Crops of the main face for every frame of a video: (T, size, size, 3) uint8.

    ``region`` is ``"face"`` or ``"mouth"``. Frames before the face appears or after it leaves
    reuse its first or last box. Raises ``ValueError("no face found in ...")`` when the video
    has no face.
    """
    if region not in ("face", "mouth"):
        raise ValueError(f"region must be 'face' or 'mouth', got {region!r}")
    clip = _as_clip(video, fps, max_side)
    tracks = face_tracks(clip, every=every)
    if not tracks:
        raise ValueError(f"no face found in {_describe(video)}")
    track = _main(tracks).extended(clip.num_frames)
    return (crop_faces if region == "face" else crop_mouths)(clip, track, size=size)
