"""One build of an index: the corpus read under the build lock, chunked and embedded, written
as a new build folder and swapped in (`make_build`).

A build writes a new build folder, then swaps it in (`qa.index.folder`), holding the
folder's build lock throughout, so an interrupted or failed build leaves the previous
index usable.  The documents are read under the lock, and read again when their files
changed before the swap, so a build never publishes a file deleted meanwhile.  An emptied
corpus folder gives an empty index; a removed one is an error (the index stays).  The
previous build is the cache: an unchanged file keeps its chunks, unread by the chunker, and
a chunk whose model input is unchanged is not embedded again.  Nothing is pickled: metadata
is JSON, vectors are FAISS's own format and `.npy` read with `allow_pickle=False`.

Not here: when to build, and for which corpus and model (see `qa.index.owner.Index`, the one
caller); the format of a build folder (see `qa.index.store`), the CURRENT pointer, the lock
and the swap (see `qa.index.folder`), which vectors are reused or embedded (see
`qa.index.vectors`).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

import qa.index.store as store
from qa.errors import EmptyCorpusError, QAWarning
from qa.index.folder import build_lock, live_documents, previous_build, swap
from qa.index.manifest import FORMAT_VERSION, Manifest
from qa.index.status import IndexInfo
from qa.index.store import LoadedIndex
from qa.index.token_files import token_staging
from qa.index.vectors import cached_tokens, cached_vectors, embed_all, embed_tokens
from qa.model.embedding import Embedder, Vectors, encoder_of
from qa.model.progress import Progress, reporting
from qa.rank.late import TokenVectors
from qa.readers.corpus import Corpus, Document, read_corpus_files, scan
from qa.settings import Settings
from qa.text.chunking import Chunk, chunk_document
from qa.text.sections import Section, noise_lines, page_breaks


def make_build(
    settings: Settings, embedder: Embedder, progress: Progress | bool = False
) -> IndexInfo:
    """Build the index of `settings.corpus_dir` into `settings.index_dir` with `embedder`,
    reusing the live build's chunks and vectors where unchanged, and swap it in.

    `progress`: a function told how many texts of each of the model's calls are embedded
    (`qa.model.progress`), or True for the model's own bar, on a terminal only.  Either way
    the model is given the same texts in the same calls, so every caller builds the same
    bytes.
    """
    started = time.perf_counter()
    encoder = encoder_of(embedder)  # what the model itself makes
    model = embedder if isinstance(progress, bool) else reporting(embedder, progress)
    index_dir = settings.index_dir
    store.make_writable_dir(index_dir)
    if settings.backend == "milvus":  # a server that is down is named before the model runs
        from qa.index.milvus import client

        client(settings.milvus_uri)
    # Token vectors go to files in `staging` as they come, for the build folder to link in.
    with build_lock(index_dir), token_staging(index_dir) as staging:
        before = live_documents(index_dir)
        made = _read_and_embed(settings, model, encoder, progress is True, staging)
        manifest = _manifest(settings, embedder, encoder, made.corpus, made.chunks)
        added, removed, changed = file_changes(before, manifest.documents)
        manifest = replace(manifest, added=added, removed=removed, changed=changed)
        build = store.Build(manifest, made.sections, made.chunks, *made.vectors, made.tokens)
        folder = store.write_build(index_dir, build)
        if settings.backend == "milvus":  # its collection filled first, then swapped in
            from qa.index.milvus_build import publish

            publish(settings, folder, build)
        else:
            swap(index_dir, folder)
    return IndexInfo(
        documents=len(made.corpus.documents),
        sections=len(made.sections),
        chunks=len(made.chunks),
        chunks_embedded=len(made.chunks) - made.reused,
        chunks_reused=made.reused,
        model=embedder.name,
        built_at=manifest.built_at,
        seconds=time.perf_counter() - started,
        warnings=made.notes,
        left_out=_left_out(made.corpus.documents),
        added=added,
        removed=removed,
        changed=changed,
    )


Changes = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]


def file_changes(built: dict[str, str], corpus: dict[str, str]) -> Changes:
    """The documents added, removed and changed in `corpus` since `built` ({path: sha256}).

    >>> file_changes({"a.txt": "1", "b.md": "2"}, {"a.txt": "9", "c.md": "3"})
    (('c.md',), ('b.md',), ('a.txt',))
    """
    return (
        tuple(sorted(set(corpus) - set(built))),
        tuple(sorted(set(built) - set(corpus))),
        tuple(sorted(p for p in set(corpus) & set(built) if corpus[p] != built[p])),
    )


def document_files(settings: Settings) -> dict[str, tuple[int, int]]:
    """{path: (size, modification time)} of the corpus's documents, without reading them;
    empty for a folder emptied of them, CorpusError for a missing one."""
    try:
        paths = scan(settings.corpus_dir, settings.follow_links).paths
    except EmptyCorpusError:
        return {}
    found = {}
    for name, path in paths.items():
        try:
            stat = path.stat()
        except OSError:
            continue  # deleted since it was listed; one that cannot be read is named by the read
        found[name] = (stat.st_size, stat.st_mtime_ns)
    return found


@dataclass(frozen=True)
class _Made:
    """What a build read and made of it: the documents, their chunks and vectors."""

    corpus: Corpus
    notes: tuple[str, ...]  # files skipped or without text, and why
    sections: list[Section]
    chunks: list[Chunk]
    vectors: tuple[Vectors, Vectors, Vectors]  # of the chunks, their sentences, section titles
    tokens: TokenVectors | None
    reused: int  # chunks whose vectors came from the live build


READS = 3  # a corpus still changing after this many reads is built as last read


def _read_and_embed(
    settings: Settings, embedder: Embedder, encoder: dict[str, str], progress: bool, staging: Path
) -> _Made:
    """The corpus read, chunked and embedded (under the build lock), reusing the live
    build's chunks and vectors where unchanged; read again while its files changed
    meanwhile, so that a file deleted during the build is not published."""
    previous = previous_build(settings.index_dir)
    reusable = _reusable(previous, embedder, settings)
    cache = cached_vectors(previous, embedder, encoder)
    token_cache, basis = cached_tokens(previous, embedder, encoder)
    del previous  # its chunks are in `reusable`, its vectors in `cache` and `token_cache`
    embedded: set[str] = set()  # chunks this build embeds, in any of its reads
    for attempt in range(1, READS + 1):
        files = document_files(settings)
        corpus, notes = _read_documents(settings)
        sections, chunks = _chunk_all(corpus.documents, reusable, embedder, settings)
        notes += _say(_without_text(corpus.documents, chunks), stacklevel=4)
        embedded.update(chunk.hash for chunk in chunks if chunk.hash not in cache)
        tokens = embed_tokens(
            chunks, cache, token_cache, basis, embedder, encoder, progress, staging
        )
        vectors = embed_all(sections, chunks, cache, embedder, progress)
        if attempt == READS or document_files(settings) == files:
            break
    reused = sum(1 for chunk in chunks if chunk.hash not in embedded)
    return _Made(corpus, notes, sections, chunks, vectors, tokens, reused)


def _manifest(
    settings: Settings,
    embedder: Embedder,
    encoder: dict[str, str],
    corpus: Corpus,
    chunks: list[Chunk],
) -> Manifest:
    return Manifest(
        model=embedder.name,
        dimension=embedder.dimension,
        chunking=settings.chunking(),
        encoding=settings.encoding(),
        encoder=encoder,
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        corpus_dir=str(settings.corpus_dir.resolve()),
        documents=corpus.files,  # skipped files too: seen, so not "added" next time
        chunk_hashes=tuple(chunk.hash for chunk in chunks),
    )


Reusable = dict[str, tuple[str, list[Section], list[Chunk]]]


def _reusable(previous: LoadedIndex | None, embedder: Embedder, settings: Settings) -> Reusable:
    """{path: (sha256, sections, chunks)} of each document of `previous`, if it was chunked
    as `settings` and `embedder` would chunk it now; else empty."""
    if previous is None or (
        previous.manifest.format_version,
        previous.manifest.model,
        previous.manifest.chunking,
    ) != (FORMAT_VERSION, embedder.name, settings.chunking()):
        return {}
    reusable: Reusable = {path: (sha, [], []) for path, sha in previous.manifest.documents.items()}
    for section in previous.sections:
        if section.doc in reusable:
            reusable[section.doc][1].append(section)
    for chunk in previous.chunks:
        if chunk.doc in reusable:
            reusable[chunk.doc][2].append(chunk)
    return reusable


def _chunk_all(
    documents: list[Document], reusable: Reusable, embedder: Embedder, settings: Settings
) -> tuple[list[Section], list[Chunk]]:
    """Sections and chunks of every document; those of an unchanged file come from `reusable`."""
    sections: list[Section] = []
    chunks: list[Chunk] = []
    kept = {d.path for d in documents if reusable.get(d.path, ("",))[0] == d.sha256}
    fresh = iter(_chunk_fresh([d for d in documents if d.path not in kept], embedder, settings))
    for doc in documents:
        if doc.path in kept:
            old = reusable[doc.path]
            # A build from before sections knew their pages gets them from the document.
            doc_sections = [
                replace(s, pages=page_breaks(doc, s.start_line, s.end_line)) for s in old[1]
            ]
            doc_chunks = old[2]
        else:
            doc_sections, doc_chunks = next(fresh)
        sections += doc_sections
        chunks += doc_chunks
    return sections, chunks


Chunked = tuple[list[Section], list[Chunk]]


@runtime_checkable
class Chunker(Protocol):
    """A model that chunks documents too, elsewhere (a Ray build's, `qa.index.ray_build`)."""

    def chunk_documents(
        self, documents: list[Document], max_tokens: int, min_tokens: int
    ) -> list[Chunked]: ...


def _chunk_fresh(
    documents: list[Document], embedder: Embedder, settings: Settings
) -> list[Chunked]:
    """Sections and chunks of each of `documents`: by the model where it chunks, else here."""
    limits = (settings.max_tokens, settings.min_chunk_tokens)
    if isinstance(embedder, Chunker):
        return embedder.chunk_documents(documents, *limits)
    return [chunk_document(doc, embedder.count_tokens, *limits) for doc in documents]


def _without_text(documents: list[Document], chunks: list[Chunk]) -> list[str]:
    """Why each document that yields no chunk does: `["empty.txt is empty"]`."""
    with_chunks = {chunk.doc for chunk in chunks}
    found = []
    for doc in documents:
        if doc.path in with_chunks:
            continue
        if not doc.text.strip():
            found.append(f"{doc.path} is empty: nothing of it is indexed")
        elif noise_lines(doc.text):
            found.append(f'{doc.path} holds only "See also" link lines: nothing of it is indexed')
        else:
            found.append(f"{doc.path} yields no passage: nothing of it is indexed")
    return found


def _left_out(documents: list[Document]) -> tuple[str, ...]:
    """The "See also" link lines left out of each document: `("a.txt lines 5, 9",)`."""
    found = []
    for doc in documents:
        if numbers := noise_lines(doc.text):
            label = "line" if len(numbers) == 1 else "lines"
            found.append(f"{doc.path} {label} {', '.join(map(str, numbers))}")
    return tuple(found)


def _read_documents(settings: Settings) -> tuple[Corpus, tuple[str, ...]]:
    """The corpus, and the warnings about files skipped or decoded as a guess, or about a
    folder that holds no documents."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", QAWarning)
        try:
            corpus = read_corpus_files(settings.corpus_dir, settings.follow_links)
        except EmptyCorpusError:
            corpus = Corpus([], {})
    notes = tuple(str(w.message) for w in caught if issubclass(w.category, QAWarning))
    if not corpus.files:
        notes += (EMPTY.format(corpus=settings.corpus_dir),)
    return corpus, _say(notes, stacklevel=5)


EMPTY = (
    "{corpus}/ holds no documents, so the index is empty: add .txt, .md, .pdf, .html or "
    ".docx files to it"
)


def _say(notes: Sequence[str], stacklevel: int = 3) -> tuple[str, ...]:
    """Warn each note as usual (the CLI prints them), and keep them for `IndexInfo`."""
    for note in notes:
        warnings.warn(note, QAWarning, stacklevel=stacklevel)
    return tuple(notes)
