"""The frame log: a line per frame that says something new, from the view the renderer drew.

First on the pure model (a Board and a FrameLog, no screen), then end to end:
a real ``bed-display --frame-log`` on the dummy driver and a private
Mosquitto, whose log follows a ward's state as it changes and the broker as
it goes away.
"""

import json
import os
import signal
import subprocess
import textwrap
import time
from datetime import datetime, timezone

from bedboard.payloads import WardState
from bedboard.topics import WardKey
from display import framelog
from display.board import Board
from display.config import Label, TileSpec
from display.framelog import FrameLog

from .display_helpers import Publisher, display_command, display_env

MALE = WardKey("nrs", "medicine", "male")
ICU = WardKey("nrs", "icu", "unit-1")
TILES = (TileSpec("nrs", "medicine", ("male",), Label("Medicine")),
         TileSpec("nrs", "icu", None, Label("ICU")))
WALL = datetime(2026, 11, 25, 18, 0, tzinfo=timezone.utc)


def state(occupied, seq, capacity=10, blocked=0, agent="nrs-medicine-male"):
    return WardState(capacity=capacity, occupied=occupied, blocked=blocked, seq=seq,
                     at=WALL, agent=agent)


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, now=100.0):
        self.now = now

    def __call__(self):
        return self.now


def board_and_log(tmp_path, clock):
    board = Board("nrs", TILES, stale_after=180, now=clock())
    log = FrameLog(str(tmp_path / "frames.jsonl"), clock=clock).follow(board)
    return board, log


def test_a_frame_is_logged_with_each_tile_s_figures_and_flags(tmp_path):
    clock = Clock()
    board, log = board_and_log(tmp_path, clock)
    board.set_connected(True, clock())
    board.receive_status("nrs-medicine-male", True, clock())
    board.receive_state(MALE, state(7, 1, blocked=1), clock())
    board.view(clock())                  # what the renderer is handed
    assert log.shown() is True
    log.close()
    (line,) = framelog.read(log.path)
    assert line["t"] == 100.0 and line["frame"] == 1
    assert line["connected"] is True and line["total"] == 2
    medicine, icu = line["tiles"]
    assert medicine == {"tile": "nrs/medicine:male", "status": "few-left", "live": True,
                        "vacant": 2, "occupied": 7, "blocked": 1, "capacity": 10,
                        "missing": 0, "reason": None, "flags": []}
    assert icu["tile"] == "nrs/icu" and icu["status"] == "waiting"
    assert icu["vacant"] is None and icu["live"] is False


def test_a_frame_that_says_nothing_new_writes_nothing_and_is_still_counted(tmp_path):
    clock = Clock()
    board, log = board_and_log(tmp_path, clock)
    board.set_connected(True, clock())
    board.receive_status("nrs-medicine-male", True, clock())
    board.receive_state(MALE, state(7, 1), clock())
    board.view(clock())
    assert log.shown() is True
    clock.now += 1.0                     # a clock tick: the same tiles
    board.view(clock())
    assert log.shown() is False
    board.receive_state(MALE, state(8, 2), clock())
    board.view(clock())
    assert log.shown() is True
    log.close()
    lines = framelog.read(log.path)
    assert [line["frame"] for line in lines] == [1, 3]
    assert [line["tiles"][0]["vacant"] for line in lines] == [3, 2]
    assert log.frames == 3 and log.lines == 2


def test_a_lost_broker_is_flagged_on_every_tile_as_last_known(tmp_path):
    clock = Clock()
    board, log = board_and_log(tmp_path, clock)
    board.set_connected(True, clock())
    board.receive_status("nrs-medicine-male", True, clock())
    board.receive_state(MALE, state(7, 1), clock())
    board.view(clock())
    log.shown()
    clock.now += 2.0
    board.set_connected(False, clock())
    board.view(clock())
    log.shown(page=0)
    log.close()
    lost = framelog.read(log.path)[-1]
    assert lost["connected"] is False and lost["page"] == 0
    medicine = lost["tiles"][0]
    assert medicine["status"] == "last-known" and medicine["live"] is False
    assert medicine["flags"] == ["last-known", "broker-lost"]
    assert medicine["vacant"] == 3


def test_an_offline_panel_is_flagged_not_reporting_with_its_reason(tmp_path):
    clock = Clock()
    board, log = board_and_log(tmp_path, clock)
    board.set_connected(True, clock())
    board.receive_status("nrs-medicine-male", True, clock())
    board.receive_state(MALE, state(7, 1), clock())
    board.receive_status("nrs-medicine-male", False, clock())
    board.view(clock())
    log.shown()
    log.close()
    medicine = framelog.read(log.path)[-1]["tiles"][0]
    assert medicine["status"] == "not-reporting" and medicine["reason"] == "offline"
    assert medicine["flags"] == ["not-reporting", "offline"]


def test_a_torn_last_line_is_left_out_by_the_reader(tmp_path):
    path = tmp_path / "frames.jsonl"
    path.write_text('{"t": 1.0, "frame": 1, "tiles": []}\n{"t": 2.0, "fra')
    assert framelog.read(str(path)) == [{"t": 1.0, "frame": 1, "tiles": []}]


BOARD_YAML = """\
    display:
      id: framelog-lobby
      size: [640, 360]
      burn_in: {pixels: 0}
    broker: {host: 127.0.0.1, port: 1883}
    board:
      hospital: nrs
      tiles:
        - {department: medicine, wards: [male], label: {en: Medicine}}
    """


def wait_for_line(path, predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            for line in framelog.read(path):
                if predicate(line):
                    return line
        time.sleep(0.05)
    raise AssertionError("no frame in %s within %.0f s matched" % (path, timeout))


def test_the_running_board_logs_each_new_figure_and_the_lost_broker(mosquitto, tmp_path):
    config = tmp_path / "board.yaml"
    config.write_text(textwrap.dedent(BOARD_YAML))
    frames = str(tmp_path / "frames.jsonl")
    with Publisher(mosquitto.host, mosquitto.port) as publisher:
        publisher.status("nrs-medicine-male", True)
        publisher.state(MALE, state(4, 1))
        board = subprocess.Popen(  # pylint: disable=consider-using-with
            display_command(str(config), mosquitto, "--frame-log", frames),
            env=display_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            start_new_session=True)
        try:
            first = wait_for_line(frames, lambda f: f["tiles"][0]["vacant"] == 6
                                  and f["tiles"][0]["live"])
            published = time.monotonic()
            publisher.state(MALE, state(9, 2))
            second = wait_for_line(frames, lambda f: f["tiles"][0]["vacant"] == 1)
            assert second["t"] > published > first["t"]
            assert second["tiles"][0]["status"] == "few-left"
            mosquitto.kill()
            killed = time.monotonic()
            lost = wait_for_line(frames, lambda f: not f["connected"] and f["t"] > killed)
            assert lost["tiles"][0]["flags"] == ["last-known", "broker-lost"]
        finally:
            board.send_signal(signal.SIGTERM)
            _, err = board.communicate(timeout=20)
    assert board.returncode == 0, err
    lines = framelog.read(frames)
    assert [line["frame"] for line in lines] == sorted({line["frame"] for line in lines})
    assert all(json.dumps(line) for line in lines)


def test_a_frame_log_that_cannot_be_opened_is_a_one_line_error(mosquitto, tmp_path):
    config = tmp_path / "board.yaml"
    config.write_text(textwrap.dedent(BOARD_YAML))
    result = subprocess.run(
        display_command(str(config), mosquitto, "--frame-log",
                        str(tmp_path / "no-such-folder" / "frames.jsonl")),
        env=display_env(), capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith(
        "bed-display: cannot open the frame log ")


def test_a_snapshot_logs_the_frame_it_wrote(mosquitto, tmp_path):
    config = tmp_path / "board.yaml"
    config.write_text(textwrap.dedent(BOARD_YAML))
    frames = str(tmp_path / "frames.jsonl")
    with Publisher(mosquitto.host, mosquitto.port) as publisher:
        publisher.status("nrs-medicine-male", True)
        publisher.state(MALE, state(4, 1))
    result = subprocess.run(
        display_command(str(config), mosquitto, "--snapshot", str(tmp_path / "board.png"),
                        "--frame-log", frames),
        env=display_env(), capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    (line,) = framelog.read(frames)
    assert line["connected"] is True
    assert line["tiles"][0]["vacant"] == 6 and line["tiles"][0]["live"] is True
