"""The ledger's holds for referrals and its last check: kept on disk, timed by the agent's clock.

:class:`HoldBook` is a part of :class:`agent.ledger.Ledger` (a mixin): the
``holds`` table (one row per hold: its id, beds, who it is for, how long it
lasts, when it was placed, and how long it has run) and the ward row's
``checked`` columns (when a nurse last confirmed the count, and whether the
clock that stamped it was synchronised).

Time, on a Pi without a real-time clock (docs/contract.md, "Checks and
holds"):

* a hold's time runs by the agent's **monotonic** clock while it runs; how
  long it has run is written to the ledger every SAVE_EVERY seconds and
  with every change, so a restart (or a power cut) resumes it from there.
  The time the agent was off is counted only when the hold was placed by a
  synchronised clock and the clock is synchronised again: otherwise a hold
  may outlast its time by the time the agent was off, never end before it;
* the age of the last check is known from the monotonic clock of the agent
  that saw it; after a restart only when both the check's stamp and the
  clock now are synchronised.  Otherwise it is unknown, and an unknown age
  is treated as a check that is due: a count is never called checked on a
  guess.

Expiry is a change like any other (:meth:`agent.ledger.Ledger.record`): the
hold's row goes in the same transaction as the counts and the seq, so an
expired hold frees its bed exactly once, whatever restarts.
"""

import json
import time
from datetime import timedelta

from bedboard.payloads import MAX_HOLDS, Hold, format_at, parse_at, utc_now

from .ward import HeldBeds

SAVE_EVERY = 60.0   # seconds between writes of the holds' running times
HOLDS_BYTES = 2800  # of a WardState's 4096 bytes, at most this much lists holds

# The monotonic clock holds and checks are timed by: time.monotonic, which the
# agent's loop also reads (tests/test_agent_truth.py runs the agent on a clock
# of its own, and sets this to it).
clock = time.monotonic

HOLDS_TABLE = """CREATE TABLE holds (id TEXT PRIMARY KEY, beds INTEGER NOT NULL,
                    minutes REAL NOT NULL, placed TEXT NOT NULL, for_whom TEXT,
                    by TEXT, synced INTEGER NOT NULL, elapsed REAL NOT NULL)"""


def holds_from_wire(state, default_minutes, now_at=None):
    """The holds a WardState shows, as HeldBeds with their time already run.

    For a count recovered from the broker (or an old ledger moved onto the
    broker's count): each listed hold keeps the time it had left when that
    state was published (its ``left``); held beds the state counts but does
    not list (more holds than a state lists) get one hold of
    ``default_minutes``.  Returns ``[(HeldBeds, elapsed seconds)]``.
    """
    now_at = utc_now() if now_at is None else now_at
    found, listed = [], 0
    for hold in state.holds:
        minutes = max(hold.left, 1) / 60.0
        found.append((HeldBeds(id=hold.id, beds=hold.beds, minutes=minutes,
                               placed=now_at, for_whom=hold.for_whom), 0.0))
        listed += hold.beds
    rest = (state.held or 0) - listed
    if rest > 0:
        found.append((HeldBeds(id="recovered-%d" % state.seq, beds=rest,
                               minutes=float(default_minutes), placed=now_at,
                               for_whom=None, by="recovered"), 0.0))
    return found


class HoldBook:
    """Holds and the last check of a :class:`~agent.ledger.Ledger` (see the module docstring)."""

    def _load_holds(self, connection):
        self.holds = {}
        self._hold_started = {}
        now = clock()
        rows = connection.execute("SELECT id, beds, minutes, placed, for_whom, by, synced, "
                                  "elapsed FROM holds ORDER BY placed, id").fetchall()
        self._saved_elapsed = {}
        for ident, beds, minutes, placed, for_whom, by, synced, elapsed in rows:
            self.holds[ident] = HeldBeds(id=ident, beds=beds, minutes=minutes,
                                         placed=parse_at(placed), for_whom=for_whom,
                                         by=by, synced=bool(synced))
            self._hold_started[ident] = now - elapsed
            self._saved_elapsed[ident] = elapsed
        checked, synced = connection.execute(
            "SELECT checked, checked_synced FROM ward WHERE id = 1").fetchone()
        self.checked_at = None if checked is None else parse_at(checked)
        self.checked_synced = bool(synced)
        self.checked_mono = None      # unknown until resume_clocks() says otherwise
        self._clocks_saved = now

    def resume_clocks(self, synced_now, now=None, now_at=None):
        """Count the time the agent was off, where a synchronised clock can say it.

        Called once the ledger is open and the clock's state is known.
        """
        now = clock() if now is None else now
        now_at = utc_now() if now_at is None else now_at
        if not synced_now:
            return
        with self._lock:
            for ident, held in self.holds.items():
                if held.synced:
                    ran = (now_at - held.placed).total_seconds()
                    started = now - max(ran, self._saved_elapsed.get(ident, 0.0))
                    self._hold_started[ident] = min(self._hold_started[ident], started)
            if self.checked_at is not None and self.checked_synced:
                age = max(0.0, (now_at - self.checked_at).total_seconds())
                self.checked_mono = now - age

    # -- reading -------------------------------------------------------------
    def hold_left(self, ident, now=None):
        """Seconds the hold ``ident`` has left (0 once it is due to expire)."""
        now = clock() if now is None else now
        with self._lock:
            held = self.holds[ident]
            return max(0.0, held.minutes * 60.0 - (now - self._hold_started[ident]))

    def expired(self, now=None):
        """The holds whose time has run out, soonest first."""
        now = clock() if now is None else now
        with self._lock:
            due = [h for h in self.holds.values() if self.hold_left(h.id, now) <= 0]
        return due

    def soonest(self, now=None):
        """The hold that expires first, or None."""
        now = clock() if now is None else now
        with self._lock:
            return min(self.holds.values(), default=None,
                       key=lambda held: (self.hold_left(held.id, now), held.id))

    def check_age(self, now=None):
        """Seconds since the count was last confirmed, or None when that is not known."""
        now = clock() if now is None else now
        with self._lock:
            return None if self.checked_mono is None else max(0.0, now - self.checked_mono)

    def listing(self, now=None):
        """The holds as a WardState lists them: soonest to expire first.

        At most MAX_HOLDS, and no more than HOLDS_BYTES of JSON: the state
        stays within the contract's 4096 bytes whatever the holds' ids and
        ``for`` (Bengali takes 3 bytes a letter); ``held`` counts them all.
        """
        now = clock() if now is None else now
        at = utc_now()
        with self._lock:
            ordered = sorted(self.holds.values(),
                             key=lambda held: (self.hold_left(held.id, now), held.id))
            out, size = [], 0
            for held in ordered[:MAX_HOLDS]:
                left = int(round(self.hold_left(held.id, now)))
                hold = Hold(id=held.id, beds=held.beds, left=left,
                            until=at + timedelta(seconds=left), for_whom=held.for_whom)
                size += len(json.dumps(hold.to_dict(), ensure_ascii=False).encode()) + 1
                if size > HOLDS_BYTES:
                    break       # the state must stay within the contract's 4096 bytes
                out.append(hold)
        return tuple(out)

    # -- writing (inside the ledger's transaction) -----------------------------
    def _hold_snapshot(self):
        return (dict(self.holds), dict(self._hold_started), self.checked_at,
                self.checked_synced, self.checked_mono)

    def _hold_restore(self, saved):
        (self.holds, self._hold_started, self.checked_at, self.checked_synced,
         self.checked_mono) = saved

    def _write_hold_change(self, db, change, at, synced):
        """The hold (and check) part of one change, in the ledger's transaction."""
        now = clock()
        held = change.hold
        if change.kind == "held":
            db.execute("INSERT INTO holds VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
                       (held.id, held.beds, held.minutes, format_at(held.placed),
                        held.for_whom, held.by, int(held.synced)))
            self.holds[held.id] = held
            self._hold_started[held.id] = now
        elif change.kind in ("released", "expired") or (
                change.kind == "arrived" and self.holds[held.id].beds <= 1):
            db.execute("DELETE FROM holds WHERE id = ?", (held.id,))
            self.holds.pop(held.id, None)
            self._hold_started.pop(held.id, None)
        elif change.kind == "arrived":
            kept = self.holds[held.id]
            db.execute("UPDATE holds SET beds = ? WHERE id = ?", (kept.beds - 1, held.id))
            self.holds[held.id] = HeldBeds(kept.id, kept.beds - 1, kept.minutes,
                                           kept.placed, kept.for_whom, kept.by,
                                           kept.synced)
        if change.checked:
            db.execute("UPDATE ward SET checked = ?, checked_synced = ? WHERE id = 1",
                       (format_at(at), int(bool(synced))))
            self.checked_at, self.checked_synced, self.checked_mono = at, bool(synced), now

    def _replace_holds(self, db, holds):
        """Put ``holds`` (``[(HeldBeds, elapsed)]``) in place of every hold kept."""
        now = clock()
        db.execute("DELETE FROM holds")
        self.holds, self._hold_started = {}, {}
        for held, elapsed in holds:
            db.execute("INSERT INTO holds VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (held.id, held.beds, held.minutes, format_at(held.placed),
                        held.for_whom, held.by, int(held.synced), elapsed))
            self.holds[held.id] = held
            self._hold_started[held.id] = now - elapsed

    def _forget_check(self, db, checked):
        """The last check is ``checked`` (a time, or None), of an age not known."""
        db.execute("UPDATE ward SET checked = ?, checked_synced = 0 WHERE id = 1",
                   (None if checked is None else format_at(checked),))
        self.checked_at, self.checked_synced, self.checked_mono = checked, False, None

    def save_clocks(self, now=None, force=False):
        """Write how long each hold has run (every SAVE_EVERY seconds, or ``force``).

        Not synced at once: a write lost to a power cut only makes a hold
        last longer by what was lost (at most SAVE_EVERY seconds).
        """
        now = clock() if now is None else now
        with self._lock:
            if self._db is None or not self.holds or (
                    not force and now - self._clocks_saved < SAVE_EVERY):
                return False
            self._clocks_saved = now
            self._write_many("UPDATE holds SET elapsed = ? WHERE id = ?",
                             [(now - self._hold_started[ident], ident)
                              for ident in self.holds])
            return True
