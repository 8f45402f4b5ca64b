"""Question to passages: hybrid ranking over a loaded index, with citations and highlights.

For a question the Searcher takes the candidate chunks and their evidence from
its `qa.rank.retrieval.Retriever`, ranks them (`qa.rank.ranking`), groups neighbouring chunks
of a section into passages, marks the answer sentences (`qa.rank.highlight`) and gives
each passage a calibrated 0..1 score.  A phrase in double quotes restricts the
answers to passages containing it.  It follows the index folder: a newer build
swapped in on disk answers the next question.

Not here: building, storing or refreshing the index (see `qa.index.owner.Index`, whose
`searcher()` is the Searcher over the live build, and `search()`), the evidence itself (see
`qa.rank.retrieval`).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

import qa.index.store as store
from qa.errors import CorpusError, IndexMismatchError, QAError, QueryError
from qa.index.folder import current_folder, open_live
from qa.index.manifest import Manifest
from qa.index.store import LoadedIndex
from qa.model.embedding import Embedder, load_embedder
from qa.rank.confidence import answer_scores, is_confident
from qa.rank.fitted import Scorers, fitted_for
from qa.rank.highlight import choose_highlights
from qa.rank.lexical import terms
from qa.rank.passage import Passage, joined_span, never_rising
from qa.rank.ranking import Ranking, choose_passages, relevance
from qa.rank.retrieval import Candidates, Retriever
from qa.settings import Settings
from qa.text.chunking import line_gap
from qa.text.sections import Section

MAX_QUESTION_CHARS = 2000  # the model reads ~256 word pieces; more text only costs time


class Searcher:
    """A loaded index, ready to answer questions; safe to share between threads.

    It is made from a `LoadedIndex` (`qa.Index.searcher()`, or `Searcher.open(settings)`) and
    takes its model from the index's manifest.  Before each question it looks at
    the index folder's CURRENT pointer: when a newer build has been swapped in (by
    another process, the CLI or a rebuild), it loads that build and answers from
    it; questions keep being answered from the old one meanwhile.
    """

    def __init__(
        self,
        index: LoadedIndex,
        *,
        embedder: Embedder | None = None,
        ranking: Ranking | None = None,
        scorers: Scorers | None = None,
    ) -> None:
        # The model's fitted numbers (`qa.rank.fitted`) rank and score, unless given: `scorers`
        # replaces both, `ranking` the ranking only (the ablation table's variants).
        self.scorers = scorers or fitted_for(index.manifest.model).scorers
        self.ranking = ranking or Ranking.of(self.scorers)
        self.index = index
        # Questions are encoded as the index was: the same model at the same precision.
        self.embedder = embedder or load_embedder(
            index.manifest.model, index.manifest.encoder.get("precision", "fp32")
        )
        if self.embedder.dimension != index.manifest.dimension:
            raise IndexMismatchError(
                f"{index.folder.parent}/ holds {index.manifest.dimension}-d vectors of "
                f"{index.manifest.model!r}, but the model gives {self.embedder.dimension}: "
                "run `qa build`"
            )
        self.chunks = self.index.chunks
        self.retriever = Retriever(index, self.embedder)
        self._sentence_terms: dict[int, frozenset[str]] = {}  # sentence row: its terms, as needed
        self._newest, self._skipped = self, index.folder
        self._switching = threading.Lock()

    @classmethod
    def open(
        cls,
        settings: Settings | None = None,
        *,
        embedder: Embedder | None = None,
        ranking: Ranking | None = None,
        scorers: Scorers | None = None,
    ) -> Searcher:
        """A Searcher over the live index of `settings` (default: `Settings.from_env()`) as
        it is; QAError naming the fix when there is none.  (`qa.Index.open(settings)` owns
        the index: its `refresh()` builds it when needed, its `searcher()` answers.)"""
        index = open_live(settings or Settings.from_env())
        return cls(index, embedder=embedder, ranking=ranking, scorers=scorers)

    def latest(self) -> Searcher:
        """The Searcher over the build live on disk now: this one, or one over a newer build.

        A newer build is loaded by one thread while the others keep answering from
        the build they have; a build that cannot be loaded is skipped until CURRENT
        changes again.
        """
        newest = self._newest
        try:
            folder = current_folder(self.index.folder.parent)
        except QAError:
            return newest  # the folder is gone or being replaced: keep what is loaded
        if folder in (newest.index.folder, self._skipped) or not self._switching.acquire(
            blocking=False
        ):
            return newest
        try:
            loaded = store.read_build(folder)
            if _same_encoder(loaded.manifest, newest.index.manifest):
                newest = Searcher(
                    loaded, embedder=self.embedder, ranking=self.ranking, scorers=self.scorers
                )
                self._newest = newest
            else:
                self._skipped = folder  # another model or precision: questions encode otherwise
        except QAError:
            self._skipped = folder
        finally:
            self._switching.release()
        return newest

    def section_for(self, passage: Passage) -> Section:
        """The whole section a passage comes from, with its source text, for reading in context."""
        for section in self._newest.index.sections:
            if (
                section.doc == passage.doc
                and section.start_line <= passage.start_line <= section.end_line
            ):
                return section
        raise QueryError(f"No section of this index holds {passage.citation}: search again")

    @property
    def documents(self) -> list[str]:
        """The names of the documents this Searcher answers from (its newest build's)."""
        return self._newest.retriever.document_names

    def search(
        self, question: str, k: int = 5, *, documents: Sequence[str] | None = None
    ) -> list[Passage]:
        """The `k` best passages for `question`, best first (fewer if fewer chunks match).

        With `documents` (file names relative to the corpus, or their stems), only those
        documents are searched, and ranked among themselves; QueryError for a name that is
        not in the index.
        """
        self = self.latest()  # one build answers the whole question: the newest on disk
        question = clean_question(question)
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise QueryError(f"k must be a whole number of at least 1, not {k!r}")
        if not self.chunks:
            raise CorpusError(_nothing_indexed(self.index.manifest))
        documents = _document_names(documents)
        retriever = self.retriever
        found = retriever.candidates(question, k, documents)
        if found is None:
            return []
        candidates = found.rows
        # Two stages: late interaction, the costliest evidence, for the best few only.
        first = np.argsort(-relevance(found.evidence, self.ranking), kind="stable")
        found = retriever.with_late_interaction(found, first[: self.ranking.late_depth])
        scores = relevance(found.evidence, self.ranking)
        unmentioned = retriever.unmentioned(question)
        answers = _Answers(retriever, question, found, self.scorers, names_known=not unmentioned)
        order = np.argsort(-scores, kind="stable")
        # The best few are nearly always shown or considered: one batch instead of one each.
        answers.scores([candidates[i] for i in order[: 3 * k]])
        if not self.ranking.group:
            groups = [[candidates[i]] for i in order[:k]]
        else:
            groups = choose_passages(
                candidates,
                scores,
                retriever.section_of,
                k,
                self.ranking,
                mergeable=answers,
            )
        score_of = answers.scores([row for group in groups for row in group])
        passages = [
            replace(
                self._passage(sorted(g), score_of, found.query, found.query_terms),
                unmentioned=unmentioned,
            )
            for g in groups
        ]
        return never_rising(passages)

    def _terms_of(self, sentence_rows: np.ndarray, chunk_rows: list[int]) -> list[frozenset[str]]:
        """The terms of each sentence, worked out once per sentence of the index."""
        cache, keys = self._sentence_terms, sentence_rows.tolist()
        if any(key not in cache for key in keys):
            offsets = self.index.sentence_offsets
            for row in chunk_rows:
                chunk, first = self.chunks[row], int(offsets[row])
                language = self.retriever.row_language[row]
                for number, (a, b) in enumerate(chunk.sentences):
                    if first + number not in cache:
                        cache[first + number] = frozenset(terms(chunk.text[a:b], language))
        return [cache[key] for key in keys]

    def _passage(
        self,
        rows: list[int],
        score_of: dict[int, float],
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


class _Answers:
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


def _nothing_indexed(manifest: Manifest) -> str:
    """Why an index without a passage answers nothing, with the fix."""
    corpus = manifest.corpus_dir
    if not manifest.documents:
        return (
            f"{corpus}/ holds no documents, so there is nothing to search: add .txt, .md, "
            ".pdf, .html or .docx files to it, then ask again"
        )
    return (
        f"None of the {len(manifest.documents)} files in {corpus}/ has text to search "
        "(`qa build` names each and why): add documents with text, then ask again"
    )


def _same_encoder(a: Manifest, b: Manifest) -> bool:
    """Whether questions for build `a` are encoded as for build `b`: same model, same precision."""
    precision = "fp32"  # builds before the encoder was recorded
    return (a.model, a.encoder.get("precision", precision)) == (
        b.model,
        b.encoder.get("precision", precision),
    )


def _document_names(documents: Sequence[str] | None) -> list[str] | None:
    """`documents` as a list of names; QueryError for a single string or an empty list."""
    if documents is None:
        return None
    if isinstance(documents, str) or not all(isinstance(d, str) for d in documents):
        raise QueryError(
            f"documents must be a list of document names, not {documents!r}: "
            'write documents=["report.pdf"]'
        )
    if not documents:
        raise QueryError("documents is empty: name at least one document, or pass None for all")
    return list(documents)


def clean_question(question: str) -> str:
    if not isinstance(question, str):
        raise QueryError(f"The question must be text, not {type(question).__name__}")
    printable = "".join(c if c.isprintable() else " " for c in question[: MAX_QUESTION_CHARS * 2])
    cleaned = " ".join(printable.split())[:MAX_QUESTION_CHARS]
    if not any(c.isalnum() for c in cleaned):
        raise QueryError("The question has no words: type a few words about what you want to find")
    return cleaned
