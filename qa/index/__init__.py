"""The index's life: build it from a corpus, store and check it, open it, follow the corpus;
`Index` (`qa.index.owner`) owns it from build to search.

Not here: reading documents (see `qa.readers`) or ranking passages (see `qa.rank`).

`Index` is loaded when first used: `qa.rank.search` reads builds through `qa.index.store`, and
`qa.index.owner` hands out Searchers, so importing the owner with the package would make the two
import each other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qa.index.owner import Index

__all__ = ["Index"]


def __getattr__(name: str) -> type[Index]:
    """`qa.index.Index`, imported on first use (PEP 562)."""
    if name != "Index":
        raise AttributeError(f"module 'qa.index' has no attribute {name!r}")
    from qa.index.owner import Index

    return Index
