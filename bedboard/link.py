"""The broker link: the one place where a bedboard device talks to its broker.

A :class:`BrokerLink` is a paho-mqtt 2 client (:func:`bedboard.mqttclient.new_client`)
set up the way every bedboard device needs it:

* TLS and username/password from :class:`~bedboard.settings.BrokerSettings`;
* a will of ``offline`` (retained, QoS 1) on ``{p}/device/{id}/status``, and
  ``online`` published on every connect (and again by :meth:`refresh_status`,
  so that a stale ``offline`` delivered out of order cannot stick);
* its subscriptions renewed on every connect, so they survive a broker
  restart;
* reconnects with backoff — the first connection too (``connect_async``), so
  a device that boots before its broker still connects when it appears;
* **a bounded handshake**: a node must complete TCP, TLS and the MQTT
  handshake (its CONNACK) within ``connect_timeout`` (5 s) — a hung
  (SIGSTOPped) broker, a partitioned node or a silent TCP acceptor would
  otherwise hold the link until paho's keepalive, on the same node, for
  ever;
* **failover** (:mod:`bedboard.failover`): with ``broker.hosts`` it tries the
  nodes in order and moves to the next whenever one fails, whatever paho
  reports — not reached, refused, no answer within the bound, closed before
  answering, or a good connection dropped (a node that hangs while
  connected is found by paho's keepalive, within two keepalives).  Each
  failure is said once per outage with its real reason (a certificate that
  failed which check, a login refused, a port with nothing on it): at ERROR
  when the device's settings are at fault.  TLS, credentials, keepalive, the
  will, the status and the subscriptions are the same on every node;
* a session taken by another client with the same id (two devices given
  one id, or another account using it) is said at ERROR, once: the broker
  then closes each connection soon after accepting it;
* **subscriptions at QoS 0**: a bedboard consumer needs each topic's latest
  message, and gets the retained ones again on every (re)connect; with clean
  sessions QoS 1 would add nothing on Mosquitto, while on a NATS cluster each
  QoS 1 subscription becomes a replicated JetStream consumer whose creation
  times out (SUBACK failure) while a node is down (measured: 4 s and
  "Unspecified error"; a QoS 0 subscription on the same node, 10 ms).
  Publications stay QoS 1;
* no blocking call on paho's network thread, and an exception in a callback
  is logged, never allowed to kill the network loop;
* a :meth:`~BrokerLink.stop` that is bounded in time, whatever the network
  thread is doing, so a shutdown fits systemd's ``TimeoutStopSec``.

How each connection attempt goes — the bound, the failover, the order on
the wire, the locks — is :mod:`bedboard.handshake`'s docstring.

paho's own errors become :class:`~bedboard.errors.LinkError`.
"""

import logging
import threading
import time
from dataclasses import dataclass

import paho.mqtt.client as mqtt

from .errors import LinkError
from .failover import Failover, Takeovers
from .handshake import OFFLINE, ONLINE, Handshakes
from .mqttclient import CONNECT_TIMEOUT, SUBSCRIBE_QOS, new_client
from .topics import check_device_id, status_topic

_LOG = logging.getLogger(__name__)

SUBSCRIBE_BATCH = 500     # topic filters in one SUBSCRIBE packet, at most

__all__ = ["BrokerLink", "Received", "ONLINE", "OFFLINE", "SUBSCRIBE_QOS"]


@dataclass(frozen=True)
class Received:
    """One message from the broker, as bedboard passes it on."""

    topic: str
    payload: bytes
    retained: bool


class BrokerLink(Handshakes):
    """A connected-when-possible MQTT client for one bedboard device.

    ``on_message(Received)``, ``on_connection(bool)`` and
    ``on_published(mid)`` run on paho's network thread.  ``on_connection(True)``
    comes after the connection's subscriptions were handed to paho, with
    :attr:`connection` already the new connection's number.
    """

    def __init__(self, broker, device_id, subscriptions=(), on_message=None,
                 on_connection=None, on_published=None, min_backoff=1,
                 max_backoff=30, connect_timeout=CONNECT_TIMEOUT):
        self.broker = broker
        self.device_id = check_device_id(device_id)
        self.status_topic = status_topic(broker.prefix, device_id)
        self._subscriptions = list(subscriptions)
        self._subscribed = set(self._subscriptions)    # the same, to look up
        self._on_message = on_message
        self._on_connection = on_connection
        self._on_published = on_published
        self._lock = threading.Lock()
        self._state = threading.Lock()
        self._failover = Failover(broker.addresses, min_backoff, max_backoff)
        self._takeovers = Takeovers()
        self._min_backoff, self._max_backoff = min_backoff, max_backoff
        self._connect_timeout = connect_timeout
        self._connected = False
        self._connection = 0          # good connections so far (the current one's number)
        self._changed_at = time.monotonic()
        self._started = False
        self._stopping = False
        self._attempt = 0             # connection attempts so far
        self._attempt_began = 0.0     # time.monotonic() when it began
        self._attempt_over = True     # the current attempt connected or failed
        self._overdue = False         # … was cut short for not answering in time
        self._watchdog = None
        self._kept = []               # publications made while not connected, in order
        self._owned = set()           # mids handed for one connection only
        client = self._client = new_client(broker, device_id, connect_timeout)
        self._paho_log = client.on_log
        client.reconnect_delay_set(min_delay=min_backoff, max_delay=max_backoff)
        client.max_queued_messages_set(0)
        client.will_set(self.status_topic, OFFLINE, qos=1, retain=True)
        client.on_pre_connect = self._handle_pre_connect
        client.on_connect = self._handle_connect
        client.on_connect_fail = self._handle_connect_fail
        client.on_disconnect = self._handle_disconnect
        client.on_subscribe = self._handle_subscribe
        client.on_message = self._handle_message
        client.on_publish = self._handle_publish

    # -- state -------------------------------------------------------------
    @property
    def connected(self):
        """Whether the link is connected to the broker right now."""
        return self._connected

    @property
    def connection(self):
        """The number of the current (or last) connection: 1 for the first, 0 before."""
        return self._connection

    @property
    def takeovers(self):
        """Connections the broker closed soon after accepting them, again and again:
        the session taken over by another client with this device's id."""
        return self._takeovers.total

    @property
    def address(self):
        """``(host, port)`` of the broker (node) the link uses or tries now."""
        return self._failover.current

    @property
    def changed_at(self):
        """``time.monotonic()`` when ``connected`` last changed."""
        return self._changed_at

    @property
    def subscriptions(self):
        """The topic filters renewed on every connect, in the order they were added."""
        with self._lock:
            return list(self._subscriptions)

    # -- life cycle --------------------------------------------------------
    def start(self):
        """Begin connecting in the background; returns at once."""
        with self._lock:
            if self._started:
                return
            self._stopping = False
            host, port = self.address
            try:
                self._client.connect_async(host, port, keepalive=self.broker.keepalive)
                self._client.loop_start()
            except (OSError, ValueError) as exc:
                raise LinkError("cannot start the broker link to %s:%d: %s"
                                % (host, port, exc)) from exc
            self._started = True

    def wait_connected(self, timeout):
        """Block until connected or ``timeout`` seconds pass; return connected."""
        deadline = time.monotonic() + timeout
        while not self._connected and time.monotonic() < deadline:
            time.sleep(0.02)
        return self._connected

    def stop(self, timeout=2.0):
        """Say ``offline``, disconnect cleanly and stop the network thread.

        Returns within about ``2 × timeout`` seconds whatever the network is
        doing: ``timeout`` for the broker to acknowledge ``offline``, and as
        much for paho's network thread to end (if it does not, it is left
        behind: it is a daemon thread and ends with the process).  A
        connection that comes up while this runs says ``offline``, not
        ``online``, and is closed at once.  Not to be called from a paho
        callback.
        """
        with self._lock:
            if not self._started:
                return
            self._started = False
            with self._state:
                self._stopping = True
            info = None
            if self._connected:
                info = self._client.publish(self.status_topic, OFFLINE, qos=1,
                                            retain=True)
        if info is not None:
            try:
                info.wait_for_publish(timeout)
                confirmed = info.is_published()
            except (RuntimeError, ValueError):
                confirmed = False
            if not confirmed:
                _LOG.warning("the broker did not confirm the offline status within "
                             "%.1f s", timeout)
        self._client.disconnect()
        self._stop_network_thread(timeout)
        if self._watchdog is not None:
            self._watchdog.cancel()
        self._set_connected(False)

    def _stop_network_thread(self, timeout):
        # paho's loop_stop() joins its thread without a bound (and that thread
        # keeps running while unacknowledged messages remain), so it is left
        # to a helper thread that is joined with one.
        stopper = threading.Thread(target=self._client.loop_stop,
                                   name="bedboard-link-stop", daemon=True)
        stopper.start()
        stopper.join(timeout)
        if stopper.is_alive():
            _LOG.warning("paho's network thread did not end within %.1f s; left "
                         "behind (it ends with the process)", timeout)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info):
        self.stop()

    # -- traffic -----------------------------------------------------------
    def publish(self, topic, payload, retain=False, qos=1, connection=None):
        """Hand a message to paho, in the order of the calls; never blocks.

        Returns paho's MQTTMessageInfo (``.mid``) when it was handed over now.
        When the link is not connected, the message is kept and handed over
        first thing on the next connection (None is returned); a message that
        paho had not seen acknowledged when the connection was lost is
        handed over again then too, before anything newer.  So the broker
        takes what one device publishes in the order it was published.

        With ``connection=N`` (a number from :attr:`connection`) the message
        is for that connection only: when it is not the one up, nothing is
        sent and None is returned, and it is not sent again on a later
        connection — the caller, told of each new connection, sends what it
        still needs itself.
        """
        with self._lock:
            if not self._connected or (connection is not None
                                       and connection != self._connection):
                if connection is None:
                    self._kept.append((topic, bytes(payload), qos, retain))
                return None
            info = self._client.publish(topic, payload, qos=qos, retain=retain)
            if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
                raise LinkError("publish to %s failed: %s"
                                % (topic, mqtt.error_string(info.rc)))
            if connection is not None:
                self._owned.add(info.mid)
            return info

    def refresh_status(self):
        """Publish the retained ``online`` again, if connected and not stopping.

        A device calls it on its heartbeat: an ``offline`` that reached a
        consumer after the newer ``online`` (a cluster, a bridge) is then
        corrected within one heartbeat.  Returns the MQTTMessageInfo, or None
        when nothing was sent.
        """
        with self._lock:
            if not self._connected or self._stopping:
                return None
            return self._client.publish(self.status_topic, ONLINE, qos=1, retain=True)

    def subscribe(self, *topic_filters):
        """Add subscriptions, now if connected and again on every reconnect.

        Several filters go in SUBSCRIBE packets of up to ``SUBSCRIBE_BATCH``
        each: a board that starts on 5,000 wards asks for 5,000 statuses.
        """
        with self._lock:
            new = [f for f in dict.fromkeys(topic_filters) if f not in self._subscribed]
            self._subscriptions.extend(new)
            self._subscribed.update(new)
            if self._connected:
                for at in range(0, len(new), SUBSCRIBE_BATCH):
                    self._client.subscribe([(f, SUBSCRIBE_QOS)
                                            for f in new[at:at + SUBSCRIBE_BATCH]])

    def renew(self, topic_filter):
        """Subscribe to ``topic_filter`` again on this connection (it must be held).

        MQTT replaces an existing subscription and sends its retained
        messages again: the way out when an answer seems lost.  Returns
        whether a SUBSCRIBE was handed to paho.
        """
        with self._lock:
            if topic_filter not in self._subscriptions or not self._connected:
                return False
            self._client.subscribe(topic_filter, qos=SUBSCRIBE_QOS)
            return True

    def unsubscribe(self, topic_filter):
        """Drop a subscription."""
        with self._lock:
            if topic_filter not in self._subscribed:
                return
            self._subscriptions.remove(topic_filter)
            self._subscribed.discard(topic_filter)
            if self._connected:
                self._client.unsubscribe(topic_filter)

    # -- the rest of paho's callbacks (network thread) -----------------------
    def _handle_subscribe(self, client, userdata, mid, reason_codes, properties):
        failed = [code for code in reason_codes if code.is_failure]
        if failed:
            host, port = self.address
            _LOG.warning("broker %s:%d refused a subscription (%s): what it covers "
                         "will not arrive until the link reconnects", host, port,
                         ", ".join(str(code) for code in failed))

    def _handle_message(self, client, userdata, message):
        if self._on_message is None:
            return
        try:
            topic = message.topic
        except UnicodeDecodeError:
            _LOG.warning("dropped a message whose topic is not UTF-8: %r",
                         message._topic[:80])  # pylint: disable=protected-access
            return
        try:
            self._on_message(Received(topic, bytes(message.payload),
                                      bool(message.retain)))
        except Exception:  # noqa: BLE001 - never kill paho's loop
            _LOG.exception("on_message callback failed for %s", topic)

    def _handle_publish(self, client, userdata, mid, reason_code, properties):
        # paho calls this holding its message lock: never take self._lock here.
        self._owned.discard(mid)
        if self._on_published is None:
            return
        try:
            self._on_published(mid)
        except Exception:  # noqa: BLE001 - never kill paho's loop
            _LOG.exception("on_published callback failed for mid %s", mid)
