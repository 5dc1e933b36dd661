"""No wall-clock time shown or used while the clock is not synchronised (issue 15,
finding 11).

A Pi booted without a time server keeps whatever time it last saved; when
the time server comes back the clock jumps.  The banner's "since 01:50"
was the wall time the link went down — read from the unsynchronised clock —
under a header clock of 12:05; night dimming started at real noon on a Pi
whose clock said 23:30.  Durations are timed on the monotonic clock; a time
of day is the trusted clock's now minus such a duration, and dimming follows
the last trusted time carried forward on the monotonic clock (or none).
"""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pygame
import pytest

from display import config
from display.app import BoardApp
from display.board import Board
from display.config import BurnIn, DisplaySettings, Label, TileSpec
from display.fonts import FontBook
from display.render import Renderer
from display.text import TextPainter
from display.words import Words

from .test_display_app import BOARD_YAML, _NoLink, write_config

KOLKATA = ZoneInfo("Asia/Kolkata")


@pytest.fixture(scope="module")
def painter():
    pygame.font.init()
    return TextPainter(FontBook())


def at(hour, minute):
    """A wall time at ``hour:minute`` in Kolkata, as UTC."""
    return datetime(2026, 11, 25, hour, minute, tzinfo=KOLKATA).astimezone(timezone.utc)


def banner(renderer):
    return " ".join(d.phrase for r in renderer.report() if r.part == "banner" for d in r.texts)


def test_the_banner_s_since_is_the_trusted_clock_less_the_monotonic_outage(painter):
    # the link went down at 01:50 by an unsynchronised clock; five minutes later
    # (monotonic) the clock is synchronised and reads 12:05
    made = Board("nrs", (TileSpec("nrs", "icu", None, Label("ICU")),), now=0.0)
    made.set_connected(True, 0.0, at(1, 40))
    made.set_connected(False, 100.0, at(1, 50))
    display = DisplaySettings(id="lobby", title=Label("NRS"), languages=("en",),
                              burn_in=BurnIn(pixels=0))
    renderer = Renderer(display, Words(("en",)), painter, (1920, 1080))
    renderer.draw(pygame.Surface((1920, 1080)), made.view(400.0), 400.0,
                  at(12, 5).astimezone(KOLKATA))
    said = banner(renderer)
    assert "since 12:00 (5 min)" in said, said
    assert "01:50" not in said


def night_app(tmp_path, now, synced):
    path = write_config(tmp_path, BOARD_YAML.replace(
        "      burn_in: {pixels: 0}",
        "      burn_in: {pixels: 0}\n"
        "      night: {from: \"23:00\", to: \"06:00\", brightness: 0.3}"))
    return BoardApp(config.read(path), clock=lambda: now["mono"],
                    wall_clock=lambda: now["wall"], link_factory=_NoLink,
                    clock_synced=lambda: synced["now"])


def dimmed(app):
    return app.renderer.palette != app.renderer._base_palette   # pylint: disable=protected-access


def test_no_night_dimming_by_an_unsynchronised_clock(tmp_path):
    # real noon; the Pi's clock says 23:30 and is not synchronised
    now = {"mono": 1000.0, "wall": at(23, 30)}
    app = night_app(tmp_path, now, {"now": False})
    try:
        surface = pygame.Surface((1280, 720))
        app.draw(surface, full=True)
        assert not dimmed(app)
    finally:
        app.close()


def test_dimming_follows_the_last_trusted_time_carried_on_the_monotonic_clock(tmp_path):
    now = {"mono": 1000.0, "wall": at(12, 0)}
    synced = {"now": True}
    app = night_app(tmp_path, now, synced)
    try:
        surface = pygame.Surface((1280, 720))
        app.draw(surface, full=True)
        assert not dimmed(app)
        # the time server goes away and the clock is stepped to 23:30: still noon
        synced["now"] = False
        now["mono"] += 10.0
        now["wall"] = at(23, 30)
        app.draw(surface)
        assert not dimmed(app)
        # eleven hours later by the monotonic clock it is 23:00 (whatever the wall says)
        now["mono"] += 11 * 3600.0
        now["wall"] = at(3, 0)
        app.draw(surface)
        assert dimmed(app)
        assert app.renderer.report()[0] is not None
        clock = [r for r in app.renderer.report() if r.part == "clock"]
        assert not any(r.texts for r in clock)                  # and no time is shown
    finally:
        app.close()


def test_a_synchronised_clock_dims_by_the_time_of_day(tmp_path):
    now = {"mono": 1000.0, "wall": at(23, 30)}
    app = night_app(tmp_path, now, {"now": True})
    try:
        app.draw(pygame.Surface((1280, 720)), full=True)
        assert dimmed(app)
        now["wall"] += timedelta(hours=8)
        now["mono"] += 8 * 3600.0
        app.draw(pygame.Surface((1280, 720)))
        assert not dimmed(app)
    finally:
        app.close()
