"""The broker link: the one place that turns broker settings into a paho client.

A :class:`BrokerLink` is a paho-mqtt 2 client (VERSION2 callbacks) set up the
way every bedboard device needs it:

* TLS and username/password from :class:`~bedboard.settings.BrokerSettings`;
* a will of ``offline`` (retained, QoS 1) on ``{p}/device/{id}/status``, and
  ``online`` published on every connect;
* its subscriptions renewed on every connect, so they survive a broker
  restart;
* reconnects with backoff — the first connection too (``connect_async``), so
  a device that boots before its broker still connects when it appears;
* no blocking call on paho's network thread: the callbacks given to it must
  return quickly (hand work to another thread or queue), and an exception in
  one is logged, never allowed to kill the network loop.

paho's own errors become :class:`~bedboard.errors.LinkError`.
"""

import logging
import ssl
import threading
import time
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from .errors import LinkError
from .topics import check_device_id, status_topic

_LOG = logging.getLogger(__name__)

ONLINE = b"online"
OFFLINE = b"offline"


@dataclass(frozen=True)
class Received:
    """One message from the broker, as bedboard passes it on."""

    topic: str
    payload: bytes
    retained: bool


class _NotConnectedIsDebug(logging.Filter):
    """Demotes paho's "Client is not connected" error to debug.

    paho 2.2 logs it at ERROR on every reconnect attempt while the broker is
    down, and once more after our own ``disconnect()``; the link already says
    once, as a warning, that the broker was lost.  A journal filled with it
    during an outage would hide what matters.
    """

    def filter(self, record):
        if record.levelno >= logging.ERROR and "is not connected" in record.getMessage():
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


_PAHO_LOG = logging.getLogger("bedboard.paho")
_PAHO_LOG.addFilter(_NotConnectedIsDebug())


class BrokerLink:
    """A connected-when-possible MQTT client for one bedboard device.

    ``on_message(Received)``, ``on_connection(bool)`` and
    ``on_published(mid)`` run on paho's network thread.
    """

    def __init__(self, broker, device_id, subscriptions=(), on_message=None,
                 on_connection=None, on_published=None, min_backoff=1,
                 max_backoff=30):
        self.broker = broker
        self.device_id = check_device_id(device_id)
        self.status_topic = status_topic(broker.prefix, device_id)
        self._subscriptions = list(subscriptions)
        self._on_message = on_message
        self._on_connection = on_connection
        self._on_published = on_published
        self._lock = threading.Lock()
        self._connected = False
        self._changed_at = time.monotonic()
        self._started = False
        self._stopping = False
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=device_id,
                                   clean_session=True,
                                   protocol=mqtt.MQTTv311, reconnect_on_failure=True)
        client = self._client
        client.enable_logger(_PAHO_LOG)
        client.reconnect_delay_set(min_delay=min_backoff, max_delay=max_backoff)
        client.max_queued_messages_set(0)
        client.will_set(self.status_topic, OFFLINE, qos=1, retain=True)
        try:
            if broker.username:
                client.username_pw_set(broker.username, broker.password)
            if broker.tls is not None:
                client.tls_set(ca_certs=broker.tls.ca, certfile=broker.tls.cert,
                               keyfile=broker.tls.key,
                               tls_version=ssl.PROTOCOL_TLS_CLIENT)
        except (OSError, ssl.SSLError, ValueError) as exc:
            raise LinkError("broker TLS/login setup failed: %s" % exc) from exc
        client.on_connect = self._handle_connect
        client.on_disconnect = self._handle_disconnect
        client.on_message = self._handle_message
        client.on_publish = self._handle_publish

    # -- state -------------------------------------------------------------
    @property
    def connected(self):
        """Whether the link is connected to the broker right now."""
        return self._connected

    @property
    def changed_at(self):
        """``time.monotonic()`` when ``connected`` last changed."""
        return self._changed_at

    # -- life cycle --------------------------------------------------------
    def start(self):
        """Begin connecting in the background; returns at once."""
        if self._started:
            return
        self._stopping = False
        try:
            self._client.connect_async(self.broker.host, self.broker.port,
                                       keepalive=self.broker.keepalive)
            self._client.loop_start()
        except (OSError, ValueError) as exc:
            raise LinkError("cannot start the broker link to %s:%d: %s"
                            % (self.broker.host, self.broker.port, exc)) from exc
        self._started = True

    def wait_connected(self, timeout):
        """Block until connected or ``timeout`` seconds pass; return connected."""
        deadline = time.monotonic() + timeout
        while not self._connected and time.monotonic() < deadline:
            time.sleep(0.02)
        return self._connected

    def stop(self, timeout=2.0):
        """Say ``offline``, disconnect cleanly and stop the network thread.

        Not to be called from a paho callback.
        """
        if not self._started:
            return
        self._started = False
        self._stopping = True
        if self._connected:
            info = self._client.publish(self.status_topic, OFFLINE, qos=1, retain=True)
            try:
                info.wait_for_publish(timeout)
            except (RuntimeError, ValueError) as exc:
                _LOG.warning("offline status not confirmed: %s", exc)
        self._client.disconnect()
        self._client.loop_stop()
        self._stopping = False
        self._set_connected(False)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info):
        self.stop()

    # -- traffic -----------------------------------------------------------
    def publish(self, topic, payload, retain=False, qos=1):
        """Queue a message; returns paho's MQTTMessageInfo (``.mid``).

        Never blocks.  While disconnected, paho keeps the message in memory
        and sends it on reconnect (``rc`` is then MQTT_ERR_NO_CONN: that is
        not a failure, and publishing again would duplicate it).
        """
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            raise LinkError("publish to %s failed: %s" % (topic, mqtt.error_string(info.rc)))
        return info

    def subscribe(self, topic_filter):
        """Add a subscription, now if connected and again on every reconnect."""
        with self._lock:
            if topic_filter in self._subscriptions:
                return
            self._subscriptions.append(topic_filter)
        if self._connected:
            self._client.subscribe(topic_filter, qos=1)

    def unsubscribe(self, topic_filter):
        """Drop a subscription."""
        with self._lock:
            if topic_filter not in self._subscriptions:
                return
            self._subscriptions.remove(topic_filter)
        if self._connected:
            self._client.unsubscribe(topic_filter)

    # -- paho callbacks (network thread) -----------------------------------
    def _set_connected(self, connected):
        if connected == self._connected:
            return
        self._connected = connected
        self._changed_at = time.monotonic()
        if self._on_connection is not None:
            try:
                self._on_connection(connected)
            except Exception:  # noqa: BLE001 - never kill paho's loop
                _LOG.exception("on_connection callback failed")

    def _handle_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            _LOG.warning("broker %s:%d refused the connection: %s",
                         self.broker.host, self.broker.port, reason_code)
            return
        _LOG.info("connected to broker %s:%d as %s", self.broker.host,
                  self.broker.port, self.device_id)
        client.publish(self.status_topic, ONLINE, qos=1, retain=True)
        with self._lock:
            subscriptions = list(self._subscriptions)
        if subscriptions:
            client.subscribe([(topic, 1) for topic in subscriptions])
        self._set_connected(True)

    def _handle_disconnect(self, client, userdata, flags, reason_code, properties):
        if self._connected and not self._stopping:
            _LOG.warning("lost broker %s:%d (%s); reconnecting", self.broker.host,
                         self.broker.port, reason_code)
        self._set_connected(False)

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
        if self._on_published is None:
            return
        try:
            self._on_published(mid)
        except Exception:  # noqa: BLE001 - never kill paho's loop
            _LOG.exception("on_published callback failed for mid %s", mid)
