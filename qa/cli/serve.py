"""`qa serve`: start the web app (`qa.web.serve`), after checking it can listen where asked.

A port that is taken or a host this machine does not have is one line naming the fix, not a
traceback.  The app itself, its index and its watching are `qa.web`'s.
"""

from __future__ import annotations

import argparse

from qa.cli.parser import settings_from
from qa.errors import QAError


def run(args: argparse.Namespace) -> None:
    """Serve the web app on `args.host`:`args.port` until Ctrl-C."""
    from qa.web.serve import serve

    _check_address(args.host, args.port)
    try:
        serve(
            settings_from(args),
            host=args.host,
            port=args.port,
            watch=not args.no_watch,
            mcp=args.mcp,
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
