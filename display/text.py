"""Text on the board: lines of any of its scripts, arranged in their boxes, cached.

A line is cut into runs of one direction (:mod:`display.bidi`: an Urdu line
with numbers and Latin names in it), and each run into runs of one font: a
script's letters go to its font (Bengali, Devanagari, Nastaliq, Ol Chiki,
Odia, Gurmukhi), and digits, spaces and punctuation stay with the font
before them when it has them, else go to the Latin font (Nastaliq has no
Latin letters; Devanagari has no "·").  Each run is shaped by HarfBuzz in
its script and direction; the runs share one baseline, drawn left to right
in visual order.  A right-to-left line is aligned to the right of its box
where others align left.

A phrase is said in every configured language.  :meth:`TextPainter.arrange`
finds how it fits a box: its languages side by side on one line ("English ·
Bengali"), or one line per language, or (where allowed) each language
wrapped onto two lines — whichever gives the largest type, at most the size
asked for and never below the readable floor given.  When nothing fits, it
says so (None) and the caller leaves the phrase out *whole*: no text is ever
cut, shortened with "…" or shrunk below the floor, and no language is ever
dropped on its own.  Rendered lines are kept (least recently used first
out), so redrawing an unchanged tile only blits.

The vacant figure is drawn from single-digit images cropped to the digits'
ink, so its height is exactly what the layout planned and a changed number
costs a few blits, not a font rendering.

What was drawn is reported as :class:`TextDrawn` records (the phrase, the
lines it was drawn on, where, and at what size), so a test can check that
every text is whole, readable and inside its part of the board.
"""

from collections import OrderedDict
from dataclasses import dataclass

import pygame

from . import bidi
from .figure import FigurePainting, converted
from .fonts import LATIN
from .languages import LANGUAGES, is_rtl, script_of
from .layout import Box

JOIN = " · "        # between the languages of a phrase said on one line


@dataclass(frozen=True)
class Row:
    """One line of an arrangement: ``text`` is all or part of ``phrase``."""

    languages: tuple    # ("en",), or ("en", "bn") when the languages share the line
    phrase: str         # the whole text in those languages
    text: str           # what this line shows (the phrase, or one of its wrapped halves)


@dataclass(frozen=True)
class Arrangement:
    """How a phrase fits its box: the rows, top to bottom, at one font size."""

    size: int
    rows: tuple         # of Row
    heights: tuple      # each row's height in px
    widths: tuple       # each row's width in px

    @property
    def height(self):
        """The rows' total height."""
        return sum(self.heights)

    @property
    def width(self):
        """The widest row."""
        return max(self.widths, default=0)


@dataclass(frozen=True)
class TextDrawn:
    """One phrase (in one language, or several on one line) as drawn: the report."""

    role: str           # "label", "figure", "state", "of-beds", "note", "title", …
    languages: tuple    # the languages it says; () for the figure and the clock
    phrase: str         # the whole text asked for
    lines: tuple        # ((text, Box), …) as drawn, top to bottom, in board pixels
    size: int           # font size in px

    @property
    def whole(self):
        """Whether the lines together say the whole phrase (nothing cut, nothing added)."""
        return " ".join(text for text, _ in self.lines).split() == self.phrase.split() \
            and all(text.strip() for text, _ in self.lines)

    @property
    def box(self):
        """The rectangle all its lines occupy."""
        boxes = [box for _, box in self.lines]
        x, y = min(b.x for b in boxes), min(b.y for b in boxes)
        return Box(x, y, max(b.right for b in boxes) - x, max(b.bottom for b in boxes) - y)

    def moved(self, dx, dy):
        """The same record for a part drawn ``(dx, dy)`` further on."""
        return TextDrawn(self.role, self.languages, self.phrase,
                         tuple((text, box.moved(dx, dy)) for text, box in self.lines),
                         self.size)


def joined(parts):
    """The phrase's languages on one line: ``English · Bengali``."""
    return JOIN.join(text for _, text in parts)


_SHARED = frozenset("\u0964\u0965\u200c\u200d")   # dandas and joiners: any Indic script's
_UNKNOWN = object()
# every language's digits to its zero: a line's shape (:meth:`TextPainter.arrange`)
_ZEROS = {ord(digit): digits[0] for digits in
          ["0123456789"] + [found.digits for found in LANGUAGES.values()] for digit in digits}


def row_rtl(row):
    """Whether a Row is drawn right to left: its (first) language's direction."""
    return bool(row.languages) and is_rtl(row.languages[0])


class ImageCache(OrderedDict):
    """A least-recently-used map, bounded by a count and, for images, by their bytes.

    A board runs for months and its texts change every minute ("updated 7
    min ago"): a cache bounded only by count filled with lines of 100–300 KB
    each (the soak in ``make bench`` saw it grow 1.4 → 16 MiB in a day).
    """

    def __init__(self, limit, max_bytes=None):
        super().__init__()
        self.limit = limit
        self.max_bytes = max_bytes
        self.bytes = 0
        self._weights = {}      # key: its value's bytes, weighed once when kept

    def clear(self):
        super().clear()
        self._weights.clear()
        self.bytes = 0

    def fetch(self, key):
        """The value for ``key``, or None; marks it recently used."""
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value

    def keep(self, key, value, weight=None):
        """Store ``value`` (of ``weight`` bytes of pixels; None: weighed here);
        drop the least recently used beyond the limits."""
        if key in self:
            del self[key]
            self.bytes -= self._weights.pop(key)
        self[key] = value
        if weight is None:
            weight = pixel_bytes(value)
        self._weights[key] = weight
        self.bytes += weight
        while len(self) > 1 and (len(self) > self.limit or (
                self.max_bytes is not None and self.bytes > self.max_bytes)):
            dropped, _ = self.popitem(last=False)
            self.bytes -= self._weights.pop(dropped)
        return value


def pixel_bytes(value):
    """Bytes of pixels in ``value`` (a Surface, or a tuple/dict holding them)."""
    if isinstance(value, pygame.Surface):
        return value.get_width() * value.get_height() * value.get_bytesize()
    if isinstance(value, dict):
        return sum(pixel_bytes(v) for v in value.values())
    if isinstance(value, (tuple, list)):
        return sum(pixel_bytes(v) for v in value)
    return 0


class TextPainter(FigurePainting):
    """Renders and fits the board's text with a FontBook."""

    def __init__(self, fonts, cache_size=3000, cache_bytes=8 * 2 ** 20):
        self.fonts = fonts
        self._lines = ImageCache(cache_size, cache_bytes)
        self._digits = ImageCache(64, cache_bytes)
        self._figures = ImageCache(512, cache_bytes)
        self._ratios = {}
        self._widths = {}
        self._heights = {}
        self._arrangements = {}
        self._pieces = {}
        self._text_scripts = {}     # text: the scripts of its runs (line_height's key)
        self._owns = {}             # character: its own script with a font, or None

    # -- runs ------------------------------------------------------------------
    def runs(self, text, home=None):
        """``[(script, text)]``: the line cut where the font must change (logical order).

        Digits, spaces and punctuation stay with the font before them when it
        has them; at the start, with ``home``'s when it has them (a right-to-left
        run's brackets and digits are its script's, mirrored and shaped with it).
        """
        fonts = self.fonts
        owns = self._owns
        runs = []
        for char in text:
            own = owns.get(char, _UNKNOWN)
            if own is _UNKNOWN:
                own = self._own_script(char)
            previous = runs[-1][0] if runs else home
            if own is not None:
                script = own
            elif previous not in (None, LATIN) and (char.isspace()
                                                    or fonts.covers(previous, char)):
                script = previous
            else:
                script = LATIN
            if runs and runs[-1][0] == script:
                runs[-1][1].append(char)
            else:
                runs.append((script, [char]))
        return [(script, "".join(chars)) for script, chars in runs]

    def _own_script(self, char):
        """The name of ``char``'s own script when there is a font for it, else None
        (remembered: runs() asks it of every character of every new line)."""
        found = None if char in _SHARED else script_of(char)
        own = found.name if found is not None and self.fonts.has(found.name) else None
        if len(self._owns) > 20000:
            self._owns.clear()
        self._owns[char] = own
        return own

    def pieces(self, text, rtl=None):
        """``[(script, text, rtl)]``: the line's runs of one font and one direction,
        in the order they are drawn from left to right."""
        key = (text, rtl)
        found = self._pieces.get(key)
        if found is None:
            found = []
            home = self._rtl_script(text)
            # a phrase's languages side by side: each is a line of its own direction
            # (isolated, as UAX #9's FSI would), placed in the row's direction
            segments = text.split(JOIN) if home is not None else [text]
            if len(segments) > 1 and (rtl if rtl is not None else bidi.base_rtl(text)):
                segments = segments[::-1]
            for number, segment in enumerate(segments):
                if number:
                    found.append((LATIN, JOIN, False))
                direction = rtl if len(segments) == 1 else bidi.base_rtl(segment)
                own = self._rtl_script(segment)
                for part, backwards in bidi.runs(segment, direction):
                    runs = [(script, chunk, backwards)
                            for script, chunk in self.runs(part, own)]
                    found += runs[::-1] if backwards else runs
            if len(self._pieces) > 20000:
                self._pieces.clear()
            self._pieces[key] = found
        return found

    def _rtl_script(self, text):
        """The right-to-left script ``text`` is written in (with a font), or None."""
        return next((own.name for own in map(script_of, text)
                     if own is not None and own.rtl and self.fonts.has(own.name)), None)

    def _font(self, script, bold, size, rtl):
        font = self.fonts.font(script, bold, size)
        font.set_direction(pygame.DIRECTION_RTL if rtl else pygame.DIRECTION_LTR)
        return font

    def _scripts(self, runs):
        return frozenset(script for script, _ in runs) or frozenset((LATIN,))

    # -- lines -----------------------------------------------------------------
    def render(self, text, size, color, background, bold=False, rtl=None):
        """One line at font ``size``: an opaque Surface on ``background``
        (``rtl``: the line's direction; None: by its first strong letter)."""
        key = (text, size, tuple(color), tuple(background), bold, rtl)
        surface = self._lines.fetch(key)
        if surface is not None:
            return surface
        pieces = self.pieces(text, rtl)
        # one Font serves both directions: each piece is measured (and drawn) in its own
        fonts, widths = [], []
        for script, part, backwards in pieces:
            font = self._font(script, bold, size, backwards)
            fonts.append(font)
            widths.append(font.size(part)[0])
        ascent = max((f.get_ascent() for f in fonts), default=0)
        descent = max((-f.get_descent() for f in fonts), default=0)
        surface = pygame.Surface((max(1, sum(widths)), max(1, ascent + descent)))
        surface.fill(background)
        x = 0
        for font, (script, part, backwards), width in zip(fonts, pieces, widths):
            if part.strip():
                font.set_direction(pygame.DIRECTION_RTL if backwards
                                   else pygame.DIRECTION_LTR)
                surface.blit(font.render(part, True, color, background),
                             (x, ascent - font.get_ascent()))
            x += width
        return self._lines.keep(key, converted(surface))

    def width(self, text, size, bold=False):
        """How wide ``text`` is at ``size``, without rendering it (cached)."""
        key = (text, size, bold)
        found = self._widths.get(key)
        if found is None:
            found = sum(self._font(script, bold, size, backwards).size(part)[0]
                        for script, part, backwards in self.pieces(text))
            if len(self._widths) > 50000:
                self._widths.clear()
            self._widths[key] = found
        return found

    def line_height(self, text, size, bold=False):
        """How high :meth:`render` makes ``text`` at ``size``."""
        scripts = self._text_scripts.get(text)
        if scripts is None:
            scripts = self._scripts(self.runs(text))
            if len(self._text_scripts) > 20000:
                self._text_scripts.clear()
            self._text_scripts[text] = scripts
        key = (scripts, size, bold)
        found = self._heights.get(key)
        if found is None:
            fonts = [self.fonts.font(script, bold, size) for script in key[0]]
            found = max(f.get_ascent() for f in fonts) + max(-f.get_descent() for f in fonts)
            self._heights[key] = found
        return found

    def largest_size(self, text, width, size, floor, bold=False):
        """The largest font size in ``[floor, size]`` at which ``text`` is at most
        ``width`` wide, or None."""
        size, floor = int(size), int(floor)
        if size < floor or width <= 0:
            return None
        full = self.width(text, size, bold)
        if full <= width:
            return size
        guess = max(floor, min(size - 1, int(size * width / max(1, full))))
        while guess < size - 1 and self.width(text, guess + 1, bold) <= width:
            guess += 1
        while guess >= floor and self.width(text, guess, bold) > width:
            guess -= 1
        return guess if guess >= floor else None

    def _rows_height(self, rows, size, bold):
        return sum(self.line_height(row.text, size, bold) for row in rows)

    def _fit_height(self, rows, height, size, floor, bold):
        """The largest size ≤ ``size`` (≥ ``floor``) at which ``rows`` stack within ``height``."""
        while size >= floor and self._rows_height(rows, size, bold) > height:
            size -= 1 if size < 40 else max(1, size // 20)
        return size if size >= floor else None

    def halves(self, text, width, size, floor, bold=False):
        """``(size, (first, second))``: ``text`` wrapped at the space that allows the
        largest size, or None."""
        words = text.split()
        best = None
        for cut in range(1, len(words)):
            first, second = " ".join(words[:cut]), " ".join(words[cut:])
            low = self.largest_size(first, width, size, floor, bold)
            low = low and self.largest_size(second, width, low, floor, bold)
            if not low:
                continue
            # the largest size; of those, the most even halves
            score = (low, -max(self.width(first, low, bold), self.width(second, low, bold)))
            if best is None or score > best[0]:
                best = (score, (low, (first, second)))
        return best and best[1]

    def arrange(self, parts, width, height, size, floor, bold=False, wrap=False,
                give=1.0):
        """How the phrase ``parts`` (``[(language, text)]``) fits ``width`` × ``height``.

        Tries its languages side by side on one line, one line per language,
        and (with ``wrap``) each language on up to two lines, and returns the
        :class:`Arrangement` with the largest font size (≤ ``size``, ≥
        ``floor``; fewer lines on a tie), or None when none fits.  With
        ``give`` below 1, fewer lines win as long as their size is at least
        ``give`` × ``size``: a detail line shrinks a little rather than wrap
        (a label, ``give=1``, wraps before it shrinks).
        """
        parts = [(language, text) for language, text in parts if text]
        if not parts or width < 1 or height < 1:
            return None
        key = (tuple(parts), width, height, size, floor, bold, wrap, give)
        if key in self._arrangements:
            return self._arrangements[key]
        template = tuple((language, text.translate(_ZEROS)) for language, text in parts)
        arrangement = None
        if template != key[0]:
            # "17 occupied" is laid out as "00 occupied" was, the board's digits being
            # as wide as each other: a changed number costs its own rows' widths, not
            # the search again; a row too wide after all (kerning) searches anew
            shape = self.arrange(template, width, height, size, floor, bold, wrap, give)
            arrangement = shape and self._filled(shape, parts, width, height, bold)
        if arrangement is None:
            arrangement = self._search(parts, width, height, size, floor, bold, wrap, give)
        if len(self._arrangements) > 20000:
            self._arrangements.clear()
        self._arrangements[key] = arrangement
        return arrangement

    def _filled(self, shape, parts, width, height, bold):
        """``shape`` (the arrangement of ``parts`` with every digit 0) with ``parts``'
        own text in its rows, or None when a row is then too wide or too high."""
        said = dict(parts)
        taken = {}
        rows = []
        for row in shape.rows:
            phrase = joined([(language, said[language]) for language in row.languages])
            text = phrase
            if row.text != row.phrase:          # one of a wrapped phrase's halves
                words, start = phrase.split(), taken.get(row.phrase, 0)
                count = len(row.text.split())
                text = " ".join(words[start:start + count])
                taken[row.phrase] = start + count
            rows.append(Row(row.languages, phrase, text))
        widths = tuple(self.width(row.text, shape.size, bold) for row in rows)
        heights = tuple(self.line_height(row.text, shape.size, bold) for row in rows)
        if max(widths) > width or sum(heights) > height:
            return None
        return Arrangement(shape.size, tuple(rows), heights, widths)

    def _search(self, parts, width, height, size, floor, bold, wrap, give):
        """:meth:`arrange`'s search: every layout, the best that fits, or None."""
        found = None
        for rows in self._modes(parts, width, size, floor, bold, wrap):
            if rows is None:
                continue
            rows, fitted = rows
            fitted = fitted and self._fit_height(rows, height, fitted, floor, bold)
            if not fitted:
                continue
            score = (fitted >= give * size, -len(rows), fitted) if give < 1 \
                else (fitted, -len(rows))
            if found is None or score > found[0]:
                found = (score, fitted, rows)
        if found is None:
            return None
        _, fitted, rows = found
        return Arrangement(
            fitted, tuple(rows), tuple(self.line_height(r.text, fitted, bold) for r in rows),
            tuple(self.width(r.text, fitted, bold) for r in rows))

    def _modes(self, parts, width, size, floor, bold, wrap):
        """Candidate ``(rows, size)`` for each way of laying the phrase out."""
        languages = tuple(language for language, _ in parts)
        if len(parts) > 1:
            text = joined(parts)
            yield [Row(languages, text, text)], self.largest_size(text, width, size, floor, bold)
        single = [self.largest_size(text, width, size, floor, bold) for _, text in parts]
        yield ([Row((language,), text, text) for language, text in parts],
               min(single) if all(single) else None)
        if not wrap:
            return
        rows, least = [], size
        for (language, text), alone in zip(parts, single):
            halves = self.halves(text, width, size, floor, bold)
            if halves is not None and (alone is None or halves[0] > alone):
                least = min(least, halves[0])
                rows += [Row((language,), text, half) for half in halves[1]]
            elif alone is not None:
                least = min(least, alone)
                rows.append(Row((language,), text, text))
            else:
                yield None
                return
        yield rows, least

    def images(self, arrangement, color, background, bold=False):
        """Each row of ``arrangement`` rendered: ``[(image, Row)]``."""
        return [(self.render(row.text, arrangement.size, color, background, bold,
                             row_rtl(row)), row)
                for row in arrangement.rows]

    def draw(self, surface, arrangement, box, color, background, bold=False, align="left",
             role="text", valign="middle"):
        """Draw ``arrangement`` in ``box`` of ``surface``; return its TextDrawn records."""
        images = self.images(arrangement, color, background, bold)
        placed = place(images, box, align, valign)
        for (image, _), (_, line) in zip(images, placed):
            surface.blit(image, (line.x, line.y))
        return report(role, arrangement, placed)


def place(images, box, align="left", valign="middle"):
    """``[(Row, Box)]``: where each rendered row goes in ``box``, one under another."""
    total = sum(image.get_height() for image, _ in images)
    y = box.y + {"top": 0, "bottom": box.h - total}.get(valign, (box.h - total) // 2)
    placed = []
    for image, row in images:
        w, h = image.get_size()
        side = align
        if isinstance(row, Row) and row_rtl(row):     # a right-to-left line starts at the right
            side = {"left": "right", "right": "left"}.get(align, align)
        x = box.x + {"centre": (box.w - w) // 2, "right": box.w - w}.get(side, 0)
        placed.append((row, Box(x, y, w, h)))
        y += h
    return placed


def report(role, arrangement, placed):
    """The TextDrawn records of an arrangement's rows as placed: one per phrase."""
    records = []
    for row, line in placed:
        if records and records[-1][1] == row.languages and records[-1][2] == row.phrase:
            records[-1][3].append((row.text, line))
        else:
            records.append((role, row.languages, row.phrase, [(row.text, line)]))
    return [TextDrawn(role, languages, phrase, tuple(lines), arrangement.size)
            for role, languages, phrase, lines in records]
