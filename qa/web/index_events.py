"""The page's events about its index: its searcher, the index panel, the panel's poll and
the Rebuild button, over one `Index` (and the corpus watcher).

`IndexEvents` holds the page's `Index`; `Handlers` (see `qa.web.handlers`) adds the
question's events to it.  Its methods are plain Python, testable without a browser: they
return HTML, or Gradio updates built inside them.

Not here: the HTML (see `qa.web.panel`, `qa.web.render`), the rebuild's thread and the
panel's facts (see `qa.web.state`), or placing the components (see `qa.web.app`).
"""

from __future__ import annotations

import hashlib
import threading
import traceback
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from qa.errors import QAError
from qa.web.panel import index_html, progress_html, status_line
from qa.web.render import message_html
from qa.web.state import Rebuild, describe_watch, index_facts

if TYPE_CHECKING:
    from qa.index.owner import Index
    from qa.index.watch import CorpusWatcher
    from qa.rank.search import Searcher


class IndexEvents:
    """What the page does about its index: the panel, its poll, a rebuild."""

    def __init__(self, index: Index, watcher: CorpusWatcher | None = None) -> None:
        self.index, self.settings, self.watcher = index, index.settings, watcher
        self.rebuilding = threading.Lock()  # one `Rebuild` at a time

    def searcher(self) -> Searcher:
        """The index's Searcher (`Index.searcher`); QAError saying why there is none."""
        try:
            return self.index.searcher()
        except QAError as error:
            if self.settings.read_only:
                raise QAError(f"{error} (this page is read-only)") from error
            raise

    def panel(self) -> tuple[str, str]:
        """The index panel's one-line label and its HTML, of the index that answers."""
        try:
            searcher = self.searcher()
        except QAError as error:
            return "No index", index_html({}, None, str(error))
        note = ""
        if self.watcher is not None:
            note = describe_watch(self.watcher.last, str(self.settings.corpus_dir))
        manifest = searcher.index.manifest
        counts = (len(manifest.documents), len(searcher.index.sections))
        rebuilding = self.rebuilding.locked()
        try:
            status = self.index.status()
        except QAError as error:
            html = index_html(index_facts(searcher), None, str(error), note=note)
            return status_line(counts, manifest.built_at, None), html
        fix = "Run `qa build` to update it." if self.settings.read_only else "Press Rebuild index."
        if self.watcher is not None:
            fix = "It is rebuilt in a moment."
        if rebuilding:
            fix = "Rebuilding now…"
        label = status_line(counts, manifest.built_at, status, rebuilding=rebuilding)
        return label, index_html(index_facts(searcher), status, fix=fix, note=note)

    def poll(self, shown: str) -> tuple[Any, Any, str]:
        """The index panel and its status line again, every `POLL_SECONDS` (see `qa.web.app`)
        while the page is open, when they differ from what the page shows (`shown`, their
        digest, returned with them): a build swapped in by another process (or the watcher)
        is loaded now, as the next question would load it, so the line describes the index
        that answers; a corpus changed since reads "the corpus changed".  Cheap when nothing
        changed: the live build's pointer is read and the manifest and corpus files are
        `stat`ed; no vectors are read, no file hashed, no model run."""
        import gradio as gr

        try:
            label, html = self.panel()
        except Exception:  # a bug: the log gets the traceback; no error box every few seconds
            traceback.print_exc()
            return gr.skip(), gr.skip(), shown
        now = hashlib.sha256(f"{label}\n{html}".encode()).hexdigest()[:16]
        if now == shown:
            return gr.skip(), gr.skip(), shown
        return html, gr.update(label=label), now

    def rebuild(self) -> Iterator[tuple[Any, Any, Any, Any]]:
        """Progress while the index is rebuilt, then what changed and the new panel."""
        import gradio as gr

        # Not queued behind each other: a second click, from anyone, is told a rebuild runs.
        if not self.rebuilding.acquire(blocking=False):
            busy = "A rebuild is already running: wait for it to finish."
            yield message_html(busy), gr.skip(), gr.skip(), gr.skip()
            return
        try:
            job = Rebuild(self.index)
            label, html = self.panel()  # says "Rebuilding now…", not "Press Rebuild index."
            starting = progress_html(*job.progress())
            yield starting, html, gr.update(interactive=False), gr.update(label=label)
            job.start()
            while not job.wait(0.2):
                yield progress_html(*job.progress()), gr.skip(), gr.skip(), gr.skip()
        finally:
            self.rebuilding.release()
        label, html = self.panel()
        done = message_html(job.error or job.summary, error=bool(job.error))
        yield done, html, gr.update(interactive=True), gr.update(label=label)
