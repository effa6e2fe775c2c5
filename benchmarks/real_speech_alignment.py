"""How good are labels from aligned phones? Measured on synthetic speech, where the true phones are known.

For test-split utterances of the synthetic corpus, aligns the audio with :func:`avzoo.synth.alignment.align_speech`
twice -- given the true text, and with the words recognised (as for LibriSpeech, whose transcripts we do not
have) -- and compares with the espeak-ng phone timings the corpus holds:

* frame phone agreement: share of 30 fps frames whose phone (silence included) matches the truth;
* boundary error: median |start difference| of phones matched in order (same symbol, edit-distance alignment);
* label MAE: lipsync-group MAE between the blendshape labels generated from the aligned phones and from the true
  phones (same generator, default articulation) -- the error the alignment adds to a training label. Beside it,
  the same labels from the true phones shifted by +-40 ms, for scale.

    python benchmarks/real_speech_alignment.py --corpus /work/runs/corpus-v2 --limit 24 \
        --out benchmarks/results/real_speech_alignment.json
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from avzoo.arkit import INDEX, LIPSYNC  # noqa: E402
from avzoo.synth.alignment import align_speech  # noqa: E402
from avzoo.synth.corpus import load_corpus  # noqa: E402
from avzoo.synth.visemes import Phone, phones_to_blendshapes  # noqa: E402
from avzoo.train.av_lipsync import frame_phones  # noqa: E402

FPS = 30.0
COLS = [INDEX[n] for n in LIPSYNC]


def _labels(phones: list[Phone], duration: float) -> np.ndarray:
    return phones_to_blendshapes(phones, duration, FPS)[:, COLS]


def _as_dicts(phones: list[Phone]) -> list[dict]:
    return [{"phone": p.symbol, "start": p.start, "end": p.end} for p in phones]


def compare(truth: list[Phone], aligned: list[Phone], duration: float) -> dict:
    """Agreement, boundary error and label MAE of ``aligned`` against ``truth``."""
    n = int(np.ceil(duration * FPS - 1e-9))
    agree = float((frame_phones(_as_dicts(truth), n, FPS) == frame_phones(_as_dicts(aligned), n, FPS)).mean())
    matcher = difflib.SequenceMatcher(
        a=[p.symbol for p in truth], b=[p.symbol for p in aligned], autojunk=False
    )
    starts = [
        abs(truth[block.a + k].start - aligned[block.b + k].start)
        for block in matcher.get_matching_blocks()
        for k in range(block.size)
    ]
    return {
        "frame_phone_agreement": agree,
        "phones_matched": len(starts) / max(len(truth), 1),
        "median_boundary_error_ms": 1000 * float(np.median(starts)) if starts else None,
        "label_mae": float(np.abs(_labels(aligned, duration) - _labels(truth, duration)).mean()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=Path("/work/runs/corpus-v2"))
    ap.add_argument("--split", default="test")
    ap.add_argument("--limit", type=int, default=24)
    ap.add_argument(
        "--out", type=Path, default=REPO / "benchmarks" / "results" / "real_speech_alignment.json"
    )
    args = ap.parse_args()
    ds = load_corpus(args.corpus)[args.split]
    step = max(1, len(ds) // args.limit)
    rows = []
    for i in range(0, min(len(ds), step * args.limit), step):
        row = ds[i]
        audio = np.asarray(row["audio"]["array"], np.float32)
        duration = len(audio) / row["audio"]["sampling_rate"]
        truth = [Phone(p["phone"], p["start"], p["end"]) for p in row["phonemes"] if p["phone"] != "sil"]
        shifted = {
            f"true_shift_{ms:+d}ms": float(
                np.abs(
                    _labels(
                        [Phone(p.symbol, p.start + ms / 1000, p.end + ms / 1000) for p in truth], duration
                    )
                    - _labels(truth, duration)
                ).mean()
            )
            for ms in (-40, 40)
        }
        out = {"id": row["id"], "text": row["text"], "seconds": duration, **shifted}
        for mode, text in (("given_text", row["text"]), ("recognised", None)):
            try:
                al = align_speech(audio, text)
                out[mode] = {**compare(truth, al.phones, duration), "text": al.text}
            except ValueError as err:
                out[mode] = {"error": str(err)}
        rows.append(out)
        print(row["id"], {k: v.get("label_mae") for k, v in out.items() if isinstance(v, dict)}, flush=True)

    def mean(mode: str, key: str) -> float | None:
        vals = [r[mode][key] for r in rows if isinstance(r.get(mode), dict) and r[mode].get(key) is not None]
        return float(np.mean(vals)) if vals else None

    summary = {
        mode: {
            k: mean(mode, k)
            for k in ("frame_phone_agreement", "phones_matched", "median_boundary_error_ms", "label_mae")
        }
        | {"failed": sum("error" in r[mode] for r in rows)}
        for mode in ("given_text", "recognised")
    }
    summary["true_phones_shifted_40ms_label_mae"] = float(
        np.mean([(r["true_shift_-40ms"] + r["true_shift_+40ms"]) / 2 for r in rows])
    )
    result = {"corpus": str(args.corpus), "split": args.split, "utterances": len(rows), "summary": summary}
    result["rows"] = rows
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
