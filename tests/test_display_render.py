"""Drawing on SDL's dummy driver: the right numbers in the right tiles, grey when
not reporting, the banner when the broker is lost, Bengali shaped, turned and
paged screens, and only what changed redrawn."""

import dataclasses
import os
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pygame
import pytest

from bedboard.payloads import WardState
from bedboard.topics import WardKey
from display.board import Board, Status, TileView
from display.config import BurnIn, DisplaySettings, Label, TileSpec
from display.fonts import NOTO, FontBook
from display.layout import Box
from display.render import Palette, Renderer, contrast
from display.screen import Screen, map_rect
from display.text import TextPainter
from display.words import Words

from .display_helpers import figure_pixels, shows_figure

WALL = datetime(2026, 11, 25, 12, 30, tzinfo=timezone.utc)
LOCAL = WALL.astimezone(ZoneInfo("Asia/Kolkata"))
PALETTE = Palette()


@pytest.fixture(scope="module")
def painter():
    pygame.font.init()
    return TextPainter(FontBook())


def settings(**kw):
    kw.setdefault("burn_in", BurnIn(pixels=0))
    return DisplaySettings(id="lobby", title=Label("NRS Medical College & Hospital",
                                                   "নীলরতন সরকার মেডিকেল কলেজ ও হাসপাতাল"),
                           **kw)


def make_board(count, vacancies=None, hospital="nrs"):
    """A connected board of ``count`` one-ward tiles; tile i has vacancies[i] free."""
    specs = tuple(TileSpec(hospital, "dept-%d" % i, None, Label("Dept %d" % i, "বিভাগ %d" % i))
                  for i in range(count))
    board = Board(hospital, specs, now=0.0)
    board.set_connected(True, 0.0, WALL)
    for i, vacant in enumerate(vacancies or [i % 50 for i in range(count)]):
        board.receive_state(WardKey(hospital, "dept-%d" % i, "ward"),
                            WardState(capacity=100, occupied=100 - vacant, seq=1, at=WALL,
                                      agent="agent-%d" % i), 1.0, WALL)
    return board


def draw(painter, board, size=(1920, 1080), now=2.0, display=None, renderer=None):
    renderer = renderer or Renderer(display or settings(), Words(), painter, size)
    surface = pygame.Surface(size)
    renderer.draw(surface, board.view(now), now, LOCAL)
    return renderer, surface


def region(surface, box):
    return surface.subsurface(pygame.Rect(box.x, box.y, box.w, box.h))


# -- numbers in the right tiles -------------------------------------------------

def test_each_tile_shows_its_own_vacant_figure(painter):
    vacancies = [7, 0, 12, 3, 45, 1, 9, 30]
    board = make_board(8, vacancies)
    renderer, surface = draw(painter, board)
    layout = renderer.layout
    view = board.view(2.0)
    for index, slot in enumerate(layout.slots):
        look = PALETTE.look(view.tiles[index].status)
        assert shows_figure(painter, surface, slot, layout, str(vacancies[index]), look)
        # and not its neighbour's
        other = str(vacancies[(index + 1) % 8])
        assert not shows_figure(painter, surface, slot, layout, other, look)


@pytest.mark.parametrize("count", range(1, 13))
def test_on_a_1080p_board_of_up_to_12_tiles_the_figure_is_an_eighth_of_the_height(
        painter, count):
    board = make_board(count, [88] * count)
    renderer, surface = draw(painter, board)
    layout = renderer.layout
    for slot in layout.slots:
        box, _ = figure_pixels(surface, slot, layout, PALETTE.available.figure)
        assert box.h >= 1080 / 8, (count, box)
        # the biggest thing on the tile: taller than any text line
        assert box.h > max(line.h for line in layout.tile.labels) * 2


def drawn_in(renderer, part="tile"):
    """The PartReports of ``part`` in the renderer's report, in order."""
    return [report for report in renderer.report() if report.part == part]


def shows_text(painter, surface, text_drawn, colour, background, bold=False):
    """Whether each line of ``text_drawn`` is on ``surface`` exactly as rendered."""
    for text, box in text_drawn.lines:
        image = painter.render(text, text_drawn.size, colour, background, bold)
        drawn = surface.subsurface(pygame.Rect(box.x, box.y, box.w, box.h))
        if pygame.image.tobytes(drawn, "RGB") != pygame.image.tobytes(image, "RGB"):
            return False
    return True


def test_states_in_words_and_colour(painter):
    board = make_board(3, [20, 2, 0])
    renderer, surface = draw(painter, board)
    layout = renderer.layout
    tiles = drawn_in(renderer)
    for slot, status, report in zip(layout.slots, (Status.AVAILABLE, Status.FEW_LEFT,
                                                   Status.FULL), tiles):
        look = PALETTE.look(status)
        bar = layout.tile.state.moved(slot.x, slot.y)
        assert surface.get_at((bar.x + 3, bar.y + bar.h // 2))[:3] == look.bar
        words = Words()
        state = [d for d in report.texts if d.role == "state"]
        # in both languages, side by side, on the bar
        assert [(d.languages, d.phrase) for d in state] == [
            (("en", "bn"), " · ".join(t for _, t in words.each(status.value)))]
        assert bar.contains(state[0].box)
        assert shows_text(painter, surface, state[0], look.bar_text, look.bar, bold=True)


def test_a_not_reporting_tile_is_grey_and_says_so(painter):
    board = make_board(2, [10, 10])
    board.receive_status("agent-1", False, 1.5)
    renderer, surface = draw(painter, board)
    layout = renderer.layout
    live_box, _ = figure_pixels(surface, layout.slots[0], layout, PALETTE.available.figure)
    grey_box, grey_count = figure_pixels(surface, layout.slots[1], layout, PALETTE.grey.figure)
    assert live_box is not None and grey_box is not None and grey_count > 500
    _, green_in_grey = figure_pixels(surface, layout.slots[1], layout,
                                     PALETTE.available.figure)
    assert green_in_grey == 0                       # no live colour on it anywhere
    bar = layout.tile.state.moved(layout.slots[1].x, layout.slots[1].y)
    assert surface.get_at((bar.x + 3, bar.y + bar.h // 2))[:3] == PALETTE.grey.bar
    assert shows_figure(painter, surface, layout.slots[1], layout, "10", PALETTE.grey)


def test_the_banner_appears_when_the_broker_is_lost_and_figures_go_grey(painter):
    board = make_board(10, [5] * 10)
    renderer, surface = draw(painter, board)
    assert renderer.layout.banner is None
    board.set_connected(False, 3.0, WALL)
    renderer.draw(surface, board.view(4.0), 4.0, LOCAL)
    layout = renderer.layout
    banner = region(surface, layout.banner)
    red = pygame.mask.from_threshold(banner, PALETTE.banner, (2, 2, 2, 255)).count()
    assert red > 0.6 * layout.banner.w * layout.banner.h
    white = pygame.mask.from_threshold(banner, PALETTE.banner_text, (60, 60, 60, 255))
    assert white.count() > 1000                      # it says something
    for slot in layout.slots:
        _, live = figure_pixels(surface, slot, layout, PALETTE.available.figure)
        assert live == 0
        assert shows_figure(painter, surface, slot, layout, "5", PALETTE.last_known)
    # the same pages with and without the banner
    assert (layout.pages, layout.per_page) == (1, 10)


def test_nothing_shown_as_a_number_without_data(painter):
    specs = (TileSpec("nrs", "icu", None, Label("ICU")),)
    board = Board("nrs", specs, now=0.0)
    renderer, surface = draw(painter, board, now=1.0)
    layout = renderer.layout
    box, _ = figure_pixels(surface, layout.slots[0], layout, PALETTE.grey.figure)
    assert box.h < layout.tile.figure_ink / 4       # a dash, not a digit


# -- Bengali ----------------------------------------------------------------------

def _found_at(painter, word, part):
    """Where glyph ``part`` best matches inside the shaped rendering of ``word``."""
    black, white = (0, 0, 0), (255, 255, 255)
    whole = painter.render(word, 40, black, white, bold=True)
    piece = painter.render(part, 40, black, white, bold=True)
    whole_mask = pygame.mask.from_threshold(whole, black, (128, 128, 128, 255))
    piece_mask = pygame.mask.from_threshold(piece, black, (128, 128, 128, 255))
    return max(range(0, whole.get_width() - piece.get_width() + 1),
               key=lambda x: whole_mask.overlap_area(piece_mask, (x, 0)))


@pytest.mark.skipif(not os.path.exists(NOTO + "/NotoSansBengali-Bold.ttf"),
                    reason="Noto Sans Bengali is not installed")
def test_bengali_is_shaped(painter):
    # pre-base vowel signs are drawn before their consonant (ে of মে, ি of কি)
    assert _found_at(painter, "মেডিসিন", "ম") > 8
    assert _found_at(painter, "কি", "ক") > 8
    # a conjunct is one glyph, narrower than its parts side by side
    conjunct = painter.render("ক্ষ", 40, (0, 0, 0), (255, 255, 255), bold=True)
    font = pygame.font.Font(NOTO + "/NotoSansBengali-Bold.ttf", 40)      # unshaped
    assert conjunct.get_width() < 0.8 * font.size("ক্ষ")[0]


def test_mixed_lines_use_each_script_s_font(painter):
    runs = painter.runs("Medicine · মেডিসিন (পুরুষ) 12")
    assert [script for script, _ in runs] == ["latin", "bengali"]
    assert runs[1][1] == "মেডিসিন (পুরুষ) 12"


def test_bengali_numerals_when_asked(painter):
    words = Words(bengali_numerals=True)
    assert words.figure(120) == "১২০"
    assert words.say("occupied", "bn", n=31) == "ভর্তি ৩১"
    assert words.say("occupied", "en", n=31) == "31 occupied"
    image = painter.figure("১২০", 100, 1000, (255, 255, 255), (0, 0, 0))
    assert image.get_width() > 100


def test_a_missing_font_falls_back_instead_of_crashing(painter):
    fonts = FontBook(faces={("latin", False): "/nonexistent.ttf", ("latin", True): None,
                            ("bengali", False): None, ("bengali", True): None})
    assert not fonts.has_bengali
    fallback = TextPainter(fonts)
    assert fallback.render("Medicine মেডিসিন", 30, (255, 255, 255), (0, 0, 0)).get_width() > 50


# -- paging, rotation, dirty rectangles ------------------------------------------

def test_120_tiles_turn_pages_with_an_indicator(painter):
    board = make_board(120, [i % 90 for i in range(120)])
    display = settings()
    renderer = Renderer(display, Words(), painter, (1920, 1080), page_seconds=10)
    surface = pygame.Surface((1920, 1080))
    renderer.draw(surface, board.view(2.0), 2.0, LOCAL)
    layout = renderer.layout
    assert layout.pages == 3 and layout.per_page == 40 and layout.legible()
    assert renderer.page == 0
    pager = region(surface, layout.pager)
    assert pygame.mask.from_threshold(pager, PALETTE.text, (30, 30, 30, 255)).count() > 20
    view = board.view(13.0)
    renderer.draw(surface, view, 13.0, LOCAL)
    assert renderer.page == 1
    first = layout.page_tiles(1)[0]
    assert first == 40
    assert shows_figure(painter, surface, layout.slots[0], layout, str(first % 90),
                        PALETTE.look(view.tiles[first].status))
    renderer.draw(surface, board.view(33.0), 33.0, LOCAL)
    assert renderer.page == 0


def test_only_what_changed_is_redrawn(painter):
    board = make_board(10, [5] * 10)
    renderer, surface = draw(painter, board)
    assert renderer.draw(surface, board.view(2.0), 2.0, LOCAL) == []
    board.receive_state(WardKey("nrs", "dept-3", "ward"),
                        WardState(capacity=60, occupied=50, seq=2, at=WALL, agent="agent-3"),
                        2.5, WALL)
    rects = renderer.draw(surface, board.view(2.6), 2.6, LOCAL)
    slot, total = renderer.layout.slots[3], renderer.layout.total
    assert rects == [pygame.Rect(slot.x, slot.y, slot.w, slot.h),     # its tile
                     pygame.Rect(total.x, total.y, total.w, total.h)]  # the total
    # the clock: its own small rectangle, once a second
    later = LOCAL.replace(second=(LOCAL.second + 1) % 60)
    rects = renderer.draw(surface, board.view(2.7), 2.7, later)
    assert len(rects) == 1 and rects[0].w < 500 and rects[0].h < 100


def test_night_dimming_and_burn_in_shift_redraw_everything(painter):
    board = make_board(4, [5] * 4)
    renderer, surface = draw(painter, board, display=settings(burn_in=BurnIn(pixels=4)))
    slot = renderer.layout.slots[0]
    corner = (slot.x + slot.w // 2, slot.y + 3)          # the tile's own background
    bright = surface.get_at(corner)[:3]
    renderer.set_brightness(0.3)
    rects = renderer.draw(surface, board.view(2.0), 2.0, LOCAL)
    assert rects == [surface.get_rect()]
    dim = surface.get_at(corner)[:3]
    assert all(d <= b * 0.35 for d, b in zip(dim, bright))
    # and the texts stay readable on it
    figure = [d for d in drawn_in(renderer)[0].texts if d.role == "figure"][0]
    assert shows_figure(painter, surface, slot, renderer.layout, figure.phrase,
                        renderer.palette.available)
    assert contrast(renderer.palette.available.figure, dim) >= 3
    before = renderer.layout.slots[0]
    renderer.set_offset(4, 2)
    renderer.draw(surface, board.view(2.0), 2.0, LOCAL)
    assert renderer.layout.slots[0] == Box(before.x + 4, before.y + 2, before.w, before.h)


@pytest.mark.parametrize("brightness", [1.0, 0.6, 0.3, 0.1])
def test_every_text_keeps_its_contrast_whatever_the_dimming(brightness):
    palette = PALETTE.dimmed(brightness)
    pairs = palette.text_pairs()
    assert len(pairs) == 8 + 7 * len(palette.looks())      # every Look, every role
    for name, text, background, least in pairs:
        assert contrast(text, background) >= least, (brightness, name, text, background)
    # while the backgrounds do dim
    for name, look in palette.looks().items():
        full = PALETTE.looks()[name]
        assert all(d <= round(f * brightness) for d, f in zip(look.tile, full.tile))
        assert all(d <= round(f * brightness) for d, f in zip(look.bar, full.bar))
    assert palette.background == tuple(round(c * brightness) for c in PALETTE.background)


def test_at_full_brightness_the_palette_is_used_as_it_is():
    assert PALETTE.dimmed(1.0) is PALETTE
    # the dimmed state words at 0.3: AVAILABLE on its green was 1.8:1 before the floor
    dim = PALETTE.dimmed(0.3).available
    assert contrast(dim.bar_text, dim.bar) >= 4.5


def test_contrast_follows_wcag():
    assert round(contrast((255, 255, 255), (0, 0, 0)), 1) == 21.0
    assert contrast((118, 118, 118), (255, 255, 255)) == pytest.approx(4.54, abs=0.01)
    assert contrast((20, 20, 20), (20, 20, 20)) == 1.0


@pytest.mark.parametrize("rotate", [0, 90, 180, 270])
def test_map_rect_turns_the_canvas_onto_the_framebuffer(rotate):
    size = (300, 200)
    # the canvas's top-left pixel lands on the framebuffer's corner for each turn
    corner = map_rect((0, 0, 1, 1), rotate, size)
    expected = {0: (0, 0), 90: (199, 0), 180: (299, 199), 270: (0, 299)}[rotate]
    assert corner.topleft == expected
    whole = map_rect((0, 0, 300, 200), rotate, size)
    assert whole.size == ((200, 300) if rotate in (90, 270) else (300, 200))
    assert whole.topleft == (0, 0)


@pytest.mark.parametrize("rotate", [90, 180, 270])
def test_a_turned_screen_shows_the_board_upright_for_its_mounting(monkeypatch, rotate):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    screen = Screen((320, 180), rotate)
    try:
        assert screen.size == (320, 180)
        assert screen.window.get_size() == ((180, 320) if rotate in (90, 270) else (320, 180))
        screen.canvas.fill((0, 0, 0))
        screen.canvas.fill((255, 0, 0), pygame.Rect(0, 0, 10, 10))      # top-left mark
        screen.present([screen.canvas.get_rect()])
        corner = map_rect((0, 0, 10, 10), rotate, (320, 180))
        assert screen.window.get_at(corner.center)[:3] == (255, 0, 0)
        far = map_rect((310, 170, 10, 10), rotate, (320, 180))
        assert screen.window.get_at(far.center)[:3] == (0, 0, 0)
    finally:
        screen.close()


def test_an_unasked_for_headless_driver_is_refused(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "offscreen")
    screen = Screen((320, 180))          # asked for: a deliberate headless run
    screen.close()
    monkeypatch.delenv("SDL_VIDEODRIVER")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    from bedboard.errors import DisplayError      # pylint: disable=import-outside-toplevel
    try:
        screen = Screen((320, 180))
    except DisplayError as exc:
        assert "SDL_VIDEODRIVER" in str(exc)
    else:       # this machine has a real screen after all
        assert screen.driver not in ("dummy", "offscreen")
        screen.close()


def test_tile_views_compare_by_content():
    label = Label("ICU")
    assert TileView(label, Status.FULL, 0, 10, 10, 0) == TileView(label, Status.FULL, 0, 10, 10, 0)
    assert TileView(label, Status.FULL, 0, 10, 10, 0) != TileView(label, Status.FULL, 0, 10, 9, 1)


def test_the_message_line_and_the_total_are_in_the_footer(painter):
    display = settings(message=Label("Bed enquiries: 033 2286 0033", "শয্যার খোঁজ: ০৩৩ ২২৮৬ ০০৩৩"))
    board = make_board(4, [5, 6, 0, 1])
    renderer, surface = draw(painter, board, display=display)
    layout = renderer.layout
    message = surface.subsurface(pygame.Rect(layout.message.x, layout.message.y,
                                             layout.message.w, layout.message.h))
    assert pygame.mask.from_threshold(message, PALETTE.warning, (30, 30, 30, 255)).count() > 300
    assert board.view(2.0).total_vacant == 12
    assert said(renderer, "message") == "Bed enquiries: 033 2286 0033 · শয্যার খোঁজ: ০৩৩ ২২৮৬ ০০৩৩"
    total = [d for r in drawn_in(renderer, "total") for d in r.texts]
    assert " · ".join(d.phrase for d in total) == ("Vacant beds on this board: 12 · "
                                                  "এই বোর্ডে খালি শয্যা: 12")
    assert all(layout.total.contains(d.box) for d in total)
    assert all(shows_text(painter, surface, d, PALETTE.text, PALETTE.background, bold=True)
               for d in total)


# -- the wall clock, shown only when it can be trusted ----------------------------

def _texts(renderer, part):
    return [d for r in drawn_in(renderer, part) for d in r.texts]


def said(renderer, part):
    """What ``part`` says, its languages joined (side by side or one a line alike)."""
    return " · ".join(d.phrase for d in _texts(renderer, part))


def test_a_trusted_clock_shows_the_time_the_date_and_since_when(painter):
    board = make_board(4, [5] * 4)
    board.set_connected(False, 3.0, WALL)
    renderer, _ = draw(painter, board, now=4.0 + 4 * 60)
    assert [d.phrase for d in _texts(renderer, "clock")] == ["18:00:00"]
    assert said(renderer, "date") == "Wed 25 Nov 2026 · বুধবার, 25 নভেম্বর 2026"
    banner = said(renderer, "banner")
    # the clock reads 18:00:00 and the link went down 4 min 1 s ago (monotonic): since
    # 17:55, whatever wall time was noted when it went (issue 15, finding 11)
    assert "since 17:55 (4 min)" in banner and "17:55 থেকে" in banner


def test_an_untrusted_clock_is_left_out_and_the_banner_says_for_how_long(painter):
    board = make_board(4, [5] * 4)
    board.set_connected(False, 3.0, WALL)
    renderer = Renderer(settings(), Words(), painter, (1920, 1080))
    surface = pygame.Surface((1920, 1080))
    renderer.draw(surface, board.view(4.0 + 4 * 60), 4.0 + 4 * 60, None)
    assert _texts(renderer, "clock") == [] and _texts(renderer, "date") == []
    clock = renderer.layout.clock
    header = pygame.mask.from_threshold(
        surface.subsurface(pygame.Rect(clock.x, clock.y, clock.w, clock.h)),
        PALETTE.header, (1, 1, 1, 255))
    assert header.count() == clock.w * clock.h          # nothing but the header there
    banner = said(renderer, "banner")
    assert banner.startswith("No connection to the bed server for 4 min.")
    assert "18:00" not in banner and "4 মিনিট ধরে" in banner
    # and back when the clock is synchronised again
    renderer.draw(surface, board.view(300.0), 300.0, LOCAL)
    assert [d.phrase for d in _texts(renderer, "clock")] == ["18:00:00"]


def test_live_only_while_some_tile_is_live_and_a_total_only_when_known(painter):
    board = make_board(2, [5, 6])
    renderer, surface = draw(painter, board)
    assert said(renderer, "connection") == "LIVE · সরাসরি"
    view = dataclasses.replace(board.view(2.0), live_tiles=0, total_vacant=None)
    renderer.draw(surface, view, 2.0, LOCAL)
    assert said(renderer, "connection") == "NO LIVE DATA · সরাসরি তথ্য নেই"
    assert said(renderer, "total") == ("Vacant beds on this board: not known yet · "
                                       "এই বোর্ডে খালি শয্যা: এখনও জানা নেই")


def test_closed_and_partial_tiles_have_their_own_looks():
    looks = {status: PALETTE.look(status) for status in Status}
    assert len({looks[s] for s in (Status.AVAILABLE, Status.FEW_LEFT, Status.FULL,
                                   Status.CLOSED, Status.PARTIAL, Status.LAST_KNOWN)}) == 6
    assert looks[Status.PARTIAL].bar != looks[Status.AVAILABLE].bar
    partial = looks[Status.PARTIAL].bar
    assert not partial[1] > max(partial[0], partial[2])          # a caution, not green
    closed = looks[Status.CLOSED].bar
    assert max(closed) - min(closed) < 40                          # neutral


def test_a_figure_of_many_digits_never_spills_out_of_its_box(painter):
    for text in ("100000", "১০০০০০", "88888"):
        for width in range(30, 260, 7):
            image = painter.figure(text, 400, width, (255, 255, 255), (0, 0, 0))
            assert image.get_width() <= width, (text, width)


def test_the_image_caches_are_bounded_by_bytes_as_well_as_by_count():
    from display.text import ImageCache
    cache = ImageCache(limit=100, max_bytes=3 * 100 * 100 * 4)
    for number in range(10):
        cache.keep(number, pygame.Surface((100, 100), 0, 32))
    assert list(cache) == [7, 8, 9] and cache.bytes == 3 * 100 * 100 * 4
    cache.fetch(7)
    cache.keep("big", pygame.Surface((100, 100), 0, 32))
    assert list(cache) == [9, 7, "big"]       # the least recently used went first
    huge = cache.keep("huge", pygame.Surface((400, 400), 0, 32))
    assert list(cache) == ["huge"] and cache.fetch("huge") is huge   # one always stays


def test_an_image_cache_emptied_counts_no_bytes_and_fills_again():
    # a new screen geometry or palette empties a tile's cache: its byte count must go
    # with it, or the stale count evicts every new image at once (one kept at a time)
    from display.text import ImageCache
    cache = ImageCache(limit=100, max_bytes=3 * 100 * 100 * 4)
    for number in range(3):
        cache.keep(number, pygame.Surface((100, 100), 0, 32))
    cache.clear()
    assert cache.bytes == 0
    for number in range(3):
        cache.keep(number, pygame.Surface((100, 100), 0, 32))
    assert list(cache) == [0, 1, 2]
    cache.keep(1, pygame.Surface((50, 50), 0, 32))         # kept again: weighed again
    assert cache.bytes == 2 * 100 * 100 * 4 + 50 * 50 * 4


@pytest.mark.parametrize("languages, numerals", [
    (("bn", "en"), "latin"), (("bn", "en"), "native"), (("bn", "hi", "en"), "native"),
    (("bn", "ur", "en"), "native")])
def test_a_changed_number_is_laid_out_exactly_as_a_search_would_lay_it_out(
        painter, languages, numerals):
    # arrange() lays "17 occupied" out as "00 occupied" was (the burst's cost): on the
    # board's fonts that must be the very arrangement its own search finds
    from display.words import Words
    words = Words(languages, numerals=numerals)
    for number in (0, 1, 7, 17, 40, 99, 104, 1234):
        for key, box, wrap in (("occupied", (260, 120), False), ("of-beds", (180, 90), False),
                               ("total", (900, 60), True), ("total", (420, 90), True)):
            parts = words.each(key, n=number, m=2)
            for size in (18, 30, 44):
                made = painter.arrange(parts, box[0], box[1], size, 12, wrap=wrap)
                assert made == painter._search(parts, box[0], box[1], size, 12, False, wrap,
                                               1.0), (parts, box, size)


def test_a_row_the_zeros_fit_but_its_own_digits_do_not_is_searched_anew(painter):
    # a font whose digits differ in width (or kern): the shape of the zeros is checked
    # against the row's own text, and searched again when it does not fit
    from display.text import TextPainter
    narrow_zeros = TextPainter(painter.fonts)
    real_width = narrow_zeros.width

    def width(text, size, bold=False):
        return real_width(text, size, bold) // 2 if "0" in text and "7" not in text \
            else real_width(text, size, bold)
    narrow_zeros.width = width
    parts = [("en", "777 beds occupied")]
    made = narrow_zeros.arrange(parts, 200, 60, 40, 8)
    assert made is not None and made.rows[0].text == "777 beds occupied"
    assert max(made.widths) <= 200
    assert made == narrow_zeros._search(parts, 200, 60, 40, 8, False, False, 1.0)
