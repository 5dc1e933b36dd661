"""What the board says, in English and Bengali.

Every phrase on the board is here, in each language, so a translator has one
file to check.  Numbers inside Bengali text use Bengali digits (০–৯) when the
config asks for ``bengali_numerals``; English text always uses 0–9.
"""

LANGUAGES = ("en", "bn")

_BENGALI_DIGITS = str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯")

# Departments a tile may be named after when the config gives no label.
_DEPARTMENTS = {
    "medicine": ("Medicine", "মেডিসিন"),
    "surgery": ("Surgery", "সার্জারি"),
    "paediatrics": ("Paediatrics", "শিশু বিভাগ"),
    "pediatrics": ("Paediatrics", "শিশু বিভাগ"),
    "obgyn": ("Obs & Gynae", "স্ত্রীরোগ ও প্রসূতি"),
    "orthopaedics": ("Orthopaedics", "অস্থিরোগ"),
    "cardiology": ("Cardiology", "হৃদরোগ"),
    "neurology": ("Neurology", "স্নায়ুরোগ"),
    "icu": ("ICU", "আইসিইউ"),
    "hdu": ("HDU", "এইচডিইউ"),
    "ccu": ("CCU", "সিসিইউ"),
}

PHRASES = {
    # a tile's state, in words as well as colour
    "available": ("AVAILABLE", "খালি আছে"),
    "few-left": ("FEW LEFT", "অল্প বাকি"),
    "full": ("FULL", "পূর্ণ"),
    "closed": ("CLOSED", "বন্ধ আছে"),
    "partial": ("PART DATA", "আংশিক তথ্য"),
    "not-reporting": ("NOT REPORTING", "তথ্য আসছে না"),
    "waiting": ("NO DATA YET", "এখনও তথ্য নেই"),     # short: it must fit a narrow tile
    "last-known": ("LAST KNOWN", "শেষ জানা তথ্য"),
    # a tile's details
    "of-beds": ("of {n} beds", "মোট {n} শয্যা"),
    "occupied": ("{n} occupied", "ভর্তি {n}"),
    "blocked": ("{n} blocked", "বন্ধ {n}"),
    "updated-now": ("updated just now", "এইমাত্র বদলেছে"),
    "updated": ("updated {d} ago", "{d} আগে বদলেছে"),
    "updated-unknown": ("last change: time unknown", "শেষ বদলের সময় অজানা"),
    "silent": ("no data for {d}", "{d} ধরে তথ্য নেই"),
    "panel-offline": ("ward panel offline", "ওয়ার্ডের প্যানেল বন্ধ"),
    "never-heard": ("no data received", "কোনো তথ্য আসেনি"),
    "missing": ("{m} of {n} wards not reporting", "{n}টির মধ্যে {m}টি ওয়ার্ডের তথ্য নেই"),
    "freed": ("beds just freed", "সবে খালি হয়েছে"),
    "no-connection": ("no connection to the bed server", "শয্যা সার্ভারের সঙ্গে সংযোগ নেই"),
    "panel-reset": ("ward panel was reset", "ওয়ার্ডের প্যানেল রিসেট হয়েছে"),
    "two-panels": ("two panels count one ward", "একটি ওয়ার্ড দুটি প্যানেল গুনছে"),
    "mismatch": ("{n} bed sensors disagree", "{n}টি শয্যা-সেন্সরের সঙ্গে মিল নেই"),
    "unconfirmed": ("count not yet confirmed", "সংখ্যা এখনও যাচাই হয়নি"),
    # added (issue 15): the state bar of a tile that is not the whole truth ({s}: its
    # state words above); never left out, so a missing ward is always on the wall
    "state-missing": ("{s}: {m} of {n} wards missing", "{s}: {n}টির মধ্যে {m}টি ওয়ার্ডের তথ্য নেই"),
    "state-missing-doubt": ("{s}: {m} of {n} wards missing, count in doubt",
                            "{s}: {n}টির মধ্যে {m}টি ওয়ার্ডের তথ্য নেই, সংখ্যায় সন্দেহ আছে"),
    "state-missing-short": ("{s}: {m} missing", "{s}: {m}টির তথ্য নেই"),
    "state-missing-shortest": ("{s}: wards missing", "{s}: ওয়ার্ডের তথ্য নেই"),
    "state-doubt": ("{s}: count in doubt", "{s}: সংখ্যায় সন্দেহ আছে"),
    "state-doubt-short": ("{s}: in doubt", "{s}: সন্দেহ আছে"),
    "checking": ("CHECKING", "যাচাই হচ্ছে"),
    # added (issue 15): why a partly reporting tile's missing wards are missing
    "missing-silent": ("no recent data", "সাম্প্রতিক তথ্য নেই"),
    "missing-checking": ("not yet confirmed live", "সরাসরি কিনা এখনও যাচাই হয়নি"),
    # added (issue 15): a change of capacity is not a discharge
    "capacity-changed": ("bed count changed", "শয্যার সংখ্যা বদলেছে"),
    # header, footer and banner
    "live": ("LIVE", "সরাসরি"),
    "no-live": ("NO LIVE DATA", "সরাসরি তথ্য নেই"),
    "lost": ("NO CONNECTION", "সংযোগ নেই"),
    "connecting": ("CONNECTING", "সংযোগ হচ্ছে"),
    "total": ("Vacant beds on this board: {n}", "এই বোর্ডে খালি শয্যা: {n}"),
    "total-partial": ("Vacant beds on this board: {n} ({m} not reporting, not counted)",
                      "এই বোর্ডে খালি শয্যা: {n} ({m}টি বিভাগের তথ্য নেই, গোনা হয়নি)"),
    # added (issue 15): the wards the total leaves out, whichever tiles they are on
    "total-ward": ("Vacant beds on this board: {n} ({m} ward not reporting, not counted)",
                   "এই বোর্ডে খালি শয্যা: {n} ({m}টি ওয়ার্ডের তথ্য নেই, গোনা হয়নি)"),
    "total-wards": ("Vacant beds on this board: {n} ({m} wards not reporting, not counted)",
                    "এই বোর্ডে খালি শয্যা: {n} ({m}টি ওয়ার্ডের তথ্য নেই, গোনা হয়নি)"),
    "total-last": ("Vacant beds, last known: {n}", "শেষ জানা খালি শয্যা: {n}"),
    "total-none": ("Vacant beds on this board: not known yet",
                   "এই বোর্ডে খালি শয্যা: এখনও জানা নেই"),
    "page": ("Page {i} of {n}", "পৃষ্ঠা {i}/{n}"),
    "banner-lost": ("No connection to the bed server since {t} ({d}). "
                    "The figures below are the last received and may be out of date.",
                    "{t} থেকে শয্যা সার্ভারের সঙ্গে সংযোগ নেই। নিচের সংখ্যাগুলি "
                    "শেষ পাওয়া তথ্য, এখনকার নাও হতে পারে।"),
    "banner-connecting": ("Connecting to the bed server: no figures received yet.",
                          "শয্যা সার্ভারের সঙ্গে সংযোগ হচ্ছে: এখনও কোনো তথ্য আসেনি।"),
    # the banner when the wall clock cannot be trusted (no time server): no time of day
    "banner-lost-for": ("No connection to the bed server for {d}. "
                        "The figures below are the last received and may be out of date.",
                        "{d} ধরে শয্যা সার্ভারের সঙ্গে সংযোগ নেই। নিচের সংখ্যাগুলি "
                        "শেষ পাওয়া তথ্য, এখনকার নাও হতে পারে।"),
    # shorter banners, for a screen too small for the sentences above
    "banner-lost-short": ("No connection since {t} ({d})", "{t} থেকে সংযোগ নেই"),
    "banner-lost-for-short": ("No connection for {d}", "{d} ধরে সংযোগ নেই"),
    "banner-connecting-short": ("Connecting to the bed server", "সার্ভারের সঙ্গে সংযোগ হচ্ছে"),
    "under-a-minute": ("under a minute", "এক মিনিটের কম"),
    "minutes": ("{n} min", "{n} মিনিট"),
    "hours": ("{n} h", "{n} ঘণ্টা"),
    "hours-minutes": ("{n} h {m} min", "{n} ঘণ্টা {m} মিনিট"),
    "days": ("{n} days", "{n} দিন"),
}

_WEEKDAYS = {
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    "bn": ("সোমবার", "মঙ্গলবার", "বুধবার", "বৃহস্পতিবার", "শুক্রবার", "শনিবার", "রবিবার"),
}
_MONTHS = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
           "Nov", "Dec"),
    "bn": ("জানুয়ারি", "ফেব্রুয়ারি", "মার্চ", "এপ্রিল", "মে", "জুন", "জুলাই", "আগস্ট",
           "সেপ্টেম্বর", "অক্টোবর", "নভেম্বর", "ডিসেম্বর"),
}


def default_label(department):
    """``{en, bn}`` for a department slug; unknown ones get a tidied slug."""
    if department in _DEPARTMENTS:
        en, bn = _DEPARTMENTS[department]
        return {"en": en, "bn": bn}
    return {"en": department.replace("-", " ").title(), "bn": None}


def bengali_digits(text):
    """``text`` with 0–9 written as ০–৯."""
    return text.translate(_BENGALI_DIGITS)


class Words:
    """The board's phrases in the configured languages, in their order."""

    def __init__(self, languages=LANGUAGES, bengali_numerals=False):
        self.languages = tuple(languages)
        self.bengali_numerals = bengali_numerals

    def digits(self, language, value):
        """A number as text in ``language``."""
        text = str(value)
        if language == "bn" and self.bengali_numerals:
            return bengali_digits(text)
        return text

    def figure(self, value):
        """The big vacant figure: Bengali digits only when asked and Bengali is shown."""
        text = str(value)
        if self.bengali_numerals and "bn" in self.languages:
            return bengali_digits(text)
        return text

    def say(self, key, language, **fields):
        """One phrase in one language; numbers in ``fields`` follow the numerals rule."""
        phrase = PHRASES[key][LANGUAGES.index(language)]
        shown = {name: self.digits(language, value) if isinstance(value, int) else value
                 for name, value in fields.items()}
        return phrase.format(**shown)

    def each(self, key, **fields):
        """``[(language, text)]`` of a phrase in every configured language.

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
        month = _MONTHS[language][local.month - 1]
        if language == "bn":
            date = "%s %s %s" % (self.digits("bn", local.day), month,
                                 self.digits("bn", local.year))
            return "%s, %s" % (_WEEKDAYS[language][local.weekday()], date) if weekday else date
        date = "%d %s %d" % (local.day, month, local.year)
        return "%s %s" % (_WEEKDAYS[language][local.weekday()], date) if weekday else date
