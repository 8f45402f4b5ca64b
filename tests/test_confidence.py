"""The answer score shown to people (`qa/rank/confidence.py`)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from fakes import evidence_of

from qa.rank.confidence import answer_scores, centred_cosine, is_confident
from qa.rank.fitted import fitted_for
from qa.rank.ranking import Evidence
from qa.settings import DEFAULT_MODEL

SCORERS = fitted_for(DEFAULT_MODEL).scorers  # the bundled model's, as qa ships them


def scores(
    evidence: Evidence, pieces: np.ndarray, missing: float = 0.0, names_known: bool = True
) -> list[float]:
    """The shipped answer scores of `evidence`, its word-piece coverage `pieces` and the
    same `missing` (1.0: the question asks for a name or number the text lacks) for all."""
    kind = np.full(len(pieces), missing, dtype=np.float32)
    return answer_scores(evidence, pieces, kind, SCORERS, names_known).tolist()


@pytest.mark.parametrize("cosine", [-0.5, 0.0, 0.25, 0.6, 1.0])
def test_the_answer_score_is_a_probability_that_grows_with_each_kind_ofevidence_of(
    cosine: float,
) -> None:
    base = evidence_of(
        chunk_cosine=[cosine],
        sentence_cosine=[cosine - 0.2],
        specific_cosine=[cosine],
        content_coverage=[0.3],
        weakest_match=[0.4],
    )
    pieces = np.array([0.4], dtype=np.float32)
    score = scores(base, pieces)[0]
    assert 0 < score < 1
    for name in ("specific_cosine", "content_coverage", "weakest_match"):
        more = replace(base, **{name: getattr(base, name) + np.float32(0.1)})
        assert scores(more, pieces)[0] > score, name
    assert scores(base, pieces + np.float32(0.1))[0] > score
    assert scores(base, pieces, missing=1.0)[0] < score  # it lacks the name or number asked


def test_text_on_the_documents_topic_that_does_not_answer_is_not_confident() -> None:
    # Equally close to the question, but one text is close only in what its whole
    # document shares (its centred cosine is low): that one is not an answer.
    evidence = evidence_of(
        chunk_cosine=[0.5, 0.5],
        specific_cosine=[0.6, 0.0],
        content_coverage=[0.3, 0.3],
        weakest_match=[0.45, 0.45],
    )
    answers = scores(evidence, np.array([0.4, 0.4], dtype=np.float32))
    assert is_confident(answers[0]) and not is_confident(answers[1])


def test_a_text_without_the_name_or_number_asked_for_is_less_likely_an_answer() -> None:
    evidence = evidence_of(
        chunk_cosine=[0.6], specific_cosine=[0.5], content_coverage=[0.5], weakest_match=[0.6]
    )
    pieces = np.array([0.6], dtype=np.float32)
    assert scores(evidence, pieces, missing=1.0)[0] < scores(evidence, pieces)[0] - 0.05


def test_a_name_the_documents_never_mention_leaves_no_answer_confident() -> None:
    evidence = evidence_of(
        chunk_cosine=[0.95], specific_cosine=[0.9], content_coverage=[1.0], weakest_match=[0.9]
    )
    pieces = np.array([1.0], dtype=np.float32)
    assert is_confident(scores(evidence, pieces)[0])
    assert not is_confident(scores(evidence, pieces, names_known=False)[0])


def test_the_centred_cosine_keeps_what_sets_a_text_apart_from_its_document() -> None:
    topic = np.array([0.8, 0.6, 0.0], dtype=np.float32)
    question = np.array([0.6, 0.0, 0.8], dtype=np.float32)
    on_topic = np.array([0.6, 0.8, 0.0], dtype=np.float32)  # close to the document's topic
    answer = np.array([0.6, 0.48, 0.64], dtype=np.float32)
    answer /= np.linalg.norm(answer)
    centred = [
        float(centred_cosine(t @ question, t @ topic, question @ topic, topic @ topic))
        for t in (on_topic, answer)
    ]
    assert on_topic @ question > 0.3 > 0 > centred[0]  # close only in what the document shares
    assert centred[1] > 0.85
    zero = np.float32(0)
    assert float(centred_cosine(answer @ question, zero, zero, zero)) == float(answer @ question)
