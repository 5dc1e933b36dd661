"""The board shows checks and holds (issue 20, part B): beds held for a referral,
"count checked 40 min ago", and past board.check_within a caution that is
neither LIVE nor NOT REPORTING.

Each state goes in as the bytes an agent publishes (WardState.to_dict, as
JSON) through the board's real Feed into the real Board; the age of a check
is the agent's checked_age plus the time since receipt on the board's own
monotonic clock — the wall times in the payload are never compared.
"""

import json
from datetime import datetime, timedelta, timezone

import pytest

from bedboard.errors import ConfigError
from bedboard.link import Received
from bedboard.payloads import Hold, WardState
from display.board import Board, Status
from display import config
from display.config import Label, TileSpec
from display.feed import DropLog, Feed, apply
from display.tilewords import bar_for, checked_for, held_for, out_of_service
from display.words import Words

WALL = datetime(2026, 11, 25, 18, 0, tzinfo=timezone.utc)
TILES = (TileSpec("nrs", "medicine", ("male", "female"), Label("Medicine", "মেডিসিন")),
         TileSpec("nrs", "surgery", ("male",), Label("Surgery", "সার্জারি")))
WORDS = Words(("en",))


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class Wall:
    """The board: a Feed of bytes into a Board, on one monotonic clock."""

    def __init__(self, check_within=7200.0):
        self.clock = Clock()
        self.feed = Feed("crs", clock=self.clock, wall_clock=lambda: WALL,
                         drops=DropLog(60, self.clock))
        # stale_after a day: the ages here grow for hours without a heartbeat
        self.board = Board("nrs", TILES, stale_after=86400, now=self.clock.now,
                           check_within=check_within)
        self.board.set_connected(True, self.clock.now, WALL)

    def send(self, ward, state, retained=False, department="medicine"):
        payload = json.dumps(state.to_dict()).encode()
        self.feed.on_message(Received("crs/nrs/%s/%s/state" % (department, ward), payload,
                                      retained))
        apply(self.board, self.feed.drain())

    def later(self, seconds):
        self.clock.now += seconds

    def view(self):
        return self.board.view(self.clock.now)

    def tile(self, index=0):
        return self.view().tiles[index]


def state(ward="male", occupied=30, blocked=0, seq=1, **extra):
    return WardState(capacity=40, occupied=occupied, blocked=blocked, seq=seq, at=WALL,
                     agent="nrs-medicine-" + ward, **extra)


def checked(age, **extra):
    """A new agent's fields: checked ``age`` seconds before it published."""
    return dict(held=extra.pop("held", 0), checked=WALL - timedelta(seconds=age),
                checked_age=age, **extra)


def text(parts):
    return dict(parts)["en"]


def test_held_beds_are_summed_over_live_wards_and_never_vacant():
    wall = Wall()
    hold = Hold(id="set-ref-1234", beds=2, until=WALL + timedelta(minutes=90), left=5400,
                for_whom="Bankura SMC, ref 1234")
    wall.send("male", state(occupied=30, blocked=3, **checked(60, held=2, holds=(hold,))))
    wall.send("female", state("female", occupied=35, blocked=1, **checked(60, held=1)))
    tile = wall.tile()
    assert (tile.capacity, tile.occupied, tile.blocked, tile.held) == (80, 65, 4, 3)
    assert tile.vacant == 80 - 65 - 4           # the figure families read excludes them
    assert out_of_service(tile) == 1            # 'blocked' says out of service only
    assert text(held_for(tile, WORDS)[0]) == "3 held for referral"
    assert wall.view().total_vacant == 11


def test_an_old_agent_shows_no_held_line_no_check_time_and_no_caution():
    wall = Wall(check_within=600)
    wall.send("male", state(blocked=2))         # no held: an agent from before checks
    wall.send("female", state("female", blocked=1))
    wall.later(7 * 3600)
    wall.send("male", state(blocked=2))         # a heartbeat keeps it live
    wall.send("female", state("female", blocked=1))
    tile = wall.tile()
    assert tile.status is Status.AVAILABLE
    assert (tile.held, tile.checked_minutes, tile.check_due) == (None, None, False)
    assert out_of_service(tile) == 3 and held_for(tile, WORDS) == (None, None)
    assert checked_for(tile, WORDS) == (None, None)
    assert [text(p) for p in bar_for(tile, WORDS)] == ["AVAILABLE"]
    assert wall.view().wards_unchecked == 0


def test_a_tile_with_an_old_agent_s_ward_never_says_its_count_was_checked():
    wall = Wall()
    wall.send("male", state(**checked(600)))
    wall.send("female", state("female"))        # an agent from before checks
    tile = wall.tile()
    assert tile.checked_minutes is None and not tile.check_due and tile.held == 0
    wall.send("male", state(seq=2, **checked(3 * 3600)))
    assert wall.tile().check_due and wall.tile().unchecked_minutes == 180


def test_the_check_age_is_its_checked_age_plus_the_time_since_receipt():
    wall = Wall()
    wall.send("male", state(**checked(25 * 60)))
    wall.send("female", state("female", **checked(10 * 60)))
    assert wall.tile().checked_minutes == 25    # the oldest of the counted wards
    wall.later(15 * 60)
    assert wall.tile().checked_minutes == 40
    assert text(checked_for(wall.tile(), WORDS)[0]) == "count checked 40 min ago"
    wall.send("male", state(seq=2, **checked(0)))
    assert wall.tile().checked_minutes == 25    # the female ward's, now the oldest
    assert wall.tile().check_due is False and wall.tile().status is Status.AVAILABLE


def test_past_check_within_the_tile_says_so_in_its_state_bar_and_stays_live():
    wall = Wall(check_within=7200)
    wall.send("male", state(**checked(7100)))
    wall.send("female", state("female", **checked(60)))
    assert wall.tile().check_due is False
    wall.later(100)                             # 7200 s: due now
    tile = wall.tile()
    assert tile.check_due and tile.status is Status.AVAILABLE and tile.live
    assert tile.unchecked_minutes == 120 and not tile.whole
    bar = [text(p) for p in bar_for(tile, WORDS)]
    assert bar[0] == "AVAILABLE · count not checked for 2 h"
    assert bar[-1] == "AVAILABLE · not checked"  # the form the board's plan makes room for
    assert checked_for(tile, WORDS) == (None, None)   # the bar says it, not a line
    wall.later(3 * 3600 - 100)                 # heartbeats keep it live, the age grows
    wall.send("male", state(**checked(5 * 3600)))
    wall.send("female", state("female", seq=2, **checked(300)))
    assert text(bar_for(wall.tile(), WORDS)[0]) == "AVAILABLE · count not checked for 5 h"
    assert wall.view().wards_unchecked == 1     # the female ward was checked 5 min ago
    wall.send("male", state(seq=2, **checked(0)))
    assert not wall.tile().check_due and wall.view().wards_unchecked == 0
    assert wall.tile().checked_minutes == 5


def test_a_check_of_unknown_age_or_never_made_is_due():
    wall = Wall()
    wall.send("male", state(held=0, checked=WALL))          # no checked_age: unknown
    wall.send("female", state("female", held=0))            # a new agent, never checked
    tile = wall.tile()
    assert tile.check_due and tile.unchecked_minutes is None
    assert text(bar_for(tile, WORDS)[0]) == "AVAILABLE · count not checked"
    assert wall.view().wards_unchecked == 2


def test_a_retained_copy_never_calls_a_check_recent_but_may_call_it_due():
    wall = Wall()
    wall.send("male", state(**checked(600)), retained=True)
    wall.send("female", state("female", **checked(600)))
    wall.later(4)                               # the copy counts once its status wait ends
    tile = wall.tile()
    assert tile.status is Status.AVAILABLE
    assert tile.checked_minutes is None and not tile.check_due   # waits for a live one
    wall.send("male", state(**checked(630)))                     # its heartbeat, live
    assert wall.tile().checked_minutes == 10
    wall.send("female", state("female", seq=2, **checked(9000)), retained=True)
    wall.later(4)
    assert wall.tile().check_due and wall.tile().unchecked_minutes == 150


def test_the_footer_counts_each_unchecked_ward_once_over_the_board():
    wall = Wall()
    wall.send("male", state(**checked(3 * 3600)))
    wall.send("female", state("female", **checked(60)))
    wall.send("male", state(**checked(4 * 3600)), department="surgery")
    view = wall.view()
    assert view.wards_unchecked == 2 and view.check_within == 7200
    assert [t.check_due for t in view.tiles] == [True, True]
    assert view.tiles[1].unchecked_minutes == 240


def test_board_check_within_is_a_board_key_with_a_default_and_a_range(tmp_path):
    def board_yaml(extra):
        path = tmp_path / "board.yaml"
        path.write_text("broker: {host: 127.0.0.1}\ndisplay: {id: lobby-1}\n"
                        "board:\n  hospital: nrs\n" + extra, encoding="utf-8")
        return str(path)

    assert config.read(board_yaml("")).board.check_within == 7200
    assert config.read(board_yaml("  check_within: 3600\n")).board.check_within == 3600
    with pytest.raises(ConfigError) as caught:
        config.read(board_yaml("  check_within: 10\n"))
    assert caught.value.problems == ["board.yaml:5: board.check_within: must be between 60 "
                                     "and 604800, got 10"]
