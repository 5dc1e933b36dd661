"""The languages a board can speak: their scripts, fonts, direction and digits.

West Bengal's official languages: Bengali and English, and Hindi, Urdu,
Nepali, Santali, Odia and Punjabi where a block has more than 10 % speakers.
Each is written in its own script, drawn in its own Noto font (Debian's
``fonts-noto-core``) and shaped by HarfBuzz with its script tag; Urdu is
written right to left, in Nastaliq.

Digits: a board's ``numerals`` setting is ``latin`` (0–9 everywhere, the
default) or ``native`` (each language its own: Bengali ০–৯, Devanagari
०–९ for Hindi and Nepali, Odia ୦–୯, Gurmukhi ੦–੯, Ol Chiki ᱐–᱙, and for
Urdu the Extended Arabic-Indic digits ۰–۹).  Why those for Urdu: CLDR gives
Urdu *as written in India* (``ur_IN``) the ``arabext`` numbering system —
U+06F0–U+06F9, whose 4, 6 and 7 have the Urdu shapes — while Urdu in
Pakistan (``ur``) defaults to Latin digits; a Kolkata board is in India.
The Arabic-Indic digits U+0660–U+0669 are Arabic's, not Urdu's.  And why
Latin stays the default: Article 343 of India's constitution makes "the
international form of Indian numerals" (0–9) the Union's official digits,
and they are what a bed count is read in on forms, phones and wristbands.

Pure data: no pygame here (see :mod:`display.fonts` for opening the faces).
"""

from dataclasses import dataclass

NOTO = "/usr/share/fonts/truetype/noto"


@dataclass(frozen=True)
class Script:
    """A writing system as the board draws it: its font files, HarfBuzz tag, size."""

    name: str               # "latin", "bengali", ... (the FontBook's key)
    tag: str                # ISO 15924, what HarfBuzz shapes with ("Beng")
    regular: tuple          # font files, first found wins
    bold: tuple
    scale: float = 1.0      # drawn at this share of the line's size (see NASTALIQ)
    rtl: bool = False
    first: int = 0          # the Unicode block(s) its letters are in
    last: int = 0


LATIN = Script("latin", "Latn",
               (NOTO + "/NotoSans-Regular.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
               (NOTO + "/NotoSans-Bold.ttf",
                "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"))
BENGALI = Script("bengali", "Beng",
                 (NOTO + "/NotoSansBengali-Regular.ttf", NOTO + "/NotoSerifBengali-Regular.ttf",
                  "/usr/share/fonts/truetype/lohit-bengali/Lohit-Bengali.ttf"),
                 (NOTO + "/NotoSansBengali-Bold.ttf", NOTO + "/NotoSerifBengali-Bold.ttf",
                  NOTO + "/NotoSansBengali-Regular.ttf",
                  "/usr/share/fonts/truetype/lohit-bengali/Lohit-Bengali.ttf"),
                 first=0x0980, last=0x09FF)
DEVANAGARI = Script("devanagari", "Deva",
                    (NOTO + "/NotoSansDevanagari-Regular.ttf",
                     NOTO + "/NotoSerifDevanagari-Regular.ttf"),
                    (NOTO + "/NotoSansDevanagari-Bold.ttf",
                     NOTO + "/NotoSerifDevanagari-Bold.ttf"),
                    first=0x0900, last=0x097F)
# Noto Nastaliq Urdu's line is 2.5 times its size high (ascent 1.91, descent
# 0.59) against the 1.5 the layout plans; at 0.6 of the size it fits, and its
# letters' ink (1.8 of its size) still stands taller than Latin capitals (0.73).
NASTALIQ = Script("nastaliq", "Arab",
                  (NOTO + "/NotoNastaliqUrdu-Regular.ttf", NOTO + "/NotoNaskhArabic-Regular.ttf",
                   NOTO + "/NotoSansArabic-Regular.ttf"),
                  (NOTO + "/NotoNastaliqUrdu-Bold.ttf", NOTO + "/NotoNaskhArabic-Bold.ttf",
                   NOTO + "/NotoSansArabic-Bold.ttf"),
                  scale=0.6, rtl=True, first=0x0600, last=0x06FF)
OL_CHIKI = Script("olchiki", "Olck",
                  (NOTO + "/NotoSansOlChiki-Regular.ttf",),
                  (NOTO + "/NotoSansOlChiki-Bold.ttf",), first=0x1C50, last=0x1C7F)
ODIA = Script("odia", "Orya",
              (NOTO + "/NotoSansOriya-Regular.ttf",),
              (NOTO + "/NotoSansOriya-Bold.ttf",), first=0x0B00, last=0x0B7F)
GURMUKHI = Script("gurmukhi", "Guru",
                  (NOTO + "/NotoSansGurmukhi-Regular.ttf", NOTO + "/NotoSerifGurmukhi-Regular.ttf"),
                  (NOTO + "/NotoSansGurmukhi-Bold.ttf", NOTO + "/NotoSerifGurmukhi-Bold.ttf"),
                  first=0x0A00, last=0x0A7F)

SCRIPTS = (LATIN, BENGALI, DEVANAGARI, NASTALIQ, OL_CHIKI, ODIA, GURMUKHI)
BY_NAME = {script.name: script for script in SCRIPTS}


@dataclass(frozen=True)
class Language:
    """One language of the board."""

    code: str               # as the config names it: bn, en, hi, ur, ne, sat, or, pa
    name: str               # in English
    native: str             # in itself
    script: Script
    digits: str             # its own ten digits, 0 to 9
    tesseract: str = None   # Debian's tesseract model for it (tesseract-ocr-<x>), if any

    @property
    def rtl(self):
        """Whether its lines run right to left."""
        return self.script.rtl


LANGUAGES = {
    language.code: language for language in (
        Language("bn", "Bengali", "বাংলা", BENGALI, "০১২৩৪৫৬৭৮৯", "ben"),
        Language("en", "English", "English", LATIN, "0123456789", "eng"),
        Language("hi", "Hindi", "हिन्दी", DEVANAGARI, "०१२३४५६७८९", "hin"),
        Language("ur", "Urdu", "اردو", NASTALIQ, "۰۱۲۳۴۵۶۷۸۹", "urd"),
        Language("ne", "Nepali", "नेपाली", DEVANAGARI, "०१२३४५६७८९", "nep"),
        # Debian has no tesseract model for Santali or Ol Chiki at all
        Language("sat", "Santali", "ᱥᱟᱱᱛᱟᱲᱤ", OL_CHIKI, "᱐᱑᱒᱓᱔᱕᱖᱗᱘᱙", None),
        Language("or", "Odia", "ଓଡ଼ିଆ", ODIA, "୦୧୨୩୪୫୬୭୮୯", "ori"),
        Language("pa", "Punjabi", "ਪੰਜਾਬੀ", GURMUKHI, "੦੧੨੩੪੫੬੭੮੯", "pan"),
    )}
CODES = tuple(LANGUAGES)
DEFAULT = ("en", "bn")          # a board without display.languages, as before
NUMERALS = ("latin", "native")

_LATIN_DIGITS = "0123456789"


def language(code):
    """The Language for ``code``; KeyError names the known ones."""
    try:
        return LANGUAGES[code]
    except KeyError:
        raise KeyError("unknown language %r (one of %s)" % (code, ", ".join(CODES))) from None


def is_rtl(code):
    """Whether ``code``'s lines run right to left (an unknown code: no)."""
    found = LANGUAGES.get(code)
    return bool(found and found.rtl)


def native_digits(code, text):
    """``text`` with 0–9 written in ``code``'s own digits."""
    return text.translate(str.maketrans(_LATIN_DIGITS, language(code).digits))


def latin_digits(text):
    """``text`` with any language's digits written 0–9."""
    table = {}
    for found in LANGUAGES.values():
        table.update(str.maketrans(found.digits, _LATIN_DIGITS))
    return text.translate(table)


def script_of(char):
    """The Script whose letters include ``char``, or None (Latin, digits, punctuation)."""
    code = ord(char)
    for script in SCRIPTS[1:]:
        if script.first <= code <= script.last:
            return script
    if 0x0750 <= code <= 0x077F or 0xFB50 <= code <= 0xFDFF or 0xFE70 <= code <= 0xFEFF:
        return NASTALIQ      # Arabic supplement and presentation forms
    return None
