"""The index's life in one call each, for callers outside the package: thin wrappers over
`qa.index.owner.Index`, which owns it (nothing inside `qa` calls these).

    build_index(settings)            Index.open(settings).build()
    index_status(settings)           Index.open(settings).status()
    open_index(settings)             Index.open(settings).check()
    open_index(settings, rebuild=True)  Index.open(settings).refresh()
    load_index(settings)             Index.open(settings).load()

Not here: anything else (see `qa.index.owner`).
"""

from __future__ import annotations

from collections.abc import Callable

from qa.index.owner import Index
from qa.index.status import IndexInfo, IndexStatus, OpenedIndex
from qa.index.store import LoadedIndex
from qa.model.embedding import Embedder
from qa.settings import Settings


def build_index(
    settings: Settings | None = None, *, embedder: Embedder | None = None, progress: bool = True
) -> IndexInfo:
    """Build or refresh the index of `settings` (default: `Settings.from_env()`), re-embedding
    only changed chunks (`Index.build`); `progress` shows the model's bar, on a terminal only."""
    return Index.open(settings, embedder=embedder).build(progress=progress)


def index_status(
    settings: Settings | None = None, *, embedder: Embedder | None = None
) -> IndexStatus:
    """How the live index compares with its corpus, the settings and its model (`Index.status`)."""
    return Index.open(settings, embedder=embedder).status()


def open_index(
    settings: Settings | None = None,
    *,
    rebuild: bool = False,
    embedder: Embedder | None = None,
    before_build: Callable[[IndexStatus], None] | None = None,
) -> OpenedIndex:
    """The live index loaded, and how it compares (`Index.check`); with `rebuild`, (re)built
    first when missing, damaged, mismatched or stale (`Index.refresh`)."""
    index = Index.open(settings, embedder=embedder)
    return index.refresh(before_build=before_build) if rebuild else index.check()


def load_index(settings: Settings | None = None) -> LoadedIndex:
    """The live build of `settings`, read and verified (`Index.load`)."""
    return Index.open(settings).load()
