"""``avzoo export``: deployable exports of a model family."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Export models for deployment (ONNX).", no_args_is_help=True)


@app.command("av-lipsync")
def av_lipsync(
    onnx: bool = typer.Option(True, "--onnx/--no-onnx", help="Write ONNX graphs (the only format so far)."),
    model: str = typer.Option(
        "avzoo/av-lipsync", help="Model folder or id (default: the bundled checkpoint)."
    ),
    out_dir: Path = typer.Option(Path("export/av-lipsync"), help="Output folder."),
    quantize: bool = typer.Option(True, help="Also write int8 dynamic-quantised variants."),
) -> None:
    """Model + streaming crisp_mouth as ONNX: a window graph and a stateful step graph, fp32 (+ int8)."""
    if not onnx:
        raise typer.BadParameter("only --onnx exports exist for av-lipsync")
    from avzoo.export.onnx_av_lipsync import check_onnx_parity, export_onnx, load_for_export

    try:
        m, processor = load_for_export(model)
    except (ValueError, OSError) as e:
        raise typer.BadParameter(str(e)) from None
    out_dir.mkdir(parents=True, exist_ok=True)
    for streaming, name in ((False, "window"), (True, "step")):
        path = export_onnx(m, processor, out_dir / f"av-lipsync-{name}.onnx", streaming=streaming)
        err = check_onnx_parity(m, processor, path, streaming=streaming)
        typer.echo(
            f"{path}  ({path.stat().st_size / 2**20:.2f} MB, max |onnx - torch| = {_max_err(err):.2e})"
        )
        if quantize:
            q = export_onnx(
                m, processor, out_dir / f"av-lipsync-{name}-int8.onnx", quantize=True, streaming=streaming
            )
            typer.echo(f"{q}  ({q.stat().st_size / 2**20:.2f} MB, int8)")


def _max_err(report: dict[str, float]) -> float:
    return max(report.values()) if report else float("nan")
