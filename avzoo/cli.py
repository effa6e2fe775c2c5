"""The ``avzoo`` command line: ``avzoo serve`` and ``avzoo --version``.

Families add their own command groups (``synth``, ``train``, ``evaluate``, ``export``, ``push``,
``bench``) by appending ``(name, "package.module:typer_app")`` to ``SUBCOMMANDS`` once they work.
Those modules keep heavy imports (torch, gradio) inside their commands so ``avzoo --help`` stays fast.
"""

from __future__ import annotations

import importlib

import typer

from avzoo import __version__

# (command group name, "module:attribute" of its typer.Typer).
SUBCOMMANDS: tuple[tuple[str, str], ...] = (
    ("synth", "avzoo.synth.cli:app"),
    ("train", "avzoo.train.cli:app"),
    ("evaluate", "avzoo.evaluation.cli:app"),
    ("export", "avzoo.export.cli:app"),
    ("push", "avzoo.hub.cli:app"),
)

app = typer.Typer(
    name="avzoo",
    help="avzoo: audio-visual models for faces and voices, native to the Hugging Face stack.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"avzoo {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """avzoo: audio-visual models for faces and voices, native to the Hugging Face stack."""


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to bind; the loopback default keeps it private."),
    port: int = typer.Option(7860, min=1, max=65535, help="TCP port to listen on."),
) -> None:
    """Serve the zoo's Gradio app: the model families and a demo tab for each available one."""
    from avzoo.apps.zoo import serve as serve_zoo  # gradio is slow to import; only this command needs it

    typer.echo(f"avzoo {__version__}: serving the zoo at http://{host}:{port} (Ctrl+C stops it)")
    serve_zoo(host=host, port=port)


def _add_subcommands() -> None:
    for name, spec in SUBCOMMANDS:
        module_name, _, attr = spec.partition(":")
        app.add_typer(getattr(importlib.import_module(module_name), attr), name=name)


_add_subcommands()

if __name__ == "__main__":
    app()
