"""Every input path survives anything: hostile bytes on every topic and in every file a program reads.

Each program is fed what an attacker with a broker account (or a careless
edit) can put in front of it — deeply nested JSON, huge payloads, invalid
UTF-8, wrong types, YAML alias bombs — and must drop it, say so, and still
do its job afterwards: the agent still counts and answers a correction, the
readers of configs still name file, line and key.
"""

import json
import os
import resource
import subprocess
import sys
import time

from agent.commands import read_set, request_id
from bedboard.link import Received
from bedboard.payloads import SetReply

from .agent_helpers import REPLY, ROOT, RunningAgent, set_command, wait_state, write_config


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


# -- config files: YAML that explodes, nests or weighs too much -----------------

def _bedboard_check_bounded(path, seconds=60, memory=1 << 30):
    """``bedboard check PATH`` with its memory capped (a bomb must not take the machine)."""
    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    return subprocess.run([sys.executable, "-m", "ops", "check", str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=seconds, preexec_fn=cap)


def _alias_bomb(levels=9, width=9):
    lines = ['a0: &a0 ["lol"]']
    for level in range(1, levels + 1):
        lines.append("a%d: &a%d [%s]" % (level, level,
                                           ", ".join(["*a%d" % (level - 1)] * width)))
    return lines, "*a%d" % levels


def test_a_yaml_alias_bomb_is_a_config_error_not_a_hang(tmp_path):
    # finding 6: bedboard check ran past 60 s and 1.5 GB (the error repr()'d the expansion)
    lines, top = _alias_bomb()
    path = tmp_path / "board.yaml"
    path.write_text("\n".join(["x:"] + ["  " + line for line in lines]
                              + ["display:", "  id: nrs-lobby-1", "  rotate: %s" % top,
                                 "board: {hospital: nrs}"]) + "\n")
    result = _bedboard_check_bounded(path)
    assert result.returncode == 2, result.stderr[-500:]
    assert result.stderr.startswith("board.yaml:"), result.stderr[:300]
    assert "alias" in result.stderr and len(result.stderr) < 2000, result.stderr[:300]


def test_a_value_that_is_too_big_to_show_is_shown_short(tmp_path):
    # no aliases, but a wrong value of 20,000 items: the message stays one short line
    path = tmp_path / "board.yaml"
    path.write_text("display:\n  id: nrs-lobby-1\n  rotate: [%s]\nboard: {hospital: nrs}\n"
                    % ", ".join(["[1, 2, 3]"] * 20_000))
    result = _bedboard_check_bounded(path)
    assert result.returncode == 2, result.stderr[-500:]
    (line,) = [x for x in result.stderr.splitlines() if "display.rotate" in x]
    assert line.startswith("board.yaml:3: display.rotate: must be one of") and len(line) < 200


def test_deep_nesting_huge_files_and_bad_bytes_are_config_errors(tmp_path):
    cases = {
        "deep.yaml": ("broker: " + "[" * 20_000 + "]" * 20_000 + "\n").encode(),
        "deepmap.yaml": ("broker: " + "{a: " * 20_000 + "1" + "}" * 20_000 + "\n").encode(),
        "huge.yaml": b"display: {id: nrs-lobby-1}\n# " + b"x" * (3 << 20) + b"\n",
        "latin1.yaml": b"display: {id: nrs-lobby-1, title: \xe9t\xe9}\nboard: {hospital: nrs}\n",
        "tags.yaml": b"display: !!python/object/apply:os.system ['true']\n",
        "list.yaml": b"- a\n- b\n",
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        result = _bedboard_check_bounded(path)
        assert result.returncode == 2, (name, result.stderr[-300:])
        assert result.stderr.startswith(name + ":"), (name, result.stderr[:300])
        assert "Traceback" not in result.stderr and len(result.stderr) < 2000, name
