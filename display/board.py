"""The board model: ward states in, tiles out.

Pure Python (no pygame, no paho), so it can be tested and fuzzed on its own.
Time is passed in, never read here: ``now`` is a monotonic clock reading
taken when a message was received (or when a frame is drawn), ``wall`` an
aware UTC datetime used only for words on the screen.

The rules it keeps are the contract's (docs/contract.md, "Rules"):

* **Tiles** are the config's, or — when the config names none — one per
  department of the board's hospital that has reported, in alphabetical
  order (stable whatever order the messages come in).  A tile sums its
  wards; vacant = capacity − occupied − blocked.
* **Order, per (ward, agent).**  Each agent's reports on a ward are kept
  apart.  A higher ``seq`` is applied.  An equal ``seq`` with the same
  counts only refreshes liveness; an equal ``seq`` with *different* counts
  is a conflict (a panel restarted from an old copy re-reached it): the
  newer live message is applied and the ward says its panel was reset.  A
  lower ``seq`` is not applied (rule 2), and when it comes live it means the
  panel was reset: the ward stops counting as live until that agent passes
  the ``seq`` the board applied.  Two agents reporting one ward at once is
  said on the tile; the figure shown is that of the agent that changed it
  last.
* **Honesty.**  A report of an agent that sends progress (``boot``/``beat``,
  issue 15) is live only for ``min(stale_after, 1.25 × heartbeat)`` after its
  last progress; a copy proves nothing (display/liveness.py).  An old agent's
  report is *live* for ``stale_after`` seconds from its
  receipt when it came live, and for at most ``retained_for`` (about one
  heartbeat) when it came as a retained copy — the broker's memory is not a
  sign of life.  A ward is not reporting when its agent said ``offline``
  (a live state from the agent proves it online again), when its report is
  no longer live, or when its panel was reset.  A state whose agent's status
  has not arrived yet — on the board's current connection: after a
  reconnect too — waits up to ``STATUS_WAIT`` for it (the status is
  subscribed once the state names the agent), so an offline panel is never
  shown live for a moment.  A tile's live figures count only reporting
  wards; when a state word would depend on the missing ones (FULL, FEW
  LEFT) the tile says PARTIAL instead.  A tile none of whose wards report
  shows its last figures as NOT REPORTING, with the weightiest reason; while
  the board has lost its broker every figure is LAST KNOWN, and after
  ``stale_after`` NOT REPORTING for that reason.
* **The total** counts each live ward once; while the link is down it is
  the total when it went down, and not known once no tile is live.
* **"Beds just freed"** is a live change only: a newer state, received live,
  from a ward that was reporting and had already spoken live on this
  connection of the board's, raising a complete tile from FULL.

"Updated N min ago" is timed on the monotonic clock from the live receipt
that changed the figures.  For a figure first seen, or changed while the
board was not listening (a retained copy), the time of the change is taken
from the agent's ``at`` only when the agent says its clock was synchronised
(``synced``) and the board's own wall clock is given (it is synchronised);
otherwise it is unknown, and so is a tile's as long as one of its counted
wards' is.  Neither ever decides liveness.
"""

import bisect
import logging

from .checks import CHECK_WITHIN
from .config import Label, TileSpec
from .liveness import Liveness
from .reports import Report, Ward, describe
from .retirement import Retirement
from .tileviews import TileViews
from .views import BoardView, Reason, Status, TileView  # noqa: F401  (the board's vocabulary)
from .words import default_label

_LOG = logging.getLogger(__name__)

MAX_WARDS = 5000            # far more than a state has; invented ward names stop here
MAX_AGENTS_PER_WARD = 8     # reports kept per ward; the oldest silent one goes first
WARN_EVERY = 300.0          # seconds between warnings of one kind for one ward
_PLAUSIBLE_AGE = 7 * 24 * 3600.0
_CLOCK_SKEW = 300.0



class Board(TileViews, Liveness, Retirement):
    """Ward states in, tiles out (see the module docstring for the rules)."""

    def __init__(self, hospital, tiles=None, stale_after=180.0, few_left=3,
                 highlight_seconds=300.0, now=0.0, retained_for=None,
                 check_within=CHECK_WITHIN):
        self.hospital = hospital
        self.check_within = float(check_within)
        self._due_wards = {}              # TileSpec -> ward keys whose count check is due
        self.stale_after = float(stale_after)
        self.retained_for = min(self.stale_after, 75.0 if retained_for is None
                                else float(retained_for))
        self.few_left = few_left
        self.highlight_seconds = float(highlight_seconds)
        self._fixed = tiles is not None
        self._specs = list(tiles or ())
        self._expected = {spec: spec.expected() for spec in self._specs}
        self._departments = {(s.hospital, s.department) for s in self._specs}
        self._department_specs = {}       # (hospital, department) -> [TileSpec]
        for spec in self._specs:
            self._department_specs.setdefault((spec.hospital, spec.department),
                                              []).append(spec)
        self._wards = {}                  # WardKey -> _Ward
        self._retired = {}                # WardKey -> True: told it was retired (oldest first)
        self._by_department = {}          # (hospital, department) -> [WardKey], sorted
        self._status = {}                 # agent -> True online, False offline
        self._status_link = {}            # agent -> the connection its status last came on
        self._agent_wards = {}            # agent -> {WardKey} of the reports it has
        self._told_full = False
        self._warned = {}                 # (kind, WardKey) -> monotonic time
        self._highlight = {}              # TileSpec -> (until, frozenset of ward keys)
        # Each tile's last view, with what it depends on: a view is reused until a
        # message touches its wards (its version), anything global changes
        # (statuses, the connection: the epoch) or time would change it (until).
        self._versions = {}               # TileSpec -> int
        self._epoch = 0
        self._views = {}                  # TileSpec -> (stamp, until, (view, counted, missed, due))
        self._started = now
        self._connected = False
        self._link = 0                    # counts the board's connections
        self._ever_connected = False
        self._connection_changed = now
        self._connection_wall = None
        self._frozen_total = None         # the total when the link went down

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

    def agents(self):
        """Every agent named by a ward state the board keeps: whose status it needs."""
        return set(self._agent_wards)

    def wants(self, key):
        """Whether ward ``key`` counts on any tile (or would make a new one)."""
        if self._fixed:
            return any(spec.covers(key) for spec in self._department_specs.get(
                (key.hospital, key.department), ()))
        return key.hospital == self.hospital

    # -- input ---------------------------------------------------------------
    def receive_state(self, key, state, now, wall=None, retained=False):
        """Apply a WardState for ``key`` received at ``now``.

        ``retained``: it came as the broker's retained copy (on a new
        subscription), not as a live message.  ``wall``: the board's wall
        clock at receipt, only when it is synchronised.  Returns whether the
        board may look different (False: ignored).
        """
        if not self.wants(key):
            return False
        if key in self._retired and not self._back_from_retirement(key, retained):
            return False
        ward = self._wards.get(key)
        if ward is None:
            if len(self._wards) >= MAX_WARDS:
                if not self._told_full:
                    self._told_full = True
                    _LOG.warning("ignoring new wards such as %s: the board already "
                                 "follows %d wards", key, MAX_WARDS)
                return False
            ward = self._add_ward(key)
        report = ward.reports.get(state.agent)
        if state.progressive:
            changed = self._receive_progress(ward, report, state, now, wall, retained)
        else:
            changed = self._receive_old(ward, report, state, now, wall, retained)
        report = ward.reports.get(state.agent)
        if report is not None and report.state is state:
            # the moment its checked_age was said (display/checks.py)
            report.received, report.copy = now, retained
        return changed

    def _receive_old(self, ward, report, state, now, wall, retained):
        """An old agent's state (no progress on the wire): the retained rule."""
        key, agent = ward.key, state.agent
        live = not retained and self._live_change(ward, report, now)
        candidate = self._candidate(report, state, live)
        before = self._before(ward, candidate, now)
        if not retained:
            self._prove_online(agent)
        lifetime = self.retained_for if retained else self.stale_after
        if report is None:
            shown_before = self._shown(ward, now)
            report = Report(agent, state, now)
            self._keep_report(ward, report)
            report.changed = self._change_time(state, now, wall, retained, shown_before)
            applied = True
        elif state.seq > report.state.seq:
            applied = True
            if not state.same_counts(report.state):
                report.changed = self._change_time(state, now, wall, retained, report)
            report.state, report.reset, report.reused, report.doubt = state, False, False, False
        elif state.seq == report.state.seq and state.same_counts(report.state):
            applied = False
            if not retained:
                report.reset = report.doubt = False   # a live heartbeat settles any doubt
            report.state = state       # the additive fields may have changed
        elif state.seq == report.state.seq and not retained:
            self._warn_reused(key, report, state)
            report.changed = self._change_time(state, now, wall, retained, report)
            report.state, report.reset, report.reused, report.doubt = state, False, True, False
            applied = True
        else:
            # Not applied (the contract's rule 2), and the figure shown is in doubt: a lower
            # seq sent live means the panel restarted from an old copy; a retained
            # copy that is older, or says other counts for the same seq, means
            # the broker's memory and the board's disagree (not a reset of the panel).
            # Either way the ward is not counted as live until a live message settles it.
            if retained:
                self._warn("stale-copy", key, "ward %s: the broker's copy from %s (seq %d, "
                           "%s) disagrees with seq %d applied (%s); not counted until %s "
                           "reports live", key, agent, state.seq, describe(state),
                           report.state.seq, describe(report.state), agent)
                report.doubt = True
            else:
                self._warn_lower(key, report, state)
                report.expires = max(report.expires, now + lifetime)
                report.heard = now
                report.reset = True
            self._touch_ward(ward)
            return True
        if not retained:
            report.heard = now
            report.live_link = self._link
        if applied or not retained:
            # a retained copy of what the board already holds from this agent (its own
            # link's reconnect, a second subscription) says nothing new: no life
            report.expires = max(report.expires, now + lifetime)
        if applied:
            report.applied = now
        self._after(ward, now, before, live and applied)
        return True

    def _warn_reused(self, key, report, state):
        self._warn("reused", key, "ward %s: agent %s sent seq %d again with other "
                   "counts (%s, was %s): its panel restarted from an old copy",
                   key, state.agent, state.seq, describe(state), describe(report.state))

    def _warn_lower(self, key, report, state):
        self._warn("lower", key, "ward %s: agent %s sent seq %d, lower than the %d "
                   "applied (the contract's rule 2): its panel was reset; the ward is not "
                   "counted until that agent passes %d%s", key, state.agent, state.seq,
                   report.state.seq, report.state.seq,
                   " or a bed manager's set confirms its count" if state.progressive
                   else "")

    def _live_change(self, ward, report, now):
        """Whether a state now from ``report``'s agent is a live change of what the ward
        shows: the board connected, the report reporting, shown, and it had spoken live
        on this connection (what an agent sends on its or the board's return may have
        happened during the outage)."""
        return (report is not None and self._connected and self.highlight_seconds > 0
                and report.live_link == self._link and self._reporting(report, now)
                and self._current(ward, now) is report)

    def _candidate(self, report, state, live):
        """Whether a live change may light "beds just freed": it frees beds of a ward
        that was full (only then are all its tiles' figures before it worth working
        out)."""
        return live and report.state.vacant == 0 and state.vacant > 0

    def _before(self, ward, candidate, now):
        """The figures, before a state, of the tiles whose highlight it may change: all of
        the ward's tiles for a candidate, else only those lit now (it may put them out)."""
        specs = ward.covering if candidate else [
            spec for spec in ward.covering if spec in self._highlight]
        if not specs:
            return None
        return {spec: self._tile_figures(spec, now) for spec in specs}

    def _after(self, ward, now, before, live_change):
        """What a state changed: the ward's tiles, warnings, highlights."""
        if self._conflicting(ward, now):
            self._warn("two", ward.key, "ward %s is counted by two agents at once (%s): "
                       "give each ward one panel", ward.key,
                       ", ".join(sorted(r.agent for r in ward.reports.values()
                                        if self._reporting(r, now))))
        self._touch_ward(ward)
        if before is not None:
            self._update_highlights(list(before), before, now, ward.key, live_change)

    def receive_status(self, device, online, now=None, retained=False):  # pylint: disable=unused-argument
        """Apply a device's status: True online, False offline, None cleared.

        Returns whether it changed anything.  The last one received wins; a
        live state from the agent counts as ``online`` too.
        """
        value = True if online is None else bool(online)
        fresh = self._status_link.get(device) == self._link
        if self._status.get(device) == value and fresh:
            return False
        if device not in self._status and len(self._status) >= 4 * MAX_WARDS \
                and device not in self._agent_wards:
            return False            # a flood of strangers: never at a ward's expense
        self._status[device] = value
        self._status_link[device] = self._link
        if not value and now is not None:
            # its will (or its own goodbye): the life its last message gave ends here —
            # an "online" after this, a copy (a node whose copies lag), does not give
            # it back; a message from the agent does (progress, or an old agent's
            # live heartbeat)
            for key in self._agent_wards.get(device, ()):
                ward = self._wards.get(key)
                report = ward.reports.get(device) if ward is not None else None
                if report is not None:
                    report.expires = min(report.expires, now)
        self._touch_agent(device)
        return True

    def set_connected(self, connected, now, wall=None):
        """The board's own link to its broker went up or down at ``now``."""
        if connected == self._connected:
            return False
        if not connected:
            self._frozen_total = self._total(now)
        self._connected = connected
        self._epoch += 1
        self._connection_changed = now
        self._connection_wall = wall
        if connected:
            self._ever_connected = True
            self._link += 1
            # what was known before the outage waits (briefly) for its agent's
            # status on the new connection: a will may have fired meanwhile
            for ward in self._wards.values():
                for report in ward.reports.values():
                    report.first = now
        return True

    # -- output --------------------------------------------------------------
    def complete(self, now=None):
        """Whether every tile has data from every ward it names (at least one).

        With ``now``, a ward whose agent's status is still awaited does not count.
        """
        if not self._specs:
            return False
        for spec in self._specs:
            keys = self._keys(spec)
            if not keys:
                return False
            for key in keys:
                ward = self._wards.get(key)
                if ward is None or not ward.reports:
                    return False
                if now is not None and all(self._pending(r, now)
                                           for r in ward.reports.values()):
                    return False
        return True

    # -- inside: wards and reports --------------------------------------------
    def _keep_report(self, ward, report):
        if len(ward.reports) >= MAX_AGENTS_PER_WARD:
            oldest = min(ward.reports.values(), key=lambda r: r.heard)
            del ward.reports[oldest.agent]
            self._forget_agent_ward(oldest.agent, ward.key)
        ward.reports[report.agent] = report
        self._agent_wards.setdefault(report.agent, set()).add(ward.key)

    def _forget_agent_ward(self, agent, key):
        keys = self._agent_wards.get(agent)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._agent_wards[agent]

    def _prove_online(self, agent):
        if self._status.get(agent) is not True or self._status_link.get(agent) != self._link:
            self._status[agent] = True
            self._status_link[agent] = self._link
            self._touch_agent(agent)

    def _touch_agent(self, agent):
        for key in self._agent_wards.get(agent, ()):
            ward = self._wards.get(key)
            if ward is not None:
                self._touch_ward(ward)

    def _touch_ward(self, ward):
        """A message changed what the tiles counting ``ward`` may show."""
        memory = self._memory
        if memory is not None:          # the wards it counts, kept across its restarts
            if ward.key in self._wards:
                memory.note(ward.key)
            else:
                memory.forget(ward.key)     # retired
        versions = self._versions
        for spec in ward.covering:
            versions[spec] = versions.get(spec, 0) + 1

    def _change_time(self, state, now, wall, retained, previous):
        """When ``state``'s figures changed, as a monotonic time (None: unknown).

        ``previous`` is the report shown for the ward until now (or None).
        """
        if previous is not None and state.same_counts(previous.state):
            return previous.changed
        if previous is not None and not retained:
            return now                      # a live change: it happened just now
        if wall is None or not state.synced:
            return None
        age = (wall - state.at).total_seconds()
        if not -_CLOCK_SKEW <= age <= _PLAUSIBLE_AGE:
            return None
        return now - max(0.0, age)

    def _warn(self, kind, key, message, *args):
        now_key = (kind, key)
        # rate-limited by the count of calls, not by a clock: the model reads none
        count = self._warned.get(now_key, 0)
        self._warned[now_key] = count + 1
        if count in (0, 10, 100, 1000) or count % 10000 == 0:
            _LOG.warning(message + ("" if not count else " (%d times so far)" % (count + 1)),
                         *args)

    def _add_ward(self, key):
        department = (key.hospital, key.department)
        bisect.insort(self._by_department.setdefault(department, []), key)
        if not self._fixed and department not in self._departments:
            self._departments.add(department)
            spec = TileSpec(key.hospital, key.department, None,
                            Label(**default_label(key.department)))
            self._expected[spec] = None
            self._department_specs.setdefault(department, []).append(spec)
            self._specs.append(spec)
            self._specs.sort(key=lambda s: (s.hospital, s.department))
        covering = tuple(spec for spec in self._department_specs.get(department, ())
                         if spec.covers(key))
        ward = self._wards[key] = Ward(key, covering)
        return ward
