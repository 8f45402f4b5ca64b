"""What `qa build`, `qa ask` and `qa serve` say while they work: a line as each stage begins,
and, whenever a stage has been silent for a few seconds, that it is still going.

    with Stages(say=print) as stages:               # the heartbeat runs inside the block
        stages.begin("model", "loading the model")  # "qa: loading the model…"
        ...                                         # "qa: … still loading the model (6 s)"
        stages.begin("index", "building the index", after=1.0)  # said only after 1 s
    stages.timings()                                # "model 0.3 s, index 3.1 s"

Every line goes through `say`, so a line printed by the stage itself (how far a build is)
counts as a sign of life, and so does anything else shown meanwhile (`alive`: a progress
bar).  The same heartbeat for `make`'s quiet pip is `scripts/heartbeat.py`, which cannot
import this package (nothing is installed yet).

Not here: printing (the caller's `say` does: the CLI and the web app print to stderr), and
which stages a command has (see `qa.cli` and `qa.web.serve`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING

from qa.errors import QAError

if TYPE_CHECKING:
    from qa.index.owner import Index
    from qa.settings import Settings

HEARTBEAT_SECONDS = 3.0  # under the 5 s a user waits before wondering whether it hangs
PREPARING = "qa: preparing the model once (about 20 s)…"


class Stages:
    """The stages of a command, said as they begin, with a heartbeat while one is silent."""

    def __init__(self, say: Callable[[str], None], every: float = HEARTBEAT_SECONDS) -> None:
        self._write, self.every = say, every
        self.started = self._last = self._since = time.monotonic()
        self._doing = ""  # what the current stage is doing, for the heartbeat
        self._name = ""
        self._pending: tuple[str, float] | None = None  # a begin line said once it is due
        self._seconds: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="qa-heartbeat", daemon=True)

    def say(self, line: str) -> None:
        """Print `line` now (a sign of life: the heartbeat waits `every` seconds again),
        after the current stage's line if that was waiting to be said."""
        with self._lock:
            self._say_pending()
            self._write(line)
            self._last = time.monotonic()

    def alive(self) -> None:
        """Something else was shown (a progress bar moved): no heartbeat for `every` seconds."""
        self._last = time.monotonic()  # one float: no lock, so a writer may call it from `say`

    def begin(self, name: str, doing: str, line: str = "", *, after: float = 0.0) -> None:
        """End the current stage and begin `name`, saying `line` (default "qa: DOING…"), or,
        with `after`, only once the stage has lasted that long (a quick one says nothing);
        while it is silent, the heartbeat says "qa: … still DOING (N s)"."""
        self.end()
        with self._lock:
            self._name, self._doing, self._since = name, doing, time.monotonic()
            self._pending = (line or f"qa: {doing}…", self._since + after)
            if after <= 0:
                self._say_pending()

    def end(self) -> None:
        """The current stage is over: its time is counted, and no heartbeat speaks for it."""
        with self._lock:
            if self._name:
                seconds = time.monotonic() - self._since
                self._seconds[self._name] = self._seconds.get(self._name, 0.0) + seconds
            self._name = self._doing = ""
            self._pending = None

    def timings(self) -> str:
        """How long each stage took: "model 0.3 s, index 0.2 s, web server 3.1 s"."""
        with self._lock:
            return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self._seconds.items())

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def __enter__(self) -> Stages:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.end()
        self._stop.set()
        self._thread.join()

    def _say_pending(self) -> None:
        """Under the lock: the waiting begin line, said."""
        if self._pending is not None:
            self._write(self._pending[0])
            self._pending = None
            self._last = time.monotonic()

    def _beat(self) -> None:
        while not self._stop.wait(0.2):
            with self._lock:
                now = time.monotonic()
                if self._pending is not None:
                    if now >= self._pending[1]:
                        self._say_pending()
                elif self._doing and now - self._last >= self.every:
                    self._write(f"qa: … still {self._doing} ({now - self._since:.0f} s)")
                    self._last = now


class BuildReport:
    """Says how far the embedding of a build is, at each quarter of a model call of over 64
    texts: "qa: embedding 1,024 of 4,096 pieces of text…" (a `qa.model.progress.Progress`)."""

    def __init__(self, stages: Stages) -> None:
        self.stages, self.shown = stages, -1

    def __call__(self, done: int, total: int) -> None:
        quarter = 4 * done // total if total > 64 else -1
        if quarter > self.shown:
            self.shown = quarter
            self.stages.say(f"qa: embedding {done:,} of {total:,} pieces of text…")


def preparing_note(settings: Settings) -> str:
    """`PREPARING` when the model still has to be exported (a first run), else ""."""
    from qa.model.embedding import local_folder
    from qa.model.onnx_export import is_exported

    try:
        return "" if is_exported(settings.model, local_folder(settings.model)) else PREPARING
    except QAError:
        return ""  # loading the model says what is wrong


def load_model(index: Index, stages: Stages, *, after: float = 0.0) -> None:
    """The index's model, loaded now as a stage: "preparing the model once" on a first run
    (said at once: it takes a while), else "loading the model NAME" (said after `after` s)."""
    note = preparing_note(index.settings)
    if note:
        stages.begin("model", "preparing the model", note)
    else:
        line = f"qa: loading the model {index.settings.model}…"
        stages.begin("model", "loading the model", line, after=after)
    index.embedder()
