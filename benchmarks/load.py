"""Load test of the web app's search API and MCP tool over loopback: latency, failures, memory.

    python benchmarks/load.py          # start app.py --mcp on a free port, then four runs:
      1. 20 gradio_client clients, 1,000 questions: errors, p50, p95;
      2. mixed: 1,200 HTTP calls over 4 threads, each from a new session (POST /call/search,
         then its result), beside 1,200 calls from 4 MCP clients: the failures of each (MCP
         must have none);
      3. memory with the same clients: RSS after 500 questions vs after 4,500 more (at most
         +10%);
      4. memory with a new session per question: RSS after a warm-up of 500 vs after 10,000
         more (at most +20%).
    python benchmarks/load.py --url http://127.0.0.1:7860/ --clients 4 --questions 100

Questions are the development questions, round robin.  Prints a small table and exits 1
on any failed request or memory beyond its bound.  Loopback only: it refuses other hosts.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "tests" / "data" / "dev_questions.jsonl"


@dataclass(frozen=True)
class LoadResult:
    questions: int
    errors: list[str]
    latencies: list[float]  # seconds per request
    seconds: float

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies) if self.latencies else float("nan")

    @property
    def p95(self) -> float:
        ordered = sorted(self.latencies) or [float("nan")]
        return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]

    def line(self, what: str) -> str:
        return (
            f"{what}, {self.questions} questions in {self.seconds:.1f} s: "
            f"{len(self.errors)} errors, p50 {self.p50 * 1000:.0f} ms, "
            f"p95 {self.p95 * 1000:.0f} ms, {self.questions / self.seconds:.1f} q/s"
        )


def questions() -> list[str]:
    rows = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines()]
    return [row["question"] for row in rows if row.get("question")]


Ask = Callable[[str], list[dict[str, object]]]


def client_asker(url: str, k: int) -> Ask:
    """One gradio_client session, asked each question in turn."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    return lambda question: client.predict(question, k, api_name="/search")  # type: ignore[no-any-return]


def new_session_asker(url: str, k: int) -> Ask:
    """Each question from a new session: POST /gradio_api/call/search, then read its result."""
    address = urlparse(url)

    def ask(question: str) -> list[dict[str, object]]:
        connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=120)
        try:
            body = json.dumps({"data": [question, k]})
            headers = {"Content-Type": "application/json"}
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
            raise ValueError(stream[:200])
        return json.loads(stream.split("data:", 1)[1])[0]  # type: ignore[no-any-return]

    return ask


def run_load(
    url: str, clients: int, total: int, k: int = 5, *, new_sessions: bool = False
) -> LoadResult:
    """`total` searches spread over `clients` threads, each with its own gradio_client (or a
    new session for each question)."""
    if urlparse(url).hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"refusing to load {url}: the load test runs on loopback only")
    pool = questions()
    counter = iter(range(total))
    lock = threading.Lock()
    latencies: list[float] = []
    errors: list[str] = []

    def worker() -> None:
        ask = (new_session_asker if new_sessions else client_asker)(url, k)
        while True:
            with lock:
                number = next(counter, None)
            if number is None:
                return
            question = pool[number % len(pool)]
            started = time.perf_counter()
            try:
                passages = ask(question)
                if not passages or "citation" not in passages[0]:
                    raise ValueError(f"no passages for {question!r}")
            except Exception as error:  # every failure is a finding, whatever its type
                with lock:
                    errors.append(f"{question!r}: {type(error).__name__}: {error}")
                continue
            with lock:
                latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return LoadResult(total, errors, latencies, time.perf_counter() - started)


def run_mcp(url: str, clients: int, total: int, k: int = 5) -> LoadResult:
    """`total` calls of the MCP tool `search` over `clients` MCP sessions, concurrently."""
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    pool, numbers = questions(), iter(range(total))
    latencies: list[float] = []
    errors: list[str] = []

    async def client() -> None:
        async with (
            streamable_http_client(f"{url}gradio_api/mcp/") as (read, write, _),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            for number in numbers:
                question, started = pool[number % len(pool)], time.perf_counter()
                try:
                    result = await session.call_tool("search", {"question": question, "k": k})
                    if result.isError or "citation" not in str(result.content):
                        raise ValueError(str(result.content)[:200])
                except Exception as error:  # every failure is a finding, whatever its type
                    errors.append(f"{question!r}: {type(error).__name__}: {error}")
                    continue
                latencies.append(time.perf_counter() - started)

    async def clients_together() -> None:
        await asyncio.gather(*(client() for _ in range(clients)))

    started = time.perf_counter()
    asyncio.run(clients_together())
    return LoadResult(total, errors, latencies, time.perf_counter() - started)


def run_mixed(url: str, clients: int, total: int, mcp_total: int) -> tuple[LoadResult, LoadResult]:
    """HTTP calls from new sessions (`clients` threads) beside `clients` MCP clients."""
    http: list[LoadResult] = []
    thread = threading.Thread(
        target=lambda: http.append(run_load(url, clients, total, new_sessions=True))
    )
    thread.start()
    mcp = run_mcp(url, clients, mcp_total)
    thread.join()
    return http[0], mcp


@dataclass
class App:
    port: int
    process: subprocess.Popen[bytes]


def start_app() -> App:
    """`python app.py --no-watch --mcp` on a free port over corpus/ and index/, once it answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), "--port", str(port), "--no-watch", "--mcp"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2):
                return App(port, process)
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit(f"app.py did not start on port {port}")


def stop_app(app: App) -> None:
    app.process.terminate()
    try:
        app.process.wait(10)
    except subprocess.TimeoutExpired:
        app.process.kill()


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def memory(url: str, pid: int, clients: int, total: int, *, new_sessions: bool) -> bool:
    """Print RSS after 500 questions and after `total` more; whether it grew within bounds."""
    run_load(url, clients, 500, new_sessions=new_sessions)
    at_start = rss_mib(pid)
    result = run_load(url, clients, total, new_sessions=new_sessions)
    at_end = rss_mib(pid)
    growth, bound = at_end / at_start - 1, 0.20 if new_sessions else 0.10
    kind = "a new session per question" if new_sessions else "the same clients"
    print(
        f"server memory, {kind}: {at_start:.0f} MiB after 500 questions, {at_end:.0f} MiB after "
        f"{total:,} more ({growth:+.1%}, at most {bound:+.0%}); {len(result.errors)} errors"
    )
    return not result.errors and growth <= bound


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="a running app (default: start app.py on a free port)")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--questions", type=int, default=1000)
    parser.add_argument("--mixed", type=int, default=1200, help="MCP calls of the mixed run")
    parser.add_argument(
        "--memory-questions", type=int, default=4500, help="same clients, after 500 (0: skip)"
    )
    parser.add_argument(
        "--new-sessions", type=int, default=10_000, help="new sessions, after 500 (0: skip)"
    )
    args = parser.parse_args()
    server = None
    if args.url is None:
        server = start_app()
        url = f"http://127.0.0.1:{server.port}/"
    else:
        url = args.url
    try:
        result = run_load(url, args.clients, args.questions)
        print(result.line(f"{args.clients} clients"))
        http, mcp = run_mixed(url, 4, args.mixed, args.mixed) if args.mixed else (None, None)
        failed = bool(result.errors)
        for run, what in ((http, "mixed: 4 HTTP threads, new sessions"), (mcp, "mixed: 4 MCP")):
            if run is not None:
                print(run.line(what))
                failed = failed or bool(run.errors)
        for error in [*result.errors, *(http.errors if http else []), *(mcp.errors if mcp else [])][
            :10
        ]:
            print("  error:", error)
        if server is not None:
            pid = server.process.pid
            if args.memory_questions:
                failed |= not memory(
                    url, pid, args.clients, args.memory_questions, new_sessions=False
                )
            if args.new_sessions:
                failed |= not memory(url, pid, 4, args.new_sessions, new_sessions=True)
        return 1 if failed else 0
    finally:
        if server is not None:
            stop_app(server)


if __name__ == "__main__":
    sys.exit(main())
