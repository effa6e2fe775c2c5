"""The ``avzoo`` command line: ``--version``, help, and ``avzoo serve`` answering HTTP on loopback."""

from __future__ import annotations

import importlib
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import types
import urllib.request
from pathlib import Path

import pytest
import typer
from browser import LOOPBACK, free_port
from typer.testing import CliRunner

import avzoo
import avzoo.cli as cli
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
    for name, *_ in SUBCOMMANDS:
        assert name in result.output


def imported_modules(*args: str) -> set[str]:
    """Every module a fresh ``python -X importtime -m avzoo.cli ARGS`` imports (``-X importtime`` lists them)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "avzoo.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line.split("|") for line in result.stderr.splitlines() if line.startswith("import time:")]
    return {parts[-1].strip() for parts in lines if len(parts) == 3}


@pytest.mark.parametrize("args", [("--help",), ("--version",), ("evaluate", "--help"), ("synth", "--help")])
def test_help_and_version_import_neither_torch_nor_transformers(args):
    modules = imported_modules(*args)
    assert {"avzoo", "typer"} <= modules  # the listing was read (-m runs avzoo.cli as __main__)
    heavy = {"torch", "transformers", "gradio"} & modules
    assert not heavy, f"avzoo {' '.join(args)} imported {sorted(heavy)}"


def test_listed_help_lines_match_the_groups():
    for name, spec, *help_line in SUBCOMMANDS:
        module, _, attr = spec.partition(":")
        group = typer.main.get_group(getattr(importlib.import_module(module), attr))
        if help_line:  # without one, `avzoo --help` imports the group's module to list it
            assert help_line == [group.help], f"SUBCOMMANDS help line of {name!r} differs from {spec}'s help"


@pytest.fixture
def fake_group(monkeypatch):
    """A command group ``fake`` in a module the CLI has not imported, and a record of avzoo.register calls."""
    group = typer.Typer(help="A fake group.", no_args_is_help=True)
    ran = []

    @group.command("run")
    def run(value: int = typer.Argument(...)) -> None:
        ran.append(value)

    @group.command("other")
    def other() -> None:
        ran.append("other")

    module = types.ModuleType("avzoo_fake_cli_group")
    module.app = group
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setattr(
        cli, "SUBCOMMANDS", (*SUBCOMMANDS, ("fake", f"{module.__name__}:app", "A fake group."))
    )
    registered = []
    monkeypatch.setattr(avzoo, "register", lambda: registered.append(len(ran)))
    return ran, registered


def test_commands_register_the_families_first_and_help_does_not(fake_group):
    ran, registered = fake_group
    runner = CliRunner()
    for args in (["--help"], ["--version"], ["fake", "--help"], ["fake", "run", "--help"]):
        assert runner.invoke(app, args).exit_code == 0, args
    no_command = runner.invoke(app, ["fake"])  # no_args_is_help: the help, with click's usage-error status
    assert no_command.exit_code == 2 and "A fake group." in no_command.output
    assert runner.invoke(app, ["fake", "run", "not-a-number"]).exit_code == 2  # a usage error: nothing ran
    assert (ran, registered) == ([], [])
    assert runner.invoke(app, ["fake", "run", "3"]).exit_code == 0
    assert (ran, registered) == ([3], [0])  # registered once, before the command's code
    assert runner.invoke(app, ["serve", "--port", "70000"]).exit_code == 2
    assert registered == [0]


@pytest.mark.parametrize(
    ("argv", "module"),
    [
        (["python", "-m", "avzoo.cli", "--help"], "avzoo.cli"),
        (["python", "-X", "importtime", "-W", "ignore", "-mavzoo.cli"], "avzoo.cli"),
        (["python", "-Ximporttime", "-Bm", "avzoo.cli"], "avzoo.cli"),
        (["python", "--check-hash-based-pycs", "never", "-m", "pytest", "-m", "avzoo.cli"], "pytest"),
        (["python", "script.py", "-m", "avzoo.cli"], None),
        (["python", "-c", "import avzoo", "-m", "avzoo.cli"], None),
        (["python", "-"], None),
        (["python"], None),
    ],
)
def test_python_m_module(argv, module):
    assert avzoo._python_m_module(argv) == module


def test_the_console_script_process_registers_when_a_command_runs(tmp_path):
    """A process started as ``avzoo`` defers the registration until a command runs, then has it."""
    script = tmp_path / "avzoo"  # the console script's name is how avzoo/__init__.py tells the command line
    script.write_text(
        textwrap.dedent(
            """
            import json, sys
            from avzoo.cli import app
            before = sorted({"torch", "transformers"} & set(sys.modules))
            app(["--version"], standalone_mode=False)
            after_version = sorted({"torch", "transformers"} & set(sys.modules))
            try:
                app(["synth", "stats", sys.argv[1]], standalone_mode=False)
            except Exception as err:  # the folder is no corpus: a usage error, after the registration
                error = type(err).__name__
            from transformers import AutoConfig
            print(json.dumps({
                "before": before, "after_version": after_version, "error": error,
                "config": type(AutoConfig.for_model("av-lipsync")).__name__,
            }))
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "AVZOO_SEED_HF_CACHE": "0"}
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "no-corpus")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"before": [], "after_version": [], "error": "BadParameter", "config": "AvLipsyncConfig"}


@pytest.fixture
def no_model_load(monkeypatch):
    """``avzoo evaluate`` with a model load that fails the test: arguments must be checked first."""
    import avzoo.evaluation.av_lipsync as evaluation

    def load_model(*args, **kwargs):
        raise AssertionError("the model was loaded before the arguments were checked")

    monkeypatch.setattr(evaluation, "load_model", load_model)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--corpus", "{tmp}/missing"], "does not exist"),
        (["--corpus", "{tmp}", "--out", "{tmp}"], "is a folder"),
        (["--corpus", "{tmp}/empty", "--out", "{tmp}/o.json"], "not a corpus folder"),
        (["--corpus", "{tmp}/empty", "--out", "{tmp}/o.json", "--model", "./missing"], "no model folder"),
        (["--corpus", "{tmp}/empty", "--out", "{tmp}/o.json", "--model", "{tmp}"], "has no config.json"),
        (["--corpus", "{tmp}/empty", "--out", "{tmp}/a-file/o.json"], "not a writable folder"),
        (["--corpus", "{tmp}/empty", "--batch-size", "0"], "--batch-size"),
    ],
)
def test_evaluate_checks_its_arguments_before_loading_a_model(tmp_path, no_model_load, args, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "a-file").write_text("")
    result = CliRunner().invoke(app, ["evaluate", "av-lipsync", *(a.format(tmp=tmp_path) for a in args)])
    assert result.exit_code == 2, result.output
    assert message in " ".join(re.sub("[│╭╮╰╯─]", " ", result.output).split()), result.output
    assert not (tmp_path / "o.json").exists()


def test_an_unreachable_hub_is_reported_once_and_accurately(tmp_path):
    """No HF_HUB_OFFLINE and no Hub: loading the bundled checkpoint says so once, not per from_pretrained."""
    script = textwrap.dedent(
        """
        import avzoo
        from transformers import AutoModel, AutoProcessor

        for _ in range(2):
            AutoModel.from_pretrained("avzoo/av-lipsync")
            AutoProcessor.from_pretrained("avzoo/av-lipsync")
        AutoModel.from_pretrained("avzoo/av-lipsync", trust_remote_code=True)
        """
    )
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    for key in ("HF_HUB_CACHE", "HF_MODULES_CACHE", "AVZOO_SEED_HF_CACHE"):
        env.pop(key, None)
    env.update(
        HF_HOME=str(tmp_path / "hf-home"),
        HF_ENDPOINT="http://127.0.0.1:9",  # the discard port: nothing listens, connections are refused
        PYTHONPATH=str(REPO),
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stderr.splitlines()
    note = [line for line in lines if "the Hugging Face Hub cannot be reached" in line]
    assert len(note) == 1 and "avzoo/av-lipsync loads from the checkpoint bundled with avzoo" in note[0], (
        lines
    )
    assert not [line for line in lines if "Could not reach the Hub" in line or "new version" in line], lines


def test_other_repos_keep_huggingface_hubs_warning():
    import avzoo.pretrained as pretrained

    note = pretrained._BundledFallbackNote()
    message = "Could not reach the Hub (offline). Using cached commit hash for 'someone/else'."
    record = logging.LogRecord(note.LOGGER, logging.WARNING, __file__, 1, message, None, None)
    assert note.filter(record) and record.getMessage() == message


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
