"""Read the documents of a corpus folder.

Every `.txt`, `.md`, `.pdf`, `.html`, `.htm` and `.docx` file under the folder,
recursively, is a document, with
these exceptions, each decided here and nowhere else:

- hidden files and folders (names starting with ".") are not documents;
- a folder that cannot be listed, and a file that cannot be read, are skipped
  with a warning naming them (the file still counts as seen, so the index is not
  taken as stale for it);
- a symbolic link is followed when it points inside the corpus folder; one
  pointing outside it is skipped with a warning, unless `follow_links` is set
  (`QA_FOLLOW_LINKS=1`);
- a file or folder deleted while the corpus is scanned is left out quietly;
- a file name that is not valid UTF-8, or holds control characters (a line break,
  an escape sequence), is indexed under its name with the odd bytes and characters
  written as `\\xe9` and `\\x0a`, with a warning: so is it cited everywhere.

Each file is read by the reader of its format (`qa.readers`); a file that
cannot be read (binary, encrypted, damaged, without text) is skipped with a
warning naming it and the reason.

Not handled here: splitting into sections (see `qa.text.chunking`).
"""

from __future__ import annotations

import hashlib
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from qa.errors import CorpusError, EmptyCorpusError, QAWarning
from qa.readers import SUFFIXES, read
from qa.readers.base import Layout
from qa.text.sentences import harmless

UNREADABLE = "unreadable"  # the hash recorded for a file that cannot be read


@dataclass(frozen=True)
class Document:
    """One source file: `path` is relative to the corpus folder, with "/" separators."""

    path: str
    text: str
    sha256: str
    layout: Layout | None = None  # the pages or paragraphs of a PDF, HTML or Word file

    @property
    def is_markdown(self) -> bool:
        """Headings are `#` lines: a .md file, or the text a PDF, HTML or Word reader made."""
        return self.layout is not None or self.path.lower().endswith(".md")


@dataclass(frozen=True)
class Scan:
    """The document files of a corpus folder, sorted by name, and what was passed over, why."""

    paths: dict[str, Path]  # {name as cited: file}
    notes: tuple[str, ...]


def scan(corpus_dir: Path, follow_links: bool = False) -> Scan:
    """The documents under `corpus_dir` (see the module docstring for which files count).

    Raises CorpusError when the folder is missing, EmptyCorpusError when it holds no documents.
    """
    if not corpus_dir.exists():
        raise CorpusError(
            f"Corpus folder {corpus_dir} does not exist: create it and put .txt, .md, "
            ".pdf, .html or .docx files in it, or pass --corpus with the right folder"
        )
    if not corpus_dir.is_dir():
        raise CorpusError(f"Corpus path {corpus_dir} is not a folder: pass --corpus with a folder")
    root = corpus_dir.resolve()
    paths: dict[str, Path] = {}
    notes: list[str] = []
    folders, seen = [corpus_dir], {_identity(corpus_dir)}
    while folders:
        for entry in _entries(folders.pop(), corpus_dir, notes):
            path = Path(entry.path)
            raw_name = path.relative_to(corpus_dir).as_posix()
            name = display_name(raw_name)
            target = _target(path) if entry.is_symlink() else path
            if target is None:
                continue  # a dangling link or a link loop: nothing to read
            is_dir = target.is_dir() if target is not path else entry.is_dir()
            wanted = is_dir or path.suffix.lower() in SUFFIXES
            if not wanted:
                continue
            if target is not path and not follow_links and not target.is_relative_to(root):
                notes.append(
                    f"Skipped {name}: it links outside the corpus folder. Set "
                    "QA_FOLLOW_LINKS=1 to follow such links, or copy it in."
                )
            elif is_dir:
                if _identity(path) not in seen:  # a link back up would loop forever
                    seen.add(_identity(path))
                    folders.append(path)
            elif entry.is_file() if target is path else target.is_file():
                if name in paths:  # "a\nb.txt" beside a file named "a\x0ab.txt"
                    notes.append(
                        f"Skipped a second file named {name} once its odd characters are "
                        "written out: rename one of the two."
                    )
                    continue
                paths[name] = path
                if name != raw_name:
                    notes.append(_odd_name_note(name, raw_name))
    if not paths:
        raise EmptyCorpusError(
            f"No .txt, .md, .pdf, .html or .docx documents in {corpus_dir}: add some, "
            "or pass --corpus with the folder that holds them"
        )
    return Scan(dict(sorted(paths.items())), tuple(notes))


def _identity(folder: Path) -> tuple[int, int]:
    try:
        stat = folder.stat()
    except OSError:
        return (-1, -1)  # gone: its listing will be empty
    return stat.st_dev, stat.st_ino


def _target(path: Path) -> Path | None:
    """Where the link `path` leads; None when that is nowhere."""
    try:
        return path.resolve(strict=True)
    except (OSError, RuntimeError):  # missing (deleted, dangling link) or a link loop
        return None


def _entries(folder: Path, corpus_dir: Path, notes: list[str]) -> list[os.DirEntry[str]]:
    """The visible entries of `folder`; a folder that cannot be listed is noted."""
    try:
        with os.scandir(folder) as listing:
            return [entry for entry in listing if not entry.name.startswith(".")]
    except FileNotFoundError:
        return []  # deleted while the corpus was scanned
    except OSError as error:
        name = display_name(folder.relative_to(corpus_dir).as_posix())
        notes.append(
            f"Skipped the folder {name}/: cannot list it ({error.strerror}). Check its permissions."
        )
        return []


def display_name(name: str) -> str:
    r"""A file name as text on one line: bytes that are not UTF-8 are written as `\xe9`,
    control characters as `\x0a` (`qa.text.sentences.harmless`), so no terminal or page obeys them.

    >>> display_name("caf\udce9.txt"), display_name("a\nb.txt")
    ('caf\\xe9.txt', 'a\\x0ab.txt')
    """
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return harmless(text, one_line=True)


def _odd_name_note(name: str, raw_name: str) -> str:
    """Why the file `raw_name` is cited as `name`, and how to have it cited by its own name."""
    if harmless(raw_name, one_line=True) == raw_name:
        return (
            f"The file name {name} is not valid UTF-8 (odd bytes are shown as \\xNN): "
            "rename it in UTF-8 to be cited by its real name."
        )
    return (
        f"The file name {name} holds control characters (shown as \\xNN or \\uNNNN): "
        "rename it without them to be cited by its real name."
    )


def document_paths(corpus_dir: Path, follow_links: bool = False) -> list[Path]:
    """The document files under `corpus_dir`, sorted by name; CorpusError if there are none."""
    return list(scan(corpus_dir, follow_links).paths.values())


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def corpus_hashes(corpus_dir: Path, follow_links: bool = False) -> dict[str, str]:
    """{relative path: sha256 of the file's bytes} for every document, without decoding them.

    A file that cannot be read has the hash `UNREADABLE`.
    """
    return {name: s.sha256 for name, s in corpus_state(corpus_dir, None, follow_links).items()}


@dataclass(frozen=True)
class FileState:
    """What a document file looked like when it was last hashed."""

    size: int
    mtime_ns: int
    sha256: str
    hashed_ns: int  # when the hash was taken

    @property
    def settled(self) -> bool:
        """Hashed well after its last change: a later write would show in size or mtime.

        A file hashed just after a write may be written again within the same mtime
        tick, so its hash is not trusted until then (git's "racily clean" files).
        """
        return self.hashed_ns - self.mtime_ns > RACY_NS


RACY_NS = 2_000_000_000  # more than any file system's mtime granularity (FAT: 2 s)


def corpus_state(
    corpus_dir: Path, previous: dict[str, FileState] | None = None, follow_links: bool = False
) -> dict[str, FileState]:
    """{relative path: FileState} of every document; hashes only what changed since `previous`.

    A file whose size and modification time match a settled state in `previous`
    keeps its recorded hash, so an unchanged corpus
    costs one `stat` a file.  A file deleted while this runs is left out.
    """
    previous = previous or {}
    states = {}
    for name, path in scan(corpus_dir, follow_links).paths.items():
        try:
            stat = path.stat()
            known = previous.get(name)
            if (
                known is not None
                and known.settled
                and known.sha256 != UNREADABLE  # tried again each time: it may be fixed
                and (known.size, known.mtime_ns) == (stat.st_size, stat.st_mtime_ns)
            ):
                states[name] = known
            else:
                hashed_ns = time.time_ns()
                states[name] = FileState(
                    stat.st_size, stat.st_mtime_ns, file_sha256(path), hashed_ns
                )
        except FileNotFoundError:
            continue  # deleted since the folder was listed: no longer part of the corpus
        except OSError:
            states[name] = FileState(-1, -1, UNREADABLE, 0)  # seen, though it cannot be read
    return states


@dataclass(frozen=True)
class Corpus:
    """What a build read: the documents, and the SHA-256 of every document file.

    `files` includes the files skipped (binary, unreadable), so that a build
    records them as seen and the index is not taken as stale for them.
    """

    documents: list[Document]
    files: dict[str, str]


def read_corpus_files(corpus_dir: Path | str, follow_links: bool = False) -> Corpus:
    """All readable documents under `corpus_dir`, sorted by path, and every file's hash.

    What was skipped, and why, is said with a QAWarning each.
    """
    found = scan(Path(corpus_dir), follow_links)
    for note in found.notes:
        warnings.warn(note, QAWarning, stacklevel=2)
    documents, files = [], {}
    for name, path in found.paths.items():
        try:
            with path.open("rb") as handle:
                raw = handle.read()
        except FileNotFoundError:
            continue  # deleted since the folder was listed: no longer part of the corpus
        except OSError as error:
            warnings.warn(
                f"Skipped {name}: cannot read it ({error.strerror}). Check its permissions.",
                QAWarning,
                stacklevel=2,
            )
            files[name] = UNREADABLE
            continue
        files[name] = hashlib.sha256(raw).hexdigest()
        document = _document(name, raw, files[name])
        if document is not None:
            documents.append(document)
    return Corpus(documents, files)


def _document(name: str, raw: bytes, sha256: str) -> Document | None:
    """The file read by the reader of its format; None, with a warning, when it cannot be."""
    try:
        reading = read(name, raw)
    except CorpusError as error:
        warnings.warn(f"Skipped {name}: {error}", QAWarning, stacklevel=3)
        return None
    for note in reading.notes:
        warnings.warn(note, QAWarning, stacklevel=3)
    return Document(name, reading.text, sha256, reading.layout)


def read_corpus(corpus_dir: Path | str, follow_links: bool = False) -> list[Document]:
    """All readable documents under `corpus_dir`, sorted by path."""
    return read_corpus_files(corpus_dir, follow_links).documents
