"""The zoo app: family registry and availability, the landing page, its tabs, in a real browser."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from browser import (  # noqa: F401
    LOOPBACK,
    chrome_fixture,
    free_port,
    open_gradio,
    screenshot_fixture,
    serve_blocks,
)

from avzoo.apps import zoo
from avzoo.apps.registry import FAMILIES, PRETRAINED_DIR, Family, family_status, get_family, statuses

SIX = ["av-lipsync", "koemorph", "av-fer", "av-separator", "text-audio-emotion", "text-vad"]
FAKE_UI = """
import gradio as gr

CSS = ".fake-ui { color: rgb(1, 2, 3); }"


def shout(text: str) -> str:
    return text.upper() + "!"


def build_ui() -> gr.Blocks:
    with gr.Blocks() as demo:
        gr.Markdown("Fake family demo", elem_classes="fake-ui")
        box = gr.Textbox(label="Say")
        out = gr.Textbox(label="Shouted")
        box.submit(shout, box, out, api_name="shout")
    return demo
"""


@pytest.fixture
def fake_modules(tmp_path, monkeypatch) -> Path:
    """A folder on sys.path with a working UI module, a broken one and one that isn't a builder."""
    pkg = tmp_path / "mods"
    pkg.mkdir()
    (pkg / "fake_zoo_ui.py").write_text(textwrap.dedent(FAKE_UI))
    (pkg / "broken_zoo_ui.py").write_text("raise RuntimeError('boom at import')\n")
    (pkg / "dep_missing_zoo_ui.py").write_text("import not_a_real_dependency_xyz\n")
    (pkg / "no_builder_zoo_ui.py").write_text("build_ui = 42\n")
    (pkg / "fails_to_build_zoo_ui.py").write_text(
        "def build_ui():\n    raise OSError('weights unreadable')\n"
    )
    monkeypatch.syspath_prepend(str(pkg))
    yield pkg
    for name in (
        "fake_zoo_ui",
        "broken_zoo_ui",
        "dep_missing_zoo_ui",
        "no_builder_zoo_ui",
        "fails_to_build_zoo_ui",
    ):
        sys.modules.pop(name, None)


def make_checkpoint(folder: Path, *, weights: bool = True) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text('{"model_type": "fake"}')
    if weights:
        (folder / "model.safetensors").write_bytes(b"")
    return folder


def fake_family(
    tmp_path: Path, ui: str, *, checkpoint: bool = True, family_id: str = "fake-family", **kw
) -> Family:
    folder = tmp_path / "pretrained" / family_id
    if checkpoint:
        make_checkpoint(folder)
    defaults = dict(
        title="Fake Family", description="Turns text into shouting.", io="text → TEXT", space="fake-space"
    )
    return Family(id=family_id, ui=ui, checkpoint_dir=folder, **{**defaults, **kw})


# --- registry -------------------------------------------------------------------------------------


def test_registry_holds_the_six_families_with_their_spaces():
    assert [f.id for f in FAMILIES] == SIX
    spaces = {f.id: f.space for f in FAMILIES}
    assert spaces == {
        "av-lipsync": "blendshape-animation",
        "koemorph": "blendshape-animation",
        "av-fer": "fer",
        "av-separator": "speech-separation",
        "text-audio-emotion": "attention-maps",
        "text-vad": "blendshape-animation",
    }
    for f in FAMILIES:
        assert f.hub_id == f"avzoo/{f.id}"
        assert f.checkpoint == PRETRAINED_DIR / f.id
        assert f.ui.startswith("avzoo.apps.") and ":" in f.ui
        assert f.title and f.description and f.io


def test_get_family_rejects_unknown_ids_listing_the_known_ones():
    assert get_family("koemorph").title == "KoeMorph"
    with pytest.raises(ValueError, match=r"unknown model family 'nope'.*av-lipsync.*text-audio-emotion"):
        get_family("nope")


def test_real_families_are_available_exactly_when_checkpoint_and_ui_exist():
    for status in statuses():
        ckpt = status.family.checkpoint
        has_checkpoint = (ckpt / "config.json").is_file() and any(ckpt.glob("*.safetensors"))
        if not has_checkpoint:
            assert not status.available
            assert "checkpoint" in status.reason
        elif status.available:
            assert callable(status.builder)
        else:
            assert "UI module" in status.reason


def test_fake_family_with_ui_and_checkpoint_is_available(tmp_path, fake_modules):
    status = family_status(fake_family(tmp_path, "fake_zoo_ui:build_ui"))
    assert status.available, status.reason
    assert status.reason == ""
    assert callable(status.builder)
    assert "rgb(1, 2, 3)" in status.css


@pytest.mark.parametrize(
    ("ui", "checkpoint", "reason"),
    [
        ("fake_zoo_ui:build_ui", False, "no bundled checkpoint"),
        ("avzoo.apps.not_here_yet:build_ui", True, "does not exist yet"),
        ("broken_zoo_ui:build_ui", True, "RuntimeError: boom at import"),
        ("dep_missing_zoo_ui:build_ui", True, "not_a_real_dependency_xyz"),
        ("no_builder_zoo_ui:build_ui", True, "no callable 'build_ui'"),
        ("fake_zoo_ui:missing", True, "no callable 'missing'"),
        ("fake_zoo_ui", True, "not of the form"),
    ],
)
def test_fake_family_unavailable_says_why(tmp_path, fake_modules, ui, checkpoint, reason):
    status = family_status(fake_family(tmp_path, ui, checkpoint=checkpoint))
    assert not status.available
    assert status.builder is None
    assert reason in status.reason


def test_checkpoint_needs_config_and_safetensors(tmp_path, fake_modules):
    folder = make_checkpoint(tmp_path / "ckpt", weights=False)
    family = Family("fake", "Fake", "d", "io", "fake-space", "fake_zoo_ui:build_ui", checkpoint_dir=folder)
    assert "no .safetensors weights" in family_status(family).reason
    (folder / "config.json").unlink()
    assert "no config.json" in family_status(family).reason


# --- landing page and tabs ------------------------------------------------------------------------


def test_landing_html_lists_every_family_with_its_status(tmp_path, fake_modules):
    status_list = [*statuses(), family_status(fake_family(tmp_path, "fake_zoo_ui:build_ui"))]
    page = zoo.landing_html(status_list)
    for status in status_list:
        card = page.split(f'data-family="{status.family.id}"')[1].split("</article>")[0]
        assert status.family.title in card
        assert status.family.hub_id in card
        assert ("Available" if status.available else "Not available yet") in card
    n_on = sum(s.available for s in status_list)
    assert f"{n_on} of {len(status_list)} families available" in page


def test_landing_html_escapes_registry_text(tmp_path):
    family = fake_family(tmp_path, "x:y", checkpoint=False, title="<script>alert(1)</script>")
    page = zoo.landing_html([family_status(family)])
    assert "<script>" not in page
    assert "&lt;script&gt;" in page


def test_families_sharing_a_ui_share_one_tab(tmp_path, fake_modules):
    one = fake_family(tmp_path, "fake_zoo_ui:build_ui", family_id="one", space="speech-separation")
    two = fake_family(tmp_path, "fake_zoo_ui:build_ui", family_id="two", space="speech-separation")
    off = fake_family(tmp_path, "fake_zoo_ui:build_ui", family_id="off", checkpoint=False)
    tabs = zoo.demo_tabs([family_status(f) for f in (one, two, off)])
    assert len(tabs) == 1
    assert tabs[0].label == "Speech separation"
    assert [f.id for f in tabs[0].families] == ["one", "two"]


def test_app_css_collects_css_of_available_uis_once(tmp_path, fake_modules):
    on = family_status(fake_family(tmp_path, "fake_zoo_ui:build_ui"))
    off = family_status(fake_family(tmp_path, "fake_zoo_ui:build_ui", family_id="off", checkpoint=False))
    assert zoo.app_css([on, on, off]) == on.css
    assert zoo.app_css([off]) is None


def test_demo_that_fails_to_build_is_shown_unavailable_not_fatal(tmp_path, fake_modules):
    bad = family_status(fake_family(tmp_path, "fails_to_build_zoo_ui:build_ui", family_id="bad"))
    good = family_status(fake_family(tmp_path, "fake_zoo_ui:build_ui", family_id="good"))
    assert bad.available  # importable with a checkpoint: only building reveals the problem
    app = zoo.build_app([bad, good])
    config = app.get_config_file()
    landing = next(
        c["props"]["value"] for c in config["components"] if c["props"].get("elem_id") == "avzoo-landing"
    )
    bad_card = landing.split('data-family="bad"')[1].split("</article>")[0]
    assert "Not available yet" in bad_card
    assert "OSError: weights unreadable" in bad_card
    assert "1 of 2 families available" in landing
    tab_labels = [c["props"].get("label") for c in config["components"] if c["type"] == "tabitem"]
    assert tab_labels == ["Overview", "Fake space"]


def test_serve_rejects_bad_port():
    with pytest.raises(ValueError, match=r"port must be in 1\.\.65535"):
        zoo.serve(port=70000)


def test_serve_caps_uploads_bounds_the_queue_and_sweeps_the_cache():
    app = zoo.serve(host=LOOPBACK, port=free_port(), families=[], prevent_thread_lock=True)
    try:
        assert app.max_file_size == zoo.MAX_FILE_SIZE == 50 * 1024 * 1024
        assert (
            app.config["max_file_size"] == zoo.MAX_FILE_SIZE
        )  # the page refuses bigger files before sending
        assert app._queue.max_size == zoo.QUEUE_MAX_SIZE == 16
        assert app._queue.default_concurrency_limit == zoo.CONCURRENCY_LIMIT == 2
        assert app.delete_cache == zoo.DELETE_CACHE == (3600, 3600)
    finally:
        app.close()
    app = zoo.serve(
        host=LOOPBACK, port=free_port(), families=[], prevent_thread_lock=True, max_file_size="1mb"
    )
    try:
        assert app.max_file_size == 1024 * 1024  # the cap can be changed
    finally:
        app.close()


# --- in a browser ---------------------------------------------------------------------------------


@pytest.mark.browser
def test_zoo_landing_page_renders_in_chromium(chrome, screenshot):
    status_list = statuses()
    with serve_blocks(zoo.build_app(status_list)) as url:
        text = open_gradio(chrome, url, expect_text=["avzoo", *(f.title for f in FAMILIES)])
        shot = screenshot("zoo-landing")
    assert zoo.TAGLINE in text
    n_off = sum(not s.available for s in status_list)
    assert text.count("Not available yet") == n_off
    assert f"{len(status_list) - n_off} of {len(FAMILIES)} families available" in text
    assert shot.stat().st_size > 10_000  # a real rendered page, not a blank PNG


@pytest.mark.browser
def test_available_family_becomes_a_working_tab(chrome, screenshot, tmp_path, fake_modules):
    from gradio_client import Client
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    status_list = [
        *statuses([get_family("av-fer")]),
        family_status(fake_family(tmp_path, "fake_zoo_ui:build_ui")),
    ]
    with serve_blocks(zoo.build_app(status_list)) as url:
        text = open_gradio(chrome, url, expect_text=["Overview", "Fake space", "Fake Family"])
        assert "Fake family demo" not in text  # hidden until its tab is opened
        screenshot("zoo-overview-with-a-family")
        tab = chrome.find_element(By.XPATH, "//button[@role='tab'][contains(., 'Fake space')]")
        tab.click()
        WebDriverWait(chrome, 30).until(
            ec.visibility_of_element_located((By.XPATH, "//*[text()='Fake family demo']"))
        )
        screenshot("zoo-fake-tab")

        client = Client(url, verbose=False, analytics_enabled=False, download_files=False)
        assert client.predict("hello", api_name="/shout") == "HELLO!"


def test_gradio_client_connects_to_the_zoo():
    from gradio_client import Client

    with serve_blocks(zoo.build_app()) as url:
        client = Client(url, verbose=False, analytics_enabled=False, download_files=False)
        info = client.view_api(print_info=False, return_format="dict")
    assert isinstance(info, dict)
    assert "named_endpoints" in info
