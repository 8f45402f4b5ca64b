"""The `qa` command: `main()` runs build, ask, eval or serve, as thin layers over the library.

Errors the library raises on purpose (QAError) become one line on stderr and exit code 1;
Ctrl-C exits 130 and a closed pipe 141, without a traceback.  The options are in
`qa.cli.parser`, each command in its own module (`build`, `ask`, `evaluate`, `serve`), what
they say while they work in `qa.cli.output`.  Nothing here ranks or reads documents itself,
and importing this package loads neither numpy, FAISS nor ONNX Runtime: the commands import
what they need when they run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import warnings
from collections.abc import Callable, Sequence

from qa.cli import ask, build, evaluate, serve
from qa.cli.parser import parser
from qa.errors import QAError

__all__ = ["main"]

COMMANDS: dict[str, Callable[[argparse.Namespace], None]] = {
    "build": build.run,
    "ask": ask.run,
    "eval": evaluate.run,
    "serve": serve.run,
}


def _show_warning(
    message: warnings.WarningMessage | Warning | str, *_: object, **__: object
) -> None:
    print(f"qa: warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    # One BLAS thread, set before anything loads numpy (importing qa.cli does not): numpy's
    # BLAS threads spin on between the model's runs and take the cores from ONNX Runtime's,
    # which made a warm query twice as slow (docs/performance.md, "Threads").  A value the
    # user set stays.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    args = parser().parse_args(argv)
    warnings.showwarning = _show_warning
    try:
        COMMANDS[args.command](args)
    except QAError as error:
        print(f"qa: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("qa: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _stop_writing()
        return 141  # as a command stopped by SIGPIPE (`qa ask … | head`): no message
    return 0


def _stop_writing() -> None:
    """The reader of stdout went away: send what is left to /dev/null, so that Python's
    final flush raises nothing."""
    with contextlib.suppress(OSError, ValueError):  # not a real file (a test's capture)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
