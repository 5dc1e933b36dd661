"""TLS end to end: a throwaway CA, the generated broker config, a real agent and display.

The broker runs bedboard broker-config's own bedboard.conf, with a TLS
listener on a free loopback port; every device logs in with the password
the command made for it, over TLS, and the board draws what the agent sent.
"""

import os
import subprocess
import sys

from bedboard.mosquitto import free_port

from .ops_helpers import (ROOT, Login, bedboard, make_ca, read_secret,
                          start_generated_broker, write_agent, write_display,
                          write_operator)


def test_an_agent_and_a_display_over_tls_with_their_own_passwords(tmp_path):
    ca, cert, key = make_ca(tmp_path / "ca")
    plain, tls = free_port(), free_port()
    devices, out = tmp_path / "devices", tmp_path / "out"
    devices.mkdir()
    secrets = out / "secrets"
    agent = write_agent(devices, "nrs-icu-unit-1", "nrs/icu/unit-1", tls, secrets=secrets,
                        ca=ca, capacity=16, occupied=10)
    display = write_display(devices, "nrs-lobby-1", tls, [("icu", None)],
                            secrets=secrets, ca=ca)
    operator = write_operator(tmp_path, tls, secrets=secrets, ca=ca)
    result = bedboard("broker-config", devices, "--out", out, "--plain-port", plain,
                      "--tls-cert", cert, "--tls-key", key, "--tls-ca", ca,
                      "--tls-listen", "127.0.0.1", "--tls-port", tls,
                      "--include-dir", "none", "--data-dir", tmp_path, "--etc", out)
    assert result.returncode == 0, result.stderr
    conf = (out / "bedboard.conf").read_text()
    assert "listener %d 127.0.0.1\ncafile %s\ncertfile %s\nkeyfile %s\n" % (
        tls, ca, cert, key) in conf
    broker = start_generated_broker(out, plain, tmp_path / "broker")
    try:
        # plain MQTT is there for this machine only, and still wants a password
        assert not Login(plain).accepted
        # the agent counts a press and delivers it over TLS (exit 0 = the broker has it)
        run = subprocess.run([sys.executable, "-m", "agent", "--config", agent,
                              "--simulate"], input="press freed\npress freed\n", text=True,
                             capture_output=True, cwd=ROOT, timeout=60)
        assert run.returncode == 0, run.stderr
        assert run.stdout.splitlines()[-1] == "accepted freed: occupied 8/16, vacant 8, seq 2"
        # the board gets it over TLS and draws it
        picture = tmp_path / "board.png"
        run = subprocess.run([sys.executable, "-m", "display", "--config", display,
                              "--snapshot", str(picture), "--wait", "10"], text=True,
                             capture_output=True, cwd=ROOT, timeout=60,
                             env=dict(os.environ, SDL_VIDEODRIVER="dummy"))
        assert run.returncode == 0, run.stderr
        assert "every tile has data" in run.stderr
        assert picture.stat().st_size > 1000
        # the operator sees both over TLS, and the display's status says it was there
        status = bedboard("status", "--config", operator, "--listen", "0.5", "--json")
        assert status.returncode == 0, status.stderr
        assert '"ward": "nrs/icu/unit-1"' in status.stdout
        assert '"occupied": 8' in status.stdout
        assert '"id": "nrs-lobby-1"' in status.stdout
        # a wrong CA is a certificate error, said in one line
        other_ca, _, _ = make_ca(tmp_path / "other-ca")
        wrong = write_operator(tmp_path / "other-ca", tls, secrets=secrets, ca=other_ca)
        status = bedboard("status", "--config", wrong, "--listen", "0.5")
        assert status.returncode == 1
        assert status.stderr.startswith("bedboard: TLS: the broker's certificate was not "
                                        "accepted: ")
        assert len(status.stderr.splitlines()) == 1
        # a wrong password is a refused login, said in one line
        wrong_secret = tmp_path / "wrong-secret"
        wrong_secret.write_text("not-the-password\n")
        os.chmod(wrong_secret, 0o600)
        wrong = tmp_path / "wrong-operator.yaml"
        wrong.write_text(open(operator, encoding="utf-8").read().replace(
            str(secrets / "bed-manager"), str(wrong_secret)))
        status = bedboard("status", "--config", wrong, "--listen", "0.5")
        assert (status.returncode, status.stderr) == (
            1, "bedboard: the broker 127.0.0.1:%d refused the login as bed-manager: Not "
               "authorized (check broker.username and the password in "
               "broker.password_file)\n" % tls)
        # and a device's password is its own: the display's does not open the agent's login
        login = Login(tls, "nrs-icu-unit-1", read_secret(out, "nrs-lobby-1"), ca=ca)
        assert not login.accepted
        login.close()
    finally:
        broker.close()
