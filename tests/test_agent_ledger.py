"""The ward ledger: durable counts, seq and outbox in one synced sqlite file."""

import os
import sqlite3
from datetime import datetime, timezone

import pytest

from agent import ward
from agent.ledger import Ledger, UplinkQueue, ledger_path
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
    assert ledger.state("ward-agent") == WardState(40, 10, 7, AT, "ward-agent")
    ledger.close()
    with sqlite3.connect(ledger_path(str(state_dir))) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_each_change_is_the_next_seq_with_its_event_in_the_outbox(tmp_path):
    ledger = new_ledger(tmp_path, uplink=True)
    state, event = ledger.record(ward.press(ledger.counts, "taken"), "ward-agent", AT)
    assert state == WardState(40, 11, 8, AT, "ward-agent")
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
