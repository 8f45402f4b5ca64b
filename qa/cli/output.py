"""What a command says on stderr while it works: its stages (`qa.stages`) and how far a build is.

A line as each slow stage begins (a stage that ends within `QUICK_SECONDS` says nothing, so
a warm run stays short), written above the model's progress bar on a terminal.  It decides
only how to say things; what the stages are is `qa.stages`'s, and the results a command
prints are its own module's.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from qa.model.progress import Progress
    from qa.stages import Stages

# A stage of `qa build` or `qa ask` that ends sooner says nothing, so a warm run stays short.
QUICK_SECONDS = 1.0


@contextlib.contextmanager
def stages() -> Iterator[Stages]:
    """The stages of a command, said on stderr (`qa.stages`).  On a terminal the model draws
    its progress bar there: what it draws is a sign of life, and a stage's line goes above it."""
    from qa.stages import Stages

    with Stages(_say) as running:
        if not sys.stderr.isatty():
            yield running
            return
        with contextlib.redirect_stderr(_Noting(sys.stderr, running.alive)):
            yield running


def _say(line: str) -> None:
    if sys.stderr.isatty():
        from tqdm import tqdm

        tqdm.write(line, file=sys.stderr)  # above the progress bar, which is drawn again
    else:
        print(line, file=sys.stderr, flush=True)


def progress(stages: Stages) -> Progress | bool:
    """How far a build is: the model's own bar on a terminal, else a line at each quarter."""
    from qa.stages import BuildReport

    return True if sys.stderr.isatty() else BuildReport(stages)


class _Noting:
    """A stream that calls `alive` as it is written to (a progress bar is a sign of life)."""

    def __init__(self, stream: TextIO, alive: Callable[[], None]) -> None:
        self.stream, self.alive = stream, alive

    def write(self, text: str) -> int:
        self.alive()
        return self.stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)
