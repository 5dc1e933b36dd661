"""The board model: ward states in, tiles out — SPEC rules 2 and 3, sums, honesty."""

from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from bedboard.payloads import WardState
from bedboard.topics import WardKey
from display.board import Board, Status
from display.config import Label, TileSpec

WALL = datetime(2026, 11, 25, 18, 0, tzinfo=timezone.utc)
MALE = WardKey("nrs", "medicine", "male")
FEMALE = WardKey("nrs", "medicine", "female")
ICU = WardKey("nrs", "icu", "unit-1")
TILES = (TileSpec("nrs", "medicine", None, Label("Medicine", "মেডিসিন")),
         TileSpec("nrs", "icu", None, Label("ICU")))


def state(capacity=40, occupied=30, blocked=0, seq=1, agent="nrs-medicine-male",
          at=WALL):
    return WardState(capacity=capacity, occupied=occupied, blocked=blocked, seq=seq,
                     at=at, agent=agent)


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


def test_a_lower_seq_from_the_same_agent_is_ignored_an_equal_one_only_refreshes():
    made = board(stale_after=180)
    assert made.receive_state(MALE, state(occupied=30, seq=5), 1.0)
    assert not made.receive_state(MALE, state(occupied=10, seq=4), 2.0)
    assert tile(made, now=2.0).vacant == 10
    # equal seq: liveness only, figures unchanged even if they differ
    assert made.receive_state(MALE, state(occupied=20, seq=5), 170.0)
    assert tile(made, now=300.0).vacant == 10 and tile(made, now=300.0).live
    assert not tile(made, now=351.0).live


def test_a_new_agent_for_the_ward_is_taken_whatever_its_seq():
    made = board()
    made.receive_state(MALE, state(occupied=30, seq=900), 1.0)
    assert made.receive_state(MALE, state(occupied=25, seq=1, agent="nrs-medicine-male-2"), 2.0)
    assert tile(made, now=2.0).vacant == 15


def test_nothing_within_stale_after_of_receipt_is_not_reporting_with_the_figure_greyed():
    made = board(stale_after=180)
    made.receive_state(MALE, state(40, 30), 10.0, WALL)
    assert tile(made, now=190.0).live
    view = tile(made, now=190.5)
    assert view.status is Status.NOT_REPORTING
    assert view.vacant == 10                    # shown, but not as live
    assert view.silent_minutes == 3
    assert made.view(190.5).total_vacant == 0


def test_the_at_field_never_decides_liveness():
    made = board(stale_after=180)
    ancient = WALL - timedelta(days=400)
    made.receive_state(MALE, state(at=ancient), 10.0, WALL)
    assert tile(made, now=11.0).live
    assert tile(made, now=11.0).changed_minutes is None    # age unknown, not made up


def test_an_offline_status_makes_its_wards_not_reporting_until_online():
    made = board()
    made.receive_state(MALE, state(), 1.0)
    assert made.receive_status("nrs-medicine-male", False, 2.0)
    view = tile(made, now=2.0)
    assert view.status is Status.NOT_REPORTING and view.offline
    assert made.receive_status("nrs-medicine-male", True, 3.0)
    assert tile(made, now=3.0).live
    # a status before any state is remembered
    made.receive_status("nrs-icu-unit-1", False, 4.0)
    made.receive_state(ICU, state(agent="nrs-icu-unit-1"), 5.0)
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
    assert made.view(70.0).tiles[0].live


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


def test_figures_changed_time_comes_from_receipt_or_a_plausible_at():
    made = board()
    made.receive_state(MALE, state(at=WALL - timedelta(minutes=4)), 100.0, WALL)
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


# -- properties ---------------------------------------------------------------

WARDS = [MALE, FEMALE, ICU]
AGENTS = {MALE: "nrs-medicine-male", FEMALE: "nrs-medicine-female", ICU: "nrs-icu-unit-1"}


@st.composite
def ward_states(draw):
    capacity = draw(st.integers(0, 200))
    occupied = draw(st.integers(0, capacity))
    blocked = draw(st.integers(0, capacity - occupied))
    return state(capacity, occupied, blocked, seq=draw(st.integers(0, 20)),
                 agent=AGENTS[draw(st.sampled_from(WARDS))])


steps = st.lists(st.one_of(
    st.tuples(st.just("state"), st.sampled_from(WARDS), ward_states(),
              st.floats(0, 50)),
    st.tuples(st.just("status"), st.sampled_from(sorted(AGENTS.values())),
              st.sampled_from([True, False, None]), st.floats(0, 50)),
    st.tuples(st.just("link"), st.booleans(), st.none(), st.floats(0, 50)),
    st.tuples(st.just("wait"), st.none(), st.none(), st.floats(0, 400))),
    max_size=40)


@settings(max_examples=300, deadline=None)
@given(steps)
def test_no_sequence_of_inputs_shows_a_figure_that_is_not_live_as_live(script):
    made = Board("nrs", TILES, stale_after=60, now=0.0)
    now = 0.0
    applied = {}      # ward -> (agent, seq, state, received)
    offline = set()
    connected = False
    for kind, first, second, step in script:
        now += step
        if kind == "state":
            made.receive_state(first, second, now, WALL)
            last = applied.get(first)
            if last is None or last[0] != second.agent or second.seq > last[1]:
                applied[first] = (second.agent, second.seq, second, now)
            elif second.seq == last[1]:
                applied[first] = last[:3] + (now,)
        elif kind == "status":
            made.receive_status(first, second, now)
            if second is False:
                offline.add(first)
            else:
                offline.discard(first)
        elif kind == "link":
            made.set_connected(first, now, WALL)
            connected = first
        view = made.view(now)
        assert view.connected == connected
        # the cached views are exactly what computing afresh gives
        assert list(view.tiles) == [made._tile(spec, now)[0] for spec in TILES]
        for spec, shown in zip(TILES, view.tiles):
            live = [applied[w] for w in WARDS if spec.covers(w) and w in applied
                    and applied[w][0] not in offline and now - applied[w][3] <= 60]
            if shown.live:
                assert connected and live
                assert shown.vacant == sum(a[2].vacant for a in live)
                assert shown.vacant == shown.capacity - shown.occupied - shown.blocked
                assert shown.vacant >= 0
            else:
                assert not (connected and live)
            if shown.highlighted:
                assert shown.live and shown.vacant > 0
