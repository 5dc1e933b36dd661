"""A plain paho client for tests: subscribe, publish, and wait for messages."""

import threading
import time
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


class Probe:
    """Records every message on its subscriptions; reconnects by itself."""

    def __init__(self, host, port, subscriptions=("#",)):
        self.messages = []
        self._cond = threading.Condition()
        self._subscriptions = list(subscriptions)
        self.connected = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2,
                                  client_id="probe-" + uuid.uuid4().hex[:8])
        self.client.reconnect_delay_set(0.1, 0.5)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *a: self.connected.clear()
        self.client.on_message = self._on_message
        self.client.connect_async(host, port, keepalive=10)

    def __enter__(self):
        self.client.loop_start()
        assert self.connected.wait(10), "probe could not connect"
        return self

    def __exit__(self, *exc):
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        for topic in self._subscriptions:
            client.subscribe(topic, qos=1)
        # a round trip so that subscriptions are live before tests go on
        self.connected.set()

    def _on_message(self, client, userdata, message):
        with self._cond:
            self.messages.append(message)
            self._cond.notify_all()

    def publish(self, topic, payload, retain=False, qos=1, timeout=5):
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish(timeout)
        return info

    def on(self, topic):
        """Payloads received so far on exactly ``topic``."""
        with self._cond:
            return [m.payload for m in self.messages if m.topic == topic]

    def wait_for(self, predicate, timeout=10.0):
        """Wait until ``predicate(messages)`` is true; return its value."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                result = predicate(self.messages)
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError("timed out after %.1f s; got %d messages: %s"
                                         % (timeout, len(self.messages),
                                            [(m.topic, m.payload[:60])
                                             for m in self.messages[-10:]]))
                self._cond.wait(remaining)

    def wait_topic(self, topic, count=1, timeout=10.0):
        """Wait for ``count`` messages on ``topic``; return their payloads."""
        return self.wait_for(lambda ms: (lambda got: got if len(got) >= count else None)(
            [m.payload for m in ms if m.topic == topic]), timeout)
