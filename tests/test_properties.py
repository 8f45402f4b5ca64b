"""Property tests: for any text, chunking keeps every line once, with valid spans, per section."""

from __future__ import annotations

from fakes import FakeEmbedder
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.readers.corpus import Document
from qa.text.chunking import chunk_document
from qa.text.sections import is_noise

WORDS = st.sampled_from(
    [
        "Peace",
        "see",
        "also",
        "the",
        "U.N.",
        "vs.",
        "Dr.",
        "#",
        "##",
        "•",
        "-",
        "1.",
        "word",
        "Title",
        "end.",
        "why?",
        "```",
        "e.g.",
        "Partnerships",
        "colon:",
        "See also",
        "  ",
    ]
)
LINE = st.lists(WORDS, min_size=0, max_size=12).map(" ".join)
TEXT = st.lists(LINE, min_size=0, max_size=40).map("\n".join)


def normalized(text: str) -> str:
    return " ".join(text.split())


def check(doc: Document, max_tokens: int) -> None:
    count = FakeEmbedder().count_tokens
    sections, chunks = chunk_document(doc, count, max_tokens=max_tokens, min_tokens=5)
    lines = doc.text.split("\n")
    headings = {s.start_line for s in sections if s.start_line != 1 or s.title != "doc"}
    for chunk in chunks:
        assert 1 <= chunk.start_line <= chunk.end_line <= len(lines)
        [section] = [s for s in sections if s.start_line == chunk.section_start]
        assert section.start_line <= chunk.start_line <= chunk.end_line <= section.end_line
        assert chunk.text.strip()
        for a, b in chunk.sentences:
            assert 0 <= a < b <= len(chunk.text)
    for number, line in enumerate(lines, start=1):
        if not line.strip() or is_noise(line) or number in headings:
            continue
        covering = [c for c in chunks if c.start_line <= number <= c.end_line]
        # A line longer than the budget is cut, so its pieces may lie in neighbouring chunks,
        # and a cut inside a run without spaces leaves no space between them: compare the
        # characters other than spaces, which must all be there, in order.
        solid = "".join(line.split())
        assert solid in "".join("".join(c.text for c in covering).split()), number
    joined = normalized(" ".join(c.text for c in chunks))
    kept = normalized(
        " ".join(
            line
            for n, line in enumerate(lines, start=1)
            if line.strip() and not is_noise(line) and n not in headings
        )
    )
    # Every kept line once, in order, nothing added (spaces aside: see the cut above).
    assert joined.replace(" ", "") == kept.replace(" ", "")


@settings(max_examples=150, deadline=None)
@given(TEXT, st.sampled_from([".txt", ".md"]), st.sampled_from([16, 40, 256]))
def test_chunking_keeps_every_line_once(text: str, suffix: str, max_tokens: int) -> None:
    check(Document(f"doc{suffix}", text, "0"), max_tokens)


@settings(max_examples=80, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400))
def test_chunking_survives_any_unicode(text: str) -> None:
    text = text.replace("\r", "\n")
    check(Document("doc.txt", text, "0"), 40)
