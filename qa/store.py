"""The on-disk format of one build folder: write it, read it back, and verify it.

Every file is listed in `manifest.json` with its size and SHA-256, and
reading checks them, so a truncated or altered file is reported instead of
answered from.  JSON is validated field by field on the way in.

Not here: deciding when to build or which folder is live (see `qa.index`).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from qa.ann import make_vector_index
from qa.chunking import Chunk, Section
from qa.corpus import file_sha256
from qa.embedding import Vectors
from qa.errors import IndexCorruptError, QAError
from qa.settings import Settings

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
VECTOR_FILES = ("embeddings.npy", "sentences.npy")
T = TypeVar("T")


def package_version() -> str:
    try:
        return importlib.metadata.version("qa")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


def corrupt(index_dir: Path, detail: str) -> IndexCorruptError:
    return IndexCorruptError(f"The index in {index_dir}/ is damaged ({detail}): run `qa build`")


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


def write_build(
    index_dir: Path,
    manifest: dict[str, Any],
    sections: list[Section],
    chunks: list[Chunk],
    matrix: Vectors,
    sentence_matrix: Vectors,
) -> Path:
    """Write a complete build folder and return it; on failure remove it and raise QAError."""
    import faiss

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    folder = index_dir / f"build-{stamp}-{os.getpid()}"
    try:
        folder.mkdir()
        _write_jsonl(folder / "sections.jsonl", [_section_json(s) for s in sections])
        _write_jsonl(folder / "chunks.jsonl", [_chunk_json(c) for c in chunks])
        np.save(folder / "embeddings.npy", matrix, allow_pickle=False)
        np.save(folder / "sentences.npy", sentence_matrix, allow_pickle=False)
        vectors, index_type = make_vector_index(matrix)
        faiss.write_index(vectors, str(folder / "vectors.faiss"))
        files = {}
        for path in sorted(folder.iterdir()):
            fsync_path(path)
            files[path.name] = {"bytes": path.stat().st_size, "sha256": file_sha256(path)}
        full = {**manifest, "index_type": index_type, "files": files}
        (folder / MANIFEST).write_text(json.dumps(full, indent=1) + "\n", encoding="utf-8")
        fsync_path(folder / MANIFEST)
        fsync_path(folder)
    except OSError as error:
        shutil.rmtree(folder, ignore_errors=True)
        raise QAError(
            f"Could not write the index to {index_dir}/ ({error.strerror or error}); "
            "the previous index is unchanged. Free space or fix permissions, then run `qa build`"
        ) from error
    return folder


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
    }


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


def read_manifest(folder: Path, index_dir: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise corrupt(index_dir, f"{folder.name}/{MANIFEST} is missing") from None
    except (OSError, ValueError) as error:
        raise corrupt(index_dir, f"{MANIFEST} is unreadable: {error}") from error
    if not isinstance(manifest, dict):
        raise corrupt(index_dir, f"{MANIFEST} is not a JSON object")
    for key, kind in _MANIFEST_FIELDS.items():
        if not isinstance(manifest.get(key), kind):
            raise corrupt(index_dir, f"{MANIFEST} lacks a valid {key!r}")
    model = manifest["model"]
    if not (isinstance(model.get("name"), str) and isinstance(model.get("dimension"), int)):
        raise corrupt(index_dir, f"{MANIFEST} lacks a valid model")
    return manifest


def mismatches(manifest: dict[str, Any], settings: Settings) -> list[str]:
    """What differs between how the index was built and the current settings, with the fix."""
    found = []
    if manifest["format_version"] != FORMAT_VERSION:
        found.append(
            f"it has format version {manifest['format_version']} but this qa reads "
            f"{FORMAT_VERSION}: run `qa build`"
        )
    built_with = manifest["model"]["name"]
    if built_with != settings.model:
        found.append(
            f"it was built with model {built_with!r} but the settings ask for "
            f"{settings.model!r}: run `qa build`, or set QA_MODEL={built_with}"
        )
    if manifest["chunking"] != settings.chunking():
        found.append(
            f"it was chunked with {manifest['chunking']} but the settings say "
            f"{settings.chunking()}: run `qa build`"
        )
    return found


def verify_files(folder: Path, manifest: dict[str, Any], index_dir: Path) -> None:
    for name, expected in manifest["files"].items():
        path = folder / name
        if "/" in name or name.startswith(".") or not isinstance(expected, dict):
            raise corrupt(index_dir, f"{MANIFEST} lists an invalid file {name!r}")
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise corrupt(index_dir, f"{name} is missing") from None
        if size != expected.get("bytes"):
            raise corrupt(index_dir, f"{name} has {size} bytes, expected {expected.get('bytes')}")
        if file_sha256(path) != expected.get("sha256"):
            raise corrupt(index_dir, f"{name} was altered (checksum differs)")
    for required in (*VECTOR_FILES, "sections.jsonl", "chunks.jsonl", "vectors.faiss"):
        if required not in manifest["files"]:
            raise corrupt(index_dir, f"{MANIFEST} does not list {required}")


def _read_jsonl(path: Path, index_dir: Path, parse: Callable[[dict[str, Any]], T]) -> list[T]:
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                rows.append(parse(json.loads(line)))
            except (ValueError, TypeError, KeyError) as error:
                raise corrupt(
                    index_dir, f"{path.name} line {number} is invalid: {error}"
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


def read_sections(folder: Path, index_dir: Path) -> list[Section]:
    def parse(row: dict[str, Any]) -> Section:
        return Section(
            doc=_field(row, "doc", str),
            title=_field(row, "title", str),
            path=_path(row, "path"),
            start_line=_field(row, "start_line", int),
            end_line=_field(row, "end_line", int),
            text=_field(row, "text", str),
        )

    return _read_jsonl(folder / "sections.jsonl", index_dir, parse)


def read_chunks(folder: Path, index_dir: Path) -> list[Chunk]:
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
        )

    return _read_jsonl(folder / "chunks.jsonl", index_dir, parse)


def read_faiss(folder: Path, index_dir: Path) -> Any:
    import faiss

    try:
        return faiss.read_index(str(folder / "vectors.faiss"))
    except RuntimeError as error:
        raise corrupt(index_dir, f"vectors.faiss cannot be read: {error}") from error


def read_matrix(folder: Path, name: str, shape: tuple[int, int], index_dir: Path) -> Vectors:
    """A stored float32 matrix, memory-mapped, checked against the shape it must have."""
    try:
        matrix = np.load(folder / name, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as error:
        raise corrupt(index_dir, f"{name} cannot be read: {error}") from error
    if matrix.shape != shape or matrix.dtype != np.float32:
        raise corrupt(index_dir, f"{name} holds {matrix.shape} {matrix.dtype}, expected {shape}")
    return matrix  # type: ignore[no-any-return]
