"""qa: semantic search and question answering over documents, with section citations.

>>> from qa import search
>>> search("how do partnerships protect civilians", k=3)[0].citation  # doctest: +SKIP
'peacekeeping-partnerships.txt › Protection of Civilians, lines 55–55'
"""

from __future__ import annotations

from qa.errors import QAError
from qa.evaluate import EvalReport, evaluate
from qa.highlight import Highlight
from qa.index import build_index, index_status, open_index
from qa.passage import Passage
from qa.readers.base import Span
from qa.search import Searcher, search
from qa.settings import Settings
from qa.status import IndexInfo, IndexStatus, OpenedIndex
from qa.watch import CorpusWatcher, WatchEvent

__all__ = [
    "CorpusWatcher",
    "EvalReport",
    "Highlight",
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
