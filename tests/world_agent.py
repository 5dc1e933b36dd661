"""One ward agent of the world (:mod:`tests.world`): its ledger, its life, and the
truth about both — what it counted, held and checked, and when (the ground truth
:mod:`tests.world_oracle` judges the board by)."""

import hashlib
import json
from datetime import datetime, timedelta, timezone

from bedboard.payloads import Hold, WardState

WALL0 = datetime(2026, 11, 25, 18, 0, tzinfo=timezone.utc)   # the world's time 0


class Agent:
    """One ward agent: its ledger, its life, and the truth about both."""

    def __init__(self, world, name, key, counts, new=True, heartbeat=60.0, seq=0):
        self.world = world
        self.name, self.key = name, key
        self.counts = counts          # (capacity, occupied, blocked): the ward's truth
        self.seq = seq
        self.new = new                # sends boot/beat/heartbeat (else: an old agent)
        self.heartbeat = heartbeat
        self.unconfirmed = False
        self.doubtful = False         # restarted from an old or lost ledger, not yet set
        self.backups = []             # old copies of its ledger
        self.boot, self.beat = None, 0
        self.alive = self.hung = self.connected = False
        self.next_beat = None
        self.published = None         # t of its last publication (its last progress)
        self.died = None              # t it died or hung
        self.will_at = None           # t its will (offline) reached the state side
        self.max_seq = seq            # the highest seq it ever published
        self.lowered = False          # it restarted from a lower count than it had published
        self.sound_since = world.t    # since when its news has flowed (connect, set)
        self.history = [(world.t, counts)]
        # issue 20: holds {id: (beds, until t, for)}, inside counts' blocked; the
        # last check's true time (None: never) and whether the agent knows its age
        self.holds = {}
        self.checked, self.check_known = None, True
        self.checks = [(world.t, None, True)]
        self.held_history = [(world.t, 0)]

    # -- its life --------------------------------------------------------
    def start(self):
        self.world.boots += 1
        self.boot = hashlib.sha256(b"boot %d" % self.world.boots).hexdigest()[:16]
        self.beat = 0
        self.alive, self.hung, self.died, self.will_at = True, False, None, None

    def set_counts(self, counts, seq=None):
        self.counts = counts
        self.seq = self.seq + 1 if seq is None else seq
        self.history.append((self.world.t, counts))
        self.held_history.append((self.world.t, self.held))

    @property
    def held(self):
        return sum(beds for beds, _, _ in self.holds.values())

    def check(self, known=True, at=None):
        """A nurse confirmed the count (or a set did) — at ``at``, a check taken from
        a copy — and whether the agent knows its age."""
        self.checked = self.world.t if at is None else at
        self.check_known = known
        self.checks.append((self.world.t, self.checked, known))

    def never_checked(self):
        """A count started afresh (a new SD card): never checked."""
        self.checked, self.check_known = None, True
        self.checks.append((self.world.t, None, True))

    def checks_since(self, since):
        """Every ``(checked, known)`` it published or held at some time in [since, now]."""
        return _since(self.checks, since, lambda entry: entry[1:])

    def held_since(self, since):
        """Every count of held beds it held at some time in [since, now]."""
        return _since(self.held_history, since, lambda entry: entry[1])

    @property
    def working(self):
        return self.alive and not self.hung

    def payload(self):
        """The bytes of its next state publication (a new beat for a new agent)."""
        capacity, occupied, blocked = self.counts
        extra = {}
        if self.new:                  # checks and holds (issue 20): a new agent's
            t = self.world.t
            extra = dict(held=self.held, holds=tuple(
                Hold(id=hold, beds=beds, until=_wall(until), left=int(max(0.0, until - t)),
                     for_whom=whom)
                for hold, (beds, until, whom) in sorted(self.holds.items(),
                                                        key=lambda item: item[1][1]))[:16])
            if self.checked is not None:
                extra["checked"] = _wall(self.checked)
                if self.check_known:
                    extra["checked_age"] = int(t - self.checked)
        state = WardState(capacity=capacity, occupied=occupied, blocked=blocked,
                          seq=self.seq, at=self.world.true_wall().replace(microsecond=0),
                          agent=self.name, unconfirmed=self.unconfirmed, synced=True, **extra)
        body = state.to_dict()
        if self.new:
            self.beat += 1
            body.update(boot=self.boot, beat=self.beat, heartbeat=int(self.heartbeat))
        return json.dumps(body, separators=(",", ":")).encode("utf-8")

    def counts_since(self, since):
        """Every count it held at some time in [since, now]."""
        return _since(self.history, since, lambda entry: entry[1])


def _wall(t):
    """The wall time of world time ``t``, whole seconds (as an agent stamps it)."""
    return (WALL0 + timedelta(seconds=t)).replace(microsecond=0)


def _since(history, since, value):
    """The values of ``history`` ``[(t, ...)]`` that held at some time in [since, now]."""
    found = set()
    for index, entry in enumerate(history):
        later = history[index + 1][0] if index + 1 < len(history) else None
        if later is None or later >= since:
            found.add(value(entry))
    return found
