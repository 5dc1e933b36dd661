"""A bridge's replay is not a sign of life (issue 15, finding 1), with real Mosquittos.

The README's production shape: a hospital Mosquitto bridged into the state
broker (``bedboard broker-config --bridge-to``'s text).  After the hospital
broker restarts, the bridge sends its retained messages again, and the state
broker hands them to the already-subscribed board *without* the retain flag
(MQTT 3.1.1 §3.3.1.3).  A ward whose agent died unseen (no will) must stay not
live through that replay.
"""

import time
from dataclasses import replace
from datetime import datetime, timezone

import pytest

from bedboard.mosquitto import PrivateBroker
from bedboard.payloads import WardState
from bedboard.topics import WardKey
from display import config
from display.app import BoardApp
from ops.bridge_conf import bridge_text

from .display_helpers import Publisher
from .test_display_app import write_config

pytestmark = pytest.mark.slow

KEY = WardKey("nrs", "medicine", "male")
AGENT = "nrs-medicine-male"
BOARD = """\
    display:
      id: bridge-lobby
      size: [1280, 720]
      burn_in: {pixels: 0}
    broker: {host: 127.0.0.1, port: 1883}
    board:
      hospital: nrs
      stale_after: 10
      tiles:
        - {department: medicine, wards: [male], label: {en: Medicine}}
    """


def live(app):
    app.update()
    return app.board.view(time.monotonic()).tiles[0].live


def wait(check, timeout):
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_dead_wards_state_replayed_by_the_bridge_does_not_come_back_live(tmp_path):
    state_broker = PrivateBroker(workdir=str(tmp_path / "state"))
    state_broker.start()
    bridge = [line for line in bridge_text(
        "nrs", [(state_broker.host, state_broker.port)]).splitlines()
        if line and not line.startswith("#")]
    hospital = PrivateBroker(workdir=str(tmp_path / "hospital"), persistence=True,
                             extra_config=bridge)
    hospital.start()
    settings = config.read(write_config(tmp_path, BOARD))
    settings = replace(settings, broker=replace(settings.broker, host=state_broker.host,
                                                port=state_broker.port))
    app = BoardApp(settings)
    received = []
    on_message = app.feed.on_message

    def recording(message):
        received.append((message.topic, message.retained, time.monotonic()))
        on_message(message)

    app.link._on_message = recording        # pylint: disable=protected-access
    app.link.start()
    try:
        assert app.link.wait_connected(10)
        agent = Publisher(hospital.host, hospital.port)   # the agent, on its hospital broker
        agent.status(AGENT, True)
        beat = 0
        deadline = time.monotonic() + 20
        while not live(app):                  # it beats until the bridge carries it
            assert time.monotonic() < deadline, "the bridged ward never showed live"
            beat += 1
            agent.state(KEY, WardState(capacity=40, occupied=30, seq=5,
                                       at=datetime.now(timezone.utc), agent=AGENT,
                                       boot="0123456789abcdef", beat=beat, heartbeat=2))
            wait(lambda: live(app), 0.5)
        agent.client.loop_stop()              # the agent dies: no will, nothing more
        agent.client.socket().close()
        assert wait(lambda: not live(app), 15)
        time.sleep(0.5)
        replayed_from = time.monotonic()
        hospital.stop()                       # the hospital broker restarts: its bridge
        hospital.start()                      # sends its retained messages again
        assert wait(lambda: any(topic.endswith("/state") and not retained
                                and when > replayed_from
                                for topic, retained, when in received), 20), \
            "no replay reached the board: %s" % received
        shown_live = []
        for _ in range(30):                   # the next 1.5 s after the replay
            shown_live.append(live(app))
            time.sleep(0.05)
        assert not any(shown_live), "the bridge's replay showed a dead ward live"
    finally:
        app.link.stop()
        app.close()
        hospital.close()
        state_broker.close()
