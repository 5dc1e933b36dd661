"""'Beds just freed' says what happened (issue 15, findings 7 and 8).

Only beds going from occupied to free are a discharge: a capacity correction
frees nobody, a replacement panel's first report and a retired ward that
comes back have freed nobody on this board's watch.  The real Board, and
what the renderer drew for it.
"""

import pygame
import pytest

from bedboard.payloads import WardState
from bedboard.topics import WardKey
from display.board import Board
from display.config import BurnIn, DisplaySettings, Label, TileSpec
from display.fonts import FontBook
from display.render import Renderer
from display.text import TextPainter
from display.words import Words

from .test_display_drawn import LOCAL, WALL

ICU = WardKey("nrs", "icu", "unit-1")
TILES = (TileSpec("nrs", "icu", None, Label("ICU", "আইসিইউ")),)


def state(capacity, occupied, seq, agent="nrs-icu-unit-1", blocked=0):
    return WardState(capacity=capacity, occupied=occupied, blocked=blocked, seq=seq, at=WALL,
                     agent=agent)


def board():
    made = Board("nrs", TILES, highlight_seconds=300, now=0.0)
    made.set_connected(True, 0.0, WALL)
    made.receive_status("nrs-icu-unit-1", True, 0.5)
    return made


@pytest.fixture(scope="module")
def painter():
    pygame.font.init()
    return TextPainter(FontBook())


def drawn_notes(painter, made, now):
    display = DisplaySettings(id="lobby", title=Label("NRS"), languages=("en",),
                              burn_in=BurnIn(pixels=0))
    renderer = Renderer(display, Words(("en",)), painter, (1280, 720))
    renderer.draw(pygame.Surface((1280, 720)), made.view(now), now, LOCAL)
    return [d.phrase for r in renderer.report() if r.part == "tile" for d in r.texts
            if d.role.startswith("note")]


def test_a_discharge_from_full_is_beds_just_freed(painter):
    made = board()
    made.receive_state(ICU, state(20, 20, 1), 1.0)
    made.receive_state(ICU, state(20, 18, 2), 10.0)
    assert made.view(11.0).tiles[0].highlighted
    assert "beds just freed" in drawn_notes(painter, made, 11.0)


def test_a_capacity_correction_is_not_beds_just_freed(painter):
    # finding 8: capacity 20 -> 22, nobody discharged
    made = board()
    made.receive_state(ICU, state(20, 20, 1), 1.0)
    made.receive_state(ICU, state(22, 20, 2), 10.0)
    view = made.view(11.0).tiles[0]
    assert view.vacant == 2 and view.live
    assert not view.highlighted
    assert "beds just freed" not in drawn_notes(painter, made, 11.0)


def test_beds_unblocked_are_not_a_discharge():
    made = board()
    made.receive_state(ICU, state(20, 18, 1, blocked=2), 1.0)
    made.receive_state(ICU, state(20, 18, 2, blocked=0), 10.0)
    assert not made.view(11.0).tiles[0].highlighted


def test_a_replacement_panels_first_report_does_not_carry_the_old_highlight(painter):
    # finding 7: the old panel freed beds; its replacement's first report is not news
    made = board()
    made.receive_state(ICU, state(20, 20, 1), 1.0)
    made.receive_state(ICU, state(20, 18, 2), 10.0)
    assert made.view(11.0).tiles[0].highlighted
    made.receive_status("nrs-icu-unit-1", False, 20.0)
    made.receive_status("nrs-icu-unit-1-new", True, 20.5)
    made.receive_state(ICU, state(20, 17, 1, agent="nrs-icu-unit-1-new"), 21.0)
    view = made.view(22.0).tiles[0]
    assert view.live and view.vacant == 3
    assert not view.highlighted
    assert "beds just freed" not in drawn_notes(painter, made, 22.0)


def test_a_retired_ward_that_comes_back_does_not_carry_its_old_highlight():
    # finding 7
    made = board()
    made.receive_state(ICU, state(20, 20, 1), 1.0)
    made.receive_state(ICU, state(20, 18, 2), 10.0)
    assert made.view(11.0).tiles[0].highlighted
    made.receive_retired(ICU, 20.0)
    made.receive_state(ICU, state(20, 18, 3), 30.0)
    view = made.view(31.0).tiles[0]
    assert view.live and view.vacant == 2
    assert not view.highlighted
