"""Phone-timing accuracy and speed of the corpus speech engines (``avzoo.synth.speech``).

For each engine it speaks 50 fixed English sentences, cycling through several voices and three
speaking rates, and measures how far the phone boundaries lie from landmarks in the waveform
itself (``avzoo.synth.speech.landmarks``): the energy dip of each stop closure ("stop"), the
start and end of each pause ("pause"), where sound begins and ends ("edge"), and the energy
jump where a nasal opens into a vowel ("nasal"). For espeak it
also scores the boundaries taken straight from espeak-ng's phoneme events, before the
correction onto the waveform ("espeak (event marks only)"), to show what that correction does.

Speed is audio seconds per wall-clock second ("x real time") of ``synthesize`` in one process,
and with ``--workers`` processes (espeak and flite hold global state, so parallelism is by
processes); the pool's output is checked to be identical to the in-process output.

Usage:
    python benchmarks/speech_timing.py [--workers 2] [--out benchmarks/results/speech_timing.json]

Timings depend on the machine and its load (the JSON records both); the errors do not.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from avzoo.synth.speech import Prosody, espeak, flite, landmarks, synthesize  # noqa: E402

SENTENCES = [
    "Put the big map back, then pick a good top.",
    "Dad kept it, I bet.",
    "The quick brown fox jumps over the lazy dog.",
    "She sells sea shells by the sea shore.",
    "How now, brown cow?",
    "Buy your own toy boy, beware the air here.",
    "I would rather measure the pleasure of vision.",
    "Thirty-three thousand thin things were thrown away.",
    "Little bottles of water, butter and better letters.",
    "Button, kitten, mountain.",
    "Judge the church's thing by its age.",
    "Father bought a hot pot of coffee.",
    "Put the book on the good wool.",
    "Apple, table, people, simple.",
    "Yes, you usually use the yellow yacht.",
    "He left the gift of bread with two kids.",
    "Breathe deep, Seth, and take your time.",
    "Sixty-five thick gifts arrived, of course.",
    "Peter picked a peck of pickled peppers.",
    "A big black bug bit a big black bear.",
    "Could you please pass the salt and pepper?",
    "We will meet at the station at nine o'clock.",
    "The weather today is cold, wet and windy.",
    "My phone number is five five five, one two three four.",
    "Don't touch that, it's still hot!",
    "Every morning she walks her dog in the park.",
    "The museum closes early on Sundays.",
    "Take the second left, then go straight ahead.",
    "Bright blue boats bobbed beside the bridge.",
    "Good things come to those who wait.",
    "The cat sat quietly on the warm mat.",
    "Did you finish the report before lunch?",
    "Keep calm and carry on.",
    "A stitch in time saves nine.",
    "The pilot checked the map twice before take-off.",
    "Fresh bread, butter and a pot of tea, please.",
    "Why did the chicken cross the road?",
    "Tuesday's meeting was moved to Thursday afternoon.",
    "Tiny pebbles tapped against the window.",
    "He jumped, kicked the ball, and scored.",
    "Our team practised hard, but lost the match.",
    "Please put the papers back in the top drawer.",
    "The doctor told him to get plenty of sleep.",
    "Big decisions take careful thought.",
    "Open the gate, but keep the dog inside.",
    "At dusk, the bats flit past the old tower.",
    "Cut the cake into eight equal pieces.",
    "Nobody expected the storm to be so strong.",
    "Stop, look, and listen before you cross.",
    "Maybe we can talk about it tomorrow.",
]
RATES = (150, 175, 210)
VOICES = {
    "espeak": [
        "en-us+m3",
        "en-us+f2",
        "en-us+f4",
        "en+klatt",
        "en-gb-x-rp+m1",
        "en-us+Alicia",
        "en-us",
        "en+m7",
    ],
    "flite": ["slt", "rms", "awb"],
}


def _jobs(engine: str) -> list[tuple[str, str, str, int]]:
    voices = VOICES[engine]
    return [(s, engine, voices[i % len(voices)], RATES[i % len(RATES)]) for i, s in enumerate(SENTENCES)]


def _speak(job):
    text, engine, voice, rate = job
    return synthesize(text, engine=engine, voice=voice, prosody=Prosody(rate=rate))


def _digest(job) -> str:
    return hashlib.sha1(_speak(job).audio.tobytes()).hexdigest()


def _stats(errors: list[float]) -> dict:
    e = np.asarray(errors, float) * 1000
    if not len(e):
        return {"n": 0}
    return {
        "n": len(e),
        "median_ms": round(float(np.median(e)), 2),
        "mean_ms": round(float(e.mean()), 2),
        "p90_ms": round(float(np.percentile(e, 90)), 2),
        "p95_ms": round(float(np.percentile(e, 95)), 2),
        "max_ms": round(float(e.max()), 2),
        "within_10ms": round(float(np.mean(e <= 10)), 3),
        "within_20ms": round(float(np.mean(e <= 20)), 3),
    }


def timing(engine: str, marks_only: bool = False) -> dict:
    """Landmark errors over all sentences of one engine."""
    segments = espeak.segments
    if marks_only:  # score espeak-ng's own event marks, without the waveform correction
        espeak.segments = lambda raw, refine=True: segments(raw, refine=False)
    try:
        by_kind: dict[str, list[float]] = {"stop": [], "pause": [], "edge": [], "nasal": []}
        by_voice: dict[str, list[float]] = {}
        for job in _jobs(engine):
            utt = _speak(job)
            for kind, errs in landmarks.timing_errors(utt).items():
                by_kind[kind] += errs
                by_voice.setdefault(job[2], []).extend(errs)
    finally:
        espeak.segments = segments
    everything = [e for errs in by_kind.values() for e in errs]
    return {
        "all": _stats(everything),
        **{kind: _stats(errs) for kind, errs in by_kind.items()},
        "by_voice": {v: _stats(errs) for v, errs in by_voice.items()},
    }


def speed(engine: str, workers: int) -> dict:
    jobs = _jobs(engine)
    _speak(jobs[0])  # load the libraries and voices once
    t0 = time.perf_counter()
    utts = [_speak(j) for j in jobs]
    wall = time.perf_counter() - t0
    audio = sum(u.duration for u in utts)
    out = {
        "sentences": len(jobs),
        "audio_s": round(audio, 2),
        "wall_s_1_process": round(wall, 3),
        "x_real_time_1_process": round(audio / wall, 1),
    }
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            list(pool.map(_speak, jobs[:workers]))  # start-up and library loading
            t0 = time.perf_counter()
            digests = list(pool.map(_digest, jobs))
            wall = time.perf_counter() - t0
        out[f"wall_s_{workers}_processes"] = round(wall, 3)
        out[f"x_real_time_{workers}_processes"] = round(audio / wall, 1)
        out["processes_match_in_process_output"] = digests == [
            hashlib.sha1(u.audio.tobytes()).hexdigest() for u in utts
        ]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2, help="processes for the parallel speed run (1 = skip)")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "speech_timing.json")
    args = ap.parse_args()

    engines = ["espeak"] + (["flite"] if flite.available_voices() else [])
    result = {
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
            "note": "shared machine: speed numbers vary with load; timing errors do not",
        },
        "sentences": len(SENTENCES),
        "rates_wpm": list(RATES),
        "voices": {e: VOICES[e] for e in engines},
        "timing_errors": {},
        "speed": {},
    }
    result["timing_errors"]["espeak (event marks only)"] = timing("espeak", marks_only=True)
    for engine in engines:
        result["timing_errors"][engine] = timing(engine)
        result["speed"][engine] = speed(engine, args.workers)
    if "flite" not in engines:
        result["note"] = "flite is not installed (apt-get install flite): only espeak was measured"

    text = json.dumps(result, indent=2)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
