"""The web app, the same as `qa serve`.

    python app.py [--host 127.0.0.1] [--port 7860] [--read-only] [--no-watch]
                  [--corpus DIR] [--index DIR]

QA_CORPUS_DIR, QA_INDEX_DIR, QA_MODEL and QA_READ_ONLY=1 apply too.
"""

from __future__ import annotations

import os
import sys

# One BLAS thread, set before numpy loads: between the model's runs, numpy's BLAS threads
# spin on and take the cores from ONNX Runtime's (docs/performance.md, "Threads").
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from qa.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
