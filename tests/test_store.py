"""The on-disk format of a build (`qa/index/store.py`): round trips, validation, damage reports."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from fakes import FakeEmbedder, fake_build

from qa.errors import IndexCorruptError
from qa.index import store
from qa.index.folder import current_folder
from qa.index.manifest import FileCheck, Manifest
from qa.index.records import read_sections


def manifest(**changes: object) -> Manifest:
    fields: dict[str, object] = {
        "model": "fake-hash",
        "dimension": 64,
        "chunking": {"max_tokens": 256, "min_chunk_tokens": 24},
        "built_at": "2026-01-02T12:00:00+00:00",
        "corpus_dir": "/corpus",
        "documents": {"a.txt": "ab12"},
        "chunk_hashes": ("c1", "c2"),
        "added": ("a.txt",),
    }
    fields.update(changes)
    return Manifest(**fields)  # type: ignore[arg-type]


def test_a_manifest_survives_json() -> None:
    written = manifest(files={"chunks.jsonl": FileCheck(10, "ff")}, index_type="flat")
    assert Manifest.from_json(written.to_json()) == written


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("model", "fake-hash", "'model'"),
        ("documents", {"a.txt": 3}, "'documents'"),
        ("chunk_hashes", [1, 2], "'chunk_hashes'"),
        ("files", {"../x": {"bytes": 1, "sha256": "f"}}, "invalid file"),
        ("format_version", True, "'format_version'"),
    ],
)
def test_a_manifest_with_a_bad_field_says_which(key: str, value: object, message: str) -> None:
    data = json.loads(manifest().to_json())
    data[key] = value
    with pytest.raises(ValueError, match=message):
        Manifest.from_json(json.dumps(data))


def test_a_manifest_of_an_earlier_version_without_changes_reads() -> None:
    data = json.loads(manifest().to_json())
    del data["changes"]
    assert Manifest.from_json(json.dumps(data)).added == ()


def test_write_build_and_read_build_are_mirrors(seed_corpus: Path, tmp_path: Path) -> None:
    fake_build(seed_corpus, tmp_path / "index")
    first = store.read_build(current_folder(tmp_path / "index"))
    folder = store.write_build(tmp_path / "index", first)
    again = store.read_build(folder)
    assert again.sections == first.sections and again.chunks == first.chunks
    assert np.array_equal(again.embeddings, first.embeddings)
    assert np.array_equal(again.sentence_vectors, first.sentence_vectors)
    assert again.manifest == first.manifest
    assert again.vectors.ntotal == len(first.chunks)


def test_the_pages_of_a_pdf_section_survive_a_round_trip(seed_corpus: Path, tmp_path: Path) -> None:
    fake_build(seed_corpus, tmp_path / "index")
    first = store.read_build(current_folder(tmp_path / "index"))
    assert '"pages"' not in (current_folder(tmp_path / "index") / "sections.jsonl").read_text()
    section = first.sections[0]
    paged = replace(section, pages=((section.start_line, 4), (section.end_line, 5)))
    sections = [paged, *first.sections[1:]]
    folder = store.write_build(tmp_path / "index", replace(first, sections=sections))
    assert store.read_build(folder).sections == sections


@pytest.mark.parametrize(
    "pages",
    [
        [[3, 4], [2, 5]],  # the second page begins before the first
        [[1, 4]],  # the first page does not begin at the section's start
        [[3, 0]],  # pages count from 1
        [[3, 5], [6, 4]],  # pages run backwards
        [[3, "4"]],
        [],
        "4",
    ],
)
def test_a_section_with_bad_pages_is_reported_as_damage(pages: object, tmp_path: Path) -> None:
    row = {"doc": "r.pdf", "title": "T", "path": ["T"], "start_line": 3, "end_line": 9}
    folder = tmp_path / "index" / "build-1"
    folder.mkdir(parents=True)
    (folder / "sections.jsonl").write_text(json.dumps({**row, "text": "", "pages": pages}))
    with pytest.raises(IndexCorruptError, match=r"sections.jsonl line 1 is invalid: .*'pages'"):
        read_sections(folder)


def test_an_altered_index_file_is_detected(seed_corpus: Path, tmp_path: Path) -> None:
    fake_build(seed_corpus, tmp_path / "index", FakeEmbedder())
    folder = current_folder(tmp_path / "index")
    chunks = folder / "chunks.jsonl"
    chunks.write_text(chunks.read_text().replace("civilians", "civilianz"))
    with pytest.raises(IndexCorruptError, match=r"index/ is damaged \(chunks.jsonl.*qa build"):
        store.read_build(folder)


def test_a_damaged_build_names_its_index_folder_and_the_detail(tmp_path: Path) -> None:
    folder = tmp_path / "index" / "build-1"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text("[]")
    with pytest.raises(IndexCorruptError) as raised:
        store.read_build(folder)
    assert raised.value.index_dir == tmp_path / "index"
    assert raised.value.detail == "manifest.json is unreadable: it is not a JSON object"
