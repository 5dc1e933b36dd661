"""Loading a big tile is linear (issue 15, finding 9).

3,000 wards in one tile took 11–13 s to load and 5,000 blocked the board's loop
for 33 s (past the unit's WatchdogSec=30): each ward was sorted into its
department's list anew, and each state worked out its tile's figures before
and after (every ward of the tile), each status looked through every ward.
Work is counted, not timed: Python calls (``sys.setprofile``), the same on any
machine.  The time itself is ``make bench``'s (benchmarks/scale.py).
"""

import sys
from datetime import datetime, timezone

from bedboard.payloads import WardState
from bedboard.topics import WardKey
from display.board import Board
from display.config import Label, TileSpec

WALL = datetime(2026, 11, 25, 18, 0, tzinfo=timezone.utc)


def calls_per_ward(wards):
    """Python calls per ward to load ``wards`` wards of one tile, as a board start
    receives them: each ward's retained state, then its agent's status, then
    live states of the first hundred."""
    board = Board("nrs", (TileSpec("nrs", "big", None, Label("Big")),), now=0.0)
    board.set_connected(True, 0.0, WALL)
    payloads = [(WardKey("nrs", "big", "w-%05d" % ((i * 7919) % wards)),
                 WardState(capacity=20, occupied=10, seq=1, at=WALL,
                           agent="nrs-big-%05d" % i).to_json()) for i in range(wards)]
    calls = [0]

    def profile(frame, event, arg):  # pylint: disable=unused-argument
        if event in ("call", "c_call"):
            calls[0] += 1

    sys.setprofile(profile)
    try:
        for i, (key, payload) in enumerate(payloads):
            state = WardState.parse(payload)
            board.receive_state(key, state, 0.1, WALL, retained=True)
            board.receive_status(state.agent, True, 0.1, retained=True)
        for i, (key, payload) in enumerate(payloads[:100]):
            state = WardState.parse(payload)
            board.receive_state(key, WardState(capacity=20, occupied=9, seq=2, at=WALL,
                                               agent=state.agent), 0.2, WALL)
        board.agents()
    finally:
        sys.setprofile(None)
    view = board.view(0.3)
    assert view.tiles[0].wards == wards and view.tiles[0].live
    return calls[0] / wards


def test_loading_a_tile_costs_the_same_per_ward_at_1600_wards_as_at_400():
    small = calls_per_ward(400)
    large = calls_per_ward(1600)
    print("calls per ward: %.1f with 400, %.1f with 1,600" % (small, large))
    assert large <= small * 1.1, "%.1f calls a ward with 1,600, %.1f with 400" % (large,
                                                                                    small)
