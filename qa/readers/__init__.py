"""Turn a document file into text with headings, whatever its format.

Each format has a reader module here: `text` (.txt, .md), `pdf`, `html`,
`docx`.  Every reader returns the same thing, a `Reading`: the document as
text (Markdown headings for the formats that have structure, so that
`qa.text.chunking` finds the sections without knowing the format) and, for PDF,
HTML and Word, a `Layout` mapping the lines of that text back to pages or
paragraphs of the file.  `read` picks the reader by what the file holds, and by
its extension when its content does not say; a file whose extension lies is
read as what it is, with a note saying so.

A file that cannot be read raises CorpusError with the reason as its message
("it has no text layer: OCR is not supported"); `qa.readers.corpus` turns that into a
warning naming the file.  So does any other error a reader or the library under
it raises on a damaged file (lxml on broken XML, say): one bad file never stops a
build.  Only an interrupt or running out of memory goes through.  Not handled:
OCR, passwords, formats other than these.
"""

from __future__ import annotations

from qa.errors import CorpusError
from qa.readers.base import Reading

SUFFIXES = (".txt", ".md", ".pdf", ".html", ".htm", ".docx")
_BY_SUFFIX = {".pdf": "pdf", ".docx": "docx", ".html": "html", ".htm": "html"}
_NAMES = {"pdf": "PDF", "docx": "Word", "html": "HTML", "text": "text"}


def kind_of(raw: bytes, suffix: str) -> str:
    """The format of a file: by its first bytes for PDF and Word, else by its extension.

    A .txt or .md file holding HTML stays text, as it always was.

    >>> kind_of(b"%PDF-1.7 ...", ".txt"), kind_of(b"<!DOCTYPE html><p>x", ".pdf")
    ('pdf', 'html')
    """
    expected = _BY_SUFFIX.get(suffix, "text")
    if raw.startswith(b"%PDF") or (expected == "pdf" and b"%PDF" in raw[:1024]):
        return "pdf"
    if raw.startswith(b"PK\x03\x04") and b"word/" in raw[:65536]:
        return "docx"
    if expected in ("pdf", "docx"):
        head = raw[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
        return "html" if head.startswith((b"<!doctype html", b"<html")) else "text"
    return expected


def read(name: str, raw: bytes) -> Reading:
    """The file `name` (its bytes `raw`) as text, by the reader of its format."""
    suffix = name[name.rfind(".") :].lower() if "." in name else ""
    expected, kind = _BY_SUFFIX.get(suffix, "text"), kind_of(raw, suffix)
    if kind == expected:
        return _read_as(kind, name, raw)
    if kind == "text" and b"\x00" in raw[:65536]:
        raise CorpusError(
            f"it is not a {_NAMES[expected]} file (damaged, or another format). "
            "Open it and save it again, or remove it."
        )
    reading = _read_as(kind, name, raw)
    note = f"{name} is a {_NAMES[kind]} file, whatever its extension says: read it as one."
    return Reading(reading.text, reading.layout, (note, *reading.notes))


def _read_as(kind: str, name: str, raw: bytes) -> Reading:
    """The file read by the reader of `kind`; whatever that reader raises is a CorpusError."""
    from qa.readers import docx, html, pdf, text

    readers = {"pdf": pdf.read, "docx": docx.read, "html": html.read, "text": text.read}
    try:
        return readers[kind](name, raw)
    except (CorpusError, MemoryError):
        raise
    except Exception as error:  # a damaged file may break the library under the reader anywhere
        detail = str(error).strip().split("\n")[0][:120]
        reason = f"{type(error).__name__}: {detail}" if detail else type(error).__name__
        raise CorpusError(
            f"the {_NAMES[kind]} reader failed on it ({reason}): it is damaged or not a "
            f"{_NAMES[kind]} file. Open it and save it again, or remove it."
        ) from error
