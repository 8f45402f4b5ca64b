"""Passages as terminal text (`qa ask`)."""

from __future__ import annotations

from qa.passage import Passage
from qa.render import render_passages


def test_a_weak_passage_never_reads_as_if_it_were_at_the_confidence_line() -> None:
    # `qa ask` printed "(score 0.50)" under "No passage answers this confidently".
    weak = Passage(
        text="Rivers run to the sea.",
        doc="doc.txt",
        section="Rivers",
        section_path=("Rivers",),
        start_line=3,
        end_line=3,
        score=0.4996,
        confident=False,
        highlights=(),
    )
    shown = render_passages([weak], color=False)
    assert "No passage answers this confidently" in shown
    assert "doc.txt › Rivers, line 3  (score 0.49)" in shown
