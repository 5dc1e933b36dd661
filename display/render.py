"""Drawing the board: header, banner, tiles, footer — only what changed.

The :class:`Renderer` keeps what it last drew in each part of the picture
(each tile slot, the clock, the banner, …) and, given a new
:class:`~display.board.BoardView`, redraws only the parts whose content
differs, returning their rectangles for ``pygame.display.update``.  The
layout (and so everything) is redrawn when the tile count changes, the
banner comes or goes, the page turns, the burn-in offset moves or the
brightness changes.

It draws on a surface passed in, in the board's upright coordinates; the
screen turns the picture for a rotated monitor.
"""

import logging
from dataclasses import dataclass, fields, replace

import pygame

from .board import Status
from .layout import plan
from .tile import TileArtist, line_choices

_LOG = logging.getLogger(__name__)


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
    lost: tuple = (235, 60, 50)
    banner: tuple = (176, 28, 28)
    banner_text: tuple = (255, 255, 255)
    available: Look = Look((28, 40, 34), (242, 244, 247), (110, 232, 140), (180, 196, 186),
                           (34, 142, 66), (255, 255, 255), (160, 176, 166))
    few_left: Look = Look((44, 38, 24), (242, 244, 247), (255, 204, 64), (204, 194, 170),
                          (230, 168, 20), (20, 16, 8), (186, 176, 150))
    full: Look = Look((48, 26, 28), (242, 244, 247), (255, 112, 100), (206, 180, 180),
                      (196, 36, 36), (255, 255, 255), (190, 160, 160))
    grey: Look = Look((34, 36, 40), (190, 194, 200), (118, 124, 132), (140, 146, 154),
                      (84, 88, 96), (236, 238, 240), (150, 156, 164))
    last_known: Look = Look((34, 36, 40), (190, 194, 200), (118, 124, 132), (140, 146, 154),
                            (120, 92, 40), (250, 236, 210), (150, 156, 164))

    def look(self, status):
        """The colours of a tile in ``status``."""
        return {Status.AVAILABLE: self.available, Status.FEW_LEFT: self.few_left,
                Status.FULL: self.full, Status.LAST_KNOWN: self.last_known}.get(
                    status, self.grey)

    def role(self, role, look):
        """A named colour for a tile's note line."""
        return {"warning": self.warning, "highlight": self.highlight}.get(role, look.muted)

    def dimmed(self, brightness):
        """The same palette at ``brightness`` (0–1): for night dimming."""
        if brightness >= 1.0:
            return self

        def scale(value):
            if isinstance(value, Look):
                return Look(*(scale(v) for v in (getattr(value, f.name)
                                                 for f in fields(Look))))
            return tuple(int(round(c * brightness)) for c in value)
        return replace(self, **{f.name: scale(getattr(self, f.name)) for f in fields(self)})


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
        self.page_seconds = page_seconds
        self.palette = Palette()
        self._base_palette = self.palette
        self._offset = (0, 0)
        self._layout = None
        self._layout_key = None
        self._drawn = {}
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

    # -- drawing -----------------------------------------------------------
    def draw(self, surface, view, now, local):
        """Bring ``surface`` up to ``view`` at monotonic ``now``, local time ``local``.

        Returns the list of pygame.Rects that changed.
        """
        banner = not view.connected
        key = (len(view.tiles), banner, self._offset)
        if key != self._layout_key:
            self._layout = plan(self.size, len(view.tiles), len(self.words.languages),
                                banner=banner, message=self.display.message is not None,
                                offset=self._offset)
            self._layout_key = key
            self._full = True
        layout = self._layout
        self._turn_page(now, layout)
        dirty = []
        if self._full:
            self._full = False
            self._drawn = {}
            surface.fill(self.palette.background)
            self._draw_header(surface, layout)
            dirty.append(surface.get_rect())
        dirty += self._draw_connection(surface, layout, view)
        dirty += self._draw_clock(surface, layout, local)
        dirty += self._draw_banner(surface, layout, view)
        dirty += self._draw_tiles(surface, layout, view)
        dirty += self._draw_footer(surface, layout, view)
        if dirty and dirty[0] == surface.get_rect():
            return [dirty[0]]
        return dirty

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

    def _text(self, surface, box, choices, colour, background, bold=False, centre=False):
        image = self.painter.fit(choices, box.h, box.w, colour, background, bold=bold)
        x = box.x + ((box.w - image.get_width()) // 2 if centre else 0)
        surface.blit(image, (x, box.y + (box.h - image.get_height()) // 2))

    def _draw_header(self, surface, layout):
        palette = self.palette
        surface.fill(palette.header, _rect(layout.header))
        title = self.display.title.lines(self.words.languages)
        for i, ((_, text), box) in enumerate(zip(title, layout.title)):
            self._text(surface, box, text, palette.text if i == 0 else palette.muted,
                       palette.header, bold=True)

    def _draw_connection(self, surface, layout, view):
        state = "live" if view.connected else "lost" if view.ever_connected else "connecting"
        if not self._changed("connection", state):
            return []
        palette = self.palette
        box = layout.connection
        surface.fill(palette.header, _rect(box))
        colour = palette.live if view.connected else palette.lost
        lines = self.words.each(state)
        radius = max(3, box.h // (4 * len(lines)))
        pygame.draw.circle(surface, colour, (box.x + radius, box.y + box.h // 2), radius)
        text_box = type(box)(box.x + 3 * radius, box.y, box.w - 3 * radius, box.h)
        for (_, text), row in zip(lines, text_box.split_rows(*([1] * len(lines)))):
            self._text(surface, row, text, colour, palette.header, bold=True)
        return [_rect(box)]

    def _draw_clock(self, surface, layout, local):
        words = self.words
        clock = words.clock(words.languages[0], local)
        date = [(lang, words.date(lang, local)) for lang in words.languages]
        dirty = []
        palette = self.palette
        if self._changed("clock", clock):
            surface.fill(palette.header, _rect(layout.clock))
            image = self.painter.fit(clock, layout.clock.h, layout.clock.w,
                                     palette.text, palette.header, bold=True)
            surface.blit(image, (layout.clock.right - image.get_width(), layout.clock.y
                                 + (layout.clock.h - image.get_height()) // 2))
            dirty.append(_rect(layout.clock))
        if self._changed("date", tuple(date)):
            surface.fill(palette.header, _rect(layout.date))
            for (_, text), row in zip(date, layout.date.split_rows(*([1] * len(date)))):
                image = self.painter.fit(text, row.h, row.w, palette.muted, palette.header)
                surface.blit(image, (row.right - image.get_width(),
                                     row.y + (row.h - image.get_height()) // 2))
            dirty.append(_rect(layout.date))
        return dirty

    def _draw_banner(self, surface, layout, view):
        if layout.banner is None:
            return []
        words = self.words
        if view.ever_connected and view.since is not None:
            local = view.since.astimezone(self.display.zone)
            lines = words.each("banner-lost", t=lambda lang: words.hour_minute(lang, local),
                               d=lambda lang: words.duration(lang, view.since_minutes))
        elif view.ever_connected:
            lines = words.each("banner-lost", t="?", d=lambda lang: words.duration(
                lang, view.since_minutes))
        else:
            lines = words.each("banner-connecting")
        if not self._changed("banner", tuple(lines)):
            return []
        palette = self.palette
        box = layout.banner
        surface.fill(palette.banner, _rect(box))
        inner = box.inset(max(4, box.h // 8), max(2, box.h // 12))
        rows = inner.split_rows(*([1] * len(lines)))
        for (_, text), row in zip(lines, rows):
            self._text(surface, row, text, palette.banner_text, palette.banner, bold=True,
                       centre=True)
        return [_rect(box)]

    def _draw_tiles(self, surface, layout, view):
        dirty = []
        indexes = layout.page_tiles(self._page)
        for slot, index in zip(layout.slots, indexes):
            tile = view.tiles[index] if index < len(view.tiles) else None
            if tile is None or not self._changed(("tile", slot), tile):
                continue
            dirty.append(self.artist.draw(surface, slot, tile, layout.tile, self.palette))
        return dirty

    def _draw_footer(self, surface, layout, view):
        words = self.words
        palette = self.palette
        dirty = []
        if all(tile.vacant is None for tile in view.tiles):
            key = "total-none"
        elif view.connected:
            key = "total-partial" if view.tiles_not_live else "total"
        else:
            key = "total-last"
        total = words.each(key, n=view.total_vacant, m=view.tiles_not_live)
        if self._changed("total", tuple(total)):
            surface.fill(palette.background, _rect(layout.total))
            self._text(surface, layout.total, line_choices(total),
                       palette.text if view.connected else palette.muted,
                       palette.background, bold=True)
            dirty.append(_rect(layout.total))
        message = self.display.message
        if layout.message is not None and message is not None \
                and self._changed("message", message):
            surface.fill(palette.background, _rect(layout.message))
            lines = message.lines(words.languages)
            self._text(surface, layout.message, line_choices(lines), palette.warning,
                       palette.background, bold=True, centre=True)
            dirty.append(_rect(layout.message))
        pager = (self._page, layout.pages)
        if self._changed("pager", pager):
            surface.fill(palette.background, _rect(layout.pager))
            if layout.pages > 1:
                self._draw_pager(surface, layout.pager)
            dirty.append(_rect(layout.pager))
        return dirty

    def _draw_pager(self, surface, box):
        palette = self.palette
        pages = self._layout.pages
        radius = max(3, box.h // 7)
        dots_w = pages * radius * 3
        text = self.words.each("page", i=self._page + 1, n=pages)
        text_box = type(box)(box.x, box.y, max(1, box.w - dots_w - radius * 2), box.h)
        image = self.painter.fit(line_choices(text), text_box.h, text_box.w, palette.muted,
                                 palette.background)
        surface.blit(image, (text_box.right - image.get_width(),
                             box.y + (box.h - image.get_height()) // 2))
        x = box.right - dots_w + radius
        for page in range(pages):
            centre = (x + page * radius * 3, box.y + box.h // 2)
            if page == self._page:
                pygame.draw.circle(surface, palette.text, centre, radius)
            else:
                pygame.draw.circle(surface, palette.muted, centre, radius, width=2)

