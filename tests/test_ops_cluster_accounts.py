"""The contract's ACL on the state tier: ``bedboard cluster-config`` on a real 3-node NATS cluster.

Finding 4 of the security review: the NATS state tier had no users or
permissions at all, so "who may write what" did not hold there.  Here the
cluster runs the generated ``accounts.conf``; a real agent counts and
delivers through it, and every other account's write to that ward is
refused.
"""

import json
import os
import subprocess
import sys
import time

import pytest

from bedboard.natscluster import PrivateNatsCluster
from bedboard.payloads import WardState

from .cluster_helpers import hosts_yaml
from .display_helpers import display_env
from .ops_helpers import ROOT, Login, bedboard, read_secret, write_agent, write_display

pytestmark = pytest.mark.slow

STATE = "crs/nrs/icu/unit-1/state"


class AccountsCluster(PrivateNatsCluster):
    """The private cluster, every node including the generated accounts.conf."""

    def __init__(self, accounts, login, **kwargs):
        self.accounts, self.login = accounts, login
        super().__init__(**kwargs)

    def _write_config(self, node):
        super()._write_config(node)
        with open(node.config_path, "a", encoding="utf-8") as handle:
            # nats-server takes an include's path as relative to the including file
            handle.write("include %s\n" % json.dumps(os.path.relpath(
                self.accounts, os.path.dirname(node.config_path))))

    def _warm_up(self, timeout):
        # anonymous logins are refused now: warm up as the operator
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                login = Login(self.nodes[0].mqtt_port, *self.login)
            except (OSError, AssertionError):
                time.sleep(0.2)
                continue
            login.close()
            if login.accepted:
                return
            time.sleep(0.2)
        raise AssertionError("the cluster never let the operator in")


def _port(host):
    return int(host.rsplit(":", 1)[1])


def test_on_the_state_cluster_each_account_writes_only_its_own(tmp_path):
    devices, out = tmp_path / "devices", tmp_path / "out"
    devices.mkdir()
    agent = write_agent(devices, "nrs-icu-unit-1", "nrs/icu/unit-1", 1883,
                        secrets=out / "secrets", capacity=16, occupied=10)
    write_agent(devices, "nrs-icu-unit-2", "nrs/icu/unit-2", 1883, secrets=out / "secrets")
    write_agent(devices, "cmc-icu-unit-1", "cmc/icu/unit-1", 1883, secrets=out / "secrets")
    display = write_display(devices, "nrs-lobby-1", 1883, [("icu", ["unit-1"])],
                            secrets=out / "secrets")
    made = bedboard("cluster-config", devices, "--out", out, "--bridge", "nrs")
    assert made.returncode == 0, made.stderr
    assert "6 users (1 operator(s), 4 device(s), 1 bridge(s))" in made.stdout
    accounts = out / "accounts.conf"
    assert oct(os.stat(accounts).st_mode & 0o777) == "0o600"
    cluster = AccountsCluster(str(accounts), ("bed-manager", read_secret(out, "bed-manager")),
                              workdir=str(tmp_path / "nats")).start()
    logins = []
    try:
        def login(user, node=0, password=None):
            client = Login(cluster.nodes[node].mqtt_port, user,
                           password or read_secret(out, user))
            logins.append(client)
            return client
        manager = login("bed-manager", node=1)
        manager.subscribe("crs/#", qos=0)          # as bedboard's own programs do
        spy = login("nrs-icu-unit-2", node=2)
        spy.subscribe("$MQTT/sub/#", "$MQTT/#", "#", qos=0)
        # a real agent, listing every node, counts a press and delivers it (exit 0)
        text = open(agent).read().replace(
            "  host: 127.0.0.1\n  port: 1883\n", "  hosts: %s\n" % hosts_yaml(cluster.hosts()))
        with open(agent, "w", encoding="utf-8") as handle:
            handle.write(text)
        run = subprocess.run([sys.executable, "-m", "agent", "--config", agent, "--simulate"],
                             input="press taken\n", text=True, capture_output=True,
                             cwd=ROOT, timeout=90)
        assert run.returncode == 0, run.stderr[-2000:]
        assert WardState.parse(manager.wait_on(STATE, 30)[-1]).occupied == 11
        # a real board, logged in as itself, draws that ward from the cluster
        text = open(display).read().replace(
            "  host: 127.0.0.1\n  port: 1883\n", "  hosts: %s\n" % hosts_yaml(cluster.hosts()))
        with open(display, "w", encoding="utf-8") as handle:
            handle.write(text)
        board = subprocess.run([sys.executable, "-m", "display", "--config", display,
                                "--snapshot", str(tmp_path / "board.png"), "--wait", "20"],
                               text=True, capture_output=True, cwd=ROOT, timeout=90,
                               env=display_env())
        assert board.returncode == 0, board.stderr[-2000:]
        assert "every tile has data" in board.stderr, board.stderr[-2000:]
        # every other account's write to that ward is refused (acknowledged, dropped)
        forged = WardState.parse(manager.on(STATE)[-1]).to_dict()
        forged.update(occupied=0, seq=99)
        for user in ("nrs-icu-unit-2", "cmc-icu-unit-1", "nrs-lobby-1", "bed-manager"):
            login(user, node=2).publish(STATE, json.dumps(forged).encode(), retain=True)
        # the bridge of another hospital's broker may not speak for NRS either; NRS's may
        bridge = login("bridge-nrs", node=2)
        bridge.publish("crs/cmc/icu/unit-1/state", b"{}", retain=True)
        bridge.publish("crs/device/cmc-icu-unit-1/status", b"offline", retain=True)
        bridge.publish("crs/device/nrs-icu-unit-2/status", b"online", retain=True)
        manager.wait_on("crs/device/nrs-icu-unit-2/status")
        time.sleep(1.0)
        assert all(WardState.parse(p).seq != 99 for p in manager.on(STATE))
        assert manager.on("crs/cmc/icu/unit-1/state") == []
        assert manager.on("crs/device/cmc-icu-unit-1/status") == []
        # the lobby reads its tiles' department and its agent's status (what a board
        # subscribes to), and nothing wider: NATS refuses a wider subscription whole
        lobby = login("nrs-lobby-1", node=1)
        lobby.subscribe("crs/+/+/+/state", "crs/device/+/status", qos=0)
        time.sleep(1.0)
        assert lobby.received == []
        lobby.subscribe("crs/nrs/icu/+/state", "crs/device/nrs-icu-unit-1/status", qos=0)
        lobby.wait_on(STATE, 15)
        lobby.wait_on("crs/device/nrs-icu-unit-1/status", 15)
        assert sorted({t for t, _, _ in lobby.received}) == [
            "crs/device/nrs-icu-unit-1/status", STATE]
        # a QoS 1 subscription (a JetStream consumer, as a referral desk may make) works,
        # and what it is delivered reaches nobody else
        desk = login("bed-manager", node=0)
        desk.subscribe(STATE, qos=1)
        assert WardState.parse(desk.wait_on(STATE, 30)[-1]).occupied == 11
        assert spy.received == [], spy.received[:3]
        # nobody without a password; no wrong one
        assert not Login(cluster.nodes[0].mqtt_port).accepted
        assert not Login(cluster.nodes[0].mqtt_port, "nrs-icu-unit-1", "wrong").accepted
    finally:
        for client in logins:
            client.close()
        cluster.close()


def test_cluster_config_keeps_passwords_and_never_makes_new_ones_silently(tmp_path):
    devices, out = tmp_path / "devices", tmp_path / "out"
    devices.mkdir()
    write_agent(devices, "nrs-icu-unit-1", "nrs/icu/unit-1", 1883)
    first = bedboard("cluster-config", devices, "--out", out, "--operator", "sister-das")
    assert first.returncode == 0, first.stderr
    assert "2 new password(s) (sister-das, nrs-icu-unit-1)" in first.stdout
    kept = read_secret(out, "nrs-icu-unit-1")
    again = bedboard("cluster-config", devices, "--out", out, "--operator", "sister-das")
    assert again.returncode == 0 and "unchanged" in again.stdout
    assert read_secret(out, "nrs-icu-unit-1") == kept
    os.unlink(out / "secrets" / "nrs-icu-unit-1")
    lost = bedboard("cluster-config", devices, "--out", out, "--operator", "sister-das")
    assert lost.returncode == 2
    assert lost.stderr == (
        "%s names nrs-icu-unit-1, but its secrets/ file is gone: a new password now would "
        "lock it out. Restore secrets/, or give --rotate ID, or --new-secrets\n"
        % (out / "accounts.conf"))
    rotated = bedboard("cluster-config", devices, "--out", out, "--operator", "sister-das",
                       "--rotate", "nrs-icu-unit-1")
    assert rotated.returncode == 0, rotated.stderr
    assert 'password: "%s"' % read_secret(out, "nrs-icu-unit-1") in \
        (out / "accounts.conf").read_text()
