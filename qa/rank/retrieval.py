"""Question to candidate chunks and their evidence, over one loaded index.

A `Retriever` gathers the chunks worth ranking for a question (the nearest vectors
from FAISS and the best BM25 chunks, or every chunk holding a quoted phrase) and what
is known of each (`qa.rank.ranking.Evidence`): cosines of the chunk, its best sentence and
its section path, keyword scores of the chunk and of its section, how much of the
question the chunk and its window (the chunk with its neighbours in its section) hold,
how close the closest text stays once its document's mean direction is taken away; and,
when the index keeps token vectors, the late-interaction score (`qa.rank.late`), for the
candidates the rest of the evidence ranks best (`with_late_interaction`).  The answer
score's own evidence is here too, worked out for the candidates that need it: word-piece
coverage (`piece_coverage`) and the kind of answer asked for (`kind_missing`).

Not here: the per-chunk tables of the index and the evidence read from them alone
(`closeness`, `window_coverage`, `sentence_rows`: see `qa.rank.tables`, which a
`Retriever` is made of), ranking that evidence or turning it into passages (see
`qa.rank.ranking`, `qa.rank.search`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from qa.errors import ModelError
from qa.index.candidates import Asked
from qa.index.milvus import candidate_source
from qa.index.store import LoadedIndex
from qa.model.embedding import Embedder, TokenEmbedder, encode_queries, local_folder
from qa.rank.answer_kind import asked_kind, holds_kind
from qa.rank.lexical import contains_phrase, content_terms, named_words, quoted_phrases, terms
from qa.rank.pieces import Ids, PieceCoverage
from qa.rank.ranking import Array, Evidence
from qa.rank.tables import IndexTables
from qa.text.language import language_of

CANDIDATES = 100  # per retriever; both lists are fused


@dataclass(frozen=True)
class Candidates:
    """The chunks a question is ranked over, their evidence, the question's vector and terms."""

    rows: list[int]
    evidence: Evidence
    query: np.ndarray
    query_terms: list[str]
    query_pieces: Ids  # the word pieces of its content words (`qa.rank.pieces`)
    # The question's token vectors, for late interaction (None when the index has none).
    asked: Array | None = None


class Retriever(IndexTables):
    """The candidates of one loaded index for a question, and their evidence; safe to share
    between threads (its caches only ever gain entries that are the same for every thread)."""

    def __init__(self, index: LoadedIndex, embedder: Embedder) -> None:
        super().__init__(index)
        self.embedder = embedder
        self._tokens = index.tokens
        self._source = candidate_source(index, self.embeddings)  # FAISS+BM25, or Milvus
        self._piece_coverage = PieceCoverage.of_model(_model_folder(index.manifest.model))
        self._chunk_pieces: dict[int, Ids] = {}  # chunk row: its word pieces, as needed

    def candidates(
        self, question: str, k: int = 10, documents: Sequence[str] | None = None
    ) -> Candidates | None:
        """The chunks worth ranking for a cleaned `question`, with their evidence; None when
        no chunk qualifies.  With `documents` (names as `document_names` gives them), only
        their chunks: the best of those documents, not a global best filtered.  (Also what
        `benchmarks/fit.py` fits the weights on.)"""
        phrases = quoted_phrases(question)
        plain = question.replace('"', " ").replace("“", " ").replace("”", " ")
        query, asked = self._encode(plain)
        language = language_of(plain)
        query_terms = terms(plain, language)
        chunk_bm25 = self._chunk_bm25.scores(query_terms)
        within = None if documents is None else self.rows_of(documents)
        request = Asked(plain, query, chunk_bm25)
        candidates = self._candidates(request, phrases, k, within)
        if not candidates:
            return None
        rows = np.array(candidates)
        sections = self._section_array[rows]
        chunk_cosine, sentence_cosine, specific_cosine = self.closeness(rows, query)
        evidence = Evidence(
            chunk_cosine=chunk_cosine,
            sentence_cosine=sentence_cosine,
            chunk_bm25=chunk_bm25[rows],
            section_bm25=self._section_bm25.scores(query_terms)[sections],
            chunk_coverage=self._chunk_bm25.coverage(query_terms)[rows],
            window_coverage=self.window_coverage(query_terms, rows),
            title_cosine=np.asarray(self._title_vectors[sections] @ query, dtype=np.float32),
            section_cosine=np.asarray(self._section_vectors[sections] @ query, dtype=np.float32),
            specific_cosine=specific_cosine,
            content_coverage=self._chunk_bm25.coverage(content_terms(plain, language))[rows],
            lead=self._lead[rows],
        )
        pieces = self._piece_coverage.question_pieces(plain, language)
        return Candidates(candidates, evidence, query, query_terms, pieces, asked)

    def with_late_interaction(self, found: Candidates, positions: np.ndarray) -> Candidates:
        """`found` with the late-interaction evidence (`qa.rank.late`) of the candidates at
        `positions` of `found.rows`; every other candidate takes the least of theirs (it
        ranked below them before; a guess that keeps it there unless the rest of its
        evidence lifts it).  As it was when the index keeps no token vectors."""
        if found.asked is None or self._tokens is None or not len(positions):
            return found
        rows = np.asarray(found.rows, dtype=np.int64)[positions]
        mean, least = self._tokens.matches(found.asked, rows)
        late = np.full(len(found.rows), mean.min(), dtype=np.float32)
        weakest = np.full(len(found.rows), least.min(), dtype=np.float32)
        late[positions], weakest[positions] = mean, least
        evidence = replace(found.evidence, late_interaction=late, weakest_match=weakest)
        return replace(found, evidence=evidence)

    def _encode(self, question: str) -> tuple[np.ndarray, Array | None]:
        """The question's vector and, when the index has token vectors, its own (one run)."""
        if self._tokens is None or not isinstance(self.embedder, TokenEmbedder):
            return np.asarray(encode_queries(self.embedder, [question])[0], dtype=np.float32), None
        vectors, tokens = self.embedder.encode_tokens([question], words_only=True)
        return np.asarray(vectors[0], dtype=np.float32), tokens[0]

    def piece_coverage(self, found: Candidates, positions: Sequence[int]) -> Array:
        """The word-piece coverage of the question (`qa.rank.pieces`) by the candidates at
        `positions` of `found.rows`."""
        rows = [found.rows[i] for i in positions]
        return self._piece_coverage.covered(found.query_pieces, self._pieces_of(rows))

    def kind_missing(self, question: str, found: Candidates, positions: Sequence[int]) -> Array:
        """1.0 for each candidate at `positions` of `found.rows` that lacks the kind of answer
        `question` asks for (a name, a number: `qa.rank.answer_kind`), else 0.0."""
        kind = asked_kind(question)
        missing = np.zeros(len(positions), dtype=np.float32)
        if kind is not None:
            for i, at in enumerate(positions):
                text = self.chunks[found.rows[at]].text
                missing[i] = 0.0 if holds_kind(text, kind, question) else 1.0
        return missing

    def unmentioned(self, question: str) -> tuple[str, ...]:
        """The question's names and numbers (`named_words`) that no document mentions."""
        language = language_of(question)
        return tuple(
            word
            for word in named_words(question, language)
            if self._section_bm25.unknown(terms(word, language))
        )

    def _candidates(
        self,
        asked: Asked,
        phrases: list[str],
        k: int,
        within: np.ndarray | None = None,
    ) -> list[int]:
        """Rows worth ranking: every chunk with the quoted phrases, or both retrievers'
        best, from the build's candidate source (`qa.index.candidates`); only rows `within`,
        when given."""
        allowed = np.arange(len(self.chunks)) if within is None else within
        if phrases:
            return [
                int(row)
                for row in allowed
                if all(contains_phrase(self.chunks[row].text, phrase) for phrase in phrases)
            ]
        depth = min(len(allowed), max(CANDIDATES, 10 * k))
        if depth == 0:
            return []
        return self._source.rows(asked, depth, within)

    def _pieces_of(self, rows: list[int]) -> list[Ids]:
        """The word pieces of each chunk, worked out once per chunk of the index."""
        cache = self._chunk_pieces
        missing = [row for row in rows if row not in cache]
        if missing:
            texts = [self.chunks[row].text for row in missing]
            languages = [self.row_language[row] for row in missing]
            found = self._piece_coverage.text_pieces(texts, languages)
            cache.update(zip(missing, found, strict=True))
        return [cache[row] for row in rows]


def _model_folder(name: str) -> Path | None:
    """The local folder of model `name`, None for one that has none (a test's fake)."""
    try:
        return local_folder(name)
    except ModelError:
        return None
