"""From a press to a pixel: press → paint, burst and start-up, on the real display loop.

Each figure is read from a real ``bed-display --frame-log`` process (SDL's
dummy driver) on a private Mosquitto: the frame log's ``t`` is
CLOCK_MONOTONIC taken just after the frame was handed to the screen, the
same clock this process reads before it acts, so no clocks are compared
across machines or processes that do not share one.

* **press → paint**: a ward agent (:class:`agent.app.WardAgent` on
  gpiozero's MockFactory pins, debounce 0, its synced ledger, its publisher)
  runs here; a mock pin is driven low and high, and the time is taken until
  the board's frame log shows the tile's new figure.  Next to it the broker's
  own floor, paho → Mosquitto → paho at QoS 1, in the same run.
* **burst**: 200 wards on 40 tiles, all retained and shown; then 10,000
  state messages (50 changes per ward, interleaved) are written to the
  broker as one stream of QoS 1 packets (:class:`RawPublisher`: paho would
  set the pace itself), as fast as it acknowledges them; the time runs from
  the first byte to the first frame showing every tile's final figures; the
  board's peak RSS.
* **start-up**: 200 retained wards (and their agents' statuses) on the
  broker; from ``Popen`` to the first frame in which every tile shows its
  figures live.
"""

import logging
import os
import random
import shutil
import socket
import statistics
import struct
import tempfile
import threading
import time
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bedboard.mosquitto import PrivateBroker
from bedboard.payloads import WardState
from bedboard.topics import status_topic, ward_topic

from . import agent as agent_bench
from .common import (FRAME_60HZ, FrameFollower, agent_id, display_env, percentile,
                     start_display, status_mib, stop, ward_key, ward_state, write_board)

_LOG = logging.getLogger(__name__)

PRESSES = 600
PRESS_GAP = 0.02     # seconds between a paint and the next press, at least
BURST_WARDS = 200
BURST_TILES = 40
BURST_MESSAGES = 10000
START_WARDS = 200


class _FastPublisher:
    """A paho client publishing QoS 1 with a wide window, acknowledgements counted."""

    def __init__(self, port, inflight=1000):
        self.acked = 0
        self._cond = threading.Condition()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2,
                                  client_id="bench-burst-" + uuid.uuid4().hex[:8])
        self.client.max_inflight_messages_set(inflight)
        self.client.max_queued_messages_set(0)
        self.client.on_publish = self._on_publish
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_publish(self, client, userdata, mid, reason_code, properties):
        with self._cond:
            self.acked += 1
            self._cond.notify_all()

    def publish(self, topic, payload, retain=True):
        """Queue one QoS 1 message."""
        self.client.publish(topic, payload, qos=1, retain=retain)

    def wait_acked(self, count, timeout=60.0):
        """Wait until ``count`` messages were acknowledged."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.acked < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("the broker acknowledged %d of %d" % (self.acked,
                                                                           count))
                self._cond.wait(remaining)

    def close(self):
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()


def _mqtt_length(number):
    encoded = bytearray()
    while True:
        digit, number = number % 128, number // 128
        encoded.append(digit | (0x80 if number else 0))
        if not number:
            return bytes(encoded)


def _mqtt_string(text):
    data = text.encode("utf-8")
    return struct.pack("!H", len(data)) + data


class RawPublisher:
    """MQTT 3.1.1 QoS 1 PUBLISH packets written to the broker as one stream.

    paho spends ~100 µs of Python per publish, so it — not the broker —
    would set the pace of a burst (10,000 messages: ~1 s through paho, ~0.1 s
    this way, measured here).  This writes the packets straight to the socket
    and counts the PUBACKs, so the broker takes them as fast as it can.
    """

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        body = (_mqtt_string("MQTT") + bytes([4, 0x02]) + struct.pack("!H", 60)
                + _mqtt_string("bench-raw-" + uuid.uuid4().hex[:8]))
        self.sock.sendall(bytes([0x10]) + _mqtt_length(len(body)) + body)
        connack = self.sock.recv(4)
        if connack[:2] != b"\x20\x02" or connack[3:4] != b"\x00":
            raise RuntimeError("the broker refused the benchmark's publisher: %r" % connack)

    @staticmethod
    def packets(messages, retain=True):
        """``[(topic, payload)]`` as PUBLISH packets, QoS 1."""
        stream = bytearray()
        for number, (topic, payload) in enumerate(messages):
            body = _mqtt_string(topic) + struct.pack("!H", number % 65535 + 1) + payload
            stream += bytes([0x32 | (1 if retain else 0)]) + _mqtt_length(len(body)) + body
        return bytes(stream)

    def send(self, stream, count):
        """Write ``stream`` and wait for ``count`` PUBACKs."""
        self.sock.sendall(stream)
        acked, rest = 0, b""
        while acked < count:
            data = self.sock.recv(65536)
            if not data:
                raise RuntimeError("the broker closed the connection after %d acks" % acked)
            rest += data
            acked += len(rest) // 4
            rest = rest[len(rest) // 4 * 4:]
        return acked

    def close(self):
        """DISCONNECT."""
        try:
            self.sock.sendall(b"\xe0\x00")
        finally:
            self.sock.close()


def _publish_retained(port, states, statuses=()):
    """Publish ``{WardKey: WardState}`` and online statuses, retained; wait for the acks."""
    publisher = _FastPublisher(port)
    try:
        for device in statuses:
            publisher.publish(status_topic("crs", device), b"online")
        for key, state in states.items():
            publisher.publish(ward_topic("crs", key, "state"), state.to_json())
        publisher.wait_acked(len(statuses) + len(states))
    finally:
        publisher.close()


def _tile_sums(states, wards_per_tile):
    """``{tile index: (vacant, occupied, blocked)}`` of ``{ward index: WardState}``."""
    sums = {}
    for i, state in states.items():
        vacant, occupied, blocked = sums.get(i // wards_per_tile, (0, 0, 0))
        sums[i // wards_per_tile] = (vacant + state.vacant, occupied + state.occupied,
                                     blocked + state.blocked)
    return sums


def _shows(frame, sums):
    """Whether ``frame`` shows every tile of ``sums`` live with those figures."""
    tiles = frame["tiles"]
    for index, (vacant, occupied, blocked) in sums.items():
        tile = tiles[index]
        if not tile["live"] or tile["vacant"] != vacant or tile["occupied"] != occupied \
                or tile["blocked"] != blocked:
            return False
    return True


# -- press → paint ----------------------------------------------------------------

def press_to_paint(workdir, broker, count=None):
    """Seconds from a mock pin going low to the frame showing the new figure.

    Presses come 20–40 ms after the last one was painted: a board shows news
    at most once a refresh (60 Hz), so presses closer than that would
    measure the pacing, not the path.
    """
    count = count or PRESSES
    config = write_board(workdir, 40, name="paint.yaml")
    # the agent's ward is tile 0's (bench/dept-0/ward-0); 39 others retained
    states = {ward_key(i): ward_state(i) for i in range(1, 40)}
    _publish_retained(broker.port, states, [agent_id(i) for i in range(1, 40)])
    key = ward_key(0)
    settings = agent_bench.ward_settings(broker.port, os.path.join(workdir, "paint-state"),
                                         key, "bench-paint-agent")
    frames_path = os.path.join(workdir, "paint-frames.jsonl")
    board = start_display(config, broker, "--frame-log", frames_path,
                          log=os.path.join(workdir, "paint-board.log"))
    running = None
    samples = []
    try:
        follower = FrameFollower(frames_path)
        # the agent starts once the board has its broker's copies (it has subscribed):
        # its first publication then reaches the board live, as progress (issue 15); a
        # board that saw only the broker's copy would show the tile as checking until
        # the agent's next beat, a heartbeat later
        follower.wait(lambda f: f["tiles"][1]["vacant"] is not None, timeout=30)
        running = agent_bench.MockAgent(settings)
        vacant = running.agent.ledger.state("x").vacant
        follower.wait(lambda f: f["tiles"][0]["live"] and f["tiles"][0]["vacant"] == vacant,
                      timeout=30)
        pace = random.Random(10)
        for number in range(count):
            # presses at most ~25 a second (a ward makes a few an hour): each
            # lands on a board that has shown its last frame a while ago
            time.sleep(pace.uniform(PRESS_GAP, 2 * PRESS_GAP))
            taken = number % 2 == 0
            vacant += -1 if taken else 1
            started = time.monotonic()
            running.press("taken" if taken else "freed")
            frame = follower.wait(lambda f, want=vacant, after=started:
                                  f["t"] >= after and f["tiles"][0]["vacant"] == want,
                                  timeout=10)
            samples.append(frame["t"] - started)
    finally:
        if running is not None:
            running.close()
        stop(board)
    return samples


# -- burst ------------------------------------------------------------------------

def burst(workdir, broker, messages=BURST_MESSAGES, wards=BURST_WARDS,
          tiles=BURST_TILES):
    """``(seconds to the final frame, seconds the broker took them, peak RSS MiB,
    the broker's log lines about messages it dropped)``."""
    per_tile = wards // tiles
    config = write_board(workdir, tiles, wards_per_tile=per_tile, name="burst.yaml")
    first = {i: ward_state(i, seq=1) for i in range(wards)}
    _publish_retained(broker.port, {ward_key(i, per_tile): s for i, s in first.items()},
                      [agent_id(i) for i in range(wards)])
    frames_path = os.path.join(workdir, "burst-frames.jsonl")
    board = start_display(config, broker, "--frame-log", frames_path,
                          log=os.path.join(workdir, "burst-board.log"))
    try:
        follower = FrameFollower(frames_path)
        follower.wait(lambda f: _shows(f, _tile_sums(first, per_tile)), timeout=60)
        changes = messages // wards
        payloads = []
        final = {}
        for step in range(changes):
            for i in range(wards):
                capacity = first[i].capacity
                state = WardState(capacity=capacity, occupied=(i * 7 + step * 3) % (capacity - 1),
                                  blocked=(step + i) % 2, seq=2 + step, at=first[i].at,
                                  agent=agent_id(i))
                payloads.append((ward_topic("crs", ward_key(i, per_tile), "state"),
                                 state.to_json()))
                final[i] = state
        want = _tile_sums(final, per_tile)
        publisher = RawPublisher(broker.port)
        try:
            stream = publisher.packets(payloads)
            started = time.monotonic()
            publisher.send(stream, len(payloads))
            taken = time.monotonic() - started
            frame = follower.wait(lambda f: _shows(f, want), timeout=60, interval=0.002)
        finally:
            publisher.close()
        peak = status_mib(board.pid, "VmHWM")[0]
    finally:
        stop(board)
    with open(broker.log_path, encoding="utf-8", errors="replace") as handle:
        dropped = sum(1 for line in handle if "dropped" in line.lower())
    return frame["t"] - started, taken, peak, dropped


# -- start-up ---------------------------------------------------------------------

def start_up(workdir, broker, wards=START_WARDS, tiles=BURST_TILES):
    """``(seconds to the first frame, seconds to the first full frame)``."""
    per_tile = wards // tiles
    config = write_board(workdir, tiles, wards_per_tile=per_tile, name="start.yaml")
    states = {i: ward_state(i, seq=5) for i in range(wards)}
    _publish_retained(broker.port, {ward_key(i, per_tile): s for i, s in states.items()},
                      [agent_id(i) for i in range(wards)])
    want = _tile_sums(states, per_tile)
    frames_path = os.path.join(workdir, "start-frames.jsonl")
    started = time.monotonic()
    board = start_display(config, broker, "--frame-log", frames_path,
                          env=display_env("dummy"),
                          log=os.path.join(workdir, "start-board.log"))
    try:
        follower = FrameFollower(frames_path)
        full = follower.wait(lambda f: _shows(f, want), timeout=60, interval=0.002)
        first = follower.frames[0]
    finally:
        stop(board)
    return first["t"] - started, full["t"] - started


def measure():
    """The rows of the end-to-end figures."""
    workdir = tempfile.mkdtemp(prefix="bedboard-bench-paint-")
    quiet = {name: logging.getLogger(name).level for name in ("agent", "bedboard")}
    for name in quiet:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    ms = 1000.0
    try:
        with PrivateBroker(workdir=os.path.join(workdir, "mosquitto-paint")) as broker:
            floor = agent_bench.broker_floor(broker.port)
            paint = press_to_paint(workdir, broker)
        with PrivateBroker(workdir=os.path.join(workdir, "mosquitto-burst")) as broker:
            to_final, taken, peak, dropped = burst(workdir, broker)
        with PrivateBroker(workdir=os.path.join(workdir, "mosquitto-start")) as broker:
            first, full = start_up(workdir, broker)
    finally:
        for name, level in quiet.items():
            logging.getLogger(name).setLevel(level)
        shutil.rmtree(workdir, ignore_errors=True)
    floor50, floor99 = statistics.median(floor) * ms, percentile(floor, 0.99) * ms
    paint50, paint99 = statistics.median(paint) * ms, percentile(paint, 0.99) * ms
    return [
        dict(what="broker floor paho → Mosquitto → paho, p50 (%d messages, QoS 1)"
             % len(floor), value=floor50, unit="ms"),
        dict(what="broker floor, p99", value=floor99, unit="ms"),
        dict(what="press → paint: mock pin → agent → Mosquitto → board → frame shown, p50 "
             "(%d presses, debounce 0)" % len(paint), value=paint50, unit="ms",
             target=("<=", floor50 + FRAME_60HZ, "floor + 16.7 ms")),
        dict(what="press → paint, p99", value=paint99, unit="ms", target=("<=", 50.0)),
        dict(what="press → paint p50 ÷ broker floor p50", value=paint50 / floor50,
             unit="×"),
        dict(what="burst: %d states across %d wards (40 tiles) until every tile shows its "
             "final figures" % (BURST_MESSAGES, BURST_WARDS), value=to_final * ms,
             unit="ms", target=("<=", 1000.0)),
        dict(what="  … of which the broker took the messages in (written to it as one "
             "stream of QoS 1 packets)", value=taken * ms, unit="ms"),
        dict(what="burst: the board's peak RSS", value=peak, unit="MiB"),
        dict(what="burst: the broker's warnings of messages dropped (a subscriber's "
             "queue full)", value=dropped, unit="lines"),
        dict(what="start-up: process start → first frame (200 retained wards)",
             value=first * ms, unit="ms"),
        dict(what="start-up: process start → first full frame (every tile live)",
             value=full * ms, unit="ms", target=("<=", 1000.0)),
    ]


if __name__ == "__main__":
    for row in measure():
        print("%-90s %10.2f %s" % (row["what"], row["value"], row["unit"]))
