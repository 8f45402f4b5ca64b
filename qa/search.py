"""Question to passages: rank the chunks of a loaded index and cite where each came from.

Not here: building or storing the index (see `qa.index`).
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from qa.chunking import Section
from qa.embedding import Embedder, load_embedder
from qa.errors import QueryError
from qa.index import build_index, index_status, load_index
from qa.settings import Settings


@dataclass(frozen=True)
class Highlight:
    """A sentence of a passage that answers the question: `passage.text[start:end] == text`."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Passage:
    """One answer: source text with its citation.

    `score` runs from 0 to 1, higher is better; `confident` is true when the
    passage is a credible answer to the question.
    """

    text: str
    doc: str
    section: str
    section_path: tuple[str, ...]
    start_line: int
    end_line: int
    score: float
    confident: bool
    highlights: tuple[Highlight, ...]

    @property
    def citation(self) -> str:
        """`peacekeeping-partnerships.txt › Protection of Civilians, lines 55–57`."""
        lines = (
            f"line {self.start_line}"
            if self.start_line == self.end_line
            else f"lines {self.start_line}–{self.end_line}"
        )
        return f"{self.doc} › {' › '.join(self.section_path)}, {lines}"

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON-ready values, the citation included."""
        data = asdict(self)
        data["section_path"] = list(self.section_path)
        data["highlights"] = [asdict(h) for h in self.highlights]
        data["citation"] = self.citation
        return data


class Searcher:
    """A loaded index, ready to answer questions; safe to share between threads."""

    def __init__(
        self,
        index_dir: Path | str = "index",
        *,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.settings = (settings or Settings.from_env()).with_overrides(index_dir=index_dir)
        self.index = load_index(self.settings.index_dir, self.settings)
        self.embedder = embedder or load_embedder(self.settings.model)
        self.chunks = self.index.chunks

    def section_for(self, passage: Passage) -> Section:
        """The whole section a passage comes from, with its source text, for reading in context."""
        for section in self.index.sections:
            if (
                section.doc == passage.doc
                and section.start_line <= passage.start_line <= section.end_line
            ):
                return section
        raise QueryError(f"No section of this index holds {passage.citation}: search again")

    def search(self, question: str, k: int = 5) -> list[Passage]:
        """The `k` best passages for `question`, best first."""
        question = _clean_question(question)
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise QueryError(f"k must be a whole number of at least 1, not {k!r}")
        if not self.chunks:
            return []
        k = min(k, len(self.chunks))
        query = self.embedder.encode([question])
        scores, rows = self.index.vectors.search(query, k)
        passages = []
        for score, row in zip(scores[0], rows[0], strict=True):
            if row < 0:
                continue
            chunk = self.chunks[row]
            text = chunk.text
            passages.append(
                Passage(
                    text=text,
                    doc=chunk.doc,
                    section=chunk.section,
                    section_path=chunk.section_path,
                    start_line=chunk.start_line,
                    end_line=chunk.end_line,
                    score=max(0.0, min(1.0, float(score))),
                    confident=True,
                    highlights=(Highlight(0, len(text), text),),
                )
            )
        return passages


def _clean_question(question: str) -> str:
    if not isinstance(question, str):
        raise QueryError(f"The question must be text, not {type(question).__name__}")
    cleaned = " ".join("".join(c if c.isprintable() else " " for c in question).split())
    if not cleaned:
        raise QueryError("The question is empty: type a few words about what you want to find")
    return cleaned


def search(
    question: str,
    k: int = 5,
    *,
    corpus_dir: Path | str | None = None,
    index_dir: Path | str | None = None,
) -> list[Passage]:
    """Answer `question` from corpus/ and index/, building or refreshing the index first if needed.

    A rebuild prints one line on stderr saying why.
    """
    settings = Settings.from_env().with_overrides(corpus_dir=corpus_dir, index_dir=index_dir)
    return ensure_searcher(settings).search(question, k)


def ensure_searcher(settings: Settings) -> Searcher:
    """A Searcher on an up-to-date index, rebuilding it first (with a notice) when needed."""
    status = index_status(settings.corpus_dir, settings.index_dir, settings)
    if not status.fresh:
        print(f"qa: {status.describe()}; building it now…", file=sys.stderr, flush=True)
        build_index(settings.corpus_dir, settings.index_dir, settings=settings)
    return Searcher(settings.index_dir, settings=settings)
