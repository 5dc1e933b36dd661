"""Holds for referrals and count checks on a running agent: mock pins, a real Mosquitto.

docs/contract.md, "Checks and holds": the panel's ``held``, ``released``,
``arrived`` and ``checked`` buttons, a hold that expires by itself (once,
across a restart), a bed manager's set counted as a check, and the status
LED asking for the check when it is due.
"""

import time

from agent.events import Accepted, Refused
from bedboard.payloads import WardState

from .agent_helpers import (PINS, STATE, RunningAgent, events, set_command, states,
                            wait_events, wait_state, write_config)

HOLD_PINS = {"held": 5, "released": 6, "arrived": 13, "checked": 19}
INPUTS = "\n".join("  - {name: %s, kind: %s, pin: %d}" % (kind, kind, pin)
                   for kind, pin in list(PINS.items()) + list(HOLD_PINS.items()))
LED = "outputs:\n  status_led: {pin: 26}\n"


def config(tmp_path, port, **kw):
    return write_config(tmp_path, port, capacity=6, occupied=3, inputs=INPUTS, **kw)


def test_a_bed_held_from_the_panel_is_not_vacant_and_is_taken_when_the_patient_comes(
        tmp_path, mosquitto, probe):
    with RunningAgent(config(tmp_path, mosquitto.port)) as running:
        running.wait_ready()
        first = wait_state(probe, 0)
        assert (first.held, first.checked, first.vacant) == (0, None, 3)
        outcome = running.press("held")
        assert outcome.describe() == "accepted held: occupied 3/6, vacant 2, held 1, seq 1"
        state = wait_state(probe, 1)
        assert (state.blocked, state.held, state.vacant) == (1, 1, 2)
        (hold,) = state.holds
        assert hold.id.startswith("panel-") and hold.beds == 1 and hold.for_whom is None
        assert 7190 <= hold.left <= 7200            # hold_minutes: 120 by default
        assert running.press("arrived").describe() == (
            "accepted arrived: occupied 4/6, vacant 2, seq 2")
        state = wait_state(probe, 2)
        assert (state.occupied, state.blocked, state.held, state.holds) == (4, 0, 0, ())
        refused = running.press("released")
        assert isinstance(refused, Refused)
        assert refused.reason == "no bed is held for a referral"
        running.press("held")
        running.press("held")
        assert running.press("released").describe() == (
            "accepted released: occupied 4/6, vacant 1, held 1, seq 5")
        running.press("taken")
        refused = running.press("taken")
        assert refused.reason == ("no vacant bed to take (1 held for a referral: press "
                                  "arrived when its patient comes)")
        assert running.press("held").reason == ("cannot hold 1 bed for a referral: only "
                                                "0 vacant")
        kinds = [event.kind for event in wait_events(probe, 6)]
        assert kinds == ["held", "arrived", "held", "held", "released", "taken"]


def test_a_hold_expires_by_itself_once_across_a_restart(tmp_path, mosquitto, probe):
    path = config(tmp_path, mosquitto.port)
    with RunningAgent(path, hold_minutes=0.05) as running:     # 3 s
        running.wait_ready()
        assert isinstance(running.press("held"), Accepted)
        wait_state(probe, 1)
    time.sleep(1.0)
    with RunningAgent(path, hold_minutes=0.05) as running:
        running.wait_checked()
        outcome = running.outcome("clock", timeout=10)
        assert outcome.describe() == "accepted clock: occupied 3/6, vacant 3, seq 2"
        state = wait_state(probe, 2)
        assert (state.held, state.blocked, state.vacant) == (0, 0, 3)
        running.wait_delivered()
    with RunningAgent(path, hold_minutes=0.05) as running:
        running.wait_checked()
        time.sleep(1.5)
        assert running.agent.ledger.seq == 2
    expired = [event for event in events(probe) if event.kind == "expired"]
    assert len(expired) == 1 and expired[0].seq == 2 and expired[0].hold.startswith("panel-")


def test_a_check_is_a_change_and_a_set_counts_as_one(tmp_path, mosquitto, probe):
    with RunningAgent(config(tmp_path, mosquitto.port)) as running:
        running.wait_ready()
        wait_state(probe, 0)
        assert running.press("checked").describe() == (
            "accepted checked: occupied 3/6, vacant 3, seq 1")
        state = wait_state(probe, 1)
        assert state.checked is not None and state.checked_age in (0, 1)
        (event,) = wait_events(probe, 1)
        assert event.kind == "checked" and event.occupied == 3
        time.sleep(1.2)
        set_command(probe, {"occupied": 2, "by": "bed-manager"})
        state = wait_state(probe, 2)
        assert state.occupied == 2 and state.checked >= wait_state(probe, 1).checked
        assert state.checked_age == 0


def test_the_led_asks_for_the_check_when_it_is_due(tmp_path, mosquitto, probe):
    path = config(tmp_path, mosquitto.port, extra=LED)
    with RunningAgent(path, check_within=1.5) as running:
        running.wait_ready()
        wait_state(probe, 0)
        led = running.agent.panel.status_led
        deadline = time.monotonic() + 5
        while led.mode != "ask":          # never checked: due at once
            assert time.monotonic() < deadline, led.mode
            time.sleep(0.05)
        running.press("checked")
        running.wait_delivered()
        deadline = time.monotonic() + 3
        while led.mode != "steady":
            assert time.monotonic() < deadline, led.mode
            time.sleep(0.05)
        time.sleep(1.6)
        deadline = time.monotonic() + 3
        while led.mode != "ask":          # past check_within: asked again
            assert time.monotonic() < deadline, led.mode
            time.sleep(0.05)


def test_a_referral_desks_hold_and_release_commands(tmp_path, mosquitto, probe):
    with RunningAgent(config(tmp_path, mosquitto.port)) as running:
        running.wait_ready()
        wait_state(probe, 0)
        set_command(probe, {"id": "hold-1", "by": "desk",
                            "hold": {"for": "Bankura SMC, ref 1234", "minutes": 90,
                                     "beds": 2}})
        state = wait_state(probe, 1)
        assert (state.held, state.blocked, state.vacant) == (2, 2, 1)
        assert [(h.id, h.beds, h.for_whom) for h in state.holds] == [
            ("hold-1", 2, "Bankura SMC, ref 1234")]
        assert 5390 <= state.holds[0].left <= 5400
        set_command(probe, {"id": "hold-2", "hold": {"for": "Purulia DH", "beds": 2}})
        set_command(probe, {"id": "rel-1", "release": {"hold": "nope"}})
        set_command(probe, {"id": "rel-2", "release": {"hold": "hold-1", "arrived": True}})
        state = wait_state(probe, 2)
        assert (state.occupied, state.held, state.holds[0].beds) == (4, 1, 1)
        assert [s.seq for s in states(probe)][-1] == 2
        assert running.agent.ledger.state("x").held == 1
        stored = [WardState.parse(m.payload) for m in probe.messages if m.topic == STATE]
        assert all(s.vacant == s.capacity - s.occupied - s.blocked for s in stored)
