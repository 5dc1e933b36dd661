"""From broker messages to board events: the contract checked, bad input dropped
and counted, the render loop woken."""

import json
import logging
import threading
import time
from datetime import datetime, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from bedboard.link import Received
from bedboard.payloads import WardState
from bedboard.topics import WardKey
from display.board import Board
from display.config import Label, TileSpec
from display.feed import (ConnectionChanged, DeviceStatusArrived, DropLog, Feed, Waker,
                          WardRetired, WardStateArrived, apply)

WALL = datetime(2026, 11, 25, 18, 0, tzinfo=timezone.utc)
WARD = WardKey("nrs", "medicine", "male")
GOOD = WardState(capacity=40, occupied=31, blocked=2, seq=7, at=WALL, agent="nrs-medicine-male")
TOPIC = "crs/nrs/medicine/male/state"


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def feed(clock=None):
    clock = clock or Clock()
    return Feed("crs", clock=clock, wall_clock=lambda: WALL, drops=DropLog(60, clock))


def test_a_valid_state_becomes_an_event_stamped_at_receipt():
    made = feed()
    made.on_message(Received(TOPIC, GOOD.to_json(), True))
    assert made.drain() == [WardStateArrived(WARD, GOOD, 100.0, WALL, retained=True)]
    made.on_message(Received(TOPIC, GOOD.to_json(), False))
    assert made.drain() == [WardStateArrived(WARD, GOOD, 100.0, WALL, retained=False)]
    assert made.drain() == []


def test_statuses_and_connection():
    made = feed()
    made.on_message(Received("crs/device/nrs-medicine-male/status", b"offline", True))
    made.on_message(Received("crs/device/nrs-medicine-male/status", b"online", True))
    made.on_message(Received("crs/device/nrs-medicine-male/status", b"", True))
    made.on_connection(True)
    assert made.drain() == [DeviceStatusArrived("nrs-medicine-male", False, 100.0, True),
                            DeviceStatusArrived("nrs-medicine-male", True, 100.0, True),
                            DeviceStatusArrived("nrs-medicine-male", None, 100.0, True),
                            ConnectionChanged(True, 100.0, WALL)]


def test_bad_input_is_dropped_by_kind_and_logged_once_per_interval(caplog):
    clock = Clock()
    made = feed(clock)
    bad = [(TOPIC, b"\xff\xfe"), (TOPIC, b"{not json"), (TOPIC, b"[1, 2]"),
           (TOPIC, b'{"v": 2, "capacity": 1}'), (TOPIC, b'{"v": 1}'),
           (TOPIC, b'{"v":1,"capacity":5,"occupied":9,"seq":1,"at":"2026-11-25T18:00:00Z",'
                   b'"agent":"a"}'),
           (TOPIC, b"x" * 5000), ("crs/NRS/medicine/male/state", GOOD.to_json()),
           ("crs/device/Bad Id/status", b"online"),
           ("crs/device/nrs-x/status", b"maybe")]
    with caplog.at_level(logging.WARNING, logger="display.feed"):
        for _ in range(3):
            for topic, payload in bad:
                made.on_message(Received(topic, payload, False))
    assert made.drain() == []
    assert dict(made.drops.counts) == {
        "not UTF-8": 3, "not JSON": 3, "not an object": 3, "unknown version": 3,
        "missing field": 3, "invalid value": 3, "oversized": 3, "bad topic": 6,
        "bad status": 3}
    assert len(caplog.records) == 9                 # each kind once
    caplog.clear()
    clock.now += 61
    with caplog.at_level(logging.WARNING, logger="display.feed"):
        made.on_message(Received(TOPIC, b"{not json", False))
    assert len(caplog.records) == 1
    assert "and 2 more of this kind" in caplog.records[0].getMessage()


def test_events_on_other_ward_topics_are_not_the_board_s_business():
    made = feed()
    made.on_message(Received("crs/nrs/medicine/male/event", b"{}", False))
    assert made.drain() == [] and not made.drops.counts


def test_the_waker_wakes_a_sleeping_loop_from_another_thread():
    waker = Waker()
    try:
        assert not waker.wait(0.05)
        started = time.monotonic()
        threading.Timer(0.1, waker.wake).start()
        assert waker.wait(5)
        assert time.monotonic() - started < 1.0
        for _ in range(100000):          # a full pipe never blocks the waker
            waker.wake()
        assert waker.wait(0) and not waker.wait(0)
    finally:
        waker.close()


def test_a_feed_wakes_the_loop_once_per_batch():
    class Counting:
        count = 0

        def wake(self):
            self.count += 1

    waker = Counting()
    made = Feed("crs", waker)
    for _ in range(5):
        made.on_message(Received(TOPIC, GOOD.to_json(), False))
    assert waker.count == 1
    assert len(made.drain()) == 5
    made.on_message(Received(TOPIC, GOOD.to_json(), False))
    assert waker.count == 2


topics = st.one_of(
    st.just(TOPIC), st.just("crs/device/nrs-medicine-male/status"),
    st.text(max_size=80).map(lambda t: "crs/" + t),
    st.builds("crs/{}/{}/{}/state".format, st.text(max_size=10), st.text(max_size=10),
              st.text(max_size=10)))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70) | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8),
                                                                       children, max_size=4),
    max_leaves=12)
payloads = st.one_of(
    st.binary(max_size=300), st.binary(min_size=4097, max_size=6000),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"v": st.sampled_from([1, 2, "1", None]),
                           "capacity": json_values | st.integers(-5, 100005),
                           "occupied": json_values | st.integers(-5, 100005),
                           "seq": json_values | st.integers(-1, 2 ** 64),
                           "at": st.sampled_from(["2026-11-25T18:00:00Z", "yesterday", 0]),
                           "agent": st.sampled_from(["nrs-medicine-male", "", "A B"])}).map(
        lambda d: json.dumps(d).encode()))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(topics, payloads), max_size=20))
def test_arbitrary_input_never_breaks_the_feed_or_the_last_good_state(messages):
    board = Board("nrs", (TileSpec("nrs", "medicine", None, Label("Medicine")),), now=0.0)
    made = feed()
    made.on_message(Received("crs/device/nrs-medicine-male/status", b"online", True))
    made.on_connection(True)
    made.on_message(Received(TOPIC, GOOD.to_json(), True))
    apply(board, made.drain())
    for topic, payload in messages:
        made.on_message(Received(topic, payload, False))
    for event in made.drain():
        assert isinstance(event, (WardStateArrived, WardRetired, DeviceStatusArrived))
        if isinstance(event, WardStateArrived):
            assert event.state.vacant >= 0
        apply(board, [event])
    tile = board.view(101.0).tiles[0]
    if not any(topic == TOPIC for topic, _ in messages):
        assert tile.vacant == GOOD.vacant


def test_an_empty_state_retires_the_ward_and_the_clock_is_left_out_when_not_synced():
    made = Feed("crs", clock=Clock(), wall_clock=lambda: WALL, wall_synced=lambda: False)
    made.on_message(Received(TOPIC, b"", True))
    made.on_message(Received(TOPIC, GOOD.to_json(), False))
    assert made.drain() == [WardRetired(WARD, 100.0),
                            WardStateArrived(WARD, GOOD, 100.0, None, retained=False)]
