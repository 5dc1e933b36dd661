"""Two boards given one display.id (issue 15, finding 2), with a real Mosquitto.

Each takes the client id from the other again and again; every reconnect
brings the broker's stored copies.  A ward long dead must not come back live
from them, and the board must say plainly that its id is in use twice.
"""

import logging
import time
from dataclasses import replace
from datetime import datetime, timezone

import pytest

from bedboard.payloads import WardState
from bedboard.topics import WardKey
from display import config
from display.app import BoardApp

from .display_helpers import Publisher
from .test_display_app import write_config

pytestmark = pytest.mark.slow

KEY = WardKey("nrs", "medicine", "male")
AGENT = "nrs-medicine-male"


def board(tmp_path, mosquitto, name):
    settings = config.read(write_config(tmp_path, name=name))
    settings = replace(settings, broker=replace(settings.broker, host=mosquitto.host,
                                                port=mosquitto.port))
    return BoardApp(settings)


def test_two_boards_with_one_id_never_show_a_dead_ward_live_and_say_so(
        tmp_path, mosquitto, caplog):
    with Publisher(mosquitto.host, mosquitto.port) as dead:
        # a ward whose agent died with the broker: its online and state stay stored
        dead.status(AGENT, True)
        dead.state(KEY, WardState(capacity=40, occupied=30, seq=5,
                                  at=datetime.now(timezone.utc), agent=AGENT,
                                  boot="0123456789abcdef", beat=41, heartbeat=60))
    first, second = board(tmp_path, mosquitto, "a.yaml"), board(tmp_path, mosquitto,
                                                                  "b.yaml")
    assert first.settings.display.id == second.settings.display.id
    shown = []
    with caplog.at_level(logging.INFO, "bedboard"):
        first.link.start()
        assert first.link.wait_connected(10)
        second.link.start()
        try:
            deadline = time.monotonic() + 12.0
            while time.monotonic() < deadline:
                first.update()
                second.update()
                now = time.monotonic()
                shown.append(first.board.view(now).tiles[0].live
                             or second.board.view(now).tiles[0].live)
                time.sleep(0.05)
            taken = first.link.takeovers + second.link.takeovers
        finally:
            first.link.stop()
            second.link.stop()
            first.close()
            second.close()
    assert first.feed.received + second.feed.received > 4     # the copies came, again
    assert not any(shown), "a dead ward was live %d%% of the time" % (
        100 * sum(shown) // len(shown))
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR
            and "another client is connected with this device's client id test-lobby"
            in r.getMessage()]
    assert said, [r.getMessage() for r in caplog.records]
    assert taken >= 3


def test_a_session_taken_over_is_counted_and_said_again_while_it_goes_on():
    from bedboard.failover import SAY_AGAIN, Takeovers
    takeovers, said, now = Takeovers(), [], 0.0
    for _ in range(400):
        takeovers.connected(now)
        now += 1.5
        said.append(takeovers.lost(now, closed_by_broker=True))
        now += 0.5
    assert takeovers.total == 400
    assert said.index(True) == 2                        # the third in a row
    assert sum(said) == 1 + int((400 * 2.0 - 6.0) // SAY_AGAIN)
    takeovers.connected(now)
    assert not takeovers.lost(now + 60, closed_by_broker=True)   # a long connection:
    assert takeovers.total == 400                                 # not a takeover
