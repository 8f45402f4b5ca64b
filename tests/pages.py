"""What the browser tests share: Chromium through Playwright, the app's server, page helpers.

The `browser` and `page` fixtures built on these live in conftest.py.  Screenshots go to
test-artifacts/ (ignored by git).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from appserver import ROOT, Server, start_app, stop_app

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
QUESTION = "how do partnerships protect civilians"
SLOW = 30_000  # ms: what a page may take on a busy two-core machine
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def new_page(browser: Any, size: dict[str, int] = DESKTOP, scheme: str = "light") -> Any:
    """A page in a fresh context of `size` and colour scheme; close it with `page.context`."""
    phone = size["width"] < 600
    context = browser.new_context(
        viewport=size, color_scheme=scheme, is_mobile=phone, has_touch=phone
    )
    opened = context.new_page()
    opened.set_default_timeout(SLOW)
    return opened


def corpus_server(
    tmp_path_factory: pytest.TempPathFactory, name: str, *flags: str
) -> Iterator[Server]:
    """The app over a private copy of corpus/, not watching it, with `flags`."""
    workdir = tmp_path_factory.mktemp(name)
    shutil.copytree(ROOT / "corpus", workdir / "corpus")
    running = start_app(workdir, workdir / "corpus", workdir / "index", "--no-watch", *flags)
    yield running
    stop_app(running)


def ask(page: Any, question: str) -> Any:
    """Type `question`, press Enter, and return the source cards once they are shown."""
    from playwright.sync_api import expect

    box = page.get_by_label("Question")
    box.fill(question)
    box.press("Enter")
    expect(page.locator(".qa-summary")).to_contain_text(question[:60])
    return page.locator(".qa-card")


def open_panel(page: Any) -> Any:
    """Open the index panel by its one-line status; return the panel."""
    from playwright.sync_api import expect

    status = page.locator("#qa-index-panel .label-wrap")
    # The page's load event replaces the placeholder label "Index" with the index's status;
    # a user clicks the status they read, and on a busy machine that can take seconds.
    expect(status).not_to_have_text(re.compile(r"^\s*Index\b"), timeout=SLOW)
    status.click()
    panel = page.locator("#qa-index")
    expect(panel).to_be_visible(timeout=SLOW)
    return panel


def no_error_box(page: Any) -> None:
    """Gradio shows a red "Error" toast for unhandled exceptions; the app must never need one."""
    from playwright.sync_api import expect

    expect(page.get_by_text("Error", exact=True)).to_have_count(0)


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def style(locator: Any, prop: str) -> str:
    return str(locator.evaluate(f"e => getComputedStyle(e).{prop}"))


def luminance(css_color: str) -> float:
    """0 (black) to 1 (white) for an `rgb(...)` or `rgba(...)` colour."""
    red, green, blue = (c / 255 for c in rgb(css_color))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def rgb(css_color: str) -> tuple[float, float, float]:
    numbers = css_color[css_color.index("(") + 1 : css_color.index(")")].split(",")
    red, green, blue = (float(n) for n in numbers[:3])
    return red, green, blue
