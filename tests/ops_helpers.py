"""Helpers for the operators' tool's tests: device configs, a throwaway CA, logins."""

import os
import subprocess
import sys
import textwrap
import threading
import time
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bedboard.mosquitto import PrivateBroker

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def bedboard(*args, timeout=60, stdin=None):
    """Run ``python -m ops`` (the ``bedboard`` command) to its end."""
    return subprocess.run([sys.executable, "-m", "ops"] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          input=stdin)


def broker_yaml(port, user=None, secret=None, ca=None, keepalive=None):
    """A ``broker:`` section for a device on the private broker."""
    lines = ["broker:", "  host: 127.0.0.1", "  port: %d" % port]
    if user:
        lines += ["  username: %s" % user, "  password_file: %s" % secret]
    if ca:
        lines += ["  tls: {ca: %s}" % ca]
    if keepalive:
        lines += ["  keepalive: %d" % keepalive]
    return "\n".join(lines) + "\n"


def write_agent(folder, ident, ward, port, secrets=None, ca=None, capacity=20,
                occupied=5, keepalive=None, heartbeat=60):
    """An agent config for ``ward`` ("h/d/w"); logs in as ``ident`` when ``secrets``."""
    hospital, department, name = ward.split("/")
    path = os.path.join(str(folder), "%s.yaml" % ident)
    secret = os.path.join(str(secrets), ident) if secrets else None
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(textwrap.dedent("""\
            agent:
              id: %s
              hospital: %s
              department: %s
              ward: %s
              capacity: %d
              occupied: %d
              state_dir: %s
              heartbeat: %s
            inputs:
              - {name: freed, kind: freed, pin: 17}
              - {name: taken, kind: taken, pin: 27}
            """) % (ident, hospital, department, name, capacity, occupied,
                    os.path.join(str(folder), "state-" + ident), heartbeat))
        handle.write(broker_yaml(port, ident if secrets else None, secret, ca, keepalive))
    return path


def write_display(folder, ident, port, tiles, hospital="nrs", secrets=None, ca=None):
    """A display config whose tiles are ``[(department, [wards] or None), ...]``."""
    path = os.path.join(str(folder), "%s.yaml" % ident)
    lines = ["display: {id: %s, size: [640, 360]}" % ident,
             "board:", "  hospital: %s" % hospital]
    if tiles is not None:
        lines.append("  tiles:")
        for department, wards in tiles:
            lines.append("    - department: %s" % department)
            if wards:
                lines.append("      wards: [%s]" % ", ".join(wards))
    secret = os.path.join(str(secrets), ident) if secrets else None
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
        handle.write(broker_yaml(port, ident if secrets else None, secret, ca))
    return path


def write_operator(folder, port, secrets=None, ca=None, name="bed-manager", extra=""):
    """An operator config for the private broker."""
    path = os.path.join(str(folder), "operator.yaml")
    secret = os.path.join(str(secrets), name) if secrets else None
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(broker_yaml(port, name if secrets else None, secret, ca))
        handle.write("operator:\n  heartbeat: 60\n" + extra)
    return path


def make_ca(folder):
    """A throwaway CA and a server certificate for 127.0.0.1 and localhost.

    Returns ``(ca, cert, key)`` paths.  EC keys: quick to make.
    """
    folder = str(folder)
    os.makedirs(folder, exist_ok=True)
    ca_key, ca = os.path.join(folder, "ca.key"), os.path.join(folder, "ca.crt")
    key, csr = os.path.join(folder, "server.key"), os.path.join(folder, "server.csr")
    cert, ext = os.path.join(folder, "server.crt"), os.path.join(folder, "san.ext")
    with open(ext, "w", encoding="utf-8") as handle:
        handle.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for command in (
            ["openssl", "req", "-x509"] + ec + ["-keyout", ca_key, "-out", ca, "-days", "2",
                                                "-subj", "/CN=bedboard test CA"],
            ["openssl", "req"] + ec + ["-keyout", key, "-out", csr,
                                       "-subj", "/CN=localhost"],
            ["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
             "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext]):
        subprocess.run(command, check=True, capture_output=True)
    return ca, cert, key


def read_secret(out, user):
    """The password broker-config made for ``user``."""
    with open(os.path.join(str(out), "secrets", user), encoding="utf-8") as handle:
        return handle.read().strip()


class Login:
    """A plain paho client logged in as a user; records what it receives."""

    def __init__(self, port, user=None, password=None, ca=None, client_id=None,
                 clean_session=True):
        self.received = []
        self.lock = threading.Lock()
        self.result = None
        self.done = threading.Event()
        self.lost = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2,
                                  client_id=client_id or "t-%s" % uuid.uuid4().hex[:8],
                                  clean_session=clean_session)
        self.client.on_disconnect = lambda *args: self.lost.set()
        if user:
            self.client.username_pw_set(user, password)
        if ca:
            self.client.tls_set(ca_certs=ca)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port, keepalive=10)
        self.client.loop_start()
        assert self.done.wait(10), "no CONNACK"

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        self.result = reason_code
        self.session_present = flags.session_present
        self.done.set()

    def _on_message(self, client, userdata, message):
        with self.lock:
            self.received.append((message.topic, bytes(message.payload), message.retain))

    @property
    def accepted(self):
        """Whether the broker accepted the login."""
        return not self.result.is_failure

    def subscribe(self, *filters, qos=1):
        """Subscribe and give the broker a moment to send what is retained."""
        result, mid = self.client.subscribe([(f, qos) for f in filters])
        assert result == mqtt.MQTT_ERR_SUCCESS
        time.sleep(0.3)

    def publish(self, topic, payload, retain=False):
        """Publish at QoS 1 and wait for the broker's PUBACK."""
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def on(self, topic):
        """Payloads received on ``topic``."""
        with self.lock:
            return [p for t, p, _ in self.received if t == topic]

    def wait_on(self, topic, timeout=10):
        """Wait for a message on ``topic``; return the payloads."""
        deadline = time.monotonic() + timeout
        while not self.on(topic):
            assert time.monotonic() < deadline, "nothing on %s; got %s" % (
                topic, [t for t, _, _ in self.received])
            time.sleep(0.02)
        return self.on(topic)

    def close(self):
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()


def start_generated_broker(out, port, workdir):
    """A private Mosquitto running broker-config's bedboard.conf from ``out``."""
    return PrivateBroker(port=port, workdir=str(workdir),
                         config_file=os.path.join(str(out), "bedboard.conf")).start()

