"""The Milvus back end (`qa.index.milvus`), against a real Milvus started by the tests
(`milvus_server`): the same first passages as FAISS, filters by document, a rebuild while a
client asks, old collections dropped, and a Milvus that is down."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import milvus_server as milvus_server_module
import pytest
from fakes import ROOT, FakeEmbedder, settings_for
from milvus_server import free_port, milvus_server

from qa.cli import main
from qa.errors import QAError
from qa.index.folder import current_folder
from qa.index.milvus import client, collection_name, collection_of
from qa.index.milvus_build import live_collection
from qa.index.owner import Index
from qa.rank import retrieval
from qa.rank.search import Searcher
from qa.settings import Settings


@pytest.fixture(scope="module")
def milvus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One Milvus server for this file's tests; its URI."""
    with milvus_server(tmp_path_factory.mktemp("milvus")) as uri:
        yield uri


def _corpus(folder: Path, documents: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in documents.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


DOCUMENTS = {
    "rivers.md": "# Rivers\n\nThe Danube flows through ten countries before the Black Sea.\n\n"
    "## Floods\n\nSpring floods on the Danube are measured at Vienna every year.\n",
    "birds.md": "# Birds\n\nSwallows migrate to Africa each autumn and return in April.\n\n"
    "## Nests\n\nA swallow builds its nest of mud under the roof of a barn.\n",
    "bread.md": "# Bread\n\nSourdough rises slowly: wild yeast is weaker than baker's yeast.\n",
}


def _milvus_index(tmp_path: Path, uri: str, documents: dict[str, str] = DOCUMENTS) -> Index:
    corpus = _corpus(tmp_path / "corpus", documents)
    settings = settings_for(corpus, tmp_path / "index", backend="milvus", milvus_uri=uri)
    index = Index.open(settings, embedder=FakeEmbedder())
    index.build()
    return index


def test_a_build_is_served_from_its_own_collection(tmp_path: Path, milvus: str) -> None:
    index = _milvus_index(tmp_path, milvus)
    live = current_folder(index.settings.index_dir)
    served = collection_of(live)
    assert served is not None and served.uri == milvus
    assert served.collection == collection_name(index.settings.index_dir, live)
    assert live_collection(index.settings) == served.collection  # the pointer row names it
    stored = client(milvus).query(served.collection, filter="row >= 0", output_fields=["doc"])
    assert sorted({row["doc"] for row in stored}) == sorted(DOCUMENTS)
    passages = index.searcher().search("where do swallows build their nests", 3)
    assert passages[0].doc == "birds.md" and "mud" in passages[0].text


def test_asking_some_documents_filters_in_milvus(tmp_path: Path, milvus: str) -> None:
    index = _milvus_index(tmp_path, milvus)
    searcher = index.searcher()
    # The best chunk overall is in rivers.md; asked of birds.md only, its best comes back.
    question = "danube floods measured at vienna"
    assert searcher.search(question, 3)[0].doc == "rivers.md"
    within = searcher.search(question, 3, documents=["birds.md"])
    assert within and {p.doc for p in within} == {"birds.md"}
    # The retriever asks Milvus for birds.md's rows only: nothing else comes back from it.
    found = searcher.retriever.candidates(question, 3, documents=["birds.md"])
    assert found is not None
    assert {searcher.chunks[row].doc for row in found.rows} == {"birds.md"}


def test_a_rebuild_while_a_client_asks_never_shows_a_half_index(
    tmp_path: Path, milvus: str
) -> None:
    index = _milvus_index(tmp_path, milvus)
    question = "where do swallows build their nests"
    versions = {"mud", "straw"}
    seen: list[str] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def ask() -> None:
        while not stop.is_set():
            try:
                passages = index.searcher().search(question, 3)
                top = passages[0].text if passages else ""
                seen.append(next((word for word in versions if word in top), top))
            except BaseException as error:  # any error at all is what this test looks for
                errors.append(error)
                return

    client_thread = threading.Thread(target=ask)
    client_thread.start()
    try:
        for rebuild in range(4):
            material = "straw" if rebuild % 2 == 0 else "mud"
            text = DOCUMENTS["birds.md"].replace("of mud", f"of {material}")
            (index.settings.corpus_dir / "birds.md").write_text(text, encoding="utf-8")
            index.build()
    finally:
        stop.set()
        client_thread.join(timeout=60)
    assert not errors, errors
    assert seen and set(seen) <= versions, set(seen) - versions  # old or new, never empty
    # Builds older than the previous one are gone, folders and collections alike.
    folders = sorted(index.settings.index_dir.glob("build-*"))
    assert len(folders) == 2
    prefix = collection_name(index.settings.index_dir, folders[0])[:14]
    kept = {name for name in client(milvus).list_collections() if name.startswith(prefix)}
    assert kept == {collection_name(index.settings.index_dir, f) for f in folders}


def test_qa_build_backend_milvus_then_qa_ask(
    tmp_path: Path, milvus: str, fake_cli: None, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = _corpus(tmp_path / "corpus", DOCUMENTS)
    index = tmp_path / "index"
    folders = ["--corpus", str(corpus), "--index", str(index)]
    assert main(["build", *folders, "--backend", "milvus", "--uri", milvus]) == 0
    served = collection_of(current_folder(index))
    assert served is not None and served.uri == milvus
    capsys.readouterr()
    assert main(["ask", "--json", "where do swallows build their nests", *folders]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer[0]["doc"] == "birds.md" and "mud" in answer[0]["text"]


def test_a_rebuild_without_a_backend_chosen_stays_on_milvus(
    tmp_path: Path, milvus: str, fake_cli: None, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = _corpus(tmp_path / "corpus", DOCUMENTS)
    index = tmp_path / "index"
    folders = ["--corpus", str(corpus), "--index", str(index)]
    assert main(["build", *folders, "--backend", "milvus", "--uri", milvus]) == 0
    (corpus / "bread.md").write_text("# Bread\n\nRye bread keeps for a week.\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["ask", "--json", "how long does rye bread keep", *folders]) == 0  # rebuilds
    assert "Rye bread" in json.loads(capsys.readouterr().out)[0]["text"]
    served = collection_of(current_folder(index))
    assert served is not None and served.uri == milvus  # not a FAISS build now
    assert Settings.from_env({"QA_BACKEND": "faiss"}).backend_given  # a chosen faiss is chosen
    assert not Settings().backend_given


def test_milvus_down_is_one_clear_error(
    tmp_path: Path, fake_cli: None, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = _corpus(tmp_path / "corpus", DOCUMENTS)
    uri = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    index = tmp_path / "index"
    args = ["build", "--corpus", str(corpus), "--index", str(index)]
    assert main([*args, "--backend", "milvus", "--uri", uri]) != 0
    said = capsys.readouterr().err
    assert said.count("\n") == 1  # one line
    assert f"Cannot reach Milvus at {uri} (QA_MILVUS_URI" in said
    assert "start Milvus there" in said and "Traceback" not in said
    assert not (index / "CURRENT").exists()  # nothing half-built was swapped in


def test_a_milvus_build_asked_while_milvus_is_down_says_so(tmp_path: Path) -> None:
    with milvus_server(tmp_path) as uri:
        index = _milvus_index(tmp_path, uri)
        searcher = index.searcher()
        assert searcher.search("sourdough yeast", 1)
    with pytest.raises(QAError, match=r"Cannot reach Milvus at .* \(QA_MILVUS_URI"):
        searcher.search("sourdough yeast", 1)


def test_a_collection_dropped_by_hand_is_named_with_the_fix(tmp_path: Path, milvus: str) -> None:
    index = _milvus_index(tmp_path, milvus)
    searcher = index.searcher()
    served = collection_of(current_folder(index.settings.index_dir))
    assert served is not None
    client(milvus).drop_collection(served.collection)
    # pymilvus prints its log (with a traceback) to stderr itself: what would reach it here.
    logged: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = logged.append  # type: ignore[method-assign]
    logging.getLogger("pymilvus").addHandler(handler)
    try:
        with pytest.raises(QAError, match=f"collection {served.collection} of this build is gone"):
            searcher.search("sourdough yeast", 1)
    finally:
        logging.getLogger("pymilvus").removeHandler(handler)
    assert [r.getMessage()[:80] for r in logged if r.levelno >= logging.ERROR] == []
    index.build()  # the fix it names: a build that fills a new collection
    assert index.searcher().search("sourdough yeast", 1)[0].doc == "bread.md"


GERMAN = {
    "vertrag.md": "# Der Vertrag\n\nIm Jahr 2004 dauerte jede Verhandlung drei Wochen. Sie fand in "
    "Bonn statt, und am Ende stand ein Abkommen mit allen Nachbarn.\n",
    "fluss.md": "# Der Rhein\n\nDer Rhein fließt durch die Schweiz, durch Deutschland und durch "
    "die Niederlande, bevor er in die Nordsee mündet.\n",
    "brot.md": "# Das Brot\n\nSauerteig geht langsam auf, weil die wilde Hefe schwächer ist als "
    "die Hefe des Bäckers, und das Brot bleibt lange frisch.\n",
}


def _bm25_hits(uri: str, collection: str, question: str) -> list[int]:
    """The rows Milvus's BM25 alone finds for `question` (the keyword half of the hybrid search)."""
    found = client(uri).search(
        collection,
        [question],
        anns_field="sparse",
        search_params={"metric_type": "BM25"},
        limit=10,
        output_fields=["row"],
    )
    return [int(hit["entity"]["row"]) for hit in found[0]]


def test_milvus_keyword_search_stems_the_documents_language(tmp_path: Path, milvus: str) -> None:
    index = _milvus_index(tmp_path / "de", milvus, GERMAN)
    served = collection_of(current_folder(index.settings.index_dir))
    assert served is not None
    chunks = index.searcher().chunks
    # Asked in other forms than the text's ("dauerten", "Verhandlungen"; it has "dauerte",
    # "Verhandlung"): only a German stemmer finds it; "die" and "wie" are stop words.
    hits = _bm25_hits(milvus, served.collection, "Wie lange dauerten die Verhandlungen?")
    assert hits and chunks[hits[0]].doc == "vertrag.md"
    # An English corpus keeps Milvus's English analyzer ("measured", "floods" in the text).
    english = _milvus_index(tmp_path / "en", milvus)
    served = collection_of(current_folder(english.settings.index_dir))
    assert served is not None
    chunks = english.searcher().chunks
    hits = _bm25_hits(milvus, served.collection, "measuring flooding")
    assert hits and chunks[hits[0]].doc == "rivers.md"


# Without qa's keepalive options, milvus-lite ends an idle client's connection after 140 s.
IDLE_SECONDS = 160
IDLE_CLIENT = """import sys, time
from qa.index.milvus import client
milvus = client(sys.argv[1])
milvus.list_collections()
time.sleep(float(sys.argv[2]))  # as `qa serve` between two questions
milvus.list_collections()
"""


def test_a_client_idle_between_requests_prints_no_grpc_goaway(milvus: str) -> None:
    # A process of its own, as a user's: gRPC logs to its stderr, from its own connections
    # only (this one holds others, such as the one `milvus_server` checked the server with).
    done = subprocess.run(
        [sys.executable, "-c", IDLE_CLIENT, milvus, str(IDLE_SECONDS)],
        capture_output=True,
        text=True,
        timeout=IDLE_SECONDS + 60,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "too_many_pings" not in done.stderr


def test_without_pymilvus_the_extra_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pymilvus", None)  # as if not installed
    uri = f"http://127.0.0.1:{free_port()}"
    corpus = _corpus(tmp_path / "corpus", DOCUMENTS)
    settings = settings_for(corpus, tmp_path / "index", backend="milvus", milvus_uri=uri)
    with pytest.raises(QAError, match=r"needs pymilvus: run `pip install 'qa\[milvus\]'`"):
        Index.open(settings, embedder=FakeEmbedder()).build()


def test_a_missing_server_skips_here_and_fails_in_ci(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(milvus_server_module, "BINARY", tmp_path / "no-milvus")

    def outcome() -> tuple[str, str]:
        try:
            with milvus_server(tmp_path):
                return "ran", ""
        except (pytest.skip.Exception, pytest.fail.Exception) as error:
            return type(error).__name__, str(error)

    monkeypatch.delenv("CI", raising=False)
    skipped = outcome()
    assert skipped[0] == "Skipped" and "run `make milvus`" in skipped[1]
    monkeypatch.setenv("CI", "true")  # CI must run the Milvus tests, never skip them
    failed = outcome()
    assert failed[0] == "Failed" and "run `make milvus`" in failed[1]


def test_a_bad_backend_names_the_choices() -> None:
    with pytest.raises(QAError, match="QA_BACKEND='elastic' is not one of faiss, milvus"):
        Settings.from_env({"QA_BACKEND": "elastic"})
    chosen = Settings.from_env({"QA_BACKEND": "Milvus", "QA_MILVUS_URI": "http://db:19530"})
    assert (chosen.backend, chosen.milvus_uri) == ("milvus", "http://db:19530")


@pytest.mark.model
def test_seed_questions_find_the_same_first_passage_as_faiss(
    tmp_path: Path,
    milvus: str,
    seed_searcher: Searcher,
    real_embedder: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 10 candidates a retriever, not 100: the seed's 71 chunks would all be candidates on
    # both back ends, and only the second stage would be compared.
    monkeypatch.setattr(retrieval, "CANDIDATES", 10)
    shutil.copytree(ROOT / "corpus", tmp_path / "corpus")
    settings = Settings(
        corpus_dir=tmp_path / "corpus",
        index_dir=tmp_path / "index",
        backend="milvus",
        milvus_uri=milvus,
    )
    Index.open(settings, embedder=real_embedder).build()  # type: ignore[arg-type]
    on_milvus = Searcher.open(settings, embedder=real_embedder)  # type: ignore[arg-type]
    assert len(on_milvus.chunks) > 4 * retrieval.CANDIDATES
    lines = (ROOT / "tests" / "data" / "dev_questions.jsonl").read_text().splitlines()
    questions = [json.loads(line)["question"] for line in lines if line.strip()]
    same, shared = 0, 0.0
    for question in questions:
        faiss_top = seed_searcher.search(question, 1)[0]
        milvus_top = on_milvus.search(question, 1)[0]
        key = (faiss_top.doc, faiss_top.start_line, faiss_top.end_line)
        same += key == (milvus_top.doc, milvus_top.start_line, milvus_top.end_line)
        faiss_rows = seed_searcher.retriever.candidates(question, 1)
        milvus_rows = on_milvus.retriever.candidates(question, 1)
        assert faiss_rows is not None and milvus_rows is not None
        shared += len(set(faiss_rows.rows) & set(milvus_rows.rows)) / len(set(faiss_rows.rows))
    # Measured: 33 of 33 first passages the same, 99.8% of FAISS+BM25's candidates shared.
    assert same == len(questions), f"{same} of {len(questions)} first passages agree"
    assert shared / len(questions) >= 0.95
