"""The public API is exactly what the README promises."""

from __future__ import annotations

import dataclasses

import pytest

import qa


def test_all_is_exactly_the_public_names() -> None:
    import __future__

    import types

    loaded = [getattr(qa, name) for name in qa.__all__]  # names load when first used
    assert all(value is not None for value in loaded)
    public = {
        name
        for name, value in vars(qa).items()
        if not name.startswith("_")
        and name != "TYPE_CHECKING"
        and not isinstance(value, types.ModuleType | __future__._Feature)
    }
    assert sorted(qa.__all__) == qa.__all__
    assert set(qa.__all__) == public
    with pytest.raises(AttributeError, match="no attribute 'serch'"):
        qa.serch  # noqa: B018


def test_import_qa_loads_nothing_heavy_so_the_command_starts_at_once() -> None:
    # `qa --help` and the command's one-BLAS-thread setting (qa.cli.main) need numpy unloaded.
    import subprocess
    import sys

    heavy = "{'numpy', 'faiss', 'onnxruntime'}"
    probe = f"import sys, qa, qa.cli; print(sorted({heavy} & set(sys.modules)))"
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert found.returncode == 0, found.stderr[-2000:]
    assert found.stdout.strip() == "[]"


def test_readme_names_are_exported() -> None:
    for name in ("build_index", "Searcher", "search", "Passage", "QAError", "evaluate"):
        assert name in qa.__all__


def test_passage_is_frozen_and_cites_its_lines() -> None:
    passage = qa.Passage(
        text="Some text.",
        doc="a.txt",
        section="Intro",
        section_path=("Intro",),
        start_line=3,
        end_line=5,
        score=0.8,
        confident=True,
        highlights=(),
    )
    assert passage.citation == "a.txt › Intro, lines 3–5"
    with pytest.raises(dataclasses.FrozenInstanceError):
        passage.text = "other"  # type: ignore[misc]
    assert passage.to_dict()["citation"] == passage.citation


def test_a_passage_of_a_pdf_cites_its_pages() -> None:
    passage = qa.Passage(
        text="Some text.",
        doc="report.pdf",
        section="2.1 Data",
        section_path=("2 Methods", "2.1 Data"),
        start_line=30,
        end_line=41,
        score=0.8,
        confident=True,
        highlights=(),
        span=qa.Span("page", 4, 5),
    )
    assert passage.citation == "report.pdf › 2 Methods › 2.1 Data, pages 4–5"
    assert passage.to_dict()["span"] == {"unit": "page", "first": 4, "last": 5}


def test_every_error_is_a_qa_error() -> None:
    from qa import errors

    for name in dir(errors):
        value = getattr(errors, name)
        if (
            isinstance(value, type)
            and issubclass(value, Exception)
            and not issubclass(value, Warning)
        ):
            assert issubclass(value, qa.QAError), name


def test_every_module_imports_on_its_own() -> None:
    # A program may import any module first (`from qa.rank.search import Searcher`); an import
    # cycle shows only then, in a fresh interpreter, whatever order the tests import in.
    import subprocess
    import sys
    from pathlib import Path

    root = Path(qa.__file__).parent
    modules = sorted(
        ".".join(path.relative_to(root.parent).with_suffix("").parts).removesuffix(".__init__")
        for path in root.rglob("*.py")
        if path.name != "__main__.py"
    )
    failed = []
    for module in modules:
        found = subprocess.run(
            [sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=60
        )
        if found.returncode:
            failed.append(f"{module}: {found.stderr.strip().splitlines()[-1]}")
    assert len(modules) > 50
    assert not failed, "\n".join(failed)
