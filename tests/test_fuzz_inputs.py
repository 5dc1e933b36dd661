"""Every input path survives anything: hostile bytes on every topic and in every file a program reads.

Each program is fed what an attacker with a broker account (or a careless
edit) can put in front of it — deeply nested JSON, huge payloads, invalid
UTF-8, wrong types, YAML alias bombs — and must drop it, say so, and still
do its job afterwards: the agent still counts and answers a correction, the
readers of configs still name file, line and key.
"""

import json
import time

from agent.commands import read_set, request_id
from bedboard.link import Received
from bedboard.payloads import SetReply

from .agent_helpers import REPLY, RunningAgent, set_command, wait_state, write_config


def _reply(probe, request, timeout=10):
    """The agent's SetReply to ``request``."""
    def found(messages):
        for message in messages:
            if message.topic == REPLY:
                answer = SetReply.parse(message.payload)
                if answer.id == request:
                    return answer
        return None
    return probe.wait_for(found, timeout)


def test_a_deeply_nested_set_does_not_kill_the_agent(tmp_path, mosquitto, probe):
    # finding 5: 4,000 "[" on the set topic raised RecursionError in request_id()
    config = write_config(tmp_path, mosquitto.port, capacity=40, occupied=10)
    with RunningAgent(config) as running:
        running.wait_checked()
        for bomb in (b"[" * 4000, b'{"id": ' + b"[" * 4000 + b"]" * 4000 + b"}",
                     b'{"a":' * 3000 + b"1" + b"}" * 3000):
            set_command(probe, bomb)
        set_command(probe, {"occupied": 12, "id": "after-the-bombs", "by": "Sister Das"})
        assert _reply(probe, "after-the-bombs").ok
        assert wait_state(probe, 1).occupied == 12
        assert running.press("taken").state.occupied == 13     # the loop still runs
        assert running._thread.is_alive()


def test_request_id_of_any_payload_is_an_id_or_none():
    for payload in (b"[" * 100_000, b"\xff" * 10, b'{"id": "ok-1"}' + b" " * 5000,
                    json.dumps({"id": ["x"] * 10}).encode(), b'{"id": "a/b"}'):
        assert request_id(payload) is None
    assert request_id(b'{"id": "set-1", "occupied": "x"}') == "set-1"
    reading = read_set(Received("crs/a/b/c/set", b"[" * 4000, False))
    assert reading.command is None and "not JSON" in reading.refusal
