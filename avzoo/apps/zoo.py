"""The zoo app that ``avzoo serve`` launches: a landing page of the model families, and one tab
per Space demo whose family is available in this install.

Server settings of ``avzoo serve`` (:func:`serve`), sized for a 2-core CPU server
(``serve(max_file_size=...)`` overrides the upload cap):

* :data:`MAX_FILE_SIZE`, 50 MB per upload: the demos take at most a minute of audio (~35 MB even as
  96 kHz / 24-bit stereo WAV); larger uploads are stopped before they reach the disk.
* :data:`QUEUE_MAX_SIZE`, 16 waiting requests, and :data:`CONCURRENCY_LIMIT`, 2 running at a time by
  default (one per core; each demo's heavy event may set its own limit). A full queue answers "queue full"
  at once rather than letting waits grow without bound.
* :data:`DELETE_CACHE`, every hour delete gradio's cached files older than an hour, so uploads (including
  refused ones) and outputs do not accumulate until the server restarts.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

import gradio as gr

from avzoo import __version__
from avzoo.apps.registry import FAMILIES, SPACE_TITLES, Family, Status, statuses

logger = logging.getLogger(__name__)

#: Largest upload ``avzoo serve`` accepts, in bytes (50 MB).
MAX_FILE_SIZE = 50 * 1024 * 1024
#: Requests that may wait in the queue; more get "queue full" at once.
QUEUE_MAX_SIZE = 16
#: Default number of requests of one event that run at the same time: one per core of a 2-core server.
CONCURRENCY_LIMIT = 2
#: gradio's cache sweep: every hour, delete cached uploads and outputs older than an hour.
DELETE_CACHE = (3600, 3600)

TAGLINE = "Audio-visual models for faces and voices, native to the Hugging Face stack."
INTRO = (
    "Each family is a transformers model with its feature extractor, an Accelerate training recipe, "
    "evaluate metrics, a Gradio demo and a model card, all offline-first with a small bundled checkpoint."
)

# Scoped to the landing-page component by gradio, so it needs no launch(css=...) and cannot leak
# into the family tabs. Colours come from the theme's variables to follow light and dark mode.
# Bold text avoids the theme font: gradio ships Source Sans Pro SemiBold as a tiny subset that
# lacks glyphs such as "A", so bold headings would mix two fonts.
LANDING_CSS = """
.avz h1, .avz h3, .avz-summary, .avz-badge {
  font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
.avz { max-width: 1100px; margin: 0 auto; padding: 8px 4px 4px; color: var(--body-text-color);
  font-family: var(--font); }
.avz-hero { padding: 20px 0 8px; }
.avz-hero h1 { font-size: 2.6rem; font-weight: 700; margin: 0; letter-spacing: -0.02em; }
.avz-version { font-size: 0.95rem; font-weight: 500; color: var(--body-text-color-subdued);
  margin-left: 8px; vertical-align: middle; }
.avz-tagline { font-size: 1.25rem; margin: 6px 0 4px; }
.avz-intro { opacity: 0.8; margin: 4px 0 0; max-width: 90ch; line-height: 1.5; }
.avz-summary { margin: 22px 0 12px; font-weight: 600; }
.avz-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 16px; }
.avz-card { border: 1px solid var(--border-color-primary); border-radius: 12px; padding: 16px 18px;
  background: var(--block-background-fill); display: flex; flex-direction: column; gap: 8px; }
.avz-card.avz-on { border-color: #86efac; box-shadow: inset 0 3px 0 #22c55e; }
.avz-card-head { display: flex; justify-content: space-between; align-items: center; gap: 8px; }
.avz-card h3 { margin: 0; font-size: 1.15rem; font-weight: 600; }
.avz-badge { font-size: 0.78rem; font-weight: 600; border-radius: 999px; padding: 2px 10px; white-space: nowrap; }
.avz-on .avz-badge { background: #dcfce7; color: #166534; }
.avz-off .avz-badge { background: #f1f5f9; color: #475569; }
.avz-hub { font-family: var(--font-mono); font-size: 0.85rem; color: var(--body-text-color-subdued); }
.avz-desc { margin: 0; line-height: 1.45; }
.avz-io { margin: 0; font-size: 0.88rem; opacity: 0.75; }
.avz-space { margin-top: auto; font-size: 0.85rem; color: var(--body-text-color-subdued); }
.avz-foot { margin: 26px 0 8px; opacity: 0.8; font-size: 0.95rem; }
.avz-foot code { font-family: var(--font-mono); }
"""


@dataclass(frozen=True)
class DemoTab:
    """One tab of the zoo: a Space's demo, shared by the available families that use it."""

    label: str
    builder: Callable[[], gr.Blocks]
    families: tuple[Family, ...]


def space_title(space: str) -> str:
    return SPACE_TITLES.get(space, space.replace("-", " ").capitalize())


def demo_tabs(status_list: Iterable[Status]) -> list[DemoTab]:
    """Available families grouped by UI builder, so a Space shared by two families is one tab."""
    tabs: dict[str, DemoTab] = {}
    for status in status_list:
        if not status.available or status.builder is None:
            continue
        family = status.family
        tab = tabs.get(family.ui)
        if tab is None:
            tabs[family.ui] = DemoTab(space_title(family.space), status.builder, (family,))
        else:
            tabs[family.ui] = DemoTab(tab.label, tab.builder, (*tab.families, family))
    return list(tabs.values())


def _card(status: Status) -> str:
    family = status.family
    e = html.escape
    state, badge = ("avz-on", "Available") if status.available else ("avz-off", "Not available yet")
    tooltip = f' title="{e(status.reason)}"' if status.reason else ""
    return (
        f'<article class="avz-card {state}" data-family="{e(family.id)}">'
        f'<div class="avz-card-head"><h3>{e(family.title)}</h3>'
        f'<span class="avz-badge"{tooltip}>{badge}</span></div>'
        f'<div class="avz-hub">{e(family.hub_id)}</div>'
        f'<p class="avz-desc">{e(family.description)}</p>'
        f'<p class="avz-io">{e(family.io)}</p>'
        f'<div class="avz-space">Space: {e(space_title(family.space))}</div>'
        "</article>"
    )


def landing_html(status_list: Sequence[Status]) -> str:
    """The landing page: title, intro, and a card per family with its availability."""
    n_on = sum(s.available for s in status_list)
    if n_on:
        summary = (
            f"{n_on} of {len(status_list)} families available here — open their demos in the tabs above."
        )
    else:
        summary = f"0 of {len(status_list)} families available yet — demos appear as tabs once they land."
    cards = "".join(_card(s) for s in status_list)
    return (
        '<div class="avz">'
        '<header class="avz-hero">'
        f'<h1>avzoo<span class="avz-version">v{html.escape(__version__)}</span></h1>'
        f'<p class="avz-tagline">{html.escape(TAGLINE)}</p>'
        f'<p class="avz-intro">{html.escape(INTRO)}</p>'
        "</header>"
        f'<p class="avz-summary">{html.escape(summary)}</p>'
        f'<div class="avz-grid">{cards}</div>'
        '<p class="avz-foot">Serve it yourself: <code>make serve</code> in a clone of the repository '
        "(or <code>avzoo serve</code> once installed). In Python, <code>import avzoo</code> registers "
        "the families with the usual transformers <code>Auto*</code> classes.</p>"
        "</div>"
    )


def build_app(status_list: Sequence[Status] | None = None) -> gr.Blocks:
    """The zoo's Blocks. ``status_list`` defaults to checking every registered family now."""
    status_list = list(statuses(FAMILIES) if status_list is None else status_list)
    # Built before the outer context opens: a Blocks created inside another one would attach itself
    # there, and render() below would then add it twice.
    demos: list[tuple[DemoTab, gr.Blocks]] = []
    for tab in demo_tabs(status_list):
        try:
            demos.append((tab, tab.builder()))
        except Exception as e:  # one broken demo must not take the whole zoo down
            logger.warning("the %s demo failed to build: %r", tab.label, e)
            failed = {f.id for f in tab.families}
            reason = f"demo failed to build: {type(e).__name__}: {e}"
            status_list = [
                replace(s, available=False, reason=reason, builder=None) if s.family.id in failed else s
                for s in status_list
            ]
    landing = landing_html(status_list)

    with gr.Blocks(title="avzoo", analytics_enabled=False, delete_cache=DELETE_CACHE) as app:
        if not demos:
            gr.HTML(landing, css_template=LANDING_CSS, js_on_load=None, elem_id="avzoo-landing")
        else:
            with gr.Tabs():
                with gr.Tab("Overview", id="overview"):
                    gr.HTML(landing, css_template=LANDING_CSS, js_on_load=None, elem_id="avzoo-landing")
                for tab, demo in demos:
                    with gr.Tab(tab.label, id=tab.families[0].space):
                        demo.render()
    return app


def app_css(status_list: Iterable[Status]) -> str | None:
    """The CSS that available family UIs ask ``launch()`` for (``CSS`` in their module)."""
    seen: list[str] = []
    for status in status_list:
        if status.available and status.css and status.css not in seen:
            seen.append(status.css)
    return "\n".join(seen) or None


def serve(
    host: str = "127.0.0.1",
    port: int = 7860,
    families: Iterable[Family] = FAMILIES,
    **launch_kwargs,
) -> gr.Blocks:
    """Build the zoo and launch it on ``host:port`` (loopback by default, never a public share link).

    Uploads are capped at :data:`MAX_FILE_SIZE` (``max_file_size=`` overrides), the queue holds at most
    :data:`QUEUE_MAX_SIZE` requests and runs :data:`CONCURRENCY_LIMIT` of an event at a time, and cached
    files are swept by :data:`DELETE_CACHE` (see the module docstring). Blocks until the server stops
    unless ``prevent_thread_lock=True`` is passed.
    """
    if not 0 < port < 65536:
        raise ValueError(f"port must be in 1..65535, got {port}")
    status_list = statuses(families)
    app = build_app(status_list)
    app.queue(max_size=QUEUE_MAX_SIZE, default_concurrency_limit=CONCURRENCY_LIMIT)
    launch_kwargs.setdefault("max_file_size", MAX_FILE_SIZE)
    launch_kwargs.setdefault("show_error", True)
    # Gradio's banner suggests share=True, which the zoo never wants; the CLI prints the URL itself.
    launch_kwargs.setdefault("quiet", True)
    app.launch(server_name=host, server_port=port, share=False, css=app_css(status_list), **launch_kwargs)
    return app
