"""Building, storing and loading the index: reference, round-trip and failure tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes import FakeEmbedder, FakePlainEmbedder, settings_for

from qa.errors import IndexMismatchError, IndexMissingError, QAError
from qa.index.build import build_index, index_status, load_index, open_index
from qa.index.folder import current_folder
from qa.index.owner import Index
from qa.rank.search import Searcher
from qa.settings import Settings


def build(corpus: Path, index: Path, fake: FakeEmbedder, settings: Settings):  # type: ignore[no-untyped-def]
    settings = settings.with_overrides(corpus_dir=corpus, index_dir=index)
    return build_index(settings, embedder=fake, progress=False)


def searcher(index: Path, fake: FakeEmbedder) -> Searcher:
    return Searcher.open(settings_for(index.parent / "corpus", index), embedder=fake)


def bees_index(tmp_path: Path) -> tuple[Path, Path]:
    """A corpus of one bees document in tmp_path/bees, built into tmp_path/bees-index."""
    bees = tmp_path / "bees"
    bees.mkdir()
    (bees / "bees.md").write_text("# Bees\n\nBees make honey in their hives.\n")
    index = tmp_path / "bees-index"
    build_index(settings_for(bees, index), embedder=FakeEmbedder(), progress=False)
    return bees, index


def test_round_trip_gives_the_same_passages(
    seed_corpus: Path, tmp_path: Path, fake: FakeEmbedder, fake_settings: Settings
) -> None:
    info = build(seed_corpus, tmp_path / "index", fake, fake_settings)
    assert (info.documents, info.sections) == (1, 18)
    assert info.chunks_embedded == info.chunks and info.chunks_reused == 0
    first = searcher(tmp_path / "index", fake)
    again = searcher(tmp_path / "index", FakeEmbedder())
    question = "how do partnerships protect civilians"
    assert first.search(question, 5) == again.search(question, 5)
    manifest = json.loads((current_folder(tmp_path / "index") / "manifest.json").read_text())
    assert manifest["model"] == {"name": "fake-hash", "dimension": 64}
    assert len(manifest["chunk_hashes"]) == info.chunks
    assert not list((tmp_path / "index").rglob("*.pkl"))


def test_an_edited_section_is_stale_then_rebuilt_incrementally(
    seed_corpus: Path, tmp_path: Path, fake: FakeEmbedder, fake_settings: Settings
) -> None:
    index = tmp_path / "index"
    first = build(seed_corpus, index, fake, fake_settings)
    assert index_status(settings_for(seed_corpus, index), embedder=fake).fresh
    document = seed_corpus / "peacekeeping-partnerships.txt"
    text = document.read_text(encoding="utf-8")
    old = "conducting patrols, establishing safe zones"
    assert old in text
    document.write_text(
        text.replace(old, "running zeppelin patrols, establishing safe zones"), encoding="utf-8"
    )
    status = index_status(settings_for(seed_corpus, index), embedder=fake)
    assert status.changed == ("peacekeeping-partnerships.txt",) and not status.fresh
    assert "peacekeeping-partnerships.txt" in status.describe()
    second = build(seed_corpus, index, fake, fake_settings)
    assert second.chunks == first.chunks
    assert second.chunks_embedded == 1 and second.chunks_reused == first.chunks - 1
    passages = searcher(index, fake).search('"zeppelin"', 1)
    assert "zeppelin" in passages[0].text
    assert passages[0].section == "Protection of Civilians"
    assert index_status(settings_for(seed_corpus, index), embedder=fake).fresh


def test_added_and_removed_documents_are_reported(
    seed_corpus: Path, tmp_path: Path, fake: FakeEmbedder, fake_settings: Settings
) -> None:
    build(seed_corpus, tmp_path / "index", fake, fake_settings)
    (seed_corpus / "new.md").write_text("# New\n\nFresh words.\n", encoding="utf-8")
    (seed_corpus / "peacekeeping-partnerships.txt").unlink()
    status = index_status(settings_for(seed_corpus, tmp_path / "index"), embedder=fake)
    assert status.added == ("new.md",)
    assert status.removed == ("peacekeeping-partnerships.txt",)


def test_a_missing_index_names_the_fix(tmp_path: Path, fake_settings: Settings) -> None:
    with pytest.raises(IndexMissingError, match="qa build"):
        searcher(tmp_path / "nowhere", FakeEmbedder())


def test_an_index_of_another_model_says_which(
    seed_corpus: Path, tmp_path: Path, fake: FakeEmbedder, fake_settings: Settings
) -> None:
    build(seed_corpus, tmp_path / "index", fake, fake_settings)
    with pytest.raises(IndexMismatchError, match=r"fake-hash.*qa build"):
        load_index(Settings(index_dir=tmp_path / "index", model="all-MiniLM-L6-v2"))
    chosen = Settings(corpus_dir=seed_corpus, index_dir=tmp_path / "index", model="other-model")
    status = index_status(chosen)
    assert not status.fresh and "fake-hash" in status.describe()


def test_a_failed_build_leaves_the_previous_index_usable(
    seed_corpus: Path,
    tmp_path: Path,
    fake: FakeEmbedder,
    fake_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    index = tmp_path / "index"
    build(seed_corpus, index, fake, fake_settings)
    before = searcher(index, fake).search("civilians", 3)
    (seed_corpus / "extra.txt").write_text("Extra\n\nMore words about civilians.\n")

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("faiss.write_index", disk_full)
    with pytest.raises(QAError, match=r"No space left on device.*previous index is unchanged"):
        build(seed_corpus, index, fake, fake_settings)
    assert len(list(index.glob("build-*"))) == 1  # the half-written folder is gone
    after = searcher(index, fake).search("civilians", 3)
    assert after == before


def test_rebuilding_keeps_at_most_two_build_folders(
    seed_corpus: Path, tmp_path: Path, fake: FakeEmbedder, fake_settings: Settings
) -> None:
    for _ in range(4):
        build(seed_corpus, tmp_path / "index", fake, fake_settings)
    assert len(list((tmp_path / "index").glob("build-*"))) == 2
    assert (tmp_path / "index" / "CURRENT").read_text().strip().startswith("build-")


def test_chunks_and_sentences_are_embedded_once_and_reused(
    seed_corpus: Path, tmp_path: Path, fake: FakeEmbedder, fake_settings: Settings
) -> None:
    build(seed_corpus, tmp_path / "index", fake, fake_settings)
    first_call = sum(fake.calls)
    fake.calls.clear()
    info = build(seed_corpus, tmp_path / "index", fake, fake_settings)
    assert info.chunks_embedded == 0 and info.chunks_reused == info.chunks
    assert sum(fake.calls) == 0 < first_call


def test_every_default_is_the_environment(
    seed_corpus: Path, tmp_path: Path, fake: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defect 2: with QA_MODEL set, a build used it but index_status() asked for the default."""
    monkeypatch.setenv("QA_MODEL", FakeEmbedder.name)
    monkeypatch.setenv("QA_CORPUS_DIR", str(seed_corpus))
    monkeypatch.setenv("QA_INDEX_DIR", str(tmp_path / "index"))
    build_index(embedder=fake, progress=False)
    status = index_status(embedder=fake)
    assert status.fresh, status.describe()
    assert load_index().manifest.model == FakeEmbedder.name
    assert Searcher.open(embedder=fake).search('"patrols"', 1)


def test_no_public_function_takes_folders_beside_settings() -> None:
    """One rule: a function takes a Settings or folders, never both."""
    import inspect

    import qa

    for name in qa.__all__:
        value = getattr(qa, name)
        for function in (value, getattr(value, "__init__", None), getattr(value, "open", None)):
            if not callable(function):
                continue
            try:
                parameters = set(inspect.signature(function).parameters)
            except (TypeError, ValueError):
                continue
            if "settings" in parameters:
                assert not {"corpus_dir", "index_dir"} & parameters, name


def test_open_index_says_how_the_index_compares_as_data(
    seed_corpus: Path, tmp_path: Path, fake: FakeEmbedder
) -> None:
    from qa.index.build import open_index

    settings = settings_for(seed_corpus, tmp_path / "index")
    missing = open_index(settings, embedder=fake)
    assert missing.status.state == "missing" and missing.index is None
    built = open_index(settings, rebuild=True, embedder=fake)
    assert built.status.state == "missing" and built.index is not None
    assert built.built is not None and built.built.added == ("peacekeeping-partnerships.txt",)
    assert open_index(settings, embedder=fake).status.state == "fresh"
    (seed_corpus / "new.md").write_text("# New\n\nFresh words.\n")
    stale = open_index(settings, embedder=fake)
    assert stale.status.state == "stale" and stale.status.added == ("new.md",)
    assert stale.index is not None  # a stale index still answers until it is rebuilt
    [folder] = (tmp_path / "index").glob("build-*")
    (folder / "chunks.jsonl").write_text("garbage\n")
    damaged = open_index(settings, embedder=fake)
    assert damaged.status.state == "damaged" and damaged.index is None
    assert damaged.status.damaged.startswith("chunks.jsonl has 8 bytes")
    rebuilt = open_index(settings, rebuild=True, embedder=fake)
    assert rebuilt.index is not None and rebuilt.built is not None
    assert open_index(settings, embedder=fake).status.fresh


def test_a_searcher_switches_to_a_newer_build_between_questions(
    seed_corpus: Path, tmp_path: Path, fake: FakeEmbedder
) -> None:
    index = tmp_path / "index"
    build(seed_corpus, index, fake, settings_for(seed_corpus, index))
    held = searcher(index, fake)
    assert held.search('"zeppelin"', 1) == []
    document = seed_corpus / "peacekeeping-partnerships.txt"
    document.write_text(document.read_text().replace("patrols", "zeppelin patrols"))
    build(seed_corpus, index, fake, settings_for(seed_corpus, index))
    assert "zeppelin" in held.search('"zeppelin"', 1)[0].text
    assert held.latest().index.folder == current_folder(index)


def test_the_manifest_records_how_the_vectors_were_made(
    seed_corpus: Path, tmp_path: Path, fake: FakeEmbedder, fake_settings: Settings
) -> None:
    build(seed_corpus, tmp_path / "index", fake, fake_settings)
    manifest = json.loads((current_folder(tmp_path / "index") / "manifest.json").read_text())
    assert manifest["encoding"] == {"precision": "fp32"}
    assert manifest["encoder"] == {
        "precision": "fp32",
        "token_vectors": "int8x64",  # the fake model's 64-d token vectors, compressed
    }
    # A model without token vectors says so, and its index is up to date.
    plain = settings_for(seed_corpus, tmp_path / "plain")
    build_index(plain, embedder=FakePlainEmbedder(), progress=False)
    loaded = load_index(plain)
    assert loaded.manifest.encoder == {"precision": "fp32", "token_vectors": "none"}
    assert index_status(plain, embedder=FakePlainEmbedder()).fresh


def test_an_index_built_while_sentences_could_be_pooled_is_stale_only_if_they_were(
    seed_corpus: Path, tmp_path: Path, fake: FakeEmbedder
) -> None:
    """Builds recorded `"sentence_vectors": "separate"` (or "pooled") until the pooled variant
    was removed. Separate runs are how every build makes sentence vectors now: such an index
    is up to date, not rebuilt, and its vectors are reused; a pooled one is stale, and says why."""
    settings = settings_for(seed_corpus, tmp_path / "index")

    def recorded_as(how: str) -> Path:
        """The live build, its manifest rewritten as such a build recorded it."""
        folder = current_folder(tmp_path / "index")
        built = json.loads((folder / "manifest.json").read_text())
        for key in ("encoding", "encoder"):
            built[key]["sentence_vectors"] = how
        (folder / "manifest.json").write_text(json.dumps(built, indent=1) + "\n")
        return folder

    Index.open(settings, embedder=fake).build()
    separate = recorded_as("separate")
    index = Index.open(settings, embedder=fake)
    assert index.status().fresh, index.status().describe()
    assert index.refresh().built is None and current_folder(tmp_path / "index") == separate
    assert index.searcher().search('"patrols"', 1)
    assert index.build().chunks_embedded == 0  # every vector reused
    assert "sentence_vectors" not in load_index(settings).manifest.encoder

    recorded_as("pooled")
    index = Index.open(settings, embedder=fake)
    status = index.status()
    assert status.state == "stale" and status.mismatches == (
        "its sentence vectors were pooled from their chunks' model runs, which qa no longer "
        "does (each sentence is run through the model on its own): run `qa build`",
    )
    rebuilt = index.refresh().built
    assert rebuilt is not None and rebuilt.chunks_embedded == rebuilt.chunks  # none reused
    assert index.status().fresh


def test_asking_for_other_vectors_makes_the_index_stale(
    seed_corpus: Path, tmp_path: Path, fake: FakeEmbedder, fake_settings: Settings
) -> None:
    build(seed_corpus, tmp_path / "index", fake, fake_settings)
    other = settings_for(seed_corpus, tmp_path / "index", precision="int8")

    class Int8(FakeEmbedder):
        precision = "int8"

    status = index_status(other, embedder=Int8())
    assert status.state == "stale"
    assert "precision': 'int8'" in status.describe() and "run `qa build`" in status.describe()
    # A stale index still answers, as one whose files changed does, until it is rebuilt.
    assert load_index(other).manifest.encoder["precision"] == "fp32"


def test_an_index_of_the_previous_format_is_rebuilt_cleanly(
    seed_corpus: Path, tmp_path: Path, fake: FakeEmbedder, fake_settings: Settings
) -> None:
    build(seed_corpus, tmp_path / "index", fake, fake_settings)
    settings = settings_for(seed_corpus, tmp_path / "index")
    question = "how do partnerships protect civilians"
    before = searcher(tmp_path / "index", fake).search(question, 3)
    path = current_folder(tmp_path / "index") / "manifest.json"
    old = json.loads(path.read_text())
    del old["encoding"], old["encoder"]
    old["format_version"] = 3
    path.write_text(json.dumps(old))
    status = index_status(settings)
    assert status.state == "stale", status.describe()
    assert "format version 3" in status.describe()
    opened = open_index(settings, rebuild=True, embedder=fake)
    assert opened.built is not None and index_status(settings, embedder=fake).fresh
    assert searcher(tmp_path / "index", fake).search(question, 3) == before


def test_a_bad_encoder_setting_names_the_choices() -> None:
    with pytest.raises(QAError, match="QA_PRECISION='int4' is not one of fp32, int8"):
        Settings.from_env({"QA_PRECISION": "int4"})
    assert Settings.from_env({"QA_PRECISION": "Int8"}).precision == "int8"


def test_settings_know_which_folders_were_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    assert not Settings().corpus_given and not Settings().index_given
    assert not replace(Settings(), model="m").corpus_given  # still the default folder
    assert Settings(corpus_dir="corpus").corpus_given  # chosen, even if it is the default's name
    assert Settings().with_overrides(index_dir="i").index_given
    assert not Settings().with_overrides(index_dir="i").corpus_given
    assert Settings.from_env({"QA_CORPUS_DIR": "c"}).corpus_given
    assert Settings() != Settings(corpus_dir="corpus")  # search() keeps one Searcher for each


def test_an_index_keeps_the_corpus_it_was_built_from(
    seed_corpus: Path, tmp_path: Path, fake: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 0: opened with its folder alone, an index was rebuilt from ./corpus."""
    bees, index = bees_index(tmp_path)
    monkeypatch.chdir(seed_corpus.parent)  # where ./corpus is another corpus
    alone = Settings(index_dir=index, model=FakeEmbedder.name)
    assert index_status(alone, embedder=fake).fresh
    opened = open_index(alone, rebuild=True, embedder=fake)
    assert opened.built is None and list(opened.index.manifest.documents) == ["bees.md"]  # type: ignore[union-attr]
    assert Index.open(alone, embedder=fake).searcher().search("honey", 1)[0].doc == "bees.md"
    other = settings_for(seed_corpus, index)
    for attempt in (
        lambda: Searcher.open(other, embedder=fake),
        lambda: Index.open(other, embedder=fake).refresh(),
        lambda: open_index(other, rebuild=True, embedder=fake),
        lambda: index_status(other),
    ):
        with pytest.raises(IndexMismatchError) as refused:
            attempt()
        message = str(refused.value)
        assert f"{index}/ is the index of {bees}/, not of {seed_corpus}/" in message
        assert f"qa build --corpus {seed_corpus} --index {index}" in message
    assert list(load_index(alone).manifest.documents) == ["bees.md"]


def test_search_uses_the_corpus_of_the_index_it_is_given(
    seed_corpus: Path, tmp_path: Path, fake_cli: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qa import search

    bees, index = bees_index(tmp_path)
    monkeypatch.chdir(seed_corpus.parent)
    alone = Settings(index_dir=index, model=FakeEmbedder.name)
    assert search("what do bees make", 1, settings=alone)[0].doc == "bees.md"
    (bees / "bees.md").write_text("# Bees\n\nBees make wax and honey.\n")
    assert "wax" in search("what do bees make", 1, settings=alone)[0].text  # followed
    with pytest.raises(IndexMismatchError, match="is the index of"):
        search("what do bees make", 1, settings=settings_for(seed_corpus, index))
    assert list(load_index(alone).manifest.documents) == ["bees.md"]


def test_a_file_deleted_while_a_build_runs_is_not_published(
    seed_corpus: Path, tmp_path: Path, fake: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 6: the corpus was read before the lock, so a deleted file could come back."""
    import qa.index.builder

    doomed = seed_corpus / "doomed.md"
    doomed.write_text("# Doomed\n\nThe zeppelin file is deleted while it is indexed.\n")
    real_embed_all = qa.index.builder.embed_all

    def deleting(*args, **kwargs):  # type: ignore[no-untyped-def]
        doomed.unlink(missing_ok=True)  # after the corpus was read, before the swap
        return real_embed_all(*args, **kwargs)

    monkeypatch.setattr(qa.index.builder, "embed_all", deleting)
    settings = settings_for(seed_corpus, tmp_path / "index")
    info = build_index(settings, embedder=fake, progress=False)
    assert info.documents == 1 and info.added == ("peacekeeping-partnerships.txt",)
    assert list(load_index(settings).manifest.documents) == ["peacekeeping-partnerships.txt"]
    assert searcher(tmp_path / "index", fake).search('"zeppelin"', 1) == []
    assert index_status(settings, embedder=fake).fresh


def test_a_damaged_index_is_rebuilt_from_its_own_corpus(
    seed_corpus: Path, tmp_path: Path, fake: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 0: with CURRENT garbled, the index no longer knew its corpus: ./corpus was used."""
    bees, index = bees_index(tmp_path)
    (index / "CURRENT").write_bytes(b"\xff\xfe garbage")
    monkeypatch.chdir(seed_corpus.parent)  # where ./corpus is another corpus
    alone = Settings(index_dir=index, model=FakeEmbedder.name)
    assert index_status(alone).state == "damaged"
    opened = open_index(alone, rebuild=True, embedder=fake)
    assert opened.built is not None and opened.built.added == ("bees.md",)
    assert list(load_index(alone).manifest.documents) == ["bees.md"]
    bees_again = settings_for(bees, index)
    (index / "CURRENT").write_bytes(b"\xff\xfe garbage")
    with pytest.raises(IndexMismatchError, match=f"is the index of {bees}/"):
        open_index(settings_for(seed_corpus, index), rebuild=True, embedder=fake)
    assert open_index(bees_again, rebuild=True, embedder=fake).built is not None
