"""The ward ledger: the count, its ``seq`` and what is still to be delivered, on disk.

One SQLite file in ``state_dir`` (WAL journal, ``synchronous=FULL``), so a
change survives SIGKILL and power loss once :meth:`Ledger.record` returns:

* ``ward`` — the one row of the ward's counts, ``seq`` and ``at``; also the
  config capacity last applied, so that a changed ``capacity`` in the
  config is noticed once, and whether the count is ``unconfirmed`` (taken
  from a copy that may be old, until a bed manager's ``set``);
* ``outbox`` — each change's WardEvent, until the broker acknowledged it;
* ``uplink`` — each change's body for the referral portal, until the
  portal took it (only when an uplink is configured);
* ``beds`` — whether each bed contact's bed is counted as occupied, so a
  bed that changed while the agent was off is counted at start;
* ``held`` — the changes made since the ledger was last checked against the
  broker (at start, before the broker answered), each with what asked for
  it (an :class:`~agent.ward.Intent`) and the counts before it: if the
  broker shows this ledger is an old copy, they are decided again on its
  newer counts (:meth:`Ledger.rebase`), even after a SIGKILL in between;
* ``holds`` — the beds held for a referral, one row per hold, and the
  ward row's ``checked`` — when a nurse last confirmed the count
  (:mod:`agent.holdbook`);
* ``applied`` — the request ids of the bed managers' corrections applied,
  with the seq each made, who sent it and when: a request id is applied once
  (a replayed command is refused), and the newest KEEP_REQUESTS are kept.

The seq increment, the new counts and the outbox rows are one transaction,
committed before a press is acknowledged: no seq can ever be given to two
different states.  The current state itself needs no outbox row: it is
republished on every connect.

A new ledger is built in a side file and renamed into place, so "there is
a ledger" is all or nothing.  :class:`UplinkQueue` is the uplink thread's
own connection to the same file.

Schema versions: 1 had no ``unconfirmed`` column and no ``held`` table; 2
no ``applied`` table; 3 no ``holds`` table and no ``held``, ``checked`` and
``checked_synced`` columns (in ``ward``; ``held`` also in the ``held``
table).  An older ledger is brought up to version 4 step by step when it
is opened (a column added, false or zero or never; each table added, empty).
"""

import json
import logging
import os
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import asdict
from urllib.parse import quote

from bedboard.errors import LedgerError, PressRefused
from bedboard.payloads import WardEvent, WardState, format_at, parse_at

from .holdbook import HOLDS_TABLE, HoldBook
from .ward import Intent, WardCounts

_LOG = logging.getLogger(__name__)

FILE_NAME = "ledger.sqlite3"
SCHEMA_VERSION = 4
KEEP_REQUESTS = 1000     # request ids of applied corrections remembered, newest first

_SCHEMA = """
CREATE TABLE ward (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    hospital TEXT NOT NULL,
    department TEXT NOT NULL,
    ward TEXT NOT NULL,
    agent TEXT NOT NULL,
    capacity INTEGER NOT NULL,
    occupied INTEGER NOT NULL,
    blocked INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    at TEXT NOT NULL,
    config_capacity INTEGER NOT NULL,
    origin TEXT NOT NULL,
    unconfirmed INTEGER NOT NULL DEFAULT 0,
    held INTEGER NOT NULL DEFAULT 0,
    checked TEXT,
    checked_synced INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE outbox (seq INTEGER PRIMARY KEY, event BLOB NOT NULL);
CREATE TABLE uplink (seq INTEGER PRIMARY KEY, body BLOB NOT NULL);
CREATE TABLE beds (bed TEXT PRIMARY KEY, counted INTEGER NOT NULL);
CREATE TABLE held (seq INTEGER PRIMARY KEY, intent TEXT NOT NULL,
                   capacity INTEGER NOT NULL, occupied INTEGER NOT NULL,
                   blocked INTEGER NOT NULL, held INTEGER NOT NULL DEFAULT 0);
CREATE TABLE applied (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, operator TEXT,
                      by TEXT, at TEXT NOT NULL);
""" + HOLDS_TABLE + ";\n"
# the tables as schema 1 and 2 added them (later columns come with later steps)
_HELD = ("CREATE TABLE held (seq INTEGER PRIMARY KEY, intent TEXT NOT NULL, "
         "capacity INTEGER NOT NULL, occupied INTEGER NOT NULL, blocked INTEGER NOT NULL)")
_APPLIED = _SCHEMA[_SCHEMA.index("CREATE TABLE applied"):
                   _SCHEMA.index("CREATE TABLE holds")].strip()


def ledger_path(state_dir):
    """Where the ledger of ``state_dir`` lives."""
    return os.path.join(state_dir, FILE_NAME)


def _connect(path, synchronous="FULL", create=False):
    # mode=rw: opening a ledger must never create an empty one by mistake
    uri = "file:%s?mode=%s" % (quote(os.path.abspath(path)), "rwc" if create else "rw")
    connection = sqlite3.connect(uri, uri=True, isolation_level=None,
                                 check_same_thread=False, timeout=10)
    connection.execute("PRAGMA busy_timeout = 10000")
    mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if mode.lower() != "wal":
        connection.close()
        raise LedgerError("%s: cannot use a write-ahead log (journal mode %s)"
                          % (path, mode))
    connection.execute("PRAGMA synchronous = %s" % synchronous)
    return connection


def _fsync_dir(path):
    try:
        handle = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


@contextmanager
def _transaction(connection):
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
        connection.execute("COMMIT")
    except BaseException:
        # a failed COMMIT (disk full, I/O error) may leave the transaction open
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


def _columns(connection, table):
    """The names of ``table``'s columns."""
    return {row[1] for row in connection.execute("PRAGMA table_info(%s)" % table)}


def _migrate(connection, path, version):
    """Bring a ledger of an older schema ``version`` up to SCHEMA_VERSION, in place."""
    if not 1 <= version < SCHEMA_VERSION:
        raise LedgerError("%s is a ledger of version %d; this bed-agent reads versions "
                          "1 to %d" % (path, version, SCHEMA_VERSION))
    if version == 1:
        with _transaction(connection):
            connection.execute("ALTER TABLE ward ADD COLUMN unconfirmed INTEGER NOT NULL "
                               "DEFAULT 0")
            connection.execute(_HELD.rstrip(";"))
            connection.execute("PRAGMA user_version = 2")
        _LOG.info("%s: ledger schema 1 brought up to 2 (unconfirmed counts, changes "
                  "held for the broker's check)", path)
        version = 2
    if version == 2:
        with _transaction(connection):
            connection.execute(_APPLIED.rstrip(";"))
            connection.execute("PRAGMA user_version = 3")
        _LOG.info("%s: ledger schema 2 brought up to 3 (request ids of applied "
                  "corrections)", path)
        version = 3
    if version == 3:
        # each column and table only where it is missing: a ledger made by this
        # schema and marked older (a downgrade's tools, a test) is brought up too
        with _transaction(connection):
            for table, column in (("ward", "held INTEGER NOT NULL DEFAULT 0"),
                                  ("ward", "checked TEXT"),
                                  ("ward", "checked_synced INTEGER NOT NULL DEFAULT 0"),
                                  ("held", "held INTEGER NOT NULL DEFAULT 0")):
                if column.split()[0] not in _columns(connection, table):
                    connection.execute("ALTER TABLE %s ADD COLUMN %s" % (table, column))
            connection.execute(HOLDS_TABLE.replace("CREATE TABLE",
                                                   "CREATE TABLE IF NOT EXISTS"))
            connection.execute("PRAGMA user_version = 4")
        _LOG.info("%s: ledger schema 3 brought up to 4 (beds held for a referral, the "
                  "count's last check)", path)


class Ledger(HoldBook):
    """The ward's durable count and outbox in ``state_dir`` (see the module docstring).

    Written by one thread (the agent's loop).  Others may read it (tests,
    benchmarks): the file and the in-memory copy (``counts``, ``seq``, ``at``,
    ``unconfirmed``, ``outbox_count``, …) change together under one lock, so
    :meth:`state` — and anyone holding the lock — sees them agree with what
    is committed.  :class:`UplinkQueue` has its own connection for the uplink
    thread.
    """

    def __init__(self, path, connection, uplink_body=None):
        self.path = path
        self._db = connection
        self._lock = threading.RLock()
        self._uplink_body = uplink_body
        row = connection.execute(
            "SELECT hospital, department, ward, agent, capacity, occupied, blocked, "
            "seq, at, config_capacity, origin, unconfirmed, held FROM ward WHERE id = 1"
        ).fetchone()
        if row is None:
            raise LedgerError("%s has no ward row: it is not a complete ledger" % path)
        (self.hospital, self.department, self.ward_name, self.agent, capacity,
         occupied, blocked, self.seq, at, self.config_capacity, self.origin,
         unconfirmed, held) = row
        self.unconfirmed = bool(unconfirmed)
        self.counts = WardCounts(capacity, occupied, blocked, held)
        self._load_holds(connection)
        self.at = parse_at(at)
        # Whether ``at`` was stamped by a synchronised clock: known only for a
        # change made by this process (a Pi may boot with a wrong clock); the
        # agent sets ``clock_synced`` (bedboard.timesync.synchronised).
        self.at_synced = False
        self.clock_synced = lambda: False
        self.outbox_count = connection.execute("SELECT count(*) FROM outbox").fetchone()[0]

    # -- opening -----------------------------------------------------------
    @staticmethod
    def exists(state_dir):
        """Whether ``state_dir`` holds a ledger."""
        return os.path.exists(ledger_path(state_dir))

    @classmethod
    def open(cls, state_dir, ward, uplink_body=None):
        """Open the ledger of ``state_dir`` for ``ward`` (a WardKey); raise LedgerError."""
        path = ledger_path(state_dir)
        try:
            connection = _connect(path)
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version != SCHEMA_VERSION:
                try:
                    _migrate(connection, path, version)
                except BaseException:
                    connection.close()
                    raise
            ledger = cls(path, connection, uplink_body)
        except sqlite3.Error as exc:
            raise LedgerError("cannot open the ledger %s: %s" % (path, exc)) from exc
        if (ledger.hospital, ledger.department, ledger.ward_name) != (
                ward.hospital, ward.department, ward.ward):
            ledger.close()
            raise LedgerError(
                "%s holds the count of ward %s/%s/%s, but this config is for %s: "
                "give this ward its own state_dir (or move the old ledger away)"
                % (path, ledger.hospital, ledger.department, ledger.ward_name, ward))
        return ledger

    @classmethod
    def create(cls, state_dir, ward, agent, counts, seq, at, config_capacity, origin,
               uplink_body=None, unconfirmed=False, holds=(), checked=None):
        """Make a new ledger in ``state_dir`` (which must not have one) and open it."""
        path = ledger_path(state_dir)
        draft = path + ".new"
        try:
            os.makedirs(state_dir, mode=0o750, exist_ok=True)
            for leftover in (draft, draft + "-wal", draft + "-shm"):
                if os.path.exists(leftover):
                    os.unlink(leftover)
            connection = _connect(draft, create=True)
            try:
                with _transaction(connection):
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            connection.execute(statement)
                    connection.execute(
                        "INSERT INTO ward VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                        "?, 0)",
                        (ward.hospital, ward.department, ward.ward, agent,
                         counts.capacity, counts.occupied, counts.blocked, seq,
                         format_at(at), config_capacity, origin, int(unconfirmed),
                         counts.held, None if checked is None else format_at(checked)))
                    for held, elapsed in holds:
                        connection.execute(
                            "INSERT INTO holds VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            (held.id, held.beds, held.minutes, format_at(held.placed),
                             held.for_whom, held.by, int(held.synced), elapsed))
                    connection.execute("PRAGMA user_version = %d" % SCHEMA_VERSION)
            finally:
                connection.close()  # checkpoints the WAL into the file
            if os.path.exists(path):
                raise LedgerError("%s appeared while a new ledger was being made" % path)
            os.rename(draft, path)
            _fsync_dir(state_dir)
        except (OSError, sqlite3.Error) as exc:
            raise LedgerError("cannot create the ledger %s: %s" % (path, exc)) from exc
        return cls.open(state_dir, ward, uplink_body)

    def close(self):
        """Close the file (what is committed stays committed), the holds' times saved."""
        with self._lock:
            if self._db is not None:
                try:
                    self.save_clocks(force=True)
                except LedgerError as exc:
                    _LOG.warning("the holds' running times were not saved: %s", exc)
                self._db.close()
                self._db = None

    # -- reading -----------------------------------------------------------
    def state(self, agent, mismatched=0):
        """The ward's current WardState, as ``agent`` publishes it.

        ``mismatched`` — bed contacts whose position the count does not
        follow — is the agent's to know (it reads the contacts); the rest is
        the ledger's.
        """
        with self._lock:
            age = self.check_age()
            return WardState(capacity=self.counts.capacity,
                             occupied=self.counts.occupied,
                             blocked=self.counts.wire_blocked, held=self.counts.held,
                             seq=self.seq, at=self.at, agent=agent,
                             synced=self.at_synced,
                             unconfirmed=self.unconfirmed, mismatched=mismatched,
                             checked=self.checked_at,
                             checked_age=None if age is None else int(age),
                             holds=self.listing())

    def outbox(self, after, limit):
        """Up to ``limit`` undelivered events with seq > ``after``: ``[(seq, payload)]``."""
        with self._lock:
            return self._db.execute("SELECT seq, event FROM outbox WHERE seq > ? "
                                    "ORDER BY seq LIMIT ?", (after, limit)).fetchall()

    def bed_counted(self, bed):
        """Whether bed ``bed`` is counted as occupied (None: never seen)."""
        with self._lock:
            row = self._db.execute("SELECT counted FROM beds WHERE bed = ?",
                                   (bed,)).fetchone()
        return None if row is None else bool(row[0])

    def applied(self, request_id):
        """``(seq, operator, by, at)`` of the applied correction ``request_id``, or None."""
        with self._lock:
            return self._db.execute("SELECT seq, operator, by, at FROM applied WHERE id = ?",
                                    (request_id,)).fetchone()

    def uplink_count(self):
        """How many changes still wait for the portal."""
        with self._lock:
            return self._db.execute("SELECT count(*) FROM uplink").fetchone()[0]

    # -- writing -----------------------------------------------------------
    def record(self, change, agent, at, bed_counted=None, config_capacity=None,
               unconfirmed=None, seq=None, beds=None, held=None, request=None):
        """Make ``change`` durable as the next seq; return its (WardState, WardEvent).

        One transaction: the counts, seq and ``at``, the event in the outbox,
        the portal's copy (with an uplink), the bed's flag (``bed_counted``,
        ``(bed, occupied)``; or ``beds``, ``{bed: occupied}`` for several),
        the config capacity and ``unconfirmed`` (None: as it was); with
        ``held`` (the change's Intent), the change is also kept among those
        the broker has not checked yet (:meth:`held`).  ``seq`` (default: the
        next one) may jump ahead, never back.  ``request``: ``(id, operator,
        by)`` of the correction that asked for it, kept so that the same id is
        never applied again (an id already kept raises LedgerError).  Raises
        LedgerError, and nothing changes, if it cannot be written.
        """
        def work(db):
            before = self.counts
            written = self._write_change(db, change, agent, at, bed_counted,
                                         config_capacity, unconfirmed, seq)
            if held is not None:
                db.execute("INSERT INTO held VALUES (?, ?, ?, ?, ?, ?)",
                           (self.seq, json.dumps(asdict(held)), before.capacity,
                            before.occupied, before.blocked, before.held))
            for bed, occupied in (beds or {}).items():
                db.execute("INSERT OR REPLACE INTO beds (bed, counted) VALUES (?, ?)",
                           (bed, int(occupied)))
            if request is not None:
                request_id, operator, by = request
                db.execute("INSERT INTO applied VALUES (?, ?, ?, ?, ?)",
                           (request_id, self.seq, operator, by, format_at(at)))
                db.execute("DELETE FROM applied WHERE id NOT IN (SELECT id FROM applied "
                           "ORDER BY seq DESC LIMIT ?)", (KEEP_REQUESTS,))
            return written

        with self._lock:
            return self._transact(work)

    def held(self):
        """The changes not yet checked against the broker: ``[(seq, Intent, counts before)]``."""
        with self._lock:
            rows = self._db.execute("SELECT seq, intent, capacity, occupied, blocked, held "
                                    "FROM held ORDER BY seq").fetchall()
        return [(seq, Intent(**json.loads(intent)),
                 WardCounts(capacity, occupied, blocked, held))
                for seq, intent, capacity, occupied, blocked, held in rows]

    def base(self):
        """``(seq, counts)`` as last checked against the broker (before the held changes)."""
        held = self.held()
        with self._lock:
            if not held:
                return self.seq, self.counts
            return held[0][0] - 1, held[0][2]

    def counts_at(self, seq):
        """The counts this ledger had at ``seq``, if it still knows them, else None.

        It knows its current seq, its base and every held seq (those the
        broker has not checked yet).
        """
        held = self.held()
        with self._lock:
            if seq == self.seq:
                return self.counts
            for row_seq, _, before in held:
                if row_seq - 1 == seq:
                    return before
            return None

    def checked(self):
        """The broker agreed with this ledger: the held changes are ordinary ones now."""
        with self._lock:
            self._transact(lambda db: db.execute("DELETE FROM held"))

    def rebase(self, first, agent, at, holds=None, checked=None):
        """Put a newer count under the held changes; one transaction.

        For an old copy that meets a newer count on the broker: every held
        change (none of them published: their outbox and portal rows are
        dropped) is replaced by ``first`` — ``(Change, seq)``, the move to
        the broker's counts, recorded unconfirmed — followed by each held
        change's Intent decided again on the new counts.  Returns
        ``(recorded, refused)``: ``[(state, event)]`` and ``[(intent,
        PressRefused)]`` for what the rules now refuse (a refused bed change
        leaves its bed counted as before it).  ``holds`` (``[(HeldBeds,
        elapsed)]``): the broker's holds, in place of this ledger's (None: kept).
        The last check becomes the broker's ``checked``, of unknown age (due):
        a check made on the old copy confirmed counts that are replaced, and
        is dropped.
        """
        change, seq = first
        held = self.held()
        base_seq = held[0][0] - 1 if held else self.seq
        refused = []

        def work(db):
            db.execute("DELETE FROM outbox WHERE seq > ?", (base_seq,))
            db.execute("DELETE FROM uplink WHERE seq > ?", (base_seq,))
            db.execute("DELETE FROM held")
            self.outbox_count = db.execute("SELECT count(*) FROM outbox").fetchone()[0]
            self.seq = base_seq   # the changes after it are replaced, their seqs free
            if holds is not None:
                self._replace_holds(db, holds)
            self._forget_check(db, checked)
            written = [self._write_change(db, change, agent, at, None, None, True, seq)]
            for _, intent, _ in held:
                if intent.kind == "checked":
                    refused.append((intent, PressRefused(
                        "the count it confirmed was the old copy's")))
                    continue
                try:
                    again = intent.decide(self.counts, self.holds)
                except PressRefused as exc:
                    refused.append((intent, exc))
                    if intent.bed is not None:
                        db.execute("INSERT OR REPLACE INTO beds (bed, counted) "
                                   "VALUES (?, ?)", (intent.bed, int(not intent.occupied)))
                    continue
                written.append(self._write_change(db, again, agent, at,
                                                  intent.bed_counted, None, None, None))
            return written

        with self._lock:
            written = self._transact(work)
        return written, refused

    def _transact(self, work):
        """Run ``work(db)`` in one transaction; the in-memory copy follows only if it commits.

        Called with the lock held.
        """
        saved = (self.counts, self.seq, self.at, self.agent, self.config_capacity,
                 self.unconfirmed, self.outbox_count, self.at_synced)
        saved_holds = self._hold_snapshot()
        try:
            with _transaction(self._db) as db:
                return work(db)
        except sqlite3.Error as exc:
            (self.counts, self.seq, self.at, self.agent, self.config_capacity,
             self.unconfirmed, self.outbox_count, self.at_synced) = saved
            self._hold_restore(saved_holds)
            raise LedgerError("cannot write the ledger %s: %s" % (self.path, exc)) from exc
        except BaseException:
            (self.counts, self.seq, self.at, self.agent, self.config_capacity,
             self.unconfirmed, self.outbox_count, self.at_synced) = saved
            self._hold_restore(saved_holds)
            raise

    def _write_change(self, db, change, agent, at, bed_counted, config_capacity,
                      unconfirmed, seq):
        """Write one change inside a transaction and move the in-memory copy with it."""
        after = change.after
        seq = self.seq + 1 if seq is None else seq
        if seq <= self.seq:
            raise ValueError("seq %d would not be after %d" % (seq, self.seq))
        unconfirmed = self.unconfirmed if unconfirmed is None else bool(unconfirmed)
        config_capacity = (self.config_capacity if config_capacity is None
                           else config_capacity)
        synced = bool(self.clock_synced())
        self._write_hold_change(db, change, at, synced)
        age = self.check_age()
        state = WardState(capacity=after.capacity, occupied=after.occupied,
                          blocked=after.wire_blocked, held=after.held, seq=seq, at=at,
                          agent=agent, unconfirmed=unconfirmed,
                          checked=self.checked_at,
                          checked_age=None if age is None else int(age),
                          holds=self.listing())
        event = WardEvent(kind=change.kind, bed=change.bed, capacity=after.capacity,
                          occupied=after.occupied, blocked=after.wire_blocked, seq=seq,
                          at=at, agent=agent, unconfirmed=unconfirmed,
                          held=after.held or None,
                          hold=None if change.hold is None else change.hold.id)
        db.execute("UPDATE ward SET agent = ?, capacity = ?, occupied = ?, "
                   "blocked = ?, seq = ?, at = ?, config_capacity = ?, unconfirmed = ?, "
                   "held = ? WHERE id = 1",
                   (agent, after.capacity, after.occupied, after.blocked, seq,
                    format_at(at), config_capacity, int(unconfirmed), after.held))
        db.execute("INSERT INTO outbox (seq, event) VALUES (?, ?)", (seq, event.to_json()))
        if self._uplink_body is not None:
            db.execute("INSERT INTO uplink (seq, body) VALUES (?, ?)",
                       (seq, self._uplink_body(state)))
        if bed_counted is not None:
            db.execute("INSERT OR REPLACE INTO beds (bed, counted) VALUES (?, ?)",
                       (bed_counted[0], int(bed_counted[1])))
        self.counts, self.seq, self.at, self.agent = after, seq, state.at, agent
        self.at_synced = synced
        self.config_capacity, self.unconfirmed = config_capacity, unconfirmed
        self.outbox_count += 1
        return state, event

    def set_bed(self, bed, counted):
        """Remember whether ``bed`` is counted, without changing the count."""
        self._write("INSERT OR REPLACE INTO beds (bed, counted) VALUES (?, ?)",
                    (bed, int(counted)))

    def set_config_capacity(self, capacity):
        """Remember ``capacity`` as the config's, without changing the count."""
        with self._lock:
            self._write("UPDATE ward SET config_capacity = ? WHERE id = 1", (capacity,))
            self.config_capacity = capacity

    def beds(self):
        """Every bed the ledger knows: ``{label: counted as occupied}``."""
        with self._lock:
            return {bed: bool(counted) for bed, counted in
                    self._db.execute("SELECT bed, counted FROM beds").fetchall()}

    def forget(self, seqs):
        """Drop the delivered events ``seqs`` from the outbox.

        Not synced at once: a delete lost to a power cut only means the
        event is sent once more, which at-least-once delivery allows.
        """
        seqs = sorted(seqs)
        if not seqs:
            return
        with self._lock:
            try:
                self._db.execute("PRAGMA synchronous = NORMAL")
                with _transaction(self._db) as db:
                    before = db.total_changes
                    db.executemany("DELETE FROM outbox WHERE seq = ?",
                                   [(s,) for s in seqs])
                    deleted = db.total_changes - before
                self.outbox_count -= deleted
            except sqlite3.Error as exc:
                raise LedgerError("cannot write the ledger %s: %s"
                                  % (self.path, exc)) from exc
            finally:
                self._db.execute("PRAGMA synchronous = FULL")

    def _write(self, sql, args):
        self._write_many(sql, [args])

    def _write_many(self, sql, rows):
        try:
            with self._lock, _transaction(self._db) as db:
                db.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise LedgerError("cannot write the ledger %s: %s" % (self.path, exc)) from exc


class UplinkQueue:
    """The uplink thread's view of the ledger: the changes still owed to the portal."""

    def __init__(self, state_dir):
        self.path = ledger_path(state_dir)
        try:
            self._db = _connect(self.path, synchronous="NORMAL")
        except sqlite3.Error as exc:
            raise LedgerError("cannot open the ledger %s: %s" % (self.path, exc)) from exc

    def first(self):
        """The oldest change not yet taken by the portal: ``(seq, body)``, or None."""
        return self._db.execute("SELECT seq, body FROM uplink ORDER BY seq LIMIT 1"
                                ).fetchone()

    def count(self):
        """How many changes are still owed to the portal."""
        return self._db.execute("SELECT count(*) FROM uplink").fetchone()[0]

    def done(self, seq):
        """The portal took change ``seq`` (or it was skipped): drop it."""
        with _transaction(self._db) as db:
            db.execute("DELETE FROM uplink WHERE seq = ?", (seq,))

    def close(self):
        """Close this connection."""
        self._db.close()
