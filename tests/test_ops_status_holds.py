"""bedboard status shows each ward's beds held for a referral and its count's check (issue 20).

The states are the bytes an agent sends (parsed by the real Fleet), and at
the end a real agent on a real broker, held by ``bedboard hold`` and
checked by ``bedboard set``.
"""

import re
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

from bedboard.payloads import Hold, WardState
from ops.fleet import Fleet
from ops.status import report, text_lines

from .ops_helpers import bedboard, write_agent, write_operator
from .test_ops_set import RunningAgent

AT = datetime(2026, 11, 25, 18, 0, tzinfo=timezone.utc)
LOOK = SimpleNamespace(broker=SimpleNamespace(describe=lambda: "127.0.0.1:1883",
                                              prefix="crs"),
                       what="hospital nrs", heartbeat=60.0, stale_after=180.0,
                       check_within=7200.0)


def _state(ward, agent, **extra):
    return WardState(capacity=10, occupied=4, blocked=2, seq=7, agent=agent, at=AT,
                     **extra).to_json()


def _listen(*messages, ended=30.0):
    """``report`` and ``text_lines`` of a look that heard ``messages`` ``(ward, bytes,
    retained, received)`` and ended at ``ended``."""
    fleet = Fleet("crs", heartbeat=60, stale_after=180)
    for ward, payload, retained, received in messages:
        fleet.arrived("crs/nrs/%s/state" % ward, payload, retained, received)
    data = report(LOOK, fleet, 0.0, ended, ended)
    return {w["ward"]: w for w in data["wards"]}, text_lines(data)


def _under(lines, ward):
    """The lines under ``ward``'s row, up to the next row or the blank line."""
    start = next(i for i, line in enumerate(lines) if line.startswith(ward + " "))
    found = []
    for line in lines[start + 1:]:
        if not line.startswith(" "):
            break
        found.append(line.strip())
    return found


def test_held_beds_for_whom_and_until_when_and_the_checks_age():
    hold = Hold(id="set-ref-1234", beds=1, until=AT + timedelta(minutes=90), left=5400,
                for_whom="Bankura SMC, ref 1234")
    wards, lines = _listen(
        ("icu/unit-1", _state("icu/unit-1", "nrs-icu-unit-1", held=1, holds=(hold,),
                              checked=AT - timedelta(minutes=40), checked_age=2400),
         False, 10.0))
    ward = wards["nrs/icu/unit-1"]
    assert (ward["held"], ward["check_due"], ward["check_age"]) == (1, False, 2420)
    assert ward["holds"][0]["left"] == 5380 and ward["holds"][0]["for"] == \
        "Bankura SMC, ref 1234"
    assert _under(lines, "nrs/icu/unit-1") == [
        "held for referral: 1 bed for Bankura SMC, ref 1234 (hold set-ref-1234), until "
        "2026-11-25 19:30Z, 1 h 29 min left",
        "count checked 40 min ago"]
    assert lines[-1].startswith("1 ward(s): 1 heard live, 0 retained copy only, 0 not "
                                "reporting. 1 bed(s) held for a referral.")


def test_a_check_due_never_made_of_unknown_age_and_an_old_agent():
    wards, lines = _listen(
        ("medicine/male", _state("medicine/male", "nrs-medicine-male", held=0,
                                 checked=AT - timedelta(hours=5), checked_age=5 * 3600),
         False, 0.0),
        ("medicine/female", _state("medicine/female", "nrs-medicine-female", held=0),
         False, 0.0),
        ("surgery/male", _state("surgery/male", "nrs-surgery-male", held=0,
                                checked=AT - timedelta(hours=1)), False, 0.0),
        ("surgery/female", _state("surgery/female", "nrs-surgery-female"), False, 0.0))
    assert _under(lines, "nrs/medicine/male") == [
        "! CHECK DUE: the count not checked for 5 h (bound 2 h)"]
    assert _under(lines, "nrs/medicine/female") == [
        "! CHECK DUE: the count was never checked"]
    assert _under(lines, "nrs/surgery/male") == [
        "! CHECK DUE: the count was checked at 2026-11-25 17:00Z, how long ago is not "
        "known"]
    # an agent from before checks and holds: neither, and not counted as due
    assert _under(lines, "nrs/surgery/female") == []
    assert wards["nrs/surgery/female"]["check_due"] is None
    assert lines[-1].endswith(" 3 ward(s) due a count check.")


def test_a_retained_copys_check_age_is_a_lower_bound_only():
    copy = _state("icu/unit-1", "nrs-icu-unit-1", held=0,
                  checked=AT - timedelta(minutes=30), checked_age=1800)
    wards, lines = _listen(("icu/unit-1", copy, True, 0.0), ended=5.0)
    assert wards["nrs/icu/unit-1"]["check_age_at_least"] is True
    assert _under(lines, "nrs/icu/unit-1") == ["count checked 30 min ago at least "
                                               "(retained copy)"]
    old = _state("icu/unit-1", "nrs-icu-unit-1", held=0,
                 checked=AT - timedelta(hours=3), checked_age=3 * 3600)
    _, lines = _listen(("icu/unit-1", old, True, 0.0), ended=5.0)
    assert _under(lines, "nrs/icu/unit-1") == [
        "! CHECK DUE: the count not checked for 3 h at least (bound 2 h)"]


def test_status_of_a_real_agent_held_by_the_desk_and_checked_by_a_set(tmp_path, mosquitto,
                                                                      probe):
    ward = "nrs/icu/unit-1"
    agent = RunningAgent(write_agent(tmp_path, "nrs-icu-unit-1", ward, mosquitto.port,
                                     capacity=6, occupied=2))
    operator = write_operator(tmp_path, mosquitto.port)
    try:
        result = bedboard("status", "--config", operator, "--listen", "1.5")
        assert result.returncode == 0, result.stderr
        assert _under(result.stdout.splitlines(), ward) == [
            "! CHECK DUE: the count was never checked"], result.stdout
        assert bedboard("hold", "--config", operator, ward, "--for", "Bankura SMC, ref 1234",
                        "--minutes", "90", "--by", "desk").returncode == 0
        assert bedboard("set", "--config", operator, ward, "--occupied", "3",
                        "--by", "Sister Das").returncode == 0
        result = bedboard("status", "--config", operator, "--listen", "1.5")
        assert result.returncode == 0, result.stderr
        under = _under(result.stdout.splitlines(), ward)
        assert len(under) == 2, result.stdout
        assert re.fullmatch(r"held for referral: 1 bed for Bankura SMC, ref 1234 \(hold "
                            r"hold-\S+\), until \d{4}-\d\d-\d\d \d\d:\d\dZ, 1 h (29|30) min "
                            r"left", under[0]), under
        # (within 1.5 s the agent, at its minute's heartbeat, was heard only from the
        # broker's retained copy: the age is a lower bound)
        assert re.fullmatch(r"count checked \d+ s ago( at least \(retained copy\))?",
                            under[1]), under
    finally:
        agent.close()
