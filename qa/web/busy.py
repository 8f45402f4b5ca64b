"""How many requests may wait for the page's workers, and what a client turned away reads.

Gradio's queue holds each event sent to it until a worker is free.  Unbounded, one client
that floods the API makes every later user wait behind it, and the server's memory grow
with what it holds.  `qa.web.serve.start` bounds it at `QUEUE_SIZE` waiting events (those
running are not counted); past that Gradio refuses to queue one more with HTTP 503, and

- the page's own script says "This application is currently busy. Please try again.";
- `gradio_client` raises `QueueError("Queue is full! Please try again.")`;
- a client of the HTTP API (`POST /gradio_api/call/search`, `/gradio_api/queue/join`) reads
  `BUSY` instead of Gradio's "Queue is full. Max size is 32 and size is 32.", with a
  `Retry-After` header (`Busy` rewords it).

A direct call (`/gradio_api/run/`, `/gradio_api/api/`) skips the queue and its concurrency
limits and holds one of Gradio's 40 worker threads while it runs: `Busy` lets at most
`DIRECT_CALLS` run at once and refuses the next the same way, so a flood of them leaves
threads to the page's queue.  Either way the server goes on answering the others.

Not here: the other bounds on a request (see `qa.web.guard`), how many searches run at once
(`SEARCH_CONCURRENCY`, see `qa.web.app`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from qa.web.calls import API

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Waiting events, on top of the 8 searches running.  `make load` answered 20.7 questions/s
# on 2 cores with 20 clients queueing (docs/reliability.md): 32 waiting clear in under 2 s,
# so the user behind a full queue still has an answer in a few seconds, and 20 honest
# clients asking at once never reach the bound.  Larger, a flood would only make the wait
# longer before anyone is told to try again.
QUEUE_SIZE = 32
DIRECT_CALLS = 8  # as many direct calls at once as queued searches run: 32 threads stay free
RETRY_SECONDS = 5
BUSY = (
    "The server is busy answering other requests and cannot take this one now: "
    f"try again in {RETRY_SECONDS} seconds."
)

_QUEUED = (f"{API}/queue/join", f"{API}/call/")
_DIRECT = (f"{API}/run/", f"{API}/api/")


class Busy:
    """ASGI middleware: a full queue's refusal reworded, direct calls bounded."""

    def __init__(self, app: ASGIApp, direct_calls: int = DIRECT_CALLS) -> None:
        self.app, self.most, self.running = app, direct_calls, 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
        elif path.startswith(_DIRECT):
            if self.running >= self.most:  # one event loop: no other request runs meanwhile
                await refuse_busy(send)
                return
            self.running += 1
            try:
                await self.app(scope, receive, send)
            finally:
                self.running -= 1
        elif path.startswith(_QUEUED):
            await self.app(scope, receive, _reworded(send))
        else:
            await self.app(scope, receive, send)


def _reworded(send: Send) -> Send:
    """`send` that answers `BUSY` for Gradio's 503 "Queue is full. …"; anything else as sent."""
    held: Message | None = None

    async def sending(message: Message) -> None:
        nonlocal held
        if message["type"] == "http.response.start" and message["status"] == 503:
            held = message
            return
        if held is not None and message["type"] == "http.response.body":
            start, held = held, None
            if b"Queue is full" in message.get("body", b""):
                await refuse_busy(send)
                return
            await send(start)
        await send(message)

    return sending


async def refuse_busy(send: Send) -> None:
    """A 503 with `BUSY` as the JSON error and a `Retry-After`."""
    payload = json.dumps({"error": BUSY}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (b"retry-after", str(RETRY_SECONDS).encode()),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
