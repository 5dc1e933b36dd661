"""Every text on every board we may meet: whole, readable, inside its place, in every language.

The matrix: 1, 2, 3, 4, 6, 8, 10, 12, 20, 40 and 120 tiles; 1280×720,
1366×768, 1920×1080, 3840×2160 and 800×480 (the official Pi touchscreen),
each landscape and portrait (``rotate: 90`` — the board is drawn upright at
the size a reader sees, the screen turns it); languages ``[en, bn]``,
``[bn, en]``, ``[en]`` and ``[bn]``, each with and without Bengali numerals.
That is 880 boards, every one drawn, every page of it (the test prints how
many pages and tiles that made).  Then every language set of
:data:`LANGUAGE_SETS` — three at once, Urdu beside others and first, four
and all eight that take turns — on every size both ways up at 2, 10 and 40
tiles, every turn of its languages drawn and checked by the same rules.

The tiles rotate through the boards, so that each size and orientation
meets every one of them: every tile state — each member of
:class:`display.board.Status`, crossed with every note and "updated" line
:func:`display.tile.note_for` and :func:`display.tile.updated_for` can
produce (each flag of :class:`~display.board.TileView` set, each
:class:`~display.board.Reason`, silent and changed minutes of None, 0 and
more) — with figures of 1 to 6 digits and capacities up to 100000.  One
board in three also has long labels ("Obstetrics & Gynaecology (Labour
Room)"), one in four has lost its broker (the banner), one in eight does not
trust its clock, one in five has a footer message.  New states and flags in
the model are picked up by themselves; every note is checked to have been
drawn somewhere.  And a cheap lobby TV — four tiles at 1280×720 — must show
every state and note with nothing left out at all; and screens of any shape
with labels of one to six words (Hypothesis, 40 fixed examples) keep the
same rules.

For each page drawn, from the renderer's own report of what it drew: every
text is whole (nothing cut, no "…"), at least the readable size, inside its
tile or part of the board and overlapping no other text; every tile says
its label, figure and state words, each phrase in every configured language
in their order; what a tile leaves out is left out whole, in the fixed order
(the note, then "updated", then occupied and blocked, then "of N beds"); and
the figure is the largest text in its tile.  Rendered on SDL's dummy driver,
no broker.
"""

import dataclasses
import itertools
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pygame
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from display.board import BoardView, Reason, Status, TileView
from display.config import BurnIn, DisplaySettings, Label
from display.fonts import FontBook
from display.layout import readable
from display.render import Renderer
from display.text import TextPainter, joined
from display.tile import RANKS, bar_for, note_for
from display.tilewords import qualified
from display.words import Words

COUNTS = (1, 2, 3, 4, 6, 8, 10, 12, 20, 40, 120)
SIZES = ((1280, 720), (1366, 768), (1920, 1080), (3840, 2160), (800, 480))
LANGUAGES = (("en", "bn"), ("bn", "en"), ("en",), ("bn",))
WALL = datetime(2026, 11, 25, 12, 30, tzinfo=timezone.utc)
LOCAL = WALL.astimezone(ZoneInfo("Asia/Kolkata"))

SHORT_LABELS = (Label("ICU", "আইসিইউ"), Label("Medicine (Male)", "মেডিসিন (পুরুষ)"),
                Label("Surgery", "সার্জারি"), Label("Obs & Gynae", "স্ত্রীরোগ ও প্রসূতি"),
                Label("NMC · Paediatrics", "ন্যাশনাল · শিশু বিভাগ"))
LONG_LABELS = (Label("Obstetrics & Gynaecology (Labour Room)", "স্ত্রীরোগ ও প্রসূতি (লেবার রুম)"),
               Label("Cardiothoracic & Vascular Surgery", "কার্ডিওথোরাসিক ও ভাসকুলার সার্জারি"))
CAPACITIES = (12, 40, 999, 100000)
MINUTES = (None, 0, 7, 135, 3000)       # silent / changed: unknown, now, min, h min, days


def flag_variants():
    """One set of TileView fields per thing a tile can say, found from TileView itself."""
    variants = [{}]
    for field in dataclasses.fields(TileView):
        if field.name in ("label", "status", "vacant", "capacity", "occupied", "blocked"):
            continue
        if field.name == "reason":
            variants += [{"reason": reason} for reason in Reason]
        elif field.name == "reasons":
            continue                    # MANY_NOTES below
        elif field.name == "held":
            variants += [{"held": 2}, {"held": 2, "check_due": True, "unchecked_minutes": 300},
                         {"check_due": True, "missing": 2, "wards": 5}]
        elif field.name.endswith("_minutes"):
            variants += [{field.name: value} for value in MINUTES]
        elif field.default is False:
            variants.append({field.name: True})
        elif field.default == 0:
            variants.append({field.name: 2, "wards": 5})
    return variants


def tile_samples():
    """Every Status crossed with every flag variant, with figures of every length."""
    samples = []
    for number, (status, flags) in enumerate(itertools.product(Status, flag_variants())):
        capacity = CAPACITIES[number % len(CAPACITIES)]
        if status is Status.WAITING:
            figures = {}
        else:
            vacant = (0, 1, 3, capacity // 7, capacity)[number % 5]
            if status is Status.FULL:
                vacant = 0
            blocked = (0, 2)[number % 2]
            figures = {"vacant": vacant, "capacity": capacity, "blocked": blocked,
                       "occupied": max(0, capacity - vacant - blocked)}
        samples.append(dict(status=status, **figures, **flags))
    return samples


SAMPLES = tile_samples()
# every reason at once, and every other doubt: each is a note of its own, and
# the bar says the figure leaves wards out (drawn on any screen, below)
MANY_NOTES = [dict(status=status, vacant=4, capacity=40, occupied=34, blocked=2,
                   reasons=tuple(Reason), reason=Reason.RESET, missing=3, wards=5,
                   conflict=True, reset=True, unconfirmed=True, mismatched=2,
                   highlighted=True, changed_minutes=7)
              for status in (Status.PARTIAL, Status.LAST_KNOWN, Status.CHECKING)]


@pytest.fixture(scope="module")
def painter():
    pygame.font.init()
    return TextPainter(FontBook())


def boards():
    """``(size, count, languages, numerals, connected, clock known, message, tiles)``."""
    cursor = {}
    for number, (size, portrait, languages, numerals, count) in enumerate(
            itertools.product(SIZES, (False, True), LANGUAGES, (False, True), COUNTS)):
        reader = (size[1], size[0]) if portrait else size
        start = cursor.get(reader, 0)
        cursor[reader] = start + count
        labels = SHORT_LABELS + (LONG_LABELS if number % 3 == 0 else ())
        tiles = []
        for i in range(count):
            sample = SAMPLES[(start + i) % len(SAMPLES)]
            tiles.append(TileView(label=labels[(start + i) % len(labels)], **sample))
        yield (reader, count, languages, numerals, number % 4 != 3, number % 8 != 7,
               number % 5 == 0, tuple(tiles))


def board_view(tiles, connected):
    live = sum(1 for t in tiles if t.status.live)
    totals = [t.vacant for t in tiles if t.status.live and t.vacant is not None]
    return BoardView(tiles=tiles, connected=connected, ever_connected=True,
                     since=WALL, since_minutes=75, total_vacant=sum(totals) if totals else None,
                     tiles_not_live=len(tiles) - live, live_tiles=live)


def check_page(renderer, words, size, count):
    """Assert the rules on the page just drawn; return how many tiles it showed."""
    reports = renderer.report()
    least = readable(min(size))
    board_box = (0, 0) + tuple(size)
    everything = []
    tiles = [r for r in reports if r.part == "tile"]
    for report in reports:
        for drawn in report.texts:
            where = (report.part, report.index, drawn.role, drawn.phrase)
            assert drawn.whole and "…" not in drawn.phrase, where
            assert drawn.size >= least, (where, drawn.size, least)
            box = drawn.box
            assert report.box.contains(box), (where, box, report.box)
            assert 0 <= box.x and 0 <= box.y and box.right <= board_box[2] \
                and box.bottom <= board_box[3], where
            everything.extend((line, where) for _, line in drawn.lines)
        # the essentials of the header and footer are never left out
        assert not [gone for gone in report.left_out
                    if gone[0] in ("title", "connection", "banner", "total", "clock", "page")], \
            (report.part, report.left_out)
    for i, (line, where) in enumerate(everything):
        for other, other_where in everything[i + 1:]:
            assert not line.overlaps(other), (where, other_where)
    expected = renderer.layout.page_tiles(renderer.page)
    assert [r.index for r in tiles] == list(expected)
    for report in tiles:
        check_tile(report, words)
    return len(tiles)


def check_tile(report, words):
    """One tile: languages in order, essentials there, left out whole and in order."""
    roles = {}
    for drawn in report.texts:
        roles.setdefault(drawn.role, []).extend(drawn.languages)
    for role, languages in roles.items():
        if role != "figure":
            assert tuple(languages) == words.languages, (report.index, role, languages)
    assert "label" in roles and "state" in roles, report
    for role, languages in report.left_out:
        assert role in RANKS, report.left_out             # never the label, figure, state
        assert tuple(languages) == words.languages
    if report.left_out:
        shown = [RANKS[role] for role in roles if role in RANKS]
        gone = [RANKS[role] for role, _ in report.left_out]
        assert max(shown, default=0) < min(gone), (shown, gone)
    figure = [d for d in report.texts if d.role == "figure"]
    if figure:
        others = [d.size for d in report.texts if d.role != "figure"]
        assert figure[0].size > max(others), (report.index, figure[0].size, others)
        # and its digits stand taller than any other text's capitals (¾ of its size)
        assert figure[0].box.h > 0.75 * max(others), (report.index, figure[0], others)


# 880 boards drawn: about a minute on a quiet machine, two or three on a loaded one
@pytest.mark.timeout(600)
def test_every_text_on_every_board_is_whole_readable_and_in_every_language(painter):
    pages = tiles_checked = boards_drawn = 0
    states, notes_drawn, left_out = {}, set(), {}
    for (size, count, languages, numerals, connected, clock_known, message,
         tiles) in boards():
        words = Words(languages, numerals)
        display = DisplaySettings(
            id="lobby", title=Label("NRS Medical College & Hospital",
                                    "নীলরতন সরকার মেডিকেল কলেজ ও হাসপাতাল"),
            languages=languages, bengali_numerals=numerals, burn_in=BurnIn(pixels=0),
            message=Label("Bed enquiries: 033 2286 0033", "শয্যার খোঁজ: ০৩৩ ২২৮৬ ০০৩৩")
            if message else None)
        renderer = Renderer(display, words, painter, size, page_seconds=10)
        surface = pygame.Surface(size)
        view = board_view(tiles, connected)
        local = LOCAL if clock_known else None
        renderer.draw(surface, view, 0.0, local)
        for page in range(renderer.layout.pages):
            if page:
                renderer.draw(surface, view, 10.0 * page, local)
            assert renderer.page == page
            try:
                tiles_checked += check_page(renderer, words, size, count)
            except AssertionError as exc:
                raise AssertionError("%dx%d, %d tiles, %s%s, page %d: %s" % (
                    size + (count, "/".join(languages), " (০-৯)" if numerals else "",
                            page + 1, exc))) from None
            pages += 1
            for report in renderer.report():
                if report.part == "tile":
                    check_bar(report, view.tiles[report.index], words)
                if any(d.role == "note" for d in report.texts):
                    notes_drawn.add(_note_key(view.tiles[report.index]))
                for role, _ in report.left_out:
                    left_out[role] = left_out.get(role, 0) + 1
        for tile in tiles:
            states.setdefault(size, set()).add(tile.status)
        boards_drawn += 1
    assert boards_drawn == len(SIZES) * 2 * len(LANGUAGES) * 2 * len(COUNTS) == 880
    # every size, both ways up, met every state; every note was drawn somewhere
    assert len(states) == 2 * len(SIZES) and all(s == set(Status) for s in states.values())
    notes = {_note_key(TileView(label=None, **sample)) for sample in SAMPLES} - {None}
    assert len(notes) > 10 and notes <= notes_drawn, notes - notes_drawn
    print("\nlayouts checked: %d boards, %d pages, %d tiles drawn from %d tile states; "
          "left out whole: %s" % (boards_drawn, pages, tiles_checked, len(SAMPLES),
                                  ", ".join("%s %d" % item for item in sorted(left_out.items()))))


def check_bar(report, tile, words):
    """The state bar says the state, and — for a figure that is not the whole truth —
    what it leaves out or that it is in doubt: never the plain words alone."""
    said = [d.phrase for d in report.texts if d.role == "state"]
    allowed = bar_for(tile, words)
    texts = {text for parts in allowed for text in [joined(parts)] + [t for _, t in parts]}
    assert said and all(phrase in texts for phrase in said), (report.index, said, allowed)
    if tile.check_due and qualified(tile) and not tile.missing:
        # a count not checked in time: every phrase the bar may say carries the
        # caution, so whichever was drawn says it (issue 20)
        without = [p for p in allowed if p in _qualified_only(tile, words)]
        assert not without, (report.index, without)
    elif tile.check_due and qualified(tile):
        # ... with wards missing too: the bar may fall back to the missing wards
        # alone only for more wards than the plan counts; what was drawn says both
        without = {text for parts in _qualified_only(tile, words)
                   for text in [joined(parts)] + [t for _, t in parts]}
        assert not set(said) & without, (report.index, said)
    if len(allowed) > 1 or allowed[0] != words.each(tile.status.value):
        plain = {text for _, text in words.each(tile.status.value)} | {
            joined(words.each(tile.status.value))}
        assert not set(said) & plain, (report.index, said)


def _qualified_only(tile, words):
    """The bar ``tile`` would have if its check were not due."""
    return bar_for(dataclasses.replace(tile, check_due=False), words)


def _note_key(view):
    """What the note of ``view`` says, in English (None: no note)."""
    parts, _ = note_for(view, Words(("en",)))
    return parts[0][1] if parts else None


@pytest.mark.parametrize("languages", [("en", "bn"), ("bn", "en")])
def test_a_few_tiles_on_a_cheap_lobby_tv_show_everything(painter, languages):
    # 1280×720, four tiles: every state and every note, with nothing left out at all
    words = Words(languages)
    display = DisplaySettings(id="lobby", title=Label("NRS", "এনআরএস"), languages=languages,
                              burn_in=BurnIn(pixels=0))
    boards_drawn = 0
    samples = SAMPLES
    for first in range(0, len(samples), 4):
        tiles = tuple(TileView(label=SHORT_LABELS[i % len(SHORT_LABELS)], **sample)
                      for i, sample in enumerate(samples[first:first + 4]))
        renderer = Renderer(display, words, painter, (1280, 720))
        renderer.draw(pygame.Surface((1280, 720)), board_view(tiles, True), 0.0, LOCAL)
        check_page(renderer, words, (1280, 720), len(tiles))
        for report in renderer.report():
            assert report.left_out == (), (report.index, tiles[report.index or 0],
                                           report.left_out)
        boards_drawn += 1
    assert boards_drawn == -(-len(samples) // 4)


_WORDS_EN = ("Medicine Surgery Ward Unit Paediatric Cardiac Intensive Care Neonatal Burns "
             "Isolation Male Female (Labour) & Room Block-C").split()
_WORDS_BN = ("মেডিসিন সার্জারি ওয়ার্ড ইউনিট শিশু হৃদরোগ নিবিড় পরিচর্যা নবজাতক পুরুষ মহিলা "
             "(লেবার) ও রুম").split()


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(width=st.integers(640, 3840), height=st.integers(480, 2400),
       count=st.sampled_from((1, 2, 5, 7, 13, 25, 33, 50, 77, 120)),
       languages=st.sampled_from(LANGUAGES), numerals=st.booleans(),
       connected=st.booleans(), data=st.data())
def test_any_screen_any_labels_the_same_rules_hold(painter, width, height, count, languages,
                                                   numerals, connected, data):
    # screens of any shape, labels of one to six words of either script
    label = st.builds(lambda en, bn: Label(" ".join(en), " ".join(bn)),
                      st.lists(st.sampled_from(_WORDS_EN), min_size=1, max_size=6),
                      st.lists(st.sampled_from(_WORDS_BN), min_size=1, max_size=6))
    labels = data.draw(st.lists(label, min_size=count, max_size=count))
    samples = data.draw(st.lists(st.sampled_from(SAMPLES + MANY_NOTES), min_size=count,
                                 max_size=count))
    tiles = tuple(TileView(label=label, **sample) for label, sample in zip(labels, samples))
    words = Words(languages, numerals)
    display = DisplaySettings(id="lobby", title=Label("NRS Medical College & Hospital",
                                                      "নীলরতন সরকার মেডিকেল কলেজ ও হাসপাতাল"),
                              languages=languages, bengali_numerals=numerals,
                              burn_in=BurnIn(pixels=0))
    renderer = Renderer(display, words, painter, (width, height))
    surface = pygame.Surface((width, height))
    view = board_view(tiles, connected)
    renderer.draw(surface, view, 0.0, LOCAL)
    for page in range(renderer.layout.pages):
        if page:
            renderer.draw(surface, view, 10.0 * page, LOCAL)
        check_page(renderer, words, (width, height), count)
        for report in renderer.report():
            if report.part == "tile":
                check_bar(report, view.tiles[report.index], words)


# -- every language set ------------------------------------------------------------------

LANGUAGE_SETS = (("bn", "en", "hi"), ("bn", "en", "ur"), ("ur", "en"), ("hi", "en", "bn"),
                 ("ne", "sat", "or", "pa"), ("bn", "en", "hi", "ur", "ne", "sat", "or", "pa"))
LANGUAGE_COUNTS = (2, 10, 40)


def _labels():
    from display.samples import DEPARTMENTS      # the built-in names: every language
    from display.words import default_label
    return tuple(Label(**default_label(department)) for department in DEPARTMENTS)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("languages", LANGUAGE_SETS, ids="/".join)
def test_every_language_set_on_every_screen_keeps_every_line_whole(painter, languages):
    # each set on every size, both ways up, at 2, 10 and 40 tiles (native digits on
    # every other board): every turn of its languages on the first page, every page
    # of the first turn, by the rules above; no tile mixes two turns
    from display.samples import TITLE
    labels = _labels()
    boards_drawn = turns_seen = 0
    for number, (size, portrait, count) in enumerate(
            itertools.product(SIZES, (False, True), LANGUAGE_COUNTS)):
        size = (size[1], size[0]) if portrait else size
        numerals = "native" if number % 2 else "latin"
        tiles = tuple(TileView(label=labels[i % len(labels)],
                               **SAMPLES[(number * 7 + i) % len(SAMPLES)]) for i in range(count))
        display = DisplaySettings(id="lobby", title=TITLE, languages=languages,
                                  numerals=numerals, burn_in=BurnIn(pixels=0),
                                  turn_seconds=8.0, message=Label(**{
                                      lang: TITLE.get(lang) for lang in languages})
                                  if number % 5 == 0 else None)
        renderer = Renderer(display, Words(languages, numerals=numerals), painter, size)
        surface = pygame.Surface(size)
        view = board_view(tiles, number % 4 != 3)
        turns = renderer.turns.turns(count, tuple(t.label for t in tiles))
        renderer.page_seconds = 8.0 * len(turns)     # a page turns when the first turn is back
        assert all(group[0] == languages[0] for group in turns)
        assert {lang for group in turns for lang in group} == set(languages)
        for turn, group in enumerate(turns):
            renderer.draw(surface, view, 8.0 * turn, LOCAL)
            assert renderer.words.languages == group
            pages = range(renderer.layout.pages) if turn == 0 else (0,)
            for page in pages:
                if page:
                    renderer.draw(surface, view, renderer.page_seconds * page, LOCAL)
                    assert renderer.page == page and renderer.words.languages == group
                try:
                    check_page(renderer, renderer.words, size, count)
                    for report in renderer.report():
                        if report.part == "tile":
                            check_bar(report, view.tiles[report.index], renderer.words)
                except AssertionError as exc:
                    raise AssertionError("%dx%d, %d tiles, %s (turn %s), page %d: %s" % (
                        size + (count, "/".join(languages), "/".join(group),
                                page + 1, exc))) from None
            turns_seen += 1
        boards_drawn += 1
    assert boards_drawn == len(SIZES) * 2 * len(LANGUAGE_COUNTS)
    print("\n%s: %d boards, %d turns drawn" % ("/".join(languages), boards_drawn, turns_seen))
