"""Shared fixtures: the fake embedder for unit tests, and the real model for quality tests.

Every test that loads the real model is marked `model` (by its fixtures, here),
so `pytest -m "not model"` is the fast run.
"""

from __future__ import annotations

import importlib
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes import ROOT, SEED, FakeEmbedder

from qa.errors import ModelError, QAWarning
from qa.model.embedding import Embedder, load_embedder
from qa.settings import DEFAULT_MODEL, Settings

REAL_MODEL_FIXTURES = {
    "real_embedder",
    "seed_index",
    "seed_searcher",
    "held_out_seed_searcher",
    "searcher",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses the real model through a fixture is a `model` test."""
    for item in items:
        if REAL_MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.model)


@pytest.fixture(autouse=True)
def real_model_only_in_model_tests(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A test not marked `model` fails if it reaches for the real model (in this process)."""
    if request.node.get_closest_marker("model") is None:

        def refuse(name: str) -> Path:
            if name == FakeEmbedder.name:  # it has no files, as a name that is no model
                raise ModelError(f"no model files for {name!r}")
            raise AssertionError(f"this test loads the model {name!r}: mark it `model`")

        monkeypatch.setattr("qa.model.embedding.local_folder", refuse)


@pytest.fixture
def fake() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def fake_cli(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """`qa` on the command line, with the fake model, printing warnings as it does for users."""
    for module in ("qa.model.embedding", "qa.rank.search"):
        monkeypatch.setattr(importlib.import_module(module), "load_embedder", _fake_model)
    monkeypatch.setenv("QA_MODEL", FakeEmbedder.name)
    with warnings.catch_warnings():
        warnings.simplefilter("always", QAWarning)
        yield


def _fake_model(name: str, precision: str = "fp32") -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def fake_settings() -> Settings:
    return Settings(model=FakeEmbedder.name)


@pytest.fixture
def seed_corpus(tmp_path: Path) -> Path:
    """A private copy of the bundled corpus, free to edit."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(SEED, folder / SEED.name)
    return folder


@pytest.fixture(scope="session")
def real_embedder() -> Embedder:
    """The bundled all-MiniLM-L6-v2, loaded once per test session."""
    return load_embedder(DEFAULT_MODEL)


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder) -> Path:
    """The seed document indexed with the real model (built once per session)."""
    from qa.index.owner import Index

    root = tmp_path_factory.mktemp("seed")
    shutil.copytree(ROOT / "corpus", root / "corpus")
    settings = Settings(corpus_dir=root / "corpus", index_dir=root / "index")
    Index.open(settings, embedder=real_embedder).build()
    return root / "index"


@pytest.fixture(scope="session")
def seed_searcher(seed_index: Path, real_embedder: Embedder):  # type: ignore[no-untyped-def]
    from qa.rank.search import Searcher

    return Searcher.open(Settings(index_dir=seed_index), embedder=real_embedder)


@pytest.fixture(scope="session")
def held_out_seed_searcher(seed_index: Path, real_embedder: Embedder):  # type: ignore[no-untyped-def]
    """The seed index ranked and scored with the numbers fitted without the seed family
    (`qa.rank.fitted`): what the quality bars on its question sets judge, since they are
    development sets that the shipped numbers were fitted on."""
    from qa.rank.fitted import fitted_for
    from qa.rank.search import Searcher

    scorers = fitted_for(DEFAULT_MODEL).held_out["seed"]
    return Searcher.open(Settings(index_dir=seed_index), embedder=real_embedder, scorers=scorers)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, once per run (the browser tests never skip without it: they fail)."""
    from pages import CHROMIUM, CHROMIUM_ARGS

    if not CHROMIUM.exists():
        pytest.fail(f"The browser tests need {CHROMIUM}: run `apt-get install -y chromium`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    from pages import new_page

    opened = new_page(browser, {"width": 1200, "height": 900})
    yield opened
    opened.context.close()
