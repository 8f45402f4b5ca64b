"""Question to passages: hybrid ranking over a loaded index, with citations and highlights.

For a question the Searcher takes the candidate chunks and their evidence from
its `qa.rank.retrieval.Retriever`, ranks them (`qa.rank.ranking`), groups neighbouring chunks
of a section into passages, marks the answer sentences (`qa.rank.highlight`) and gives
each passage a calibrated 0..1 score (`qa.rank.assembly`).  A phrase in double quotes
restricts the answers to passages containing it.  It follows the index folder: a newer
build swapped in on disk answers the next question.

Not here: building, storing or refreshing the index (see `qa.index.owner.Index`, whose
`searcher()` is the Searcher over the live build, and `search()`), the evidence itself (see
`qa.rank.retrieval`), checking the question (see `qa.rank.question`), making the chosen
chunks into passages (see `qa.rank.assembly`).
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
from qa.rank.assembly import Answers, PassageMaker
from qa.rank.fitted import Scorers, fitted_for
from qa.rank.passage import Passage, never_rising
from qa.rank.question import MAX_QUESTION_CHARS, clean_question, document_names
from qa.rank.ranking import Ranking, choose_passages, relevance
from qa.rank.retrieval import Retriever
from qa.settings import Settings
from qa.text.sections import Section

# Imported from here by `qa.web.app`, the tests and the benchmarks.
__all__ = ["MAX_QUESTION_CHARS", "Searcher", "clean_question"]


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
        self._passages = PassageMaker(self.retriever)
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
        documents = document_names(documents)
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
        answers = Answers(retriever, question, found, self.scorers, names_known=not unmentioned)
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
                self._passages.passage(sorted(g), score_of, found.query, found.query_terms),
                unmentioned=unmentioned,
            )
            for g in groups
        ]
        return never_rising(passages)


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
