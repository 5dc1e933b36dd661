"""Believable activity for the demo: admissions, discharges, cleaning, silence.

A driver thread presses the simulated wards' buttons at a human pace, and
plays a short script on top so that within a minute every state of a tile has
appeared: a tile fills up to FULL and opens again (its highlight), a bed is
blocked for cleaning and released, and one ward's agent goes silent for a
while (the board shows it NOT REPORTING) and comes back.  And (issue 20,
demo/referrals.py) every ward's count is checked but one's, which the board
calls overdue; a bed is held for a referral and taken when its patient
arrives; another hold runs out by itself.  It watches the
wards' real states on the broker to choose sensible presses.
"""

import logging
import random
import threading
import time

from bedboard.errors import ContractError
from bedboard.link import BrokerLink
from bedboard.payloads import WardState
from bedboard.topics import parse_ward_topic, ward_filter

from .referrals import Referrals

_LOG = logging.getLogger(__name__)

CYCLE = 120.0          # the script repeats every two minutes
RETRY_FOR = 20.0       # seconds a step that could not start is tried again
SCRIPT = (             # (seconds into the cycle, step)
    (3.0, "fill"),
    (6.0, "block"),
    (8.0, "hold"),
    (12.0, "silence"),
    (16.0, "hold_to_expire"),
    (34.0, "unblock"),
    (40.0, "arrive"),
    (42.0, "reopen"),
    (55.0, "wake"),
)


class Activity:
    """Drives the wards of one board; ``stop()`` ends it."""

    def __init__(self, wards, tiles, broker, prefix="crs", pace=1.2, seed=None,
                 say=print):
        self.wards = wards                  # agent id → cast.Ward
        self.tiles = tiles                  # list of lists of agent ids
        self.pace = pace
        self.say = say
        self.random = random.Random(seed)
        self.states = {}                    # agent id → WardState
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._by_ward = {(w.hospital, w.department, w.ward): agent_id
                         for agent_id, w in ((a, wards[a].key) for a in wards)}
        self._prefix = prefix
        self._link = BrokerLink(broker, "demo-driver", on_message=self._on_state,
                                subscriptions=[ward_filter(prefix, "state")])
        self._thread = threading.Thread(target=self._run, name="demo-activity",
                                        daemon=True)
        self._script = {}                   # role → agent ids (or tile)
        self._busy = set()
        self.referrals = Referrals(self)    # checks and holds (issue 20)

    # -- life cycle ----------------------------------------------------------
    def start(self):
        """Connect to the broker and begin pressing."""
        self._link.start()
        self._thread.start()

    def stop(self):
        """Stop pressing and disconnect."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
        self._link.stop()

    # -- what the wards say ---------------------------------------------------
    def _on_state(self, message):
        try:
            key, _ = parse_ward_topic(self._prefix, message.topic)
            state = WardState.parse(message.payload)
        except ContractError as exc:
            _LOG.debug("ignoring %s: %s", message.topic, exc)
            return
        agent_id = self._by_ward.get((key.hospital, key.department, key.ward))
        if agent_id is not None:
            with self._lock:
                self.states[agent_id] = state

    def state(self, agent_id):
        """The last state the ward published, or None."""
        with self._lock:
            return self.states.get(agent_id)

    # -- the loop ---------------------------------------------------------------
    def _run(self):
        started = time.monotonic()
        done = set()
        while not self._stop.wait(self.pace * self.random.uniform(0.6, 1.4)):
            elapsed = time.monotonic() - started
            cycle, offset = divmod(elapsed, CYCLE)
            for at, step in SCRIPT:
                # A step that cannot start yet (its wards have not reported:
                # 52 agents take a while to come up) is tried again for a while.
                if at <= offset < at + RETRY_FOR and (cycle, step) not in done:
                    if getattr(self, "_step_" + step)() is not False:
                        done.add((cycle, step))
            self._step_filling()
            self.referrals.check_counts()
            self._everyday_press()

    def _press(self, agent_id, kind):
        return self.wards[agent_id].send("press " + kind)

    def _everyday_press(self):
        """An admission or a discharge somewhere, keeping wards believable."""
        candidates = [a for a in self.wards if a not in self._busy
                      and self.wards[a].running and self.state(a) is not None]
        if not candidates:
            return
        agent_id = self.random.choice(candidates)
        state = self.state(agent_id)
        if state.vacant <= 1 or state.occupied > 0.97 * state.capacity:
            kind = "freed"
        elif state.occupied < 0.7 * state.capacity:
            kind = "taken"
        else:
            kind = self.random.choice(("taken", "freed"))
        self._press(agent_id, kind)

    # -- the script ---------------------------------------------------------------
    def _free_tiles(self):
        return [tile for tile in self.tiles
                if tile and not any(a in self._busy for a in tile)
                and all(self.state(a) is not None for a in tile)]

    def _step_fill(self):
        tiles = self._free_tiles()
        if not tiles:
            return False
        tile = min(tiles, key=lambda t: (sum(self.state(a).vacant for a in t), len(t)))
        self._script["fill"] = tile
        self._busy.update(tile)
        self.say("demo: admissions are filling %s" % ", ".join(tile))

    def _step_filling(self):
        for agent_id in self._script.get("fill", ()):
            state = self.state(agent_id)
            if state is not None and state.vacant > 0:
                self._press(agent_id, "taken")
                return

    def _step_reopen(self):
        tile = self._script.pop("fill", None)
        if not tile:
            return
        for agent_id in tile:
            self._press(agent_id, "freed")
        self._busy.difference_update(tile)
        self.say("demo: beds freed again in %s" % ", ".join(tile))

    def _step_block(self):
        tiles = self._free_tiles()
        for tile in self.random.sample(tiles, len(tiles)):
            agent_id = tile[0]
            if self.state(agent_id).vacant >= 2:
                self._script["block"] = agent_id
                self._busy.add(agent_id)
                self._press(agent_id, "blocked")
                self._press(agent_id, "blocked")
                self.say("demo: two beds of %s blocked for cleaning" % agent_id)
                return True
        return False

    def _step_unblock(self):
        agent_id = self._script.pop("block", None)
        if agent_id is None:
            return
        self._press(agent_id, "unblocked")
        self._press(agent_id, "unblocked")
        self._busy.discard(agent_id)
        self.say("demo: %s's beds are clean again" % agent_id)

    def _step_hold(self):
        return self.referrals.hold()

    def _step_arrive(self):
        return self.referrals.arrive()

    def _step_hold_to_expire(self):
        return self.referrals.hold_to_expire()

    def _step_silence(self):
        tiles = self._free_tiles()
        if not tiles:
            return False
        agent_id = self.random.choice(tiles)[0]
        self._script["silence"] = agent_id
        self._busy.add(agent_id)
        self.wards[agent_id].stop()
        self.say("demo: %s's agent went silent (its tile shows NOT REPORTING)"
                 % agent_id)

    def _step_wake(self):
        agent_id = self._script.pop("silence", None)
        if agent_id is None:
            return
        self.wards[agent_id].start()
        self._busy.discard(agent_id)
        self.say("demo: %s's agent is back" % agent_id)
