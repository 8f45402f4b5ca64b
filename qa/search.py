"""Question to passages: hybrid ranking over a loaded index, with citations and highlights.

For a question the Searcher gathers candidate chunks (nearest vectors from
FAISS, best BM25 chunks), fuses vector and keyword evidence (`qa.ranking`),
groups neighbouring chunks of a section into passages, marks the answer
sentences (`qa.highlight`) and gives each passage a calibrated 0..1 score.
A phrase in double quotes restricts the answers to passages containing it.

Not here: building or storing the index (see `qa.index`).
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from qa import store
from qa.chunking import Chunk, Section, line_gap
from qa.corpus import FileState, corpus_state
from qa.embedding import Embedder, load_embedder, local_folder
from qa.errors import IndexMismatchError, ModelError, QAError, QAWarning, QueryError
from qa.highlight import Highlight, choose_highlights
from qa.index import IndexStatus, build_index, current_folder, load_index, open_index
from qa.lexical import (
    LexicalIndex,
    contains_phrase,
    content_terms,
    named_words,
    quoted_phrases,
    terms,
)
from qa.pieces import Ids, PieceCoverage
from qa.ranking import (
    Array,
    Evidence,
    Ranking,
    answer_scores,
    centred_cosine,
    choose_passages,
    is_confident,
    relevance,
)
from qa.readers.base import Span
from qa.settings import Settings
from qa.store import LoadedIndex

CANDIDATES = 100  # per retriever; both lists are fused
# A document's topic is the mean of its chunk vectors; a mean of fewer chunks is mostly
# those chunks themselves, so such documents take the mean of the whole corpus instead.
TOPIC_CHUNKS = 5
MAX_QUESTION_CHARS = 2000  # the model reads ~256 word pieces; more text only costs time


@dataclass(frozen=True)
class Passage:
    """One answer: source text with its citation.

    `score` runs from 0 to 1, higher is better: how likely the passage answers the
    question (`qa.ranking.answer_scores`), and 0.5 is the line between a credible
    answer and not (`confident`).  `highlights` are the sentences of `text` that best answer.
    `unmentioned` lists the names and numbers of the question that the documents never
    mention ("Rwanda", "1994"); when there are any, no passage is confident.
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
    unmentioned: tuple[str, ...] = ()  # the question's names and numbers no document mentions
    span: Span | None = None
    """The pages of a PDF, or paragraphs of an HTML or Word file, it comes from."""

    @property
    def percent(self) -> int:
        """The score in whole percent, rounded down, as the page and the terminal show it:
        the 50% (confident) and 70% lines then agree with it (0.697 is 69, 0.4996 is 49)."""
        return math.floor(max(0.0, min(1.0, self.score)) * 100 + 1e-9)

    @property
    def citation(self) -> str:
        """`peacekeeping-partnerships.txt › Protection of Civilians, lines 55–57`.

        For a PDF, pages: `report.pdf › 2 Methods › 2.1 Data, pages 4–5`.
        """
        if self.span is not None:
            where = self.span.label
        elif self.start_line == self.end_line:
            where = f"line {self.start_line}"
        else:
            where = f"lines {self.start_line}–{self.end_line}"
        return f"{self.doc} › {' › '.join(self.section_path)}, {where}"

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON-ready values, the citation included."""
        data = asdict(self)
        data["section_path"] = list(self.section_path)
        data["highlights"] = [asdict(h) for h in self.highlights]
        data["unmentioned"] = list(self.unmentioned)
        data["citation"] = self.citation
        return data


@dataclass(frozen=True)
class Candidates:
    """The chunks a question is ranked over, their evidence, the question's vector and terms."""

    rows: list[int]
    evidence: Evidence
    query: np.ndarray
    query_terms: list[str]
    query_pieces: Ids  # the word pieces of its content words (`qa.pieces`)


class Searcher:
    """A loaded index, ready to answer questions; safe to share between threads.

    It is made from a `LoadedIndex` (or opened with `Searcher.open(settings)`) and
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
    ) -> None:
        self.ranking = ranking or Ranking()
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
        # Plain arrays over the memory-mapped files: indexing a np.memmap costs ~0.2 ms a call.
        self._embeddings = np.asarray(index.embeddings)
        self._sentence_vectors = np.asarray(index.sentence_vectors)
        self._title_vectors = np.asarray(index.title_vectors)
        self._sentence_terms: dict[int, frozenset[str]] = {}  # sentence row: its terms, as needed
        self._piece_coverage = PieceCoverage.of_model(_model_folder(index.manifest.model))
        self._chunk_pieces: dict[int, Ids] = {}  # chunk row: its word pieces, as needed
        sections = {(s.doc, s.start_line): i for i, s in enumerate(self.index.sections)}
        self._section_of = [sections[(c.doc, c.section_start)] for c in self.chunks]
        self._section_array = np.array(self._section_of, dtype=np.int64)
        self._section_sizes = np.bincount(
            self._section_array, minlength=len(index.sections)
        ).tolist()
        self._chunk_bm25 = LexicalIndex([c.text for c in self.chunks])
        section_texts = [" ".join(s.path) for s in self.index.sections]
        for chunk, section in zip(self.chunks, self._section_of, strict=True):
            section_texts[section] += "\n" + chunk.text
        self._section_bm25 = LexicalIndex(section_texts)
        self._topic_of, self._topics = _topics(self.chunks, self._embeddings)
        # What a question does not change, worked out once: each text's dot with its topic.
        self._topic_norms = np.einsum("ij,ij->i", self._topics, self._topics)
        self._chunk_topic = _topic_dots(self._embeddings, self._topics, self._topic_of)
        owner = np.repeat(np.arange(len(self.chunks)), np.diff(index.sentence_offsets))
        self._sentence_topic = _topic_dots(
            self._sentence_vectors, self._topics, self._topic_of[owner]
        )
        self._newest, self._skipped = self, index.folder
        self._switching = threading.Lock()

    @classmethod
    def open(
        cls,
        settings: Settings | None = None,
        *,
        rebuild: bool = False,
        before_build: Callable[[IndexStatus], None] | None = None,
        embedder: Embedder | None = None,
        ranking: Ranking | None = None,
    ) -> Searcher:
        """A Searcher over the live index of `settings` (default: `Settings.from_env()`).

        With `rebuild`, a missing, damaged, mismatched or stale index is rebuilt
        first (see `qa.index.open_index`); without it, QAError naming the fix.  A
        stale index that cannot be rebuilt now answers, with a QAWarning saying so.
        """
        settings = settings or Settings.from_env()
        if not rebuild:
            return cls(load_index(settings), embedder=embedder, ranking=ranking)
        opened = open_index(settings, rebuild=True, embedder=embedder, before_build=before_build)
        if opened.not_rebuilt:
            _answer_as_is(opened.status.describe(), opened.not_rebuilt)
        return cls(opened.index or load_index(settings), embedder=embedder, ranking=ranking)

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
                newest = Searcher(loaded, embedder=self.embedder, ranking=self.ranking)
                self._newest = newest
            else:
                self._skipped = folder  # another model or precision: `Searcher.open` decides
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

    def search(self, question: str, k: int = 5) -> list[Passage]:
        """The `k` best passages for `question`, best first (fewer if fewer chunks match)."""
        self = self.latest()  # one build answers the whole question: the newest on disk
        question = _clean_question(question)
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise QueryError(f"k must be a whole number of at least 1, not {k!r}")
        found = self.candidates(question, k)
        if found is None:
            return []
        candidates = found.rows
        scores = relevance(found.evidence, self.ranking)
        unmentioned = self.unmentioned(question)
        answers = _Answers(self, found, names_known=not unmentioned)
        order = np.argsort(-scores, kind="stable")
        # The best few are nearly always shown or considered: one batch instead of one each.
        answers.scores([candidates[i] for i in order[: 3 * k]])
        if not self.ranking.group:
            groups = [[candidates[i]] for i in order[:k]]
        else:
            groups = choose_passages(
                candidates,
                scores,
                self._section_of,
                k,
                self.ranking,
                section_sizes=self._section_sizes,
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
        return _never_rising(passages)

    def piece_coverage(self, found: Candidates, positions: Sequence[int]) -> Array:
        """The word-piece coverage of the question (`qa.pieces`) by the candidates at
        `positions` of `found.rows`."""
        rows = [found.rows[i] for i in positions]
        return self._piece_coverage.covered(found.query_pieces, self._pieces_of(rows))

    def unmentioned(self, question: str) -> tuple[str, ...]:
        """The question's names and numbers (`named_words`) that no document mentions."""
        return tuple(
            word for word in named_words(question) if self._section_bm25.unknown(terms(word))
        )

    def candidates(self, question: str, k: int = 10) -> Candidates | None:
        """The chunks worth ranking for a cleaned `question`, with their evidence; None when
        no chunk qualifies.  (Also what `benchmarks/fit_fusion.py` fits the weights on.)"""
        phrases = quoted_phrases(question)
        plain = question.replace('"', " ").replace("“", " ").replace("”", " ")
        query = np.asarray(self.embedder.encode([plain])[0], dtype=np.float32)
        query_terms = terms(plain)
        chunk_bm25 = self._chunk_bm25.scores(query_terms)
        candidates = self._candidates(query, chunk_bm25, phrases, k)
        if not candidates:
            return None
        rows = np.array(candidates)
        sections = self._section_array[rows]
        chunk_cosine, sentence_cosine, specific_cosine = self._closeness(rows, query)
        evidence = Evidence(
            chunk_cosine=chunk_cosine,
            sentence_cosine=sentence_cosine,
            chunk_bm25=chunk_bm25[rows],
            section_bm25=self._section_bm25.scores(query_terms)[sections],
            chunk_coverage=self._chunk_bm25.coverage(query_terms)[rows],
            section_coverage=self._section_bm25.coverage(query_terms)[sections],
            title_cosine=np.asarray(self._title_vectors[sections] @ query, dtype=np.float32),
            specific_cosine=specific_cosine,
            content_coverage=self._chunk_bm25.coverage(content_terms(plain))[rows],
        )
        pieces = self._piece_coverage.question_pieces(plain)
        return Candidates(candidates, evidence, query, query_terms, pieces)

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

    def _sentence_rows(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The sentence rows of chunks `rows`, in order, and how many each chunk has."""
        offsets = self.index.sentence_offsets
        starts, lengths = offsets[rows], offsets[rows + 1] - offsets[rows]
        # One arange for all: each chunk's rows are its start plus 0..length-1.
        within = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        return np.repeat(starts, lengths) + within, lengths

    def _closeness(self, rows: np.ndarray, query: np.ndarray) -> tuple[Array, Array, Array]:
        """Per chunk of `rows`: its cosine with the question, its best sentence's (-1 for a
        chunk without sentences) and the best `centred_cosine` of the two."""
        picks, lengths = self._sentence_rows(rows)
        owner = np.repeat(np.arange(len(rows)), lengths)
        chunk_cosine = np.asarray(self._embeddings[rows] @ query, dtype=np.float32)
        sentence_cosine = np.asarray(self._sentence_vectors[picks] @ query, dtype=np.float32)
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

    def _pieces_of(self, rows: list[int]) -> list[Ids]:
        """The word pieces of each chunk, worked out once per chunk of the index."""
        cache = self._chunk_pieces
        missing = [row for row in rows if row not in cache]
        if missing:
            found = self._piece_coverage.text_pieces([self.chunks[row].text for row in missing])
            cache.update(zip(missing, found, strict=True))
        return [cache[row] for row in rows]

    def _terms_of(self, sentence_rows: np.ndarray, chunk_rows: list[int]) -> list[frozenset[str]]:
        """The terms of each sentence, worked out once per sentence of the index."""
        cache, keys = self._sentence_terms, sentence_rows.tolist()
        if any(key not in cache for key in keys):
            offsets = self.index.sentence_offsets
            for row in chunk_rows:
                chunk, first = self.chunks[row], int(offsets[row])
                for number, (a, b) in enumerate(chunk.sentences):
                    if first + number not in cache:
                        cache[first + number] = frozenset(terms(chunk.text[a:b]))
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
        sentence_rows, _ = self._sentence_rows(np.array(rows, dtype=np.int64))
        cosines = self._sentence_vectors[sentence_rows] @ query
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
            span=_joined(first.span, last.span),
        )


class _Answers:
    """The answer scores of a question's candidates, each worked out when first needed: the
    word-piece coverage costs the most, and a list of passages needs few of them.  `row in
    answers` says whether that candidate chunk is a credible answer (`is_confident`)."""

    def __init__(self, searcher: Searcher, found: Candidates, *, names_known: bool) -> None:
        self._searcher, self._found, self._names_known = searcher, found, names_known
        self._position = {row: i for i, row in enumerate(found.rows)}
        self._known: dict[int, float] = {}

    def scores(self, rows: Sequence[int]) -> dict[int, float]:
        """The score of each of `rows` (chunk rows among the candidates)."""
        new = list(dict.fromkeys(row for row in rows if row not in self._known))
        if new:
            at = np.array([self._position[row] for row in new], dtype=np.intp)
            pieces = self._searcher.piece_coverage(self._found, at.tolist())
            found = answer_scores(self._found.evidence, pieces, self._names_known, at=at)
            self._known.update(zip(new, found.tolist(), strict=True))
        return {row: self._known[row] for row in rows}

    def __contains__(self, row: object) -> bool:
        return isinstance(row, int) and is_confident(self.scores([row])[row])


def _topics(chunks: Sequence[Chunk], embeddings: np.ndarray) -> tuple[np.ndarray, Array]:
    """Each chunk's topic row and the topics: the mean vector of each document of at least
    `TOPIC_CHUNKS` chunks, then the mean of the whole corpus (for every other document).

    >>> from types import SimpleNamespace as C
    >>> chunks = [C(doc="a")] * 5 + [C(doc="b")]
    >>> vectors = np.array([[1.0, 0.0]] * 5 + [[0.0, 1.0]], dtype=np.float32)
    >>> rows, topics = _topics(chunks, vectors)
    >>> rows.tolist(), [[round(float(v), 2) for v in topic] for topic in topics]
    ([0, 0, 0, 0, 0, 1], [[1.0, 0.0], [0.83, 0.17]])
    """
    names = sorted({chunk.doc for chunk in chunks})
    number = {name: i for i, name in enumerate(names)}
    doc_of = np.array([number[chunk.doc] for chunk in chunks], dtype=np.int64)
    sums = np.zeros((len(names), embeddings.shape[1]), dtype=np.float64)
    if len(chunks):
        # Chunks come document by document: one pass sums each run of a document's chunks.
        starts = np.flatnonzero(np.r_[True, doc_of[1:] != doc_of[:-1]])
        np.add.at(sums, doc_of[starts], np.add.reduceat(embeddings, starts, dtype=np.float64))
    counts = np.bincount(doc_of, minlength=len(names))
    large = counts >= TOPIC_CHUNKS
    topic_row = np.full(len(names), int(large.sum()), dtype=np.int64)
    topic_row[large] = np.arange(int(large.sum()))
    whole = sums.sum(axis=0) / max(len(chunks), 1)
    topics = np.vstack([sums[large] / counts[large, None], whole[None, :]]).astype(np.float32)
    return topic_row[doc_of], topics


def _topic_dots(vectors: np.ndarray, topics: Array, topic_of: np.ndarray) -> Array:
    """Each row of `vectors` dotted with its topic (`topics[topic_of[row]]`), in blocks, so
    that no copy of the topics as large as `vectors` is made."""
    dots = np.empty(len(vectors), dtype=np.float32)
    block = 16_384
    for start in range(0, len(vectors), block):
        rows = slice(start, start + block)
        dots[rows] = np.einsum("ij,ij->i", vectors[rows], topics[topic_of[rows]])
    return dots


def _model_folder(name: str) -> Path | None:
    """The local folder of model `name`, None for one that has none (a test's fake)."""
    try:
        return local_folder(name)
    except ModelError:
        return None


def _same_encoder(a: store.Manifest, b: store.Manifest) -> bool:
    """Whether questions for build `a` are encoded as for build `b`: same model, same precision."""
    precision = "fp32"  # builds before the encoder was recorded
    return (a.model, a.encoder.get("precision", precision)) == (
        b.model,
        b.encoder.get("precision", precision),
    )


def _joined(first: Span | None, last: Span | None) -> Span | None:
    """The span of a passage of neighbouring chunks: from the first chunk to the last."""
    if first is None or last is None:
        return first or last
    return Span(first.unit, first.first, last.last)


def _never_rising(passages: list[Passage]) -> list[Passage]:
    """Scores capped by the passage above, so the number shown never rises down the list.

    The order is the ranking's; a lower passage may resemble the question more closely
    overall yet be less likely the answer, and showing it with a higher score would
    contradict the order.
    """
    capped: list[Passage] = []
    for passage in passages:
        if capped and passage.score > capped[-1].score:
            passage = replace(passage, score=capped[-1].score, confident=capped[-1].confident)
        capped.append(passage)
    return capped


def _clean_question(question: str) -> str:
    if not isinstance(question, str):
        raise QueryError(f"The question must be text, not {type(question).__name__}")
    printable = "".join(c if c.isprintable() else " " for c in question[: MAX_QUESTION_CHARS * 2])
    cleaned = " ".join(printable.split())[:MAX_QUESTION_CHARS]
    if not any(c.isalnum() for c in cleaned):
        raise QueryError("The question has no words: type a few words about what you want to find")
    return cleaned


def search(question: str, k: int = 5, *, settings: Settings | None = None) -> list[Passage]:
    """Answer `question` from the corpus and index of `settings` (default: `Settings.from_env()`).

    The index is built or refreshed first when needed.  The Searcher is kept
    between calls; each call checks the corpus cheaply (a `stat` a file, hashing
    only files whose size or modification time changed), so calling this in a
    loop costs about what `Searcher.search` does, and still sees edits.
    """
    settings = settings or Settings.from_env()
    with _CACHE_LOCK:
        cached = _CACHE.get(settings)
        if cached is None:
            cached = _CACHE[settings] = _Cached(Searcher.open(settings, rebuild=True))
        searcher = cached.refreshed(settings)
    return searcher.search(question, k)


@dataclass
class _Cached:
    """A Searcher kept by `search()`, and the corpus files as last seen."""

    searcher: Searcher
    files: dict[str, FileState] = field(default_factory=dict)

    def refreshed(self, settings: Settings) -> Searcher:
        """The Searcher, on an index rebuilt first if the corpus changed since its build."""
        self.files = corpus_state(settings.corpus_dir, self.files, settings.follow_links)
        self.searcher = self.searcher.latest()  # an older build is then freed
        hashes = {name: state.sha256 for name, state in self.files.items()}
        if hashes != self.searcher.index.manifest.documents:
            try:
                build_index(settings, embedder=self.searcher.embedder, progress=False)
            except QAError as error:
                _answer_as_is(f"{settings.index_dir}/ is out of date", str(error))
            self.searcher = self.searcher.latest()
        return self.searcher


def _answer_as_is(state: str, reason: str) -> None:
    warnings.warn(
        f"{state}, and it could not be rebuilt ({reason}); answering from it as it is",
        QAWarning,
        stacklevel=3,
    )


_CACHE: dict[Settings, _Cached] = {}
_CACHE_LOCK = threading.Lock()
