"""Late interaction (`qa.rank.late`): compressed token vectors score as the full ones do, and
an index keeps them from build to build."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fakes import FakeEmbedder, settings_for

from qa.errors import IndexCorruptError
from qa.index.build import build_index
from qa.index.folder import current_folder
from qa.index.store import read_build
from qa.rank.late import TokenVectors, compress, token_basis
from qa.rank.search import Searcher


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def exact_maxsim(question: np.ndarray, chunk: np.ndarray) -> float:
    return float((question @ chunk.T).max(axis=1).mean())


@pytest.mark.parametrize("dimension", [384, 768, 50])
def test_compressed_token_vectors_score_chunks_as_the_full_vectors_do(dimension: int) -> None:
    rng = np.random.default_rng(dimension)
    # Token vectors of real text share a direction and span few others; so do these.
    common, directions = rng.standard_normal(dimension), rng.standard_normal((24, dimension))

    def tokens(n: int) -> np.ndarray:
        mixed = common + rng.standard_normal((n, 24)) @ directions / 3
        return unit(mixed + 0.3 * rng.standard_normal((n, dimension)))

    chunks = [tokens(n) for n in (1, 7, 130, 33)] + [np.zeros((0, dimension), np.float32)]
    basis = token_basis(dimension)
    store = TokenVectors.of([compress(c, basis) for c in chunks], basis)
    question = tokens(9)
    rows = np.array([3, 0, 2, 1, 4])
    got, least = store.matches(question, rows)
    want = [exact_maxsim(question, chunks[r]) if len(chunks[r]) else 0.0 for r in rows]
    assert np.abs(got - want).max() < 0.05
    assert np.argsort(-got[:4]).tolist() == np.argsort(-np.array(want[:4])).tolist()
    exact_least = [(question @ chunks[r].T).max(axis=1).min() for r in rows[:4]]
    assert np.abs(least[:4] - exact_least).max() < 0.08  # one piece: less averaged out
    assert store.codes.dtype == np.int8 and store.codes.shape[1] == min(dimension, 128)


def test_a_chunk_holding_the_questions_words_scores_highest() -> None:
    embedder = FakeEmbedder()
    texts = ["The zebras guard the depot.", "Bread rises in a warm oven.", ""]
    basis = token_basis(embedder.dimension)
    _, tokens = embedder.encode_tokens(texts)
    store = TokenVectors.of([compress(t, basis) for t in tokens], basis)
    _, (asked,) = embedder.encode_tokens(["Who guards the depot?"], words_only=True)
    scores, least = store.matches(asked, np.array([1, 0, 2]))
    assert scores[1] > scores[0] > 0 and scores[2] == 0.0
    # "who" and "guards" are in neither text: the depot's least match is no better.
    assert least[1] < scores[1] and least[2] == 0.0
    assert store.chunk(2)[0].shape == (0, basis.shape[1])


def seed_corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.md").write_text("# Depot\n\nSeventeen striped zebras guard the depot.\n")
    (corpus / "b.md").write_text("# Bread\n\nA warm oven makes the dough rise into a dome.\n")
    return corpus


def test_a_rebuild_keeps_the_token_vectors_of_unchanged_chunks(tmp_path: Path) -> None:
    corpus, index = seed_corpus(tmp_path), tmp_path / "index"
    settings = settings_for(corpus, index, model=FakeEmbedder.name)
    build_index(settings, embedder=FakeEmbedder(), progress=False)
    first = read_build(current_folder(index))
    assert first.tokens is not None and first.manifest.encoder["token_vectors"] == "int8x64"
    (corpus / "c.md").write_text("# Ships\n\nTugboats push the tanker into the harbour.\n")
    embedder = FakeEmbedder()
    info = build_index(settings, embedder=embedder, progress=False)
    assert (info.chunks_reused, info.chunks_embedded) == (2, 1)
    second = read_build(current_folder(index))
    assert second.tokens is not None
    for row, chunk in enumerate(second.chunks):
        if chunk.doc != "c.md":
            old = next(i for i, c in enumerate(first.chunks) if c.hash == chunk.hash)
            assert np.array_equal(second.tokens.chunk(row)[0], first.tokens.chunk(old)[0])
    searcher = Searcher.open(settings, embedder=embedder)
    (best,) = searcher.search("what pushes the tanker into the harbour", 1)
    assert best.doc == "c.md"


def test_a_damaged_token_file_is_reported_not_answered_from(tmp_path: Path) -> None:
    corpus, index = seed_corpus(tmp_path), tmp_path / "index"
    settings = settings_for(corpus, index, model=FakeEmbedder.name)
    build_index(settings, embedder=FakeEmbedder(), progress=False)
    folder = current_folder(index)
    with (folder / "tokens.npy").open("r+b") as file:
        file.seek(-1, 2)
        last = file.read(1)
        file.seek(-1, 2)
        file.write(b"\x7f" if last != b"\x7f" else b"\x00")
    with pytest.raises(IndexCorruptError, match=r"tokens\.npy was altered"):
        read_build(folder)
