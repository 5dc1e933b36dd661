"""config/mosquitto/hospital.acl with the real agent: it can do its job, and no more."""

import os
import shutil
import subprocess
import textwrap
import time
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bedboard.mosquitto import PrivateBroker
from bedboard.payloads import WardState

from .agent_helpers import run_agent

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ACL = os.path.join(ROOT, "config", "mosquitto", "hospital.acl")


def _client(port, user, password, received):
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="t-" + uuid.uuid4().hex[:6])
    client.username_pw_set(user, password)
    client.on_message = lambda c, u, m: received.append((m.topic, m.payload))
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def test_an_agent_under_the_hospital_acl_recovers_presses_and_stays_in_its_ward(tmp_path):
    passwords = tmp_path / "passwd"
    for user in ("nrs-icu-unit-1", "nrs-lobby-1"):
        subprocess.run(["mosquitto_passwd", "-b"] + (["-c"] if not passwords.exists() else [])
                       + [str(passwords), user, "pw-" + user], check=True)
    secret = tmp_path / "agent-secret"
    secret.write_text("pw-nrs-icu-unit-1\n")
    os.chmod(secret, 0o600)
    with PrivateBroker(workdir=str(tmp_path / "broker"), extra_config=[
            "allow_anonymous false", "password_file %s" % passwords,
            "acl_file %s" % ACL]) as broker:
        seen = []
        lobby = _client(broker.port, "nrs-lobby-1", "pw-nrs-lobby-1", seen)
        lobby.subscribe("crs/#", qos=1)
        time.sleep(0.3)
        config = tmp_path / "agent.yaml"
        config.write_text(textwrap.dedent("""\
            agent: {id: nrs-icu-unit-1, hospital: nrs, department: icu, ward: unit-1,
                    capacity: 16, occupied: 14, state_dir: %s}
            broker: {host: 127.0.0.1, port: %d, username: nrs-icu-unit-1,
                     password_file: %s}
            inputs:
              - {name: freed, kind: freed, pin: 17}
            """ % (tmp_path / "state", broker.port, secret)))
        # first start: no ledger, so it must read its own topics back first
        result = run_agent(str(config), "--simulate", stdin="press freed\n")
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("accepted freed: occupied 13/16"), result.stdout
        deadline = time.monotonic() + 5
        while not any(t == "crs/nrs/icu/unit-1/state" for t, _ in seen) \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        states = [WardState.parse(p) for t, p in seen if t == "crs/nrs/icu/unit-1/state"]
        assert states and states[-1].occupied == 13
        # SD card swapped: the ledger is gone; the count and seq come back from
        # the agent's own retained state, which the ACL lets it read
        shutil.rmtree(tmp_path / "state")
        result = run_agent(str(config), "--simulate", stdin="press freed\n")
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("accepted freed: occupied 12/16"), result.stdout
        assert "seq 2" in result.stdout
        # the same login cannot speak for another ward or another device
        rogue = _client(broker.port, "nrs-icu-unit-1", "pw-nrs-icu-unit-1", [])
        rogue.publish("crs/nrs/hdu/unit-1/state", b"{}", qos=1).wait_for_publish(5)
        rogue.publish("crs/device/nrs-lobby-1/status", b"offline", qos=1).wait_for_publish(5)
        time.sleep(0.5)
        rogue.loop_stop()
        lobby.loop_stop()
        assert not any(t in ("crs/nrs/hdu/unit-1/state", "crs/device/nrs-lobby-1/status")
                       and p in (b"{}", b"offline") for t, p in seen)
