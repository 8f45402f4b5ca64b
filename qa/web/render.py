"""Passages and index facts as HTML fragments for the web app: pure functions, no Gradio.

Every string that comes from the corpus, the index or the question goes
through `_esc`, so a document holding `<script>` shows as text.  Braces are
escaped too: Gradio's HTML component runs its content through a template engine.

    >>> results_html("q", [])
    '<div class="qa-results"><p class="qa-empty">No passages found: is the corpus empty?</p></div>'

Not here: searching (see `qa.search`) or wiring components (see `qa.web.app`).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from qa.highlight import segments

if TYPE_CHECKING:
    from qa.chunking import Section
    from qa.index import IndexStatus
    from qa.search import Passage

NO_MATCH = "The document does not seem to answer this; the closest passages are below."


def _esc(text: str) -> str:
    """HTML-escaped text that no template engine will expand: `{{x}}` and `${x}` stay literal."""
    return (
        html.escape(text, quote=True)
        .replace("{", "&#123;")
        .replace("}", "&#125;")
        .replace("$", "&#36;")
    )


def share_link(question: str, k: int) -> str:
    """The page address that reruns a search: `?q=what+is+political+will&k=3`."""
    return "?" + urlencode({"q": question, "k": k})


def lines_label(start: int, end: int) -> str:
    """`line 5` or `lines 5–7`."""
    return f"line {start}" if start == end else f"lines {start}–{end}"


def where(passage: Passage) -> str:
    """`pages 4–5` for a PDF, `paragraph 3` for HTML and Word, else `lines 5–7`."""
    if passage.span is not None:
        return passage.span.label
    return lines_label(passage.start_line, passage.end_line)


def mark_highlights(passage: Passage) -> str:
    """The passage text, escaped, with each highlight in a `<mark>`; bad offsets are ignored."""
    return "".join(
        f"<mark>{_esc(piece)}</mark>" if marked else _esc(piece)
        for piece, marked in segments(passage.text, passage.highlights)
    )


def _mark_line(line: str, sentences: Sequence[str]) -> str:
    """One source line, escaped, with the first occurrence of each answer sentence marked."""
    spans = sorted(
        (line.find(s), line.find(s) + len(s)) for s in sentences if s and line.find(s) >= 0
    )
    pieces, position = [], 0
    for start, end in spans:
        if start < position:
            continue
        pieces += [_esc(line[position:start]), "<mark>", _esc(line[start:end]), "</mark>"]
        position = end
    pieces.append(_esc(line[position:]))
    return "".join(pieces)


def section_html(section: Section, passage: Passage) -> str:
    """The whole section with line numbers; the passage's lines carry class `qa-hit`."""
    sentences = [h.text.strip() for h in passage.highlights]
    rows = []
    for number, line in enumerate(section.text.split("\n"), start=section.start_line):
        hit = passage.start_line <= number <= passage.end_line
        body = _mark_line(line, sentences) if hit else _esc(line)
        classes = "qa-line" + (" qa-hit" if hit else "") + ("" if line.strip() else " qa-blank")
        rows.append(
            f'<div class="{classes}"><span class="qa-ln">{number}</span>'
            f'<span class="qa-src">{body}</span></div>'
        )
    title = " › ".join(section.path) or section.title
    return (
        f'<div class="qa-section" aria-label="Section in context">'
        f'<p class="qa-section-head">{_esc(section.doc)} › <b>{_esc(title)}</b> · '
        f"{lines_label(section.start_line, section.end_line)}</p>"
        f'<div class="qa-lines">{"".join(rows)}</div></div>'
    )


def card_html(rank: int, passage: Passage, section: Section | None) -> str:
    """One result: rank, citation (opens the section), score bar and the marked passage."""
    percent = round(max(0.0, min(1.0, passage.score)) * 100)
    cite = (
        f'<cite class="qa-cite">{_esc(passage.doc)} › '
        f"<b>{_esc(' › '.join(passage.section_path) or passage.section)}</b> · "
        f"{where(passage)}</cite>"
    )
    if section is None:
        cite_block = f'<div class="qa-cite-row">{cite}</div>'
    else:
        cite_block = (
            f'<details class="qa-context"><summary title="Show the whole section">{cite}'
            f'<span class="qa-open">Read in context</span></summary>'
            f"{section_html(section, passage)}</details>"
        )
    weak = "" if passage.confident else " qa-weak"
    return (
        f'<article class="qa-card{weak}" data-rank="{rank}" '
        f'data-citation="{_esc(passage.citation)}">'
        f'<div class="qa-card-top"><span class="qa-rank">{rank}</span>'
        f'<span class="qa-score" title="Relevance {percent}%">'
        f'<span class="qa-bar"><span style="width:{percent}%"></span></span>'
        f"{percent}%</span></div>"
        f'{cite_block}<p class="qa-text">{mark_highlights(passage)}</p></article>'
    )


def results_html(
    question: str,
    hits: Sequence[tuple[Passage, Section | None]],
    k: int = 5,
) -> str:
    """All result cards, with the no-match notice first when no passage is a confident answer."""
    if not hits:
        return (
            '<div class="qa-results"><p class="qa-empty">'
            "No passages found: is the corpus empty?</p></div>"
        )
    parts = ['<div class="qa-results">']
    if not any(passage.confident for passage, _ in hits):
        parts.append(f'<div class="qa-notice" role="status">{NO_MATCH}</div>')
    count = f"{len(hits)} passage{'s' if len(hits) != 1 else ''}"
    parts.append(
        f'<p class="qa-summary">{count} for <q>{_esc(question)}</q> · '
        f'<a class="qa-share" href="{_esc(share_link(question, k))}">link to this search</a></p>'
    )
    parts += [card_html(rank, p, s) for rank, (p, s) in enumerate(hits, start=1)]
    parts.append("</div>")
    return "".join(parts)


def message_html(text: str, *, error: bool = False) -> str:
    """A friendly one-line message in place of results (an error is styled as a warning)."""
    kind = "qa-error" if error else "qa-hint"
    return f'<div class="qa-results"><p class="{kind}" role="status">{_esc(text)}</p></div>'


def built_label(built_at: str, now: datetime | None = None) -> str:
    """`2026-11-23 20:31 UTC (5 min ago)` from an ISO time; the raw text if it does not parse."""
    try:
        when = datetime.fromisoformat(built_at).astimezone(UTC)
    except (TypeError, ValueError):
        return built_at
    minutes = int(((now or datetime.now(UTC)) - when).total_seconds() // 60)
    ago = (
        "just now"
        if minutes < 1
        else f"{minutes} min ago"
        if minutes < 60
        else f"{minutes // 60} h ago"
        if minutes < 48 * 60
        else f"{minutes // 1440} days ago"
    )
    return f"{when:%Y-%m-%d %H:%M} UTC ({ago})"


def index_html(
    facts: dict[str, str],
    status: IndexStatus | None,
    problem: str = "",
    *,
    fix: str = "",
    note: str = "",
) -> str:
    """The index panel: a table of facts, then whether the corpus changed since the build.

    `fix` says how to bring a stale index up to date ("Press Rebuild index."); `note`
    is a last line, such as what the corpus watcher did.
    """
    last = f'<p class="qa-watch">{_esc(note)}</p>' if note else ""
    if problem:
        return f'<div class="qa-index"><p class="qa-error">{_esc(problem)}</p>{last}</div>'
    rows = "".join(f"<dt>{_esc(key)}</dt><dd>{_esc(value)}</dd>" for key, value in facts.items())
    if status is None:
        state = ""
    elif status.fresh:
        state = '<p class="qa-fresh">✓ Up to date with the corpus.</p>'
    else:
        state = f'<p class="qa-stale">⚠ {_esc(stale_label(status))} {_esc(fix)}</p>'
    return f'<div class="qa-index"><dl>{rows}</dl>{state}{last}</div>'


def stale_label(status: IndexStatus) -> str:
    """`The corpus changed since this build: added b.md; changed a.txt.`"""
    if status.missing:
        return "There is no index yet."
    parts = list(status.mismatches) + status.file_changes()
    changed = status.added or status.changed or status.removed
    lead = "The corpus changed since this build" if changed else "The index differs"
    return f"{lead}: {'; '.join(parts)}."


def progress_html(stage: str, fraction: float | None) -> str:
    """A rebuild step with a progress bar (an indeterminate one when `fraction` is None)."""
    bar = (
        '<span class="qa-bar qa-busy"><span></span></span>'
        if fraction is None
        else f'<span class="qa-bar"><span style="width:{round(fraction * 100)}%"></span></span>'
    )
    return f'<div class="qa-progress" role="status">{bar}<span>{_esc(stage)}</span></div>'
