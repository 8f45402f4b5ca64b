"""The page's document choice: "All documents", or some documents of the index that answers.

The choice is a list of values: `ALL` alone for every document, else document names as
`Searcher.documents` gives them.  Its list of choices is rebuilt from the index each time
the page loads, the list is opened or a rebuild ends, so it follows the corpus; a chosen
document that has left the index stays in the list, marked, so the choice never widens
silently and the next search says what happened.

    >>> document_choices(["a.md", "b.md"], ["c.md"])[1:]
    [('a.md', 'a.md'), ('b.md', 'b.md'), ('c.md (no longer indexed)', 'c.md')]
    >>> asked([ALL]), asked(["a.md"])
    (None, ['a.md'])

Not here: searching some documents (see `qa.rank.search`), the component (see `qa.web.app`).
"""

from __future__ import annotations

from collections.abc import Sequence

ALL = ""  # the value of "All documents": no document of an index is named ""
ALL_LABEL = "All documents"
GONE = " (no longer indexed)"


def document_choices(names: Sequence[str], chosen: Sequence[str] | None) -> list[tuple[str, str]]:
    """The list's (label, value) pairs: all documents, each document of the index, then each
    chosen document no longer in it."""
    gone = missing(chosen, names)
    return [
        (ALL_LABEL, ALL),
        *((name, name) for name in names),
        *((name + GONE, name) for name in gone),
    ]


def asked(chosen: Sequence[str] | None) -> list[str] | None:
    """The documents a choice asks, in order, for `Searcher.search(documents=...)`; None for all.

    >>> asked(None), asked([]), asked([ALL, "a.md", "b.md", "a.md"])
    (None, None, ['a.md', 'b.md'])
    """
    names = list(dict.fromkeys(name for name in chosen or () if name != ALL))
    return names or None


def missing(chosen: Sequence[str] | None, names: Sequence[str]) -> list[str]:
    """The chosen documents that the index (its `names`) does not hold."""
    return [name for name in asked(chosen) or [] if name not in names]


def missing_message(gone: Sequence[str]) -> str:
    """What a search of documents that have left the index says instead of answering.

    >>> missing_message(["old.md"])
    'old.md is no longer in the index (the corpus changed): remove it from Documents, or pick All documents.'
    """  # noqa: E501
    names = ", ".join(gone)
    verb = "is" if len(gone) == 1 else "are"
    pronoun = "it" if len(gone) == 1 else "them"
    return (
        f"{names} {verb} no longer in the index (the corpus changed): "
        f"remove {pronoun} from Documents, or pick {ALL_LABEL}."
    )


# After the reader picks in the list: "All documents" alone when it was picked last or nothing
# is left, else the documents without it.  In the browser, so the list answers at once; it
# returns the list of its outputs' values, here one.
NORMALIZE_JS = """(chosen) => {
  if (!Array.isArray(chosen) || !chosen.length || chosen[chosen.length - 1] === "") return [[""]];
  return [chosen.filter((name) => name !== "")];
}"""
