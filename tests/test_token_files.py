"""A build's token vectors go to files as they come and come back whole, in chunk order."""

from __future__ import annotations

import errno
from pathlib import Path

import numpy as np
import pytest
from fakes import FakeEmbedder, settings_for

from qa.errors import QAError
from qa.index.build import build_index, load_index
from qa.index.token_files import Rows, TokenWriter, token_staging
from qa.rank.late import TOKEN_FILES, TokenVectors, compress, token_basis


def tokens(count: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((count, 384)).astype(np.float32)


def test_token_vectors_written_as_they_come_are_read_back_in_chunk_order(tmp_path: Path) -> None:
    basis = token_basis(384)
    old = [compress(tokens(n, seed), basis) for seed, n in enumerate((4, 0, 7))]
    in_memory = TokenVectors.of(old, basis)
    previous = tmp_path / "previous"
    previous.mkdir()
    in_memory.save(previous)
    codes, scales = (np.load(previous / name, mmap_mode="r") for name in TOKEN_FILES[:2])
    mapped = TokenVectors(codes, scales, in_memory.offsets, basis)
    with token_staging(tmp_path) as staging:
        writer = TokenWriter(staging, basis)
        new = [tokens(n, 10 + n) for n in (3, 5)]
        first, second = (writer.add(found) for found in new)
        chunks = [
            second,
            Rows(mapped, 4, 4),  # a chunk without tokens
            Rows(mapped, 4, 11),
            first,
            Rows(in_memory, 0, 4),
            second,  # the same chunk twice
        ]
        built = writer.finish(chunks)
        expected = [compress(new[1], basis), old[1], old[2], compress(new[0], basis), old[0]]
        want = TokenVectors.of([*expected, expected[0]], basis)
        np.testing.assert_array_equal(built.codes, want.codes)
        np.testing.assert_array_equal(built.scales, want.scales)
        np.testing.assert_array_equal(built.offsets, want.offsets)
        folder = tmp_path / "build"
        folder.mkdir()
        built.save(folder)
        assert (folder / TOKEN_FILES[0]).stat().st_ino == (
            built.folder / TOKEN_FILES[0]
        ).stat().st_ino
    assert not staging.exists()  # the build folder keeps its links to the files
    np.testing.assert_array_equal(np.load(folder / TOKEN_FILES[0]), want.codes)
    np.testing.assert_array_equal(np.load(folder / TOKEN_FILES[2]), want.offsets)


def test_a_disk_full_while_token_vectors_are_written_leaves_the_old_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    (corpus / "a.md").write_text("# Depot\n\nSeventeen striped zebras guard the depot.\n")
    settings = settings_for(corpus, index, model=FakeEmbedder.name)
    build_index(settings, embedder=FakeEmbedder(), progress=False)
    (corpus / "b.md").write_text("# Ships\n\nTugboats push the tanker into the harbour.\n")

    def disk_full(self: TokenWriter, found: np.ndarray) -> Rows:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(TokenWriter, "add", disk_full)
    with pytest.raises(QAError, match=r"No space left on device.*previous index is unchanged"):
        build_index(settings, embedder=FakeEmbedder(), progress=False)
    assert [c.doc for c in load_index(settings).chunks] == ["a.md"]
    left = sorted(path.name for path in index.iterdir())
    assert len(left) == 3 and left[:2] == [".lock", "CURRENT"]  # and the old build: no staging
