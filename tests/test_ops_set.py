"""bedboard set: the bed manager's correction, answered by a real agent and seen on the broker.

The agent's side is the contract's SetReply on ``{p}/{h}/{d}/{w}/reply``
(docs/contract.md): the first two tests need an agent that sends it.
"""

import json
import re
import subprocess
import sys

from .ops_helpers import ROOT, bedboard, write_agent, write_display, write_operator

WARD = "nrs/icu/unit-1"
SET = "crs/nrs/icu/unit-1/set"
REPLY = "crs/nrs/icu/unit-1/reply"
REQUEST = r"set-\d{8}T\d{6}Z-[0-9a-f]{6}"


class RunningAgent:
    """A real ``bed-agent --simulate`` that keeps running until closed."""

    def __init__(self, config):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "agent", "--config", config, "--simulate"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, cwd=ROOT)

    def do(self, command):
        """Send one --simulate command; return its answer line."""
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.process.stdout.readline().strip()

    def close(self):
        """End its input: it delivers what is pending and exits; return its log."""
        if self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait(30)
        return self.process.stderr.read()


def test_a_correction_is_applied_answered_and_seen(tmp_path, mosquitto, probe):
    agent = RunningAgent(write_agent(tmp_path, "nrs-icu-unit-1", WARD, mosquitto.port))
    operator = write_operator(tmp_path, mosquitto.port)
    try:
        assert agent.do("press taken").startswith("accepted taken: occupied 6/20")
        result = bedboard("set", "--config", operator, WARD, "--occupied", "12",
                          "--blocked", "1", "--by", "Dr Sen", "--reason",
                          "count after the evening round")
        assert result.returncode == 0, result.stderr
        assert re.fullmatch(r"applied: nrs/icu/unit-1 now has 12 occupied, 1 blocked of "
                            r"20 beds \(7 vacant\), seq 2 — agent nrs-icu-unit-1, "
                            r"request (%s)\n" % REQUEST, result.stdout), result.stdout
        assert result.stderr == "", "the agent sent no SetReply: %s" % result.stderr
        request = result.stdout.split("request ")[1].strip()
        (sent,) = [json.loads(p) for p in probe.on(SET)]
        assert sent == {"occupied": 12, "blocked": 1, "by": "Dr Sen", "id": request,
                        "reason": "count after the evening round"}
        (reply,) = [json.loads(p) for p in probe.on(REPLY)]
        assert (reply["ok"], reply["id"], reply["seq"], reply["agent"]) == (
            True, request, 2, "nrs-icu-unit-1")
        # and the panel counts on from the corrected figure
        assert agent.do("press freed").startswith("accepted freed: occupied 11/20")
    finally:
        agent.close()


def test_the_agent_s_refusal_is_said_and_changes_nothing(tmp_path, mosquitto, probe):
    agent = RunningAgent(write_agent(tmp_path, "nrs-icu-unit-1", WARD, mosquitto.port))
    operator = write_operator(tmp_path, mosquitto.port)
    try:
        assert agent.do("press taken").startswith("accepted taken")
        result = bedboard("set", "--config", operator, WARD, "--occupied", "25",
                          "--by", "bed-manager", "--wait", "5")
        assert result.returncode == 1, result.stdout
        assert re.fullmatch(r"bedboard: refused by nrs-icu-unit-1: .*25.*20.* \(request "
                            r"%s\); nothing changed\n" % REQUEST, result.stderr), \
            result.stderr
        (reply,) = [json.loads(p) for p in probe.on(REPLY)]
        assert (reply["ok"], reply["seq"]) == (False, None) and reply["reason"]
        assert agent.do("press taken").startswith("accepted taken: occupied 7/20, vacant "
                                                  "13, seq 2")
    finally:
        agent.close()


def test_a_ward_the_broker_never_heard_of_is_refused_before_sending(tmp_path, mosquitto,
                                                                  probe):
    operator = write_operator(tmp_path, mosquitto.port)
    result = bedboard("set", "--config", operator, "nrs/icu/unit-9", "--occupied", "1",
                      "--by", "bed-manager")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == ("bedboard: refused before sending: the broker has no state "
                             "for ward nrs/icu/unit-9: no agent has reported it (check the "
                             "name: bedboard status lists the wards)\n")
    assert not [m for m in probe.messages if m.topic.endswith("/set")]


def test_an_offline_panel_is_refused_before_sending(tmp_path, mosquitto, probe):
    config = write_agent(tmp_path, "nrs-icu-unit-1", WARD, mosquitto.port)
    done = subprocess.run([sys.executable, "-m", "agent", "--config", config,
                           "--simulate"], input="press taken\n", text=True,
                          capture_output=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr       # it said offline as it ended
    result = bedboard("set", "--config", write_operator(tmp_path, mosquitto.port), WARD,
                      "--occupied", "3", "--by", "bed-manager")
    assert result.returncode == 1
    assert result.stderr == ("bedboard: refused before sending: ward nrs/icu/unit-1's "
                             "panel (agent nrs-icu-unit-1) is offline, and a correction "
                             "sent now would be lost; bring the panel back, then try "
                             "again\n")
    assert not probe.on(SET)


def test_silence_is_said(tmp_path, mosquitto, probe):
    # a ward whose agent is hung: its state and online are on the broker, no answer comes
    probe.publish("crs/nrs/icu/unit-1/state", json.dumps(
        {"v": 1, "capacity": 20, "occupied": 4, "seq": 9, "at": "2026-11-25T18:00:00Z",
         "agent": "nrs-icu-unit-1"}).encode(), retain=True)
    probe.publish("crs/device/nrs-icu-unit-1/status", b"online", retain=True)
    result = bedboard("set", "--config", write_operator(tmp_path, mosquitto.port), WARD,
                      "--occupied", "3", "--by", "bed-manager", "--wait", "1")
    assert result.returncode == 1
    assert re.fullmatch(r"bedboard: no answer from ward nrs/icu/unit-1's agent "
                        r"nrs-icu-unit-1 within 1 s: the correction may not have been "
                        r"applied \(request %s; bedboard status shows the ward\)\n"
                        % REQUEST, result.stderr), result.stderr
    assert len(probe.wait_topic(SET)) == 1


def test_usage_mistakes_exit_2_with_one_line_each(tmp_path, mosquitto):
    operator = write_operator(tmp_path, mosquitto.port)
    cases = [
        (["nrs/icu/unit-1", "--by", "x"],
         "bedboard set: give at least one of --occupied, --blocked, --capacity\n"),
        (["nrs/icu", "--occupied", "1", "--by", "x"],
         "nrs/icu: give the ward as HOSPITAL/DEPARTMENT/WARD, e.g. nrs/medicine/female-2\n"),
        (["nrs/ICU/unit-1", "--occupied", "1", "--by", "x"],
         "nrs/ICU/unit-1: department must match ^[a-z0-9][a-z0-9-]{0,31}$, got 'ICU'\n"),
        (["nrs/icu/unit-1", "--occupied", "5", "--capacity", "3", "--by", "x"],
         "bedboard set: occupied + blocked must not exceed capacity, got 5 + 0 > 3\n"),
        (["nrs/icu/unit-1", "--occupied", "1", "--by", "x", "--reason", "two\nlines"],
         'bedboard set: reason must be one line of 1 to 200 characters, got "two\\nlines"\n'),
    ]
    for args, said in cases:
        result = bedboard("set", "--config", operator, *args)
        assert (result.returncode, result.stderr) == (2, said), args
    display = write_display(tmp_path, "nrs-lobby-1", mosquitto.port, None)
    result = bedboard("set", "--config", display, WARD, "--occupied", "1", "--by", "x")
    assert (result.returncode, result.stderr) == (
        2, "nrs-lobby-1.yaml:1: display: a display's config: bedboard set wants the "
           "operator's, whose account may send corrections\n")
    result = bedboard("set", "--config", operator, WARD, "--occupied", "-1", "--by", "x")
    assert result.returncode == 2 and "must not be negative" in result.stderr
