"""`scripts/heartbeat.py`, which `make` runs pip under: a long silent command says it is still
going, its own output and exit code come through unchanged."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HEARTBEAT = Path(__file__).resolve().parents[1] / "scripts" / "heartbeat.py"


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    """`scripts/heartbeat.py ARGV` as make runs it, its output kept."""
    return subprocess.run(
        [sys.executable, str(HEARTBEAT), *argv], capture_output=True, text=True, timeout=120
    )


def python(code: str) -> list[str]:
    return ["--", sys.executable, "-c", code]


def test_a_silent_command_is_said_to_be_still_going() -> None:
    """Issue 28: `make run` on a fresh machine printed nothing for 77 s of pip."""
    done = run("--every", "1", "installing the packages", *python("import time; time.sleep(3.5)"))
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stderr
    assert lines[0] == "qa: installing the packages…"
    beats = [line for line in lines if line.startswith("qa: … still installing the packages (")]
    assert len(beats) >= 2, done.stdout
    assert lines[-1].startswith("qa: done installing the packages in ")


def test_a_command_that_prints_needs_no_heartbeat_and_its_output_comes_through() -> None:
    talking = "import time\nfor n in range(12):\n    print('step', n, flush=True); time.sleep(0.25)"
    done = run("--every", "1", "counting", *python(talking))
    assert done.returncode == 0
    assert [line for line in done.stdout.splitlines() if line.startswith("step")] == [
        f"step {n}" for n in range(12)
    ]
    assert "still counting" not in done.stdout


def test_a_failing_command_shows_its_error_and_keeps_its_exit_code() -> None:
    failing = "import sys; sys.exit('ERROR: No matching distribution found for torch==0.0.1')"
    done = run("installing torch", *python(failing))
    assert done.returncode == 1
    assert "ERROR: No matching distribution found for torch==0.0.1" in done.stderr
    assert "qa: installing torch failed (exit code 1)" in done.stderr
    assert "done installing" not in done.stdout
    three = run("installing", *python("raise SystemExit(3)"))
    assert three.returncode == 3


def test_a_command_that_cannot_start_is_one_line() -> None:
    done = run("installing", "--", "/no/such/pip", "install", "torch")
    assert done.returncode == 127
    assert done.stderr.strip().splitlines() == [
        "qa: installing failed: cannot run /no/such/pip (No such file or directory)"
    ]


FAKE_PYTHON = """#!/bin/sh
# The virtual environment's python, but `-m pip ...` is a silent wait that changes nothing
# (failing when FAIL names one of its arguments).
if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then
  echo "$*" >> "$(dirname "$0")/pip-calls"
  sleep 4.5
  case " $* " in
    *" $FAIL "*) echo "ERROR: No matching distribution found for $FAIL" >&2; exit 1;;
  esac
  exit 0
fi
exec {python} "$@"
"""


def make_install(tmp_path: Path, fail: str = "") -> tuple[subprocess.CompletedProcess[str], Path]:
    """The Makefile's install step, as on a fresh machine, with a stand-in for pip (no package
    is installed): (make's output, the stamp it writes when done)."""
    import os

    python, stamp = tmp_path / "python", tmp_path / ".installed"
    python.write_text(FAKE_PYTHON.format(python=sys.executable))
    python.chmod(0o755)
    done = subprocess.run(
        ["make", "--no-print-directory", f"PY={python}", f"STAMP={stamp}", str(stamp)],
        cwd=HEARTBEAT.parents[1],
        env={**os.environ, "FAIL": fail},
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done, stamp


def test_make_says_what_it_installs_while_pip_is_silent(tmp_path: Path) -> None:
    """Issue 28: `make run` on a fresh machine printed nothing for 77 s of pip."""
    done, stamp = make_install(tmp_path)
    assert done.returncode == 0, done.stderr
    calls = (tmp_path / "pip-calls").read_text().splitlines()
    assert len(calls) == 3 and "torch==2.13.0" in calls[1]
    lines = done.stdout.splitlines()
    assert lines[0].startswith("qa: installing the packages qa needs") and "once" in lines[0]
    beats = [line.split(" (")[0] for line in lines if "still" in line]
    assert beats == [
        "qa: … still upgrading pip",
        "qa: … still installing torch 2.13.0",
        "qa: … still installing qa and the packages it uses",
    ]
    assert stamp.exists()
    again = subprocess.run(
        ["make", "--no-print-directory", "-n", f"STAMP={stamp}", "run"],
        cwd=HEARTBEAT.parents[1],
        capture_output=True,
        text=True,
    )
    assert "pip" not in again.stdout  # installed: `make run` goes straight to `qa serve`


def test_make_stops_with_pips_error_when_an_install_fails(tmp_path: Path) -> None:
    done, stamp = make_install(tmp_path, fail="torch==2.13.0")
    assert done.returncode != 0
    assert "ERROR: No matching distribution found for torch==2.13.0" in done.stderr
    assert "qa: installing torch 2.13.0 failed (exit code 1)" in done.stderr
    assert not stamp.exists()  # the next `make` tries again
    assert len((tmp_path / "pip-calls").read_text().splitlines()) == 2
