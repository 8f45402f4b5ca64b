"""Passages as terminal text (`qa ask`), and file names shown harmlessly wherever they are."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import settings_for

from qa import search
from qa.cli import main
from qa.errors import QAWarning
from qa.rank.passage import Passage
from qa.render import render_passages
from qa.web.render import results_html


def test_a_weak_passage_never_reads_as_if_it_were_at_the_confidence_line() -> None:
    # `qa ask` printed "(score 0.50)" under "No passage answers this confidently".
    weak = Passage(
        text="Rivers run to the sea.",
        doc="doc.txt",
        section="Rivers",
        section_path=("Rivers",),
        start_line=3,
        end_line=3,
        score=0.4996,
        confident=False,
        highlights=(),
    )
    shown = render_passages([weak], color=False)
    assert "No passage answers this confidently" in shown
    assert "doc.txt › Rivers, line 3  (score 0.49)" in shown


@pytest.fixture
def odd_names(tmp_path: Path) -> Path:
    """A corpus whose file names hold a newline, an escape sequence and a right-to-left mark."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a\nb.txt").write_text("Zebras\n\nZebras graze at dawn.\n", encoding="utf-8")
    (corpus / "\x1b[31mred\u202e.txt").write_bytes(b"\x00\x01 not text")  # skipped, so named
    return corpus


def shown_harmlessly(text: str) -> bool:
    return not any(c in text for c in ("\x1b", "\u202e", "a\nb"))


@pytest.mark.usefixtures("fake_cli")
def test_qa_build_and_qa_ask_show_control_characters_in_file_names_escaped(
    odd_names: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--corpus", str(odd_names), "--index", str(tmp_path / "index")]
    assert main(["build", *args]) == 0
    assert main(["ask", "Zebras graze", "-k", "1", *args]) == 0
    out, err = capsys.readouterr()
    assert "1. a\\x0ab.txt › Zebras, line 3" in out
    assert "Skipped \\x1b[31mred\\u202e.txt: it looks binary" in err
    assert shown_harmlessly(out) and shown_harmlessly(err)


@pytest.mark.usefixtures("fake_cli")
def test_search_cites_and_the_page_shows_control_characters_in_file_names_escaped(
    odd_names: Path, tmp_path: Path
) -> None:
    settings = settings_for(odd_names, tmp_path / "index")
    with pytest.warns(QAWarning) as caught:
        [passage] = search("Zebras graze", 1, settings=settings)
    assert all(shown_harmlessly(str(warning.message)) for warning in caught)
    assert passage.citation == "a\\x0ab.txt › Zebras, line 3"
    page = results_html("Zebras graze", [(passage, None)])
    assert "a\\x0ab.txt" in page and shown_harmlessly(page)


def test_a_name_read_from_an_older_index_is_still_shown_escaped() -> None:
    """An index built before names were escaped holds them raw: the terminal and the page
    escape them again."""
    raw = Passage(
        text="Zebras graze at dawn.",
        doc="a\nb\x1b[2J.txt",
        section="Zebras",
        section_path=("Zebras\u202e",),
        start_line=3,
        end_line=3,
        score=0.9,
        confident=True,
        highlights=(),
    )
    terminal = render_passages([raw])
    assert "1. a\\x0ab\\x1b[2J.txt › Zebras\\u202e, line 3" in terminal
    page = results_html("Zebras", [(raw, None)])
    assert "a\\x0ab\\x1b[2J.txt" in page and "Zebras\\u202e" in page
    assert "\x1b" not in page and "\u202e" not in page and "a\nb" not in page
