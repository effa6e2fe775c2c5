"""Browser-test harness for the Gradio apps: serve a Blocks on loopback, drive headless Debian
chromium through selenium, wait for the page to render, and take screenshots.

Use from a test module; importing the fixture objects registers the ``chrome`` and ``screenshot``
fixtures there (they are named apart so that test arguments don't shadow the imports)::

    from browser import chrome_fixture, open_gradio, screenshot_fixture, serve_blocks  # noqa: F401

    def test_page(chrome, screenshot):
        with serve_blocks(build_ui()) as url:
            open_gradio(chrome, url, expect_text=["Upload speech"])
            screenshot("my-space")

Screenshots go to the test's ``tmp_path``; set ``AVZOO_SCREENSHOTS=1`` to also keep them in
``out/screenshots/`` (or set it to a folder path to keep them there).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

# re-exported: test modules import these from here
from avzoo.apps.serving import LOOPBACK, free_port, serve_blocks  # noqa: F401

REPO = Path(__file__).resolve().parents[1]
CHROMEDRIVER = os.environ.get("AVZOO_CHROMEDRIVER", "/usr/bin/chromedriver")
# Without the networking flags chromium keeps dialling Google services on a closed network.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
)
# Tallest full-page screenshot we take; longer pages are cut there.
MAX_SCREENSHOT_HEIGHT = 6000


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def browser_missing() -> str:
    """Why headless chromium can't run here ('' when it can)."""
    if chromium_path() is None:
        return "chromium is not installed (make setup installs it)"
    if not Path(CHROMEDRIVER).is_file():
        return f"chromedriver not found at {CHROMEDRIVER} (make setup installs chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e .[dev])"
    return ""


@contextmanager
def chromium(width: int = 1280, height: int = 900) -> Iterator:
    """Headless chromium with a fresh profile, driven by the system chromedriver (no downloads)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="avzoo-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = chromium_path() or "chromium"
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        options.add_argument(f"--window-size={width},{height}")
        driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
        try:
            driver.set_page_load_timeout(60)
            yield driver
        finally:
            driver.quit()


def page_text(driver) -> str:
    """The text a user sees on the page (hidden tabs excluded)."""
    from selenium.webdriver.common.by import By

    return driver.find_element(By.TAG_NAME, "body").text


def open_gradio(driver, url: str, *, expect_text: Iterable[str] = (), timeout: float = 60) -> str:
    """Load a Gradio page and wait until it has rendered and shows every ``expect_text``; return its text."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    wanted = list(expect_text)
    driver.get(url)

    def rendered(d) -> bool:
        ready = d.execute_script(
            "return document.readyState === 'complete' && document.fonts.status === 'loaded'"
            " && !!document.querySelector('.gradio-container')"
        )
        if not ready:
            return False
        text = page_text(d)
        return bool(text.strip()) and all(w in text for w in wanted)

    try:
        WebDriverWait(driver, timeout, poll_frequency=0.25).until(rendered)
    except TimeoutException:
        text = page_text(driver) if driver.find_elements("tag name", "body") else ""
        missing = [w for w in wanted if w not in text]
        raise AssertionError(
            f"{url} did not render {missing or 'anything'} within {timeout:.0f}s; page text:\n{text[:2000]}"
        ) from None
    # Fonts and CSS transitions settle a moment after the text appears.
    time.sleep(0.3)
    return page_text(driver)


def keep_dir() -> Path | None:
    """Where ``AVZOO_SCREENSHOTS`` asks screenshots to be kept, if anywhere."""
    value = os.environ.get("AVZOO_SCREENSHOTS", "").strip()
    if not value or value == "0":
        return None
    return REPO / "out" / "screenshots" if value == "1" else Path(value)


def save_screenshot(driver, path: Path, *, full_page: bool = True) -> Path:
    """PNG of the page (the whole scroll height when ``full_page``), also copied to ``keep_dir()``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if full_page:
        # The window includes (headless) browser chrome: grow it by the page height it hides.
        content, chrome_px = driver.execute_script(
            "return [Math.max(document.body.scrollHeight, document.documentElement.scrollHeight),"
            " window.outerHeight - window.innerHeight]"
        )
        width = driver.get_window_size()["width"]
        driver.set_window_size(width, min(int(content) + int(chrome_px), MAX_SCREENSHOT_HEIGHT))
        time.sleep(0.2)
    if not driver.save_screenshot(str(path)):
        raise AssertionError(f"chromium could not write a screenshot to {path}")
    keep = keep_dir()
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, keep / path.name)
    return path


@pytest.fixture(name="chrome")
def chrome_fixture():
    """A headless chromium WebDriver; skips the test when chromium or its driver is missing."""
    reason = browser_missing()
    if reason:
        pytest.skip(reason)
    with chromium() as driver:
        yield driver


@pytest.fixture(name="screenshot")
def screenshot_fixture(chrome, tmp_path) -> Callable[[str], Path]:
    """``screenshot(name)`` saves ``<tmp_path>/<name>.png`` of the current page and returns its path."""

    def take(name: str, *, full_page: bool = True) -> Path:
        return save_screenshot(chrome, tmp_path / f"{name}.png", full_page=full_page)

    return take
