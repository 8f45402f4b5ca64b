"""qa: semantic search and question answering over documents, with section citations.

>>> from qa import search
>>> search("how do partnerships protect civilians", k=3)[0].citation  # doctest: +SKIP
'peacekeeping-partnerships.txt › Protection of Civilians, lines 55–55'
"""

from __future__ import annotations

from qa.errors import QAError
from qa.evaluate import EvalReport, evaluate
from qa.highlight import Highlight
from qa.index import IndexInfo, IndexStatus, build_index, index_status
from qa.search import Passage, Searcher, search
from qa.settings import Settings

__all__ = [
    "EvalReport",
    "Highlight",
    "IndexInfo",
    "IndexStatus",
    "Passage",
    "QAError",
    "Searcher",
    "Settings",
    "build_index",
    "evaluate",
    "index_status",
    "search",
]
