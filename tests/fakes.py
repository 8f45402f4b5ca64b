"""A deterministic stand-in for the model, and helpers to build and open indexes with it."""

from __future__ import annotations

import errno
import hashlib
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qa.index.build import build_index
from qa.index.status import IndexInfo
from qa.model.embedding import Vectors
from qa.rank.ranking import Evidence
from qa.rank.search import Searcher
from qa.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SEED = ROOT / "corpus" / "peacekeeping-partnerships.txt"


class FakePlainEmbedder:
    """Hashed bag of words, normalized: deterministic, instant, and good enough to rank; no
    token vectors (a model that gives none: the index is ranked without late interaction)."""

    name = "fake-hash"
    dimension = 64
    max_tokens = 256

    def __init__(self) -> None:
        self.calls: list[int] = []  # how many texts each encode call received

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        self.calls.append(len(texts))
        matrix = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
                matrix[row, int.from_bytes(digest, "little") % self.dimension] += 1.0
            norm = np.linalg.norm(matrix[row])
            if norm:
                matrix[row] /= norm
            else:
                matrix[row, 0] = 1.0
        return matrix

    def count_tokens(self, text: str) -> int:
        return len(re.findall(r"\w+|[^\w\s]", text))


class FakeEmbedder(FakePlainEmbedder):
    """The fake model, down the real model's path: it also gives a text's token vectors
    (each word's own hashed vector; punctuation marks are tokens too, left out with
    `words_only`), so its indexes keep them and rank with late interaction."""

    def encode_tokens(
        self,
        texts: Sequence[str],
        *,
        words_only: bool = False,
        progress: bool = False,
        keep: Callable[[Vectors], Any] | None = None,
    ) -> tuple[Vectors, list[Any]]:
        pattern = r"\w+" if words_only else r"\w+|[^\w\s]"
        tokens = [FakePlainEmbedder().encode(re.findall(pattern, text)) for text in texts]
        return self.encode(texts), [t if keep is None else keep(t) for t in tokens]


def settings_for(corpus: Path, index: Path, **changes: object) -> Settings:
    """Settings for a corpus and index folder, with the fake model."""
    return Settings(corpus_dir=corpus, index_dir=index, model=FakeEmbedder.name).with_overrides(
        **changes
    )


def fake_build(corpus: Path, index: Path, embedder: FakeEmbedder | None = None) -> IndexInfo:
    """Build the index of `corpus` in `index` with the fake model."""
    settings = settings_for(corpus, index)
    return build_index(settings, embedder=embedder or FakeEmbedder(), progress=False)


def fake_searcher(index: Path, embedder: FakeEmbedder | None = None) -> Searcher:
    """A Searcher over the index in `index`, built with the fake model."""
    settings = settings_for(index.parent / "corpus", index)
    return Searcher.open(settings, embedder=embedder or FakeEmbedder())


def refuse_to_open(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Opening the file `name` fails as it does for a user without read permission.

    The tests run as root, whom permissions do not stop (`chmod 000` changes
    nothing for root), so the system call is made to fail the way it fails
    for anyone else.
    """
    real_open = Path.open

    def refusing_open(self: Path, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        if self.name == name:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "open", refusing_open)


def evidence_of(**values: list[float]) -> Evidence:
    """Evidence with the given fields (one list each, of the same length), zeros elsewhere."""
    n = len(next(iter(values.values())))
    fields = {name: np.zeros(n, dtype=np.float32) for name in Evidence.__dataclass_fields__}
    fields.update({name: np.array(v, dtype=np.float32) for name, v in values.items()})
    return Evidence(**fields)
