"""Face tracks on a real talking-face video: how many, how complete, how steady, how fast.

Runs ``avzoo.io.faces.face_tracks`` on the shared two-speaker split-screen clip (13.4 s, 1080p,
25 fps; ``$AVZOO_SHARED_DATA`` or ``../shared/data``) read at ``--max-side`` pixels, for each
``--every`` (detector on every n-th frame), and records:

* ``num_tracks`` and, per track, its span, ``coverage`` (fraction of the clip's frames it spans),
  ``detected_fraction`` (frames where the detector saw it, of the frames it ran on), mean score,
  screen half;
* jitter: the RMS of the second difference of the box centre (frame-to-frame acceleration), as a
  fraction of the box size, for the smoothed track and for the raw detections it was built from
  (``raw`` only where the detector ran on consecutive frames, i.e. ``every = 1``);
* speed: ``detector_fps`` = detector frames per second (two-pass BlazeFace on onnxruntime, one
  thread), ``decode_seconds`` for reading the clip, ``total_fps`` = clip frames per second
  end to end (read + detect + track).

Usage:
    python benchmarks/face_tracks.py [--video PATH] [--max-side 640] [--every 1 5] [--out PATH]

Timings depend on the machine and its load (the JSON records the machine).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from avzoo.io.face_detection import default_detector, detect_faces_video  # noqa: E402
from avzoo.io.face_tracking import track_faces  # noqa: E402
from avzoo.io.faces import TRACKING_MIN_SCORE  # noqa: E402
from avzoo.io.video import read_video  # noqa: E402


def default_video() -> Path:
    root = Path(os.environ.get("AVZOO_SHARED_DATA", REPO.parent / "shared" / "data"))
    return root / "talking-faces" / "two-speakers.mp4"


def accel_rms(centres: np.ndarray, sizes: np.ndarray) -> float:
    """RMS of the centre's second difference, in units of the face size."""
    if len(centres) < 3:
        return float("nan")
    accel = np.linalg.norm(np.diff(centres, n=2, axis=0), axis=1) / sizes[2:]
    return float(np.sqrt(np.mean(accel**2)))


def run(video: Path, max_side: int, every: int) -> dict:
    t0 = time.perf_counter()
    clip = read_video(video, max_side=max_side, audio=False)
    decode = time.perf_counter() - t0
    detector = default_detector()
    detector(clip.frames[0])  # warm-up: onnxruntime's first run allocates
    t1 = time.perf_counter()
    detections = detect_faces_video(clip, every=every, min_score=TRACKING_MIN_SCORE, detector=detector)
    detect = time.perf_counter() - t1
    tracks = track_faces(detections, frame_size=(clip.height, clip.width))
    total = time.perf_counter() - t0
    ran = sum(d is not None for d in detections)

    per_track = []
    for track in tracks:
        raw_centres, raw_sizes = [], []
        if every == 1:
            # The raw detection matched into this track: the one nearest the smoothed box.
            for t in track.frames[track.detected]:
                faces = detections[t]
                c = track.centers[t - track.start]
                best = min(faces, key=lambda f: np.hypot(f.center[0] - c[0], f.center[1] - c[1]))
                raw_centres.append(best.center)
                raw_sizes.append(max(best.width, best.height))
        ran_in_span = sum(detections[t] is not None for t in track.frames)
        mean_x = float(track.centers[:, 0].mean())
        per_track.append(
            {
                "track_id": track.track_id,
                "start_frame": track.start,
                "end_frame": track.end,
                "coverage": round(len(track) / clip.num_frames, 4),
                "detected_fraction": round(int(track.detected.sum()) / ran_in_span, 4),
                "mean_score": round(track.score, 4),
                "screen_half": "left" if mean_x < clip.width / 2 else "right",
                "mean_box_size_px": round(float(track.sizes.mean()), 1),
                "jitter_smoothed": round(accel_rms(track.centers, track.sizes), 5),
                "jitter_raw": round(accel_rms(np.asarray(raw_centres), np.asarray(raw_sizes)), 5)
                if raw_centres
                else None,
            }
        )
    return {
        "every": every,
        "frames": clip.num_frames,
        "frame_size": [clip.height, clip.width],
        "num_tracks": len(tracks),
        "tracks": per_track,
        "detector_frames": ran,
        "detector_fps": round(ran / detect, 2),
        "decode_seconds": round(decode, 3),
        "total_seconds": round(total, 3),
        "total_fps": round(clip.num_frames / total, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--video", type=Path, default=None)
    parser.add_argument("--max-side", type=int, default=640)
    parser.add_argument("--every", type=int, nargs="+", default=[1, 5])
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "face_tracks.json")
    args = parser.parse_args()
    video = args.video or default_video()
    if not video.is_file():
        raise SystemExit(f"video not found: {video} (set AVZOO_SHARED_DATA or pass --video)")

    results = {
        "video": video.name,
        "max_side": args.max_side,
        "runs": [run(video, args.max_side, every) for every in args.every],
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "note": "CPU only; timings vary with load",
        },
    }
    text = json.dumps(results, indent=2)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
