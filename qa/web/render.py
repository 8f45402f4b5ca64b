"""The answer box, the sources and a section in context, as HTML for the web app: no Gradio.

Every string that comes from the corpus, the index or the question goes
through `esc`, so a document holding `<script>` shows as text; file names and headings
go through `esc_name`, so a line break or right-to-left mark in one never reaches the
page either.  Braces are
escaped too: Gradio's HTML component runs its content through a template engine.

    >>> esc("<b>{x}</b>")
    '&lt;b&gt;&#123;x&#125;&lt;/b&gt;'

Not here: the index panel (see `qa.web.panel`), searching (see `qa.rank.search`) or
wiring components (see `qa.web.app`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from qa.rank.highlight import answer_text, segments
from qa.rank.lexical import quoted_phrases
from qa.readers.base import Span
from qa.text.sentences import harmless

if TYPE_CHECKING:
    from qa.rank.passage import Passage
    from qa.text.sections import Section

NO_MATCH = "The documents don't seem to answer this; closest passages:"
STRONG = 0.7  # a confident best passage this sure reads "Answer"; below it, "Possible answer"
SHOWN_QUESTION = 120  # characters of the question echoed above the sources


def esc(text: str) -> str:
    """HTML-escaped text that no template engine will expand: `{{x}}` and `${x}` stay literal."""
    return (
        html.escape(text, quote=True)
        .replace("{", "&#123;")
        .replace("}", "&#125;")
        .replace("$", "&#36;")
    )


def esc_name(text: str) -> str:
    r"""A file name, heading or citation for the page: on one line, its control characters
    written out (`qa.text.sentences.harmless`), then escaped.

    >>> esc_name("a\n<b>\u202e.txt")
    'a\\x0a&lt;b&gt;\\u202e.txt'
    """
    return esc(harmless(text, one_line=True))


def share_link(question: str, k: int, documents: Sequence[str] | None = None) -> str:
    """The page address that reruns a search: `?q=what+is+political+will&k=3`, then
    `&doc=report.pdf` for each document it asked, if not all."""
    pairs = [("q", question), ("k", str(k)), *(("doc", name) for name in documents or ())]
    return "?" + urlencode(pairs)


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
        f"<mark>{esc(piece)}</mark>" if marked else esc(piece)
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
        pieces += [esc(line[position:start]), "<mark>", esc(line[start:end]), "</mark>"]
        position = end
    pieces.append(esc(line[position:]))
    return "".join(pieces)


def section_place(section: Section, rendered: bool = False) -> str:
    """`pages 4–5` for a section of a PDF, `lines 5–7` for a text file, and "" for an HTML
    or Word file (`rendered`: its lines are qa's reading of it, not the file's)."""
    if section.pages:
        return Span("page", section.pages[0][1], section.pages[-1][1]).label
    return "" if rendered else lines_label(section.start_line, section.end_line)


def section_html(section: Section, passage: Passage) -> str:
    """The whole section; the passage's lines carry class `qa-hit`.

    A text file's section is its lines as they are, numbered as in the file.  A PDF, HTML
    or Word section (a passage placed by a `Span`) is shown as read (`_rendered_rows`), with
    no line numbers: those of qa's reading would match nothing the reader can open.
    """
    rendered = passage.span is not None or bool(section.pages)
    sentences = [h.text.strip() for h in passage.highlights]
    rows = (_rendered_rows if rendered else _numbered_rows)(section, passage, sentences)
    title = " › ".join(section.path) or section.title
    place = section_place(section, rendered)
    where = f'<span class="qa-where">&nbsp;· {esc(place)}</span>' if place else ""
    return (
        f'<div class="qa-section" aria-label="Section in context">'
        f'<p class="qa-section-head">{esc_name(section.doc)} › <b>{esc_name(title)}</b>'
        f"{where}</p>"
        # Focusable, so a long section's lines scroll from the keyboard too.
        f'<div class="qa-lines{" qa-rendered" if rendered else ""}" tabindex="0">'
        f"{''.join(rows)}</div></div>"
    )


def _numbered_rows(section: Section, passage: Passage, sentences: Sequence[str]) -> list[str]:
    """The lines of a text file's section as they are, each with its number in the file."""
    rows = []
    for number, line in enumerate(section.text.split("\n"), start=section.start_line):
        hit = passage.start_line <= number <= passage.end_line
        body = _mark_line(line, sentences) if hit else esc(line)
        rows.append(
            f'<div class="{_classes(line, hit)}"><span class="qa-ln">{number}</span>'
            f'<span class="qa-src">{body}</span></div>'
        )
    return rows


def _classes(line: str, hit: bool, extra: str = "") -> str:
    return "qa-line" + extra + (" qa-hit" if hit else "") + ("" if line.strip() else " qa-blank")


_HEADING = re.compile(r"(#{1,6}) +(?=\S)")  # how the PDF, HTML and Word readers write one


def _rendered_rows(section: Section, passage: Passage, sentences: Sequence[str]) -> list[str]:
    """A PDF, HTML or Word section as read: `## 2.1 Data` a heading "2.1 Data", the lines of
    a paragraph flowing as one, `- item` (a list item of HTML or Word) a bulleted item, and
    in a PDF a separator row, `page 5`, where each of its pages begins, the first included."""
    pages = dict(section.pages)
    sentences = [" ".join(s.split()) for s in sentences]  # as the paragraph's lines flow
    rows: list[str] = []
    block: list[tuple[int, str]] = []  # the paragraph so far: (line number, text)
    for number, line in enumerate(section.text.split("\n"), start=section.start_line):
        heading = _HEADING.match(line)
        if number in pages or heading or not line.strip() or line.startswith("- "):
            rows += _paragraph(block, passage, sentences)
            block = []
        if number in pages:
            page = esc(f"page {pages[number]}")
            rows.append(
                f'<div class="qa-page-break" role="separator" aria-label="{page}">{page}</div>'
            )
        if heading:
            hit = passage.start_line <= number <= passage.end_line
            level = min(6, len(heading.group(1)) + 2)  # under the page's title and results
            rows.append(
                f'<div class="{_classes(line, hit, " qa-heading")}" role="heading" '
                f'aria-level="{level}"><span class="qa-src">{esc(line[heading.end() :])}'
                "</span></div>"
            )
        elif line.strip():
            block.append((number, line.strip()))
    return rows + _paragraph(block, passage, sentences)


def _paragraph(
    block: Sequence[tuple[int, str]], passage: Passage, sentences: Sequence[str]
) -> list[str]:
    """The lines of one paragraph as one row, its answer sentences marked if it is the
    passage's; a list item's dash a bullet."""
    if not block:
        return []
    hit = any(passage.start_line <= number <= passage.end_line for number, _ in block)
    text = " ".join(" ".join(line for _, line in block).split())
    item = text.startswith("- ")
    text = text[2:] if item else text
    body = ("• " if item else "") + (_mark_line(text, sentences) if hit else esc(text))
    classes = _classes(text, hit, " qa-para")
    return [f'<div class="{classes}"><span class="qa-src">{body}</span></div>']


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


def citation_html(passage: Passage, section: Section | None) -> str:
    """The citation; with its section, a toggle that shows it ("Read in context", then "Hide")."""
    path = esc_name(" › ".join(passage.section_path) or passage.section)
    place = esc(where(passage)).replace(" ", "&nbsp;")
    cite = (
        f'<cite class="qa-cite">{esc_name(passage.doc)} › <b>{path}</b>'
        f'<span class="qa-where">&nbsp;· {place}</span></cite>'
    )
    if section is None:
        return f'<div class="qa-cite-row">{cite}</div>'
    return (
        f'<details class="qa-context"><summary>{cite} <span class="qa-open">'
        '<span class="qa-show">Read<span class="qa-wide"> in context</span></span>'
        '<span class="qa-hide">Hide</span>'
        f"</span></summary>{section_html(section, passage)}</details>"
    )


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
