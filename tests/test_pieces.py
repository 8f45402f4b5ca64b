"""The question's content, in the model's own word pieces, that a text holds or nearly holds."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from qa.model.embedding import model_path
from qa.rank.pieces import PieceCoverage
from qa.settings import DEFAULT_MODEL


@pytest.fixture(scope="module")
def minilm() -> PieceCoverage:
    folder = model_path(DEFAULT_MODEL)
    assert folder is not None
    return PieceCoverage.of_model(folder)


def covered(pieces: PieceCoverage, question: str, *texts: str) -> list[float]:
    found = pieces.covered(pieces.question_pieces(question), pieces.text_pieces(list(texts)))
    return [round(float(v), 3) for v in found]


def test_a_text_in_other_words_covers_the_question_better_than_one_on_another_subject(
    minilm: PieceCoverage,
) -> None:
    same, other_words, unrelated = covered(
        minilm,
        "Why do soldiers patrol the streets?",
        "Soldiers patrol the streets at night.",
        "Troops guard the roads of the town.",
        "Knead the dough and let it rise overnight.",
    )
    assert same > 0.99  # int8 vectors: 1 within rounding
    assert unrelated < other_words < same


def test_words_the_question_asks_with_are_not_its_content(minilm: PieceCoverage) -> None:
    # "what", "which", "does" are in no answer; only "budget" and "mission" count.
    assert (
        covered(minilm, "What does the budget of which mission do?", "The mission budget.")[0]
        > 0.99
    )
    assert len(minilm.question_pieces("What is it?")) == 0
    assert covered(minilm, "What is it?", "Anything at all.") == [0.0]


def test_a_model_without_safetensors_weights_counts_only_the_pieces_it_shares(
    tmp_path: Path,
) -> None:
    # qa never unpickles a model's weights: without model.safetensors the pieces match exactly.
    folder = model_path(DEFAULT_MODEL)
    assert folder is not None
    shutil.copy(folder / "tokenizer.json", tmp_path / "tokenizer.json")
    exact = PieceCoverage.of_model(tmp_path)
    assert covered(exact, "Why do soldiers patrol?", "Soldiers rest.", "Troops patrol.") == [
        0.5,
        0.5,
    ]


def test_a_french_question_is_not_covered_by_a_text_sharing_only_its_function_words() -> None:
    words = PieceCoverage(None, None)  # a model without word pieces (E5): whole words count
    question = words.question_pieces("Combien de minutes le boulanger cuit-il le pain ?", "french")
    texts = ["Le port de la ville est ouvert.", "Le boulanger cuit le pain quarante minutes."]
    unrelated, answer = words.covered(question, words.text_pieces(texts, ["french", "french"]))
    assert unrelated == 0 and answer > 0.5
