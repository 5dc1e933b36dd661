"""What `make bench` counts in instructions: each figure as a scenario in this process.

``python -m benchmarks.counted SCENARIO`` sets a scenario up and counts only
its measured part between :class:`~benchmarks.callgrind.Marks` (run it under
callgrind to count; natively it just runs).  It prints ``{part: CPU
seconds}`` (of every thread of this process; natively, the machine's time
for the same work).  Each counted part's name ends in
``xN`` when it is N repetitions of the figure (the parent divides).

Made deterministic, so three runs count the same: the board is given a
virtual monotonic clock that moves 1/60 s per frame and a fixed wall clock
(10:00 UTC: no night dimming, no header clock turning over mid-count), and
it is always the same sequence of messages and frames, whatever the speed of
the machine (or of valgrind, ~50× slower than native).

* **full redraw / one-tile update**: as in ``benchmarks/display.py``, 40
  tiles, text caches warm; a one-tile update is one state message through
  the board's :class:`~display.feed.Feed` (checked and queued as paho's
  thread does, after paho's own parsing), applied, the tile and the total
  redrawn and shown (``Screen.present``, SDL's dummy driver).
* **burst**: a real ``BoardApp`` on a private Mosquitto, connected, showing
  200 wards on 40 tiles; 10,000 state messages written to the broker in 60
  batches, the board drawing one frame after each batch has arrived —
  60 frames, what a board meeting the 1 s target draws at 60 Hz.  Counted:
  everything the board's process executes meanwhile (paho's network thread
  reading and parsing the packets, the feed, the model, the 60 frames), and
  with it, small beside them, the benchmark's own ~60 ``sendall`` calls and
  its polling for the arrivals (a few hundred instructions each); not
  Mosquitto's work.
* **start-up**: wards' states and their agents' statuses retained on a
  private Mosquitto; counted from reading the config to the frame in which
  every tile shows its figures live: the config read, the ``BoardApp``
  (fonts, model, link), the ``Screen`` (SDL's dummy driver), connecting and
  subscribing, the first frame, the retained states, the agents' statuses
  the board then asks for, and one frame after each (three frames).  The
  interpreter's start-up and the imports are counted apart
  (:mod:`benchmarks.instructions`).
* **durable press**: the agent's ledger write path of one press —
  ``agent.ward.press`` and ``Ledger.record`` (one synced SQLite transaction),
  then ``Ledger.forget`` as when the broker acknowledges it; 200 presses on a
  fresh ledger after 20 uncounted.
"""

import json
import logging
import os
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

from agent import ward as rules  # noqa: E402
from agent.ledger import Ledger  # noqa: E402
from bedboard.link import Received  # noqa: E402
from bedboard.mosquitto import PrivateBroker  # noqa: E402
from bedboard.payloads import WardState  # noqa: E402
from bedboard.settings import override_broker  # noqa: E402
from bedboard.topics import WardKey, status_topic, ward_topic  # noqa: E402
from display import config  # noqa: E402
from display.app import BoardApp  # noqa: E402
from display.framelog import FrameLog, read as read_frames  # noqa: E402
from display.screen import Screen  # noqa: E402

from .callgrind import Marks  # noqa: E402
from .common import agent_id, ward_key, write_board  # noqa: E402
from .paint import RawPublisher, _publish_retained, _shows, _tile_sums  # noqa: E402

_LOG = logging.getLogger(__name__)

WALL = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)
FRAME = 1.0 / 60
TILES = 40
FULL_REDRAWS = 10
TILE_UPDATES = 28          # four rounds of seven different figures
BURST_WARDS = 200
BURST_MESSAGES = 10000
BURST_FRAMES = 60
PRESSES = 200


class VirtualClock:
    """A monotonic clock moved by hand, and a wall clock that stands still."""

    def __init__(self):
        self.now = 1000.0

    def monotonic(self):
        """The board's ``time.monotonic``."""
        return self.now

    def wall(self):
        """The board's UTC wall clock: always :data:`WALL`."""
        return WALL

    def advance(self, seconds=FRAME):
        """Move the monotonic clock on."""
        self.now += seconds


class _NoLink:
    """Stands in for the broker link where the board is fed by hand."""

    def __init__(self, *args, **kwargs):
        pass

    def start(self):
        """Nothing to start."""

    def stop(self):
        """Nothing to stop."""

    def subscribe(self, *topic_filters):
        """Nothing to subscribe to."""


def state(i, seq=1, occupied=None):
    """Ward ``i``'s WardState at :data:`WALL` (as ``common.ward_state``, without ``now``)."""
    capacity = 20 + i % 60
    return WardState(capacity=capacity, occupied=capacity - 1 - i % 9 if occupied is None
                     else occupied, blocked=i % 3 and 1, seq=seq, at=WALL,
                     agent=agent_id(i))


def _board(path, clock, broker=None):
    """A BoardApp on the config ``path``: on ``broker``'s port, or fed by hand."""
    settings = config.read(path)
    if broker is not None:
        # valgrind runs the board ~50× slower: a keepalive of 30 s would let the
        # broker drop it mid-count (and resend every retained message)
        settings = replace(settings, broker=replace(override_broker(
            settings.broker, "%s:%d" % (broker.host, broker.port)), keepalive=3600))
    app = BoardApp(settings, clock=clock.monotonic, wall_clock=clock.wall,
                   clock_synced=lambda: True,
                   **({} if broker is not None else {"link_factory": _NoLink}))
    screen = Screen(settings.display.size, settings.display.rotate, caption="bench")
    return app, screen


def _frame(app, screen, clock, full=False):
    """One pass of the board's loop: apply what arrived, draw, show."""
    clock.advance()
    app.update()
    screen.present(app.draw(screen.canvas, full=full))


def _showing(app, screen, folder, sums):
    """Whether the board, drawn now, shows every tile of ``sums`` live (not counted)."""
    log = FrameLog(os.path.join(folder, "check-%d.jsonl" % time.monotonic_ns()))
    try:
        log.follow(app.board)
        app.draw(screen.canvas)
        log.shown()
    finally:
        log.close()
        del app.board.view          # follow() wrapped it on this board alone
    return _shows(read_frames(log.path)[-1], sums)


def _wait_received(feed, count, timeout=900.0):
    """Wait until the board's feed has had ``count`` messages (polling: few instructions)."""
    deadline = time.monotonic() + timeout
    while feed.received < count:
        if time.monotonic() > deadline:
            raise RuntimeError("the board received %d of %d messages" % (feed.received,
                                                                        count))
        time.sleep(0.005)


def _broker_said_nothing_wrong(broker):
    """Raise if the broker dropped a message or a client timed out (a count would be off)."""
    with open(broker.log_path, encoding="utf-8", errors="replace") as handle:
        wrong = [line.strip() for line in handle
                 if "dropped" in line.lower() or "exceeded timeout" in line]
    if wrong:
        raise RuntimeError("the broker: %s (%d such lines)" % (wrong[0], len(wrong)))


def _received(topic, payload, retained=False):
    return Received(topic, payload, retained)


# -- the scenarios ------------------------------------------------------------------

def redraw(marks, folder, size):
    """Full redraws and one-tile updates of a 40-tile board at ``size``."""
    clock = VirtualClock()
    app, screen = _board(write_board(folder, TILES, size), clock)
    prefix = app.settings.broker.prefix
    app.feed.on_connection(True)
    for i in range(TILES):
        app.feed.on_message(_received(status_topic(prefix, agent_id(i)), b"online", True))
        app.feed.on_message(_received(ward_topic(prefix, ward_key(i), "state"),
                                      state(i).to_json()))
    _frame(app, screen, clock, full=True)              # fills the caches
    if not _showing(app, screen, folder, _tile_sums({i: state(i) for i in range(TILES)}, 1)):
        raise RuntimeError("the board does not show every tile live")
    marks.start()
    for _ in range(FULL_REDRAWS):
        _frame(app, screen, clock, full=True)
    marks.stop("full redraw x%d" % FULL_REDRAWS)
    capacity = state(0).capacity
    topic = ward_topic(prefix, ward_key(0), "state")
    warm = TILE_UPDATES // 2     # they fill the text cache with the seven figures
    for run in range(warm + TILE_UPDATES):
        if run == warm:
            marks.start()
        message = state(0, seq=2 + run, occupied=capacity - 2 - run % 7).to_json()
        app.feed.on_message(_received(topic, message))
        _frame(app, screen, clock)
    marks.stop("one-tile update x%d" % TILE_UPDATES)
    app.close()
    screen.close()


class _Tally:
    """Counts what the link hands on, in place of the board's feed (the burst's floor)."""

    def __init__(self, received):
        self.received = received

    def on_message(self, message):
        """paho's thread: one more message, nothing done with it."""
        self.received += 1


def burst(marks, folder, board=True):
    """10,000 state messages over 200 wards on 40 tiles, 60 frames.

    ``board=False``: the burst's floor — the same messages through the
    board's own MQTT client (paho and ``BrokerLink``) with nothing behind it:
    no feed, no model, no frames.
    """
    per_tile = BURST_WARDS // TILES
    first = {i: state(i) for i in range(BURST_WARDS)}
    with PrivateBroker(workdir=os.path.join(folder, "mosquitto")) as broker:
        prefix = "crs"
        _publish_retained(broker.port, {ward_key(i, per_tile): s for i, s in first.items()},
                          [agent_id(i) for i in range(BURST_WARDS)])
        clock = VirtualClock()
        app, screen = _board(write_board(folder, TILES, wards_per_tile=per_tile,
                                         name="burst.yaml"), clock, broker)
        app.link.start()
        _frame(app, screen, clock, full=True)
        deadline = time.monotonic() + 300
        while not _showing(app, screen, folder, _tile_sums(first, per_tile)):
            if time.monotonic() > deadline:
                raise RuntimeError("the burst's board never showed its first figures")
            time.sleep(0.05)
            _frame(app, screen, clock)
        payloads, final = [], {}
        for step in range(BURST_MESSAGES // BURST_WARDS):
            for i in range(BURST_WARDS):
                capacity = first[i].capacity
                final[i] = WardState(capacity=capacity,
                                     occupied=(i * 7 + step * 3) % (capacity - 1),
                                     blocked=(step + i) % 2, seq=2 + step, at=WALL,
                                     agent=agent_id(i))
                payloads.append((ward_topic(prefix, ward_key(i, per_tile), "state"),
                                 final[i].to_json()))
        size = len(payloads) // BURST_FRAMES
        bounds = [n * size for n in range(BURST_FRAMES)] + [len(payloads)]
        batches = [RawPublisher.packets(payloads[start:end])
                   for start, end in zip(bounds, bounds[1:])]
        publisher = RawPublisher(broker.port)
        counter = app.feed
        if not board:
            counter = _Tally(app.feed.received)
            # the link's callback (a benchmark may reach in): paho's thread hands
            # each message to the tally instead of the feed
            app.link._on_message = counter.on_message  # pylint: disable=protected-access
        try:
            received = counter.received
            marks.start()
            for batch, sent in zip(batches, bounds[1:]):
                publisher.sock.sendall(batch)
                _wait_received(counter, received + sent)
                if board:
                    _frame(app, screen, clock)
            marks.stop("burst x1" if board else "burst floor x1")
        finally:
            publisher.close()
        _broker_said_nothing_wrong(broker)
        if counter.received != received + len(payloads):
            raise RuntimeError("the burst's board received %d messages, not %d (it "
                               "reconnected?)" % (counter.received - received,
                                                  len(payloads)))
        if board and not _showing(app, screen, folder, _tile_sums(final, per_tile)):
            raise RuntimeError("after the burst the board does not show the final figures")
        app.link.stop()
        app.close()
        screen.close()


def start_up(marks, folder, wards):
    """From reading the config to the first frame with ``wards`` retained wards all live."""
    per_tile = wards // TILES
    states = {i: state(i, seq=5) for i in range(wards)}
    with PrivateBroker(workdir=os.path.join(folder, "mosquitto")) as broker:
        _publish_retained(broker.port, {ward_key(i, per_tile): s for i, s in states.items()},
                          [agent_id(i) for i in range(wards)])
        path = write_board(folder, TILES, wards_per_tile=per_tile, name="start.yaml")
        clock = VirtualClock()
        marks.start()
        app, screen = _board(path, clock, broker)
        app.link.start()
        screen.present(app.draw(screen.canvas, full=True))        # the first frame
        _wait_received(app.feed, wards)                            # the retained states
        _frame(app, screen, clock)              # ... and the statuses they name asked for
        _wait_received(app.feed, 2 * wards)
        _frame(app, screen, clock)
        marks.stop("start-up %d wards x1" % wards)
        _broker_said_nothing_wrong(broker)
        if app.feed.received != 2 * wards:
            raise RuntimeError("the start-up's board received %d messages, not %d (it "
                               "reconnected?)" % (app.feed.received, 2 * wards))
        if not _showing(app, screen, folder, _tile_sums(states, per_tile)):
            raise RuntimeError("the start-up's board does not show every tile live")
        app.link.stop()
        app.close()
        screen.close()


def press(marks, folder):
    """The ledger write path of a durable press."""
    ward = WardKey("bench", "agent", "ward-1")
    ledger = Ledger.create(os.path.join(folder, "state"), ward, "bench-agent",
                           rules.WardCounts(100000, 50000, 0), 0, WALL, 100000, "config")
    try:
        for number in range(20 + PRESSES):
            if number == 20:
                marks.start()
            change = rules.press(ledger.counts, "taken" if number % 2 == 0 else "freed")
            written, _ = ledger.record(change, "bench-agent",
                                       WALL + timedelta(seconds=number))
            ledger.forget([written.seq])
        marks.stop("durable press x%d" % PRESSES)
    finally:
        ledger.close()


SCENARIOS = {
    "redraw-1080p": lambda marks, folder: redraw(marks, folder, (1920, 1080)),
    "redraw-4k": lambda marks, folder: redraw(marks, folder, (3840, 2160)),
    "burst": burst,
    "burst-floor": lambda marks, folder: burst(marks, folder, board=False),
    "start-up-200": lambda marks, folder: start_up(marks, folder, 200),
    "start-up-5000": lambda marks, folder: start_up(marks, folder, 5000),
    "press": press,
}


def main(argv=None):
    """Run one scenario (its name the only argument)."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0] not in SCENARIOS:
        print("usage: python -m benchmarks.counted {%s}" % ",".join(SCENARIOS),
              file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for name in ("agent", "bedboard", "display"):
        logging.getLogger(name).setLevel(logging.ERROR)
    folder = tempfile.mkdtemp(prefix="bedboard-counted-")
    try:
        marks = Marks()
        SCENARIOS[argv[0]](marks, folder)
        print(json.dumps(marks.seconds))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
