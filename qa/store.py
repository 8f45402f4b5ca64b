"""The on-disk format of one build folder: `write_build` and its mirror `read_build`.

A `Build` (a `Manifest`, sections, chunks and their vectors) is written to a new
folder; every file is listed in `manifest.json` with its size and SHA-256, and
reading checks them, so a truncated or altered file is reported instead of
answered from.  JSON is validated field by field on the way in.  An error names
the index folder, the parent of the build folder.

Not here: deciding when to build or which folder is live (see `qa.index`).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from qa.ann import make_vector_index
from qa.chunking import Chunk, Section
from qa.corpus import file_sha256
from qa.embedding import Vectors
from qa.errors import IndexCorruptError, QAError
from qa.readers.base import Span
from qa.settings import Settings

# 2: section-title vectors (titles.npy); 3: chunks bounded by characters; 4: the encoder
# (int8, sentence vectors pooled from the chunk's forward pass) recorded and chosen
FORMAT_VERSION = 4
MANIFEST = "manifest.json"
VECTOR_FILES = ("embeddings.npy", "sentences.npy", "titles.npy")
T = TypeVar("T")


def package_version() -> str:
    try:
        return importlib.metadata.version("qa")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


def corrupt(folder: Path, detail: str) -> IndexCorruptError:
    """The error for a damaged build `folder`, naming its index folder (the parent)."""
    return IndexCorruptError(folder.parent, detail)


@dataclass(frozen=True)
class FileCheck:
    """Size and SHA-256 of one file of a build, as recorded when it was written."""

    bytes: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """How a build was made and what it holds; `manifest.json` of its folder.

    >>> m = Manifest("m", 3, {"max_tokens": 256}, "2026-01-02T12:00:00+00:00", "/c", {}, ())
    >>> Manifest.from_json(m.to_json()) == m
    True
    """

    model: str
    dimension: int
    chunking: dict[str, int]
    built_at: str
    corpus_dir: str
    documents: dict[str, str]  # {relative path: sha256 of its bytes}
    chunk_hashes: tuple[str, ...]
    # What changed since the build before this one, so any reader can say so.
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    # What the settings asked for (`Settings.encoding()`), and what made the vectors
    # (`qa.embedding.encoder_of`): a model that cannot pool sentences embeds them separately.
    encoding: dict[str, str] = field(default_factory=dict)
    encoder: dict[str, str] = field(default_factory=dict)
    index_type: str = ""  # filled in by `write_build`
    files: dict[str, FileCheck] = field(default_factory=dict)  # filled in by `write_build`
    format_version: int = FORMAT_VERSION
    qa_version: str = field(default_factory=package_version)

    def to_json(self) -> str:
        data = {
            "format_version": self.format_version,
            "qa_version": self.qa_version,
            "model": {"name": self.model, "dimension": self.dimension},
            "chunking": self.chunking,
            "encoding": self.encoding,
            "encoder": self.encoder,
            "built_at": self.built_at,
            "corpus_dir": self.corpus_dir,
            "documents": self.documents,
            "chunk_hashes": list(self.chunk_hashes),
            "changes": {
                "added": list(self.added),
                "removed": list(self.removed),
                "changed": list(self.changed),
            },
            "index_type": self.index_type,
            "files": {name: asdict(check) for name, check in self.files.items()},
        }
        return json.dumps(data, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """The manifest in `text`, checked field by field; ValueError saying what is wrong."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("it is not a JSON object")
        for key, kind in _MANIFEST_FIELDS.items():
            if not isinstance(data.get(key), kind) or isinstance(data.get(key), bool):
                raise ValueError(f"it lacks a valid {key!r}")
        model = data["model"]
        if not (isinstance(model.get("name"), str) and type(model.get("dimension")) is int):
            raise ValueError("it lacks a valid 'model'")
        changes = data.get("changes", {})  # absent in builds of earlier versions
        if not isinstance(changes, dict):
            raise ValueError("it lacks valid 'changes'")
        return cls(
            model=model["name"],
            dimension=model["dimension"],
            chunking=_str_map(data["chunking"], int, "chunking"),
            # Absent in builds of format 3 and before: `mismatches` asks for a rebuild.
            encoding=_str_map(_dict(data, "encoding"), str, "encoding"),
            encoder=_str_map(_dict(data, "encoder"), str, "encoder"),
            built_at=data["built_at"],
            corpus_dir=data["corpus_dir"],
            documents=_str_map(data["documents"], str, "documents"),
            chunk_hashes=_strings(data["chunk_hashes"], "chunk_hashes"),
            added=_strings(changes.get("added", []), "changes"),
            removed=_strings(changes.get("removed", []), "changes"),
            changed=_strings(changes.get("changed", []), "changes"),
            index_type=data["index_type"],
            files={name: _file_check(name, check) for name, check in data["files"].items()},
            format_version=data["format_version"],
            qa_version=data["qa_version"],
        )


_MANIFEST_FIELDS: dict[str, type] = {
    "format_version": int,
    "qa_version": str,
    "model": dict,
    "chunking": dict,
    "built_at": str,
    "corpus_dir": str,
    "documents": dict,
    "chunk_hashes": list,
    "index_type": str,
    "files": dict,
}


def _str_map(value: dict[Any, Any], kind: type[T], key: str) -> dict[str, T]:
    if not all(isinstance(k, str) and type(v) is kind for k, v in value.items()):
        raise ValueError(f"it lacks a valid {key!r}")
    return value


def _dict(data: dict[str, Any], key: str) -> dict[Any, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ValueError(f"it lacks a valid {key!r}")
    return value


def _strings(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"it lacks a valid {key!r}")
    return tuple(value)


def _file_check(name: str, check: Any) -> FileCheck:
    if "/" in name or name.startswith(".") or not isinstance(check, dict):
        raise ValueError(f"it lists an invalid file {name!r}")
    size, digest = check.get("bytes"), check.get("sha256")
    if type(size) is not int or not isinstance(digest, str):
        raise ValueError(f"it lists an invalid file {name!r}")
    return FileCheck(size, digest)


@dataclass(frozen=True)
class Build:
    """What a build folder holds: the manifest, the text and the vectors (`write_build`'s input)."""

    manifest: Manifest
    sections: list[Section]
    chunks: list[Chunk]
    embeddings: Vectors  # one row per chunk (memory-mapped once read back)
    sentence_vectors: Vectors  # one row per sentence of every chunk, in chunk order
    title_vectors: Vectors  # one row per section: its path alone (`Section.path_text`)


@dataclass(frozen=True)
class LoadedIndex(Build):
    """A build read back and verified (`read_build`'s output): its folder and FAISS index too."""

    folder: Path
    vectors: Any  # a faiss.Index over the chunk vectors
    sentence_offsets: npt.NDArray[np.int64]  # chunk i's sentences: rows offsets[i]:offsets[i+1]


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_writable_dir(index_dir: Path) -> None:
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        probe = index_dir / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise QAError(
            f"Cannot write to {index_dir}/ ({error.strerror}): make it writable, "
            "or pass --index with a folder you can write to"
        ) from error


def write_build(index_dir: Path, build: Build) -> Path:
    """Write `build` as a new folder of `index_dir` and return it (`read_build` reads it back).

    On failure the half-written folder is removed and QAError raised.
    """
    import faiss

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    folder = index_dir / f"build-{stamp}-{os.getpid()}"
    try:
        folder.mkdir()
        _write_jsonl(folder / "sections.jsonl", [_section_json(s) for s in build.sections])
        _write_jsonl(folder / "chunks.jsonl", [_chunk_json(c) for c in build.chunks])
        np.save(folder / "embeddings.npy", build.embeddings, allow_pickle=False)
        np.save(folder / "sentences.npy", build.sentence_vectors, allow_pickle=False)
        np.save(folder / "titles.npy", build.title_vectors, allow_pickle=False)
        vectors, index_type = make_vector_index(build.embeddings)
        faiss.write_index(vectors, str(folder / "vectors.faiss"))
        files = {}
        for path in sorted(folder.iterdir()):
            fsync_path(path)
            files[path.name] = FileCheck(path.stat().st_size, file_sha256(path))
        manifest = replace(build.manifest, index_type=index_type, files=files)
        (folder / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
        fsync_path(folder / MANIFEST)
        fsync_path(folder)
    except OSError as error:
        shutil.rmtree(folder, ignore_errors=True)
        raise write_failed(index_dir, error) from error
    return folder


def write_failed(index_dir: Path, error: OSError) -> QAError:
    """The error for a build that could not be written (disk full, permissions)."""
    return QAError(
        f"Could not write the index to {index_dir}/ ({error.strerror or error}); "
        "the previous index is unchanged. Free space or fix permissions, then run `qa build`"
    )


def read_build(folder: Path) -> LoadedIndex:
    """The build in `folder`, every file verified; IndexCorruptError saying what is damaged."""
    manifest = read_manifest(folder)
    verify_files(folder, manifest)
    sections = read_sections(folder)
    chunks = read_chunks(folder)
    vectors = read_faiss(folder)
    if vectors.ntotal != len(chunks) or vectors.d != manifest.dimension:
        raise corrupt(folder, "vector count or size differs from the chunk list")
    offsets = np.cumsum([0] + [len(chunk.sentences) for chunk in chunks], dtype=np.int64)
    shape = (len(chunks), manifest.dimension)
    embeddings = read_matrix(folder, "embeddings.npy", shape)
    sentences = read_matrix(folder, "sentences.npy", (int(offsets[-1]), manifest.dimension))
    titles = read_matrix(folder, "titles.npy", (len(sections), manifest.dimension))
    return LoadedIndex(
        manifest, sections, chunks, embeddings, sentences, titles, folder, vectors, offsets
    )


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


def read_manifest(folder: Path) -> Manifest:
    """The manifest of build `folder`, without loading anything else."""
    try:
        return Manifest.from_json((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise corrupt(folder, f"{folder.name}/{MANIFEST} is missing") from None
    except (OSError, ValueError, RecursionError) as error:  # RecursionError: JSON nested too deep
        raise corrupt(folder, f"{MANIFEST} is unreadable: {error}") from error


def mismatches(manifest: Manifest, settings: Settings) -> list[str]:
    """What differs between how the index was built and the current settings, with the fix."""
    found = []
    if manifest.format_version != FORMAT_VERSION:
        found.append(
            f"it has format version {manifest.format_version} but this qa reads "
            f"{FORMAT_VERSION}: run `qa build`"
        )
    if manifest.model != settings.model:
        found.append(
            f"it was built with model {manifest.model!r} but the settings ask for "
            f"{settings.model!r}: run `qa build`, or set QA_MODEL={manifest.model}"
        )
    if manifest.chunking != settings.chunking():
        found.append(
            f"it was chunked with {manifest.chunking} but the settings say "
            f"{settings.chunking()}: run `qa build`"
        )
    if manifest.encoding != settings.encoding():
        found.append(
            f"it was encoded with {manifest.encoding} but the settings say "
            f"{settings.encoding()}: run `qa build`"
        )
    return found


def verify_files(folder: Path, manifest: Manifest) -> None:
    for name, expected in manifest.files.items():
        path = folder / name
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise corrupt(folder, f"{name} is missing") from None
        if size != expected.bytes:
            raise corrupt(folder, f"{name} has {size} bytes, expected {expected.bytes}")
        if file_sha256(path) != expected.sha256:
            raise corrupt(folder, f"{name} was altered (checksum differs)")
    for required in (*VECTOR_FILES, "sections.jsonl", "chunks.jsonl", "vectors.faiss"):
        if required not in manifest.files:
            raise corrupt(folder, f"{MANIFEST} does not list {required}")


def _read_jsonl(path: Path, parse: Callable[[dict[str, Any]], T]) -> list[T]:
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                rows.append(parse(json.loads(line)))
            except (ValueError, TypeError, KeyError, RecursionError) as error:
                raise corrupt(
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


def read_faiss(folder: Path) -> Any:
    import faiss

    try:
        return faiss.read_index(str(folder / "vectors.faiss"))
    except RuntimeError as error:
        raise corrupt(folder, f"vectors.faiss cannot be read: {error}") from error


def read_matrix(folder: Path, name: str, shape: tuple[int, int]) -> Vectors:
    """A stored float32 matrix, memory-mapped, checked against the shape it must have."""
    try:
        matrix = np.load(folder / name, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as error:
        raise corrupt(folder, f"{name} cannot be read: {error}") from error
    if matrix.shape != shape or matrix.dtype != np.float32:
        raise corrupt(folder, f"{name} holds {matrix.shape} {matrix.dtype}, expected {shape}")
    return matrix  # type: ignore[no-any-return]
