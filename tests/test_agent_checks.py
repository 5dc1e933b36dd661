"""The agent's checks against a real, private Mosquitto (and NATS, when installed).

Recovery of a lost ledger and the audit of an old one (unconfirmed counts,
never a reused seq), the barrier that knows the broker's answer is whole,
the way out of a lost answer, set replies, bed contacts the count refuses,
the retained ``online`` on each heartbeat, and the retained state that must
not move backwards after a reconnect.
"""

import json
import logging
import shutil
import signal
import socket
import subprocess
import textwrap
import time

import pytest

from agent.events import Accepted, Ignored, Refused
from agent.ward import WardCounts
from bedboard.link import BrokerLink
from bedboard.mosquitto import PrivateBroker, free_port
from bedboard.payloads import SetReply, WardEvent, WardState

from .agent_helpers import (AGENT_ID as AGENT, EVENT, REPLY, STATE, STATUS, Proxy,
                            RunningAgent, events, set_command, states, wait_state,
                            write_config)
from .probe import Probe


def wait_reply(probe, request_id, timeout=10):
    """The SetReply with ``request_id`` (None: the first without one)."""
    def found(messages):
        for message in messages:
            if message.topic == REPLY:
                reply = SetReply.parse(message.payload)
                if reply.id == request_id:
                    return reply
        return None
    return probe.wait_for(found, timeout)


def retained_state(broker_host, broker_port, timeout=5):
    """The ward's retained state as a new subscriber gets it."""
    with Probe(broker_host, broker_port, subscriptions=(STATE,)) as fresh:
        payload = fresh.wait_topic(STATE, timeout=timeout)[0]
    return WardState.parse(payload)


def wait_until(predicate, timeout=10, what="condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting for %s" % what
        time.sleep(0.01)


# -- a lost ledger: recovered, unconfirmed until a set ------------------------

def test_a_recovered_count_is_unconfirmed_until_a_bed_manager_sets_it(
        tmp_path, mosquitto, probe, caplog):
    caplog.set_level(logging.INFO)
    config = write_config(tmp_path, mosquitto.port, capacity=40, occupied=10)
    with RunningAgent(config) as running:
        running.wait_ready()
        assert not running.agent.ledger.unconfirmed     # a first start is not
        for kind in ("taken", "taken", "blocked"):
            running.press(kind)
        running.wait_delivered()
    assert not any(s.unconfirmed for s in states(probe))
    shutil.rmtree(tmp_path / "state")                   # the SD card was swapped
    with RunningAgent(config) as running:
        running.wait_ready()
        assert running.agent.ledger.unconfirmed
        assert wait_state(probe, 3).unconfirmed is False  # the old copy on the broker
        assert running.press("freed").state.unconfirmed
        running.wait_delivered()
        assert retained_state(mosquitto.host, mosquitto.port).unconfirmed
    with RunningAgent(config) as running:               # kept across a restart
        running.wait_checked()
        assert running.agent.ledger.unconfirmed
        set_command(probe, {"occupied": 9, "by": "bed-manager", "id": "r-1",
                            "reason": "counted the beds"})
        reply = wait_reply(probe, "r-1")
        assert (reply.ok, reply.seq, reply.reason) == (True, 5, None)
        state = wait_state(probe, 5)
        assert (state.occupied, state.unconfirmed) == (9, False)
        assert not running.agent.ledger.unconfirmed
        running.press("taken")
        running.wait_delivered()
    assert "applied a set command by bed-manager (reason: counted the beds) [id r-1]" \
        in caplog.text
    assert [(e.seq, e.kind, e.unconfirmed) for e in events(probe)][-3:] == [
        (4, "freed", True), (5, "set", False), (6, "taken", False)]


def test_an_empty_answer_from_a_cluster_node_is_asked_again_before_it_is_believed(
        tmp_path, mosquitto, probe, caplog):
    # Issue 17, finding 7: a NATS node that has just restarted may answer
    # before it has loaded its retained messages; a recovery through it found
    # nothing and started from the config at seq 0 — a count that was not the
    # ward's, under a seq consumers had long passed.  Here a proxy keeps the
    # broker's retained messages from the agent, as such a node would, until
    # the agent has had its first (empty) answer.
    from dataclasses import replace
    from agent.config import load_agent
    from .net_helpers import FaultyProxy
    caplog.set_level(logging.INFO)
    probe.publish(STATE, WardState(capacity=40, occupied=12, blocked=1, seq=57,
                                   at=datetime_utc(), agent=AGENT).to_json(), retain=True)
    config = write_config(tmp_path, mosquitto.port, capacity=40, occupied=3)
    with FaultyProxy(mosquitto.port) as node:
        node.forget_retained()
        nodes = (("127.0.0.1", node.port), ("127.0.0.1", mosquitto.port))
        broker = replace(load_agent(config).broker, hosts=nodes)
        with RunningAgent(config, broker=broker) as running:
            wait_until(lambda: node.forgotten >= 1, 10, "the state kept from the agent")
            time.sleep(1.0)                     # the barrier's echo: an empty answer
            node.forget_retained(False)         # the node has loaded them now
            running.wait_ready(15)
            ledger = running.agent.ledger
            assert (ledger.seq, ledger.counts, ledger.unconfirmed) == (
                57, WardCounts(40, 12, 1), True)
            assert running.press("taken").state.seq == 58
            running.wait_delivered()
    assert min(s.seq for s in states(probe)) == 57
    assert "broker 127.0.0.1:%d holds no state for %s" % (node.port, STATE) in caplog.text


# -- an old ledger copy: never a reused seq -----------------------------------

def test_an_old_ledger_copy_moves_past_the_brokers_seq(tmp_path, mosquitto, probe,
                                                      caplog):
    caplog.set_level(logging.ERROR)
    config = write_config(tmp_path, mosquitto.port, capacity=40, occupied=10)
    with RunningAgent(config) as running:
        running.wait_ready()
        running.wait_delivered()
    shutil.copytree(tmp_path / "state", tmp_path / "old-copy")   # seq 0: 10 occupied
    with RunningAgent(config) as running:
        running.wait_ready()
        running.press("taken")
        running.press("taken")                                    # seq 2: 12 occupied
        running.wait_delivered()
    shutil.rmtree(tmp_path / "state")
    shutil.copytree(tmp_path / "old-copy", tmp_path / "state")   # restored from a backup
    before = len(probe.messages)
    with RunningAgent(config) as running:
        running.wait_checked()
        ledger = running.agent.ledger
        assert (ledger.seq, ledger.counts, ledger.unconfirmed) == (
            3, WardCounts(40, 12), True)
        assert running.press("freed").state.seq == 4
        running.wait_delivered()
    published = [WardState.parse(m.payload) for m in probe.messages[before:]
                 if m.topic == STATE]
    assert {s.seq for s in published} <= {3, 4}                  # never 0, 1 or 2 again
    assert all(s.unconfirmed for s in published)
    got = [WardEvent.parse(m.payload) for m in probe.messages[before:] if m.topic == EVENT]
    assert [(e.seq, e.kind, e.occupied) for e in got] == [(3, "set", 12), (4, "freed", 11)]
    assert "this ledger is an old copy: the broker holds seq 2 for ward " \
           "nrs/medicine/female-2 (occupied 12/40, vacant 28, from agent " \
           "nrs-medicine-female-2), but the ledger had seq 0 (occupied 10/40, vacant " \
           "30); moved to seq 3 with the broker's counts" in caplog.text


def test_presses_while_an_old_copy_waits_for_its_broker_are_decided_again(tmp_path):
    broker = PrivateBroker(workdir=str(tmp_path / "mosquitto"), persistence=True)
    broker.start()
    try:
        config = write_config(tmp_path, broker.port, capacity=3, occupied=1)
        with RunningAgent(config) as running:
            running.wait_ready()
            running.wait_delivered()
        shutil.copytree(tmp_path / "state", tmp_path / "old-copy")  # seq 0: 1 occupied
        with RunningAgent(config) as running:
            running.wait_ready()
            running.press("taken")
            running.press("taken")                                   # seq 2: 3 of 3
            running.wait_delivered()
        shutil.rmtree(tmp_path / "state")
        shutil.copytree(tmp_path / "old-copy", tmp_path / "state")
        broker.stop()                                                # saves its state
        with RunningAgent(config) as running:
            running.wait_ready()
            # Accepted and kept, but not published until the broker answers:
            assert running.press("taken").state.seq == 1
            assert running.press("freed").state.seq == 2
            assert not running.agent.checked
            broker.start()
            with Probe(broker.host, broker.port, subscriptions=(STATE, EVENT)) as probe:
                running.wait_checked(15)
                running.wait_delivered(15)
                # The broker said seq 2, 3 of 3 occupied: seq 3 takes that; the
                # "taken" no longer fits (no vacant bed) and is dropped, the
                # "freed" is decided again: seq 4, 2 occupied.
                ledger = running.agent.ledger
                assert (ledger.seq, ledger.counts) == (4, WardCounts(3, 2))
                got = [WardEvent.parse(p) for p in
                       probe.wait_topic(EVENT, 2)]
                assert [(e.seq, e.kind, e.occupied) for e in got] == [
                    (3, "set", 3), (4, "freed", 2)]
                assert {WardState.parse(p).seq for p in probe.on(STATE)} <= {2, 3, 4}
    finally:
        broker.close()


# -- the barrier, and a way out of a lost answer ------------------------------

def losing_barriers(times):
    """A link factory that loses the first ``times`` live echoes of the agent's status."""
    class LossyLink(BrokerLink):
        lost = 0

        def _handle_message(self, client, userdata, message):
            if message.topic == self.status_topic and not message.retain \
                    and LossyLink.lost < times:
                LossyLink.lost += 1
                return
            super()._handle_message(client, userdata, message)
    return LossyLink


def test_recovery_gets_out_of_a_lost_answer(tmp_path, mosquitto, probe, caplog):
    # Issue 11: a subscription lost at the wrong moment left an agent without
    # a ledger refusing presses for ever.  Now it subscribes again, and says so.
    caplog.set_level(logging.WARNING)
    config = write_config(tmp_path, mosquitto.port, capacity=40, occupied=4)
    options = dict(link_factory=losing_barriers(2), retry_after=0.5)
    with RunningAgent(config, agent_options=options) as running:
        wait_until(lambda: running.agent.link.connected, what="a connection")
        time.sleep(0.2)
        set_command(probe, {"occupied": 3, "id": "early"})
        reply = wait_reply(probe, "early")
        assert not reply.ok and reply.reason.startswith(
            "not ready: the count is being recovered from the broker")
        running.wait_ready(10)
        assert running.agent.ledger.seq == 0
    assert caplog.text.count("has not answered the recovery's subscriptions within "
                             "0 s while connected: subscribing to") >= 1


def test_recovery_and_audit_work_on_nats(tmp_path):
    # Issue 12 #14: the barrier must not rely on Mosquitto's ordering.  NATS
    # (the state tier of issue 9) speaks MQTT 3.1.1 from its own code.
    server = shutil.which("nats-server")
    if server is None:
        pytest.skip("nats-server is not installed (scripts/system-deps installs it)")
    mqtt_port, client_port = free_port(), free_port()
    conf = tmp_path / "nats.conf"
    conf.write_text(textwrap.dedent("""\
        listen: 127.0.0.1:%d
        server_name: bedboard-test
        jetstream { store_dir: "%s" }
        mqtt { listen: 127.0.0.1:%d }
        """) % (client_port, tmp_path / "js", mqtt_port))
    nats = subprocess.Popen([server, "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_until(lambda: _listening(mqtt_port), what="nats-server's MQTT port")
        config = write_config(tmp_path, mqtt_port, capacity=40, occupied=10)
        with RunningAgent(config) as running:
            running.wait_ready(20)
            for kind in ("taken", "taken"):
                running.press(kind)
            running.wait_delivered(20)
        shutil.rmtree(tmp_path / "state")
        with RunningAgent(config) as running:
            running.wait_ready(20)
            ledger = running.agent.ledger
            assert (ledger.seq, ledger.counts, ledger.origin, ledger.unconfirmed) == (
                2, WardCounts(40, 12), "broker", True)
            running.wait_delivered(20)
        with RunningAgent(config) as running:         # and the audit answers too
            running.wait_checked(20)
            assert running.agent.ledger.seq == 2
    finally:
        nats.send_signal(signal.SIGTERM)
        try:
            nats.wait(10)
        except subprocess.TimeoutExpired:
            nats.kill()
            nats.wait()


def test_a_lost_ledger_is_recovered_through_another_node_of_a_nats_cluster(tmp_path):
    # Issue 12 #14 on the state tier of issue 9: the count published through
    # one node, the ledger lost, the count recovered through another node
    # (once that node holds the retained state: replication lag is the
    # cluster's, and no barrier can wait for it).
    from bedboard.natscluster import PrivateNatsCluster
    from .cluster_helpers import retained_state as node_state
    if shutil.which("nats-server") is None:
        pytest.skip("nats-server is not installed (scripts/system-deps installs it)")
    with PrivateNatsCluster(workdir=str(tmp_path / "nats")) as cluster:
        first, other = (int(h.rsplit(":", 1)[1]) for h in cluster.hosts((0, 2)))
        config = write_config(tmp_path, first, capacity=40, occupied=10)
        with RunningAgent(config) as running:
            running.wait_ready(20)
            for kind in ("taken", "blocked", "taken"):
                running.press(kind)
            running.wait_delivered(20)
        assert node_state(cluster.hosts((2,))[0], "female-2").seq == 3
        shutil.rmtree(tmp_path / "state")
        config = write_config(tmp_path, other, capacity=40, occupied=0)
        with RunningAgent(config) as running:
            running.wait_ready(20)
            ledger = running.agent.ledger
            assert (ledger.seq, ledger.counts, ledger.unconfirmed) == (
                3, WardCounts(40, 12, 1), True)


def _listening(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


# -- set replies --------------------------------------------------------------

def test_every_set_command_is_answered(tmp_path, mosquitto, probe, caplog):
    caplog.set_level(logging.INFO)
    config = write_config(tmp_path, mosquitto.port, capacity=40, occupied=31)
    with RunningAgent(config) as running:
        running.wait_ready()
        running.wait_checked()
        set_command(probe, {"occupied": 30, "capacity": 42, "by": "bed-manager",
                            "id": "a1", "reason": "night round"})
        reply = wait_reply(probe, "a1")
        assert (reply.ok, reply.seq, reply.agent) == (True, 1, running.settings.id)
        assert wait_state(probe, 1).capacity == 42
        set_command(probe, {"occupied": 50, "id": "a2"})           # breaks the bounds
        reply = wait_reply(probe, "a2")
        assert (reply.ok, reply.seq) == (False, None)
        assert reply.reason == "occupied + blocked must not exceed capacity, got " \
                               "50 + 0 > 42"
        set_command(probe, b'{"occupied": "30", "id": "a3"}')       # invalid payload
        reply = wait_reply(probe, "a3")
        assert not reply.ok and reply.reason == (
            "invalid set command: occupied must be an integer, got \"30\"")
        set_command(probe, b"not json")                             # no id to carry
        assert wait_reply(probe, None).reason.startswith(
            "invalid set command: SetCommand payload is not JSON")
        set_command(probe, {"occupied": 20, "id": "a4"}, retain=True)   # new: applied
        assert wait_reply(probe, "a4").seq == 2
    probe.messages.clear()
    with RunningAgent(config) as running:     # handed out again on connect: refused
        running.wait_checked()
        reply = wait_reply(probe, "a4")
        assert (reply.ok, reply.reason) == (False, "a set command must not be retained")
        assert running.agent.ledger.seq == 2
    probe.publish(STATE.replace("/state", "/set"), b"", retain=True)
    replies = [m for m in probe.messages if m.topic == REPLY]
    assert all(m.qos == 1 and not m.retain for m in replies)
    assert json.loads(replies[0].payload)["id"] == "a4"
    assert "applied a set command by bed-manager (reason: night round) [id a1]: " \
           "occupied 30/42, vacant 12, seq 1" in caplog.text


# -- a bed contact the count refuses ------------------------------------------

BEDS = """\
  - {name: freed, kind: freed, pin: 17}
  - {name: bed-12, kind: bed, pin: 22, bed: "12"}
  - {name: bed-14, kind: bed, pin: 23, bed: "14"}"""


def test_a_bed_contact_the_count_refuses_is_said_until_they_agree(
        tmp_path, mosquitto, probe, caplog):
    caplog.set_level(logging.INFO)
    config = write_config(tmp_path, mosquitto.port, capacity=2, occupied=2, inputs=BEDS,
                          extra="""\
        outputs:
          status_led: {pin: 5}
        """)
    with RunningAgent(config) as running:
        running.wait_ready()
        running.wait_delivered()
        led = running.factory.pin(5)
        running.pin("bed-12").drive_low()            # closes: no vacant bed
        outcome = running.outcome("bed-12")
        assert isinstance(outcome, Refused)
        state = probe.wait_for(lambda ms: [WardState.parse(m.payload) for m in ms
                                           if m.topic == STATE and
                                           WardState.parse(m.payload).mismatched])[0]
        assert (state.seq, state.mismatched) == (0, 1)
        assert running.agent.mismatched == {"12"}
        running.wait_delivered()
        time.sleep(0.5)
        led.clear_states()
        time.sleep(2.5)
        ons = [s for s in led.states[1:] if s.state]
        offs = [s for s in led.states[1:] if not s.state]
        assert ons and offs and all(s.timestamp < 0.4 for s in ons)   # short gaps
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING
                    and r.getMessage().startswith("bed 12: its contact says occupied")]
        assert len(warnings) == 1
        running.pin("bed-12").drive_high()           # moves back: they agree again
        assert isinstance(running.outcome("bed-12"), Ignored)
        wait_until(lambda: not running.agent.mismatched, what="agreement")
        assert "the bed contacts agree with the count again" in caplog.text
        running.pin("bed-12").drive_low()            # refused again...
        assert isinstance(running.outcome("bed-12"), Refused)
        wait_until(lambda: running.agent.mismatched == {"12"}, what="mismatch")
        set_command(probe, {"occupied": 1, "capacity": 3, "id": "fix",
                            "by": "bed-manager"})  # ...until the bed manager sets it
        assert wait_reply(probe, "fix").ok
        wait_until(lambda: not running.agent.mismatched, what="the set")
        assert running.agent.ledger.bed_counted("12") is True
        state = wait_state(probe, 1)
        assert state.mismatched == 0
        running.pin("bed-12").drive_high()           # now it counts as a freed bed
        assert isinstance(running.outcome("bed-12"), Accepted)
        running.wait_delivered()
        time.sleep(0.6)
        assert led.state                             # steady again
    assert len([r for r in caplog.records if r.levelno == logging.WARNING
                and r.getMessage().startswith("bed 12: its contact says")]) == 2


# -- the retained online on every heartbeat -----------------------------------

def test_the_retained_online_is_republished_every_heartbeat(tmp_path, mosquitto, probe):
    config = write_config(tmp_path, mosquitto.port)
    with open(config) as handle:
        text = handle.read().replace("heartbeat: 60", "heartbeat: 1")
    with open(config, "w") as handle:
        handle.write(text)
    with RunningAgent(config) as running:
        running.wait_checked()
        count = len(probe.on(STATUS))
        probe.wait_for(lambda ms: len([m for m in ms if m.topic == STATUS]) >= count + 2,
                       4)
        assert set(probe.on(STATUS)) == {b"online"}


# -- the retained state after a reconnect --------------------------------------

def test_the_retained_state_does_not_stay_behind_after_a_reconnect(tmp_path, mosquitto,
                                                                   monkeypatch):
    # Issue 12 #13: paho re-sends what it had in flight only after the connect
    # callback, so the state the agent publishes on reconnecting can reach
    # the broker before the re-sent older one — which the broker then keeps.
    # Force that order: the connect callback waits for the agent's publish.
    proxy = Proxy(mosquitto.port)
    published_on_connect = {"armed": False}

    def link_factory(*args, on_connection, **kwargs):
        link = None

        def connection(up):
            on_connection(up)
            if up and published_on_connect["armed"]:
                sent = len(handed)
                wait_until(lambda: any(topic == STATE for topic in handed[sent:]), 5,
                           "the agent's state on reconnect")

        link = BrokerLink(*args, on_connection=connection, **kwargs)
        publish = link.publish

        def recording(topic, payload, *more, **options):
            handed.append(topic)
            return publish(topic, payload, *more, **options)
        link.publish = recording
        return link

    handed = []
    monkeypatch.setattr("agent.app.BrokerLink", link_factory)
    config = write_config(tmp_path, proxy.port, capacity=40, occupied=10)
    try:
        running = RunningAgent(config)
        with running:
            running.wait_ready()
            running.wait_delivered()
            running.press("taken")
            running.wait_delivered()                       # seq 1 on the broker
            proxy.freeze()
            running.press("taken")                         # seq 2: never acknowledged
            time.sleep(0.3)
            proxy.cut()
            wait_until(lambda: not running.agent.publisher.online, what="the loss")
            running.press("taken")                         # seq 3, while down
            published_on_connect["armed"] = True
            proxy.resume()
            running.wait_delivered(10)
            time.sleep(0.5)
            state = retained_state(mosquitto.host, mosquitto.port)
            assert (state.seq, state.occupied) == (3, 13)
    finally:
        proxy.close()


# -- the barrier, by hand: retained messages in an order MQTT allows -----------

class ScriptedLink:
    """Enough of a link for Recovery: records subscriptions and barrier publishes."""

    connected = True
    status_topic = STATUS

    def __init__(self):
        self.subscribed, self.asked = [], 0

    def subscribe(self, topic):
        self.subscribed.append(topic)

    def unsubscribe(self, topic):
        self.subscribed.remove(topic)

    def renew(self, topic):
        return True

    def refresh_status(self):
        self.asked += 1
        return object()


def test_the_barrier_needs_no_order_between_retained_messages():
    # Issue 12 #14: a broker may hand out the status's retained "online"
    # before the ward's retained state (a cluster does).  That must not end
    # the recovery with nothing found.
    from agent.recovery import Recovery
    from bedboard.link import Received
    from bedboard.topics import WardKey
    link = ScriptedLink()
    recovery = Recovery(link, "crs", WardKey("nrs", "medicine", "female-2"),
                        "nrs-medicine-female-2")
    recovery.begin(0.0)
    assert link.subscribed == [STATE, STATUS] and link.asked == 1
    state = WardState(40, 12, 3, datetime_utc(), "nrs-medicine-female-2")
    assert not recovery.take(Received(STATUS, b"online", True))   # retained: no proof
    assert not recovery.take(Received(STATE, state.to_json(), True))
    assert recovery.take(Received(STATUS, b"online", False))      # the live echo
    assert recovery.found == state


def test_the_barrier_is_asked_again_when_overdue_while_connected(caplog):
    from agent.recovery import Recovery
    from bedboard.topics import WardKey
    link = ScriptedLink()
    recovery = Recovery(link, "crs", WardKey("nrs", "medicine", "female-2"),
                        "nrs-medicine-female-2", retry_after=5)
    recovery.begin(100.0)
    assert not recovery.tick(104.9)
    assert recovery.tick(105.0) and link.asked == 2 and recovery.renewals == 1
    recovery.disconnected()
    assert not recovery.tick(200.0)                   # no answer can come: no nagging
    recovery.connected(201.0)
    assert link.asked == 3 and not recovery.tick(205.9) and recovery.tick(206.0)
    assert "subscribing to crs/nrs/medicine/female-2/state and " \
           "crs/device/nrs-medicine-female-2/status again (attempt 2)" in caplog.text


def datetime_utc():
    from datetime import datetime, timezone
    return datetime(2026, 11, 25, 18, 0, tzinfo=timezone.utc)
