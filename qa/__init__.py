"""qa: semantic search and question answering over documents, with section citations.

>>> from qa import search
>>> search("how do partnerships protect civilians", k=3)[0].citation  # doctest: +SKIP
'peacekeeping-partnerships.txt › Protection of Civilians, lines 55–55'

`Index` owns an index from build to search: `Index.open(settings)`, then `.build()`,
`.refresh()`, `.status()`, `.searcher()`, `.watch()`.

The names below are loaded when first used: `import qa` (and the `qa` command, which sets
up its process before numpy loads: `qa.cli`) does not load numpy, the model or FAISS.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

    from qa.errors import QAError
    from qa.eval.evaluate import EvalReport, evaluate
    from qa.index.build import build_index, index_status, open_index
    from qa.index.owner import Index, search
    from qa.index.status import IndexInfo, IndexStatus, OpenedIndex
    from qa.index.watch import CorpusWatcher, WatchEvent
    from qa.rank.highlight import Highlight
    from qa.rank.passage import Passage
    from qa.rank.search import Searcher
    from qa.readers.base import Span
    from qa.settings import Settings

# Each public name and the module it comes from.
_HOMES = {
    "CorpusWatcher": "qa.index.watch",
    "EvalReport": "qa.eval.evaluate",
    "Highlight": "qa.rank.highlight",
    "Index": "qa.index.owner",
    "IndexInfo": "qa.index.status",
    "IndexStatus": "qa.index.status",
    "OpenedIndex": "qa.index.status",
    "Passage": "qa.rank.passage",
    "QAError": "qa.errors",
    "Searcher": "qa.rank.search",
    "Settings": "qa.settings",
    "Span": "qa.readers.base",
    "WatchEvent": "qa.index.watch",
    "build_index": "qa.index.build",
    "evaluate": "qa.eval.evaluate",
    "index_status": "qa.index.build",
    "open_index": "qa.index.build",
    "search": "qa.index.owner",
}
__all__ = [
    "CorpusWatcher",
    "EvalReport",
    "Highlight",
    "Index",
    "IndexInfo",
    "IndexStatus",
    "OpenedIndex",
    "Passage",
    "QAError",
    "Searcher",
    "Settings",
    "Span",
    "WatchEvent",
    "build_index",
    "evaluate",
    "index_status",
    "open_index",
    "search",
]


def __getattr__(name: str) -> Any:
    """`qa.<name>` for a public name, imported from its module on first use (PEP 562)."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'qa' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
