"""Start and stop `python app.py` on a free loopback port, for the tests that need a server;
or serve the page in this process over a given model (`serve_in_process`)."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

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


@contextmanager
def serve_in_process(corpus: Path, embedder: Any) -> Iterator[tuple[Any, str]]:
    """The page over `corpus` (indexed beside it with the fake model), served by this process
    on a free port with `embedder` answering: (the Gradio page, its URL); closed after."""
    from fakes import fake_build, settings_for

    from qa.index.owner import Index
    from qa.web.serve import start

    index = corpus.parent / "index"
    fake_build(corpus, index)
    port = free_port()
    page = start(Index.open(settings_for(corpus, index), embedder=embedder), port=port)
    try:
        yield page, f"http://127.0.0.1:{port}/"
    finally:
        page.close()


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


def ask_concurrently(url: str, clients: int, total: int) -> tuple[list[str], int]:
    """`total` API searches over `clients` threads; (the failures, how many answered)."""
    from gradio_client import Client

    questions = dev_questions()
    numbers, lock = iter(range(total)), threading.Lock()
    errors: list[str] = []
    answered = 0

    def worker() -> None:
        nonlocal answered
        client = Client(url, verbose=False)
        while True:
            with lock:
                number = next(numbers, None)
            if number is None:
                return
            question = questions[number % len(questions)]
            try:
                passages = client.predict(question, 5, api_name="/search")
                if not passages or "citation" not in passages[0]:
                    raise ValueError("no passages")
            except Exception as error:  # every failure is a finding, whatever its type
                with lock:
                    errors.append(f"{question!r}: {type(error).__name__}: {error}")
                continue
            with lock:
                answered += 1

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors, answered


def dev_questions() -> list[str]:
    rows = (ROOT / "tests" / "data" / "dev_questions.jsonl").read_text().splitlines()
    return [json.loads(row)["question"] for row in rows]


def ask_new_session(url: str, question: str, k: int = 3) -> list[dict[str, Any]]:
    """One search from a session of its own: POST /gradio_api/call/search, then its result."""
    address = urlparse(url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=120)
    try:
        body, headers = json.dumps({"data": [question, k]}), {"Content-Type": "application/json"}
        connection.request("POST", "/gradio_api/call/search", body, headers)
        response = connection.getresponse()
        answer = response.read().decode()
        if response.status != 200:
            raise ValueError(f"HTTP {response.status}: {answer[:200]}")
        connection.request("GET", f"/gradio_api/call/search/{json.loads(answer)['event_id']}")
        stream = connection.getresponse().read().decode()
    finally:
        connection.close()
    if not stream.startswith("event: complete"):
        raise ValueError(stream[:300])
    rows: list[dict[str, Any]] = json.loads(stream.split("data:", 1)[1])[0]
    return rows


def ask_mixed(url: str, clients: int, total: int) -> tuple[list[str], list[str], int]:
    """`total` searches from new HTTP sessions over `clients` threads, and all the while calls
    of the MCP tool from `clients` MCP sessions; (the HTTP failures, the MCP failures, how many
    MCP calls were made)."""
    from concurrent.futures import ThreadPoolExecutor

    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    questions, http_done = dev_questions(), threading.Event()
    failures: dict[str, list[str]] = {"http": [], "mcp": []}
    calls = [0]

    def ask(number: int) -> None:
        question = questions[number % len(questions)]
        try:
            if "citation" not in ask_new_session(url, question)[0]:
                raise ValueError("no citation")
        except Exception as error:  # every failure is a finding, whatever its type
            failures["http"].append(f"{question!r}: {type(error).__name__}: {error}")

    async def mcp_client() -> None:
        async with (
            streamable_http_client(f"{url}gradio_api/mcp/") as (read, write, _),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            while not http_done.is_set():
                calls[0] += 1
                question = questions[calls[0] % len(questions)]
                try:
                    result = await session.call_tool("search", {"question": question, "k": 3})
                    if result.isError or "citation" not in str(result.content):
                        raise ValueError(str(result.content)[:300])
                except Exception as error:  # every failure is a finding, whatever its type
                    failures["mcp"].append(f"{question!r}: {type(error).__name__}: {error}")

    async def mcp_clients() -> None:
        await asyncio.gather(*(mcp_client() for _ in range(clients)))

    with ThreadPoolExecutor(clients + 1) as pool:
        mcp_done = pool.submit(asyncio.run, mcp_clients())
        try:
            list(pool.map(ask, range(total)))
        finally:
            http_done.set()
        mcp_done.result()
    return failures["http"], failures["mcp"], calls[0]
