"""The life of an index: build it, say how it compares with the corpus, open it.

`open_index(settings)` is the one policy for opening an index: it loads the
live build and returns an `IndexStatus` (fresh, stale with the changed files,
missing, or damaged with the reason), rebuilding first when asked.  Nothing
here prints: the CLI and the web app decide what to say.

A build writes a new build folder, then swaps it in (`qa.folder`), holding the
folder's build lock throughout, so an interrupted or failed build leaves the
previous index usable.  The previous build's vectors serve as the embedding cache:
a chunk whose model input is unchanged is not embedded again.  Nothing is pickled: metadata is
JSON, vectors are FAISS's own format and `.npy` read with `allow_pickle=False`.

Not here: the format of a build folder (see `qa.store`), the CURRENT pointer, the lock
and the swap (see `qa.folder`), which vectors are reused or embedded (see `qa.vectors`),
ranking (see `qa.search`).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from qa import store
from qa.chunking import Chunk, chunk_document
from qa.corpus import Corpus, Document, corpus_hashes, read_corpus_files
from qa.embedding import Embedder, TokenEmbedder, encoder_of, load_embedder
from qa.errors import (
    BuildLockedError,
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
    QAError,
    QAWarning,
)
from qa.folder import (
    build_lock,
    building_elsewhere,
    current_folder,
    live_documents,
    previous_build,
    swap,
)
from qa.manifest import FORMAT_VERSION, Manifest, mismatches, read_manifest
from qa.sections import Section, noise_lines, page_breaks
from qa.settings import Settings
from qa.status import IndexInfo, IndexStatus, OpenedIndex
from qa.store import LoadedIndex
from qa.vectors import cached_tokens, cached_vectors, embed_all, embed_tokens


def load_index(settings: Settings | None = None) -> LoadedIndex:
    """Load and verify the live index of `settings.index_dir`; a QAError naming the fix."""
    settings = settings or Settings.from_env()
    folder = current_folder(settings.index_dir)
    differences = mismatches(read_manifest(folder), settings)
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
    """Compare the live index with the corpus files and the settings, without loading vectors."""
    settings = settings or Settings.from_env()
    try:
        manifest = read_manifest(current_folder(settings.index_dir))
    except IndexMissingError:
        return IndexStatus(settings.index_dir, missing=True)
    except IndexCorruptError as error:
        return IndexStatus(settings.index_dir, damaged=error.detail)
    return compare(manifest, settings, corpus_hashes(settings.corpus_dir, settings.follow_links))


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
    settings = settings or Settings.from_env()
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
    live build, unread by the chunker.  `progress` shows a progress bar while
    embedding, on a terminal only.
    """
    started = time.perf_counter()
    settings = settings or Settings.from_env()
    # The corpus first: a missing or empty folder is reported before the model loads.
    corpus, notes = _read_documents(settings)
    documents = corpus.documents
    embedder = embedder or load_embedder(settings.model, settings.precision)
    encoder = encoder_of(embedder, settings.sentence_vectors)
    index_dir = settings.index_dir
    store.make_writable_dir(index_dir)
    previous = previous_build(index_dir)
    sections, chunks = _chunk_all(documents, previous, embedder, settings)
    notes += _say(_without_text(documents, chunks))
    with build_lock(index_dir):
        before = live_documents(index_dir)
        cache = cached_vectors(previous, embedder, encoder)
        token_cache, basis = cached_tokens(previous, embedder, encoder)
        del previous  # its chunks are in `chunks`, its vectors in `cache` and `token_cache`
        reused = sum(1 for chunk in chunks if chunk.hash in cache)
        tokens = embed_tokens(chunks, cache, token_cache, basis, embedder, encoder, progress)
        chunk_vectors, sentence_vectors, title_vectors = embed_all(
            sections, chunks, cache, embedder, encoder, progress
        )
        manifest = _manifest(settings, embedder, encoder, corpus, chunks)
        changes = compare(replace(manifest, documents=before), settings, manifest.documents)
        manifest = replace(
            manifest, added=changes.added, removed=changes.removed, changed=changes.changed
        )
        build = store.Build(
            manifest, sections, chunks, chunk_vectors, sentence_vectors, title_vectors, tokens
        )
        swap(index_dir, store.write_build(index_dir, build))
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
        left_out=_left_out(documents),
        added=changes.added,
        removed=changes.removed,
        changed=changes.changed,
    )


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


def _chunk_all(
    documents: list[Document],
    previous: LoadedIndex | None,
    embedder: Embedder,
    settings: Settings,
) -> tuple[list[Section], list[Chunk]]:
    """Sections and chunks of every document; those of an unchanged file come from `previous`."""
    old: dict[str, tuple[list[Section], list[Chunk]]] = {}
    if previous is not None and (
        previous.manifest.format_version,
        previous.manifest.model,
        previous.manifest.chunking,
    ) == (FORMAT_VERSION, embedder.name, settings.chunking()):
        for section in previous.sections:
            old.setdefault(section.doc, ([], []))[0].append(section)
        for chunk in previous.chunks:
            old.setdefault(chunk.doc, ([], []))[1].append(chunk)
        unchanged = {
            doc.path for doc in documents if previous.manifest.documents.get(doc.path) == doc.sha256
        }
        old = {path: parts for path, parts in old.items() if path in unchanged}
    sections: list[Section] = []
    chunks: list[Chunk] = []
    for doc in documents:
        if doc.path in old:
            # A build from before sections knew their pages gets them from the document.
            doc_sections = [
                replace(s, pages=page_breaks(doc, s.start_line, s.end_line))
                for s in old[doc.path][0]
            ]
            doc_chunks = old[doc.path][1]
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
    """The corpus, and the warnings about files skipped or decoded as a guess."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", QAWarning)
        corpus = read_corpus_files(settings.corpus_dir, settings.follow_links)
    notes = tuple(str(w.message) for w in caught if issubclass(w.category, QAWarning))
    return corpus, _say(notes, stacklevel=4)


def _say(notes: Sequence[str], stacklevel: int = 3) -> tuple[str, ...]:
    """Warn each note as usual (the CLI prints them), and keep them for `IndexInfo`."""
    for note in notes:
        warnings.warn(note, QAWarning, stacklevel=stacklevel)
    return tuple(notes)
