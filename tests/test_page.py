"""The page as people see it, in Chromium: the answer first, legible in light and dark, on a phone.

Each test names the defect of the page it guards.  `test_no_serious_accessibility_violations`
runs axe-core (installed by `make axe` into .tools/) on the empty page, a results page, a
section view and the no-answer page, light and dark, and writes their screenshots at
1280×900 and 390×844 to test-artifacts/.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from appserver import ROOT, Server
from pages import (
    DESKTOP,
    PHONE,
    QUESTION,
    ask,
    corpus_server,
    luminance,
    new_page,
    open_panel,
    rgb,
    shot,
    style,
)

pytestmark = [pytest.mark.browser, pytest.mark.model]  # the app loads the real model

AXE = ROOT / ".tools" / "node_modules" / "axe-core" / "axe.min.js"
FRANCE = "What is the capital of France?"
EXAMPLES = (ROOT / "corpus" / ".qa-examples").read_text().splitlines()[1:]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from corpus_server(tmp_path_factory, "page")


def search(page: Any, server: Server, question: str, scheme: str = "light") -> Any:
    """Open the page on `?q=question`, wait for the sources, and return the answer box."""
    from urllib.parse import urlencode

    from playwright.sync_api import expect

    page.goto(f"{server.url}?{urlencode({'q': question, '__theme': scheme})}")
    expect(page.locator(".qa-card").first).to_be_visible()
    return page.locator(".qa-answer")


def test_the_answer_box_answers_each_example_and_admits_what_it_cannot(
    server: Server, page: Any
) -> None:
    from playwright.sync_api import expect

    page.goto(server.url)
    chips = page.locator(".qa-chip")
    expect(chips).to_have_count(5)
    assert [chip.inner_text().strip() for chip in chips.all()] == EXAMPLES  # defect 9
    sections = [
        "Protection of Civilians",
        "Types of Organizations Involved in Peacekeeping Partnerships",
        "Political Will and Commitment",
        "Resource Limitations",
        "Urban vs. Rural Settings",
    ]
    for chip, section in zip(chips.all(), sections, strict=True):
        chip.click()
        box = page.locator(".qa-answer")
        expect(box.locator(".qa-cite")).to_contain_text(section)
        expect(box.locator(".qa-verdict")).to_contain_text("answer", ignore_case=True)
        assert box.bounding_box()["y"] < page.locator(".qa-card").first.bounding_box()["y"]
    box = search(page, server, FRANCE)
    expect(box).to_contain_text("The documents don't seem to answer this")


def test_dark_mode_notices_are_dark(server: Server, browser: Any) -> None:
    """Defect 1: the no-answer notice and the "corpus changed" box stayed cream on the dark page."""
    page = new_page(browser, DESKTOP, "dark")
    extra = server.corpus / "extra.md"
    try:
        search(page, server, FRANCE, "dark")
        box = page.get_by_role("status").filter(has_text="seem to answer")
        assert luminance(style(box, "backgroundColor")) < 0.2
        assert luminance(style(box, "color")) > 0.6
        extra.write_text("# Extra\n\nA document the index has not seen yet.\n")
        page.reload()
        stale = open_panel(page).locator(".qa-stale")
        assert luminance(style(stale, "backgroundColor")) < 0.2
    finally:
        extra.unlink(missing_ok=True)
        page.context.close()


def platform_fonts(page: Any, selector: str) -> set[str]:
    """The font families Chromium drew the text of `selector` with."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    return {font["familyName"] for font in fonts}


def test_headings_are_drawn_in_one_font(server: Server, page: Any) -> None:
    """Defect 2: "Ask the documents" and section titles mixed a partial face with a fallback."""
    search(page, server, QUESTION)
    for selector in (".qa-head h1", ".qa-card .qa-cite b"):
        assert len(platform_fonts(page, selector)) == 1, selector


def test_a_quoted_phrase_found_nowhere_says_so(server: Server, page: Any) -> None:
    """Defect 4: '"blockchain drones"' said "No passages found: is the corpus empty?"."""
    from playwright.sync_api import expect

    page.goto(server.url)
    page.get_by_label("Question").fill('"blockchain drones"')
    page.get_by_label("Question").press("Enter")
    expect(page.locator("#qa-results")).to_contain_text("No passage contains “blockchain drones”")
    expect(page.locator("#qa-results")).not_to_contain_text("corpus empty")


def test_a_long_question_is_not_echoed_over_the_first_screen(server: Server, page: Any) -> None:
    """Defect 5: a 5,700-character question was echoed in full above the results."""
    question = "how do partnerships protect civilians in the field " * 110
    page.goto(server.url)
    ask(page, question)
    summary = page.locator(".qa-summary")
    assert summary.bounding_box()["height"] < 60
    assert page.locator(".qa-answer").bounding_box()["y"] < 900


def test_citations_stay_whole_on_a_phone_and_the_toggle_says_hide(
    server: Server, browser: Any
) -> None:
    """Defect 6: "· line" and "3" split, "Read in context" alone on a line, never "Hide"."""
    from playwright.sync_api import expect

    page = new_page(browser, PHONE)
    try:
        search(page, server, QUESTION)
        for card in page.locator(".qa-card").all():
            summary = card.locator("summary")
            where = summary.locator(".qa-where")
            assert where.evaluate("e => e.getClientRects().length") == 1, where.inner_text()
            line = float(style(summary.locator(".qa-cite"), "lineHeight").removesuffix("px"))
            assert summary.bounding_box()["height"] <= 3.2 * line, summary.inner_text()
            toggle = summary.locator(".qa-open").bounding_box()
            assert toggle["y"] < summary.bounding_box()["y"] + line  # not on a line of its own
        first = page.locator(".qa-card").first
        first.locator("summary").click()
        expect(first.locator(".qa-hide")).to_be_visible()
        expect(first.locator(".qa-show")).to_be_hidden()
        first.locator("summary").click()
        expect(first.locator(".qa-show")).to_be_visible()
    finally:
        page.context.close()


def test_weak_sources_are_muted_highlights_included(server: Server, page: Any) -> None:
    """Defect 8: "4. European Union (EU)" was marked in the same bright yellow as answers."""
    search(page, server, QUESTION)
    strong = rgb(style(page.locator(".qa-card:not(.qa-weak) mark").first, "backgroundColor"))
    search(page, server, FRANCE)
    marks = page.locator(".qa-weak mark")
    assert marks.count() >= 1
    for mark in marks.all():
        colour = rgb(style(mark, "backgroundColor"))
        assert colour != strong and max(colour) - min(colour) < 40, colour  # grey, not yellow
    assert page.locator(".qa-card:not(.qa-weak)").count() == 0


def test_compact_controls_a_closed_index_panel_and_the_answer_on_a_phones_first_screen(
    server: Server, browser: Any
) -> None:
    """Defect 11: a 90 px Search button, 12 px examples, an open index panel, and on a phone
    the first answer 660 px down."""
    page = new_page(browser, DESKTOP)
    phone = new_page(browser, PHONE)
    try:
        search(page, server, QUESTION)
        assert page.get_by_role("button", name="Search", exact=True).bounding_box()["height"] <= 48
        assert float(style(page.locator(".qa-chip").first, "fontSize").removesuffix("px")) >= 14
        assert page.get_by_role("button", name="Rebuild index").count() == 0  # panel closed
        status = page.locator("#qa-index-panel .label-wrap")
        assert status.bounding_box()["height"] <= 48
        assert " sections\u00a0· built " in status.inner_text()  # no break before "·"
        box = search(phone, server, QUESTION).bounding_box()
        assert box["y"] + box["height"] <= PHONE["height"]
    finally:
        page.context.close()
        phone.context.close()


def test_first_run_says_what_it_does_and_not_gradios_hints(server: Server) -> None:
    """Defect 12: silence after "building it now…", and "set share=True in launch()"."""
    log = server.log.read_text()
    assert "building it now" in log
    assert "qa: indexed 1 document, " in log and " sections, " in log
    assert "share=True" not in log and "qa: serving http://127.0.0.1:" in log


PAGES = ("empty", "results", "section", "no-answer")


def open_view(page: Any, server: Server, view: str, scheme: str) -> None:
    from playwright.sync_api import expect

    if view == "empty":
        page.goto(f"{server.url}?__theme={scheme}")
        expect(page.locator(".qa-chip").first).to_be_visible()
        return
    search(page, server, FRANCE if view == "no-answer" else QUESTION, scheme)
    if view == "section":
        page.locator(".qa-card summary").first.click()
        expect(page.locator(".qa-card .qa-section").first).to_be_visible()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_accessibility_violations(server: Server, browser: Any, scheme: str) -> None:
    """Defect 3 and the rest: axe-core on four pages; screenshots to look at."""
    if not AXE.exists():
        pytest.fail(f"axe-core is missing ({AXE}): run `make axe`")
    found = {}
    for size in (DESKTOP, PHONE):
        page = new_page(browser, size, scheme)
        try:
            for view in PAGES:
                open_view(page, server, view, scheme)
                page.wait_for_timeout(300)  # let Gradio's transitions settle
                shot(page, f"{view}-{scheme}-{size['width']}x{size['height']}.png")
                if size is DESKTOP:
                    found[view] = axe_violations(page)
        finally:
            page.context.close()
    assert found == {view: [] for view in PAGES}


def axe_violations(page: Any) -> list[str]:
    """The serious and critical axe-core violations of the page, with where they are."""
    page.add_script_tag(path=str(AXE))
    results = page.evaluate("async () => (await axe.run(document)).violations")
    return [
        f"{v['id']} ({v['impact']}): {node['target']} {node.get('failureSummary', '')}"
        for v in results
        if v["impact"] in ("serious", "critical")
        for node in v["nodes"]
    ]
