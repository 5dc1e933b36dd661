"""Progress on the wire (issue 15): boot, beat and heartbeat in every state an agent publishes.

A copy of a state — a bridge's replay, a retained copy, a broker's restored
autosave — carries a (boot, beat) its consumer has already seen; only a new
publication carries a higher beat.  Old agents send none of the three and
old boards ignore them (unknown keys).
"""

import json
from datetime import datetime, timezone

import pytest

from bedboard.errors import ContractError
from bedboard.payloads import WardState

from .agent_helpers import STATE, RunningAgent, wait_state, write_config

AT = datetime(2026, 11, 25, 18, 0, tzinfo=timezone.utc)


def test_a_state_with_progress_round_trips_and_without_it_is_as_before():
    new = WardState(capacity=40, occupied=31, seq=7, at=AT, agent="nrs-a-1",
                    boot="0123456789abcdef", beat=12, heartbeat=60)
    wire = json.loads(new.to_json())
    assert (wire["boot"], wire["beat"], wire["heartbeat"]) == ("0123456789abcdef", 12, 60)
    assert WardState.parse(new.to_json()) == new and new.progressive
    old = WardState(capacity=40, occupied=31, seq=7, at=AT, agent="nrs-a-1")
    assert set(json.loads(old.to_json())) == {"v", "capacity", "occupied", "blocked",
                                              "seq", "at", "agent"}
    assert not WardState.parse(old.to_json()).progressive


@pytest.mark.parametrize("extra, said", [
    ({"boot": "0123456789abcdef"}, "come together"),
    ({"boot": "XYZ12345", "beat": 1, "heartbeat": 60}, "boot must be"),
    ({"boot": "abc", "beat": 1, "heartbeat": 60}, "boot must be"),
    ({"boot": "0123456789abcdef", "beat": 0, "heartbeat": 60}, "beat must be"),
    ({"boot": "0123456789abcdef", "beat": 1, "heartbeat": 0}, "heartbeat must be"),
    ({"boot": "0123456789abcdef", "beat": 1, "heartbeat": 3601}, "heartbeat must be"),
])
def test_bad_progress_fields_are_refused(extra, said):
    payload = {"v": 1, "capacity": 4, "occupied": 1, "seq": 1,
               "at": "2026-11-25T18:00:00Z", "agent": "nrs-a-1", **extra}
    with pytest.raises(ContractError, match=said):
        WardState.parse(json.dumps(payload).encode())


def test_every_state_an_agent_publishes_carries_a_rising_beat_of_one_boot(
        tmp_path, mosquitto, probe):
    config = write_config(tmp_path, mosquitto.port)
    with RunningAgent(config) as running:
        running.wait_ready()
        wait_state(probe, 0)
        running.press("taken")
        wait_state(probe, 1)
        running.agent.publisher.heartbeat()          # a heartbeat's republish
        probe.wait_for(lambda ms: len([m for m in ms if m.topic == STATE]) >= 3)
        first_boot = running.agent.publisher.boot
    with RunningAgent(config) as running:            # the same agent, started again
        running.wait_ready()
        probe.wait_for(lambda ms: any(WardState.parse(m.payload).boot != first_boot
                                      for m in ms if m.topic == STATE))
    states = [WardState.parse(m.payload) for m in probe.messages if m.topic == STATE]
    assert all(s.progressive and s.heartbeat == 60 for s in states)
    mine = [s.beat for s in states if s.boot == first_boot]
    assert len(mine) >= 3 and mine == sorted(set(mine)), mine
    later = [s for s in states if s.boot != first_boot]
    assert later and later[0].beat == 1 and len(later[0].boot) == 16
