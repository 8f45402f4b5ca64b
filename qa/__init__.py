"""qa: semantic search and question answering over documents, with section citations.

>>> from qa import search
>>> search("how do partnerships protect civilians", k=3)[0].citation  # doctest: +SKIP
'peacekeeping-partnerships.txt › Protection of Civilians, lines 55–55'

`Index` owns an index from build to search: `Index.open(settings)`, then `.build()`,
`.refresh()`, `.status()`, `.searcher()`, `.watch()`.
"""

from __future__ import annotations

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
