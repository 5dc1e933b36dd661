"""The board in a real window, and where its memory goes.

* **In a real X11 window** (Xvfb, 1920×1080, 24-bit), full screen as a Pi's
  desktop kiosk runs it: the real ``bed-display`` with 40 tiles from a
  private Mosquitto, its idle CPU over 60 s after a warm-up, its PSS (shared
  pages by their share — what it really costs the machine) and RSS; the X
  server's own CPU over the same time beside it.  Then the same board with
  ``SDL_FRAMEBUFFER_ACCELERATION=1``, the path SDL takes on its own, which
  builds a GL renderer (llvmpipe without a GPU) for the window's surface;
  and SDL's dummy driver (no screen at all) for comparison.  Where weston
  is installed (optional), the board in a Wayland window of a headless
  weston too: SDL 2 shows a Wayland window only through GL.
* **Where the memory goes**: a fresh interpreter builds the board step by
  step (Python alone; pygame imported; the rest of the board's modules; the
  1920×1080 screen; the fonts; the first full frame of 40 tiles) and reports
  its RSS and PSS after each; and the running X11 board's mappings, grouped.

Processes are measured one after another, never side by side.
"""

import json
import logging
import os
import subprocess
import sys
import time

from bedboard.mosquitto import PrivateBroker

from .common import (ROOT, agent_id, cpu_seconds, display_env, memory_map, pss_mib,
                     rss_mib, start_display, stop, temporary_folder, ward_key, ward_state,
                     weston, write_board, xvfb)

_LOG = logging.getLogger(__name__)

IDLE_SECONDS = 60.0
WARM_UP = 8.0
TILES = 40


def _publish(broker, count):
    from .paint import _publish_retained  # pylint: disable=import-outside-toplevel
    _publish_retained(broker.port, {ward_key(i): ward_state(i) for i in range(count)},
                      [agent_id(i) for i in range(count)])


def idle(config, broker, env, seconds, server=None):
    """``{cpu, pss, rss, server_cpu, map}`` of one board process, idle for ``seconds``."""
    process = start_display(config, broker, env=env)
    try:
        time.sleep(WARM_UP)
        if process.poll() is not None:
            raise RuntimeError("the board exited with %s" % process.returncode)
        before = cpu_seconds(process.pid)
        server_before = cpu_seconds(server) if server else None
        started = time.monotonic()
        time.sleep(seconds)
        elapsed = time.monotonic() - started
        figures = {"cpu": 100.0 * (cpu_seconds(process.pid) - before) / elapsed,
                   "pss": pss_mib(process.pid), "rss": rss_mib(process.pid),
                   "map": memory_map(process.pid, 8)}
        if server:
            figures["server_cpu"] = 100.0 * (cpu_seconds(server) - server_before) / elapsed
    finally:
        stop(process)
    return figures


def _xvfb_pid(display):
    number = display.lstrip(":")
    with open("/tmp/.X%s-lock" % number, encoding="ascii") as handle:
        return int(handle.read().strip())


_STEPS = r"""
import json, os, sys
def mem(step):
    rss = pss = 0
    with open("/proc/self/smaps_rollup") as handle:
        for line in handle:
            if line.startswith("Rss:"): rss = int(line.split()[1]) / 1024
            if line.startswith("Pss:"): pss = int(line.split()[1]) / 1024
    print(json.dumps({"step": step, "rss": rss, "pss": pss}), flush=True)
mem("Python alone")
import pygame
mem("+ pygame (SDL, FreeType, HarfBuzz)")
import yaml, paho.mqtt.client
from display import app, config, fonts, text, render
from datetime import datetime, timezone
import time
mem("+ paho, PyYAML, the board's modules")
pygame.display.init()
screen = pygame.display.set_mode((1920, 1080))
mem("+ a 1920x1080 screen (dummy driver)")
settings = config.read(sys.argv[1])
class NoLink:
    def __init__(self, *a, **k): pass
    def start(self): pass
    def stop(self): pass
board_app = app.BoardApp(settings, link_factory=NoLink)
board_app.fonts.font("latin", True, 120); board_app.fonts.font("bengali", True, 40)
mem("+ the fonts (Noto Sans, Noto Sans Bengali)")
sys.path.insert(0, sys.argv[2])
from benchmarks.common import ward_key, ward_state, agent_id
now = time.monotonic(); wall = datetime.now(timezone.utc)
board_app.board.set_connected(True, now, wall)
for i in range(40):
    board_app.board.receive_status(agent_id(i), True, now)
    board_app.board.receive_state(ward_key(i), ward_state(i), now, wall)
pygame.display.update(board_app.draw(screen, full=True))
mem("+ the first full frame of 40 tiles (text caches filled)")
"""


def memory_steps(config):
    """``[(step, RSS MiB, PSS MiB)]`` of a board built step by step."""
    result = subprocess.run([sys.executable, "-c", _STEPS, config, ROOT],
                            env=display_env("dummy"), capture_output=True, text=True,
                            timeout=120, check=True, cwd=ROOT)
    steps = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return [(step["step"], step["rss"], step["pss"]) for step in steps]


def measure(seconds=IDLE_SECONDS):
    """The rows of the window and memory figures."""
    folder = temporary_folder("bedboard-bench-window-")
    config = write_board(folder, TILES)
    rows = []
    with PrivateBroker(workdir=os.path.join(folder, "mosquitto")) as broker:
        _publish(broker, TILES)
        with xvfb((1920, 1080)) as display:
            if display is None:
                rows.append(dict(what="in a real window: Xvfb is not installed "
                                 "(scripts/system-deps --bench installs it)", value=float("nan"),
                                 unit=""))
            else:
                server = _xvfb_pid(display)
                env = display_env("x11", DISPLAY=display, SDL_FRAMEBUFFER_ACCELERATION=None)
                window = idle(config, broker, env, seconds, server)
                gl_env = display_env("x11", DISPLAY=display, SDL_FRAMEBUFFER_ACCELERATION="1")
                gl = idle(config, broker, gl_env, seconds / 2, server)
                rows += [
                    dict(what="X11 window (Xvfb), 40 tiles 1920×1080: PSS", value=window["pss"],
                         unit="MiB", target=("<=", 50.0)),
                    dict(what="X11 window: idle CPU over %.0f s" % seconds,
                         value=window["cpu"], unit="% of a core", target=("<=", 0.25)),
                    dict(what="X11 window: RSS", value=window["rss"], unit="MiB"),
                    dict(what="  … the X server's CPU meanwhile", value=window["server_cpu"],
                         unit="% of a core"),
                    dict(what="X11 window through SDL's GL renderer "
                         "(SDL_FRAMEBUFFER_ACCELERATION=1, the old default): PSS",
                         value=gl["pss"], unit="MiB"),
                    dict(what="  … its idle CPU over %.0f s" % (seconds / 2), value=gl["cpu"],
                         unit="% of a core"),
                ]
                for mib, what in window["map"][:6]:
                    rows.append(dict(what="  X11 window's PSS in %s" % what, value=mib,
                                     unit="MiB"))
        with weston((1920, 1080)) as wayland:
            if wayland is None:
                rows.append(dict(what="Wayland window: weston is not installed (optional: "
                                 "apt-get install weston)", value=float("nan"), unit=""))
            else:
                server = wayland.pop("pid")
                shown = idle(config, broker, display_env("wayland", **wayland), seconds / 2,
                             server)
                rows += [dict(what="Wayland window (headless weston), 40 tiles: PSS — "
                              "through SDL's GL renderer, its only way there",
                              value=shown["pss"], unit="MiB"),
                         dict(what="  … its idle CPU over %.0f s" % (seconds / 2),
                              value=shown["cpu"], unit="% of a core"),
                         dict(what="  … the compositor's CPU meanwhile",
                              value=shown["server_cpu"], unit="% of a core")]
        dummy = idle(config, broker, display_env("dummy"), seconds)
        rows += [dict(what="dummy driver, 40 tiles: idle CPU over %.0f s" % seconds,
                      value=dummy["cpu"], unit="% of a core"),
                 dict(what="dummy driver: RSS", value=dummy["rss"], unit="MiB"),
                 dict(what="dummy driver: PSS", value=dummy["pss"], unit="MiB")]
    previous = None
    for step, rss, pss in memory_steps(config):
        rows.append(dict(what="memory, step by step: %s" % step, value=pss, unit="MiB PSS",
                         note="RSS %.1f MiB%s" % (rss, "" if previous is None else
                                                   ", +%.1f MiB" % (pss - previous))))
        previous = pss
    return rows


if __name__ == "__main__":
    for row in measure(float(sys.argv[1]) if len(sys.argv) > 1 else IDLE_SECONDS):
        print("%-100s %10.2f %s %s" % (row["what"], row["value"], row["unit"],
                                      row.get("note", "")))
