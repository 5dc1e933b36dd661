"""The broker link against a real, private Mosquitto — including its faults."""

import subprocess
import sys
import textwrap
import threading
import time
from datetime import datetime, timezone

import pytest

from bedboard.errors import LinkError
from bedboard.link import BrokerLink
from bedboard.mosquitto import PrivateBroker
from bedboard.payloads import WardState
from bedboard.settings import BrokerSettings, TlsSettings
from bedboard.topics import WardKey, status_topic, ward_topic

from .probe import Probe

WARD = WardKey("nrs", "medicine", "female-2")
STATE = WardState(capacity=40, occupied=31, blocked=2, seq=1234,
                  at=datetime(2026, 11, 25, 18, 0, tzinfo=timezone.utc),
                  agent="nrs-medicine-female-2")


class Inbox:
    """Collects what a link's on_message receives."""

    def __init__(self):
        self.received = []
        self.event = threading.Event()

    def __call__(self, message):
        self.received.append(message)
        self.event.set()

    def wait(self, count, timeout=10):
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.received


def test_retained_state_round_trips(broker_settings, mosquitto):
    with BrokerLink(broker_settings, "nrs-medicine-female-2") as link:
        assert link.wait_connected(10)
        link.publish(ward_topic("crs", WARD, "state"), STATE.to_json(),
                     retain=True).wait_for_publish(5)
    # a subscriber that comes later still gets it, retained
    inbox = Inbox()
    with BrokerLink(broker_settings, "nrs-lobby-1", on_message=inbox,
                    subscriptions=["crs/+/+/+/state"]) as display:
        assert display.wait_connected(10)
        (message,) = inbox.wait(1)
    assert message.retained and message.topic == "crs/nrs/medicine/female-2/state"
    assert WardState.parse(message.payload) == STATE


def test_online_on_connect_and_offline_on_stop(broker_settings, probe):
    link = BrokerLink(broker_settings, "nrs-lobby-1")
    link.start()
    topic = status_topic("crs", "nrs-lobby-1")
    assert probe.wait_topic(topic) == [b"online"]
    link.stop()
    assert probe.wait_topic(topic, 2) == [b"online", b"offline"]
    assert not link.connected


KILLED_CLIENT = textwrap.dedent("""
    import sys, time
    from bedboard.link import BrokerLink
    from bedboard.settings import BrokerSettings
    link = BrokerLink(BrokerSettings(host="127.0.0.1", port=int(sys.argv[1])),
                      "ward-agent-x")
    link.start()
    link.wait_connected(10)
    print("up", flush=True)
    time.sleep(60)
""")


def test_abruptly_killed_clients_will_says_offline(mosquitto, probe):
    child = subprocess.Popen([sys.executable, "-c", KILLED_CLIENT, str(mosquitto.port)],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "up"
        topic = status_topic("crs", "ward-agent-x")
        probe.wait_topic(topic)
        child.kill()
        assert probe.wait_topic(topic, 2, timeout=15) == [b"online", b"offline"]
        assert probe.wait_for(lambda ms: [m for m in ms if m.topic == topic
                                          and m.payload == b"offline"])
    finally:
        child.kill()
        child.wait()


def test_subscriber_keeps_receiving_after_broker_restart(broker_settings, mosquitto):
    inbox = Inbox()
    states = []
    link = BrokerLink(broker_settings, "nrs-lobby-1", on_message=inbox,
                      subscriptions=["crs/+/+/+/state"],
                      on_connection=states.append)
    with link:
        assert link.wait_connected(10)
        mosquitto.kill()
        deadline = time.monotonic() + 10
        while link.connected and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not link.connected
        mosquitto.start()
        assert link.wait_connected(15)
        with Probe(mosquitto.host, mosquitto.port, subscriptions=()) as publisher:
            publisher.publish(ward_topic("crs", WARD, "state"), STATE.to_json())
        (message,) = inbox.wait(1)
        assert WardState.parse(message.payload) == STATE
    assert states[:3] == [True, False, True]


def test_client_started_before_its_broker_connects_when_it_appears(tmp_path):
    broker = PrivateBroker(workdir=str(tmp_path / "late"))
    link = BrokerLink(BrokerSettings(host=broker.host, port=broker.port), "nrs-lobby-1")
    try:
        link.start()
        time.sleep(1.5)
        assert not link.connected
        broker.start()
        assert link.wait_connected(15)
    finally:
        link.stop()
        broker.close()


def test_failing_callback_does_not_kill_the_network_loop(broker_settings, probe):
    seen = []

    def explode(message):
        seen.append(message)
        raise RuntimeError("boom")

    with BrokerLink(broker_settings, "nrs-lobby-1", on_message=explode,
                    subscriptions=["t/#"]) as link:
        assert link.wait_connected(10)
        time.sleep(0.2)
        probe.publish("t/1", b"a")
        probe.publish("t/2", b"b")
        deadline = time.monotonic() + 5
        while len(seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [m.payload for m in seen] == [b"a", b"b"]
        assert link.connected


def test_bad_tls_material_is_a_link_error(tmp_path):
    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate")
    with pytest.raises(LinkError, match="broker TLS/login setup failed"):
        BrokerLink(BrokerSettings(tls=TlsSettings(ca=str(bogus))), "nrs-lobby-1")


def test_private_broker_refuses_port_1883():
    with pytest.raises(ValueError, match="never uses port 1883"):
        PrivateBroker(port=1883)


def test_an_outage_is_logged_once_not_at_every_retry(broker_settings, mosquitto, caplog):
    import logging
    with caplog.at_level(logging.INFO):
        with BrokerLink(broker_settings, "nrs-lobby-1", min_backoff=0.1,
                        max_backoff=0.2) as link:
            assert link.wait_connected(10)
            mosquitto.kill()
            time.sleep(2.0)                  # ~10 reconnect attempts
            mosquitto.start()
            assert link.wait_connected(10)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    lost = [r for r in caplog.records if "lost broker" in r.getMessage()]
    assert errors == [] and len(lost) == 1
