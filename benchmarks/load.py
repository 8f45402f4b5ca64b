"""Load test of the web app's search API: concurrent clients over loopback, latency and memory.

    python benchmarks/load.py                      # start app.py on a free port, 20 clients,
                                                   # 1,000 questions, then memory at 500 vs 5,000
    python benchmarks/load.py --url http://127.0.0.1:7860/ --clients 4 --questions 100

Questions are the development questions, round robin.  Prints a small table and exits 1
on any failed request.  Loopback only: it refuses other hosts.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
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
        return statistics.median(self.latencies)

    @property
    def p95(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def questions() -> list[str]:
    rows = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines()]
    return [row["question"] for row in rows if row.get("question")]


def run_load(url: str, clients: int, total: int, k: int = 5) -> LoadResult:
    """`total` searches spread over `clients` threads, each with its own gradio_client."""
    from gradio_client import Client

    if urlparse(url).hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"refusing to load {url}: the load test runs on loopback only")
    pool = questions()
    counter = iter(range(total))
    lock = threading.Lock()
    latencies: list[float] = []
    errors: list[str] = []

    def worker() -> None:
        client = Client(url, verbose=False)
        while True:
            with lock:
                number = next(counter, None)
            if number is None:
                return
            question = pool[number % len(pool)]
            started = time.perf_counter()
            try:
                passages = client.predict(question, k, api_name="/search")
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


@dataclass
class App:
    port: int
    process: subprocess.Popen[bytes]


def start_app() -> App:
    """`python app.py --no-watch` on a free port over corpus/ and index/, once it answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), "--port", str(port), "--no-watch"],
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="a running app (default: start app.py on a free port)")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--questions", type=int, default=1000)
    parser.add_argument(
        "--memory-questions",
        type=int,
        default=5000,
        help="questions for the memory check (RSS after 500 vs after this many)",
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
        print(
            f"{args.clients} clients, {result.questions} questions in {result.seconds:.1f} s: "
            f"{len(result.errors)} errors, p50 {result.p50 * 1000:.0f} ms, "
            f"p95 {result.p95 * 1000:.0f} ms, {result.questions / result.seconds:.1f} q/s"
        )
        for error in result.errors[:10]:
            print("  error:", error)
        failed = bool(result.errors)
        if server is not None and args.memory_questions > 500:
            run_load(url, args.clients, 500)
            at_500 = rss_mib(server.process.pid)
            run_load(url, args.clients, args.memory_questions - 500)
            at_end = rss_mib(server.process.pid)
            growth = at_end / at_500 - 1
            print(
                f"server memory: {at_500:.0f} MiB after 500 questions, {at_end:.0f} MiB after "
                f"{args.memory_questions} ({growth:+.1%})"
            )
            failed = failed or growth > 0.10
        return 1 if failed else 0
    finally:
        if server is not None:
            stop_app(server)


if __name__ == "__main__":
    sys.exit(main())
