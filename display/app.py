"""The board's loop: handle events → update the model → draw what changed.

It sleeps until something happens — a message from the broker (woken by the
feed), a signal, or the next second of the clock — so an unchanged board
costs a clock update a second and nothing more.  Each pass drains the feed
into the model, asks the model for the board as it should look now, lets the
renderer redraw only what differs, and shows those rectangles.  The systemd
watchdog is pinged from this loop and nowhere else: if the loop freezes, the
pings stop and systemd restarts the board.

The same loop writes snapshots (``--snapshot``) onto an off-screen canvas,
with no screen at all.
"""

import logging
import os
import socket
import tempfile
import time
from datetime import datetime, timedelta, timezone

import pygame

from bedboard import sdnotify, timesync
from bedboard.errors import DisplayError
from bedboard.link import BrokerLink
from bedboard.topics import status_topic, ward_filter

from .board import Board
from .config import DEFAULT_SIZE
from .feed import Feed, Waker, apply
from .fonts import FontBook
from .languages import language
from .memory import WardMemory
from .render import Renderer
from .text import TextPainter
from .words import Words

_LOG = logging.getLogger(__name__)

SETTLE = 0.25        # seconds of quiet after the last retained message before a snapshot
CLOCK_CHECK = 5.0    # seconds between asking whether the system clock is synchronised
FRAME_INTERVAL = 1.0 / 60   # news is shown at most this often: no monitor shows more
# The loop is never held long, whatever arrives (issue 15: 5,000 wards blocked it 33 s,
# past WatchdogSec=30): it applies what came in chunks, for at most UPDATE_BUDGET
# seconds a pass, and draws at most once every DRAW_SHARE × what the last frame cost,
# so that a big tile's frames cannot take more than about half of the loop's time.
UPDATE_CHUNK = 500
UPDATE_BUDGET = 0.25
DRAW_SHARE = 2.0
# A board is one client of its broker: it retries every 0.5 s, doubling up to 2 s, so
# its families read NO CONNECTION for seconds, not half a minute, after a fault is gone
# (issue 15: 26 s after an 8 s outage with the agents' 1–30 s).
RETRY_MIN, RETRY_MAX = 0.5, 2.0
# Where the picture sits, in units of burn_in.pixels, one after another.
_SHIFTS = ((0, 0), (1, 0), (1, 1), (0, 1), (0.5, 0.5), (0.5, 0), (1, 0.5), (0.5, 1),
           (0, 0.5))


def _utc_now():
    return datetime.now(timezone.utc)


class BoardApp:
    """The lobby board: broker link → feed → model → renderer → screen."""

    def __init__(self, settings, clock=time.monotonic, wall_clock=_utc_now,
                 fonts=None, link_factory=BrokerLink, clock_synced=timesync.synchronised,
                 frame_log=None):
        self.settings = settings
        self.clock = clock
        self.wall_clock = wall_clock
        self.clock_synced = clock_synced     # whether the wall clock may be shown
        self._synced = None                  # its last answer, and when it was asked
        self._synced_asked = None
        self._trusted = None                 # (monotonic, local time) last read synchronised
        display, board = settings.display, settings.board
        self.fonts = fonts or FontBook()
        languages = display.languages
        drawable = tuple(lang for lang in languages
                         if lang == "en" or self.fonts.has(language(lang).script.name))
        if drawable and drawable != languages:
            _LOG.warning("no font for %s (install fonts-noto-core): the board leaves "
                         "it out", ", ".join(sorted(set(languages) - set(drawable))))
            languages = drawable
        self.words = Words(languages, display.bengali_numerals, display.numerals)
        self.painter = TextPainter(self.fonts)
        self.zone = display.zone
        self.started = clock()
        self.board = Board(board.hospital, board.tiles, board.stale_after, board.few_left,
                           board.highlight_seconds, now=self.started,
                           retained_for=1.25 * board.heartbeat,
                           check_within=board.check_within)
        # the wards seen before this start: a department-wide tile never forgets one
        self.memory = WardMemory(display.state_dir) if display.state_dir else None
        if self.memory is not None:
            self.board.recall(self.memory)
        else:
            _LOG.info("no display.state_dir: after a restart a department-wide tile knows "
                      "only the wards it hears from")
        # --frame-log: a line for each frame shown that says something new
        self.frame_log = frame_log.follow(self.board) if frame_log is not None else None
        self.waker = Waker()
        # A change's time is read from a panel's "at" only when this clock is
        # synchronised too (asked on paho's thread: adjtimex is one system call).
        self.feed = Feed(settings.broker.prefix, self.waker, clock=clock,
                         wall_clock=wall_clock, wall_synced=clock_synced)
        try:
            self.link = link_factory(settings.broker, display.id,
                                     subscriptions=self.subscriptions(),
                                     on_message=self.feed.on_message,
                                     on_connection=self.feed.on_connection,
                                     min_backoff=RETRY_MIN, max_backoff=RETRY_MAX)
        except BaseException:
            self.waker.close()
            raise
        self._followed = set()           # agents whose status is subscribed
        self.renderer = None
        self._stop = False
        self._last_event = self.started

    # -- wiring ----------------------------------------------------------------
    def subscriptions(self):
        """The ward states the tiles need.

        Device statuses are not subscribed here with a wildcard: a state-level
        broker holds thousands, and a subscriber's queue can fill with them
        before a single state arrives.  The status of each agent is subscribed
        once a state names it (:meth:`follow_agents`); until it arrives, the
        model does not show that ward's retained state as live.
        """
        prefix = self.settings.broker.prefix
        if self.board.fixed:
            return [ward_filter(prefix, "state", hospital=h, department=d)
                    for h, d in self.board.departments()]
        return [ward_filter(prefix, "state", hospital=self.board.hospital)]

    def follow_agents(self):
        """Subscribe to the status of every agent the board's wards name."""
        new = self.board.agents() - self._followed
        if new:
            self.link.subscribe(*(status_topic(self.settings.broker.prefix, agent)
                                  for agent in sorted(new)))
            self._followed |= new
        return len(new)

    def request_stop(self, *_):
        """Ask the loop to end (safe from a signal handler)."""
        self._stop = True
        self.waker.wake()

    # -- one pass ----------------------------------------------------------------
    def update(self, budget=UPDATE_BUDGET):
        """Apply what the feed received (for about ``budget`` seconds at most: what is
        left wakes the loop again at once); return whether the model changed."""
        began = self.clock()
        changed = False
        while True:
            events = self.feed.drain(UPDATE_CHUNK)
            if not events:
                break
            self._last_event = self.clock()
            changed |= apply(self.board, events)
            if self.feed.waiting and self._last_event - began >= budget:
                self.waker.wake()
                break
        if changed:
            self.follow_agents()
        if self.memory is not None:
            self.memory.save_due(self.clock())
        return changed

    def draw(self, surface, full=False):
        """Bring ``surface`` up to date; return the changed rectangles."""
        if self.renderer is None:
            self.renderer = Renderer(self.settings.display, self.words, self.painter,
                                     surface.get_size(), self.settings.board.page_seconds)
        now = self.clock()
        local = self.wall_clock().astimezone(self.zone)
        shown = local if self._clock_trusted(now) else None
        if shown is not None:
            self._trusted = (now, shown)
        self._adjust(now, self._time_of_day(now, shown))
        if full:
            self.renderer.invalidate()
        return self.renderer.draw(surface, self.board.view(now), now, shown)

    def _time_of_day(self, now, shown):
        """The local time to dim by: the synchronised clock's, else the last one read
        synchronised carried forward on the monotonic clock, else None (never the
        wall clock while it is not synchronised: it may say midnight at noon)."""
        if shown is not None or self._trusted is None:
            return shown
        then, local = self._trusted
        return local + timedelta(seconds=now - then)

    def _clock_trusted(self, now):
        """Whether the time of day may be shown (asked every CLOCK_CHECK seconds).

        A Pi without a time server can be hours or years off after a power
        cut: the header's clock and date and the banner's "since 01:30" are
        then left out, and the banner says for how long instead.
        """
        if self._synced_asked is None or now - self._synced_asked >= CLOCK_CHECK:
            synced = bool(self.clock_synced())
            if synced != self._synced:
                _LOG.info("the system clock is %s: the board %s the time of day",
                          "synchronised" if synced else "not synchronised (no time server?)",
                          "shows" if synced else "leaves out")
            self._synced, self._synced_asked = synced, now
        return self._synced

    def _adjust(self, now, local):
        """Night dimming (by ``local``, None: not known) and the burn-in shift: both
        redraw everything when they change."""
        display = self.settings.display
        night = display.night
        self.renderer.set_brightness(night.brightness if night and local is not None
                                     and night.active(local) else 1.0)
        pixels = display.burn_in.pixels
        if pixels:
            step = int((now - self.started) // (display.burn_in.minutes * 60))
            fx, fy = _SHIFTS[step % len(_SHIFTS)]
            self.renderer.set_offset(int(fx * pixels), int(fy * pixels))

    def _sleep(self, at_most=1.0):
        """Sleep until woken, or until just after the next second of the clock."""
        wall = time.time()
        self.waker.wait(min(at_most, 1.0 - (wall % 1.0) + 0.002))

    # -- the full-screen board ---------------------------------------------------
    def run(self, screen):
        """Run the board on ``screen`` until asked to stop."""
        interval = sdnotify.watchdog_interval()
        last_ping = None
        self.link.start()
        try:
            rects = self.draw(screen.canvas, full=True)
            screen.present(rects)
            self._log_frame()
            shown = self.clock()
            drawing = 0.0                   # what the last frame cost to draw
            sdnotify.ready("showing %d tiles" % len(self.board.specs))
            while not self._stop:
                if interval and last_ping is not None:
                    self._sleep(max(0.0, last_ping + interval - self.clock()))
                else:
                    self._sleep()
                self._handle_pygame_events()
                if self.update():
                    # A frame went up less than a refresh ago (a burst of news), or
                    # frames are costly (a big tile): let the rest of it in, and
                    # show it all in the next frame.
                    ready = shown + max(FRAME_INTERVAL, DRAW_SHARE * drawing)
                    while not self._stop and self.clock() < ready:
                        time.sleep(min(FRAME_INTERVAL, max(0.0, ready - self.clock())))
                        self.update()
                        last_ping = _ping(interval, last_ping, self.clock())
                began = self.clock()
                rects = self.draw(screen.canvas)
                screen.present(rects)
                now = self.clock()
                if rects:
                    drawing = now - began
                    self._log_frame()
                    shown = now
                last_ping = _ping(interval, last_ping, now)
        finally:
            sdnotify.stopping()
            self.link.stop()
        return 0

    def _log_frame(self):
        """A frame was just shown: tell the frame log, if there is one."""
        if self.frame_log is not None:
            layout = self.renderer.layout if self.renderer is not None else None
            self.frame_log.shown(self.renderer.page if layout is not None
                                 and layout.pages > 1 else None,
                                 drawn=self.renderer.report() if layout is not None
                                 else None)

    def _handle_pygame_events(self):
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                self.request_stop()
            elif event.type == pygame.KEYDOWN and event.key == pygame.K_q \
                    and event.mod & pygame.KMOD_CTRL:
                self.request_stop()
            elif event.type in (pygame.WINDOWEXPOSED, pygame.VIDEOEXPOSE):
                if self.renderer is not None:
                    self.renderer.invalidate()

    # -- snapshots -----------------------------------------------------------------
    def snapshot(self, out, wait=5.0, every=None):
        """Draw the board off-screen into the PNG ``out``.

        Waits until every tile has data (and the retained messages have
        settled) or ``wait`` seconds pass.  With ``every``, keeps running and
        rewrites ``out`` every ``every`` seconds until asked to stop.
        """
        size = self.settings.display.size or DEFAULT_SIZE
        canvas = pygame.Surface(size)
        self.link.start()
        try:
            deadline = self.clock() + wait
            while not self._stop:
                self.update()
                now = self.clock()
                if now >= deadline or (self.board.complete(now)
                                       and now - self._last_event >= SETTLE):
                    break
                self.waker.wait(min(0.05, deadline - now))
            self.draw(canvas, full=True)
            save_png(canvas, out)
            self._log_frame()
            _LOG.info("wrote %s (%s)", out, "every tile has data" if self.board.complete()
                      else "after %.1f s, some tiles without data" % wait)
            if not every and not self.link.connected and _answers(self.settings.broker):
                # A broker that is there but refused this board (its login, TLS) must
                # not look like success; one that is not there at all is drawn as
                # the board shows it, and that is what was asked.
                raise DisplayError("the broker %s answers but did not let this board in "
                                   "(the log above says why: its login or TLS); %s shows "
                                   "the board without it" % (self.settings.broker.describe(),
                                                             out))
            next_save = self.clock() + (every or 0)
            while every and not self._stop:
                self.waker.wait(max(0.0, min(1.0, next_save - self.clock())))
                self.update()
                if self.clock() >= next_save:
                    self.draw(canvas)
                    save_png(canvas, out)
                    self._log_frame()
                    next_save += every
                    if next_save < self.clock():
                        next_save = self.clock() + every
        finally:
            self.link.stop()
        return 0

    def close(self):
        """Write what the board remembers; release the wake-up pipe."""
        if self.memory is not None and self.memory.dirty:
            self.memory.save()
        self.waker.close()


def _ping(interval, last, now):
    """Ping systemd's watchdog if due (from the render loop only: it proves the loop
    runs); return the time of the last ping."""
    if interval and (last is None or now - last >= interval):
        sdnotify.watchdog()
        return now
    return last


def _answers(broker):
    """Whether any of the broker's addresses accepts a TCP connection right now."""
    for host, port in broker.addresses:
        try:
            socket.create_connection((host, port), timeout=2).close()
            return True
        except OSError:
            continue
    return False


def save_png(surface, path):
    """Write ``surface`` to ``path`` as PNG, atomically (a reader never sees half a file)."""
    folder = os.path.dirname(os.path.abspath(path))
    temporary = None
    try:
        handle, temporary = tempfile.mkstemp(prefix=".%s." % os.path.basename(path),
                                             suffix=".png", dir=folder)
        os.close(handle)
        pygame.image.save(surface, temporary)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except (OSError, pygame.error) as exc:
        if temporary is not None:
            try:
                os.unlink(temporary)
            except OSError:
                pass
        raise DisplayError("cannot write the snapshot %s: %s"
                           % (path, getattr(exc, "strerror", None) or exc)) from None
