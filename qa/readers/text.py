"""Read a .txt or .md file: decode its bytes to text with "\\n" line endings.

Text is decoded as UTF-8 (a byte-order mark is tolerated), or as UTF-16 or
UTF-32 when it starts with their byte-order mark.  A file that is not UTF-8 is
decoded as Windows-1252 with a note naming it; a file that looks binary (it
holds NUL bytes) is not read.  Headings are found later, by `qa.text.chunking`.
"""

from __future__ import annotations

import codecs

from qa.errors import CorpusError
from qa.readers.base import Reading


def read(name: str, raw: bytes) -> Reading:
    """A text file as it is; Markdown when its name ends in .md."""
    text, notes = decode(raw, name)
    return Reading(text, None, notes)


def decode(raw: bytes, name: str) -> tuple[str, tuple[str, ...]]:
    """Bytes of a document to text with "\\n" line endings, and a note when decoded as a guess.

    >>> decode(b"caf\\xc3\\xa9\\r\\n", "a.txt")
    ('café\\n', ())
    """
    for boms, encoding in _UNICODE_BOMS:
        if raw.startswith(boms):
            text = raw.decode(encoding, errors="replace")
            return text.replace("\r\n", "\n").replace("\r", "\n"), ()
    if b"\x00" in raw:
        raise CorpusError("it looks binary, not text. Remove it or save it as UTF-8 text.")
    notes: tuple[str, ...] = ()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        notes = (
            f"{name} is not valid UTF-8 (byte {error.start}); read it as Windows-1252. "
            "Save it as UTF-8 to be sure of its characters.",
        )
        text = raw.decode("cp1252", errors="replace")
    return text.replace("\r\n", "\n").replace("\r", "\n"), notes


# UTF-32 first: its little-endian mark begins with UTF-16's.
_UNICODE_BOMS = (
    ((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE), "utf-32"),
    ((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE), "utf-16"),
)
