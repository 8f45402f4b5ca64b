"""Bounds on what an HTTP request may ask of the web app, checked before Gradio sees it.

`RequestGuard` is ASGI middleware in front of Gradio's routes.  It answers with a
clear JSON error, and nothing reaches the server log, when a request

- is larger than `MAX_BODY` bytes (judged by its Content-Length before the body is
  read, and by counting otherwise): a question is at most a few thousand characters;
- goes to `/gradio_api/upload`: the app takes no files;
- names a function that does not exist (an unknown `fn_index` or API name), or sends
  fewer values than the function takes (a last parameter that defaults to None, such as
  `documents` of `search`, may be left out: the guard sends it on as null, so calls
  written before it existed keep working);
- asks for the result of an event the server does not hold (read already, or dropped).

`bound_unread_results` caps how many finished results the server keeps for callers
who never read them.

Not here: checking the values themselves (see `qa.web.app`, which turns a bad `k`
into a message) or Gradio's own routes.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY = 64 * 1024  # a 2,000-character question is under 25 KiB even as \u escapes
UNREAD_RESULTS = 256  # finished results kept for callers that have not read them yet
API = "/gradio_api"
NO_UPLOADS = "This app takes no file uploads."


class Refusal(Exception):
    """A request the guard answers itself: an HTTP status and a sentence."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class RequestGuard:
    """ASGI middleware: refuse oversized bodies, uploads and calls of unknown functions."""

    def __init__(self, app: ASGIApp, blocks: Any, max_body: int = MAX_BODY) -> None:
        self.app, self.blocks, self.max_body = app, blocks, max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        try:
            if path.startswith(f"{API}/upload"):
                raise Refusal(403, NO_UPLOADS)
            if scope.get("method") != "POST":
                if path.startswith(f"{API}/call/") and path.count("/") >= 4:
                    self._check_result(path.rstrip("/").rsplit("/", 1)[-1])
                await self.app(scope, receive, send)
                return
            body = await self._read_body(scope, receive)
            completed = self._check_call(path, body)
        except Refusal as refusal:
            await _refuse(send, refusal)
            return
        if completed is not None:
            scope, body = _with_body(scope, completed), completed
        await self.app(scope, _replay(body, receive), send)

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        too_large = Refusal(
            413, f"The request is too large: at most {self.max_body // 1024} KiB is accepted."
        )
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length", b"").decode("latin-1").strip()
        if length.isdigit() and int(length) > self.max_body:
            raise too_large  # refused before a byte of the body is read
        parts, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise too_large
            parts.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(parts)

    def _check_result(self, event_id: str) -> None:
        """Refuse to stream the result of an event the server does not hold (any more)."""
        queue = self.blocks._queue
        if event_id in queue.event_ids_to_events:
            return
        sessions = queue.pending_event_ids_session
        session = next((s for s, ids in sessions.items() if event_id in ids), event_id)
        if session not in queue.pending_messages_per_session:
            sessions.pop(session, None)  # its messages were dropped: forget the ids too
            raise Refusal(
                404,
                f"No result is held for event {event_id[:40]!r}: it was read already, "
                "or dropped after waiting unread. Call the endpoint again.",
            )

    def _check_call(self, path: str, body: bytes) -> bytes | None:
        """Refuse a call of a function that does not exist, or with too few values; the body
        completed with nulls when it leaves out parameters that default to None."""
        if path.startswith(f"{API}/call/") and not path.startswith(f"{API}/call/v2/"):
            name = path[len(f"{API}/call/") :].strip("/")
            fns = [fn for fn in self.blocks.fns.values() if fn.api_name == name]
            if not fns:
                raise Refusal(404, f"There is no API endpoint /{name}: see /gradio_api/info.")
        elif path in (f"{API}/queue/join", f"{API}/run/predict"):
            index = _json(body).get("fn_index")
            fn = self.blocks.fns.get(index) if isinstance(index, int) else None
            if fn is None:
                raise Refusal(404, f"There is no function with fn_index {index!r}.")
            fns = [fn]
        else:
            return None
        payload = _json(body)
        data = payload.get("data")
        takes = len(fns[0].inputs)
        wanted = takes - _optional_at_end(fns[0].fn)
        if not isinstance(data, list) or len(data) < wanted:
            name = fns[0].api_name or "this function"
            raise Refusal(
                422, f'Send {{"data": [...]}} with {wanted} values for {name}, not {data!r:.80}.'
            )
        if len(data) >= takes:
            return None
        return json.dumps({**payload, "data": data + [None] * (takes - len(data))}).encode()


def _optional_at_end(fn: Any) -> int:
    """How many of `fn`'s last parameters default to None (0 when it has no signature)."""
    import inspect

    try:
        parameters = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return 0
    count = 0
    for parameter in reversed(parameters):
        if parameter.default is not None:  # `inspect.Parameter.empty` too
            break
        count += 1
    return count


def _with_body(scope: Scope, body: bytes) -> Scope:
    """`scope` with a Content-Length that fits `body`, which replaces the one sent."""
    headers = [(k, v) for k, v in scope.get("headers") or [] if k != b"content-length"]
    return {**scope, "headers": [*headers, (b"content-length", str(len(body)).encode())]}


def _json(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body or b"{}")
    except ValueError:
        raise Refusal(400, "The request body is not JSON.") from None
    if not isinstance(parsed, dict):
        raise Refusal(400, "The request body must be a JSON object.")
    return parsed


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the already-read body to the app, then waits for the client."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # a disconnect, when the client goes

    return replay


async def _refuse(send: Send, refusal: Refusal) -> None:
    payload = json.dumps({"error": refusal.message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": refusal.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def bound_unread_results(blocks: Any, limit: int = UNREAD_RESULTS) -> None:
    """Keep at most `limit` sessions' unread results: Gradio's queue keeps 2,000 by default."""
    blocks._queue.pending_messages_per_session.max_size = limit
