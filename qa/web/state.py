"""What the web app keeps between requests besides its `Index`: a rebuild in progress, and
the panel's facts and lines.

Searches ask the page's `qa.index.owner.Index` for its Searcher, which follows the build
live on disk, so a build made by a `Rebuild`, by the corpus watcher or by another process
is served as soon as it is swapped in, and the panel describes the index that answers.  A
`Rebuild` builds in a background thread (`Index.build`, told its progress) while searches
keep being answered from the old index.  One rebuild runs at a time per page (and
`qa.index.folder` locks the index folder across processes).

Not here: HTML (see `qa.web.render`) or Gradio (see `qa.web.app`).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from qa.errors import QAError

if TYPE_CHECKING:
    from qa.index.manifest import Manifest
    from qa.index.owner import Index
    from qa.index.status import IndexInfo
    from qa.index.watch import WatchEvent
    from qa.rank.search import Searcher


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


_NO_FRACTION: float | None = None  # an indeterminate bar until embedding starts


class Rebuild:
    """One incremental rebuild in a background thread; the page polls `progress()`.

    Afterwards `summary` says what changed, or `error` why it failed (the old
    index then stays in use).
    """

    def __init__(self, index: Index) -> None:
        self.index = index
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
        try:
            before = self.index.searcher().index.manifest
            info = self.index.build(progress=self._embedded)
            self._step("Loading the new index…")
            self.index.searcher()  # loads the new build now, not on the next question
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
