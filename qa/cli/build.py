"""`qa build`: build or refresh the index, saying each slow stage, then what was indexed;
with `--watch`, rebuild after every change of the corpus until Ctrl-C.

It only calls the library (`Index.build`, `Index.watch`) and prints what it returns; how a
build chunks, embeds or stores is `qa.index`'s.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from qa.cli.output import QUICK_SECONDS, progress, stages
from qa.cli.parser import settings_from

if TYPE_CHECKING:
    from qa.index.owner import Index
    from qa.index.status import IndexInfo
    from qa.settings import Settings


def run(args: argparse.Namespace) -> None:
    """Build, saying each stage that takes a while (`qa.cli.output`): the model (prepared once
    on a first run), then the build, with how far it is; then what was indexed."""
    from qa.index.builder import document_files
    from qa.index.owner import Index
    from qa.stages import load_model

    index = Index.open(settings_from(args))
    settings = index.settings
    with stages() as running:
        # A missing corpus folder is named before the model loads.
        documents = len(document_files(settings))
        load_model(index, running, after=QUICK_SECONDS)
        line = (
            f"qa: building {settings.index_dir}/ from {documents} document(s) "
            f"in {settings.corpus_dir}/…"
        )
        running.begin("index", "building the index", line, after=QUICK_SECONDS)
        info = index.build(progress=progress(running), maker=_maker(args))
    print_build(info, settings)
    if args.watch:
        _watch(index)


def _maker(args: argparse.Namespace) -> Any:
    """What makes the build: the local build, or one embedded by Ray with `--ray`."""
    from qa.index.builder import make_build

    if args.ray is None:
        return make_build
    from qa.index.ray_build import ray_maker

    return ray_maker(args.ray or None)


def print_build(info: IndexInfo, settings: Settings) -> None:
    """What a build did, on stdout; the "See also" lines it left out, on stderr."""
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
            print_build(event.info, index.settings)
        else:
            print(f"qa: {event.error}{retrying(event)}", file=sys.stderr, flush=True)

    watcher = index.watch(on_event=report)
    print(f"Watching {index.settings.corpus_dir}/ for changes (Ctrl-C stops)…", flush=True)
    try:  # entered before the thread starts: a Ctrl-C at any moment after stops it
        watcher.start()
        threading.Event().wait()
    finally:
        watcher.stop()
