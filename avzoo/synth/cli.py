"""``avzoo synth``: build the synthetic corpus and print its statistics."""

from __future__ import annotations

import json
from pathlib import Path

import typer

app = typer.Typer(help="Build the synthetic audio-visual corpus.", no_args_is_help=True)


def _split_counts(train: int, validation: int, test: int) -> dict[str, int]:
    return {k: v for k, v in {"train": train, "validation": validation, "test": test}.items() if v}


@app.command("corpus")
def corpus(
    out_dir: Path = typer.Argument(..., help="Folder to build (or resume) the corpus in."),
    train: int = typer.Option(800, help="Training utterances."),
    validation: int = typer.Option(100, help="Validation utterances."),
    test: int = typer.Option(100, help="Test utterances (held-out speakers and sentences)."),
    train_speakers: int = typer.Option(48),
    validation_speakers: int = typer.Option(8),
    test_speakers: int = typer.Option(8),
    face_size: int = typer.Option(0, help="Render face crops of this size (0: no faces)."),
    seed: int = typer.Option(0),
    num_proc: int = typer.Option(0, help="Processes (0: one per CPU)."),
    shard_size: int = typer.Option(50),
    labels: str = typer.Option(
        "v1",
        help="Label version: v1 (the bundled model's labels) or v2-real (closer to real ARKit captures; "
        "docs/label-realism.md). Audio is the same for both.",
    ),
) -> None:
    """Build a corpus: audio, phone timings, (T, 52) blendshapes, head pose and optional faces."""
    from avzoo.synth.corpus import CorpusConfig, build_corpus, corpus_stats

    try:
        config = CorpusConfig(
            utterances=_split_counts(train, validation, test),
            speakers=_split_counts(train_speakers, validation_speakers, test_speakers),
            seed=seed,
            face_size=face_size or None,
            shard_size=shard_size,
            labels=labels,
        )
        ds = build_corpus(config, out_dir, num_proc=num_proc or None)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None
    typer.echo(json.dumps(corpus_stats(ds), indent=2))


@app.command("stats")
def stats(out_dir: Path = typer.Argument(..., help="A built corpus folder.")) -> None:
    """Print hours, speakers, voices, engines, sentences and emotions per split."""
    from avzoo.synth.corpus import corpus_stats, load_corpus

    try:
        typer.echo(json.dumps(corpus_stats(load_corpus(out_dir)), indent=2))
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None


@app.command("real-speech")
def real_speech(
    src: Path = typer.Argument(
        ..., help="Folder of real English speech (.flac/.wav, 16 kHz), e.g. LibriSpeech."
    ),
    out_dir: Path = typer.Argument(
        ..., help="Corpus folder to write (alignments are cached in it; resumable)."
    ),
    limit: int = typer.Option(0, help="Use only the first N recordings (0: all)."),
    labels: str = typer.Option("v1", help="Label version (as the synthetic corpus it is mixed with)."),
) -> None:
    """Real voices with generated labels: align each recording's phones (pocketsphinx) and label them."""
    from avzoo.synth.corpus import corpus_stats, load_corpus
    from avzoo.synth.real_speech import build_real_speech_corpus

    if not src.is_dir():
        raise typer.BadParameter(f"{src} is not a folder")
    try:
        build_real_speech_corpus(src, out_dir, limit=limit, labels=labels)
    except (ValueError, ImportError) as e:
        raise typer.BadParameter(str(e)) from None
    typer.echo(json.dumps(corpus_stats(load_corpus(out_dir)), indent=2))
