"""Open a zip-based document (a Word .docx) without letting it inflate beyond a limit.

A few kilobytes of zip can inflate to gigabytes (a zip bomb), and the sizes an
archive's central directory declares may lie.  `bounded_copy` refuses an archive
that declares more than `MAX_INFLATED` bytes or `MAX_MEMBERS` files before reading
any of it, then reads each member through a reader that inflates at most the size
declared for it, and hands back a copy of the archive with those bytes stored
uncompressed: the library that reads the format gets nothing but what was allowed.

    >>> import zipfile
    >>> packed = io.BytesIO()
    >>> with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
    ...     archive.writestr("word/document.xml", "<w:document/>")
    >>> zipfile.ZipFile(bounded_copy(packed.getvalue())).read("word/document.xml")
    b'<w:document/>'

Not here: what the members mean (see `qa.readers.docx`).
"""

from __future__ import annotations

import io
import zipfile

from qa.errors import CorpusError

MAX_INFLATED = 200 * 1024 * 1024
"""Bytes all the files of one document may inflate to: a long report with its pictures
is a few tens of MB."""
MAX_MEMBERS = 10_000
"""Files one document may hold: a Word file has a few dozen, one picture a file."""
_MB = 1024 * 1024
_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)  # what Word writes


def bounded_copy(raw: bytes) -> io.BytesIO:
    """The zip archive `raw` with its members stored uncompressed, read within the limits.

    Raises CorpusError naming the limit when the archive declares more than it allows,
    and zipfile.BadZipFile when a member is not what its central directory says.
    """
    _check_count(_declared_count(raw))  # before zipfile reads an entry per file
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        members = archive.infolist()
        _check_count(len(members))
        declared = sum(member.file_size for member in members)
        if declared > MAX_INFLATED:
            raise CorpusError(
                f"it would inflate to {declared / _MB:,.0f} MB, more than the "
                f"{MAX_INFLATED // _MB} MB a document may hold (it may be a zip bomb). "
                "Remove it, or split it into smaller files."
            )
        copy = io.BytesIO()
        with zipfile.ZipFile(copy, "w", zipfile.ZIP_STORED) as stored:
            for member in members:
                # A name given twice is read as its last copy, as zipfile reads it.
                if member.is_dir() or archive.getinfo(member.filename) is not member:
                    continue
                stored.writestr(member.filename, _inflated(archive, member))
    copy.seek(0)
    return copy


def _declared_count(raw: bytes) -> int:
    """How many files the archive's end record says it holds (0 when it has none: zipfile
    then says what is wrong).  One of more than 65,535 files declares 65,535 (ZIP64).
    """
    end = raw.rfind(b"PK\x05\x06", max(0, len(raw) - 22 - 65535))
    return int.from_bytes(raw[end + 10 : end + 12], "little") if end >= 0 else 0


def _check_count(count: int) -> None:
    if count > MAX_MEMBERS:
        raise CorpusError(
            f"it holds {count:,} files, more than the {MAX_MEMBERS:,} a document may hold "
            "(it may be a zip bomb). Remove it, or split it into smaller files."
        )


def _inflated(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bytes:
    """The bytes of `member`, inflating no more than its declared size, whatever its data."""
    if member.compress_type not in _METHODS:
        raise CorpusError(
            f"its part {member.filename} is compressed in a way Word never uses "
            f"(method {member.compress_type}). Open it and save it again."
        )
    with archive.open(member) as handle:
        # Asked for n bytes, zipfile inflates at most n (plus one 4 KB step), and stops at
        # the declared size; reading "all" would let one call inflate up to 1 GB first.
        data = handle.read(member.file_size)
    if len(data) != member.file_size:
        raise zipfile.BadZipFile(f"{member.filename} is shorter than its declared size")
    return data
