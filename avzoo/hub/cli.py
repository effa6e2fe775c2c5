"""``avzoo push``: upload a model folder (weights, config, processor, card, remote code) to the Hub."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Push a saved model folder to the Hugging Face Hub.", no_args_is_help=True)


@app.command("model")
def model(
    folder: Path = typer.Argument(
        ..., help="A folder written by save_model_folder / the bundled checkpoint."
    ),
    repo_id: str = typer.Argument(..., help="Target repo, e.g. avzoo/av-lipsync."),
    private: bool = typer.Option(False),
    token: str = typer.Option(
        None, envvar="HF_TOKEN", help="Hub token (default: $HF_TOKEN or the login cache)."
    ),
) -> None:
    """Create the repo if needed and commit the folder in one commit."""
    from avzoo.hub import push_model

    try:
        info = push_model(folder, repo_id, token=token, private=private)
    except (ValueError, OSError) as e:
        raise typer.BadParameter(str(e)) from None
    typer.echo(f"pushed {folder} to {repo_id}: {getattr(info, 'commit_url', info)}")
