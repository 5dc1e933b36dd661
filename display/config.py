"""The board's config: the contract's ``display:`` and ``board:`` sections, plus ours.

Read once at start with :func:`bedboard.settings.load`, then trusted: every
key is declared here with its type, default and range, every problem is
collected (file, line and key) before anything fails, and keys nobody reads
are errors.  docs/config.md lists every key.
"""

import datetime
import logging
import os
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bedboard.settings import BrokerSettings, load, read_broker
from bedboard.topics import WardKey, check_device_id, check_slug

from .languages import CODES, DEFAULT, NUMERALS
from .words import default_label, table

_LOG = logging.getLogger(__name__)

DEFAULT_SIZE = (1920, 1080)


class Label:
    """A text in each language it is given in (``en``, ``bn``, ``hi``, ``ur``, ...).

    ``Label("Medicine", "মেডিসিন")`` is English and Bengali, as before;
    other languages by name: ``Label(en="ICU", hi="आईसीयू")`` (Odia, whose
    code ``or`` is a Python keyword: ``Label(**{"or": "..."})``).
    """

    __slots__ = ("_texts",)

    def __init__(self, en=None, bn=None, **others):
        unknown = sorted(set(others) - set(CODES))
        if unknown:
            raise TypeError("unknown language(s) %s (one of %s)"
                            % (", ".join(unknown), ", ".join(CODES)))
        given = dict(others, en=en, bn=bn)
        object.__setattr__(self, "_texts", tuple(
            (code, given[code]) for code in CODES if given.get(code)))

    def __setattr__(self, name, value):
        raise AttributeError("a Label cannot be changed")

    @property
    def en(self):
        """The English text, or None."""
        return self.get("en")

    @property
    def bn(self):
        """The Bengali text, or None."""
        return self.get("bn")

    def get(self, language):
        """The text in ``language``, or None."""
        return dict(self._texts).get(language)

    def texts(self):
        """``{language: text}`` of every language it has."""
        return dict(self._texts)

    def lines(self, languages):
        """``(language, text)`` for each of ``languages`` this label has."""
        return [(lang, self.get(lang)) for lang in languages if self.get(lang)]

    def missing(self, languages):
        """The ones of ``languages`` it has no text in."""
        return [lang for lang in languages if not self.get(lang)]

    def __eq__(self, other):
        return isinstance(other, Label) and other._texts == self._texts

    def __hash__(self):
        return hash(self._texts)

    def __repr__(self):
        return "Label(%s)" % ", ".join("%s=%r" % pair for pair in self._texts)


@dataclass(frozen=True)
class TileSpec:
    """One tile as the config names it: which wards it sums, and its label."""

    hospital: str
    department: str
    wards: tuple = None     # None: every ward of the department
    label: Label = None

    def covers(self, key):
        """Whether ward ``key`` counts on this tile."""
        return (key.hospital == self.hospital and key.department == self.department
                and (self.wards is None or key.ward in self._cached("_set", frozenset,
                                                                    self.wards)))

    def __hash__(self):
        # A tile is looked up on every message of its wards: with 5,000 wards named,
        # hashing (or searching) the tuple each time made a big tile's load quadratic.
        return self._cached("_hash", hash, (self.hospital, self.department, self.wards,
                                            self.label))

    def _cached(self, name, make, value):
        try:
            return self.__dict__[name]
        except KeyError:
            made = self.__dict__[name] = make(value)
            return made

    def expected(self):
        """The wards this tile names, or None when it takes all it sees."""
        if self.wards is None:
            return None
        return tuple(WardKey(self.hospital, self.department, w) for w in self.wards)


@dataclass(frozen=True)
class NightDimming:
    """Dim the board between two local times (may span midnight)."""

    start: datetime.time
    end: datetime.time
    brightness: float

    def active(self, local):
        """Whether local time-of-day ``local`` falls in the dim period."""
        moment = local.time() if isinstance(local, datetime.datetime) else local
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


@dataclass(frozen=True)
class BurnIn:
    """Move the whole picture by up to ``pixels`` every ``minutes``."""

    pixels: int = 4
    minutes: float = 5.0


@dataclass(frozen=True)
class DisplaySettings:
    """The ``display:`` section."""

    id: str
    title: Label
    size: tuple = None          # as the reader sees it (width, height); None: the screen's
    rotate: int = 0
    timezone: str = "Asia/Kolkata"
    languages: tuple = DEFAULT
    bengali_numerals: bool = False
    numerals: str = "latin"     # or "native": each language's own digits
    turn_seconds: float = 8.0   # secondary languages that do not fit all at once take turns
    message: Label = None
    night: NightDimming = None
    burn_in: BurnIn = BurnIn()
    state_dir: str = None       # added (issue 15): the wards seen, kept across restarts

    @property
    def zone(self):
        """The ZoneInfo of ``timezone``."""
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class BoardSettings:
    """The ``board:`` section."""

    hospital: str
    tiles: tuple = None         # of TileSpec; None: one tile per department seen
    stale_after: float = 180.0
    heartbeat: float = 60.0     # the agents' heartbeat: a retained copy lives 1.25 × this
    few_left: int = 3
    highlight_seconds: float = 300.0
    page_seconds: float = 10.0
    check_within: float = 7200.0  # added (issue 20): a count checked longer ago is due


@dataclass(frozen=True)
class Settings:
    """Everything the board reads from its config file."""

    path: str
    broker: BrokerSettings
    display: DisplaySettings
    board: BoardSettings


# -- readers ---------------------------------------------------------------

def _zone(value):
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("unknown time zone %r (e.g. Asia/Kolkata)" % value) from None


def _read_label(section, key, required=False, languages=None):
    """A label: plain text (English) or a mapping ``{en: ..., bn: ..., hi: ...}``.

    With ``languages`` (a board whose config lists its languages), a label
    missing any of them is a problem at its line, naming the language: a
    board never shows a blank where a language's line should be.
    """
    if not section.has(key):
        if required:
            section.raw(key)   # records "is required"
        return None
    value = section.raw(key)
    if isinstance(value, dict):
        sub = section.section(key)
        label = Label(**{code: sub.text(code, None) for code in CODES})
        sub.done()
        if not label.texts():
            section.problem(key, "needs a text in at least one of %s" % ", ".join(CODES))
            return None
    else:
        text = section.text(key, None)
        label = Label(en=text) if text is not None else None
    if label is not None and languages:
        _check_label(section, key, label, languages)
    return label


def _check_label(section, key, label, languages):
    """Record a problem for each of ``languages`` ``label`` has no text in."""
    for language in label.missing(languages):
        section.problem(key, "has no %s text, and display.languages lists %s: add "
                        "%s: \"...\" (a translation checked by a reader of it)"
                        % (language, language, language))


def _read_size(section):
    if not section.has("size"):
        return None
    value = section.raw("size")
    if not isinstance(value, list) or len(value) != 2 or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        section.problem("size", "must be [width, height] in pixels, got %r" % (value,))
        return None
    if not all(160 <= v <= 8192 for v in value):
        section.problem("size", "width and height must be between 160 and 8192, "
                        "got %r" % (value,))
        return None
    return tuple(value)


def _read_languages(section):
    if not section.has("languages"):
        return DEFAULT
    items = section.items("languages")
    found = []
    for value, path, line in items:
        if value not in CODES:
            section.problems.add(line, path, "must be one of %s, got %r"
                                 % (", ".join(CODES), value))
        elif value in found:
            section.problems.add(line, path, "%s is given twice" % value)
        else:
            found.append(value)
    if items and not found:
        return DEFAULT
    if not items:
        section.problem("languages", "must name at least one of %s" % ", ".join(CODES))
        return DEFAULT
    return tuple(found)


def _default_title():
    return Label(**{code: table(code).get("title") for code in CODES})


def _clock_time(section, key):
    """``HH:MM``; YAML 1.1 reads an unquoted ``23:00`` as 1380 (base 60): take that too."""
    value = section.raw(key)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        return datetime.time(value // 60, value % 60)
    if isinstance(value, str):
        try:
            return datetime.datetime.strptime(value.strip(), "%H:%M").time()
        except ValueError:
            pass
    section.problem(key, "must be a time of day like \"23:00\", got %r" % (value,))
    return None


def _read_night(section):
    if not section.has("night"):
        return None
    sub = section.section("night")
    start, end = _clock_time(sub, "from"), _clock_time(sub, "to")
    brightness = sub.number("brightness", 0.3, low=0.05, high=1.0)
    sub.done()
    if start is None or end is None:
        return None
    if start == end:
        sub.problem("to", "must differ from night.from")
        return None
    return NightDimming(start, end, float(brightness))


def _read_burn_in(section):
    sub = section.section("burn_in")
    burn_in = BurnIn(pixels=sub.integer("pixels", 4, low=0, high=32),
                     minutes=sub.number("minutes", 5, low=0.5, high=1440))
    sub.done()
    return burn_in


def read_display(root):
    """Read the ``display:`` section (``id`` is required)."""
    sec = root.section("display", required=True)
    languages = _read_languages(sec)
    # labels must say every language only where the config lists them: a
    # board without display.languages reads its labels as it always has
    checked = languages if sec.has("languages") else None
    settings = DisplaySettings(
        id=sec.text("id", check=check_device_id),
        title=_read_label(sec, "title", languages=checked) or _default_title(),
        size=_read_size(sec),
        rotate=sec.choice("rotate", (0, 90, 180, 270), default=0),
        timezone=sec.text("timezone", "Asia/Kolkata", check=_zone),
        languages=languages,
        bengali_numerals=sec.boolean("bengali_numerals", False),
        numerals=sec.choice("numerals", NUMERALS, default="latin"),
        turn_seconds=float(sec.number("turn_seconds", 8, low=2, high=3600)),
        message=_read_label(sec, "message", languages=checked),
        night=_read_night(sec),
        burn_in=_read_burn_in(sec),
        state_dir=_read_state_dir(sec))
    sec.done()
    return settings


def _read_state_dir(section):
    """``display.state_dir``: where the board keeps the wards it has seen
    (:mod:`display.memory`); by default systemd's ``$STATE_DIRECTORY`` (the unit's
    ``StateDirectory=bed-display``: /var/lib/bed-display), else none."""
    default = os.environ.get("STATE_DIRECTORY", "").split(":")[0] or None
    value = section.text("state_dir", default)
    return os.path.abspath(value) if value else None


def labels_checked(root):
    """The languages every label must say (``display.languages`` as given), or None."""
    display = root.mapping.get("display") if isinstance(root.mapping, dict) else None
    if not isinstance(display, dict) or not isinstance(display.get("languages"), list):
        return None
    return tuple(code for code in display["languages"] if code in CODES) or None


def _read_wards(tile):
    if not tile.has("wards"):
        return None
    items = tile.items("wards")
    wards = {}                  # a dict keeps the order, and is searched at once
    for value, path, line in items:
        try:
            check_slug(value, "ward")
        except ValueError as exc:
            tile.problems.add(line, path, str(exc))
            continue
        if value in wards:
            tile.problems.add(line, path, "ward %s is given twice" % value)
        else:
            wards[value] = None
    if not items and tile.has("wards"):
        tile.problem("wards", "must name at least one ward (leave it out for all)")
    return tuple(wards) or None


def _read_tiles(sec, hospital, languages=None):
    if not sec.has("tiles"):
        return None
    tiles = []
    items = sec.items("tiles")
    if not items:
        sec.problem("tiles", "must list at least one tile (leave it out for one "
                    "tile per department)")
    for item, path, line in items:
        tile = sec.item_section(item, path, line)
        department = tile.text("department", check=lambda v: check_slug(v, "department"))
        spec = TileSpec(
            hospital=tile.text("hospital", hospital,
                               check=lambda v: check_slug(v, "hospital")),
            department=department,
            wards=_read_wards(tile),
            label=_read_label(tile, "label", languages=languages))
        tile.done()
        if spec.hospital and spec.department:
            if spec.label is None:
                spec = TileSpec(spec.hospital, spec.department, spec.wards,
                                Label(**default_label(spec.department)))
                for language in spec.label.missing(languages or ()):
                    tile.problem("department", "has no built-in %s name, and "
                                 "display.languages lists %s: give the tile a label "
                                 "with %s" % (language, language, language))
            tiles.append(spec)
    return tuple(tiles)


def read_board(root, languages=None):
    """Read the ``board:`` section (``hospital`` is required); with ``languages``,
    every tile's label must say each of them."""
    sec = root.section("board", required=True)
    hospital = sec.text("hospital", check=lambda v: check_slug(v, "hospital"))
    settings = BoardSettings(
        hospital=hospital,
        tiles=_read_tiles(sec, hospital, languages),
        stale_after=float(sec.number("stale_after", 180, low=10, high=86400)),
        heartbeat=float(sec.number("heartbeat", 60, low=5, high=3600)),
        few_left=sec.integer("few_left", 3, low=0, high=100000),
        highlight_seconds=float(sec.number("highlight_seconds", 300, low=0, high=86400)),
        page_seconds=float(sec.number("page_seconds", 10, low=2, high=3600)),
        check_within=float(sec.number("check_within", 7200, low=60, high=604800)))
    sec.done()
    return settings


def read(path):
    """Read the board's whole config file; raise ConfigError listing every problem."""
    return load(path, lambda root: Settings(path=path, broker=read_broker(root),
                                            display=read_display(root),
                                            board=read_board(root, labels_checked(root))))
