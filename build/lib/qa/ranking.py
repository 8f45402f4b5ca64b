"""How evidence becomes a ranking and a readable score; small pure functions over arrays.

Four signals are fused for every candidate chunk:

- the cosine between the question and the chunk (embedded with its section path),
- the cosine with the chunk's best sentence (a fact is often one sentence),
- BM25 of the chunk,
- BM25 of the chunk's whole section, title included (a question may name the
  section's topic, or use words spread over it).

Each signal is min-max normalised over the candidates, and the fused score is
`DENSE_WEIGHT * vectors + (1 - DENSE_WEIGHT) * keywords`.  The weights were
chosen on two question sets pulling in opposite directions (word-overlapping
and paraphrased questions; see the README's ablation table).

The score shown to people is not the fused score (which is relative to the
candidates) but a calibrated function of the chunk cosine, so that 0.5 means
"as likely an answer as not" for every question.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float32]

DENSE_WEIGHT = 0.7
SENTENCE_SHARE = 0.3  # of the vector evidence, from the best sentence

# Calibration of all-MiniLM-L6-v2 cosines (README, "Honest confidence"): over the
# question sets, the first passage of every unanswerable question has cosine <= 0.19
# and the first right passage of every answerable one >= 0.29; the threshold sits between.
CONFIDENT_COSINE = 0.25
COSINE_SCALE = 0.15


@dataclass(frozen=True)
class Ranking:
    """The knobs of the ranking; the defaults are what qa uses.  Others serve the ablation table.

    `dense_weight` 1 ranks by vectors alone, 0 by keywords alone; `section_keywords`
    adds BM25 over whole sections (their titles included); `chunk_titles` also adds
    the section title to each chunk's keywords (counting titles twice); `group`
    keeps one passage per section and merges neighbouring chunks.
    """

    dense_weight: float = DENSE_WEIGHT
    sentence_share: float = SENTENCE_SHARE
    section_keywords: bool = True
    chunk_titles: bool = False
    group: bool = True


def min_max(values: Array) -> Array:
    """Rescale to 0..1; a constant array becomes zeros (it says nothing about order)."""
    if values.size == 0:
        return values
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-9:
        return np.zeros_like(values)
    return (values - low) / (high - low)


def fuse(
    chunk_cosine: Array,
    sentence_cosine: Array,
    chunk_bm25: Array,
    section_bm25: Array,
    dense_weight: float = DENSE_WEIGHT,
    sentence_share: float = SENTENCE_SHARE,
) -> Array:
    """One relevance value per candidate from the four signals (higher is better).

    >>> fuse(np.array([0.2, 0.6]), np.array([0.3, 0.5]), np.array([1.0, 0.0]), np.zeros(2))
    array([0.15, 0.7 ], dtype=float32)
    """
    vectors = min_max((1 - sentence_share) * chunk_cosine + sentence_share * sentence_cosine)
    keywords = (min_max(chunk_bm25) + min_max(section_bm25)) / 2
    return (dense_weight * vectors + (1 - dense_weight) * keywords).astype(np.float32)


def readable_score(cosine: float) -> float:
    """Cosine of question and passage to a 0..1 score; 0.5 is the confidence threshold.

    >>> round(readable_score(0.25), 2), round(readable_score(0.6), 2), round(readable_score(0.0), 2)
    (0.5, 0.91, 0.16)
    """
    return 1 / (1 + math.exp(-(cosine - CONFIDENT_COSINE) / COSINE_SCALE))


def is_confident(score: float) -> bool:
    return score >= 0.5


def group_passages(
    order: list[int],
    fused: dict[int, float],
    section_of: list[int],
    k: int,
    merge_ratio: float = 0.85,
    max_merged: int = 3,
    diversify: bool = True,
    mergeable: Collection[int] | None = None,
) -> list[list[int]]:
    """Chunks (best first) into at most `k` passages, each a run of neighbouring chunks.

    One passage per section comes first, so a section cannot fill the list; a chunk
    next to a chosen passage of its section joins it when it scores at least
    `merge_ratio` of that passage's best chunk (and, if given, is in `mergeable`:
    merging weak answers only makes them longer).  Further chunks of sections already
    chosen follow only when fewer than `k` sections are on offer.

    >>> sections = [0, 0, 1, 1, 1, 1, 2, 2, 2, 2]
    >>> group_passages([4, 5, 9, 1], {4: 1.0, 5: 0.9, 9: 0.5, 1: 0.4}, sections, 2)
    [[4, 5], [9]]
    """
    if not diversify:
        return [[chunk] for chunk in order[:k]]
    groups: list[list[int]] = []
    by_section: dict[int, list[int]] = {}
    rest: list[int] = []
    for chunk in order:
        group = by_section.get(section_of[chunk])
        if group is None:
            if len(groups) < k:
                by_section[section_of[chunk]] = [chunk]
                groups.append(by_section[section_of[chunk]])
            else:
                rest.append(chunk)
        elif (
            len(group) < max_merged
            and (chunk == min(group) - 1 or chunk == max(group) + 1)
            and fused[chunk] >= merge_ratio * fused[group[0]]
            and (mergeable is None or chunk in mergeable)
        ):
            group.append(chunk)
        else:
            rest.append(chunk)
    groups += [[chunk] for chunk in rest[: max(0, k - len(groups))]]
    return groups
