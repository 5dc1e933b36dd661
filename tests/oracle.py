"""The oracle: what a lobby board must show, worked out afresh from the whole history.

A second, deliberately plain statement of the board's rules
(docs/contract.md, "Rules", and the module docstring of
:mod:`display.board`), written for clarity rather than speed: it keeps no
caches and no incremental state between calls.  :func:`expected_view`
replays every message the board received, in order, into plain dicts, then
computes each tile at ``now`` from scratch.  The stateful tests compare the
real :class:`display.board.Board` — incremental, cached — with it after
every step.

What the board receives is a list of :class:`Heard` records, each with its
monotonic receipt time:

* ``("state", key, WardState, retained)`` — a valid ward state;
* ``("retired", key)`` — an empty retained state;
* ``("status", device, online, retained)`` — True, False or None (cleared);
* ``("link", connected, wall)`` — the board's own connection went up or down.
"""

from dataclasses import dataclass

from display.board import BoardView, Reason, Status, TileView

STATUS_WAIT = 3.0
MAX_AGENTS_PER_WARD = 8
PLAUSIBLE_AGE = 7 * 24 * 3600.0
CLOCK_SKEW = 300.0


@dataclass(frozen=True)
class Heard:
    """One thing the board received, at monotonic time ``t``."""

    t: float
    kind: str
    what: tuple


@dataclass
class Rules:
    """The board's settings that decide what it shows."""

    specs: tuple
    stale_after: float = 180.0
    retained_for: float = 75.0
    few_left: int = 3
    highlight_seconds: float = 300.0
    started: float = 0.0


def counts(state):
    return (state.capacity, state.occupied, state.blocked)


class _Replay:
    """The history replayed into plain dicts (rebuilt on every call)."""

    def __init__(self, rules):
        self.rules = rules
        self.connected = False
        self.link = 0             # the board's connections so far
        self.ever_connected = False
        self.link_changed = rules.started
        self.link_wall = None
        self.frozen_total = None
        self.status = {}          # agent -> True / False
        self.status_link = {}     # agent -> the connection its status (or a live state) came on
        self.wards = {}           # key -> {agent: report dict}, in the order first heard
        self.retired = set()      # wards told retired, not yet back from a panel speaking
        self.highlight = {}       # spec -> (until, frozenset of keys)

    # -- who reports ---------------------------------------------------------
    def pending(self, report, now):
        # issue 15 (finding 6): its agent's status has not come on this connection yet
        # (after a first receipt, or the board's reconnect), for a short while
        return (self.status_link.get(report["agent"]) != self.link
                and now < report["first"] + STATUS_WAIT)

    def present(self, report, now):
        return report["agent"] in self.status or now >= report["first"] + STATUS_WAIT

    def checking(self, report, now):
        # known before the board's reconnect, until its agent's status comes again
        return (not report["reset"] and not report["doubt"]
                and report["agent"] in self.status and self.pending(report, now))

    def reporting(self, report, now):
        if report["reset"] or report["doubt"] or now >= report["expires"]:
            return False
        if self.status.get(report["agent"]) is False:
            return False
        return not self.pending(report, now)

    def current(self, key, now):
        """The reporting report applied last (ties: the greater agent id)."""
        candidates = [r for r in self.wards.get(key, {}).values() if self.reporting(r, now)]
        if not candidates:
            return None
        return max(candidates, key=lambda r: (r["applied"], r["agent"]))

    def shown(self, key, now):
        found = self.current(key, now)
        if found is not None:
            return found
        candidates = [r for r in self.wards.get(key, {}).values()
                      if self.present(r, now)]
        if not candidates:
            return None
        return max(candidates, key=lambda r: (r["applied"], r["agent"]))

    def keys(self, spec):
        if spec.wards is not None:
            return list(spec.expected())
        return sorted(k for k in self.wards
                      if (k.hospital, k.department) == (spec.hospital, spec.department))

    def total(self, now):
        live = {}
        for spec in self.rules.specs:
            for key in self.keys(spec):
                report = self.current(key, now)
                if report is not None:
                    live[key] = vacant(report["state"])
        return sum(live.values()) if live else None

    def figures(self, spec, now):
        keys = self.keys(spec)
        live = [k for k in keys if self.current(k, now) is not None]
        reports = [self.current(k, now) for k in live]
        states = [r["state"] for r in reports]
        complete = bool(keys) and len(live) == len(keys)
        return (frozenset(live), sum(vacant(s) for s in states),
                sum(s.capacity for s in states), sum(s.occupied for s in states),
                complete, tuple(r["agent"] for r in reports))

    # -- what each record does -------------------------------------------------
    def take(self, heard):
        now, kind = heard.t, heard.kind
        if kind == "link":
            connected, wall = heard.what
            if connected == self.connected:
                return
            if not connected:
                self.frozen_total = self.total(now)
            self.connected = connected
            self.link_changed = now
            self.link_wall = wall
            self.ever_connected = self.ever_connected or connected
            self.link += connected
            if connected:       # what was known waits (briefly) for its status again
                for reports in self.wards.values():
                    for report in reports.values():
                        report["first"] = now
        elif kind == "status":
            device, online, _retained = heard.what
            self.status[device] = True if online is None else online
            self.status_link[device] = self.link
            if online is False:         # offline ends the life its last message gave
                for reports in self.wards.values():
                    if device in reports:
                        reports[device]["expires"] = min(reports[device]["expires"], now)
        elif kind == "retired":
            (key,) = heard.what
            self.wards.pop(key, None)
            if any(spec.covers(key) for spec in self.rules.specs):
                self.retired.add(key)
        elif kind == "state":
            self.take_state(now, *heard.what)

    def take_state(self, now, key, state, retained, wall=None):
        if not any(spec.covers(key) for spec in self.rules.specs):
            return
        if key in self.retired:         # told it was retired: back only from a panel
            if retained:                # speaking, not from a copy (docs/contract.md)
                return
            self.retired.discard(key)
        covering = [spec for spec in self.rules.specs if spec.covers(key)]
        before = {spec: self.figures(spec, now) for spec in covering}
        agent = state.agent
        reports = self.wards.setdefault(key, {})
        report = reports.get(agent)
        life = self.rules.retained_for if retained else self.rules.stale_after
        # whether it is a live change is judged on what the board knew before it
        was_current = report is not None and self.current(key, now) is report
        was_reporting = report is not None and self.reporting(report, now)
        was_live = report is not None and report["live_link"] == self.link
        if not retained:
            self.status[agent] = True          # a live state proves its agent online
            self.status_link[agent] = self.link
        shown_before = self.shown(key, now)
        if report is None:
            report = {"agent": agent, "state": state, "first": now, "heard": now,
                      "expires": now, "applied": now, "reset": False, "reused": False, "doubt": False,
                      "live_link": None,
                      "changed": change_time(state, now, wall, retained, shown_before)}
            if len(reports) >= MAX_AGENTS_PER_WARD:     # the least recently heard goes
                del reports[min(reports.values(), key=lambda r: r["heard"])["agent"]]
            reports[agent] = report
            applied = True
        elif state.seq > report["state"].seq:
            if counts(state) != counts(report["state"]):
                report["changed"] = change_time(state, now, wall, retained, report)
            report.update(state=state, reset=False, reused=False, doubt=False)
            applied = True
        elif state.seq == report["state"].seq and counts(state) == counts(report["state"]):
            report["state"] = state
            if not retained:
                report["reset"] = report["doubt"] = False
            applied = False
        elif state.seq == report["state"].seq and not retained:
            report["changed"] = change_time(state, now, wall, retained, report)
            report.update(state=state, reset=False, reused=True, doubt=False)
            applied = True
        else:
            # lower, sent live: the panel was reset; a retained copy that disagrees:
            # in doubt (issue 15, finding 12: not a reset). Not applied either way.
            if retained:
                report["doubt"] = True
            else:
                report["reset"] = True
                report["heard"] = now
                report["expires"] = max(report["expires"], now + life)
            return
        if not retained:
            report["heard"] = now
            report["live_link"] = self.link
        if applied or not retained:     # issue 15, finding 2: a copy already held gives no life
            report["expires"] = max(report["expires"], now + life)
        if applied:
            report["applied"] = now
        live_change = (applied and not retained and was_current and was_reporting
                       and was_live)
        for spec in covering:
            live, vac, capacity, occupied, complete, agents = self.figures(spec, now)
            if vac == 0 or not complete:
                self.highlight.pop(spec, None)
                continue
            was_live, was_vacant, was_capacity, was_occupied, was_complete, was_agents = \
                before[spec]
            if not (live_change and self.connected and self.rules.highlight_seconds > 0):
                # issue 15 (findings 7, 8): anything else that changes the figure
                if (live, vac, capacity, occupied, agents) != (
                        was_live, was_vacant, was_capacity, was_occupied, was_agents):
                    self.highlight.pop(spec, None)
                continue
            # only beds going from occupied to free, by the same agents
            if was_complete and was_live == live and was_agents == agents \
                    and was_vacant == 0 and was_capacity > 0 and occupied < was_occupied:
                self.highlight[spec] = (now + self.rules.highlight_seconds, live)

    # -- one tile at now -----------------------------------------------------------
    def why(self, missing, now):
        lost = not self.connected and self.ever_connected
        found = set()
        for report in missing:
            if report is not None and report["reset"]:
                found.add(Reason.RESET)
            elif report is not None and self.status.get(report["agent"]) is False:
                found.add(Reason.OFFLINE)
            elif lost:
                found.add(Reason.CONNECTION)
            elif report is not None and self.checking(report, now):
                found.add(Reason.CHECKING)
            elif report is None:
                found.add(Reason.NEVER)
            else:
                found.add(Reason.SILENT)
        return tuple(reason for reason in (Reason.RESET, Reason.OFFLINE, Reason.CONNECTION,
                                           Reason.CHECKING, Reason.SILENT, Reason.NEVER)
                     if reason in found)

    def word(self, vac, capacity, missing):
        if missing:                     # issue 15: the bar says PART DATA, m of n missing
            return Status.PARTIAL
        if capacity == 0:
            return Status.CLOSED
        if vac > self.rules.few_left:
            return Status.AVAILABLE
        return Status.FULL if vac == 0 else Status.FEW_LEFT

    def tile(self, spec, now):
        keys = self.keys(spec)
        view = {"label": spec.label, "wards": len(keys)}
        live, missing, shown = [], [], []
        for key in keys:
            current = self.current(key, now)
            seen = self.shown(key, now)
            if current is not None:
                live.append((key, current))
            else:
                missing.append(seen)
            if seen is not None:
                shown.append((key, seen))
        reports = [r for key, _ in shown for r in self.wards[key].values()]
        view["conflict"] = any(
            sum(1 for r in self.wards[key].values() if self.reporting(r, now)) > 1
            for key, _ in shown)
        view["reset"] = any((r["reset"] and now < r["expires"])
                            or (r["reused"] and self.reporting(r, now)) for r in reports)
        if live:
            states = [r["state"] for _, r in live]
            view.update(sums(states))
            view["missing"] = len(missing)
            if missing:
                view["reasons"] = self.why(missing, now)
                view["reason"] = (view["reasons"] or (None,))[0]
            status = self.word(view["vacant"], view["capacity"], len(missing))
            view["unconfirmed"] = any(s.unconfirmed for s in states)
            view["mismatched"] = sum(s.mismatched for s in states)
            changes = [r["changed"] for _, r in live]
            if None not in changes:
                view["changed_minutes"] = minutes(now, max(changes))
            if not self.connected:
                status = Status.LAST_KNOWN
            else:
                mark = self.highlight.get(spec)
                if mark is not None and now < mark[0] \
                        and status in (Status.AVAILABLE, Status.FEW_LEFT) \
                        and frozenset(k for k, _ in live) == mark[1]:
                    view["highlighted"] = True
            counted = [(k, vacant(r["state"])) for k, r in live] if self.connected else []
        elif shown:
            states = [r["state"] for _, r in shown]
            view.update(sums(states))
            status = Status.NOT_REPORTING
            view["missing"] = len(keys)
            view["reasons"] = self.why(missing, now)
            view["reason"] = (view["reasons"] or (None,))[0]
            if view["reasons"] == (Reason.CHECKING,):
                status = Status.CHECKING
            view["silent_minutes"] = minutes(now, min(r["heard"] for _, r in shown))
            view["offline"] = any(self.status.get(r["agent"]) is False for _, r in shown)
            counted = []
        else:
            counted = []
            if now - self.rules.started < self.rules.stale_after and (
                    self.connected or not self.ever_connected):
                status = Status.WAITING
            else:
                status = Status.NOT_REPORTING
                view["missing"] = len(keys)
                view["reason"] = Reason.CONNECTION if not self.connected else Reason.NEVER
                view["reasons"] = (view["reason"],)
        return TileView(status=status, **view), counted


def vacant(state):
    return state.capacity - state.occupied - state.blocked


def sums(states):
    capacity = sum(s.capacity for s in states)
    occupied = sum(s.occupied for s in states)
    blocked = sum(s.blocked for s in states)
    return {"capacity": capacity, "occupied": occupied, "blocked": blocked,
            "vacant": capacity - occupied - blocked}


def minutes(now, then):
    return max(0, int((now - then) // 60))


def change_time(state, now, wall, retained, previous):
    """When a newly applied state's figures changed (None: not known)."""
    if previous is not None and counts(state) == counts(previous["state"]):
        return previous["changed"]
    if previous is not None and not retained:
        return now
    if wall is None or not state.synced:
        return None
    age = (wall - state.at).total_seconds()
    if not -CLOCK_SKEW <= age <= PLAUSIBLE_AGE:
        return None
    return now - max(0.0, age)


def expected_view(history, now, rules):
    """The BoardView the board must show at ``now`` after ``history``."""
    replay = _Replay(rules)
    for heard in history:
        replay.take(heard)
    tiles, live_wards, left_out = [], {}, set()
    for spec in rules.specs:
        tile, counted = replay.tile(spec, now)
        tiles.append(tile)
        live_wards.update(counted)
        if tile.missing:
            left_out.update(replay.keys(spec))
    live_tiles = sum(1 for t in tiles if t.live)
    if replay.connected:
        total = sum(live_wards.values()) if live_wards else None
    else:
        total = replay.frozen_total if any(
            t.status is Status.LAST_KNOWN for t in tiles) else None
    return BoardView(tiles=tuple(tiles), connected=replay.connected,
                     ever_connected=replay.ever_connected, since=replay.link_wall,
                     since_minutes=minutes(now, replay.link_changed),
                     since_seconds=max(0.0, now - replay.link_changed),
                     total_vacant=total, tiles_not_live=len(tiles) - live_tiles,
                     live_tiles=live_tiles,
                     tiles_partial=sum(1 for t in tiles if t.live and t.missing),
                     wards_missing=len(left_out.difference(live_wards)))


def differences(shown, expected):
    """What differs between two BoardViews, field by field, for a readable failure."""
    out = []
    for name in ("connected", "ever_connected", "since", "since_minutes", "total_vacant",
                 "tiles_not_live", "live_tiles", "tiles_partial"):
        if getattr(shown, name) != getattr(expected, name):
            out.append("%s: shown %r, expected %r" % (name, getattr(shown, name),
                                                      getattr(expected, name)))
    for index, (a, b) in enumerate(zip(shown.tiles, expected.tiles)):
        for name in a.__dataclass_fields__:
            if getattr(a, name) != getattr(b, name):
                out.append("tile %d %s: shown %r, expected %r" % (
                    index, name, getattr(a, name), getattr(b, name)))
    if len(shown.tiles) != len(expected.tiles):
        out.append("%d tiles shown, %d expected" % (len(shown.tiles), len(expected.tiles)))
    return out
