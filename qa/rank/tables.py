"""What one loaded index tells of its chunks, worked out once, and the evidence read from it.

`IndexTables` holds per chunk what no question changes: its section, document and
language, whether its document's lead section holds it, the chunk and section BM25
indexes, each section's mean vector, each document's topic and every text's dot with it.
From those alone come the evidence of candidate rows for a question's vector and terms:
`closeness` (cosines of the chunk, its best sentence, and the best `centred_cosine`),
`window_coverage` (how much of the question a chunk and its neighbours hold),
`sentence_rows`; and `rows_of` (the chunks of some documents).

Not here: choosing the candidates, encoding the question, word pieces, late interaction
(see `qa.rank.retrieval.Retriever`, which is made of these tables), ranking (see
`qa.rank.ranking`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from qa.errors import QueryError
from qa.index.store import LoadedIndex
from qa.rank.confidence import centred_cosine
from qa.rank.lexical import LexicalIndex
from qa.rank.ranking import Array
from qa.rank.topics import document_topics, section_means, topic_dots
from qa.text.language import DOCUMENT_CHUNKS, ENGLISH, document_language

# Sections a document needs for its first to be its lead (an abstract, an introduction): in
# a shorter one the first section is as likely the matter itself.  The families of `make fit`
# have one section a document (SQuAD) or six and more (the essay, Qasper): any value from 2
# to 6 gives them the same features.
LEAD_SECTIONS = 4


class IndexTables:
    """The per-chunk tables of one loaded index and the evidence computed from them; read
    only once made, so safe to share between threads."""

    def __init__(self, index: LoadedIndex) -> None:
        self.index, self.chunks = index, index.chunks
        # Plain arrays over the memory-mapped files: indexing a np.memmap costs ~0.2 ms a call.
        self.embeddings = np.asarray(index.embeddings)
        self.sentence_vectors = np.asarray(index.sentence_vectors)
        self._title_vectors = np.asarray(index.title_vectors)
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
        """The documents of the index, as `Retriever.candidates(documents=...)` takes them."""
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
