"""Run a long command that may be silent, saying every few seconds that it is still going.

    python scripts/heartbeat.py [--every 4] [--about "once, about 80 s"] WHAT -- COMMAND...

`make` runs pip under it: `pip install --quiet` prints nothing for a minute or two, which
looks like a hang.  This prints "qa: WHAT (ABOUT)…" as the command starts, then
"qa: … still WHAT (12 s)" whenever the command has been silent for `--every` seconds, and
"qa: done WHAT in 27 s" at the end.  The command's own output (pip's errors) comes through
as it is printed, on the stream it was printed on, and its exit code is this script's; a
failure also says "qa: WHAT failed (exit code 1) after 9 s" on stderr.

Standard library only: it runs before anything is installed into the virtual environment.
Not here: the stages of `qa build` and `qa serve`, which say the same in the package
(`qa.stages`).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from typing import BinaryIO

EVERY_SECONDS = 4.0


class _Silence:
    """When anything was last printed, by the command or by this script."""

    def __init__(self) -> None:
        self.since = time.monotonic()
        self.lock = threading.Lock()

    def broken(self) -> None:
        with self.lock:
            self.since = time.monotonic()

    def seconds(self) -> float:
        with self.lock:
            return time.monotonic() - self.since


def _forward(source: BinaryIO, target: BinaryIO, silence: _Silence) -> None:
    """Copy the command's output as it comes (pip's lines, or a bar drawn with \\r)."""
    while chunk := os.read(source.fileno(), 65536):
        target.write(chunk)
        target.flush()
        silence.broken()


def _say(line: str, *, error: bool = False) -> None:
    print(f"qa: {line}", file=sys.stderr if error else sys.stdout, flush=True)


def run(what: str, command: list[str], every: float = EVERY_SECONDS, about: str = "") -> int:
    """Run `command`, with a heartbeat while it is silent; its exit code (127: not started)."""
    started = time.monotonic()
    _say(f"{what} ({about})…" if about else f"{what}…")
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as error:
        _say(f"{what} failed: cannot run {command[0]} ({error.strerror or error})", error=True)
        return 127
    silence = _Silence()
    copies = [
        threading.Thread(target=_forward, args=(source, target, silence), daemon=True)
        for source, target in (
            (process.stdout, sys.stdout.buffer),
            (process.stderr, sys.stderr.buffer),
        )
    ]
    for copy in copies:
        copy.start()
    while True:
        try:
            code = process.wait(timeout=max(every - silence.seconds(), 0.05))
            break
        except subprocess.TimeoutExpired:
            if silence.seconds() >= every:
                _say(f"… still {what} ({time.monotonic() - started:.0f} s)")
                silence.broken()
    for copy in copies:
        copy.join()
    seconds = time.monotonic() - started
    if code == 0:
        _say(f"done {what} in {seconds:.0f} s")
    else:
        _say(f"{what} failed (exit code {code}) after {seconds:.0f} s", error=True)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="heartbeat.py", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("--every", type=float, default=EVERY_SECONDS, help="seconds (4)")
    parser.add_argument("--about", default="", help='how long, roughly: "once, about 80 s"')
    parser.add_argument("what", help='what the command does: "installing torch"')
    parser.add_argument("command", nargs="+", help="the command, after --")
    args = parser.parse_args(argv)
    try:
        return run(args.what, args.command, args.every, args.about)
    except KeyboardInterrupt:  # the command, in the same process group, was interrupted too
        _say(f"{args.what} interrupted", error=True)
        return 130


if __name__ == "__main__":
    sys.exit(main())
