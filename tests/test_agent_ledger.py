"""The ward ledger: durable counts, seq and outbox in one synced sqlite file."""

import os
import sqlite3
import threading
from datetime import datetime, timezone

import pytest

from agent import ward
from agent.ledger import SCHEMA_VERSION, Ledger, UplinkQueue, ledger_path
from agent.ward import WardCounts
from bedboard.errors import LedgerError
from bedboard.payloads import WardEvent, WardState
from bedboard.topics import WardKey

WARD = WardKey("nrs", "medicine", "female-2")
AT = datetime(2026, 11, 25, 18, 0, tzinfo=timezone.utc)


def new_ledger(state_dir, uplink=False, counts=WardCounts(40, 10)):
    return Ledger.create(str(state_dir), WARD, "ward-agent", counts, 7, AT, 40, "config",
                         uplink_body=(lambda state: state.to_json()) if uplink else None)


def test_a_new_ledger_is_all_or_nothing(tmp_path):
    state_dir = tmp_path / "state"
    assert not Ledger.exists(str(state_dir))
    ledger = new_ledger(state_dir)
    assert Ledger.exists(str(state_dir))
    assert sorted(os.listdir(state_dir))[0] == "ledger.sqlite3"
    assert not any(name.endswith(".new") for name in os.listdir(state_dir))
    assert (ledger.counts, ledger.seq, ledger.at, ledger.origin) == (
        WardCounts(40, 10), 7, AT, "config")
    assert ledger.state("ward-agent") == WardState(40, 10, 7, AT, "ward-agent", held=0)
    ledger.close()
    with sqlite3.connect(ledger_path(str(state_dir))) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_each_change_is_the_next_seq_with_its_event_in_the_outbox(tmp_path):
    ledger = new_ledger(tmp_path, uplink=True)
    state, event = ledger.record(ward.press(ledger.counts, "taken"), "ward-agent", AT)
    assert state == WardState(40, 11, 8, AT, "ward-agent", held=0)
    assert event == WardEvent("taken", 40, 11, 8, AT, "ward-agent")
    ledger.record(ward.sense(ledger.counts, "12", False), "ward-agent", AT,
                  bed_counted=("12", False))
    assert ledger.outbox_count == 2
    rows = ledger.outbox(0, 10)
    assert [seq for seq, _ in rows] == [8, 9]
    assert WardEvent.parse(rows[1][1]).bed == "12"
    assert ledger.outbox(8, 10) == rows[1:]
    assert ledger.bed_counted("12") is False and ledger.bed_counted("13") is None
    assert ledger.uplink_count() == 2
    ledger.forget([8, 99])
    assert ledger.outbox_count == 1 and [s for s, _ in ledger.outbox(0, 10)] == [9]
    ledger.close()

    again = Ledger.open(str(tmp_path), WARD)
    assert (again.counts, again.seq, again.outbox_count) == (WardCounts(40, 10), 9, 1)
    queue = UplinkQueue(str(tmp_path))
    assert queue.first()[0] == 8 and queue.count() == 2
    queue.done(8)
    assert queue.first()[0] == 9
    queue.close()
    assert again.uplink_count() == 1
    again.close()


def test_a_failed_write_changes_nothing(tmp_path):
    ledger = new_ledger(tmp_path)
    ledger._db.execute("CREATE TRIGGER no BEFORE INSERT ON outbox "
                       "BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    with pytest.raises(LedgerError, match="cannot write the ledger .*: disk full"):
        ledger.record(ward.press(ledger.counts, "taken"), "ward-agent", AT)
    assert (ledger.counts, ledger.seq) == (WardCounts(40, 10), 7)
    ledger.close()
    assert Ledger.open(str(tmp_path), WARD).seq == 7


def test_the_ledger_of_another_ward_is_not_used(tmp_path):
    new_ledger(tmp_path).close()
    with pytest.raises(LedgerError, match="holds the count of ward nrs/medicine/female-2, "
                                          "but this config is for nrs/surgery/male"):
        Ledger.open(str(tmp_path), WardKey("nrs", "surgery", "male"))


def test_opening_never_creates_and_a_damaged_file_is_named(tmp_path):
    with pytest.raises(LedgerError, match="cannot open the ledger"):
        Ledger.open(str(tmp_path), WARD)
    assert not Ledger.exists(str(tmp_path))
    with open(ledger_path(str(tmp_path)), "wb") as handle:
        handle.write(b"this is not a database" * 100)
    with pytest.raises(LedgerError, match="cannot open the ledger .*ledger.sqlite3"):
        Ledger.open(str(tmp_path), WARD)


def test_config_capacity_and_beds_are_remembered(tmp_path):
    ledger = new_ledger(tmp_path)
    ledger.set_config_capacity(44)
    ledger.set_bed("3", True)
    ledger.record(ward.resize(ledger.counts, 50), "ward-agent", AT, config_capacity=50)
    ledger.close()
    again = Ledger.open(str(tmp_path), WARD)
    assert (again.config_capacity, again.counts.capacity) == (50, 50)
    assert again.bed_counted("3") is True


def test_a_failed_commit_leaves_the_ledger_usable(tmp_path):
    ledger = new_ledger(tmp_path)
    ledger._db.execute("PRAGMA foreign_keys = ON")
    ledger._db.execute("CREATE TABLE audit (seq INTEGER REFERENCES nowhere(seq) "
                       "DEFERRABLE INITIALLY DEFERRED)")
    ledger._db.execute("CREATE TABLE nowhere (seq INTEGER PRIMARY KEY)")
    ledger._db.execute("CREATE TRIGGER late AFTER INSERT ON outbox "
                       "BEGIN INSERT INTO audit VALUES (NEW.seq); END")
    with pytest.raises(LedgerError):    # the deferred key fails only at COMMIT
        ledger.record(ward.press(ledger.counts, "taken"), "ward-agent", AT)
    assert not ledger._db.in_transaction and ledger.seq == 7
    ledger._db.execute("DROP TRIGGER late")
    assert ledger.record(ward.press(ledger.counts, "taken"), "ward-agent", AT)[0].seq == 8


V1_SCHEMA = """
CREATE TABLE ward (id INTEGER PRIMARY KEY CHECK (id = 1), hospital TEXT NOT NULL,
    department TEXT NOT NULL, ward TEXT NOT NULL, agent TEXT NOT NULL,
    capacity INTEGER NOT NULL, occupied INTEGER NOT NULL, blocked INTEGER NOT NULL,
    seq INTEGER NOT NULL, at TEXT NOT NULL, config_capacity INTEGER NOT NULL,
    origin TEXT NOT NULL);
CREATE TABLE outbox (seq INTEGER PRIMARY KEY, event BLOB NOT NULL);
CREATE TABLE uplink (seq INTEGER PRIMARY KEY, body BLOB NOT NULL);
CREATE TABLE beds (bed TEXT PRIMARY KEY, counted INTEGER NOT NULL);
"""


def test_a_version_1_ledger_is_opened_and_brought_up_to_date(tmp_path):
    path = ledger_path(str(tmp_path))
    with sqlite3.connect(path) as db:
        db.executescript(V1_SCHEMA)
        db.execute("INSERT INTO ward VALUES (1, 'nrs', 'medicine', 'female-2', "
                   "'ward-agent', 40, 12, 1, 9, '2026-11-25T18:00:00Z', 40, 'config')")
        db.execute("PRAGMA user_version = 1")
    ledger = Ledger.open(str(tmp_path), WARD)
    assert (ledger.counts, ledger.seq, ledger.unconfirmed) == (WardCounts(40, 12, 1), 9,
                                                               False)
    ledger.record(ward.press(ledger.counts, "taken"), "ward-agent", AT, unconfirmed=True)
    ledger.close()
    again = Ledger.open(str(tmp_path), WARD)
    assert (again.seq, again.unconfirmed) == (10, True)
    assert again.state("ward-agent").unconfirmed
    again.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_ledger_from_the_future_is_refused_by_name(tmp_path):
    new_ledger(tmp_path).close()
    with sqlite3.connect(ledger_path(str(tmp_path))) as db:
        db.execute("PRAGMA user_version = 7")
    with pytest.raises(LedgerError, match="is a ledger of version 7; this bed-agent "
                                          "reads versions 1 to %d" % SCHEMA_VERSION):
        Ledger.open(str(tmp_path), WARD)


def test_unconfirmed_is_kept_until_cleared_and_seq_may_jump_ahead_only(tmp_path):
    ledger = Ledger.create(str(tmp_path), WARD, "ward-agent", WardCounts(40, 10), 7, AT,
                           40, "broker", unconfirmed=True)
    assert ledger.state("ward-agent", mismatched=2) == WardState(
        40, 10, 7, AT, "ward-agent", unconfirmed=True, mismatched=2, held=0)
    state, event = ledger.record(ward.press(ledger.counts, "taken"), "ward-agent", AT)
    assert state.unconfirmed and state.seq == 8 and event.unconfirmed
    state, event = ledger.record(ward.press(ledger.counts, "taken"), "ward-agent", AT,
                                 unconfirmed=False, seq=20)
    assert (state.seq, state.unconfirmed, event.seq, event.unconfirmed) == (
        20, False, 20, False)
    with pytest.raises(ValueError, match="seq 20 would not be after 20"):
        ledger.record(ward.press(ledger.counts, "taken"), "ward-agent", AT, seq=20)
    assert ledger.seq == 20 and ledger.outbox_count == 2
    ledger.close()
    again = Ledger.open(str(tmp_path), WARD)
    assert (again.seq, again.unconfirmed, again.counts) == (20, False, WardCounts(40, 12))
    again.close()


def test_a_rebase_puts_a_newer_count_under_the_changes_not_yet_published(tmp_path):
    ledger = new_ledger(tmp_path, uplink=True, counts=WardCounts(10, 6))   # seq 7
    ledger.record(ward.press(ledger.counts, "taken"), "ward-agent", AT)   # 8, published
    assert ledger.base() == (8, WardCounts(10, 7)) and ledger.held() == []
    held = [ward.Intent("taken", "taken"), ward.Intent("sensor", "bed-3", bed="3",
                                                       occupied=True),
            ward.Intent("freed", "freed")]
    for intent in held:                                                # 9, 10, 11
        ledger.record(intent.decide(ledger.counts), "ward-agent", AT,
                      bed_counted=intent.bed_counted, held=intent)
    ledger.close()
    ledger = Ledger.open(str(tmp_path), WARD, uplink_body=lambda s: s.to_json())
    assert [(seq, intent) for seq, intent, _ in ledger.held()] == list(zip((9, 10, 11),
                                                                          held))
    assert ledger.base() == (8, WardCounts(10, 7))       # kept across a SIGKILL
    # The broker says seq 30: 10 beds, 9 occupied.  One "taken" fits, the bed's not.
    newer = ward.Change("set", WardCounts(10, 7), WardCounts(10, 9), source="broker")
    recorded, refused = ledger.rebase((newer, 31), "ward-agent", AT)
    assert [(s.seq, s.occupied, s.unconfirmed) for s, _ in recorded] == [
        (31, 9, True), (32, 10, True), (33, 9, True)]
    assert [e.kind for _, e in recorded] == ["set", "taken", "freed"]
    assert [(i.bed, str(exc)) for i, exc in refused] == [
        ("3", "bed 3 occupied, but no vacant bed to take")]
    assert ledger.bed_counted("3") is False        # the count does not include it
    assert [seq for seq, _ in ledger.outbox(0, 10)] == [8, 31, 32, 33]
    assert ledger.uplink_count() == 4 and ledger.outbox_count == 4
    assert ledger.held() == []
    ledger.close()
    again = Ledger.open(str(tmp_path), WARD)
    assert (again.seq, again.counts, again.unconfirmed) == (33, WardCounts(10, 9), True)
    again.close()


def test_held_changes_become_ordinary_once_checked(tmp_path):
    ledger = new_ledger(tmp_path)
    intent = ward.Intent("taken", "taken")
    ledger.record(intent.decide(ledger.counts), "ward-agent", AT, held=intent)
    assert ledger.base() == (7, WardCounts(40, 10)) and len(ledger.held()) == 1
    ledger.checked()
    assert ledger.base() == (8, WardCounts(40, 11)) and ledger.held() == []
    ledger.close()


class WatchedLock:
    """An RLock that calls ``on_free()`` each time it is let go for good."""

    def __init__(self, on_free):
        self._lock = threading.RLock()
        self._depth = 0
        self._on_free = on_free

    def __enter__(self):
        self._lock.acquire()
        self._depth += 1
        return self

    def __exit__(self, *exc):
        self._depth -= 1
        free = self._depth == 0
        self._lock.release()
        if free:
            self._on_free()


def test_the_in_memory_copy_agrees_with_the_file_whenever_the_lock_is_free(tmp_path):
    # Issue 12 #15: record() updated counts and seq after letting go of the
    # lock, so a reader holding it could see the file ahead of the copy.
    ledger = new_ledger(tmp_path)
    seen = []

    def compare():
        with sqlite3.connect(ledger_path(str(tmp_path))) as db:
            on_disk = db.execute("SELECT seq, occupied FROM ward").fetchone()
        seen.append(((ledger.seq, ledger.counts.occupied), on_disk))

    ledger._lock = WatchedLock(compare)
    for kind in ("taken", "taken", "freed"):
        ledger.record(ward.press(ledger.counts, kind), "ward-agent", AT)
    ledger.set_config_capacity(44)
    assert seen and all(ours == on_disk for ours, on_disk in seen)
    ledger.close()


def test_a_change_says_whether_its_at_came_from_a_synchronised_clock(tmp_path):
    ledger = new_ledger(tmp_path)
    try:
        assert not ledger.state("ward-agent").synced      # a copy from disk: not known
        ledger.clock_synced = lambda: True
        ledger.record(ward.press(ledger.counts, "taken"), "ward-agent", AT)
        assert ledger.state("ward-agent").synced
        assert b'"synced":true' in ledger.state("ward-agent").to_json()
        ledger.clock_synced = lambda: False               # the time server went away
        ledger.record(ward.press(ledger.counts, "taken"), "ward-agent", AT)
        assert not ledger.state("ward-agent").synced
    finally:
        ledger.close()
    reopened = Ledger.open(str(tmp_path), WARD)
    try:
        assert not reopened.state("ward-agent").synced
    finally:
        reopened.close()
