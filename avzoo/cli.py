"""The ``avzoo`` command line: ``avzoo serve``, ``avzoo --version`` and one command group per entry of ``SUBCOMMANDS``.

Families add their own command groups (``synth``, ``train``, ``evaluate``, ``export``, ``push``,
``bench``) by appending ``(name, "package.module:typer_app", "one-line help")`` to ``SUBCOMMANDS`` once they work.

Why help and version need neither torch nor transformers (they would cost seconds, for a one-line answer):

* ``import avzoo`` registers the model families with transformers' Auto classes, and that cannot be cheap:
  ``AutoConfig.register``/``AutoModel.register`` store the config and model *classes* (transformers'
  ``_LazyConfigMapping``/``_LazyAutoMapping`` lazy-load only from ``transformers.models``), and defining them
  imports transformers and torch. Users rely on that registration (``import avzoo`` then
  ``AutoModel.from_pretrained("avzoo/av-lipsync")``), so it stays eager for them.
* Python runs ``avzoo/__init__.py`` before this module in any case, so it cannot be told "this is the command line"
  by this module. Instead it recognises the command line's own process (the ``avzoo`` console script, or
  ``python -m avzoo.cli`` in ``sys.orig_argv``) and leaves the registration to this module, which runs
  :func:`avzoo.register` right before any command's own code: after click has parsed the command's arguments, so
  ``--help``, ``--version``, a missing argument or a usage error never load it, and every command that runs sees
  the families registered (and the Hugging Face cache seeded) exactly as after ``import avzoo``.
* A group's module is imported only when that group is used: ``avzoo --help`` lists the groups from the help line in
  ``SUBCOMMANDS`` (a test keeps it equal to the group's own help). A group module imports its heavy dependencies
  inside its commands; note that importing ``avzoo.<package>.cli`` also runs ``avzoo/<package>/__init__.py``, so
  that package's ``__init__`` must be light too for ``avzoo <group> --help`` to be fast.

``tests/test_cli.py`` checks in a fresh process that ``python -m avzoo.cli --help`` imports neither torch nor
transformers.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import typer
from typer.core import TyperCommand, TyperGroup

import avzoo
from avzoo import __version__

# (command group name, "module:attribute" of its typer.Typer, its one-line help as `avzoo --help` lists it).
# Without the help line the group's module is imported to list it, on every `avzoo --help`.
SUBCOMMANDS: tuple[tuple[str, ...], ...] = (
    ("synth", "avzoo.synth.cli:app", "Build the synthetic audio-visual corpus."),
    ("train", "avzoo.train.cli:app", "Train a model family with its Accelerate recipe."),
    (
        "evaluate",
        "avzoo.evaluation.cli:app",
        "Evaluate a model family; writes the evaluation JSON its model card is rendered from.",
    ),
    ("export", "avzoo.export.cli:app", "Export models for deployment (ONNX)."),
    (
        "release",
        "avzoo.release.cli:app",
        "Release a model family: calibrate, bundle, evaluate, write its card.",
    ),
    ("push", "avzoo.hub.cli:app", "Push a saved model folder to the Hugging Face Hub."),
)


def load_group(spec: str) -> TyperGroup:
    """The click group of ``"module:attribute"`` (a ``typer.Typer``), with :func:`avzoo.register` before each command."""
    module_name, _, attr = spec.partition(":")
    group = typer.main.get_group(getattr(importlib.import_module(module_name), attr))
    return _registering(group)


def _registering(command: click.Command) -> Any:
    """``command`` with every leaf's callback running :func:`avzoo.register` first (recursively through groups)."""
    if isinstance(command, (TyperGroup, click.Group)):
        for sub in command.commands.values():
            _registering(sub)
    elif command.callback is not None and not getattr(command.callback, "_avzoo_registers", False):
        command.callback = _register_first(command.callback)
    return command


def _register_first(callback: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        avzoo.register()
        return callback(*args, **kwargs)

    run._avzoo_registers = True  # type: ignore[attr-defined]
    return run


class _Unloaded(TyperCommand):
    """What ``avzoo --help`` lists for a group whose module is not imported yet: its name and help line."""

    def __init__(self, name: str, spec: str, help: str) -> None:
        super().__init__(name=name, help=help)
        self.spec = spec


class _AvzooGroup(TyperGroup):
    """The root group: imports a command group's module when the group is used, registers before commands."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for command in list(self.commands.values()):
            _registering(command)
        for name, spec, *help_line in SUBCOMMANDS:
            self.commands[name] = _Unloaded(name, spec, help_line[0]) if help_line else load_group(spec)

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, Any, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if isinstance(command, _Unloaded):
            command = self.commands[command.name] = load_group(command.spec)
        return name, command, rest


app = typer.Typer(
    name="avzoo",
    cls=_AvzooGroup,
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


@app.command()
def calibrate(
    take: Path = typer.Option(
        ..., help="The performer's take: a Live Link Face CSV or a CSV of ARKit-named channels."
    ),
    out: Path = typer.Option(..., help="Where to write the style JSON (pass it as style= / --style)."),
    audio: Path | None = typer.Option(
        None, help="The take's audio; without it only the rest pose is fitted."
    ),
    model: str = typer.Option(
        "avzoo/av-lipsync", help="The model the style is for (a style fits one checkpoint)."
    ),
    take_fps: float | None = typer.Option(None, help="The take's frame rate, when its CSV has no timecodes."),
    method: str | None = typer.Option(
        None, help="isotonic (default with audio), quantile (match the take's ranges) or rest (no audio)."
    ),
    crisp_mouth: bool = typer.Option(
        False, help="Fit on the mouth-filtered output (then use it with the filter)."
    ),
    fit_delay: bool = typer.Option(True, help="Fit the capture's constant time offset (within 8 frames)."),
    align: bool = typer.Option(
        False, help="Shift a take that is offset from its audio by more than 8 frames onto it (else refused)."
    ),
    mode: str | None = typer.Option(
        None, help="Model mode to fit on: offline or streaming (default: offline where the model has it)."
    ),
) -> None:
    """Fit a performer's style (per-channel curves, time offset) on a real take, for one model."""
    from avzoo.evaluation.performer_style import calibrate as fit

    for flag, path in (("--take", take), ("--audio", audio)):
        if path is not None and not path.is_file():
            typer.echo(f"Error: {flag} {path} is not a file", err=True)
            raise typer.Exit(2)
    try:
        style = fit(
            take,
            audio,
            model,
            take_fps=take_fps,
            method=method,
            crisp_mouth=crisp_mouth,
            fit_delay=fit_delay,
            align=align,
            mode=mode,
        )
    except ValueError as err:
        typer.echo(f"Error: {err}", err=True)
        raise typer.Exit(2) from None
    style.save(out)
    mae = style.source.get("in_sample_lipsync_mae")
    summary = (
        f"; lipsync MAE on the take {mae['before']:.4f} -> {mae['after']:.4f}"
        if mae and mae["before"]
        else ""
    )
    typer.echo(
        f"{out}: {style.method} style, {len(style.curves)} channel curves, delay {style.delay_s * 1000:+.0f} ms"
        f"{summary}"
    )


if __name__ == "__main__":
    app()
