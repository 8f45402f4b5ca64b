"""A fuzzer for the whole pipeline: random corpora are built, checked, and asked.

Each example writes a corpus of random files (random bytes, several encodings,
odd names and names with control characters, long lines, headings, thousands of
empty or nested Markdown headings, "See also" lines, empty and binary files, web
pages nested thousands deep or of random tag soup, Word files good, broken or
zip bombs, links inside and outside the corpus), builds it with the fake model and
checks what a user relies on:

- the build ends, raising nothing but a QAError;
- the work done is proportional to the input: the characters handed to the
  tokenizer and to the model stay within a fixed multiple of the corpus size
  (a bound on work, not on time, so the test cannot flake on a busy machine);
- every line of every readable text file lands in a chunk (or is the heading of
  its section, or a "See also" line listed as left out), or the file is named
  in a warning; a broken Word file or zip bomb is named in a warning;
- `qa ask` answers afterwards.

A zip bomb is small on disk: one declares gigabytes it does not hold, one holds
8 MB of zeros it declares as 1 KB, so a reader that inflated it would show in the
work and memory of the run rather than take minutes.

`make test` runs a short version; `make fuzz` a long one (QA_FUZZ_EXAMPLES).
"""

from __future__ import annotations

import functools
import os
import tempfile
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from documents import declare_size, rewrite_member
from fakes import FakeEmbedder, settings_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.cli import main
from qa.errors import QAError, QAWarning
from qa.index.build import build_index, load_index
from qa.readers import read
from qa.readers.corpus import display_name

EXAMPLES = int(os.environ.get("QA_FUZZ_EXAMPLES", "25"))
WORK_PER_CHAR = 40  # tokenizer and model characters per corpus character, at most

WORDS = st.sampled_from(
    [
        *("Peace", "the", "U.N.", "vs.", "Dr.", "end.", "why?", "#", "•", "1.", "See also"),
        *("é", "日本語", "\x1b[2J", "\t", "\u202e", "word", "Title", ":", "```", "(a)", "Zanzibar"),
    ]
)
LINE = st.one_of(
    st.lists(WORDS, max_size=14).map(" ".join),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=60),
    st.builds(
        lambda unit, n: unit * n,
        st.sampled_from(["x", ".", " ", "ab ", "# ", "é"]),
        st.integers(0, 6000),
    ),
    st.sampled_from(["", "# Title", "## Sub ##", "Heading Line", "See also  Other Page", "```"]),
)
TEXT = st.lists(LINE, max_size=25).map("\n".join)
# Thousands of Markdown headings, empty or nesting ever deeper, with text after them or not.
HEADINGS = st.builds(
    lambda levels, n, tail: (
        "".join(f"{'#' * levels[i % len(levels)]} H{i}\n" for i in range(n)) + tail
    ),
    st.lists(st.integers(1, 7), min_size=1, max_size=6),
    st.integers(0, 3000),
    st.sampled_from(["", "Zanzibar peace word.\n", "## Last\n"]),
)
DEEP_HTML = st.builds(
    lambda unit, n: f"<html><body>{unit * n}",
    st.sampled_from(
        [
            *("<div><p>Zanzibar</p>", "<div>x", "<blockquote>word ", "<ul><li>peace "),
            *("<b id=1><p>x", "<table><tr><td>x", "<section><h2>T</h2><p>x", "<svg><p>x"),
            "<nav><p>x",
        ]
    ),
    st.integers(0, 3000),
)
TAG_SOUP = st.lists(
    st.sampled_from(
        [
            *("<div>", "</div>", "<p>", "</p>", "<li>", "<ul>", "</ul>", "<table>", "<tr>"),
            *("<td>", "</table>", "<h2>", "</h2>", "<svg>", "</svg>", "<nav>", "<!--", "-->"),
            *("<script>", "</script>", "<b>", "<textarea>", "<form>", "<template>", "<a b='>"),
            *("<plaintext>", "Zanzibar ", "word ", "<", ">", "&amp;", '"', "\x1b[2J", "\u202e"),
        ]
    ),
    max_size=200,
).map("".join)
DOCX_KINDS_BAD = ("bad: cut short", "bad: broken XML", "bad: declares 3 GB")
DOCX_KINDS_BAD += ("bad: lies about its size", "bad: too many parts")
DOCX_KINDS = st.sampled_from(["good", *DOCX_KINDS_BAD])
CONTENT = st.one_of(
    st.tuples(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-32", "cp1252"]), TEXT),
    st.tuples(st.just("bytes"), st.binary(max_size=400)),
)
NAME = st.one_of(
    st.text(st.characters(codec="utf-8", blacklist_characters="/\x00"), min_size=1, max_size=10),
    st.sampled_from(["caf\udce9", ".hidden", "a b", "~tmp", "-k", "readme"]),
    st.sampled_from(["a\nb", "\x1b[31mred", "\u202eevil", "tab\there", "bell\x07", "\r"]),
)
FOLDER = st.sampled_from(["", "sub/", "sub/deeper/", ".git/", "with space/"])
SUFFIX = st.sampled_from([".txt", ".md", ".TXT", ".Md", ".pdf", ""])
FILE = st.one_of(
    st.tuples(FOLDER, NAME, SUFFIX, CONTENT),
    st.tuples(FOLDER, NAME, st.just(".md"), st.tuples(st.just("utf-8"), HEADINGS)),
    st.tuples(
        FOLDER, NAME, st.sampled_from([".html", ".htm"]), st.tuples(st.just("utf-8"), DEEP_HTML)
    ),
    st.tuples(FOLDER, NAME, st.just(".html"), st.tuples(st.just("utf-8"), TAG_SOUP)),
    st.tuples(FOLDER, NAME, st.sampled_from([".docx", ".txt"]), st.tuples(DOCX_KINDS, st.just(""))),
)


@functools.cache
def word_file(kind: str) -> bytes:
    """A small Word file, or one broken or bombed as `kind` says (made once, then reused)."""
    import docx

    document = docx.Document()
    document.add_heading("Memo", level=1)
    document.add_paragraph("Zanzibar peace word.")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "memo.docx"
        document.save(str(path))
        body = "word/document.xml"
        if kind == "bad: cut short":
            path.write_bytes(path.read_bytes()[:2000])
        elif kind == "bad: broken XML":
            rewrite_member(path, body, b"<w:document><w:body><w:p>unclosed")
        elif kind == "bad: declares 3 GB":
            declare_size(path, body, 3 * 1024**3)
        elif kind == "bad: lies about its size":
            rewrite_member(path, body, bytes(8 * 1024**2))
            declare_size(path, body, 1024)
        elif kind == "bad: too many parts":
            with zipfile.ZipFile(path, "a") as archive:
                for number in range(10_001):
                    archive.writestr(f"extra/{number}", b"")
        return path.read_bytes()


LINK = st.sampled_from(["none", "inside", "outside", "dangling", "loop"])


@dataclass(frozen=True)
class Written:
    """A file as the fuzzer wrote it: its name as cited, its raw bytes, and whether it is
    a damaged file that must be named in a warning."""

    name: str
    raw: bytes
    bad: bool = False


def write_corpus(
    root: Path, files: list[tuple[str, str, str, tuple[str, str]]], link: str
) -> list[Written]:
    corpus = root / "corpus"
    corpus.mkdir()
    written = []
    for folder, name, suffix, (encoding, content) in files:
        if encoding in ("good", *DOCX_KINDS_BAD):
            raw = word_file(encoding)
        else:
            raw = content if isinstance(content, bytes) else encode(content, encoding)
        relative = f"{folder}{name}{suffix}"
        path = os.path.join(os.fsencode(corpus), os.fsencode(relative))
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "xb") as handle:
                handle.write(raw)
        except OSError:
            continue  # a name taken by a folder, too long, or written twice
        written.append(Written(display_name(relative), raw, encoding.startswith("bad: ")))
    (root / "outside.txt").write_text("Outside\n\nSecret words from outside.\n")
    targets = {
        "inside": corpus / "sub",
        "outside": root / "outside.txt",
        "dangling": root / "gone.txt",
        "loop": corpus,
    }
    if link in targets:
        (corpus / f"link-{link}.txt").symlink_to(targets[link])
    return written


def encode(text: str, encoding: str) -> bytes:
    if encoding == "cp1252":
        return text.encode("cp1252", errors="replace")
    return text.encode(encoding)


def counted(embedder: FakeEmbedder, work: list[int]) -> FakeEmbedder:
    """`embedder`, adding the characters it is given to `work`."""
    count, encode_texts = embedder.count_tokens, embedder.encode

    def count_tokens(text: str) -> int:
        work[0] += len(text)
        return count(text)

    def encode(texts, *, progress=False):  # type: ignore[no-untyped-def]
        work[0] += sum(map(len, texts))
        return encode_texts(texts, progress=progress)

    embedder.count_tokens, embedder.encode = count_tokens, encode  # type: ignore[method-assign]
    return embedder


def is_visible(name: str) -> bool:
    return not any(part.startswith(".") for part in name.split("/"))


def is_document(name: str) -> bool:
    return is_visible(name) and name.lower().endswith((".txt", ".md"))


def check_every_line(files: list[Written], warned: str, index_dir: Path, corpus_dir: Path) -> None:
    index = load_index(settings_for(corpus_dir, index_dir))
    for file in files:
        if file.bad and is_visible(file.name):
            assert file.name in warned, f"{file.name} is damaged but named in no warning"
            continue
        if not is_document(file.name) or file.name in warned:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", QAWarning)
            text = read(file.name, file.raw).text
        chunks = [c for c in index.chunks if c.doc == file.name]
        headings = {s.start_line for s in index.sections if s.doc == file.name}
        blob = "".join("".join(c.text.split()) for c in chunks)
        for number, line in enumerate(text.split("\n"), start=1):
            bare = "".join(line.split())
            if bare and number not in headings and not line.lower().lstrip().startswith("see also"):
                assert bare in blob, f"{file.name} line {number} is lost: {line[:60]!r}"


@pytest.mark.usefixtures("fake_cli")
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(st.lists(FILE, max_size=8), LINK)
def test_any_corpus_builds_keeps_every_line_and_answers(
    files: list[tuple[str, str, str, tuple[str, str]]], link: str
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        written = write_corpus(root, files, link)
        size = sum(len(file.raw) for file in written) + 100
        work = [0]
        embedder = counted(FakeEmbedder(), work)
        settings_ = settings_for(root / "corpus", root / "index")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", QAWarning)
            try:
                info = build_index(settings_, embedder=embedder, progress=False)
            except QAError as error:
                assert "No .txt, .md, .pdf, .html or .docx documents" in str(error)
                return
        assert work[0] <= WORK_PER_CHAR * size
        warned = "\n".join(info.warnings)
        assert warned == "\n".join(str(w.message) for w in caught if w.category is QAWarning)
        check_every_line(written, warned, root / "index", root / "corpus")
        args = ["--corpus", str(root / "corpus"), "--index", str(root / "index")]
        # An index without a passage answers with one line saying why (no documents, no text).
        assert main(["ask", "Zanzibar peace word", "-k", "2", *args]) == (0 if info.chunks else 1)
