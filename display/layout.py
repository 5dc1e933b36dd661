"""Where everything goes on the board: pure geometry, no pygame.

The board is laid out in its own upright coordinates — the size a reader
sees — whatever the monitor's rotation (the screen turns the finished
picture).  A header (title, clock, connection), an optional banner (the
broker is lost), a grid of tiles, and a footer (total vacant, message,
page).  The grid is chosen to make the vacant figure as large as it can be;
when a tile would become too small to read from a distance, the tiles are
split over pages of equal size.

Sizes are fractions of ``base``, the shorter side of the board, so a
portrait board gets the same type sizes as a landscape one.
"""

import math
from dataclasses import dataclass

# Noto Sans Bold's figures as fractions of the font size (measured: digits
# 0–9 have one advance, 0.572, and ink from -0.01 to 0.73).  The grid plans
# with these; the renderer measures the real font and fits the figure to its box.
DIGIT_ADVANCE = 0.572
DIGIT_INK = 0.74
PLANNED_DIGITS = 2          # vacancies per tile are mostly 1–2 digits; more shrink to fit

MIN_LABEL = 16              # pixels: no text line is planned smaller than this
MIN_NOTE = 13
MIN_FIGURE = 36
LABEL_WIDTH = 9             # a label line is at least this many times its least height
MAX_COLUMNS = 24
MAX_ROWS = 24


@dataclass(frozen=True)
class Box:
    """A rectangle in whole pixels: left, top, width, height."""

    x: int
    y: int
    w: int
    h: int

    @property
    def right(self):
        """One past the last column."""
        return self.x + self.w

    @property
    def bottom(self):
        """One past the last row."""
        return self.y + self.h

    def moved(self, dx, dy):
        """The same box shifted by ``(dx, dy)``."""
        return Box(self.x + dx, self.y + dy, self.w, self.h)

    def inset(self, dx, dy=None):
        """The box shrunk by ``dx`` left and right and ``dy`` top and bottom."""
        dy = dx if dy is None else dy
        return Box(self.x + dx, self.y + dy, max(0, self.w - 2 * dx),
                   max(0, self.h - 2 * dy))

    def contains(self, other):
        """Whether ``other`` lies wholly inside this box."""
        return (self.x <= other.x and self.y <= other.y
                and other.right <= self.right and other.bottom <= self.bottom)

    def overlaps(self, other):
        """Whether the two boxes share any pixel."""
        return (self.x < other.right and other.x < self.right
                and self.y < other.bottom and other.y < self.bottom)

    def split_columns(self, *fractions, gap=0):
        """Boxes side by side, widths in proportion to ``fractions``."""
        total = sum(fractions)
        usable = self.w - gap * (len(fractions) - 1)
        boxes, x = [], self.x
        for i, fraction in enumerate(fractions):
            w = self.right - x if i == len(fractions) - 1 else round(usable * fraction / total)
            boxes.append(Box(x, self.y, w, self.h))
            x += w + gap
        return boxes

    def split_rows(self, *fractions, gap=0):
        """Boxes one above another, heights in proportion to ``fractions``."""
        total = sum(fractions)
        usable = self.h - gap * (len(fractions) - 1)
        boxes, y = [], self.y
        for i, fraction in enumerate(fractions):
            h = self.bottom - y if i == len(fractions) - 1 else round(usable * fraction / total)
            boxes.append(Box(self.x, y, self.w, h))
            y += h + gap
        return boxes


@dataclass(frozen=True)
class TileGeometry:
    """Where the parts of a tile go, relative to the tile's top-left corner."""

    w: int
    h: int
    labels: tuple          # one line per language
    figure: Box            # the vacant figure
    details: tuple         # "of N beds", "occupied", "blocked": right of the figure
    state: Box             # the state in words, on its colour
    note: Box              # when it changed, or what is missing
    figure_ink: int        # the planned height of the figure's digits
    border: int            # width of the highlight border
    radius: int            # rounded corners


def _ink(figure):
    """The tallest figure of PLANNED_DIGITS digits that fits ``figure``."""
    by_width = figure.w / (PLANNED_DIGITS * DIGIT_ADVANCE) * DIGIT_INK
    return int(max(0, min(figure.h, by_width)))


def tile_geometry(w, h, languages=2, base=1080):
    """Lay out one tile of ``w`` × ``h`` pixels."""
    languages = max(1, languages)
    pad = max(3, round(min(w, h) * 0.045))
    inner = Box(pad, pad, max(1, w - 2 * pad), max(1, h - 2 * pad))
    gap = max(2, round(inner.h * 0.015))
    label_h = max(round(inner.h * (0.122 if languages > 1 else 0.16)), round(base / 56),
                  MIN_LABEL)
    state_h = max(round(inner.h * 0.118), round(base / 50), MIN_LABEL)
    note_h = max(round(inner.h * 0.068), round(base / 68), MIN_NOTE)
    band_h = inner.h - languages * label_h - state_h - note_h - 4 * gap
    y = inner.y
    labels = []
    for _ in range(languages):
        labels.append(Box(inner.x, y, inner.w, label_h))
        y += label_h
    y += gap
    band = Box(inner.x, y, inner.w, max(1, band_h))
    details_w = round(inner.w * 0.4)
    figure = Box(inner.x, band.y, max(1, inner.w - details_w - gap), band.h)
    column = Box(figure.right + gap, band.y, details_w, band.h)
    line_h = max(1, min(band.h // 3, round(label_h * 0.85)))
    top = column.y + (column.h - 3 * line_h) // 2
    details = tuple(Box(column.x, top + i * line_h, column.w, line_h) for i in range(3))
    y = band.bottom + 2 * gap      # a little air between the figure and its state
    state = Box(inner.x, y, inner.w, state_h)
    note = Box(inner.x, state.bottom + gap, inner.w, note_h)
    return TileGeometry(w=w, h=h, labels=tuple(labels), figure=figure, details=details,
                        state=state, note=note, figure_ink=_ink(figure),
                        border=max(3, round(min(w, h) * 0.025)),
                        radius=max(2, round(min(w, h) * 0.03)))


@dataclass(frozen=True)
class BoardLayout:
    """Where everything goes on a board of ``size`` showing ``count`` tiles."""

    size: tuple
    base: int
    header: Box
    title: tuple           # one line per language
    connection: Box
    clock: Box
    date: Box
    banner: Box            # None when there is no banner
    grid: Box
    footer: Box
    total: Box
    message: Box           # None when there is no message
    pager: Box
    count: int
    columns: int
    rows: int
    per_page: int
    pages: int
    slots: tuple           # tile boxes on one page, in reading order
    tile: TileGeometry

    def page_tiles(self, page):
        """The tile indexes shown on ``page`` (0-based)."""
        start = (page % max(1, self.pages)) * self.per_page
        return range(start, min(self.count, start + self.per_page))

    def legible(self):
        """Whether the tiles are big enough to read from across a hall."""
        return _legible(self.tile, self.base)


def _legible(tile, base):
    return (tile.figure_ink >= max(base / 20, MIN_FIGURE)
            and tile.labels[0].h >= max(base / 56 - 0.5, MIN_LABEL)
            and tile.labels[0].w >= LABEL_WIDTH * max(base / 56, MIN_LABEL)
            and tile.note.bottom <= tile.h)


def _best_grid(count, grid, gap, languages, base):
    """``(score, columns, rows, TileGeometry)`` with the largest figure for ``count``."""
    best = None
    low = max(1, math.ceil(count / MAX_ROWS))
    for columns in range(low, min(count, MAX_COLUMNS) + 1):
        rows = math.ceil(count / columns)
        if rows > MAX_ROWS:
            continue
        w = (grid.w - gap * (columns - 1)) // columns
        h = (grid.h - gap * (rows - 1)) // rows
        if w < 8 or h < 8:
            continue
        tile = tile_geometry(w, h, languages, base)
        empty = columns * rows - count
        score = (_legible(tile, base), tile.figure_ink, tile.labels[0].h, -empty)
        if best is None or score > best[0]:
            best = (score, columns, rows, tile)
    return best


def _per_page(count, grid, gap, languages, base):
    """How many tiles fit on a page legibly (pages balanced to equal sizes)."""
    per_page = count
    best = _best_grid(count, grid, gap, languages, base)
    while per_page > 1 and (best is None or not _legible(best[3], base)):
        per_page -= 1
        best = _best_grid(per_page, grid, gap, languages, base)
    return math.ceil(count / math.ceil(count / per_page))


def plan(size, count, languages=2, banner=False, message=False, offset=(0, 0)):
    """Lay out a board of ``size`` (width, height) for ``count`` tiles.

    ``offset`` moves everything a few pixels (burn-in protection): every
    text keeps more padding than that from the board's edges, so only
    background is cut off.
    """
    width, height = size
    base = min(width, height)
    pad = max(4, round(base * 0.012))
    gap = max(3, round(base * 0.01))
    portrait = width < height * 1.2
    languages = max(1, languages)

    if portrait:    # the title across the whole width, the clock and connection below
        header = Box(0, 0, width, round(base * 0.17))
        inner = header.inset(pad, round(pad * 0.6))
        top, bottom = inner.split_rows(0.56, 0.44, gap=round(pad * 0.5))
        title = tuple(top.split_rows(*([1] * languages)))
        clock_box = Box(bottom.right - round(bottom.w * 0.5), bottom.y,
                        round(bottom.w * 0.5), bottom.h)
        clock, date = clock_box.split_columns(0.45, 0.55, gap=pad)
        connection = Box(bottom.x, bottom.y, round(bottom.w * 0.4), bottom.h)
    else:
        header = Box(0, 0, width, round(base * 0.088))
        inner = header.inset(pad, round(pad * 0.6))
        clock_w, date_w, badge = (round(width * 0.16), round(width * 0.2),
                                  round(base * 0.2))
        clock = Box(inner.right - clock_w, inner.y, clock_w, inner.h)
        date = Box(clock.x - pad - date_w, inner.y + inner.h // 10, date_w,
                   inner.h - inner.h // 5)
        connection = Box(date.x - pad - badge, inner.y + inner.h // 8, badge,
                         inner.h - inner.h // 4)
        title_box = Box(inner.x, inner.y, max(1, connection.x - pad - inner.x), inner.h)
        title = tuple(title_box.split_rows(*([1] * languages)))

    footer_h = round(base * 0.052) * (2 if portrait and message else 1)
    footer = Box(0, height - footer_h, width, footer_h)
    f_inner = footer.inset(pad, round(pad * 0.5))
    if portrait and message:
        top, bottom = f_inner.split_rows(1, 1)
        total = top
        message_box, pager = bottom.split_columns(0.72, 0.28, gap=pad)
    elif message:
        total, message_box, pager = f_inner.split_columns(0.4, 0.38, 0.22, gap=pad)
    else:
        total, pager = f_inner.split_columns(0.7, 0.3, gap=pad)
        message_box = None

    top_y = header.bottom
    banner_box = None
    if banner:
        banner_box = Box(0, top_y, width, round(base * 0.085))
        top_y = banner_box.bottom
    grid = Box(gap, top_y + gap, width - 2 * gap, footer.y - top_y - 2 * gap)

    shown = max(1, count)
    # Pages and the grid are planned without the banner, so that a banner
    # coming and going never moves a tile: with it, the same grid is a little
    # shorter.
    unbannered = Box(grid.x, header.bottom + gap, grid.w, footer.y - header.bottom - 2 * gap)
    per_page = _per_page(shown, unbannered, gap, languages, base)
    pages = math.ceil(shown / per_page)
    _, columns, rows, tile = _best_grid(per_page, unbannered, gap, languages, base)
    if banner:
        tile = tile_geometry((grid.w - gap * (columns - 1)) // columns,
                             max(8, (grid.h - gap * (rows - 1)) // rows), languages, base)
    used_w = columns * tile.w + (columns - 1) * gap
    used_h = rows * tile.h + (rows - 1) * gap
    x0 = grid.x + (grid.w - used_w) // 2
    y0 = grid.y + (grid.h - used_h) // 2
    slots = []
    for index in range(per_page):
        row, column = divmod(index, columns)
        in_row = min(columns, per_page - row * columns)
        indent = (columns - in_row) * (tile.w + gap) // 2     # centre a short last row
        slots.append(Box(x0 + indent + column * (tile.w + gap), y0 + row * (tile.h + gap),
                         tile.w, tile.h))

    dx, dy = offset
    move = (lambda box: None if box is None else box.moved(dx, dy))
    return BoardLayout(
        size=(width, height), base=base, header=move(header),
        title=tuple(move(b) for b in title), connection=move(connection),
        clock=move(clock), date=move(date), banner=move(banner_box), grid=move(grid),
        footer=move(footer), total=move(total), message=move(message_box),
        pager=move(pager), count=count, columns=columns, rows=rows,
        per_page=per_page, pages=pages, slots=tuple(move(b) for b in slots), tile=tile)
