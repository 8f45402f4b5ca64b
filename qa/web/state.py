"""What the web app keeps between requests: the Searcher, a rebuild in progress, the watcher.

Searches read the Searcher from a `SearcherHolder`; the Searcher itself follows
the build live on disk (`Searcher.latest`), so a build made by a `Rebuild`, by
the corpus watcher or by another process is served as soon as it is swapped
in, and the panel describes the index that answers.  A `Rebuild` builds in a
background thread while searches keep being answered from the old index.  One
rebuild runs at a time per process (and `qa.index.folder` locks the index folder
across processes).

Not here: HTML (see `qa.web.render`) or Gradio (see `qa.web.app`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.errors import QAError
from qa.model.embedding import SpanEmbedder, TokenEmbedder

if TYPE_CHECKING:
    from qa.index.manifest import Manifest
    from qa.index.status import IndexInfo, IndexStatus
    from qa.index.watch import WatchEvent
    from qa.model.embedding import Embedder, Vectors
    from qa.rank.search import Searcher
    from qa.settings import Settings


class SearcherHolder:
    """The Searcher that answers questions now; `problem` says why there is none.

    With a `loader`, a holder without a Searcher tries again on each request, so a
    read-only page starts answering once someone runs `qa build`.
    """

    def __init__(
        self,
        searcher: Searcher | None,
        problem: str = "",
        loader: Callable[[], Searcher] | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._searcher, self.problem, self._loader = searcher, problem, loader
        self.rebuilding = threading.Lock()

    def get(self) -> Searcher:
        """The Searcher over the newest build on disk; QAError saying why there is none."""
        with self._lock:
            if self._searcher is None and self._loader is not None:
                try:
                    self._searcher, self.problem = self._loader(), ""
                except QAError as error:
                    self.problem = str(error)
            if self._searcher is None:
                raise QAError(self.problem or "No index is loaded: run `qa build`")
            # Hold the newest build's Searcher, so an older build is freed once the
            # questions still being answered from it are done.
            self._searcher = self._searcher.latest()
            return self._searcher


NO_DOCUMENTS = "none: add .txt, .md, .pdf, .html or .docx files to the corpus folder"


def index_facts(searcher: Searcher) -> dict[str, str]:
    """What the index panel lists about the index in memory: size, model, when it changed."""
    from qa.index.status import change_phrases
    from qa.web.panel import built_label

    manifest = searcher.index.manifest
    changes = change_phrases(manifest.added, manifest.changed, manifest.removed)
    return {
        "Documents": str(len(manifest.documents)) if manifest.documents else NO_DOCUMENTS,
        "Sections": str(len(searcher.index.sections)),
        "Chunks": str(len(searcher.chunks)),
        "Model": manifest.model,
        "Built": built_label(manifest.built_at),
        "Changes": "; ".join(changes) if changes else "no document changed",
    }


def corpus_status(settings: Settings, searcher: Searcher) -> IndexStatus:
    """How the corpus differs from the index that answers questions (the one in memory)."""
    from qa.index.build import compare, document_hashes

    return compare(searcher.index.manifest, settings, document_hashes(settings))


class ProgressEmbedder:
    """An Embedder that reports how many texts it has encoded, batch by batch."""

    def __init__(self, inner: Embedder, report: Callable[[int, int], None]) -> None:
        self.inner, self.report = inner, report
        self.name, self.dimension, self.max_tokens = inner.name, inner.dimension, inner.max_tokens
        self.precision: str = getattr(inner, "precision", "fp32")
        self.pools_spans = isinstance(inner, SpanEmbedder) and inner.pools_spans

    def encode_with_spans(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        *,
        progress: bool,
        tokens: Callable[[int, Vectors], None] | None = None,
    ) -> tuple[Vectors, Vectors]:
        """The inner model's vectors of `texts` and their spans, 32 texts at a time; each
        text's token vectors (by its number in `texts`) go to `tokens` when given (only a
        `TokenEmbedder` is given one, `qa.index.vectors`)."""
        if not isinstance(self.inner, SpanEmbedder):
            pieces = [text[a:b] for text, row in zip(texts, spans, strict=True) for a, b in row]
            return self.encode(texts), self.encode(pieces)
        self.report(0, len(texts))
        vectors, pooled = [self.inner.encode([])], [self.inner.encode([])]
        for start in range(0, len(texts), 32):
            end = start + 32
            batch = (texts[start:end], spans[start:end])
            if tokens is None:
                found = self.inner.encode_with_spans(*batch, progress=False)
            else:

                def shifted(row: int, found: Vectors, start: int = start) -> None:
                    tokens(start + row, found)

                found = self.inner.encode_with_spans(*batch, progress=False, tokens=shifted)
            vectors.append(found[0])
            pooled.append(found[1])
            self.report(min(end, len(texts)), len(texts))
        return np.concatenate(vectors), np.concatenate(pooled)

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        self.report(0, len(texts))
        parts = []
        for start in range(0, len(texts), 32):
            parts.append(self.inner.encode(texts[start : start + 32]))
            self.report(min(start + 32, len(texts)), len(texts))
        if not parts:
            return self.inner.encode([])
        return np.concatenate(parts).astype(np.float32, copy=False)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)


class ProgressTokenEmbedder(ProgressEmbedder):
    """A `ProgressEmbedder` over a model that gives token vectors, which it passes on: a
    build through it keeps them for late interaction, as a build by `qa build` does."""

    inner: TokenEmbedder

    def encode_tokens(
        self,
        texts: Sequence[str],
        *,
        words_only: bool = False,
        progress: bool = False,
        keep: Callable[[Vectors], Any] | None = None,
    ) -> tuple[Vectors, list[Any]]:
        """The inner model's vectors and token vectors of `texts`, 32 texts at a time."""
        self.report(0, len(texts))
        vectors, found = [self.inner.encode([])], []
        for start in range(0, len(texts), 32):
            part = self.inner.encode_tokens(
                texts[start : start + 32], words_only=words_only, keep=keep
            )
            vectors.append(part[0])
            found += part[1]
            self.report(min(start + 32, len(texts)), len(texts))
        return np.concatenate(vectors).astype(np.float32, copy=False), found


def progress_embedder(inner: Embedder, report: Callable[[int, int], None]) -> ProgressEmbedder:
    """`inner` reporting its progress, with its token vectors when it gives them."""
    if isinstance(inner, TokenEmbedder):
        return ProgressTokenEmbedder(inner, report)
    return ProgressEmbedder(inner, report)


_NO_FRACTION: float | None = None  # an indeterminate bar until embedding starts


class Rebuild:
    """One incremental rebuild in a background thread; the page polls `progress()`.

    Afterwards `summary` says what changed, or `error` why it failed (the old
    index then stays in use).
    """

    def __init__(self, settings: Settings, holder: SearcherHolder) -> None:
        self.settings, self.holder = settings, holder
        self._lock = threading.Lock()
        self._stage, self._fraction = "Reading the corpus…", _NO_FRACTION
        self.summary = self.error = ""
        self._thread = threading.Thread(target=self._run, name="qa-rebuild", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wait(self, seconds: float) -> bool:
        """True once the rebuild has finished."""
        self._thread.join(seconds)
        return not self._thread.is_alive()

    def progress(self) -> tuple[str, float | None]:
        with self._lock:
            return self._stage, self._fraction

    def _step(self, stage: str, fraction: float | None = None) -> None:
        with self._lock:
            self._stage, self._fraction = stage, fraction

    def _embedded(self, done: int, total: int) -> None:
        if total:
            self._step(f"Embedding new and changed text: {done} of {total} pieces…", done / total)
        else:
            self._step("No passage changed: nothing to embed…")

    def _run(self) -> None:
        from qa.index.build import build_index
        from qa.model.embedding import load_embedder

        try:
            before = self.holder.get().index.manifest
            embedder = progress_embedder(
                load_embedder(self.settings.model, self.settings.precision), self._embedded
            )
            info = build_index(self.settings, embedder=embedder, progress=False)
            self._step("Loading the new index…")
            self.holder.get()  # loads the new build now, not on the next question
            self.summary = describe_rebuild(info, before)
        except QAError as error:
            self.error = str(error)
        except Exception as error:  # shown on the page; the old index stays in use
            self.error = (
                f"The rebuild failed ({type(error).__name__}: {error}); the old index "
                "is still in use. See the server log"
            )
            raise


def describe_rebuild(info: IndexInfo, before: Manifest | None = None) -> str:
    """`Rebuilt in 2.1 s. Changed a.txt. 3 chunks embedded, 57 reused; ...`

    When nothing changed since the build `before` (the one that was answering),
    it says what that build itself changed and when, since that is what the reader
    last saw happen.
    """
    from qa.index.status import change_phrases
    from qa.web.panel import built_label, plural

    changes = [change[0].upper() + change[1:] for change in info.file_changes()]
    if changes:
        what = ". ".join(changes)
    else:
        what = "No document changed since the last build"
        earlier = before and change_phrases(before.added, before.changed, before.removed)
        if before and earlier:
            what += f" (of {built_label(before.built_at)}, which {'; '.join(earlier)})"
    return (
        f"Rebuilt in {info.seconds:.1f} s. {what}. {info.chunks_embedded} chunks embedded, "
        f"{info.chunks_reused} reused; {plural(info.documents, 'document')}, "
        f"{plural(info.sections, 'section')}, {plural(info.chunks, 'chunk')}. "
        "Searches now use the new index."
        + "".join(f" Warning: {note}" for note in info.warnings)
        + (f' Left out "See also" link lines: {"; ".join(info.left_out)}.' if info.left_out else "")
    )


def describe_watch(event: WatchEvent | None, folder: str) -> str:
    """The watcher's line under the index panel: what it last did, or that it is watching."""
    if event is None:
        return f"Watching {folder}/: the index is rebuilt a moment after documents change."
    from qa.index.watch import retrying
    from qa.web.panel import built_label

    when = built_label(event.at)
    if event.info is None:
        return (
            f"Watching {folder}/. At {when} the corpus could not be indexed"
            f"{retrying(event)}: {event.error}"
        )
    return f"Watching {folder}/. Last rebuild at {when}: " + describe_rebuild(event.info)
