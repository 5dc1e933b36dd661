"""The monitor: full screen, no cursor, no screensaver, turned for its mounting.

The board is drawn upright on a canvas of the size a reader sees; for a
monitor mounted on its side (``rotate: 90/270``) or upside down (180) the
screen turns each changed rectangle onto the framebuffer, so a one-tile
change stays a one-tile copy.  ``rotate: 90`` turns the board a quarter
clockwise on the framebuffer (upright on a monitor turned a quarter
counter-clockwise); if the board comes out upside down, use 270.

SDL picks its video driver itself.  On a Raspberry Pi without a desktop it
must be KMSDRM; some builds fall back silently to ``offscreen`` and draw
nothing at all (pygame #4061), so a dummy or offscreen driver that nobody
asked for (``SDL_VIDEODRIVER``) is an error with a clear message, never a
black lobby screen.  Asked for, it is the deliberate headless mode of tests
and benchmarks.
"""

import logging
import os

import pygame

from bedboard.errors import DisplayError

from .config import DEFAULT_SIZE

_LOG = logging.getLogger(__name__)

HEADLESS_DRIVERS = ("dummy", "offscreen")
SOFTWARE_WINDOW_DRIVERS = ("x11",)   # SDL_FRAMEBUFFER_ACCELERATION=0 there


def turned(size, rotate):
    """``size`` (width, height) as it lies on a framebuffer turned by ``rotate``."""
    return (size[1], size[0]) if rotate in (90, 270) else tuple(size)


def map_rect(rect, rotate, size):
    """Where ``rect`` of an upright canvas of ``size`` lands on the framebuffer."""
    width, height = size
    x, y, w, h = rect
    if rotate == 90:
        return pygame.Rect(height - y - h, x, h, w)
    if rotate == 180:
        return pygame.Rect(width - x - w, height - y - h, w, h)
    if rotate == 270:
        return pygame.Rect(y, width - x - w, h, w)
    return pygame.Rect(x, y, w, h)


def _asked_for(driver):
    requested = os.environ.get("SDL_VIDEODRIVER", "")
    return driver in [name.strip().lower() for name in requested.split(",")]


class Screen:
    """The display pygame shows the board on, with an upright ``canvas`` to draw on."""

    def __init__(self, size=None, rotate=0, window=False, caption="bedboard"):
        try:
            pygame.display.init()
        except pygame.error as exc:
            raise DisplayError(
                "no screen: SDL could not start a video driver (%s). On a Raspberry "
                "Pi without a desktop set SDL_VIDEODRIVER=kmsdrm and put the user in "
                "the video, render and input groups" % exc) from None
        self.driver = pygame.display.get_driver()
        self.headless = self.driver in HEADLESS_DRIVERS
        if self.headless and not _asked_for(self.driver):
            pygame.display.quit()
            raise DisplayError(
                "no screen: SDL fell back to its %r video driver, which shows nothing. "
                "On a Raspberry Pi without a desktop set SDL_VIDEODRIVER=kmsdrm (and "
                "put the user in the video, render and input groups); for a deliberate "
                "headless run set SDL_VIDEODRIVER=dummy" % self.driver)
        if self.driver in SOFTWARE_WINDOW_DRIVERS:
            # A window's surface straight to the X server (MIT-SHM), not through
            # a GL renderer SDL would build for it (llvmpipe without a GPU):
            # measured in a 1920x1080 window, PSS 128 -> 42 MiB (benchmarks/window.py).
            # Set before set_mode, where SDL reads it; an explicit setting wins.
            # Not on Wayland or KMSDRM: SDL 2 has no framebuffer of its own there
            # and shows the surface only through GL/GLES (with the hint at 0 it
            # cannot open the window at all). On a Wayland desktop with XWayland
            # SDL 2 takes x11 by default, and so this path.
            os.environ.setdefault("SDL_FRAMEBUFFER_ACCELERATION", "0")
        self.rotate = rotate
        info = pygame.display.Info()
        desktop = (info.current_w, info.current_h)
        if size is None:
            size = turned(desktop, rotate) if not self.headless and min(desktop) > 0 \
                else DEFAULT_SIZE
            if window:
                size = (1280, 720) if rotate in (0, 180) else (720, 1280)
        if window and not self.headless and min(desktop) > 0:
            size = _fit_within(size, turned(desktop, rotate), 0.9)
        flags = 0 if window or self.headless else pygame.FULLSCREEN
        try:
            self.window = pygame.display.set_mode(turned(size, rotate), flags)
        except pygame.error as exc:
            pygame.display.quit()
            raise DisplayError("cannot open a %dx%d screen on SDL's %s driver: %s"
                               % (turned(size, rotate) + (self.driver, exc))) from None
        pygame.display.set_caption(caption)
        if not window:
            pygame.mouse.set_visible(False)
        pygame.display.set_allow_screensaver(False)
        self.size = turned(self.window.get_size(), rotate)
        self.canvas = self.window if rotate == 0 else pygame.Surface(self.size).convert()
        _LOG.info("screen: %dx%d on SDL's %s driver%s%s", self.size[0], self.size[1],
                  self.driver, ", turned %d°" % rotate if rotate else "",
                  ", in a window" if window else "")

    def present(self, rects):
        """Show the canvas's changed ``rects`` on the monitor."""
        if not rects:
            return
        if self.rotate == 0:
            pygame.display.update(rects)
            return
        bounds = self.canvas.get_rect()
        shown = []
        for rect in rects:
            rect = pygame.Rect(rect).clip(bounds)
            if not rect.w or not rect.h:
                continue
            piece = pygame.transform.rotate(self.canvas.subsurface(rect), -self.rotate)
            target = map_rect(rect, self.rotate, self.size)
            self.window.blit(piece, target.topleft)
            shown.append(target)
        pygame.display.update(shown)

    def close(self):
        """Give the screen back."""
        pygame.display.quit()


def _fit_within(size, limit, share):
    """``size`` scaled down (aspect kept) to at most ``share`` of ``limit``."""
    scale = min(1.0, limit[0] * share / size[0], limit[1] * share / size[1])
    return (max(320, int(size[0] * scale)), max(240, int(size[1] * scale)))
