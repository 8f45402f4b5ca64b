"""`qa.stages`: what `qa build`, `qa ask` and `qa serve` say while they work.  (That a real
first run says something at least every 5 s is tests/test_cli.py's `qa build` and `qa serve`
tests.)"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from qa.settings import Settings
from qa.stages import PREPARING, Stages, preparing_note


def test_a_silent_stage_is_said_to_be_still_going_and_a_talking_one_is_not() -> None:
    said: list[str] = []
    with Stages(say=said.append, every=0.5) as stages:
        stages.begin("model", "loading the model")
        time.sleep(1.4)  # silent: a heartbeat after 0.5 s and 1 s
        stages.begin("index", "building the index", "qa: no index; building it now…")
        for done in range(8):  # a line every 0.2 s: no heartbeat needed
            stages.say(f"qa: embedding {done} of 8 pieces of text…")
            time.sleep(0.2)
    assert said[0] == "qa: loading the model…"
    beats = said[1 : said.index("qa: no index; building it now…")]
    assert len(beats) >= 2 and all(b.startswith("qa: … still loading the model (") for b in beats)
    assert not any("still building" in line for line in said)
    model, index = stages.timings().split(", ")
    assert model.startswith("model ") and index.startswith("index ")
    assert float(model.split()[1]) >= 1.4 and float(index.split()[1]) >= 1.6


def test_no_heartbeat_once_the_stages_are_over() -> None:
    said: list[str] = []
    with Stages(say=said.append, every=0.2) as stages:
        stages.begin("web server", "starting the web server")
        stages.end()
        time.sleep(0.7)
    time.sleep(0.3)
    assert said == ["qa: starting the web server…"]


def test_a_stage_begun_with_after_is_said_only_if_it_lasts_that_long() -> None:
    """A warm `qa build` says no more than before: a quick stage's line is never said."""
    said: list[str] = []
    with Stages(say=said.append, every=0.5) as stages:
        stages.begin("model", "loading the model", after=0.6)
        time.sleep(0.2)  # over before its line is due
        stages.begin("index", "building the index", after=0.3)
        time.sleep(1.2)  # said after 0.3 s, then a heartbeat 0.5 s later
    assert said[0] == "qa: building the index…"
    assert said[1].startswith("qa: … still building the index (")
    assert not any("loading" in line for line in said)


def test_a_stage_that_speaks_before_its_line_is_due_says_its_line_first() -> None:
    said: list[str] = []
    with Stages(say=said.append) as stages:
        stages.begin("index", "building the index", after=10)
        stages.say("qa: embedding 0 of 80 pieces of text…")
    assert said == ["qa: building the index…", "qa: embedding 0 of 80 pieces of text…"]


def test_a_sign_of_life_shown_elsewhere_holds_the_heartbeat_back() -> None:
    """A moving progress bar is output: no "still building" line is printed over it."""
    said: list[str] = []
    with Stages(say=said.append, every=1.0) as stages:
        stages.begin("index", "building the index")
        for _ in range(20):  # a bar moving every 0.1 s for 2 s
            stages.alive()
            time.sleep(0.1)
        time.sleep(1.5)  # then it stops: the heartbeat speaks again, 1 s after it stopped
    beats = said[1:]
    assert said[0] == "qa: building the index…" and beats
    assert all(beat.startswith("qa: … still building the index (") for beat in beats)
    assert all(int(beat.split("(")[1].split()[0]) >= 3 for beat in beats), said


def test_the_first_run_says_the_model_is_prepared_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_embedder: Any
) -> None:
    """Issue 10, defect 12: 30 s of silence while the model was exported on the first run."""
    assert preparing_note(Settings()) == ""  # exported already: the real model is loaded
    monkeypatch.setenv("QA_CACHE_DIR", str(tmp_path / "empty-cache"))
    assert preparing_note(Settings()) == PREPARING == "qa: preparing the model once (about 20 s)…"
