"""The board against the world: the grown state machine (tests/world_machine.py)
with every rule and every world property, and one narrowed world per finding of
issue 15 (tests/world_hunts.py), each of which found its finding against the
unfixed board (tests/world_findings.md).

``make test`` gives the whole world 200 examples of 30 steps and each narrowed
world 20; ``make chaos`` (``BEDBOARD_CHAOS``) thousands and 60 steps.
"""

import logging

import pytest
from hypothesis.stateful import run_state_machine_as_test

from .world_hunts import HUNTS
from .world_machine import CHAOS, EXAMPLES, WorldMachine, hunt_settings

HUNT_EXAMPLES = EXAMPLES // 3 if CHAOS else 20

# What the 15a branch (the board's rules) and the 15b branch (what is drawn) fix.
BY = {1: "15a", 2: "15a", 3: "15b", 4: "15b", 5: "15b", 6: "15a", 7: "15a", 8: "15a",
      10: "15a", 11: "15b", 12: "15a"}


@pytest.fixture(autouse=True)
def _quiet():
    """The board warns of every reset and conflict the world plays: thousands of lines."""
    logger = logging.getLogger("display.board")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


@pytest.mark.xfail(strict=False, reason="issue 15 findings 1-8,10-12: fixed by the 15a/15b "
                   "branches")
def test_the_board_against_the_world():
    run_state_machine_as_test(WorldMachine, settings=hunt_settings())


@pytest.mark.parametrize("finding", [
    pytest.param(n, marks=pytest.mark.xfail(strict=False, reason=(
        "issue 15 finding %d: fixed by the %s branch" % (n, BY[n]))))
    for n in sorted(HUNTS)])
def test_each_finding_in_its_own_world(finding):
    run_state_machine_as_test(HUNTS[finding], settings=hunt_settings(HUNT_EXAMPLES))
