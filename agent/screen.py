"""The ward panel's optional small display, driven through luma: the count the nurse keeps.

A panel may have a small screen (config ``screen:``): an OLED of 128×64
(``ssd1306``, ``sh1106`` on I²C, through ``luma.oled``) or a colour LCD
(``st7789`` 240×240, ``ili9341`` 320×240 on SPI, through ``luma.lcd``) — or
``capture``, ``luma.emulator``'s device that writes each frame as a PNG (for
tests, demos and a technician's desk).  It shows what :mod:`agent.panelview`
says (the ward, vacant / occupied / blocked / held, whether the broker has
every change, the last action, a refusal's reason, the check asked for),
one language a page, changing page every ``page_seconds``.

Text is drawn by the board's own renderer (:class:`display.text.TextPainter`
with :class:`display.fonts.FontBook`: Bengali shaped by HarfBuzz) onto a
pygame surface, which becomes the PIL image luma displays — 1-bit for an
OLED, RGB for an LCD.  Nothing is ever cut: a line that does not fit at the
smallest size is wrapped, or left out whole.  luma is imported only when a
screen is configured: an agent without one runs without luma installed.
"""

import logging
import os
from dataclasses import dataclass

from bedboard.errors import AgentError

from .panelview import LANGUAGES, lines

_LOG = logging.getLogger(__name__)

DRIVERS = {   # driver: (library module, class, default size, bus)
    "ssd1306": ("luma.oled.device", "ssd1306", (128, 64), "i2c"),
    "sh1106": ("luma.oled.device", "sh1106", (128, 64), "i2c"),
    "st7789": ("luma.lcd.device", "st7789", (240, 240), "spi"),
    "ili9341": ("luma.lcd.device", "ili9341", (320, 240), "spi"),
    "capture": ("luma.emulator.device", "capture", (128, 64), None),
}

BLACK, WHITE = (0, 0, 0), (255, 255, 255)
GREEN, RED, AMBER, GREY = (60, 200, 90), (235, 70, 60), (245, 170, 40), (170, 170, 170)


@dataclass(frozen=True)
class ScreenSettings:
    """The panel's display (``screen:`` in the agent's config)."""

    driver: str
    width: int
    height: int
    rotate: int = 0                 # quarter turns clockwise (luma's rotate)
    languages: tuple = LANGUAGES
    page_seconds: float = 4.0
    label: tuple = None             # (English, Bengali) name of the ward
    i2c_port: int = 1
    i2c_address: int = 0x3C
    spi_port: int = 0
    spi_device: int = 0
    dc: int = 24                    # the LCD's data/command and reset GPIOs (BCM)
    reset: int = 25
    backlight: int = 18             # the LCD's backlight GPIO (BCM)
    mode: str = None                # capture only: "1" (an OLED's) or "RGB"
    file: str = None                # capture only: where frames go ("{0:06}" numbers them)


def read_screen(root, pins, ward_name):
    """ScreenSettings from a config's ``screen:`` (None when absent); pins checked."""
    if not root.has("screen"):
        return None
    sec = root.section("screen")
    if sec.absent:
        return None
    driver = sec.choice("driver", tuple(DRIVERS))
    default_size = DRIVERS.get(driver, DRIVERS["ssd1306"])[2]
    width = sec.integer("width", default_size[0], low=32, high=1024)
    height = sec.integer("height", default_size[1], low=32, high=1024)
    rotate = sec.choice("rotate", (0, 1, 2, 3), 0)
    languages = tuple(sec.raw("languages", list(LANGUAGES)) or ())
    if not languages or not set(languages) <= set(LANGUAGES):
        sec.problem("languages", "must be a list of en and bn, got %s" % list(languages))
    page_seconds = sec.number("page_seconds", 4.0, low=1, high=60)
    label = (ward_name, None)
    if sec.has("label"):
        value = sec.raw("label")
        if isinstance(value, dict):
            sub = sec.section("label")
            label = (sub.text("en", ward_name), sub.text("bn", None))
            sub.done()
        else:
            label = (sec.text("label"), None)
    bus = DRIVERS.get(driver, (None,) * 4)[3]
    options = {}
    if bus == "i2c":
        options = dict(i2c_port=sec.integer("i2c_port", 1, low=0, high=22),
                       i2c_address=sec.integer("i2c_address", 0x3C, low=0x03, high=0x77))
    elif bus == "spi":
        options = dict(spi_port=sec.integer("spi_port", 0, low=0, high=6),
                       spi_device=sec.integer("spi_device", 0, low=0, high=2),
                       dc=sec.integer("dc", 24, low=0, high=27),
                       reset=sec.integer("reset", 25, low=0, high=27),
                       backlight=sec.integer("backlight", 18, low=0, high=27))
        for key in ("dc", "reset", "backlight"):
            pins.take(sec, key, options[key], "screen.%s" % key)
    elif driver == "capture":
        options = dict(mode=sec.choice("mode", ("1", "RGB"), "1"),
                       file=sec.text("file", "panel-{0:06}.png"))
    sec.done()
    if driver is None or None in (width, height, rotate):
        return None
    return ScreenSettings(driver=driver, width=width, height=height, rotate=rotate,
                          languages=languages or LANGUAGES, page_seconds=float(page_seconds),
                          label=label, **options)


def make_device(settings, serial_interface=None, gpio=None):
    """The luma device ``settings`` name; AgentError naming what is missing or wrong.

    ``serial_interface`` and ``gpio`` stand in for the I²C/SPI bus and
    RPi.GPIO (tests: luma's ``noop`` bus), as gpiozero's pin factory does
    for the buttons.
    """
    module_name, class_name, _, bus = DRIVERS[settings.driver]
    try:
        module = __import__(module_name, fromlist=[class_name])
        device_class = getattr(module, class_name)
        if settings.driver == "capture":
            return device_class(width=settings.width, height=settings.height,
                                rotate=settings.rotate, mode=settings.mode,
                                transform="none", scale=1, file_template=settings.file)
        from luma.core.interface import serial   # pylint: disable=import-outside-toplevel
        interface = serial_interface
        if interface is None and bus == "i2c":
            interface = serial.i2c(port=settings.i2c_port, address=settings.i2c_address)
        elif interface is None:
            interface = serial.spi(port=settings.spi_port, device=settings.spi_device,
                                   gpio_DC=settings.dc, gpio_RST=settings.reset)
        if bus == "i2c":
            return device_class(interface, width=settings.width, height=settings.height,
                                rotate=settings.rotate)
        return device_class(interface, width=settings.width, height=settings.height,
                            rotate=settings.rotate, gpio=gpio, gpio_LIGHT=settings.backlight)
    except ImportError as exc:
        raise AgentError("the panel's %s display needs %s (pip install 'bedboard[panel]'): "
                         "%s" % (settings.driver, module_name.rsplit(".", 1)[0], exc)) \
            from None
    except Exception as exc:  # noqa: BLE001 - every bus and driver fails its own way
        raise AgentError("cannot open the panel's %s display: %s" % (settings.driver, exc)) \
            from exc


def _pygame():
    """pygame, imported only when a screen is drawn (and without its banner on stdout)."""
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame   # pylint: disable=import-outside-toplevel
    return pygame


class PanelScreen:
    """Draws PanelViews on a luma device, one language a page; redraws only on a change."""

    def __init__(self, device, settings, painter=None):
        self.device = device
        self.settings = settings
        if painter is None:
            _pygame()
            from display.fonts import FontBook     # pylint: disable=import-outside-toplevel
            from display.text import TextPainter   # pylint: disable=import-outside-toplevel
            painter = TextPainter(FontBook(), cache_size=200)
        self.painter = painter
        self._shown = None
        self.frames = 0

    @property
    def mono(self):
        """Whether the device shows one colour (an OLED): drawn white on black, 1-bit."""
        return self.device.mode == "1"

    def language(self, now):
        """The language of the page shown at monotonic time ``now``."""
        languages = self.settings.languages
        return languages[int(now // self.settings.page_seconds) % len(languages)]

    def show(self, view, now):
        """Show ``view`` (its page for ``now``); return whether a frame was drawn."""
        language = self.language(now)
        if (view, language) == self._shown:
            return False
        self.device.display(self.draw(view, language))
        self._shown = (view, language)
        self.frames += 1
        return True

    def close(self):
        """Clear the display and release its bus."""
        try:
            self.device.cleanup()
        except Exception as exc:  # noqa: BLE001 - closing must not fail the agent's stop
            _LOG.warning("the panel's display did not close cleanly: %s", exc)

    # -- drawing ---------------------------------------------------------------
    def draw(self, view, language):
        """``view`` in ``language`` as the PIL image the device takes."""
        from PIL import Image                         # pylint: disable=import-outside-toplevel
        pygame = _pygame()
        width, height = self.device.size
        surface = pygame.Surface((width, height))
        surface.fill(BLACK)
        self._paint(surface, lines(view, language), language, view, width, height)
        image = Image.frombytes("RGB", (width, height),
                                pygame.image.tobytes(surface, "RGB"))
        if self.mono:
            return image.convert("L").point(lambda v: 255 if v >= 90 else 0, mode="1")
        return image.convert(self.device.mode)

    def _colour(self, colour):
        return WHITE if self.mono else colour

    def _text(self, surface, text, box, colour, floor, wrap=False, align="left",
              language="en", bold=False):
        from display.layout import Box                # pylint: disable=import-outside-toplevel
        x, y, w, h = box
        arrangement = self.painter.arrange([(language, text)], w, h, h, floor, bold=bold,
                                           wrap=wrap)
        if arrangement is None:
            return False     # left out whole: never cut
        self.painter.draw(surface, arrangement, Box(x, y, w, h), self._colour(colour),
                          BLACK, bold=bold, align=align)
        return True

    def _paint(self, surface, said, language, view, width, height):
        """Four bands: the ward; the vacant figure with its word and the occupied
        beds; blocked and held, and whether the broker has every change; a notice."""
        mono = self.mono
        floor = 8 if height < 100 else 12
        bold = mono     # an OLED's 1-bit pixels keep thin strokes only when bold
        pad = max(1, width // 64)
        bands = [int(height * f) for f in (0.2, 0.4, 0.19)]
        top, middle, third = bands
        third_y = top + middle
        notice_y = third_y + third
        self._text(surface, said["label"], (pad, 0, width - 2 * pad, top), WHITE, floor,
                   language=language, bold=True)
        figure_w = int(width * 0.36)
        vacant_colour = GREY if view.vacant is None else (GREEN if view.vacant else RED)
        if said["figure"].isdigit():
            image = self.painter.figure(said["figure"], int(middle * 0.86), figure_w - pad,
                                        self._colour(vacant_colour), BLACK)
            surface.blit(image, (pad + (figure_w - pad - image.get_width()) // 2,
                                 top + (middle - image.get_height()) // 2))
        else:
            self._text(surface, said["figure"], (pad, top, figure_w, middle),
                       vacant_colour, floor, align="centre")
        column_x = figure_w + 2 * pad
        column_w = width - column_x - pad
        half = middle // 2
        self._text(surface, said["vacant"], (column_x, top, column_w, half),
                   vacant_colour, floor, language=language, bold=True)
        self._text(surface, said["counts"][0], (column_x, top + half, column_w,
                                                middle - half), GREY, floor,
                   language=language, bold=bold)
        # blocked and held on the left (they come first), the link's word on the right
        status_colour = GREEN if view.link == "sent" else AMBER
        inner = width - 3 * pad
        extra = " · ".join(said["counts"][1:])
        size = max(floor, third * 3 // 4)
        extra_w = min(self.painter.width(extra, size, bold) + pad, inner * 5 // 8) \
            if extra else 0
        if extra and not self._text(surface, extra, (pad, third_y, extra_w, third),
                                    AMBER if view.held else GREY, floor,
                                    language=language, bold=bold):
            extra_w = inner * 5 // 8      # not all of it fits: the held beds, alone
            held = said["counts"][-1] if view.held else said["counts"][1]
            self._text(surface, held, (pad, third_y, extra_w, third), AMBER, floor,
                       language=language, bold=bold)
        self._text(surface, said["link"], (2 * pad + extra_w, third_y, inner - extra_w,
                                           third), status_colour, floor,
                   language=language, bold=bold, align="right")
        notice = said["notice"] or said["checked"]
        pygame = _pygame()
        if notice:
            box = (pad, notice_y, width - 2 * pad, height - notice_y)
            if said["alarm"] and not mono:
                pygame.draw.rect(surface, RED if view.refusal else AMBER,
                                 (0, notice_y, width, height - notice_y))
                self._text_on(surface, notice, box, floor, language)
            else:
                self._text(surface, notice, box, WHITE if said["notice"] else GREY, floor,
                           wrap=not mono, language=language, bold=said["alarm"] or bold)

    def _text_on(self, surface, text, box, floor, language):
        """A notice in black on its coloured band (LCD)."""
        from display.layout import Box                # pylint: disable=import-outside-toplevel
        x, y, w, h = box
        arrangement = self.painter.arrange([(language, text)], w, h, h, floor, bold=True,
                                           wrap=True)
        if arrangement is None:
            return False
        band = surface.get_at((x, y))[:3]
        self.painter.draw(surface, arrangement, Box(x, y, w, h), BLACK, band, bold=True,
                          align="left")
        return True


class ScreenFeed:
    """Keeps a PanelScreen showing a running agent: its outcomes heard, its view drawn.

    :meth:`heard` is one of the agent's outcome listeners (the last change,
    the last refusal); :meth:`tick` draws the view when it changed.  A
    display that fails is logged (once a minute at most) and never stops the
    agent: the count matters more than its picture.
    """

    def __init__(self, screen, label):
        self.screen = screen
        self.label = label
        self.last = None
        self.refused = None
        self._failed_at = None

    @classmethod
    def open(cls, settings):
        """The feed of ``settings.screen`` (None: the panel has no display)."""
        if settings.screen is None:
            return None
        screen = PanelScreen(make_device(settings.screen), settings.screen)
        return cls(screen, settings.screen.label)

    def heard(self, outcome):
        """An outcome of the agent's: remember the last change and the last refusal."""
        import time                                   # pylint: disable=import-outside-toplevel
        from .events import Accepted, Ignored, Refused  # pylint: disable=import-outside-toplevel
        if isinstance(outcome, Accepted):
            self.last, self.refused = outcome.change.kind, None
        elif isinstance(outcome, (Refused, Ignored)) and outcome.input != "clock":
            self.refused = (outcome.reason, time.monotonic())

    def tick(self, agent, now):
        """Show the agent's view now (drawn only when it changed)."""
        from .panelview import view_of                # pylint: disable=import-outside-toplevel
        try:
            self.screen.show(view_of(agent, self.label, self.last, self.refused, now), now)
        except Exception as exc:  # noqa: BLE001 - a broken display must not stop counting
            if self._failed_at is None or now - self._failed_at > 60:
                self._failed_at = now
                _LOG.error("the panel's display failed: %s", exc)

    def close(self):
        """Clear the display."""
        self.screen.close()
