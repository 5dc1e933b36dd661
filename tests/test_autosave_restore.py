"""A dead panel's broker restores an older autosave (issue 15, finding 12), real Mosquitto.

The broker saves its retained messages every few seconds; it is killed just
after the panel's last state (seq 10) and comes back with the autosave's seq
8.  The panel is gone.  Its tile must say it is silent — not "ward panel was
reset", which it never was — and keep the figure it last said.
"""

import time
from dataclasses import replace
from datetime import datetime, timezone

import pytest

from bedboard.mosquitto import PrivateBroker
from bedboard.payloads import WardState
from bedboard.topics import WardKey, ward_topic
from display import config
from display.app import BoardApp
from display.views import Reason

from .display_helpers import Publisher
from .probe import Probe
from .test_display_app import write_config

pytestmark = pytest.mark.slow

KEY = WardKey("nrs", "medicine", "male")
AGENT = "nrs-medicine-male"
BOARD = """\
    display: {id: autosave-lobby, size: [1280, 720], burn_in: {pixels: 0}}
    broker: {host: 127.0.0.1, port: 1883}
    board:
      hospital: nrs
      stale_after: 10
      tiles:
        - {department: medicine, wards: [male], label: {en: Medicine}}
    """


def panel_state(seq, occupied):
    return WardState(capacity=40, occupied=occupied, seq=seq,
                     at=datetime.now(timezone.utc), agent=AGENT,
                     boot="0123456789abcdef", beat=seq, heartbeat=2)


def test_a_dead_panel_whose_broker_restored_an_older_autosave_is_silent_not_reset(tmp_path):
    broker = PrivateBroker(workdir=str(tmp_path / "broker"), persistence=True,
                           extra_config=["autosave_interval 5"])
    broker.start()
    started = time.monotonic()
    settings = config.read(write_config(tmp_path, BOARD))
    settings = replace(settings, broker=replace(settings.broker, host=broker.host,
                                                port=broker.port))
    app = BoardApp(settings)
    app.link.start()

    def tile():
        app.update()
        return app.board.view(time.monotonic()).tiles[0]

    try:
        assert app.link.wait_connected(10)
        with Publisher(broker.host, broker.port) as panel:
            panel.status(AGENT, True)
            for seq in range(1, 9):
                panel.state(KEY, panel_state(seq, 20 + seq))
            time.sleep(max(0.0, started + 6.5 - time.monotonic()))   # autosaved: seq 8
            panel.state(KEY, panel_state(9, 29))
            panel.state(KEY, panel_state(10, 30))
            deadline = time.monotonic() + 5
            while not (tile().live and tile().occupied == 30):
                assert time.monotonic() < deadline, tile()
                time.sleep(0.05)
            broker.kill()                       # before its next autosave; the panel dies
        broker.start()
        topic = ward_topic("crs", KEY, "state")
        with Probe(broker.host, broker.port, subscriptions=(topic,)) as probe:
            restored = WardState.parse(probe.wait_topic(topic)[0])
        assert restored.seq == 8, "the broker did not restore an older autosave"
        assert app.link.wait_connected(10)
        time.sleep(4.0)                         # past the panel's heartbeat × 1.25
        view = tile()
        assert not view.live
        assert view.reason is not Reason.RESET and not view.reset, view
        assert view.reason is Reason.SILENT and view.occupied == 30, view
    finally:
        app.link.stop()
        app.close()
        broker.close()
