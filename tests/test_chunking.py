"""Sections and chunks (`qa/text/sections.py`, `qa/text/chunking.py`): known answers on the seed
document and a Markdown fixture."""

from __future__ import annotations

import json
import re
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
from fakes import DATA, SEED, FakeEmbedder

from qa.readers.corpus import Document, read_corpus
from qa.text.chunking import CHARS_PER_TOKEN, Chunk, chunk_document
from qa.text.sections import is_noise, noise_lines, split_sections


def seed_document() -> Document:
    return read_corpus(SEED.parent)[0]


def normalized(text: str) -> str:
    return " ".join(text.split())


def test_seed_sections_match_the_golden_file() -> None:
    golden = json.loads((DATA / "peacekeeping_sections.json").read_text(encoding="utf-8"))
    sections = [section for section, _ in split_sections(seed_document())]
    assert len(sections) == 18
    found = [
        {"title": s.title, "start_line": s.start_line, "end_line": s.end_line} for s in sections
    ]
    assert found == golden


def test_markdown_headings_give_nested_section_paths() -> None:
    golden = json.loads((DATA / "nested_sections.json").read_text(encoding="utf-8"))
    doc = read_corpus(DATA / "nested")[0]
    found = [
        {"path": list(s.path), "start_line": s.start_line, "end_line": s.end_line}
        for s, _ in split_sections(doc)
    ]
    assert found == golden


def test_no_text_is_lost_and_none_is_repeated() -> None:
    doc = seed_document()
    sections, chunks = chunk_document(doc, FakeEmbedder().count_tokens)
    headings = {s.start_line for s in sections}
    lines = doc.text.split("\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip() or is_noise(line) or number in headings:
            continue
        holders = [
            c
            for c in chunks
            if c.start_line <= number <= c.end_line and normalized(line) in normalized(c.text)
        ]
        assert len(holders) == 1, f"line {number} is in {len(holders)} chunks: {line[:50]!r}"


def cited_text(doc: Document, chunk: Chunk) -> str:
    lines = doc.text.split("\n")[chunk.start_line - 1 : chunk.end_line]
    return normalized(" ".join(line for line in lines if not is_noise(line)))


def test_every_citation_is_truthful() -> None:
    doc = seed_document()
    _, chunks = chunk_document(doc, FakeEmbedder().count_tokens)
    for chunk in chunks:
        assert normalized(chunk.text) in cited_text(doc, chunk), chunk.start_line
        assert chunk.text.strip()


def test_noise_lines_are_in_no_chunk() -> None:
    _, chunks = chunk_document(seed_document(), FakeEmbedder().count_tokens)
    assert not any("See also" in chunk.text for chunk in chunks)
    assert is_noise("See also  Exploring Peacekeeping and Military Diplomacy")


def test_lists_stay_inside_their_sections() -> None:
    _, chunks = chunk_document(seed_document(), FakeEmbedder().count_tokens)
    [organisations] = [c for c in chunks if "North Atlantic Treaty Organization" in c.text]
    assert organisations.section == "Types of Organizations Involved in Peacekeeping Partnerships"
    assert "Key organizations involved in these partnerships include:" in organisations.text
    [bullets] = [c for c in chunks if "Re-establishing infrastructure" in c.text]
    assert bullets.section == "Post-Conflict Reconstruction"
    assert "Key actions within this framework typically include:" in bullets.text


def test_long_sections_are_split_within_the_model_budget(real_embedder: FakeEmbedder) -> None:
    sentence = "Peacekeepers repaired {n} bridges and {n} schools in the northern districts. "
    paragraph = "".join(sentence.format(n=i) for i in range(40))
    text = "Repairs\n\n" + "\n\n".join([paragraph] * 3) + "\n"
    doc = Document("long.txt", text, "0")
    count = real_embedder.count_tokens
    _, chunks = chunk_document(doc, count, max_tokens=256)
    assert len(chunks) > 3
    for chunk in chunks:
        assert chunk.section == "Repairs"
        assert count(chunk.embed_text) + 2 <= 256  # [CLS] and [SEP] count too
        assert chunk.embed_text.startswith("Repairs\n")
        assert re.match(r"Peacekeepers repaired \d+", chunk.text)
    assert normalized(" ".join(c.text for c in chunks)) == normalized(" ".join([paragraph] * 3))


def test_a_sentence_longer_than_the_model_reads_is_split_at_words() -> None:
    doc = Document("one.txt", "Title\n\n" + " ".join(["word"] * 700) + "\n", "0")
    _, chunks = chunk_document(doc, FakeEmbedder().count_tokens, max_tokens=256)
    assert sum(c.text.count("word") for c in chunks) == 700
    assert all(FakeEmbedder().count_tokens(c.embed_text) <= 254 for c in chunks)


def test_text_before_the_first_heading_is_named_after_the_file(tmp_path: Path) -> None:
    doc = Document("notes/plain.txt", "just a paragraph of text, with no heading at all.\n", "0")
    sections, chunks = chunk_document(doc, FakeEmbedder().count_tokens)
    assert [s.title for s in sections] == ["plain"]
    assert chunks[0].section_path == ("plain",)


def test_heading_rules_for_plain_text() -> None:
    text = (
        "My Title\n\nA line that ends with a colon:\n\n  • A bullet item\n\n"
        "1. Numbered item\n\nReal Heading\n\nBody sentence here.\n"
    )
    sections = [s.title for s, _ in split_sections(Document("t.txt", text, "0"))]
    assert sections == ["My Title", "Real Heading"]


def test_every_chunk_is_bounded_in_characters_whatever_the_text() -> None:
    """Scraped text without line breaks, a 100 KB "word" and a run of dots: no chunk is huge."""
    prose = SEED.read_text(encoding="utf-8").replace("\n", " ")
    line = " ".join([prose, "x" * 100_000, "." * 50_000, "y" * 70_000 + ".", prose])
    doc = Document("scraped.txt", f"Scraped Page\n\n{line}\n", "0")
    count = FakeEmbedder().count_tokens
    _, chunks = chunk_document(doc, count, max_tokens=256)
    assert max(len(c.text) for c in chunks) <= 254 * CHARS_PER_TOKEN
    assert all(count(c.embed_text) <= 254 for c in chunks)
    assert "".join("".join(c.text.split()) for c in chunks) == "".join(line.split())


def test_lines_without_end_punctuation_are_text_not_headings() -> None:
    notes = "Notes\n\nCall Alice about the Zanzibar contract\n\nBuy milk\n"
    _, chunks = chunk_document(Document("todo.txt", notes, "0"), FakeEmbedder().count_tokens)
    assert "Zanzibar" in " ".join(c.text for c in chunks)
    assert normalized(" ".join(c.text for c in chunks)) == normalized(notes)
    lone = Document("contract.md", "# Zanzibar contract\n\n## Terms\n", "0")
    _, chunks = chunk_document(lone, FakeEmbedder().count_tokens)
    assert [c.text for c in chunks] == ["# Zanzibar contract\n\n## Terms"]


def test_a_heading_needs_body_text_under_it() -> None:
    text = "Title\n\nSubtitle\n\nThe body of the subtitle.\n"
    sections = [s for s, _ in split_sections(Document("t.txt", text, "0"))]
    assert [s.title for s in sections] == ["t", "Subtitle"]
    assert sections[0].text == "Title"  # kept as text of the lead section, not lost


def test_only_see_also_link_lines_are_left_out_and_they_are_listed() -> None:
    text = (
        "Badges\n\nClick here to report a lost badge at extension 4242.\n\n"
        "Share this page with new staff.\nRead more: the badge policy.\nRelated: parking.\n\n"
        "See also  Parking Permits\nSee also the appendix for the fee table.\n"
    )
    _, chunks = chunk_document(Document("badges.txt", text, "0"), FakeEmbedder().count_tokens)
    kept = " ".join(c.text for c in chunks)
    for phrase in ("Click here", "4242", "Share this", "Read more", "Related:", "fee table"):
        assert phrase in kept
    assert "Parking Permits" not in kept
    assert noise_lines(text) == [9]


# Shapes of text that once cost more than linear time or memory: 20,000 empty Markdown
# headings held 2.1 GB, as each heading's lines were copied into the one before it.
HOSTILE_SHAPES: dict[str, tuple[str, Callable[[int], str]]] = {
    "empty headings": ("a.md", lambda n: "# Heading\n" * n),
    "nested empty headings": (
        "a.md",
        lambda n: "".join(f"{'#' * (i % 6 + 1)} H{i}\n" for i in range(n)),
    ),
    "headings nesting ever deeper, then text": (
        "a.md",
        lambda n: "".join(f"{'#' * (6 - i % 6)} H{i}\n" for i in range(n)) + "Text.\n",
    ),
    "tiny sections": ("a.md", lambda n: "".join(f"# H{i}\nx\n" for i in range(n))),
    "a heading per line": ("a.txt", lambda n: "".join(f"Heading {i}\n\n" for i in range(n))),
    "plain headings with a line of body": (
        "a.txt",
        lambda n: "".join(f"Heading {i}\n\nBody {i}.\n\n" for i in range(n)),
    ),
}


def chunking_cost(path: str, text: str) -> tuple[int, int, int]:
    """(peak bytes allocated, characters given to the tokenizer, characters of sections and
    chunks produced) when `text` is cut into sections and chunks."""
    fake, counted = FakeEmbedder(), [0]

    def count(piece: str) -> int:
        counted[0] += len(piece)
        return fake.count_tokens(piece)

    tracemalloc.start()
    try:
        sections, chunks = chunk_document(Document(path, text, "0"), count)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    produced = sum(len(s.text) for s in sections) + sum(len(c.embed_text) for c in chunks)
    return peak, counted[0], produced


@pytest.mark.parametrize("shape", sorted(HOSTILE_SHAPES))
def test_twice_the_headings_cost_twice_the_memory_and_work(shape: str) -> None:
    path, make = HOSTILE_SHAPES[shape]
    small, large = chunking_cost(path, make(2000)), chunking_cost(path, make(4000))
    for what, at_n, at_2n in zip(
        ("peak memory", "tokenizer work", "output"), small, large, strict=True
    ):
        assert at_2n < 3 * at_n, f"{shape}: {what} grows {at_2n / at_n:.1f}x for twice the input"
