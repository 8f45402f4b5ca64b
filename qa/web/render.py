"""The answer box and the sources, as HTML for the web app: no Gradio.

`results_html` is what the page shows for a question: the answer box (`answer_html`: the
best passage's answer sentences and how sure qa is), a summary with a link to the search,
and a card per source (`card_html`); else why nothing came back, or a `message_html`.
Every string from the corpus, the index or the question goes through `esc` or `esc_name`
(see `qa.web.escape`).

Not here: a citation and its section in context (see `qa.web.context`), the index panel
(see `qa.web.panel`), searching (see `qa.rank.search`) or wiring components (see
`qa.web.app`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from qa.rank.highlight import answer_text, segments
from qa.rank.lexical import quoted_phrases
from qa.web.context import citation_html, section_html
from qa.web.escape import esc, esc_name

if TYPE_CHECKING:
    from qa.rank.passage import Passage
    from qa.text.sections import Section

# What other modules and the tests import from here; `section_html` and `citation_html` are
# `qa.web.context`'s, `esc` and `esc_name` `qa.web.escape`'s.
__all__ = [
    "NO_MATCH",
    "answer_html",
    "card_html",
    "citation_html",
    "empty_html",
    "esc",
    "esc_name",
    "mark_highlights",
    "message_html",
    "results_html",
    "section_html",
    "share_link",
    "verdict",
]

NO_MATCH = "The documents don't seem to answer this; closest passages:"
STRONG = 0.7  # a confident best passage this sure reads "Answer"; below it, "Possible answer"
SHOWN_QUESTION = 120  # characters of the question echoed above the sources


def share_link(question: str, k: int, documents: Sequence[str] | None = None) -> str:
    """The page address that reruns a search: `?q=what+is+political+will&k=3`, then
    `&doc=report.pdf` for each document it asked, if not all."""
    pairs = [("q", question), ("k", str(k)), *(("doc", name) for name in documents or ())]
    return "?" + urlencode(pairs)


def mark_highlights(passage: Passage) -> str:
    """The passage text, escaped, with each highlight in a `<mark>`; bad offsets are ignored."""
    return "".join(
        f"<mark>{esc(piece)}</mark>" if marked else esc(piece)
        for piece, marked in segments(passage.text, passage.highlights)
    )


def _short(text: str, limit: int = SHOWN_QUESTION) -> str:
    """`text` cut to `limit` characters at a word, with "…": a long question is not echoed whole."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip() + "…"


def verdict(passage: Passage) -> tuple[str, str]:
    """How sure qa is of its best passage, as (kind, words): `("sure", "Answer")`."""
    if not passage.confident:
        return "none", NO_MATCH
    if passage.percent >= round(STRONG * 100):
        return "sure", "Answer"
    return "maybe", "Possible answer"


def answer_html(passage: Passage, section: Section | None) -> str:
    """The answer box: the best passage's answer sentences, its citation, how sure qa is."""
    kind, words = verdict(passage)
    if kind == "none":
        if passage.unmentioned:  # say why: the question names what the documents never do
            why = f" (they never mention {', '.join(passage.unmentioned)});"
            words = words.replace(";", why, 1)
        return f'<div class="qa-answer qa-answer-none" role="status"><p>{esc(words)}</p></div>'
    following = _following(passage, section)
    sentences = answer_text(passage.text, passage.highlights, following) or _short(
        passage.text, 300
    )
    return (
        f'<section class="qa-answer qa-answer-{kind}" aria-label="{words}">'
        f'<p class="qa-verdict">{words} <span class="qa-sure">· {passage.percent}% match</span>'
        f'</p><p class="qa-answer-text">{esc(sentences)}</p>'
        f"{citation_html(passage, section)}</section>"
    )


def _following(passage: Passage, section: Section | None) -> str:
    """The text of `passage`'s section after it: where a list it leads in to goes on."""
    if section is None or passage.doc != section.doc:
        return ""
    lines = section.text.split("\n")
    return "\n".join(lines[max(0, passage.end_line - section.start_line + 1) :])


def card_html(rank: int, passage: Passage, section: Section | None) -> str:
    """One source: rank, score, citation (opens the section) and the marked passage.

    A passage that is not a confident answer says "weak match" and gives no percentage:
    a figure beside it would read as how likely it answers, which it does not.
    """
    percent = passage.percent
    weak = "" if passage.confident else " qa-weak"
    label = f"{percent}%" if passage.confident else "weak match"
    title = f"Relevance {percent}%" if passage.confident else "Not a confident answer"
    return (
        f'<article class="qa-card{weak}" data-rank="{rank}" '
        f'data-citation="{esc_name(passage.citation)}">'
        f'<div class="qa-card-top"><span class="qa-rank">{rank}</span>'
        f'<span class="qa-score" title="{title}">'
        f'<span class="qa-bar" aria-hidden="true"><span style="width:{percent}%"></span></span>'
        f"{label}</span></div>"
        f'{citation_html(passage, section)}<p class="qa-text">{mark_highlights(passage)}</p>'
        "</article>"
    )


def empty_html(question: str, documents: Sequence[str] | None = None) -> str:
    """Why no passage came back: a quoted phrase found nowhere (in the documents asked), or
    an index without passages."""
    phrases = quoted_phrases(question)
    if phrases:
        quoted = " and ".join(f"“{_short(p, 60)}”" for p in phrases)
        of = f" of {', '.join(documents)}" if documents else ""
        text = (
            f"No passage{of} contains {quoted}: check the spelling, "
            "or remove the quotes to search by meaning."
        )
    else:
        text = "The index holds no passages: add .txt or .md documents to the corpus and rebuild."
    return f'<div class="qa-results"><p class="qa-empty" role="status">{esc(text)}</p></div>'


def results_html(
    question: str,
    hits: Sequence[tuple[Passage, Section | None]],
    k: int = 5,
    documents: Sequence[str] | None = None,
) -> str:
    """The answer box, then every passage as a source card (or why there is none); the
    summary names the `documents` asked, when not all."""
    if not hits:
        return empty_html(question, documents)
    count = f"{len(hits)} source{'s' if len(hits) != 1 else ''}"
    within = f" in {esc(_short(', '.join(documents)))}" if documents else ""
    link = share_link(question, k, documents)
    parts = [
        '<div class="qa-results">',
        answer_html(*hits[0]),
        f'<p class="qa-summary">{count} for <q>{esc(_short(question))}</q>{within} · '
        f'<a class="qa-share" href="{esc(link)}">link to this search</a></p>',
    ]
    parts += [card_html(rank, p, s) for rank, (p, s) in enumerate(hits, start=1)]
    parts.append("</div>")
    return "".join(parts)


def message_html(text: str, *, error: bool = False) -> str:
    """A friendly one-line message in place of results (an error is styled as a warning)."""
    kind = "qa-error" if error else "qa-hint"
    return f'<div class="qa-results"><p class="{kind}" role="status">{esc(text)}</p></div>'
