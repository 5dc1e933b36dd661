"""What the board says, in each of its languages.

Every phrase of the board is in ``display/phrases/<language>.yaml``, one
table per language (see :mod:`display.phrases`): a translator has one file
to check, with a note on where each phrase shows.  Numbers inside a phrase
are written in the language's own digits when the board's ``numerals`` is
``native`` (or, as before, in Bengali text when ``bengali_numerals`` is
set); otherwise 0–9.
"""

import logging

from . import languages as _languages
from .phrases import table

_LOG = logging.getLogger(__name__)

LANGUAGES = _languages.CODES        # every language a board may speak
DEFAULT = _languages.DEFAULT        # what a board speaks when its config does not say

# Departments a tile may be named after when the config gives no label.
_ALIASES = {"pediatrics": "paediatrics"}


def default_label(department):
    """``{language: text}`` for a department slug, in every language that has one;
    an unknown slug gets a tidied slug in English only."""
    key = "department-" + _ALIASES.get(department, department)
    if key in table("en"):
        return {code: table(code)[key] for code in LANGUAGES if key in table(code)}
    return {"en": department.replace("-", " ").title(), "bn": None}


def bengali_digits(text):
    """``text`` with 0–9 written as ০–৯."""
    return _languages.native_digits("bn", text)


class Words:
    """The board's phrases in the configured languages, in their order.

    ``languages`` is what the board shows now; ``configured`` every language
    its config names (more than ``languages`` when the secondary languages
    take turns: see :mod:`display.turns`).
    """

    def __init__(self, languages=DEFAULT, bengali_numerals=False, numerals="latin"):
        self.configured = tuple(languages)
        self.languages = self.configured
        self.bengali_numerals = bengali_numerals
        self.numerals = numerals

    def showing(self, languages):
        """The same words, showing only ``languages`` (of those configured)."""
        words = Words(self.configured, self.bengali_numerals, self.numerals)
        words.languages = tuple(languages)
        return words

    def native(self, language):
        """Whether numbers in ``language`` are written in its own digits."""
        return self.numerals == "native" or (language == "bn" and self.bengali_numerals)

    def digits(self, language, value):
        """A number as text in ``language``."""
        text = str(value)
        return _languages.native_digits(language, text) if self.native(language) else text

    def figure(self, value):
        """The big vacant figure: in the first shown language's digits when they are
        native (Bengali's whenever Bengali numerals are asked and Bengali is shown)."""
        text = str(value)
        if self.numerals == "native" and self.languages:
            return _languages.native_digits(self.languages[0], text)
        if self.bengali_numerals and "bn" in self.languages:
            return bengali_digits(text)
        return text

    def text(self, key, language):
        """The raw phrase ``key`` in ``language`` (English where a table lacks it)."""
        found = table(language).get(key)
        if found is None:
            _LOG.warning("no %s text for %r: showing the English", language, key)
            found = table("en")[key]
        return found

    def say(self, key, language, **fields):
        """One phrase in one language; numbers in ``fields`` follow the numerals rule."""
        shown = {name: self.digits(language, value) if isinstance(value, int) else value
                 for name, value in fields.items()}
        return self.text(key, language).format(**shown)

    def each(self, key, **fields):
        """``[(language, text)]`` of a phrase in every shown language.

        Fields may be callables of the language (for nested phrases).
        """
        out = []
        for language in self.languages:
            shown = {name: value(language) if callable(value) else value
                     for name, value in fields.items()}
            out.append((language, self.say(key, language, **shown)))
        return out

    def duration(self, language, minutes):
        """``under a minute``, ``12 min``, ``2 h 5 min``, ``3 days`` in ``language``."""
        if minutes < 1:
            return self.say("under-a-minute", language)
        if minutes < 60:
            return self.say("minutes", language, n=minutes)
        if minutes < 24 * 60:
            hours, rest = divmod(minutes, 60)
            if rest and hours < 10:
                return self.say("hours-minutes", language, n=hours, m=rest)
            return self.say("hours", language, n=hours)
        return self.say("days", language, n=minutes // (24 * 60))

    def clock(self, language, local):
        """``18:02:37`` in ``language``."""
        return self.digits(language, local.strftime("%H:%M:%S"))

    def hour_minute(self, language, local):
        """``18:02`` in ``language``."""
        return self.digits(language, local.strftime("%H:%M"))

    def date(self, language, local, weekday=True):
        """``Wed 25 Nov 2026`` / ``বুধবার, ২৫ নভেম্বর ২০২৬`` (without the weekday:
        ``25 Nov 2026`` / ``২৫ নভেম্বর ২০২৬``)."""
        return self.say("date" if weekday else "date-short", language,
                        weekday=self.text("weekdays", language)[local.weekday()],
                        day=local.day, month=self.text("months", language)[local.month - 1],
                        year=local.year)
