"""The broker's files from bedboard broker-config, with the real agent: it can do its job, and no more.

The ACL and the hashed passwords are generated from the device configs (as
the shipped config/mosquitto/hospital.acl is from config/demo/), and the
broker runs the generated mosquitto.conf.
"""

import shutil
import time

from bedboard.mosquitto import free_port
from bedboard.payloads import WardState

from .agent_helpers import run_agent
from .ops_helpers import (Login, bedboard, read_secret, start_generated_broker,
                          write_agent, write_display)


def test_an_agent_under_the_generated_acl_recovers_presses_and_stays_in_its_ward(tmp_path):
    port = free_port()
    devices, out = tmp_path / "devices", tmp_path / "out"
    devices.mkdir()
    config = write_agent(devices, "nrs-icu-unit-1", "nrs/icu/unit-1", port,
                         secrets=out / "secrets", capacity=16, occupied=14)
    write_display(devices, "nrs-lobby-1", port, None, secrets=out / "secrets")
    made = bedboard("broker-config", devices, "--out", out, "--plain-port", port,
                    "--include-dir", "none", "--data-dir", tmp_path, "--etc", out)
    assert made.returncode == 0, made.stderr
    broker = start_generated_broker(out, port, tmp_path / "broker")
    try:
        lobby = Login(port, "nrs-lobby-1", read_secret(out, "nrs-lobby-1"))
        lobby.subscribe("crs/#")
        # first start: no ledger, so it must read its own topics back first
        result = run_agent(config, "--simulate", stdin="press freed\n")
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("accepted freed: occupied 13/16"), result.stdout
        states = [WardState.parse(p) for p in lobby.wait_on("crs/nrs/icu/unit-1/state")]
        assert states[-1].occupied == 13
        # SD card swapped: the ledger is gone; the count and seq come back from
        # the agent's own retained state, which the ACL lets it read
        shutil.rmtree(devices / "state-nrs-icu-unit-1")
        result = run_agent(config, "--simulate", stdin="press freed\n")
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("accepted freed: occupied 12/16"), result.stdout
        assert "seq 2" in result.stdout
        # the same login cannot speak for another ward or another device
        rogue = Login(port, "nrs-icu-unit-1", read_secret(out, "nrs-icu-unit-1"))
        rogue.publish("crs/nrs/hdu/unit-1/state", b"{}")
        rogue.publish("crs/device/nrs-lobby-1/status", b"offline")
        time.sleep(0.5)
        rogue.close()
        lobby.close()
        assert not any(t in ("crs/nrs/hdu/unit-1/state", "crs/device/nrs-lobby-1/status")
                       and p in (b"{}", b"offline") for t, p, _ in lobby.received)
    finally:
        broker.close()
