"""Holds and checks in the ledger: durable, timed by the monotonic clock, expired exactly once."""

import sqlite3
import time
from datetime import datetime, timedelta, timezone

import pytest

from agent import ward
from agent.holdbook import holds_from_wire
from agent.ledger import SCHEMA_VERSION, Ledger, ledger_path
from agent.ward import HeldBeds, Intent, WardCounts, hold_record
from bedboard.errors import PressRefused
from bedboard.payloads import Hold, WardState
from bedboard.topics import WardKey

WARD = WardKey("nrs", "medicine", "female-2")
AT = datetime(2026, 11, 25, 18, 0, tzinfo=timezone.utc)
AGENT = "nrs-medicine-female-2"


def new_ledger(state_dir, counts=WardCounts(10, 5, 1)):
    return Ledger.create(str(state_dir), WARD, AGENT, counts, 7, AT, 10, "config")


def held(ident="h1", beds=1, minutes=90.0, for_whom="Bankura SMC, ref 1234"):
    return HeldBeds(id=ident, beds=beds, minutes=minutes, placed=AT, for_whom=for_whom)


def test_the_rules_never_hold_more_than_vacant_and_a_held_bed_is_not_vacant():
    counts = WardCounts(10, 5, 1)
    change = ward.hold(counts, held(beds=3))
    assert change.after == WardCounts(10, 5, 1, 3) and change.after.vacant == 1
    assert change.after.wire_blocked == 4
    with pytest.raises(PressRefused, match="cannot hold 2 beds for a referral: only 1 "
                                           "vacant"):
        ward.hold(change.after, held("h2", beds=2))
    with pytest.raises(PressRefused, match="no vacant bed to take \\(3 held for a referral"):
        ward.press(WardCounts(4, 1, 0, 3), "taken")
    assert ward.arrive(change.after, held(beds=3)).after == WardCounts(10, 6, 1, 2)
    assert ward.end_hold(change.after, held(beds=3), "expired").after == counts
    assert ward.check(counts).after == counts and ward.check(counts).checked


def test_a_hold_survives_a_restart_and_expires_exactly_once(tmp_path):
    ledger = new_ledger(tmp_path)
    state, event = ledger.record(ward.hold(ledger.counts, held()), AGENT, AT)
    assert (state.blocked, state.held, state.vacant, event.kind, event.hold) == (
        2, 1, 3, "held", "h1")
    assert [h.id for h in state.holds] == ["h1"] and state.holds[0].left == 5400
    ledger.close()
    again = Ledger.open(str(tmp_path), WARD)
    assert again.counts == WardCounts(10, 5, 1, 1) and list(again.holds) == ["h1"]
    assert 5390 <= again.hold_left("h1") <= 5400
    assert again.expired(time.monotonic() + 5401) == [again.holds["h1"]]
    expired = again.expired(time.monotonic() + 5401)[0]
    state, event = again.record(ward.end_hold(again.counts, expired, "expired"), AGENT, AT)
    assert (state.held, state.blocked, state.vacant, event.kind) == (0, 1, 4, "expired")
    again.close()
    third = Ledger.open(str(tmp_path), WARD)
    assert third.holds == {} and third.expired(time.monotonic() + 10 ** 6) == []
    assert third.counts == WardCounts(10, 5, 1, 0) and third.seq == 9
    third.close()


def test_a_holds_running_time_is_kept_and_resumed_not_restarted(tmp_path):
    ledger = new_ledger(tmp_path)
    ledger.record(ward.hold(ledger.counts, held(minutes=10)), AGENT, AT)
    assert ledger.save_clocks(now=time.monotonic() + 400, force=True)
    ledger.close()   # close saves the clocks of now, after what was saved: not less
    with sqlite3.connect(ledger_path(str(tmp_path))) as db:
        db.execute("UPDATE holds SET elapsed = 400")
    again = Ledger.open(str(tmp_path), WARD)
    assert 195 <= again.hold_left("h1") <= 200
    again.resume_clocks(synced_now=False)          # the time it was off is unknown
    assert 195 <= again.hold_left("h1") <= 200
    again.close()


def test_the_time_off_counts_only_when_both_clocks_were_synchronised(tmp_path):
    ledger = new_ledger(tmp_path)
    placed = HeldBeds(id="h1", beds=1, minutes=10, placed=AT, synced=True)
    ledger.record(ward.hold(ledger.counts, placed), AGENT, AT)
    ledger.close()
    again = Ledger.open(str(tmp_path), WARD)
    again.resume_clocks(synced_now=True, now_at=AT + timedelta(minutes=8))
    assert 115 <= again.hold_left("h1") <= 120
    assert again.expired() == []
    again.resume_clocks(synced_now=True, now_at=AT + timedelta(minutes=11))
    assert [h.id for h in again.expired()] == ["h1"]
    again.close()


def test_a_check_is_kept_and_its_age_is_known_only_by_a_clock_that_can_tell(tmp_path):
    ledger = new_ledger(tmp_path)
    assert ledger.state(AGENT).checked is None and ledger.check_age() is None
    state, event = ledger.record(ward.check(ledger.counts), AGENT, AT)
    assert (state.checked, state.checked_age, event.kind, state.seq) == (AT, 0,
                                                                       "checked", 8)
    assert ledger.check_age(time.monotonic() + 2400) >= 2399
    ledger.close()
    again = Ledger.open(str(tmp_path), WARD)
    assert again.state(AGENT).checked == AT
    assert again.check_age() is None and again.state(AGENT).checked_age is None
    again.resume_clocks(synced_now=True, now_at=AT + timedelta(minutes=40))
    assert again.check_age() is None      # stamped by a clock not known to be synced
    again.close()
    with sqlite3.connect(ledger_path(str(tmp_path))) as db:
        db.execute("UPDATE ward SET checked_synced = 1")
    third = Ledger.open(str(tmp_path), WARD)
    third.resume_clocks(synced_now=True, now_at=AT + timedelta(minutes=40))
    assert 2399 <= third.check_age() <= 2401
    third.close()


def test_a_set_command_counts_as_a_check(tmp_path):
    from bedboard.payloads import SetCommand
    ledger = new_ledger(tmp_path)
    change = ward.correct(ledger.counts, SetCommand(occupied=4))
    state, _ = ledger.record(change, AGENT, AT)
    assert state.checked == AT and state.occupied == 4
    ledger.close()


def test_a_schema_3_ledger_is_brought_up_to_4_with_its_pending_changes(tmp_path):
    ledger = new_ledger(tmp_path)
    ledger.record(ward.press(ledger.counts, "taken"), AGENT, AT,
                  held=Intent("taken", "taken"))
    ledger.close()
    with sqlite3.connect(ledger_path(str(tmp_path))) as db:
        # back to schema 3: no holds table, no held/checked columns
        db.execute("DROP TABLE holds")
        for table, columns in (("ward", ("held", "checked", "checked_synced")),
                               ("held", ("held",))):
            for column in columns:
                db.execute("ALTER TABLE %s DROP COLUMN %s" % (table, column))
        db.execute("PRAGMA user_version = 3")
    again = Ledger.open(str(tmp_path), WARD)
    assert again.counts == WardCounts(10, 6, 1, 0) and again.holds == {}
    assert [(seq, before) for seq, _, before in again.held()] == [(8, WardCounts(10, 5, 1))]
    again.record(ward.hold(again.counts, held()), AGENT, AT)
    again.close()
    with sqlite3.connect(ledger_path(str(tmp_path))) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
        assert db.execute("SELECT id, beds FROM holds").fetchall() == [("h1", 1)]


def test_a_count_recovered_from_the_broker_keeps_its_holds_and_their_time():
    listed = Hold(id="h1", beds=1, until=AT, left=600, for_whom="Bankura SMC")
    state = WardState(capacity=10, occupied=5, blocked=4, held=3, seq=9, at=AT,
                      agent=AGENT, holds=(listed,))
    found = holds_from_wire(state, 120, now_at=AT)
    assert [(h.id, h.beds, h.minutes, h.for_whom, e) for h, e in found] == [
        ("h1", 1, 10.0, "Bankura SMC", 0.0), ("recovered-9", 2, 120.0, None, 0.0)]
    assert WardCounts.from_wire(state) == WardCounts(10, 5, 1, 3)


def test_an_old_ledger_rebased_takes_the_brokers_holds_and_decides_its_own_again(tmp_path):
    ledger = new_ledger(tmp_path)
    ledger.record(ward.hold(ledger.counts, held()), AGENT, AT)      # seq 8
    first = ledger.counts
    # since start (held for the broker's check): the hold expired
    ledger.record(ward.end_hold(ledger.counts, held(), "expired"), AGENT, AT,
                  held=Intent("expired", "clock", hold=hold_record(held())))
    theirs = WardState(capacity=10, occupied=6, blocked=2, held=1, seq=12, at=AT,
                       agent=AGENT, holds=(Hold(id="h1", beds=1, until=AT, left=60),))
    change = ward.Change("set", first, WardCounts.from_wire(theirs))
    written, refused = ledger.rebase((change, 13), AGENT, AT,
                                     holds=holds_from_wire(theirs, 120, AT))
    assert refused == []
    assert [event.kind for _, event in written] == ["set", "expired"]
    assert ledger.counts == WardCounts(10, 6, 1, 0) and ledger.holds == {}
    assert ledger.seq == 14
    ledger.close()


def test_many_long_holds_keep_the_state_within_the_contracts_bytes(tmp_path):
    ledger = new_ledger(tmp_path, counts=WardCounts(100, 0))
    for number in range(30):
        ident = ("h%02d-" % number) + "x" * 59
        long_for = "বাঁকুড়া সম্মিলনী মেডিক্যাল কলেজ, রেফারেল " + "১" * 22
        ledger.record(ward.hold(ledger.counts, held(ident, for_whom=long_for[:64])),
                      AGENT, AT)
    state = ledger.state(AGENT)
    data = state.to_json()
    assert len(data) <= 4096 and WardState.parse(data) == state
    assert state.held == 30 and 1 <= len(state.holds) < 16
    ledger.close()
