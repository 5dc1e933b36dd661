"""The board model: ward states in, tiles out.

Pure Python (no pygame, no paho), so it can be tested and fuzzed on its own.
Time is passed in, never read here: ``now`` is a monotonic clock reading
taken when a message was received (or when a frame is drawn), ``wall`` an
aware UTC datetime used only for words on the screen.

What it keeps of SPEC.md:

* **Tiles** are the config's, or — when the config names none — one per
  department of the board's hospital that has reported, in alphabetical
  order (stable whatever order the messages come in).  A tile sums its
  wards; vacant = capacity − occupied − blocked.
* **Rule 2 (order).**  For each ward, a state from the same agent with a
  lower ``seq`` than the last applied is ignored; an equal ``seq`` only
  refreshes liveness.  A state from another agent (a replaced panel) is
  taken as it comes.
* **Rule 3 (honesty).**  A ward is *not reporting* when its agent's status
  is ``offline`` or nothing arrived for it within ``stale_after`` seconds of
  receipt.  A tile's live figures count only reporting wards and say how many
  of its wards are missing; a tile none of whose wards report shows their
  last figures as NOT REPORTING; while the board itself has lost its broker
  every figure is LAST KNOWN.  Nothing that is not live is marked live.

"Updated N min ago" is timed on the same monotonic clock from the receipt
that changed the figures.  Only for a figure first seen (a retained message
at start) is its age estimated from the agent's ``at`` and the wall clock,
and only when that gives something plausible; otherwise the age is unknown.
Neither ever decides liveness.
"""

import enum
import logging
import math
from dataclasses import dataclass

from .config import Label, TileSpec
from .words import default_label

_LOG = logging.getLogger(__name__)

MAX_WARDS = 5000            # far more than a state has; invented ward names stop here
MAX_OFFLINE_DEVICES = 5000
_PLAUSIBLE_AGE = 7 * 24 * 3600.0
_CLOCK_SKEW = 300.0


class Status(enum.Enum):
    """What a tile says in words (and colour)."""

    AVAILABLE = "available"
    FEW_LEFT = "few-left"
    FULL = "full"
    CLOSED = "closed"            # live, and the wards it counts have no beds at all
    PARTIAL = "partial"          # live figure of some wards; the word would depend on the rest
    NOT_REPORTING = "not-reporting"
    WAITING = "waiting"          # no figure yet, and the board has only just started
    LAST_KNOWN = "last-known"    # the board has lost its broker: figures are not live

    @property
    def live(self):
        """Whether a figure with this status is live."""
        return self in (Status.AVAILABLE, Status.FEW_LEFT, Status.FULL, Status.CLOSED,
                        Status.PARTIAL)


class Reason(enum.Enum):
    """Why a tile's wards (all, or the missing ones) are not reporting."""

    CONNECTION = "connection"    # the board itself has lost its broker
    OFFLINE = "offline"          # a ward panel said offline (or its will did)
    RESET = "reset"              # a panel restarted from an older count (a lower seq)
    SILENT = "silent"            # nothing arrived within stale_after
    NEVER = "never"              # nothing ever arrived


@dataclass(frozen=True)
class TileView:
    """One tile as it should look now; equal views draw identical pixels."""

    label: Label
    status: Status
    vacant: int = None           # None: no figure at all
    capacity: int = None
    occupied: int = None
    blocked: int = None
    wards: int = 0               # wards the tile counts
    missing: int = 0             # of those, not reporting (the figures leave them out)
    changed_minutes: int = None  # since its figures last changed; None: unknown
    silent_minutes: int = None   # NOT_REPORTING: since anything arrived for it
    offline: bool = False        # NOT_REPORTING: a ward panel said offline
    highlighted: bool = False    # vacancy rose from 0 a short while ago, by a live change
    reason: Reason = None        # NOT_REPORTING, or missing > 0: why (the weightiest)
    conflict: bool = False       # two panels count one of its wards
    reset: bool = False          # a panel of its wards restarted from an older count
    unconfirmed: bool = False    # a counted ward's count came from a copy that may be old
    mismatched: int = 0          # bed contacts the counted wards' counts do not follow

    @property
    def live(self):
        """Whether the figure shown is live."""
        return self.status.live


@dataclass(frozen=True)
class BoardView:
    """The whole board as it should look now."""

    tiles: tuple
    connected: bool
    ever_connected: bool
    since: object = None         # wall time (UTC) the connection last changed
    since_minutes: int = 0       # how long ago, by the monotonic clock
    total_vacant: int = None     # over the reporting wards on the board (each once);
    #                              while disconnected, the total frozen when the link
    #                              went down; None: not known (nothing live)
    tiles_not_live: int = 0      # tiles whose figure is not live (or absent)
    live_tiles: int = 0          # tiles with a live figure: the header says LIVE only if > 0


class _Ward:
    """What the board knows of one ward."""

    __slots__ = ("key", "state", "received", "changed")

    def __init__(self, key, state, received, changed):
        self.key = key
        self.state = state
        self.received = received
        self.changed = changed


def _minutes(now, then):
    return None if then is None else max(0, int((now - then) // 60))


def _minutes_until(now, then):
    """Whole minutes since ``then``, and when that number next changes."""
    minutes = max(0, int((now - then) // 60))
    return minutes, then + 60.0 * (minutes + 1)


class Board:
    """Ward states in, tiles out (see the module docstring for the rules)."""

    def __init__(self, hospital, tiles=None, stale_after=180.0, few_left=3,
                 highlight_seconds=300.0, now=0.0):
        self.hospital = hospital
        self.stale_after = float(stale_after)
        self.few_left = few_left
        self.highlight_seconds = float(highlight_seconds)
        self._fixed = tiles is not None
        self._specs = list(tiles or ())
        self._expected = {spec: spec.expected() for spec in self._specs}
        self._departments = {(s.hospital, s.department) for s in self._specs}
        self._wards = {}                  # WardKey -> _Ward
        self._by_department = {}          # (hospital, department) -> [WardKey], sorted
        self._offline = set()             # device ids whose last status is offline
        self._told_full = False
        self._highlight_until = {}        # TileSpec -> monotonic time
        # Each tile's last view, with what it depends on: a view is reused until a
        # message touches its wards (its version), anything global changes
        # (statuses, the connection: the epoch) or time would change it (until).
        self._versions = {}               # TileSpec -> int
        self._epoch = 0
        self._views = {}                  # TileSpec -> (stamp, until, TileView, counted)
        self._started = now
        self._connected = False
        self._ever_connected = False
        self._connection_changed = now
        self._connection_wall = None

    # -- what the board listens to -----------------------------------------
    @property
    def specs(self):
        """The tiles, in order, as TileSpecs."""
        return tuple(self._specs)

    @property
    def fixed(self):
        """Whether the config names the tiles (else one per department seen)."""
        return self._fixed

    def departments(self):
        """``(hospital, department)`` pairs the config's tiles need, sorted."""
        return sorted(self._departments)

    def wants(self, key):
        """Whether ward ``key`` counts on any tile (or would make a new one)."""
        if self._fixed:
            return (key.hospital, key.department) in self._departments and any(
                spec.covers(key) for spec in self._specs
                if spec.department == key.department and spec.hospital == key.hospital)
        return key.hospital == self.hospital

    # -- input ---------------------------------------------------------------
    def receive_state(self, key, state, now, wall=None):
        """Apply a WardState for ``key`` received at ``now``.

        Returns whether the board may look different (False: ignored).
        """
        if not self.wants(key):
            return False
        ward = self._wards.get(key)
        if ward is not None and state.agent == ward.state.agent:
            if state.seq < ward.state.seq:
                _LOG.debug("ignored %s seq %d: %d already applied (SPEC rule 2)",
                           key, state.seq, ward.state.seq)
                return False
            if state.seq == ward.state.seq:
                ward.received = now
                self._touch(key)
                return True
        if ward is None and len(self._wards) >= MAX_WARDS:
            if not self._told_full:
                self._told_full = True
                _LOG.warning("ignoring new wards such as %s: the board already follows "
                             "%d wards", key, MAX_WARDS)
            return False
        covering = [spec for spec in self._specs if spec.covers(key)]
        before = {spec: self._live_vacant(spec, now) for spec in covering}
        if ward is None:
            self._add_ward(_Ward(key, state, now, self._first_change(state, now, wall)))
        else:
            if _figures(state) != _figures(ward.state):
                ward.changed = now
            ward.state = state
            ward.received = now
        if self.highlight_seconds > 0:
            for spec in covering:
                if before[spec] == 0 and (self._live_vacant(spec, now) or 0) > 0:
                    self._highlight_until[spec] = now + self.highlight_seconds
        self._touch(key)
        return True

    def receive_status(self, device, online, now=None):  # pylint: disable=unused-argument
        """Apply a device's status: True online, False offline, None cleared.

        Returns whether it changed anything.
        """
        if online is False:
            if device in self._offline:
                return False
            if len(self._offline) >= MAX_OFFLINE_DEVICES and not any(
                    w.state.agent == device for w in self._wards.values()):
                return False      # a flood of strangers: but never miss a ward's own
            self._offline.add(device)
            self._epoch += 1
            return True
        if device in self._offline:
            self._offline.discard(device)
            self._epoch += 1
            return True
        return False

    def set_connected(self, connected, now, wall=None):
        """The board's own link to its broker went up or down at ``now``."""
        if connected == self._connected:
            return False
        self._connected = connected
        self._epoch += 1
        self._connection_changed = now
        self._connection_wall = wall
        if connected:
            self._ever_connected = True
        return True

    # -- output --------------------------------------------------------------
    def complete(self):
        """Whether every tile has data from every ward it names (at least one)."""
        if not self._specs:
            return False
        return all(keys and all(k in self._wards for k in keys)
                   for keys in (self._keys(spec) for spec in self._specs))

    def view(self, now):
        """The board as it should look at ``now``."""
        tiles = []
        live_wards = {}
        for spec in self._specs:
            tile, counted = self._cached_tile(spec, now)
            tiles.append(tile)
            for ward in counted:
                live_wards[ward.key] = ward.state.vacant
        return BoardView(
            tiles=tuple(tiles), connected=self._connected,
            ever_connected=self._ever_connected, since=self._connection_wall,
            since_minutes=_minutes(now, self._connection_changed),
            total_vacant=sum(live_wards.values()),
            tiles_not_live=sum(1 for t in tiles if not t.live))

    # -- inside --------------------------------------------------------------
    def _touch(self, key):
        """A message changed what the tiles covering ``key`` may show."""
        for spec in self._specs:
            if spec.covers(key):
                self._versions[spec] = self._versions.get(spec, 0) + 1

    def _cached_tile(self, spec, now):
        stamp = (self._epoch, self._versions.get(spec, 0))
        entry = self._views.get(spec)
        if entry is not None and entry[0] == stamp and now < entry[1]:
            return entry[2], entry[3]
        tile, counted, until = self._tile(spec, now)
        self._views[spec] = (stamp, until, tile, counted)
        return tile, counted

    def _add_ward(self, ward):
        key = ward.key
        self._wards[key] = ward
        department = (key.hospital, key.department)
        keys = self._by_department.setdefault(department, [])
        keys.append(key)
        keys.sort()
        if not self._fixed and department not in self._departments:
            self._departments.add(department)
            spec = TileSpec(key.hospital, key.department, None,
                            Label(**default_label(key.department)))
            self._expected[spec] = None
            self._specs.append(spec)
            self._specs.sort(key=lambda s: (s.hospital, s.department))

    def _first_change(self, state, now, wall):
        """A first-seen figure's change time, from ``at``, when plausible."""
        if wall is None:
            return None
        age = (wall - state.at).total_seconds()
        if not -_CLOCK_SKEW <= age <= _PLAUSIBLE_AGE:
            return None
        return now - max(0.0, age)

    def _keys(self, spec):
        expected = self._expected.get(spec)
        if expected is not None:
            return expected
        return self._by_department.get((spec.hospital, spec.department), ())

    def _reporting(self, ward, now):
        return (ward.state.agent not in self._offline
                and now - ward.received <= self.stale_after)

    def _live_vacant(self, spec, now):
        if not self._connected:
            return None
        wards = [self._wards.get(k) for k in self._keys(spec)]
        live = [w for w in wards if w is not None and self._reporting(w, now)]
        return sum(w.state.vacant for w in live) if live else None

    def _status_of(self, vacant):
        if vacant == 0:
            return Status.FULL
        if vacant <= self.few_left:
            return Status.FEW_LEFT
        return Status.AVAILABLE

    def _tile(self, spec, now):
        """``(TileView, reporting wards it counts, until)`` for one tile.

        ``until`` is the monotonic time at which the view may change with no
        message at all: a ward going stale, a minute passing on its "updated
        … ago", the highlight ending, the start-up wait ending.
        """
        keys = self._keys(spec)
        known = [w for w in (self._wards.get(k) for k in keys) if w is not None]
        live = [w for w in known if self._reporting(w, now)]
        fields = {"label": spec.label, "wards": len(keys)}
        until = math.inf
        if live:
            fields.update(_sums(live))
            status = self._status_of(fields["vacant"])
            until = min(w.received for w in live) + self.stale_after
            changes = [w.changed for w in live if w.changed is not None]
            if changes:
                fields["changed_minutes"], next_minute = _minutes_until(now, max(changes))
                until = min(until, next_minute)
            fields["missing"] = len(keys) - len(live)
            highlight = self._highlight_until.get(spec)
            if highlight is not None and now < highlight and status is not Status.FULL:
                fields["highlighted"] = True
                until = min(until, highlight)
        elif known:
            fields.update(_sums(known))
            status = Status.NOT_REPORTING
            fields["missing"] = len(keys)
            fields["silent_minutes"], until = _minutes_until(
                now, max(w.received for w in known))
            fields["offline"] = any(w.state.agent in self._offline for w in known)
        elif now - self._started < self.stale_after:
            status = Status.WAITING
            until = self._started + self.stale_after
        else:
            status = Status.NOT_REPORTING
            fields["missing"] = len(keys)
        if status.live and not self._connected:
            status = Status.LAST_KNOWN
            fields["highlighted"] = False
        return TileView(status=status, **fields), live, until


def _figures(state):
    return state.capacity, state.occupied, state.blocked


def _sums(wards):
    capacity = sum(w.state.capacity for w in wards)
    occupied = sum(w.state.occupied for w in wards)
    blocked = sum(w.state.blocked for w in wards)
    return {"capacity": capacity, "occupied": occupied, "blocked": blocked,
            "vacant": capacity - occupied - blocked}
