"""Read a PDF with pypdf: its text layer, page by page, with headings.

Sections come from the outline (bookmarks) when the PDF has one: each entry
becomes a Markdown heading at its depth, on its page (at the line that holds
its title, else at the top of the page).  Without an outline, a short line set
in a larger font than the body text is a heading, the largest size first
(`#`); a short bold line in the body size is a heading one level below those.

Left out: running headers and footers (a line at the top or bottom of most
pages, with its digits ignored) and page numbers ("7", "Page 7", "7 of 12").
A word hyphenated at the end of a line is joined to its end on the next line.
Pages are separated by a blank line, and the `Layout` gives the first line of
each page, so every chunk knows its pages.

Not handled: OCR (a PDF without a text layer is skipped), passwords (a PDF
that needs one is skipped), columns and tables as structures (pypdf's reading
order is kept).
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import warnings
from collections import Counter, defaultdict, deque
from collections.abc import Iterator
from typing import Any

from qa.errors import CorpusError
from qa.readers.base import Layout, Reading

_PAGE_NUMBER = re.compile(r"(page\s+)?\d+(\s*(of|/)\s*\d+)?|[ivxlc]+", re.IGNORECASE)
_HYPHENATED = re.compile(r"[^\W\d_]-$")
_EDGE = 3  # lines at the top and at the bottom of a page that may be running heads
_HEADING_MAX_CHARS = 120


def read(name: str, raw: bytes) -> Reading:
    """The text of a PDF as Markdown, one page after another, with its page layout."""
    with _quiet():
        return _read(raw)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """pypdf's log lines and warnings about a damaged file silenced: qa says why it skips one."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _read(raw: bytes) -> Reading:
    reader = _open(raw)
    sizes: list[dict[str, tuple[float, bool]]] = []
    pages = []
    for page in reader.pages:
        pages.append(_page_lines(page, sizes))
    if not any(line for lines in pages for line in lines):
        raise CorpusError("it has no text layer (a scan?): OCR is not supported")
    pages = _without_running_lines(pages)
    outline = _outline(reader)
    headings = outline if outline else _font_headings(pages, sizes)
    return _assemble(pages, headings)


def _open(raw: bytes) -> Any:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            raise CorpusError("it is encrypted with a password. Save a copy without one.")
        len(reader.pages)  # a damaged page tree shows here
    except CorpusError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as error:
        detail = str(error).strip().split("\n")[0][:120] or type(error).__name__
        if "cryptography" in detail or "AES" in detail:
            raise CorpusError("it is encrypted (AES). Save a copy without encryption.") from error
        raise CorpusError(f"it is damaged or truncated ({detail}). Save it again.") from error
    return reader


def _page_lines(page: Any, sizes: list[dict[str, tuple[float, bool]]]) -> list[str]:
    """The lines of one page's text; the font size and weight of each line go to `sizes`."""
    fonts: dict[str, tuple[float, bool]] = {}

    def visit(text: str, cm: Any, tm: Any, font: Any, size: float) -> None:
        key = " ".join(text.split())
        if key:
            scale = abs(float(tm[3]) * float(cm[3])) or 1.0
            name = str((font or {}).get("/BaseFont", ""))
            fonts[key] = (round(size * scale, 1), "bold" in name.lower())

    try:
        text = page.extract_text(visitor_text=visit)
    except Exception:  # pypdf raises many kinds on a damaged page; the page is left empty
        text = ""
    sizes.append(fonts)
    return [" ".join(line.split()) for line in (text or "").split("\n")]


def _shape(line: str) -> str:
    return re.sub(r"\d+", "#", line.casefold())


def _without_running_lines(pages: list[list[str]]) -> list[list[str]]:
    """Pages without blank lines, and without the page numbers and running heads at their edges.

    A running head is a line among the first or last `_EDGE` of more than half
    the pages, its digits ignored ("Report, page 3" repeats "Report, page 4").
    """
    pages = [[line for line in lines if line] for lines in pages]
    edges: Counter[str] = Counter()
    for lines in pages:
        edges.update({_shape(line) for line in lines[:_EDGE] + lines[-_EDGE:]})
    running = {shape for shape, count in edges.items() if len(pages) > 2 and count > len(pages) / 2}

    def edge(line: str) -> bool:
        return _shape(line) in running or bool(_PAGE_NUMBER.fullmatch(line))

    kept = []
    for lines in pages:
        start, end = 0, len(lines)
        while start < min(end, _EDGE) and edge(lines[start]):
            start += 1
        while end > max(start, len(lines) - _EDGE) and edge(lines[end - 1]):
            end -= 1
        kept.append(lines[start:end])
    return kept


def _outline(reader: Any) -> list[tuple[int, int, str]]:
    """(page index, level, title) of each outline entry, in order; [] without an outline."""

    def walk(items: list[Any], level: int) -> Iterator[tuple[int, int, str]]:
        for item in items:
            if isinstance(item, list):
                yield from walk(item, level + 1)
                continue
            try:
                page = reader.get_destination_page_number(item)
            except Exception:  # an entry pointing nowhere is left out
                continue
            title = " ".join(str(item.title or "").split())
            if title and page is not None and page >= 0:
                yield page, min(level, 6), title

    try:
        return list(walk(reader.outline, 1))
    except Exception:  # a damaged outline: headings come from fonts instead
        return []


def _font_headings(
    pages: list[list[str]], sizes: list[dict[str, tuple[float, bool]]]
) -> list[tuple[int, int, str]]:
    """(page index, level, line) of the lines set larger, or bold, than the body text."""
    weight: Counter[float] = Counter()
    for fonts, lines in zip(sizes, pages, strict=True):
        for line in lines:
            if line in fonts:
                weight[fonts[line][0]] += len(line)
    if not weight:
        return []
    body = weight.most_common(1)[0][0]
    larger = sorted({size for fonts in sizes for size, _ in fonts.values() if size > body * 1.1})
    levels = {size: len(larger) - i for i, size in enumerate(larger)}
    found = []
    for number, (fonts, lines) in enumerate(zip(sizes, pages, strict=True)):
        for line in lines:
            size, bold = fonts.get(line, (body, False))
            short = len(line) <= _HEADING_MAX_CHARS and not line.endswith((".", ",", ";", ":"))
            if short and size in levels:
                found.append((number, min(levels[size], 6), line))
            elif short and bold and size == body:
                found.append((number, min(len(larger) + 1, 6), line))
    return found


def _assemble(pages: list[list[str]], headings: list[tuple[int, int, str]]) -> Reading:
    """Markdown of the pages with `headings` placed, hyphenated words joined."""
    by_page: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for number, level, title in headings:
        by_page[number].append((level, title))
    out: list[str] = []
    starts = []
    for number, lines in enumerate(pages):
        if out:
            out.append("")
        starts.append(len(out) + 1)
        out.extend(_paragraphs(_placed(lines, by_page.get(number, []))))
    return Reading("\n".join(out) + "\n", Layout("page", tuple(starts)))


def _placed(lines: list[str], headings: list[tuple[int, str]]) -> list[str]:
    """The lines of a page with each heading on the first line that holds its title (case
    aside) and no heading yet, or, failing one, above the page's lines, in order; one pass
    over the lines, so a page of thousands of outline entries is read in linear time.

    >>> _placed(["Intro", "Text", "intro"], [(1, "Intro"), (2, "Intro"), (2, "Gone")])
    ['## Gone', '# Intro', 'Text', '## Intro']
    """
    places: dict[str, deque[int]] = defaultdict(deque)
    for position, line in enumerate(lines):
        places[line.casefold()].append(position)
    lines, above = list(lines), []
    for level, title in headings:
        heading = "#" * level + " " + title
        free = places.get(title.casefold())
        if free:
            lines[free.popleft()] = heading
        else:
            above.append(heading)
    return above + lines


def _paragraphs(lines: list[str]) -> list[str]:
    """Lines with a blank line around headings and hyphenated words joined across lines."""
    out: list[str] = []
    for line in lines:
        if line.startswith("#"):
            out += ["", line, ""] if out else [line, ""]
        elif out and out[-1] and _HYPHENATED.search(out[-1]) and line[:1].islower():
            word, _, rest = line.partition(" ")
            out[-1] = out[-1][:-1] + word
            if rest:
                out.append(rest)
        else:
            out.append(line)
    return out
