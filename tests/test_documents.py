"""Asking some documents of a corpus (`documents=`): ranked among themselves, named clearly."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fakes import DATA, fake_build, fake_searcher

from qa.errors import QueryError
from qa.rank.search import Searcher


@pytest.fixture
def multidoc(tmp_path: Path) -> Searcher:
    shutil.copytree(DATA / "multidoc", tmp_path / "corpus")
    fake_build(tmp_path / "corpus", tmp_path / "index")
    return fake_searcher(tmp_path / "index")


def test_a_question_asked_of_one_document_is_answered_from_it_alone(multidoc: Searcher) -> None:
    question = "how do I adjust the brakes and oil the chain of a bicycle"
    assert multidoc.search(question, k=3)[0].doc == "bicycle_maintenance.txt"
    passages = multidoc.search(question, k=3, documents=["sourdough.md"])
    assert passages and {p.doc for p in passages} == {"sourdough.md"}


def test_ranking_happens_inside_the_documents_not_by_filtering_a_global_list(
    multidoc: Searcher,
) -> None:
    # Far more passages than the corpus-wide candidates of a bicycle question hold of bees.
    everything = multidoc.search("bees hive honey swarm queen", k=50, documents=["beekeeping.md"])
    asked = multidoc.search("how do I fix a flat tyre", k=50, documents=["beekeeping.md"])
    assert len(asked) == len(everything) > 3
    assert {p.doc for p in asked} == {"beekeeping.md"}


def test_documents_are_named_by_file_name_or_stem_and_several_can_be_asked(
    multidoc: Searcher,
) -> None:
    passages = multidoc.search("water", k=10, documents=["first_aid", "water_treatment.txt"])
    assert {p.doc for p in passages} <= {"first_aid.txt", "water_treatment.txt"}
    assert "garden/composting.md" in multidoc.documents
    assert len(multidoc.documents) == 8


@pytest.mark.parametrize(
    ("documents", "message"),
    [
        (["nonexistent.md"], "No document 'nonexistent.md' in this index: name one of"),
        ([], "documents is empty"),
        ("sourdough.md", "documents must be a list of document names"),
    ],
)
def test_a_bad_document_choice_is_refused_with_the_fix(
    multidoc: Searcher, documents: object, message: str
) -> None:
    with pytest.raises(QueryError, match=message):
        multidoc.search("bread", documents=documents)  # type: ignore[arg-type]
