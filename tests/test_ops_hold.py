"""bedboard hold / release: the referral desk's holds, answered by a real agent on a real broker.

docs/contract.md, "Checks and holds".  Refusals: more beds than vacant (the
agent's), a ward nobody reported and an offline panel (before sending).
"""

import json
import re
import subprocess
import sys

from bedboard.payloads import WardState

from .ops_helpers import ROOT, bedboard, write_agent, write_operator
from .test_ops_set import RunningAgent

WARD = "nrs/icu/unit-1"
STATE = "crs/nrs/icu/unit-1/state"
REPLY = "crs/nrs/icu/unit-1/reply"
HOLD_ID = r"hold-\d{8}T\d{6}Z-[0-9a-f]{6}"


def last_state(probe):
    return WardState.parse([p for p in probe.on(STATE) if p][-1])


def test_a_hold_then_the_patient_arrives_then_a_release(tmp_path, mosquitto, probe):
    agent = RunningAgent(write_agent(tmp_path, "nrs-icu-unit-1", WARD, mosquitto.port,
                                     capacity=6, occupied=2))
    operator = write_operator(tmp_path, mosquitto.port)
    try:
        assert agent.do("press taken").startswith("accepted taken: occupied 3/6")
        result = bedboard("hold", "--config", operator, WARD, "--for",
                          "Bankura SMC, ref 1234", "--minutes", "90", "--by", "desk")
        assert result.returncode == 0, result.stderr
        assert re.fullmatch(
            r"held 1 bed for Bankura SMC, ref 1234 \(hold (%s)\), until \d\d:\d\d UTC "
            r"\(90 min\): nrs/icu/unit-1 now has 2 vacant, 1 held for a referral, 3 "
            r"occupied, 0 out of service of 6 beds, seq 2 — agent nrs-icu-unit-1, "
            r"request \1\n" % HOLD_ID, result.stdout), result.stdout
        hold_id = re.search(HOLD_ID, result.stdout).group(0)
        state = last_state(probe)
        assert (state.blocked, state.held, state.vacant) == (1, 1, 2)
        assert [(h.id, h.for_whom) for h in state.holds] == [(hold_id,
                                                              "Bankura SMC, ref 1234")]
        # the family in the lobby cannot have it: the panel's taken takes the others
        assert agent.do("press taken").startswith("accepted taken: occupied 4/6")
        assert agent.do("press taken").startswith("accepted taken: occupied 5/6")
        assert agent.do("press taken").startswith("refused taken: no vacant bed to take "
                                                  "(1 held for a referral")
        result = bedboard("release", "--config", operator, WARD, "--hold", hold_id,
                          "--arrived", "--by", "desk")
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("a held bed taken: the referred patient arrived: "
                                        "nrs/icu/unit-1 now has 0 vacant, 0 held for a "
                                        "referral, 6 occupied"), result.stdout
        assert agent.do("press freed").startswith("accepted freed: occupied 5/6")
        assert bedboard("hold", "--config", operator, WARD, "--for", "Purulia DH",
                        "--by", "desk").returncode == 0
        result = bedboard("release", "--config", operator, WARD, "--by", "desk")
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("released the hold expiring first: nrs/icu/unit-1 "
                                        "now has 1 vacant, 0 held"), result.stdout
    finally:
        log = agent.close()
    assert "held %s by " % hold_id in log and "for Bankura SMC, ref 1234" in log


def test_more_held_than_vacant_is_refused_by_the_agent(tmp_path, mosquitto, probe):
    agent = RunningAgent(write_agent(tmp_path, "nrs-icu-unit-1", WARD, mosquitto.port,
                                     capacity=6, occupied=4))
    operator = write_operator(tmp_path, mosquitto.port)
    try:
        assert agent.do("press taken").startswith("accepted taken: occupied 5/6")
        result = bedboard("hold", "--config", operator, WARD, "--for", "Bankura SMC",
                          "--beds", "2", "--by", "desk", "--wait", "5")
        assert result.returncode == 1, result.stdout
        assert re.fullmatch(r"bedboard: refused by nrs-icu-unit-1: cannot hold 2 beds for "
                            r"a referral: only 1 vacant \(request %s\); nothing changed\n"
                            % HOLD_ID, result.stderr), result.stderr
        result = bedboard("release", "--config", operator, WARD, "--hold", "hold-x",
                          "--by", "desk", "--wait", "5")
        assert result.returncode == 1
        assert "refused by nrs-icu-unit-1: no hold hold-x in this ward (holds: none)" \
            in result.stderr
        replies = [json.loads(p) for p in probe.on(REPLY)]
        assert [r["ok"] for r in replies] == [False, False]
        assert last_state(probe).held == 0 and last_state(probe).seq == 1
    finally:
        agent.close()


def test_an_unknown_ward_and_an_offline_panel_are_refused_before_sending(
        tmp_path, mosquitto, probe):
    operator = write_operator(tmp_path, mosquitto.port)
    result = bedboard("hold", "--config", operator, "nrs/icu/unit-9", "--for", "x",
                      "--by", "desk")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith("bedboard: refused before sending: the broker has no "
                                    "state for ward nrs/icu/unit-9")
    config = write_agent(tmp_path, "nrs-icu-unit-1", WARD, mosquitto.port)
    done = subprocess.run([sys.executable, "-m", "agent", "--config", config,
                           "--simulate"], input="press taken\n", text=True,
                          capture_output=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    for args in (["hold", "--for", "Bankura SMC"], ["release"]):
        result = bedboard(args[0], "--config", operator, WARD, *args[1:], "--by", "desk")
        assert result.returncode == 1
        assert result.stderr.startswith("bedboard: refused before sending: ward "
                                        "nrs/icu/unit-1's panel (agent nrs-icu-unit-1) "
                                        "is offline"), result.stderr
    assert not [m for m in probe.messages if "/set" in m.topic]


def test_a_hold_command_that_breaks_the_contract_is_a_usage_error(tmp_path, mosquitto):
    operator = write_operator(tmp_path, mosquitto.port)
    result = bedboard("hold", "--config", operator, WARD, "--for", "two\nlines")
    assert result.returncode == 2
    assert result.stderr == ("bedboard hold: a hold's for must be one line of 1 "
                             "to 64 characters, got \"two\\nlines\"\n")


def test_a_correction_keeps_the_holds_and_says_so(tmp_path, mosquitto, probe):
    agent = RunningAgent(write_agent(tmp_path, "nrs-icu-unit-1", WARD, mosquitto.port,
                                     capacity=6, occupied=2))
    operator = write_operator(tmp_path, mosquitto.port)
    try:
        assert agent.do("press taken").startswith("accepted taken")
        assert bedboard("hold", "--config", operator, WARD, "--for", "Bankura SMC",
                        "--beds", "2", "--by", "desk").returncode == 0
        result = bedboard("set", "--config", operator, WARD, "--blocked", "1", "--by",
                          "bed-manager")
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("applied: nrs/icu/unit-1 now has 3 occupied, 3 "
                                        "blocked (2 of them held for a referral) of 6 beds "
                                        "(0 vacant), seq 3"), result.stdout
        result = bedboard("set", "--config", operator, WARD, "--occupied", "4", "--by",
                          "bed-manager", "--wait", "5")
        assert result.returncode == 1
        assert "occupied + blocked + held must not exceed capacity, got 4 + 1 + 2 > 6" \
            in result.stderr
        assert last_state(probe).checked is not None     # a set is a check
    finally:
        agent.close()
