"""The search API endpoint and MCP tool `search`: the values it takes, its function with the
docstring agents read, and what the MCP tool sends back.

`check_search` refuses a call no index could answer before it waits in the queue (the
guard runs it, see `qa.web.calls`); `api_count` and `api_documents` turn `k` and
`documents` into what `Searcher.search` takes; `search_tool` is the function Gradio
publishes; `tool_json` is the MCP tool's answer as JSON.

Not here: searching (see `qa.web.handlers`, `Handlers.api_search`), wiring it into the
page (see `qa.web.app`) or the HTTP bounds (see `qa.web.guard`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from qa.errors import QueryError

MAX_RESULTS = 10

Rows = list[dict[str, Any]]


def api_count(k: Any) -> int:
    """`k` of an API call: a whole number, at most 10 (below 1 the library refuses it, as `qa ask`).

    >>> api_count(3), api_count(25), api_count(2.0)
    (3, 10, 2)
    """
    if isinstance(k, float) and k.is_integer():
        k = int(k)
    if isinstance(k, bool) or not isinstance(k, int):
        raise QueryError(f"k must be a whole number from 1 to {MAX_RESULTS}, not {k!r:.40}")
    return min(k, MAX_RESULTS)


def api_documents(documents: Any) -> list[str] | None:
    """`documents` of an API call: None (all) or a list of names, as `Searcher.search` takes.

    >>> api_documents(None), api_documents(["a.md"])
    (None, ['a.md'])
    """
    if documents is None:
        return None
    if not isinstance(documents, list) or not all(isinstance(d, str) for d in documents):
        raise QueryError(
            f"documents must be a list of document names, not {documents!r:.60}: "
            'send ["report.pdf"], or null for all documents'
        )
    return documents


def check_search(question: Any, k: Any = 5, documents: Any = None) -> None:
    """QueryError for values of a search API call that no index could answer, before it
    waits in the queue (see `qa.web.calls`): the question is not text, or as `api_count`
    and `api_documents` refuse them.

    >>> check_search(None)
    Traceback (most recent call last):
    qa.errors.QueryError: The question must be text, not null: send it as a string
    """
    if not isinstance(question, str):
        shown = json.dumps(question, default=repr)
        raise QueryError(f"The question must be text, not {shown:.40}: send it as a string")
    api_count(k)
    api_documents(documents)


API_CHECKS = {"search": check_search}  # what the guard checks of a call, by API name


def tool_json(passages: Sequence[Mapping[str, Any]]) -> str:
    """What the MCP tool `search` sends for the API's `passages`: a JSON object, whether the
    best passage answers (`answered`: it is confident), and the passages, closest first
    (when nothing answers, still the closest ones, each marked not confident).

    >>> tool_json([])
    '{"answered": false, "passages": []}'
    """
    answered = bool(passages) and bool(passages[0].get("confident"))
    return json.dumps({"answered": answered, "passages": list(passages)}, ensure_ascii=False)


def search_tool(api_search: Callable[[str, int, list[str] | None], Rows]) -> Callable[..., Rows]:
    """The API endpoint and MCP tool, named `search`, over `api_search` (the page's
    `Handlers.api_search`), with the docstring agents read."""

    def search(
        question: str, k: int = 5, documents: list[str] | None = None
    ) -> list[dict[str, Any]]:
        """Search the documents: the passages that best answer a question, best first.

        Each passage has its text, its document (`doc`), a citation (document › section,
        lines), a score from 0 to 1, whether it is a confident answer, and the sentences
        that answer.  As an MCP tool it returns JSON: {"answered": whether the best passage
        answers, "passages": [...]}; when nothing answers, the closest passages, none
        confident.

        Args:
            question: the question, in plain words (at most 2,000 characters are read).
            k: how many passages to return, from 1 to 10.
            documents: search only these documents, named as a passage's `doc` names them
                (a path under the corpus folder, such as "report.pdf"); null for all.
        """
        return api_search(question, k, documents)

    return search
