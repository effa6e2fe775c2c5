"""Link per-frame face detections into smooth face tracks.

Detections are matched frame to frame by the Hungarian algorithm (scipy) on a cost that mixes
box overlap and centre distance. A track survives up to ``max_missed`` detector runs without a
match; the frames it missed (and frames the detector skipped) get linearly interpolated boxes.
Finished tracks are smoothed over time and filtered: tracks shorter than ``min_length`` frames or
whose mean detection score is below ``min_track_score`` are dropped. The score filter is what
removes face-like textures: they can score 0.6–0.77 in single frames but never hold a high
score over time (their tracks average about 0.65), while real faces average 0.85 or more.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.optimize import linear_sum_assignment

from avzoo.io.face_detection import FaceBox, box_iou

__all__ = ["FaceTrack", "track_faces"]

_NO_MATCH = 1e6


@dataclass(frozen=True)
class FaceTrack:
    """One face followed over consecutive frames ``start .. end - 1``.

    Boxes are (x0, y0, x1, y1) pixels in the coordinate space of ``frame_size`` (H, W), one per
    frame of the span: detected, interpolated across misses, and smoothed.
    """

    frames: np.ndarray
    """(L,) int64 frame indices, consecutive."""
    boxes: np.ndarray
    """(L, 4) float32 boxes."""
    scores: np.ndarray
    """(L,) float32 detection score of each frame; 0 where the box was interpolated."""
    detected: np.ndarray
    """(L,) bool, True where the detector saw the face in that frame."""
    keypoints: np.ndarray | None = None
    """(L, 6, 2) float32 keypoints (see ``KEYPOINT_NAMES``), or None."""
    frame_size: tuple[int, int] | None = None
    """(height, width) of the frames the boxes refer to."""
    track_id: int = 0

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def start(self) -> int:
        return int(self.frames[0])

    @property
    def end(self) -> int:
        """One past the last frame."""
        return int(self.frames[-1]) + 1

    @property
    def centers(self) -> np.ndarray:
        """(L, 2) box centres."""
        return (self.boxes[:, :2] + self.boxes[:, 2:]) / 2

    @property
    def sizes(self) -> np.ndarray:
        """(L,) box side (the larger of width and height)."""
        return np.maximum(self.boxes[:, 2] - self.boxes[:, 0], self.boxes[:, 3] - self.boxes[:, 1])

    @property
    def score(self) -> float:
        """Mean detection score over the frames where the face was detected."""
        return float(self.scores[self.detected].mean()) if self.detected.any() else 0.0

    def box_at(self, frame: int) -> FaceBox:
        """The box at absolute frame index ``frame``."""
        if not self.start <= frame < self.end:
            raise ValueError(f"frame {frame} is outside this track's frames [{self.start}, {self.end})")
        i = frame - self.start
        kp = None if self.keypoints is None else self.keypoints[i]
        return FaceBox(*(float(v) for v in self.boxes[i]), score=float(self.scores[i]), keypoints=kp)

    def rescaled(self, height: int, width: int) -> FaceTrack:
        """The same track in frames of size (height, width), e.g. the full-resolution video."""
        if self.frame_size is None:
            raise ValueError("this track has no frame_size, so it cannot be rescaled")
        sy, sx = height / self.frame_size[0], width / self.frame_size[1]
        boxes = self.boxes * np.array([sx, sy, sx, sy], dtype=np.float32)
        kps = None if self.keypoints is None else self.keypoints * np.array([sx, sy], dtype=np.float32)
        return replace(
            self, boxes=boxes.astype(np.float32), keypoints=kps, frame_size=(int(height), int(width))
        )

    def extended(self, num_frames: int) -> FaceTrack:
        """The track over all frames ``0 .. num_frames - 1``, holding its first and last box."""
        if num_frames < self.end:
            raise ValueError(f"num_frames={num_frames} is shorter than the track (ends at {self.end})")
        before, after = self.start, num_frames - self.end

        def pad(a: np.ndarray, value=None) -> np.ndarray:
            widths = [(before, after)] + [(0, 0)] * (a.ndim - 1)
            if value is None:
                return np.pad(a, widths, mode="edge")
            return np.pad(a, widths, mode="constant", constant_values=value)

        return replace(
            self,
            frames=np.arange(num_frames, dtype=np.int64),
            boxes=pad(self.boxes),
            scores=pad(self.scores, 0),
            detected=pad(self.detected, False),
            keypoints=None if self.keypoints is None else pad(self.keypoints),
        )


@dataclass
class _Open:
    frames: list[int]
    faces: list[FaceBox]
    missed: int = 0


def _match_cost(
    tracks: list[_Open], faces: Sequence[FaceBox], iou_threshold: float, max_shift: float
) -> np.ndarray:
    last = np.stack([t.faces[-1].as_array() for t in tracks])
    new = np.stack([f.as_array() for f in faces])
    iou = box_iou(last, new)
    centre_last = (last[:, :2] + last[:, 2:]) / 2
    centre_new = (new[:, :2] + new[:, 2:]) / 2
    size = np.maximum(last[:, 2:] - last[:, :2], 1.0).max(axis=1)
    shift = np.linalg.norm(centre_last[:, None] - centre_new[None], axis=-1) / size[:, None]
    cost = (1.0 - iou) + shift
    return np.where((iou >= iou_threshold) | (shift <= max_shift), cost, _NO_MATCH)


def _finish(track: _Open, smoothing: float, frame_size: tuple[int, int] | None, track_id: int) -> FaceTrack:
    obs = np.asarray(track.frames)
    span = np.arange(obs[0], obs[-1] + 1)
    raw = np.stack([f.as_array() for f in track.faces]).astype(np.float64)
    centre = np.stack([np.interp(span, obs, (raw[:, k] + raw[:, k + 2]) / 2) for k in (0, 1)], axis=1)
    size = np.stack([np.interp(span, obs, raw[:, k + 2] - raw[:, k]) for k in (0, 1)], axis=1)
    has_kp = all(f.keypoints is not None for f in track.faces)
    kps = None
    if has_kp:
        raw_kp = np.stack([f.keypoints for f in track.faces]).reshape(len(obs), -1)
        kps = np.stack([np.interp(span, obs, raw_kp[:, k]) for k in range(raw_kp.shape[1])], axis=1)
    if smoothing > 0 and len(span) > 1:
        # Zero-phase Gaussian smoothing: no lag. Sizes drift slowly and their detector noise is
        # large relative to their motion, so they get twice the smoothing of positions.
        centre = gaussian_filter1d(centre, smoothing, axis=0, mode="nearest")
        size = gaussian_filter1d(size, 2 * smoothing, axis=0, mode="nearest")
        if kps is not None:
            kps = gaussian_filter1d(kps, smoothing, axis=0, mode="nearest")
    boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=1).astype(np.float32)
    scores = np.zeros(len(span), dtype=np.float32)
    scores[obs - obs[0]] = [f.score for f in track.faces]
    detected = np.zeros(len(span), dtype=bool)
    detected[obs - obs[0]] = True
    return FaceTrack(
        frames=span.astype(np.int64),
        boxes=boxes,
        scores=scores,
        detected=detected,
        keypoints=None if kps is None else kps.reshape(len(span), -1, 2).astype(np.float32),
        frame_size=frame_size,
        track_id=track_id,
    )


def track_faces(
    detections: Sequence[Sequence[FaceBox] | None],
    *,
    iou_threshold: float = 0.2,
    max_shift: float = 0.5,
    max_missed: int = 5,
    min_length: int = 10,
    min_track_score: float = 0.75,
    smoothing: float = 2.0,
    frame_size: tuple[int, int] | None = None,
) -> list[FaceTrack]:
    """Link per-frame detections (as from :func:`detect_faces_video`) into face tracks.

    Args:
        detections: one entry per frame: a list of :class:`FaceBox` where the detector ran
            (empty if it found nothing), ``None`` where it did not run.
        iou_threshold: a detection may continue a track if their boxes overlap at least this much...
        max_shift: ...or if its centre moved at most this fraction of the track's box size.
        max_missed: a track ends after this many detector runs in a row without a match.
        min_length: drop tracks spanning fewer frames (or fewer than the clip, if it is shorter).
        min_track_score: drop tracks whose mean detection score is lower.
        smoothing: Gaussian smoothing of box centres over time, sigma in frames (0 = none).
        frame_size: (height, width) the boxes refer to; recorded on each track.

    Returns:
        Tracks sorted by their first frame. A video without faces gives an empty list.
    """
    if max_missed < 0 or min_length < 1 or smoothing < 0:
        raise ValueError(
            f"need max_missed >= 0, min_length >= 1 and smoothing >= 0; "
            f"got {max_missed}, {min_length} and {smoothing}"
        )
    if not 0 <= min_track_score <= 1:
        raise ValueError(f"min_track_score must be in [0, 1], got {min_track_score}")
    num_frames = len(detections)
    open_tracks: list[_Open] = []
    closed: list[_Open] = []
    for t, faces in enumerate(detections):
        if faces is None:
            continue
        faces = list(faces)
        matched_tracks, matched_faces = set(), set()
        if open_tracks and faces:
            cost = _match_cost(open_tracks, faces, iou_threshold, max_shift)
            for i, j in zip(*linear_sum_assignment(cost), strict=True):
                if cost[i, j] < _NO_MATCH:
                    open_tracks[i].frames.append(t)
                    open_tracks[i].faces.append(faces[j])
                    open_tracks[i].missed = 0
                    matched_tracks.add(i)
                    matched_faces.add(j)
        still_open = []
        for i, track in enumerate(open_tracks):
            if i not in matched_tracks:
                track.missed += 1
            (closed if track.missed > max_missed else still_open).append(track)
        open_tracks = still_open + [_Open([t], [f]) for j, f in enumerate(faces) if j not in matched_faces]
    closed.extend(open_tracks)

    shortest = min(min_length, num_frames)
    tracks = []
    for track in sorted(closed, key=lambda tr: tr.frames[0]):
        if track.frames[-1] - track.frames[0] + 1 < shortest:
            continue
        if np.mean([f.score for f in track.faces]) < min_track_score:
            continue
        tracks.append(_finish(track, smoothing, frame_size, track_id=len(tracks)))
    return tracks
