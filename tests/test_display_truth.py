"""The board against the oracle and the truth, under random histories.

A Hypothesis rule-based state machine plays a small hospital: three wards on
two tiles, their agents (pressing, heartbeating every minute, killed with or
without their will, hung, restarted with their ledger, from an old copy of
it, or with none), a second agent on a ward, a replaced panel, a broker
that goes down and comes back with or without its retained messages, the
board restarting, stale statuses, retired wards, time passing.  What the
board receives goes through the real :class:`display.feed.Feed` (the bytes
on the wire, with their retain flag) into the real
:class:`display.board.Board`.

After every step:

* the board's view equals :func:`tests.oracle.expected_view` of the whole
  history, field for field (figures, live or not, state word, highlight,
  "updated" age, reasons, total);
* **truth**: a tile whose wards are all *sound* (one agent each, alive,
  connected, its current state delivered live to this board since it last
  connected, never behind what the board applied) shows exactly the
  agents' counts, live; a tile whose agents are all dead or hung and whose
  last live news is older than ``stale_after`` (retained news older than
  ``retained_for``) is not live; FULL and FEW LEFT are never claimed with a
  ward missing; "beds just freed" follows a live rise; with the link down
  and nothing LAST KNOWN, the total is not known.

``make test`` runs a bounded number of examples; ``make chaos`` (the
``BEDBOARD_CHAOS`` environment variable) many more.
"""

import os
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from bedboard.link import Received
from bedboard.payloads import WardState
from bedboard.topics import WardKey
from display.board import Board, Status
from display.config import Label, TileSpec
from display.feed import DropLog, Feed, apply

from .oracle import Heard, Rules, differences, expected_view

WALL0 = datetime(2026, 11, 25, 18, 0, tzinfo=timezone.utc)
MALE = WardKey("nrs", "medicine", "male")
FEMALE = WardKey("nrs", "medicine", "female")
ICU = WardKey("nrs", "icu", "unit-1")
WARDS = (MALE, FEMALE, ICU)
TILES = (TileSpec("nrs", "medicine", None, Label("Medicine")),
         TileSpec("nrs", "icu", ("unit-1",), Label("ICU")))
HEARTBEAT = 60.0
STALE_AFTER = 180.0
RETAINED_FOR = 75.0
HIGHLIGHT = 300.0
CAPACITY = {MALE: 4, FEMALE: 3, ICU: 2}

CHAOS = bool(os.environ.get("BEDBOARD_CHAOS"))
EXAMPLES = int(os.environ.get("BEDBOARD_CHAOS_EXAMPLES", 3000)) if CHAOS else 200
STEPS = 80 if CHAOS else 40


def state_topic(key):
    return "crs/%s/%s/%s/state" % (key.hospital, key.department, key.ward)


def status_topic(agent):
    return "crs/device/%s/status" % agent


class Agent:
    """One ward agent as the world sees it: its ledger and its life."""

    def __init__(self, name, key, counts, seq, unconfirmed=False):
        self.name = name
        self.key = key
        self.counts = counts          # (capacity, occupied, blocked)
        self.seq = seq
        self.unconfirmed = unconfirmed
        self.backups = []             # old copies of the ledger
        self.alive = True
        self.hung = False
        self.connected = False
        self.next_beat = None

    def state(self, at):
        capacity, occupied, blocked = self.counts
        return WardState(capacity=capacity, occupied=occupied, blocked=blocked,
                         seq=self.seq, at=at, agent=self.name,
                         unconfirmed=self.unconfirmed, synced=True)


class TruthMachine(RuleBasedStateMachine):
    """The world, the board, and the checks (see the module docstring)."""

    @initialize()
    def start(self):
        self.t = 0.0
        self.broker_up = True
        self.retained = {}            # topic -> payload bytes
        self.agents = {}              # name -> Agent
        self.board = None
        self.board_connected = False
        self.history = []
        self.rise_at = {}             # TileSpec -> time of the last live vacancy rise
        self.spare = 0
        for key in WARDS:
            agent = Agent(_name(key), key, (CAPACITY[key], 0, 0), 0)
            self.agents[agent.name] = agent
            self._connect_agent(agent)
        self._start_board()

    # -- the world's plumbing ------------------------------------------------
    def _wall(self):
        return WALL0 + timedelta(seconds=self.t)

    def _start_board(self):
        self.rules = Rules(TILES, STALE_AFTER, RETAINED_FOR, 1, HIGHLIGHT, self.t)
        self.board = Board("nrs", TILES, STALE_AFTER, 1, HIGHLIGHT, now=self.t,
                           retained_for=RETAINED_FOR)
        self.feed = Feed("crs", clock=lambda: self.t, wall_clock=self._wall,
                         drops=DropLog(60, lambda: self.t))
        self.history = []
        self.board_connected = False
        self.followed = set()
        self.applied_seq = {}         # (key, agent) -> highest seq this board received
        self.live_since_connect = {}  # agent -> (seq, counts) delivered live this connection
        self.last_live = {}           # key -> time of the last live state delivered
        self.last_retained = {}       # key -> time of the last retained state delivered
        self.told_offline = set()     # agents the board was (wrongly) told are offline
        if self.broker_up:
            self._board_connects()

    def _board_connects(self):
        self.board_connected = True
        self.live_since_connect = {}
        self.feed.on_connection(True)
        self.history.append(Heard(self.t, "link", (True, self._wall())))
        self._settle()
        for key in WARDS:                       # the subscriptions' retained answers
            payload = self.retained.get(state_topic(key))
            if payload is not None:
                self._to_board(state_topic(key), payload, True)
        for agent in sorted(self.followed):
            payload = self.retained.get(status_topic(agent))
            if payload is not None:
                self._to_board(status_topic(agent), payload, True)

    def _board_disconnects(self):
        if not self.board_connected:
            return
        self.board_connected = False
        self.feed.on_connection(False)
        self.history.append(Heard(self.t, "link", (False, self._wall())))
        self._settle()

    def _settle(self):
        """What the app does each pass: drain the feed, then follow new agents."""
        apply(self.board, self.feed.drain())
        for agent in sorted(self.board.agents() - self.followed):
            self.followed.add(agent)
            payload = self.retained.get(status_topic(agent))
            if payload is not None and self.board_connected:
                self._to_board(status_topic(agent), payload, True)

    def _to_board(self, topic, payload, retained):
        """Deliver one message to the board (and write down what it heard)."""
        if not self.board_connected:
            return
        if topic.endswith("/status"):
            agent = topic.split("/")[2]
            if agent not in self.followed:
                return
            online = {b"online": True, b"offline": False, b"": None}[payload]
            if online is not False:
                self.told_offline.discard(agent)
            self.history.append(Heard(self.t, "status", (agent, online, retained)))
        else:
            key = WardKey(*topic.split("/")[1:4])
            if not payload:
                self.history.append(Heard(self.t, "retired", (key,)))
            else:
                state = WardState.parse(payload)
                self.history.append(Heard(self.t, "state",
                                          (key, state, retained, self._wall())))
                mark = (key, state.agent)
                self.applied_seq[mark] = max(self.applied_seq.get(mark, -1), state.seq)
                if retained:
                    self.last_retained[key] = self.t
                else:
                    self.last_live[key] = self.t
                    self.told_offline.discard(state.agent)
                    self.live_since_connect[state.agent] = (state.seq, (
                        state.capacity, state.occupied, state.blocked))
        self.feed.on_message(Received(topic, payload, retained))
        self._settle()

    def _publish(self, topic, payload, retain=True):
        if not self.broker_up:
            return
        if retain:
            if payload:
                self.retained[topic] = payload
            else:
                self.retained.pop(topic, None)
        self._to_board(topic, payload, False)

    def _publish_state(self, agent):
        if agent.connected and agent.alive and not agent.hung:
            self._publish(state_topic(agent.key), agent.state(self._wall()).to_json())

    def _connect_agent(self, agent):
        """The agent (re)connects: recovery or audit, then online and its state."""
        if not self.broker_up or not agent.alive:
            return
        agent.connected = True
        agent.next_beat = self.t + HEARTBEAT
        if not agent.hung:
            self._publish(status_topic(agent.name), b"online")
            self._publish_state(agent)

    def _audit(self, agent):
        """An agent with a ledger checks it against the broker's retained state."""
        payload = self.retained.get(state_topic(agent.key)) if self.broker_up else None
        if not payload:
            return
        found = WardState.parse(payload)
        theirs = (found.capacity, found.occupied, found.blocked)
        if found.seq > agent.seq or (found.seq == agent.seq and theirs != agent.counts):
            agent.counts, agent.seq, agent.unconfirmed = theirs, found.seq + 1, True

    def _beats_until(self, end):
        """Heartbeats of the living, connected agents, in time order, up to ``end``."""
        while True:
            due = [a for a in self.agents.values()
                   if a.alive and a.connected and not a.hung and a.next_beat is not None
                   and a.next_beat <= end]
            if not due:
                return
            agent = min(due, key=lambda a: (a.next_beat, a.name))
            self.t = agent.next_beat
            agent.next_beat += HEARTBEAT
            self._publish(status_topic(agent.name), b"online")
            self._publish_state(agent)

    def _owners(self, key):
        return [a for a in self.agents.values() if a.key == key]

    def _working(self, key):
        return [a for a in self._owners(key) if a.alive and not a.hung]

    # -- rules: the ward -----------------------------------------------------------
    @rule(key=st.sampled_from(WARDS), kind=st.sampled_from(["taken", "freed", "blocked",
                                                            "unblocked"]),
          backup=st.booleans())
    def press(self, key, kind, backup):
        working = self._working(key)
        if not working:
            return
        agent = working[0]
        capacity, occupied, blocked = agent.counts
        vacant = capacity - occupied - blocked
        if kind == "taken" and vacant:
            occupied += 1
        elif kind == "freed" and occupied:
            occupied -= 1
        elif kind == "blocked" and vacant:
            blocked += 1
        elif kind == "unblocked" and blocked:
            blocked -= 1
        else:
            return                      # refused: nothing changes
        if backup:
            agent.backups.append((agent.counts, agent.seq, agent.unconfirmed))
        agent.counts, agent.seq = (capacity, occupied, blocked), agent.seq + 1
        self._publish_state(agent)
        self._note_rise(key)

    @rule(key=st.sampled_from(WARDS), occupied=st.integers(0, 4))
    def bed_manager_sets(self, key, occupied):
        working = self._working(key)
        if not working:
            return
        agent = working[0]
        capacity, _, blocked = agent.counts
        occupied = min(occupied, capacity - blocked)
        agent.counts, agent.seq, agent.unconfirmed = (capacity, occupied, blocked), \
            agent.seq + 1, False
        self._publish_state(agent)
        self._note_rise(key)

    def _note_rise(self, key):
        if self.board_connected and self.broker_up:
            for spec in TILES:
                if spec.covers(key):
                    self.rise_at[spec] = self.t

    @rule(key=st.sampled_from(WARDS), will=st.booleans())
    def agent_dies(self, key, will):
        for agent in self._working(key)[:1]:
            agent.alive = False
            if will and agent.connected:
                self._publish(status_topic(agent.name), b"offline")
            agent.connected = False

    @rule(key=st.sampled_from(WARDS))
    def agent_hangs(self, key):
        for agent in self._working(key)[:1]:
            agent.hung = True

    @rule(key=st.sampled_from(WARDS), ledger=st.sampled_from(["kept", "old copy", "lost"]),
          audits=st.booleans())
    def agent_restarts(self, key, ledger, audits):
        owners = [a for a in self._owners(key) if not a.alive or a.hung]
        if not owners:
            return
        agent = owners[0]
        if agent.connected and agent.hung:
            agent.connected = False     # systemd's watchdog kills it: the will fires
            self._publish(status_topic(agent.name), b"offline")
        agent.alive, agent.hung = True, False
        if ledger == "old copy" and agent.backups:
            agent.counts, agent.seq, agent.unconfirmed = agent.backups.pop(0)
            agent.backups.clear()
        elif ledger == "lost":
            payload = self.retained.get(state_topic(key)) if self.broker_up else None
            if payload:
                found = WardState.parse(payload)
                agent.counts = (found.capacity, found.occupied, found.blocked)
                agent.seq, agent.unconfirmed = found.seq, True
            else:
                agent.counts, agent.seq, agent.unconfirmed = (CAPACITY[key], 0, 0), 0, False
            agent.backups.clear()
        if audits and ledger != "lost":
            self._audit(agent)
        self._connect_agent(agent)

    @rule(key=st.sampled_from(WARDS))
    def a_second_agent_counts_the_ward(self, key):
        if len(self._owners(key)) > 1:
            return
        self.spare += 1
        agent = Agent("%s-spare-%d" % (_name(key), self.spare), key,
                      (CAPACITY[key], 0, 0), 0)
        self.agents[agent.name] = agent
        self._connect_agent(agent)

    @rule(key=st.sampled_from(WARDS))
    def the_panel_is_replaced(self, key):
        """The old agent stops cleanly (offline); a new one takes the ward over."""
        for old in self._owners(key):
            if old.connected:
                self._publish(status_topic(old.name), b"offline")
            del self.agents[old.name]
        self.spare += 1
        agent = Agent("%s-new-%d" % (_name(key), self.spare), key, (CAPACITY[key], 0, 0), 0)
        self.agents[agent.name] = agent
        self._connect_agent(agent)

    @rule(key=st.sampled_from(WARDS))
    def a_stale_offline_reaches_the_board(self, key):
        """An old retained ``offline`` arrives after the newer ``online`` (a cluster)."""
        for agent in self._working(key)[:1]:
            self._to_board(status_topic(agent.name), b"offline", True)
            self.told_offline.add(agent.name)

    @rule(key=st.sampled_from(WARDS))
    def the_ward_is_retired(self, key):
        """The operator clears the ward's retained state; its agents are stopped."""
        for agent in self._owners(key):
            if agent.connected:
                self._publish(status_topic(agent.name), b"offline")
            del self.agents[agent.name]
        self._publish(state_topic(key), b"")

    # -- rules: the broker and the board ------------------------------------------
    @precondition(lambda self: self.broker_up)
    @rule()
    def broker_goes_down(self):
        self.broker_up = False
        for agent in self.agents.values():
            agent.connected = False
        self._board_disconnects()

    @precondition(lambda self: not self.broker_up)
    @rule(keeps_retained=st.booleans(), board_first=st.booleans())
    def broker_comes_back(self, keeps_retained, board_first):
        self.broker_up = True
        if not keeps_retained:
            self.retained = {}
        if board_first and self.board is not None:
            self._board_connects()
        for agent in sorted(self.agents.values(), key=lambda a: a.name):
            self._connect_agent(agent)
        if not board_first:
            self._board_connects()

    @rule()
    def board_restarts(self):
        self._start_board()

    @rule(seconds=st.one_of(st.floats(0.1, 5), st.floats(5, 120), st.floats(120, 400)))
    def time_passes(self, seconds):
        end = self.t + seconds
        self._beats_until(end)
        self.t = end

    # -- the checks ------------------------------------------------------------------
    @invariant()
    def the_board_shows_what_the_oracle_says(self):
        if self.board is None:
            return
        shown = self.board.view(self.t)
        expected = expected_view(self.history, self.t, self.rules)
        assert shown == expected, differences(shown, expected)

    @invariant()
    def the_board_tells_the_truth(self):
        if self.board is None:
            return
        view = self.board.view(self.t)
        for spec, tile in zip(TILES, view.tiles):
            keys = [k for k in WARDS if spec.covers(k)]
            if all(self._sound(k) for k in keys) and not tile.conflict:
                truth = [self._working(k)[0].counts for k in keys]
                assert tile.live, (spec, tile)
                assert (tile.capacity, tile.occupied, tile.blocked) == tuple(
                    map(sum, zip(*truth))), (spec, tile, truth)
                assert tile.missing == 0
            if all(self._dead_long_enough(k) for k in keys):
                assert not tile.live, (spec, tile)
            if tile.status in (Status.FULL, Status.FEW_LEFT):
                assert tile.missing == 0
            if tile.highlighted:
                assert self.t - self.rise_at.get(spec, -1e9) <= HIGHLIGHT
        if not view.connected and not any(t.status is Status.LAST_KNOWN for t in view.tiles):
            assert view.total_vacant is None

    def _sound(self, key):
        owners = self._owners(key)
        if len(owners) != 1 or not self.board_connected:
            return False
        agent = owners[0]
        if not (agent.alive and not agent.hung and agent.connected):
            return False
        if agent.name in self.told_offline:
            return False                # not live is honest; the next heartbeat mends it
        if self.live_since_connect.get(agent.name) != (agent.seq, agent.counts):
            return False
        return agent.seq >= self.applied_seq.get((key, agent.name), -1) and \
            self.t - self.last_live.get(key, -1e9) < STALE_AFTER

    def _dead_long_enough(self, key):
        if any(a.alive and not a.hung for a in self._owners(key)):
            return False
        return (self.t - self.last_live.get(key, -1e9) > STALE_AFTER
                and self.t - self.last_retained.get(key, -1e9) > RETAINED_FOR)


def _name(key):
    return "%s-%s-%s" % (key.hospital, key.department, key.ward)


TruthMachine.TestCase.settings = settings(
    max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
test_the_board_against_the_oracle_and_the_truth = TruthMachine.TestCase
