"""Which of a board's languages it shows now: all at once when they fit, else in turns.

A board lists its languages, the first the *primary* (Bengali, where a
Kolkata board lists it first).  Two are shown together, as always; three
where the screen allows — the plan with three lines per phrase must need
no more pages than with two, and stay legible.  More than three are never
shown at once (a tile with a line in each of four languages is a wall of
text to a reader looking for their own), and when more are listed than
fit, the primary is always shown and the others take turns, a group at a
time, every ``turn_seconds``.  Every tile and the header and footer show
one group at a time, so no tile ever mixes the lines of two turns, and no
line is ever cut to make room: a language that does not fit waits for its
turn instead.
"""

import logging

from .layout import Box, plan, readable
from .tile import BoardTexts

_LOG = logging.getLogger(__name__)

MOST_AT_ONCE = 3


def groups(configured, at_once):
    """The turns: ``[(primary, secondary...)]``, each at most ``at_once`` languages."""
    configured = tuple(configured)
    if len(configured) <= at_once:
        return [configured]
    primary, rest = configured[0], configured[1:]
    step = max(1, at_once - 1)
    return [(primary,) + rest[i:i + step] for i in range(0, len(rest), step)]


class LanguageTurns:
    """The languages to show at a moment, for a board of a size and its labels."""

    def __init__(self, words, display, painter, size, turn_seconds=8.0):
        self.words = words                  # Words of every configured language
        self.display = display
        self.painter = painter
        self.size = tuple(size)
        self.turn_seconds = turn_seconds
        self._plans = {}
        self._started = None

    def _pages(self, languages, count, labels):
        """The pages a board of ``count`` tiles needs showing ``languages``, or None
        when it is not legible even so."""
        key = (languages, count, labels)
        if key not in self._plans:
            if len(self._plans) > 256:      # tiles come and go on a board without tiles
                self._plans.clear()
            words = self.words.showing(languages)
            texts = BoardTexts(self.painter, words, labels, self.display.title)
            layout = plan(self.size, count, len(languages),
                          message=self.display.message is not None, texts=texts)
            fits = layout.legible() and self._header_and_footer_fit(layout, words)
            self._plans[key] = layout.pages if fits else None
        return self._plans[key]

    def _header_and_footer_fit(self, layout, words):
        """Whether the title, the connection's words and the footer's total fit their
        places in every shown language (as the renderer arranges them)."""
        painter, least = self.painter, readable(layout.base)

        def fits(box, parts, wrap=False):
            return painter.arrange(parts, box.w, box.h, box.h, least, bold=True,
                                   wrap=wrap) is not None
        title = self.display.title.lines(words.languages)
        if not all(fits(box, [part]) for part, box in zip(title, layout.title)):
            return False
        box = layout.connection
        radius = max(3, min(box.h // 8, box.w // 24))
        words_box = Box(box.x + 3 * radius, box.y, max(1, box.w - 3 * radius), box.h)
        if not all(fits(words_box, words.each(state))
                   for state in ("live", "no-live", "lost", "connecting")):
            return False
        return all(fits(layout.total, words.each(key, n=88888, m=88), wrap=True)
                   for key in ("total", "total-partial", "total-last", "total-none"))

    def at_once(self, count, labels):
        """How many languages the board shows together (with ``count`` tiles)."""
        configured = self.words.configured
        if len(configured) <= 2:
            return len(configured)
        least = self._pages(configured[:2], count, labels)
        for size in range(min(MOST_AT_ONCE, len(configured)), 2, -1):
            turns = groups(configured, size)
            if all(self._pages(group, count, labels) is not None
                   and (least is None or self._pages(group, count, labels) <= least)
                   for group in turns):
                return size
        return 2

    def turns(self, count, labels):
        """Every group the board shows in turn."""
        return groups(self.words.configured, self.at_once(count, labels))

    def shown(self, now, count, labels):
        """The languages to show at monotonic ``now``."""
        turns = self.turns(count, tuple(labels))
        if len(turns) == 1:
            return turns[0]
        if self._started is None:
            self._started = now
        return turns[int((now - self._started) // self.turn_seconds) % len(turns)]
