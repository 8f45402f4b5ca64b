"""What the server keeps for each client session, and when it lets go of it.

Gradio keeps, per session hash, the session's state (a copy of the page's
configuration, about 25 KiB, for up to 10,000 sessions), a queue of messages not
yet read, and the ids of its events; nothing frees them when a caller is done,
and every `/call/` request and every new `gradio_client.Client` is a new session.
`Sessions` frees a session

- as soon as its last result is read, when it only called the API (`search`: its
  values are sent with each call, so its state holds nothing it needs again);
- after `PAGE_IDLE` seconds without an event, when it is a page in a browser (whose
  state holds what the page's events changed, such as the document choices), or
  `API_IDLE` seconds for an API session that no stream read (a direct `/run/` call);
- when its unread results are dropped: at most `UNREAD` sessions' unread results are
  kept, the longest unread first out.

A session with an event still running or a reader connected is never freed nor
dropped: the MCP tool's calls all go through one shared session, which dropping
broke for every call in flight.  That session's stream is kept open between calls
(`reading(..., keep_open=True)`): Gradio closes a stream once nothing is pending,
and a call its client joined in that moment waited on the closing stream and failed
(about 1 in 1,000 calls under mixed load).  Gradio's monitoring summary keeps a record of each
event, its session included: `EVENT_RECORDS` of them, not 10,000.

Not here: which requests are refused (see `qa.web.guard`, which tells `Sessions`
when a stream opens and closes).
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

UNREAD = 256  # sessions whose unread results are kept
API_IDLE = 60.0  # seconds an API session's state is kept after its last event
PAGE_IDLE = 3600.0  # seconds a page's state is kept after its last event (Gradio's hour)
SWEEP_EVERY = 30.0  # seconds between two looks for idle sessions
EVENT_RECORDS = 1000  # events in Gradio's monitoring summary (10,000 by default)


class Sessions:
    """The sessions of one served page (`blocks`): which are in use, and freeing the rest."""

    def __init__(self, blocks: Any, unread: int = UNREAD) -> None:
        self.blocks, self.queue = blocks, blocks._queue
        self.readers: dict[str, int] = {}  # open streams per session
        self.pages: set[str] = set()  # sessions that ran one of the page's events
        self.swept = time.time()
        # Gradio closes a session's stream when it has no event ids: this one is never done.
        self.kept_open = f"qa-open-{uuid.uuid4().hex}"
        held = self.queue.pending_messages_per_session
        self.queue.pending_messages_per_session = Unread(self, unread, held)
        # Gradio's monitoring summary keeps each event's record, session included.
        self.queue.ANALYTICS_MAX_EVENTS = EVENT_RECORDS

    def joined(self, session: Any, fn: Any) -> None:
        """`session` asked for `fn`: a page's event marks it a page (kept while idle)."""
        if isinstance(session, str) and not api_only(fn):
            self.pages.add(session)

    @asynccontextmanager
    async def reading(self, session: str, *, keep_open: bool = False) -> AsyncIterator[None]:
        """While a client reads `session`'s messages (with `keep_open`, until the client goes:
        Gradio does not close the stream when nothing is pending); an API session is freed
        when that reader leaves with nothing left to read."""
        self.readers[session] = self.readers.get(session, 0) + 1
        events = self.queue.pending_event_ids_session
        if keep_open:
            events.setdefault(session, set()).add(self.kept_open)
        try:
            yield
        finally:
            events.get(session, set()).discard(self.kept_open)
            self.readers[session] -= 1
            if not self.readers[session]:
                del self.readers[session]
                if session not in self.pages and self.done(session):
                    self.free(session)

    def busy(self, session: str) -> bool:
        """Whether `session` has a reader connected or an event not finished yet."""
        if session in self.readers:
            return True
        running, events = self.queue.event_ids_to_events, self.queue.pending_event_ids_session
        return any(event in running for event in events.get(session, ()))

    def done(self, session: str) -> bool:
        """Whether `session` is not busy and every result of it was read: a result can
        arrive after its reader left, and the client opens a new stream to read it."""
        return not self.busy(session) and not self.queue.pending_event_ids_session.get(session)

    def free(self, session: str) -> None:
        """Forget all that is kept for `session`; a later event starts it afresh."""
        from gradio import caching

        self._forget_events(session)
        holder = getattr(self.blocks, "state_holder", None)
        if holder is not None and session in holder.session_data:
            holder.delete_state(session)  # values of gr.State, through their callbacks
            with holder.lock:  # Gradio's threads reorder its sessions under this lock
                holder.session_data.pop(session, None)
                holder.time_last_used.pop(session, None)
        self.pages.discard(session)
        caching.clear_session_caches(session)

    def drop_unread(self, session: str) -> None:
        """Forget `session`'s unread results; a page's session keeps its state (see `sweep`)."""
        if session in self.pages:
            self._forget_events(session)
        else:
            self.free(session)

    def _forget_events(self, session: str) -> None:
        self.queue.pending_messages_per_session.pop(session, None)
        self.queue.pending_event_ids_session.pop(session, None)

    def sweep(self, now: float | None = None) -> None:
        """Free the sessions idle for longer than they are kept (at most every `SWEEP_EVERY` s)."""
        now = time.time() if now is None else now
        if now - self.swept < SWEEP_EVERY:
            return
        self.swept = now
        holder = getattr(self.blocks, "state_holder", None)
        states = list(holder.session_data) if holder is not None else []
        for session in {*states, *self.queue.pending_event_ids_session}:
            last = holder.time_last_used.get(session) if holder is not None else None
            if last is None:
                continue  # no state: only unread results, which `Unread` bounds
            idle = now - last.timestamp()
            if idle > (PAGE_IDLE if session in self.pages else API_IDLE) and self.done(session):
                self.free(session)  # unread results stay: `Unread` bounds them


def api_only(fn: Any) -> bool:
    """Whether `fn` takes and gives only API values, so it keeps nothing in a session's state."""
    from gradio.components.api_component import Api

    return bool(fn.inputs or fn.outputs) and all(
        isinstance(block, Api) for block in [*fn.inputs, *fn.outputs]
    )


class Unread(OrderedDict[str, Any]):
    """Gradio's messages per session, at most `limit` sessions, dropping the one left unread
    the longest that is not busy (Gradio's own cache dropped the oldest, even one in use)."""

    def __init__(self, sessions: Sessions, limit: int, held: Any = ()) -> None:
        super().__init__(held)
        self.sessions, self.max_size = sessions, limit

    def __getitem__(self, session: str) -> Any:
        messages = super().__getitem__(session)
        self.move_to_end(session)  # a message for it, or a reader: it is in use
        return messages

    def __setitem__(self, session: str, messages: Any) -> None:
        if session not in self and len(self) >= self.max_size:
            idle = next((s for s in self if not self.sessions.busy(s)), None)
            if idle is not None:
                self.sessions.drop_unread(idle)
        super().__setitem__(session, messages)

    def __delitem__(self, session: str) -> None:
        if session in self:  # a reader that left may find it freed already
            super().__delitem__(session)
