"""The agent against SPEC's rules, under every sequence of events Hypothesis can find.

A rule-based state machine drives the real agent — :class:`agent.app.WardAgent`
with its ward rules, a real :class:`~agent.ledger.Ledger` in a temporary
folder and the real :class:`~agent.publisher.Publisher` — one queue item at a
time, on a clock of its own.  Only paho, the link and the broker are stood
in for, by :class:`Network` and :class:`FakeLink`, with the link's promises
(bedboard/link.py): nothing handed over between a connection attempt and
its CONNACK; at the CONNACK, first what paho held unacknowledged from
earlier connections (but what was published for one connection only), then
what was kept while down; one TCP stream each way (what is in flight is
lost with the connection); and a broker that handles the client's packets
in order, keeps retained messages, sends a subscription's retained messages
while it handles the SUBSCRIBE (in any order among the filters of one
packet: MQTT promises none), and echoes live messages to subscribers with
the retain flag cleared.

The machine presses buttons, moves a bed contact, lets the broker take the
next packet or the client the next answer, drops and restores the
connection, lets time pass (heartbeats, retries), SIGKILLs the agent (the
ledger is reopened), loses its ledger, restores an old copy of it, and has
the bed manager send ``set`` commands.  It also makes the agent's loop
*lag*: while it lags, presses, answers and the link's connection events
queue up in the agent's inbox, in the order they happened, and the loop
takes them later — one at a time or all at once — with a view of the link
that is stale (a press handled while the link has dropped and come back).
After every step it checks:

* **no acknowledged press lost** — after a SIGKILL the reopened ledger has
  the last accepted change; once the network settles, every accepted change
  of the current ledger is on the broker as its event;
* **a seq is never reused for a different state** — among every state the
  broker took;
* **events in order, the retained state never back — at every step**, during
  reconnects too: the first copy of each event the broker takes comes in
  seq order, and the broker never takes a state older than the one it
  holds;
* **the retained state never stays behind** — once the network settles it is
  the agent's current state;
* **an event owed is never counted delivered** — the agent's count of
  undelivered events (its status LED) is at least the number of accepted
  events whose acknowledgement it has not read;
* a count read from the broker or an old copy stays ``unconfirmed`` until a
  bed manager's ``set``, and every ``set`` gets its reply;
* **a held bed is never vacant** — every state the broker takes counts its
  held beds inside ``blocked`` and lists them all, and its vacant figure
  leaves them out;
* **an expired (or released) hold frees its bed once** — a hold, once gone
  from the broker's state, never comes back to it, whatever restarts, old
  copies, lost ledgers and outages came between (the machine's ``held``,
  ``released``, ``arrived`` and ``checked`` buttons and a one-minute
  ``hold_minutes`` make holds come and go, by hand and by the clock);
* **"not checked" exactly when the check is older than the bound** — the
  agent asks for a check exactly when the age of the last one (by the
  machine's clock) is past ``check_within``, or unknown.

``make test`` runs a hundred programs of up to 50 steps (about 10 s);
``BEDBOARD_CHAOS=1`` (``make chaos``) runs 2,000 of up to 100 steps.
"""

import json
import os
import queue
import shutil
import tempfile
import time

import hypothesis.strategies as st
import pytest
from gpiozero.pins.mock import MockFactory
from hypothesis import HealthCheck, settings
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant,
                                 precondition, rule)

from dataclasses import replace

from agent import holdbook
from agent.app import WardAgent
from agent.config import load_agent
from agent.events import Accepted, Arrived, Pressed
from bedboard.payloads import WardState

from .agent_helpers import SET, STATE, write_config
from .truth_network import FakeLink, Handing, Network

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
  - {name: bed-12, kind: bed, pin: 22, bed: "12", debounce: 0}
  - {name: held, kind: held, pin: 5}
  - {name: released, kind: released, pin: 6}
  - {name: arrived, kind: arrived, pin: 13}
  - {name: checked, kind: checked, pin: 19}"""
PRESSES = ["taken", "freed", "blocked", "held", "released", "arrived", "checked"]
HOLD_MINUTES = 1.0      # a hold expires after 60 s of the machine's clock
CHECK_WITHIN = 120.0


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
        self.settings = replace(load_agent(self.config), hold_minutes=HOLD_MINUTES,
                                check_within=CHECK_WITHIN)
        self.state_dir = self.settings.state_dir
        self.network = Network()
        self.now = 1000.0
        holdbook.clock = lambda: self.now     # holds and checks timed by the machine
        self.checked_at = None     # the machine's time of the check this process saw
        self._holds_seen = {}      # hold id → the highest seq of a state listing it
        self._holds_gone = {}      # hold id → the seq of the state it was gone from
        self.contact_closed = False
        self.backup = None
        self.restored_under = -1
        self.agent = None
        self.lineage = []          # accepted (seq, counts) of the current ledger
        self.tracking = True       # False while a restored copy is not yet checked
        self.expect_unconfirmed = None   # None: not known yet
        self._seq_counts = {}      # seq → counts of every state the broker took
        self._states_checked = 0
        self._events_checked = 0
        self._event_seqs = set()   # every seq of which the broker took an event
        self._last_first = -1      # the seq of the latest event taken for the first time
        self._retained_seq = -1    # the seq of the state the broker holds (-1: none)
        self.lagging = False       # the agent's loop is busy: its inbox fills up
        self._launch()
        if settled:            # most programs begin with a ward already counting
            self._settle()

    # -- the agent's life ------------------------------------------------------
    def _launch(self):
        self.lagging = False
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
        self.checked_at = None      # its monotonic clock's knowledge dies with it
        if self.network.up:
            self.network.drop()
        network = self.network
        network.session.clear()
        network.owned.clear()
        network.kept.clear()
        network.link = None
        agent = self.agent
        while not agent._inbox.empty():     # read by paho, never handled: lost with it
            item = agent._inbox.get_nowait()
            if isinstance(item, Arrived) and item.received.topic == SET:
                request = json.loads(item.received.payload).get("id")
                if request in network.sets_delivered:
                    network.sets_delivered.remove(request)
        if agent.ledger is not None:
            agent.ledger._db.close()       # the file stays as committed
        agent.panel.close()
        self.factory.close()
        self.agent = None

    def react(self):
        """The agent's loop takes everything queued for it (unless it lags)."""
        while not self.lagging and self._take_one():
            pass

    def _take_one(self):
        """The agent's loop takes the next item of its inbox; return whether there was one."""
        agent = self.agent
        try:
            item = agent._inbox.get_nowait()
        except queue.Empty:
            return False
        agent.handle(item, self.now)
        self._note_outcomes()
        if agent.checked and not self.tracking:
            self.tracking = True
            assert agent.ledger.seq >= self.restored_under, (
                "an old copy was checked and stayed behind the broker's seq %d"
                % self.restored_under)
        return True

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
                if outcome.change.checked:
                    self.checked_at = self.now
                if outcome.input.startswith("set by"):
                    self.expect_unconfirmed = False

    # -- rules -------------------------------------------------------------------
    @rule(kind=st.sampled_from(PRESSES))
    def press(self, kind):
        if self.lagging:
            self.agent._inbox.put(Pressed(kind, kind))   # handled when the loop gets to it
            return
        self.agent.handle(Pressed(kind, kind), self.now)
        self._note_outcomes()        # at the time it was pressed
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
        self._check_order()

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
    @rule()
    def connection_back(self):
        self.network.connect()
        self.react()

    @precondition(lambda self: not self.lagging)
    @rule()
    def loop_lags(self):
        """The agent's loop is busy: what happens now queues up behind its work."""
        self.lagging = True

    @precondition(lambda self: self.lagging)
    @rule()
    def loop_takes_one_item(self):
        self._take_one()

    @precondition(lambda self: self.lagging)
    @rule()
    def loop_catches_up(self):
        self.lagging = False
        self.react()

    @rule(seconds=st.sampled_from([0.5, 5.0, HEARTBEAT + 1]))
    def time_passes(self, seconds):
        self.now += seconds
        if not self.lagging:           # the loop's clock work waits for the loop
            self.agent.tick(self.now)
            self._note_outcomes()
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
    def _check_order(self):
        network = self.network
        for event in network.events[self._events_checked:]:
            if event.seq not in self._event_seqs:
                assert event.seq > self._last_first, (
                    "event seq %d reached the broker for the first time after seq %d: %r"
                    % (event.seq, self._last_first, [e.seq for e in network.events]))
                self._event_seqs.add(event.seq)
                self._last_first = event.seq
        self._events_checked = len(network.events)
        retained = network.retained.get(STATE)
        seq = WardState.parse(retained).seq if retained else -1
        assert seq >= self._retained_seq, (
            "the broker's retained state went back from seq %d to %d: states %r"
            % (self._retained_seq, seq, [s.seq for s in network.states]))
        self._retained_seq = seq

    def _check_states(self):
        for state in self.network.states[self._states_checked:]:
            counts = (state.capacity, state.occupied, state.blocked, state.held)
            known = self._seq_counts.setdefault(state.seq, counts)
            assert known == counts, (
                "seq %d was given to two different states: %r and %r"
                % (state.seq, known, counts))
            self._check_held(state)
        self._states_checked = len(self.network.states)

    def _check_held(self, state):
        """Held beds never vacant; a hold gone from the broker's state never comes back."""
        assert state.held is not None and state.held <= state.blocked, state
        assert sum(hold.beds for hold in state.holds) == state.held, state
        assert state.vacant == state.capacity - state.occupied - state.blocked \
            <= state.capacity - state.occupied - state.held, state
        listed = {hold.id for hold in state.holds}
        for hold_id in listed:
            assert hold_id not in self._holds_gone, (
                "hold %s was freed at seq %d and is back at seq %d"
                % (hold_id, self._holds_gone[hold_id], state.seq))
            self._holds_seen[hold_id] = state.seq
        for hold_id, seen in list(self._holds_seen.items()):
            if hold_id not in listed and state.seq > seen:
                self._holds_gone[hold_id] = state.seq
                del self._holds_seen[hold_id]

    @invariant()
    def states_never_reuse_a_seq(self):
        self._check_states()

    @invariant()
    def events_come_in_order_and_the_retained_state_never_goes_back(self):
        self._check_order()

    @invariant()
    def an_event_owed_is_never_counted_delivered(self):
        agent = self.agent
        if agent is None or agent.ledger is None or not self.tracking:
            return
        owed = {(seq, c.capacity, c.occupied, c.wire_blocked) for seq, c in self.lineage}
        owed -= self.network.acked
        assert agent.undelivered()[0] >= len(owed), (
            "the agent counts %d event(s) undelivered, but %d are owed: %s"
            % (agent.undelivered()[0], len(owed), sorted(owed)))

    @invariant()
    def the_check_is_asked_for_exactly_when_it_is_due(self):
        agent = self.agent
        if agent is None or agent.ledger is None:
            return
        age = agent.ledger.check_age()
        if self.checked_at is not None:     # never younger or older than it is
            assert age is None or age == self.now - self.checked_at, (
                age, self.now, self.checked_at)
        assert agent.check_due == (age is None or age > CHECK_WITHIN), (age,
                                                                        agent.check_due)

    @invariant()
    def every_set_command_read_is_answered(self):
        if self.agent is None or not self.agent._inbox.empty():
            return                  # read, and still queued for the agent's loop
        assert set(self.network.sets_delivered) <= set(self.network.replies_sent)

    def _settle(self):
        """Let everything flow until quiet; then the broker must hold the agent's truth."""
        network = self.network
        self.lagging = False
        self.react()
        if not network.up:
            network.connect()
            self.react()
        for _ in range(10000):
            if network.wire:
                network.broker_step(lambda count: range(count))
                self._check_states()
                self._check_order()
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
        assert (retained.seq, retained.capacity, retained.occupied, retained.blocked,
                retained.held) == (
            ledger.seq, ledger.counts.capacity, ledger.counts.occupied,
            ledger.counts.wire_blocked, ledger.counts.held), (
            "the retained state stayed behind: %r, ledger seq %d" % (retained, ledger.seq))
        assert {h.id: h.beds for h in retained.holds} == {
            h.id: h.beds for h in ledger.holds.values()}
        assert retained.unconfirmed == ledger.unconfirmed
        if self.expect_unconfirmed is not None:
            assert ledger.unconfirmed == self.expect_unconfirmed
        assert agent.undelivered()[:2] == (0, False)
        delivered = {(e.seq, e.capacity, e.occupied, e.blocked) for e in network.events}
        for seq, counts in self.lineage:
            assert (seq, counts.capacity, counts.occupied, counts.wire_blocked) in delivered, (
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
            holdbook.clock = time.monotonic


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
        holdbook.clock = time.monotonic


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


def test_an_event_acknowledged_twice_is_counted_delivered_once(tmp_path):
    # Issue 17, finding 6: an event handed over twice (the outbox sent again
    # from its oldest) and acknowledged twice, with the outbox cleaned up in
    # between, was counted delivered twice: the status LED showed steady
    # while a later event was still owed.
    from agent import ward as rules
    from agent.ledger import Ledger
    from agent.publisher import Publisher
    from agent.ward import WardCounts
    from bedboard.payloads import utc_now
    from .agent_helpers import AGENT_ID, WARD
    ledger = Ledger.create(str(tmp_path / "state"), WARD, AGENT_ID, WardCounts(4, 0, 0),
                           0, utc_now(), 4, "config")
    link = Handing()
    publisher = Publisher(link, "crs", WARD, AGENT_ID)
    publisher.attach(ledger)
    publisher.connected(1)

    def change():
        ledger.record(rules.press(ledger.counts, "taken"), AGENT_ID, utc_now())
        publisher.changed()

    change()                                 # seq 1, handed over once …
    publisher.release()                      # … and again, from the oldest
    first, second = link.mids_of_event(1)
    change()                                 # seq 2: owed until its PUBACK
    publisher.acked(first)
    publisher.flush()                        # seq 1 leaves the outbox
    publisher.acked(second)                  # its other copy's PUBACK
    assert (publisher.undelivered, publisher.delivered) == (1, False)
    (last,) = link.mids_of_event(2)
    publisher.acked(last)
    publisher.flush()
    assert (publisher.undelivered, ledger.outbox_count) == (0, 0)
    ledger.close()

