"""The web app as a person uses it: Debian's Chromium, driven by Playwright, against `app.py`.

One writable server over a temporary copy of corpus/ (plus a document full of
HTML) is shared by the module; a read-only server over a missing index starts
when its test runs.  Screenshots go to test-artifacts/ (ignored by git).
These tests never skip: without Chromium they fail saying how to install it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from appserver import ROOT, Server, start_app, stop_app
from pages import QUESTION, SLOW, ask, luminance, no_error_box, open_panel, shot

pytestmark = [pytest.mark.browser, pytest.mark.model]  # the app loads the real model

HOSTILE_DOC = """# Notes on markup

This note shows <script>window.__qaPwned = 1</script> and <img src=x onerror="window.__qaPwned = 2"> as plain text.

## Template braces

Template braces like ${window.__qaPwned = 3} and {{constructor}} stay literal in these notes.
"""  # noqa: E501


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("webapp")
    corpus = workdir / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    (corpus / "notes-with-markup.md").write_text(HOSTILE_DOC, encoding="utf-8")
    running = start_app(workdir, corpus, workdir / "index", "--no-watch")
    yield running
    stop_app(running)


@pytest.fixture(scope="module")
def read_only_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("webapp-read-only")
    running = start_app(workdir, ROOT / "corpus", workdir / "no-index", "--read-only")
    yield running
    stop_app(running)


def test_answer_cites_protection_of_civilians_with_a_highlighted_sentence(
    server: Server, page: Any
) -> None:
    from playwright.sync_api import expect

    page.goto(server.url)
    cards = ask(page, QUESTION)
    first = cards.first
    expect(first.locator(".qa-cite")).to_contain_text("Protection of Civilians")
    expect(first.locator(".qa-score")).to_contain_text("%")
    mark = first.locator(".qa-text mark").first
    expect(mark).to_be_visible()
    assert len(mark.inner_text().split()) >= 4  # a sentence, not a stray word
    shot(page, "search-results.png")


def test_example_fills_the_question_and_the_results_count_follows_the_control(
    server: Server, page: Any
) -> None:
    from playwright.sync_api import expect

    page.goto(server.url)
    example = page.locator(".qa-chip").nth(1)
    text = example.inner_text().strip()
    example.click()
    expect(page.get_by_label("Question")).to_have_value(text)
    expect(page.locator(".qa-summary")).to_contain_text(text)
    expect(page.locator(".qa-card")).to_have_count(5)
    for count in ("3", "8"):
        number = page.locator("#qa-k input[type=number]")
        number.fill(count)
        number.press("Enter")
        expect(page.locator(".qa-card")).to_have_count(int(count))
    assert f"q={text.split()[0]}" in page.url  # the address bar now links to this search


def test_citation_opens_the_section_with_the_passage_marked(server: Server, page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(server.url)
    first = ask(page, QUESTION).first
    passage = first.locator(".qa-text").inner_text().strip()
    first.locator(".qa-cite").click()
    section = first.locator(".qa-section")
    expect(section).to_be_visible()
    assert section.locator(".qa-line").count() > section.locator(".qa-hit").count() >= 1
    marked = " ".join(section.locator(".qa-hit").all_inner_texts())
    assert passage[:60] in " ".join(marked.split())
    shot(page, "section-in-context.png")


def test_shared_link_runs_its_question(server: Server, page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(f"{server.url}?q=why+does+political+will+matter&k=2")
    expect(page.get_by_label("Question")).to_have_value("why does political will matter")
    expect(page.locator(".qa-card")).to_have_count(2)


def test_question_the_document_cannot_answer_gets_the_notice(server: Server, page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(server.url)
    ask(page, "What is the capital of France?")
    notice = page.locator(".qa-answer-none")
    says = re.compile(r"^The documents don't seem to answer this( \(they never mention France\))?;")
    expect(notice).to_have_text(says)
    assert notice.inner_text().strip().endswith("; closest passages:")
    assert notice.bounding_box()["y"] < page.locator(".qa-card").first.bounding_box()["y"]
    # Issue 28: no figure that reads like a confident answer, on the first source or any.
    assert "%" not in page.locator("#qa-results").inner_text()
    expect(page.locator(".qa-card").first.locator(".qa-score")).to_have_text("weak match")
    shot(page, "no-match.png")


def test_empty_question_gets_a_friendly_hint(server: Server, page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(server.url)
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("#qa-results")).to_contain_text("Type a question first")
    no_error_box(page)


def test_html_in_a_document_shows_as_text(server: Server, page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(server.url)
    ask(page, "how do script tags and template braces show in the notes")
    card = page.locator(".qa-card", has_text="notes-with-markup.md").first
    expect(card).to_be_visible()
    card.locator(".qa-cite").click()
    results = page.locator("#qa-results")
    expect(results).to_contain_text("<script>window.__qaPwned = 1</script>")
    expect(results).to_contain_text("${window.__qaPwned = 3}")
    assert results.locator("script, img").count() == 0
    assert page.evaluate("window.__qaPwned") is None


def test_api_endpoint_returns_the_same_first_citation(server: Server, page: Any) -> None:
    from gradio_client import Client

    page.goto(server.url)
    shown = ask(page, QUESTION).first.get_attribute("data-citation")
    rows = Client(server.url, verbose=False).predict(QUESTION, 5, api_name="/search")
    assert len(rows) == 5
    assert rows[0]["citation"] == shown
    assert {"text", "score", "confident", "highlights", "start_line"} <= set(rows[0])


def test_choosing_a_document_cites_only_it_until_all_documents_are_chosen_again(
    server: Server, page: Any
) -> None:
    from playwright.sync_api import expect

    page.goto(server.url)
    tokens = page.locator("#qa-documents .token")
    expect(tokens).to_have_text(["All documents"])
    page.get_by_role("combobox", name="Documents").click()
    page.get_by_role("option", name="notes-with-markup.md").click()
    page.keyboard.press("Escape")
    expect(tokens).to_have_text(["notes-with-markup.md"])  # "All documents" gave way
    cards = ask(page, QUESTION)
    expect(page.locator(".qa-summary")).to_contain_text("in notes-with-markup.md")
    cited = [card.get_attribute("data-citation") for card in cards.all()]
    assert cited and all(c.startswith("notes-with-markup.md › ") for c in cited), cited
    assert "doc=notes-with-markup.md" in page.url  # the link asks the same document
    shot(page, "one-document.png")
    page.get_by_role("combobox", name="Documents").click()
    page.get_by_role("option", name="All documents").click()
    page.keyboard.press("Escape")
    expect(tokens).to_have_text(["All documents"])
    expect(page.locator(".qa-card").first.locator(".qa-cite")).to_contain_text(
        "Protection of Civilians"
    )  # the question is asked again, of every document
    assert "doc=" not in page.url
    no_error_box(page)


def test_phone_width_in_dark_mode(server: Server, browser: Any) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        color_scheme="dark",
        device_scale_factor=2,
    )
    phone = context.new_page()
    try:
        phone.goto(f"{server.url}?__theme=dark&q={QUESTION.replace(' ', '+')}")
        expect(phone.locator(".qa-card").first).to_be_visible(timeout=SLOW)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways on a phone ({width}px wide)"
        box = phone.get_by_role("button", name="Search", exact=True).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390
        card_background = phone.locator(".qa-card").first.evaluate(
            "e => getComputedStyle(e).backgroundColor"
        )
        text_color = phone.locator(".qa-text").first.evaluate("e => getComputedStyle(e).color")
        assert luminance(card_background) < 0.2 < luminance(text_color), "not dark mode"
        shot(phone, "phone-dark.png")
    finally:
        context.close()


def test_rebuild_after_editing_the_corpus_finds_the_new_text(server: Server, page: Any) -> None:
    from playwright.sync_api import expect

    (server.corpus / "supply-notes.txt").write_text(
        "Supply notes\n\nThe quartermaster counted seventeen striped zebras guarding the "
        "fuel depot at the northern camp.\n",
        encoding="utf-8",
    )
    page.goto(server.url)
    expect(open_panel(page)).to_contain_text("supply-notes.txt")  # corpus changed since
    page.get_by_role("button", name="Rebuild index").click()
    status = page.locator("#qa-rebuild-status")
    expect(status).to_contain_text("Rebuilt", timeout=120_000)
    expect(status).to_contain_text("supply-notes.txt")
    expect(page.locator("#qa-index")).to_contain_text("Up to date")
    first = ask(page, "how many zebras guard the fuel depot").first
    expect(first).to_have_attribute("data-citation", "supply-notes.txt › Supply notes, line 3")
    expect(first).to_contain_text("seventeen striped zebras")
    no_error_box(page)


def test_read_only_page_has_no_rebuild_and_explains_a_missing_index(
    read_only_server: Server, page: Any
) -> None:
    from playwright.sync_api import expect

    page.goto(read_only_server.url)
    expect(open_panel(page)).to_contain_text("qa build")
    expect(page.get_by_role("button", name="Rebuild index")).to_have_count(0)
    page.get_by_label("Question").fill(QUESTION)
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("#qa-results .qa-error")).to_contain_text("qa build")
    no_error_box(page)
    shot(page, "read-only.png")


def build_elsewhere(server: Server, index: Path) -> None:
    """`qa build` in another process, as someone at a terminal runs it."""
    env = {**os.environ, "QA_CORPUS_DIR": str(server.corpus), "QA_INDEX_DIR": str(index)}
    subprocess.run(
        [sys.executable, "-m", "qa.cli", "build"], env=env, check=True, capture_output=True
    )


def test_a_build_from_another_process_is_served_and_reported_at_once(
    tmp_path: Path, page: Any
) -> None:
    from gradio_client import Client
    from playwright.sync_api import expect

    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    running = start_app(tmp_path, corpus, tmp_path / "index", "--no-watch")
    try:
        client = Client(running.url, verbose=False)
        question = "how long should sourdough proof"
        assert all(
            p["doc"] != "sourdough.md" for p in client.predict(question, 3, api_name="/search")
        )
        (corpus / "sourdough.md").write_text(
            "# Sourdough\n\nLet the sourdough proof for four hours at room temperature.\n"
        )
        build_elsewhere(running, tmp_path / "index")
        rows = client.predict(question, 3, api_name="/search")  # the next question, no waiting
        assert rows[0]["doc"] == "sourdough.md"
        page.goto(running.url)
        panel = open_panel(page)
        expect(panel).to_contain_text("Up to date")
        expect(panel).to_contain_text("added sourdough.md")
        expect(panel.locator("dd").first).to_have_text("2")  # Documents
        first = ask(page, question).first
        expect(first).to_have_attribute("data-citation", "sourdough.md › Sourdough, line 3")
        (corpus / "sourdough.md").unlink()
        build_elsewhere(running, tmp_path / "index")
        page.reload()
        open_panel(page)
        expect(panel).to_contain_text("removed sourdough.md")
        expect(panel.locator("dd").first).to_have_text("1")
        rows = client.predict(question, 3, api_name="/search")
        assert all(p["doc"] != "sourdough.md" for p in rows)
        no_error_box(page)
    finally:
        stop_app(running)


def test_an_open_page_follows_a_build_from_another_process_without_a_reload(
    tmp_path: Path, page: Any
) -> None:
    """Issue 28: an open page said "up to date" about the build it had loaded with after another
    process had built a new one; its status line now follows the index that answers."""
    from playwright.sync_api import expect

    from qa.web.app import POLL_SECONDS

    within = (3 * POLL_SECONDS + 5) * 1000  # ms: a few polls, on a busy machine
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    running = start_app(tmp_path, corpus, tmp_path / "index", "--no-watch")
    try:
        page.goto(running.url)
        status = page.locator("#qa-index-panel .label-wrap > span").first
        expect(status).to_have_text(re.compile(r"^1 document\s· .*\s· up to date$"), timeout=SLOW)
        page.evaluate("window.__qaSamePage = true")  # gone if the page were reloaded
        (corpus / "sourdough.md").write_text(
            "# Sourdough\n\nLet the sourdough proof for four hours at room temperature.\n"
        )
        expect(status).to_contain_text("the corpus changed", timeout=within)
        build_elsewhere(running, tmp_path / "index")
        now = re.compile(r"^2 documents\s· .*\s· up to date$")
        expect(status).to_have_text(now, timeout=within)
        expect(open_panel(page)).to_contain_text("added sourdough.md")
        first = ask(page, "how long should sourdough proof").first  # from the build it names
        expect(first).to_have_attribute("data-citation", "sourdough.md › Sourdough, line 3")
        assert page.evaluate("window.__qaSamePage") is True
        no_error_box(page)
    finally:
        stop_app(running)


def test_the_watching_app_rebuilds_and_its_status_line_says_what_changed(
    tmp_path: Path, page: Any
) -> None:
    from gradio_client import Client
    from playwright.sync_api import expect

    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    running = start_app(tmp_path, corpus, tmp_path / "index")  # watching, the default
    try:
        page.goto(running.url)
        expect(open_panel(page).locator(".qa-watch")).to_contain_text("Watching")
        (corpus / "depot.md").write_text("# Depot\n\nSeventeen striped zebras guard the depot.\n")
        client = Client(running.url, verbose=False)
        deadline = time.monotonic() + 120
        while client.predict("zebras guarding", 1, api_name="/search")[0]["doc"] != "depot.md":
            assert time.monotonic() < deadline, "the watcher did not rebuild"
            time.sleep(0.5)
        page.reload()
        panel = open_panel(page)
        expect(panel).to_contain_text("added depot.md")
        expect(panel).to_contain_text("Up to date")
        expect(panel.locator(".qa-watch")).to_contain_text("Last rebuild at")
        expect(panel.locator(".qa-watch")).to_contain_text("Added depot.md")
        shot(page, "watching.png")
    finally:
        stop_app(running)
