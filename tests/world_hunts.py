"""One narrowed world per finding of issue 15: only the rules that can reach it,
judged only by the properties that name it (tests/world_findings.md)."""

import logging
import os
import sys
import time
import traceback

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, rule, run_state_machine_as_test

from .world_machine import SIZES, WARDS, WorldMachine

RULES = ("press", "bed_manager_sets", "capacity_corrected", "agent_dies", "agent_hangs",
         "agent_restarts", "a_second_panel_counts_the_ward", "the_panel_is_replaced",
         "the_ward_is_retired", "a_retired_ward_returns", "autosave",
         "state_broker_goes_down", "state_broker_comes_back", "the_bridge_drops",
         "the_boards_node_fails_over_to_a_lagging_one", "the_bridge_reconnects",
         "the_hospital_broker_goes_down",
         "the_hospital_broker_comes_back", "the_boards_link_drops", "the_boards_link_returns",
         "a_second_board_has_its_id", "the_board_restarts",
         "the_boards_clock_is_unsynchronised", "the_boards_clock_syncs", "time_passes",
         "a_nurse_checks_the_count", "a_bed_is_held_for_a_referral", "a_hold_ends",
         "time_passes_to_a_check_falling_due")


def narrowed(name, rules, properties, topologies=("direct",), old=False, fillers=(False,)):
    """A WorldMachine with only ``rules`` (the rest taken away), judging ``properties``."""
    unknown = set(rules) - set(RULES)
    assert not unknown, unknown
    body = {rule_name: None for rule_name in RULES if rule_name not in rules}

    def start(self, **kw):
        self._setup(**kw)  # pylint: disable=protected-access

    body["start"] = initialize(
        topology=st.sampled_from(tuple(topologies)), fillers=st.sampled_from(tuple(fillers)),
        size=st.sampled_from(SIZES),
        old=st.tuples(*[st.booleans() if old else st.just(False)] * 3))(start)
    body.update(OLD_AGENTS=old, PROPERTIES=frozenset(properties))
    return type(name, (WorldMachine,), body)


DEATHS = ("agent_dies", "agent_hangs", "time_passes")
BROKER = ("state_broker_goes_down", "state_broker_comes_back")

HUNTS = {
    1: narrowed("Finding1Bridge", DEATHS + (
        "the_bridge_drops", "the_bridge_reconnects", "the_hospital_broker_goes_down",
        "the_hospital_broker_comes_back"), "ab", topologies=("bridge",)),
    2: narrowed("Finding2OwnLink", ("agent_hangs", "time_passes", "the_boards_link_drops",
                                    "the_boards_link_returns", "a_second_board_has_its_id"),
                "ab"),
    3: narrowed("Finding3Drawn", DEATHS + ("a_second_panel_counts_the_ward",), "d",
                fillers=(True,)),
    4: narrowed("Finding4Footer", DEATHS, "e"),
    5: narrowed("Finding5Forgets", DEATHS + BROKER + ("the_board_restarts",), "ab"),
    6: narrowed("Finding6Burst", ("the_boards_link_drops", "the_boards_link_returns",
                                  "time_passes"), "b"),
    7: narrowed("Finding7Carried", ("press", "the_panel_is_replaced", "the_ward_is_retired",
                                    "a_retired_ward_returns", "time_passes"), "c"),
    8: narrowed("Finding8Capacity", ("press", "capacity_corrected", "time_passes"), "c"),
    10: narrowed("Finding10SeqRestart", ("press", "bed_manager_sets", "time_passes"), "h"),
    11: narrowed("Finding11Clock", ("the_boards_clock_is_unsynchronised",
                                    "the_boards_clock_syncs", "the_boards_link_drops",
                                    "the_boards_link_returns", "time_passes") + BROKER, "f"),
    12: narrowed("Finding12Reason", ("press", "agent_dies", "autosave", "time_passes")
                 + BROKER, "g"),
}


class Finding6Burst(HUNTS[6]):
    """Only deaths whose will fires: a silent death is finding 2's."""

    @rule(key=st.sampled_from(WARDS))
    def a_panel_dies_and_its_will_fires(self, key):
        WorldMachine.agent_dies(self, key=key, will=True)


HUNTS[6] = Finding6Burst


class Finding10SeqRestart(HUNTS[10]):
    """A technician puts a new SD card in a panel: it starts again from seq 0, and
    the bed manager sets its count (the legitimate restart of finding 10, in one
    step: the whole world's dies-then-restarts-then-loses-the-broker's-copy was
    not reached in 2,000 examples)."""

    @rule(key=st.sampled_from(WARDS))
    def a_panel_gets_a_new_card(self, key):
        WorldMachine.agent_dies(self, key=key, will=True)
        WorldMachine.agent_restarts(self, key=key, ledger="a new card")


HUNTS[10] = Finding10SeqRestart


def hunt(findings, examples=300):
    """Run each narrowed world until it fails; print the minimal example it shrinks to.

    ``.venv/bin/python -m tests.world_hunts [N ...]`` (tests/world_findings.md was
    made so, against the unfixed board).
    """
    logging.getLogger("display.board").setLevel(logging.ERROR)
    for finding in findings:
        began = time.monotonic()
        try:
            run_state_machine_as_test(HUNTS[finding], settings=settings(
                max_examples=examples, stateful_step_count=30, deadline=None, database=None,
                report_multiple_bugs=False, suppress_health_check=list(HealthCheck)))
        except AssertionError as exc:
            print("=== finding %d: found in %.0f s" % (finding, time.monotonic() - began))
            print("".join(traceback.format_exception_only(type(exc), exc)).strip())
            print("\n".join(getattr(exc, "__notes__", ())))
        else:
            print("=== finding %d: not found in %d examples (%.0f s)" % (
                finding, examples, time.monotonic() - began))


if __name__ == "__main__":
    hunt([int(a) for a in sys.argv[1:]] or sorted(HUNTS),
         int(os.environ.get("BEDBOARD_HUNT_EXAMPLES", 300)))
