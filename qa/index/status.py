"""What the library says about an index, as data: what a build did (`IndexInfo`), how
the index on disk compares with the corpus (`IndexStatus`), and what `Index.check` and
`Index.refresh` found and did (`OpenedIndex`).  The CLI and the web app turn these into words.

Not here: finding any of it out (see `qa.index.owner`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from qa.index.store import LoadedIndex


@dataclass(frozen=True)
class IndexInfo:
    """What a build did."""

    documents: int
    sections: int
    chunks: int
    chunks_embedded: int
    chunks_reused: int
    model: str
    built_at: str
    seconds: float
    # Files skipped, decoded as a guess or yielding no text, with the reason; one line each.
    warnings: tuple[str, ...] = ()
    left_out: tuple[str, ...] = ()  # "See also" link lines not indexed: `a.txt lines 5, 9`
    added: tuple[str, ...] = ()  # documents new since the previous build
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()

    def file_changes(self) -> list[str]:
        """What the build found changed since the one before: `["added b.md"]`."""
        return change_phrases(self.added, self.changed, self.removed)


def change_phrases(
    added: Sequence[str], changed: Sequence[str], removed: Sequence[str]
) -> list[str]:
    """What happened to the documents, a phrase per kind.

    >>> change_phrases(["b.md"], ["a.txt"], [])
    ['added b.md', 'changed a.txt']
    """
    kinds = (("added", added), ("changed", changed), ("removed", removed))
    return [f"{kind} {', '.join(names)}" for kind, names in kinds if names]


@dataclass(frozen=True)
class IndexStatus:
    """How an index on disk compares with the corpus and the settings: data, not a message.

    `state` is "missing" (no index), "damaged" (`damaged` says what), "stale"
    (`mismatches` with the settings or with the vectors the model makes now, or documents
    `added`, `removed`, `changed`) or "fresh".  `building_elsewhere`: another process holds
    the build lock (set by `Index.refresh` when it is about to rebuild).
    """

    index_dir: Path
    missing: bool = False
    damaged: str = ""
    mismatches: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    building_elsewhere: bool = False

    @property
    def state(self) -> Literal["fresh", "stale", "missing", "damaged"]:
        if self.missing:
            return "missing"
        if self.damaged:
            return "damaged"
        if self.mismatches or self.added or self.removed or self.changed:
            return "stale"
        return "fresh"

    @property
    def fresh(self) -> bool:
        return self.state == "fresh"

    def file_changes(self) -> list[str]:
        """What happened to the documents, a phrase per kind: `["added b.md", "changed a.txt"]`."""
        return change_phrases(self.added, self.changed, self.removed)

    def describe(self) -> str:
        """One line: "index/ is up to date", or what differs."""
        if self.missing:
            return f"no index in {self.index_dir}/"
        if self.damaged:
            return f"the index in {self.index_dir}/ is damaged ({self.damaged})"
        parts = list(self.mismatches) + self.file_changes()
        if not parts:
            return f"{self.index_dir}/ is up to date"
        return f"{self.index_dir}/ is out of date ({'; '.join(parts)})"

    def next_step(self) -> str:
        """What a rebuild is about to do: "building it now", or wait for another's build."""
        if not self.building_elsewhere:
            return "building it now"
        if self.state in ("missing", "damaged"):
            return "another process is building it: waiting for that build"
        return "another process is building it"


@dataclass(frozen=True)
class OpenedIndex:
    """What `Index.check` or `Index.refresh` found and did: the loaded index (None if
    unusable) and why."""

    index: LoadedIndex | None
    status: IndexStatus  # as found, before any rebuild
    built: IndexInfo | None = None  # what the rebuild did, when one ran
    not_rebuilt: str = ""  # why a rebuild asked for could not run: `index` is then as found

    def as_is(self) -> str:
        """Why the index answers as found: "index/ is out of date (added b.md), and it could
        not be rebuilt (...); answering from it as it is"."""
        return (
            f"{self.status.describe()}, and it could not be rebuilt ({self.not_rebuilt}); "
            "answering from it as it is"
        )
