"""Follow a corpus folder: rebuild the index incrementally a moment after files stop changing.

`Index.open(settings).watch().start()` (see `qa.index.owner`) watches the index's corpus
folder with watchfiles in a background thread.  Changes are debounced (a burst of saves is
one rebuild), then the index is brought up to date with `Index.build`, and again while the
corpus keeps changing during a build.  Searchers follow the new build on their next question
(see `Searcher.latest`), so questions are answered from the old index until the new one is
swapped in.

Bad moments are data, not crashes: a corpus folder that is removed is waited
for and followed again once restored; a failed rebuild (a full disk) is reported in
`WatchEvent.error`, the previous index stays live, and the rebuild is tried again
after a pause that doubles with each failure (2 s, 4 s, ... up to a minute) and on
the next change.  Nothing here prints:
`on_event` receives each `WatchEvent` and the CLI or the web app says it.

Not here: building (see `qa.index.owner`, `qa.index.builder`) or answering (see `qa.rank.search`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from qa.errors import BuildLockedError, QAError
from qa.index.status import IndexInfo, IndexStatus
from qa.readers import SUFFIXES
from qa.settings import Settings

SETTLE_MS = 400  # a change is built once the folder has been quiet this long
MAX_WAIT_MS = 5000  # ...or after this long of continuous changes
POLL_SECONDS = 0.5  # how often a missing corpus folder is looked for
RETRY_SECONDS = 2.0  # a failed rebuild is tried again after this, doubled after each failure
MAX_RETRY_SECONDS = 60.0


@dataclass(frozen=True)
class WatchEvent:
    """One thing the watcher did: a rebuild (`info`), or why it could not (`error`), and
    then how long after `at` it tries again (`retry_seconds`; a change also starts one)."""

    at: str  # ISO time, UTC
    info: IndexInfo | None = None
    error: str = ""
    retry_seconds: float = 0.0


class Followed(Protocol):
    """What the watcher needs of the index it follows (`qa.index.owner.Index`)."""

    settings: Settings

    def status(self) -> IndexStatus: ...

    def build(self) -> IndexInfo: ...


class CorpusWatcher:
    """Keeps `index` in step with its corpus folder, in a background thread (`Index.watch`)."""

    def __init__(
        self,
        index: Followed,
        *,
        on_event: Callable[[WatchEvent], None] | None = None,
        settle_ms: int = SETTLE_MS,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        self.index, self.on_event = index, on_event
        self.settle_ms, self.retry_seconds = settle_ms, retry_seconds
        self.last: WatchEvent | None = None
        self.builds = 0
        self._failures, self._retry_at = 0, float("inf")  # monotonic time of the next retry
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._thread = threading.Thread(target=self.run, name="qa-watch", daemon=True)

    @property
    def settings(self) -> Settings:
        """The index's settings: its corpus folder is the one watched."""
        return self.index.settings

    def start(self) -> CorpusWatcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():  # never started, or interrupted as it started
            self._thread.join()

    def wait_until_idle(self, seconds: float) -> bool:
        """True once the watcher has caught up: no change pending and no build running."""
        return self._idle.wait(seconds)

    def run(self) -> None:
        """Watch until `stop()`: sync the index, then again after every settled batch."""
        while not self._stop.is_set():
            folder = self.settings.corpus_dir
            if not folder.is_dir():
                self._sync()  # reports the missing folder once; the index stays
                self._stop.wait(POLL_SECONDS)
                continue
            self._sync()
            self._watch(folder, _identity(folder))

    def _watch(self, folder: Path, identity: tuple[int, int] | None) -> None:
        """Sync after each settled batch of changes, until the folder is removed or replaced."""
        import watchfiles

        # A change made after the last sync but before watching began is seen by no event:
        # the first batch (or the first quiet timeout) syncs once more, whatever it holds.
        first = True
        try:
            for changes in watchfiles.watch(
                folder,
                watch_filter=document_change_filter(folder),
                debounce=MAX_WAIT_MS,
                step=self.settle_ms,
                stop_event=self._stop,
                rust_timeout=int(POLL_SECONDS * 1000),
                yield_on_timeout=True,
                raise_interrupt=False,
            ):
                if _identity(folder) != identity:
                    return  # removed, or removed and restored: watch it anew
                if changes or first or time.monotonic() >= self._retry_at:
                    first = False
                    self._idle.clear()
                    self._sync()
        except (OSError, RuntimeError):  # the folder vanished as watching began
            self._stop.wait(POLL_SECONDS)

    def _sync(self) -> None:
        """Rebuild until the index matches the corpus, or a build changes nothing more."""
        self._idle.clear()
        previous: IndexStatus | None = None
        while not self._stop.is_set():
            try:
                status = self.index.status()
                if status.fresh or _same_changes(status, previous):
                    self._failures, self._retry_at = 0, float("inf")
                    break  # e.g. a skipped binary file: another build would not change it
                previous = status
                info = self.index.build()
            except BuildLockedError:
                self._stop.wait(POLL_SECONDS)  # another process builds; then look again
                continue
            except QAError as error:
                self._failed(str(error))
                break
            except Exception as error:  # reported, and the watcher keeps going
                self._failed(f"The rebuild failed ({type(error).__name__}: {error})")
                break
            self.builds += 1
            self._report(WatchEvent(_now(), info=info))
        self._idle.set()

    def _failed(self, error: str) -> None:
        """Report `error`, and try again after a pause that doubles with each failure."""
        pause = min(self.retry_seconds * 2**self._failures, MAX_RETRY_SECONDS)
        self._failures += 1
        self._retry_at = time.monotonic() + pause
        self._report(WatchEvent(_now(), error=error, retry_seconds=pause))

    def _report(self, event: WatchEvent) -> None:
        repeated = self.last is not None and event.error and event.error == self.last.error
        self.last = event
        if self.on_event is not None and not repeated:
            self.on_event(event)


def retrying(event: WatchEvent) -> str:
    """What a failed rebuild is followed by: ` (tried again in 4 s, and on the next change)`."""
    if not event.retry_seconds:
        return ""
    return f" (tried again in {event.retry_seconds:.0f} s, and on the next change)"


def document_change_filter(corpus_dir: Path) -> Callable[[object, str], bool]:
    """What counts as a change of the corpus: documents and folders, as `read_corpus` sees them.

    Editor swap files and backups do not count, nor anything inside a hidden folder.

    >>> counts = document_change_filter(Path("/c"))
    >>> [counts(None, p) for p in ("/c/a.md", "/c/sub", "/c/.a.md.swp", "/c/a.md~", "/c/.git/x")]
    [True, True, False, False, False]
    """

    roots = {corpus_dir, corpus_dir.absolute(), corpus_dir.resolve()}

    def counts(change: object, path: str) -> bool:
        inside = [
            Path(path).relative_to(root).parts for root in roots if Path(path).is_relative_to(root)
        ]
        parts = inside[0] if inside else ()  # outside the corpus: the folder itself, say
        if any(part.startswith((".", "#", "~")) for part in parts) or path.endswith("~"):
            return False
        suffix = Path(path).suffix.lower()
        return suffix in SUFFIXES or not suffix

    return counts


def _identity(folder: Path) -> tuple[int, int] | None:
    try:
        stat = folder.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def _same_changes(status: IndexStatus, previous: IndexStatus | None) -> bool:
    return previous is not None and status == previous


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
