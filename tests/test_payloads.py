"""WardState, WardEvent and SetCommand: strict parsing, exact serialising."""

import json
from datetime import datetime, timezone

import pytest
from hypothesis import assume, given, strategies as st

from bedboard.errors import ContractError
from bedboard.payloads import (EVENT_KINDS, MAX_BEDS, MAX_SEQ, SetCommand,
                               WardEvent, WardState)

AT = datetime(2026, 11, 25, 18, 0, tzinfo=timezone.utc)
SAMPLE = (b'{"v": 1, "capacity": 40, "occupied": 31, "blocked": 2, "seq": 1234,'
          b' "at": "2026-11-25T18:00:00Z", "agent": "nrs-medicine-female-2"}')

moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2200, 1, 1),
                       timezones=st.just(timezone.utc))
device_ids = st.from_regex(r"\A[a-z0-9][a-z0-9-]{0,63}\Z")


@st.composite
def counts(draw):
    capacity = draw(st.integers(0, MAX_BEDS))
    occupied = draw(st.integers(0, capacity))
    blocked = draw(st.integers(0, capacity - occupied))
    return capacity, occupied, blocked


@st.composite
def ward_states(draw):
    capacity, occupied, blocked = draw(counts())
    return WardState(capacity=capacity, occupied=occupied, blocked=blocked,
                     seq=draw(st.integers(0, MAX_SEQ)), at=draw(moments),
                     agent=draw(device_ids))


@st.composite
def ward_events(draw):
    capacity, occupied, blocked = draw(counts())
    return WardEvent(kind=draw(st.sampled_from(EVENT_KINDS)),
                     bed=draw(st.none() | st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9 ._-]{0,31}\Z")),
                     capacity=capacity, occupied=occupied, blocked=blocked,
                     seq=draw(st.integers(0, MAX_SEQ)), at=draw(moments),
                     agent=draw(device_ids))


def test_spec_example_parses():
    state = WardState.parse(SAMPLE)
    assert state == WardState(capacity=40, occupied=31, blocked=2, seq=1234, at=AT,
                              agent="nrs-medicine-female-2")
    assert state.vacant == 7


def test_serialised_form_is_compact_and_complete():
    state = WardState.parse(SAMPLE)
    assert json.loads(state.to_json()) == json.loads(SAMPLE)
    assert state.to_json().startswith(b'{"v":1,')


def test_blocked_defaults_to_zero_and_unknown_keys_are_ignored():
    state = WardState.parse(b'{"v":1,"capacity":3,"occupied":1,"seq":0,'
                            b'"at":"2026-11-25T18:00:00.5Z","agent":"a","future":[1]}')
    assert state.blocked == 0 and state.at.microsecond == 500000


@given(ward_states())
def test_state_round_trips(state):
    assert WardState.parse(state.to_json()) == state


@given(ward_events())
def test_event_round_trips(event):
    assert WardEvent.parse(event.to_json()) == event


@given(st.binary(max_size=5000))
def test_arbitrary_bytes_raise_only_contract_errors(data):
    for parse in (WardState.parse, WardEvent.parse, SetCommand.parse):
        try:
            parse(data)
        except ContractError:
            pass


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=5), children, max_size=3), max_leaves=8)


@given(st.dictionaries(st.sampled_from(["v", "capacity", "occupied", "blocked", "seq",
                                        "at", "agent", "kind", "bed", "by"]),
                       json_values))
def test_wrong_types_raise_only_contract_errors(obj):
    data = json.dumps(obj).encode()
    for parse in (WardState.parse, WardEvent.parse, SetCommand.parse):
        try:
            parse(data)
        except ContractError:
            pass


def _state_with(**changes):
    obj = json.loads(SAMPLE)
    obj.update(changes)
    for key in [k for k, v in changes.items() if v is ...]:
        del obj[key]
    return json.dumps(obj).encode()


@pytest.mark.parametrize("changes, reason", [
    ({"occupied": 39}, "occupied \\+ blocked must not exceed capacity"),
    ({"capacity": 100001, "occupied": 1}, "capacity must be between 0 and 100000"),
    ({"occupied": -1}, "occupied must be between"),
    ({"blocked": -1}, "blocked must be between"),
    ({"occupied": 31.0}, "occupied must be an integer"),
    ({"occupied": "31"}, "occupied must be an integer"),
    ({"occupied": True}, "occupied must be an integer"),
    ({"seq": 2 ** 63}, "seq must be between"),
    ({"seq": -1}, "seq must be between"),
    ({"v": 2}, "v must be 1"),
    ({"v": "1"}, "v must be 1"),
    ({"v": ...}, "lacks 'v'"),
    ({"capacity": ...}, "lacks 'capacity'"),
    ({"at": "2026-11-25 18:00:00"}, "at must be an ISO 8601 UTC time"),
    ({"at": "2026-11-25T18:00:00+05:30"}, "at must be an ISO 8601 UTC time"),
    ({"at": "2026-02-30T18:00:00Z"}, "not a real time"),
    ({"agent": "Bad Agent"}, "agent must match"),
    ({"agent": None}, "agent must match"),
])
def test_every_bound_is_enforced(changes, reason):
    with pytest.raises(ContractError, match=reason):
        WardState.parse(_state_with(**changes))


@pytest.mark.parametrize("data, reason", [
    (b'{"v":1,"capacity":NaN}', "finite"),
    (b'{"v":1,"capacity":Infinity}', "finite"),
    (b'{"v":1,"capacity":1e999,"occupied":0,"seq":0,"at":"2026-11-25T18:00:00Z",'
     b'"agent":"a"}', "finite|integer"),
    (b'{"v":1,"capacity":1' + b'0' * 5000 + b'}', "more than 4096"),
    (b'[1,2]', "must be a JSON object"),
    (b'\xff\xfe', "not UTF-8"),
    (b'{"v":1,', "not JSON"),
    (b'', "not JSON"),
    (b'[' * 3000 + b']' * 3000, "more than 4096|not JSON"),
])
def test_garbage_is_named(data, reason):
    with pytest.raises(ContractError, match=reason):
        WardState.parse(data)


def test_huge_integer_is_a_contract_error():
    with pytest.raises(ContractError):
        WardState.parse(_state_with(capacity=10 ** 4000))


def test_event_kinds_and_bed_labels():
    event = WardEvent(kind="sensor", bed="12", capacity=4, occupied=1, seq=5, at=AT,
                      agent="a")
    assert json.loads(event.to_json())["bed"] == "12"
    with pytest.raises(ContractError, match="kind must be one of"):
        WardEvent(kind="discharged", capacity=4, occupied=1, seq=5, at=AT, agent="a")
    with pytest.raises(ContractError, match="bed must be null or a label"):
        WardEvent(kind="sensor", bed="Mr Rahman/12", capacity=4, occupied=1, seq=5,
                  at=AT, agent="a")


def test_set_command_needs_a_count_and_keeps_bounds():
    assert SetCommand.parse(b'{"occupied": 30, "capacity": 42, "blocked": 1, '
                            b'"by": "bed-manager"}') == SetCommand(30, 42, 1, "bed-manager")
    with pytest.raises(ContractError, match="at least one of"):
        SetCommand.parse(b'{"by": "bed-manager"}')
    with pytest.raises(ContractError, match="occupied must be an integer"):
        SetCommand.parse(b'{"occupied": "all"}')
    with pytest.raises(ContractError, match="must not exceed capacity"):
        SetCommand.parse(b'{"occupied": 50, "capacity": 42}')


def test_set_command_applies_against_the_ward():
    command = SetCommand(occupied=38)
    assert command.apply_to(40, 30, 2) == (40, 38, 2)
    with pytest.raises(ContractError, match="38 \\+ 3 > 40"):
        command.apply_to(40, 30, 3)


@given(counts(), st.one_of(st.none(), st.integers(0, MAX_BEDS)),
       st.one_of(st.none(), st.integers(0, MAX_BEDS)),
       st.one_of(st.none(), st.integers(0, MAX_BEDS)))
def test_applied_set_commands_always_fit(ward, occupied, capacity, blocked):
    assume(not (occupied is None and capacity is None and blocked is None))
    try:
        command = SetCommand(occupied=occupied, capacity=capacity, blocked=blocked)
        new_capacity, new_occupied, new_blocked = command.apply_to(*ward)
    except ContractError:
        return
    assert new_occupied + new_blocked <= new_capacity <= MAX_BEDS
    assert SetCommand.parse(command.to_json()) == command


def test_a_parsed_state_has_every_field_as_init_would_set_it():
    # WardState.parse fills the object without its __init__ (the burst's cost): a field
    # added to the dataclass must be added there too, or a parsed state lacks it
    from dataclasses import fields
    from datetime import datetime, timezone
    made = WardState(capacity=30, occupied=20, blocked=2, seq=5,
                     at=datetime(2026, 12, 7, 10, 0, tzinfo=timezone.utc), agent="a-1")
    parsed = WardState.parse(made.to_json())
    assert set(vars(parsed)) == {f.name for f in fields(WardState)}
    assert parsed == made and hash(parsed) == hash(made)
