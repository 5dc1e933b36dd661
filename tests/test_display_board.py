"""The board model: ward states in, tiles out — the contract's rules 2 and 3, sums, honesty."""

import dataclasses
import logging
from datetime import datetime, timedelta, timezone

from bedboard.payloads import WardState
from bedboard.topics import WardKey
from display.board import MAX_WARDS, Board, Reason, Status
from display.config import Label, TileSpec

WALL = datetime(2026, 11, 25, 18, 0, tzinfo=timezone.utc)
MALE = WardKey("nrs", "medicine", "male")
FEMALE = WardKey("nrs", "medicine", "female")
ICU = WardKey("nrs", "icu", "unit-1")
TILES = (TileSpec("nrs", "medicine", None, Label("Medicine", "মেডিসিন")),
         TileSpec("nrs", "icu", None, Label("ICU")))


def state(capacity=40, occupied=30, blocked=0, seq=1, agent="nrs-medicine-male",
          at=WALL, **extra):
    return WardState(capacity=capacity, occupied=occupied, blocked=blocked, seq=seq,
                     at=at, agent=agent, **extra)


def synced(made):
    return dataclasses.replace(made, synced=True)


def board(tiles=TILES, **kw):
    made = Board("nrs", tiles, now=0.0, **kw)
    made.set_connected(True, 0.0, WALL)
    return made


def tile(made, index=0, now=1.0):
    return made.view(now).tiles[index]


def test_a_tile_sums_its_wards_and_vacant_is_capacity_minus_occupied_minus_blocked():
    made = board()
    made.receive_state(MALE, state(40, 30, 2), 1.0, WALL)
    made.receive_state(FEMALE, state(20, 15, 1, agent="nrs-medicine-female"), 1.0, WALL)
    view = tile(made)
    assert (view.capacity, view.occupied, view.blocked, view.vacant) == (60, 45, 3, 12)
    assert view.status is Status.AVAILABLE and view.live
    assert (view.wards, view.missing) == (2, 0)
    assert made.view(1.0).total_vacant == 12


def test_states_full_and_few_left():
    made = board(few_left=3)
    made.receive_state(ICU, state(10, 10, agent="nrs-icu-unit-1"), 1.0)
    assert tile(made, 1).status is Status.FULL
    made.receive_state(ICU, state(10, 7, seq=2, agent="nrs-icu-unit-1"), 1.0)
    assert tile(made, 1).status is Status.FEW_LEFT
    made.receive_state(ICU, state(10, 6, seq=3, agent="nrs-icu-unit-1"), 1.0)
    assert tile(made, 1).status is Status.AVAILABLE


def test_a_lower_seq_is_not_applied_and_an_equal_one_with_the_same_counts_only_refreshes():
    made = board(stale_after=180)
    assert made.receive_state(MALE, state(occupied=30, seq=5), 1.0)
    assert made.receive_state(MALE, state(occupied=30, seq=5), 170.0)
    assert tile(made, now=300.0).vacant == 10 and tile(made, now=300.0).live
    assert not tile(made, now=351.0).live


def test_a_replaced_panel_is_taken_whatever_its_seq_once_the_old_one_is_offline():
    made = board()
    made.receive_state(MALE, state(occupied=30, seq=900), 1.0)
    made.receive_status("nrs-medicine-male", False, 1.5)
    assert made.receive_state(MALE, state(occupied=25, seq=1, agent="nrs-medicine-male-2"), 2.0)
    view = tile(made, now=2.0)
    assert view.vacant == 15 and view.live and not view.conflict


def test_nothing_within_stale_after_of_receipt_is_not_reporting_with_the_figure_greyed():
    made = board(stale_after=180)
    made.receive_state(MALE, state(40, 30), 10.0, WALL)
    assert tile(made, now=189.9).live
    view = tile(made, now=190.5)
    assert view.status is Status.NOT_REPORTING
    assert view.vacant == 10                    # shown, but not as live
    assert view.silent_minutes == 3
    assert made.view(190.5).total_vacant is None       # nothing live: not known


def test_the_at_field_never_decides_liveness():
    made = board(stale_after=180)
    ancient = WALL - timedelta(days=400)
    made.receive_state(MALE, state(at=ancient), 10.0, WALL)
    assert tile(made, now=11.0).live
    assert tile(made, now=11.0).changed_minutes is None    # age unknown, not made up


def test_an_offline_status_makes_its_wards_not_reporting_until_the_agent_speaks_again():
    made = board()
    made.receive_state(MALE, state(), 1.0)
    assert made.receive_status("nrs-medicine-male", False, 2.0)
    view = tile(made, now=2.0)
    assert view.status is Status.NOT_REPORTING and view.offline
    # "online" alone may be a copy (a node whose copies lag behind the will): the
    # will ended the life its last state gave; its next state gives it back
    assert made.receive_status("nrs-medicine-male", True, 3.0)
    assert not tile(made, now=3.0).live
    made.receive_state(MALE, state(), 3.5)
    assert tile(made, now=3.5).live
    # a status before any state is remembered (the broker's copies, at start)
    made.receive_status("nrs-icu-unit-1", False, 4.0, retained=True)
    made.receive_state(ICU, state(agent="nrs-icu-unit-1"), 5.0, retained=True)
    assert tile(made, 1, now=5.0).status is Status.NOT_REPORTING


def test_a_tile_with_some_wards_missing_shows_what_it_knows_and_says_so():
    made = board()
    made.receive_state(MALE, state(40, 30), 1.0)
    made.receive_state(FEMALE, state(20, 15, agent="nrs-medicine-female"), 1.0)
    made.receive_status("nrs-medicine-female", False, 2.0)
    view = tile(made, now=2.0)
    assert view.live and view.vacant == 10 and view.capacity == 40
    assert (view.wards, view.missing) == (2, 1)


def test_named_wards_never_heard_count_as_missing():
    spec = TileSpec("nrs", "surgery", ("male", "female"), Label("Surgery"))
    made = board(tiles=(spec,))
    assert tile(made, now=0.5).status is Status.WAITING
    made.receive_state(WardKey("nrs", "surgery", "male"),
                       state(agent="nrs-surgery-male"), 1.0)
    view = tile(made, now=1.0)
    assert view.live and (view.wards, view.missing) == (2, 1)
    assert not made.complete()
    made.receive_state(WardKey("nrs", "surgery", "female"),
                       state(agent="nrs-surgery-female"), 1.0)
    assert made.complete()
    # wards the tile does not name are not its business
    assert not made.receive_state(WardKey("nrs", "surgery", "isolation"),
                                  state(agent="x-1"), 1.0)


def test_no_data_waits_then_says_not_reporting():
    made = board(stale_after=60)
    assert tile(made, now=59.0).status is Status.WAITING
    view = tile(made, now=61.0)
    assert view.status is Status.NOT_REPORTING and view.vacant is None


def test_losing_the_broker_marks_every_live_figure_last_known():
    made = board()
    made.receive_state(MALE, state(40, 30), 1.0)
    made.receive_state(ICU, state(10, 10, agent="nrs-icu-unit-1"), 1.0)
    made.receive_status("nrs-icu-unit-1", False, 1.0)
    assert made.set_connected(False, 5.0, WALL + timedelta(seconds=5))
    view = made.view(65.0)
    assert not view.connected and view.ever_connected
    assert view.since == WALL + timedelta(seconds=5) and view.since_minutes == 1
    assert [t.status for t in view.tiles] == [Status.LAST_KNOWN, Status.NOT_REPORTING]
    assert not any(t.live for t in view.tiles)
    assert view.tiles[0].vacant == 10 and view.total_vacant == 10
    made.set_connected(True, 70.0, WALL)
    # issue 15, finding 6: not live again before its status came on the new connection
    assert made.view(70.0).tiles[0].reason is Reason.CHECKING
    made.receive_status("nrs-medicine-male", True, 70.1, retained=True)
    assert made.view(70.1).tiles[0].live


def test_vacancy_rising_from_zero_highlights_the_tile_for_a_while():
    made = board(highlight_seconds=300, stale_after=1000)
    made.receive_state(ICU, state(10, 10, agent="nrs-icu-unit-1"), 1.0)
    assert not tile(made, 1, now=1.0).highlighted
    made.receive_state(ICU, state(10, 8, seq=2, agent="nrs-icu-unit-1"), 10.0)
    assert tile(made, 1, now=11.0).highlighted
    assert tile(made, 1, now=309.0).highlighted
    assert not tile(made, 1, now=310.5).highlighted
    # the first figure seen is not a rise; nor is a return to 0
    made.receive_state(ICU, state(10, 10, seq=3, agent="nrs-icu-unit-1"), 20.0)
    assert not tile(made, 1, now=21.0).highlighted


def test_figures_changed_time_comes_from_a_live_receipt_or_a_synced_plausible_at():
    made = board()
    made.receive_state(MALE, synced(state(at=WALL - timedelta(minutes=4))), 100.0, WALL)
    assert tile(made, now=100.0).changed_minutes == 4
    made.receive_state(MALE, state(occupied=29, seq=2), 400.0, WALL)
    assert tile(made, now=460.0).changed_minutes == 1
    made.receive_state(MALE, state(occupied=29, seq=3), 500.0, WALL)   # same figures
    assert tile(made, now=520.0).changed_minutes == 2


def test_without_configured_tiles_one_per_department_in_a_stable_order():
    made = board(tiles=None)
    made.receive_state(ICU, state(agent="nrs-icu-unit-1"), 1.0)
    made.receive_state(MALE, state(), 1.0)
    made.receive_state(WardKey("sskm", "medicine", "male"), state(agent="s-1"), 1.0)
    view = made.view(1.0)
    assert [t.label.en for t in view.tiles] == ["ICU", "Medicine"]
    assert view.tiles[1].label.bn == "মেডিসিন"
    other = board(tiles=None)
    other.receive_state(MALE, state(), 1.0)
    other.receive_state(ICU, state(agent="nrs-icu-unit-1"), 1.0)
    assert other.view(1.0).tiles == view.tiles


def test_a_ward_on_two_tiles_counts_once_in_the_total():
    both = (TileSpec("nrs", "medicine", None, Label("All")),
            TileSpec("nrs", "medicine", ("male",), Label("Male")))
    made = board(tiles=both)
    made.receive_state(MALE, state(40, 30), 1.0)
    assert [t.vacant for t in made.view(1.0).tiles] == [10, 10]
    assert made.view(1.0).total_vacant == 10


# -- regressions: the ways the wall could lie (issue 12) ----------------------

def test_finding_1_a_reused_seq_with_other_counts_is_a_conflict_not_a_heartbeat():
    made = board(stale_after=180)
    made.receive_state(MALE, state(40, 33, seq=1005), 1.0)            # 7 vacant
    assert tile(made, now=1.0).status is Status.AVAILABLE
    # the panel restarted from an old copy and re-reached seq 1005: the ward is full
    assert made.receive_state(MALE, state(40, 40, seq=1005), 60.0)
    view = tile(made, now=61.0)
    assert (view.vacant, view.live) == (0, True)       # the live panel's figure, not the old
    assert view.reset                                  # and the tile says the panel was reset
    # its heartbeats keep the new figure, not the old one
    made.receive_state(MALE, state(40, 40, seq=1005), 120.0)
    assert tile(made, now=121.0).vacant == 0
    # a retained copy that disagrees with what came live is not taken as a figure
    made.receive_state(MALE, state(40, 33, seq=1005), 130.0, retained=True)
    assert not tile(made, now=131.0).live
    # until the panel moves on
    made.receive_state(MALE, state(40, 39, seq=1006), 140.0)
    view = tile(made, now=141.0)
    assert (view.vacant, view.live, view.reset) == (1, True, False)


def test_finding_1_a_restored_panel_says_its_count_is_unconfirmed():
    made = board()
    made.receive_state(MALE, state(40, 30, seq=8, unconfirmed=True), 1.0)
    view = tile(made, now=1.0)
    assert view.live and view.unconfirmed
    made.receive_state(MALE, state(40, 31, seq=9), 2.0)                # a bed manager's set
    assert not tile(made, now=2.0).unconfirmed


def test_finding_2_a_retained_copy_is_not_a_sign_of_life():
    made = board(stale_after=180)
    made.receive_status("nrs-medicine-male", True, 0.5, retained=True)
    made.receive_state(MALE, state(40, 30), 1.0, retained=True)
    assert tile(made, now=2.0).live                                    # the broker's memory...
    view = tile(made, now=1.0 + 75.0)
    assert not view.live and view.status is Status.NOT_REPORTING      # ...for one heartbeat
    assert view.reason is Reason.SILENT
    # a live heartbeat makes it live for stale_after
    made.receive_state(MALE, state(40, 30), 100.0)
    assert tile(made, now=279.0).live
    assert not tile(made, now=280.5).live


def test_finding_2_silence_is_counted_from_the_last_live_message_not_a_replay():
    made = board(stale_after=180)
    made.receive_state(MALE, state(40, 30), 1.0)                       # live
    made.set_connected(False, 100.0, WALL)
    made.set_connected(True, 1200.0, WALL)
    made.receive_status("nrs-medicine-male", True, 1200.0, retained=True)
    made.receive_state(MALE, state(40, 30), 1200.0, retained=True)     # the replay
    view = tile(made, now=1300.0)
    assert view.status is Status.NOT_REPORTING
    assert view.silent_minutes == 21                                   # not "1 min"


def test_finding_3_the_total_is_frozen_when_the_link_drops_and_unknown_once_all_is_stale():
    made = board(stale_after=180)
    made.receive_state(MALE, state(40, 30), 1.0)
    made.set_connected(False, 10.0, WALL)
    made.receive_state(FEMALE, state(20, 10, agent="nrs-medicine-female"), 11.0)  # not possible, but harmless
    assert made.view(100.0).total_vacant == 10          # the total at the moment it dropped
    view = made.view(400.0)
    assert all(not t.live for t in view.tiles)
    assert view.total_vacant is None                     # not "last known: 0"


def test_finding_4_a_partly_reporting_tile_never_claims_full_or_few_left():
    made = board(few_left=3)
    made.receive_state(MALE, state(40, 40), 1.0)
    made.receive_state(FEMALE, state(20, 15, agent="nrs-medicine-female"), 1.0)
    assert tile(made, now=1.0).status is Status.AVAILABLE
    made.receive_status("nrs-medicine-female", False, 2.0)
    view = tile(made, now=2.0)
    assert view.status is Status.PARTIAL and view.missing == 1 and view.vacant == 0
    assert view.reason is Reason.OFFLINE
    assert made.view(2.0).tiles_partial == 1
    made.receive_state(MALE, state(40, 38, seq=2), 3.0)
    assert tile(made, now=3.0).status is Status.PARTIAL                # 2 ≤ few_left
    made.receive_state(MALE, state(40, 30, seq=3), 4.0)
    # at least 10 free is true, but the figure is of one ward of two: since issue 15
    # the bar says PART DATA and how many wards are missing whatever the rest would say
    assert tile(made, now=4.0).status is Status.PARTIAL


def test_finding_5_two_agents_on_one_ward_are_said_loudly_and_do_not_flip(caplog):
    made = board()
    made.receive_state(MALE, state(40, 30, seq=50), 1.0)
    with caplog.at_level(logging.WARNING, "display.board"):
        made.receive_state(MALE, state(40, 20, seq=3, agent="nrs-medicine-male-b"), 2.0)
    assert "counted by two agents" in caplog.text
    view = tile(made, now=2.0)
    assert view.conflict and view.vacant == 20                 # the one that changed it last
    made.receive_state(MALE, state(40, 30, seq=50), 60.0)      # the other's heartbeat
    assert tile(made, now=60.0).vacant == 20                   # no flip on a heartbeat
    made.receive_state(MALE, state(40, 31, seq=51), 61.0)      # its real change
    assert tile(made, now=61.0).vacant == 9
    made.receive_status("nrs-medicine-male-b", False, 70.0)
    view = tile(made, now=70.0)
    assert not view.conflict and view.vacant == 9


def test_finding_6_a_lower_seq_is_logged_and_the_tile_says_the_panel_was_reset(caplog):
    made = board()
    made.receive_state(MALE, state(40, 30, seq=1005), 1.0)
    with caplog.at_level(logging.WARNING, "display.board"):
        made.receive_state(MALE, state(40, 31, seq=1000), 2.0)
    assert "lower than the 1005 applied" in caplog.text
    view = tile(made, now=2.0)
    assert view.status is Status.NOT_REPORTING and view.reason is Reason.RESET
    assert view.vacant == 10                                    # the old figure, grey
    made.receive_state(MALE, state(40, 32, seq=1006), 3.0)
    view = tile(made, now=3.0)
    assert view.live and view.vacant == 8 and not view.reset


def test_finding_7_a_flood_of_strangers_cannot_push_out_the_boards_own_agents():
    made = board()
    made.receive_state(MALE, state(), 1.0)
    for number in range(4 * MAX_WARDS + 10):
        made.receive_status("stranger-%d" % number, False, 1.0)
    assert made.receive_status("nrs-medicine-male", False, 2.0)
    assert tile(made, now=2.0).status is Status.NOT_REPORTING


def test_finding_8_a_not_reporting_tile_names_its_longest_silence():
    made = board(stale_after=180)
    made.receive_state(MALE, state(40, 30), 1.0)
    made.receive_state(FEMALE, state(20, 15, agent="nrs-medicine-female"), 3000.0)
    view = tile(made, now=3200.0)
    assert view.status is Status.NOT_REPORTING
    assert view.silent_minutes == 53                             # the male ward's, not 3


def test_finding_8_a_ward_without_beds_is_closed_not_full():
    made = board()
    made.receive_state(ICU, state(0, 0, agent="nrs-icu-unit-1"), 1.0)
    assert tile(made, 1, now=1.0).status is Status.CLOSED


def test_finding_8_updated_ages_are_unknown_rather_than_wrong():
    made = board()
    # an agent whose clock is not synchronised: its "at" says nothing
    made.receive_state(MALE, state(at=WALL - timedelta(hours=5)), 1.0, WALL)
    assert tile(made, now=1.0).changed_minutes is None
    # a change made while the board was not listening is not "just now"
    made.receive_state(MALE, state(occupied=29, seq=2), 100.0, WALL)
    assert tile(made, now=100.0).changed_minutes == 0
    made.set_connected(False, 110.0, WALL)
    made.set_connected(True, 900.0, WALL)
    made.receive_state(MALE, state(occupied=28, seq=3), 900.0, WALL, retained=True)
    assert tile(made, now=901.0).changed_minutes is None
    # one ward of unknown age makes the tile's age unknown
    made.receive_state(MALE, state(occupied=27, seq=4), 950.0, WALL)
    made.receive_state(FEMALE, state(20, 15, agent="nrs-medicine-female",
                                     at=WALL - timedelta(hours=3)), 951.0, WALL)
    assert tile(made, now=960.0).changed_minutes is None


def test_finding_8_a_long_outage_blames_the_connection_not_the_wards():
    made = board(stale_after=180)
    made.receive_state(MALE, state(), 1.0)
    made.set_connected(False, 10.0, WALL)
    assert tile(made, now=100.0).status is Status.LAST_KNOWN
    view = tile(made, now=500.0)
    assert view.status is Status.NOT_REPORTING and view.reason is Reason.CONNECTION


def test_finding_8_the_header_is_not_live_when_no_tile_is():
    made = board(stale_after=180)
    made.receive_state(MALE, state(), 1.0)
    assert made.view(2.0).live_tiles == 1
    view = made.view(500.0)
    assert view.connected and view.live_tiles == 0


def test_finding_8_an_empty_retained_state_retires_the_ward():
    made = board(tiles=None)
    made.receive_state(MALE, state(40, 30), 1.0)
    made.receive_state(FEMALE, state(20, 15, agent="nrs-medicine-female"), 1.0)
    assert made.receive_retired(FEMALE, 2.0)
    view = made.view(2.0).tiles[0]
    assert (view.wards, view.missing, view.vacant) == (1, 0, 10)
    assert made.receive_retired(MALE, 3.0)
    assert made.view(3.0).tiles == ()


def test_finding_11_a_live_state_proves_its_agent_online():
    made = board()
    made.receive_state(MALE, state(), 1.0)
    made.receive_status("nrs-medicine-male", False, 2.0, retained=True)    # a stale offline
    assert not tile(made, now=2.0).live
    made.receive_state(MALE, state(), 60.0)                                # its heartbeat
    assert tile(made, now=60.0).live


def test_a_retained_state_waits_briefly_for_its_agents_status():
    made = board()
    made.receive_state(MALE, state(), 1.0, retained=True)
    assert tile(made, now=1.1).status is Status.WAITING       # not live before its status
    assert not made.complete(1.1)
    made.receive_status("nrs-medicine-male", False, 1.2, retained=True)
    assert tile(made, now=1.2).status is Status.NOT_REPORTING
    other = board()
    other.receive_state(MALE, state(), 1.0, retained=True)
    assert tile(other, now=4.5).live                           # no status at all: not for ever


# -- "beds just freed" means a live change (issue 11, part 4) -------------------

def full_icu(made, now=1.0, retained=False):
    made.receive_state(ICU, state(10, 10, agent="nrs-icu-unit-1"), now, retained=retained)


def test_highlight_the_true_case():
    made = board(highlight_seconds=300)
    full_icu(made)
    made.receive_state(ICU, state(10, 9, seq=2, agent="nrs-icu-unit-1"), 10.0)
    assert tile(made, 1, now=11.0).highlighted


def test_highlight_never_from_the_initial_sync_of_retained_states():
    spec = TileSpec("nrs", "surgery", ("a", "b"), Label("Surgery"))
    made = board(tiles=(spec,), highlight_seconds=300)
    made.receive_state(WardKey("nrs", "surgery", "a"), state(10, 10, agent="s-a"), 1.0,
                       retained=True)
    made.receive_state(WardKey("nrs", "surgery", "b"), state(10, 5, agent="s-b"), 1.0,
                       retained=True)
    assert not tile(made, now=1.0).highlighted


def test_highlight_never_from_a_partial_sum_filling_in():
    spec = TileSpec("nrs", "surgery", ("a", "b"), Label("Surgery"))
    made = board(tiles=(spec,), highlight_seconds=300)
    made.receive_state(WardKey("nrs", "surgery", "a"), state(10, 10, agent="s-a"), 1.0)
    made.receive_state(WardKey("nrs", "surgery", "b"), state(10, 5, agent="s-b"), 2.0)
    assert not tile(made, now=2.0).highlighted


def test_highlight_never_from_a_wards_first_message():
    made = board(highlight_seconds=300)
    made.receive_state(ICU, state(10, 9, agent="nrs-icu-unit-1"), 1.0)
    assert not tile(made, 1, now=1.0).highlighted


def test_highlight_never_from_a_ward_coming_back_from_not_reporting():
    made = board(highlight_seconds=300, stale_after=180)
    full_icu(made)
    made.receive_state(ICU, state(10, 9, seq=2, agent="nrs-icu-unit-1"), 500.0)
    assert not tile(made, 1, now=500.0).highlighted


def test_highlight_never_from_the_broker_coming_back():
    made = board(highlight_seconds=300)
    full_icu(made)
    made.set_connected(False, 5.0, WALL)
    made.set_connected(True, 20.0, WALL)
    made.receive_state(ICU, state(10, 9, seq=2, agent="nrs-icu-unit-1"), 20.0, retained=True)
    assert not tile(made, 1, now=21.0).highlighted


def test_highlight_never_from_a_panel_coming_back_online():
    made = board(highlight_seconds=300)
    full_icu(made)
    made.receive_status("nrs-icu-unit-1", False, 5.0)
    made.receive_state(ICU, state(10, 9, seq=2, agent="nrs-icu-unit-1"), 6.0)
    assert not tile(made, 1, now=6.0).highlighted


def test_while_the_link_is_down_an_offline_panel_is_still_named_and_silence_is_blamed_on_it():
    made = board(stale_after=180)
    made.receive_state(MALE, state(), 1.0)
    made.receive_state(ICU, state(agent="nrs-icu-unit-1"), 1.0)
    made.receive_status("nrs-icu-unit-1", False, 2.0)
    made.set_connected(False, 10.0, WALL)
    view = made.view(20.0)
    assert view.tiles[1].reason is Reason.OFFLINE          # known before the link went
    assert made.view(400.0).tiles[0].reason is Reason.CONNECTION


def test_highlight_never_from_a_change_made_while_the_board_was_away():
    """Found by the truth machine under make chaos: the bed was freed during an
    outage; the agent's republish on its return is newer, and live, but not news."""
    made = board(highlight_seconds=300)
    full_icu(made, retained=True)                       # the broker's copy at start
    made.receive_status("nrs-icu-unit-1", True, 1.0, retained=True)
    made.set_connected(False, 5.0, WALL)
    made.set_connected(True, 6.0, WALL)
    made.receive_state(ICU, state(10, 8, seq=2, agent="nrs-icu-unit-1"), 7.0)
    assert not tile(made, 1, now=7.0).highlighted
    # once it has spoken live on this connection, its next change is news
    made.receive_state(ICU, state(10, 10, seq=3, agent="nrs-icu-unit-1"), 8.0)
    made.receive_state(ICU, state(10, 9, seq=4, agent="nrs-icu-unit-1"), 9.0)
    assert tile(made, 1, now=9.0).highlighted


def test_an_old_agents_copy_the_board_already_holds_gives_no_life_on_its_reconnect():
    # issue 15, finding 2, for an agent without boot/beat (the world machine found it on
    # the merged board): the agent last spoke live at t=10 and died with no will; each
    # reconnect of the board's own link brings the broker's copy of that same state
    made = board(stale_after=180.0, retained_for=75.0)
    made.receive_state(ICU, state(10, 7, agent="nrs-icu-unit-1"), 10.0)
    made.receive_status("nrs-icu-unit-1", True, 10.0)
    for t in (150.0, 185.0):
        made.set_connected(False, t - 1.0)
        made.set_connected(True, t)
        made.receive_state(ICU, state(10, 7, agent="nrs-icu-unit-1"), t, retained=True)
        made.receive_status("nrs-icu-unit-1", True, t, retained=True)
    assert not tile(made, 1, now=191.0).live      # 10 + 180: its life ended
