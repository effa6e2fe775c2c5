"""``avzoo train``: run a family's Accelerate recipe (``key=value`` overrides, or ``--config f.yaml``)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Train a model family with its Accelerate recipe.", no_args_is_help=True)
_CTX = {"allow_extra_args": True, "ignore_unknown_options": True}


@app.command("av-lipsync", context_settings=_CTX)
def av_lipsync(ctx: typer.Context) -> None:
    """Phase 1 (lipsync branch) or phase 2 (expression branch, lipsync frozen): e.g.
    `avzoo train av-lipsync corpus_dir=runs/corpus output_dir=runs/p1 phase=1`.
    For many GPUs: `accelerate launch -m avzoo.train.av_lipsync ...` with the same arguments."""
    from avzoo.train.av_lipsync import main

    try:
        main(list(ctx.args))
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None
