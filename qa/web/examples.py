"""The example questions the page offers: from a file in the corpus, else from its headings.

A file named `.qa-examples` in the corpus folder (one question per line, `#`
starts a comment) gives the questions; without it, the examples are section
headings of the index that answers, taken from each document in turn, so they
are never about a document that is not there.

    >>> from qa.text.sections import Section
    >>> title = Section("a.md", "A", ("A",), 1, 9, "")
    >>> from_headings([title, Section("a.md", "Soil", ("A", "Soil"), 3, 9, "")])
    ['Soil']

Not here: the buttons (see `qa.web.app`).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain, zip_longest
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qa.text.sections import Section

EXAMPLES_FILE = ".qa-examples"
COUNT = 5


def example_questions(corpus_dir: Path, sections: Sequence[Section]) -> list[str]:
    """Up to five questions: the corpus's `.qa-examples` file, else its headings."""
    try:
        lines = (corpus_dir / EXAMPLES_FILE).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        lines = []
    listed = [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
    return listed[:COUNT] if listed else from_headings(sections)


def from_headings(sections: Sequence[Section]) -> list[str]:
    """Headings below the documents' titles, one document at a time, without repeats."""
    by_doc: dict[str, list[str]] = {}
    for section in sections:
        title = " ".join(section.title.split())
        if len(section.path) > 1 and 3 <= len(title) <= 50:
            by_doc.setdefault(section.doc, []).append(title)
    if not by_doc:  # documents without subheadings: their titles
        for section in sections:
            by_doc.setdefault(section.doc, []).append(" ".join(section.title.split()))
    turns = chain.from_iterable(zip_longest(*by_doc.values()))
    unique = dict.fromkeys(title for title in turns if title)
    return list(unique)[:COUNT]
