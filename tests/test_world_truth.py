"""The board against the world: the grown state machine (tests/world_machine.py)
with every rule, judged by every world property (tests/world_oracle.py).

Checks and holds are part of the world (issue 20): nurses check counts, beds
are held for a referral and released, taken or left to expire, as new agents
publish them; (i), (j) and (k) judge the held line, the "not checked" caution
and the footer's count of unchecked wards against the world's truth.

``make test`` gives it 200 examples of 25 steps; ``make chaos``
(``BEDBOARD_CHAOS``) thousands of 60 steps, and shrinks what it finds.
tests/test_world_hunts.py has one narrowed world per finding of issue 15.
"""

import logging

import pytest
from hypothesis.stateful import run_state_machine_as_test

from .world_machine import CHAOS, WorldMachine, hunt_settings


@pytest.fixture(autouse=True, name="quiet")
def _quiet():
    """The board warns of every reset and conflict the world plays: thousands of lines."""
    logger = logging.getLogger("display.board")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


@pytest.mark.slow
@pytest.mark.timeout(0 if CHAOS else 300)     # ~80 s alone; make test runs four files at once
def test_the_board_against_the_world():
    run_state_machine_as_test(WorldMachine, settings=hunt_settings())
