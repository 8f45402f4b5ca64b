"""Bounds on what an HTTP request may ask of the web app, checked before Gradio sees it.

`RequestGuard` is ASGI middleware in front of Gradio's routes.  It answers with a
clear JSON error, and nothing reaches the server log, when a request

- is larger than `MAX_BODY` bytes (judged by its Content-Length before the body is
  read, and by counting otherwise): a question is at most a few thousand characters;
- goes to `/gradio_api/upload`: the app takes no files;
- sends a body that is not the JSON its route reads, or a call that does not fit the
  function it names (see `qa.web.calls`);
- asks for the result of an event the server does not hold (read already, or dropped),
  or for the stream of a session that never joined the queue.

A function's refusal of a direct call (`/run/search` with k=0) is answered 422, not
Gradio's 500.  The guard tells `Sessions` (see `qa.web.sessions`) which session a
request asks for and when a client stops reading one, so what a session holds is
freed once it is done; the MCP tool's stream (its loopback client sends
`x-gradio-user: mcp`) is kept open between calls.

Not here: checking the values themselves (see `qa.web.tool`, which turns a bad `k`
into a message) or Gradio's own routes.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any
from urllib.parse import parse_qs

from qa.web.calls import API, Check, Refusal, check_body, check_call
from qa.web.sessions import Sessions

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY = 64 * 1024  # a 2,000-character question is under 25 KiB even as \u escapes
NO_UPLOADS = "This app takes no file uploads."


class RequestGuard:
    """ASGI middleware: refuse oversized bodies, uploads and calls that do not fit; follow
    the sessions' readers."""

    def __init__(
        self,
        app: ASGIApp,
        sessions: Sessions,
        checks: Mapping[str, Check] | None = None,
        max_body: int = MAX_BODY,
    ) -> None:
        self.app, self.sessions, self.max_body = app, sessions, max_body
        self.blocks, self.checks = sessions.blocks, dict(checks or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        self.sessions.sweep()
        try:
            if path.startswith(f"{API}/upload"):
                raise Refusal(403, NO_UPLOADS)
            if scope.get("method") != "POST":
                session = self._reader(path, scope)
                if session is None:
                    await self.app(scope, receive, send)
                    return
                mcp = (b"x-gradio-user", b"mcp") in (scope.get("headers") or [])
                mcp = mcp and path == f"{API}/queue/data"  # the MCP tool's shared stream
                async with self.sessions.reading(session, keep_open=mcp):
                    await self.app(scope, receive, send)
                return
            body = await self._read_body(scope, receive)
            headers = dict(scope.get("headers") or [])
            check_body(path, headers.get(b"content-type", b"").decode("latin-1"), body)
            call = check_call(self.blocks, path, body, self.checks)
        except Refusal as refusal:
            await _refuse(send, refusal)
            return
        if call is not None:
            self.sessions.joined(call.session, call.fn)
            if call.body is not None:
                scope, body = _with_body(scope, call.body), call.body
        if path.startswith((f"{API}/run/", f"{API}/api/")):
            send = _refusals_as_422(send)
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

    def _reader(self, path: str, scope: Scope) -> str | None:
        """The session whose messages a GET streams (None for other requests); Refusal for
        the result of an event the server does not hold (any more)."""
        queue = self.blocks._queue
        if path == f"{API}/queue/data":
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            session: str = (query.get("session_hash") or [""])[0]
            if session not in queue.pending_messages_per_session:
                raise Refusal(
                    404,
                    f"No results are waiting for session {session[:40]!r}: join the queue "
                    "first (POST /gradio_api/queue/join with this session_hash).",
                )
            return session
        if path.startswith(f"{API}/heartbeat/"):
            return path.rstrip("/").rsplit("/", 1)[-1]
        if not (path.startswith(f"{API}/call/") and path.count("/") >= 4):
            return None
        event_id = path.rstrip("/").rsplit("/", 1)[-1]
        event = queue.event_ids_to_events.get(event_id)
        if event is not None:
            return str(event.session_hash)
        sessions = queue.pending_event_ids_session
        session = next((s for s, ids in sessions.items() if event_id in ids), event_id)
        if session not in queue.pending_messages_per_session:
            sessions.pop(session, None)  # its messages were dropped: forget the ids too
            raise Refusal(
                404,
                f"No result is held for event {event_id[:40]!r}: it was read already, "
                "or dropped after waiting unread. Call the endpoint again.",
            )
        return str(session)


def _refusals_as_422(send: Send) -> Send:
    """`send` that answers 422 instead of Gradio's 500 when the function refused the call
    with a message (a bug's 500 has none: the page does not show errors)."""
    held: Message | None = None

    async def sending(message: Message) -> None:
        nonlocal held
        if message["type"] == "http.response.start" and message["status"] == 500:
            held = message
            return
        if held is not None and message["type"] == "http.response.body":
            try:
                refused = json.loads(message.get("body", b"")).get("error") is not None
            except (ValueError, AttributeError):
                refused = False
            await send({**held, "status": 422} if refused else held)
            held = None
        await send(message)

    return sending


def _with_body(scope: Scope, body: bytes) -> Scope:
    """`scope` with a Content-Length that fits `body`, which replaces the one sent."""
    headers = [(k, v) for k, v in scope.get("headers") or [] if k != b"content-length"]
    return {**scope, "headers": [*headers, (b"content-length", str(len(body)).encode())]}


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
