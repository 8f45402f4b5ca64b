"""Passages as terminal text: citation, score, and the text with its answer sentences marked.

Bold on a terminal; `**...**` markers otherwise, so piped output keeps the marks.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qa.search import Passage

BOLD, RESET, DIM = "\033[1m", "\033[0m", "\033[2m"


def mark_highlights(passage: Passage, color: bool) -> str:
    """The passage text with each highlight wrapped in bold (terminal) or ** markers."""
    start_mark, end_mark = (BOLD, RESET) if color else ("**", "**")
    pieces, position = [], 0
    for highlight in sorted(passage.highlights, key=lambda h: h.start):
        if highlight.start < position or (
            highlight.start == 0 and highlight.end == len(passage.text)
        ):
            continue  # overlapping, or the whole text: nothing to single out
        pieces += [
            passage.text[position : highlight.start],
            start_mark,
            passage.text[highlight.start : highlight.end],
            end_mark,
        ]
        position = highlight.end
    pieces.append(passage.text[position:])
    return "".join(pieces)


def render_passages(passages: Sequence[Passage], color: bool = False) -> str:
    """Numbered passages for a terminal, with a notice when none is a confident answer."""
    if not passages:
        return "No passages found."
    lines = []
    if not any(p.confident for p in passages):
        lines += ["No passage answers this confidently; the closest are:", ""]
    for rank, passage in enumerate(passages, start=1):
        citation = f"{BOLD}{passage.citation}{RESET}" if color else passage.citation
        lines.append(f"{rank}. {citation}  (score {passage.score:.2f})")
        body = mark_highlights(passage, color)
        for paragraph in body.split("\n"):
            lines.append(
                textwrap.fill(
                    paragraph.strip(), width=88, initial_indent="   ", subsequent_indent="   "
                )
                if paragraph.strip()
                else ""
            )
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
