"""The package's shape: no import cycles, interfaces above the library, small functions.

The library is every module of `qa/` except the interfaces, `qa/cli/` and
`qa/web/`: it never imports them and never prints.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "qa"
INTERFACES = ("qa.cli", "qa.web")
MAX_FUNCTION_LINES = 60


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): ast.parse(path.read_text()) for path in PACKAGE.rglob("*.py")}


def is_interface(name: str) -> bool:
    return any(name == i or name.startswith(i + ".") for i in INTERFACES)


def imports(name: str) -> set[str]:
    """The qa modules `name` imports, at any depth of its code (lazy imports count too)."""
    found = set()
    for node in ast.walk(MODULES[name]):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {module for module in found if module in MODULES and module != name}


def test_no_import_cycles() -> None:
    graph = {name: imports(name) - {"qa"} for name in MODULES}
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        assert name not in path, "import cycle: " + " → ".join([*path, name])
        if name in done:
            return
        for target in sorted(graph[name]):
            visit(target, [*path, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])


def test_the_library_never_imports_the_cli_or_the_web_app() -> None:
    for name in MODULES:
        if not is_interface(name):
            reached = sorted(target for target in imports(name) if is_interface(target))
            assert reached == [], f"{name} imports {reached}"


def test_the_library_never_prints() -> None:
    for name, tree in MODULES.items():
        if is_interface(name):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "print":
                raise AssertionError(f"{name} line {node.lineno} prints")


def test_no_function_is_over_60_lines() -> None:
    long = [
        f"{name}.{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for name, tree in MODULES.items()
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long == []


def test_the_checks_see_the_whole_package() -> None:
    """The tests above would pass on nothing: they must see every module, interfaces included."""
    assert {
        "qa.index.build",
        "qa.rank.search",
        "qa.index.store",
        "qa.index.watch",
        "qa.cli",
        "qa.cli.serve",
        "qa.web.app",
    } <= set(MODULES)
    assert "qa.web.serve" in imports("qa.cli.serve")


def test_tests_and_benchmarks_never_import_each_other() -> None:
    def local_imports(folder: Path) -> set[str]:
        names = set()
        for path in folder.glob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    names |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names.add(node.module.split(".")[0])
        return names

    tests, benchmarks = ROOT / "tests", ROOT / "benchmarks"
    assert not local_imports(tests) & {path.stem for path in benchmarks.glob("*.py")}
    assert not local_imports(benchmarks) & {path.stem for path in tests.glob("*.py")}
    assert "fakes" in local_imports(tests) and "corpora" in local_imports(benchmarks)


def files_table(page: Path) -> set[str]:
    """The names in the first column of a Markdown page's "Files" section, up to the next
    section: `| `qa/cli.py` | the `qa` command |` names `qa/cli.py`."""
    text = page.read_text(encoding="utf-8")
    section = text[text.index("\n## Files\n") + 1 :]
    section = section[: section.find("\n## ")] if "\n## " in section else section
    return set(re.findall(r"^\| `([^`]+)` \|", section, re.MULTILINE))


def package_modules() -> list[str]:
    return sorted(p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*.py"))


def test_the_readme_files_table_names_every_module() -> None:
    """A newcomer finds each module's job in the README's "Files" table: a row of its own,
    or its folder's (a package's `__init__.py` goes with the modules beside it); and in
    docs/architecture.md's, where every module has a row of its own, `__init__.py` included."""
    named = files_table(ROOT / "README.md")

    def found(module: str) -> bool:
        folder = module.rsplit("/", 1)[0] + "/"
        beside = module.endswith("/__init__.py") and any(n.startswith(folder) for n in named)
        return module in named or folder in named or beside

    modules = package_modules()
    assert len(named) > 10 and [m for m in modules if not found(m)] == [], "README.md"
    own_rows = files_table(ROOT / "docs" / "architecture.md")
    assert [m for m in modules if m not in own_rows] == [], "docs/architecture.md"
