"""The page's layout on a phone (390×844) and a desktop (1280×800), light and dark, in Chromium.

Issue 28: at 390×844 the Search button sat below the documents box's field, not level with
it (on a desktop below the question's), and the footer ended with a dangling "·".  Each
window asks a question, then measures: no sideways scroll, a wide question box, the button
level with a field and clear of it, no two visible controls on top of each other, no footer
text ending with a separator.  The four screenshots go to test-artifacts/ (the copies in
docs/screenshots/ are taken from there by hand).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from appserver import ROOT, Server, start_app, stop_app
from pages import PHONE, QUESTION, ask, luminance, new_page, shot, style

pytestmark = [pytest.mark.browser, pytest.mark.model]  # the app loads the real model

SIZES = {"phone": PHONE, "desktop": {"width": 1280, "height": 800}}
LEVEL = 3  # px: the button's centre and the field's beside it, as the eye sees them level
SEPARATORS = "·•|-–—"

# Every visible control and the boxes the checks compare; `inside` pairs are left alone.
MEASURE = """() => {
  const box = e => { const r = e.getBoundingClientRect();
    return {x: r.x, y: r.y + scrollY, width: r.width, height: r.height}; };
  const controls = [...document.querySelectorAll(
    'button, input:not([type=hidden]), textarea, select, a[href], summary, ' +
    '[role=button], [role=combobox], [role=slider]')]
    .filter(e => e.checkVisibility({checkOpacity: true, checkVisibilityCSS: true}))
    .filter(e => { const r = e.getBoundingClientRect(); return r.width >= 2 && r.height >= 2; });
  const named = e => (e.id ? '#' + e.id : e.tagName.toLowerCase()) +
    ' "' + (e.innerText || e.value || e.getAttribute('aria-label') || '').trim().slice(0, 30) + '"';
  const pairs = [];
  controls.forEach((a, i) => controls.slice(i + 1).forEach(b => {
    if (a.contains(b) || b.contains(a)) return;
    const p = box(a), q = box(b);
    const w = Math.min(p.x + p.width, q.x + q.width) - Math.max(p.x, q.x);
    const h = Math.min(p.y + p.height, q.y + q.height) - Math.max(p.y, q.y);
    if (w > 1 && h > 1) pairs.push(named(a) + ' overlaps ' + named(b));
  }));
  const footer = document.querySelector('footer');
  const texts = footer ? [...footer.querySelectorAll('*')]
    .filter(e => e.checkVisibility({checkVisibilityCSS: true}))
    .map(e => e.innerText.trim()).filter(t => t) : [];
  return {
    scroll: document.documentElement.scrollWidth, width: innerWidth,
    question: box(document.querySelector('#qa-question input, #qa-question textarea')),
    documents: box(document.querySelector('#qa-documents .wrap-inner')),
    go: box(document.querySelector('#qa-go')),
    row: box(document.querySelector('#qa-ask')),
    overlaps: pairs, footer: footer ? footer.innerText.trim() : '', footer_texts: texts,
  };
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The bundled corpus and a four-page PDF report (tests/documents.py)."""
    from documents import write_report

    workdir = tmp_path_factory.mktemp("layout")
    shutil.copytree(ROOT / "corpus", workdir / "corpus")
    write_report(workdir / "corpus" / "report.pdf")
    running = start_app(workdir, workdir / "corpus", workdir / "index", "--no-watch")
    yield running
    stop_app(running)


def centre(box: dict[str, float]) -> float:
    return box["y"] + box["height"] / 2


def apart(a: dict[str, float], b: dict[str, float]) -> bool:
    """True when boxes `a` and `b` do not overlap (touching edges allowed)."""
    return (
        a["x"] + a["width"] <= b["x"] + 1
        or b["x"] + b["width"] <= a["x"] + 1
        or a["y"] + a["height"] <= b["y"] + 1
        or b["y"] + b["height"] <= a["y"] + 1
    )


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_the_page_fits_the_window_with_its_controls_level_and_apart(
    server: Server, browser: Any, size: str, scheme: str
) -> None:
    window = SIZES[size]
    page = new_page(browser, window, scheme)
    try:
        page.goto(f"{server.url}?__theme={scheme}")
        ask(page, QUESTION)
        page.wait_for_timeout(400)  # let Gradio's transitions settle
        shot(page, f"layout-{size}-{scheme}.png")
        background = luminance(style(page.locator("body"), "backgroundColor"))
        assert background < 0.2 if scheme == "dark" else background > 0.8, background
        found = page.evaluate(MEASURE)
    finally:
        page.context.close()
    assert found["scroll"] <= found["width"], f"the page scrolls sideways ({found['scroll']} px)"
    question, go = found["question"], found["go"]
    if size == "phone":
        assert question["width"] >= 0.6 * window["width"], question
    else:  # at least half of the question row, which holds the documents and the button too
        assert question["width"] >= 0.5 * found["row"]["width"], (question, found["row"])
    assert apart(go, question), (go, question)
    beside = go["y"] < question["y"] + question["height"]  # else on a line below it
    field = question if beside else found["documents"]
    if beside:
        assert go["x"] >= field["x"] + field["width"], (go, field)
    else:
        assert go["y"] >= question["y"] + question["height"], (go, question)
    assert abs(centre(go) - centre(field)) <= LEVEL, f"Search is not level: {go} vs {field}"
    assert found["overlaps"] == []
    for text in [found["footer"], *found["footer_texts"]]:
        assert not text or text[-1] not in SEPARATORS, f"the footer ends {text!r}"


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_a_pdf_passage_reads_in_context_as_text_with_its_page(
    server: Server, browser: Any, size: str
) -> None:
    """Issue 28: "Read in context" of a PDF showed `## 2.2 Weather` and line numbers of qa's
    reading; now the heading is a heading, no line numbers, and the page is named."""
    from urllib.parse import urlencode

    from playwright.sync_api import expect

    page = new_page(browser, SIZES[size])
    try:
        asked = {"q": "where did the storm records come from", "doc": "report.pdf", "k": 1}
        page.goto(f"{server.url}?{urlencode(asked)}")
        card = page.locator(".qa-card").first
        cited = "report.pdf › 2 Methods › 2.2 Weather, page 3"
        expect(card).to_have_attribute("data-citation", cited)
        card.locator("summary").click()
        context = card.locator(".qa-section")
        expect(context).to_be_visible()
        expect(context.get_by_role("heading", name="2.2 Weather")).to_be_visible()
        text = context.inner_text()
        assert "#" not in text and "**" not in text, text
        assert context.locator(".qa-ln").count() == 0
        breaks = context.locator(".qa-page-break")
        expect(breaks).to_have_text(["page 3"])
        hit = context.locator(".qa-hit").first
        assert breaks.first.bounding_box()["y"] < hit.bounding_box()["y"]
        expect(hit).to_contain_text("Storm records came from the Norwegian meteorological")
        shot(page, f"pdf-context-{size}.png")
    finally:
        page.context.close()
