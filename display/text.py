"""Text on the board: mixed Bengali/Latin lines, fitted to their boxes, cached.

A line is cut into runs by script: Bengali letters (and the punctuation the
Bengali font has) go to the Bengali font, shaped by HarfBuzz as a whole run;
everything else to the Latin font; the runs share one baseline.  A line is
fitted to its box by choosing the size from the box's height, then shrinking
a little if it is too wide, then trying a shorter alternative (e.g. English
only), and last cutting it with "…".  Rendered lines are kept (least recently
used first out), so redrawing an unchanged tile only blits.

The vacant figure is drawn from single-digit images cropped to the digits'
ink, so its height is exactly what the layout planned and a changed number
costs a few blits, not a font rendering.
"""

from collections import OrderedDict

import pygame

from .fonts import BENGALI, LATIN

_ELLIPSIS = "…"
MIN_SIZE = 11       # pixels: a line is never shrunk below this to make it fit


def _is_bengali_letter(char):
    code = ord(char)
    return 0x0980 <= code <= 0x09FF or code in (0x200C, 0x200D, 0x0964, 0x0965)


class _Cache(OrderedDict):
    """A small least-recently-used map."""

    def __init__(self, limit):
        super().__init__()
        self.limit = limit

    def fetch(self, key):
        """The value for ``key``, or None; marks it recently used."""
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value

    def keep(self, key, value):
        """Store ``value``; drop the least recently used beyond the limit."""
        self[key] = value
        if len(self) > self.limit:
            self.popitem(last=False)
        return value


class TextPainter:
    """Renders and fits the board's text with a FontBook."""

    def __init__(self, fonts, cache_size=3000):
        self.fonts = fonts
        self._lines = _Cache(cache_size)
        self._fits = _Cache(cache_size)
        self._digits = _Cache(64)
        self._figures = _Cache(512)
        self._ratios = {}

    # -- runs ------------------------------------------------------------------
    def runs(self, text):
        """``[(script, text)]``: the line cut where the font must change."""
        use_bengali = self.fonts.has_bengali
        runs = []
        for char in text:
            if use_bengali and _is_bengali_letter(char):
                script = BENGALI
            elif char.isspace() or (use_bengali and runs and runs[-1][0] == BENGALI
                                    and self.fonts.bengali_has(char)):
                script = runs[-1][0] if runs else LATIN
            else:
                script = LATIN
            if runs and runs[-1][0] == script:
                runs[-1][1].append(char)
            else:
                runs.append((script, [char]))
        return [(script, "".join(chars)) for script, chars in runs]

    def _scripts(self, runs):
        return frozenset(script for script, _ in runs) or frozenset((LATIN,))

    def _ratio(self, scripts, bold):
        """Line height per pixel of font size, for this mix of scripts."""
        key = (scripts, bold)
        if key not in self._ratios:
            fonts = [self.fonts.font(s, bold, 100) for s in scripts]
            ascent = max(f.get_ascent() for f in fonts)
            descent = max(-f.get_descent() for f in fonts)
            self._ratios[key] = (ascent + descent) / 100.0
        return self._ratios[key]

    # -- lines -----------------------------------------------------------------
    def size_for(self, text, height, bold=False):
        """The font size whose line is at most ``height`` pixels high."""
        return max(4, int(height / self._ratio(self._scripts(self.runs(text)), bold)))

    def render(self, text, size, color, background, bold=False):
        """One line at font ``size``: an opaque Surface on ``background``."""
        key = (text, size, tuple(color), tuple(background), bold)
        surface = self._lines.fetch(key)
        if surface is not None:
            return surface
        runs = self.runs(text)
        fonts = [self.fonts.font(script, bold, size) for script, _ in runs]
        ascent = max((f.get_ascent() for f in fonts), default=0)
        descent = max((-f.get_descent() for f in fonts), default=0)
        widths = [f.size(part)[0] for f, (_, part) in zip(fonts, runs)]
        surface = pygame.Surface((max(1, sum(widths)), max(1, ascent + descent)))
        surface.fill(background)
        x = 0
        for font, (_, part), width in zip(fonts, runs, widths):
            if part.strip():
                surface.blit(font.render(part, True, color, background),
                             (x, ascent - font.get_ascent()))
            x += width
        return self._lines.keep(key, converted(surface))

    def width(self, text, size, bold=False):
        """How wide ``text`` is at ``size``, without rendering it."""
        return sum(self.fonts.font(script, bold, size).size(part)[0]
                   for script, part in self.runs(text))

    def fit(self, choices, height, width, color, background, bold=False,
            min_scale=0.72):
        """The first of ``choices`` (texts, best first) that fits the box.

        Each is tried at the size the box's height allows, shrunk down to
        ``min_scale`` of it; when none fits, the last is cut with "…".
        Returns a Surface no larger than the box (an empty one for no text).
        """
        if isinstance(choices, str):
            choices = (choices,)
        choices = tuple(c for c in choices if c)
        key = (choices, height, width, tuple(color), tuple(background), bold, min_scale)
        surface = self._fits.fetch(key)
        if surface is not None:
            return surface
        surface = self._fit(choices, height, width, color, background, bold, min_scale)
        return self._fits.keep(key, surface)

    def _fit(self, choices, height, width, color, background, bold, min_scale):
        if not choices or height < 4 or width < 4:
            return pygame.Surface((0, 0))
        text, size = self._choose(choices, height, width, bold, min_scale)
        return self.render(text, size, color, background, bold)

    def fit_all(self, lines, height, width, color, background, bold=False,
                min_scale=0.72):
        """Fit several lines (each a tuple of choices) alike: the same choice, one size.

        When one line must fall back to its second choice (English only,
        say), every line does, so that a column does not mix the two.
        """
        lines = [tuple(c for c in choices if c) for choices in lines]
        lines = [choices for choices in lines if choices]
        if not lines or height < 4 or width < 4:
            return []

        def picked(choices):        # which choice fits (the last, cut, when none does)
            text, _ = self._choose(choices, height, width, bold, min_scale)
            return choices.index(text) if text in choices else len(choices) - 1
        fallback = max(picked(choices) for choices in lines)
        picks = [self._choose(choices[min(fallback, len(choices) - 1):], height, width,
                              bold, min_scale) for choices in lines]
        size = min(size for _, size in picks)
        return [self.render(text, size, color, background, bold) for text, _ in picks]

    def _choose(self, choices, height, width, bold, min_scale):
        """``(text, size)``: the first choice that fits, or the last one cut with "…"."""
        for text in choices:
            size = self.size_for(text, height, bold)
            measured = self.width(text, size, bold)
            if measured <= width:
                return text, size
            smaller = int(size * width / measured)
            if smaller >= max(size * min_scale, MIN_SIZE):
                while smaller > 4 and self.width(text, smaller, bold) > width:
                    smaller -= 1
                return text, smaller
        text = choices[-1]
        size = max(4, int(self.size_for(text, height, bold) * min_scale))
        low, high = 0, len(text)
        while low < high:       # the longest prefix that fits with "…"
            middle = (low + high + 1) // 2
            if self.width(text[:middle].rstrip() + _ELLIPSIS, size, bold) <= width:
                low = middle
            else:
                high = middle - 1
        return text[:low].rstrip() + _ELLIPSIS, size

    # -- the figure ------------------------------------------------------------
    def _digit_set(self, script, size, color, background):
        """``(images, advance)``: each digit cropped to the digits' shared ink."""
        key = (script, size, tuple(color), tuple(background))
        found = self._digits.fetch(key)
        if found is not None:
            return found
        font = self.fonts.font(script, True, size)
        digits = "0123456789" if script == LATIN else "০১২৩৪৫৬৭৮৯"
        metrics = [m for m in font.metrics(digits) if m]
        top = max(m[3] for m in metrics)
        bottom = min(m[2] for m in metrics)
        advance = max(m[4] for m in metrics)
        ascent = font.get_ascent()
        crop_top = max(0, ascent - top)
        images = {}
        for char in digits:
            glyph = font.render(char, True, color, background)
            height = min(glyph.get_height() - crop_top, top - bottom)
            image = pygame.Surface((advance, max(1, height)))
            image.fill(background)
            image.blit(glyph, (0, 0), pygame.Rect(0, crop_top, glyph.get_width(), height))
            images[char] = converted(image)
        return self._digits.keep(key, (images, advance))

    def ink_ratio(self, script):
        """Digit ink height and advance per pixel of font size, for ``script``."""
        key = ("ink", script)
        if key not in self._ratios:
            font = self.fonts.font(script, True, 200)
            digits = "0123456789" if script == LATIN else "০১২৩৪৫৬৭৮৯"
            metrics = [m for m in font.metrics(digits) if m]
            self._ratios[key] = ((max(m[3] for m in metrics) - min(m[2] for m in metrics))
                                 / 200.0, max(m[4] for m in metrics) / 200.0)
        return self._ratios[key]

    def figure(self, text, ink_height, width, color, background):
        """The vacant figure ``text`` (digits only), at most ``ink_height`` × ``width``."""
        script = BENGALI if text and not text.isascii() and self.fonts.has_bengali \
            else LATIN
        if script == LATIN and not text.isascii():
            text = text.translate(str.maketrans("০১২৩৪৫৬৭৮৯", "0123456789"))
        key = (text, ink_height, width, tuple(color), tuple(background))
        surface = self._figures.fetch(key)
        if surface is not None:
            return surface
        ink, advance = self.ink_ratio(script)
        size = int(ink_height / ink)
        if len(text) * advance * size > width:
            size = int(width / (len(text) * advance))
        size = max(6, size)
        images, step = self._digit_set(script, size, color, background)
        height = next(iter(images.values())).get_height()
        surface = pygame.Surface((max(1, step * len(text)), height))
        surface.fill(background)
        for i, char in enumerate(text):
            image = images.get(char)
            if image is not None:
                surface.blit(image, (i * step, 0))
        return self._figures.keep(key, converted(surface))


def converted(surface):
    """``surface`` in the screen's pixel format when there is a screen (faster blits)."""
    if pygame.display.get_init() and pygame.display.get_surface() is not None:
        try:
            return surface.convert()
        except pygame.error:
            return surface
    return surface
