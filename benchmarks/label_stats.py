"""How do the synthetic corpus' blendshape labels compare with real ARKit captures? Label statistics side by side.

Sources:

* ``synthetic``: the blendshape labels of a corpus split (30 fps, 52 channels). Speech frames are the frames whose
  centre lies inside a phone other than ``sil`` (the corpus' own phone timings).
* ``t2a``: the three Mandarin speech takes in ``<shared>/data/arkit-real/t2a-mandarin`` (25 fps, 37 channels; no
  eyes, no tongue). Speech frames are those whose audio RMS is within :data:`VOICED_DB` of the take's loudest
  frame (the pauses between phrases sit 40-60 dB lower).
* ``rom``: the range-of-motion takes ``alex_rom_*`` (percentiles up to p99: the extremes of a real face).
* ``idle``: the emotion idle takes ``MySlate_*`` and ``Happy`` (no speech; blinks, brows, smiles).

Statistics are those of :mod:`avzoo.metrics.label_stats`, pooled per source and per take, with blinks counted on
``eyeBlinkLeft`` per utterance or take. Real data is read at run time from ``--shared`` and never copied.

    python benchmarks/label_stats.py --corpus /work/runs/corpus-v2 --split test --shared ../shared \\
        --out benchmarks/results/label_stats.json --markdown /tmp/label_stats.md

``--baseline results.json`` sets an earlier run (another label version, say) beside this one in two more tables:

    python benchmarks/label_stats.py --corpus /work/runs/corpus-v2-real --split test --shared ../shared \\
        --out benchmarks/results/label_stats_v2_real.json --markdown /tmp/v2.md \\
        --baseline benchmarks/results/label_stats.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from avzoo import arkit
from avzoo.evaluation.baselines import frame_rms, rms_db
from avzoo.evaluation.real_takes import LIP_GAP_CLOSED, read_take
from avzoo.evaluation.rows import load_corpus_splits
from avzoo.io.audio import load_audio
from avzoo.io.livelink import read_livelink_csv
from avzoo.metrics.label_stats import BLINK_THRESHOLD, blink_stats, summarize, to_canonical

VOICED_DB = 40.0
#: Blinks are counted at the 0.5 crossing, and at 0.3 too: calibrated takes often blink to only 0.4-0.7.
BLINK_THRESHOLDS = (BLINK_THRESHOLD, 0.3)
T2A_FPS = 25.0
BLINK = arkit.INDEX["eyeBlinkLeft"]
#: Channels of the markdown table (left side of bilateral pairs; "lipOpening" is the mean of the four lip shapes).
KEY_CHANNELS = (
    "jawOpen", "mouthClose", "lipOpening", "mouthUpperUpLeft", "mouthLowerDownLeft", "mouthFunnel",
    "mouthPucker", "mouthStretchLeft", "mouthPressLeft", "mouthRollLower", "mouthRollUpper", "mouthShrugLower",
    "mouthSmileLeft", "mouthFrownLeft", "mouthDimpleLeft", "tongueOut", "browInnerUp", "browOuterUpLeft",
    "browDownLeft", "cheekSquintLeft", "noseSneerLeft", "eyeSquintLeft", "eyeWideLeft", "eyeBlinkLeft",
)  # fmt: skip


# --- reading the sources --------------------------------------------------------------------------------------


def speech_mask(phonemes: Sequence[dict[str, Any]], n_frames: int, fps: float) -> np.ndarray:
    """Frames whose centre lies inside a phone other than ``sil``."""
    t = (np.arange(n_frames) + 0.5) / fps
    mask = np.zeros(n_frames, dtype=bool)
    for p in phonemes or ():
        if p["phone"] != "sil":
            mask |= (t >= p["start"]) & (t < p["end"])
    return mask


def read_synthetic(corpus: Path, split: str) -> tuple[list[np.ndarray], list[np.ndarray], float]:
    """Blendshape labels and speech masks of every utterance of a corpus split, and their frame rate."""
    ds = load_corpus_splits(corpus, (split,))[split].select_columns(["blendshapes", "phonemes", "fps"])
    tracks, masks, rates = [], [], set()
    for row in ds:
        frames = np.asarray(row["blendshapes"], dtype=np.float64)
        tracks.append(frames)
        masks.append(speech_mask(row["phonemes"], len(frames), row["fps"]))
        rates.add(float(row["fps"]))
    if len(rates) != 1:
        raise ValueError(f"{corpus}/{split}: utterances at several frame rates {sorted(rates)}")
    return tracks, masks, rates.pop()


def read_livelink_group(folder: Path, patterns: Sequence[str]) -> dict[str, tuple[np.ndarray, float]]:
    """``{take name: (canonical frames, fps)}`` of the Live Link takes matching ``patterns``."""
    paths = sorted({p for pattern in patterns for p in folder.glob(pattern)})
    takes = {p.stem: read_livelink_csv(p) for p in paths}
    return {name: (t.blendshapes.astype(np.float64), float(t.fps)) for name, t in takes.items()}


def voiced_mask(wav: Path, n_frames: int, fps: float) -> np.ndarray:
    """Frames whose audio RMS is within :data:`VOICED_DB` of the loudest frame."""
    audio = load_audio(wav, 16000)
    db = rms_db(frame_rms(audio, 16000, fps, num_frames=n_frames))
    return db > db.max() - VOICED_DB


def read_t2a(folder: Path) -> dict[str, tuple[np.ndarray, np.ndarray, float]]:
    """``{take: (canonical frames with absent channels NaN, voiced mask, fps)}`` of the t2a speech takes."""
    out = {}
    for path in sorted(folder.glob("*.csv"), key=lambda p: p.stem.lower()):
        frames, names, fps = read_take(path, T2A_FPS)
        out[path.stem] = (
            to_canonical(frames, names),
            voiced_mask(path.with_suffix(".wav"), len(frames), fps),
            fps,
        )
    return out


# --- statistics ---------------------------------------------------------------------------------------------


def source_stats(
    tracks: Sequence[np.ndarray],
    fps: float,
    masks: Sequence[np.ndarray] | None = None,
    qs: Sequence[float] = (50, 95),
) -> dict[str, Any]:
    """Pooled statistics of one source: all frames, speech frames (given masks), blinks (given eyes)."""
    out: dict[str, Any] = {
        "fps": fps,
        "tracks": len(tracks),
        "seconds": round(sum(map(len, tracks)) / fps, 2),
    }
    out["all"] = summarize(np.concatenate(tracks), LIP_GAP_CLOSED, qs)
    if masks is not None:
        out["speech"] = summarize(
            np.concatenate([t[m] for t, m in zip(tracks, masks, strict=True)]), LIP_GAP_CLOSED, qs
        )
        out["speech"]["share_of_frames"] = round(float(np.concatenate(masks).mean()), 4)
    if not np.isnan(tracks[0][:, BLINK]).all():
        lids = [t[:, BLINK] for t in tracks]
        out["blinks"] = {f"{th:g}": blink_stats(lids, fps, threshold=th) for th in BLINK_THRESHOLDS}
    return out


def group_stats(
    takes: dict[str, tuple], qs: Sequence[float] = (50, 95), speech: bool = False
) -> dict[str, Any]:
    """A group of real takes: pooled, and each take on its own (without the per-channel tables, for brevity)."""
    fps = {t[-1] for t in takes.values()}
    if len(fps) != 1:
        raise ValueError(f"takes at several frame rates {sorted(fps)}; pool them per rate")
    tracks = [t[0] for t in takes.values()]
    masks = [t[1] for t in takes.values()] if speech else None
    per_take = {
        name: source_stats([t[0]], t[-1], [t[1]] if speech else None, qs) for name, t in takes.items()
    }
    for stats in per_take.values():
        for part in ("all", "speech"):
            for key in ("percentiles", "upper_face_std"):
                stats.get(part, {}).pop(key, None)
    return {"pooled": source_stats(tracks, fps.pop(), masks, qs), "takes": per_take}


# --- markdown ---------------------------------------------------------------------------------------------------


def _cell(stats: dict[str, Any] | None, channel: str, qs: Sequence[str]) -> str:
    if stats is None:
        return " / ".join("–" for _ in qs)
    values = stats["lip_opening"] if channel == "lipOpening" else stats["percentiles"][channel]
    return " / ".join("–" if values.get(q) is None else f"{values[q]:.2f}" for q in qs)


def _num(value: Any, fmt: str = "{:.2f}") -> str:
    return "–" if value is None else fmt.format(value)


def _blinks(source: dict[str, Any] | None) -> str:
    """Three cells: blink rate, median duration (at 0.5, and at 0.3 in brackets) and median peak at 0.3."""
    if not source or "blinks" not in source:
        return "– | – | –"
    hi, lo = (source["blinks"][f"{th:g}"] for th in BLINK_THRESHOLDS)
    rate = f"{_num(hi['rate_per_min'], '{:.1f}')} ({_num(lo['rate_per_min'], '{:.1f}')})"
    ms = f"{_num(hi['duration_ms_p50'], '{:.0f}')} ({_num(lo['duration_ms_p50'], '{:.0f}')})"
    return f"{rate} | {ms} | {_num(lo['peak_p50'])}"


def _labels(results: dict[str, Any]) -> str:
    """The label version of a run's corpus (runs from before label versions are v1)."""
    return results.get("labels", "v1")


def _channel_table(cols: list, t2a: Any, rom: Any, idle: Any) -> list[str]:
    """Markdown rows of :data:`KEY_CHANNELS`: the given synthetic columns, then the real takes' columns."""
    cols = [
        *cols,
        ("t2a speech p50 / p95", t2a and t2a["speech"], ("p50", "p95")),
        ("ROM p95 / p99", rom and rom["all"], ("p95", "p99")),
        ("idles p50 / p95", idle and idle["all"], ("p50", "p95")),
    ]
    lines = ["| channel | " + " | ".join(c[0] for c in cols) + " |", "|---" * (len(cols) + 1) + "|"]
    lines += [f"| {ch} | " + " | ".join(_cell(s, ch, q) for _, s, q in cols) + " |" for ch in KEY_CHANNELS]
    return lines


def markdown_compare(runs: Sequence[dict[str, Any]]) -> str:
    """Key channels and the scalar summary of several runs' synthetic labels (speech frames) beside the real takes."""
    real = runs[0]["real"]
    t2a, rom, idle = (real.get(k, {}).get("pooled") for k in ("t2a", "rom", "idle"))
    cols = [(f"{_labels(r)} speech p50 / p95", r["synthetic"]["speech"], ("p50", "p95")) for r in runs]
    lines = _channel_table(cols, t2a, rom, idle)

    # Mouth figures of speech frames where a source has them; brows and blinks of all frames.
    lines += ["", "| source | lips nearly shut | lip opening / jawOpen | tongueOut p95 | mouthPress p95 | "
              "browInnerUp p95 / std (all) | blinks / min at 0.5 (at 0.3) | blink ms at 0.5 (at 0.3) | blink peak |",
              "|---" * 9 + "|"]  # fmt: skip
    rows = [(f"synthetic {_labels(r)} speech", r["synthetic"]["speech"], r["synthetic"]) for r in runs]
    rows += [("t2a speech", t2a and t2a["speech"], t2a), ("ROM", rom and rom["all"], rom),
             ("idles", idle and idle["all"], idle)]  # fmt: skip
    for name, stats, pooled in rows:
        if stats is None:
            continue
        a = pooled["all"] if pooled else stats
        press = stats["percentiles"]["mouthPressLeft"]["p95"]
        brow = f"{_num(a['brows_p95']['browInnerUp'])} / {_num(a['brows_std']['browInnerUp'])}"
        lines.append(
            f"| {name} | {_num(stats['lips_nearly_shut'], '{:.0%}')} | {_num(stats['lip_to_jaw_ratio'])} | "
            f"{_num(stats['tongue_out_p95'])} | {_num(press)} | {brow} | {_blinks(pooled)} |"
        )
    return "\n".join(lines) + "\n"


def markdown(results: dict[str, Any]) -> str:
    """The key-channel table, the scalar summary and the idle takes' blinks and brows, as markdown."""
    syn = results["synthetic"]
    t2a, rom, idle = (results["real"].get(k, {}).get("pooled") for k in ("t2a", "rom", "idle"))
    cols = [
        ("synthetic speech p50 / p95", syn["speech"], ("p50", "p95")),
        ("synthetic all p50 / p95", syn["all"], ("p50", "p95")),
    ]
    lines = _channel_table(cols, t2a, rom, idle)

    lines += ["", "| source | lips nearly shut | lip opening / jawOpen | tongueOut p95 | "
              "blinks / min at 0.5 (at 0.3) | blink ms at 0.5 (at 0.3) | blink peak |", "|---" * 7 + "|"]  # fmt: skip
    rows = [("synthetic speech", syn["speech"], None), ("synthetic all", syn["all"], syn),
            ("t2a speech", t2a and t2a["speech"], None), ("ROM", rom and rom["all"], rom),
            ("idles", idle and idle["all"], idle)]  # fmt: skip
    for name, stats, pooled in rows:
        if stats is not None:
            lines.append(
                f"| {name} | {_num(stats['lips_nearly_shut'], '{:.0%}')} | {_num(stats['lip_to_jaw_ratio'])} | "
                f"{_num(stats['tongue_out_p95'])} | {_blinks(pooled)} |"
            )

    takes = results["real"].get("idle", {}).get("takes", {})
    if takes:
        brows = ("browInnerUp", "browOuterUpLeft", "browDownLeft")
        lines += ["", "| take | s | blinks / min at 0.5 (at 0.3) | blink ms at 0.5 (at 0.3) | blink peak | "
                  + " | ".join(f"{b} p95 / std" for b in brows) + " | mouthSmileLeft p95 |",
                  "|---" * (6 + len(brows)) + "|"]  # fmt: skip
        for name, t in {**takes, "all idles": idle, "synthetic labels": syn}.items():
            a = t["all"]
            cells = " | ".join(f"{_num(a['brows_p95'][x])} / {_num(a['brows_std'][x])}" for x in brows)
            lines.append(
                f"| {name} | {t['seconds']:.0f} | {_blinks(t)} | {cells} | {_num(a['smile_p95']['mouthSmileLeft'])} |"
            )
    return "\n".join(lines) + "\n"


# --- main -------------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Compute, save and print the label statistics."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=Path("/work/runs/corpus-v2"))
    ap.add_argument("--split", default="test")
    ap.add_argument("--shared", type=Path, default=Path("../shared"))
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/label_stats.json"))
    ap.add_argument("--markdown", type=Path, default=None, help="also write the tables as markdown here")
    ap.add_argument(
        "--baseline", type=Path, default=None, help="an earlier run's JSON to compare with (more tables)"
    )
    args = ap.parse_args(argv)

    if not (args.corpus / "config.json").is_file():
        print(f"no corpus at {args.corpus}; build one with: avzoo synth corpus {args.corpus} --train 0 "
              "--validation 400 --test 400 --validation-speakers 12 --test-speakers 12", file=sys.stderr)  # fmt: skip
        return 2
    tracks, masks, fps = read_synthetic(args.corpus, args.split)
    results: dict[str, Any] = {
        "corpus": str(args.corpus),
        "labels": json.loads((args.corpus / "config.json").read_text()).get("labels", "v1"),
        "split": args.split,
        "lip_gap_closed": LIP_GAP_CLOSED,
        "voiced_db": VOICED_DB,
        "synthetic": source_stats(tracks, fps, masks),
        "real": {},
    }
    real = args.shared / "data" / "arkit-real"
    livelink, t2a = real / "livelink-no-audio", real / "t2a-mandarin"
    if livelink.is_dir():
        results["real"]["rom"] = group_stats(read_livelink_group(livelink, ["alex_rom_*.csv"]), (50, 95, 99))
        results["real"]["idle"] = group_stats(read_livelink_group(livelink, ["MySlate_*.csv", "Happy.csv"]))
    else:
        print(f"skipping the Live Link takes: {livelink} is missing", file=sys.stderr)
    if t2a.is_dir():
        results["real"]["t2a"] = group_stats(read_t2a(t2a), speech=True)
    else:
        print(f"skipping the t2a takes: {t2a} is missing", file=sys.stderr)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    table = markdown(results)
    if args.baseline:
        baseline = json.loads(args.baseline.read_text())
        table += f"\n{_labels(baseline)} ({args.baseline}) beside {_labels(results)}:\n\n"
        table += markdown_compare([baseline, results])
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(table)
    print(table)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
