"""Fusion and choosing passages (`qa/rank/ranking.py`)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from fakes import evidence_of

from qa.rank.fitted import fitted_for
from qa.rank.ranking import (
    FEATURES,
    Ranking,
    choose_passages,
    min_max,
    reciprocal_rank_fusion,
    relevance,
)
from qa.settings import DEFAULT_MODEL


def test_min_max_spreads_to_0_1_and_a_constant_says_nothing() -> None:
    assert min_max(np.array([2.0, 4.0, 3.0], dtype=np.float32)).tolist() == [0.0, 1.0, 0.5]
    assert min_max(np.array([5.0, 5.0], dtype=np.float32)).tolist() == [0.0, 0.0]
    assert min_max(np.array([], dtype=np.float32)).size == 0


FITTED = Ranking.fitted(DEFAULT_MODEL)  # the bundled model's ranking, as qa ships it


def test_every_feature_has_a_weight() -> None:
    assert len(FITTED.weights) == len(FITTED.weights_without_tokens) == len(FEATURES)
    assert fitted_for(DEFAULT_MODEL).model == DEFAULT_MODEL  # its own file, not the defaults


def test_a_keyword_match_counts_as_much_as_the_text_covers_the_question() -> None:
    # Two chunks with the same BM25: the one holding more of the question's rare terms wins.
    evidence = evidence_of(chunk_bm25=[3.0, 3.0, 0.0], chunk_coverage=[0.2, 0.9, 0.0])
    scores = relevance(evidence, FITTED)
    assert scores[1] > scores[0] > scores[2]


def test_vectors_decide_when_no_keyword_matches() -> None:
    evidence = evidence_of(chunk_cosine=[0.1, 0.7], sentence_cosine=[0.2, 0.6])
    assert np.argmax(relevance(evidence, FITTED)) == 1


def test_reciprocal_rank_fusion_rewards_agreement() -> None:
    dense = np.array([0.9, 0.8, 0.1], dtype=np.float32)
    keywords = np.array([0.0, 5.0, 4.0], dtype=np.float32)
    assert np.argmax(reciprocal_rank_fusion([dense, keywords])) == 1


def test_a_long_section_can_give_several_passages_when_they_are_clearly_best() -> None:
    sections = [0, 0, 0, 0, 1]
    scores = np.array([9.0, 8.0, 2.0], dtype=np.float32)
    # Chunks 0 and 2 of section 0 are not neighbours; both beat section 1 by far.
    assert choose_passages([0, 2, 4], scores, sections, 2) == [[0], [2]]


def test_a_second_passage_of_a_section_pays_a_penalty() -> None:
    sections = [0, 0, 0, 0, 1]
    scores = np.array([9.0, 8.5, 8.0], dtype=np.float32)
    assert choose_passages([0, 2, 4], scores, sections, 2) == [[0], [4]]
    free = replace(FITTED, section_penalty=0)
    assert choose_passages([0, 2, 4], scores, sections, 2, free) == [[0], [2]]


def test_a_weak_neighbour_is_not_merged() -> None:
    sections = [0, 0]
    close, far = np.array([5.0, 4.5], np.float32), np.array([5.0, 1.0], np.float32)
    assert choose_passages([0, 1], close, sections, 2) == [[0, 1]]
    assert choose_passages([0, 1], far, sections, 2) == [[0], [1]]
    assert choose_passages([0, 1], close, sections, 2, mergeable=set()) == [[0], [1]]


def test_a_neighbour_nearly_as_good_joins_its_passage_before_the_list_is_full() -> None:
    # Row 1 is next to row 0 and within the merge margin, but the penalty for section 0's
    # passage puts it below row 5: it used to be left out of a two-passage list.
    sections = [0, 0, 0, 1, 1, 1]
    scores = np.array([6.0, 5.0, 4.6], dtype=np.float32)
    assert choose_passages([0, 5, 1], scores, sections, 2) == [[0, 1], [5]]
    # ...and only a neighbour of its own section joins: row 3 starts section 1, after row 2.
    assert choose_passages([2, 4, 3], scores, sections, 2) == [[2], [4, 3]]


def test_a_passage_of_several_good_chunks_comes_before_a_single_slightly_better_chunk() -> None:
    # Rows 0 and 1 of section 0 are neighbours, each nearly as good as row 5 of section 1:
    # the answer is likelier in the passage of two than in the one chunk.
    sections = [0, 0, 0, 1, 1, 1]
    scores = np.array([6.0, 5.9, 5.8], dtype=np.float32)
    assert choose_passages([5, 0, 1], scores, sections, 2) == [[0, 1], [5]]
    apart = [0, 0, 0, 1, 1, 1, 2]  # not neighbours: the better chunk stays first
    assert choose_passages([5, 0, 2], scores, apart, 2) == [[5], [0]]
