"""A retired ward stays retired: a copy of its state — a lagging node's, a restored
autosave's — does not bring it back, its panel speaking does; and the board keeps
that across its restarts (found by the world machine under ``make chaos``: an old
agent's ward, retired, drawn live for ``retained_for`` after the board's node
failed over to one whose copies lagged)."""

from display.memory import WardMemory
from tests.test_display_board import FEMALE, MALE, board, state, tile


def _retired_after_its_counts(made, agent="nrs-medicine-male", seq=3):
    made.receive_status(agent, True, 0.5, retained=True)
    made.receive_status("nrs-medicine-female", True, 0.5, retained=True)
    made.receive_state(FEMALE, state(10, 5, agent="nrs-medicine-female"), 1.0)
    for number in range(1, seq + 1):
        made.receive_state(MALE, state(40, 30 + number, seq=number, agent=agent), 1.0 + number)
    assert made.receive_retired(MALE, 10.0)


def test_a_copy_from_before_a_retirement_does_not_bring_the_ward_back():
    made = board(stale_after=180)
    _retired_after_its_counts(made)
    assert tile(made, now=11.0).wards == 1
    # the board's node fails over to one whose retained copies lag: seq 2, before
    # the retirement — news to nobody
    assert not made.receive_state(MALE, state(40, 32, seq=2), 12.0, retained=True)
    assert not made.receive_state(MALE, state(40, 33, seq=3), 12.5, retained=True)
    view = tile(made, now=13.0)
    assert view.wards == 1 and view.vacant == 5 and not view.missing


def test_a_ward_that_truly_returns_is_shown_again_when_its_panel_speaks():
    made = board(stale_after=180)
    _retired_after_its_counts(made)
    # a copy, even of a later count or of another panel, waits for a panel to speak
    assert not made.receive_state(MALE, state(40, 20, seq=9), 15.0, retained=True)
    assert not made.receive_state(MALE, state(40, 20, seq=1, agent="nrs-medicine-male-2"),
                                  16.0, retained=True)
    assert tile(made, now=17.0).wards == 1
    # its panel speaks (the ward reopened, a replacement panel): it is back, and
    # so are its copies after that
    assert made.receive_state(MALE, state(40, 20, seq=1, agent="nrs-medicine-male-2"), 20.0)
    view = tile(made, now=21.0)
    assert view.live and view.wards == 2 and view.vacant == 5 + 20
    assert made.receive_state(MALE, state(40, 19, seq=2, agent="nrs-medicine-male-2"), 22.0,
                              retained=True)


def test_a_restarted_board_remembers_the_retirement(tmp_path):
    memory = WardMemory(str(tmp_path))
    made = board(stale_after=180)
    made.recall(memory)
    _retired_after_its_counts(made)
    assert memory.save()
    again = board(stale_after=180)
    again.recall(WardMemory(str(tmp_path)))
    again.receive_status("nrs-medicine-male", True, 0.5, retained=True)
    assert not again.receive_state(MALE, state(40, 33, seq=3), 1.0, retained=True)
    assert tile(again, now=2.0).wards in (0, 1) and MALE not in WardMemory(str(tmp_path))
    # and its return is remembered too
    assert again.receive_state(MALE, state(40, 20, seq=4), 3.0)
    assert again._memory.save()  # pylint: disable=protected-access
    assert WardMemory(str(tmp_path)).retired() == []
