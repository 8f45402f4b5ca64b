"""The real model over a PDF, a web page and a Word file: `qa eval` and `qa ask`, as run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from documents import write_memo, write_page, write_report
from fakes import DATA

from qa.cli import main
from qa.index.build import build_index
from qa.model.embedding import Embedder
from qa.settings import Settings

QUESTIONS = DATA / "readers_questions.jsonl"


@pytest.fixture(scope="module")
def formats_index(tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder) -> Path:
    root = tmp_path_factory.mktemp("formats")
    corpus = root / "corpus"
    corpus.mkdir()
    write_report(corpus / "report.pdf")
    write_page(corpus / "bees.html")
    write_memo(corpus / "memo.docx")
    settings = Settings(corpus_dir=corpus, index_dir=root / "index")
    build_index(settings, embedder=real_embedder, progress=False)
    return root / "index"


@pytest.mark.model
def test_eval_finds_the_right_document_and_section_first(
    formats_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["eval", str(QUESTIONS), "--json", "--index", str(formats_index)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report[str(QUESTIONS)]["hit_at_1"] == 1.0
    corpus = str(formats_index.parent / "corpus")
    for line in QUESTIONS.read_text(encoding="utf-8").splitlines():
        question = json.loads(line)
        args = ["ask", question["question"], "--json", "-k", "1", "--corpus", corpus]
        assert main([*args, "--index", str(formats_index)]) == 0
        [first] = json.loads(capsys.readouterr().out)
        assert (first["doc"], first["section"]) == (question["doc"], question["gold"][0])


@pytest.mark.model
def test_ask_cites_the_pages_of_a_pdf(
    formats_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = str(formats_index.parent / "corpus")
    question = "Which archive lent the logbooks?"
    assert (
        main(["ask", question, "-k", "1", "--corpus", corpus, "--index", str(formats_index)]) == 0
    )
    out = capsys.readouterr().out
    assert "1. report.pdf › 2 Methods › 2.1 Data, page" in out
