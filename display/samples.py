"""Sample boards in any of the languages: for the pictures, the OCR tests and the bench.

The NRS board's ten departments, each named by the phrase tables'
built-in department names, with figures that do not change, drawn by the
real :class:`~display.render.Renderer` off screen (no broker: what is
tested is the text).  ``python -m display.samples images/`` writes the
README's pictures of the languages.
"""

import os
import sys
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pygame

from .board import BoardView, Status, TileView
from .config import BurnIn, DisplaySettings, Label
from .fonts import FontBook
from .render import Renderer
from .text import TextPainter
from .words import Words, default_label

WALL = datetime(2026, 11, 25, 12, 30, tzinfo=timezone.utc)
LOCAL = WALL.astimezone(ZoneInfo("Asia/Kolkata"))

TITLE = Label(**{
    "en": "NRS Medical College & Hospital",
    "bn": "নীলরতন সরকার মেডিকেল কলেজ ও হাসপাতাল",
    "hi": "नील रतन सरकार मेडिकल कॉलेज एवं अस्पताल",
    "ur": "نیل رتن سرکار میڈیکل کالج و ہسپتال",
    "ne": "नीलरतन सरकार मेडिकल कलेज तथा अस्पताल",
    "sat": "ᱱᱤᱞᱨᱚᱛᱚᱱ ᱥᱚᱨᱠᱟᱨ ᱢᱮᱰᱤᱠᱟᱞ ᱠᱚᱞᱮᱡ ᱟᱨ ᱦᱟᱥᱯᱟᱛᱟᱞ",
    "or": "ନୀଳରତନ ସରକାର ମେଡିକାଲ କଲେଜ ଓ ହସ୍ପିଟାଲ",
    "pa": "ਨੀਲ ਰਤਨ ਸਰਕਾਰ ਮੈਡੀਕਲ ਕਾਲਜ ਅਤੇ ਹਸਪਤਾਲ"})
DEPARTMENTS = ("medicine", "surgery", "paediatrics", "obgyn", "orthopaedics", "cardiology",
               "neurology", "icu", "hdu", "ccu")
# (status, vacant, capacity, occupied, blocked, minutes since it changed)
FIGURES = ((Status.AVAILABLE, 12, 72, 60, 0, 7), (Status.FEW_LEFT, 2, 66, 62, 2, 25),
           (Status.AVAILABLE, 9, 40, 31, 0, 3), (Status.FULL, 0, 48, 48, 0, 80),
           (Status.AVAILABLE, 6, 30, 22, 2, 12), (Status.FEW_LEFT, 3, 36, 33, 0, 0),
           (Status.AVAILABLE, 14, 50, 36, 0, 135), (Status.FULL, 0, 10, 10, 0, 18),
           (Status.FEW_LEFT, 1, 8, 7, 0, 4), (Status.AVAILABLE, 4, 12, 8, 0, 41))


def tiles(count=len(DEPARTMENTS)):
    """``count`` TileViews of the NRS departments (repeated past ten)."""
    found = []
    for i in range(count):
        status, vacant, capacity, occupied, blocked, minutes = FIGURES[i % len(FIGURES)]
        found.append(TileView(label=Label(**default_label(DEPARTMENTS[i % len(DEPARTMENTS)])),
                              status=status, vacant=vacant, capacity=capacity,
                              occupied=occupied, blocked=blocked, changed_minutes=minutes,
                              highlighted=i == 7))
    return tuple(found)


def view(count=len(DEPARTMENTS), connected=True):
    """A BoardView of :func:`tiles`."""
    shown = tiles(count)
    return BoardView(tiles=shown, connected=connected, ever_connected=True, since=WALL,
                     since_minutes=75, total_vacant=sum(t.vacant for t in shown),
                     tiles_not_live=0, live_tiles=len(shown))


def renderer(languages, size=(1920, 1080), painter=None, numerals="latin", turn_seconds=8.0):
    """A Renderer of a board speaking ``languages``."""
    if painter is None:
        pygame.font.init()
        painter = TextPainter(FontBook())
    display = DisplaySettings(id="lobby", title=TITLE, languages=tuple(languages),
                              numerals=numerals, burn_in=BurnIn(pixels=0),
                              turn_seconds=turn_seconds)
    return Renderer(display, Words(languages, numerals=numerals), painter, size)


def draw(languages, size=(1920, 1080), count=len(DEPARTMENTS), now=0.0, painter=None,
         numerals="latin", board=None):
    """``(surface, renderer)``: the board drawn at monotonic ``now``."""
    board = board or renderer(languages, size, painter, numerals)
    surface = pygame.Surface(size)
    board.draw(surface, view(count), now, LOCAL)
    return surface, board


PICTURES = {
    # name: (languages, size, tiles, times drawn (a picture per turn))
    "languages-nrs-bn-hi-en.png": (("bn", "hi", "en"), (1920, 1080), 10, (0.0,)),
    "languages-urdu.png": (("bn", "ur", "en"), (1920, 1080), 10, (0.0,)),
    "languages-turns-1.png": (("bn", "en", "hi", "ur", "ne"),
                              (1920, 1080), 20, (0.0,)),
    "languages-turns-2.png": (("bn", "en", "hi", "ur", "ne"),
                              (1920, 1080), 20, (8.0,)),
}


def make_pictures(folder):
    """Write :data:`PICTURES` into ``folder``; return their paths."""
    os.makedirs(folder, exist_ok=True)
    pygame.font.init()
    painter = TextPainter(FontBook())
    written = []
    for name, (languages, size, count, times) in PICTURES.items():
        board = renderer(languages, size, painter)
        for now in times:
            surface, _ = draw(languages, size, count, 0.0, painter, board=board)
            if now:
                board.draw(surface, view(count), now, LOCAL)
        path = os.path.join(folder, name)
        pygame.image.save(surface, path)
        written.append(path)
    return written


if __name__ == "__main__":
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    for written_path in make_pictures(sys.argv[1] if len(sys.argv) > 1 else "images"):
        print(written_path)
