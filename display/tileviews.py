"""A board's tiles and total worked out from its wards' reports (a mixin of Board).

Each tile's view is cached with what it depends on (its wards' version, the
board's epoch, the next time it would change with no message at all), and the
"beds just freed" highlight is decided here from a tile's figures before and
after a live change.  The rules are the board's (display/board.py's docstring).
"""

import math

from .checks import CHECK_WITHIN, check_figures
from .views import BoardView, Reason, Status, TileView

STATUS_WAIT = 3.0           # seconds a retained state waits for its agent's status


def _minutes_until(now, then):
    """Whole minutes since ``then``, and when that number next changes."""
    minutes = max(0, int((now - then) // 60))
    return minutes, then + 60.0 * (minutes + 1)


class TileViews:
    """Tiles out: the part of Board that turns reports into views."""

    _memory = None          # the wards seen before this start, kept up to date (recall)
    check_within = CHECK_WITHIN     # board.check_within: a count checked longer ago is due

    def recall(self, memory):
        """Count every ward ``memory`` (a display.memory.WardMemory) holds — wards the
        board saw before it last started, not reporting until they speak — and keep
        ``memory`` up to date with every ward counted or retired from now on.

        A department-wide tile then never forgets a ward it has counted, though
        the broker no longer holds its state (issue 15, finding 5).
        """
        self._memory = memory
        for key in memory.retired():
            self._retired[key] = True
        by_department = {}
        for key in memory.wards():
            if key not in self._wards and self.wants(key):
                by_department.setdefault((key.hospital, key.department), []).append(key)
        for department, fresh in by_department.items():
            # each through the board's own door (a tile of its own when the config names
            # none; the tiles that count it): a sorted insert, not a sort per ward
            for key in sorted(fresh):
                self._add_ward(key)
            for spec in self._specs:
                if (spec.hospital, spec.department) == department:
                    self._versions[spec] = self._versions.get(spec, 0) + 1
        for key in self._wards:
            memory.note(key)
        self._epoch += 1

    def view(self, now):
        """The board as it should look at ``now``."""
        tiles = []
        live_wards = {}
        left_out = set()
        unchecked = set()
        live_tiles = partial = 0
        for spec in self._specs:
            tile, counted, missed, due = self._cached_tile(spec, now)
            tiles.append(tile)
            if counted:
                live_wards.update(counted)
            if missed:
                left_out.update(missed)
            if tile.live:
                live_tiles += 1
                partial += bool(tile.missing)
            if due:
                unchecked.update(due)
        if self._connected:
            total = sum(live_wards.values()) if live_wards else None
        else:
            total = self._frozen_total if any(
                t.status is Status.LAST_KNOWN for t in tiles) else None
        return BoardView(
            tiles=tuple(tiles), connected=self._connected,
            ever_connected=self._ever_connected, since=self._connection_wall,
            since_minutes=max(0, int((now - self._connection_changed) // 60)),
            since_seconds=max(0.0, now - self._connection_changed),
            total_vacant=total, tiles_not_live=len(tiles) - live_tiles,
            live_tiles=live_tiles,
            tiles_partial=partial,
            wards_missing=len(left_out.difference(live_wards)),
            wards_unchecked=len(unchecked), check_within=self.check_within)


    # -- inside: highlights -----------------------------------------------------
    def _tile_figures(self, spec, now):
        """``(reporting ward keys, live vacant sum, capacity, occupied, complete, agents)``
        of a tile at ``now``."""
        keys = self._keys(spec)
        live = []
        agents = []
        vacant = capacity = occupied = 0
        for key in keys:
            ward = self._wards.get(key)
            report = self._current(ward, now) if ward is not None else None
            if report is not None:
                live.append(key)
                agents.append(report.agent)
                vacant += report.state.vacant
                capacity += report.state.capacity
                occupied += report.state.occupied
        complete = bool(keys) and len(live) == len(keys)
        return frozenset(live), vacant, capacity, occupied, complete, tuple(agents)

    def _update_highlights(self, covering, before, now, key, live_change):
        """Light "beds just freed" on a live discharge from FULL; put it out on anything
        else that changes the figure.

        A discharge is beds going from occupied to free, by the agents that
        counted them: a capacity correction, beds unblocked, a replacement
        panel's first report or a retired ward coming back free nobody.
        """
        for spec in covering:
            live, vacant, capacity, occupied, complete, agents = self._tile_figures(spec, now)
            if vacant == 0 or not complete:
                self._highlight.pop(spec, None)
                continue
            was_live, was_vacant, was_capacity, was_occupied, was_complete, was_agents = \
                before[spec]
            if not (live_change and self._connected and self.highlight_seconds > 0):
                if (live, vacant, capacity, occupied, agents) != (
                        was_live, was_vacant, was_capacity, was_occupied, was_agents):
                    self._highlight.pop(spec, None)     # the figure is no longer the one
                continue
            if was_complete and was_live == live and was_agents == agents \
                    and was_vacant == 0 and was_capacity > 0 and occupied < was_occupied:
                self._highlight[spec] = (now + self.highlight_seconds, live)

    # -- inside: tiles ------------------------------------------------------------
    def _cached_tile(self, spec, now):
        stamp = (self._epoch, self._versions.get(spec, 0))
        entry = self._views.get(spec)
        if entry is not None and entry[0] == stamp and now < entry[1]:
            return entry[2]
        tile, counted, until = self._tile(spec, now)
        live = {key for key, _ in counted}
        missed = tuple(key for key in self._keys(spec) if key not in live) \
            if tile.missing else ()
        found = (tile, counted, missed, self._due_wards.get(spec, ()))
        self._views[spec] = (stamp, until, found)
        return found

    def _keys(self, spec):
        expected = self._expected.get(spec)
        if expected is not None:
            return expected
        return self._by_department.get((spec.hospital, spec.department), ())

    def _status_of(self, vacant, capacity, missing):
        if missing:
            # the figure is of some wards only: the bar says PART DATA and how many
            # are missing, whatever the word for the rest would be (issue 15)
            return Status.PARTIAL
        if capacity == 0:
            return Status.CLOSED
        if vacant > self.few_left:
            return Status.AVAILABLE
        return Status.FULL if vacant == 0 else Status.FEW_LEFT

    def _why(self, reports, now):
        """Every reason these wards' reports are not reporting, weightiest first.

        A panel reset or offline is said even while the board's own link is
        down (it was known before); a ward merely silent, or never heard,
        is then blamed on the lost connection, not on the ward.
        """
        lost = not self._connected and self._ever_connected
        reasons = set()
        for report in reports:
            if report is not None and report.reset:
                reasons.add(Reason.RESET)
            elif report is not None and self._status.get(report.agent) is False:
                reasons.add(Reason.OFFLINE)
            elif lost:
                reasons.add(Reason.CONNECTION)
            elif report is not None and self._checking(report, now):
                reasons.add(Reason.CHECKING)
            elif report is None:
                reasons.add(Reason.NEVER)
            else:
                reasons.add(Reason.SILENT)
        return tuple(reason for reason in (Reason.RESET, Reason.OFFLINE, Reason.CONNECTION,
                                           Reason.CHECKING, Reason.SILENT, Reason.NEVER)
                     if reason in reasons)

    def _reasons(self, fields, reports, now):
        """Set a tile's ``reason`` (the weightiest) and ``reasons`` (all) for ``reports``."""
        reasons = self._why(reports, now)
        fields["reasons"] = reasons
        fields["reason"] = reasons[0] if reasons else None

    def _tile(self, spec, now):
        """``(TileView, [(ward key, vacant)] it counts live, until)`` for one tile.

        ``until`` is the monotonic time at which the view may change with no
        message at all: a report's life ending, a status wait ending, a minute
        passing on its "updated … ago", the highlight ending, the start-up
        wait ending.
        """
        keys = self._keys(spec)
        fields = {"label": spec.label, "wards": len(keys)}
        until = math.inf
        live, missing, flags = [], [], []
        for key in keys:
            ward = self._wards.get(key)
            if ward is None:
                missing.append(None)
                continue
            for report in ward.reports.values():
                until = min(until, self._deadline(report, now))
            current = self._current(ward, now)
            shown = self._shown(ward, now)
            if current is not None:
                live.append((key, current))
            else:
                missing.append(shown)
            if shown is not None:
                flags.append((ward, shown))
        fields["conflict"] = any(self._conflicting(ward, now) for ward, _ in flags)
        fields["reset"] = any(r.reset and now < r.expires or r.reused and self._reporting(r, now)
                              for ward, _ in flags for r in ward.reports.values())
        counted = []
        self._due_wards[spec] = ()
        if live and (self._connected or self._ever_connected):
            sums = _sums(report.state for _, report in live)
            fields.update(sums)
            checks, due, check_until = check_figures(live, now, self.check_within)
            fields.update(checks)
            self._due_wards[spec] = due
            until = min(until, check_until)
            fields["missing"] = len(missing)
            if missing:
                self._reasons(fields, missing, now)
            status = self._status_of(sums["vacant"], sums["capacity"], len(missing))
            fields["unconfirmed"] = any(r.state.unconfirmed for _, r in live)
            fields["mismatched"] = sum(r.state.mismatched for _, r in live)
            changes = [r.changed for _, r in live]
            if None not in changes:
                fields["changed_minutes"], next_minute = _minutes_until(now, max(changes))
                until = min(until, next_minute)
            if not self._connected:
                status = Status.LAST_KNOWN
            else:
                counted = [(key, report.state.vacant) for key, report in live]
                highlight = self._highlight.get(spec)
                if highlight is not None and now < highlight[0] \
                        and status in (Status.AVAILABLE, Status.FEW_LEFT) \
                        and frozenset(key for key, _ in live) == highlight[1]:
                    fields["highlighted"] = True
                    until = min(until, highlight[0])
        else:
            shown = [report for _, report in flags]
            if shown:
                fields.update(_sums(report.state for report in shown))
                status = Status.NOT_REPORTING
                fields["missing"] = len(keys)
                self._reasons(fields, missing, now)
                if fields["reasons"] == (Reason.CHECKING,):
                    status = Status.CHECKING     # every figure a copy not yet proven live
                fields["silent_minutes"], until_minute = _minutes_until(
                    now, min(report.heard for report in shown))
                until = min(until, until_minute)
                fields["offline"] = any(self._status.get(r.agent) is False for r in shown)
            elif now - self._started < self.stale_after and (
                    self._connected or not self._ever_connected):
                status = Status.WAITING
                until = min(until, self._started + self.stale_after)
            else:
                status = Status.NOT_REPORTING
                fields["missing"] = len(keys)
                fields["reason"] = (Reason.CONNECTION if not self._connected
                                    else Reason.NEVER)
                fields["reasons"] = (fields["reason"],)
        return TileView(status=status, **fields), counted, until

    def _total(self, now):
        """The total vacant over live wards at ``now`` (each once), or None."""
        live = {}
        for spec in self._specs:
            for key in self._keys(spec):
                ward = self._wards.get(key)
                report = self._current(ward, now) if ward is not None else None
                if report is not None:
                    live[key] = report.state.vacant
        return sum(live.values()) if live else None


def _sums(states):
    capacity = occupied = blocked = 0
    for state in states:
        capacity += state.capacity
        occupied += state.occupied
        blocked += state.blocked
    return {"capacity": capacity, "occupied": occupied, "blocked": blocked,
            "vacant": capacity - occupied - blocked}
