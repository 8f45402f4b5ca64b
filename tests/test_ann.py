"""The FAISS index follows the corpus size: exact when small, IVF with high recall when large."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest

from qa.index.ann import EXACT_MAX, ivf_shape, make_vector_index


def unit_rows(count: int, dimension: int, seed: int) -> np.ndarray:
    matrix = np.random.default_rng(seed).standard_normal((count, dimension)).astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def clustered(count: int, seed: int) -> np.ndarray:
    """Rows with low-dimensional structure, like sentence embeddings (not uniform noise)."""
    rng = np.random.default_rng(seed)
    basis = rng.standard_normal((16, 64)).astype(np.float32)
    centers = rng.standard_normal((20, 16)).astype(np.float32) * 2
    latent = centers[rng.integers(0, 20, count)] + rng.standard_normal((count, 16))
    matrix = (latent @ basis + 0.3 * rng.standard_normal((count, 64))).astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


@pytest.mark.parametrize(("count", "dimension", "k"), [(1, 7, 1), (37, 13, 5), (1001, 384, 10)])
def test_small_indexes_are_exact_and_equal_numpy_top_k(count: int, dimension: int, k: int) -> None:
    matrix, queries = unit_rows(count, dimension, 1), unit_rows(9, dimension, 2)
    index, kind = make_vector_index(matrix)
    assert kind == "flat"
    scores, rows = index.search(queries, k)
    expected = np.argsort(-(queries @ matrix.T), axis=1, kind="stable")[:, :k]
    np.testing.assert_array_equal(rows, expected)
    np.testing.assert_allclose(
        scores, np.take_along_axis(queries @ matrix.T, expected, 1), atol=1e-5
    )


def test_an_empty_matrix_gives_an_empty_exact_index() -> None:
    index, kind = make_vector_index(np.zeros((0, 384), dtype=np.float32))
    assert (kind, index.ntotal) == ("flat", 0)


def test_large_indexes_are_ivf_with_high_recall_and_survive_a_round_trip(tmp_path: Path) -> None:
    matrix, queries = clustered(6000, 3), clustered(50, 4)
    index, kind = make_vector_index(matrix, exact_max=1000)
    cells, probes = ivf_shape(6000)
    assert kind == f"IVF{cells},Flat/nprobe={probes}"
    assert isinstance(index, faiss.IndexIVFFlat) and index.ntotal == 6000
    _, rows = index.search(queries, 10)
    exact = np.argsort(-(queries @ matrix.T), axis=1)[:, :10]
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(rows, exact, strict=True)])
    assert recall >= 0.95
    faiss.write_index(index, str(tmp_path / "vectors.faiss"))
    loaded = faiss.read_index(str(tmp_path / "vectors.faiss"))
    assert loaded.nprobe == probes  # no setting to restore after loading
    np.testing.assert_array_equal(loaded.search(queries, 10)[1], rows)


def test_the_same_vectors_give_the_same_index() -> None:
    matrix, queries = clustered(3000, 5), clustered(20, 6)
    first, _ = make_vector_index(matrix, exact_max=500)
    second, _ = make_vector_index(matrix, exact_max=500)
    np.testing.assert_array_equal(first.search(queries, 10)[1], second.search(queries, 10)[1])


def test_ivf_shape_grows_with_size_and_never_starves_a_cell() -> None:
    assert ivf_shape(1_000_000) == (4096, 128)
    assert ivf_shape(100_000) == (1024, 32)
    cells, probes = ivf_shape(EXACT_MAX + 1)
    assert 16 <= probes <= cells and (EXACT_MAX + 1) // cells >= 39


@pytest.mark.parametrize(("rows", "dim", "k"), [(1, 3, 1), (97, 384, 10), (1013, 17, 33)])
def test_faiss_top_k_equals_numpy_brute_force(rows: int, dim: int, k: int) -> None:
    rng = np.random.default_rng(rows)
    matrix = rng.standard_normal((rows, dim)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    queries = rng.standard_normal((7, dim)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    index, _ = make_vector_index(matrix)
    scores, found = index.search(queries, min(k, rows))
    expected = np.argsort(-(queries @ matrix.T), axis=1, kind="stable")[:, : min(k, rows)]
    assert np.array_equal(found, expected)
    assert np.allclose(scores, np.take_along_axis(queries @ matrix.T, expected, axis=1), atol=1e-5)
