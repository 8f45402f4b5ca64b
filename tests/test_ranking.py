"""Fusion, the calibrated score and grouping into passages (`qa/ranking.py`)."""

from __future__ import annotations

import numpy as np
import pytest

from qa.ranking import fuse, group_passages, is_confident, min_max, readable_score


def test_min_max_spreads_to_0_1_and_a_constant_says_nothing() -> None:
    assert min_max(np.array([2.0, 4.0, 3.0], dtype=np.float32)).tolist() == [0.0, 1.0, 0.5]
    assert min_max(np.array([5.0, 5.0], dtype=np.float32)).tolist() == [0.0, 0.0]
    assert min_max(np.array([], dtype=np.float32)).size == 0


def test_vectors_alone_and_keywords_alone_are_the_ends_of_the_weight() -> None:
    cosine = np.array([0.1, 0.9], dtype=np.float32)
    bm25 = np.array([3.0, 0.0], dtype=np.float32)
    zeros = np.zeros(2, dtype=np.float32)
    assert np.argmax(fuse(cosine, cosine, bm25, zeros, dense_weight=1.0)) == 1
    assert np.argmax(fuse(cosine, cosine, bm25, zeros, dense_weight=0.0)) == 0


@pytest.mark.parametrize("cosine", [-0.5, 0.0, 0.25, 0.6, 1.0])
def test_the_readable_score_is_a_calibrated_probability(cosine: float) -> None:
    score = readable_score(cosine)
    assert 0 < score < 1
    assert is_confident(score) == (cosine >= 0.25)


def test_the_score_rises_with_the_cosine() -> None:
    scores = [readable_score(c / 10) for c in range(-5, 11)]
    assert scores == sorted(scores)


def test_one_passage_per_section_comes_before_a_second_of_the_same_section() -> None:
    sections = [0, 0, 0, 1, 2]
    fused = {0: 1.0, 2: 0.95, 3: 0.5, 4: 0.4}
    assert group_passages([0, 2, 3, 4], fused, sections, 3) == [[0], [3], [4]]
    assert group_passages([0, 2, 3, 4], fused, sections, 4) == [[0], [3], [4], [2]]


def test_a_weak_neighbour_is_not_merged() -> None:
    sections = [0, 0]
    assert group_passages([0, 1], {0: 1.0, 1: 0.9}, sections, 2) == [[0, 1]]
    assert group_passages([0, 1], {0: 1.0, 1: 0.5}, sections, 2) == [[0], [1]]
    assert group_passages([0, 1], {0: 1.0, 1: 0.9}, sections, 2, mergeable=set()) == [[0], [1]]
