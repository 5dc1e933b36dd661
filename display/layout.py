"""Where everything goes on the board: pure geometry, no pygame.

The board is laid out in its own upright coordinates — the size a reader
sees — whatever the monitor's rotation (the screen turns the finished
picture).  A header (title, clock, connection), an optional banner (the
broker is lost), a grid of tiles, and a footer (total vacant, message,
page).  The grid is chosen to make the vacant figure as large as it can be;
when a tile would become too small to read from a distance — its figure too
small, or its labels and state words unable to fit at a readable size — the
tiles are split over pages of equal size.

Sizes are fractions of ``base``, the shorter side of the board, so a
portrait board gets the same type sizes as a landscape one; no text is ever
planned below :func:`readable` (14 px at 1080 lines).  Text widths are not
known here: the renderer passes the board's texts (an object answering
``label_fit`` and ``state_fit``) and the plan asks them.
"""

import math
from dataclasses import dataclass, replace

# Noto Sans Bold's figures as fractions of the font size (measured: digits
# 0–9 have one advance, 0.572, and ink from -0.01 to 0.73).  The grid plans
# with these; the renderer measures the real font and fits the figure to its box.
DIGIT_ADVANCE = 0.572
DIGIT_INK = 0.74
PLANNED_DIGITS = 2          # vacancies per tile are mostly 1–2 digits; more shrink to fit

# A line of Noto Sans mixed with Noto Sans Bengali is at most 1.5 times its font
# size high (Latin ascent 1.07, Bengali descent 0.40; measured from 8 to 300 px).
LINE = 1.5
READABLE = 14               # px of font size at 1080 lines: the least any text is drawn
READABLE_FLOOR = 12         # ... and never less than this, whatever the screen
MIN_FIGURE = 36
LABEL_WIDTH = 9             # a label line is at least this many times its least height
TOTAL_WIDTH = 34            # the footer's total needs this many times the readable size
# The column's usual phrases, English · Bengali side by side, in widths per px of
# font size (measured with Noto: of 172 beds, 163 occupied, 3 blocked, updated
# 2 h 15 min ago).  A note is the exception: a tile with one makes room for it.
DETAIL_WIDTHS = (12.1, 10.6, 7.5, 24.6)
MAX_COLUMNS = 24
# A tile whose bar must say what its figure leaves out keeps at least this share of
# its figure for the whole "m of n wards missing"; else the bar says "m missing".
LONG_COST = 0.8
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
    """Where the parts of a tile go, relative to the tile's top-left corner.

    Content-independent but for two board-wide choices made with the board's
    own texts: whether labels need two lines per language (a long label
    wraps before anything shrinks) and whether the state words need a line
    per language in the bar.  Every tile of a board shares one geometry, so
    figures line up and are the same size.
    """

    w: int
    h: int
    labels: tuple          # label rows: label_lines per language, languages in order
    figure: Box            # the vacant figure
    column: Box            # right of the figure: of N beds, occupied, blocked, updated, note
    state: Box             # the state in words, on its colour
    figure_ink: int        # the planned height of the figure's digits
    border: int            # width of the highlight border
    radius: int            # rounded corners
    readable: int          # the smallest font size any text may have, in px
    label_size: int        # font sizes, px
    label_lines: int       # rows per language for a label (1, or 2 when one must wrap)
    state_size: int
    state_lines: int       # 1: every state's words on one line; else one line per language
    detail_size: int       # the column's lines (no larger)
    bar_pad: int           # between the state bar's edge and its words
    fits: bool = True      # labels and state words fit at readable sizes (else: illegible)
    # A tile whose figure is not the whole truth (a ward missing, a count in doubt)
    # says so in its state bar, which may need more lines: its bar grows upwards
    # and its figure and column shrink by as much (the same boxes when it need not).
    qualified: "TileGeometry" = None

    def parts(self, qualified):
        """The geometry of a tile whose bar says (``qualified``) or not that its
        figure is not the whole truth."""
        return self.qualified if qualified and self.qualified is not None else self


def readable(base):
    """The smallest font size (px) on a board whose shorter side is ``base`` pixels.

    14 px at 1080 lines, in proportion to the screen's lines (its shorter
    side, so a portrait mount of the same panel keeps the same floor), and
    never under 12 px whatever the screen.
    """
    return max(READABLE_FLOOR, math.ceil(READABLE * base / 1080 - 1e-9))


def line_height(size):
    """The height (px) planned for one line of text at font ``size``."""
    return math.ceil(size * LINE - 1e-9)


def _ink(figure):
    """The tallest figure of PLANNED_DIGITS digits that fits ``figure``."""
    by_width = figure.w / (PLANNED_DIGITS * DIGIT_ADVANCE) * DIGIT_INK
    return int(max(0, min(figure.h, by_width)))


def _detail_size(column, largest, least):
    """The column's font size: the largest (up to ``largest``) at which a tile's usual
    lines — of N beds, occupied, blocked and updated — fit the column, each side by
    side in both languages when the column is wide enough, else one a line.

    Planned from typical widths, so that every tile of a board shares the size; a
    tile with more to say shrinks its own column (never below ``least``).
    """
    for size in range(largest, least, -1):
        lines = sum(1 if width * size <= column.w else 2 for width in DETAIL_WIDTHS)
        if lines * line_height(size) + (len(DETAIL_WIDTHS) - 1) * max(1, size // 6) \
                <= column.h:
            return size
    return least


def tile_geometry(w, h, languages=2, base=1080, texts=None):
    """Lay out one tile of ``w`` × ``h`` pixels.

    ``texts`` (optional) answers for the board's labels and state words
    (see :class:`display.tile.BoardTexts`): ``label_fit(width, size, floor)``
    and ``state_fit(width, size, floor)`` each give ``(size, lines)`` or
    None.  Without it every label and state is assumed to fit on one line.
    """
    languages = max(1, languages)
    least = readable(base)
    pad = max(3, round(min(w, h) * 0.045))
    inner = Box(pad, pad, max(1, w - 2 * pad), max(1, h - 2 * pad))
    gap = max(2, round(inner.h * 0.015))
    fits = True

    label_size = max(least, round(inner.h * (0.083 if languages > 1 else 0.11)))
    label_lines = 1
    if texts is not None:
        found = texts.label_fit(inner.w, label_size, least)
        if found is None:
            fits, label_size = False, least
        else:
            label_size, label_lines = found
    label_h = line_height(label_size)

    nominal = max(least, round(inner.h * 0.068))
    bar_pad = max(2, round(nominal * 0.16))
    state_size, state_lines = nominal, 1
    if texts is not None:
        found = texts.state_fit(inner.w - 2 * bar_pad, nominal, least)
        if found is None:
            fits, state_size = False, least
        else:
            state_size, state_lines = found
    bar_h = (line_height(nominal) if state_lines == 1
             else state_lines * line_height(state_size)) + 2 * bar_pad

    rows = languages * label_lines
    labels = tuple(Box(inner.x, inner.y + i * label_h, inner.w, label_h) for i in range(rows))
    band_y = inner.y + rows * label_h + gap
    state = Box(inner.x, inner.bottom - bar_h, inner.w, bar_h)
    band_h = max(1, state.y - 2 * gap - band_y)
    # the column takes what a figure of PLANNED_DIGITS (and a half) leaves, at least 42 %
    figure_w = (PLANNED_DIGITS + 0.5) * DIGIT_ADVANCE * band_h / DIGIT_INK
    column_w = max(round(inner.w * 0.42), round(inner.w - gap - figure_w))
    figure = Box(inner.x, band_y, max(1, inner.w - column_w - gap), band_h)
    column = Box(figure.right + gap, band_y, column_w, band_h)
    detail_size = _detail_size(column, label_size, least)
    plain = TileGeometry(w=w, h=h, labels=labels, figure=figure, column=column, state=state,
                         figure_ink=_ink(figure), border=max(3, round(min(w, h) * 0.025)),
                         radius=max(2, round(min(w, h) * 0.03)), readable=least,
                         label_size=label_size, label_lines=label_lines,
                         state_size=state_size, state_lines=state_lines,
                         detail_size=detail_size, bar_pad=bar_pad,
                         fits=fits and band_y + 1 < state.y)
    if texts is None:
        return replace(plain, qualified=plain)
    # the bar of a tile that is not the whole truth: its state words and what is
    # missing — in whole ("1 of 2 wards missing") where that costs the figure
    # little, else the short form ("1 missing"), which the plan must always afford
    width = inner.w - 2 * bar_pad
    for kind in ("long", True):
        found = texts.state_fit(width, state_size, least, qualified=kind)
        if found is None:
            continue
        size, lines = found
        tall = lines * line_height(size) + 2 * bar_pad
        if lines == 1 or tall <= bar_h:
            return replace(plain, qualified=replace(plain, state_size=min(size, state_size)))
        q_state = Box(inner.x, inner.bottom - tall, inner.w, tall)
        q_band = max(1, q_state.y - 2 * gap - band_y)
        q_figure = Box(figure.x, band_y, figure.w, q_band)
        q_column = Box(column.x, band_y, column.w, q_band)
        qualified = replace(plain, figure=q_figure, column=q_column, state=q_state,
                            figure_ink=_ink(q_figure), state_size=size, state_lines=lines,
                            detail_size=_detail_size(q_column, detail_size, least),
                            fits=plain.fits and band_y + 1 < q_state.y)
        if kind is True or (qualified.fits and qualified.figure_ink >= LONG_COST
                            * plain.figure_ink):
            return replace(plain, qualified=qualified, fits=qualified.fits)
    return replace(plain, fits=False)


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
    qualified = tile.parts(True)
    return (tile.fits
            and tile.figure_ink >= max(base / 20, MIN_FIGURE)
            and tile.figure_ink > max(tile.label_size, tile.state_size, tile.detail_size)
            and qualified.figure_ink >= 0.75 * MIN_FIGURE
            and qualified.figure_ink > max(tile.label_size, qualified.state_size,
                                           qualified.detail_size)
            and tile.labels[0].w >= LABEL_WIDTH * max(base / 56, 16))


def _best_grid(count, grid, gap, languages, base, texts):
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
        tile = tile_geometry(w, h, languages, base, texts)
        empty = columns * rows - count
        score = (_legible(tile, base), tile.figure_ink, tile.label_size, -empty)
        if best is None or score > best[0]:
            best = (score, columns, rows, tile)
    return best


def _per_page(count, grid, gap, languages, base, texts):
    """How many tiles fit on a page legibly, pages balanced to equal sizes.

    The most tiles a page can take, counted as the balanced pages would
    hold them (legibility is not quite monotonic in the count: a pixel of
    padding can decide whether a label fits).
    """
    tried = set()
    for most in range(count, 0, -1):
        per_page = math.ceil(count / math.ceil(count / most))
        if per_page in tried:
            continue
        tried.add(per_page)
        best = _best_grid(per_page, grid, gap, languages, base, texts)
        if best is not None and _legible(best[3], base):
            return per_page
    return 1


def _header(width, base, languages, stacked, pad):
    """``(header, title rows, connection, clock, date)``: the title beside the rest,
    or (``stacked``) across the whole width with the connection and clock below."""
    row = line_height(readable(base))          # the least height of a line of text
    header_pad = round(pad * 0.6)
    if stacked:
        header = Box(0, 0, width, max(round(base * 0.17),
                                      (languages + 2) * row + 2 * header_pad + pad))
        inner = header.inset(pad, header_pad)
        title_h = max(languages * row, round(inner.h * 0.56))
        top = Box(inner.x, inner.y, inner.w, title_h)
        bottom = Box(inner.x, top.bottom + pad // 2, inner.w,
                     max(1, inner.bottom - top.bottom - pad // 2))
        title = tuple(top.split_rows(*([1] * languages)))
        clock_box = Box(bottom.right - round(bottom.w * 0.58), bottom.y,
                        round(bottom.w * 0.58), bottom.h)
        clock, date = clock_box.split_columns(0.4, 0.6, gap=pad)
        connection = Box(bottom.x, bottom.y, round(bottom.w * 0.4) - pad, bottom.h)
        return header, title, connection, clock, date
    header = Box(0, 0, width, max(round(base * 0.088),
                                  max(languages, 2) * row + 2 * header_pad))
    inner = header.inset(pad, header_pad)
    clock_w, date_w = round(width * 0.16), round(width * 0.2)
    badge = max(round(base * 0.2), 11 * readable(base))   # "NO CONNECTION" at least
    clock = Box(inner.right - clock_w, inner.y, clock_w, inner.h)
    trim = inner.h // 10 if inner.h - inner.h // 5 >= 2 * row else 0
    date = Box(clock.x - pad - date_w, inner.y + trim, date_w, inner.h - 2 * trim)
    trim = inner.h // 8 if inner.h - inner.h // 4 >= 2 * row else 0
    connection = Box(date.x - pad - badge, inner.y + trim, badge, inner.h - 2 * trim)
    title_box = Box(inner.x, inner.y, max(1, connection.x - pad - inner.x), inner.h)
    return header, tuple(title_box.split_rows(*([1] * languages))), connection, clock, date


def plan(size, count, languages=2, banner=False, message=False, offset=(0, 0),
         texts=None):
    """Lay out a board of ``size`` (width, height) for ``count`` tiles.

    ``texts`` (optional) answers whether the board's labels and state words
    fit a tile (see :func:`tile_geometry`) — a grid where they cannot is not
    legible — and whether its title fits beside the clock (``title_fit``).
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
    row = line_height(readable(base))          # the least height of a line of text

    header, title, connection, clock, date = _header(width, base, languages, portrait, pad)
    if not portrait and texts is not None and not texts.title_fit(title[0].w, readable(base)):
        # a hospital name too long to share its row: the portrait header, title on top
        header, title, connection, clock, date = _header(width, base, languages, True, pad)

    # The total (and the message) say their languages side by side, or one a row;
    # where the total would be too narrow beside the others, it has a row of its own.
    line = max(round(base * 0.052), 2 * row + pad)
    beside = (width - 2 * pad) * (0.4 if message else 0.7)
    stacked = (portrait and message) or beside < TOTAL_WIDTH * readable(base)
    footer_h = line * (2 if stacked else 1)
    footer = Box(0, height - footer_h, width, footer_h)
    f_inner = footer.inset(pad, round(pad * 0.5))
    if stacked:
        total, bottom = f_inner.split_rows(1, 1)
        if message:
            message_box, pager = bottom.split_columns(0.72, 0.28, gap=pad)
        else:
            message_box, pager = None, bottom
    elif message:
        total, message_box, pager = f_inner.split_columns(0.4, 0.38, 0.22, gap=pad)
    else:
        total, pager = f_inner.split_columns(0.7, 0.3, gap=pad)
        message_box = None

    top_y = header.bottom
    banner_box = None
    if banner:
        banner_box = Box(0, top_y, width, max(round(base * 0.085), 2 * row + pad))
        top_y = banner_box.bottom
    grid = Box(gap, top_y + gap, width - 2 * gap, footer.y - top_y - 2 * gap)

    shown = max(1, count)
    # Pages and the grid are planned without the banner, so that a banner
    # coming and going never moves a tile: with it, the same grid is a little
    # shorter.
    unbannered = Box(grid.x, header.bottom + gap, grid.w, footer.y - header.bottom - 2 * gap)
    per_page = _per_page(shown, unbannered, gap, languages, base, texts)
    pages = math.ceil(shown / per_page)
    _, columns, rows, tile = _best_grid(per_page, unbannered, gap, languages, base, texts)
    if banner:
        tile = tile_geometry((grid.w - gap * (columns - 1)) // columns,
                             max(8, (grid.h - gap * (rows - 1)) // rows), languages, base,
                             texts)
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
