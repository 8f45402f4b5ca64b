"""A question's chosen chunks made into passages, and the answer scores they carry.

`Answers` works out the answer score (`qa.rank.confidence.answer_scores`) of each
candidate chunk when first needed: the word-piece coverage costs the most, and a list of
passages needs few of them.  `PassageMaker` joins a group of neighbouring chunks of one
section into a `Passage`: their text with the lines between them, the best score of its
chunks, its citation and its answer sentences (`qa.rank.highlight`).

Not here: finding the candidates or their evidence (see `qa.rank.retrieval`), ranking them
and choosing the groups (see `qa.rank.ranking`), the Searcher that runs it all (see
`qa.rank.search`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qa.rank.confidence import answer_scores, is_confident
from qa.rank.fitted import Scorers
from qa.rank.highlight import choose_highlights
from qa.rank.lexical import terms
from qa.rank.passage import Passage, joined_span
from qa.rank.retrieval import Candidates, Retriever
from qa.text.chunking import line_gap


class Answers:
    """The answer scores of a question's candidates, each worked out when first needed: the
    word-piece coverage costs the most, and a list of passages needs few of them.  `row in
    answers` says whether that candidate chunk is a credible answer (`is_confident`)."""

    def __init__(
        self,
        retriever: Retriever,
        question: str,
        found: Candidates,
        scorers: Scorers,
        *,
        names_known: bool,
    ) -> None:
        self._retriever, self._found, self._names_known = retriever, found, names_known
        self._question, self._scorers = question, scorers
        self._position = {row: i for i, row in enumerate(found.rows)}
        self._known: dict[int, float] = {}

    def scores(self, rows: Sequence[int]) -> dict[int, float]:
        """The score of each of `rows` (chunk rows among the candidates)."""
        new = list(dict.fromkeys(row for row in rows if row not in self._known))
        if new:
            at = np.array([self._position[row] for row in new], dtype=np.intp)
            pieces = self._retriever.piece_coverage(self._found, at.tolist())
            missing = self._retriever.kind_missing(self._question, self._found, at.tolist())
            found = answer_scores(
                self._found.evidence, pieces, missing, self._scorers, self._names_known, at=at
            )
            self._known.update(zip(new, found.tolist(), strict=True))
        return {row: self._known[row] for row in rows}

    def __contains__(self, row: object) -> bool:
        return isinstance(row, int) and is_confident(self.scores([row])[row])


class PassageMaker:
    """Passages of the chunks of one `Retriever`'s index; safe to share between threads (its
    cache of sentence terms only ever gains entries that are the same for every thread)."""

    def __init__(self, retriever: Retriever) -> None:
        self.retriever, self.chunks = retriever, retriever.chunks
        self._sentence_terms: dict[int, frozenset[str]] = {}  # sentence row: its terms, as needed

    def passage(
        self,
        rows: list[int],
        score_of: dict[int, float],
        query: np.ndarray,
        query_terms: list[str],
    ) -> Passage:
        """The passage of chunk `rows` (in order, neighbours in one section), scored by the
        best of `score_of` over them, its answer sentences marked for the question."""
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
        sentence_rows, _ = self.retriever.sentence_rows(np.array(rows, dtype=np.int64))
        cosines = self.retriever.sentence_vectors[sentence_rows] @ query
        score = max(score_of[row] for row in rows)
        return Passage(
            text=text,
            doc=first.doc,
            section=first.section,
            section_path=first.section_path,
            start_line=first.start_line,
            end_line=last.end_line,
            score=round(score, 4),
            confident=is_confident(score),
            highlights=choose_highlights(
                text, spans, cosines.tolist(), query_terms, self._terms_of(sentence_rows, rows)
            ),
            span=joined_span(first.span, last.span),
        )

    def _terms_of(self, sentence_rows: np.ndarray, chunk_rows: list[int]) -> list[frozenset[str]]:
        """The terms of each sentence, worked out once per sentence of the index."""
        cache, keys = self._sentence_terms, sentence_rows.tolist()
        if any(key not in cache for key in keys):
            offsets = self.retriever.index.sentence_offsets
            for row in chunk_rows:
                chunk, first = self.chunks[row], int(offsets[row])
                language = self.retriever.row_language[row]
                for number, (a, b) in enumerate(chunk.sentences):
                    if first + number not in cache:
                        cache[first + number] = frozenset(terms(chunk.text[a:b], language))
        return [cache[key] for key in keys]
