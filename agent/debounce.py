"""Debounce and hold-to-confirm, in bedboard's own code rather than the pin library's.

gpiozero's ``bounce_time`` is known to miss or add edges on real pins and is
ignored altogether by its mock pins, so what decides "one press" must be
ours, and testable: an :class:`EdgeFilter` turns a contact's raw edges into
confirmed changes.  A change is confirmed once the contact has stayed in its
new position for the whole delay (``debounce``, or ``hold`` when that is
longer): contact bounce and short glitches never count, and a knock shorter
than ``hold`` is reported as too short instead of counted.

A :class:`Scheduler` thread runs the delayed checks, one for a whole panel.
Nothing here imports gpiozero.
"""

import heapq
import itertools
import logging
import threading
import time

_LOG = logging.getLogger(__name__)


class Scheduler:
    """One background thread that calls functions at given ``time.monotonic()`` times."""

    def __init__(self, name="bed-agent-debounce"):
        self._name = name
        self._heap = []
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._thread = None
        self._closed = False

    def call_at(self, when, function):
        """Call ``function()`` on the scheduler's thread at ``when`` (or soon after)."""
        with self._cond:
            if self._closed:
                return
            heapq.heappush(self._heap, (when, next(self._order), function))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name,
                                                daemon=True)
                self._thread.start()
            self._cond.notify()

    def _run(self):
        while True:
            with self._cond:
                while not self._closed and (
                        not self._heap or self._heap[0][0] > time.monotonic()):
                    wait = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(wait)
                if self._closed:
                    return
                _, _, function = heapq.heappop(self._heap)
            try:
                function()
            except Exception:  # noqa: BLE001 - one bad callback must not stop the rest
                _LOG.exception("a debounce callback failed")

    def close(self):
        """Stop the thread; pending calls are dropped."""
        with self._cond:
            self._closed = True
            self._heap.clear()
            self._cond.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(2)


class EdgeFilter:
    """Raw edges of one contact in; confirmed changes (and too-short presses) out.

    ``on_change(active)`` is called when the contact has stayed ``active``
    (or inactive) for the delay: ``max(debounce, hold)`` to become active;
    to become inactive, ``debounce`` — or ``max(debounce, hold)`` too when
    ``hold_release`` (a bed sensor must be steady both ways).
    ``on_too_short(seconds)`` is called when a press lasted at least
    ``debounce`` but was released before ``hold``.

    Edges are timed by when they *happened* (``at``, a ``time.monotonic()``
    value — the panel derives it from the pin's own edge time), not by when
    the filter hears of them: if a starved callback thread delivers a press
    and its release together, the press still counts, because the filter
    looks back at how long each position was held.  A position known to
    have been held long enough is confirmed at the latest when the next
    edge arrives, otherwise by a check on the scheduler's thread when its
    delay has passed (on the caller's thread when the delay is zero).

    ``active=None`` makes a filter that knows no position yet: the first
    :meth:`edge` only sets it, under the same lock as every later edge, so
    no edge can fall between "registered for edges" and "position known".
    """

    def __init__(self, scheduler, debounce=0.05, hold=0.0, hold_release=False,
                 on_change=None, on_too_short=None, active=False):
        if debounce < 0 or hold < 0:
            raise ValueError("debounce and hold must not be negative, got %r and %r"
                             % (debounce, hold))
        self._scheduler = scheduler
        self.debounce = debounce
        self.hold = hold
        self._press_delay = max(debounce, hold)
        self._release_delay = max(debounce, hold) if hold_release else debounce
        self.on_change = on_change
        self.on_too_short = on_too_short
        self._lock = threading.Lock()
        self._generation = 0
        self._known = active is not None
        self._raw = self._stable = bool(active)
        self._raw_since = time.monotonic()
        self._longest_press = 0.0

    @property
    def active(self):
        """The confirmed position: True once a press (or closing) is confirmed."""
        return self._stable

    def reset(self, active, at=None):
        """Take ``active`` as the confirmed position, without reporting a change."""
        with self._lock:
            self._set_position(active, time.monotonic() if at is None else at)

    def _set_position(self, active, at):
        self._generation += 1
        self._known = True
        self._raw = self._stable = bool(active)
        self._raw_since = at
        self._longest_press = 0.0

    def edge(self, active, at=None):
        """Tell the filter the contact became ``active`` at ``at`` (default: now)."""
        active = bool(active)
        at = time.monotonic() if at is None else at
        with self._lock:
            if not self._known:
                self._set_position(active, at)
                return
            if active == self._raw or at < self._raw_since:
                return   # no move, or older news than an edge already heard
            outcome = self._settle_until(at)
            if not active:
                self._longest_press = max(self._longest_press, at - self._raw_since)
            self._raw, self._raw_since = active, at
            self._generation += 1
            generation = self._generation
            due = at + (self._press_delay if active else self._release_delay)
        self._report(outcome)
        if due <= at:
            self._check(generation)
        else:
            self._scheduler.call_at(due, lambda: self._check(generation))

    def _check(self, generation):
        with self._lock:
            if generation != self._generation:
                return  # the contact moved again: the next edge decides
            outcome = self._settle_until(None)
        self._report(outcome)

    def _settle_until(self, until):
        """What the raw position, held from its edge to ``until``, confirms (lock held).

        ``until=None``: the position has been held for its whole delay.
        """
        delay = self._press_delay if self._raw else self._release_delay
        if until is not None and until - self._raw_since < delay:
            return None
        longest, self._longest_press = self._longest_press, 0.0
        if self._raw != self._stable:
            self._stable = self._raw
            return ("change", self._stable)
        if not self._raw and self.hold > self.debounce and longest >= self.debounce:
            return ("too short", longest)
        return None

    def _report(self, outcome):
        if outcome is None:
            return
        what, value = outcome
        if what == "change":
            if self.on_change is not None:
                self.on_change(value)
        elif self.on_too_short is not None:
            self.on_too_short(value)
