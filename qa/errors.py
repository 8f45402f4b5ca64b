"""Errors the qa package raises for bad input or bad state.

Every message names the fix, so the CLI and the web app can show it as one
clean line.  Programming mistakes inside qa are not wrapped: they stay
ordinary Python exceptions.
"""

from __future__ import annotations

from pathlib import Path


class QAError(Exception):
    """Base class of every error qa raises on purpose."""


class CorpusError(QAError):
    """The corpus folder or one of its documents cannot be used."""


class EmptyCorpusError(CorpusError):
    """The corpus folder exists but holds no documents (its index is then an empty one)."""


class IndexMissingError(QAError):
    """No index exists where one was expected."""


class IndexMismatchError(QAError):
    """The index on disk was built with other settings, another model or another format."""


class IndexCorruptError(QAError):
    """The index on disk is damaged: a file is missing, truncated or altered.

    `detail` says what is wrong, as data: `"chunks.jsonl line 3 is invalid: ..."`.
    """

    def __init__(self, index_dir: Path, detail: str) -> None:
        super().__init__(f"The index in {index_dir}/ is damaged ({detail}): run `qa build`")
        self.index_dir, self.detail = index_dir, detail

    @classmethod
    def of_build(cls, folder: Path, detail: str) -> IndexCorruptError:
        """The error for a damaged build `folder`, naming its index folder (the parent)."""
        return cls(folder.parent, detail)


class BuildLockedError(QAError):
    """Another build of the same index is running."""


class QueryError(QAError):
    """The question or a search parameter is not usable."""


class ModelError(QAError):
    """The embedding model cannot be loaded."""


class QAWarning(UserWarning):
    """Something worth telling the user that does not stop the work."""
