"""Issue 15's findings, each in its own narrowed world (tests/world_hunts.py): only
the rules that reach it, judged by the properties that name it.  Each found its
finding against the unfixed board (tests/world_findings.md has the minimal
examples); after the fixes each must find nothing.

``make test`` gives each 20 examples; ``make chaos`` a third of the chaos count.
"""

import logging

import pytest
from hypothesis.stateful import run_state_machine_as_test

from .world_hunts import HUNTS
from .world_machine import CHAOS, EXAMPLES, hunt_settings

HUNT_EXAMPLES = EXAMPLES // 3 if CHAOS else 20

# What the 15a branch (the board's rules) and the 15b branch (what is drawn) fix.
BY = {1: "15a", 2: "15a", 3: "15b", 4: "15b", 5: "15b", 6: "15a", 7: "15a", 8: "15a",
      10: "15a", 11: "15b", 12: "15a"}


@pytest.fixture(autouse=True, name="quiet")
def _quiet():
    """The board warns of every reset and conflict the world plays."""
    logger = logging.getLogger("display.board")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


@pytest.mark.parametrize("finding", [
    pytest.param(n, marks=pytest.mark.xfail(
        strict=False, raises=AssertionError,
        reason="issue 15 finding %d: fixed by the %s branch" % (n, BY[n])))
    for n in sorted(HUNTS)])
def test_each_finding_in_its_own_world(finding):
    run_state_machine_as_test(HUNTS[finding], settings=hunt_settings(HUNT_EXAMPLES))
