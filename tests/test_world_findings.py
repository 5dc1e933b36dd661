"""Issue 15's twelve findings, each as the plain regression test it first failed as.

Each ``test_N_…`` replays, step by step with the world's checks after every
step, the minimal example a narrowed world (tests/world_hunts.py) shrank to
against the unfixed board — tests/world_findings.md has them as Hypothesis
printed them — or, beside it, a variant of the same finding made by hand
(named so in world_findings.md).  Two the machine cannot reach are directed
tests: a tile of many wards loading in linear time (finding 9), and night
dimming while the clock is not synchronised (finding 11, its second half).
Each failed on the unfixed board (main at 6daad13) and passes on the fixed one.
"""

import logging
import statistics
import time
from datetime import datetime, timezone

import pygame

from bedboard.payloads import WardState
from bedboard.topics import WardKey
from display import config
from display.app import BoardApp
from display.board import Board
from display.config import Label, TileSpec

from .test_display_app import BOARD_YAML, _NoLink, write_config
from .world_hunts import HUNTS
from .world_machine import FEMALE, ICU, MALE, WorldMachine



def play(finding, start, *steps):
    """Run ``steps`` ((rule, kwargs), …) in finding's narrowed world (judged by its
    properties), checking after each."""
    machine = HUNTS[finding]()
    machine.start(**start)
    machine.what_was_drawn_is_true()
    for name, kwargs in steps:
        step = getattr(machine, name) or getattr(WorldMachine, name).__get__(machine)
        step(**kwargs)     # a rule the narrowed world leaves out: the whole world's
        machine.what_was_drawn_is_true()


DIRECT = dict(topology="direct", fillers=False, size=(1280, 720), old=(False, False, False))
BRIDGE = dict(DIRECT, topology="bridge")


def test_1_a_bridge_replay_of_a_hung_panel_is_not_live():
    play(1, BRIDGE, ("agent_hangs", {"key": MALE}), ("the_bridge_drops", {}),
         ("time_passes", {"seconds": 76.0}), ("the_bridge_reconnects", {}))


def test_2_the_boards_own_reconnect_does_not_revive_a_silent_ward():
    play(2, DIRECT, ("the_boards_link_drops", {}), ("agent_hangs", {"key": MALE}),
         ("time_passes", {"seconds": 76.0}), ("the_boards_link_returns", {}))


def test_2_two_boards_with_one_id_do_not_revive_a_silent_ward():
    play(2, DIRECT, ("agent_hangs", {"key": MALE}), ("time_passes", {"seconds": 76.0}),
         ("a_second_board_has_its_id", {"flaps": 1}))


def test_3_a_missing_ward_is_said_on_a_ten_tile_board_at_1280x720():
    play(3, dict(DIRECT, fillers=True), ("agent_dies", {"key": MALE, "will": True}))


def test_3_a_missing_ward_is_said_beside_two_panels_on_another():
    play(3, DIRECT, ("a_second_panel_counts_the_ward", {"key": MALE}),
         ("agent_dies", {"key": FEMALE, "will": True}))


def test_4_the_footer_says_it_leaves_out_a_ward_of_a_partly_live_tile():
    play(4, DIRECT, ("agent_dies", {"key": MALE, "will": True}))


def test_5_a_department_tile_remembers_a_dead_ward_over_a_board_restart():
    play(5, DIRECT, ("state_broker_goes_down", {}), ("agent_hangs", {"key": MALE}),
         ("the_board_restarts", {}),
         ("state_broker_comes_back", {"restore": "an old autosave", "board_first": False}))


def test_6_a_will_fired_during_the_boards_outage_is_never_shown_live():
    play(6, DIRECT, ("the_boards_link_drops", {}),
         ("a_panel_dies_and_its_will_fires", {"key": MALE}),
         ("time_passes", {"seconds": 1.0}), ("the_boards_link_returns", {}))


def test_7_beds_just_freed_does_not_carry_over_to_a_replaced_panel():
    play(7, DIRECT, ("press", {"key": ICU, "kind": "taken"}),
         ("press", {"key": ICU, "kind": "taken"}),
         ("press", {"key": ICU, "kind": "discharge"}),
         ("the_panel_is_replaced", {"key": ICU, "new": False}))


def test_7_beds_just_freed_does_not_carry_over_to_a_returned_ward():
    play(7, DIRECT, ("press", {"key": ICU, "kind": "taken"}),
         ("press", {"key": ICU, "kind": "taken"}),
         ("press", {"key": ICU, "kind": "discharge"}),
         ("the_ward_is_retired", {"key": ICU}), ("a_retired_ward_returns", {"key": ICU}))


def test_8_capacity_corrections_that_fill_and_open_a_tile_are_not_beds_just_freed():
    play(8, DIRECT, ("press", {"key": FEMALE, "kind": "taken"}),
         ("capacity_corrected", {"delta": -2, "key": MALE}),
         ("capacity_corrected", {"delta": -2, "key": MALE}),
         ("capacity_corrected", {"delta": -2, "key": FEMALE}),
         ("capacity_corrected", {"delta": 1, "key": MALE}))


def test_8_a_capacity_correction_is_not_beds_just_freed():
    play(8, DIRECT, ("press", {"key": ICU, "kind": "taken"}),
         ("press", {"key": ICU, "kind": "taken"}),
         ("capacity_corrected", {"key": ICU, "delta": 1}))


def test_10_a_new_card_set_by_the_bed_manager_reports_again():
    play(10, DIRECT, ("bed_manager_sets", {"key": ICU, "occupied": 0}),
         ("bed_manager_sets", {"key": ICU, "occupied": 0}),
         ("a_panel_gets_a_new_card", {"key": ICU}),
         ("bed_manager_sets", {"key": ICU, "occupied": 0}),
         ("time_passes", {"seconds": 77.0}))


def test_10_a_legitimate_seq_restart_is_settled_by_the_bed_managers_set():
    play(10, DIRECT, ("press", {"key": ICU, "kind": "taken"}),
         ("press", {"key": ICU, "kind": "taken"}),
         ("state_broker_goes_down", {}),
         ("agent_dies", {"key": ICU, "will": False}),
         ("state_broker_comes_back", {"restore": "nothing", "board_first": False}),
         ("agent_restarts", {"key": ICU, "ledger": "lost"}),
         ("bed_manager_sets", {"key": ICU, "occupied": 0}),
         ("time_passes", {"seconds": 90.0}))


def test_11_the_banner_never_shows_a_time_taken_while_the_clock_was_unsynchronised():
    play(11, DIRECT, ("the_boards_clock_is_unsynchronised", {"hours": -10}),
         ("state_broker_goes_down", {}), ("the_boards_clock_syncs", {}))


def test_12_an_old_autosave_of_a_silent_panel_is_not_a_reset_panel():
    play(12, DIRECT, ("autosave", {}), ("state_broker_goes_down", {}),
         ("press", {"key": ICU, "kind": "taken"}),
         ("state_broker_comes_back", {"restore": "everything", "board_first": False}),
         ("state_broker_goes_down", {}), ("agent_dies", {"key": ICU, "will": False}),
         ("state_broker_comes_back", {"restore": "an old autosave", "board_first": False}))


def test_12_a_lagging_node_s_old_copy_of_a_live_panel_is_not_a_reset_panel():
    play(12, DIRECT, ("autosave", {}), ("bed_manager_sets", {"key": ICU, "occupied": 0}),
         ("the_boards_node_fails_over_to_a_lagging_one", {}))


def test_12_an_old_autosave_of_a_dead_panel_is_not_a_reset_panel():
    play(12, DIRECT, ("autosave", {}), ("press", {"key": ICU, "kind": "taken"}),
         ("agent_dies", {"key": ICU, "will": True}), ("state_broker_goes_down", {}),
         ("state_broker_comes_back", {"restore": "an old autosave", "board_first": False}))


# -- the two the machine cannot reach ---------------------------------------------

def test_9_a_large_tile_loads_in_linear_time():
    """A retained burst of 600 wards into one department tile, drawn every 100
    messages as the loop would: a message of the last hundred must cost about what
    one of the first hundred did (the unfixed board's cost per message grows with
    the tile: its median there is 10-15 times the first hundred's)."""
    logging.getLogger("display.board").setLevel(logging.ERROR)
    wall = datetime(2026, 11, 25, 18, 0, tzinfo=timezone.utc)
    board = Board("nrs", (TileSpec("nrs", "medicine", None, Label("Medicine")),), now=0.0)
    board.set_connected(True, 0.0, wall)
    costs = []
    for i in range(600):
        state = WardState(capacity=10, occupied=3, seq=1, at=wall, agent="agent-%d" % i)
        began = time.perf_counter()
        board.receive_state(WardKey("nrs", "medicine", "w%d" % i), state, 1.0, wall,
                            retained=True)
        board.receive_status("agent-%d" % i, True, 1.0, True)
        if i % 100 == 99:
            board.view(1.0)
        costs.append(time.perf_counter() - began)
    # medians, not sums: one message delayed by a loaded machine must not decide
    first, last = statistics.median(costs[:100]), statistics.median(costs[-100:])
    assert last <= 3 * first + 0.0002, (first, last)
    assert board.view(1.0).tiles[0].wards == 600


def test_11_night_dimming_waits_for_a_synchronised_clock(tmp_path):
    """A Pi booted with the wrong time (01:30 by its clock, unsynchronised) stays bright."""
    path = write_config(tmp_path, BOARD_YAML.replace(
        "      burn_in: {pixels: 0}",
        "      burn_in: {pixels: 0}\n"
        "      night: {from: \"23:00\", to: \"06:00\", brightness: 0.3}"))
    wall = datetime(2026, 11, 25, 20, 0, tzinfo=timezone.utc)     # 01:30 in Kolkata
    app = BoardApp(config.read(path), clock=lambda: 1000.0, wall_clock=lambda: wall,
                   link_factory=_NoLink, clock_synced=lambda: False)
    try:
        surface = pygame.Surface((1280, 720))
        app.draw(surface, full=True)
        bright = app.renderer._base_palette  # pylint: disable=protected-access
        assert app.renderer.palette == bright
    finally:
        app.close()

