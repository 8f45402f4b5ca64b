"""Fast tests of the web app's HTML, state and wiring: no model, no browser."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from qa.errors import QAError, QAWarning
from qa.index.owner import Index
from qa.index.status import IndexInfo, IndexStatus
from qa.rank.highlight import Highlight
from qa.rank.passage import Passage
from qa.readers.base import Span
from qa.settings import Settings
from qa.text.sections import Section
from qa.web.app import _results_count, make_app
from qa.web.panel import built_label, index_html, progress_html
from qa.web.render import (
    NO_MATCH,
    answer_html,
    card_html,
    mark_highlights,
    message_html,
    results_html,
    section_html,
    share_link,
)
from qa.web.serve import prepare
from qa.web.state import describe_rebuild


def handlers_over(corpus: Path, index: Path) -> Any:
    """The page's handlers over the index of `corpus` in `index`, with the fake model."""
    from fakes import FakeEmbedder, settings_for

    from qa.web.app import Handlers

    return Handlers(Index.open(settings_for(corpus, index), embedder=FakeEmbedder()))


HOSTILE = '<script>alert(1)</script> <img src=x onerror="alert(2)"> ${alert(3)} {{this}}'


def passage(
    text: str = "One sentence. The answer sentence. Another.", **changes: object
) -> Passage:
    fields: dict[str, object] = {
        "text": text,
        "doc": "doc.txt",
        "section": "Protection of Civilians",
        "section_path": ("Guide", "Protection of Civilians"),
        "start_line": 12,
        "end_line": 12,
        "score": 0.734,
        "confident": True,
        "highlights": (Highlight(14, 34, "The answer sentence."),),
    }
    fields.update(changes)
    return Passage(**fields)  # type: ignore[arg-type]


def section(
    text: str = "Protection of Civilians\n\nIntro line.\n\nOne sentence. The answer "
    "sentence. Another.\nLast line.",
) -> Section:
    return Section(
        "doc.txt", "Protection of Civilians", ("Guide", "Protection of Civilians"), 8, 13, text
    )


def visible_text(fragment: str) -> str:
    """Roughly what a browser shows: tags dropped, entities decoded."""
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).replace("\xa0", " ")


def test_highlight_is_marked_and_the_rest_is_plain() -> None:
    marked = mark_highlights(passage())
    assert marked == "One sentence. <mark>The answer sentence.</mark> Another."


def test_overlapping_or_out_of_range_highlights_are_ignored_not_garbled() -> None:
    p = passage(
        highlights=(
            Highlight(0, 13, "One sentence."),
            Highlight(5, 20, "x"),
            Highlight(30, 999, "y"),
        )
    )
    assert mark_highlights(p) == "<mark>One sentence.</mark> The answer sentence. Another."


@pytest.mark.parametrize("fragment", ["card", "section", "results", "index", "message"])
def test_corpus_and_question_text_is_inert(fragment: str) -> None:
    p = passage(
        text=HOSTILE,
        doc=HOSTILE + ".md",
        section_path=(HOSTILE,),
        highlights=(Highlight(0, 8, "<script>"),),
    )
    s = Section(HOSTILE + ".md", HOSTILE, (HOSTILE,), 12, 12, HOSTILE)
    html_out = {
        "card": card_html(1, p, s),
        "section": section_html(s, p),
        "results": results_html(HOSTILE, [(p, s)]),
        "index": index_html({"Model": HOSTILE}, None, ""),
        "message": message_html(HOSTILE, error=True),
    }[fragment]
    assert "<script" not in html_out and "<img" not in html_out
    assert "${" not in html_out and "{{" not in html_out  # Gradio's template engine sees none
    assert "alert(1)" in visible_text(html_out)


def test_card_shows_rank_citation_score_and_section_in_context() -> None:
    shown = card_html(2, passage(), section())
    text = visible_text(shown)
    assert 'data-rank="2"' in shown
    assert "doc.txt › Guide › Protection of Civilians · line 12" in text
    assert "73%" in text and "width:73%" in shown
    assert "<details" in shown and "Read in context" in text
    assert "lines 8–13" in text


def test_card_of_a_pdf_passage_cites_its_pages() -> None:
    pdf = passage(doc="report.pdf", span=Span("page", 4, 5))
    assert "report.pdf › Guide › Protection of Civilians · pages 4–5" in visible_text(
        card_html(1, pdf, None)
    )


def test_section_marks_the_passage_lines_only() -> None:
    shown = section_html(section(), passage())
    hits = re.findall(r'<div class="qa-line qa-hit"><span class="qa-ln">(\d+)</span>', shown)
    assert hits == ["12"]
    assert "<mark>The answer sentence.</mark>" in shown
    assert shown.count('class="qa-ln"') == 6  # every line of the section, numbered


def test_a_pdf_section_marks_where_each_page_begins_and_names_its_pages() -> None:
    pdf = replace(section(), doc="report.pdf", pages=((8, 4), (12, 5)))
    shown = section_html(pdf, passage(doc="report.pdf", span=Span("page", 5, 5)))
    separator = '<div class="qa-page-break" role="separator" aria-label="page {}">page {}</div>'
    assert shown.count("qa-page-break") == 2
    assert '<div class="qa-lines qa-rendered" tabindex="0">' + separator.format(4, 4) in shown
    assert separator.format(5, 5) + '<div class="qa-line qa-para qa-hit">' in shown
    head = visible_text(shown.split('<div class="qa-lines')[0])
    assert head == "report.pdf › Guide › Protection of Civilians · pages 4–5"


def test_a_text_section_has_no_page_breaks_and_names_its_lines() -> None:
    shown = section_html(section(), passage())
    assert "qa-page-break" not in shown
    assert visible_text(shown).startswith("doc.txt › Guide › Protection of Civilians · lines 8–13")


def test_a_long_section_scrolls_from_the_keyboard() -> None:
    """axe-core's scrollable-region-focusable: the lines scroll past 60vh, so they take focus."""
    assert '<div class="qa-lines" tabindex="0">' in section_html(section(), passage())


def test_no_confident_passage_shows_the_notice_first() -> None:
    weak = [(passage(confident=False, score=0.1), None), (passage(confident=False), None)]
    shown = visible_text(results_html("What is the capital of France?", weak))
    assert shown.index(NO_MATCH) < shown.index("doc.txt ›")
    sure = results_html("q", [(passage(), None), (passage(confident=False), None)])
    assert NO_MATCH not in visible_text(sure)


@pytest.mark.parametrize(
    ("score", "confident", "words"),
    [(0.9, True, "Answer"), (0.6, True, "Possible answer"), (0.3, False, "don't seem to answer")],
)
def test_the_answer_box_comes_first_and_says_how_sure(
    score: float, confident: bool, words: str
) -> None:
    best = passage(score=score, confident=confident)
    shown = results_html("q", [(best, section()), (passage(score=0.2, confident=False), None)])
    box = shown[shown.index("qa-answer") : shown.index("qa-summary")]
    assert words in visible_text(box)
    if confident:  # the answer sentence, in larger type, with a citation that opens the section
        assert "The answer sentence." in visible_text(box) and "<details" in box
    else:
        assert "The answer sentence." not in visible_text(box)


@pytest.mark.parametrize(
    ("score", "confident", "shown", "words"),
    [
        (0.697, True, "69%", "Possible answer"),
        (0.7, True, "70%", "Answer"),
        (0.4996, False, "49%", ""),
    ],
)
def test_the_percentage_shown_agrees_with_the_words_beside_it(
    score: float, confident: bool, shown: str, words: str
) -> None:
    # 0.697 used to read "Possible answer · 70% match" and 0.4996 "50% · weak".
    best = passage(score=score, confident=confident)
    page = visible_text(results_html("q", [(best, section())]))
    assert (f"{shown} match" in page) == confident
    assert f"{shown}" in page if confident else "weak match" in page and "%" not in page
    if words:
        assert f"{words} · {shown} match" in page


def test_the_answer_box_names_what_the_documents_never_mention() -> None:
    best = replace(passage(score=0.3, confident=False), unmentioned=("Rwanda", "1994"))
    box = visible_text(answer_html(best, None))
    assert box == (
        "The documents don't seem to answer this (they never mention Rwanda, 1994); "
        "closest passages:"
    )
    assert "never mention" not in visible_text(answer_html(passage(), None))


def test_a_weak_source_says_so_and_shows_no_percentage() -> None:
    """Issue 28: a passage that does not answer gave a percentage, as an answer does."""
    weak = visible_text(card_html(3, passage(score=0.31, confident=False), None))
    assert "weak match" in weak and "%" not in weak
    assert "weak" not in visible_text(card_html(1, passage(), None))


def test_a_question_the_documents_do_not_answer_says_so_first_and_shows_no_percentage(
    seed_corpus: Path, tmp_path: Path
) -> None:
    """Issue 28: when the best passage does not answer, the page says so before anything else,
    and nothing on it reads like a confident figure (the fake model's no-match path)."""
    from fakes import fake_build

    fake_build(seed_corpus, tmp_path / "index")
    handlers = handlers_over(seed_corpus, tmp_path / "index")
    shown = visible_text(handlers.answer("What is the capital of France?", 3, [""]))
    assert shown.startswith("The documents don't seem to answer this")
    assert shown.split(":", 1)[0].endswith("; closest passages")
    assert shown.count("weak match") == 3 and "%" not in shown


def test_a_quoted_phrase_found_nowhere_is_named_not_blamed_on_the_corpus() -> None:
    """Issue 10, defect 4: '"blockchain drones"' said "No passages found: is the corpus empty?"."""
    shown = visible_text(results_html('"blockchain drones"', []))
    assert "No passage contains “blockchain drones”" in shown
    assert "corpus empty" not in shown


def test_a_long_question_is_not_echoed_whole() -> None:
    """Issue 10, defect 5: a 5,700-character question filled the first screen."""
    question = "why does political will matter " * 190
    summary = visible_text(results_html(question, [(passage(), None)]))
    shown = summary[summary.index("for ") : summary.index("link to this search")]
    assert len(shown) < 130 and "…" in shown


def test_results_count_cards_and_offer_a_share_link() -> None:
    hits = [(passage(start_line=n, end_line=n), None) for n in range(1, 4)]
    shown = results_html("how do partnerships protect civilians", hits, k=3)
    assert shown.count('<article class="qa-card') == 3
    assert "3 sources for" in shown
    assert 'href="?q=how+do+partnerships+protect+civilians&amp;k=3"' in shown


def test_share_link_encodes_the_question() -> None:
    assert share_link("a&b=c ?", 4) == "?q=a%26b%3Dc+%3F&k=4"


@pytest.mark.parametrize(
    ("value", "count"), [(5, 5), (0, 1), (11, 10), ("3", 3), ("x", 5), (None, 5), (7.6, 7)]
)
def test_results_count_is_clamped(value: object, count: int) -> None:
    assert _results_count(value) == count


def test_built_label_is_readable() -> None:
    now = datetime(2026, 1, 2, 12, 30, tzinfo=UTC)
    assert built_label("2026-01-02T12:00:00+00:00", now) == "2026-01-02 12:00 UTC (30 min ago)"
    assert built_label("not a time", now) == "not a time"


def test_index_panel_says_whether_the_corpus_changed() -> None:
    fresh = index_html({"Documents": "1"}, IndexStatus(Path("index")))
    status = IndexStatus(Path("index"), changed=("a.txt",), added=("b.md",))
    stale = index_html({"Documents": "1"}, status, fix="Press Rebuild index.")
    assert "Up to date" in fresh
    assert "changed since this build: added b.md; changed a.txt. Press Rebuild index." in stale


def test_rebuild_summary_names_what_changed() -> None:
    info = IndexInfo(
        2,
        9,
        30,
        3,
        27,
        "m",
        "2026-01-02T12:00:00+00:00",
        1.2,
        added=("new.md",),
        changed=("a.txt",),
    )
    text = describe_rebuild(info)
    assert "Added new.md" in text and "Changed a.txt" in text
    assert "3 chunks embedded, 27 reused" in text and "in 1.2 s" in text
    unchanged = IndexInfo(2, 9, 30, 0, 30, "m", "2026-01-02T12:00:00+00:00", 1.2)
    assert "No document changed" in describe_rebuild(unchanged)
    skipped = IndexInfo(
        2,
        9,
        30,
        3,
        27,
        "m",
        "2026-01-02T12:00:00+00:00",
        1.2,
        warnings=("Skipped scan.txt: it looks binary, not text.",),
    )
    assert "Warning: Skipped scan.txt" in describe_rebuild(skipped)


def test_progress_shows_a_bar() -> None:
    assert "width:40%" in progress_html("Embedding 4 of 10", 0.4)
    assert "qa-busy" in progress_html("Loading", None)


def test_read_only_page_without_index_has_no_rebuild_and_keeps_the_api(tmp_path: Path) -> None:
    from qa.web.app import Handlers

    settings = Settings(
        corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index", read_only=True
    )
    index = Index.open(settings)
    prepare(index)  # must not build: read-only never writes
    with pytest.raises(QAError, match=r"No index in .*run `qa build` \(this page is read-only\)"):
        Handlers(index).searcher()
    assert not (tmp_path / "index").exists()
    page = make_app(index)
    config = page.get_config_file()
    labels = [c.get("props", {}).get("value") for c in config["components"]]
    assert "Rebuild index" not in labels
    assert any(d.get("api_name") == "search" for d in config["dependencies"])
    assert "Rebuild index" in [
        c.get("props", {}).get("value")
        for c in make_app(Index.open(replace(settings, read_only=False))).get_config_file()[
            "components"
        ]
    ]


def test_a_page_without_an_index_answers_once_someone_builds_it(
    seed_corpus: Path, tmp_path: Path
) -> None:
    from fakes import FakeEmbedder, fake_build, settings_for

    settings = settings_for(seed_corpus, tmp_path / "index", read_only=True)
    index = Index.open(settings, embedder=FakeEmbedder())
    with pytest.raises(QAError, match=r"No index in .*run `qa build`"):
        index.searcher()
    fake_build(seed_corpus, tmp_path / "index")  # `qa build`, in another process
    searcher = index.searcher()
    assert searcher.search('"patrols"', 1) and index.searcher() is searcher  # loaded once


def test_the_panel_describes_the_index_that_answers_after_a_build_elsewhere(
    seed_corpus: Path, tmp_path: Path
) -> None:
    """Defect 1: after another process rebuilt, the page reported one index and served another."""
    from fakes import fake_build

    (seed_corpus / "sourdough.md").write_text(
        "# Sourdough\n\nLet sourdough proof for four hours at room temperature.\n"
    )
    index = tmp_path / "index"
    fake_build(seed_corpus, index)
    handlers = handlers_over(seed_corpus, index)
    assert "sourdough.md" in handlers.answer("how long should sourdough proof", 3)
    (seed_corpus / "sourdough.md").unlink()
    fake_build(seed_corpus, index)  # as `qa build` in another process does
    label, html = handlers.panel()
    panel = visible_text(html)
    assert label.startswith("1 document\u00a0· ") and label.endswith("up to date")
    assert "Documents1" in panel and "Up to date" in panel
    assert "removed sourdough.md" in panel
    assert "sourdough.md" not in handlers.answer("how long should sourdough proof", 3)


def test_the_watch_line_says_when_and_what_changed() -> None:
    from qa.index.watch import WatchEvent
    from qa.web.state import describe_watch

    assert "Watching corpus/" in describe_watch(None, "corpus")
    info = IndexInfo(2, 9, 30, 3, 27, "m", "2026-01-02T12:00:00+00:00", 1.2, added=("b.md",))
    line = describe_watch(WatchEvent("2026-01-02T12:00:05+00:00", info=info), "corpus")
    assert "Last rebuild at 2026-01-02 12:00 UTC" in line and "Added b.md" in line
    failed = describe_watch(WatchEvent("2026-01-02T12:00:05+00:00", error="No .txt"), "corpus")
    assert "could not be indexed: No .txt" in failed
    full = WatchEvent("2026-01-02T12:00:05+00:00", error="No space left", retry_seconds=4)
    assert "could not be indexed (tried again in 4 s, and on the next change): No space" in (
        describe_watch(full, "corpus")
    )


def test_the_page_lets_go_of_an_old_build_once_a_new_one_answers(
    seed_corpus: Path, tmp_path: Path
) -> None:
    import gc
    import weakref

    from fakes import FakeEmbedder, fake_build, settings_for

    folder = tmp_path / "index"
    fake_build(seed_corpus, folder)
    index = Index.open(settings_for(seed_corpus, folder), embedder=FakeEmbedder())
    old = weakref.ref(index.searcher())
    (seed_corpus / "new.md").write_text("# New\n\nFresh words.\n")
    fake_build(seed_corpus, folder)
    assert index.searcher().search('"fresh words"', 1)[0].doc == "new.md"
    gc.collect()
    assert old() is None


def test_while_a_rebuild_runs_the_panel_says_so_and_then_what_changed(
    seed_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 10, defect 7: "Press Rebuild index." stayed on screen while the rebuild ran."""
    from fakes import FakeEmbedder, fake_build

    monkeypatch.setattr(
        "qa.model.embedding.load_embedder", lambda name, precision="fp32": FakeEmbedder()
    )
    index = tmp_path / "index"
    fake_build(seed_corpus, index)
    (seed_corpus / "new.md").write_text("# New\n\nFresh words about sourdough.\n")
    handlers = handlers_over(seed_corpus, index)
    assert "Press Rebuild index." in handlers.panel()[1]
    steps = list(handlers.rebuild())
    _, panel, _, label = steps[0]
    assert "Press Rebuild index." not in panel and "Rebuilding now" in panel
    assert label["label"].endswith("rebuilding…")
    summary, panel, _, label = steps[-1]
    assert "Added new.md" in summary and "2 documents," in summary
    assert "Up to date" in panel and label["label"].startswith("2 documents\u00a0· ")


def test_a_rebuild_that_finds_nothing_new_says_what_the_last_build_changed(
    seed_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 10, defect 7: "1 documents", and "No document changed" right after 2 became 1."""
    from fakes import FakeEmbedder, fake_build

    monkeypatch.setattr(
        "qa.model.embedding.load_embedder", lambda name, precision="fp32": FakeEmbedder()
    )
    index = tmp_path / "index"
    (seed_corpus / "old.md").write_text("# Old\n\nWords that go away.\n")
    fake_build(seed_corpus, index)
    handlers = handlers_over(seed_corpus, index)
    (seed_corpus / "old.md").unlink()
    fake_build(seed_corpus, index)  # as the watcher or `qa build` does, before the click
    summary = visible_text(list(handlers.rebuild())[-1][0])
    assert "No document changed since the last build" in summary
    assert "which removed old.md" in summary
    assert "1 document," in summary and "1 documents" not in summary


def test_examples_come_from_the_corpus_file_else_from_its_headings(tmp_path: Path) -> None:
    from qa.web.examples import EXAMPLES_FILE, example_questions

    sections = [
        Section("garden.md", "Garden", ("Garden",), 1, 20, ""),
        Section("garden.md", "Soil", ("Garden", "Soil"), 3, 9, ""),
        Section("garden.md", "Water", ("Garden", "Water"), 10, 20, ""),
        Section("bread.md", "Bread", ("Bread",), 1, 5, ""),
        Section("bread.md", "Proofing", ("Bread", "Proofing"), 2, 5, ""),
    ]
    assert example_questions(tmp_path, sections) == ["Soil", "Proofing", "Water"]
    (tmp_path / EXAMPLES_FILE).write_text("# for this corpus\nhow deep should soil be\n\n")
    assert example_questions(tmp_path, sections) == ["how deep should soil be"]


def test_the_page_offers_examples_about_its_own_corpus(tmp_path: Path) -> None:
    """Issue 10, defect 9: the examples stayed peacekeeping questions whatever the corpus held."""
    from fakes import fake_build

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    (corpus / "bread.md").write_text(
        "# Bread\n\n## Proofing\n\nLet it rise for four hours.\n\n## Baking\n\nBake it hot.\n"
    )
    fake_build(corpus, index)
    handlers = handlers_over(corpus, index)
    chips = handlers.on_load({})[6:]
    shown = [chip["value"] for chip in chips if chip.get("visible")]
    assert shown == ["Proofing", "Baking"]
    assert len(chips) == 5 and not any(chip.get("visible") for chip in chips[2:])


@pytest.mark.parametrize("k", ["abc", None, [1, 2], True, 2.5])
def test_an_api_k_that_is_not_a_whole_number_is_refused_clearly(k: object) -> None:
    from qa.errors import QueryError
    from qa.web.app import api_count

    with pytest.raises(QueryError, match="k must be a whole number from 1 to 10"):
        api_count(k)


@pytest.fixture
def multidoc_handlers(tmp_path: Path) -> Any:
    """The page's handlers over the eight-document corpus, indexed with the fake model."""
    import shutil

    from fakes import DATA, fake_build

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(DATA / "multidoc", corpus)
    fake_build(corpus, index)
    return handlers_over(corpus, index)


def cited_documents(html_out: str) -> set[str]:
    return {c.split(" › ")[0] for c in re.findall(r'data-citation="([^"]+)"', html_out)}


def test_a_search_of_chosen_documents_cites_only_them_and_says_so(multidoc_handlers: Any) -> None:
    question = "how do I adjust the brakes and oil the chain of a bicycle"
    assert "bicycle_maintenance.txt" in cited_documents(multidoc_handlers.answer(question, 5, [""]))
    shown = multidoc_handlers.answer(question, 5, ["sourdough.md", "garden/composting.md"])
    assert cited_documents(shown) <= {"sourdough.md", "garden/composting.md"}
    assert "in sourdough.md, garden/composting.md" in visible_text(shown)
    link = 'href="?q=how+do+I'
    assert link in shown and "&amp;doc=sourdough.md&amp;doc=garden%2Fcomposting.md" in shown
    _, example = multidoc_handlers.answer_example("chain and brakes", 3, ["sourdough.md"])
    assert cited_documents(example) == {"sourdough.md"}


def test_the_document_list_follows_the_index_and_keeps_a_vanished_choice_marked(
    multidoc_handlers: Any,
) -> None:
    from fakes import fake_build

    settings = multidoc_handlers.settings
    choices = multidoc_handlers.document_list([""])["choices"]
    assert choices[0] == ("All documents", "")
    assert ("sourdough.md", "sourdough.md") in choices and len(choices) == 9
    (settings.corpus_dir / "sourdough.md").unlink()
    (settings.corpus_dir / "tea.md").write_text("# Tea\n\nSteep green tea for two minutes.\n")
    fake_build(settings.corpus_dir, settings.index_dir)  # the watcher, or `qa build` elsewhere
    choices = multidoc_handlers.document_list(["sourdough.md"])["choices"]
    assert ("tea.md", "tea.md") in choices
    assert choices[-1] == ("sourdough.md (no longer indexed)", "sourdough.md")
    assert "sourdough.md" not in [value for _, value in choices[:-1]]


def test_asking_a_document_that_left_the_index_says_so_in_one_message(
    multidoc_handlers: Any,
) -> None:
    from fakes import fake_build

    settings = multidoc_handlers.settings
    assert "sourdough.md" in cited_documents(multidoc_handlers.answer("bread", 3, ["sourdough.md"]))
    (settings.corpus_dir / "sourdough.md").unlink()
    fake_build(settings.corpus_dir, settings.index_dir)
    shown = multidoc_handlers.answer("bread", 3, ["sourdough.md", "beekeeping.md"])
    assert 'class="qa-error"' in shown and "qa-card" not in shown
    assert visible_text(shown) == (
        "sourdough.md is no longer in the index (the corpus changed): "
        "remove it from Documents, or pick All documents."
    )


def test_a_link_with_documents_chooses_them_and_runs_its_question(multidoc_handlers: Any) -> None:
    question, k, choice, results = multidoc_handlers.on_load(
        {"q": "water", "k": "10"}, ["first_aid.txt", "garden/composting.md"]
    )[:4]
    assert (question, k) == ("water", 10)
    assert choice["value"] == ["first_aid.txt", "garden/composting.md"]
    assert cited_documents(results) == {"first_aid.txt", "garden/composting.md"}
    assert multidoc_handlers.on_load({})[2]["value"] == [""]  # All documents


def test_the_api_asks_the_documents_named_and_refuses_a_bad_list_clearly(
    multidoc_handlers: Any,
) -> None:
    import gradio as gr

    question = "how do I adjust the brakes and oil the chain of a bicycle"
    assert multidoc_handlers.api_search(question, 3)[0]["doc"] == "bicycle_maintenance.txt"
    rows = multidoc_handlers.api_search(question, 3, ["sourdough.md"])
    assert rows and {row["doc"] for row in rows} == {"sourdough.md"}
    for bad, message in [
        ("sourdough.md", "documents must be a list of document names"),
        ({"sourdough.md": 1}, "documents must be a list of document names"),
        (["cakes.md"], "No document 'cakes.md' in this index: name one of astronomy.md"),
    ]:
        with pytest.raises(gr.Error, match=re.escape(message)):
            multidoc_handlers.api_search(question, 3, bad)


def test_document_names_on_the_page_are_inert() -> None:
    from qa.web.documents import missing_message

    scoped = results_html("q", [(passage(), None)], 5, [HOSTILE + ".md"])
    gone = message_html(missing_message([HOSTILE + ".md"]), error=True)
    for html_out in (scoped, gone):
        assert "<script" not in html_out and "<img" not in html_out
        assert "${" not in html_out and "{{" not in html_out
        assert "alert(1)" in visible_text(html_out)


def test_the_pages_build_keeps_token_vectors_like_qa_build(tmp_path: Path) -> None:
    # The page builds telling its progress; when that went through a wrapper of the model,
    # its index lacked the token vectors, and was ranked without late interaction.
    import shutil

    from fakes import SEED, FakeEmbedder, settings_for

    from qa.index.build import load_index

    (tmp_path / "corpus").mkdir()
    shutil.copy(SEED, tmp_path / "corpus")
    seen: list[tuple[int, int]] = []
    found = {}
    for name, progress in (("cli", False), ("page", lambda n, total: seen.append((n, total)))):
        settings = settings_for(tmp_path / "corpus", tmp_path / name, model=FakeEmbedder.name)
        Index.open(settings, embedder=FakeEmbedder()).build(progress=progress)
        found[name] = load_index(settings)
    assert found["page"].manifest.encoder == found["cli"].manifest.encoder
    assert found["page"].tokens is not None and found["cli"].tokens is not None
    assert (found["page"].tokens.codes == found["cli"].tokens.codes).all()
    assert seen and seen[-1][0] == seen[-1][1]  # and it still reports its progress


def test_an_index_the_page_built_without_token_vectors_is_rebuilt_with_them(
    tmp_path: Path,
) -> None:
    import shutil

    from fakes import SEED, FakeEmbedder, settings_for

    from qa.index.build import build_index, open_index

    class Hidden:
        """The model with its token vectors hidden, as the page's wrapper once hid them."""

        name, dimension, max_tokens = FakeEmbedder.name, FakeEmbedder.dimension, 256

        def encode(self, texts: Any, *, progress: bool = False) -> Any:
            return FakeEmbedder().encode(texts)

        def count_tokens(self, text: str) -> int:
            return FakeEmbedder().count_tokens(text)

    (tmp_path / "corpus").mkdir()
    shutil.copy(SEED, tmp_path / "corpus")
    settings = settings_for(tmp_path / "corpus", tmp_path / "index", model=FakeEmbedder.name)
    # What the page's build made before it passed token vectors on.
    build_index(settings, embedder=Hidden())  # type: ignore[arg-type]
    reasons: list[str] = []
    opened = open_index(
        settings,
        rebuild=True,
        embedder=FakeEmbedder(),
        before_build=lambda status: reasons.append(status.describe()),
    )
    assert opened.index is not None and opened.index.tokens is not None
    assert "keeps no token vectors" in reasons[0]
    assert open_index(settings, rebuild=True, embedder=FakeEmbedder()).status.fresh


def test_the_page_serves_the_index_of_its_own_corpus(
    seed_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 0: `qa serve --index I` rebuilt I from ./corpus at startup."""
    import importlib

    from fakes import FakeEmbedder, fake_build, settings_for

    from qa.web.app import Handlers

    for module in ("qa.model.embedding", "qa.rank.search"):
        fake_model = lambda *_: FakeEmbedder()  # noqa: E731
        monkeypatch.setattr(importlib.import_module(module), "load_embedder", fake_model)
    bees, index = tmp_path / "bees", tmp_path / "bees-index"
    bees.mkdir()
    (bees / "bees.md").write_text("# Bees\n\nBees make honey in their hives.\n")
    fake_build(bees, index)
    monkeypatch.chdir(seed_corpus.parent)  # where ./corpus is another corpus

    def page(settings: Settings) -> Handlers:
        """The page's handlers over its index, prepared as `qa serve` prepares it."""
        index = Index.open(settings)
        prepare(index)
        return Handlers(index)

    for read_only in (False, True):
        alone = Settings(index_dir=index, model=FakeEmbedder.name, read_only=read_only)
        assert list(page(alone).searcher().index.manifest.documents) == ["bees.md"]
    with pytest.raises(QAError, match=f"is the index of {bees}/, not of {seed_corpus}/"):
        page(settings_for(seed_corpus, index))
    read_only = settings_for(seed_corpus, index, read_only=True)
    with pytest.raises(QAError, match="is the index of"):
        page(read_only).searcher()
    assert list(page(Settings(index_dir=index, model="fake-hash")).searcher().documents) == [
        "bees.md"
    ]


def test_a_page_over_an_emptied_corpus_says_it_has_no_documents(
    seed_corpus: Path, tmp_path: Path
) -> None:
    """Item 7: with every document deleted, the page kept answering from them."""
    from fakes import fake_build

    index = tmp_path / "index"
    fake_build(seed_corpus, index)
    handlers = handlers_over(seed_corpus, index)
    (seed_corpus / "peacekeeping-partnerships.txt").unlink()
    with pytest.warns(QAWarning, match="holds no documents"):
        fake_build(seed_corpus, index)  # as the watcher or the Rebuild button does
    answer = visible_text(handlers.answer("how do partnerships protect civilians", 3))
    assert f"{seed_corpus}/ holds no documents" in answer and "add .txt" in answer
    label, html = handlers.panel()
    panel = visible_text(html)
    assert label.startswith("0 documents\u00a0· ") and label.endswith("up to date")
    assert "none: add .txt, .md, .pdf, .html or .docx files to the corpus folder" in panel
    assert "removed peacekeeping-partnerships.txt" in panel


CHALLENGES = (
    "Challenges\n\n"
    "Partnerships encounter several challenges. Resource limits pose an obstacle. "
    "They cost lives.\n\n"
    "Political will is also vital. Nations may fail to engage.\n\n"
    "Coordination remains another challenge. Many groups act at once.\n\n"
    "These challenges highlight the complexities involved."
)


def answer_words(box: str) -> str:
    """The words of an answer box's answer, without its verdict and citation."""
    return visible_text(box.split('class="qa-answer-text">', 1)[1].split("</p>", 1)[0])


def test_a_lead_in_to_a_list_brings_the_lists_items_into_the_answer_box() -> None:
    """Issue 28: "What challenges do partnerships face?" showed only the lead-in sentence."""
    lead = "Partnerships encounter several challenges."
    text = f"{lead} Resource limits pose an obstacle. They cost lives."
    best = passage(text, start_line=3, end_line=3, highlights=(Highlight(0, len(lead), lead),))
    place = Section("doc.txt", "Challenges", ("Challenges",), 1, 9, CHALLENGES)
    answer = answer_words(answer_html(best, place))
    assert answer == (
        "Partnerships encounter several challenges. Resource limits pose an obstacle. … "
        "Political will is also vital. … Coordination remains another challenge. … "
        "These challenges highlight the complexities involved."
    )


def test_a_list_after_a_colon_comes_item_by_item_within_the_length_limit() -> None:
    lead = "The objectives are as follows:"
    item = "  • Objective {} matters a great deal to every partner in the mission. "
    items = "\n\n".join(item.format(n) + "More words. " * 20 for n in range(9))
    place = Section("doc.txt", "Aims", ("Aims",), 1, 30, f"Aims\n\n{lead}\n\n{items}")
    best = passage(lead, start_line=3, end_line=3, highlights=(Highlight(0, len(lead), lead),))
    answer = answer_words(answer_html(best, place))
    assert answer.startswith(f"{lead} • Objective 0 matters a great deal to every partner in")
    assert "mission. … • Objective 1 matters" in answer
    assert "More words" not in answer and "Objective 8" not in answer
    assert len(answer) <= 500  # the answer box's limit
    assert answer.endswith("to every partner in the mission.")


def test_an_answer_that_leads_in_to_nothing_stays_as_it_is() -> None:
    best = passage()  # "The answer sentence." with a section after it
    assert answer_words(answer_html(best, section())) == "The answer sentence."


def test_sentences_apart_in_the_passage_are_joined_with_an_ellipsis_in_reading_order() -> None:
    """Issue 28: two sentences apart were glued into one paragraph as if they followed."""
    text = "Roads matter. Trucks rust in the rain. Patrols protect civilians."
    marks = (Highlight(0, 13, "Roads matter."), Highlight(39, 65, "Patrols protect civilians."))
    shown = answer_words(answer_html(passage(text, highlights=marks), None))
    assert shown == "Roads matter. … Patrols protect civilians."
    next_to = (Highlight(0, 13, "Roads matter."), Highlight(14, 38, "Trucks rust in the rain."))
    shown = answer_words(answer_html(passage(text, highlights=next_to), None))
    assert shown == "Roads matter. Trucks rust in the rain."


def test_the_seed_documents_list_of_organizations_is_the_answer(seed_searcher: Any) -> None:
    """Issue 28, with the real model: the answer box gave only "Key organizations involved in
    these partnerships include:"."""
    best = seed_searcher.search("Which organizations take part in partnerships?", 1)[0]
    answer = answer_words(answer_html(best, seed_searcher.section_for(best)))
    assert answer.startswith("Key organizations involved in these partnerships include: 1.")
    assert answer.endswith("5. Non-Governmental Organizations (NGOs)")


def test_the_open_pages_poll_is_cheap_and_follows_a_build_made_elsewhere(
    seed_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 28: an open page kept saying "up to date" about the build it loaded with.  Its
    status is asked again every few seconds: when nothing changed no vectors are read, no
    file hashed, no text encoded and nothing sent; a build from another process is loaded
    once and the status line then describes it."""
    import os

    import gradio as gr
    from fakes import fake_build

    import qa.index.owner
    import qa.index.store
    import qa.readers.corpus

    for document in seed_corpus.iterdir():  # written long ago: its hash is trusted, not redone
        os.utime(document, (1e9, 1e9))
    folder = tmp_path / "index"
    fake_build(seed_corpus, folder)
    handlers = handlers_over(seed_corpus, folder)
    html, label, shown = handlers.poll("")
    line = label["label"]
    assert line.startswith("1 document\u00a0· ") and line.endswith("up to date")
    calls: dict[str, int] = {}

    def counting(owner: object, name: str) -> None:
        real = getattr(owner, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            calls[name] = calls.get(name, 0) + 1
            return real(*args, **kwargs)

        monkeypatch.setattr(owner, name, counted)

    counting(qa.index.store, "read_build")
    counting(qa.index.owner, "open_live")
    counting(qa.readers.corpus, "file_sha256")
    counting(handlers.index.embedder(), "encode")
    for _ in range(5):
        assert handlers.poll(shown) == (gr.skip(), gr.skip(), shown)
    assert calls == {}
    (seed_corpus / "sourdough.md").write_text("# Sourdough\n\nLet it proof for four hours.\n")
    assert "the corpus changed" in handlers.poll(shown)[1]["label"]
    fake_build(seed_corpus, folder)  # as `qa build` in another process does
    calls.clear()
    html, label, shown = handlers.poll(shown)
    line = label["label"]
    assert line.startswith("2 documents\u00a0· ") and line.endswith("up to date")
    assert "added sourdough.md" in visible_text(html)
    assert calls.get("read_build", 0) + calls.get("open_live", 0) == 1  # the new build, once
    assert "encode" not in calls
    assert handlers.poll(shown)[:2] == (gr.skip(), gr.skip())
    assert "sourdough.md" in handlers.answer("how long should sourdough proof", 3)


def context_of(searcher: Any, passage: Passage) -> str:
    return section_html(searcher.section_for(passage), passage)


def test_a_pdf_passage_reads_in_context_as_rendered_text_on_its_page(tmp_path: Path) -> None:
    """Issue 28: "Read in context" of a PDF showed qa's Markdown (`## 2.1 Data`) with line
    numbers of qa's reading, which match nothing in the PDF; now headings are headings, a
    paragraph's lines flow as one, and the page where each page begins is named."""
    from documents import write_report
    from fakes import FakeEmbedder, settings_for

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_report(corpus / "report.pdf")  # 2.1 Data runs from page 2 onto 3, 2.2 Weather is on 3
    index = Index.open(settings_for(corpus, tmp_path / "index"), embedder=FakeEmbedder())
    index.build()
    searcher = index.searcher()
    weather = searcher.search('"Norwegian meteorological institute"', 1)[0]
    shown = context_of(searcher, weather)
    text = visible_text(shown)
    assert "#" not in text and "**" not in text and 'class="qa-ln"' not in shown
    assert re.search(r'role="heading" aria-level="\d"><span class="qa-src">2\.2 Weather<', shown)
    assert weather.span is not None and weather.span.label == "page 3"
    before_hit = shown.split("qa-hit")[0]
    assert re.findall(r'aria-label="(page \d+)"', before_hit)[-1] == "page 3"
    logbooks = searcher.search('"lent the logbooks"', 1)[0]
    shown = context_of(searcher, logbooks)
    assert re.findall(r'aria-label="(page \d+)"', shown) == ["page 2", "page 3"]
    assert "pages 2–3" in visible_text(shown.split('<div class="qa-lines')[0])
    assert "<mark>The archive in Tromsø lent the logbooks" in shown
    assert "transcribed by volunteers and checked twice. Interview notes" in visible_text(shown)


def test_a_text_passage_reads_in_context_with_the_files_own_lines(tmp_path: Path) -> None:
    """Each number "Read in context" shows beside a line of a .txt is that line's number in
    the file, and the text beside it that line of the file."""
    from fakes import SEED, FakeEmbedder, settings_for

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    odd = corpus / "odd.txt"
    odd.write_bytes(
        b"\xef\xbb\xbfHarbour notes\r\n\r\nThe keepers logged   every ship.\tTabs stay.\r\n"
        b"\r\n\r\n\r\nStorm lamps were lit at dusk.\rA line after a lone CR.\n"
    )
    (corpus / SEED.name).write_bytes(SEED.read_bytes())
    index = Index.open(settings_for(corpus, tmp_path / "index"), embedder=FakeEmbedder())
    index.build()
    searcher = index.searcher()
    for question, path in (('"storm lamps"', odd), ('"safeguard non-combatants"', SEED)):
        passage = searcher.search(question, 1)[0]
        assert passage.doc == path.name
        lines = path.read_bytes().decode("utf-8-sig").splitlines()
        shown = context_of(searcher, passage)
        row = r'<span class="qa-ln">(\d+)</span><span class="qa-src">(.*?)</span>'
        rows = re.findall(row, shown)
        assert len(rows) > 3
        for number, body in rows:
            assert visible_text(body) == lines[int(number) - 1], number
        hits = [int(n) for n in re.findall(r'qa-hit[^"]*"><span class="qa-ln">(\d+)<', shown)]
        assert hits == list(range(passage.start_line, passage.end_line + 1))
        cited = " ".join(lines[passage.start_line - 1 : passage.end_line])
        assert question.strip('"') in cited.lower()
