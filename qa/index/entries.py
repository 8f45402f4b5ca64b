"""What may be opened in an index folder: its own regular files and folders, nothing else.

A FIFO blocks whoever opens it for reading until someone writes; a device or a socket
is not an index file; a link may lead out of the index folder.  So every entry of an
index folder is looked at with `lstat` before it is opened, and opened without
following a link or blocking, then checked again on the open descriptor.

    >>> kind(Path("/dev/null"))
    'a device'

Not here: what the files hold (see `qa.index.manifest`, `qa.index.store`) or which build is live
(see `qa.index.folder`).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

_KINDS = (
    (stat.S_ISREG, "a file"),
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISLNK, "a link"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
)


class NotAFile(OSError):
    """An entry that is not a regular file: `kind` says what it is ("a FIFO")."""

    def __init__(self, path: Path, kind: str) -> None:
        super().__init__(f"{path.name} is {kind}, not a file")
        self.kind = kind


def kind_of(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a file")


def kind(path: Path) -> str:
    """What `path` itself is, links not followed: "a file", "a folder", "a link", "a FIFO",
    ...; FileNotFoundError when there is nothing."""
    return kind_of(os.lstat(path).st_mode)


def open_file(path: Path, flags: int = os.O_RDONLY, mode: int = 0o644) -> int:
    """A descriptor of the regular file `path` (created with `os.O_CREAT` in `flags`),
    opened without following a link or blocking on a FIFO; NotAFile for anything else."""
    try:
        found = kind(path)
    except FileNotFoundError:
        if not flags & os.O_CREAT:
            raise
        found = "a file"
    if found != "a file":
        raise NotAFile(path, found)
    try:
        descriptor = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK, mode)
    except OSError as error:
        if os.path.islink(path):  # replaced by a link since it was looked at (ELOOP)
            raise NotAFile(path, "a link") from error
        raise
    opened = kind_of(os.fstat(descriptor).st_mode)
    if opened != "a file":  # replaced since it was looked at
        os.close(descriptor)
        raise NotAFile(path, opened)
    return descriptor


def read_file(path: Path, limit: int | None = None) -> bytes:
    """The bytes of the regular file `path` (at most `limit`), as `open_file` opens it."""
    descriptor = open_file(path)
    with os.fdopen(descriptor, "rb") as handle:
        return handle.read() if limit is None else handle.read(limit)
