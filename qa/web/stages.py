"""What `qa serve` says while it starts: a line as each stage begins, and, whenever a stage
has been silent for a few seconds, that it is still going.

    stages = Stages()
    with stages:                                    # the heartbeat runs inside the block
        stages.begin("model", "loading the model")  # "qa: loading the model…"
        ...                                         # "qa: … still loading the model (6 s)"
        stages.begin("web server", "starting the web server")
    stages.timings()                                # "model 0.3 s, web server 3.1 s"

Every line of a start goes through `say`, so a line printed by the stage itself (how far a
build is) counts as a sign of life.  The same heartbeat for `make`'s quiet pip is
`scripts/heartbeat.py`, which cannot import this package (nothing is installed yet).

Not here: what the stages are (see `qa.web.serve`).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from types import TracebackType

HEARTBEAT_SECONDS = 3.0  # under the 5 s a user waits before wondering whether it hangs


def to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class Stages:
    """The stages of a start, said as they begin, with a heartbeat while one is silent."""

    def __init__(
        self, say: Callable[[str], None] = to_stderr, every: float = HEARTBEAT_SECONDS
    ) -> None:
        self._write, self.every = say, every
        self.started = self._last = self._since = time.monotonic()
        self._doing = ""  # what the current stage is doing, for the heartbeat
        self._name = ""
        self._seconds: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="qa-heartbeat", daemon=True)

    def say(self, line: str) -> None:
        """Print `line` now (a sign of life: the heartbeat waits `every` seconds again)."""
        with self._lock:
            self._write(line)
            self._last = time.monotonic()

    def begin(self, name: str, doing: str, line: str = "") -> None:
        """End the current stage and begin `name`, saying `line` (default "qa: DOING…");
        while it is silent, the heartbeat says "qa: … still DOING (N s)"."""
        self.end()
        with self._lock:
            self._name, self._doing, self._since = name, doing, time.monotonic()
        self.say(line or f"qa: {doing}…")

    def end(self) -> None:
        """The current stage is over: its time is counted, and no heartbeat speaks for it."""
        with self._lock:
            if self._name:
                seconds = time.monotonic() - self._since
                self._seconds[self._name] = self._seconds.get(self._name, 0.0) + seconds
            self._name = self._doing = ""

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

    def _beat(self) -> None:
        while not self._stop.wait(0.2):
            with self._lock:
                now = time.monotonic()
                if self._doing and now - self._last >= self.every:
                    self._write(f"qa: … still {self._doing} ({now - self._since:.0f} s)")
                    self._last = now
