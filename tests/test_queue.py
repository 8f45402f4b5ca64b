"""A client that floods the served page is turned away with a message; the others are answered
(qa/web/busy.py).

The page is served in this process over the fake model, made to hold every search that says
SLOW until the test lets it go, so the queue fills exactly: `SEARCH_CONCURRENCY` searches
running, `QUEUE_SIZE` waiting, and the next one refused.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from appserver import ask_new_session, serve_in_process
from fakes import FakeEmbedder

from qa.model.embedding import Vectors
from qa.web.app import SEARCH_CONCURRENCY
from qa.web.busy import BUSY, DIRECT_CALLS, QUEUE_SIZE, RETRY_SECONDS

SLOW = "SLOW how do partnerships protect civilians"
# Gradio's monitoring summary goes through pandas after each event: not this project's warnings.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:gradio.queueing")


class HeldEmbedder(FakeEmbedder):
    """The fake model, holding each text that says SLOW until `release` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.release, self.held, self.lock = threading.Event(), 0, threading.Lock()

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        if any("SLOW" in text for text in texts):
            with self.lock:
                self.held += 1
            self.release.wait(60)
        return super().encode(texts, progress=progress)


@dataclass
class Served:
    page: Any
    url: str
    embedder: HeldEmbedder

    def until(self, done: Any, what: str) -> None:
        deadline = time.monotonic() + 30
        while not done():
            assert time.monotonic() < deadline, what
            time.sleep(0.02)


@pytest.fixture
def served(seed_corpus: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    embedder = HeldEmbedder()
    with serve_in_process(seed_corpus, embedder) as (page, url):
        try:
            yield Served(page, url, embedder)
        finally:
            embedder.release.set()  # before the page closes: it waits for the searches held


def post(url: str, path: str, payload: object) -> tuple[int, dict[str, str], Any]:
    """The status, headers and JSON body of a POST."""
    address = urlparse(url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=90)
    try:
        connection.request("POST", path, json.dumps(payload), {"Content-Type": "application/json"})
        response = connection.getresponse()
        headers = {k.lower(): v for k, v in response.getheaders()}
        return response.status, headers, json.loads(response.read())
    finally:
        connection.close()


def result(url: str, event_id: str) -> str:
    address = urlparse(url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=90)
    try:
        connection.request("GET", f"/gradio_api/call/search/{event_id}")
        return connection.getresponse().read().decode()
    finally:
        connection.close()


def call(served: Served, question: str = SLOW) -> tuple[int, dict[str, str], Any]:
    return post(served.url, "/gradio_api/call/search", {"data": [question, 3]})


def test_a_flood_past_the_queue_is_told_to_try_again_and_the_others_are_answered(
    served: Served,
) -> None:
    """Before, the queue had no bound: every search of a flood was held, each later user
    waiting behind all of them."""
    from gradio_client import Client
    from gradio_client.utils import QueueError

    running = [call(served) for _ in range(SEARCH_CONCURRENCY)]
    served.until(lambda: served.embedder.held == SEARCH_CONCURRENCY, "searches running")
    waiting = [call(served) for _ in range(QUEUE_SIZE)]
    assert [status for status, _, _ in running + waiting] == [200] * (
        SEARCH_CONCURRENCY + QUEUE_SIZE
    )
    assert len(served.page._queue) == QUEUE_SIZE
    for _ in range(3):
        status, headers, body = call(served)
        assert (status, body) == (503, {"error": BUSY})
        assert "try again" in body["error"] and headers["retry-after"] == str(RETRY_SECONDS)
    with pytest.raises(QueueError, match="try again"):
        Client(served.url, verbose=False).predict(SLOW, 3, api_name="/search")
    assert len(served.page._queue) == QUEUE_SIZE  # the refused ones hold nothing

    served.embedder.release.set()
    with ThreadPoolExecutor(8) as pool:
        ids = [body["event_id"] for _, _, body in running + waiting]
        streams = list(pool.map(lambda event: result(served.url, event), ids))
    assert all(stream.startswith("event: complete") for stream in streams)
    assert "citation" in ask_new_session(served.url, "how do partnerships protect civilians")[0]


def test_direct_calls_past_their_bound_are_told_to_try_again(served: Served) -> None:
    """`/run/search` skips the queue: before, a flood of them took every worker thread."""
    with ThreadPoolExecutor(DIRECT_CALLS) as pool:
        held = [
            pool.submit(post, served.url, "/gradio_api/run/search", {"data": [SLOW, 3]})
            for _ in range(DIRECT_CALLS)
        ]
        served.until(lambda: served.embedder.held == DIRECT_CALLS, "direct calls running")
        status, headers, body = post(served.url, "/gradio_api/run/search", {"data": [SLOW, 3]})
        assert (status, body) == (503, {"error": BUSY})
        assert headers["retry-after"] == str(RETRY_SECONDS)
        assert "citation" in ask_new_session(served.url, "what do partnerships do")[0]
        served.embedder.release.set()
        answers = [future.result() for future in held]
    assert all(status == 200 and "citation" in body["data"][0][0] for status, _, body in answers)
    status, _, body = post(served.url, "/gradio_api/run/search", {"data": [SLOW, 3]})
    assert status == 200 and "citation" in body["data"][0][0]
