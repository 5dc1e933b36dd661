"""Benchmarks of the lobby board at 1920×1080 for 8, 40 and 120 tiles.

* **full redraw** and **one-tile update** (also 40 tiles at 3840×2160), and
  what ``--frame-log`` adds to a frame, in this process on SDL's dummy
  driver: the median of many runs of what the loop does — for a full
  redraw, every part of the picture drawn again and shown; for a one-tile
  update, a WardState applied to the model, the board's view computed, the
  changed tile (and the total) redrawn and shown.  Text is cached as it is
  in a running board (the first frame, which fills the caches, is not timed).
* **idle CPU** and **RSS** of real ``bed-display`` processes (headless, SDL's
  dummy driver, each on a private Mosquitto with every ward's state
  retained), measured from ``/proc/PID/stat`` over 30 s after a warm-up.
  The 120-tile board turns a page every 10 s during that time, as it would
  in a lobby.

``python -m benchmarks.display`` prints the rows; ``make bench`` tabulates
them with the agent's.
"""

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame  # noqa: E402
import yaml  # noqa: E402

from bedboard.mosquitto import PrivateBroker  # noqa: E402
from bedboard.payloads import WardState  # noqa: E402
from bedboard.topics import WardKey  # noqa: E402
from display import config  # noqa: E402
from display.app import BoardApp  # noqa: E402
from display.framelog import FrameLog  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZE = (1920, 1080)
COUNTS = (8, 40, 120)
IDLE_SECONDS = 30.0
WARM_UP = 6.0
HOSPITAL = "bench"


def _config_text(count, size=SIZE):
    tiles = [{"department": "dept-%d" % i, "wards": ["ward"],
              "label": {"en": "Department %d" % i, "bn": "বিভাগ %d" % i}}
             for i in range(count)]
    return yaml.safe_dump({
        "display": {"id": "bench-%d" % count, "size": list(size),
                    "title": {"en": "Benchmark Hospital", "bn": "পরীক্ষা হাসপাতাল"}},
        "broker": {"host": "127.0.0.1", "port": 1883},
        "board": {"hospital": HOSPITAL, "tiles": tiles}}, allow_unicode=True)


def _state(i, seq=1, occupied=None):
    capacity = 20 + i % 60
    return WardState(capacity=capacity, occupied=capacity - 1 - i % 9 if occupied is None
                     else occupied, blocked=i % 3 and 1, seq=seq,
                     at=datetime.now(timezone.utc).replace(microsecond=0),
                     agent="bench-agent-%d" % i)


def _key(i):
    return WardKey(HOSPITAL, "dept-%d" % i, "ward")


def _write_config(folder, count, size=SIZE):
    path = os.path.join(folder, "bench-%d-%dx%d.yaml" % ((count,) + tuple(size)))
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(_config_text(count, size))
    return path


class _NoLink:
    """Stands in for the broker link in the in-process timings."""

    def __init__(self, *args, **kwargs):
        pass

    def start(self):
        """Nothing to start."""

    def stop(self):
        """Nothing to stop."""


def _median_ms(samples):
    return statistics.median(samples) * 1000.0


def draw_timings(count, folder, runs_full=60, runs_tile=300, size=SIZE):
    """``(full redraw ms, one-tile update ms, frame log ms per changed frame,
    frame log ms per unchanged frame)`` for a board of ``count`` tiles."""
    settings = config.read(_write_config(folder, count, size))
    frame_log = FrameLog(os.path.join(folder, "frames-%d.jsonl" % count))
    app = BoardApp(settings, link_factory=_NoLink, frame_log=frame_log)
    screen = pygame.display.set_mode(size)
    now = time.monotonic()
    app.board.set_connected(True, now, datetime.now(timezone.utc))
    for i in range(count):
        app.board.receive_state(_key(i), _state(i), now, datetime.now(timezone.utc))
    pygame.display.update(app.draw(screen, full=True))         # fills the caches
    full = []
    for _ in range(runs_full):
        started = time.perf_counter()
        pygame.display.update(app.draw(screen, full=True))
        full.append(time.perf_counter() - started)
    one, logged, unchanged = [], [], []
    capacity = _state(0).capacity
    for run in range(runs_tile):
        state = _state(0, seq=2 + run, occupied=capacity - 2 - run % 7)
        started = time.perf_counter()
        app.board.receive_state(_key(0), state, time.monotonic(),
                                datetime.now(timezone.utc))
        pygame.display.update(app.draw(screen))
        one.append(time.perf_counter() - started)
        started = time.perf_counter()
        frame_log.shown()                  # what --frame-log adds to that frame
        logged.append(time.perf_counter() - started)
        app.draw(screen)                   # a clock tick: the same tiles
        started = time.perf_counter()
        frame_log.shown()
        unchanged.append(time.perf_counter() - started)
    app.close()
    frame_log.close()
    return _median_ms(full), _median_ms(one), _median_ms(logged), _median_ms(unchanged)


def _cpu_seconds(pid):
    with open("/proc/%d/stat" % pid, encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mib(pid):
    with open("/proc/%d/status" % pid, encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def idle_figures(folder, counts=COUNTS, seconds=IDLE_SECONDS):
    """``{count: (idle CPU % of a core, RSS MiB)}`` of real headless boards."""
    from tests.display_helpers import Publisher  # pylint: disable=import-outside-toplevel
    results = {}
    with PrivateBroker() as broker:
        with Publisher(broker.host, broker.port) as publisher:
            for i in range(max(counts)):
                publisher.status("bench-agent-%d" % i, True)
                publisher.state(_key(i), _state(i))
        env = dict(os.environ, SDL_VIDEODRIVER="dummy", PYTHONPATH=ROOT)
        processes = {}
        try:
            for count in counts:
                processes[count] = subprocess.Popen(  # pylint: disable=consider-using-with
                    [sys.executable, "-m", "display", "--config", _write_config(folder, count),
                     "--broker", "%s:%d" % (broker.host, broker.port)],
                    env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    start_new_session=True)
            time.sleep(WARM_UP)
            before = {count: _cpu_seconds(p.pid) for count, p in processes.items()}
            started = time.monotonic()
            time.sleep(seconds)
            elapsed = time.monotonic() - started
            for count, process in processes.items():
                if process.poll() is not None:
                    raise RuntimeError("the %d-tile board exited with %s"
                                       % (count, process.returncode))
                used = _cpu_seconds(process.pid) - before[count]
                results[count] = (100.0 * used / elapsed, _rss_mib(process.pid))
        finally:
            for process in processes.values():
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in processes.values():
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
    return results


def measure():
    """The board's rows for ``make bench``."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="bedboard-bench-") as folder:
        pygame.display.init()
        pygame.font.init()
        try:
            for count, size in [(count, SIZE) for count in COUNTS] + [(40, (3840, 2160))]:
                full, one, logged, unchanged = draw_timings(count, folder, size=size)
                rows.append({"what": "full redraw, %d tiles, %d×%d" % ((count,) + size),
                             "value": full, "unit": "ms",
                             "target": ("<=", 3.0) if (count, size) == (40, SIZE) else None})
                rows.append({"what": "one-tile update, %d tiles, %d×%d" % ((count,) + size),
                             "value": one, "unit": "ms", "target": ("<=", 1.0)})
                if (count, size) == (40, SIZE):
                    rows.append({"what": "--frame-log: its cost for a frame with one tile "
                                 "changed, 40 tiles", "value": logged, "unit": "ms",
                                 "note": "%.0f %% of the one-tile update" % (
                                     100.0 * logged / one)})
                    rows.append({"what": "--frame-log: its cost for a frame that changes no "
                                 "tile (a clock tick)", "value": unchanged, "unit": "ms"})
        finally:
            pygame.display.quit()
        for count, (cpu, rss) in sorted(idle_figures(folder).items()):
            rows.append({"what": "idle CPU over %.0f s, %d tiles%s (dummy driver)" % (
                IDLE_SECONDS, count, " (pages turning)" if count > 40 else ""),
                "value": cpu, "unit": "% of a core", "target": ("<=", 1.0)})
            rows.append({"what": "RSS of the running board, %d tiles (dummy driver)" % count,
                         "value": rss, "unit": "MiB", "target": ("<=", 80.0)})
    return rows


if __name__ == "__main__":
    for row in measure():
        print("%-48s %10.3f %-12s %s" % (row["what"], row["value"], row["unit"],
                                          row["target"] or ""))
