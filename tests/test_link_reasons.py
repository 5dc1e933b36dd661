"""What a device's log says when its connection fails — the real reason, said once.

Issue 16, finding 8: a certificate the device does not trust, a host name
its certificate does not cover, a login the broker refuses (also a password
rotated while the device ran) were all logged as "cannot be reached", or
not at all.  Finding 1 (run time): a session taken by another client with
the same id looked like an unexplained flapping link.  Real Mosquittos,
real certificates, real logins.
"""

import logging
import os
import time

from bedboard.link import BrokerLink
from bedboard.mosquitto import PrivateBroker
from bedboard.settings import BrokerSettings, TlsSettings
from ops.passwd import hash_password, passwd_text

from .net_helpers import server_certificate
from .ops_helpers import make_ca


def said(caplog, level=logging.WARNING):
    return [r.getMessage() for r in caplog.records
            if r.name.startswith("bedboard.") and r.levelno >= level]


def wait_for(check, timeout):
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True




def attempts(link_settings, caplog, seconds=2.5):
    """Run a link for ``seconds`` (several attempts); return what it said at WARNING+."""
    with caplog.at_level(logging.INFO, "bedboard"):
        with BrokerLink(link_settings, "nrs-lobby-1", min_backoff=0.2, max_backoff=0.4,
                        connect_timeout=2) as link:
            time.sleep(seconds)
            assert not link.connected
    return [r for r in caplog.records if r.name.startswith("bedboard.")
            and r.levelno >= logging.WARNING]


def test_a_certificate_from_another_ca_is_said_with_the_check_that_failed(tmp_path, caplog):
    ca, cert, key = make_ca(tmp_path / "ca")
    other_ca, _, _ = make_ca(tmp_path / "other-ca")
    broker = PrivateBroker(workdir=str(tmp_path / "broker"), extra_config=[
        "cafile %s" % ca, "certfile %s" % cert, "keyfile %s" % key])
    with broker:
        records = attempts(BrokerSettings(host="127.0.0.1", port=broker.port,
                                          tls=TlsSettings(ca=other_ca)), caplog)
    assert [(r.levelno, r.getMessage()) for r in records] == [(
        logging.ERROR,
        "broker 127.0.0.1:%d failed the TLS check: certificate verify failed — self-signed "
        "certificate in certificate chain (check broker.tls.ca: it must be the CA that "
        "signed the broker's certificate; \"not yet valid\" or \"expired\": check this "
        "device's clock); reconnecting" % broker.port)]


def test_a_host_name_not_in_the_certificate_is_said_as_a_mismatch(tmp_path, caplog):
    ca, _, _ = make_ca(tmp_path / "ca")
    cert, key = server_certificate(tmp_path / "ca", "DNS:broker.example.org")
    broker = PrivateBroker(workdir=str(tmp_path / "broker"), extra_config=[
        "cafile %s" % ca, "certfile %s" % cert, "keyfile %s" % key])
    with broker:
        records = attempts(BrokerSettings(host="127.0.0.1", port=broker.port,
                                          tls=TlsSettings(ca=ca)), caplog)
    assert [(r.levelno, r.getMessage()) for r in records] == [(
        logging.ERROR,
        "broker 127.0.0.1:%d failed the TLS check: host name mismatch — its certificate "
        "is not valid for '127.0.0.1' (broker.host must be a name or address in the "
        "broker's certificate); reconnecting" % broker.port)]


def test_tls_to_a_plain_port_is_said_as_a_failed_tls_handshake(tmp_path, mosquitto, caplog):
    ca, _, _ = make_ca(tmp_path / "ca")
    records = attempts(BrokerSettings(host="127.0.0.1", port=mosquitto.port,
                                      tls=TlsSettings(ca=ca)), caplog)
    assert [(r.levelno, r.getMessage()) for r in records] == [(
        logging.ERROR,
        "broker 127.0.0.1:%d failed the TLS handshake: the broker reset the connection "
        "(is that the broker's TLS port?); reconnecting" % mosquitto.port)]


def passwd_broker(tmp_path, users):
    path = tmp_path / "passwd"
    path.write_text(passwd_text({user: hash_password(pw) for user, pw in users.items()}))
    os.chmod(path, 0o644)
    return PrivateBroker(workdir=str(tmp_path / "broker"), extra_config=[
        "allow_anonymous false", "password_file %s" % path]), path


def test_a_refused_login_is_said_as_not_authorised_once(tmp_path, caplog):
    broker, _ = passwd_broker(tmp_path, {"nrs-lobby-1": "right"})
    with broker:
        records = attempts(BrokerSettings(host="127.0.0.1", port=broker.port,
                                          username="nrs-lobby-1", password="wrong"), caplog)
    assert [(r.levelno, r.getMessage()) for r in records] == [(
        logging.ERROR,
        "broker 127.0.0.1:%d refused the login as nrs-lobby-1: not authorised (Not "
        "authorized) — check broker.username and the password in broker.password_file; "
        "reconnecting" % broker.port)]


def test_a_password_rotated_while_the_device_runs_is_said_at_each_outage(tmp_path, caplog):
    broker, path = passwd_broker(tmp_path, {"nrs-lobby-1": "first"})
    settings = BrokerSettings(host="127.0.0.1", port=broker.port, username="nrs-lobby-1",
                              password="first")
    refused = ("broker 127.0.0.1:%d refused the login as nrs-lobby-1: not authorised"
               % broker.port)
    with broker, caplog.at_level(logging.INFO, "bedboard"), \
            BrokerLink(settings, "nrs-lobby-1", min_backoff=0.2, max_backoff=0.4) as link:
        assert link.wait_connected(10)
        for outage in (1, 2):
            path.write_text(passwd_text({"nrs-lobby-1": hash_password("rotated")}))
            broker.restart()
            assert wait_for(lambda: sum(m.startswith(refused) for m in said(caplog))
                            == outage, 10), said(caplog)
            time.sleep(1.0)                  # more refusals: not said again
            assert sum(m.startswith(refused) for m in said(caplog)) == outage
            path.write_text(passwd_text({"nrs-lobby-1": hash_password("first")}))
            broker.restart()
            assert link.wait_connected(10)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage()[:len(refused)] for r in errors] == [refused, refused]


def test_two_devices_given_one_id_each_say_so_once(mosquitto, caplog):
    settings = BrokerSettings(host=mosquitto.host, port=mosquitto.port)
    case = ("another client is connected with this device's client id nrs-lobby-1 — two "
            "devices given one id, or another account taking its session")
    with caplog.at_level(logging.INFO, "bedboard"), \
            BrokerLink(settings, "nrs-lobby-1", min_backoff=0.2, max_backoff=0.4), \
            BrokerLink(settings, "nrs-lobby-1", min_backoff=0.2, max_backoff=0.4):
        assert wait_for(lambda: sum(case in m for m in said(caplog, logging.ERROR)) == 2,
                        15), said(caplog)
        time.sleep(3.0)                     # the flapping goes on: not said again
    telling = [r for r in caplog.records if case in r.getMessage()]
    assert len(telling) == 2 and all(r.levelno == logging.ERROR for r in telling)
    assert telling[0].getMessage().startswith(
        "broker 127.0.0.1:%d closed this device's connection 3 times in a row within "
        "10 s of accepting it: " % mosquitto.port)
