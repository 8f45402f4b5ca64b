"""Fitted numbers as data (`qa/rank/fitted.py`): one file per model, read back as written."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from fakes import FakeEmbedder

from qa.errors import QAError
from qa.rank.confidence import ANSWER_FEATURES
from qa.rank.fitted import Fitted, Linear, defaults, fitted_for, weights_file
from qa.rank.ranking import FEATURES, Ranking
from qa.settings import DEFAULT_MODEL, MODELS


def test_what_is_written_is_read_back_the_same(tmp_path: Path) -> None:
    fitted = replace(
        fitted_for(DEFAULT_MODEL),
        fitted_on={"seed": "corpus/"},
        figures={"qasper": {"hit_at_1": 0.5}},
    )
    fitted.write(tmp_path / "model.json")
    assert Fitted.read(tmp_path / "model.json") == fitted


@pytest.mark.parametrize("model", MODELS)
def test_each_supported_model_has_its_own_file_recording_what_it_was_fitted_on(
    model: str,
) -> None:
    fitted = fitted_for(model)
    assert weights_file(model).is_file()
    assert fitted.model == model and fitted.date
    assert set(fitted.fitted_on) == set(fitted.held_out) == {"seed", "squad", "qasper"}
    for family in fitted.held_out:  # each family's figures when it was left out of the fit
        assert 0 < fitted.figures[family]["hit_at_1"] <= 1


def test_a_model_never_fitted_gets_the_documented_defaults_not_another_models_numbers() -> None:
    assert fitted_for(FakeEmbedder.name) == defaults()
    assert fitted_for("/models/my-own-model") == defaults()
    ranking = Ranking.fitted("/models/my-own-model")
    assert ranking.weights != Ranking.fitted(DEFAULT_MODEL).weights
    assert defaults().scorers.answer.features == ANSWER_FEATURES


def test_weights_for_other_features_say_to_refit() -> None:
    stale = Linear(("chunk cosine", "chunk BM25"), (1.0, 2.0))
    with pytest.raises(QAError, match="run `make fit`"):
        stale.of(FEATURES)


@pytest.mark.parametrize("text", ["", "{}", '{"format": 1, "model": "m"}', "[1, 2]", "not json"])
def test_a_damaged_file_says_to_refit(tmp_path: Path, text: str) -> None:
    path = tmp_path / "model.json"
    path.write_text(text)
    with pytest.raises(QAError, match=r"is not a file of fitted weights.*run `make fit`"):
        Fitted.read(path)
