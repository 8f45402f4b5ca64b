"""`qa ask`: the passages that best answer a question, as terminal text or as JSON.

The index is refreshed first (built if missing or out of date), saying so on stderr.  It
only prints what the library returns: the ranking is `qa.rank`'s, the text `qa.render`'s.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING

from qa.cli.output import QUICK_SECONDS, progress, stages
from qa.cli.parser import settings_from

if TYPE_CHECKING:
    from qa.index.status import IndexStatus


def run(args: argparse.Namespace) -> None:
    """Open (and refresh) the index, search it, print the passages."""
    from qa.index.owner import Index
    from qa.stages import load_model

    index = Index.open(settings_from(args))
    with stages() as running:
        load_model(index, running, after=QUICK_SECONDS)

        def rebuilding(status: IndexStatus) -> None:
            line = f"qa: {status.describe()}; {status.next_step()}…"
            running.begin("index", "building the index", line)

        opened = index.refresh(before_build=rebuilding, progress=progress(running))
    if opened.not_rebuilt:
        print(f"qa: warning: {opened.as_is()}", file=sys.stderr, flush=True)
    passages = index.searcher().search(args.question, args.k, documents=args.documents)
    if args.json:
        print(json.dumps([p.to_dict() for p in passages], ensure_ascii=False, indent=2))
        return
    from qa.render import render_passages

    print(render_passages(passages, color=sys.stdout.isatty() and "NO_COLOR" not in os.environ))
