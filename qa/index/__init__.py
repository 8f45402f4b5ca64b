"""The index's life: build it from a corpus, store and check it, open it, follow the corpus;
`Index` (`qa.index.owner`) owns it from build to search.

Not here: reading documents (see `qa.readers`) or ranking passages (see `qa.rank`).
"""

from qa.index.owner import Index

__all__ = ["Index"]
