"""Serve a Gradio ``Blocks`` on a free loopback port in a background thread, for scripted clients.

For code that drives a UI from the same process (``gradio_client`` round trips in benchmarks, browser
tests): :func:`serve_blocks` picks a port, launches, yields the URL and closes the app afterwards::

    with serve_blocks(build_ui()) as url:
        Client(url).predict(...)

Importing this module does not import gradio.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


@contextmanager
def serve_blocks(blocks, *, attempts: int = 5, **launch_kwargs) -> Iterator[str]:
    """Launch ``blocks`` on a free loopback port in a background thread; yield its URL; close it after.

    ``launch_kwargs`` go to ``Blocks.launch`` (``css=``, ``theme=`` ...).
    """
    last_error: OSError | None = None
    for _ in range(attempts):
        port = free_port()
        try:
            blocks.launch(
                server_name=LOOPBACK,
                server_port=port,
                prevent_thread_lock=True,
                share=False,
                quiet=True,
                show_error=True,
                **launch_kwargs,
            )
            break
        except OSError as e:  # another worker took the port between free_port() and launch()
            last_error = e
    else:
        raise RuntimeError(
            f"could not launch the Gradio app on {LOOPBACK} after {attempts} tries"
        ) from last_error
    try:
        yield f"http://{LOOPBACK}:{port}/"
    finally:
        blocks.close()
