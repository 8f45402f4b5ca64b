"""`sections.jsonl` and `chunks.jsonl`: each `Section` and `Chunk` of a build as one JSON
line, validated field by field when read back (types, spans inside the text, pages rising).

Not here: the manifest or the vectors (see `qa.index.manifest`, `qa.index.store`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from qa.errors import IndexCorruptError
from qa.readers.base import Span
from qa.text.chunking import Chunk
from qa.text.sections import Section

T = TypeVar("T")


def write_records(folder: Path, sections: list[Section], chunks: list[Chunk]) -> None:
    """Write `sections.jsonl` and `chunks.jsonl` into build `folder`."""
    _write_jsonl(folder / "sections.jsonl", [_section_json(s) for s in sections])
    _write_jsonl(folder / "chunks.jsonl", [_chunk_json(c) for c in chunks])


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def _section_json(section: Section) -> dict[str, Any]:
    return {
        "doc": section.doc,
        "title": section.title,
        "path": list(section.path),
        "start_line": section.start_line,
        "end_line": section.end_line,
        "text": section.text,
        **({"pages": [list(page) for page in section.pages]} if section.pages else {}),
    }


def _chunk_json(chunk: Chunk) -> dict[str, Any]:
    return {
        "doc": chunk.doc,
        "section": chunk.section,
        "section_path": list(chunk.section_path),
        "section_start": chunk.section_start,
        "start_line": chunk.start_line,
        "end_line": chunk.end_line,
        "text": chunk.text,
        "embed_text": chunk.embed_text,
        "sentences": [list(span) for span in chunk.sentences],
        **({"span": [chunk.span.unit, chunk.span.first, chunk.span.last]} if chunk.span else {}),
    }


def _read_jsonl(path: Path, parse: Callable[[dict[str, Any]], T]) -> list[T]:
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                rows.append(parse(json.loads(line)))
            except (ValueError, TypeError, KeyError, RecursionError) as error:
                raise IndexCorruptError.of_build(
                    path.parent, f"{path.name} line {number} is invalid: {error}"
                ) from error
    return rows


def _field(row: dict[str, Any], key: str, kind: type[T]) -> T:
    value = row[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(f"{key!r} is not {kind.__name__}")
    return value


def _path(row: dict[str, Any], key: str) -> tuple[str, ...]:
    value = _field(row, key, list)
    if not all(isinstance(part, str) for part in value):
        raise TypeError(f"{key!r} is not a list of strings")
    return tuple(value)


def _spans(row: dict[str, Any], key: str, limit: int) -> tuple[tuple[int, int], ...]:
    spans = []
    for span in _field(row, key, list):
        if not (isinstance(span, list) and len(span) == 2 and all(type(x) is int for x in span)):
            raise TypeError(f"{key!r} holds a span that is not [start, end]")
        if not 0 <= span[0] < span[1] <= limit:
            raise ValueError(f"{key!r} holds a span outside the text")
        spans.append((span[0], span[1]))
    return tuple(spans)


def _place(row: dict[str, Any]) -> Span | None:
    """The pages or paragraphs of a chunk, written by `_chunk_json` for PDF, HTML and Word."""
    if "span" not in row:
        return None
    unit, first, last = _field(row, "span", list)
    if unit not in ("page", "paragraph") or not (type(first) is type(last) is int):
        raise TypeError("'span' is not [unit, first, last]")
    return Span(unit, first, last)


def _pages(row: dict[str, Any]) -> tuple[tuple[int, int], ...]:
    """Where each page of a PDF section begins, written by `_section_json`: [[line, page], ...].

    The first line is the section's own; lines and pages rise, within the section, from page 1.
    """
    if "pages" not in row:
        return ()
    pages = []
    for page in _field(row, "pages", list):
        if not (isinstance(page, list) and len(page) == 2 and all(type(x) is int for x in page)):
            raise TypeError("'pages' holds an entry that is not [line, page]")
        pages.append((page[0], page[1]))
    lines, numbers = [line for line, _ in pages], [number for _, number in pages]
    if (
        not pages
        or lines[0] != row["start_line"]
        or lines[-1] > row["end_line"]
        or numbers[0] < 1
        or any(values != sorted(set(values)) for values in (lines, numbers))
    ):
        raise ValueError("'pages' is not a rising list of pages inside the section")
    return tuple(pages)


def read_sections(folder: Path) -> list[Section]:
    def parse(row: dict[str, Any]) -> Section:
        return Section(
            doc=_field(row, "doc", str),
            title=_field(row, "title", str),
            path=_path(row, "path"),
            start_line=_field(row, "start_line", int),
            end_line=_field(row, "end_line", int),
            text=_field(row, "text", str),
            pages=_pages(row),
        )

    return _read_jsonl(folder / "sections.jsonl", parse)


def read_chunks(folder: Path) -> list[Chunk]:
    def parse(row: dict[str, Any]) -> Chunk:
        return Chunk(
            doc=_field(row, "doc", str),
            section=_field(row, "section", str),
            section_path=_path(row, "section_path"),
            section_start=_field(row, "section_start", int),
            start_line=_field(row, "start_line", int),
            end_line=_field(row, "end_line", int),
            text=_field(row, "text", str),
            embed_text=_field(row, "embed_text", str),
            sentences=_spans(row, "sentences", len(row["text"])),
            span=_place(row),
        )

    return _read_jsonl(folder / "chunks.jsonl", parse)
