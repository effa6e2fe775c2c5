"""The ``avzoo`` command line: ``--version``, help, and ``avzoo serve`` answering HTTP on loopback."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from browser import LOOPBACK, free_port
from typer.testing import CliRunner

import avzoo
from avzoo.cli import SUBCOMMANDS, app

REPO = Path(__file__).resolve().parents[1]
# Talk to loopback directly even when the environment sets an HTTP proxy.
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def run_cli(*args: str, **kw) -> subprocess.CompletedProcess:
    # -m from the repo root runs this checkout, whatever `pip install -e` pointed the console script at.
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "avzoo.cli", *args], cwd=REPO, env=env, capture_output=True, text=True, **kw
    )


def test_version_flag_prints_the_package_version():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"avzoo {avzoo.__version__}"


def test_version_from_a_fresh_process():
    result = run_cli("--version", timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"avzoo {avzoo.__version__}"


def test_installed_console_script_reports_a_version():
    exe = shutil.which("avzoo")
    if exe is None:
        pytest.skip("the avzoo console script is not on PATH (pip install -e . puts it there)")
    result = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("avzoo ")


def test_help_lists_only_working_commands():
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "serve" in result.output
    for name, _ in SUBCOMMANDS:
        assert name in result.output


def test_serve_rejects_an_out_of_range_port():
    result = CliRunner().invoke(app, ["serve", "--port", "70000"])
    assert result.exit_code == 2
    assert "--port" in result.output


def _get(url: str) -> tuple[int, bytes]:
    with NO_PROXY.open(url, timeout=5) as response:
        return response.status, response.read()


@pytest.mark.slow
def test_serve_answers_http_on_loopback():
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "GRADIO_ANALYTICS_ENABLED": "False"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "avzoo.cli", "serve", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        status, page = None, b""
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"avzoo serve exited with {proc.returncode}:\n{proc.stdout.read()}")
            try:
                status, page = _get(f"http://{LOOPBACK}:{port}/")
                break
            except OSError:
                time.sleep(0.5)
        assert status == 200, f"avzoo serve did not answer on {LOOPBACK}:{port} within 120 s"
        assert b"<!doctype html>" in page.lower()
        _, config = _get(f"http://{LOOPBACK}:{port}/config")
        config = json.loads(config)
        assert config["title"] == "avzoo"
        config_text = json.dumps(config)
        for title in ("AV Lipsync", "KoeMorph", "AV-FER", "AV Separator", "Text-Audio Emotion"):
            assert title in config_text
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    assert f"http://127.0.0.1:{port}" in out
