"""A careless operator: no slip at the broker machine locks a hospital out or opens it up.

Each test is one slip the review made on purpose — a deleted ``secrets/``, a
loose umask, a CA that signed something else, a bridge without TLS, a
broker left at systemd's 1,024 open files — and what ``bedboard
broker-config`` does about it, checked on its files and, where it matters,
on a real Mosquitto.
"""

import os
import resource
import socket
import struct
import subprocess
import threading

from bedboard.mosquitto import PrivateBroker, find_mosquitto, free_port
from ops.passwd import read_passwd, verify

from .ops_helpers import ROOT, bedboard, make_ca, read_secret, write_agent, write_display

ICU = "nrs/icu/unit-1"


def _devices(tmp_path, port=1883, ca=None):
    devices = tmp_path / "devices"
    devices.mkdir(exist_ok=True)
    write_agent(devices, "nrs-icu-unit-1", ICU, port, ca=ca)
    write_display(devices, "nrs-lobby-1", port, [("icu", None)], ca=ca)
    return devices


# -- finding 10: secrets are never silently regenerated ------------------------------

def test_a_lost_secrets_folder_is_an_error_that_says_how_to_go_on(tmp_path):
    devices, out = _devices(tmp_path), tmp_path / "out"
    assert bedboard("broker-config", devices, "--out", out).returncode == 0
    kept = {u: read_secret(out, u) for u in ("bed-manager", "nrs-icu-unit-1",
                                             "nrs-lobby-1")}
    passwd = (out / "passwd").read_bytes()
    os.unlink(out / "secrets" / "nrs-icu-unit-1")
    result = bedboard("broker-config", devices, "--out", out)
    assert result.returncode == 2, result.stdout
    assert result.stderr == (
        "%s names nrs-icu-unit-1, but its secrets/ file is gone: a new password now would "
        "lock it out once this passwd is installed. Restore secrets/ from where you keep "
        "it (with the CA's key), or give --rotate ID for each (then install each new "
        "password on its device), or --new-secrets for all of them\n" % (out / "passwd"))
    assert (out / "passwd").read_bytes() == passwd          # nothing written
    assert not (out / "secrets" / "nrs-icu-unit-1").exists()
    # the whole folder gone: every account named at once
    for name in os.listdir(out / "secrets"):
        os.unlink(out / "secrets" / name)
    result = bedboard("broker-config", devices, "--out", out)
    assert result.returncode == 2
    assert "names bed-manager, nrs-icu-unit-1, nrs-lobby-1, but their secrets/ files " \
           "are gone" in result.stderr
    # --rotate says it for one; --new-secrets for all
    result = bedboard("broker-config", devices, "--out", out, "--rotate", "nrs-icu-unit-1")
    assert result.returncode == 2 and "names bed-manager, nrs-lobby-1, but" in result.stderr
    result = bedboard("broker-config", devices, "--out", out, "--new-secrets")
    assert result.returncode == 0, result.stderr
    assert "3 new password(s)" in result.stdout
    entries = read_passwd(str(out / "passwd"))
    assert all(verify(read_secret(out, u), entries[u]) and read_secret(out, u) != kept[u]
               for u in kept)


# -- finding 9: --out does not follow the umask --------------------------------------

def test_out_is_private_whatever_the_umask_and_a_writable_one_is_refused(tmp_path):
    devices = _devices(tmp_path)
    out = tmp_path / "out"
    result = subprocess.run(["sh", "-c", 'umask 000 && exec "$@"', "sh", os.sys.executable,
                             "-m", "ops", "broker-config", str(devices), "--out", str(out)],
                            capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    assert oct(os.stat(out).st_mode & 0o777) == "0o700"
    assert oct(os.stat(out / "secrets").st_mode & 0o777) == "0o700"
    assert oct(os.stat(out / "passwd").st_mode & 0o777) == "0o600"
    os.chmod(out, 0o777)
    result = bedboard("broker-config", devices, "--out", out)
    assert result.returncode == 1
    assert result.stderr == ("bedboard: %s can be written by others (mode 777): anyone "
                             "could replace the passwd or secrets in it; chmod 700 it and "
                             "run again\n" % out)


# -- finding 11: the TLS files are checked against each other and the devices' hosts --

def _other_ca(folder):
    return make_ca(folder)[0]


def test_a_ca_that_did_not_sign_the_certificate_is_refused(tmp_path):
    ca, cert, key = make_ca(tmp_path / "ca")
    other = _other_ca(tmp_path / "other")
    devices = _devices(tmp_path, port=8883, ca=ca)
    result = bedboard("broker-config", devices, "--out", tmp_path / "out", "--tls-cert",
                      cert, "--tls-key", key, "--tls-ca", other)
    assert result.returncode == 2, result.stdout
    assert result.stderr.startswith(
        "--tls-cert %s was not signed by --tls-ca %s (issuer: CN=bedboard test CA): every "
        "device that trusts that CA would refuse the broker\n" % (cert, other))
    assert not (tmp_path / "out").exists()
    good = bedboard("broker-config", devices, "--out", tmp_path / "out", "--tls-cert",
                    cert, "--tls-key", key, "--tls-ca", ca)
    assert good.returncode == 0, good.stderr


def test_a_device_host_missing_from_the_certificate_is_refused(tmp_path):
    ca, cert, key = make_ca(tmp_path / "ca")      # names localhost and 127.0.0.1
    devices = _devices(tmp_path, port=8883, ca=ca)
    far = devices / "nrs-lobby-1.yaml"
    far.write_text(far.read_text().replace("host: 127.0.0.1", "host: broker.nrs.local"))
    agent = devices / "nrs-icu-unit-1.yaml"
    agent.write_text(agent.read_text().replace("host: 127.0.0.1", "host: broker.nrs.local"))
    result = bedboard("broker-config", devices, "--out", tmp_path / "out", "--tls-cert",
                      cert, "--tls-key", key, "--tls-ca", ca, "--plain-listen", "none")
    assert result.returncode == 2, result.stdout
    assert result.stderr == (
        "nrs-icu-unit-1.yaml, nrs-lobby-1.yaml: broker.nrs.local is not a name in "
        "--tls-cert %s (it has: localhost, 127.0.0.1): a device connecting to "
        "broker.nrs.local would refuse the broker; add it to the certificate's "
        "subjectAltName, or use a name it has\n" % cert)


# -- finding 4: a bridge goes out over TLS with a login, or says it does not ---------

def test_a_bridge_without_tls_or_login_is_refused_unless_insecure(tmp_path):
    devices, out = _devices(tmp_path), tmp_path / "out"
    plain = bedboard("broker-config", devices, "--out", out, "--bridge-to", "nats-1:1883")
    assert plain.returncode == 2
    assert plain.stderr.splitlines() == [
        "--bridge-to: the bridge would carry every ward's state to the cluster in clear: "
        "give --bridge-ca (the cluster's CA), or --bridge-insecure to say that is what "
        "you want",
        "--bridge-to: the bridge would log in to the cluster as nobody: give --bridge-user "
        "and --bridge-password-file (bedboard cluster-config writes them), or "
        "--bridge-cert and --bridge-key, or --bridge-insecure to say that is what you want"]
    assert not (out / "bridge.conf").exists()
    insecure = bedboard("broker-config", devices, "--out", out, "--bridge-to",
                        "nats-1:1883", "--bridge-insecure")
    assert insecure.returncode == 0, insecure.stderr
    assert "--bridge-insecure: the bridge goes to the cluster in clear without a login" \
        in insecure.stderr
    password = tmp_path / "bridge-password"
    password.write_text("pa55word\n")
    logged = bedboard("broker-config", devices, "--out", out, "--bridge-to", "nats-1:8883",
                      "--bridge-ca", "/etc/mosquitto/certs/state-ca.crt", "--bridge-user",
                      "bridge-nrs", "--bridge-password-file", password)
    assert logged.returncode == 0, logged.stderr
    text = (out / "bridge.conf").read_text()
    assert "remote_username bridge-nrs\nremote_password pa55word\n" in text
    assert "bridge_cafile /etc/mosquitto/certs/state-ca.crt" in text
    assert oct(os.stat(out / "bridge.conf").st_mode & 0o777) == "0o640"
    assert "pa55word" not in logged.stdout + logged.stderr


# -- finding 13: the broker may hold more than 1,024 open files ----------------------

def _connect(port, client_id):
    """One raw MQTT 3.1.1 CONNECT; return the socket once CONNACK accepted it (or None)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    ident = client_id.encode()
    body = (b"\x00\x04MQTT\x04\x02\x00\x3c" + struct.pack("!H", len(ident)) + ident)
    sock.sendall(bytes([0x10, len(body)]) + body)
    answer = b""
    try:
        while len(answer) < 4:
            chunk = sock.recv(4 - len(answer))
            if not chunk:
                break
            answer += chunk
    except OSError:
        answer = b""
    if answer == b"\x20\x02\x00\x00":
        return sock
    sock.close()
    return None


def _open_files_limit(drop_in):
    for line in drop_in.read_text().splitlines():
        if line.startswith("LimitNOFILE="):
            return int(line.split("=", 1)[1])
    raise AssertionError("no LimitNOFILE= in %s" % drop_in)


def test_the_broker_s_drop_in_lets_it_take_2000_connections(tmp_path):
    devices, out = _devices(tmp_path), tmp_path / "out"
    result = bedboard("broker-config", devices, "--out", out)
    assert result.returncode == 0, result.stderr
    drop_in = out / "mosquitto.service.d" / "bedboard.conf"
    assert drop_in.read_text().splitlines()[-2:] == ["[Service]", "LimitNOFILE=65536"]
    limit = _open_files_limit(drop_in)
    # a private broker started with the limit the drop-in gives it (as systemd would)
    port = free_port()
    broker = PrivateBroker(port=port, workdir=str(tmp_path / "broker"),
                           extra_config=["max_connections -1"])

    # (within this machine's hard limit, which a process may not pass)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    given = min(limit, hard)
    assert given > 2048, "this machine's hard limit of open files is %d" % hard

    def started_with_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (given, hard))
    broker.process = subprocess.Popen([find_mosquitto(), "-c", broker.config_path],
                                      stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL,
                                      preexec_fn=started_with_limit)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
    sockets = []
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                threading.Event().wait(0.05)
        for number in range(2000):
            sock = _connect(port, "c-%d" % number)
            assert sock is not None, "connection %d refused (%s)" % (
                number, broker.log_tail(3))
            sockets.append(sock)
        assert len(sockets) == 2000
    finally:
        for sock in sockets:
            sock.close()
        broker.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_requests_is_held_above_its_known_vulnerable_versions():
    # finding 13: setup.cfg allowed requests versions with known CVEs (below 2.32.4)
    import configparser
    from importlib.metadata import version
    setup = configparser.ConfigParser()
    setup.read(os.path.join(ROOT, "setup.cfg"))
    requires = [line.split() for line in setup["options"]["install_requires"].splitlines()
                if line.strip().startswith("requests")]
    assert requires == [["requests", ">=", "2.32.4"]], requires

    def numbers(text):
        return tuple(int(part) for part in text.split(".")[:3])
    assert numbers(version("requests")) >= (2, 32, 4)
