"""Corrections carry who sent them and are applied once: per-operator accounts on a real broker.

A broker set up by ``bedboard broker-config --operator sister-das --operator
dr-roy`` (the generated conf, ACL and passwords on a real Mosquitto), a real
agent, and ``bedboard set`` as each bed manager.
"""

import json
import logging
import time

from bedboard.mosquitto import free_port
from bedboard.payloads import SetReply

from .agent_helpers import RunningAgent
from .ops_helpers import (Login, bedboard, read_secret, start_generated_broker,
                          write_agent, write_operator)

AGENT, WARD = "nrs-icu-unit-1", "nrs/icu/unit-1"
SET, REPLY = "crs/nrs/icu/unit-1/set", "crs/nrs/icu/unit-1/reply"


def _replies(login, request):
    return [SetReply.parse(p) for p in login.on(REPLY)
            if SetReply.parse(p).id == request]


def test_the_agent_records_who_corrected_and_refuses_a_replay(tmp_path, caplog):
    # finding 7: "by" was free text on one shared account, and a replayed id applied again
    caplog.set_level(logging.INFO, logger="agent")
    port = free_port()
    devices, out = tmp_path / "devices", tmp_path / "out"
    devices.mkdir()
    config = write_agent(devices, AGENT, WARD, port, secrets=out / "secrets",
                         capacity=20, occupied=5)
    made = bedboard("broker-config", devices, "--out", out, "--plain-port", port,
                    "--include-dir", "none", "--data-dir", tmp_path, "--etc", out,
                    "--operator", "sister-das", "--operator", "dr-roy")
    assert made.returncode == 0, made.stderr
    (tmp_path / "das").mkdir()
    das = write_operator(tmp_path / "das", port, secrets=out / "secrets",
                         name="sister-das")
    broker = start_generated_broker(out, port, tmp_path / "broker")
    logins = []
    try:
        roy = Login(port, "dr-roy", read_secret(out, "dr-roy"))
        logins.append(roy)
        roy.subscribe("crs/#")
        with RunningAgent(config) as running:
            running.wait_checked()
            result = bedboard("set", "--config", das, WARD, "--occupied", "9",
                              "--by", "Sister Das", "--reason", "evening round")
            assert result.returncode == 0, result.stderr
            request = result.stdout.split("request ")[1].strip()
            # it went out on sister-das's own topic, which only her account may write
            ((topic, sent, _),) = [m for m in roy.received if m[0].startswith(SET)]
            assert topic == SET + "/sister-das"
            applied = running.agent.ledger.applied(request)
            assert applied[:3] == (1, "sister-das", "Sister Das"), applied
            assert "applied a set command by sister-das (as Sister Das) (reason: evening " \
                   "round) [id %s]" % request in caplog.text
            # the same command again, by the same account: refused, nothing changes
            das_login = Login(port, "sister-das", read_secret(out, "sister-das"))
            logins.append(das_login)
            das_login.publish(topic, sent)
            deadline = time.monotonic() + 10
            while len(_replies(roy, request)) < 2:
                assert time.monotonic() < deadline, "no answer to the replay"
                time.sleep(0.05)
            first, again = _replies(roy, request)
            assert first.ok and not again.ok
            assert again.reason.startswith("request %s was already applied (seq 1, by "
                                           "sister-das at " % request), again.reason
            # another bed manager cannot send in her name, nor unattributed
            forged = json.loads(sent)
            forged.update(id="forged-1", occupied=3)
            roy.publish(SET + "/sister-das", json.dumps(forged).encode())
            forged.update(id="forged-2")
            roy.publish(SET, json.dumps(forged).encode())
            time.sleep(0.5)
            assert not _replies(roy, "forged-1") and not _replies(roy, "forged-2")
            assert running.agent.ledger.counts.occupied == 9
            assert running.agent.ledger.seq == 1
    finally:
        for login in logins:
            login.close()
        broker.close()


def test_applied_request_ids_are_kept_bounded_and_an_older_ledger_gains_them(
        tmp_path, monkeypatch):
    from agent import ledger as ledgers, ward
    from agent.ward import WardCounts
    from bedboard.topics import WardKey
    key = WardKey("nrs", "icu", "unit-1")
    at = ledgers.parse_at("2026-11-25T18:00:00Z")
    ledger = ledgers.Ledger.create(str(tmp_path), key, AGENT, WardCounts(40, 10), 0, at,
                                   40, "config")
    monkeypatch.setattr(ledgers, "KEEP_REQUESTS", 5)
    for number in range(8):
        ledger.record(ward.press(ledger.counts, "taken"), AGENT, at,
                      request=("r-%d" % number, "sister-das", None))
    assert ledger.applied("r-0") is None and ledger.applied("r-2") is None
    assert ledger.applied("r-7")[:2] == (8, "sister-das")
    assert [ledger.applied("r-%d" % n) is not None for n in range(8)].count(True) == 5
    # a version 2 ledger (no applied table) is brought up to date when opened
    ledger._db.execute("DROP TABLE applied")
    ledger._db.execute("PRAGMA user_version = 2")
    ledger.close()
    again = ledgers.Ledger.open(str(tmp_path), key)
    assert again.applied("r-7") is None and again.seq == 8
    again.record(ward.press(again.counts, "freed"), AGENT, at, request=("r-9", None, "x"))
    assert again.applied("r-9")[:3] == (9, None, "x")
    again.close()
