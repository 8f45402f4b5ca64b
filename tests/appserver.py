"""Start and stop `python app.py` on a free loopback port, for the tests that need a server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Server:
    url: str
    corpus: Path
    process: subprocess.Popen[bytes]
    log: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_app(workdir: Path, corpus: Path, index: Path, *flags: str) -> Server:
    """`python app.py` on a free port; waits until the page answers, or fails with its log."""
    port, log = free_port(), workdir / f"server-{len(list(workdir.glob('server-*')))}.log"
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "QA_CORPUS_DIR": str(corpus),
        "QA_INDEX_DIR": str(index),
    }
    env.pop("QA_READ_ONLY", None)
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py"), "--port", str(port), *flags],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"app.py exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return Server(url, corpus, process, log)
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"app.py did not answer on {url} within 180 s:\n{log.read_text()}")


def stop_app(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(10)
    except subprocess.TimeoutExpired:
        server.process.kill()
