"""Passages as terminal text: citation, score, and the text with its answer sentences marked.

Bold on a terminal; `**...**` markers otherwise, so piped output keeps the marks.
Control characters from documents (escape sequences that could retitle the
window, clear the screen or hide text; bidirectional overrides) are shown as
`\\x1b`-style escapes, never sent to the terminal as they are.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

from qa.rank.highlight import segments
from qa.text.sentences import harmless

if TYPE_CHECKING:
    from qa.rank.passage import Passage

BOLD, RESET = "\033[1m", "\033[0m"


def mark_highlights(passage: Passage, color: bool) -> str:
    """The passage text with each highlight wrapped in bold (terminal) or ** markers."""
    start_mark, end_mark = (BOLD, RESET) if color else ("**", "**")
    parts = segments(passage.text, passage.highlights)
    if parts == [(passage.text, True)]:
        return harmless(passage.text)  # the whole text: nothing to single out
    return "".join(
        f"{start_mark}{harmless(piece)}{end_mark}" if marked else harmless(piece)
        for piece, marked in parts
    )


def render_passages(passages: Sequence[Passage], color: bool = False) -> str:
    """Numbered passages for a terminal, with a notice when none is a confident answer."""
    if not passages:
        return "No passages found."
    lines = []
    if not any(p.confident for p in passages):
        unmentioned = passages[0].unmentioned
        reason = f" (the documents never mention {', '.join(unmentioned)})" if unmentioned else ""
        lines += [f"No passage answers this confidently{reason}; the closest are:", ""]
    for rank, passage in enumerate(passages, start=1):
        citation = harmless(passage.citation, one_line=True)
        citation = f"{BOLD}{citation}{RESET}" if color else citation
        lines.append(f"{rank}. {citation}  (score {passage.percent / 100:.2f})")
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
