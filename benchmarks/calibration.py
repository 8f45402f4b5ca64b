"""Reliability of the answer score, family by family: predicted against observed.

For every question of a family, the first passage's score (the probability qa shows that
it answers) is put in one of ten bins; the bin's observed rate is the share of its first
passages that hold the answer (an unanswerable question's never does).  A calibrated
score has observed ≈ predicted in every bin.  Each family is scored with the numbers
fitted without it (`qa.rank.fitted`, `held_out`): how the score holds on documents it never saw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from families import Family, searcher_of

from qa.eval.evaluate import read_questions
from qa.rank.fitted import fitted_for
from qa.rank.search import Searcher

BINS = 10


@dataclass(frozen=True)
class Bin:
    low: float
    high: float
    count: int
    predicted: float  # mean score of its first passages
    observed: float  # share of them that answer


def reliability(family: Family) -> list[Bin]:
    """The reliability bins of `family`'s questions (its judged files), held out."""
    searcher = searcher_of(family)
    scorers = fitted_for(searcher.index.manifest.model).held_out.get(family.name)
    ranked = Searcher(searcher.index, embedder=searcher.embedder, scorers=scorers)
    scores, right = [], []
    for path in family.judged:
        for q in read_questions(path):
            documents = list(q.documents) if q.documents else None
            passages = ranked.search(q.question, 1, documents=documents)
            if passages:
                scores.append(passages[0].score)
                right.append(bool(q.gold) and q.is_hit(passages[0]))
    s, r = np.array(scores), np.array(right)
    which = np.minimum((s * BINS).astype(int), BINS - 1)
    return [
        Bin(
            b / BINS,
            (b + 1) / BINS,
            int(n),
            float(s[which == b].mean()),
            float(r[which == b].mean()),
        )
        for b in range(BINS)
        if (n := (which == b).sum())
    ]


def describe(name: str, bins: list[Bin]) -> str:
    """A text reliability diagram: one line per bin, observed as a bar."""
    lines = [f"{name}: score bin, questions, mean score, share answered"]
    for b in bins:
        bar = "█" * round(b.observed * 20)
        lines.append(
            f"  {b.low:.1f}–{b.high:.1f} {b.count:5d}  {b.predicted:.2f}  {b.observed:.2f} {bar}"
        )
    total = sum(b.count for b in bins) or 1
    gap = sum(b.count * abs(b.predicted - b.observed) for b in bins) / total
    lines.append(f"  expected calibration error {gap:.3f}")
    return "\n".join(lines)
