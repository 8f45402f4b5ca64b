"""A real Milvus for the tests: milvus-lite 2.5.1's C++ server binary, started on a free port.

`make test` installs it into .tools/milvus-lite/ (`make milvus`).  Where it is missing or
cannot run, the tests that need it skip with a message that names the fix; under CI=true
they fail instead, so CI never passes without running them.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LIB = ROOT / ".tools" / "milvus-lite" / "milvus_lite" / "lib"
BINARY = LIB / "milvus"
READY_SECONDS = 60


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def unavailable(reason: str) -> None:
    """Skip, naming the fix; under CI=true, fail: CI must run the Milvus tests."""
    message = f"{reason}: run `make milvus` (pip install --no-deps --target .tools/milvus-lite "
    message += "milvus-lite==2.5.1) for the Milvus tests"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)


@contextlib.contextmanager
def milvus_server(folder: Path) -> Iterator[str]:
    """A Milvus server with its data in `folder`, on a free port; its URI.  Stopped by pid."""
    try:
        import pymilvus
    except ImportError:
        unavailable("pymilvus is not installed (pip install -e '.[dev]')")
    if not BINARY.is_file():
        unavailable(f"{BINARY} is missing")
    port = free_port()
    log = folder / "milvus.log"
    env = {**os.environ, "LD_LIBRARY_PATH": str(LIB)}
    with log.open("wb") as output:
        server = subprocess.Popen(
            [str(BINARY), str(folder / "milvus.db"), f"127.0.0.1:{port}", "ERROR"],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=folder,
        )
    uri = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(server, uri, pymilvus, log)
        yield uri
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_ready(server: subprocess.Popen[bytes], uri: str, pymilvus: object, log: Path) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            tail = log.read_text(errors="replace")[-500:]
            unavailable(f"the Milvus binary exited with {server.returncode} ({tail.strip()})")
        try:
            pymilvus.MilvusClient(uri, timeout=2, dedicated=True).close()  # type: ignore[attr-defined]
            return
        except Exception:
            time.sleep(0.2)
    unavailable(f"the Milvus binary did not answer at {uri} in {READY_SECONDS} s")
