"""A tile of 5,000 wards, and the board's return after its broker's (issue 15).

Two figures of a real ``bed-display`` process (SDL's dummy driver, its frame
log, its systemd watchdog pings caught on a socket of our own):

* **a tile of 5,000 wards** (the board's ``MAX_WARDS``) on a broker that holds
  their retained states and statuses: the time from starting the process to
  the first frame showing the whole tile live, and the longest gap between two
  passes of its loop while it loads (the watchdog is pinged from the loop every
  0.5 s here: a gap is the loop blocked).  Before issue 15 one update blocked
  the loop 33 s, past the unit's ``WatchdogSec=30``;
* **the broker's return**: the broker (with its autosave) is stopped for 8 s
  and started again; the time from its return to the first live frame.  The
  board retries every 0.5–2 s.

Run alone: ``.venv/bin/python -m benchmarks scale --out /tmp/b.md --json /tmp/b.json``.
"""

import os
import shutil
import socket
import threading
import time

from bedboard.mosquitto import PrivateBroker
from bedboard.payloads import WardState

from .common import (FrameFollower, agent_id, display_env, start_display, stop,
                     temporary_folder, ward_key, ward_state, write_board)
from .paint import _publish_retained

WARDS = 5000
OUTAGE = 8.0
WATCHDOG_USEC = 1_000_000        # the loop pings every 0.5 s


class Pings:
    """A NOTIFY_SOCKET of our own: when each WATCHDOG=1 arrived."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.times = []
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            if b"WATCHDOG=1" in data:
                self.times.append(time.monotonic())

    def longest_gap(self, since, until):
        times = [t for t in self.times if since <= t <= until]
        return max((b - a for a, b in zip(times, times[1:])), default=float("nan"))

    def close(self):
        self._stop = True
        self._thread.join(1.0)
        self.sock.close()


def _whole(frame, vacant):
    tiles = frame["tiles"]
    return bool(tiles) and all(t["live"] and not t["missing"] for t in tiles) \
        and frame.get("total") == vacant


def big_tile(folder):
    """``(seconds to the first whole live frame, longest loop gap while loading)``."""
    states = {i: ward_state(i, seq=3) for i in range(WARDS)}
    vacant = sum(s.vacant for s in states.values())
    with PrivateBroker(workdir=os.path.join(folder, "mosquitto")) as broker:
        _publish_retained(broker.port, {ward_key(i, WARDS): s for i, s in states.items()},
                          [agent_id(i) for i in range(WARDS)])
        config = write_board(folder, 1, wards_per_tile=WARDS, name="big-tile.yaml")
        frames = os.path.join(folder, "big.jsonl")
        pings = Pings(os.path.join(folder, "notify.sock"))
        began = time.monotonic()
        process = start_display(config, broker, "--frame-log", frames,
                                env=display_env(NOTIFY_SOCKET=pings.path,
                                                WATCHDOG_USEC=str(WATCHDOG_USEC)),
                                log=os.path.join(folder, "big.log"))
        try:
            follower = FrameFollower(frames)
            whole = follower.wait(lambda f: _whole(f, vacant), timeout=300)
            loaded = whole["t"] - began
            time.sleep(1.0)                  # a pass or two after it, for the last gap
            gap = pings.longest_gap(began, whole["t"] + 1.0)
            shown = [f["t"] for f in follower.frames]
            frame_gap = max((b - a for a, b in zip(shown, shown[1:])), default=0.0)
        finally:
            stop(process)
            pings.close()
    return loaded, gap, frame_gap


def broker_return(folder):
    """Seconds from the broker's return (after an 8 s outage) to the first live frame."""
    with PrivateBroker(workdir=os.path.join(folder, "return"), persistence=True) as broker:
        made = WardState(capacity=30, occupied=20, seq=4, at=ward_state(0).at,
                         agent=agent_id(0), boot="0123456789abcdef", beat=1, heartbeat=60)
        _publish_retained(broker.port, {ward_key(0, 1): made}, [agent_id(0)])
        config = write_board(folder, 1, name="return.yaml")
        frames = os.path.join(folder, "return.jsonl")
        process = start_display(config, broker, "--frame-log", frames,
                                log=os.path.join(folder, "return.log"))
        try:
            follower = FrameFollower(frames)
            # once the board has the broker's copy, its agent beats (live): proven live
            follower.wait(lambda f: f["connected"] and f["tiles"][0]["vacant"] is not None,
                          timeout=60)
            _publish_retained(broker.port, {ward_key(0, 1): WardState(
                capacity=30, occupied=20, seq=4, at=made.at, agent=agent_id(0),
                boot="0123456789abcdef", beat=2, heartbeat=60)})
            follower.wait(lambda f: f["tiles"][0]["live"], timeout=30)
            broker.stop()
            follower.wait(lambda f: not f["connected"], timeout=30)
            time.sleep(OUTAGE)
            broker.start()
            back = time.monotonic()
            first = follower.wait(lambda f: f["connected"] and f["tiles"][0]["live"],
                                  timeout=60)
            return first["t"] - back
        finally:
            stop(process)


def measure():
    """The rows of this part."""
    folder = temporary_folder("bench-scale-")
    try:
        loaded, gap, frame_gap = big_tile(folder)
        returned = broker_return(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return [
        dict(what="a tile of %d wards: start to the first frame with all live" % WARDS,
             value=loaded, unit="s", target=("<=", 5.0),
             note="a real bed-display; retained states and statuses on its broker"),
        dict(what="  … longest gap between two passes of its loop while loading",
             value=gap, unit="s", target=("<=", 1.0),
             note="its watchdog pings, every 0.5 s when idle; before issue 15: 33 s"),
        dict(what="  … longest gap between two frames it logged while loading",
             value=frame_gap, unit="s",
             note="a frame is logged only when it says something new: this counts "
                  "waiting for the broker too, so it is not judged"),
        dict(what="broker back after an %.0f s outage: to the first live frame" % OUTAGE,
             value=returned, unit="s", target=("<=", 5.0),
             note="before issue 15: 20–26 s (backoff up to 30 s)"),
    ]
