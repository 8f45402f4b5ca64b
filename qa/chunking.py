"""Cut documents into sections, and sections into chunks that the model reads whole.

Sections: Markdown ATX headings (`#` to `######`, not inside code fences) give
sections and their nesting.  In plain text a heading is a short line without
sentence-ending punctuation that stands alone between blank lines, is not a
list item and is followed by body text (a paragraph that could not itself be a
heading); the first heading is the document title.  A heading with no text under
it is read as text, so no line is lost for looking like a heading.  Text before
the first heading forms a section named after the file.

Chunks: each paragraph is a chunk; a paragraph shorter than `min_tokens` joins
its neighbour (a lead-in line and its list), and one longer than the model reads
is split at sentence boundaries, then at spaces, then inside words.  A chunk
never crosses a section and holds at most `CHARS_PER_TOKEN` characters per word
piece of the budget, whatever the text.  The only lines dropped are the "See
also" link lines of scraped pages (`is_noise`); `noise_lines` lists them.
Chunking is linear in the length of the text: the tokenizer never reads more
than one chunk's worth of characters at a time.

Not handled: setext Markdown headings (underlined with === or ---), tables as
structures, and headings inside HTML.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from qa.corpus import Document
from qa.readers.base import Span
from qa.text import LIST_ITEM, sentence_spans

TokenCounter = Callable[[str], int]
"""Number of word pieces in a text, without the model's special tokens."""

_SEE_ALSO = re.compile(r"[^\S\n]*see also\b", re.IGNORECASE | re.MULTILINE)
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HEADING_MAX_CHARS = 120
_MD_HEADING_MAX_CHARS = 300  # a longer "# ..." line is read as text, not as a title
_HEADING_MAX_WORDS = 16
_NO_HEADING_END = tuple(".!?:;,…")
_SENTENCE_END = tuple(".!?…")
_WORD = re.compile(r"\S+")
CHARS_PER_TOKEN = 10
"""A chunk holds at most this many characters per word piece of its budget (prose: ~4-5)."""


@dataclass(frozen=True)
class Section:
    """A titled part of a document; lines are 1-based and inclusive, heading included.

    `text` is the source lines `start_line`..`end_line` as they are in the file,
    so a reader can check a passage in its context.  `pages`, for a PDF only, is
    the (line, page number) where each page of the section begins there, the
    first being the page of `start_line`: `((3, 4), (9, 5))`.
    """

    doc: str
    title: str
    path: tuple[str, ...]
    start_line: int
    end_line: int
    text: str
    pages: tuple[tuple[int, int], ...] = ()

    @property
    def path_text(self) -> str:
        """What the model reads for the section as a unit of meaning: its heading path.

        >>> Section("a.md", "Uses", ("Guide", "Uses"), 3, 9, "").path_text
        'Guide › Uses'
        """
        return " › ".join(self.path)


@dataclass(frozen=True)
class Chunk:
    """A piece of one section, small enough for the model to read whole.

    `text` is the source text shown to people (lines `start_line`..`end_line`
    of `doc`, noise lines left out); `embed_text` is what the model reads:
    the section path, then the text.
    """

    doc: str
    section: str
    section_path: tuple[str, ...]
    section_start: int
    start_line: int
    end_line: int
    text: str
    embed_text: str
    sentences: tuple[tuple[int, int], ...]
    """Character spans of the sentences of `text`: the candidates for answer highlights."""
    span: Span | None = None
    """The pages (PDF) or paragraphs (HTML, Word) the chunk comes from; None for text files."""

    @property
    def hash(self) -> str:
        return text_hash(self.embed_text)

    def sentence_texts(self) -> list[str]:
        return [self.text[a:b] for a, b in self.sentences]


def text_hash(text: str) -> str:
    """The key of a text in the embedding cache."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class _Line:
    number: int
    text: str


def is_noise(line: str) -> bool:
    """A "See also" link line of a scraped page, the one kind of line left out.

    >>> is_noise("See also  Other page"), is_noise("See also the appendix for the figures.")
    (True, False)
    """
    return bool(_SEE_ALSO.match(line)) and not line.rstrip().endswith(_SENTENCE_END)


def noise_lines(text: str) -> list[int]:
    """The numbers of the lines of `text` that `is_noise` leaves out.

    >>> noise_lines("Intro\\nSee also  Other page\\nSee also the end.")
    [2]
    """
    found, line, last = [], 1, 0
    for match in re.finditer(r"^" + _SEE_ALSO.pattern, text, _SEE_ALSO.flags):
        line += text.count("\n", last, match.start())
        last = match.start()
        end = text.find("\n", last)
        if is_noise(text[last : len(text) if end < 0 else end]):
            found.append(line)
    return found


def _is_plain_heading(line: str) -> bool:
    stripped = line.strip()
    return (
        0 < len(stripped) <= _HEADING_MAX_CHARS
        and len(stripped.split()) <= _HEADING_MAX_WORDS
        and not stripped.endswith(_NO_HEADING_END)
        and (stripped[0].isupper() or stripped[0].isdigit())
        and not LIST_ITEM.match(line)
        and not is_noise(stripped)
    )


def markdown_heading(line: str) -> tuple[int, str] | None:
    """(level, title) of an ATX heading line, else None; read by hand, in linear time.

    >>> markdown_heading("## Owls ##"), markdown_heading("#hashtag"), markdown_heading("# C#")
    ((2, 'Owls'), None, (1, 'C#'))
    """
    rest = line.lstrip(" ")
    if len(line) - len(rest) > 3 or not rest.startswith("#"):
        return None
    after = rest.lstrip("#")
    level = len(rest) - len(after)
    if level > 6 or (after and after[0] not in " \t"):
        return None
    title = after.strip(" \t")
    unclosed = title.rstrip("#")
    if not unclosed or unclosed[-1] in " \t":  # a closing sequence: "## Owls ##"
        title = unclosed.rstrip(" \t")
    if not title or len(title) > _MD_HEADING_MAX_CHARS:
        return None
    return level, title


def _blocks(lines: list[_Line]) -> Iterator[list[_Line]]:
    """Runs of non-blank lines."""
    block: list[_Line] = []
    for line in lines:
        if line.text.strip():
            block.append(line)
        elif block:
            yield block
            block = []
    if block:
        yield block


@dataclass
class _RawSection:
    title: str
    path: tuple[str, ...]
    start_line: int
    lines: list[_Line]
    level: int = 0
    heading: _Line | None = None


def _plain_sections(lines: list[_Line], fallback: str) -> list[_RawSection]:
    sections = [_RawSection(fallback, (fallback,), 1, [])]
    blocks = list(_blocks(lines))
    candidates = [len(block) == 1 and _is_plain_heading(block[0].text) for block in blocks]
    # A heading must be followed by body text: a run of short lines is text, not titles.
    body_follows = [not candidate for candidate in candidates[1:]] + [False]
    for position, block in enumerate(blocks):
        if candidates[position] and body_follows[position]:
            title = block[0].text.strip()
            sections.append(_RawSection(title, (title,), block[0].number, []))
        else:
            sections[-1].lines += [*block, _Line(0, "")]
    return sections


def _markdown_sections(lines: list[_Line], fallback: str) -> list[_RawSection]:
    sections = [_RawSection(fallback, (fallback,), 1, [])]
    stack: list[tuple[int, str]] = []
    fence: str | None = None
    for line in lines:
        fence_match = _FENCE.match(line.text)
        if fence_match:
            marker = fence_match.group(1)
            if fence is None:
                fence = marker[0] * len(marker)
            elif marker.startswith(fence):
                fence = None
        heading = None if fence or fence_match else markdown_heading(line.text)
        if heading:
            level, title = heading
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, title))
            path = tuple(t for _, t in stack)
            sections.append(_RawSection(title, path, line.number, [], level, line))
        else:
            sections[-1].lines.append(line)
    return _text_for_empty_headings(sections)


def _text_for_empty_headings(sections: list[_RawSection]) -> list[_RawSection]:
    """Sections whose heading has text under it, itself or in a deeper section after it;
    the heading line of any other becomes a line of text of the section before."""
    has_text = [any(line.text.strip() for line in part.lines) for part in sections]
    kept: list[_RawSection] = []
    for position in range(len(sections) - 1, 0, -1):
        part = sections[position]
        deeper_follows = bool(kept) and kept[-1].level > part.level
        if deeper_follows or has_text[position]:
            kept.append(part)
        elif part.heading is not None:
            sections[position - 1].lines += [part.heading, *part.lines]
    return [sections[0], *reversed(kept)]


def page_breaks(doc: Document, start_line: int, end_line: int) -> tuple[tuple[int, int], ...]:
    """Where each page of lines `start_line`..`end_line` begins, for a PDF; else ()."""
    if doc.layout is None or doc.layout.unit != "page":
        return ()
    return doc.layout.breaks(start_line, end_line)


def split_sections(doc: Document) -> list[tuple[Section, list[list[_Line]]]]:
    """Sections of `doc`, each with its paragraphs (noise removed).

    A leading untitled section is kept only when it has text.
    """
    lines = [_Line(i, text) for i, text in enumerate(doc.text.split("\n"), start=1)]
    fallback = PurePosixPath(doc.path).stem
    raw = (_markdown_sections if doc.is_markdown else _plain_sections)(lines, fallback)
    result = []
    for position, part in enumerate(raw):
        paragraphs = [
            kept
            for block in _blocks(part.lines)
            if (kept := [line for line in block if not is_noise(line.text)])
        ]
        if position == 0 and not paragraphs:
            continue
        end_line = raw[position + 1].start_line - 1 if position + 1 < len(raw) else len(lines)
        while end_line > part.start_line and (
            not lines[end_line - 1].text.strip() or is_noise(lines[end_line - 1].text)
        ):
            end_line -= 1
        source = "\n".join(line.text for line in lines[part.start_line - 1 : end_line])
        pages = page_breaks(doc, part.start_line, end_line)
        section = Section(doc.path, part.title, part.path, part.start_line, end_line, source, pages)
        result.append((section, paragraphs))
    return result


@dataclass(frozen=True)
class _Piece:
    start_line: int
    end_line: int
    text: str
    tokens: int


def _cut(paragraph: list[_Line], budget: int, count: TokenCounter) -> list[_Piece]:
    """One paragraph as pieces of at most `budget` tokens and `budget * CHARS_PER_TOKEN`
    characters, cut at sentences, then spaces, then inside words."""
    text = "\n".join(line.text for line in paragraph)
    starts = list(itertools.accumulate((len(line.text) + 1 for line in paragraph), initial=0))
    max_chars = budget * CHARS_PER_TOKEN

    def piece(a: int, b: int, tokens: int) -> _Piece:
        first, last = bisect.bisect_right(starts, a) - 1, bisect.bisect_right(starts, b - 1) - 1
        return _Piece(paragraph[first].number, paragraph[last].number, text[a:b], tokens)

    if len(text) <= max_chars and (whole := count(text)) <= budget:
        return [piece(0, len(text), whole)]
    spans = sentence_spans(text)
    pieces: list[_Piece] = []
    current: tuple[int, int, int] | None = None
    position = 0
    while position < len(spans):
        # Word pieces add up across spaces, so a run of sentences that fits as a whole is
        # taken with one count, as adding them one by one would: fewer tokenizer calls.
        end = _run_end(spans, position, current, budget, max_chars)
        if current and end > position + 1:
            tokens = count(text[spans[position][0] : spans[end - 1][1]])
            if current[2] + tokens <= budget:
                current, position = (current[0], spans[end - 1][1], current[2] + tokens), end
                continue
        for a, b, tokens in _units(text, spans[position], budget, max_chars, count):
            if current and current[2] + tokens <= budget and b - current[0] <= max_chars:
                current = (current[0], b, current[2] + tokens)
                continue
            if current:
                pieces.append(piece(*current))
            current = (a, b, tokens)
        position += 1
    if current:
        pieces.append(piece(*current))
    return pieces


def _run_end(
    spans: list[tuple[int, int]],
    position: int,
    current: tuple[int, int, int] | None,
    budget: int,
    max_chars: int,
) -> int:
    """The end of the run of sentences from `position` likely to fit after `current`,
    judged by the characters per token of `current`; `position` when there is none."""
    if current is None:
        return position
    room = (budget - current[2]) * (current[1] - current[0]) * 9 // (10 * max(1, current[2]))
    limit = min(current[0] + max_chars, spans[position][0] + room)
    end = position
    while end < len(spans) and spans[end][1] <= limit:
        end += 1
    return end


def _units(
    text: str, sentence: tuple[int, int], budget: int, max_chars: int, count: TokenCounter
) -> Iterator[tuple[int, int, int]]:
    """(start, end, tokens) of consecutive parts of a sentence, each within both bounds: the
    sentence, or runs of its words, or words, or parts of a word."""
    for start, end in _windows(text, *sentence, max_chars):
        tokens = count(text[start:end])
        if tokens <= budget:
            yield start, end, tokens
            continue
        for word in _WORD.finditer(text, start, end):
            yield from _parts(text, word.start(), word.end(), budget, count)


def _windows(text: str, a: int, b: int, size: int) -> Iterator[tuple[int, int]]:
    """`text[a:b]` cut into parts of at most `size` characters, at a space where there is one
    in the second half of the part."""
    while b - a > size:
        limit = a + size
        cut = max(text.rfind(" ", a + size // 2, limit), text.rfind("\n", a + size // 2, limit))
        end = cut if cut > a else limit
        yield a, end
        a = end
        while a < b and text[a].isspace():
            a += 1
    if a < b:
        yield a, b


def _parts(
    text: str, a: int, b: int, budget: int, count: TokenCounter
) -> Iterator[tuple[int, int, int]]:
    """A word of more than `budget` tokens, cut into parts that fit (or are one character),
    each part about as long as the word's characters per token allow."""
    tokens = count(text[a:b])
    if tokens <= budget or b - a == 1:
        yield a, b, tokens
        return
    size = max(1, min((b - a) * budget // tokens, (b - a) // 2))
    for start in range(a, b, size):
        yield from _parts(text, start, min(start + size, b), budget, count)


def _context(path: tuple[str, ...], count: TokenCounter, limit: int) -> str:
    """The section path as the model reads it, cut to at most `limit` tokens."""
    words = " › ".join(path).split()
    while words and count(" ".join(words)) > limit:
        words = words[: max(1, len(words) * 3 // 4)] if len(words) > 1 else []
    return " ".join(words)


def chunk_document(
    doc: Document, count: TokenCounter, max_tokens: int = 256, min_tokens: int = 24
) -> tuple[list[Section], list[Chunk]]:
    """Sections and chunks of one document.

    `max_tokens` counts the model's two special tokens, as the model does.
    """
    sections: list[Section] = []
    chunks: list[Chunk] = []
    for section, paragraphs in split_sections(doc):
        sections.append(section)
        context = _context(section.path, count, max_tokens // 4)
        budget = max_tokens - 2 - (count(context) + 1 if context else 0)
        pieces = [p for paragraph in paragraphs for p in _cut(paragraph, budget, count)]
        for piece in _merge_short(pieces, budget, min_tokens):
            chunks.append(
                Chunk(
                    doc=doc.path,
                    section=section.title,
                    section_path=section.path,
                    section_start=section.start_line,
                    start_line=piece.start_line,
                    end_line=piece.end_line,
                    text=piece.text,
                    embed_text=f"{context}\n{piece.text}" if context else piece.text,
                    sentences=tuple(sentence_spans(piece.text)),
                    span=doc.layout.span(piece.start_line, piece.end_line) if doc.layout else None,
                )
            )
    return sections, chunks


def line_gap(previous_end: int, next_start: int) -> str:
    r"""What separates two neighbouring pieces of a source: a space, a line break or a blank line.

    >>> line_gap(5, 5), line_gap(5, 6), line_gap(5, 8)
    (' ', '\n', '\n\n')
    """
    if next_start == previous_end:
        return " "
    return "\n" if next_start == previous_end + 1 else "\n\n"


def _merge_short(pieces: list[_Piece], budget: int, min_tokens: int) -> list[_Piece]:
    """Join a piece shorter than `min_tokens` to the next one (or the previous one) if both fit."""

    def join(a: _Piece, b: _Piece) -> _Piece:
        gap = line_gap(a.end_line, b.start_line)
        return _Piece(a.start_line, b.end_line, a.text + gap + b.text, a.tokens + b.tokens)

    def fit(a: _Piece, b: _Piece) -> bool:
        chars = len(a.text) + len(b.text) + 2
        return a.tokens + b.tokens <= budget and chars <= budget * CHARS_PER_TOKEN

    merged: list[_Piece] = []
    carry: _Piece | None = None
    for piece in pieces:
        if carry is not None:
            if fit(carry, piece):
                piece = join(carry, piece)
            else:
                merged.append(carry)
            carry = None
        if piece.tokens < min_tokens:
            carry = piece
        else:
            merged.append(piece)
    if carry is not None:
        if merged and fit(merged[-1], carry):
            merged[-1] = join(merged[-1], carry)
        else:
            merged.append(carry)
    return merged
