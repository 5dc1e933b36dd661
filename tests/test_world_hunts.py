"""Issue 15's findings, each in its own narrowed world (tests/world_hunts.py): only
the rules that reach it, judged by the properties that name it.  Each found its
finding against the unfixed board (tests/world_findings.md has the minimal
examples); after the fixes each must find nothing.

``make test`` gives each 20 examples; ``make chaos`` a third of the chaos count.
"""

import inspect
import logging

import pytest
from hypothesis.stateful import RULE_MARKER, run_state_machine_as_test

from .world_hunts import HUNTS, RULES
from .world_machine import CHAOS, EXAMPLES, WorldMachine, hunt_settings

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
@pytest.mark.parametrize("finding", sorted(HUNTS))
def test_each_finding_in_its_own_world(finding):
    run_state_machine_as_test(HUNTS[finding], settings=hunt_settings(HUNT_EXAMPLES))


def test_a_narrowed_world_takes_away_every_rule_it_does_not_name():
    """RULES names every rule of the whole world (a rule added later but not named
    there would stay in every narrowed world, and muddle its examples)."""
    rules = {name for name, member in inspect.getmembers(WorldMachine)
             if getattr(member, RULE_MARKER, None) is not None}
    assert rules == set(RULES)
    narrow = HUNTS[8]
    kept = {name for name, member in inspect.getmembers(narrow)
            if getattr(member, RULE_MARKER, None) is not None}
    assert kept == {"press", "capacity_corrected", "time_passes"}
