"""``avzoo evaluate``: score a model and write the evaluation JSON its card quotes."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(
    help="Evaluate a model family; writes the evaluation JSON its model card is rendered from.",
    no_args_is_help=True,
)


@app.command("av-lipsync")
def av_lipsync(
    # click checks the paths' kinds while parsing, before anything is imported or loaded; run_evaluation then
    # checks the rest (corpus splits, a writable output, the model folder) before it loads the model.
    corpus: Path = typer.Option(
        ...,
        exists=True,
        file_okay=False,
        help="A corpus folder built by `avzoo synth corpus` (test split scored).",
    ),
    model: str = typer.Option(
        "avzoo/av-lipsync", help="Model folder or id (default: the bundled checkpoint)."
    ),
    out: Path = typer.Option(
        Path("eval/av-lipsync.json"), dir_okay=False, help="Where to write the evaluation JSON."
    ),
    real_voices: bool = typer.Option(True, help="Also report on the real recordings in ../shared/data."),
    batch_size: int = typer.Option(8, min=1),
) -> None:
    """Held-out synthetic test metrics against two baselines, plus the real-voice report."""
    from avzoo.evaluation.av_lipsync import run_evaluation

    try:
        run_evaluation(model, corpus, out, real_voices=real_voices, batch_size=batch_size)
    except (ValueError, OSError) as e:
        raise typer.BadParameter(str(e)) from None
