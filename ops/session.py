"""A short MQTT session for one operator's command: log in, listen, publish, leave.

Not :class:`bedboard.link.BrokerLink`, on purpose: that is a *device's*
link — a will and a retained ``online`` on the device's status topic, its id
as client id, reconnecting for ever.  A command a person runs must fail at
once and say why (wrong password, certificate, no broker), must leave no
status behind (``bedboard status`` would list the tool as a device), and
two bed managers running it at once must not kick each other off (so each
session has a client id of its own).

What it shares with the link (:mod:`bedboard.mqttclient`): the way broker
settings become a paho client (login, TLS, paho's own log lines kept at
debug — its "Client is not connected" after a clean disconnect is no
error), the host-list behaviour — ``broker.hosts`` tried in order, and the
next node tried whenever one fails, whatever the failure: not reached,
refused, no CONNACK within ``CONNECT_TIMEOUT`` (a hung or partitioned node
accepts TCP and says nothing), or closed before answering — and
subscriptions at QoS 0 (on a NATS cluster a QoS 1 subscription is a
replicated JetStream consumer, whose creation fails while a node is down).
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

from bedboard.errors import LinkError
from bedboard.mqttclient import CONNECT_TIMEOUT, SUBSCRIBE_QOS, new_client

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Heard:
    """One message the session received, with when (``time.monotonic()``)."""

    topic: str
    payload: bytes
    retained: bool
    received: float


def _refusal(broker, host, port, reason_code):
    text = str(reason_code)
    login = broker.username or "(no user name)"
    if "authori" in text.lower() or "password" in text.lower():
        return ("the broker %s:%d refused the login as %s: %s (check broker.username "
                "and the password in broker.password_file)" % (host, port, login, text))
    return "the broker %s:%d refused the connection: %s" % (host, port, text)


class Session:
    """One connection to the broker for the length of a command."""

    def __init__(self, broker, name="bedboard", connect_timeout=CONNECT_TIMEOUT):
        self.broker = broker
        self.heard = queue.Queue()
        self.connect_timeout = connect_timeout
        self._client_id = "%s-%s" % (name, os.urandom(4).hex())
        self._client = None
        self._answered = threading.Event()   # the current attempt connected or failed
        self._failure = None                  # why it failed
        self._acks = {}
        self._acks_lock = threading.Lock()
        self._new_client()                    # the TLS/login setup fails here, at once

    def _new_client(self):
        client = new_client(self.broker, self._client_id, self.connect_timeout,
                            reconnect=False)
        client.on_connect = self._on_connect
        client.on_message = self._on_message
        client.on_subscribe = self._on_ack
        client.on_publish = self._on_publish
        client.on_disconnect = self._on_disconnect
        self._client = client
        self._answered.clear()
        self._failure = None
        return client

    # -- life cycle --------------------------------------------------------
    def _connect(self, client, host, port):
        """Open the TCP (and TLS) connection to one node; raise LinkError saying why not."""
        try:
            client.connect(host, port, keepalive=max(self.broker.keepalive, 10))
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

    def _open_on(self, host, port):
        """Log in on one node within ``connect_timeout``; raise LinkError saying why not."""
        client = self._client
        self._connect(client, host, port)
        client.loop_start()
        if not self._answered.wait(self.connect_timeout):
            self._failure = ("the broker at %s:%d did not answer the MQTT handshake "
                             "within %.0f s" % (host, port, self.connect_timeout))
        if self._failure is not None:
            self._abandon()
            raise LinkError(self._failure)

    def open(self):
        """Connect and log in, to the first node of ``broker.hosts`` that answers.

        Raises LinkError saying why not — every node's reason, when there are
        several.
        """
        failures = []
        for host, port in self.broker.addresses:
            if failures:
                self._new_client()         # a fresh client for each node tried
            try:
                self._open_on(host, port)
            except LinkError as exc:
                failures.append(str(exc))
                continue
            if failures:
                _LOG.warning("%s; used %s:%d", "; ".join(failures), host, port)
            return self
        if len(failures) == 1:
            raise LinkError(failures[0])
        raise LinkError("no node of the broker answered: %s" % "; ".join(failures))

    def _abandon(self):
        """Leave this attempt's client: disconnect, and stop its thread within a bound."""
        client, self._client = self._client, None
        client.disconnect()
        stopper = threading.Thread(target=client.loop_stop, daemon=True)
        stopper.start()
        stopper.join(2.0)

    def close(self):
        """Leave the broker and stop the network thread."""
        if self._client is None:
            return
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
        """Subscribe (at QoS 0, see the module docstring) and wait for the SUBACK."""
        result, mid = self._client.subscribe([(f, SUBSCRIBE_QOS) for f in topic_filters])
        if result != mqtt.MQTT_ERR_SUCCESS:
            raise LinkError("subscribe failed: %s" % mqtt.error_string(result))
        codes = self._wait_ack(mid, timeout, "the subscription to %s"
                               % ", ".join(topic_filters))
        refused = [(f, str(code)) for f, code in zip(topic_filters, codes or ())
                   if getattr(code, "is_failure", False)]
        if refused:
            raise LinkError("the broker refused the subscription to %s (%s): check that "
                            "its ACL lets %s read it" % (
                                ", ".join(f for f, _ in refused),
                                ", ".join(sorted({why for _, why in refused})),
                                self.broker.username or "this login"))

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
        if client is not self._client:
            return
        if reason_code.is_failure:
            self._failure = _refusal(self.broker, client.host, client.port, reason_code)
        self._answered.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        if client is self._client and not self._answered.is_set():
            self._failure = ("the broker at %s:%d closed the connection before answering "
                             "the MQTT handshake" % (client.host, client.port))
            self._answered.set()

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
