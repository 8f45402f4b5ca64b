"""Shared fixtures: a fast fake embedder for unit tests, and the real model for quality tests."""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from qa.embedding import Embedder, Vectors, load_embedder
from qa.settings import DEFAULT_MODEL, Settings

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SEED = ROOT / "corpus" / "peacekeeping-partnerships.txt"


class FakeEmbedder:
    """Hashed bag of words, normalized: deterministic, instant, and good enough to rank."""

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


@pytest.fixture
def fake() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def fake_settings() -> Settings:
    return Settings(model=FakeEmbedder.name)


@pytest.fixture
def seed_corpus(tmp_path: Path) -> Path:
    """A private copy of the bundled corpus, free to edit."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(SEED, folder / SEED.name)
    return folder


@pytest.fixture(scope="session")
def real_embedder() -> Embedder:
    """The bundled all-MiniLM-L6-v2, loaded once per test session."""
    return load_embedder(DEFAULT_MODEL)


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder) -> Path:
    """The seed document indexed with the real model (built once per session)."""
    from qa.index import build_index

    root = tmp_path_factory.mktemp("seed")
    shutil.copytree(ROOT / "corpus", root / "corpus")
    build_index(
        root / "corpus", root / "index", settings=Settings(), embedder=real_embedder, progress=False
    )
    return root / "index"


@pytest.fixture(scope="session")
def seed_searcher(seed_index: Path, real_embedder: Embedder):  # type: ignore[no-untyped-def]
    from qa.search import Searcher

    return Searcher(seed_index, settings=Settings(), embedder=real_embedder)
