"""Build, store and load the index: FAISS vectors plus JSON metadata, swapped in atomically.

Layout of an index folder:

    index/CURRENT              name of the live build folder (replaced by rename)
    index/build-<time>-<pid>/  manifest.json, sections.jsonl, chunks.jsonl,
                               vectors.faiss, embeddings.npy

A build writes a new build folder, then renames a new CURRENT over the old
one, so an interrupted or failed build leaves the previous index usable.  The
previous build's vectors serve as the embedding cache: a chunk whose model
input is unchanged is not embedded again.  Nothing is pickled: metadata is
JSON, vectors are FAISS's own format and `.npy` read with `allow_pickle=False`.

Not here: ranking (see `qa.search`).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from qa import store
from qa.chunking import Chunk, Section, chunk_document, text_hash
from qa.corpus import corpus_hashes, read_corpus
from qa.embedding import Embedder, Vectors, load_embedder
from qa.errors import (
    BuildLockedError,
    IndexMismatchError,
    IndexMissingError,
    QAError,
    QAWarning,
)
from qa.settings import Settings

CURRENT = "CURRENT"


@dataclass(frozen=True)
class IndexInfo:
    """What a build did."""

    documents: int
    sections: int
    chunks: int
    chunks_embedded: int
    chunks_reused: int
    model: str
    built_at: str
    seconds: float
    warnings: tuple[str, ...] = ()  # documents that were skipped or decoded as a guess


@dataclass(frozen=True)
class IndexStatus:
    """How an index on disk compares with the corpus and the settings."""

    index_dir: Path
    missing: bool = False
    mismatches: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()

    @property
    def fresh(self) -> bool:
        return not (self.missing or self.mismatches or self.added or self.removed or self.changed)

    def file_changes(self) -> list[str]:
        """What happened to the documents, a phrase per kind: `["added b.md", "changed a.txt"]`."""
        kinds = (("added", self.added), ("changed", self.changed), ("removed", self.removed))
        return [f"{kind} {', '.join(names)}" for kind, names in kinds if names]

    def describe(self) -> str:
        """One line: "index/ is up to date", or what differs."""
        if self.missing:
            return f"no index in {self.index_dir}/"
        parts = list(self.mismatches) + self.file_changes()
        if not parts:
            return f"{self.index_dir}/ is up to date"
        return f"{self.index_dir}/ is out of date ({'; '.join(parts)})"


@dataclass(frozen=True)
class LoadedIndex:
    """A verified index, in memory."""

    folder: Path
    manifest: dict[str, Any]
    sections: list[Section]
    chunks: list[Chunk]
    vectors: Any  # a faiss.Index over the chunk vectors
    embeddings: Vectors  # the same chunk vectors, row by row (memory-mapped)
    sentence_vectors: Vectors  # one row per sentence of every chunk, in chunk order
    sentence_offsets: npt.NDArray[np.int64]  # chunk i's sentences: rows offsets[i]:offsets[i+1]


def current_folder(index_dir: Path) -> Path:
    """The live build folder of `index_dir`; IndexMissingError when there is none."""
    pointer = index_dir / CURRENT
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise IndexMissingError(f"No index in {index_dir}/: run `qa build`") from None
    except OSError as error:
        raise IndexMissingError(
            f"Cannot read {pointer} ({error.strerror}): check permissions"
        ) from error
    if not name.startswith("build-") or "/" in name or "\\" in name or ".." in name:
        raise store.corrupt(index_dir, f"{CURRENT} names {name!r}, not a build folder")
    return index_dir / name


def load_index(index_dir: Path | str, settings: Settings | None = None) -> LoadedIndex:
    """Load and verify the index in `index_dir`; a QAError naming the fix if it is unusable."""
    index_dir = Path(index_dir)
    settings = settings or Settings()
    folder = current_folder(index_dir)
    manifest = store.read_manifest(folder, index_dir)
    mismatches = store.mismatches(manifest, settings)
    if mismatches:
        raise IndexMismatchError(f"{index_dir}/ does not match: {'; '.join(mismatches)}")
    store.verify_files(folder, manifest, index_dir)
    sections = store.read_sections(folder, index_dir)
    chunks = store.read_chunks(folder, index_dir)
    vectors = store.read_faiss(folder, index_dir)
    dimension = manifest["model"]["dimension"]
    if vectors.ntotal != len(chunks) or vectors.d != dimension:
        raise store.corrupt(index_dir, "vector count or size differs from the chunk list")
    offsets = np.cumsum([0] + [len(chunk.sentences) for chunk in chunks], dtype=np.int64)
    embeddings = store.read_matrix(folder, "embeddings.npy", (len(chunks), dimension), index_dir)
    sentence_vectors = store.read_matrix(
        folder, "sentences.npy", (int(offsets[-1]), dimension), index_dir
    )
    return LoadedIndex(
        folder, manifest, sections, chunks, vectors, embeddings, sentence_vectors, offsets
    )


def index_status(
    corpus_dir: Path | str, index_dir: Path | str, settings: Settings | None = None
) -> IndexStatus:
    """Compare the index with the corpus files and the settings, without loading vectors."""
    index_dir, settings = Path(index_dir), settings or Settings()
    try:
        manifest = store.read_manifest(current_folder(index_dir), index_dir)
    except IndexMissingError:
        return IndexStatus(index_dir, missing=True)
    built = manifest["documents"]
    now = corpus_hashes(Path(corpus_dir))
    return IndexStatus(
        index_dir,
        mismatches=tuple(store.mismatches(manifest, settings)),
        added=tuple(sorted(set(now) - set(built))),
        removed=tuple(sorted(set(built) - set(now))),
        changed=tuple(sorted(p for p in set(now) & set(built) if now[p] != built[p])),
    )


@contextlib.contextmanager
def _build_lock(index_dir: Path) -> Iterator[None]:
    with open(index_dir / ".lock", "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BuildLockedError(
                f"Another build of {index_dir}/ is running: wait for it to finish, then retry"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _cached_vectors(index_dir: Path, embedder: Embedder) -> dict[str, Vectors]:
    """{text hash: vector} of each chunk and sentence of the live build, if of this model."""
    try:
        folder = current_folder(index_dir)
        manifest = store.read_manifest(folder, index_dir)
        if manifest["model"] != {"name": embedder.name, "dimension": embedder.dimension}:
            return {}
        old = load_index(index_dir, Settings(model=embedder.name, **manifest["chunking"]))
    except (QAError, OSError, ValueError, TypeError):
        return {}  # an unusable old index is simply not reused
    cache = {chunk.hash: old.embeddings[row] for row, chunk in enumerate(old.chunks)}
    sentences = (text for chunk in old.chunks for text in chunk.sentence_texts())
    cache.update(zip(map(text_hash, sentences), old.sentence_vectors, strict=True))
    return cache


def _embed(
    texts: list[str], cache: dict[str, Vectors], embedder: Embedder, progress: bool
) -> Vectors:
    """Vectors of `texts`: cached ones reused, the rest embedded (and added to `cache`)."""
    keys = [text_hash(text) for text in texts]
    todo = {key: text for key, text in zip(keys, texts, strict=True) if key not in cache}
    fresh = embedder.encode(list(todo.values()), progress=progress and len(todo) > 64)
    cache.update(zip(todo, fresh, strict=True))
    if not keys:
        return np.zeros((0, embedder.dimension), dtype=np.float32)
    return np.stack([cache[key] for key in keys]).astype(np.float32)


def build_index(
    corpus_dir: Path | str = "corpus",
    index_dir: Path | str = "index",
    *,
    settings: Settings | None = None,
    embedder: Embedder | None = None,
    progress: bool = True,
) -> IndexInfo:
    """Build or refresh the index of `corpus_dir` in `index_dir`, re-embedding only changed chunks.

    `progress` shows a progress bar while embedding, on a terminal only.
    """
    started = time.perf_counter()
    corpus_dir, index_dir = Path(corpus_dir), Path(index_dir)
    settings = (settings or Settings.from_env()).with_overrides(
        corpus_dir=corpus_dir, index_dir=index_dir
    )
    embedder = embedder or load_embedder(settings.model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", QAWarning)
        documents = read_corpus(corpus_dir)
    notes = tuple(str(w.message) for w in caught if issubclass(w.category, QAWarning))
    for note in notes:  # still shown as usual (the CLI prints them), and kept in IndexInfo
        warnings.warn(note, QAWarning, stacklevel=2)
    sections: list[Section] = []
    chunks: list[Chunk] = []
    for doc in documents:
        doc_sections, doc_chunks = chunk_document(
            doc, embedder.count_tokens, settings.max_tokens, settings.min_chunk_tokens
        )
        sections += doc_sections
        chunks += doc_chunks
    store.make_writable_dir(index_dir)
    with _build_lock(index_dir):
        cache = _cached_vectors(index_dir, embedder)
        reused = sum(1 for chunk in chunks if chunk.hash in cache)
        # Chunks and their sentences in one pass, so the progress bar covers all the work.
        sentence_texts = [text for chunk in chunks for text in chunk.sentence_texts()]
        matrix = _embed([c.embed_text for c in chunks] + sentence_texts, cache, embedder, progress)
        chunk_matrix, sentence_matrix = matrix[: len(chunks)], matrix[len(chunks) :]
        built_at = datetime.now(UTC).isoformat(timespec="seconds")
        manifest = {
            "format_version": store.FORMAT_VERSION,
            "qa_version": store.package_version(),
            "model": {"name": embedder.name, "dimension": embedder.dimension},
            "chunking": settings.chunking(),
            "built_at": built_at,
            "corpus_dir": str(corpus_dir.resolve()),
            "documents": {doc.path: doc.sha256 for doc in documents},
            "chunk_hashes": [chunk.hash for chunk in chunks],
        }
        folder = store.write_build(
            index_dir, manifest, sections, chunks, chunk_matrix, sentence_matrix
        )
        _swap(index_dir, folder)
    return IndexInfo(
        documents=len(documents),
        sections=len(sections),
        chunks=len(chunks),
        chunks_embedded=len(chunks) - reused,
        chunks_reused=reused,
        model=embedder.name,
        built_at=built_at,
        seconds=time.perf_counter() - started,
        warnings=notes,
    )


def _swap(index_dir: Path, folder: Path) -> None:
    """Point CURRENT at `folder` by rename, then delete builds older than the previous one."""
    previous = None
    with contextlib.suppress(QAError):
        previous = current_folder(index_dir).name
    pointer = index_dir / f".{CURRENT}.{os.getpid()}"
    pointer.write_text(folder.name + "\n", encoding="utf-8")
    store.fsync_path(pointer)
    os.replace(pointer, index_dir / CURRENT)
    store.fsync_path(index_dir)
    # Folders of older builds, and what an interrupted build left behind.
    for old in index_dir.glob("build-*"):
        if old.name not in (folder.name, previous):
            shutil.rmtree(old, ignore_errors=True)
    for stray in index_dir.glob(f".{CURRENT}.*"):
        stray.unlink(missing_ok=True)
