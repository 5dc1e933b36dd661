"""A department-wide tile never forgets a ward it has counted (issue 15, finding 5).

The board keeps the wards it has seen in ``display.state_dir``
(:mod:`display.memory`): after a restart, a ward whose agent died and whose
state the broker no longer holds is still counted — as not reporting — so
its tile says PART DATA, never a confident figure of the others.  Real
Mosquitto, the real board, files in a temporary folder.
"""

import json
import os
import textwrap
import time
from datetime import datetime, timezone

import pygame

from bedboard.mosquitto import PrivateBroker
from bedboard.payloads import WardState
from bedboard.topics import WardKey
from display import config
from display.app import BoardApp
from display.board import Board, Status
from display.config import Label, TileSpec
from display.memory import FILE_NAME, WardMemory

from .display_helpers import Publisher

A = WardKey("nrs", "paediatrics", "a")
B = WardKey("nrs", "paediatrics", "b")
TILES = (TileSpec("nrs", "paediatrics", None, Label("Paediatrics")),)
WALL = datetime(2026, 11, 25, 12, 30, tzinfo=timezone.utc)


def state(agent, occupied=10, seq=1):
    return WardState(capacity=30, occupied=occupied, seq=seq, at=WALL, agent=agent)


def started(memory, tiles=TILES, now=0.0):
    made = Board("nrs", tiles, now=now)
    made.recall(memory)
    made.set_connected(True, now, WALL)
    return made


def test_a_ward_seen_before_a_restart_is_counted_as_missing_after_it(tmp_path):
    memory = WardMemory(str(tmp_path))
    before = started(memory)
    before.receive_state(A, state("paediatrics-a"), 1.0)
    before.receive_state(B, state("paediatrics-b"), 1.0)
    assert memory.save()
    # the board restarts; the broker holds ward a's state only (b's agent is dead)
    after = started(WardMemory(str(tmp_path)), now=100.0)
    after.receive_state(A, state("paediatrics-a"), 101.0)
    view = after.view(102.0).tiles[0]
    assert (view.wards, view.missing, view.vacant) == (2, 1, 20)
    assert view.status is Status.PARTIAL and view.live
    assert after.view(102.0).wards_missing == 1


def test_a_board_with_no_tiles_configured_keeps_a_department_it_has_seen(tmp_path):
    memory = WardMemory(str(tmp_path))
    before = started(memory, tiles=None)
    before.receive_state(A, state("paediatrics-a"), 1.0)
    before.receive_state(WardKey("nrs", "icu", "unit-1"), state("icu-1"), 1.0)
    memory.save()
    after = started(WardMemory(str(tmp_path)), tiles=None, now=100.0)
    after.receive_state(A, state("paediatrics-a"), 101.0)
    names = [spec.department for spec in after.specs]
    assert names == ["icu", "paediatrics"]
    icu = after.view(400.0).tiles[0]
    assert icu.status is Status.NOT_REPORTING and icu.missing == 1


def test_a_retired_ward_is_forgotten(tmp_path):
    memory = WardMemory(str(tmp_path))
    made = started(memory)
    made.receive_state(A, state("paediatrics-a"), 1.0)
    made.receive_state(B, state("paediatrics-b"), 1.0)
    made.receive_retired(B, 2.0)
    memory.save()
    assert WardMemory(str(tmp_path)).wards() == [A]


def test_the_memory_is_bounded_written_whole_and_survives_a_bad_file(tmp_path):
    memory = WardMemory(str(tmp_path), limit=3)
    for ward in "abcde":
        memory.note(WardKey("nrs", "medicine", ward))
    assert len(memory) == 3
    assert memory.save() and not memory.dirty
    path = os.path.join(str(tmp_path), FILE_NAME)
    with open(path, encoding="utf-8") as handle:
        assert json.load(handle) == {"version": 1, "wards": [
            ["nrs", "medicine", "a"], ["nrs", "medicine", "b"], ["nrs", "medicine", "c"]],
            "retired": []}
    assert sorted(os.listdir(str(tmp_path))) == [FILE_NAME]     # no temporary left
    with open(path, "w", encoding="utf-8") as handle:
        handle.write('{"version": 1, "wards": [["nrs", "medicine"')      # torn
    assert WardMemory(str(tmp_path)).wards() == []
    assert os.path.exists(path + ".bad")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump({"version": 1, "wards": [["nrs", "medicine", "a"], ["NRS", "x", "y"],
                                           "junk"]}, handle)
    assert WardMemory(str(tmp_path)).wards() == [WardKey("nrs", "medicine", "a")]


def test_writes_wait_a_few_seconds_while_wards_come_and_go(tmp_path):
    memory = WardMemory(str(tmp_path))
    memory.note(A)
    assert memory.save_due(10.0)
    memory.note(B)
    assert not memory.save_due(11.0) and memory.dirty
    assert memory.save_due(15.0) and not memory.dirty


def test_an_unwritable_folder_is_logged_never_fatal(tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    memory = WardMemory(str(blocker / "state"))
    memory.note(A)
    assert not memory.save()
    assert "cannot keep the wards seen" in caplog.text


BOARD_YAML = """\
    display:
      id: test-lobby
      title: {en: "Test Hospital"}
      size: [1280, 720]
      burn_in: {pixels: 0}
      state_dir: %s
    broker: {host: 127.0.0.1, port: %d}
    board:
      hospital: nrs
      tiles:
        - {department: paediatrics, label: {en: Paediatrics}}
    """


def run_board(folder, broker, wait_for):
    """Start the real BoardApp on ``broker``; return the paediatrics tile once
    ``wait_for(tile)`` holds (or after 10 s); the app is closed after."""
    path = os.path.join(folder, "board.yaml")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(textwrap.dedent(BOARD_YAML % (os.path.join(folder, "state"),
                                                   broker.port)))
    app = BoardApp(config.read(path), clock_synced=lambda: True)
    app.link.start()
    try:
        deadline = time.monotonic() + 10
        tile = None
        while time.monotonic() < deadline:
            app.waker.wait(0.1)
            app.update()
            tile = app.board.view(time.monotonic()).tiles[0]
            if wait_for(tile):
                break
        app.draw(pygame.Surface((1280, 720)), full=True)
        return tile, app.renderer.report()
    finally:
        app.link.stop()
        app.close()


def test_the_real_board_remembers_a_dead_ward_across_its_restart(tmp_path):
    folder = str(tmp_path)
    with PrivateBroker(workdir=os.path.join(folder, "one")) as broker:
        with Publisher(broker.host, broker.port) as publisher:
            for key in (A, B):
                agent = "paediatrics-" + key.ward
                publisher.status(agent, True)
                publisher.state(key, state(agent))
        tile, _ = run_board(folder, broker,
                           lambda t: t.live and t.wards == 2 and not t.missing)
        assert tile.wards == 2 and tile.missing == 0
    # a new broker (no persistence) that only ward a's living agent has told
    with PrivateBroker(workdir=os.path.join(folder, "two")) as broker:
        with Publisher(broker.host, broker.port) as publisher:
            publisher.status("paediatrics-a", True)
            publisher.state(A, state("paediatrics-a"))
        tile, report = run_board(folder, broker, lambda t: t.live)
    assert tile.live and (tile.wards, tile.missing) == (2, 1), tile
    assert tile.status is Status.PARTIAL
    bar = [d.phrase for r in report if r.part == "tile" for d in r.texts if d.role == "state"]
    assert any("1 of 2 wards missing" in phrase for phrase in bar), bar


def test_recalling_the_most_wards_it_keeps_is_quick(tmp_path):
    # one by one through the board's door would be quadratic (20 s for 5,000 here):
    # the watchdog (30 s) must never be at risk at start
    memory = WardMemory(str(tmp_path))
    for number in range(5000):
        memory.note(WardKey("nrs", "medicine", "w%d" % number))
    memory.save()
    started_at = time.monotonic()
    made = started(WardMemory(str(tmp_path)), tiles=(TileSpec("nrs", "medicine", None,
                                                              Label("Medicine")),))
    view = made.view(1.0).tiles[0]
    assert time.monotonic() - started_at < 3.0
    assert view.wards == 5000 and view.status is Status.WAITING
