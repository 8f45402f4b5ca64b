"""`qa.web.stages`: what `qa serve` says while it starts.  (That a real start says something
at least every 5 s is tests/test_cli.py's `qa serve` test.)"""

from __future__ import annotations

import time

from qa.web.stages import Stages


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
