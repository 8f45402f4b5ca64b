"""`Index`: one index folder and its corpus, from build to search; the one owner of its life.

    index = Index.open(settings)   # an index folder given alone keeps its own corpus
    index.refresh()                # a build when missing, damaged, mismatched or stale
    index.searcher().search("how do partnerships protect civilians")

`Index.open` takes its configuration from what it opens (`qa.index.folder.own_corpus`): an
index folder given alone answers from the corpus it was built from, and only `build()` may
replace that corpus with another given beside it (`qa build --corpus C --index I`).
`status()` says how the index compares with its corpus, its settings and the vectors its
model makes now, as data; `build()` makes a new build (incremental, `qa.index.builder`);
`searcher()` is the Searcher over the live build, following each build swapped in by this
process or another; `watch()` is the `CorpusWatcher` that keeps it in step with its corpus.
The model is loaded once, when first needed, and shared by them all.  `search()` is the
one-call API over an `Index`.  Nothing here prints.

Not here: making a build (see `qa.index.builder`), the live build's pointer, lock and swap
(see `qa.index.folder`), ranking (see `qa.rank.search`).
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import replace
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
from qa.index.builder import document_files, file_changes, make_build
from qa.index.folder import (
    build_lock,
    building_elsewhere,
    corpus_of,
    current_folder,
    open_live,
    own_corpus,
)
from qa.index.manifest import MANIFEST, Manifest, encoder_changes, mismatches, read_manifest
from qa.index.status import IndexInfo, IndexStatus, OpenedIndex
from qa.index.store import LoadedIndex
from qa.index.watch import RETRY_SECONDS, SETTLE_MS, CorpusWatcher, WatchEvent
from qa.model.embedding import Embedder, encoder_of
from qa.model.progress import Progress
from qa.rank.passage import Passage
from qa.rank.search import Searcher
from qa.readers.corpus import FileState, corpus_state
from qa.settings import Settings

# Makes a build: (settings, model, progress) -> what was built (`make_build`'s signature).
Maker = Callable[[Settings, Embedder, Progress | bool], IndexInfo]


class Index:
    """One index folder and its corpus (`Index.open`); safe to share between threads."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder | None = None,
        *,
        replacing: IndexMismatchError | None = None,
    ) -> None:
        self.settings = settings
        self._embedder = embedder
        # Set while the folder holds the index of another corpus: only `build()` may run.
        self._replacing = replacing
        self._files: dict[str, FileState] = {}  # the corpus as last hashed
        self._manifest: tuple[tuple[Path, int, int], Manifest] | None = None
        self._loaded: LoadedIndex | None = None  # verified by `check`, not yet searched
        self._searcher: Searcher | None = None
        self._lock = threading.RLock()

    @classmethod
    def open(cls, settings: Settings | None = None, *, embedder: Embedder | None = None) -> Index:
        """The index of `settings` (default: `Settings.from_env()`), with its own corpus unless
        the settings choose one; `embedder` instead of loading the settings' model.

        IndexMismatchError for a chosen corpus that is not the index's own, unless both
        folders are chosen: that index may then only be built (replaced).
        """
        settings = settings or Settings.from_env()
        try:
            return cls(own_corpus(settings), embedder)
        except IndexMismatchError as error:
            if not (settings.corpus_given and settings.index_given):
                raise
            return cls(settings, embedder, replacing=error)

    def embedder(self) -> Embedder:
        """The model, loaded on first use (`qa.model.embedding.load_embedder`)."""
        with self._lock:
            if self._embedder is None:
                from qa.model.embedding import load_embedder

                self._embedder = load_embedder(self.settings.model, self.settings.precision)
            return self._embedder

    def status(self) -> IndexStatus:
        """How the live build compares with the corpus files, the settings and the vectors the
        model makes now; cheap: files are hashed only when their size or time changed, and
        the build's files are not read (`check` verifies them)."""
        self.refuse_another_corpus()
        index_dir = self.settings.index_dir
        try:
            manifest = self._live_manifest()
        except IndexMissingError:
            return IndexStatus(index_dir, missing=True)
        except IndexCorruptError as error:
            return IndexStatus(index_dir, damaged=error.detail)
        settings = corpus_of(manifest, self.settings)
        added, removed, changed = file_changes(manifest.documents, self._hashes(settings))
        # An index that is to be rebuilt anyway is not compared with the model (not loaded).
        differences = mismatches(manifest, settings) or encoder_changes(
            manifest.encoder, encoder_of(self.embedder())
        )
        return IndexStatus(
            index_dir, mismatches=tuple(differences), added=added, removed=removed, changed=changed
        )

    def check(self) -> OpenedIndex:
        """`status()`, with the live build read and verified when it can answer (damaged when
        a file fails its check): what `refresh` starts from.  Nothing is built."""
        status = self.status()
        if status.state not in ("fresh", "stale"):
            return OpenedIndex(None, status)
        try:
            return OpenedIndex(self._live(), status)
        except IndexCorruptError as error:
            return OpenedIndex(None, IndexStatus(self.settings.index_dir, damaged=error.detail))
        except IndexMismatchError:
            return OpenedIndex(None, status)  # its mismatches are in the status

    def load(self) -> LoadedIndex:
        """The live build, read and verified; QAError naming the fix (IndexMismatchError for
        another format, model or chunking)."""
        self.refuse_another_corpus()
        return open_live(self.settings)

    def build(self, *, progress: Progress | bool = False, maker: Maker = make_build) -> IndexInfo:
        """A new build of the corpus, re-embedding only changed chunks, swapped in.

        `progress`: told (texts embedded, texts in the model's call) as the model goes, or
        True for the model's own bar, on a terminal only (`qa.index.builder.make_build`).
        `maker`: what makes it, `make_build` or one with its model's work elsewhere
        (`qa.index.ray_build.ray_build`).
        """
        document_files(self.settings)  # a missing corpus folder is named before the model loads
        info = maker(self.settings, self.embedder(), progress)
        self._replacing = None  # the index is of this corpus now
        return info

    def refresh(
        self,
        *,
        before_build: Callable[[IndexStatus], None] | None = None,
        progress: Progress | bool = False,
    ) -> OpenedIndex:
        """Build the index incrementally when it is missing, damaged, mismatched or stale;
        nothing when it is fresh.

        `before_build` is told why first, so an interface can say so.  An index that cannot
        be rebuilt now (another process is building, the folder is read-only) is left as
        found, and `not_rebuilt` says why; with nothing to answer from, this waits for
        another process's build, or raises.
        """
        opened = self.check()
        status = opened.status
        if status.fresh:
            return opened
        if before_build is not None:
            before_build(replace(status, building_elsewhere=building_elsewhere(status.index_dir)))
        try:
            built = self.build(progress=progress)
        except BuildLockedError as error:
            if opened.index is not None:
                return replace(opened, not_rebuilt=str(error))
            with build_lock(status.index_dir, wait=True):  # a first run started twice
                pass
            return self.refresh(progress=progress)
        except QAError as error:
            if opened.index is None:
                raise
            return replace(opened, not_rebuilt=str(error))
        with self._lock:
            self._loaded = self.load()
            return OpenedIndex(self._loaded, status, built)

    def searcher(self) -> Searcher:
        """The Searcher over the live build: loaded once, then following each build swapped in
        (by this Index, the watcher or another process); QAError naming the fix when there is
        no index to answer from.  Asked again after such an error, it tries again."""
        with self._lock:
            loaded, self._loaded = self._loaded, None
            held = self._searcher
            if held is None or (loaded is not None and loaded.folder != held.index.folder):
                loaded = loaded or self.load()
                held = Searcher(loaded, embedder=self._question_model(loaded.manifest))
            # Only the newest is held, so an older build is freed once its questions are done.
            self._searcher = held.latest()
            return self._searcher

    def watch(
        self,
        *,
        on_event: Callable[[WatchEvent], None] | None = None,
        settle_ms: int = SETTLE_MS,
        retry_seconds: float = RETRY_SECONDS,
    ) -> CorpusWatcher:
        """A watcher (not started) that rebuilds this index a moment after its corpus changes."""
        self.refuse_another_corpus()
        return CorpusWatcher(
            self, on_event=on_event, settle_ms=settle_ms, retry_seconds=retry_seconds
        )

    def refuse_another_corpus(self) -> None:
        """IndexMismatchError when the folder holds the index of another corpus than the one
        the settings chose, which only `build()` may replace (every other method refuses)."""
        if self._replacing is not None:
            raise self._replacing

    def _live_manifest(self) -> Manifest:
        """The live build's manifest, read again only when CURRENT or the file changed."""
        folder = current_folder(self.settings.index_dir)
        try:
            stat = (folder / MANIFEST).stat()
            key = (folder, stat.st_mtime_ns, stat.st_size)
        except OSError:
            key = (folder, -1, -1)  # reading it says what is wrong
        cached = self._manifest
        if cached is None or cached[0] != key or key[1] < 0:
            cached = self._manifest = (key, read_manifest(folder))
        return cached[1]

    def _hashes(self, settings: Settings) -> dict[str, str]:
        """{path: sha256} of the corpus's documents; empty for a folder emptied of them,
        CorpusError for a missing one."""
        try:
            self._files = corpus_state(settings.corpus_dir, self._files, settings.follow_links)
        except EmptyCorpusError:
            self._files = {}
        return {name: state.sha256 for name, state in self._files.items()}

    def _live(self) -> LoadedIndex:
        """The live build, verified: the one held already if it is still live, else read."""
        with self._lock:
            folder = current_folder(self.settings.index_dir)
            for held in (self._loaded, self._searcher.index if self._searcher else None):
                if held is not None and held.folder == folder:
                    return held
            self._loaded = self.load()
            return self._loaded

    def _question_model(self, manifest: Manifest) -> Embedder | None:
        """The model, for questions to a build it encoded at the same precision; else None,
        and the Searcher loads the build's own."""
        embedder = self.embedder()
        precision = manifest.encoder.get("precision", "fp32")  # builds before it was recorded
        return embedder if getattr(embedder, "precision", "fp32") == precision else None


def search(
    question: str,
    k: int = 5,
    *,
    documents: Sequence[str] | None = None,
    settings: Settings | None = None,
) -> list[Passage]:
    """Answer `question` from the corpus and index of `settings` (default: `Settings.from_env()`);
    with `documents`, from those documents of it only (see `Searcher.search`).

    The index is built or refreshed first when needed (`Index.refresh`).  The `Index` is
    kept between calls; each call checks the corpus cheaply (a `stat` a file, hashing only
    files whose size or modification time changed), so calling this in a loop costs about
    what `Searcher.search` does, and still sees edits.
    """
    settings = settings or Settings.from_env()
    with _OPENED_LOCK:
        index = _OPENED.get(settings)
        if index is None:
            index = _OPENED[settings] = Index.open(settings)
        opened = index.refresh()
        if opened.not_rebuilt:
            warnings.warn(opened.as_is(), QAWarning, stacklevel=2)
        searcher = index.searcher()
    return searcher.search(question, k, documents=documents)


_OPENED: dict[Settings, Index] = {}
_OPENED_LOCK = threading.Lock()
