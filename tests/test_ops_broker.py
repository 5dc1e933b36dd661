"""bedboard broker-config: the broker's ACL, passwords and mosquitto.conf, on a real Mosquitto."""

import json
import os
import re
import subprocess
import time

from bedboard.mosquitto import free_port
from ops.passwd import hash_password, read_passwd, verify

from .ops_helpers import (ROOT, Login, bedboard, read_secret, start_generated_broker,
                          write_agent, write_display, write_operator)

ICU, HDU = "nrs/icu/unit-1", "nrs/hdu/unit-1"
SHIPPED_TLS = ["--tls-cert", "/etc/mosquitto/certs/server.crt",
               "--tls-key", "/etc/mosquitto/certs/server.key",
               "--tls-ca", "/etc/mosquitto/certs/ca.crt"]


def _generate(devices, out, port, *more):
    result = bedboard("broker-config", devices, "--out", out, "--plain-port", port,
                      "--include-dir", "none", "--data-dir", os.path.dirname(str(out)),
                      "--etc", out, *more)
    assert result.returncode == 0, result.stderr
    return result


def _state(seq, occupied=3, agent="nrs-icu-unit-1"):
    return json.dumps({"v": 1, "capacity": 10, "occupied": occupied, "seq": seq,
                       "at": "2026-11-25T18:00:00Z", "agent": agent}).encode()


def test_our_hash_is_the_one_mosquitto_passwd_makes(tmp_path):
    passwd = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(passwd), "alice", "s3cret"],
                   check=True, capture_output=True)
    theirs = read_passwd(str(passwd))["alice"]
    assert theirs.startswith("$7$101$")
    assert verify("s3cret", theirs) and not verify("s3cret!", theirs)
    ours = hash_password("s3cret", salt=b"0123456789ab")
    assert re.fullmatch(r"\$7\$101\$[A-Za-z0-9+/=]{16}\$[A-Za-z0-9+/=]{88}", ours)
    assert verify("s3cret", ours) and not verify("other", ours)
    # same password and salt as mosquitto_passwd: the same hash
    salt = __import__("base64").b64decode(theirs.split("$")[3])
    assert hash_password("s3cret", salt=salt) == theirs


def test_the_shipped_acl_and_conf_are_this_command_on_the_demo(tmp_path):
    result = bedboard("broker-config", os.path.join(ROOT, "config", "demo"),
                      "--out", tmp_path / "out", *SHIPPED_TLS)
    assert result.returncode == 0, result.stderr
    for made, shipped in (("acl", "hospital.acl"), ("bedboard.conf", "hospital.conf")):
        with open(tmp_path / "out" / made, encoding="utf-8") as handle:
            text = handle.read()
        with open(os.path.join(ROOT, "config", "mosquitto", shipped),
                  encoding="utf-8") as handle:
            assert handle.read() == text, (
                "config/mosquitto/%s is not the output of bedboard broker-config "
                "config/demo %s: run it again" % (shipped, " ".join(SHIPPED_TLS)))
    assert "52 agent(s)" in result.stdout and "3 display(s)" in result.stdout
    # the TLS files are the broker machine's: not here, and said so
    assert "--tls-cert /etc/mosquitto/certs/server.crt: not on this machine" in result.stderr


def test_a_second_run_keeps_every_password_and_rotate_replaces_one(tmp_path):
    devices = tmp_path / "devices"
    devices.mkdir()
    write_agent(devices, "nrs-icu-unit-1", ICU, 1883)
    write_display(devices, "nrs-lobby-1", 1883, [("icu", None)])
    out = tmp_path / "out"
    first = bedboard("broker-config", devices, "--out", out)
    assert first.returncode == 0, first.stderr
    assert "3 new password(s) (bed-manager, nrs-icu-unit-1, nrs-lobby-1)" in first.stdout
    assert sorted(os.listdir(out)) == ["acl", "bedboard.conf", "mosquitto.service.d",
                                       "passwd", "secrets"]
    assert oct(os.stat(out / "secrets").st_mode & 0o777) == "0o700"
    assert {oct(os.stat(out / "secrets" / name).st_mode & 0o777)
            for name in os.listdir(out / "secrets")} == {"0o600"}
    before = {name: (out / name).read_bytes() for name in ("acl", "passwd", "bedboard.conf")}
    secrets = {u: read_secret(out, u) for u in ("bed-manager", "nrs-icu-unit-1",
                                                "nrs-lobby-1")}
    again = bedboard("broker-config", devices, "--out", out)
    assert again.returncode == 0
    assert again.stdout.splitlines()[1].endswith("passwd: every password kept")
    assert {name: (out / name).read_bytes() for name in before} == before
    # a new device gets a new password; nobody else's changes
    write_agent(devices, "nrs-hdu-unit-1", HDU, 1883)
    assert bedboard("broker-config", devices, "--out", out).returncode == 0
    assert {u: read_secret(out, u) for u in secrets} == secrets
    entries = read_passwd(str(out / "passwd"))
    assert sorted(entries) == ["bed-manager", "nrs-hdu-unit-1", "nrs-icu-unit-1",
                               "nrs-lobby-1"]
    assert verify(read_secret(out, "nrs-hdu-unit-1"), entries["nrs-hdu-unit-1"])
    # --rotate replaces exactly one
    rotated = bedboard("broker-config", devices, "--out", out, "--rotate", "nrs-lobby-1")
    assert rotated.returncode == 0
    assert "1 new password(s) (nrs-lobby-1)" in rotated.stdout
    assert read_secret(out, "nrs-lobby-1") != secrets["nrs-lobby-1"]
    assert read_secret(out, "nrs-icu-unit-1") == secrets["nrs-icu-unit-1"]
    assert verify(read_secret(out, "nrs-lobby-1"),
                  read_passwd(str(out / "passwd"))["nrs-lobby-1"])
    unknown = bedboard("broker-config", devices, "--out", out, "--rotate", "nobody")
    assert (unknown.returncode, unknown.stderr) == (
        2, "--rotate nobody: no device or operator of that name in these configs\n")


def test_configs_that_disagree_are_each_named(tmp_path):
    devices = tmp_path / "devices"
    (devices / "more").mkdir(parents=True)
    write_agent(devices, "nrs-icu-unit-1", ICU, 1883)
    write_agent(devices / "more", "nrs-icu-unit-2", ICU, 1883)       # the same ward
    twin = write_agent(devices / "more", "nrs-hdu-unit-1", HDU, 1883)
    text = open(twin, encoding="utf-8").read()
    with open(devices / "more" / "twin.yaml", "w", encoding="utf-8") as handle:
        handle.write(text.replace("ward: unit-1", "ward: unit-2"))   # a duplicate id
    lobby = write_display(devices, "nrs-lobby-1", 1883, None)
    with open(lobby, "a", encoding="utf-8") as handle:
        handle.write("  prefix: other\n  username: lobby\n")
    far = write_display(devices / "more", "nrs-lobby-2", 1883, None)
    text = open(far, encoding="utf-8").read().replace("127.0.0.1", "10.20.0.10")
    with open(far, "w", encoding="utf-8") as handle:
        handle.write(text)
    result = bedboard("broker-config", devices, "--out", tmp_path / "out")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "nrs-lobby-1.yaml:7: broker.prefix: other differs from crs in "
        "nrs-icu-unit-1.yaml: every device of one broker uses one prefix",
        "nrs-lobby-1.yaml:8: broker.username: must be the device id nrs-lobby-1 (every "
        "device logs in as its id), got lobby",
        "nrs-icu-unit-2.yaml:5: agent.ward: ward nrs/icu/unit-1 is also counted by agent "
        "nrs-icu-unit-1 (nrs-icu-unit-1.yaml): two agents must not count one ward",
        "nrs-lobby-2.yaml:5: broker.host: 10.20.0.10 differs from 127.0.0.1 in "
        "nrs-icu-unit-1.yaml: these configs must name one broker",
        "nrs-lobby-2.yaml:5: broker.host: this device connects to 10.20.0.10:1883 "
        "without TLS, but plain MQTT listens on 127.0.0.1 only: give the device tls: "
        "(port 8883), or open plain MQTT to the LAN with --plain-listen 0.0.0.0",
        "twin.yaml:2: agent.id: nrs-hdu-unit-1 is also the id of the agent in "
        "nrs-hdu-unit-1.yaml",
    ]
    assert not (tmp_path / "out").exists()
    # a config with its own mistakes is told as its program tells them
    with open(devices / "nrs-icu-unit-1.yaml", "a", encoding="utf-8") as handle:
        handle.write("colour: blue\n")
    result = bedboard("broker-config", devices / "nrs-icu-unit-1.yaml", "--out",
                      tmp_path / "out")
    assert (result.returncode, result.stderr) == (
        2, "nrs-icu-unit-1.yaml:16: colour: unknown key (a typo?)\n")
    result = bedboard("broker-config", tmp_path / "nowhere", "--out", tmp_path / "out")
    assert (result.returncode, result.stderr) == (
        2, "%s: no such file or folder\n" % (tmp_path / "nowhere"))


def test_on_a_real_mosquitto_each_login_does_its_job_and_no_more(tmp_path):
    port = free_port()
    devices, out = tmp_path / "devices", tmp_path / "out"
    devices.mkdir()
    write_agent(devices, "nrs-icu-unit-1", ICU, port, secrets=out / "secrets")
    write_agent(devices, "nrs-hdu-unit-1", HDU, port, secrets=out / "secrets")
    write_display(devices, "nrs-lobby-1", port, [("icu", None)], secrets=out / "secrets")
    write_operator(devices, port, secrets=out / "secrets")
    _generate(devices, out, port)
    broker = start_generated_broker(out, port, tmp_path / "broker")
    logins = []
    try:
        def login(user, password=None):
            client = Login(port, user, password if password is not None
                           else read_secret(out, user) if user else None)
            logins.append(client)
            return client
        # nobody anonymous, no wrong password, no unknown user
        assert not login(None).accepted
        assert not login("nrs-icu-unit-1", "wrong").accepted
        assert not login("nobody", "x").accepted
        manager = login("bed-manager")
        icu, hdu, lobby = login("nrs-icu-unit-1"), login("nrs-hdu-unit-1"), login("nrs-lobby-1")
        assert all(c.accepted for c in (manager, icu, hdu, lobby))
        manager.subscribe("crs/#")
        icu.subscribe("crs/nrs/icu/unit-1/set", "crs/nrs/icu/unit-1/set/+",
                      "crs/nrs/hdu/unit-1/set/+")
        hdu.publish("crs/nrs/hdu/unit-1/state", _state(1, agent="nrs-hdu-unit-1"), retain=True)
        hdu.publish("crs/device/nrs-hdu-unit-1/status", b"online", retain=True)
        icu.publish("crs/device/nrs-icu-unit-1/status", b"online", retain=True)
        icu.publish("crs/nrs/icu/unit-1/state", _state(7), retain=True)
        icu.publish("crs/nrs/icu/unit-1/reply", b'{"v":1}')
        # an agent cannot speak for another ward or another device
        icu.publish("crs/nrs/hdu/unit-1/state", _state(99, agent="nrs-icu-unit-1"))
        icu.publish("crs/device/nrs-hdu-unit-1/status", b"offline")
        manager.wait_on("crs/nrs/icu/unit-1/reply")
        # the display reads its tile's ward and its agent's status, nothing else
        lobby.subscribe("crs/+/+/+/state", "crs/device/+/status", "crs/+/+/+/set")
        lobby.publish("crs/nrs/icu/unit-1/state", _state(100))
        lobby.publish("crs/nrs/icu/unit-1/set", b'{"occupied": 1}')
        lobby.publish("crs/nrs/icu/unit-1/set/nrs-lobby-1", b'{"occupied": 1}')
        # the operator may correct any ward, in its own name only
        manager.publish("crs/nrs/icu/unit-1/set", b'{"occupied": 3, "by": "t"}')
        manager.publish("crs/nrs/icu/unit-1/set/someone-else", b'{"occupied": 3}')
        manager.publish("crs/nrs/icu/unit-1/set/bed-manager", b'{"occupied": 2, "by": "t"}')
        assert icu.wait_on("crs/nrs/icu/unit-1/set/bed-manager") == [
            b'{"occupied": 2, "by": "t"}']
        manager.publish("crs/nrs/hdu/unit-1/set/bed-manager", b'{"occupied": 4, "by": "t"}')
        time.sleep(0.3)
        icu_sets = sorted(t for t, _, _ in icu.received if "/set" in t)
        # the icu agent does not read the hdu's commands (the ACL said no)
        assert icu_sets == ["crs/nrs/icu/unit-1/set/bed-manager"], icu_sets
        assert manager.on("crs/nrs/hdu/unit-1/state") == [_state(1, agent="nrs-hdu-unit-1")]
        assert manager.on("crs/device/nrs-hdu-unit-1/status") == [b"online"]
        assert manager.on("crs/nrs/icu/unit-1/state") == [_state(7)]
        assert sorted(t for t, _, _ in lobby.received) == [
            "crs/device/nrs-icu-unit-1/status", "crs/nrs/icu/unit-1/state"]
        assert [t for t, _, _ in manager.received if "/set" in t] == [
            "crs/nrs/icu/unit-1/set/bed-manager", "crs/nrs/hdu/unit-1/set/bed-manager"]
    finally:
        for client in logins:
            client.close()
        broker.close()


BRIDGE = ["--bridge-to", "nats-1.crs.example:8883,nats-2.crs.example:8883,"
          "nats-3.crs.example:8883", "--bridge-ca", "/etc/mosquitto/certs/state-ca.crt",
          "--bridge-cert", "/etc/mosquitto/certs/bridge-nrs.crt",
          "--bridge-key", "/etc/mosquitto/certs/bridge-nrs.key"]


def test_the_shipped_bridge_is_this_command_on_the_nrs_configs(tmp_path):
    demo = os.path.join(ROOT, "config", "demo")
    nrs = sorted(os.path.join(demo, "agents", name)
                 for name in os.listdir(os.path.join(demo, "agents"))
                 if name.startswith("nrs-"))
    result = bedboard("broker-config", *nrs, os.path.join(demo, "nrs-lobby.yaml"),
                      "--out", tmp_path / "out", *BRIDGE)
    assert result.returncode == 0, result.stderr
    assert "bridge.conf: install it in /etc/mosquitto/conf.d/" in result.stdout
    with open(tmp_path / "out" / "bridge.conf", encoding="utf-8") as handle:
        text = handle.read()
    assert oct(os.stat(tmp_path / "out" / "bridge.conf").st_mode & 0o777) == "0o640"
    with open(os.path.join(ROOT, "config", "mosquitto", "bridge.conf"),
              encoding="utf-8") as handle:
        assert handle.read() == text, "config/mosquitto/bridge.conf is not this output"
    assert ("addresses nats-1.crs.example:8883 nats-2.crs.example:8883 "
            "nats-3.crs.example:8883") in text
    assert "try_private false" in text and "topic crs/nrs/+/+/event out 1" in text


def test_a_bridge_is_for_one_hospital(tmp_path):
    result = bedboard("broker-config", os.path.join(ROOT, "config", "demo"),
                      "--out", tmp_path / "out", "--bridge-to", "a:1883")
    assert result.returncode == 2
    assert ("--bridge-to: the agents' configs must be of one hospital, found cmc, nmc, "
            "nrs, rgkar, sskm") in result.stderr
