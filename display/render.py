"""Drawing the board: header, banner, tiles, footer — only what changed.

The :class:`Renderer` keeps what it last drew in each part of the picture
(each tile slot, the clock, the banner, …) and, given a new
:class:`~display.board.BoardView`, redraws only the parts whose content
differs, returning their rectangles for ``pygame.display.update``.  The
layout (and so everything) is redrawn when the tile count or the tiles'
labels change, the banner comes or goes, the page turns, the burn-in offset
moves or the brightness changes.

Every text is arranged in every configured language or left out whole (see
:mod:`display.text`), never below the readable size; :meth:`Renderer.report`
says, part by part, what was drawn where and what was left out.  The time
of day is shown only when the caller says the wall clock can be trusted
(``local`` is None otherwise: see :mod:`bedboard.timesync`).

Colours: a dark, high-contrast palette whose every text meets WCAG's
contrast (4.5:1, 3:1 for the big figure) at full brightness, and still
does when the board is dimmed at night: dimming lowers backgrounds freely
but lifts a text's colour back to that floor (:meth:`Palette.dimmed`).

It draws on a surface passed in, in the board's upright coordinates; the
screen turns the picture for a rotated monitor.
"""

import logging
from dataclasses import dataclass, fields, replace
from datetime import timedelta

import pygame

from .board import Status
from .layout import Box, plan, readable
from .tile import BoardTexts, TileArtist
from .turns import LanguageTurns

_LOG = logging.getLogger(__name__)

TEXT_CONTRAST = 4.5         # WCAG 2 AA, normal text
LARGE_CONTRAST = 3.0        # WCAG 2 AA, large text: the figure


# -- colour and contrast ---------------------------------------------------------

def luminance(colour):
    """WCAG 2's relative luminance of an sRGB colour (0–255 channels)."""
    def linear(value):
        value /= 255.0
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4
    red, green, blue = colour[:3]
    return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)


def contrast(first, second):
    """WCAG 2's contrast ratio of two colours (1 to 21)."""
    a, b = luminance(first), luminance(second)
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)


def _mix(colour, target, share):
    return tuple(int(round(c + (t - c) * share)) for c, t in zip(colour, target))


def legible(colour, backgrounds, ratio):
    """``colour`` moved as little as needed (towards white, or black) to reach
    ``ratio`` against every one of ``backgrounds``."""
    def worst(candidate):
        return min(contrast(candidate, b) for b in backgrounds)
    if worst(colour) >= ratio:
        return tuple(colour)
    found = []
    for target in ((255, 255, 255), (0, 0, 0)):
        if worst(target) < ratio:
            continue
        low, high = 0.0, 1.0            # the least share of the target that is enough
        for _ in range(16):
            middle = (low + high) / 2
            if worst(_mix(colour, target, middle)) >= ratio:
                high = middle
            else:
                low = middle
        found.append((high, _mix(colour, target, high)))
    if not found:     # nothing reaches it: the best there is
        return max(((255, 255, 255), (0, 0, 0)), key=worst)
    return min(found)[1]


@dataclass(frozen=True)
class Look:
    """The colours of a tile in one state."""

    tile: tuple
    label: tuple
    figure: tuple
    detail: tuple
    bar: tuple
    bar_text: tuple
    muted: tuple


@dataclass(frozen=True)
class Palette:
    """Every colour on the board (dark, high contrast, easy on a panel's pixels)."""

    background: tuple = (12, 16, 22)
    header: tuple = (22, 28, 38)
    text: tuple = (242, 244, 247)
    muted: tuple = (170, 178, 190)
    warning: tuple = (255, 196, 64)
    highlight: tuple = (64, 210, 255)
    live: tuple = (70, 200, 100)
    lost: tuple = (245, 80, 70)
    banner: tuple = (176, 28, 28)
    banner_text: tuple = (255, 255, 255)
    available: Look = Look((28, 40, 34), (242, 244, 247), (110, 232, 140), (180, 196, 186),
                           (30, 128, 60), (255, 255, 255), (160, 176, 166))
    few_left: Look = Look((44, 38, 24), (242, 244, 247), (255, 204, 64), (204, 194, 170),
                          (230, 168, 20), (20, 16, 8), (186, 176, 150))
    full: Look = Look((48, 26, 28), (242, 244, 247), (255, 112, 100), (206, 180, 180),
                      (196, 36, 36), (255, 255, 255), (190, 160, 160))
    # a live figure of only some wards: a caution, never the green of AVAILABLE
    partial: Look = Look((44, 32, 24), (242, 244, 247), (255, 166, 102), (206, 186, 170),
                         (204, 102, 30), (20, 10, 4), (190, 170, 156))
    # live, and no beds at all: neutral
    closed: Look = Look((30, 34, 42), (236, 238, 242), (196, 204, 216), (176, 184, 196),
                        (72, 84, 104), (255, 255, 255), (160, 168, 180))
    grey: Look = Look((34, 36, 40), (190, 194, 200), (118, 124, 132), (140, 146, 154),
                      (84, 88, 96), (236, 238, 240), (150, 156, 164))
    last_known: Look = Look((34, 36, 40), (190, 194, 200), (118, 124, 132), (140, 146, 154),
                            (120, 92, 40), (250, 236, 210), (150, 156, 164))

    def look(self, status):
        """The colours of a tile in ``status``."""
        return {Status.AVAILABLE: self.available, Status.FEW_LEFT: self.few_left,
                Status.FULL: self.full, Status.PARTIAL: self.partial,
                Status.CLOSED: self.closed, Status.LAST_KNOWN: self.last_known}.get(
                    status, self.grey)

    def looks(self):
        """Every Look of the palette, by name."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if isinstance(getattr(self, f.name), Look)}

    def role(self, role, look):
        """A named colour for a tile's note line."""
        return {"warning": self.warning, "highlight": self.highlight}.get(role, look.muted)

    def text_pairs(self):
        """``(name, text colour, background, least contrast)`` for every text on the board."""
        pairs = [("header text", self.text, self.header, TEXT_CONTRAST),
                 ("header muted", self.muted, self.header, TEXT_CONTRAST),
                 ("live", self.live, self.header, TEXT_CONTRAST),
                 ("lost", self.lost, self.header, TEXT_CONTRAST),
                 ("footer text", self.text, self.background, TEXT_CONTRAST),
                 ("footer muted", self.muted, self.background, TEXT_CONTRAST),
                 ("message", self.warning, self.background, TEXT_CONTRAST),
                 ("banner", self.banner_text, self.banner, TEXT_CONTRAST)]
        for name, look in self.looks().items():
            pairs += [(name + " label", look.label, look.tile, TEXT_CONTRAST),
                      (name + " figure", look.figure, look.tile, LARGE_CONTRAST),
                      (name + " detail", look.detail, look.tile, TEXT_CONTRAST),
                      (name + " muted", look.muted, look.tile, TEXT_CONTRAST),
                      (name + " state", look.bar_text, look.bar, TEXT_CONTRAST),
                      (name + " warning", self.warning, look.tile, TEXT_CONTRAST),
                      (name + " highlight", self.highlight, look.tile, TEXT_CONTRAST)]
        return pairs

    def dimmed(self, brightness):
        """The same palette at ``brightness`` (0–1), for night dimming.

        Every colour is scaled, then each text colour is lifted back (towards
        white, or black) just enough to keep its contrast floor against every
        background it is drawn on: dimming never makes text hard to read.
        """
        if brightness >= 1.0:
            return self

        def scale(value):
            if isinstance(value, Look):
                return Look(*(scale(getattr(value, f.name)) for f in fields(Look)))
            return tuple(int(round(c * brightness)) for c in value)
        dim = replace(self, **{f.name: scale(getattr(self, f.name)) for f in fields(self)})
        looks = dim.looks()
        tiles = [look.tile for look in looks.values()]
        changes = {
            "text": legible(dim.text, (dim.header, dim.background), TEXT_CONTRAST),
            "muted": legible(dim.muted, (dim.header, dim.background), TEXT_CONTRAST),
            "live": legible(dim.live, (dim.header,), TEXT_CONTRAST),
            "lost": legible(dim.lost, (dim.header,), TEXT_CONTRAST),
            "warning": legible(dim.warning, [dim.background] + tiles, TEXT_CONTRAST),
            "highlight": legible(dim.highlight, tiles, TEXT_CONTRAST),
            "banner_text": legible(dim.banner_text, (dim.banner,), TEXT_CONTRAST)}
        for name, look in looks.items():
            changes[name] = replace(
                look, label=legible(look.label, (look.tile,), TEXT_CONTRAST),
                figure=legible(look.figure, (look.tile,), LARGE_CONTRAST),
                detail=legible(look.detail, (look.tile,), TEXT_CONTRAST),
                muted=legible(look.muted, (look.tile,), TEXT_CONTRAST),
                bar_text=legible(look.bar_text, (look.bar,), TEXT_CONTRAST))
        return replace(dim, **changes)


# -- what was drawn ----------------------------------------------------------------

@dataclass(frozen=True)
class PartReport:
    """One part of the picture as last drawn: its texts and what was left out."""

    part: str               # "title", "connection", "clock", "date", "banner", "tile",
    #                         "total", "message", "pager"
    box: Box                # where the part is, in board pixels
    texts: tuple            # TextDrawn records
    left_out: tuple = ()    # (role, languages) of phrases left out whole, in that order
    index: int = None       # a tile: which of the board's tiles it shows


def _rect(box):
    return pygame.Rect(box.x, box.y, box.w, box.h)


class Renderer:
    """Draws BoardViews onto a surface, redrawing only what changed."""

    def __init__(self, display, words, painter, size, page_seconds=10.0):
        self.display = display            # DisplaySettings
        self.words = words
        self.painter = painter
        self.artist = TileArtist(painter, words)
        self.size = tuple(size)
        # more languages than fit at once take turns (display.turns)
        self.turns = LanguageTurns(words, display, painter, size,
                                   getattr(display, "turn_seconds", 8.0))
        self.page_seconds = page_seconds
        self.palette = Palette()
        self._base_palette = self.palette
        self._offset = (0, 0)
        self._layout = None
        self._layout_key = None
        self._texts = None
        self._drawn = {}
        self._reports = {}
        self._page = 0
        self._page_started = None
        self._full = True

    # -- settings that force a full redraw ---------------------------------
    def set_brightness(self, brightness):
        """Dim (or undim) every colour; redraws everything when it changes."""
        palette = self._base_palette.dimmed(brightness)
        if palette != self.palette:
            self.palette = palette
            self._full = True

    def set_offset(self, dx, dy):
        """Shift the picture by ``(dx, dy)`` pixels (burn-in protection)."""
        if (dx, dy) != self._offset:
            self._offset = (dx, dy)
            self._full = True

    def invalidate(self):
        """Redraw everything next time."""
        self._full = True

    @property
    def layout(self):
        """The current BoardLayout (None before the first draw)."""
        return self._layout

    @property
    def page(self):
        """The page shown (0-based)."""
        return self._page

    def report(self):
        """What the picture shows now: a PartReport per part, header to footer."""
        order = {"title": 0, "connection": 1, "date": 2, "clock": 3, "banner": 4,
                 "tile": 5, "total": 6, "message": 7, "pager": 8}
        return tuple(sorted(self._reports.values(),
                            key=lambda r: (order.get(r.part, 9), r.box.y, r.box.x)))

    # -- drawing -----------------------------------------------------------
    def draw(self, surface, view, now, local):
        """Bring ``surface`` up to ``view`` at monotonic ``now``, local time ``local``.

        ``local`` is None when the wall clock cannot be trusted: the time of
        day is then left out of the header and the banner.  Returns the list
        of pygame.Rects that changed.
        """
        banner = not view.connected
        labels = tuple(tile.label for tile in view.tiles)
        self._show_languages(self.turns.shown(now, len(view.tiles), labels))
        key = (len(view.tiles), banner, self._offset, labels)
        if key != self._layout_key:
            if self._texts is None or self._texts.labels != labels:
                self._texts = BoardTexts(self.painter, self.words, labels,
                                         self.display.title)
            self._layout = plan(self.size, len(view.tiles), len(self.words.languages),
                                banner=banner, message=self.display.message is not None,
                                offset=self._offset, texts=self._texts)
            self._layout_key = key
            self._full = True
        layout = self._layout
        self._turn_page(now, layout)
        dirty = []
        if self._full:
            self._full = False
            self._drawn = {}
            self._reports = {}
            surface.fill(self.palette.background)
            self._draw_header(surface, layout)
            dirty.append(surface.get_rect())
        dirty += self._draw_connection(surface, layout, view)
        dirty += self._draw_clock(surface, layout, local)
        dirty += self._draw_banner(surface, layout, view, local)
        dirty += self._draw_tiles(surface, layout, view)
        dirty += self._draw_footer(surface, layout, view)
        if dirty and dirty[0] == surface.get_rect():
            return [dirty[0]]
        return dirty

    def _show_languages(self, languages):
        """Show ``languages`` (the secondary languages' turn) from this draw on."""
        if tuple(languages) != self.words.languages:
            self.words = self.words.showing(languages)
            self.artist = TileArtist(self.painter, self.words)
            self._texts = None
            self._layout_key = None

    def _turn_page(self, now, layout):
        if layout.pages <= 1:
            if self._page:
                self._page = 0
                self._full = True
            return
        if self._page_started is None:
            self._page_started = now
        turns = int((now - self._page_started) // self.page_seconds)
        page = turns % layout.pages
        if page != self._page:
            self._page = page
            self._full = True
        elif self._page >= layout.pages:
            self._page = 0
            self._full = True

    def _changed(self, part, content):
        if self._drawn.get(part, object()) == content:
            return False
        self._drawn[part] = content
        return True

    def _phrase(self, surface, box, alternatives, colour, background, role, bold=False,
                align="left", wrap=False, size=None):
        """Draw the first of ``alternatives`` (phrases: ``[(language, text)]``) that
        fits ``box``; return ``(TextDrawn records, left out)``."""
        least = readable(self._layout.base)
        for parts in alternatives:
            arrangement = self.painter.arrange(parts, box.w, box.h, size or box.h, least,
                                               bold=bold, wrap=wrap)
            if arrangement is not None:
                return self.painter.draw(surface, arrangement, box, colour, background,
                                         bold=bold, align=align, role=role), ()
        languages = tuple(lang for lang, _ in alternatives[0]) if alternatives else ()
        return [], ((role, languages),)

    def _keep(self, part, box, drawn, left_out=(), key=None, index=None):
        self._reports[key or part] = PartReport(part, box, tuple(drawn), tuple(left_out),
                                                index)

    def _draw_header(self, surface, layout):
        palette = self.palette
        surface.fill(palette.header, _rect(layout.header))
        title = self.display.title.lines(self.words.languages)
        drawn, left_out = [], []
        for i, (part, box) in enumerate(zip(title, layout.title)):
            texts, gone = self._phrase(surface, box, [[part]],
                                       palette.text if i == 0 else palette.muted,
                                       palette.header, "title", bold=True)
            drawn += texts
            left_out += gone
        self._keep("title", layout.header, drawn, left_out)

    def _draw_connection(self, surface, layout, view):
        if view.connected:
            state = "live" if view.live_tiles > 0 else "no-live"
        else:
            state = "lost" if view.ever_connected else "connecting"
        if not self._changed("connection", state):
            return []
        palette = self.palette
        box = layout.connection
        surface.fill(palette.header, _rect(box))
        colour = palette.live if state == "live" else palette.lost
        radius = max(3, min(box.h // 8, box.w // 24))
        pygame.draw.circle(surface, colour, (box.x + radius, box.y + box.h // 2), radius)
        text_box = Box(box.x + 3 * radius, box.y, max(1, box.w - 3 * radius), box.h)
        drawn, left_out = self._phrase(surface, text_box, [self.words.each(state)], colour,
                                       palette.header, "connection", bold=True)
        self._keep("connection", box, drawn, left_out)
        return [_rect(box)]

    def _draw_clock(self, surface, layout, local):
        words = self.words
        palette = self.palette
        dirty = []
        clock = None if local is None else words.clock(words.languages[0], local)
        if self._changed("clock", clock):
            surface.fill(palette.header, _rect(layout.clock))
            drawn, left_out = [], []
            if clock is not None:
                drawn, left_out = self._phrase(
                    surface, layout.clock, [[(words.languages[0], clock)]], palette.text,
                    palette.header, "clock", bold=True, align="right")
            self._keep("clock", layout.clock, drawn, left_out)
            dirty.append(_rect(layout.clock))
        date = None if local is None else tuple(
            (lang, words.date(lang, local)) for lang in words.languages)
        if self._changed("date", date):
            surface.fill(palette.header, _rect(layout.date))
            drawn, left_out = [], []
            if date is not None:
                short = [(lang, words.date(lang, local, weekday=False))
                         for lang in words.languages]
                drawn, left_out = self._phrase(
                    surface, layout.date, [list(date), short], palette.muted,
                    palette.header, "date", align="right")
            self._keep("date", layout.date, drawn, left_out)
            dirty.append(_rect(layout.date))
        return dirty

    def _draw_banner(self, surface, layout, view, local):
        if layout.banner is None:
            return []
        words = self.words
        duration = (lambda lang: words.duration(lang, view.since_minutes))
        if view.ever_connected and local is not None:
            # the trusted clock's now less the outage timed on the monotonic clock —
            # never the wall time noted when the link went down, which may have been
            # read from a clock not yet synchronised (issue 15, finding 11)
            since = local - timedelta(seconds=view.since_seconds or 60 * view.since_minutes)
            hour = (lambda lang: words.hour_minute(lang, since))
            alternatives = [words.each("banner-lost", t=hour, d=duration),
                            words.each("banner-lost-short", t=hour, d=duration)]
        elif view.ever_connected:
            alternatives = [words.each("banner-lost-for", d=duration),
                            words.each("banner-lost-for-short", d=duration)]
        else:
            alternatives = [words.each("banner-connecting"),
                            words.each("banner-connecting-short")]
        content = tuple(tuple(parts) for parts in alternatives)
        if not self._changed("banner", content):
            return []
        palette = self.palette
        box = layout.banner
        surface.fill(palette.banner, _rect(box))
        inner = box.inset(max(4, box.h // 8), max(2, box.h // 12))
        drawn, left_out = self._phrase(surface, inner, alternatives, palette.banner_text,
                                       palette.banner, "banner", bold=True, align="centre",
                                       wrap=True, size=max(readable(layout.base),
                                                           inner.h // 3))
        self._keep("banner", box, drawn, left_out)
        return [_rect(box)]

    def _draw_tiles(self, surface, layout, view):
        dirty = []
        indexes = layout.page_tiles(self._page)
        for number, (slot, index) in enumerate(zip(layout.slots, indexes)):
            tile = view.tiles[index] if index < len(view.tiles) else None
            if tile is None or not self._changed(("tile", slot), tile):
                continue
            dirty.append(self.artist.draw(surface, slot, tile, layout.tile, self.palette))
            texts, left_out = self.artist.report(tile, slot, layout.tile, self.palette)
            self._keep("tile", slot, texts, left_out, key=("tile", number), index=index)
        return dirty

    def _draw_footer(self, surface, layout, view):
        words = self.words
        palette = self.palette
        dirty = []
        # the total says what it leaves out: every ward not reporting, on a tile not
        # live or on one partly live (each ward once), or else the tiles not live
        left_out = view.tiles_not_live
        if view.total_vacant is None or all(tile.vacant is None for tile in view.tiles):
            key = "total-none"
        elif not view.connected:
            key = "total-last"
        elif view.wards_missing:
            key = "total-ward" if view.wards_missing == 1 else "total-wards"
            left_out = view.wards_missing
        else:
            key = "total-partial" if view.tiles_not_live else "total"
        total = words.each(key, n=view.total_vacant, m=left_out)
        alternatives = [total]
        if view.wards_unchecked and view.connected:
            # and how many counted wards were not checked in time (issue 20), where
            # it fits: the total and what it leaves out come first
            said = dict(total)
            alternatives.insert(0, words.each(
                "total-unchecked" if view.wards_unchecked > 1 else "total-unchecked-one",
                t=lambda lang: said[lang], m=view.wards_unchecked,
                d=lambda lang: words.duration(lang, int(view.check_within // 60))))
        if self._changed("total", tuple(map(tuple, alternatives))):
            surface.fill(palette.background, _rect(layout.total))
            drawn, left_out = self._phrase(surface, layout.total, alternatives,
                                           palette.text if view.connected else palette.muted,
                                           palette.background, "total", bold=True, wrap=True)
            self._keep("total", layout.total, drawn, left_out)
            dirty.append(_rect(layout.total))
        message = self.display.message
        if layout.message is not None and message is not None \
                and self._changed("message", message):
            surface.fill(palette.background, _rect(layout.message))
            drawn, left_out = self._phrase(surface, layout.message,
                                           [message.lines(words.languages)], palette.warning,
                                           palette.background, "message", bold=True,
                                           align="centre", wrap=True)
            self._keep("message", layout.message, drawn, left_out)
            dirty.append(_rect(layout.message))
        pager = (self._page, layout.pages)
        if self._changed("pager", pager):
            surface.fill(palette.background, _rect(layout.pager))
            drawn, left_out = [], []
            if layout.pages > 1:
                drawn, left_out = self._draw_pager(surface, layout.pager)
            self._keep("pager", layout.pager, drawn, left_out)
            dirty.append(_rect(layout.pager))
        return dirty

    def _draw_pager(self, surface, box):
        """"Page 2 of 3" and a dot per page; with too many pages for the dots, the words."""
        palette = self.palette
        pages = self._layout.pages
        radius = max(3, min(box.h // 7, box.w // (pages * 3 + 40)))
        dots_w = pages * radius * 3
        text = self.words.each("page", i=self._page + 1, n=pages)
        text_box = Box(box.x, box.y, max(1, box.w - dots_w - radius * 2), box.h)
        least = readable(self._layout.base)
        if self.painter.arrange(text, text_box.w, text_box.h, text_box.h, least) is None:
            text_box, dots_w = box, 0
        drawn, left_out = self._phrase(surface, text_box, [text], palette.muted,
                                       palette.background, "page", align="right")
        x = box.right - dots_w + radius
        for page in range(pages if dots_w else 0):
            centre = (x + page * radius * 3, box.y + box.h // 2)
            if page == self._page:
                pygame.draw.circle(surface, palette.text, centre, radius)
            else:
                pygame.draw.circle(surface, palette.muted, centre, radius, width=2)
        return drawn, left_out
