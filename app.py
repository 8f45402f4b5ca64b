"""The web app: `python app.py [--host 127.0.0.1] [--port 7860] [--read-only]`."""

from __future__ import annotations

import sys

from qa.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
