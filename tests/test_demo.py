"""`make demo`, headless and bounded: the board changes, and everything stops."""

import hashlib
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _digest(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def _leftovers(workdir):
    """Processes still running from the demo's folder or naming it."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        if int(pid) == os.getpid():
            continue
        try:
            cwd = os.readlink("/proc/%s/cwd" % pid)
            with open("/proc/%s/cmdline" % pid, "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if cwd.startswith(workdir) or workdir in cmdline:
            found.append((pid, cmdline))
    return found


def _start_demo(workdir, *args):
    """``python -m demo`` headless (no screen), its output on a pipe."""
    env = dict(os.environ, SDL_VIDEODRIVER="dummy")
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    return subprocess.Popen(
        [sys.executable, "-m", "demo", "--workdir", workdir, "--snapshot-every", "1"]
        + list(args), cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_for_snapshot(workdir, timeout=60):
    snapshot = os.path.join(workdir, "board.png")
    deadline = time.monotonic() + timeout
    while not os.path.exists(snapshot) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert os.path.exists(snapshot), "no snapshot within %d s" % timeout
    return snapshot


@pytest.mark.timeout(180)
def test_demo_runs_headless_changes_and_stops_cleanly(tmp_path):
    workdir = str(tmp_path / "demo")
    demo = _start_demo(workdir, "--pace", "0.3", "--seed", "7")
    try:
        first = demo.stdout.readline()
        match = re.search(r"Mosquitto on 127\.0\.0\.1:(\d+), (\d+) simulated wards", first)
        assert match, first
        port, wards = int(match.group(1)), int(match.group(2))
        assert wards == 10
        assert "no screen here" in demo.stdout.readline()
        snapshot = _wait_for_snapshot(workdir)
        seen = {_digest(snapshot)}
        deadline = time.monotonic() + 30
        while len(seen) < 3 and time.monotonic() < deadline:
            time.sleep(1)
            seen.add(_digest(snapshot))
        assert len(seen) >= 3, "the snapshot did not change"
        with open(snapshot, "rb") as handle:
            assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
        demo.send_signal(signal.SIGINT)
        output, _ = demo.communicate(timeout=60)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    assert demo.returncode == 0, output
    assert "stopped 10 wards, the board and the broker" in output
    assert _leftovers(workdir) == []
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0, "the broker is still listening"
    # every ward kept its ledger in the demo folder
    assert len(os.listdir(os.path.join(workdir, "state"))) == 10


@pytest.mark.timeout(120)
def test_a_demo_killed_outright_leaves_nothing_running(tmp_path):
    workdir = str(tmp_path / "demo")
    demo = _start_demo(workdir)
    try:
        port = int(re.search(r"127\.0\.0\.1:(\d+)", demo.stdout.readline()).group(1))
        _wait_for_snapshot(workdir)
    finally:
        demo.kill()                       # no chance to tidy up
        demo.wait()
    # the broker and the board die with it; the agents see their input end
    deadline = time.monotonic() + 30
    while _leftovers(workdir) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _leftovers(workdir) == []
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0, "the broker is still listening"
