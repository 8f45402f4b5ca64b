"""Answer highlights: the one or two sentences of a passage that best answer the question.

Sentences are scored by the cosine between the question and the sentence (the
sentence vectors are computed once, at build time) plus a bonus for the share
of the question's keywords the sentence contains.  No language model is used.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from qa.rank.lexical import terms

KEYWORD_BONUS = 0.3  # added at full keyword overlap; cosines run roughly 0..0.9
SECOND_SENTENCE_RATIO = 0.9  # a second sentence is marked only when nearly as good


@dataclass(frozen=True)
class Highlight:
    """A sentence of a passage that answers the question: `passage.text[start:end] == text`."""

    start: int
    end: int
    text: str


def segments(text: str, highlights: Sequence[Highlight]) -> list[tuple[str, bool]]:
    """`text` cut into (piece, is_highlight) in reading order, for marking up.

    Overlapping, empty or out-of-range highlights are left unmarked rather than marked wrong.

    >>> segments("Ab. Cd.", [Highlight(4, 7, "Cd.")])
    [('Ab. ', False), ('Cd.', True)]
    """
    pieces: list[tuple[str, bool]] = []
    position = 0
    for highlight in sorted(highlights, key=lambda h: h.start):
        if (
            highlight.start < position
            or highlight.end <= highlight.start
            or highlight.end > len(text)
        ):
            continue
        pieces += [
            (text[position : highlight.start], False),
            (text[highlight.start : highlight.end], True),
        ]
        position = highlight.end
    pieces.append((text[position:], False))
    return [(piece, marked) for piece, marked in pieces if piece]


def choose_highlights(
    text: str,
    spans: Sequence[tuple[int, int]],
    cosines: Sequence[float],
    query_terms: Sequence[str],
    sentence_terms: Sequence[Collection[str]] | None = None,
    limit: int = 2,
) -> tuple[Highlight, ...]:
    """The best `limit` sentences of `text` (at most), in reading order.

    `sentence_terms` are the terms of each sentence when known already (a Searcher
    keeps them); otherwise they are worked out here.

    >>> choose_highlights("Roads matter. Patrols protect civilians.", [(0, 13), (14, 40)],
    ...                   [0.1, 0.5], ["protect", "civilian"])
    (Highlight(start=14, end=40, text='Patrols protect civilians.'),)
    """
    if not spans:
        return ()
    wanted = set(query_terms)
    if sentence_terms is None:
        sentence_terms = [terms(text[start:end]) for start, end in spans] if wanted else []
    scores = [float(cosine) for cosine in cosines]
    if wanted:
        for i, found in enumerate(sentence_terms):
            scores[i] += KEYWORD_BONUS * len(wanted.intersection(found)) / len(wanted)
    ranked = sorted(range(len(spans)), key=lambda i: -scores[i])
    limit = min(limit, max(1, len(spans) - 1))  # marking every sentence would single out none
    best = scores[ranked[0]]
    chosen = [ranked[0]] + [
        i for i in ranked[1:limit] if best > 0 and scores[i] >= SECOND_SENTENCE_RATIO * best
    ]
    return tuple(Highlight(*spans[i], text[slice(*spans[i])]) for i in sorted(chosen))
