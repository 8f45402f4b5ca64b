"""`qa build --ray` (`qa/index/ray_build.py`): the model's work on a local Ray of two CPUs,
started and stopped by the build itself, and the build it writes the local build's."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fakes import ROOT, FakeEmbedder, settings_for

import qa.index.ray_build as ray_build_module
from qa.cli import main
from qa.errors import QAError
from qa.index import Index
from qa.index.builder import make_build
from qa.index.folder import current_folder
from qa.index.ray_build import ray_build, ray_maker, ray_session
from qa.model.embedding import load_embedder
from qa.settings import Settings

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'qa[ray]'")

EXTRA = "# Field notes\n\n## Bees\n\nThe bees of the valley make honey twice a year.\n"


def corpus_with_extra(tmp_path: Path) -> Path:
    """The seed corpus and one small document of our own."""
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    (corpus / "notes.md").write_text(EXTRA, encoding="utf-8")
    return corpus


def real(corpus: Path, index: Path, precision: str = "fp32") -> Settings:
    return Settings(corpus_dir=corpus, index_dir=index, precision=precision)


def build_files(index: Path) -> dict[str, Any]:
    """The live build: its JSON files as read, its arrays loaded, the manifest without time."""
    found: dict[str, Any] = {}
    for path in sorted(current_folder(index).iterdir()):
        if path.suffix == ".npy":
            found[path.name] = np.load(path, allow_pickle=False)
        elif path.suffix == ".jsonl":
            found[path.name] = path.read_text(encoding="utf-8").splitlines()
        elif path.name == "manifest.json":
            found[path.name] = json.loads(path.read_text(encoding="utf-8"))
            del found[path.name]["built_at"]
    return found


def assert_same_build(ray_index: Path, local_index: Path) -> None:
    """Same chunk ids, texts, citations and manifest; arrays equal within 1e-5."""
    made, expected = build_files(ray_index), build_files(local_index)
    assert made.keys() == expected.keys()
    for name, value in expected.items():
        if isinstance(value, np.ndarray):
            assert made[name].shape == value.shape, name
            assert np.allclose(made[name], value, atol=1e-5, rtol=0), name
        else:
            assert made[name] == value, name


@pytest.mark.model
@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_a_ray_build_is_the_local_build_and_stops_its_ray(tmp_path: Path, precision: str) -> None:
    corpus = corpus_with_extra(tmp_path)
    embedder = load_embedder(Settings().model, precision)
    local = make_build(real(corpus, tmp_path / "local", precision), embedder)
    made = ray_build(real(corpus, tmp_path / "ray", precision), embedder, cpus=2)
    assert not ray.is_initialized()  # the Ray it started is shut down
    assert (made.documents, made.chunks, made.chunks_embedded) == (2, local.chunks, local.chunks)
    assert_same_build(tmp_path / "ray", tmp_path / "local")


@pytest.mark.model
def test_an_incremental_ray_build_chunks_and_embeds_only_the_changed_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = corpus_with_extra(tmp_path)
    settings = real(corpus, tmp_path / "ray")
    index = Index.open(settings)
    index.build(maker=ray_maker(cpus=2))
    make_build(real(corpus, tmp_path / "local"), index.embedder())
    sent: list[str] = []
    windows = ray_build_module._RayModel._windows

    def counted(self: Any, texts: list[str], *args: Any, **kwargs: Any) -> Any:
        sent.extend(texts)
        return windows(self, texts, *args, **kwargs)

    monkeypatch.setattr(ray_build_module._RayModel, "_windows", counted)
    chunked: list[str] = []
    chunk_documents = ray_build_module._RayModel.chunk_documents

    def chunking(self: Any, documents: list[Any], *args: Any) -> Any:
        chunked.extend(doc.path for doc in documents)
        return chunk_documents(self, documents, *args)

    monkeypatch.setattr(ray_build_module._RayModel, "chunk_documents", chunking)
    (corpus / "notes.md").write_text(EXTRA + "\nThe queen bee lives five years.\n", "utf-8")
    info = index.build(maker=ray_maker(cpus=2))
    assert not ray.is_initialized()
    built = index.load()
    notes = [c for c in built.chunks if c.doc == "notes.md"]
    assert info.changed == ("notes.md",) and chunked == ["notes.md"]  # chunked on Ray
    assert info.chunks_embedded == len(notes) and info.chunks_reused == info.chunks - len(notes)
    # Only that document's texts went through the pipeline: its chunks, sentences, titles.
    own = {c.embed_text for c in notes} | {t for c in notes for t in c.sentence_texts()}
    own |= {s.path_text for s in built.sections if s.doc == "notes.md"}
    assert {c.embed_text for c in notes} <= set(sent) <= own
    make_build(real(corpus, tmp_path / "local"), index.embedder())
    assert_same_build(tmp_path / "ray", tmp_path / "local")


@pytest.fixture
def temp_roots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Path]]:
    """(where Python makes temporary folders, where Ray puts its sessions by default):
    two empty folders of this test's own, short, as Unix socket paths must be."""
    python, ray_default = (Path(tempfile.mkdtemp(prefix="qa-t-", dir="/tmp")) for _ in "12")
    monkeypatch.setattr(tempfile, "tempdir", str(python))
    monkeypatch.setenv("RAY_TMPDIR", str(ray_default))  # Ray's /tmp/ray is $RAY_TMPDIR/ray
    yield python, ray_default
    for folder in (python, ray_default):
        shutil.rmtree(folder, ignore_errors=True)


def sessions(root: Path) -> list[Path]:
    """Ray's session folders under `root`: session_<time>, and session_latest linking to it."""
    return sorted(root.rglob("session_*"))


@pytest.mark.model
def test_a_local_ray_build_leaves_no_session_folders_behind(
    tmp_path: Path, temp_roots: tuple[Path, Path]
) -> None:
    python, ray_default = temp_roots
    corpus = corpus_with_extra(tmp_path)
    embedder = load_embedder(Settings().model, "fp32")
    made = ray_build(real(corpus, tmp_path / "ray"), embedder, cpus=2)
    assert made.chunks > 0 and not ray.is_initialized()
    assert os.listdir(python) == []  # its own temporary folder is gone
    assert sessions(ray_default) == []  # and nothing went to /tmp/ray


def test_a_local_ray_that_fails_leaves_no_session_folders_behind(
    temp_roots: tuple[Path, Path],
) -> None:
    python, ray_default = temp_roots
    with pytest.raises(RuntimeError, match="a failing build"), ray_session(None, cpus=1):
        assert [path.parent.name[:7] for path in sessions(python)] == ["qa-ray-"] * 2
        raise RuntimeError("a failing build")
    assert not ray.is_initialized()
    assert os.listdir(python) == [] and sessions(ray_default) == []


def test_a_ray_that_cannot_be_reached_is_named_with_the_fix(tmp_path: Path) -> None:
    fix = r"127\.0\.0\.1:1 .*`ray start --head`.*`qa build --ray`"
    with pytest.raises(QAError, match=fix), ray_session("127.0.0.1:1"):
        pass
    assert not ray.is_initialized()


def test_qa_build_with_a_bad_ray_address_says_so_in_one_line_and_keeps_the_index(
    tmp_path: Path, fake_cli: None, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = corpus_with_extra(tmp_path)
    index = tmp_path / "index"
    assert main(["build", "--corpus", str(corpus), "--index", str(index)]) == 0
    before = current_folder(index)
    capsys.readouterr()
    code = main(["build", "--corpus", str(corpus), "--index", str(index), "--ray", "127.0.0.1:1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and "Traceback" not in "\n".join(err)
    assert err[-1].startswith("qa: ") and "`ray start --head`" in err[-1]
    assert current_folder(index) == before
    assert not ray.is_initialized()


def test_a_ray_build_without_ray_installed_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    settings = settings_for(corpus_with_extra(tmp_path), tmp_path / "index")
    with pytest.raises(QAError, match=r"pip install 'qa\[ray\]'"):
        ray_build(settings, FakeEmbedder())
    assert not (tmp_path / "index").exists() or not any((tmp_path / "index").iterdir())


def test_a_local_ray_whose_first_start_fails_is_started_again(
    temp_roots: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Seen once in a CI run: Ray's control server did not write its port in 30 s.
    real_init, starts = ray.init, []

    def init(*args: Any, **kwargs: Any) -> Any:
        starts.append(kwargs.get("_temp_dir"))
        if len(starts) == 1:
            raise RuntimeError("Timed out waiting for file …/gcs_server_port_…")
        return real_init(*args, **kwargs)

    monkeypatch.setattr(ray, "init", init)
    with ray_session(None, cpus=1) as cpus:
        assert cpus == 1 and ray.is_initialized()
    assert len(starts) == 2 and starts[0] == starts[1]
    assert not ray.is_initialized()
