"""The life of an index: build it, say how it compares with the corpus, open it.

`open_index(settings)` is the one policy for opening an index: it loads the
live build and returns an `IndexStatus` (fresh, stale with the changed files,
missing, or damaged with the reason), rebuilding first when asked.  Nothing
here prints: the CLI and the web app decide what to say.

Layout of an index folder:

    index/CURRENT              name of the live build folder (replaced by rename)
    index/build-<time>-<pid>/  manifest.json, sections.jsonl, chunks.jsonl,
                               vectors.faiss, embeddings.npy

A build writes a new build folder, then renames a new CURRENT over the old
one, so an interrupted or failed build leaves the previous index usable.  The
previous build's vectors serve as the embedding cache: a chunk whose model
input is unchanged is not embedded again.  Nothing is pickled: metadata is
JSON, vectors are FAISS's own format and `.npy` read with `allow_pickle=False`.

Not here: the format of a build folder (see `qa.store`), ranking (see `qa.search`).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import numpy as np

from qa import store
from qa.chunking import Chunk, Section, chunk_document, text_hash
from qa.corpus import Corpus, Document, corpus_hashes, read_corpus_files
from qa.embedding import Embedder, Vectors, load_embedder
from qa.errors import (
    BuildLockedError,
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
    QAError,
    QAWarning,
)
from qa.settings import Settings
from qa.store import LoadedIndex, Manifest

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
    added: tuple[str, ...] = ()  # documents new since the previous build
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()

    def file_changes(self) -> list[str]:
        """What the build found changed since the one before: `["added b.md"]`."""
        return change_phrases(self.added, self.changed, self.removed)


def change_phrases(
    added: Sequence[str], changed: Sequence[str], removed: Sequence[str]
) -> list[str]:
    """What happened to the documents, a phrase per kind.

    >>> change_phrases(["b.md"], ["a.txt"], [])
    ['added b.md', 'changed a.txt']
    """
    kinds = (("added", added), ("changed", changed), ("removed", removed))
    return [f"{kind} {', '.join(names)}" for kind, names in kinds if names]


@dataclass(frozen=True)
class IndexStatus:
    """How an index on disk compares with the corpus and the settings: data, not a message.

    `state` is "missing" (no index), "damaged" (`damaged` says what), "stale"
    (`mismatches` with the settings, or documents `added`, `removed`, `changed`)
    or "fresh".
    """

    index_dir: Path
    missing: bool = False
    damaged: str = ""
    mismatches: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()

    @property
    def state(self) -> Literal["fresh", "stale", "missing", "damaged"]:
        if self.missing:
            return "missing"
        if self.damaged:
            return "damaged"
        if self.mismatches or self.added or self.removed or self.changed:
            return "stale"
        return "fresh"

    @property
    def fresh(self) -> bool:
        return self.state == "fresh"

    def file_changes(self) -> list[str]:
        """What happened to the documents, a phrase per kind: `["added b.md", "changed a.txt"]`."""
        return change_phrases(self.added, self.changed, self.removed)

    def describe(self) -> str:
        """One line: "index/ is up to date", or what differs."""
        if self.missing:
            return f"no index in {self.index_dir}/"
        if self.damaged:
            return f"the index in {self.index_dir}/ is damaged ({self.damaged})"
        parts = list(self.mismatches) + self.file_changes()
        if not parts:
            return f"{self.index_dir}/ is up to date"
        return f"{self.index_dir}/ is out of date ({'; '.join(parts)})"


@dataclass(frozen=True)
class OpenedIndex:
    """What `open_index` found and did: the loaded index (None if unusable) and why."""

    index: LoadedIndex | None
    status: IndexStatus  # as found, before any rebuild
    built: IndexInfo | None = None  # what the rebuild did, when one ran


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
        raise IndexCorruptError(index_dir, f"{CURRENT} names {name!r}, not a build folder")
    return index_dir / name


def load_index(settings: Settings | None = None) -> LoadedIndex:
    """Load and verify the live index of `settings.index_dir`; a QAError naming the fix."""
    settings = settings or Settings.from_env()
    folder = current_folder(settings.index_dir)
    mismatches = store.mismatches(store.read_manifest(folder), settings)
    if mismatches:
        raise IndexMismatchError(f"{settings.index_dir}/ does not match: {'; '.join(mismatches)}")
    return store.read_build(folder)


def compare(manifest: Manifest, settings: Settings, corpus: dict[str, str]) -> IndexStatus:
    """How the build of `manifest` differs from `corpus` ({path: sha256}) and `settings`."""
    built = manifest.documents
    return IndexStatus(
        settings.index_dir,
        mismatches=tuple(store.mismatches(manifest, settings)),
        added=tuple(sorted(set(corpus) - set(built))),
        removed=tuple(sorted(set(built) - set(corpus))),
        changed=tuple(sorted(p for p in set(corpus) & set(built) if corpus[p] != built[p])),
    )


def index_status(settings: Settings | None = None) -> IndexStatus:
    """Compare the live index with the corpus files and the settings, without loading vectors."""
    settings = settings or Settings.from_env()
    try:
        manifest = store.read_manifest(current_folder(settings.index_dir))
    except IndexMissingError:
        return IndexStatus(settings.index_dir, missing=True)
    except IndexCorruptError as error:
        return IndexStatus(settings.index_dir, damaged=error.detail)
    return compare(manifest, settings, corpus_hashes(settings.corpus_dir))


def open_index(
    settings: Settings | None = None,
    *,
    rebuild: bool = False,
    embedder: Embedder | None = None,
    before_build: Callable[[IndexStatus], None] | None = None,
) -> OpenedIndex:
    """The one policy for opening an index: load it, and say how it compares with the corpus.

    With `rebuild`, an index that is missing, damaged, mismatched or stale is
    (re)built first, incrementally; `before_build` is told why, so an interface
    can say so.  Without it, a stale index is still loaded (and its status says
    what changed); an unusable one gives `index=None`.
    """
    settings = settings or Settings.from_env()
    status, index = index_status(settings), None
    if status.state in ("fresh", "stale") and not status.mismatches:
        try:
            index = load_index(settings)
        except IndexCorruptError as error:
            status = IndexStatus(settings.index_dir, damaged=error.detail)
    if not rebuild or status.fresh:
        return OpenedIndex(index, status)
    if before_build is not None:
        before_build(status)
    built = build_index(settings, embedder=embedder, progress=False)
    return OpenedIndex(load_index(settings), status, built)


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
        manifest = store.read_manifest(folder)
        if (manifest.model, manifest.dimension) != (embedder.name, embedder.dimension):
            return {}
        old = store.read_build(folder)
    except (QAError, OSError, ValueError, TypeError):
        return {}  # an unusable old index is simply not reused
    cache = {chunk.hash: old.embeddings[row] for row, chunk in enumerate(old.chunks)}
    sentences = (text for chunk in old.chunks for text in chunk.sentence_texts())
    cache.update(zip(map(text_hash, sentences), old.sentence_vectors, strict=True))
    titles = (section.path_text for section in old.sections)
    cache.update(zip(map(text_hash, titles), old.title_vectors, strict=True))
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


def _embed_all(
    sections: list[Section],
    chunks: list[Chunk],
    cache: dict[str, Vectors],
    embedder: Embedder,
    progress: bool,
) -> tuple[Vectors, Vectors, Vectors]:
    """Vectors of the chunks, of their sentences and of the section paths, in one pass
    (so the progress bar covers all the work)."""
    sentences = [text for chunk in chunks for text in chunk.sentence_texts()]
    titles = [section.path_text for section in sections]
    texts = [c.embed_text for c in chunks] + sentences + titles
    matrix = _embed(texts, cache, embedder, progress)
    first_title = len(chunks) + len(sentences)
    return matrix[: len(chunks)], matrix[len(chunks) : first_title], matrix[first_title:]


def build_index(
    settings: Settings | None = None, *, embedder: Embedder | None = None, progress: bool = True
) -> IndexInfo:
    """Build or refresh the index of `settings.corpus_dir`, re-embedding only changed chunks.

    `progress` shows a progress bar while embedding, on a terminal only.
    """
    started = time.perf_counter()
    settings = settings or Settings.from_env()
    # The corpus first: a missing or empty folder is reported before the model loads.
    corpus, notes = _read_documents(settings.corpus_dir)
    documents = corpus.documents
    embedder = embedder or load_embedder(settings.model)
    sections, chunks = _chunk_all(documents, embedder, settings)
    index_dir = settings.index_dir
    store.make_writable_dir(index_dir)
    with _build_lock(index_dir):
        before = _live_documents(index_dir)
        cache = _cached_vectors(index_dir, embedder)
        reused = sum(1 for chunk in chunks if chunk.hash in cache)
        chunk_vectors, sentence_vectors, title_vectors = _embed_all(
            sections, chunks, cache, embedder, progress
        )
        manifest = Manifest(
            model=embedder.name,
            dimension=embedder.dimension,
            chunking=settings.chunking(),
            built_at=datetime.now(UTC).isoformat(timespec="seconds"),
            corpus_dir=str(settings.corpus_dir.resolve()),
            documents=corpus.files,  # skipped files too: seen, so not "added" next time
            chunk_hashes=tuple(chunk.hash for chunk in chunks),
        )
        changes = compare(replace(manifest, documents=before), settings, manifest.documents)
        manifest = replace(
            manifest, added=changes.added, removed=changes.removed, changed=changes.changed
        )
        build = store.Build(
            manifest, sections, chunks, chunk_vectors, sentence_vectors, title_vectors
        )
        _swap(index_dir, store.write_build(index_dir, build))
    return IndexInfo(
        documents=len(documents),
        sections=len(sections),
        chunks=len(chunks),
        chunks_embedded=len(chunks) - reused,
        chunks_reused=reused,
        model=embedder.name,
        built_at=manifest.built_at,
        seconds=time.perf_counter() - started,
        warnings=notes,
        added=changes.added,
        removed=changes.removed,
        changed=changes.changed,
    )


def _chunk_all(
    documents: list[Document], embedder: Embedder, settings: Settings
) -> tuple[list[Section], list[Chunk]]:
    sections: list[Section] = []
    chunks: list[Chunk] = []
    for doc in documents:
        doc_sections, doc_chunks = chunk_document(
            doc, embedder.count_tokens, settings.max_tokens, settings.min_chunk_tokens
        )
        sections += doc_sections
        chunks += doc_chunks
    return sections, chunks


def _read_documents(corpus_dir: Path) -> tuple[Corpus, tuple[str, ...]]:
    """The corpus, and the warnings about files skipped or decoded as a guess."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", QAWarning)
        corpus = read_corpus_files(corpus_dir)
    notes = tuple(str(w.message) for w in caught if issubclass(w.category, QAWarning))
    for note in notes:  # still shown as usual (the CLI prints them), and kept in IndexInfo
        warnings.warn(note, QAWarning, stacklevel=3)
    return corpus, notes


def _live_documents(index_dir: Path) -> dict[str, str]:
    """{path: sha256} of the documents in the live build; empty when there is none to read."""
    try:
        return store.read_manifest(current_folder(index_dir)).documents
    except QAError:
        return {}


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
