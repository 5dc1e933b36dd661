"""A burst's work per message must not grow with the number of tiles on the board.

A ward's state message can change the figures of the tiles that sum that
ward and nothing else; a board of 100 tiles must take no more work per
message than one of 10 for the same messages.  Work is counted, not timed:
Python function calls (``sys.setprofile``), deterministic on any machine.
"""

import sys


from benchmarks.common import agent_id, ward_key, write_board
from benchmarks.counted import VirtualClock, _board, _received, state
from bedboard.topics import status_topic, ward_topic

WARDS_PER_TILE = 5
MESSAGES = 200
BATCH = 20          # messages a frame, as in a burst


def calls_per_message(folder, tiles):
    """Python calls per state message (the feed's check and the model's update),
    for a board of ``tiles`` tiles, the same messages to the first ten tiles' wards."""
    clock = VirtualClock()
    app, screen = _board(write_board(str(folder), tiles, wards_per_tile=WARDS_PER_TILE,
                                     name="work-%d.yaml" % tiles), clock)
    prefix = app.settings.broker.prefix
    wards = tiles * WARDS_PER_TILE
    app.feed.on_connection(True)
    for i in range(wards):
        app.feed.on_message(_received(status_topic(prefix, agent_id(i)), b"online", True))
        app.feed.on_message(_received(ward_topic(prefix, ward_key(i, WARDS_PER_TILE),
                                                 "state"), state(i).to_json()))
    app.update()
    assert app.board.complete(clock.monotonic())   # every ward known before counting
    calls = [0]

    def profile(frame, event, arg):  # pylint: disable=unused-argument
        if event in ("call", "c_call"):
            calls[0] += 1

    try:
        for number in range(MESSAGES):
            i = number % (10 * WARDS_PER_TILE)
            capacity = state(i).capacity
            message = state(i, seq=2 + number, occupied=(number * 7) % (capacity - 1))
            sys.setprofile(profile)
            app.feed.on_message(_received(ward_topic(prefix, ward_key(i, WARDS_PER_TILE),
                                                     "state"), message.to_json()))
            if number % BATCH == BATCH - 1:
                clock.advance()
                app.update()
            sys.setprofile(None)
    finally:
        sys.setprofile(None)
        app.close()
        screen.close()
    return calls[0] / MESSAGES


def test_the_count_of_calls_sees_the_work_of_each_message(tmp_path):
    per_message = calls_per_message(tmp_path, 10)
    # a message is checked (topic, JSON, WardState) and applied: tens of calls
    assert per_message > 20


# Before issue 15 each message asked every tile whether it covers the ward
# (TileSpec.covers, twice: before and after), so the work grew by ~2 calls a tile a
# message: 381 calls with 10 tiles, 561 with 100, 761 with 200.  Now a ward knows the
# tiles that count it, and a tile's figures before a change are worked out only when
# the change could light "beds just freed".
def test_a_message_costs_no_more_on_a_board_of_100_tiles_than_of_10(tmp_path):
    small = calls_per_message(tmp_path, 10)
    large = calls_per_message(tmp_path, 100)
    assert large <= small * 1.05 + 2, (
        "%.1f calls per message with 100 tiles, %.1f with 10" % (large, small))


def test_a_message_costs_no_more_on_a_board_of_200_tiles_than_of_10(tmp_path):
    small = calls_per_message(tmp_path, 10)
    large = calls_per_message(tmp_path, 200)
    print("calls per message: %.1f with 10 tiles, %.1f with 200" % (small, large))
    assert large <= small * 1.05 + 2, (
        "%.1f calls per message with 200 tiles, %.1f with 10" % (large, small))
