"""The board against the world: the grown machine (tests/world_machine.py)."""

import pytest

from .world_machine import WorldMachine, hunt_settings

WorldMachine.TestCase.settings = hunt_settings()
test_the_board_against_the_world = WorldMachine.TestCase
