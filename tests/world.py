"""The world a lobby board lives in, and the ground truth the board cannot see.

A plain simulation (no Hypothesis here) of the deployments the README
documents: ward agents publishing real payload bytes (``WardState.to_dict()``
as JSON, with the progress fields ``boot``, ``beat`` and ``heartbeat`` of
docs/contract.md for new agents, without them for old ones), a broker that
keeps retained messages — either one broker (``direct``) or a hospital
Mosquitto bridged into a state broker of several nodes (``bridge``) — and
one real :class:`display.board.Board` fed through the real
:class:`display.feed.Feed` with the retain flag each message would carry.

Its faults are the ones the field has: a bridge that re-sends the hospital
broker's retained messages (without the retain flag, as MQTT 3.1.1
requires of a subscriber already subscribed) on every bridge reconnect and
hospital-broker restart; a state broker restoring an old autosave; the
board's own link dropping (and wills firing meanwhile), two boards with one
client id taking it from each other; panels dying with or without their
will, hanging, restarting from their ledger, an old copy of it or none,
replaced, retired and returned; capacity corrections; an unsynchronised
board clock.

What the world knows and the board does not is kept as **ground truth**
(:class:`Agent` and :class:`World`): which agents are alive, when each last
made progress (published something new), each ward's true counts over
time, why its free beds rose, when a will fired.  :mod:`tests.world_oracle`
judges what the board drew against it.

Checks and holds (issue 20), as a new agent publishes them (docs/contract.md,
"Checks and holds"): a nurse confirming the count (or a bed manager's set)
is a change stamped with the true time; every state says ``checked`` and its
``checked_age`` by the agent's clock — left out when the agent took its
count from the broker's copy (a lost ledger: the age is unknown) until the
next check.  Beds held for a referral are counted inside ``blocked`` and in
``held``, listed in ``holds`` with their time ``left``; a hold ends when
released, when its patient arrives (the bed becomes occupied) or, by itself,
at its time — while its agent runs (an agent that is off expires it when it
is back).  An old agent knows neither.
"""

import tempfile
from datetime import timedelta

from bedboard.link import Received
from bedboard.payloads import WardState
from bedboard.topics import WardKey
from display.board import Board
from display.feed import DropLog, Feed, apply

try:                        # the board's own memory of the wards it has seen (issue 15)
    from display.memory import WardMemory
except ImportError:         # a board from before it
    WardMemory = None

from .world_agent import WALL0, Agent  # noqa: E402 (WALL0: the world's time 0)

PREFIX = "crs"
CHECK_WITHIN = 600.0      # the world's board.check_within: short, so checks fall due
BURST_GAP = 0.02          # seconds between two messages of a reconnect's retained burst


def state_topic(key):
    return "%s/%s/%s/%s/state" % (PREFIX, key.hospital, key.department, key.ward)


def status_topic(agent):
    return "%s/device/%s/status" % (PREFIX, agent)


def ward_of(topic):
    return WardKey(*topic.split("/")[1:4])


class World:
    """Brokers, agents, one board and its link; every message the board gets goes
    through the real Feed into the real Board."""

    def __init__(self, specs, hospital="nrs", topology="direct", stale_after=180.0,
                 retained_for=75.0, few_left=1, highlight=300.0, on_message=None,
                 check_within=CHECK_WITHIN):
        self.t = 0.0
        self.check_within = check_within
        self.specs = tuple(specs)
        self.hospital = hospital
        self.topology = topology
        self.stale_after, self.retained_for = stale_after, retained_for
        self.few_left, self.highlight = few_left, highlight
        self.on_message = on_message  # called after each message of a burst
        self.boots = 0
        self.agents = {}              # name -> Agent (retired ones leave)
        self.gone = []                # agents stopped for good (replaced, retired)
        self.hospital_up = self.state_up = True
        self.bridge_up = topology == "bridge"
        self.hospital_store = {}      # the hospital broker's retained (bridge only)
        self.store = {}               # the state broker's retained: topic -> bytes
        self.autosave = {}            # the state broker's last autosave
        self.published_at = {}        # payload bytes -> t it was first published
        self.rises = {}               # key -> [(t, n, cause, agent)]: each rise of its free beds
        self.rising = 0               # rises so far (orders rises at one moment)
        self.retired = set()          # wards retired (and not returned)
        self.told_retired = set()     # wards a board was told were retired, not yet back
        self.known = set()            # wards any board run was told of, and not told
        #                               retired since (a board's memory)
        self.clock_offset = 0.0       # the board's wall clock minus the true one
        self.link_changed_true = None  # true wall time of the board's last link change
        self.board = None
        self.memory = None            # the board's on-disk memory of wards, if it has one
        self.board_link = False
        self.bridge_replayed = None   # t of the last replay over the bridge
        self.bridge_replay_ended = None  # t it ended (inf while under way)
        self.bursting = False         # a burst of messages is being delivered
        self.delivered = {}           # key -> publication time of the newest state delivered
        self.deliveries = {}          # agent -> t it was first delivered (this board run)
        self.seen = set()             # state payloads this board run was given
        self.news = {}                # agent -> t this board run last got a state it
        #                               had not seen (the news the board has of it)
        self.sound_since = 0.0        # since when every link to the board has been up

    # -- clocks ------------------------------------------------------------
    def true_wall(self):
        return WALL0 + timedelta(seconds=self.t)

    def board_wall(self):
        return self.true_wall() + timedelta(seconds=self.clock_offset)

    @property
    def synced(self):
        return self.clock_offset == 0.0

    # -- the board -----------------------------------------------------------
    def start_board(self):
        """The board (re)starts, as the app does: with what it saved of the wards it
        has seen (its state_dir), when the board keeps such a memory."""
        if self.memory is not None and self.board is not None:
            self.memory.save()
        self.board = Board(self.hospital, self.specs, self.stale_after, self.few_left,
                           self.highlight, now=self.t, retained_for=self.retained_for,
                           check_within=self.check_within)
        if WardMemory is not None:
            if self.memory is None:
                self._folder = tempfile.TemporaryDirectory(prefix="world-board-")
                self.memory = WardMemory(self._folder.name)
            else:
                self.memory = WardMemory(self.memory.folder)
            self.board.recall(self.memory)
        self.feed = Feed(PREFIX, clock=lambda: self.t, wall_clock=self.board_wall,
                         drops=DropLog(60, lambda: self.t), wall_synced=lambda: self.synced)
        self.board_started = self.t
        self.board_link = False
        self.followed = set()
        self.deliveries = {}
        self.delivered = {}
        self.seen, self.news = set(), {}
        if self.state_up:
            self.board_connects()

    def board_connects(self):
        """The board's link comes up: its subscriptions' retained burst, states first."""
        if self.board_link or not self.state_up:
            return
        self.board_link = True
        self.sound_since = self.t
        self.link_changed_true = self.true_wall()
        self.feed.on_connection(True)
        self._settle()
        burst = [t for t in sorted(self.store) if t.endswith("/state")
                 and any(s.covers(ward_of(t)) for s in self.specs)]
        burst += [status_topic(a) for a in sorted(self.followed)
                  if status_topic(a) in self.store]
        self.bursting = True
        for topic in burst:
            if topic in self.store and self.board_link:
                self.t += BURST_GAP
                self.to_board(topic, self.store[topic], retained=True)
        self.bursting = False

    def board_disconnects(self):
        if not self.board_link:
            return
        self.board_link = False
        self.link_changed_true = self.true_wall()
        self.feed.on_connection(False)
        self._settle()

    def _settle(self):
        """What the app does each pass: apply what came, follow newly named agents."""
        apply(self.board, self.feed.drain())
        for agent in sorted(self.board.agents() - self.followed):
            self.followed.add(agent)
            payload = self.store.get(status_topic(agent))
            if payload is not None and self.board_link:
                self.to_board(status_topic(agent), payload, retained=True)

    def to_board(self, topic, payload, retained):
        """Deliver one message to the board, if its link is up and it subscribed."""
        if not self.board_link or self.board is None:
            return
        if topic.endswith("/status"):
            if topic.split("/")[2] not in self.followed:
                return
        else:
            key = ward_of(topic)
            if not any(s.covers(key) for s in self.specs):
                return
            if payload:
                if not (retained and key in self.told_retired):
                    # (told a ward was retired, a board takes it back only from a panel
                    # speaking: a copy may be from before — docs/contract.md)
                    self.known.add(key)
                    self.told_retired.discard(key)
                published = self.published_at.get(payload, self.t)
                self.delivered[key] = max(self.delivered.get(key, -1e9), published)
                agent = WardState.parse(payload).agent
                self.deliveries.setdefault(agent, self.t)
                if payload not in self.seen:          # news to this board run
                    self.seen.add(payload)
                    self.news[agent] = self.t
            else:
                self.known.discard(key)
                self.told_retired.add(key)
        self.feed.on_message(Received(topic, payload, retained))
        self._settle()
        if self.on_message is not None and self.bursting:
            self.on_message()

    # -- brokers ----------------------------------------------------------------
    def publish(self, agent, topic, payload, retain=True):
        """An agent publishes: it reaches the state side at once unless a link is down."""
        if not agent.connected:
            return False
        if self.topology == "bridge":
            if not self.hospital_up:
                return False
            self._retain(self.hospital_store, topic, payload, retain)
            if not self.bridge_up:
                return False
        return self._at_state_broker(topic, payload, retain)

    def _at_state_broker(self, topic, payload, retain, retained_flag=False):
        if not self.state_up:
            return False
        if payload == b"offline":          # a will (perhaps replayed) reached the state side
            agent = self.agents.get(topic.split("/")[2])
            if agent is not None and not agent.working and agent.will_at is None:
                agent.will_at = self.t
        self._retain(self.store, topic, payload, retain)
        self.to_board(topic, payload, retained_flag)
        return True

    @staticmethod
    def _retain(store, topic, payload, retain):
        if retain:
            if payload:
                store[topic] = payload
            else:
                store.pop(topic, None)

    def replay_over_bridge(self):
        """The bridge (re)connects: the hospital broker re-sends every retained
        message, and the state broker hands them on *without* the retain flag."""
        if self.topology != "bridge" or not (self.hospital_up and self.state_up):
            return
        self.bridge_up = True
        self.sound_since = self.bridge_replayed = self.t
        self.bridge_replay_ended = float("inf")       # under way
        self.bursting = True
        for topic in sorted(self.hospital_store):
            self.t += BURST_GAP / 4
            self._at_state_broker(topic, self.hospital_store[topic], True)
        self.bursting = False
        self.bridge_replay_ended = self.t

    # -- agents -----------------------------------------------------------------
    def add_agent(self, name, key, counts, new=True, heartbeat=60.0, seq=0):
        agent = Agent(self, name, key, counts, new, heartbeat, seq)
        self.agents[name] = agent
        agent.start()
        self.connect(agent)
        return agent

    def reachable(self):
        """Whether an agent can reach its broker now."""
        return self.hospital_up if self.topology == "bridge" else self.state_up

    def connect(self, agent):
        """The agent (re)connects: online, then its state."""
        if not self.reachable() or not agent.alive:
            return
        agent.connected = True
        agent.sound_since = self.t
        agent.next_beat = self.t + agent.heartbeat
        if not agent.hung:
            self.publish(agent, status_topic(agent.name), b"online")
            self.publish_state(agent)

    def publish_state(self, agent):
        if agent.connected and agent.working:
            payload = agent.payload()
            self.published_at.setdefault(payload, self.t)
            agent.published = self.t
            agent.max_seq = max(agent.max_seq, agent.seq)
            self.publish(agent, state_topic(agent.key), payload)

    def will(self, agent):
        """The agent's connection dropped: its broker publishes its will."""
        if agent.connected:
            agent.connected = False
            self.publish(_Broker(), status_topic(agent.name), b"offline")

    def heartbeats_until(self, end):
        """The living agents' heartbeats and their holds' expiries, in time order,
        up to ``end``."""
        while True:
            due = [(a.next_beat, 1, a.name, a) for a in self.agents.values()
                   if a.working and a.connected and a.next_beat is not None
                   and a.next_beat <= end]
            due += [(until, 0, a.name, a) for a in self.agents.values() if a.working
                    for _, until, _ in a.holds.values() if until <= end]
            if not due:
                break
            at, expiry, _, agent = min(due, key=lambda item: item[:3])
            self.t = max(self.t, at)
            if expiry == 0:
                self.expire(agent)
                continue
            agent.next_beat += agent.heartbeat
            self.publish(agent, status_topic(agent.name), b"online")
            self.publish_state(agent)
        self.t = max(self.t, end)

    def expire(self, agent):
        """The agent frees, by itself, every hold whose time has run out: one change."""
        ended = [hold for hold, (_, until, _) in agent.holds.items() if until <= self.t]
        if not ended:
            return
        before = agent.counts
        capacity, occupied, blocked = before
        for hold in ended:
            blocked -= agent.holds.pop(hold)[0]
        agent.set_counts((capacity, occupied, blocked))
        self.rise(agent.key, before, agent.counts, "expired", agent)
        self.publish_state(agent)

    def rise(self, key, before, after, cause, agent):
        """Note why a ward's free beds rose (the truth behind "beds just freed")."""
        if _vacant(after) > _vacant(before):
            self.note_rise(key, cause, agent)

    def note_rise(self, key, cause, agent):
        self.rising += 1
        self.rises.setdefault(key, []).append((self.t, self.rising, cause, agent.name))

    def owners(self, key):
        return [a for a in self.agents.values() if a.key == key]

    # -- the truth ----------------------------------------------------------------
    def wards(self, spec):
        """The wards a tile truly sums: the config's, or every ward of its department
        a board was ever told of, until a board is told it was retired (one retired
        while no board could hear it is, for the boards, a ward that fell silent)."""
        if spec.wards is not None:
            return list(spec.expected())
        return sorted(k for k in self.known if spec.covers(k))


class _Broker:
    """The broker itself publishing a will: always connected."""

    connected = True


def _vacant(counts):
    capacity, occupied, blocked = counts
    return capacity - occupied - blocked
