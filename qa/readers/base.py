"""What every reader returns: the text of a file, and where its lines are in the file.

Not here: reading any format (see the modules beside this one).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    """Where a passage is in a PDF (pages) or an HTML or Word file (paragraphs).

    >>> Span("page", 4, 4).label, Span("page", 4, 5).label
    ('page 4', 'pages 4–5')
    """

    unit: str  # "page" or "paragraph"
    first: int
    last: int

    @property
    def label(self) -> str:
        if self.first == self.last:
            return f"{self.unit} {self.first}"
        return f"{self.unit}s {self.first}–{self.last}"


@dataclass(frozen=True)
class Layout:
    """`starts[i]` is the line of the read text where page (or paragraph) i + 1 begins.

    >>> Layout("page", (1, 10, 25)).span(12, 30)
    Span(unit='page', first=2, last=3)
    """

    unit: str
    starts: tuple[int, ...]

    def number(self, line: int) -> int:
        return max(1, bisect.bisect_right(self.starts, line))

    def span(self, start_line: int, end_line: int) -> Span:
        return Span(self.unit, self.number(start_line), self.number(end_line))

    def breaks(self, start_line: int, end_line: int) -> tuple[tuple[int, int], ...]:
        """(line, number) of each page that lines `start_line`..`end_line` touch, where it
        begins among them: the first is `start_line` and the page it is in.

        >>> Layout("page", (1, 10, 25)).breaks(5, 30)
        ((5, 1), (10, 2), (25, 3))
        """
        inside = sorted({line for line in self.starts if start_line < line <= end_line})
        return tuple((line, self.number(line)) for line in [start_line, *inside])


@dataclass(frozen=True)
class Reading:
    """A file as text (with `#` headings when a layout is given); `notes` are warnings."""

    text: str
    layout: Layout | None = None
    notes: tuple[str, ...] = ()


def paragraphs_reading(blocks: list[str]) -> Reading:
    r"""Blocks (Markdown lines: headings, paragraphs, list items) as text, one paragraph each.

    >>> paragraphs_reading(["# Title", "Body."]).text
    '# Title\n\nBody.\n'
    """
    starts: list[int] = []
    lines: list[str] = []
    for block in blocks:
        starts.append(len(lines) + 1)
        lines += [block, ""]
    return Reading("\n".join(lines[:-1]) + "\n", Layout("paragraph", tuple(starts)))
