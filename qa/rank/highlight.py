"""Answer highlights: the one or two sentences of a passage that best answer the question,
and the answer's words made from them (`answer_text`).

Sentences are scored by the cosine between the question and the sentence (the
sentence vectors are computed once, at build time) plus a bonus for the share
of the question's keywords the sentence contains.  No language model is used, so an
answer is made of the document's own sentences, never rewritten.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from qa.rank.lexical import terms
from qa.text.sentences import LIST_ITEM, sentence_spans

KEYWORD_BONUS = 0.3  # added at full keyword overlap; cosines run roughly 0..0.9
SECOND_SENTENCE_RATIO = 0.9  # a second sentence is marked only when nearly as good
ANSWER_CHARS = 500  # an answer's words at most, a list's items included
GAP = " … "  # between sentences that do not follow each other in the document
# A sentence that announces several things ("Partnerships encounter several challenges"):
# what follows it is the list of them.  "various" is left out: "challenges posed by
# various conflicts" announces nothing.
_ANNOUNCES = re.compile(
    r"\b(several|the following|a number of|numerous|multiple|"
    r"two|three|four|five|six|seven|eight|nine|ten)\b",
    re.IGNORECASE,
)


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


def answer_text(
    text: str, highlights: Sequence[Highlight], following: str = "", limit: int = ANSWER_CHARS
) -> str:
    """The answer's words: the highlighted sentences of `text` in reading order, those that
    do not follow each other joined with " … ".  An answer that leads in to a list (it ends
    with a colon, or announces several things) goes on with the list's items: the next
    sentence of its paragraph, then the first sentence of each later paragraph or bullet of
    `following` (the rest of its section), while the whole fits in `limit` characters.

    >>> text = "Roads matter. Trucks rust. Patrols protect civilians."
    >>> marks = [Highlight(0, 13, "Roads matter."), Highlight(27, 53, "Patrols protect civilians.")]
    >>> answer_text(text, marks)
    'Roads matter. … Patrols protect civilians.'
    >>> answer_text("Three aims:", [Highlight(0, 11, "Three aims:")], "\\n• Peace. Why.\\n• Aid.")
    'Three aims: • Peace. … • Aid.'
    """
    marked = sorted({(h.start, h.end) for h in highlights if 0 <= h.start < h.end <= len(text)})
    if not marked:
        return ""
    whole = text + ("\n\n" + following if following.strip() else "")
    spans = sentence_spans(whole)
    lead = _lead_in(whole, spans, marked[-1], len(text))
    pieces = list(marked)
    if lead is not None:
        if lead not in pieces:
            pieces.append(lead)
        room = limit - len(_joined(whole, pieces))
        for item in _items(whole, spans, lead):
            room -= len(GAP) + item[1] - item[0]
            if room < 0:
                break
            pieces.append(item)
    return _joined(whole, pieces)


def _lead_in(
    whole: str, spans: Sequence[tuple[int, int]], last: tuple[int, int], end: int
) -> tuple[int, int] | None:
    """The sentence that leads in to a list: the last highlight when it ends with a colon or
    announces several things, else the passage's last sentence when it ends with a colon;
    None when neither."""
    marked = whole[last[0] : last[1]].rstrip()
    if marked.endswith(":") or _ANNOUNCES.search(marked):
        return last
    closing = [span for span in spans if span[1] <= end]
    if closing and whole[closing[-1][0] : closing[-1][1]].rstrip().endswith(":"):
        return closing[-1]
    return None


def _items(
    whole: str, spans: Sequence[tuple[int, int]], lead: tuple[int, int]
) -> list[tuple[int, int]]:
    """The list's items after `lead`: the next sentence of its paragraph, then the first
    sentence of each later paragraph or bullet; a list of bullets ends at the first
    paragraph after them."""
    items: list[tuple[int, int]] = []
    previous, bullets = lead, False
    for span in spans:
        if span[0] < lead[1]:
            continue
        gap = whole[previous[1] : span[0]]
        bullet = bool(LIST_ITEM.match(whole[span[0] : span[1]]))
        if bullets and "\n\n" in gap and not bullet:
            break
        if bullet or "\n\n" in gap or (previous == lead and not gap.strip()):
            items.append(span)
        previous, bullets = span, bullets or bullet
    return items


def _joined(whole: str, pieces: Sequence[tuple[int, int]]) -> str:
    """The pieces of `whole` in reading order: a space between those that follow each other
    (nothing but white space between them), " … " between the others."""
    words: list[str] = []
    end = None
    for start, stop in sorted(pieces):
        if end is not None:
            words.append(" " if not whole[end:start].strip() else GAP)
        words.append(" ".join(whole[start:stop].split()))
        end = stop
    return "".join(words)
