"""The life of an index: build it, say how it compares with the corpus, open it.

`open_index(settings)` is the one policy for opening an index: it loads the
live build and returns an `IndexStatus` (fresh, stale with the changed files,
missing, or damaged with the reason), rebuilding first when asked.  Nothing
here prints: the CLI and the web app decide what to say.

A build writes a new build folder, then swaps it in (`qa.index.folder`), holding the
folder's build lock throughout, so an interrupted or failed build leaves the
previous index usable.  The documents are read under the lock, and read again when
their files changed before the swap, so a build never publishes a file deleted meanwhile.
An emptied corpus folder gives an empty index; a removed one is an error (the index stays).
The previous build's vectors serve as the embedding cache: a chunk whose model input is
unchanged is not embedded again.  Nothing is pickled: metadata is
JSON, vectors are FAISS's own format and `.npy` read with `allow_pickle=False`.

Not here: the format of a build folder (see `qa.index.store`), the CURRENT pointer, the lock
and the swap (see `qa.index.folder`), which vectors are reused or embedded (see `qa.index.vectors`),
ranking (see `qa.rank.search`).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from qa.errors import (
    BuildLockedError,
    EmptyCorpusError,
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
    QAError,
    QAWarning,
)
from qa.index import store
from qa.index.folder import (
    build_lock,
    building_elsewhere,
    corpus_of,
    current_folder,
    live_documents,
    own_corpus,
    previous_build,
    swap,
)
from qa.index.manifest import FORMAT_VERSION, Manifest, mismatches, read_manifest
from qa.index.status import IndexInfo, IndexStatus, OpenedIndex
from qa.index.store import LoadedIndex
from qa.index.token_files import token_staging
from qa.index.vectors import cached_tokens, cached_vectors, embed_all, embed_tokens
from qa.model.embedding import Embedder, TokenEmbedder, Vectors, encoder_of, load_embedder
from qa.rank.late import TokenVectors
from qa.readers.corpus import Corpus, Document, corpus_hashes, read_corpus_files, scan
from qa.settings import Settings
from qa.text.chunking import Chunk, chunk_document
from qa.text.sections import Section, noise_lines, page_breaks


def load_index(settings: Settings | None = None) -> LoadedIndex:
    """Load and verify the live index of `settings.index_dir`; a QAError naming the fix
    (IndexMismatchError for settings that name another corpus than the index's own)."""
    settings = settings or Settings.from_env()
    folder = current_folder(settings.index_dir)
    manifest = read_manifest(folder)
    differences = mismatches(manifest, corpus_of(manifest, settings))
    if differences:
        raise IndexMismatchError(f"{settings.index_dir}/ does not match: {'; '.join(differences)}")
    return store.read_build(folder)


def compare(manifest: Manifest, settings: Settings, corpus: dict[str, str]) -> IndexStatus:
    """How the build of `manifest` differs from `corpus` ({path: sha256}) and `settings`."""
    built = manifest.documents
    return IndexStatus(
        settings.index_dir,
        mismatches=tuple(mismatches(manifest, settings)),
        added=tuple(sorted(set(corpus) - set(built))),
        removed=tuple(sorted(set(built) - set(corpus))),
        changed=tuple(sorted(p for p in set(corpus) & set(built) if corpus[p] != built[p])),
    )


def index_status(settings: Settings | None = None) -> IndexStatus:
    """Compare the live index with its corpus files and the settings, without loading vectors.

    The corpus is the index's own unless the settings choose one (`qa.index.folder.own_corpus`):
    IndexMismatchError for another folder.
    """
    settings = settings or Settings.from_env()
    try:
        manifest = read_manifest(current_folder(settings.index_dir))
    except IndexMissingError:
        return IndexStatus(settings.index_dir, missing=True)
    except IndexCorruptError as error:
        return IndexStatus(settings.index_dir, damaged=error.detail)
    settings = corpus_of(manifest, settings)
    return compare(manifest, settings, document_hashes(settings))


def document_hashes(settings: Settings) -> dict[str, str]:
    """{path: sha256} of the corpus's documents; empty for a folder emptied of them,
    CorpusError for a missing one."""
    try:
        return corpus_hashes(settings.corpus_dir, settings.follow_links)
    except EmptyCorpusError:
        return {}


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
    what changed); an unusable one gives `index=None`.  When a stale index cannot
    be rebuilt (another process is building, the folder is read-only), it is
    returned as found, and `not_rebuilt` says why.
    """
    # The index's own corpus, known even when the live build is damaged: a rebuild must not
    # replace it with another corpus's (only `build_index` given both folders may).
    settings = own_corpus(settings or Settings.from_env())
    status, index = index_status(settings), None
    if status.state in ("fresh", "stale") and not status.mismatches:
        try:
            index = load_index(settings)
        except IndexCorruptError as error:
            status = IndexStatus(settings.index_dir, damaged=error.detail)
    if rebuild and index is not None and _lacks_tokens(index, embedder):
        # A build through a wrapper that dropped them (the page's, before it passed them on).
        status = replace(status, mismatches=(*status.mismatches, NO_TOKENS))
    if not rebuild or status.fresh:
        return OpenedIndex(index, status)
    if before_build is not None:
        before_build(replace(status, building_elsewhere=building_elsewhere(settings.index_dir)))
    try:
        built = build_index(settings, embedder=embedder, progress=False)
    except BuildLockedError as error:
        if index is not None:
            return OpenedIndex(index, status, not_rebuilt=str(error))
        # Nothing to answer from yet (a first run started twice): wait for that build.
        with build_lock(settings.index_dir, wait=True):
            pass
        return open_index(settings, rebuild=True, embedder=embedder)
    except QAError as error:
        if index is None:
            raise
        return OpenedIndex(index, status, not_rebuilt=str(error))
    return OpenedIndex(load_index(settings), status, built)


NO_TOKENS = "it keeps no token vectors, which the model gives: run `qa build`"


def _lacks_tokens(index: LoadedIndex, embedder: Embedder | None) -> bool:
    """Whether `index` has no token vectors though `embedder`, the model it will be
    searched with, gives them (ranking it would then leave out late interaction)."""
    return index.tokens is None and isinstance(embedder, TokenEmbedder)


def build_index(
    settings: Settings | None = None, *, embedder: Embedder | None = None, progress: bool = True
) -> IndexInfo:
    """Build or refresh the index of `settings.corpus_dir`, re-embedding only changed chunks.

    An unchanged file (same hash, same model and chunking) keeps its chunks from the
    live build, unread by the chunker.  The corpus is the index's own unless the
    settings choose one; another than the index's own is refused unless both folders
    are chosen (`qa.index.folder.own_corpus`).  `progress` shows a progress bar while
    embedding, on a terminal only.
    """
    started = time.perf_counter()
    settings = settings or Settings.from_env()
    settings = own_corpus(settings, replacing=settings.corpus_given and settings.index_given)
    document_files(settings)  # a missing corpus folder is reported before the model loads
    embedder = embedder or load_embedder(settings.model, settings.precision)
    encoder = encoder_of(embedder, settings.sentence_vectors)
    index_dir = settings.index_dir
    store.make_writable_dir(index_dir)
    # Token vectors go to files in `staging` as they come, for the build folder to link in.
    with build_lock(index_dir), token_staging(index_dir) as staging:
        before = live_documents(index_dir)
        made = _read_and_embed(settings, embedder, encoder, progress, staging)
        manifest = _manifest(settings, embedder, encoder, made.corpus, made.chunks)
        changes = compare(replace(manifest, documents=before), settings, manifest.documents)
        manifest = replace(
            manifest, added=changes.added, removed=changes.removed, changed=changes.changed
        )
        build = store.Build(manifest, made.sections, made.chunks, *made.vectors, made.tokens)
        swap(index_dir, store.write_build(index_dir, build))
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
        added=changes.added,
        removed=changes.removed,
        changed=changes.changed,
    )


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
        vectors = embed_all(sections, chunks, cache, embedder, encoder, progress)
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
    for doc in documents:
        old = reusable.get(doc.path)
        if old is not None and old[0] == doc.sha256:
            # A build from before sections knew their pages gets them from the document.
            doc_sections = [
                replace(s, pages=page_breaks(doc, s.start_line, s.end_line)) for s in old[1]
            ]
            doc_chunks = old[2]
        else:
            doc_sections, doc_chunks = chunk_document(
                doc, embedder.count_tokens, settings.max_tokens, settings.min_chunk_tokens
            )
        sections += doc_sections
        chunks += doc_chunks
    return sections, chunks


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
