"""Who a connection is: a session can be taken only by a login of its own account.

On a broker set up by ``bedboard broker-config`` (a real Mosquitto running
the generated bedboard.conf, ACL and passwords), with a real agent.
"""

import time

from bedboard.mosquitto import free_port

from .agent_helpers import RunningAgent
from .ops_helpers import (Login, bedboard, read_secret, start_generated_broker,
                          write_agent, write_display)

AGENT = "nrs-medicine-female"
STATUS = "crs/device/%s/status" % AGENT


def _hospital(tmp_path, *more):
    port = free_port()
    devices, out = tmp_path / "devices", tmp_path / "out"
    devices.mkdir()
    agent = write_agent(devices, AGENT, "nrs/medicine/female", port,
                        secrets=out / "secrets")
    write_display(devices, "nrs-lobby-1", port, [("medicine", None)],
                  secrets=out / "secrets")
    made = bedboard("broker-config", devices, "--out", out, "--plain-port", port,
                    "--include-dir", "none", "--data-dir", tmp_path, "--etc", out, *more)
    assert made.returncode == 0, made.stderr
    return port, out, agent


def test_another_account_cannot_knock_an_agent_off_with_its_client_id(tmp_path):
    # finding 1: logged in as the lobby board with the agent's client id, Mosquitto
    # closed the agent's session and its offline will fired
    port, out, config = _hospital(tmp_path)
    broker = start_generated_broker(out, port, tmp_path / "broker")
    logins = []
    try:
        watcher = Login(port, "bed-manager", read_secret(out, "bed-manager"))
        logins.append(watcher)
        watcher.subscribe(STATUS)
        with RunningAgent(config) as running:
            running.wait_checked()
            watcher.wait_on(STATUS)
            link = running.agent.link
            assert link.connected
            connected_since = link.changed_at
            for _ in range(5):
                rogue = Login(port, "nrs-lobby-1", read_secret(out, "nrs-lobby-1"),
                              client_id=AGENT)
                logins.append(rogue)
                assert rogue.accepted      # it may log in as itself, under its own name
                time.sleep(0.3)
            time.sleep(1.0)
            assert link.connected and link.changed_at == connected_since, (
                "the agent lost its connection to another account's login")
            assert b"offline" not in watcher.on(STATUS), watcher.on(STATUS)
            assert all(p == b"online" for p in watcher.on(STATUS))
        with open(broker.log_path, encoding="utf-8") as handle:
            log = handle.read()
        assert "Client %s already connected" % AGENT not in log
    finally:
        for login in logins:
            login.close()
        broker.close()


def test_each_operator_has_an_account_and_two_bed_managers_do_not_collide(tmp_path):
    port, out, _ = _hospital(tmp_path, "--operator", "sister-das", "--operator",
                             "dr-roy")
    broker = start_generated_broker(out, port, tmp_path / "broker")
    logins = []
    try:
        das = Login(port, "sister-das", read_secret(out, "sister-das"), client_id="x")
        roy = Login(port, "dr-roy", read_secret(out, "dr-roy"), client_id="x")
        logins += [das, roy]
        assert das.accepted and roy.accepted
        time.sleep(0.5)
        assert not das.lost.is_set() and not roy.lost.is_set()
        # one account, one connection: a second login of the same account takes it over
        again = Login(port, "sister-das", read_secret(out, "sister-das"))
        logins.append(again)
        assert das.lost.wait(5) and not roy.lost.is_set()
        assert read_secret(out, "sister-das") != read_secret(out, "dr-roy")
        assert not Login(port, "bed-manager", "x").accepted   # no shared account
    finally:
        for login in logins:
            login.close()
        broker.close()


def test_an_account_can_leave_at_most_one_persistent_session(tmp_path):
    # finding 9: any account could leave persistent sessions that queue messages —
    # one per client id it cared to make up; now the client id is the user name
    port, out, _ = _hospital(tmp_path)
    broker = start_generated_broker(out, port, tmp_path / "broker")
    secret = read_secret(out, "nrs-lobby-1")
    try:
        for made_up in ("one", "two", "three"):
            left = Login(port, "nrs-lobby-1", secret, client_id=made_up, clean_session=False)
            left.subscribe("crs/device/%s/status" % AGENT)
            left.close()
        sender = Login(port, AGENT, read_secret(out, AGENT))
        for _ in range(3):
            sender.publish("crs/device/%s/status" % AGENT, b"online")
        sender.close()
        back = Login(port, "nrs-lobby-1", secret, client_id="four", clean_session=False)
        time.sleep(0.5)
        back.close()
        # every made-up id was the same one session, resumed, with one queue
        assert back.session_present
        assert back.on("crs/device/%s/status" % AGENT) == [b"online"] * 3
        with open(broker.log_path, encoding="utf-8") as handle:
            log = handle.read()
        assert "as nrs-lobby-1 (p2, c0" in log and " as one (" not in log
        conf = (out / "bedboard.conf").read_text()
        assert "persistent_client_expiration 1h\n" in conf
        assert "max_queued_messages 10000\nmax_queued_bytes 16777216\n" in conf
    finally:
        broker.close()
