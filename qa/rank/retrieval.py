"""Question to candidate chunks and their evidence, over one loaded index.

A `Retriever` gathers the chunks worth ranking for a question (the nearest vectors
from FAISS and the best BM25 chunks, or every chunk holding a quoted phrase) and what
is known of each (`qa.rank.ranking.Evidence`): cosines of the chunk, its best sentence and
its section path, keyword scores of the chunk and of its section, how much of the
question the chunk and its window (the chunk with its neighbours in its section) hold,
how close the closest text stays once its document's mean direction is taken away; and,
when the index keeps token vectors, the late-interaction score (`qa.rank.late`), for the
candidates the rest of the evidence ranks best (`with_late_interaction`).

Not here: ranking that evidence or turning it into passages (see `qa.rank.ranking`,
`qa.rank.search`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from qa.errors import ModelError, QueryError
from qa.index.candidates import Asked
from qa.index.milvus import candidate_source
from qa.index.store import LoadedIndex
from qa.model.embedding import Embedder, TokenEmbedder, encode_queries, local_folder
from qa.rank.answer_kind import asked_kind, holds_kind
from qa.rank.confidence import centred_cosine
from qa.rank.lexical import (
    LexicalIndex,
    contains_phrase,
    content_terms,
    named_words,
    quoted_phrases,
    terms,
)
from qa.rank.pieces import Ids, PieceCoverage
from qa.rank.ranking import Array, Evidence
from qa.rank.topics import document_topics, section_means, topic_dots
from qa.text.language import DOCUMENT_CHUNKS, ENGLISH, document_language, language_of

CANDIDATES = 100  # per retriever; both lists are fused
# Sections a document needs for its first to be its lead (an abstract, an introduction): in
# a shorter one the first section is as likely the matter itself.  The families of `make fit`
# have one section a document (SQuAD) or six and more (the essay, Qasper): any value from 2
# to 6 gives them the same features.
LEAD_SECTIONS = 4


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


class Retriever:
    """The candidates of one loaded index for a question, and their evidence; safe to share
    between threads (its caches only ever gain entries that are the same for every thread)."""

    def __init__(self, index: LoadedIndex, embedder: Embedder) -> None:
        self.index, self.embedder, self.chunks = index, embedder, index.chunks
        # Plain arrays over the memory-mapped files: indexing a np.memmap costs ~0.2 ms a call.
        self.embeddings = np.asarray(index.embeddings)
        self.sentence_vectors = np.asarray(index.sentence_vectors)
        self._title_vectors = np.asarray(index.title_vectors)
        self._tokens = index.tokens
        self._source = candidate_source(index, self.embeddings)  # FAISS+BM25, or Milvus
        self._piece_coverage = PieceCoverage.of_model(_model_folder(index.manifest.model))
        self._chunk_pieces: dict[int, Ids] = {}  # chunk row: its word pieces, as needed
        sections = {(s.doc, s.start_line): i for i, s in enumerate(index.sections)}
        self.section_of = [sections[(c.doc, c.section_start)] for c in self.chunks]
        self._section_array = np.array(self.section_of, dtype=np.int64)
        doc_rows: dict[str, list[int]] = {}
        for row, chunk in enumerate(self.chunks):
            doc_rows.setdefault(chunk.doc, []).append(row)
        self._doc_rows = {doc: np.array(rows, dtype=np.int64) for doc, rows in doc_rows.items()}
        # A document's lead section is the section of its first chunk (the first with text),
        # in a document long enough for one to sum up the others (`LEAD_SECTIONS`).
        firsts = [
            rows[0]
            for rows in doc_rows.values()
            if len(set(self._section_array[rows].tolist())) >= LEAD_SECTIONS
        ]
        lead_sections = self._section_array[firsts] if firsts else np.zeros(0, dtype=np.int64)
        self._lead = np.isin(self._section_array, lead_sections).astype(np.float32)
        self._section_vectors = section_means(
            self.embeddings, self._section_array, len(index.sections)
        )
        # Each document's language (`qa.text.language`), told by its first chunks.
        self.language_of_doc = {
            doc: document_language([self.chunks[row].text for row in rows[:DOCUMENT_CHUNKS]])
            for doc, rows in doc_rows.items()
        }
        self.row_language = [self.language_of_doc[c.doc] for c in self.chunks]
        self._chunk_bm25 = LexicalIndex([c.text for c in self.chunks], self.row_language)
        section_texts = [" ".join(s.path) for s in index.sections]
        for chunk, section in zip(self.chunks, self.section_of, strict=True):
            section_texts[section] += "\n" + chunk.text
        section_languages = [self.language_of_doc.get(s.doc, ENGLISH) for s in index.sections]
        self._section_bm25 = LexicalIndex(section_texts, section_languages)
        # Whether each chunk is followed by one of its own section (the last one is not).
        self._follows = np.r_[self._section_array[1:] == self._section_array[:-1], False]
        self._topic_of, self._topics = document_topics(self.chunks, self.embeddings)
        # What a question does not change, worked out once: each text's dot with its topic.
        self._topic_norms = np.einsum("ij,ij->i", self._topics, self._topics)
        self._chunk_topic = topic_dots(self.embeddings, self._topics, self._topic_of)
        owner = np.repeat(np.arange(len(self.chunks)), np.diff(index.sentence_offsets))
        self._sentence_topic = topic_dots(
            self.sentence_vectors, self._topics, self._topic_of[owner]
        )

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

    def window_coverage(self, query_terms: Sequence[str], rows: np.ndarray) -> Array:
        """How much of the question each chunk of `rows` and its neighbours in its section
        contain together (rarity-weighted, as `LexicalIndex.coverage`; 1.0 is all of it).

        Evidence for a passage is local: a section's coverage grows with its length, so a
        long section holds the words of almost any question on its topic, scattered over
        chunks that each answer something else.
        """
        covered = np.zeros(len(rows), dtype=np.float32)
        found = self._chunk_bm25.postings(query_terms)
        total = sum(weight for weight, _ in found)
        if not total:
            return covered
        # The last entry of `_follows` and of `has` is False: no neighbour past either end.
        left, right = self._follows[rows - 1], self._follows[rows]
        has = np.zeros(len(self.chunks) + 1, dtype=bool)
        for weight, having in found:
            has[having] = True
            covered += weight * (has[rows] | (left & has[rows - 1]) | (right & has[rows + 1]))
            has[having] = False
        return np.round(covered / total, 4).astype(np.float32)

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

    def sentence_rows(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The sentence rows of chunks `rows`, in order, and how many each chunk has."""
        offsets = self.index.sentence_offsets
        starts, lengths = offsets[rows], offsets[rows + 1] - offsets[rows]
        # One arange for all: each chunk's rows are its start plus 0..length-1.
        within = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        return np.repeat(starts, lengths) + within, lengths

    def closeness(self, rows: np.ndarray, query: np.ndarray) -> tuple[Array, Array, Array]:
        """Per chunk of `rows`: its cosine with the question, its best sentence's (-1 for a
        chunk without sentences) and the best `centred_cosine` of the two."""
        picks, lengths = self.sentence_rows(rows)
        owner = np.repeat(np.arange(len(rows)), lengths)
        chunk_cosine = np.asarray(self.embeddings[rows] @ query, dtype=np.float32)
        sentence_cosine = np.asarray(self.sentence_vectors[picks] @ query, dtype=np.float32)
        topic = self._topic_of[rows]
        # Only the candidates' topics: a product with every topic (thousands of documents)
        # wakes BLAS's threads, which then compete with the model's for the two cores.
        query_topic = self._topics[topic] @ query
        topic_norm = self._topic_norms[topic]
        specific = centred_cosine(chunk_cosine, self._chunk_topic[rows], query_topic, topic_norm)
        best = np.full(len(rows), -1.0, dtype=np.float32)
        has = lengths > 0
        if has.any():
            specific_sentences = centred_cosine(
                sentence_cosine,
                self._sentence_topic[picks],
                query_topic[owner],
                topic_norm[owner],
            )
            first = np.cumsum(lengths)[has] - lengths[has]
            best[has] = np.maximum.reduceat(sentence_cosine, first)
            specific[has] = np.maximum(
                specific[has], np.maximum.reduceat(specific_sentences, first)
            )
        return chunk_cosine, best, specific

    def topic(self, row: int) -> Array:
        """The mean vector that chunk `row`'s `centred_cosine` is taken against."""
        topic: Array = self._topics[self._topic_of[row]]
        return topic

    @property
    def document_names(self) -> list[str]:
        """The documents of the index, as `candidates(documents=...)` takes them."""
        return list(self._doc_rows)

    def rows_of(self, documents: Sequence[str]) -> np.ndarray:
        """The chunk rows of `documents`, in order; QueryError naming the known ones when a
        name is not a document of the index ("report" finds "report.pdf" when only one
        document has that stem)."""
        rows = []
        for name in dict.fromkeys(documents):
            found = self._doc_rows.get(name)
            if found is None:
                stems = [doc for doc in self._doc_rows if Path(doc).stem == name]
                found = self._doc_rows[stems[0]] if len(stems) == 1 else None
            if found is None:
                known = ", ".join(list(self._doc_rows)[:10]) or "none"
                more = " …" if len(self._doc_rows) > 10 else ""
                raise QueryError(f"No document {name!r} in this index: name one of {known}{more}")
            rows.append(found)
        # np.unique: "report" and "report.pdf" may name the same document
        return np.unique(np.concatenate(rows)) if rows else np.zeros(0, dtype=np.int64)

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
