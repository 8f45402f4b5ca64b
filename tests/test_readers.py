"""PDF, HTML and Word documents: their sections, the pages or paragraphs cited, and bad files.

The fixtures are written by the tests (tests/documents.py); what qa must read
from them is in tests/data/readers_sections.json.
"""

from __future__ import annotations

import gc
import json
import shutil
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from documents import (
    REPORT,
    declare_size,
    rewrite_member,
    write_long_pdf,
    write_memo,
    write_page,
    write_report,
)
from fakes import DATA, FakeEmbedder, fake_build, fake_searcher, settings_for

from qa import search
from qa.cli import main
from qa.errors import CorpusError, QAWarning
from qa.index import store
from qa.index.folder import current_folder, swap
from qa.readers import html, read
from qa.readers.corpus import read_corpus
from qa.readers.markup import MAX_DEPTH, tidy
from qa.readers.zipped import MAX_INFLATED, MAX_MEMBERS
from qa.text.chunking import chunk_document
from qa.text.sections import split_sections


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    """A corpus of a PDF with an outline, one without, a web page, a Word file and a text file."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_report(corpus / "report.pdf")
    write_report(corpus / "plain-report.pdf", outline=False)
    write_page(corpus / "bees.html")
    write_memo(corpus / "memo.docx")
    (corpus / "notes.txt").write_text(
        "Ferry Notes\n\nThe ferry leaves at nine.\n", encoding="utf-8"
    )
    return corpus


def test_sections_and_their_pages_or_paragraphs_match_the_golden_file(mixed: Path) -> None:
    golden = json.loads((DATA / "readers_sections.json").read_text(encoding="utf-8"))
    found = {}
    for doc in read_corpus(mixed):
        if doc.layout is None:
            continue
        rows = []
        for section, _ in split_sections(doc):
            span = doc.layout.span(section.start_line, section.end_line)
            rows.append({"path": list(section.path), f"{span.unit}s": [span.first, span.last]})
        found[doc.path] = rows
    assert found == golden


def test_a_pdf_leaves_out_running_heads_and_page_numbers_and_joins_hyphenated_words(
    mixed: Path,
) -> None:
    [doc] = [d for d in read_corpus(mixed) if d.path == "report.pdf"]
    lines = doc.text.split("\n")
    assert not any("Coastal Survey 2024" in line or "Lighthouse study" in line for line in lines)
    assert not any(line.strip().isdigit() for line in lines)
    assert "weather journals" in doc.text and "jour-" not in doc.text
    _, chunks = chunk_document(doc, FakeEmbedder().count_tokens)
    assert "1890" in " ".join(c.text for c in chunks if c.span and c.span.first == 3)


def test_a_pdf_section_knows_where_each_of_its_pages_begins(mixed: Path) -> None:
    """2.1 Data runs from page 2 onto page 3; 2.2 Weather is all on page 3."""
    docs = {d.path: d for d in read_corpus(mixed)}
    report = docs["report.pdf"]
    assert report.layout is not None
    sections = {s.title: s for s, _ in split_sections(report)}
    data, weather = sections["2.1 Data"], sections["2.2 Weather"]
    page_3 = report.layout.starts[2]
    assert data.start_line < page_3 <= data.end_line
    assert data.pages == ((data.start_line, 2), (page_3, 3))
    assert data.text.split("\n")[page_3 - data.start_line - 1] == ""  # pages part at a blank
    assert weather.pages == ((weather.start_line, 3),)
    assert all(s.pages == () for s, _ in split_sections(docs["notes.txt"]))
    assert all(s.pages == () for s, _ in split_sections(docs["bees.html"]))


def test_a_build_from_before_sections_knew_their_pages_gets_them_on_the_next_build(
    mixed: Path, tmp_path: Path
) -> None:
    index = tmp_path / "index"
    fake_build(mixed, index)
    built = store.read_build(current_folder(index))
    fresh = [s for s in built.sections if s.doc == "report.pdf"]
    old = [replace(s, pages=()) for s in built.sections]
    swap(index, store.write_build(index, replace(built, sections=old)))
    fake_build(mixed, index)
    again = store.read_build(current_folder(index)).sections
    assert [s for s in again if s.doc == "report.pdf"] == fresh
    assert any(len(s.pages) == 2 for s in fresh)


def test_a_web_page_is_read_without_navigation_scripts_or_footer(mixed: Path) -> None:
    [doc] = [d for d in read_corpus(mixed) if d.path == "bees.html"]
    for left_out in ("Shop the hive store", "do not index", "subscribe", "Copyright", "color"):
        assert left_out not in doc.text
    assert "- Look for queen cells." in doc.text
    assert "July | 12 kg" in doc.text


def test_a_word_file_keeps_its_lists_and_tables(mixed: Path) -> None:
    [doc] = [d for d in read_corpus(mixed) if d.path == "memo.docx"]
    assert "- Fit the gates" in doc.text
    assert "Oak gates | 40,000 euros" in doc.text


def test_answers_cite_pages_of_a_pdf_and_paragraphs_of_html_and_word(
    mixed: Path, tmp_path: Path
) -> None:
    info = fake_build(mixed, tmp_path / "index")
    assert info.warnings == ()
    searcher = fake_searcher(tmp_path / "index")
    cited = {}
    for question in (
        "Which archive lent the logbooks of every station since 1890?",
        "When to extract honey from capped wax cells?",
        "Who returned to the canal the following spring?",
        "What time does the ferry leave?",
    ):
        passage = searcher.search(question)[0]
        cited[passage.doc] = passage
    report = cited.get("report.pdf") or cited["plain-report.pdf"]
    assert report.citation.endswith(("2.1 Data, page 2", "2.1 Data, page 3", "2.1 Data, pages 2–3"))
    assert cited["bees.html"].citation == "bees.html › Beekeeping Basics › Harvest, paragraphs 8–10"
    assert cited["memo.docx"].citation == "memo.docx › Wildlife, paragraph 11"
    assert cited["notes.txt"].citation == "notes.txt › Ferry Notes, line 3"
    assert cited["memo.docx"].to_dict()["span"] == {"unit": "paragraph", "first": 11, "last": 11}
    assert cited["notes.txt"].to_dict()["span"] is None


def test_a_changed_pdf_reembeds_only_its_changed_chunks(mixed: Path, tmp_path: Path) -> None:
    fake_build(mixed, tmp_path / "index")
    results = (1, "3 Results", ["Most keepers had served more than thirty years at one station."])
    write_report(mixed / "report.pdf", report=[*REPORT[:-1], results])
    embedder = FakeEmbedder()
    info = fake_build(mixed, tmp_path / "index", embedder)
    assert info.warnings == ()
    assert 0 < sum(embedder.calls) <= 2  # the changed chunk and its one sentence, nothing else
    passage = fake_searcher(tmp_path / "index").search("keepers served thirty years")[0]
    assert passage.citation == "report.pdf › 3 Results, page 4"


@pytest.mark.parametrize(
    ("name", "make", "reason"),
    [
        ("locked.pdf", "encrypted", "encrypted with a password"),
        ("scan.pdf", "scanned", "no text layer"),
        ("cut.pdf", "truncated", "damaged or truncated"),
        ("broken.docx", "corrupt_docx", "damaged or not a Word file"),
        ("bad-xml.docx", "malformed_docx_xml", "damaged"),
        ("photo.pdf", "binary", "not a PDF file"),
    ],
)
def test_a_bad_file_is_skipped_with_one_warning_naming_it_and_why(
    mixed: Path, tmp_path: Path, name: str, make: str, reason: str
) -> None:
    BAD[make](mixed / name)
    with pytest.warns(QAWarning) as caught:
        info = fake_build(mixed, tmp_path / "index")
    assert [w for w in info.warnings if name in w] == [f"Skipped {name}: {_reason(info, name)}"]
    assert reason in _reason(info, name)
    assert len([w for w in caught if name in str(w.message)]) == 1
    indexed = {chunk.doc for chunk in fake_searcher(tmp_path / "index").index.chunks}
    assert indexed == {"report.pdf", "plain-report.pdf", "bees.html", "memo.docx", "notes.txt"}


def _reason(info: object, name: str) -> str:
    [warning] = [w for w in info.warnings if name in w]  # type: ignore[attr-defined]
    return warning.removeprefix(f"Skipped {name}: ")


def _encrypted(path: Path) -> None:
    from reportlab.lib.pdfencrypt import StandardEncryption
    from reportlab.pdfgen.canvas import Canvas

    canvas = Canvas(str(path), encrypt=StandardEncryption("user-secret", "owner-secret"))
    canvas.drawString(72, 700, "Words behind a password.")
    canvas.save()


def _scanned(path: Path) -> None:
    from reportlab.pdfgen.canvas import Canvas

    canvas = Canvas(str(path))
    for _ in range(2):
        canvas.rect(72, 72, 300, 500, fill=1)  # a page of picture, no text
        canvas.showPage()
    canvas.save()


def _truncated(path: Path) -> None:
    write_report(path)
    path.write_bytes(path.read_bytes()[:2000])


def _corrupt_docx(path: Path) -> None:
    write_memo(path)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 3])


def _malformed_docx_xml(path: Path) -> None:
    """A Word file whose body is not well-formed XML: lxml raises as python-docx opens it."""
    write_memo(path)
    rewrite_member(path, "word/document.xml", b"<w:document><w:body><w:p>unclosed")


BAD = {
    "encrypted": _encrypted,
    "scanned": _scanned,
    "truncated": _truncated,
    "corrupt_docx": _corrupt_docx,
    "malformed_docx_xml": _malformed_docx_xml,
    "binary": lambda path: path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 10),
}


@pytest.mark.parametrize("error", [RuntimeError("boom"), RecursionError(), IndexError("list")])
def test_whatever_a_reader_raises_its_file_is_skipped_by_name_and_the_build_goes_on(
    mixed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    def fail(name: str, raw: bytes) -> None:
        raise error

    monkeypatch.setattr("qa.readers.html.read", fail)
    with pytest.warns(QAWarning, match="Skipped bees.html"):
        info = fake_build(mixed, tmp_path / "index")
    assert "damaged" in _reason(info, "bees.html")
    assert type(error).__name__ in _reason(info, "bees.html")
    indexed = {chunk.doc for chunk in fake_searcher(tmp_path / "index").index.chunks}
    assert indexed == {"report.pdf", "plain-report.pdf", "memo.docx", "notes.txt"}


@pytest.mark.usefixtures("fake_cli")
def test_qa_build_and_search_go_on_past_a_word_file_of_broken_xml(
    mixed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _malformed_docx_xml(mixed / "bad-xml.docx")
    assert main(["build", "--corpus", str(mixed), "--index", str(tmp_path / "index")]) == 0
    err = capsys.readouterr().err
    assert "qa: warning: Skipped bad-xml.docx: the Word reader failed on it" in err
    assert "Traceback" not in err
    settings = settings_for(mixed, tmp_path / "fresh-index")
    with pytest.warns(QAWarning, match="Skipped bad-xml.docx"):
        [passage] = search("Otters returned to the canal", 1, settings=settings)
    assert passage.doc == "memo.docx"


def test_a_word_file_that_would_inflate_past_the_limit_is_skipped_naming_it(
    mixed: Path, tmp_path: Path
) -> None:
    write_memo(mixed / "bomb.docx")
    declare_size(mixed / "bomb.docx", "word/document.xml", 3 * 1024**3)
    with pytest.warns(QAWarning, match="Skipped bomb.docx"):
        info = fake_build(mixed, tmp_path / "index")
    reason = _reason(info, "bomb.docx")
    assert (
        f"more than the {MAX_INFLATED // 1024**2} MB" in reason
        and "would inflate to 3,07" in reason
    )
    assert "memo.docx" in {c.doc for c in fake_searcher(tmp_path / "index").index.chunks}


def test_a_word_file_of_too_many_parts_is_skipped_naming_the_limit(tmp_path: Path) -> None:
    path = write_memo(tmp_path / "many.docx")
    with zipfile.ZipFile(path, "a") as archive:
        for number in range(MAX_MEMBERS):
            archive.writestr(f"extra/part{number}.xml", b"")
    with pytest.raises(CorpusError, match=f"more than the {MAX_MEMBERS:,} a document"):
        read("many.docx", path.read_bytes())


def test_a_word_file_whose_sizes_lie_is_never_inflated_past_what_it_declares(
    tmp_path: Path,
) -> None:
    """A body of 200 MB of zeros, about 200 KB deflated, declared 1 KB long."""
    path = write_memo(tmp_path / "liar.docx")
    rewrite_member(path, "word/document.xml", bytes(200 * 1024**2))
    declare_size(path, "word/document.xml", 1024)
    raw = path.read_bytes()
    assert len(raw) < 1024**2
    tracemalloc.start()
    try:
        with pytest.raises(CorpusError, match="damaged"):
            read("liar.docx", raw)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024**2, f"{peak / 1024**2:.0f} MB held to read a 1 MB file"


@pytest.mark.parametrize("error", [KeyboardInterrupt, MemoryError])
def test_an_interrupt_or_running_out_of_memory_stops_the_build(
    mixed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: type[BaseException]
) -> None:
    def fail(name: str, raw: bytes) -> None:
        raise error

    monkeypatch.setattr("qa.readers.html.read", fail)
    with pytest.raises(error):
        fake_build(mixed, tmp_path / "index")


def test_a_pdf_locked_only_against_editing_is_read(tmp_path: Path) -> None:
    from reportlab.lib.pdfencrypt import StandardEncryption
    from reportlab.pdfgen.canvas import Canvas

    (tmp_path / "corpus").mkdir()
    path = tmp_path / "corpus" / "owner.pdf"
    canvas = Canvas(str(path), encrypt=StandardEncryption("", "owner-secret", canModify=0))
    canvas.drawString(72, 700, "Readable words under an owner password.")
    canvas.save()
    assert b"/Encrypt" in path.read_bytes()
    [doc] = read_corpus(tmp_path / "corpus")
    assert doc.text == "Readable words under an owner password.\n"


def test_a_file_whose_extension_lies_is_read_as_what_it_is(mixed: Path, tmp_path: Path) -> None:
    shutil.copy(mixed / "report.pdf", mixed / "report-copy.txt")
    (mixed / "minutes.pdf").write_text("Minutes\n\nThe board met on Tuesday.\n", encoding="utf-8")
    with pytest.warns(QAWarning):
        info = fake_build(mixed, tmp_path / "index")
    assert "report-copy.txt is a PDF file, whatever its extension says: read it as one." in (
        info.warnings
    )
    assert "minutes.pdf is a text file, whatever its extension says: read it as one." in (
        info.warnings
    )
    searcher = fake_searcher(tmp_path / "index")
    assert searcher.search("board met on Tuesday")[0].citation == "minutes.pdf › Minutes, line 3"
    passage = searcher.search("keepers served twenty years", 10)
    assert "report-copy.txt › 3 Results, page 4" in [p.citation for p in passage]


def test_a_500_page_pdf_is_indexed_with_every_page(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_long_pdf(corpus / "long.pdf", pages=500)
    info = fake_build(corpus, tmp_path / "index")
    assert info.warnings == ()
    passage = fake_searcher(tmp_path / "index").search("Page 500 line 7 keepers")[0]
    assert passage.citation.startswith("long.pdf › Chapter 50, page")
    assert passage.span is not None and passage.span.last == 500


# Markup that cost an HTML parser time quadratic in its depth, or a reader output quadratic
# in it: 50,000 nested <div> took minutes.
DEEP_MARKUP: dict[str, Callable[[int], str]] = {
    "nested divs, a paragraph in each": lambda n: "<div><p>x</p>" * n,
    "nested divs": lambda n: "<div>x" * n,
    "nested quotes": lambda n: "<blockquote>x" * n,
    "nested lists": lambda n: "<ul><li>x" * n,
    "nested tables": lambda n: "<table><tr><td>x" * n,
    "nested sections with headings": lambda n: "<section><h2>T</h2><p>x</p>" * n,
    "bold reopened in every paragraph": lambda n: (
        "<p>" + "".join(f"<b id={i}>" for i in range(n // 8)) + "</p>" + "<p>x</p>" * n
    ),
}


def reading_cost(markup: str) -> tuple[float, int]:
    """(processor seconds, the best of five; characters read) to read the page `markup`."""
    raw = f"<!DOCTYPE html><html><body>{markup}</body></html>".encode()
    seconds = []
    for _ in range(5):
        started = time.process_time()
        text = html.read("deep.html", raw).text
        seconds.append(time.process_time() - started)
    return min(seconds), len(text)


@pytest.mark.parametrize("shape", sorted(DEEP_MARKUP))
def test_twice_the_nesting_costs_twice_the_time_and_output(shape: str) -> None:
    (small_seconds, small_text), (large_seconds, large_text) = (
        reading_cost(DEEP_MARKUP[shape](n)) for n in (4000, 8000)
    )
    assert large_text < 3 * small_text, f"{shape}: {large_text / small_text:.1f}x the text"
    assert large_seconds < 3 * small_seconds + 0.01, (
        f"{shape}: {large_seconds / small_seconds:.1f}x the time for twice the nesting"
    )


@pytest.mark.parametrize("shape", sorted(DEEP_MARKUP))
def test_markup_nested_past_the_limit_keeps_every_word_at_a_bounded_depth(shape: str) -> None:
    from selectolax.lexbor import LexborHTMLParser

    markup = DEEP_MARKUP[shape](3 * MAX_DEPTH)
    node, depth = LexborHTMLParser(tidy(markup)).root, 0
    while node is not None and node.last_child is not None:
        node, depth = node.last_child, depth + 1
    assert depth <= 2 * MAX_DEPTH
    text = html.read("deep.html", markup.encode()).text
    assert text.count("x") == markup.count(">x")  # each word read once, none lost


def one_page_pdf_with_outline(entries: int) -> bytes:
    """A PDF of one page whose outline holds `entries` entries, all pointing at that page."""
    import io

    from reportlab.pdfgen.canvas import Canvas

    buffer = io.BytesIO()
    canvas = Canvas(buffer)
    canvas.drawString(72, 700, "The only line of text of the only page.")
    for number in range(entries):
        canvas.bookmarkPage(f"entry-{number}")
        canvas.addOutlineEntry(f"Entry {number}", f"entry-{number}", level=number % 3)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def test_twice_the_outline_entries_on_a_page_cost_twice_the_time() -> None:
    """Each entry was looked for among the page's lines, headings included: quadratic.

    The collector is off while timing: in a long test run its passes over everything
    alive cost more the more is allocated, and read as a quadratic step that is not ours.
    """
    costs = []
    for entries in (4000, 8000):
        raw = one_page_pdf_with_outline(entries)
        seconds = []
        for _ in range(3):
            gc.collect()
            gc.disable()
            try:
                started = time.process_time()
                text = read("outline.pdf", raw).text
                seconds.append(time.process_time() - started)
            finally:
                gc.enable()
        assert text.count("Entry ") == entries  # every entry a heading, in order
        assert text.index("Entry 0\n") < text.index(f"Entry {entries - 1}\n")
        costs.append(min(seconds))
    assert costs[1] < 3 * costs[0] + 0.01, f"{costs[1] / costs[0]:.1f}x the time"
