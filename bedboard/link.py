"""The broker link: the one place that turns broker settings into a paho client.

A :class:`BrokerLink` is a paho-mqtt 2 client (VERSION2 callbacks) set up the
way every bedboard device needs it:

* TLS and username/password from :class:`~bedboard.settings.BrokerSettings`;
* a will of ``offline`` (retained, QoS 1) on ``{p}/device/{id}/status``, and
  ``online`` published on every connect (and again by :meth:`refresh_status`,
  so that a stale ``offline`` delivered out of order cannot stick);
* its subscriptions renewed on every connect, so they survive a broker
  restart;
* reconnects with backoff — the first connection too (``connect_async``), so
  a device that boots before its broker still connects when it appears;
* **failover**: with ``broker.hosts`` (a cluster's nodes) it tries them in
  order and moves to the next when one refuses, cannot be reached, or drops
  the connection; each move is logged once per outage.  Within one round of
  the list the next node is tried after ``min_backoff``; each full round that
  fails doubles that, up to ``max_backoff``.  TLS, credentials, keepalive,
  the will, the status and the subscriptions are the same on every node;
* **subscriptions at QoS 0**: a bedboard consumer needs each topic's latest
  message, and gets the retained ones again on every (re)connect; with clean
  sessions QoS 1 would add nothing on Mosquitto, while on a NATS cluster each
  QoS 1 subscription becomes a replicated JetStream consumer whose creation
  times out (SUBACK failure) while a node is down (measured: 4 s and
  "Unspecified error"; a QoS 0 subscription on the same node, 10 ms).
  Publications stay QoS 1;
* no blocking call on paho's network thread: the callbacks given to it must
  return quickly (hand work to another thread or queue), and an exception in
  one is logged, never allowed to kill the network loop;
* a :meth:`~BrokerLink.stop` that is bounded in time, whatever the network
  thread is doing, so a shutdown fits systemd's ``TimeoutStopSec``.

One lock decides who sends what.  Whether the link counts as connected,
which subscriptions it holds, and whether it is stopping change together,
under ``_lock``, and every SUBSCRIBE, UNSUBSCRIBE and status publish that
depends on them is handed to paho while the lock is held: a subscription
added at any moment is therefore sent exactly once per connection — by the
network thread's connect handler if it was added before the connection
came up, by the caller if after — and ``online`` is never published once
:meth:`~BrokerLink.stop` has begun.  Handing a packet to paho only queues
it, so the lock is never held while waiting for the network; and paho's
``on_publish``, which paho calls under its own message lock, never takes it.

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
SUBSCRIBE_QOS = 0     # see the module docstring


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
    ``on_published(mid)`` run on paho's network thread.  ``on_connection(True)``
    comes after the connection's subscriptions were handed to paho.
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
        self._addresses = list(broker.addresses)
        self._at = 0                  # which address the link uses (or tries next)
        self._failed = 0              # failures since the last good connection
        self._told = set()            # addresses whose failure was logged this outage
        self._min_backoff, self._max_backoff = min_backoff, max_backoff
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
    def address(self):
        """``(host, port)`` of the broker (node) the link uses or tries now."""
        return self._addresses[self._at]

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
            host, port = self._addresses[self._at]
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
        much for paho's network thread to end (if it does not — it may be
        stuck connecting to a host that does not answer — it is left behind:
        it is a daemon thread and ends with the process).  A connection that
        comes up while this runs says ``offline``, not ``online``, and is
        closed at once.  Not to be called from a paho callback.
        """
        with self._lock:
            if not self._started:
                return
            self._started = False
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
    def publish(self, topic, payload, retain=False, qos=1):
        """Queue a message; returns paho's MQTTMessageInfo (``.mid``).

        Never blocks.  While disconnected, paho keeps the message in memory
        and sends it on reconnect (``rc`` is then MQTT_ERR_NO_CONN: that is
        not a failure, and publishing again would duplicate it).  paho sends
        such messages — and those it had sent but saw no PUBACK for — again
        only *after* ``on_connection(True)``: a message published in answer
        to that callback may reach the broker before them.
        """
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            raise LinkError("publish to %s failed: %s" % (topic, mqtt.error_string(info.rc)))
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

    def subscribe(self, topic_filter):
        """Add a subscription, now if connected and again on every reconnect."""
        with self._lock:
            if topic_filter in self._subscriptions:
                return
            self._subscriptions.append(topic_filter)
            if self._connected:
                self._client.subscribe(topic_filter, qos=SUBSCRIBE_QOS)

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
            if topic_filter not in self._subscriptions:
                return
            self._subscriptions.remove(topic_filter)
            if self._connected:
                self._client.unsubscribe(topic_filter)

    # -- paho callbacks (network thread) -----------------------------------
    def _set_connected(self, connected):
        with self._lock:
            changed = self._mark_connected(connected)
        if changed:
            self._tell_connection(connected)

    def _mark_connected(self, connected):
        """Record ``connected`` (the lock held); return whether it changed."""
        if connected == self._connected:
            return False
        self._connected = connected
        self._changed_at = time.monotonic()
        return True

    def _tell_connection(self, connected):
        if self._on_connection is not None:
            try:
                self._on_connection(connected)
            except Exception:  # noqa: BLE001 - never kill paho's loop
                _LOG.exception("on_connection callback failed")

    _SAID = {"lost": "lost broker %s:%d (%s)", "unreachable": "broker %s:%d cannot be "
             "reached%s", "refused": "broker %s:%d refused the connection (%s)"}

    def _move_on(self, kind, detail=""):
        """The current node failed: say so once, and try the next one next.

        ``kind`` is ``lost``, ``unreachable`` or ``refused``, ``detail`` paho's
        reason.  Runs on paho's network thread between two attempts; paho's
        own setters refuse a new host while it counts as connecting, so the
        next address is given the documented way, ``connect_async``, which only
        records it for paho's reconnect loop (never while stopping: that would
        undo the disconnect).
        """
        with self._lock:
            failed = self._addresses[self._at]
            said = self._SAID[kind] % (failed[0], failed[1], detail)
            self._failed += 1
            if len(self._addresses) == 1:
                if failed not in self._told:
                    self._told.add(failed)
                    _LOG.warning("%s; reconnecting", said)
                return
            self._at = (self._at + 1) % len(self._addresses)
            host, port = self._addresses[self._at]
            rounds = (self._failed - 1) // len(self._addresses)
            delay = min(self._max_backoff, self._min_backoff * 2 ** min(rounds, 16))
            if failed not in self._told:
                self._told.add(failed)
                _LOG.warning("%s; trying %s:%d next", said, host, port)
            else:
                _LOG.debug("%s; trying %s:%d in %.0f s", said, host, port, delay)
            if self._stopping:
                return
            try:
                self._client.connect_async(host, port, keepalive=self.broker.keepalive)
            except (OSError, ValueError) as exc:
                _LOG.warning("could not switch to broker %s:%d: %s", host, port, exc)
        self._client.reconnect_delay_set(min_delay=delay,
                                         max_delay=max(delay, self._max_backoff))

    def _handle_connect_fail(self, client, userdata):
        self._move_on("unreachable")

    def _handle_subscribe(self, client, userdata, mid, reason_codes, properties):
        failed = [code for code in reason_codes if code.is_failure]
        if failed:
            host, port = self.address
            _LOG.warning("broker %s:%d refused a subscription (%s): what it covers "
                         "will not arrive until the link reconnects", host, port,
                         ", ".join(str(code) for code in failed))

    def _handle_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            self._move_on("refused", reason_code)
            return
        with self._lock:
            if self._stopping:
                # stop() began while this connection was being set up: it
                # must not leave a retained "online" behind.
                _LOG.info("connected to broker %s:%d while stopping: offline, and "
                          "disconnecting", *self._addresses[self._at])
                client.publish(self.status_topic, OFFLINE, qos=1, retain=True)
                client.disconnect()
                return
            host, port = self._addresses[self._at]
            _LOG.info("connected to broker %s:%d as %s", host, port, self.device_id)
            if self._failed:
                self._failed = 0
                self._told.clear()
                if len(self._addresses) > 1:
                    client.reconnect_delay_set(min_delay=self._min_backoff,
                                               max_delay=self._max_backoff)
            client.publish(self.status_topic, ONLINE, qos=1, retain=True)
            if self._subscriptions:
                client.subscribe([(topic, SUBSCRIBE_QOS) for topic in self._subscriptions])
            changed = self._mark_connected(True)
        if changed:
            self._tell_connection(True)

    def _handle_disconnect(self, client, userdata, flags, reason_code, properties):
        with self._lock:
            lost = self._connected and not self._stopping
            changed = self._mark_connected(False)
        if lost:
            self._move_on("lost", reason_code)
        if changed:
            self._tell_connection(False)

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
        if self._on_published is None:
            return
        try:
            self._on_published(mid)
        except Exception:  # noqa: BLE001 - never kill paho's loop
            _LOG.exception("on_published callback failed for mid %s", mid)
