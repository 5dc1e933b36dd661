"""From the broker to the board: messages in on paho's thread, typed events out.

paho calls :meth:`Feed.on_message` and :meth:`Feed.on_connection` on its
network thread.  They check each message against the contract there (topic
and payload, with :mod:`bedboard.topics` and :mod:`bedboard.payloads`), stamp
it with the monotonic time of receipt, queue it as a typed event, and wake
the render loop through a :class:`Waker`.  The render loop drains the queue
and applies the events to the board model on its own thread: nothing on
paho's thread touches pygame or the model.

Each event keeps whether it came as the broker's retained copy: a retained
state is the broker's memory, not a sign that the ward is alive (see
:mod:`display.board`).  An empty payload on a state topic retires the ward.

A message that breaks the contract is dropped (docs/contract.md, rule 4): counted by
kind, and logged once per kind per interval, with how many more of that kind
were dropped since, so a flood cannot fill the log.

Why a pipe and not a pygame event: SDL's ``SDL_WaitEventTimeout`` polls every
millisecond on drivers without a native wait (measured here on the dummy
driver: ~900 wake-ups a second, 2 % of a core for an idle board), so the loop
sleeps in ``select()`` on this pipe instead — which also wakes at once for
SIGTERM, through ``signal.set_wakeup_fd``.
"""

import collections
import logging
import os
import select
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from bedboard.errors import ContractError
from bedboard.link import OFFLINE, ONLINE
from bedboard.payloads import MAX_PAYLOAD, WardState
from bedboard.topics import parse_status_topic, parse_ward_topic

_LOG = logging.getLogger(__name__)

LOG_INTERVAL = 60.0
TOPICS_KEPT = 4 * 5000      # ward topics whose split is kept: 4 kinds of MAX_WARDS wards


@dataclass(frozen=True)
class WardStateArrived:
    """A valid WardState, with when it was received."""

    key: object          # WardKey
    state: WardState
    received: float      # time.monotonic()
    wall: datetime       # UTC, for words on the screen only; None: the clock is not synced
    retained: bool = False   # the broker's stored copy, not a live message


@dataclass(frozen=True)
class WardRetired:
    """An empty (retained) state: the MQTT way to retire a ward."""

    key: object          # WardKey
    received: float


@dataclass(frozen=True)
class DeviceStatusArrived:
    """A device's status: True online, False offline, None cleared."""

    device: str
    online: object
    received: float
    retained: bool = False


@dataclass(frozen=True)
class ConnectionChanged:
    """The board's own link to the broker went up or down."""

    connected: bool
    changed: float
    wall: datetime


class Waker:
    """A self-pipe: any thread (or a signal) wakes a loop asleep in :meth:`wait`."""

    def __init__(self):
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)

    @property
    def fileno(self):
        """The write end, for ``signal.set_wakeup_fd``."""
        return self._write

    def wake(self):
        """Wake the waiting loop (never blocks)."""
        try:
            os.write(self._write, b"\0")
        except (BlockingIOError, OSError):
            pass    # the pipe is full: the loop is awake already, or closed

    def wait(self, timeout):
        """Sleep until woken or ``timeout`` seconds pass; return whether woken."""
        try:
            ready, _, _ = select.select([self._read], [], [], max(0.0, timeout))
        except InterruptedError:
            return True
        if ready:
            try:
                while os.read(self._read, 4096):
                    pass
            except (BlockingIOError, OSError):
                pass
        return bool(ready)

    def close(self):
        """Close both ends."""
        for fd in (self._read, self._write):
            try:
                os.close(fd)
            except OSError:
                pass


class DropLog:
    """Counts dropped messages by kind; logs each kind at most once per interval."""

    def __init__(self, interval=LOG_INTERVAL, clock=time.monotonic):
        self.interval = interval
        self.clock = clock
        self.counts = collections.Counter()
        self._last = {}
        self._since = collections.Counter()
        self._lock = threading.Lock()

    def drop(self, kind, topic, reason):
        """Count one dropped message; log it if its kind was quiet for an interval."""
        now = self.clock()
        with self._lock:
            self.counts[kind] += 1
            last = self._last.get(kind)
            if last is not None and now - last < self.interval:
                self._since[kind] += 1
                return
            more = self._since.pop(kind, 0)
            self._last[kind] = now
        _LOG.warning("dropped a message on %.120s (%s): %s%s", topic, kind, reason,
                     " (and %d more of this kind in the last %.0f s)" % (
                         more, self.interval) if more else "")


def _kind(reason):
    """A short name for why a payload broke the contract, for counting and logs."""
    text = str(reason)
    for marker, kind in (("bytes, more than", "oversized"), ("not UTF-8", "not UTF-8"),
                         ("not JSON", "not JSON"), ("must be a JSON object", "not an object"),
                         ("v must be", "unknown version"), ("lacks", "missing field"),
                         ("must be finite", "not a number")):
        if marker in text:
            return kind
    return "invalid value"


class Feed:
    """Checks and queues what the broker sends, for the render loop to apply."""

    def __init__(self, prefix, waker=None, clock=time.monotonic, wall_clock=None,
                 drops=None, wall_synced=None):
        self.prefix = prefix
        self.waker = waker
        self.clock = clock
        self.wall_clock = wall_clock or (lambda: datetime.now(timezone.utc))
        self.wall_synced = wall_synced or (lambda: True)
        self._synced = None              # its last answer, asked at most once a second
        self._synced_asked = None
        self.drops = drops or DropLog(clock=clock)
        self._queue = collections.deque()
        self._topics = {}               # topic: (WardKey, kind), paho's thread only
        self._pending = False
        self.received = 0

    # -- paho's thread -----------------------------------------------------
    def on_message(self, message):
        """A ``bedboard.link.Received``: check it, stamp it, queue it."""
        now = self.clock()
        self.received += 1
        event = self._parse(message.topic, message.payload, now,
                            getattr(message, "retained", False))
        if event is not None:
            self._put(event)

    def on_connection(self, connected):
        """The link went up or down."""
        self._put(ConnectionChanged(bool(connected), self.clock(), self.wall_clock()))

    def _parse(self, topic, payload, now, retained):
        if topic.startswith(self.prefix + "/device/") and topic.endswith("/status"):
            try:
                device = parse_status_topic(self.prefix, topic)
            except ContractError as exc:
                self.drops.drop("bad topic", topic, exc)
                return None
            text = bytes(payload[:16]).strip() if len(payload) <= 16 else None
            if text in (ONLINE, OFFLINE, b""):
                online = None if text == b"" else text == ONLINE
                return DeviceStatusArrived(device, online, now, retained)
            self.drops.drop("bad status", topic, "status must be online or offline, "
                            "got %r" % bytes(payload[:40]))
            return None
        found = self._topics.get(topic)
        if found is None:
            try:
                found = parse_ward_topic(self.prefix, topic)
            except ContractError as exc:
                self.drops.drop("bad topic", topic, exc)
                return None
            if len(self._topics) >= TOPICS_KEPT:
                self._topics.clear()
            self._topics[topic] = found
        key, kind = found
        if kind != "state":
            return None
        if not payload:
            return WardRetired(key, now)
        if len(payload) > MAX_PAYLOAD:     # before decoding anything of it
            self.drops.drop("oversized", topic, "payload is %d bytes, more than %d"
                            % (len(payload), MAX_PAYLOAD))
            return None
        try:
            state = WardState.parse(payload)
        except ContractError as exc:
            self.drops.drop(_kind(exc), topic, exc)
            return None
        return WardStateArrived(key, state, now,
                                self.wall_clock() if self._clock_synced(now) else None,
                                retained)

    def _clock_synced(self, now):
        """Whether the wall clock is synchronised, asked at most once a second.

        Only paho's thread calls it: in a burst, a system call for every
        message cost a quarter of that thread (``make bench``).
        """
        if self._synced_asked is None or now - self._synced_asked >= 1.0:
            self._synced, self._synced_asked = bool(self.wall_synced()), now
        return self._synced

    def _put(self, event):
        self._queue.append(event)
        if not self._pending:
            self._pending = True
            if self.waker is not None:
                self.waker.wake()

    # -- the render loop's thread --------------------------------------------
    def drain(self, limit=None):
        """The events queued so far (at most ``limit``), oldest first.

        Those left behind by ``limit`` stay queued: :attr:`waiting` says so.
        """
        self._pending = False
        events = []
        queue = self._queue
        while queue and (limit is None or len(events) < limit):
            events.append(queue.popleft())
        return events

    @property
    def waiting(self):
        """Whether events are queued."""
        return bool(self._queue)


def apply(board, events):
    """Apply drained events to the board model; return whether any changed it."""
    changed = False
    for event in events:
        if isinstance(event, WardStateArrived):
            changed |= board.receive_state(event.key, event.state, event.received,
                                           event.wall, event.retained)
        elif isinstance(event, WardRetired):
            changed |= board.receive_retired(event.key, event.received)
        elif isinstance(event, DeviceStatusArrived):
            changed |= board.receive_status(event.device, event.online, event.received,
                                            event.retained)
        elif isinstance(event, ConnectionChanged):
            changed |= board.set_connected(event.connected, event.changed, event.wall)
    return changed
