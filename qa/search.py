"""Question to passages: hybrid ranking over a loaded index, with citations and highlights.

For a question the Searcher gathers candidate chunks (nearest vectors from
FAISS, best BM25 chunks), fuses vector and keyword evidence (`qa.ranking`),
groups neighbouring chunks of a section into passages, marks the answer
sentences (`qa.highlight`) and gives each passage a calibrated 0..1 score.
A phrase in double quotes restricts the answers to passages containing it.

Not here: building or storing the index (see `qa.index`).
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.chunking import Section, line_gap
from qa.embedding import Embedder, load_embedder
from qa.errors import IndexCorruptError, IndexMismatchError, QueryError
from qa.highlight import Highlight, choose_highlights
from qa.index import build_index, index_status, load_index
from qa.lexical import LexicalIndex, contains_phrase, quoted_phrases, terms
from qa.ranking import Ranking, fuse, group_passages, is_confident, readable_score
from qa.settings import Settings

CANDIDATES = 100  # per retriever; both lists are fused
MAX_QUESTION_CHARS = 2000  # the model reads ~256 word pieces; more text only costs time


@dataclass(frozen=True)
class Passage:
    """One answer: source text with its citation.

    `score` runs from 0 to 1, higher is better: it is the calibrated similarity of
    question and passage, and 0.5 is the line between a credible answer and not
    (`confident`).  `highlights` are the sentences of `text` that best answer.
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
        ranking: Ranking | None = None,
    ) -> None:
        self.ranking = ranking or Ranking()
        self.settings = (settings or Settings.from_env()).with_overrides(index_dir=index_dir)
        self.index = load_index(self.settings.index_dir, self.settings)
        self.embedder = embedder or load_embedder(self.settings.model)
        self.chunks = self.index.chunks
        sections = {(s.doc, s.start_line): i for i, s in enumerate(self.index.sections)}
        self._section_of = [sections[(c.doc, c.section_start)] for c in self.chunks]
        self._section_array = np.array(self._section_of, dtype=np.int64)
        self._chunk_bm25 = LexicalIndex(
            [
                (" ".join(c.section_path) + "\n" if self.ranking.chunk_titles else "") + c.text
                for c in self.chunks
            ]
        )
        section_texts = [" ".join(s.path) for s in self.index.sections]
        for chunk, section in zip(self.chunks, self._section_of, strict=True):
            section_texts[section] += "\n" + chunk.text
        self._section_bm25 = LexicalIndex(section_texts)

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
        """The `k` best passages for `question`, best first (fewer if fewer chunks match)."""
        question = _clean_question(question)
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise QueryError(f"k must be a whole number of at least 1, not {k!r}")
        phrases = quoted_phrases(question)
        plain = question.replace('"', " ").replace("“", " ").replace("”", " ")
        query = self.embedder.encode([plain])[0]
        query_terms = terms(plain)
        chunk_bm25 = self._chunk_bm25.scores(query_terms)
        candidates = self._candidates(query, chunk_bm25, phrases, k)
        if not candidates:
            return []
        rows = np.array(candidates)
        chunk_cosine = np.asarray(self.index.embeddings[rows] @ query, dtype=np.float32)
        sentence_cosine = np.array(
            [self._best_sentence(row, query) for row in candidates], dtype=np.float32
        )
        ranking = self.ranking
        section_scores = (
            self._section_bm25.scores(query_terms)[self._section_array[rows]]
            if ranking.section_keywords
            else np.zeros(len(rows), dtype=np.float32)
        )
        fused = fuse(
            chunk_cosine,
            np.maximum(sentence_cosine, chunk_cosine),
            chunk_bm25[rows],
            section_scores,
            ranking.dense_weight,
            ranking.sentence_share,
        )
        order = [candidates[i] for i in np.argsort(-fused, kind="stable")]
        by_row = dict(zip(candidates, fused.tolist(), strict=True))
        cosine_of = dict(zip(candidates, chunk_cosine.tolist(), strict=True))
        credible = {
            row for row, cosine in cosine_of.items() if is_confident(readable_score(cosine))
        }
        groups = group_passages(
            order, by_row, self._section_of, k, diversify=ranking.group, mergeable=credible
        )
        return [self._passage(sorted(g), cosine_of, query, query_terms) for g in groups]

    def _candidates(
        self, query: np.ndarray, chunk_bm25: np.ndarray, phrases: list[str], k: int
    ) -> list[int]:
        """Rows worth ranking: every chunk with the quoted phrases, or both retrievers' best."""
        if phrases:
            return [
                row
                for row, chunk in enumerate(self.chunks)
                if all(contains_phrase(chunk.text, phrase) for phrase in phrases)
            ]
        depth = min(len(self.chunks), max(CANDIDATES, 10 * k))
        if depth == 0:
            return []
        _, nearest = self.index.vectors.search(query.reshape(1, -1), depth)
        keyword_best = np.argpartition(-chunk_bm25, depth - 1)[:depth]
        found = [int(r) for r in nearest[0] if r >= 0]
        found += sorted(
            (int(r) for r in keyword_best if chunk_bm25[r] > 0), key=lambda r: -chunk_bm25[r]
        )
        return list(dict.fromkeys(found))

    def _sentence_rows(self, row: int) -> slice:
        offsets = self.index.sentence_offsets
        return slice(int(offsets[row]), int(offsets[row + 1]))

    def _best_sentence(self, row: int, query: np.ndarray) -> float:
        vectors = self.index.sentence_vectors[self._sentence_rows(row)]
        return float((vectors @ query).max()) if len(vectors) else -1.0

    def _passage(
        self,
        rows: list[int],
        cosine_of: dict[int, float],
        query: np.ndarray,
        query_terms: list[str],
    ) -> Passage:
        first, last = self.chunks[rows[0]], self.chunks[rows[-1]]
        text, spans = "", []
        previous_end = None
        for row in rows:
            chunk = self.chunks[row]
            if previous_end is not None:
                text += line_gap(previous_end, chunk.start_line)
            spans += [(len(text) + a, len(text) + b) for a, b in chunk.sentences]
            text += chunk.text
            previous_end = chunk.end_line
        cosines = np.concatenate(
            [self.index.sentence_vectors[self._sentence_rows(row)] @ query for row in rows]
        )
        score = readable_score(max(cosine_of[row] for row in rows))
        return Passage(
            text=text,
            doc=first.doc,
            section=first.section,
            section_path=first.section_path,
            start_line=first.start_line,
            end_line=last.end_line,
            score=round(score, 4),
            confident=is_confident(score),
            highlights=choose_highlights(text, spans, cosines.tolist(), query_terms),
        )


def _clean_question(question: str) -> str:
    if not isinstance(question, str):
        raise QueryError(f"The question must be text, not {type(question).__name__}")
    printable = "".join(c if c.isprintable() else " " for c in question[: MAX_QUESTION_CHARS * 2])
    cleaned = " ".join(printable.split())[:MAX_QUESTION_CHARS]
    if not any(c.isalnum() for c in cleaned):
        raise QueryError("The question has no words: type a few words about what you want to find")
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
    """A Searcher on an up-to-date index, (re)building it first, with a notice, when needed.

    A missing, stale, mismatched or damaged index is rebuilt: the corpus is the source of truth.
    """
    try:
        status = index_status(settings.corpus_dir, settings.index_dir, settings)
        if status.fresh:
            return Searcher(settings.index_dir, settings=settings)
        reason = status.describe()
    except (IndexCorruptError, IndexMismatchError) as error:
        reason = str(error).split(": run `qa build`")[0]
    print(f"qa: {reason}; building it now…", file=sys.stderr, flush=True)
    build_index(settings.corpus_dir, settings.index_dir, settings=settings)
    return Searcher(settings.index_dir, settings=settings)
