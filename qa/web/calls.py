"""What a call of one of the app's functions must send, checked before Gradio reads it.

`check_call` looks at the JSON body of a POST to Gradio's call routes and raises
`Refusal` (an HTTP status and a sentence naming the fix) when

- the body is not a JSON object, or nests arrays and objects more than `MAX_DEPTH`
  deep (Python's parser gives up near 1,000 with a RecursionError: a 500 and a
  traceback in the log);
- it names a function that does not exist (an unknown `fn_index` or API name);
- it sends fewer values than the function takes, or more (a last parameter that
  defaults to None, such as `documents` of `search`, may be left out: the body is
  completed with null, so calls written before it existed keep working);
- a named API call (`/call/search`, `/run/search`, `/call/v2/search`) sends values
  that the function's check refuses (see `qa.web.tool.API_CHECKS`).

Not here: the bounds on size and uploads (see `qa.web.guard`), or what the function
refuses once it runs (an unknown document name, an empty question).
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from qa.errors import QAError

API = "/gradio_api"
MAX_DEPTH = 64  # a call nests 4 deep; Python's JSON parser fails near 1,000
JSON_ROUTES = ("/call/", "/run/", "/api/", "/queue/join", "/mcp")
Check = Callable[..., object]

_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


class Refusal(Exception):
    """A request the guard answers itself: an HTTP status and a sentence."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True)
class Call:
    """A checked call: the function, the session that asks, the body to pass on (None: as sent)."""

    fn: Any
    session: str | None
    body: bytes | None


def wants_json(path: str) -> bool:
    """Whether Gradio reads the body of a POST to `path` as JSON."""
    return path.startswith(API) and path[len(API) :].startswith(JSON_ROUTES)


def check_body(path: str, content_type: str, body: bytes) -> None:
    """Refuse a body Gradio would read as JSON that is sent as something else, or that
    nests too deeply for any parser to read it."""
    kind = content_type.split(";")[0].strip().lower()
    if kind and wants_json(path) and not (kind == "application/json" or kind.endswith("+json")):
        sent = f"The body is sent as {kind!r:.60}"
        raise Refusal(415, f"{sent}: send JSON, with Content-Type: application/json.")
    opened = body.count(b"[") + body.count(b"{")  # at least the depth: most bodies stop here
    depth = nesting(body) if opened > MAX_DEPTH else 0
    if depth > MAX_DEPTH:
        raise Refusal(400, f"The JSON body nests {depth:,} levels deep: at most {MAX_DEPTH}.")


def nesting(body: bytes) -> int:
    """How deep the arrays and objects of a JSON body nest (brackets in strings do not count).

    >>> nesting(b'{"data": [["[[[", 1]]}'), nesting(b"[" * 5)
    (3, 5)
    """
    depth = deepest = 0
    for byte in _STRINGS.sub(b'""', body).translate(None, _NOT_BRACKETS):
        depth += 1 if byte in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


def check_call(blocks: Any, path: str, body: bytes, checks: Mapping[str, Check]) -> Call | None:
    """The call that `body` makes at `path`, checked (see the module docstring); None for a
    route that calls no function."""
    route = path[len(API) :] if path.startswith(API) else ""
    if route.startswith("/call/v2/"):
        return _keywords(blocks, route[len("/call/v2/") :].strip("/"), body, checks)
    named = route.startswith(("/call/", "/run/", "/api/"))
    if not named and route != "/queue/join":
        return None
    payload = parse(body)
    by_index = route.startswith(("/run/", "/api/")) and payload.get("fn_index") is not None
    if route == "/queue/join" or by_index:
        index = payload.get("fn_index")
        fn = blocks.fns.get(index) if isinstance(index, int) else None
        if fn is None:
            raise Refusal(404, f"There is no function with fn_index {index!r:.40}.")
        check = None
    else:
        name = route.split("/", 2)[2].strip("/")
        fn, check = _named(blocks, name), checks.get(name)
    data = _values(fn, payload.get("data"))
    if check is not None:
        _run(check, *data)
    session = payload.get("session_hash")
    session = session if isinstance(session, str) else None
    if data == payload.get("data"):
        return Call(fn, session, None)
    return Call(fn, session, json.dumps({**payload, "data": data}).encode())


def parse(body: bytes) -> dict[str, Any]:
    """The JSON object of a body; Refusal when it is not one."""
    try:
        parsed = json.loads(body or b"{}")
    except (ValueError, RecursionError):
        raise Refusal(400, "The request body is not JSON.") from None
    if not isinstance(parsed, dict):
        raise Refusal(400, "The request body must be a JSON object.")
    return parsed


def _named(blocks: Any, name: str) -> Any:
    fn = next((fn for fn in blocks.fns.values() if fn.api_name == name), None)
    if fn is None or fn.fn is None:
        raise Refusal(404, f"There is no API endpoint /{name:.60}: see /gradio_api/info.")
    return fn


def _values(fn: Any, data: Any) -> list[Any]:
    """`data` completed with null for the last parameters that default to None."""
    takes = len(fn.inputs)
    wanted = takes - _optional_at_end(fn.fn)
    name = fn.api_name or "this function"
    if not isinstance(data, list) or not wanted <= len(data) <= takes:
        count = f"{wanted} to {takes}" if wanted < takes else f"{takes}"
        raise Refusal(
            422, f'Send {{"data": [...]}} with {count} values for {name}, not {data!r:.80}.'
        )
    return data + [None] * (takes - len(data))


def _keywords(blocks: Any, name: str, body: bytes, checks: Mapping[str, Check]) -> Call:
    """A `/call/v2/` call, which names its values: `{"question": "...", "k": 3}`."""
    fn, payload = _named(blocks, name), parse(body)
    parameters = inspect.signature(fn.fn).parameters
    unknown = sorted(set(payload) - set(parameters))
    missing = [p for p, v in parameters.items() if v.default is v.empty and p not in payload]
    if unknown or missing:
        names = ", ".join(parameters)
        wrong = f"not {', '.join(unknown)}" if unknown else f"{', '.join(missing)} is missing"
        raise Refusal(422, f"{name} takes {names}: {wrong:.120}.")
    check = checks.get(name)
    if check is not None:
        _run(check, **payload)
    return Call(fn, None, None)


def _run(check: Check, *values: Any, **named: Any) -> None:
    try:
        check(*values, **named)
    except QAError as error:
        raise Refusal(422, str(error)) from None


def _optional_at_end(fn: Any) -> int:
    """How many of `fn`'s last parameters default to None (0 when it has no signature)."""
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
