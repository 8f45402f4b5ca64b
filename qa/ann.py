"""Choose and build the FAISS index for a matrix of unit-length vectors.

Vectors are normalized, so inner product is cosine similarity.
"""

from __future__ import annotations

from typing import Any

from qa.embedding import Vectors


def make_vector_index(matrix: Vectors) -> tuple[Any, str]:
    """A FAISS index holding `matrix`, and the name of its type for the manifest."""
    import faiss

    index = faiss.IndexFlatIP(matrix.shape[1])  # exact search
    index.add(matrix)
    return index, "flat"
