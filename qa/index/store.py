"""The on-disk format of one build folder: `write_build` and its mirror `read_build`.

A `Build` (a `Manifest`, sections, chunks and their vectors) is written to a new
folder; every file is listed in `manifest.json` with its size and SHA-256, and
reading checks them, so a truncated or altered file is reported instead of
answered from.  JSON is validated field by field on the way in (`qa.index.manifest`,
`qa.index.records`).  An error names the index folder, the parent of the build folder.

Not here: deciding when to build (see `qa.index.build`) or which folder is live
(see `qa.index.folder`).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

import qa.index.entries as entries
from qa.errors import IndexCorruptError, QAError
from qa.index.ann import make_vector_index
from qa.index.manifest import MANIFEST, FileCheck, Manifest, read_manifest
from qa.index.records import read_chunks, read_sections, write_records
from qa.model.embedding import Vectors
from qa.rank.late import TOKEN_FILES, TokenVectors
from qa.readers.corpus import file_sha256
from qa.text.chunking import Chunk
from qa.text.sections import Section

VECTOR_FILES = ("embeddings.npy", "sentences.npy", "titles.npy")
# And TOKEN_FILES, a chunk's token vectors (`qa.rank.late`), when the manifest's encoder
# records them.


@dataclass(frozen=True)
class Build:
    """What a build folder holds: the manifest, the text and the vectors (`write_build`'s input)."""

    manifest: Manifest
    sections: list[Section]
    chunks: list[Chunk]
    embeddings: Vectors  # one row per chunk (memory-mapped once read back)
    sentence_vectors: Vectors  # one row per sentence of every chunk, in chunk order
    title_vectors: Vectors  # one row per section: its path alone (`Section.path_text`)
    tokens: TokenVectors | None  # each chunk's token vectors, if the model gives them


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
        probe.unlink(missing_ok=True)  # whatever is there (a FIFO would block the write)
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
        write_records(folder, build.sections, build.chunks)
        np.save(folder / "embeddings.npy", build.embeddings, allow_pickle=False)
        np.save(folder / "sentences.npy", build.sentence_vectors, allow_pickle=False)
        np.save(folder / "titles.npy", build.title_vectors, allow_pickle=False)
        if build.tokens is not None:
            build.tokens.save(folder)  # TOKEN_FILES, linked in when written already
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
        raise IndexCorruptError.of_build(folder, "vector count or size differs from the chunk list")
    offsets = np.cumsum([0] + [len(chunk.sentences) for chunk in chunks], dtype=np.int64)
    shape = (len(chunks), manifest.dimension)
    embeddings = read_matrix(folder, "embeddings.npy", shape)
    sentences = read_matrix(folder, "sentences.npy", (int(offsets[-1]), manifest.dimension))
    titles = read_matrix(folder, "titles.npy", (len(sections), manifest.dimension))
    tokens = read_tokens(folder, manifest, len(chunks))
    return LoadedIndex(
        manifest, sections, chunks, embeddings, sentences, titles, tokens, folder, vectors, offsets
    )


def read_tokens(folder: Path, manifest: Manifest, chunks: int) -> TokenVectors | None:
    """The build's token vectors, memory-mapped and checked, or None if it has none."""
    if manifest.encoder.get("token_vectors", "none") == "none":
        return None
    basis = read_matrix(folder, "token_basis.npy", None, np.float32)
    offsets = read_matrix(folder, "token_offsets.npy", (chunks + 1,), np.int64)
    count = int(offsets[-1])
    if basis.shape[0] != manifest.dimension or offsets[0] != 0 or (np.diff(offsets) < 0).any():
        raise IndexCorruptError.of_build(folder, "the token vectors do not fit the chunk list")
    codes = read_matrix(folder, "tokens.npy", (count, basis.shape[1]), np.int8)
    scales = read_matrix(folder, "token_scales.npy", (count,), np.float32)
    return TokenVectors(codes, scales, np.asarray(offsets), np.asarray(basis))


def verify_files(folder: Path, manifest: Manifest) -> None:
    for name, expected in manifest.files.items():
        path = folder / name
        try:
            found = entries.kind(path)  # nothing is opened that could block or lead elsewhere
            size = path.stat().st_size
        except FileNotFoundError:
            raise IndexCorruptError.of_build(folder, f"{name} is missing") from None
        if found != "a file":
            raise IndexCorruptError.of_build(folder, f"{name} is {found}, not a file")
        if size != expected.bytes:
            raise IndexCorruptError.of_build(
                folder, f"{name} has {size} bytes, expected {expected.bytes}"
            )
        if file_sha256(path) != expected.sha256:
            raise IndexCorruptError.of_build(folder, f"{name} was altered (checksum differs)")
    required = [*VECTOR_FILES, "sections.jsonl", "chunks.jsonl", "vectors.faiss"]
    if manifest.encoder.get("token_vectors", "none") != "none":
        required += TOKEN_FILES
    for required_file in required:
        if required_file not in manifest.files:
            raise IndexCorruptError.of_build(folder, f"{MANIFEST} does not list {required_file}")


def read_faiss(folder: Path) -> Any:
    import faiss

    try:
        return faiss.read_index(str(folder / "vectors.faiss"))
    except RuntimeError as error:
        raise IndexCorruptError.of_build(
            folder, f"vectors.faiss cannot be read: {error}"
        ) from error


def read_matrix(
    folder: Path, name: str, shape: tuple[int, ...] | None, dtype: type = np.float32
) -> Any:
    """A stored array, memory-mapped, checked against the type and (unless None, which
    asks for any matrix) the shape it must have."""
    try:
        matrix = np.load(folder / name, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as error:
        raise IndexCorruptError.of_build(folder, f"{name} cannot be read: {error}") from error
    fits = matrix.ndim == 2 if shape is None else matrix.shape == shape
    if not fits or matrix.dtype != dtype:
        expected = f"{shape or 'a matrix'} {np.dtype(dtype)}"
        raise IndexCorruptError.of_build(
            folder, f"{name} holds {matrix.shape} {matrix.dtype}, expected {expected}"
        )
    return matrix
