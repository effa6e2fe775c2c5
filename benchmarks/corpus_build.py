"""Corpus build speed: audio hours with blendshapes and 96x96 faces per wall-clock minute.

Builds ``--minutes`` of train audio (default 60, the issue's target: one hour in under ten
minutes on the 2-core machine) with ``--num-proc`` processes and writes the timing and corpus
statistics as JSON.

    python benchmarks/corpus_build.py --minutes 60 --face-size 96
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from avzoo.synth.corpus import CorpusConfig, build_corpus, corpus_stats

MEAN_UTTERANCE_S = 3.6  # measured mean duration of a default-corpus utterance


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0, help="minutes of audio to build")
    ap.add_argument("--face-size", type=int, default=96)
    ap.add_argument("--num-proc", type=int, default=os.cpu_count())
    ap.add_argument("--out", default="benchmarks/results/corpus_build.json")
    ap.add_argument("--keep", default=None, help="keep the corpus in this folder")
    args = ap.parse_args()

    n = max(1, round(args.minutes * 60 / MEAN_UTTERANCE_S))
    config = CorpusConfig(
        utterances={"train": n},
        speakers={"train": 48},
        face_size=args.face_size or None,
        shard_size=max(5, n // (8 * args.num_proc)),  # enough shards to keep every process busy
    )
    folder = Path(args.keep or tempfile.mkdtemp(prefix="avzoo-corpus-"))
    t0 = time.perf_counter()
    ds = build_corpus(config, folder, num_proc=args.num_proc)
    wall = time.perf_counter() - t0
    stats = corpus_stats(ds)["train"]
    size_mb = sum(p.stat().st_size for p in folder.rglob("*.parquet")) / 2**20
    audio_h = stats["hours"]
    result = {
        "utterances": n,
        "audio_hours": audio_h,
        "face_size": args.face_size,
        "num_proc": args.num_proc,
        "cpus": os.cpu_count(),
        "wall_s": round(wall, 1),
        "minutes_per_audio_hour": round(wall / 60 / audio_h, 2),
        "x_realtime": round(audio_h * 3600 / wall, 1),
        "parquet_mb": round(size_mb, 1),
        "stats": stats,
    }
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
