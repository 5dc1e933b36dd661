"""The vacant figure: digits drawn from images cropped to their ink, cached.

The biggest thing on a tile is drawn from single-digit images cropped to
the digits' shared ink, so its height is exactly what the layout planned and
a changed number costs a few blits, not a font rendering.  Its digits are
the first shown language's when the board writes native numerals (and
there is a font for them), else 0–9.
"""

import pygame

from .fonts import LATIN
from .languages import LANGUAGES, latin_digits, script_of


def _digits(script):
    """The ten digits the figure is drawn with in ``script``."""
    if script == LATIN:
        return "0123456789"
    return next(found.digits for found in LANGUAGES.values() if found.script.name == script)


class FigurePainting:
    """The figure's part of :class:`display.text.TextPainter` (its ``fonts`` and caches)."""

    def _digit_set(self, script, size, color, background):
        """``(images, advance)``: each digit cropped to the digits' shared ink."""
        key = (script, size, tuple(color), tuple(background))
        found = self._digits.fetch(key)
        if found is not None:
            return found
        font = self.fonts.font(script, True, size)
        digits = _digits(script)
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
            digits = _digits(script)
            metrics = [m for m in font.metrics(digits) if m]
            self._ratios[key] = ((max(m[3] for m in metrics) - min(m[2] for m in metrics))
                                 / 200.0, max(m[4] for m in metrics) / 200.0)
        return self._ratios[key]

    def figure_script(self, text):
        """The script the figure ``text`` is drawn in: its digits' own, when there is a
        font for them (else Latin)."""
        own = script_of(text[0]) if text and not text.isascii() else None
        return own.name if own is not None and self.fonts.has(own.name) else LATIN

    def figure_size(self, text, ink_height, width):
        """The font size of the figure ``text`` drawn at most ``ink_height`` × ``width``."""
        script = self.figure_script(text)
        ink, advance = self.ink_ratio(script)
        size = int(ink_height / ink)
        if len(text) * advance * size > width:
            size = int(width / (len(text) * advance))
        # the digits' advance is rounded to whole pixels at each size: measure it
        while size > 6 and len(text) * self._advance(script, size) > width:
            size -= 1
        return max(6, size)

    def _advance(self, script, size):
        """The widest digit's advance at ``size`` (what :meth:`figure` steps by)."""
        key = ("advance", script, size)
        if key not in self._ratios:
            font = self.fonts.font(script, True, size)
            digits = _digits(script)
            self._ratios[key] = max(m[4] for m in font.metrics(digits) if m)
        return self._ratios[key]

    def figure(self, text, ink_height, width, color, background):
        """The vacant figure ``text`` (digits only), at most ``ink_height`` × ``width``."""
        script = self.figure_script(text)
        if script == LATIN and not text.isascii():
            text = latin_digits(text)
        key = (text, ink_height, width, tuple(color), tuple(background))
        surface = self._figures.fetch(key)
        if surface is not None:
            return surface
        size = self.figure_size(text, ink_height, width)
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
