"""A short MQTT session for one operator's command: log in, listen, publish, leave.

Not :class:`bedboard.link.BrokerLink`, on purpose: that is a *device's*
link — a will and a retained ``online`` on the device's status topic, its id
as client id, reconnecting for ever.  A command a person runs must fail at
once and say why (wrong password, certificate, no broker), must leave no
status behind (``bedboard status`` would list the tool as a device), and
two bed managers running it at once must not kick each other off (so each
session has a client id of its own).  What it shares with the link is the
way broker settings become a paho client: login and TLS from
:class:`~bedboard.settings.BrokerSettings`, paho's errors turned into
:class:`~bedboard.errors.LinkError`.
"""

import logging
import os
import queue
import socket
import ssl
import threading
import time
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bedboard.errors import LinkError

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Heard:
    """One message the session received, with when (``time.monotonic()``)."""

    topic: str
    payload: bytes
    retained: bool
    received: float


def _refusal(broker, reason_code):
    text = str(reason_code)
    login = broker.username or "(no user name)"
    if "authori" in text.lower() or "password" in text.lower():
        return ("the broker %s:%d refused the login as %s: %s (check broker.username "
                "and the password in broker.password_file)" % (broker.host, broker.port,
                                                              login, text))
    return "the broker %s:%d refused the connection: %s" % (broker.host, broker.port, text)


class Session:
    """One connection to the broker for the length of a command."""

    def __init__(self, broker, name="bedboard"):
        self.broker = broker
        self.heard = queue.Queue()
        self._connected = threading.Event()
        self._refused = None
        self._acks = {}
        self._acks_lock = threading.Lock()
        client_id = "%s-%s" % (name, os.urandom(4).hex())
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                   clean_session=True, protocol=mqtt.MQTTv311)
        self._client.enable_logger(logging.getLogger("bedboard.paho"))
        try:
            if broker.username:
                self._client.username_pw_set(broker.username, broker.password)
            if broker.tls is not None:
                self._client.tls_set(ca_certs=broker.tls.ca, certfile=broker.tls.cert,
                                     keyfile=broker.tls.key,
                                     tls_version=ssl.PROTOCOL_TLS_CLIENT)
        except (OSError, ssl.SSLError, ValueError) as exc:
            raise LinkError("broker TLS/login setup failed: %s" % exc) from exc
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_ack
        self._client.on_publish = self._on_publish
        self._client.on_disconnect = self._on_disconnect

    # -- life cycle --------------------------------------------------------
    def _connect(self, host, port):
        """Open the connection to one node; raise LinkError saying why not."""
        try:
            self._client.connect(host, port, keepalive=max(self.broker.keepalive, 10))
        except ssl.SSLCertVerificationError as exc:
            raise LinkError("TLS: the broker's certificate was not accepted: %s (check "
                            "broker.tls.ca, and that %s is a name in the certificate)"
                            % (exc.verify_message or exc, host)) from None
        except ssl.SSLError as exc:
            raise LinkError("TLS with %s:%d failed: %s (is that the TLS port?)"
                            % (host, port, exc.reason or exc)) from None
        except (OSError, socket.timeout) as exc:
            raise LinkError("cannot reach the broker at %s:%d: %s"
                            % (host, port, exc.strerror or exc)) from None

    def open(self, timeout=10.0):
        """Connect and log in (to the first node of ``broker.hosts`` that answers).

        Raises LinkError saying why not.
        """
        broker = self.broker
        failure = None
        for host, port in broker.addresses:
            try:
                self._connect(host, port)
            except LinkError as exc:
                failure = exc
                continue
            failure = None
            break
        if failure is not None:
            raise failure
        self._client.loop_start()
        deadline = time.monotonic() + timeout
        while not self._connected.is_set() and self._refused is None:
            if time.monotonic() > deadline:
                self.close()
                raise LinkError("the broker at %s:%d did not answer within %.0f s"
                                % (broker.host, broker.port, timeout))
            time.sleep(0.01)
        if self._refused is not None:
            self.close()
            raise LinkError(self._refused)
        return self

    def close(self):
        """Leave the broker and stop the network thread."""
        try:
            self._client.disconnect()
        finally:
            self._client.loop_stop()

    def __enter__(self):
        return self.open()

    def __exit__(self, *exc_info):
        self.close()

    # -- traffic -----------------------------------------------------------
    def subscribe(self, topic_filters, timeout=5.0):
        """Subscribe at QoS 1 and wait for the broker's SUBACK."""
        result, mid = self._client.subscribe([(f, 1) for f in topic_filters])
        if result != mqtt.MQTT_ERR_SUCCESS:
            raise LinkError("subscribe failed: %s" % mqtt.error_string(result))
        codes = self._wait_ack(mid, timeout, "the subscription to %s"
                               % ", ".join(topic_filters))
        refused = [f for f, code in zip(topic_filters, codes or ())
                   if getattr(code, "is_failure", False)]
        if refused:
            raise LinkError("the broker refused the subscription to %s (not allowed "
                            "for %s?)" % (", ".join(refused), self.broker.username))

    def publish(self, topic, payload, timeout=5.0):
        """Publish at QoS 1, not retained, and wait until the broker has it."""
        info = self._client.publish(topic, payload, qos=1, retain=False)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise LinkError("publish to %s failed: %s" % (topic, mqtt.error_string(info.rc)))
        self._wait_ack(info.mid, timeout, "the publish to %s" % topic)

    def next(self, timeout):
        """The next Heard message, or None after ``timeout`` seconds."""
        try:
            return self.heard.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return None

    # -- paho callbacks (network thread) -----------------------------------
    def _wait_ack(self, mid, timeout, what):
        deadline = time.monotonic() + timeout
        while True:
            with self._acks_lock:
                if mid in self._acks:
                    return self._acks.pop(mid)
            if time.monotonic() > deadline:
                raise LinkError("the broker did not acknowledge %s within %.0f s"
                                % (what, timeout))
            time.sleep(0.005)

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            self._refused = _refusal(self.broker, reason_code)
        else:
            self._connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        if not self._connected.is_set() and self._refused is None:
            self._refused = _refusal(self.broker, reason_code)

    def _on_ack(self, client, userdata, mid, reason_codes, properties):
        with self._acks_lock:
            self._acks[mid] = list(reason_codes)

    def _on_publish(self, client, userdata, mid, reason_code, properties):
        with self._acks_lock:
            self._acks[mid] = [reason_code]

    def _on_message(self, client, userdata, message):
        try:
            topic = message.topic
        except UnicodeDecodeError:
            return
        self.heard.put(Heard(topic, bytes(message.payload), bool(message.retain),
                             time.monotonic()))
