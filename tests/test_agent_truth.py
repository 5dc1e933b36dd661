"""The agent against SPEC's rules, under every sequence of events Hypothesis can find.

A rule-based state machine drives the real agent — :class:`agent.app.WardAgent`
with its ward rules, a real :class:`~agent.ledger.Ledger` in a temporary
folder and the real :class:`~agent.publisher.Publisher` — one queue item at a
time, on a clock of its own.  Only paho and the broker are stood in for, by
:class:`Network`: the client's session (QoS 1 messages kept until their
PUBACK and sent again after the next connect callback, as paho does), one
TCP stream each way (what is in flight is lost with the connection), and a
broker that handles the client's packets in order, keeps retained messages,
sends a subscription's retained messages while it handles the SUBSCRIBE (in
any order among the filters of one packet: MQTT promises none), and echoes
live messages to subscribers with the retain flag cleared.

The machine presses buttons, moves a bed contact, lets the broker take the
next packet or the client the next answer, drops and restores the
connection (paho's re-sends before or after the agent reacts), lets time
pass (heartbeats, retries), SIGKILLs the agent (the ledger is reopened),
loses its ledger, restores an old copy of it, and has the bed manager send
``set`` commands.  After every step it checks:

* **no acknowledged press lost** — after a SIGKILL the reopened ledger has
  the last accepted change; once the network settles, every accepted change
  of the current ledger is on the broker as its event;
* **a seq is never reused for a different state** — among every state the
  broker took;
* **the retained state never stays behind** — once the network settles it is
  the agent's current state (SPEC allows one heartbeat; the agent repairs it
  at the next PUBACK);
* a count read from the broker or an old copy stays ``unconfirmed`` until a
  bed manager's ``set``, and every ``set`` gets its reply.

``make test`` runs a hundred programs of up to 50 steps (about 5 s);
``BEDBOARD_CHAOS=1`` (``make chaos``) runs 2,000 of up to 100 steps (about 2 min).
"""

import os
import queue
import shutil
import tempfile
from dataclasses import dataclass

import hypothesis.strategies as st
import pytest
from gpiozero.pins.mock import MockFactory
from hypothesis import HealthCheck, settings
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant,
                                 precondition, rule)

from agent.app import WardAgent
from agent.config import load_agent
from agent.events import Accepted, Pressed
from bedboard.link import OFFLINE, ONLINE, Received
from bedboard.payloads import SetReply, WardEvent, WardState

from .agent_helpers import EVENT, REPLY, SET, STATE, write_config

settings.register_profile(
    "agent-truth", max_examples=100, stateful_step_count=50, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
settings.register_profile(
    "agent-truth-chaos", max_examples=2000, stateful_step_count=100, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
PROFILE = "agent-truth-chaos" if os.environ.get("BEDBOARD_CHAOS") else "agent-truth"

HEARTBEAT = 60.0
INPUTS = """\
  - {name: taken, kind: taken, pin: 27}
  - {name: freed, kind: freed, pin: 17}
  - {name: blocked, kind: blocked, pin: 24}
  - {name: bed-12, kind: bed, pin: 22, bed: "12", debounce: 0}"""


@dataclass
class Info:
    """What paho's publish() returns, as far as the agent looks."""

    mid: int
    rc: int = 0


class Network:
    """paho's session and the broker, one client at a time (see the module docstring)."""

    def __init__(self):
        self.retained = {}
        self.states = []          # every state the broker took, in order
        self.events = []          # every event the broker took, in order
        self.replies = []
        self.sets_delivered = []  # ids of the set commands the client read
        self.replies_sent = []    # ids of the replies the client handed over
        self.up = False
        self.subscribed = set()
        self.wire = []            # client → broker: ("pub", mid) / ("sub" | "unsub", filters)
        self.downlink = []        # broker → client: ("ack", mid) / ("msg", topic, payload, retain)
        self.session = {}         # mid → message: paho's unacknowledged QoS 1
        self.content = {}         # mid → (topic, payload, retain), for ever
        self._mid = 0
        self.link = None

    def new_mid(self):
        self._mid += 1
        return self._mid

    # -- the connection --------------------------------------------------------
    def connect(self, resend_first, agent_reacts):
        """The link connects: online, subscriptions, the callback; paho's re-sends."""
        link = self.link
        self.up, self.subscribed = True, set()
        pending = list(self.session)          # paho's, from before this connect
        link.connected = True
        link.send(link.status_topic, ONLINE, True)
        if link.subscriptions:
            self.wire.append(("sub", list(link.subscriptions)))
        link.on_connection(True)
        if resend_first:
            self.wire += [("pub", mid) for mid in pending]
            agent_reacts()
        else:
            agent_reacts()
            self.wire += [("pub", mid) for mid in pending]

    def drop(self):
        """The connection is lost: what is in flight either way is gone; the will fires."""
        self.up = False
        self.wire, self.downlink, self.subscribed = [], [], set()
        if self.link is not None:
            self.retained[self.link.status_topic] = OFFLINE
            if self.link.connected:
                self.link.connected = False
                self.link.on_connection(False)

    # -- the broker --------------------------------------------------------------
    def broker_step(self, order):
        """The broker handles the next packet; ``order`` permutes one SUBSCRIBE's retained."""
        kind, what = self.wire.pop(0)
        if kind == "pub":
            topic, payload, retain = self.content[what]
            self._take(topic, payload, retain)
            self.downlink.append(("ack", what))
        elif kind == "sub":
            self.subscribed.update(what)
            found = [(t, self.retained[t]) for t in what if t in self.retained]
            found = [found[i] for i in order(len(found))]
            self.downlink += [("msg", t, p, True) for t, p in found]
        else:
            self.subscribed.difference_update(what)

    def _take(self, topic, payload, retain):
        if topic == STATE:
            self.states.append(WardState.parse(payload))
        elif topic == EVENT:
            self.events.append(WardEvent.parse(payload))
        elif topic == REPLY:
            self.replies.append(SetReply.parse(payload))
        if retain:
            if payload:
                self.retained[topic] = payload
            else:
                self.retained.pop(topic, None)
        if topic in self.subscribed:
            self.downlink.append(("msg", topic, payload, False))

    def operator_publishes(self, topic, payload):
        """Another client's message (a bed manager's set), taken at once."""
        self._take(topic, payload, False)

    def deliver(self):
        """The client reads the next answer from the broker."""
        item = self.downlink.pop(0)
        if item[0] == "ack":
            self.session.pop(item[1], None)
            self.link.on_published(item[1])
        else:
            _, topic, payload, retain = item
            if topic == SET:
                import json
                self.sets_delivered.append(json.loads(payload).get("id"))
            self.link.on_message(Received(topic, payload, retain))


class FakeLink:
    """Stands in for BrokerLink (the same promises: see bedboard/link.py)."""

    def __init__(self, network, broker, device_id, subscriptions=(), on_message=None,
                 on_connection=None, on_published=None, **_):
        from bedboard.topics import status_topic
        self.network = network
        self.status_topic = status_topic(broker.prefix, device_id)
        self.subscriptions = list(subscriptions)
        self.on_message, self.on_connection = on_message, on_connection
        self.on_published = on_published
        self.connected = False
        network.link = self

    def start(self):
        pass

    def stop(self, timeout=2.0):
        pass

    def send(self, topic, payload, retain):
        network = self.network
        mid = network.new_mid()
        network.content[mid] = (topic, bytes(payload), retain)
        network.session[mid] = True
        if self.connected:
            network.wire.append(("pub", mid))
        return mid

    def publish(self, topic, payload, retain=False, qos=1):
        if topic == REPLY:
            self.network.replies_sent.append(SetReply.parse(payload).id)
        return Info(self.send(topic, payload, retain))

    def refresh_status(self):
        if not self.connected:
            return None
        return self.publish(self.status_topic, ONLINE, retain=True)

    def subscribe(self, topic_filter):
        if topic_filter in self.subscriptions:
            return
        self.subscriptions.append(topic_filter)
        if self.connected:
            self.network.wire.append(("sub", [topic_filter]))

    def renew(self, topic_filter):
        if topic_filter not in self.subscriptions or not self.connected:
            return False
        self.network.wire.append(("sub", [topic_filter]))
        return True

    def unsubscribe(self, topic_filter):
        if topic_filter not in self.subscriptions:
            return
        self.subscriptions.remove(topic_filter)
        if self.connected:
            self.network.wire.append(("unsub", [topic_filter]))


class AgentTruth(RuleBasedStateMachine):
    """The agent, its ledger and a stood-in network, against SPEC's rules."""

    @initialize(capacity=st.integers(1, 6), occupied=st.integers(0, 6),
                settled=st.booleans())
    def start(self, capacity, occupied, settled=False):
        # tmpfs when there is one: the ledger fsyncs every change
        self.tmp = tempfile.mkdtemp(prefix="bedboard-truth-",
                                    dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
        os.makedirs(os.path.join(self.tmp, "cfg"))
        from pathlib import Path
        self.config = write_config(Path(self.tmp) / "cfg", 1, capacity=capacity,
                                   occupied=min(occupied, capacity), inputs=INPUTS)
        self.settings = load_agent(self.config)
        self.state_dir = self.settings.state_dir
        self.network = Network()
        self.now = 1000.0
        self.contact_closed = False
        self.backup = None
        self.restored_under = -1
        self.agent = None
        self.lineage = []          # accepted (seq, counts) of the current ledger
        self.tracking = True       # False while a restored copy is not yet checked
        self.expect_unconfirmed = None   # None: not known yet
        self._seq_counts = {}      # seq → counts of every state the broker took
        self._states_checked = 0
        self._launch()
        if settled:            # most programs begin with a ward already counting
            self._settle()

    # -- the agent's life ------------------------------------------------------
    def _launch(self):
        self.factory = MockFactory()
        self.outcomes = queue.SimpleQueue()
        network = self.network
        self.agent = WardAgent(self.settings, self.factory, retry_after=5.0,
                               link_factory=lambda *a, **k: FakeLink(network, *a, **k))
        self.agent.listeners.append(self.outcomes.put)
        if self.contact_closed:
            self.factory.pin(22).drive_low()
        had_ledger = os.path.exists(os.path.join(self.state_dir, "ledger.sqlite3"))
        self.agent.start_up(self.now)
        self.react()
        if had_ledger and self.tracking and self.lineage:
            seq, counts = self.lineage[-1]     # no acknowledged press lost
            ledger = self.agent.ledger
            assert ledger.seq >= seq, "the reopened ledger lost seq %d" % seq
            if ledger.seq == seq:
                assert ledger.counts == counts, "the reopened ledger lost a change"

    def _kill(self):
        """SIGKILL: nothing of the process survives but its ledger file."""
        if self.network.up:
            self.network.drop()
        self.network.session.clear()
        self.network.link = None
        agent = self.agent
        if agent.ledger is not None:
            agent.ledger._db.close()       # the file stays as committed
        agent.panel.close()
        self.factory.close()
        self.agent = None

    def react(self):
        """The agent's loop takes everything queued for it."""
        agent = self.agent
        while True:
            try:
                item = agent._inbox.get_nowait()
            except queue.Empty:
                break
            agent.handle(item, self.now)
            self._note_outcomes()
            if agent.checked and not self.tracking:
                self.tracking = True
                assert agent.ledger.seq >= self.restored_under, (
                    "an old copy was checked and stayed behind the broker's seq %d"
                    % self.restored_under)

    def _note_outcomes(self):
        while True:
            try:
                outcome = self.outcomes.get_nowait()
            except queue.Empty:
                return
            if isinstance(outcome, Accepted):
                state = outcome.state
                if self.tracking:
                    self.lineage.append((state.seq, outcome.change.after))
                if outcome.input.startswith("set by"):
                    self.expect_unconfirmed = False

    # -- rules -------------------------------------------------------------------
    @rule(kind=st.sampled_from(["taken", "freed", "blocked"]))
    def press(self, kind):
        self.agent.handle(Pressed(kind, kind), self.now)
        self.react()

    @rule()
    def move_bed_contact(self):
        self.contact_closed = not self.contact_closed
        pin = self.factory.pin(22)
        if self.contact_closed:
            pin.drive_low()
        else:
            pin.drive_high()
        self.react()

    @precondition(lambda self: self.network.wire)
    @rule(data=st.data())
    def broker_takes_a_packet(self, data):
        def order(count):
            return data.draw(st.permutations(list(range(count))), label="retained order")
        self.network.broker_step(order)
        self._check_states()

    @precondition(lambda self: self.network.downlink)
    @rule()
    def client_reads_an_answer(self):
        self.network.deliver()
        self.react()

    @precondition(lambda self: self.network.up)
    @rule(presses=st.lists(st.sampled_from(["taken", "freed", "blocked"]), max_size=3))
    def connection_lost(self, presses=()):
        """The connection drops (what is in flight is lost); presses go on meanwhile."""
        self.network.drop()
        self.react()
        for kind in presses:
            self.press(kind)

    @precondition(lambda self: not self.network.up and self.network.link is not None)
    @rule(resend_first=st.booleans())
    def connection_back(self, resend_first):
        self.network.connect(resend_first, self.react)
        self.react()

    @rule(seconds=st.sampled_from([0.5, 5.0, HEARTBEAT + 1]))
    def time_passes(self, seconds):
        self.now += seconds
        self.agent.tick(self.now)
        self.react()

    @rule()
    def sigkill(self):
        self._kill()
        self._launch()

    @rule()
    def ledger_lost(self):
        self._kill()
        shutil.rmtree(self.state_dir, ignore_errors=True)
        self.lineage, self.tracking = [], True
        # recovered from the broker: unconfirmed; nothing there: a first start
        self.expect_unconfirmed = STATE in self.network.retained
        self._launch()

    @precondition(lambda self: self.agent.ledger is not None)
    @rule()
    def copy_of_the_ledger_taken(self):
        self.agent.ledger._db.execute("PRAGMA wal_checkpoint(FULL)")
        self.backup = tempfile.mkdtemp(prefix="bedboard-truth-copy-", dir=self.tmp)
        for name in os.listdir(self.state_dir):
            shutil.copy2(os.path.join(self.state_dir, name), self.backup)

    @precondition(lambda self: self.backup is not None)
    @rule()
    def old_copy_restored(self):
        self._kill()
        shutil.rmtree(self.state_dir, ignore_errors=True)
        shutil.copytree(self.backup, self.state_dir)
        self.lineage, self.tracking = [], False   # until the audit has answered
        # Whether the copy ends unconfirmed depends on what its start-up makes
        # of it (a bed contact caught up may land on the broker's very state);
        # what must hold: once checked, it is not behind the broker's seq.
        self.expect_unconfirmed = None
        retained = self.network.retained.get(STATE)
        self.restored_under = WardState.parse(retained).seq if retained else -1
        self._launch()

    @rule(occupied=st.integers(0, 7), request=st.integers(0, 999))
    def bed_manager_sets(self, occupied, request):
        request_id = "r%d" % request
        payload = ('{"occupied": %d, "by": "bed-manager", "id": "%s"}'
                   % (occupied, request_id)).encode()
        self.network.operator_publishes(SET, payload)

    @rule()
    def network_settles(self):
        self._settle()

    # -- the rules of SPEC ---------------------------------------------------------
    def _check_states(self):
        for state in self.network.states[self._states_checked:]:
            counts = (state.capacity, state.occupied, state.blocked)
            known = self._seq_counts.setdefault(state.seq, counts)
            assert known == counts, (
                "seq %d was given to two different states: %r and %r"
                % (state.seq, known, counts))
        self._states_checked = len(self.network.states)

    @invariant()
    def states_never_reuse_a_seq(self):
        self._check_states()

    @invariant()
    def every_set_command_read_is_answered(self):
        assert set(self.network.sets_delivered) <= set(self.network.replies_sent)

    def _settle(self):
        """Let everything flow until quiet; then the broker must hold the agent's truth."""
        network = self.network
        if not network.up:
            network.connect(True, self.react)
            self.react()
        for _ in range(10000):
            if network.wire:
                network.broker_step(lambda count: range(count))
                self._check_states()
            elif network.downlink:
                network.deliver()
                self.react()
            else:
                break
        else:
            raise AssertionError("the network never settled")
        agent = self.agent
        assert agent.ready and agent.checked, "not ready or not checked once settled"
        ledger = agent.ledger
        retained = WardState.parse(network.retained[STATE])
        assert (retained.seq, retained.capacity, retained.occupied, retained.blocked) == (
            ledger.seq, ledger.counts.capacity, ledger.counts.occupied,
            ledger.counts.blocked), "the retained state stayed behind: %r, ledger seq %d" % (
            retained, ledger.seq)
        assert retained.unconfirmed == ledger.unconfirmed
        if self.expect_unconfirmed is not None:
            assert ledger.unconfirmed == self.expect_unconfirmed
        assert agent.undelivered()[:2] == (0, False)
        delivered = {(e.seq, e.capacity, e.occupied, e.blocked) for e in network.events}
        for seq, counts in self.lineage:
            assert (seq, counts.capacity, counts.occupied, counts.blocked) in delivered, (
                "accepted change seq %d (%s) never reached the broker" % (
                    seq, counts.describe()))

    def teardown(self):
        try:
            if getattr(self, "agent", None) is not None:
                self._settle()
        finally:
            if getattr(self, "agent", None) is not None:
                self._kill()
            if getattr(self, "tmp", None):
                shutil.rmtree(self.tmp, ignore_errors=True)


AgentTruth.TestCase.settings = settings.get_profile(PROFILE)
TestAgentTruth = pytest.mark.timeout(3600 if os.environ.get("BEDBOARD_CHAOS") else 120)(
    AgentTruth.TestCase)


# -- what the machine found, as plain tests -----------------------------------

def play(capacity, occupied, *steps):
    """Run the machine through ``steps`` (rule names, or (name, kwargs)); return it."""
    machine = AgentTruth()
    machine.start(capacity=capacity, occupied=occupied)
    for step in steps:
        name, kwargs = (step, {}) if isinstance(step, str) else step
        getattr(machine, name)(**kwargs)
        machine.states_never_reuse_a_seq()
        machine.every_set_command_read_is_answered()
    return machine


def finish(machine):
    """Settle (checking every rule once more) and clean up."""
    try:
        machine._settle()
    finally:
        machine._kill()
        shutil.rmtree(machine.tmp, ignore_errors=True)


def test_an_old_copy_with_changes_beyond_the_brokers_seq_is_moved_past_it():
    # Found: rebase() wrote seq (broker's + 1) while the in-memory seq still
    # counted the held changes after it: ValueError, and the agent stopped.
    machine = play(5, 1, "network_settles", "copy_of_the_ledger_taken",
                   ("press", {"kind": "blocked"}), "network_settles",   # broker: seq 1
                   "old_copy_restored",
                   ("press", {"kind": "taken"}), ("press", {"kind": "taken"}),
                   ("press", {"kind": "taken"}),                        # held: 1, 2, 3
                   "network_settles")
    ledger = machine.agent.ledger
    assert (ledger.seq, ledger.counts.occupied, ledger.counts.blocked,
            ledger.unconfirmed) == (5, 4, 1, True)
    finish(machine)


def test_changes_held_for_the_audit_survive_a_sigkill():
    # Found: the held changes lived in memory only; after a SIGKILL they
    # counted as the ledger's base, and the audit replaced them.
    machine = play(4, 1, "network_settles", "copy_of_the_ledger_taken",
                   ("press", {"kind": "taken"}), ("press", {"kind": "taken"}),
                   "network_settles",                                   # broker: seq 2, 3
                   "old_copy_restored", ("press", {"kind": "taken"}),   # held: seq 1, 2
                   "sigkill", "network_settles")
    ledger = machine.agent.ledger
    assert (ledger.seq, ledger.counts.occupied, ledger.unconfirmed) == (4, 4, True)
    finish(machine)


def test_a_bed_caught_up_onto_the_brokers_own_state_is_not_an_old_copy():
    # Found: a restored copy whose start-up catch-up (a bed contact closed
    # meanwhile) lands on the very state the broker holds was taken for an
    # old copy, and the bed was then shown as disagreeing with the count.
    machine = play(1, 0, "network_settles", "copy_of_the_ledger_taken",
                   "move_bed_contact", "network_settles", "old_copy_restored",
                   "network_settles")
    agent = machine.agent
    assert (agent.ledger.seq, agent.ledger.unconfirmed, agent.mismatched) == (
        1, False, set())
    assert agent.ledger.bed_counted("12") is True
    finish(machine)
