"""What the benchmarks share: boards, processes, memory and CPU from /proc, Xvfb.

Every figure of a process is read from outside, as an operator would:
``/proc/PID/stat`` for CPU time, ``/proc/PID/status`` for RSS and its peak,
``/proc/PID/smaps_rollup`` for PSS (a shared library counted by its share),
``/proc/PID/fd`` for open files.
"""

import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone

import yaml

from bedboard.payloads import WardState
from bedboard.topics import WardKey

_LOG = logging.getLogger(__name__)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOSPITAL = "bench"
FRAME_60HZ = 1000.0 / 60.0      # ms


def percentile(samples, fraction):
    """The ``fraction`` quantile of ``samples`` (nearest rank)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


# -- boards ----------------------------------------------------------------------

def ward_key(i, wards_per_tile=1):
    """The ``i``-th ward of a benchmark board (``wards_per_tile`` wards on a tile)."""
    return WardKey(HOSPITAL, "dept-%d" % (i // wards_per_tile), "ward-%d" % (i % wards_per_tile))


def agent_id(i):
    """The agent id of the ``i``-th ward."""
    return "bench-agent-%d" % i


def ward_state(i, seq=1, occupied=None):
    """A plausible WardState for ward ``i``."""
    capacity = 20 + i % 60
    return WardState(capacity=capacity, occupied=capacity - 1 - i % 9 if occupied is None
                     else occupied, blocked=i % 3 and 1, seq=seq,
                     at=datetime.now(timezone.utc).replace(microsecond=0),
                     agent=agent_id(i))


def write_board(folder, tiles, size=(1920, 1080), wards_per_tile=1, name=None, **board):
    """A board config of ``tiles`` tiles (each summing ``wards_per_tile`` wards); its path."""
    specs = [{"department": "dept-%d" % i,
              "wards": ["ward-%d" % w for w in range(wards_per_tile)],
              "label": {"en": "Department %d" % i, "bn": "বিভাগ %d" % i}}
             for i in range(tiles)]
    text = yaml.safe_dump({
        "display": {"id": "bench-board-%d" % tiles, "size": list(size),
                    "title": {"en": "Benchmark Hospital", "bn": "পরীক্ষা হাসপাতাল"}},
        "broker": {"host": "127.0.0.1", "port": 1883},
        "board": dict({"hospital": HOSPITAL, "tiles": specs}, **board)},
        allow_unicode=True)
    path = os.path.join(folder, name or "board-%d-%dx%d.yaml" % (tiles, size[0], size[1]))
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def display_env(driver="dummy", **extra):
    """The environment of a board process on SDL's ``driver``."""
    env = dict(os.environ, SDL_VIDEODRIVER=driver, SDL_AUDIODRIVER="dummy",
               PYGAME_HIDE_SUPPORT_PROMPT="1", PYTHONPATH=ROOT)
    env.update({key: value for key, value in extra.items() if value is not None})
    for key in [key for key, value in extra.items() if value is None]:
        env.pop(key, None)
    return env


def start_display(config, broker, *extra, env=None, log=None):
    """A real ``bed-display`` process on ``broker`` (a PrivateBroker)."""
    handle = open(log or os.devnull, "ab")  # pylint: disable=consider-using-with
    with handle:
        return subprocess.Popen(  # pylint: disable=consider-using-with
            [sys.executable, "-m", "display", "--config", config,
             "--broker", "%s:%d" % (broker.host, broker.port)] + list(extra),
            env=env or display_env(), stdin=subprocess.DEVNULL, stdout=handle,
            stderr=handle, start_new_session=True)


def stop(process, timeout=15.0):
    """SIGTERM, then SIGKILL if it does not end in ``timeout``; the exit status."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


# -- a process seen from outside --------------------------------------------------

def cpu_seconds(pid):
    """User + system CPU seconds of ``pid`` so far."""
    with open("/proc/%d/stat" % pid, encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_mib(pid, *keys):
    """Fields of ``/proc/PID/status`` in MiB (``VmRSS``, ``VmHWM``, …)."""
    found = {}
    with open("/proc/%d/status" % pid, encoding="ascii") as handle:
        for line in handle:
            key = line.split(":", 1)[0]
            if key in keys:
                found[key] = int(line.split()[1]) / 1024.0
    return tuple(found.get(key, float("nan")) for key in keys)


def rss_mib(pid):
    """Resident memory of ``pid``, MiB."""
    return status_mib(pid, "VmRSS")[0]


def pss_mib(pid):
    """Proportional set size of ``pid`` (shared pages by their share), MiB."""
    with open("/proc/%d/smaps_rollup" % pid, encoding="ascii") as handle:
        for line in handle:
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def open_fds(pid):
    """How many file descriptors ``pid`` holds."""
    return len(os.listdir("/proc/%d/fd" % pid))


def memory_map(pid, top=12):
    """``[(MiB PSS, what)]``: where ``pid``'s memory is, largest first.

    Mappings are grouped by file (shared libraries by name, Python extension
    modules by package) and anonymous memory by kind (the heap, other
    anonymous mappings).
    """
    groups = {}
    name, pss = None, 0
    with open("/proc/%d/smaps" % pid, encoding="ascii", errors="replace") as handle:
        for line in handle:
            parts = line.split()
            if not parts:
                continue
            if "-" in parts[0] and len(parts) >= 5 and not parts[0].endswith(":"):
                if name is not None:
                    groups[name] = groups.get(name, 0) + pss
                path = parts[5] if len(parts) > 5 else ""
                name = _map_group(path)
                pss = 0
            elif parts[0] == "Pss:":
                pss = int(parts[1])
    if name is not None:
        groups[name] = groups.get(name, 0) + pss
    ordered = sorted(((kib / 1024.0, what) for what, kib in groups.items()), reverse=True)
    return ordered[:top]


def _map_group(path):
    if not path:
        return "anonymous (Python objects, pixel buffers)"
    if path.startswith("["):
        return path
    base = os.path.basename(path)
    if "site-packages" in path:
        package = path.split("site-packages/", 1)[1].split("/", 1)[0]
        return "%s (%s)" % (package, base.split(".", 1)[0] if "/" not in base else base)
    if path.startswith("/dev/shm") or path.startswith("/memfd:"):
        return "shared memory (%s)" % base
    return base


# -- Xvfb -------------------------------------------------------------------------

@contextlib.contextmanager
def xvfb(size=(1920, 1080), depth=24):
    """A private Xvfb server; yields its DISPLAY (``:N``), or None when there is none."""
    binary = shutil.which("Xvfb")
    if binary is None:
        yield None
        return
    for number in range(91, 140):
        if not os.path.exists("/tmp/.X%d-lock" % number) and \
                not os.path.exists("/tmp/.X11-unix/X%d" % number):
            break
    display = ":%d" % number
    process = subprocess.Popen(  # pylint: disable=consider-using-with
        [binary, display, "-screen", "0", "%dx%dx%d" % (size[0], size[1], depth),
         "-nolisten", "tcp", "-noreset"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists("/tmp/.X11-unix/X%d" % number):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("Xvfb %s did not start" % display)
            time.sleep(0.05)
        yield display
    finally:
        stop(process, 5)


def temporary_folder(prefix):
    """A fresh temporary folder (the caller removes it)."""
    return tempfile.mkdtemp(prefix=prefix)


# -- following a board's frame log --------------------------------------------------

class FrameFollower:
    """Reads a running board's frame log as it grows (see :mod:`display.framelog`)."""

    def __init__(self, path):
        self.path = path
        self._offset = 0
        self._rest = b""
        self.frames = []

    def poll(self):
        """The lines written since the last poll, parsed."""
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self._offset)
                data = handle.read()
        except FileNotFoundError:
            return []
        self._offset += len(data)
        data = self._rest + data
        lines = data.split(b"\n")
        self._rest = lines.pop()
        new = [json.loads(line) for line in lines if line]
        self.frames += new
        return new

    def wait(self, predicate, timeout=30.0, interval=0.001):
        """The first new frame for which ``predicate(frame)`` holds (polling)."""
        deadline = time.monotonic() + timeout
        while True:
            for frame in self.poll():
                if predicate(frame):
                    return frame
            if time.monotonic() > deadline:
                raise TimeoutError("no frame in %s matched within %.0f s"
                                   % (self.path, timeout))
            time.sleep(interval)


@contextlib.contextmanager
def weston(size=(1920, 1080)):
    """A private headless Weston; yields its environment, or None when there is none."""
    binary = shutil.which("weston")
    if binary is None:
        yield None
        return
    runtime = tempfile.mkdtemp(prefix="bedboard-wayland-")
    os.chmod(runtime, 0o700)
    socket_name = "wayland-bench"
    process = subprocess.Popen(  # pylint: disable=consider-using-with
        [binary, "--backend=headless-backend.so", "--width=%d" % size[0],
         "--height=%d" % size[1], "--socket=%s" % socket_name, "--idle-time=0"],
        env=dict(os.environ, XDG_RUNTIME_DIR=runtime), stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(os.path.join(runtime, socket_name)):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("weston did not start")
            time.sleep(0.05)
        yield {"XDG_RUNTIME_DIR": runtime, "WAYLAND_DISPLAY": socket_name, "DISPLAY": None,
               "pid": process.pid}
    finally:
        stop(process, 5)
        shutil.rmtree(runtime, ignore_errors=True)
