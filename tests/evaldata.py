"""The evaluation files in ../shared/eval (SQuAD, Qasper) that the quality bars need.

CI has them and runs those tests; a clone of the project without ../shared skips them,
naming what is missing, rather than ending `make test` with an error.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"


def needed(relative: str) -> Path:
    """`SHARED_EVAL / relative`; when it is missing, a skip that names it (a failure in CI,
    where `CI` is set and the files must be there)."""
    path = SHARED_EVAL / relative
    if not path.exists():
        message = f"{path} is missing: the quality bars need ../shared/eval beside the project"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path
