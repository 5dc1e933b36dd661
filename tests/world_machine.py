"""The world's state machine: the deployments and their faults, as Hypothesis rules.

:class:`WorldMachine` plays a hospital (:mod:`tests.world`) around one real
board and, after every step, draws the board on SDL's dummy driver and
judges what was drawn against the ground truth (:mod:`tests.world_oracle`);
between the messages of a reconnect's retained burst it judges the board's
view too.  Subclasses (tests/test_world_truth.py) narrow the world to hunt
one finding at a time.
"""

import os

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from bedboard.payloads import WardState
from bedboard.topics import WardKey

from .world import WALL0, World, state_topic, status_topic
from .world_holds import ChecksAndHolds
from .world_oracle import check_drawn, check_view, drawing, worst
from .world_wards import (CAPACITY, CORE, FEMALE, FILLERS, HEARTBEAT,  # noqa: F401
                          HIGHLIGHT, HOLD_MINUTES, ICU, MALE, SIZES, STALE_AFTER, WARDS)

CHAOS = bool(os.environ.get("BEDBOARD_CHAOS"))
EXAMPLES = int(os.environ.get("BEDBOARD_CHAOS_EXAMPLES", 3000)) if CHAOS else 200
STEPS = 60 if CHAOS else 25


def _name(key):
    return "%s-%s-%s" % (key.hospital, key.department, key.ward)


class WorldMachine(ChecksAndHolds, RuleBasedStateMachine):
    """A hospital, one board, and the world's checks (see the module docstring)."""

    OLD_AGENTS = True                 # a replacing panel may be old (no boot/beat)
    PROPERTIES = None                 # the world properties judged (None: all)

    @initialize(topology=st.sampled_from(("direct", "bridge")),
                fillers=st.booleans(), size=st.sampled_from(SIZES),
                old=st.tuples(st.booleans(), st.booleans(), st.booleans()))
    def start(self, topology, fillers, size, old):
        self._setup(topology, fillers, size, old)

    def _setup(self, topology, fillers, size, old):
        specs = CORE + (FILLERS if fillers else ())
        self.world = World(specs, topology=topology, stale_after=STALE_AFTER,
                           retained_for=STALE_AFTER, highlight=HIGHLIGHT,
                           on_message=self._between)
        self.drawing = drawing(size)
        self.spare = 0
        self.holds = 0
        self.checking = False
        for index, key in enumerate(WARDS):
            self.world.add_agent(_name(key), key, (CAPACITY[key], 0, 0),
                                 new=not old[index])
        for spec in specs[len(CORE):]:
            key = WardKey(spec.hospital, spec.department, "ward")
            self.world.add_agent(_name(key), key, (5, 3, 0))
        for agent in list(self.world.agents.values()):
            if agent.new:               # each ward's count checked as the world starts
                agent.check()
                self._change(agent, agent.counts, "checked")
        self.world.start_board()
        self.checking = True

    # -- the checks --------------------------------------------------------------
    def _between(self):
        if self.checking:
            problems = check_view(self.world, self.world.board.view(self.world.t), between=True)
            self._judge(problems)

    def _judge(self, problems):
        if self.PROPERTIES is not None:
            problems = [p for p in problems if p[0] in self.PROPERTIES]
        assert not problems, worst(problems)

    @invariant()
    def what_was_drawn_is_true(self):
        world = self.world
        view = world.board.view(world.t)
        local = world.board_wall().astimezone(self.drawing.settings.zone) \
            if world.synced else None
        report = self.drawing.draw(view, world.t, local)
        self._judge(check_drawn(world, view, report, self.drawing, local))

    # -- helpers ---------------------------------------------------------------
    def _agent(self, key):
        working = [a for a in self.world.owners(key) if a.working]
        return working[0] if working else None

    @staticmethod
    def _back_up(agent):
        """A copy of the agent's ledger as it is now (restored by "old copy")."""
        agent.backups.append((agent.counts, agent.seq, dict(agent.holds),
                              (agent.checked, agent.check_known)))

    def _change(self, agent, counts, cause, seq=None):
        before = agent.counts
        agent.set_counts(counts, seq)
        self.world.rise(agent.key, before, counts, cause, agent)
        self.world.publish_state(agent)

    # -- the wards ---------------------------------------------------------------
    @rule(key=st.sampled_from(WARDS),
          kind=st.sampled_from(("taken", "discharge", "blocked", "unblock")))
    def press(self, key, kind):
        agent = self._agent(key)
        if agent is None:
            return
        capacity, occupied, blocked = agent.counts
        vacant = capacity - occupied - blocked
        if kind == "taken" and vacant:
            occupied += 1
        elif kind == "discharge" and occupied:
            occupied -= 1
        elif kind == "blocked" and vacant:
            blocked += 1
        elif kind == "unblock" and blocked > agent.held:    # held beds are not unblocked
            blocked -= 1
        else:
            return
        self._back_up(agent)
        self._change(agent, (capacity, occupied, blocked), kind)

    @rule(key=st.sampled_from(WARDS), occupied=st.integers(0, 4))
    def bed_manager_sets(self, key, occupied):
        agent = self._agent(key)
        if agent is None:
            return
        capacity, was, blocked = agent.counts
        occupied = min(occupied, capacity - blocked)
        agent.unconfirmed = agent.doubtful = False
        agent.sound_since = self.world.t
        if agent.new:
            agent.check()                    # a set is a count someone looked at
        self._change(agent, (capacity, occupied, blocked),
                     "discharge" if occupied < was else "set")

    @rule(key=st.sampled_from(WARDS), delta=st.sampled_from((-2, -1, 1, 2)))
    def capacity_corrected(self, key, delta):
        agent = self._agent(key)
        if agent is None:
            return
        capacity, occupied, blocked = agent.counts
        capacity = max(occupied + blocked, capacity + delta)
        self._change(agent, (capacity, occupied, blocked), "capacity correction")

    @rule(key=st.sampled_from(WARDS), will=st.booleans())
    def agent_dies(self, key, will):
        agent = self._agent(key)
        if agent is None:
            return
        agent.alive, agent.died = False, self.world.t
        if will:
            self.world.will(agent)
        else:
            agent.connected = False          # a power cut: the broker notices much later

    @rule(key=st.sampled_from(WARDS))
    def agent_hangs(self, key):
        agent = self._agent(key)
        if agent is not None:
            agent.hung, agent.died = True, self.world.t

    @rule(key=st.sampled_from(WARDS),
          ledger=st.sampled_from(("kept", "old copy", "lost", "a new card")))
    def agent_restarts(self, key, ledger):
        """Restarted with its ledger, an old copy of it, none (it takes the broker's
        copy, unconfirmed), or on a new SD card (seq from 0: the bed manager sets it)."""
        world = self.world
        agents = [a for a in world.owners(key) if not a.working]
        if not agents:
            return
        agent = agents[0]
        if agent.connected:                  # systemd's watchdog kills a hung one
            agent.alive = False
            world.will(agent)
        agent.start()
        before = agent.counts
        if ledger == "old copy" and agent.backups:
            counts, seq, holds, (checked, known) = agent.backups[0]
            agent.backups.clear()
            agent.holds = dict(holds)
            if agent.checked != checked:
                agent.check(known, at=checked)
            agent.set_counts(counts, seq)
            agent.lowered = agent.doubtful = True
        elif ledger == "a new card":
            agent.holds = {}
            if agent.checked is not None:
                agent.never_checked()
            agent.set_counts((CAPACITY[key], 0, 0), 0)
            agent.lowered = agent.lowered or agent.seq < agent.max_seq
            agent.doubtful = True
            agent.backups.clear()
        elif ledger == "lost":
            found = world.store.get(state_topic(key)) if world.topology == "direct" else \
                world.hospital_store.get(state_topic(key))
            agent.holds = {}
            if found:
                state = WardState.parse(found)
                self._holds_from(agent, state)
                if agent.new and state.checked is None:
                    agent.never_checked()
                elif agent.new:
                    # the broker's check, of unknown age (docs/contract.md)
                    agent.check(known=False, at=(state.checked - WALL0).total_seconds())
                agent.set_counts((state.capacity, state.occupied, state.blocked), state.seq)
                agent.unconfirmed = True
            else:
                if agent.checked is not None:
                    agent.never_checked()
                agent.set_counts((CAPACITY[key], 0, 0), 0)
            agent.lowered = agent.lowered or agent.seq < agent.max_seq
            agent.doubtful = True
            agent.backups.clear()
        world.rise(key, before, agent.counts, "panel restart", agent)
        world.connect(agent)

    @rule(key=st.sampled_from(WARDS))
    def a_second_panel_counts_the_ward(self, key):
        if len(self.world.owners(key)) > 1 or key in self.world.retired:
            return                  # a retired ward's return is a_retired_ward_returns
        self.spare += 1
        self.world.add_agent("%s-spare-%d" % (_name(key), self.spare), key,
                             (CAPACITY[key], 0, 0))

    @rule(key=st.sampled_from(WARDS), new=st.booleans())
    def the_panel_is_replaced(self, key, new):
        """The old panel stops cleanly (offline); a new one, fresh, takes the ward over."""
        world = self.world
        if key in world.retired:
            return                  # a retired ward's return is a_retired_ward_returns
        before = [a.counts for a in world.owners(key)]
        self._stop(key)
        self.spare += 1
        agent = world.add_agent("%s-new-%d" % (_name(key), self.spare), key,
                                (CAPACITY[key], 0, 0), new=new or not self.OLD_AGENTS)
        for counts in before[:1]:
            world.rise(key, counts, agent.counts, "a replaced panel", agent)

    def _stop(self, key):
        world = self.world
        for old in world.owners(key):
            if old.connected and old.working:
                world.publish(old, status_topic(old.name), b"offline")
            old.alive, old.connected = False, False
            world.gone.append(world.agents.pop(old.name))

    @rule(key=st.sampled_from(WARDS))
    def the_ward_is_retired(self, key):
        world = self.world
        if key in world.retired:
            return
        self._stop(key)
        world.retired.add(key)
        if world.topology == "bridge":
            world.publish(_Operator(), state_topic(key), b"")
        else:
            world._at_state_broker(state_topic(key), b"", True)  # pylint: disable=protected-access

    @rule(key=st.sampled_from(WARDS))
    def a_retired_ward_returns(self, key):
        world = self.world
        if key not in world.retired:
            return
        world.retired.discard(key)
        self.spare += 1
        agent = world.add_agent("%s-back-%d" % (_name(key), self.spare), key,
                                (CAPACITY[key], 0, 0))
        world.note_rise(key, "a returned ward", agent)

    # -- brokers, bridge, the board's link ------------------------------------------
    @precondition(lambda self: self.world.state_up)
    @rule()
    def autosave(self):
        self.world.autosave = dict(self.world.store)

    @precondition(lambda self: self.world.state_up)
    @rule()
    def state_broker_goes_down(self):
        world = self.world
        world.state_up = False
        world.board_disconnects()
        if world.topology == "direct":
            for agent in world.agents.values():
                agent.connected = False
        else:
            world.bridge_up = False

    @precondition(lambda self: not self.world.state_up)
    @rule(restore=st.sampled_from(("everything", "an old autosave", "nothing")),
          board_first=st.booleans())
    def state_broker_comes_back(self, restore, board_first):
        world = self.world
        world.state_up = True
        world.store = {"everything": world.store, "an old autosave": dict(world.autosave),
                       "nothing": {}}[restore]
        if board_first:
            world.board_connects()
        if world.topology == "direct":
            for agent in sorted(world.agents.values(), key=lambda a: a.name):
                world.connect(agent)
        elif world.hospital_up:
            world.replay_over_bridge()
        world.board_connects()

    @precondition(lambda self: self.world.board_link)
    @rule()
    def the_boards_node_fails_over_to_a_lagging_one(self):
        """The state broker's node the board uses dies; the board reconnects to another
        whose retained copies lag (those of the last autosave), which then catches up."""
        world = self.world
        world.board_disconnects()
        current = world.store
        world.store = {**current, **world.autosave}
        world.board_connects()
        world.store = current

    @precondition(lambda self: self.world.topology == "bridge" and self.world.bridge_up)
    @rule()
    def the_bridge_drops(self):
        self.world.bridge_up = False

    @precondition(lambda self: self.world.topology == "bridge" and not self.world.bridge_up)
    @rule()
    def the_bridge_reconnects(self):
        self.world.replay_over_bridge()

    @precondition(lambda self: self.world.topology == "bridge" and self.world.hospital_up)
    @rule()
    def the_hospital_broker_goes_down(self):
        world = self.world
        world.hospital_up = world.bridge_up = False
        for agent in world.agents.values():
            agent.connected = False        # no will: the broker itself died

    @precondition(lambda self: self.world.topology == "bridge" and not self.world.hospital_up)
    @rule()
    def the_hospital_broker_comes_back(self):
        world = self.world
        world.hospital_up = True           # with its retained messages (persistence)
        for agent in sorted(world.agents.values(), key=lambda a: a.name):
            world.connect(agent)
        world.replay_over_bridge()

    @precondition(lambda self: self.world.board_link)
    @rule()
    def the_boards_link_drops(self):
        self.world.board_disconnects()

    @precondition(lambda self: not self.world.board_link and self.world.state_up)
    @rule()
    def the_boards_link_returns(self):
        self.world.board_connects()

    @precondition(lambda self: self.world.board_link)
    @rule(flaps=st.integers(1, 4))
    def a_second_board_has_its_id(self, flaps):
        """Two boards with one client id take the connection from each other."""
        world = self.world
        for _ in range(flaps):
            world.board_disconnects()
            world.heartbeats_until(world.t + 0.5)
            world.board_connects()
            world.heartbeats_until(world.t + 0.5)

    @rule()
    def the_board_restarts(self):
        self.world.start_board()

    @rule(hours=st.sampled_from((-10, -3, 5)))
    def the_boards_clock_is_unsynchronised(self, hours):
        self.world.clock_offset = hours * 3600.0

    @rule()
    def the_boards_clock_syncs(self):
        self.world.clock_offset = 0.0

    @rule(seconds=st.one_of(st.floats(0.1, 5), st.floats(5, 90), st.floats(90, 400)))
    def time_passes(self, seconds):
        self.world.heartbeats_until(self.world.t + seconds)


class _Operator:
    """``bedboard retire``: an operator's client, connected."""

    connected = True


def hunt_settings(examples=EXAMPLES, steps=STEPS, shrink=CHAOS):
    """``make test`` does not shrink (a failure there is replayed from Hypothesis's
    database, or found again by ``make chaos``, which shrinks it): shrinking a
    world of 30 steps takes minutes."""
    phases = tuple(Phase) if shrink else tuple(p for p in Phase if p is not Phase.shrink)
    return settings(max_examples=examples, stateful_step_count=steps, deadline=None,
                    phases=phases, report_multiple_bugs=False,
                    suppress_health_check=[HealthCheck.too_slow,
                                                          HealthCheck.filter_too_much])
