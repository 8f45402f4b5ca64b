"""What a search returns: `Passage`, a cited piece of source text with its score and highlights.

Also the two rules that shape a list of them: a passage of neighbouring chunks spans
from its first chunk to its last (`joined_span`), and the score shown never rises down
the list (`never_rising`).

Not here: finding or ranking passages (see `qa.rank.search`, `qa.rank.ranking`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

from qa.rank.highlight import Highlight
from qa.readers.base import Span


@dataclass(frozen=True)
class Passage:
    """One answer: source text with its citation.

    `score` runs from 0 to 1, higher is better: how likely the passage answers the
    question (`qa.rank.confidence.answer_scores`), and 0.5 is the line between a credible
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


def joined_span(first: Span | None, last: Span | None) -> Span | None:
    """The span of a passage of neighbouring chunks: from the first chunk to the last."""
    if first is None or last is None:
        return first or last
    return Span(first.unit, first.first, last.last)


def never_rising(passages: list[Passage]) -> list[Passage]:
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
