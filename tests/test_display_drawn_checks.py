"""What the renderer DREW of checks and holds (issue 20, part B).

On the example config's ten tiles at 1280×720 — the cheapest lobby TV — in
English and Bengali: a ward with a bed held for a referral draws "1 held for
referral" and says only its out-of-service beds as blocked; a ward whose count
was not checked for five hours says so in its state bar (never left out),
stays AVAILABLE (live), and the footer counts it.  Each state is the bytes an
agent sends, parsed as the board parses them; judged on the renderer's own
report of what it drew (:meth:`display.render.Renderer.report`).
"""

import json
from datetime import timedelta

import pygame
import pytest

from bedboard.payloads import Hold, WardState
from bedboard.topics import WardKey
from display import phrases
from display.fonts import FontBook
from display.text import TextPainter
from tests.test_display_drawn import WALL, drawn, english, example_board, tile_report


@pytest.fixture(scope="module")
def painter():
    pygame.font.init()
    return TextPainter(FontBook())

MEDICINE_MALE, MEDICINE_FEMALE = 0, 1


def wire(state):
    """``state`` as the bytes an agent publishes, read back as the board reads them."""
    return WardState.parse(json.dumps(state.to_dict()).encode())


def new_agent(agent, occupied, blocked=0, held=0, age=600, seq=2, **extra):
    return wire(WardState(capacity=30, occupied=occupied, blocked=blocked, seq=seq, at=WALL,
                          agent=agent, held=held, checked=WALL - timedelta(seconds=age),
                          checked_age=age, **extra))


def holds_and_checks_board():
    made = example_board(stale_after=86400.0)
    hold = Hold(id="set-ref-1234", beds=1, until=WALL + timedelta(minutes=90), left=5400,
                for_whom="Bankura SMC, ref 1234")
    made.receive_state(WardKey("nrs", "medicine", "male"),
                       new_agent("medicine-male", 20, blocked=3, held=1, holds=(hold,)),
                       2.0, WALL)
    made.receive_state(WardKey("nrs", "medicine", "female"),
                       new_agent("medicine-female", 25, age=5 * 3600), 2.0, WALL)
    return made


def test_the_held_line_and_the_caution_are_drawn_on_a_ten_tile_lobby_tv(painter):
    made = holds_and_checks_board()
    view = made.view(3.0)
    renderer = drawn(painter, made, (1280, 720), 3.0)
    male = tile_report(renderer, MEDICINE_MALE, view)
    said = english(male)
    # on this small a tile the column has room for "of 30 beds" and the held line only
    assert "1 held for referral" in said, (said, male.left_out)
    assert "7" in english(male, "figure")       # 30 − 20 − 3: the held bed is not vacant
    female = tile_report(renderer, MEDICINE_FEMALE, view)
    bar = english(female, "state")
    assert any("not checked" in text for text in bar), (bar, female.left_out)
    assert bar[0].startswith("AVAILABLE")       # neither LIVE's plain words nor NOT REPORTING
    assert "state" not in [role for role, _ in female.left_out]
    footer = [d.phrase for r in renderer.report() if r.part == "total" for d in r.texts]
    assert any("1 ward not checked in 2 h" in text for text in footer), footer


def test_where_there_is_room_blocked_says_out_of_service_only_and_the_check_time_shows(
        painter):
    made = holds_and_checks_board()
    view = made.view(3.0)
    renderer = drawn(painter, made, (1920, 1080), 3.0, languages=("en",))
    male = tile_report(renderer, MEDICINE_MALE, view)
    said = english(male)
    assert "1 held for referral" in said and "2 blocked" in said, (said, male.left_out)
    assert "count checked 10 min ago" in said, (said, male.left_out)


def test_an_old_agent_next_to_a_new_one_draws_no_check_time(painter):
    made = holds_and_checks_board()
    # an agent from before checks and holds: no held, no checked
    made.receive_state(WardKey("nrs", "medicine", "female"),
                       wire(WardState(capacity=30, occupied=25, blocked=1, seq=3, at=WALL,
                                      agent="medicine-female")), 2.5, WALL)
    view = made.view(3.0)
    assert view.wards_unchecked == 0
    renderer = drawn(painter, made, (1280, 720), 3.0)
    female = english(tile_report(renderer, MEDICINE_FEMALE, view))
    assert not [text for text in female if "checked" in text or "held" in text], female
    assert "1 blocked" in female
    footer = [d.phrase for r in renderer.report() if r.part == "total" for d in r.texts]
    assert not [text for text in footer if "not checked" in text], footer


@pytest.mark.parametrize("size", ((800, 480), (1280, 720), (1920, 1080)))
def test_the_caution_is_never_left_out(painter, size):
    made = holds_and_checks_board()
    renderer = drawn(painter, made, size, 3.0, languages=("bn", "en"))
    female = tile_report(renderer, MEDICINE_FEMALE, made.view(3.0))
    bar = [d.phrase for d in female.texts if d.role == "state"]
    assert bar and all("not checked" in text for text in bar if "AVAILABLE" in text), bar
    assert any("যাচাই হয়নি" in text for text in bar), bar


PAEDIATRICS = 4             # the example's department-wide tile: wards a and b


def caution(language):
    """The words of "not checked" in ``language`` (every form of the caution has them)."""
    text = phrases.table(language)["state-unchecked-short"]
    return text.replace("{s}", "").strip(" ·:")


def missing_words(language, missing, wards):
    """Each way ``language`` says ``missing`` of ``wards`` wards are missing, without
    the state words ("1 of 2 wards missing", "1 missing", "wards missing")."""
    table = phrases.table(language)
    return [table[key].replace("{s}", "").strip(" ·:").format(m=missing, n=wards)
            for key in ("state-missing", "state-missing-short", "state-missing-shortest")]


def test_every_form_of_the_caution_says_not_checked_in_every_language():
    for language in ("bn", "en", "hi", "ur", "ne", "sat", "or", "pa"):
        table = phrases.table(language)
        for key in ("state-unchecked", "state-unchecked-short", "state-unchecked-unknown",
                    "state-missing-unchecked"):
            assert caution(language) in table[key], (language, key)
        said = table["state-missing-unchecked"].format(m=1)
        assert any(words in said for words in missing_words(language, 1, 2)), said


@pytest.mark.parametrize("languages", (("en",), ("en", "bn"), ("bn", "hi"), ("ur", "en")))
@pytest.mark.parametrize("size", ((1280, 720), (1366, 768), (1920, 1080), (800, 480)))
def test_a_partial_tile_whose_counted_ward_is_due_a_check_draws_both_in_its_bar(
        painter, size, languages):
    # ward b's panel is offline (PART DATA, 1 of 2 missing) and ward a's count was
    # not checked for five hours: the bar says the missing ward first and the
    # caution too; the caution was a note, left out when the column had no room
    made = example_board(stale_after=86400.0)
    made.receive_state(WardKey("nrs", "paediatrics", "a"),
                       new_agent("paediatrics-a", 12, age=5 * 3600), 2.0, WALL)
    made.receive_status("paediatrics-b", False, 2.5)
    view = made.view(3.0)
    tile = view.tiles[PAEDIATRICS]
    assert tile.live and tile.missing == 1 and tile.check_due
    report = tile_report(drawn(painter, made, size, 3.0, languages=languages),
                         PAEDIATRICS, view)
    assert "state" not in [role for role, _ in report.left_out]
    bar = [d for d in report.texts if d.role == "state"]
    for language in languages:
        texts = [d.phrase for d in bar if language in d.languages]
        assert texts, (language, [d.phrase for d in bar])
        assert any(caution(language) in text and any(
            words in text for words in missing_words(language, 1, 2))
            for text in texts), (size, language, texts, report.left_out)
