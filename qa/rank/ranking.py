"""How evidence becomes a ranking of passages; small pure functions over arrays.

Every candidate chunk carries nine kinds of ranking evidence (`Evidence`): the cosine
between the question and the chunk (embedded with its section path), the cosine with its
best sentence, BM25 of the chunk and of its whole section (title included), how much of
the question's distinct terms, weighted by rarity, the chunk contains and the chunk with
its neighbours in its section (a window) contain together (`LexicalIndex.coverage`; not
the whole section's: a long section holds the words of almost any question on its topic,
spread over chunks that each answer something else), the cosine with the section's
heading path alone and with the mean vector of the section's chunks (a section about
the question as a whole, not a line that mentions it in a list of topics), the
late-interaction score of the question's word pieces against
the chunk's token vectors (`qa.rank.late`; an index without token vectors is ranked by the
others), and whether the chunk is in its document's lead section (the first with text:
an abstract, an introduction, a summary; in a document of four sections or more).

Relevance is a weighted sum of features of that evidence (`features`).  Every cosine
enters standardised over the question's candidates (its z-score): what counts is how
far a chunk stands out from the others of this question, not its absolute cosine,
which shifts with the model, the question's wording and the document (every passage
of a research paper is close to any question about it).  The late-interaction score
enters as it is.
Keyword scores enter multiplied by coverage: BM25 normalised over the candidates ranks
the best keyword match first even when it shares one common word with the question, so
its say grows with how much of the question the text actually contains.  (The two
coverages as features of their own changed no figure but by ±0.006, judged leave-one-
family-out, and were removed: docs/retrieval.md.)  The lead
section of a document touches every topic of it; its own weight says how much that
alone should count.  The weights are data (`qa.rank.fitted`, fitted by `make fit`), one file
per model.

Passages are chosen greedily (`choose_passages`): a second passage from a section
already shown pays a fixed penalty, so a section can contribute several passages when
they are clearly the best, and neighbouring chunks that score nearly as well are merged;
a passage so merged counts the likelihood of each of its chunks.  (A further penalty in
proportion to the share of the section already shown changed no figure of the
development sets, judged leave-one-family-out, and was removed: docs/retrieval.md.)

Not here: the score shown to people (see `qa.rank.confidence`).
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np
import numpy.typing as npt

from qa.rank.fitted import Scorers, fitted_for

Array = npt.NDArray[np.float32]

FEATURES = (
    "chunk cosine",
    "best-sentence cosine",
    "chunk BM25 × chunk coverage",
    "section BM25 × window coverage",
    "section-title cosine",
    "section cosine",
    "late interaction",
    "lead section",
)
SECTION_PENALTY = 1.0  # in relevance units: a second passage of a section must be e¹ as likely
MERGE_MARGIN = 1.5  # a neighbour within this much of its passage's best chunk joins it
MAX_MERGED = 3  # chunks in one passage at most
# Late interaction is weighed for this many candidates, the best by the rest of the evidence:
# 20 and 30 rank the development sets as all ~150 do, 10 loses 0.002 of SQuAD's Hit@5.
LATE_DEPTH = 30


@dataclass(frozen=True)
class Evidence:
    """What is known of each candidate chunk, one array each, aligned."""

    chunk_cosine: Array
    sentence_cosine: Array  # the chunk's best sentence
    chunk_bm25: Array
    section_bm25: Array
    chunk_coverage: Array
    window_coverage: Array  # of the chunk and its neighbours in its section, together
    title_cosine: Array  # the chunk's section path (title and its parents) on its own
    section_cosine: Array  # the mean vector of the chunk's section (all its chunks)
    specific_cosine: Array  # the closest text's `centred_cosine`: not a ranking feature
    # The chunk's coverage of the question's content words (`lexical.content_terms`): not a
    # ranking feature either; `chunk_coverage` counts every term but stop words.
    content_coverage: Array
    lead: Array  # 1.0 for a chunk of its document's lead section (the first with text)
    # The question's late-interaction score with the chunk (`qa.rank.late`), and its
    # worst-matched word piece's best cosine in the chunk (not a ranking feature); None
    # when the index keeps no token vectors.
    late_interaction: Array | None = None
    weakest_match: Array | None = None


class Baseline(Enum):
    """A one-signal ranking of the ablation table, instead of the fitted fusion."""

    BM25 = "BM25 over chunks"
    DENSE = "dense over chunks"
    RRF = "RRF of BM25 and dense"


@dataclass(frozen=True)
class Ranking:
    """The knobs of the ranking.  `Ranking.fitted(model)` is what qa uses; others serve the
    ablation table and the fitting.

    `weights` weigh `FEATURES` (`weights_without_tokens` them for an index without token
    vectors, whose late-interaction column is zero); `baseline` ranks by one signal instead
    (BM25, the chunk cosine, or their reciprocal rank fusion); `section_penalty` is
    what each passage of a section already shown costs its other chunks (1e6: one passage
    per section first); `group` False returns single chunks in relevance order; late
    interaction is weighed for the best `late_depth` candidates.
    """

    weights: tuple[float, ...]
    weights_without_tokens: tuple[float, ...]
    baseline: Baseline | None = None
    section_penalty: float = SECTION_PENALTY
    group: bool = True
    late_depth: int = LATE_DEPTH

    @classmethod
    def of(cls, scorers: Scorers, **changes: Any) -> Ranking:
        """The ranking that `scorers` (fitted numbers, `qa.rank.fitted`) weigh, with `changes`."""
        weights = scorers.ranking.of(FEATURES)
        return cls(weights, scorers.ranking_without_tokens.of(FEATURES), **changes)

    @classmethod
    def fitted(cls, model: str) -> Ranking:
        """The ranking fitted for `model` (`qa/rank/weights/`), or the model-independent one."""
        return cls.of(fitted_for(model).scorers)


def min_max(values: Array) -> Array:
    """Rescale to 0..1; a constant array becomes zeros (it says nothing about order)."""
    if values.size == 0:
        return values
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-9:
        return np.zeros_like(values)
    return ((values - low) / (high - low)).astype(np.float32)


def standardised(values: Array) -> Array:
    """z-scores over the candidates; a constant array becomes zeros (it says nothing).

    >>> [round(float(v), 2) for v in standardised(np.array([1.0, 2.0, 3.0], dtype=np.float32))]
    [-1.22, 0.0, 1.22]
    """
    if values.size == 0:
        return values
    spread = float(values.std())
    if spread < 1e-9:
        return np.zeros_like(values)
    scores: Array = ((values - values.mean()) / spread).astype(np.float32)
    return scores


def features(evidence: Evidence) -> Array:
    """The candidates × `FEATURES` matrix that a ranking's weights weigh.

    >>> e = Evidence(*(np.array([0.2, 0.6], dtype=np.float32) for _ in range(13)))
    >>> [round(float(x), 2) for x in features(e)[1]]
    [1.0, 1.0, 0.6, 0.6, 1.0, 1.0, 0.6, 0.6]
    """
    late = evidence.late_interaction
    bm25, section_bm25 = min_max(evidence.chunk_bm25), min_max(evidence.section_bm25)
    columns = [
        standardised(evidence.chunk_cosine),
        standardised(np.maximum(evidence.sentence_cosine, evidence.chunk_cosine)),
        evidence.chunk_coverage * bm25,
        evidence.window_coverage * section_bm25,
        standardised(evidence.title_cosine),
        standardised(evidence.section_cosine),
        # As it is, not standardised: standardised, a one-line summary repeating the
        # question's words ("Protection of civilians is paramount…" in a list of objectives)
        # outranked the section that answers it (README, "Retrieval quality").
        np.zeros_like(bm25) if late is None else late,
        evidence.lead,
    ]
    return np.stack(columns, axis=1).astype(np.float32)


def relevance(evidence: Evidence, ranking: Ranking) -> Array:
    """One relevance value per candidate (higher is better; differences are log-odds)."""
    if ranking.baseline is Baseline.BM25:
        return evidence.chunk_bm25
    if ranking.baseline is Baseline.DENSE:
        return evidence.chunk_cosine
    if ranking.baseline is Baseline.RRF:
        return reciprocal_rank_fusion([evidence.chunk_cosine, evidence.chunk_bm25])
    tokens = evidence.late_interaction is not None
    weights = ranking.weights if tokens else ranking.weights_without_tokens
    return (features(evidence) @ np.asarray(weights, dtype=np.float32)).astype(np.float32)


def reciprocal_rank_fusion(scores: Sequence[Array], k: int = 60) -> Array:
    """Sum of 1 / (k + rank) over the lists (Cormack et al., 2009).

    >>> reciprocal_rank_fusion([np.array([3.0, 1.0]), np.array([0.0, 2.0])], k=0).tolist()
    [1.5, 1.5]
    """
    fused = np.zeros(len(scores[0]), dtype=np.float32)
    for values in scores:
        ranks = np.empty(len(values), dtype=np.float32)
        ranks[np.argsort(-values, kind="stable")] = np.arange(1, len(values) + 1)
        fused += 1 / (k + ranks)
    return fused


def choose_passages(
    rows: Sequence[int],
    scores: Array,
    section_of: Sequence[int],
    k: int,
    ranking: Ranking | None = None,
    mergeable: Container[int] | None = None,
) -> list[list[int]]:
    """Candidate chunks `rows` with relevance `scores` into at most `k` passages, best first.

    Each step takes the chunk with the best relevance after the ranking's `section_penalty`
    for every passage its section already has.  A chunk next to a passage
    of its section joins it (up to 3 chunks), as soon as the passage is chosen, when within
    `MERGE_MARGIN` of that passage's first chunk and, if given, is in `mergeable` (merging
    weak answers only makes them longer).  Passages come in the order of the value each was
    chosen at plus what its joined neighbours add: relevance is log-odds, and a passage holds
    the answer when any of its chunks does, so the gain is log Σ exp(neighbour − first).

    >>> sections, equal = [0, 0, 1, 1, 1, 1, 2, 2, 2, 2], (1.0,) * len(FEATURES)
    >>> choose_passages([4, 5, 9, 1], np.array([3.0, 2.9, 1.5, 1.0]), sections, 2)
    [[4, 5], [9]]
    >>> free = Ranking(equal, equal, section_penalty=0)
    >>> choose_passages([4, 2, 9], np.array([3.0, 2.8, 2.4]), sections, 2, free)
    [[4], [2]]
    """
    section_penalty = SECTION_PENALTY if ranking is None else ranking.section_penalty
    base = np.asarray(scores, dtype=np.float64)
    adjusted = base.copy()
    sections = np.array([section_of[row] for row in rows], dtype=np.int64)
    position = {row: i for i, row in enumerate(rows)}
    groups: list[list[int]] = []
    taken = np.zeros(len(rows), dtype=bool)
    passages: dict[int, int] = {}
    values: list[float] = []
    while len(groups) < k and not taken.all():
        i = int(np.argmax(np.where(taken, -np.inf, adjusted)))
        taken[i] = True
        group, section = [rows[i]], int(sections[i])
        # Neighbours nearly as good join now, though the penalty would rank them after
        # other passages: joining a passage does not make a second one.
        joining = _joining(group, section_of, position, ~taken, base, mergeable)
        group += [rows[j] for j in joining]
        taken[joining] = True
        groups.append(group)
        # Relevance is log-odds: a passage holds the answer if any of its chunks does, so
        # its neighbours add their likelihood to the value it was chosen at.
        gain = float(np.log(np.exp(base[[i, *joining]] - base[i]).sum()))
        values.append(float(adjusted[i]) + gain)
        passages[section] = passages.get(section, 0) + 1
        same = sections == section
        adjusted[same] = base[same] - section_penalty * passages[section]
    order = np.argsort(-np.array(values), kind="stable")
    return [groups[j] for j in order]


def _joining(
    group: list[int],
    section_of: Sequence[int],
    position: dict[int, int],
    free: npt.NDArray[np.bool_],
    base: npt.NDArray[np.float64],
    mergeable: Container[int] | None,
) -> list[int]:
    """The candidates (by position) that extend `group` outward, nearest first: free
    (`free`), of its section, within `MERGE_MARGIN` of its first chunk's relevance, and
    `mergeable` when given; up to `MAX_MERGED` chunks in all."""
    best = base[position[group[0]]] - MERGE_MARGIN
    section = section_of[group[0]]
    low, high = min(group), max(group)
    joined: list[int] = []
    while len(group) + len(joined) < MAX_MERGED:
        found = [
            row
            for row in (low - 1, high + 1)
            if row in position
            and free[position[row]]
            and position[row] not in joined
            and section_of[row] == section
            and base[position[row]] >= best
            and (mergeable is None or row in mergeable)
        ]
        if not found:
            break
        joined.append(position[found[0]])
        low, high = min(low, found[0]), max(high, found[0])
    return joined
