"""The ward's counting rules (agent.ward): pure, so fuzzed as well as scripted."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent import ward
from agent.ward import WardCounts
from bedboard.errors import ContractError, PressRefused
from bedboard.payloads import SetCommand


def test_each_press_moves_one_bed():
    counts = WardCounts(40, 31, 2)
    assert ward.press(counts, "taken").after == WardCounts(40, 32, 2)
    assert ward.press(counts, "freed").after == WardCounts(40, 30, 2)
    assert ward.press(counts, "blocked").after == WardCounts(40, 31, 3)
    assert ward.press(counts, "unblocked").after == WardCounts(40, 31, 1)
    change = ward.press(counts, "taken", source="taken")
    assert (change.kind, change.before, change.bed, change.source) == (
        "taken", counts, None, "taken")


@pytest.mark.parametrize("counts, kind, reason", [
    (WardCounts(40, 0, 0), "freed", "no occupied bed to free"),
    (WardCounts(40, 38, 2), "taken", "no vacant bed to take"),
    (WardCounts(40, 40, 0), "blocked", "no vacant bed to block"),
    (WardCounts(40, 10, 0), "unblocked", "no blocked bed to unblock"),
    (WardCounts(0, 0, 0), "taken", "no vacant bed to take"),
])
def test_a_press_at_a_bound_is_refused_with_its_reason(counts, kind, reason):
    with pytest.raises(PressRefused) as caught:
        ward.press(counts, kind)
    assert str(caught.value) == reason


def test_a_bed_contact_takes_and_frees_its_own_bed():
    change = ward.sense(WardCounts(10, 3), "12", True)
    assert (change.kind, change.bed, change.after) == ("sensor", "12", WardCounts(10, 4))
    assert ward.sense(WardCounts(10, 3), "12", False).after == WardCounts(10, 2)
    with pytest.raises(PressRefused, match="^bed 12 occupied, but no vacant bed to take$"):
        ward.sense(WardCounts(10, 10), "12", True)


def test_a_set_command_replaces_what_it_names():
    change = ward.correct(WardCounts(40, 31, 2), SetCommand(occupied=30, capacity=42))
    assert (change.kind, change.after) == ("set", WardCounts(42, 30, 2))
    with pytest.raises(PressRefused, match="occupied \\+ blocked must not exceed"):
        ward.correct(WardCounts(40, 31, 2), SetCommand(capacity=32))


def test_a_new_capacity_keeps_the_beds_and_never_invents_discharges():
    assert ward.resize(WardCounts(40, 31, 2), 45).after == WardCounts(45, 31, 2)
    assert ward.resize(WardCounts(40, 31, 2), 33).after == WardCounts(33, 31, 2)
    with pytest.raises(PressRefused, match="^capacity 32 is less than occupied 31 "
                                           "\\+ blocked 2$"):
        ward.resize(WardCounts(40, 31, 2), 32)


def test_counts_check_themselves():
    with pytest.raises(ValueError, match="occupied \\+ blocked must not exceed"):
        WardCounts(10, 9, 2)
    with pytest.raises(ValueError, match="occupied must be a whole number"):
        WardCounts(10, -1)
    assert WardCounts(40, 32, 2).describe() == "occupied 32/40, vacant 6, blocked 2"
    assert WardCounts(40, 32).describe() == "occupied 32/40, vacant 8"


@st.composite
def set_commands(draw):
    """A SetCommand of random fields, or None where the fields make no command."""
    fields = draw(st.fixed_dictionaries({}, optional={
        "occupied": st.integers(0, 60), "capacity": st.integers(0, 60),
        "blocked": st.integers(0, 60)}))
    try:
        return SetCommand(**fields)
    except ContractError:
        return None


moves = st.sampled_from(["taken", "freed", "blocked", "unblocked"]) | set_commands()


@settings(max_examples=200, deadline=None)
@given(start=st.integers(0, 50), data=st.data())
def test_no_sequence_of_presses_and_sets_breaks_the_bounds(start, data):
    counts = WardCounts(50, start)
    for _ in range(data.draw(st.integers(0, 60))):
        move = data.draw(moves)
        before = counts
        try:
            if move is None:
                continue
            if isinstance(move, str):
                change = ward.press(counts, move)
                assert abs(change.after.occupied - before.occupied) + abs(
                    change.after.blocked - before.blocked) == 1
            else:
                change = ward.correct(counts, move)
        except PressRefused:
            continue  # a refusal changes nothing: counts stays as it was
        counts = change.after
        assert 0 <= counts.occupied + counts.blocked <= counts.capacity
