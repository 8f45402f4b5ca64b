"""Bad input through the API and the CLI: a clear message that names the fix, nothing lost."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fakes import FakeEmbedder, fake_searcher

from qa.cli import main
from qa.errors import BuildLockedError, CorpusError, QAError, QAWarning
from qa.index.build import build_index, index_status, load_index
from qa.index.folder import build_lock
from qa.rank.search import MAX_QUESTION_CHARS, Searcher
from qa.readers.corpus import read_corpus
from qa.settings import Settings


def build(corpus: Path, index: Path, settings: Settings):  # type: ignore[no-untyped-def]
    settings = settings.with_overrides(corpus_dir=corpus, index_dir=index)
    return build_index(settings, embedder=FakeEmbedder(), progress=False)


@pytest.mark.parametrize(
    "question",
    [
        "how do partnerships protect civilians 🕊️🙂",
        "كيف تحمي الشراكات المدنيين؟ protect civilians",
        "protect\x07 civilians\x1b[31m\u200b",
        "PROTECT CIVILIANS!!!",
    ],
)
def test_odd_questions_are_answered(seed_searcher: Searcher, question: str) -> None:
    passages = seed_searcher.search(question, 3)
    assert len(passages) == 3
    assert any(p.section == "Protection of Civilians" for p in passages)


def test_a_huge_question_is_cut_to_what_the_model_reads(seed_searcher: Searcher) -> None:
    question = "how do partnerships protect civilians " * 3000  # about 114,000 characters
    started = time.perf_counter()
    passages = seed_searcher.search(question, 3)
    assert time.perf_counter() - started < 30  # bounded: only the first characters are read
    assert passages[0].section == "Protection of Civilians"
    assert len(question) > MAX_QUESTION_CHARS


def test_missing_and_empty_corpus_folders(tmp_path: Path, fake_settings: Settings) -> None:
    with pytest.raises(CorpusError, match=r"does not exist.*--corpus"):
        build(tmp_path / "nope", tmp_path / "index", fake_settings)
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.doc").write_bytes(b"\xd0\xcf\x11\xe0")  # old Word: not read
    with pytest.warns(QAWarning, match=r"empty/ holds no documents, so the index is empty"):
        info = build(tmp_path / "empty", tmp_path / "index", fake_settings)  # item 7
    assert info.documents == 0 and "add .txt, .md, .pdf, .html or .docx files" in info.warnings[0]
    alone = fake_settings.with_overrides(index_dir=tmp_path / "index")
    searcher = Searcher.open(alone, embedder=FakeEmbedder())
    with pytest.raises(CorpusError, match=r"empty/ holds no documents.*add \.txt"):
        searcher.search("anything", 3)


def test_a_file_that_is_not_utf8_is_named_and_decoded(tmp_path: Path) -> None:
    (tmp_path / "latin.txt").write_bytes(
        "Café Report\n\nThe café served crème brûlée.\n".encode("cp1252")
    )
    with pytest.warns(QAWarning, match=r"latin\.txt is not valid UTF-8"):
        [doc] = read_corpus(tmp_path)
    assert "crème brûlée" in doc.text


def test_a_binary_file_is_skipped_by_name(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("Good\n\nReadable words.\n", encoding="utf-8")
    (tmp_path / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.warns(QAWarning, match=r"Skipped image\.txt: it looks binary"):
        docs = read_corpus(tmp_path)
    assert [d.path for d in docs] == ["good.txt"]


def test_bom_crlf_empty_files_and_hidden_folders(tmp_path: Path, fake_settings: Settings) -> None:
    (tmp_path / "bom.md").write_bytes("\ufeff# Title\r\n\r\nBody line.\r\n".encode())
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD.txt").write_text("ref: main")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "deep.txt").write_text("Deep Title\n\nDeep body.\n")
    docs = read_corpus(tmp_path)
    assert [d.path for d in docs] == ["bom.md", "empty.txt", "sub/deep.txt"]
    assert docs[0].text == "# Title\n\nBody line.\n"
    with pytest.warns(QAWarning, match=r"empty\.txt is empty"):
        info = build(tmp_path, tmp_path.parent / "index", fake_settings)
    assert info.documents == 3 and info.chunks == 2


def test_a_document_without_headings_is_one_section(
    tmp_path: Path, fake_settings: Settings
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "field-notes.txt").write_text(
        "we walked along the river and counted birds.\n\nthen it rained, so we went home.\n"
    )
    build(corpus, tmp_path / "index", fake_settings)
    searcher = fake_searcher(tmp_path / "index")
    [section] = searcher.index.sections
    assert section.title == "field-notes" and section.start_line == 1


def test_sections_with_the_same_title_keep_distinct_citations(
    tmp_path: Path, fake_settings: Settings
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "faq.md").write_text(
        "# Product A\n\n## Pricing\n\nProduct A costs ten euros.\n\n"
        "# Product B\n\n## Pricing\n\nProduct B costs twenty euros.\n"
    )
    build(corpus, tmp_path / "index", fake_settings)
    searcher = fake_searcher(tmp_path / "index")
    citations = [p.citation for p in searcher.search('"costs"', 5)]
    assert sorted(citations) == [
        "faq.md › Product A › Pricing, line 5",
        "faq.md › Product B › Pricing, line 11",
    ]
    again = fake_searcher(tmp_path / "index")
    assert [p.citation for p in again.search('"costs"', 5)] == [
        p.citation for p in searcher.search('"costs"', 5)
    ]


def test_an_index_folder_that_cannot_be_written(
    seed_corpus: Path, tmp_path: Path, fake_settings: Settings
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(QAError, match=r"Cannot write to .*--index"):
        build(seed_corpus, blocker / "index", fake_settings)


def test_a_second_build_at_once_is_refused_clearly(
    seed_corpus: Path, tmp_path: Path, fake_settings: Settings
) -> None:
    index = tmp_path / "index"
    build(seed_corpus, index, fake_settings)
    with build_lock(index), pytest.raises(BuildLockedError, match=r"Another build .* is running"):
        build(seed_corpus, index, fake_settings)
    assert load_index(fake_settings.with_overrides(index_dir=index)).chunks  # untouched


def test_a_truncated_index_is_reported_by_the_cli(
    seed_corpus: Path, tmp_path: Path, fake_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    index = tmp_path / "index"
    build(seed_corpus, index, fake_settings)
    [folder] = index.glob("build-*")
    vectors = folder / "vectors.faiss"
    vectors.write_bytes(vectors.read_bytes()[:100])
    with pytest.raises(QAError, match=r"damaged \(vectors.faiss has 100 bytes.*qa build"):
        load_index(fake_settings.with_overrides(index_dir=index))
    (folder / "manifest.json").write_text("{not json")
    code = main(
        ["eval", str(Path(__file__).parent / "data" / "dev_questions.jsonl"), "--index", str(index)]
    )
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("qa: error:") and "qa build" in err


def test_a_damaged_index_is_rebuilt_by_ask(
    seed_corpus: Path,
    tmp_path: Path,
    fake_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import sys

    index = tmp_path / "index"
    build(seed_corpus, index, fake_settings)
    [folder] = index.glob("build-*")
    (folder / "chunks.jsonl").write_text("garbage\n")
    # `qa.rank.search` names the function; the module is reached through sys.modules.
    for module in ("qa.model.embedding", "qa.rank.search"):
        monkeypatch.setattr(
            sys.modules[module], "load_embedder", lambda name, precision="fp32": FakeEmbedder()
        )
    monkeypatch.setenv("QA_MODEL", FakeEmbedder.name)
    code = main(
        ["ask", '"patrols"', "-k", "1", "--corpus", str(seed_corpus), "--index", str(index)]
    )
    captured = capsys.readouterr()
    assert code == 0 and "damaged (chunks.jsonl has 8 bytes" in captured.err
    assert "building it now" in captured.err
    assert "Protection of Civilians" in captured.out


def test_a_build_reports_the_documents_it_skipped_or_guessed(
    seed_corpus: Path, tmp_path: Path, fake_settings: Settings
) -> None:
    (seed_corpus / "scan.txt").write_bytes(b"\x00\x01binary")
    (seed_corpus / "old.txt").write_bytes("Old Notes\n\nNa\xefve caf\xe9.\n".encode("latin-1"))
    with pytest.warns(QAWarning) as caught:
        info = build(seed_corpus, tmp_path / "index", fake_settings)
    assert len(caught) >= 2
    assert info.documents == 2
    assert any("Skipped scan.txt" in note for note in info.warnings)
    assert any("old.txt is not valid UTF-8" in note for note in info.warnings)
    # The skipped file was seen: the index is not stale for it, so nothing rebuilds again.
    assert index_status(
        fake_settings.with_overrides(corpus_dir=seed_corpus, index_dir=tmp_path / "index"),
        embedder=FakeEmbedder(),
    ).fresh


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ask", "?!"], "type a few words"),
        (["ask", "\x00\x01"], "type a few words"),
        (["ask", "civilians", "-k", "0"], "k must be"),
        (["ask", "civilians", "-k", "-3"], "k must be"),
        (["build", "--corpus", "/nonexistent/corpus"], "does not exist"),
    ],
)
def test_bad_input_on_the_command_line_is_one_clear_line(
    seed_index: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = seed_index.parent / "corpus"
    extra = [] if "--corpus" in argv else ["--corpus", str(corpus)]
    assert main([*argv, *extra, "--index", str(seed_index)]) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    "question",
    [
        "protect civilians 🕊️",
        "كيف تحمي الشراكات المدنيين؟ protect civilians",
        "protect civilians " * 6000,
    ],
)
def test_odd_questions_on_the_command_line_are_answered(
    seed_index: Path, question: str, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = seed_index.parent / "corpus"
    assert (
        main(["ask", question, "-k", "3", "--corpus", str(corpus), "--index", str(seed_index)]) == 0
    )
    assert "Protection of Civilians" in capsys.readouterr().out
