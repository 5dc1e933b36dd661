"""Issue 15's findings, each in its own narrowed world (tests/world_hunts.py): only
the rules that reach it, judged by the properties that name it.  Each found its
finding against the unfixed board (tests/world_findings.md has the minimal
examples); after the fixes each must find nothing.

``make test`` gives each 20 examples; ``make chaos`` a third of the chaos count.
"""

import logging

import pytest
from hypothesis.stateful import run_state_machine_as_test

from .world_hunts import HUNTS, unfixed
from .world_machine import CHAOS, EXAMPLES, hunt_settings

HUNT_EXAMPLES = EXAMPLES // 3 if CHAOS else 20



@pytest.fixture(autouse=True, name="quiet")
def _quiet():
    """The board warns of every reset and conflict the world plays."""
    logger = logging.getLogger("display.board")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


@pytest.mark.timeout(0 if CHAOS else 120)
@pytest.mark.parametrize("finding", [
    pytest.param(n, marks=unfixed(n))
    for n in sorted(HUNTS)])
def test_each_finding_in_its_own_world(finding):
    run_state_machine_as_test(HUNTS[finding], settings=hunt_settings(HUNT_EXAMPLES))
