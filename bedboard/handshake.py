"""A broker link's connections, one attempt at a time (the part of BrokerLink on paho's thread).

:class:`Handshakes` is the part of :class:`bedboard.link.BrokerLink` that
paho's network thread runs between and during connections: each attempt
starts at paho's ``on_pre_connect``, is given ``connect_timeout`` to reach
its CONNACK (a watchdog timer shuts the socket when it is overdue, and paho
then reports the end of the stream), and whatever ends it — not reached,
refused, no answer, closed before answering, a good connection dropped —
is told to the link's :class:`~bedboard.failover.Failover`, which says what
to log and which node to try next.

**Order on the wire.**  paho would write a message handed to it while it
waits for a CONNACK straight onto the new socket, and send the messages of
the lost connection again only after the connect callback — so a newer
message could reach the broker before an older one.  So nothing is handed
to paho between the start of a connection attempt and its CONNACK (its
``on_pre_connect`` and ``on_connect``, both under ``_lock``, as every hand-
over is): a message published then is kept by the link.  At the CONNACK,
before anything else, the link takes back what paho still holds of earlier
connections and hands it over again in its order, then what it kept, then
``online`` and the subscriptions.  A message published for one connection
only (``publish(..., connection=N)``) is never sent on another: its owner
(the agent's publisher) is told of the new connection and sends again what
it still needs, in its own order.

**Locks.**  ``_lock`` is held while anything is handed to paho and while a
connection starts or comes up, so the connected flag, the subscriptions and
the stopping flag change together with what was sent: a subscription added
at any moment is sent exactly once per connection, and ``online`` is never
published once :meth:`~BrokerLink.stop` has begun.  paho calls
``on_disconnect`` (and ``on_publish``) sometimes holding its own message
lock, which a caller holding ``_lock`` may be waiting for in ``publish()``:
those two never take ``_lock`` — only ``_state``, a small lock held around
flag changes and never while waiting for anything.

It is a mixin: it uses the link's own state (``self._client``,
``self._failover``, the locks), set up in ``BrokerLink.__init__``.
"""

import logging
import socket
import sys
import threading
import time

from .failover import closed_by
from .mqttclient import (SUBSCRIBE_QOS, Failure, attempt_failure, closed_early, no_answer,
                         refusal)

_LOG = logging.getLogger(__name__)

ONLINE = b"online"
OFFLINE = b"offline"


class Handshakes:
    """The connection callbacks of a :class:`~bedboard.link.BrokerLink`."""

    # -- the connected flag ------------------------------------------------
    def _set_connected(self, connected):
        with self._state:
            changed = self._mark_connected(connected)
        if changed:
            self._tell_connection(connected)

    def _mark_connected(self, connected):
        """Record ``connected`` (``_state`` held); return whether it changed."""
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

    # -- one connection attempt (paho's network thread, and the watchdog) ----
    def _handle_pre_connect(self, client, userdata):
        # paho closed the last socket and is about to open a new one: nothing
        # is handed to it from now until this attempt's CONNACK.
        try:
            with self._lock:
                self._attempt += 1
                self._attempt_began = time.monotonic()
                self._attempt_over, self._overdue = False, False
                self._paho_log.take()
                with self._state:
                    changed = self._mark_connected(False)
                if self._watchdog is not None:
                    self._watchdog.cancel()
                self._watchdog = threading.Timer(self._connect_timeout,
                                                 self._handshake_overdue,
                                                 args=(self._attempt,))
                self._watchdog.daemon = True
                self._watchdog.start()
            if changed:
                self._tell_connection(False)
        except Exception:  # noqa: BLE001 - an exception here would end paho's thread
            _LOG.exception("the broker link's connect preparation failed")

    def _handshake_overdue(self, attempt):
        """The watchdog: no CONNACK within the bound — cut the attempt short."""
        with self._lock:
            if attempt != self._attempt or self._attempt_over:
                return
            self._overdue = True
            sock = self._client.socket()
            if sock is not None:
                # paho's thread then reads the end of the stream and reports
                # a disconnect, which moves the link on.  (Still connecting
                # over TCP or TLS, there is no socket yet: paho's own
                # connect_timeout, the same bound, ends that.)
                try:
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)
                except OSError:
                    pass

    def _attempt_failed(self, failure):
        """This attempt failed (once per attempt): say so, and move on."""
        if self._attempt_over:
            return
        self._attempt_over = True
        if self._watchdog is not None:
            self._watchdog.cancel()
        self._takeovers.failed()
        self._move_on(self._failover.failed(failure, spent=time.monotonic()
                                            - self._attempt_began))

    def _move_on(self, move):
        """Log ``move`` and point paho at its node (network thread, between attempts)."""
        if move.said:
            _LOG.log(move.level, "%s", move.said)
        if move.delay is None:
            return
        with self._state:
            # paho's setters refuse a new host while it counts as connecting;
            # connect_async only records it for paho's reconnect loop (never
            # while stopping: that would undo the disconnect).
            if self._stopping:
                return
            try:
                self._client.connect_async(*move.address, keepalive=self.broker.keepalive)
            except (OSError, ValueError) as exc:
                _LOG.warning("could not switch to broker %s:%d: %s", *move.address, exc)
                return
        self._client.reconnect_delay_set(min_delay=move.delay,
                                         max_delay=max(move.delay, self._max_backoff))

    def _handle_connect_fail(self, client, userdata):
        # paho calls this inside its "except OSError" around the connect:
        # the exception being handled is the reason.
        self._attempt_failed(attempt_failure(sys.exc_info()[1], self.address[0],
                                             self._connect_timeout,
                                             tls=self.broker.tls is not None))

    def _handle_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            self._attempt_failed(refusal(reason_code, self.broker.username))
            return
        stopping = changed = False
        with self._lock:
            late = self._overdue or self._attempt_over
            if not late:
                self._attempt_over = True
                self._watchdog.cancel()
                stopping = self._stopping
                if stopping:
                    # stop() began while this connection was being set up:
                    # it must not leave a retained "online" behind.
                    client.publish(self.status_topic, OFFLINE, qos=1, retain=True)
                    client.disconnect()
                else:
                    changed = self._came_up(client)
        if late:
            # the CONNACK came after the watchdog had shut the socket
            self._attempt_failed(no_answer(self._connect_timeout))
        elif stopping:
            _LOG.info("connected to broker %s:%d while stopping: offline, and "
                      "disconnecting", *self.address)
        else:
            _LOG.info("connected to broker %s:%d as %s", *self.address, self.device_id)
            self._takeovers.connected(time.monotonic())
            if self._failover.connected() and len(self._failover.addresses) > 1:
                client.reconnect_delay_set(min_delay=self._min_backoff,
                                           max_delay=self._max_backoff)
            if changed:
                self._tell_connection(True)

    def _came_up(self, client):
        """Hand everything over on the new connection (``_lock`` held); mark it up."""
        self._hand_over_again(client)
        client.publish(self.status_topic, ONLINE, qos=1, retain=True)
        if self._subscriptions:
            client.subscribe([(topic, SUBSCRIBE_QOS) for topic in self._subscriptions])
        self._connection += 1
        with self._state:
            return self._mark_connected(True)

    def _hand_over_again(self, client):
        """Before anything new: what earlier connections left unacknowledged, then what was kept."""
        again = [m for m in client.drop_out_messages() if m.mid not in self._owned]
        self._owned.clear()
        kept, self._kept = self._kept, []
        for message in again:
            client.publish(message.topic, message.payload, qos=message.qos,
                           retain=message.retain)
        for topic, payload, qos, retain in kept:
            client.publish(topic, payload, qos=qos, retain=retain)
        if again or kept:
            _LOG.debug("handed over again %d message(s) of an earlier connection and %d "
                       "kept while disconnected", len(again), len(kept))

    def _handle_disconnect(self, client, userdata, flags, reason_code, properties):
        # Never takes _lock (see the module docstring).
        socket_error = self._paho_log.take()
        with self._state:
            lost = self._connected and not self._stopping
            changed = self._mark_connected(False)
        keepalive = str(reason_code) == "Keep alive timeout"
        if lost:
            self._connection_lost(socket_error, keepalive)
        elif not self._attempt_over:
            self._attempt_failed(no_answer(self._connect_timeout)
                                 if self._overdue or keepalive
                                 else closed_early(socket_error))
        if changed:
            self._tell_connection(False)

    def _connection_lost(self, socket_error, keepalive):
        if keepalive:
            failure = Failure("no answer within the keepalive, %d s"
                              % self.broker.keepalive)
        else:
            failure = closed_by(socket_error)
        if self._takeovers.lost(time.monotonic(), not keepalive and not socket_error):
            host, port = self.address
            _LOG.error("broker %s:%d closed this device's connection %d times in a row "
                       "within %.0f s of accepting it: another client is connected with "
                       "this device's client id %s — two devices given one id, or another "
                       "account taking its session — and each connection takes the "
                       "session from the other (give every device its own id; see "
                       "docs/operate.md)%s", host, port, self._takeovers.in_a_row,
                       self._takeovers.short, self.device_id,
                       "" if self._takeovers.total <= self._takeovers.in_a_row else
                       "; session taken over %d times so far" % self._takeovers.total)
        self._move_on(self._failover.failed(failure, lost=True))
