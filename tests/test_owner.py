"""`Index` (`qa/index/owner.py`): one owner of an index from build to search, and every way of
building one (the CLI, the Python API, the page's startup and Rebuild button, the watcher)
making the same bytes."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from fakes import SEED, FakeEmbedder, fake_build, settings_for

from qa.cli import main
from qa.errors import IndexMismatchError
from qa.index import Index
from qa.index.build import build_index
from qa.index.folder import current_folder
from qa.index.watch import CorpusWatcher
from qa.model.embedding import Vectors
from qa.settings import Settings

ALPHA = "# Alpha\n\n" + "\n\n".join(
    f"## Part {i}\n\nAlpha part {i} says that bees make honey {i} times a year." for i in range(20)
)
BETA = "# Beta\n\n" + "\n\n".join(
    f"## Step {i}\n\nBeta step {i}: partners protect civilians with {i} patrols." for i in range(20)
)


def build_folder(index: Path) -> dict[str, Any]:
    """The live build's files by name: the bytes of each, and the manifest without its time."""
    found: dict[str, Any] = {}
    for path in sorted(current_folder(index).iterdir()):
        found[path.name] = path.read_bytes()
        if path.name == "manifest.json":
            found[path.name] = json.loads(found[path.name])
            del found[path.name]["built_at"]
    return found


def caught_up(watcher: CorpusWatcher, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not (watcher.wait_until_idle(1) and watcher.index.status().fresh):
        assert time.monotonic() < deadline, "the watcher did not catch up"
    time.sleep(0.5)  # a change still settling would make it busy again
    assert watcher.wait_until_idle(seconds)


def build_every_way(tmp_path: Path, settings_of: Callable[[Path, Path], Settings]) -> Iterator[str]:
    """The corpus of ALPHA built by every path, then again by each once BETA is added; yields
    each path's name as it starts it (the watcher's works in its own thread throughout)."""
    from qa.web.app import Handlers
    from qa.web.serve import prepare

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "alpha.md").write_text(ALPHA)
    settings = {name: settings_of(corpus, tmp_path / name) for name in PATHS}
    watcher = Index.open(settings["watcher"]).watch(settle_ms=100).start()
    page: Handlers | None = None
    try:
        for step in ("first build", "after a document is added"):
            if step != "first build":
                (corpus / "beta.md").write_text(BETA)
            yield "cli"
            assert main(["build", *folders(settings["cli"])]) == 0
            yield "build_index"
            build_index(settings["build_index"], progress=False)
            yield "Index.build"
            Index.open(settings["Index.build"]).build()
            yield "page"
            if page is None:  # the page's startup build, then its Rebuild button
                page = Handlers(Index.open(settings["page"]))
                prepare(page.index)
            else:
                assert "Added beta.md" in list(page.rebuild())[-1][0]
            caught_up(watcher)
    finally:
        watcher.stop()


PATHS = ("cli", "build_index", "Index.build", "page", "watcher")


def folders(settings: Settings) -> list[str]:
    return ["--corpus", str(settings.corpus_dir), "--index", str(settings.index_dir)]


def nothing_to_embed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> bool:
    """Whether `qa build` over each path's index finds every chunk's vectors there to reuse."""
    capsys.readouterr()
    for name in PATHS:
        assert (
            main(["build", "--corpus", str(tmp_path / "corpus"), "--index", str(tmp_path / name)])
            == 0
        )
    return capsys.readouterr().out.count("(0 embedded, 40 reused)") == len(PATHS)


def differences(tmp_path: Path) -> list[str]:
    """How each path's index differs from the one `qa build` made."""
    built = {name: build_folder(tmp_path / name) for name in PATHS}
    found = []
    for name in PATHS[1:]:
        for file in sorted(set(built[name]) | set(built["cli"])):
            if built[name].get(file) != built["cli"].get(file):
                found.append(f"{name}: {file} differs from `qa build`'s")
    return found


def test_every_path_builds_the_same_index_with_the_fake_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 25: the page's builds went through a wrapper that gave the model other batches
    (32 texts at a time) and hid what it could do; an int8 model's vectors then differ."""
    calls: dict[str, list[int]] = {name: [] for name in PATHS}
    path = [""]  # the path now building in this thread, told by `build_every_way`

    def load(name: str, precision: str = "fp32") -> FakeEmbedder:
        model = FakeEmbedder()
        watching = threading.current_thread().name == "qa-watch"
        model.calls = calls["watcher" if watching else path[0]]  # texts per call, per path
        return model

    monkeypatch.setattr("qa.model.embedding.load_embedder", load)
    monkeypatch.setattr("qa.rank.search.load_embedder", load)
    monkeypatch.setenv("QA_MODEL", FakeEmbedder.name)  # for `qa build`
    for name in build_every_way(tmp_path, lambda c, i: settings_for(c, i)):
        path[0] = name
    assert differences(tmp_path) == []
    assert build_folder(tmp_path / "cli")["manifest.json"]["changes"]["added"] == ["beta.md"]
    # The model was given the same texts in the same calls on every path.
    assert all(calls[name] == calls["cli"] for name in PATHS), calls
    assert nothing_to_embed(tmp_path, capsys)  # `qa build` afterwards reuses every vector


@pytest.mark.model
@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_every_path_builds_the_same_index_with_the_real_model(
    tmp_path: Path,
    precision: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("QA_PRECISION", precision)  # for `qa build`

    def settings_of(corpus: Path, index: Path) -> Settings:
        return Settings(corpus_dir=corpus, index_dir=index, precision=precision)

    for _ in build_every_way(tmp_path, settings_of):
        pass
    assert differences(tmp_path) == []
    manifest = build_folder(tmp_path / "cli")["manifest.json"]
    assert manifest["encoder"]["precision"] == precision
    assert manifest["encoder"]["token_vectors"] != "none"  # late interaction on every path
    assert nothing_to_embed(tmp_path, capsys)


class Tokens(FakeEmbedder):
    """The fake model, also giving each text's token vectors (each word's own), as the real
    model does."""

    def encode_tokens(self, texts: Sequence[str], **options: Any) -> tuple[Vectors, list[Any]]:
        keep = options.get("keep") or (lambda found: found)
        return self.encode(texts), [keep(FakeEmbedder().encode(text.split())) for text in texts]


class WithoutTokens:
    """That model with its token vectors hidden, as the page's wrapper once hid them."""

    name, dimension, max_tokens = Tokens.name, Tokens.dimension, Tokens.max_tokens

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        return Tokens().encode(texts)

    def count_tokens(self, text: str) -> int:
        return Tokens().count_tokens(text)


def test_an_index_whose_vectors_the_model_now_makes_otherwise_is_stale(
    seed_corpus: Path, tmp_path: Path
) -> None:
    """Issue 25: the check compared what the settings asked for, not what made the vectors, so
    an index built without the model's token vectors was "up to date" and stayed so."""
    settings = settings_for(seed_corpus, tmp_path / "index")
    Index.open(settings, embedder=WithoutTokens()).build()  # type: ignore[arg-type]
    index = Index.open(settings, embedder=Tokens())
    status = index.status()
    assert status.state == "stale" and status.mismatches == (
        "it keeps no token vectors, which the model gives: run `qa build`",
    )
    assert index.searcher().search('"patrols"', 1)  # a stale index still answers
    reasons: list[str] = []
    opened = index.refresh(before_build=lambda found: reasons.append(found.describe()))
    assert "keeps no token vectors" in reasons[0] and opened.built is not None
    assert opened.index is not None and opened.index.tokens is not None
    assert index.status().fresh and index.refresh().built is None

    class Int8(Tokens):
        precision = "int8"

    other = Index.open(settings.with_overrides(precision="int8"), embedder=Int8()).status()
    assert other.state == "stale" and "'precision': 'int8'" in other.describe()


def test_refresh_builds_only_when_the_corpus_changed(seed_corpus: Path, tmp_path: Path) -> None:
    index = Index.open(settings_for(seed_corpus, tmp_path / "index"), embedder=FakeEmbedder())
    assert index.status().state == "missing"
    assert index.refresh().built is not None
    assert index.refresh().built is None  # fresh: nothing built
    searcher = index.searcher()
    (seed_corpus / "depot.md").write_text("# Depot\n\nSeventeen striped zebras guard the depot.\n")
    assert index.status().added == ("depot.md",)
    built = index.refresh().built
    assert built is not None and built.added == ("depot.md",) and built.chunks_embedded == 1
    assert index.searcher() is not searcher  # the new build answers
    assert index.searcher().search('"striped zebras"', 1)[0].doc == "depot.md"


def test_the_searcher_follows_a_build_another_process_swaps_in(
    seed_corpus: Path, tmp_path: Path
) -> None:
    index = Index.open(settings_for(seed_corpus, tmp_path / "index"), embedder=FakeEmbedder())
    index.refresh()
    assert index.searcher().search('"zebras"', 1) == []
    (seed_corpus / "depot.md").write_text("# Depot\n\nSeventeen striped zebras guard the depot.\n")
    fake_build(seed_corpus, tmp_path / "index")  # as `qa build` elsewhere does
    assert index.searcher().search('"zebras"', 1)[0].doc == "depot.md"


def test_an_index_of_another_corpus_may_only_be_built(seed_corpus: Path, tmp_path: Path) -> None:
    bees = tmp_path / "bees"
    bees.mkdir()
    (bees / "bees.md").write_text("# Bees\n\nBees make honey in their hives.\n")
    fake_build(bees, tmp_path / "index")
    alone = Index.open(Settings(index_dir=tmp_path / "index", model=FakeEmbedder.name))
    assert alone.settings.corpus_dir == bees  # an index folder given alone keeps its corpus
    other = Index.open(settings_for(seed_corpus, tmp_path / "index"), embedder=FakeEmbedder())
    for refused in (other.status, other.load, other.searcher, other.refresh, other.watch):
        with pytest.raises(IndexMismatchError, match=f"is the index of {bees}/"):
            refused()
    assert other.build().added == ("peacekeeping-partnerships.txt",)  # `qa build` given both
    assert other.status().fresh


def test_a_build_tells_its_progress_and_keeps_the_models_token_vectors(tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    shutil.copy(SEED, tmp_path / "corpus")
    told: list[tuple[int, int]] = []
    settings = settings_for(tmp_path / "corpus", tmp_path / "index")
    index = Index.open(settings, embedder=Tokens())
    index.build(progress=lambda done, total: told.append((done, total)))
    assert index.load().tokens is not None  # the model's token vectors were kept
    assert told[-1][0] == told[-1][1] > 0 and len(told) > 10  # text by text, to the end
