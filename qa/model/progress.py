"""A model that says how far it has got: `reporting(embedder, progress)`.

A build tells `progress(done, total)` how many texts of the model's current call are
embedded, as the model gives them (each text's token vectors, when the model makes
them) or when the call returns.  Each call is passed on whole, so the model batches
as it would without it: an int8 model's vectors depend on the batches it is given.
Its abilities stay its own: a `TokenEmbedder` stays one, and a model that is not
one does not become one.

Not here: drawing a bar (the CLI and the web app do), the vectors themselves (see
`qa.model.embedding`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from qa.model.embedding import Embedder, TokenEmbedder, Vectors

Progress = Callable[[int, int], None]  # (texts embedded, texts in the model's current call)


def reporting(embedder: Embedder, progress: Progress) -> Embedder:
    """`embedder`, telling `progress` how many texts of each call it has embedded.

    >>> from qa.model.embedding import TokenEmbedder
    >>> class Plain:
    ...     name, dimension, max_tokens = "m", 2, 8
    >>> isinstance(reporting(Plain(), print), TokenEmbedder)
    False
    """
    kind = _CountingTokens if isinstance(embedder, TokenEmbedder) else _Counting
    made: Embedder = kind(embedder, progress)
    return made


class _Counting:
    """The plain model's part: `encode`, counted when the call returns."""

    def __init__(self, inner: Any, progress: Progress) -> None:
        self.inner, self.progress = inner, progress
        self.name, self.dimension, self.max_tokens = inner.name, inner.dimension, inner.max_tokens

    def __getattr__(self, name: str) -> Any:
        if name == "inner":  # not set yet
            raise AttributeError(name)
        return getattr(self.inner, name)  # whatever else the model has: its own

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        self.progress(0, len(texts))
        vectors: Vectors = self.inner.encode(texts, progress=progress)
        self.progress(len(texts), len(texts))
        return vectors

    def count_tokens(self, text: str) -> int:
        count: int = self.inner.count_tokens(text)
        return count

    def _counter(self, total: int) -> Callable[[], None]:
        """A function to call once per text embedded, telling `progress` each time."""
        done = [0]
        self.progress(0, total)

        def one() -> None:
            done[0] += 1
            self.progress(done[0], total)

        return one


class _CountingTokens(_Counting):
    """A `TokenEmbedder`'s part: counted text by text, as each one's token vectors come."""

    def encode_tokens(
        self,
        texts: Sequence[str],
        *,
        words_only: bool = False,
        progress: bool = False,
        keep: Callable[[Vectors], Any] | None = None,
    ) -> tuple[Vectors, list[Any]]:
        one = self._counter(len(texts))

        def counted(tokens: Vectors) -> Any:
            one()
            return tokens if keep is None else keep(tokens)

        found: tuple[Vectors, list[Any]] = self.inner.encode_tokens(
            texts, words_only=words_only, progress=progress, keep=counted
        )
        return found
