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

from .net_helpers import ResettingNode
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



def test_a_reset_connection_is_said_once_per_outage_not_as_paho_s_error(caplog):
    # Issue 17, finding 5: a broker that dies with bytes unread resets the
    # connection (RST), and paho logged "failed to receive on socket: [Errno
    # 104] Connection reset by peer" at ERROR — at every retry when the node
    # keeps doing it — besides the link's own warning.  This node answers
    # each handshake, then resets the connection.
    import logging
    with ResettingNode() as node, caplog.at_level(logging.INFO):
        settings = BrokerSettings(host=node.host, port=node.port)
        with BrokerLink(settings, "nrs-lobby-1", min_backoff=0.1, max_backoff=0.2):
            deadline = time.monotonic() + 10
            while node.accepted < 4 and time.monotonic() < deadline:
                time.sleep(0.05)
    assert node.accepted >= 4
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    lost = [r.getMessage() for r in caplog.records if r.getMessage().startswith("lost")]
    assert errors == []
    assert len(lost) >= 3 and all(m == "lost broker %s:%d (connection reset by peer); "
                                  "reconnecting" % (node.host, node.port) for m in lost)


# -- who sends what, whatever the threads do (paho's client stood in for) ------

class RecordingClient:
    """Stands in for paho's client: records what the link hands it.

    After :meth:`hold_next_subscribe`, the next subscribe() waits until
    :meth:`release` — so a test can stop paho's network thread inside the
    link's connect handler, after it took its copy of the subscriptions.
    """

    def __init__(self):
        self.sent = []
        self._hold = None
        self._inside = threading.Event()
        self._release = threading.Event()

    def hold_next_subscribe(self):
        self._hold = True

    def wait_inside(self):
        assert self._inside.wait(5), "the connect handler never subscribed"

    def release(self):
        self._release.set()

    def publish(self, topic, payload, qos=0, retain=False):
        self.sent.append(("publish", topic, payload, retain))

    def subscribe(self, topic, qos=0):
        topics = [t for t, _ in topic] if isinstance(topic, list) else [topic]
        self.sent.append(("subscribe", topics))
        if self._hold:
            self._hold = None
            self._inside.set()
            self._release.wait(5)
        return (0, 1)

    def unsubscribe(self, topic):
        self.sent.append(("unsubscribe", [topic]))
        return (0, 2)

    def disconnect(self):
        self.sent.append(("disconnect",))

    def loop_stop(self):
        self.sent.append(("loop_stop",))

    def drop_out_messages(self):
        return []

    def socket(self):
        return None

    def held_filters(self):
        """The filters the broker would hold after what was sent, in order."""
        held = []
        for entry in self.sent:
            if entry[0] == "subscribe":
                held += [t for t in entry[1] if t not in held]
            elif entry[0] == "unsubscribe":
                held = [t for t in held if t not in entry[1]]
        return held

    def subscribes_of(self, topic):
        return sum(entry[1].count(topic) for entry in self.sent
                   if entry[0] == "subscribe")

    def statuses(self):
        return [entry[2] for entry in self.sent
                if entry[0] == "publish" and entry[1].endswith("/status")]


def connack(name="Success"):
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.reasoncodes import ReasonCode
    return ReasonCode(PacketTypes.CONNACK, name)


def link_on(client, subscriptions=("a",)):
    link = BrokerLink(BrokerSettings(host="127.0.0.1", port=1), "nrs-lobby-1",
                      subscriptions=subscriptions)
    link._client = client
    return link


def connack_of(link, client):
    """A connection attempt of ``link`` answered by a CONNACK, as paho's thread runs it."""
    link._handle_pre_connect(client, None)
    link._handle_connect(client, None, None, connack(), None)


def connecting(link, client):
    """Start the connect handler on a 'network thread', held inside its subscribe."""
    client.hold_next_subscribe()
    link._handle_pre_connect(client, None)
    thread = threading.Thread(target=link._handle_connect,
                              args=(client, None, None, connack(), None))
    thread.start()
    client.wait_inside()
    return thread


def test_a_subscription_added_while_the_link_connects_is_sent_exactly_once():
    # Issue 11: the network thread took its copy of the subscriptions, the
    # caller added one and saw "not connected", then the thread said
    # "connected" — and nobody sent it.  Force exactly that interleaving.
    client = RecordingClient()
    link = link_on(client)
    network = connecting(link, client)
    caller = threading.Thread(target=link.subscribe, args=("b",))
    caller.start()
    caller.join(0.2)          # today it waits for the handler; it used to return
    client.release()
    network.join(5)
    caller.join(5)
    assert link.connected
    assert client.subscribes_of("a") == 1 and client.subscribes_of("b") == 1
    assert client.held_filters() == ["a", "b"]


def test_a_subscription_dropped_while_the_link_connects_stays_dropped():
    client = RecordingClient()
    link = link_on(client, subscriptions=("a", "b"))
    network = connecting(link, client)
    caller = threading.Thread(target=link.unsubscribe, args=("b",))
    caller.start()
    caller.join(0.2)
    client.release()
    network.join(5)
    caller.join(5)
    assert client.held_filters() == ["a"]


def test_subscriptions_before_and_after_a_connect_are_each_sent_once():
    client = RecordingClient()
    link = link_on(client)
    link.subscribe("b")                        # before: the connect sends it
    connack_of(link, client)
    link.subscribe("c")                        # after: sent at once
    link.subscribe("c")                        # already held: not again
    assert [e for e in client.sent if e[0] == "subscribe"] == [
        ("subscribe", ["a", "b"]), ("subscribe", ["c"])]
    assert link.renew("c") and client.subscribes_of("c") == 2
    assert not link.renew("never-added")
    link._handle_disconnect(client, None, None, connack(), None)
    link.subscribe("d")                        # while down: on the next connect
    assert client.subscribes_of("d") == 0 and not link.renew("c")
    connack_of(link, client)
    assert client.sent[-1] == ("subscribe", ["a", "b", "c", "d"])


def test_a_connection_that_comes_up_while_stopping_says_offline():
    # Issue 12 #15: stop() while the connection is being set up, then the
    # CONNACK arrives: no retained "online" may be left for a stopped device.
    client = RecordingClient()
    link = link_on(client)
    link._started = True                       # as start() leaves it
    link.stop(timeout=0.1)
    connack_of(link, client)
    assert client.statuses() == [b"offline"]
    assert client.sent[-1] == ("disconnect",) and client.subscribes_of("a") == 0
    assert not link.connected
    assert link.refresh_status() is None


def test_refresh_status_only_while_connected():
    client = RecordingClient()
    link = link_on(client)
    assert link.refresh_status() is None
    connack_of(link, client)
    link.refresh_status()
    assert client.statuses() == [b"online", b"online"]
    assert [e[3] for e in client.sent if e[0] == "publish"] == [True, True]


def test_stop_is_bounded_even_when_the_network_thread_is_stuck(broker_settings, probe):
    # paho's loop_stop() joins its thread without a bound; a callback that
    # blocks (or a connect to a host that does not answer) held stop() — and
    # systemd's TimeoutStopSec — for as long.
    stuck = threading.Event()
    entered = threading.Event()

    def blocking(message):
        entered.set()
        stuck.wait(10)

    link = BrokerLink(broker_settings, "nrs-lobby-1", on_message=blocking,
                      subscriptions=["t/#"])
    link.start()
    try:
        assert link.wait_connected(10)
        probe.wait_topic(link.status_topic)
        probe.publish("t/1", b"x")
        assert entered.wait(5)
        started = time.monotonic()
        link.stop(timeout=0.5)
        assert time.monotonic() - started < 2.0
    finally:
        stuck.set()


def test_refresh_status_republishes_the_retained_online(broker_settings, probe):
    with BrokerLink(broker_settings, "nrs-lobby-1") as link:
        assert link.wait_connected(10)
        probe.wait_topic(link.status_topic)
        link.refresh_status().wait_for_publish(5)
        assert probe.wait_topic(link.status_topic, 2) == [b"online", b"online"]
    with Probe(broker_settings.host, broker_settings.port,
               subscriptions=(link.status_topic,)) as later:
        assert later.wait_topic(link.status_topic) == [b"offline"]
