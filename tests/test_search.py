"""Retrieval with the real model: known answers, quality bars, phrases, highlights, confidence."""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from fakes import DATA, FakeEmbedder, settings_for

from qa import search
from qa.errors import QueryError
from qa.eval.evaluate import evaluate
from qa.index.build import build_index
from qa.rank.lexical import terms
from qa.rank.search import Searcher
from qa.settings import Settings
from qa.web.examples import EXAMPLES_FILE

CIVILIANS = "how do partnerships protect civilians"
EXAMPLES = (Path(__file__).parent.parent / "corpus" / EXAMPLES_FILE).read_text().splitlines()[1:]


def test_protection_of_civilians_comes_first(seed_searcher: Searcher) -> None:
    passages = seed_searcher.search(CIVILIANS, k=5)
    first = passages[0]
    assert first.section == "Protection of Civilians"
    assert first.citation.startswith(
        "peacekeeping-partnerships.txt › Protection of Civilians, line"
    )
    assert first.confident and 0.5 <= first.score <= 1
    lines = (Path(__file__).parent.parent / "corpus" / first.doc).read_text().split("\n")
    cited = " ".join(lines[first.start_line - 1 : first.end_line])
    assert " ".join(first.text.split()) in " ".join(cited.split())


def test_passages_never_repeat_text_and_spread_over_sections(seed_searcher: Searcher) -> None:
    passages = seed_searcher.search(CIVILIANS, k=8)
    assert len(passages) == 8
    spans = sorted((p.start_line, p.end_line) for p in passages)
    assert all(a[1] < b[0] for a, b in itertools.pairwise(spans)), spans
    assert len({p.section for p in passages}) >= 5


def test_development_questions_reach_the_quality_bar(held_out_seed_searcher: Searcher) -> None:
    report = evaluate(DATA / "dev_questions.jsonl", held_out_seed_searcher, k=10)
    assert report.hit_at_1 >= 0.93, report.describe()
    assert report.hit_at_3 >= 0.97, report.describe()
    assert report.mrr_at_10 >= 0.95, report.describe()
    assert report.unanswerable_flagged == report.unanswerable == 3, report.describe()


def test_paraphrased_questions_are_answered_too(held_out_seed_searcher: Searcher) -> None:
    report = evaluate(DATA / "paraphrase_questions.jsonl", held_out_seed_searcher, k=10)
    assert report.hit_at_1 >= 0.88 and report.hit_at_3 >= 0.96, report.describe()


def test_at_most_three_answerable_seed_questions_look_unanswered(
    held_out_seed_searcher: Searcher,
) -> None:
    # With the answer score fitted without the seed family (measured 3 of 57; the score
    # fitted on the seed itself left 2).
    reports = [
        evaluate(DATA / name, held_out_seed_searcher, k=10)
        for name in ("dev_questions.jsonl", "paraphrase_questions.jsonl")
    ]
    assert sum(r.answerable for r in reports) == 57
    assert sum(r.answerable_flagged for r in reports) <= 3, [r.describe() for r in reports]


def test_on_topic_questions_the_essay_does_not_answer_are_often_flagged(
    held_out_seed_searcher: Searcher,
) -> None:
    # Measured 35 of 43 with the numbers fitted without the seed family (README, "Retrieval
    # quality"); 34 with the earlier score fitted on it, 25 before the centred cosine.
    report = evaluate(DATA / "ontopic_unanswerable_questions.jsonl", held_out_seed_searcher, k=5)
    assert report.unanswerable == 43
    assert report.unanswerable_flagged >= 33, report.describe()


@pytest.mark.parametrize(
    ("question", "confident"),
    [
        ("Are there case studies of specific peacekeeping missions?", False),
        ("How many peacekeepers are deployed around the world today?", False),
        ("Why are UN peacekeepers called blue helmets?", False),
        ("How much does the UN reimburse countries for each soldier they send?", False),
        ("How do peacekeepers keep ordinary people safe?", True),
        ("What happens to ex-fighters once the war is over?", True),
    ],
)
def test_text_on_the_essays_topic_is_not_an_answer_unless_it_answers(
    held_out_seed_searcher: Searcher, question: str, confident: bool
) -> None:
    # No name the essay lacks here: the passages are on topic either way, and only the
    # answered questions find text close to what they ask beyond the essay's own topic.
    # These are questions of the seed sets, so the numbers fitted without them judge.
    passages = held_out_seed_searcher.search(question, k=5)
    assert not passages[0].unmentioned
    assert passages[0].confident is confident, [p.score for p in passages]


@pytest.mark.parametrize(
    ("question", "confident"),
    [
        ("What does NATO contribute to peacekeeping partnerships?", True),
        ("What did NATO contribute in Kosovo?", False),
        ("What do regional organizations such as the African Union focus on?", True),
        ("What did the African Union do in Darfur in 2004?", False),
    ],
)
def test_a_question_naming_what_the_essay_never_mentions_gets_no_confident_answer(
    seed_searcher: Searcher, question: str, confident: bool
) -> None:
    passages = seed_searcher.search(question, k=5)
    assert passages[0].section == "Types of Organizations Involved in Peacekeeping Partnerships"
    assert any(p.confident for p in passages) is confident, [p.score for p in passages]
    assert bool(passages[0].unmentioned) is not confident


@pytest.mark.parametrize(
    ("question", "section"),
    [
        (EXAMPLES[0], "Protection of Civilians"),
        (EXAMPLES[1], "Types of Organizations Involved in Peacekeeping Partnerships"),
        (EXAMPLES[2], "Political Will and Commitment"),
        (EXAMPLES[3], "Resource Limitations"),
        (EXAMPLES[4], "Urban vs. Rural Settings"),
    ],
)
def test_the_page_examples_get_the_right_first_passage(
    seed_searcher: Searcher, question: str, section: str
) -> None:
    first = seed_searcher.search(question, k=3)[0]
    assert first.section == section and first.confident, first.citation


def test_the_list_of_organisations_comes_with_the_passage_that_introduces_it(
    seed_searcher: Searcher,
) -> None:
    # Its chunk is next to the introduction and nearly as good; the penalty for a second
    # passage of the section used to rank it after three other passages, and it was cut.
    passages = seed_searcher.search(EXAMPLES[1], k=3)
    [types] = [p for p in passages if p.section.startswith("Types of Organizations")]
    assert "North Atlantic Treaty Organization (NATO)" in types.text, types.citation


@pytest.mark.parametrize(
    "name",
    [
        "dev_questions.jsonl",
        "paraphrase_questions.jsonl",
        "unanswerable_questions.jsonl",
        "ontopic_unanswerable_questions.jsonl",
    ],
)
def test_scores_never_rise_down_the_list(seed_searcher: Searcher, name: str) -> None:
    for row in (DATA / name).read_text(encoding="utf-8").splitlines():
        passages = seed_searcher.search(json.loads(row)["question"], k=10)
        scores = [p.score for p in passages]
        assert scores == sorted(scores, reverse=True), (row, scores)
        assert [p.confident for p in passages] == [s >= 0.5 for s in scores]


def test_questions_the_document_does_not_answer_are_flagged(
    held_out_seed_searcher: Searcher,
) -> None:
    report = evaluate(DATA / "unanswerable_questions.jsonl", held_out_seed_searcher, k=5)
    assert report.unanswerable_flagged == report.unanswerable == 20, report.describe()
    passages = held_out_seed_searcher.search("What is the capital of France?", k=5)
    assert len(passages) == 5 and not any(p.confident for p in passages)
    assert all(p.score < 0.5 for p in passages)


def test_highlights_are_the_answering_sentences(seed_searcher: Searcher) -> None:
    first = seed_searcher.search("Which organization contributes military capabilities?", 1)[0]
    assert first.section == "Types of Organizations Involved in Peacekeeping Partnerships"
    assert any("NATO contributes its military capabilities" in h.text for h in first.highlights)
    for passage in seed_searcher.search(CIVILIANS, 5):
        assert 1 <= len(passage.highlights) <= 2
        for highlight in passage.highlights:
            assert passage.text[highlight.start : highlight.end] == highlight.text


def test_a_quoted_phrase_filters_passages(seed_searcher: Searcher) -> None:
    passages = seed_searcher.search('"political will"', k=10)
    assert passages
    assert all("political will" in p.text.lower() for p in passages)
    assert len(passages) < 10 or all("political will" in p.text.lower() for p in passages)
    assert seed_searcher.search('"zeppelin fleet"', k=5) == []


@pytest.mark.parametrize("question", ["", "   ", "?!…", "\x00\x01"])
def test_a_question_without_words_is_refused(seed_searcher: Searcher, question: str) -> None:
    with pytest.raises(QueryError, match="type a few words"):
        seed_searcher.search(question)


@pytest.mark.parametrize("k", [0, -1, 2.5, True])
def test_a_bad_k_is_refused(seed_searcher: Searcher, k: object) -> None:
    with pytest.raises(QueryError, match="k must be"):
        seed_searcher.search(CIVILIANS, k)  # type: ignore[arg-type]


def test_k_larger_than_the_index_returns_every_section(seed_searcher: Searcher) -> None:
    passages = seed_searcher.search(CIVILIANS, k=1000)
    assert 18 <= len(passages) <= len(seed_searcher.chunks)
    assert len({(p.doc, p.start_line) for p in passages}) == len(passages)


def test_a_passage_can_be_read_in_its_section(seed_searcher: Searcher) -> None:
    passage = seed_searcher.search(CIVILIANS, 1)[0]
    section = seed_searcher.section_for(passage)
    assert section.title == "Protection of Civilians"
    assert section.start_line <= passage.start_line <= passage.end_line <= section.end_line
    assert " ".join(passage.text.split()) in " ".join(section.text.split())


@pytest.fixture
def fake_env(
    seed_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    """QA_ variables naming a private corpus and index, and the fake model for every load."""
    import sys

    from fakes import FakeEmbedder

    monkeypatch.setenv("QA_MODEL", FakeEmbedder.name)
    monkeypatch.setenv("QA_CORPUS_DIR", str(seed_corpus))
    monkeypatch.setenv("QA_INDEX_DIR", str(tmp_path / "index"))
    for module in ("qa.model.embedding", "qa.rank.search"):
        monkeypatch.setattr(
            sys.modules[module], "load_embedder", lambda name, precision="fp32": FakeEmbedder()
        )
    yield Settings.from_env()
    sys.modules["qa.index.owner"]._OPENED.clear()  # the package's `search` keeps its indexes


def test_search_in_a_loop_keeps_its_searcher_and_still_sees_edits(
    fake_env: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defect 3: every `qa.search()` call re-read the corpus and reloaded the index."""
    from qa.index import store
    from qa.readers import corpus

    search("how do partnerships protect civilians", 3)
    hashed: list[Path] = []
    loaded: list[Path] = []
    real_hash, real_read = corpus.file_sha256, store.read_build
    monkeypatch.setattr(corpus, "file_sha256", lambda p: hashed.append(p) or real_hash(p))
    monkeypatch.setattr(store, "read_build", lambda f: loaded.append(f) or real_read(f))
    document = fake_env.corpus_dir / "peacekeeping-partnerships.txt"
    settled = time.time() - 60  # as if saved a minute ago: its size and time can be trusted
    os.utime(document, (settled, settled))
    search("how do partnerships protect civilians", 3)  # hashes the file once more, settled
    hashed.clear()
    for _ in range(5):
        assert search("how do partnerships protect civilians", 3)
    assert hashed == [] and loaded == []  # one `stat` a file, nothing read or loaded
    document.write_text(document.read_text().replace("patrols", "zeppelin patrols"))
    assert "zeppelin" in search('"zeppelin"', 1)[0].text  # an edit is seen at once
    assert hashed == [document]
    assert len(loaded) == 2  # the old build as the build's embedding cache, the new one to answer


def test_the_library_never_prints_and_says_why_it_rebuilt_as_data(
    fake_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect 4: the library printed its reason to stderr, cut from its own error message."""
    from qa.index.build import open_index
    from qa.index.owner import Index
    from qa.index.status import IndexStatus

    seen: list[IndexStatus] = []
    index = Index.open(fake_env)
    index.refresh(before_build=seen.append)
    searcher = index.searcher()
    assert [s.state for s in seen] == ["missing"]
    [folder] = fake_env.index_dir.glob("build-*")
    (folder / "sections.jsonl").write_text("[]\n")
    opened = open_index(fake_env, rebuild=True, before_build=seen.append)
    assert seen[-1].state == "damaged"
    assert (
        seen[-1].damaged == "sections.jsonl has 3 bytes, expected " + seen[-1].damaged.split()[-1]
    )
    assert opened.built is not None and searcher.search('"patrols"', 1)
    assert search('"patrols"', 1)
    assert capsys.readouterr() == ("", "")


def test_closeness_and_highlights_match_a_chunk_by_chunk_reference(
    seed_corpus: Path, tmp_path: Path
) -> None:
    import numpy as np
    from fakes import FakeEmbedder, settings_for

    from qa.index.build import build_index
    from qa.rank.highlight import choose_highlights
    from qa.rank.lexical import terms

    settings = settings_for(seed_corpus, tmp_path / "index")
    build_index(settings, embedder=FakeEmbedder(), progress=False)
    searcher = Searcher.open(settings, embedder=FakeEmbedder())
    query = FakeEmbedder().encode(["how do patrols protect civilians"])[0]
    rows = np.array([5, 0, 17, 3, 3, len(searcher.chunks) - 1])
    offsets, vectors = searcher.index.sentence_offsets, searcher.index.sentence_vectors
    expected = [
        max(vectors[offsets[r] : offsets[r + 1]] @ query, default=-1.0) for r in rows.tolist()
    ]
    chunk_cosine, best, specific = searcher.retriever.closeness(rows, query)
    assert np.allclose(best, expected, atol=1e-6)
    assert np.allclose(chunk_cosine, searcher.index.embeddings[rows] @ query, atol=1e-6)

    def centred(v: np.ndarray, m: np.ndarray) -> float:
        a, b = v - m, query - m
        return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))

    expected_specific = []
    for r in rows.tolist():
        topic = searcher.retriever.topic(r)
        texts = [searcher.index.embeddings[r], *vectors[offsets[r] : offsets[r + 1]]]
        expected_specific.append(max(centred(v, topic) for v in texts))
    assert np.allclose(specific, expected_specific, atol=1e-5)
    question = "how do patrols protect civilians"
    compared = 0
    for passage in searcher.search(question, 5):
        row = next(
            i
            for i, c in enumerate(searcher.chunks)
            if c.doc == passage.doc and c.start_line == passage.start_line
        )
        chunk = searcher.chunks[row]
        if passage.end_line != chunk.end_line:
            continue  # a passage of several chunks: the single-chunk ones suffice here
        cosines = vectors[offsets[row] : offsets[row + 1]] @ query
        alone = choose_highlights(chunk.text, chunk.sentences, cosines.tolist(), terms(question))
        assert passage.highlights == alone
        compared += 1
    assert compared >= 2


def test_a_searcher_does_not_follow_a_build_of_another_precision(
    seed_corpus: Path, tmp_path: Path
) -> None:
    from fakes import FakeEmbedder, settings_for

    from qa.index.build import build_index

    class Int8Fake(FakeEmbedder):
        precision = "int8"

    settings = settings_for(seed_corpus, tmp_path / "index")
    build_index(settings, embedder=FakeEmbedder(), progress=False)
    searcher = Searcher.open(settings, embedder=FakeEmbedder())
    (seed_corpus / "extra.txt").write_text("Bridges need inspections.\n", encoding="utf-8")
    build_index(settings.with_overrides(precision="int8"), embedder=Int8Fake(), progress=False)
    # Its questions would be encoded at the old precision: `Searcher.open` must decide.
    assert searcher.latest() is searcher
    build_index(settings, embedder=FakeEmbedder(), progress=False)
    assert searcher.latest() is not searcher


def test_a_chunks_window_holds_its_neighbours_words_but_not_another_sections(
    tmp_path: Path,
) -> None:
    # Coverage by the chunk and its neighbours in its section, not by the whole section: a
    # long section holds the words of almost any question on its topic, chunks apart.
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    paragraphs = [
        "Heat the oven well before the loaf goes in, and keep the door shut.",
        "Shape the dough into a tight dome so that it rises upwards in the pot.",
        "Feed the starter every day with flour and water in equal weights.",
        "Stir what you discard into pancake batter rather than wasting it.",
    ]
    flat = "A loaf that spreads sideways was left to rise for too long."
    text = "# Bread\n\n## Baking\n\n" + "\n\n".join(paragraphs) + f"\n\n## Flat Loaves\n\n{flat}\n"
    (corpus / "bread.md").write_text(text, encoding="utf-8")
    settings = settings_for(corpus, tmp_path / "index", max_tokens=30, min_chunk_tokens=1)
    build_index(settings, embedder=FakeEmbedder(), progress=False)
    searcher = Searcher.open(settings, embedder=FakeEmbedder())
    rows = {chunk.text.split()[0]: row for row, chunk in enumerate(searcher.chunks)}
    assert len(rows) == 5, [chunk.text for chunk in searcher.chunks]  # a chunk a paragraph
    asked = terms("oven dome pancake")
    covered = searcher.retriever.window_coverage(asked, np.array(list(rows.values())))
    window = dict(zip(rows, covered, strict=True))
    # Each word is as rare as the others: a third of the question each.
    assert window["Heat"] == pytest.approx(2 / 3, abs=1e-3)  # oven, and dome next to it
    assert window["Shape"] == pytest.approx(2 / 3, abs=1e-3)  # dome, and oven before it
    assert window["Feed"] == pytest.approx(2 / 3, abs=1e-3)  # dome before, pancake after
    assert window["Stir"] == pytest.approx(1 / 3, abs=1e-3)  # pancake; the next is elsewhere
    assert window["A"] == 0.0  # its neighbour above is of another section


def test_late_interaction_for_the_best_few_ranks_as_late_interaction_for_all(
    seed_searcher: Searcher,
) -> None:
    """Late interaction is weighed for the best `late_depth` candidates only (the costliest
    evidence of a query): every seed question gets the first passage and score of weighing
    it for every candidate, and all but a few get the same five passages and scores."""
    everything = Searcher(
        seed_searcher.index,
        embedder=seed_searcher.embedder,
        ranking=replace(seed_searcher.ranking, late_depth=10_000),
    )
    assert seed_searcher.ranking.late_depth <= 40
    questions = [
        json.loads(line)["question"]
        for path in sorted(DATA.glob("*questions.jsonl"))
        if "multidoc" not in path.name
        for line in path.read_text().splitlines()
    ]
    differ = []
    for question in questions:
        few, every = seed_searcher.search(question, k=5), everything.search(question, k=5)
        shown = [[(p.citation, round(p.score, 2)) for p in found] for found in (few, every)]
        assert shown[0][:1] == shown[1][:1], question
        differ += [question] if shown[0] != shown[1] else []
    assert len(questions) > 100 and len(differ) <= 0.02 * len(questions), differ
