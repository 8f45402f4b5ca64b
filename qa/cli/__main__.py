"""`python -m qa.cli …`: the `qa` command, run as a module (tests and benchmarks do).

Only calls `main()` and exits with its code; nothing else lives here.
"""

from __future__ import annotations

import sys

from qa.cli import main

if __name__ == "__main__":
    sys.exit(main())
