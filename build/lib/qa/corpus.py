"""Read the documents of a corpus folder.

Every `.txt` and `.md` file under the folder, recursively, is a document;
hidden files and folders (names starting with ".") are ignored.  Text is
decoded as UTF-8 (a byte-order mark is tolerated) and line endings are
normalised to "\\n", so line numbers match what an editor shows.

Not handled here: splitting into sections (see `qa.chunking`).  A file that is
not UTF-8 is decoded as Windows-1252 with a warning naming it; a file that
looks binary (it holds NUL bytes) is skipped with a warning naming it.
"""

from __future__ import annotations

import hashlib
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from qa.errors import CorpusError, QAWarning

SUFFIXES = (".txt", ".md")


@dataclass(frozen=True)
class Document:
    """One source file: `path` is relative to the corpus folder, with "/" separators."""

    path: str
    text: str
    sha256: str

    @property
    def is_markdown(self) -> bool:
        return self.path.lower().endswith(".md")


def document_paths(corpus_dir: Path) -> list[Path]:
    """The document files under `corpus_dir`, sorted by relative path.

    Raises CorpusError when the folder is missing or holds no documents.
    """
    if not corpus_dir.exists():
        raise CorpusError(
            f"Corpus folder {corpus_dir} does not exist: create it and put .txt or .md "
            "files in it, or pass --corpus with the right folder"
        )
    if not corpus_dir.is_dir():
        raise CorpusError(f"Corpus path {corpus_dir} is not a folder: pass --corpus with a folder")
    paths = []
    for path in corpus_dir.rglob("*"):
        relative = path.relative_to(corpus_dir)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.suffix.lower() in SUFFIXES and path.is_file():
            paths.append(path)
    if not paths:
        raise CorpusError(
            f"No .txt or .md documents in {corpus_dir}: add some, or pass --corpus "
            "with the folder that holds them"
        )
    return sorted(paths, key=lambda p: p.relative_to(corpus_dir).as_posix())


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def corpus_hashes(corpus_dir: Path) -> dict[str, str]:
    """{relative path: sha256 of the file's bytes} for every document, without decoding them."""
    return {name: state.sha256 for name, state in corpus_state(corpus_dir).items()}


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
    corpus_dir: Path, previous: dict[str, FileState] | None = None
) -> dict[str, FileState]:
    """{relative path: FileState} of every document; hashes only what changed since `previous`.

    A file whose size and modification time match a settled state in `previous`
    keeps its recorded hash, so an unchanged corpus
    costs one `stat` a file.  A file deleted while this runs is left out.
    """
    previous = previous or {}
    states = {}
    for path in document_paths(corpus_dir):
        name = path.relative_to(corpus_dir).as_posix()
        try:
            stat = path.stat()
            known = previous.get(name)
            if (
                known is not None
                and known.settled
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
    return states


def decode(raw: bytes, name: str) -> str | None:
    """Bytes of a document to text with "\\n" line endings, or None for a binary file."""
    if b"\x00" in raw:
        warnings.warn(
            f"Skipped {name}: it looks binary, not text. Remove it or save it as UTF-8 text.",
            QAWarning,
            stacklevel=2,
        )
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        warnings.warn(
            f"{name} is not valid UTF-8 (byte {error.start}); read it as Windows-1252. "
            "Save it as UTF-8 to be sure of its characters.",
            QAWarning,
            stacklevel=2,
        )
        text = raw.decode("cp1252", errors="replace")
    return text.replace("\r\n", "\n").replace("\r", "\n")


@dataclass(frozen=True)
class Corpus:
    """What a build read: the documents, and the SHA-256 of every document file.

    `files` includes the files skipped as binary, so that a build records them as
    seen and the index is not taken as stale for them.
    """

    documents: list[Document]
    files: dict[str, str]


def read_corpus_files(corpus_dir: Path | str) -> Corpus:
    """All readable documents under `corpus_dir`, sorted by path, and every file's hash."""
    root = Path(corpus_dir)
    documents, files = [], {}
    for path in document_paths(root):
        name = path.relative_to(root).as_posix()
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            continue  # deleted since the folder was listed: no longer part of the corpus
        except OSError as error:
            raise CorpusError(
                f"Cannot read {path}: {error.strerror}. Check its permissions."
            ) from error
        files[name] = hashlib.sha256(raw).hexdigest()
        text = decode(raw, name)
        if text is not None:
            documents.append(Document(name, text, files[name]))
    return Corpus(documents, files)


def read_corpus(corpus_dir: Path | str) -> list[Document]:
    """All readable documents under `corpus_dir`, sorted by path."""
    return read_corpus_files(corpus_dir).documents
