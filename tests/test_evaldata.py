"""A clone without ../shared skips the quality bars that need its evaluation files, naming
what is missing; where the files are (CI), those tests run."""

from __future__ import annotations

from pathlib import Path

import evaldata
import pytest
from evaldata import needed


def test_a_clone_without_shared_eval_skips_naming_the_missing_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Issue 28: `make test` on a clone without ../shared ended with an error in the SQuAD test."""
    monkeypatch.setattr(evaldata, "SHARED_EVAL", tmp_path / "shared" / "eval")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        needed("squad/squad-dev-half.json")
    message = str(skipped.value)
    assert f"{tmp_path / 'shared' / 'eval' / 'squad' / 'squad-dev-half.json'} is missing" in message
    assert "../shared/eval" in message


def test_the_files_there_are_used_without_a_skip(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "qasper").mkdir()
    (tmp_path / "qasper" / "questions.jsonl").write_text("{}\n")
    monkeypatch.setattr(evaldata, "SHARED_EVAL", tmp_path)
    assert needed("qasper/questions.jsonl") == tmp_path / "qasper" / "questions.jsonl"


def test_in_ci_a_missing_file_fails_rather_than_skips(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """CI has ../shared: a skip there would hide the quality bars."""
    monkeypatch.setattr(evaldata, "SHARED_EVAL", tmp_path)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="is missing"):
        needed("squad/squad-dev-half.json")
