"""The index panel as HTML and as a one-line status: pure functions, no Gradio.

The status line is the panel's label ("1 document · 18 sections · built 3 min ago ·
up to date"); the panel under it lists the facts of the index that answers and
whether the corpus changed since its build.

    >>> plural(1, "document"), plural(9, "document")
    ('1 document', '9 documents')

Not here: the answers (see `qa.web.render`) or what the facts are (see `qa.web.state`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from qa.web.escape import esc

if TYPE_CHECKING:
    from qa.index.status import IndexStatus


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def ago(built_at: str, now: datetime | None = None) -> str:
    """`just now`, `5 min ago`, `3 h ago` or `4 days ago`; "" if `built_at` does not parse."""
    try:
        when = datetime.fromisoformat(built_at).astimezone(UTC)
    except (TypeError, ValueError):
        return ""
    minutes = int(((now or datetime.now(UTC)) - when).total_seconds() // 60)
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} min ago"
    return f"{minutes // 60} h ago" if minutes < 48 * 60 else f"{minutes // 1440} days ago"


def built_label(built_at: str, now: datetime | None = None) -> str:
    """`2026-11-23 20:31 UTC (5 min ago)` from an ISO time; the raw text if it does not parse."""
    try:
        when = datetime.fromisoformat(built_at).astimezone(UTC)
    except (TypeError, ValueError):
        return built_at
    return f"{when:%Y-%m-%d %H:%M} UTC ({ago(built_at, now)})"


def status_line(
    counts: tuple[int, int],
    built_at: str,
    status: IndexStatus | None,
    *,
    rebuilding: bool = False,
) -> str:
    """The panel's one-line label: `1 document · 18 sections · built 3 min ago · up to date`,
    a no-break space before each "·"."""
    documents, sections = counts
    parts = [plural(documents, "document"), plural(sections, "section")]
    when = ago(built_at)
    if when:
        parts.append(f"built {when}")
    if rebuilding:
        parts.append("rebuilding…")
    elif status is not None:
        parts.append("up to date" if status.fresh else "the corpus changed")
    # No break before a "·": a line of the wrapped label never starts with one.
    return "\u00a0· ".join(parts)


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
    last = f'<p class="qa-watch">{esc(note)}</p>' if note else ""
    if problem:
        return f'<div class="qa-index"><p class="qa-error">{esc(problem)}</p>{last}</div>'
    rows = "".join(f"<dt>{esc(key)}</dt><dd>{esc(value)}</dd>" for key, value in facts.items())
    if status is None:
        state = ""
    elif status.fresh:
        state = '<p class="qa-fresh">✓ Up to date with the corpus.</p>'
    else:
        state = f'<p class="qa-stale">⚠ {esc(stale_label(status))} {esc(fix)}</p>'
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
    return f'<div class="qa-progress" role="status">{bar}<span>{esc(stage)}</span></div>'
