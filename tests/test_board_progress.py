"""A ward is live only on proof of progress (issue 15, findings 1, 2, 6, 10 and 12).

Each state goes through its real bytes (``to_json`` → ``WardState.parse``)
into the real Board, as the feed hands it over.  An agent of the new kind
sends ``boot``, ``beat`` and ``heartbeat``; a copy of one of its states (a
bridge's replay without the retain flag, a retained copy on the board's
reconnect, a broker's restored autosave) carries a (boot, beat) the board has
seen, and proves nothing.  Old agents (no boot) keep the retained rule.
"""

import dataclasses
from datetime import datetime, timezone

from bedboard.payloads import WardState
from bedboard.topics import WardKey
from display.board import Board, Reason
from display.config import Label, TileSpec

WALL = datetime(2026, 11, 25, 18, 0, tzinfo=timezone.utc)
KEY = WardKey("nrs", "medicine", "male")
AGENT = "nrs-medicine-male"
TILES = (TileSpec("nrs", "medicine", None, Label("Medicine")),)
BOOT, BOOT2 = "0123456789abcdef", "fedcba9876543210"
HEARTBEAT = 20          # the agents' period here: live for 25 s after progress


def state(seq=1, occupied=30, beat=1, boot=BOOT, capacity=40, **extra):
    made = WardState(capacity=capacity, occupied=occupied, seq=seq, at=WALL, agent=AGENT,
                     **extra)
    if boot is not None:
        made = dataclasses.replace(made, boot=boot, beat=beat, heartbeat=HEARTBEAT)
    return made


def arrive(made, sent, now, retained=False):
    """``sent`` as its bytes on the wire, received at ``now``."""
    return made.receive_state(KEY, WardState.parse(sent.to_json()), now, None, retained)


def board(now=0.0):
    made = Board("nrs", TILES, stale_after=180, now=now, retained_for=75)
    made.set_connected(True, now, WALL)
    return made


def tile(made, now):
    return made.view(now).tiles[0]


def test_progress_keeps_a_ward_live_for_its_heartbeat_and_no_longer():
    made = board()
    made.receive_status(AGENT, True, 0.5)
    arrive(made, state(beat=1), 1.0)
    assert tile(made, 2.0).live
    arrive(made, state(beat=2), 20.0)
    assert tile(made, 44.0).live
    assert not tile(made, 46.0).live          # 1.25 × 20 s after the last progress


def test_finding_1_a_bridge_replay_without_the_retain_flag_proves_nothing():
    made = board()
    made.receive_status(AGENT, True, 0.5)
    last = state(seq=3, beat=7)
    arrive(made, last, 1.0)                   # the agent's last words; it dies unseen
    assert not tile(made, 30.0).live
    arrive(made, last, 31.0, retained=False)  # the bridge reconnects: replays it live
    assert not tile(made, 32.0).live, "a replay made a dead ward live"
    # a panel whose will did fire: the replay must not flash it live either
    made.receive_status(AGENT, False, 33.0)
    arrive(made, last, 34.0, retained=False)
    assert not tile(made, 34.0).live


def test_finding_2_an_identical_copy_on_the_boards_reconnect_does_not_extend_life():
    made = board()
    made.receive_status(AGENT, True, 0.5)
    arrive(made, state(beat=4), 1.0)
    assert not tile(made, 100.0).live         # known silent
    made.set_connected(False, 100.0, WALL)
    made.set_connected(True, 100.5, WALL)     # the board's own link comes back
    made.receive_status(AGENT, True, 100.6, retained=True)
    arrive(made, state(beat=4), 100.6, retained=True)
    assert not tile(made, 101.0).live, "a stored copy brought a silent ward back live"


def test_finding_6_after_the_boards_reconnect_nothing_is_live_before_its_status():
    made = board()
    made.receive_status(AGENT, True, 0.5)
    arrive(made, state(beat=1), 1.0)
    made.set_connected(False, 5.0, WALL)      # while it is away the panel's will fires
    made.set_connected(True, 7.0, WALL)
    arrive(made, state(beat=1), 7.01, retained=True)   # the burst: the state first …
    assert not tile(made, 7.02).live, "pre-outage figures shown live before the statuses"
    made.receive_status(AGENT, False, 7.05, retained=True)   # … then the will's offline
    view = tile(made, 7.1)
    assert not view.live and view.reason is Reason.OFFLINE


def test_finding_6_a_live_agent_is_live_again_as_soon_as_its_status_comes():
    made = board()
    made.receive_status(AGENT, True, 0.5)
    arrive(made, state(beat=1), 1.0)
    made.set_connected(False, 5.0, WALL)
    made.set_connected(True, 7.0, WALL)
    arrive(made, state(beat=1), 7.01, retained=True)
    made.receive_status(AGENT, True, 7.05, retained=True)
    assert tile(made, 7.1).live               # within its heartbeat of its last progress
    made2 = board()
    made2.receive_status(AGENT, True, 0.5)
    arrive(made2, state(beat=1), 1.0)
    made2.set_connected(False, 5.0, WALL)
    made2.set_connected(True, 7.0, WALL)
    arrive(made2, state(beat=2), 7.01, retained=True)   # it beat while the board was away
    assert tile(made2, 7.02).live             # progress on the new connection: proof


def test_a_first_sighting_is_not_proof_until_the_agent_beats_again():
    made = Board("nrs", TILES, stale_after=180, now=0.0, retained_for=75)
    made.set_connected(True, 0.0, WALL)
    made.receive_status(AGENT, True, 0.1, retained=True)
    arrive(made, state(beat=9), 0.1, retained=True)     # the broker's copy at start-up
    view = tile(made, 0.5)
    assert not view.live and view.vacant == 10 and view.reason is Reason.CHECKING
    arrive(made, state(beat=10), 15.0)                   # its next heartbeat
    assert tile(made, 15.1).live


def test_a_restarted_agent_is_live_from_its_first_publication():
    made = board()
    made.receive_status(AGENT, True, 0.5)
    arrive(made, state(beat=40), 1.0)
    arrive(made, state(beat=41), 2.0)
    arrive(made, state(boot=BOOT2, beat=1), 30.0)        # a new process: beat 1, live
    assert tile(made, 30.1).live


def test_finding_10_a_legitimate_seq_restart_is_settled_by_the_bed_managers_set():
    made = board()
    made.receive_status(AGENT, True, 0.5)
    arrive(made, state(seq=500, occupied=30, beat=3), 1.0)
    # the agent starts again from nothing (seq 0) on a broker that lost its state
    arrive(made, state(seq=0, occupied=10, boot=BOOT2, beat=1), 10.0)
    view = tile(made, 10.1)
    assert not view.live and view.reason is Reason.RESET       # said, not hidden
    for beat in range(2, 6):                                    # heartbeats settle nothing
        arrive(made, state(seq=0, occupied=10, boot=BOOT2, beat=beat), 10.0 + beat)
    assert tile(made, 16.0).reason is Reason.RESET
    arrive(made, state(seq=1, occupied=28, boot=BOOT2, beat=6), 17.0)   # the set
    view = tile(made, 17.1)
    assert view.live and view.occupied == 28, view
    arrive(made, state(seq=2, occupied=29, boot=BOOT2, beat=7), 18.0)   # and it goes on
    assert tile(made, 18.1).occupied == 29 and tile(made, 18.1).live


def test_finding_10_a_panel_restored_from_an_old_unconfirmed_copy_stays_reset():
    made = board()
    made.receive_status(AGENT, True, 0.5)
    arrive(made, state(seq=500, occupied=30, beat=3), 1.0)
    arrive(made, state(seq=400, occupied=10, boot=BOOT2, beat=1, unconfirmed=True), 10.0)
    arrive(made, state(seq=401, occupied=11, boot=BOOT2, beat=2, unconfirmed=True), 11.0)
    assert tile(made, 11.1).reason is Reason.RESET      # a press on an unconfirmed count


def test_finding_12_a_dead_panels_old_autosave_is_not_a_panel_reset():
    made = board()
    made.receive_status(AGENT, True, 0.5)
    arrive(made, state(seq=8, occupied=28, beat=8), 1.0)
    arrive(made, state(seq=10, occupied=30, beat=10), 2.0)   # then the panel dies
    made.set_connected(False, 5.0, WALL)     # the broker restarts from an older autosave
    made.set_connected(True, 9.0, WALL)
    made.receive_status(AGENT, True, 9.01, retained=True)
    arrive(made, state(seq=8, occupied=28, beat=8), 9.01, retained=True)
    view = tile(made, 60.0)
    assert not view.live and view.reason is not Reason.RESET, view.reason
    assert view.reason is Reason.SILENT and view.occupied == 30


def test_finding_12_an_old_agents_older_retained_copy_is_not_a_panel_reset_either():
    made = board()
    made.receive_status(AGENT, True, 0.5)
    arrive(made, state(seq=10, boot=None), 1.0)
    made.set_connected(False, 5.0, WALL)
    made.set_connected(True, 9.0, WALL)
    made.receive_status(AGENT, True, 9.01, retained=True)
    arrive(made, state(seq=8, occupied=28, boot=None), 9.01, retained=True)
    view = tile(made, 9.5)
    assert not view.live and view.reason is not Reason.RESET, view.reason
    arrive(made, state(seq=8, occupied=28, boot=None), 9.6, retained=False)   # a live lower seq
    assert tile(made, 9.7).reason is Reason.RESET       # that one is a reset, as before


def test_an_old_agent_is_judged_as_before():
    made = board()
    made.receive_status(AGENT, True, 0.1, retained=True)
    arrive(made, state(boot=None), 0.1, retained=True)
    assert tile(made, 1.0).live and not tile(made, 76.0).live   # retained: 75 s
    arrive(made, state(boot=None), 80.0)
    assert tile(made, 250.0).live and not tile(made, 261.0).live   # live: stale_after


def test_a_real_agent_proves_its_ward_live_by_its_next_beat(tmp_path, mosquitto):
    """The real agent and the real board: a board that starts after the agent sees
    its broker's copy first (checking, not live), then its heartbeat (live)."""
    import time as clock
    from dataclasses import replace as changed

    from display import config as board_config
    from display.app import BoardApp

    from .agent_helpers import RunningAgent, write_config as agent_config
    from .test_display_app import write_config as display_config

    text = """\
        display: {id: progress-lobby, size: [1280, 720], burn_in: {pixels: 0}}
        broker: {host: 127.0.0.1, port: 1883}
        board:
          hospital: nrs
          tiles:
            - {department: medicine, wards: [female-2], label: {en: Medicine}}
        """
    settings = board_config.read(display_config(tmp_path, text))
    settings = changed(settings, broker=changed(settings.broker, host=mosquitto.host,
                                                port=mosquitto.port))
    with RunningAgent(agent_config(tmp_path, mosquitto.port), heartbeat=2.0) as running:
        running.wait_checked()
        clock.sleep(0.5)
        app = BoardApp(settings)
        app.link.start()
        try:
            views = []
            deadline = clock.monotonic() + 8
            while clock.monotonic() < deadline:
                app.update()
                views.append(app.board.view(clock.monotonic()).tiles[0])
                if views[-1].live:
                    break
                clock.sleep(0.02)
        finally:
            app.link.stop()
            app.close()
    seen = [view for view in views if view.vacant is not None]
    assert seen and not seen[0].live and seen[0].reason is Reason.CHECKING, seen[:1]
    assert views[-1].live and views[-1].vacant == 30, views[-1]


def test_finding_10_with_a_real_agent_restarted_from_nothing_and_a_bed_managers_set(
        tmp_path, mosquitto, probe):
    """The agent's ledger is lost and its broker lost the ward's state: it starts
    again at seq 0 from its config.  The board says panel reset, and the bed
    manager's set settles it (before issue 15: not until the board restarted)."""
    import json
    import shutil
    import time as clock
    from dataclasses import replace as changed

    from display import config as board_config
    from display.app import BoardApp

    from .agent_helpers import SET, RunningAgent, wait_state
    from .agent_helpers import write_config as agent_config
    from .display_helpers import Publisher
    from .test_display_app import write_config as display_config

    text = """\
        display: {id: restart-lobby, size: [1280, 720], burn_in: {pixels: 0}}
        broker: {host: 127.0.0.1, port: 1883}
        board:
          hospital: nrs
          tiles:
            - {department: medicine, wards: [female-2], label: {en: Medicine}}
        """
    settings = board_config.read(display_config(tmp_path, text))
    settings = changed(settings, broker=changed(settings.broker, host=mosquitto.host,
                                                port=mosquitto.port))
    app = BoardApp(settings)
    app.link.start()

    def tile():
        app.update()
        return app.board.view(clock.monotonic()).tiles[0]

    def wait_tile(check, what, timeout=15):
        deadline = clock.monotonic() + timeout
        while not check(tile()):
            assert clock.monotonic() < deadline, "%s: %s" % (what, tile())
            clock.sleep(0.05)

    try:
        assert app.link.wait_connected(10)
        config = agent_config(tmp_path, mosquitto.port, capacity=40, occupied=10)
        with RunningAgent(config, heartbeat=2.0) as running:
            running.wait_checked()
            for _ in range(3):
                running.press("taken")
            wait_state(probe, 3)
            wait_tile(lambda t: t.live and t.occupied == 13, "live at seq 3")
        shutil.rmtree(str(tmp_path / "state"))              # the ledger is lost …
        mosquitto.restart()                                  # … and the broker's state
        assert app.link.wait_connected(10)
        with RunningAgent(config, heartbeat=2.0) as running:
            running.wait_checked()                           # seq 0, from its config
            assert running.agent.ledger.seq == 0
            wait_tile(lambda t: not t.live and t.reason is Reason.RESET,
                      "said as a panel reset")
            clock.sleep(3.0)                                 # its heartbeats settle nothing
            assert tile().reason is Reason.RESET and not tile().live
            with Publisher(mosquitto.host, mosquitto.port) as manager:
                manager.publish(SET, json.dumps({"occupied": 25, "by": "bed manager"})
                                .encode())
            wait_tile(lambda t: t.live and t.occupied == 25, "the set made it live")
    finally:
        app.link.stop()
        app.close()
