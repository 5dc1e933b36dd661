"""Benchmarks of the ward agent, for `make bench` (``python -m benchmarks agent``).

On a private Mosquitto, in one run:

* the broker's own floor: paho → Mosquitto → paho, QoS 1, one message at a
  time (what no agent can beat);
* press → state on the broker: a mock pin driven low, through the same
  panel, loop, synced ledger commit and publisher as on a Pi, until a
  subscriber holds the new retained state (debounce set to 0 here: on a Pi
  add the input's ``debounce``, 0.05 s by default);
* sustained durable presses per second: presses as fast as the pins can be
  driven, each committed (fsync'd) to the ledger before it counts;
* the resident memory of a real ``bed-agent --simulate`` process;
* order under a storm (issue 17): 3,000 presses as fast as the pins go
  while the agent's link is dropped every 0.3 s (a proxy between it and the
  broker cuts every connection), watched by a subscriber on the broker
  itself: how long, in all, the broker's retained state was older than one
  it had already taken (target 0), and how many events reached it for the
  first time out of seq order (target 0).

``measure()`` returns the rows; run ``python -m benchmarks.agent`` to print them.
"""

import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import paho.mqtt.client as mqtt
from gpiozero.pins.mock import MockFactory
from paho.mqtt.enums import CallbackAPIVersion

from agent.app import WardAgent
from agent.config import AgentSettings, InputSettings
from bedboard.mosquitto import PrivateBroker
from bedboard.payloads import WardEvent, WardState
from bedboard.settings import BrokerSettings
from bedboard.topics import WardKey, ward_topic

STORM_PRESSES = 3000
DROP_EVERY = 0.3
LATENCY_PRESSES = 600
BURST_PRESSES = 1000
FLOOR_MESSAGES = 600
WARD = WardKey("bench", "agent", "ward-1")
AGENT_ID = "bench-agent-ward-1"


def _percentile(samples, fraction):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


class _Listener:
    """A paho subscriber that notes when each message arrived (time.monotonic)."""

    def __init__(self, port, topic):
        self.arrivals = []
        self._cond = threading.Condition()
        self._topic = topic
        self._ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2,
                                  client_id="bench-" + uuid.uuid4().hex[:8])
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *args: self._ready.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if not self._ready.wait(10):
            raise RuntimeError("the benchmark's subscriber could not subscribe")

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        client.subscribe(self._topic, qos=1)

    def _on_message(self, client, userdata, message):
        with self._cond:
            self.arrivals.append((time.monotonic(), message.payload))
            self._cond.notify_all()

    def wait(self, predicate, timeout=10.0):
        """Wait until ``predicate(payload)`` holds for a message; return its arrival time."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for arrived, payload in self.arrivals:
                    if predicate(payload):
                        return arrived
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise RuntimeError("benchmark: a message never arrived")
                self._cond.wait(remaining)

    def forget(self):
        with self._cond:
            self.arrivals.clear()

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def broker_floor(port, count=FLOOR_MESSAGES):
    """Round trips paho → Mosquitto → paho (QoS 1), one at a time, in seconds."""
    topic = ward_topic("bench", WardKey("bench", "floor", "floor"), "event")
    listener = _Listener(port, topic)
    sender = mqtt.Client(CallbackAPIVersion.VERSION2,
                         client_id="bench-" + uuid.uuid4().hex[:8])
    sender.connect("127.0.0.1", port)
    sender.loop_start()
    samples = []
    try:
        for number in range(count):
            payload = b"%d" % number
            listener.forget()
            started = time.monotonic()
            sender.publish(topic, payload, qos=1)
            samples.append(listener.wait(lambda p, want=payload: p == want) - started)
    finally:
        sender.disconnect()
        sender.loop_stop()
        listener.close()
    return samples


def ward_settings(port, state_dir, ward=WARD, agent_id=AGENT_ID):
    """An agent's settings with a taken and a freed button, debounce 0."""
    inputs = (InputSettings("taken", "taken", 27, debounce=0.0),
              InputSettings("freed", "freed", 17, debounce=0.0))
    return AgentSettings(id=agent_id, ward=ward, capacity=100000, occupied=50000,
                         state_dir=state_dir, inputs=inputs,
                         broker=BrokerSettings(host="127.0.0.1", port=port))


class MockAgent:
    """A WardAgent on mock pins, its loop on a thread."""

    def __init__(self, settings, **options):
        self.factory = MockFactory()
        self.agent = WardAgent(settings, self.factory, **options)
        self.thread = threading.Thread(target=self.agent.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.agent.ready:
            if time.monotonic() > deadline:
                raise RuntimeError("benchmark: the agent never became ready")
            time.sleep(0.01)

    def press(self, name):
        """Press and release button ``name`` (its mock pin low, then high)."""
        pin = self.agent.panel.inputs[name].pin
        pin.drive_low()
        pin.drive_high()

    def wait_seq(self, seq, timeout=60):
        """Wait until the ledger has reached ``seq``."""
        deadline = time.monotonic() + timeout
        while self.agent.ledger.seq < seq:
            if time.monotonic() > deadline:
                raise RuntimeError("benchmark: presses were not all committed")
            time.sleep(0.001)

    def close(self):
        """Stop the agent and release the pins."""
        self.agent.stop()
        self.thread.join(10)
        self.factory.close()


def press_latency(port, state_dir, count=LATENCY_PRESSES):
    """Seconds from a pin going low to the new state arriving from the broker."""
    settings = ward_settings(port, state_dir)
    listener = _Listener(port, ward_topic("crs", WARD, "state"))
    running = MockAgent(settings)
    samples = []
    try:
        seq = running.agent.ledger.seq
        for number in range(count):
            seq += 1
            listener.forget()
            started = time.monotonic()
            running.press("taken" if number % 2 == 0 else "freed")
            arrived = listener.wait(lambda p, want=seq: WardState.parse(p).seq == want)
            samples.append(arrived - started)
    finally:
        running.close()
        listener.close()
    return samples


def press_throughput(port, state_dir, count=BURST_PRESSES):
    """Presses per second, each committed to the synced ledger; and all delivered."""
    running = MockAgent(ward_settings(port, state_dir))
    try:
        first = running.agent.ledger.seq
        started = time.monotonic()
        for number in range(count):
            running.press("taken" if number % 2 == 0 else "freed")
        running.wait_seq(first + count)
        committed = time.monotonic() - started
        deadline = time.monotonic() + 60
        while any(running.agent.undelivered()[:2]):
            if time.monotonic() > deadline:
                raise RuntimeError("benchmark: presses were not all delivered")
            time.sleep(0.001)
        delivered = time.monotonic() - started
    finally:
        running.close()
    return count / committed, count / delivered


def _behind(states, ended):
    """``(seconds, times)`` the broker held a state older than one it had taken."""
    high, since, total, times = -1, None, 0.0, 0
    for arrived, seq in states:
        if seq < high:
            if since is None:
                since, times = arrived, times + 1
        else:
            if since is not None:
                total, since = total + arrived - since, None
            high = seq
    if since is not None:
        total += ended - since
    return total, times


def _out_of_order(seqs):
    """How many events came for the first time after a higher seq's first copy."""
    seen, last, count = set(), -1, 0
    for seq in seqs:
        if seq in seen:
            continue
        seen.add(seq)
        if seq < last:
            count += 1
        last = max(last, seq)
    return count


def storm_under_drops(port, state_dir, count=STORM_PRESSES, drop_every=DROP_EVERY):
    """Presses as fast as the pins go while the link is dropped every ``drop_every`` s.

    Returns ``(seconds behind, times behind, events out of order, drops, seconds
    to deliver everything)``, as a subscriber on the broker itself saw it.
    """
    from tests.net_helpers import FaultyProxy  # pylint: disable=import-outside-toplevel
    proxy = FaultyProxy(port)
    states = _Listener(port, ward_topic("crs", WARD, "state"))
    events = _Listener(port, ward_topic("crs", WARD, "event"))
    running = MockAgent(ward_settings(proxy.port, state_dir), min_backoff=0.05,
                        max_backoff=0.5)
    stop, drops = threading.Event(), [0]

    def dropping():
        while not stop.wait(drop_every):
            proxy.cut()
            proxy.resume()
            drops[0] += 1

    chaos = threading.Thread(target=dropping, daemon=True)
    try:
        first = running.agent.ledger.seq
        started = time.monotonic()
        chaos.start()
        for number in range(count):
            running.press("taken" if number % 2 == 0 else "freed")
        running.wait_seq(first + count)
        deadline = time.monotonic() + 120
        while any(running.agent.undelivered()[:2]):
            if time.monotonic() > deadline:
                raise RuntimeError("benchmark: the storm's presses were not all delivered")
            time.sleep(0.01)
        delivered = time.monotonic() - started
        stop.set()
        chaos.join(5)
        time.sleep(0.5)                      # the last states reach the subscriber
        ended = time.monotonic()
        seqs = [(t, WardState.parse(p).seq) for t, p in list(states.arrivals)]
        firsts = [WardEvent.parse(p).seq for _, p in list(events.arrivals)]
    finally:
        stop.set()
        running.close()
        states.close()
        events.close()
        proxy.close()
    behind, times = _behind(seqs, ended)
    return behind, times, _out_of_order(firsts), drops[0], delivered


def agent_rss(port, workdir, presses=20):
    """(RSS, peak RSS) in MiB of a real ``bed-agent --simulate`` after some presses."""
    config = os.path.join(workdir, "agent.yaml")
    with open(config, "w", encoding="utf-8") as handle:
        handle.write("agent: {id: bench-rss, hospital: bench, department: rss, "
                     "ward: ward-1, capacity: 40, occupied: 20, state_dir: %s}\n"
                     "broker: {host: 127.0.0.1, port: %d}\n"
                     "inputs:\n  - {name: taken, kind: taken, pin: 27}\n"
                     "  - {name: freed, kind: freed, pin: 17}\n"
                     % (os.path.join(workdir, "rss-state"), port))
    process = subprocess.Popen(
        [sys.executable, "-m", "agent", "--config", config, "--simulate",
         "--log-level", "warning"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True, bufsize=1)
    try:
        for number in range(presses):
            process.stdin.write("press %s\n" % ("taken" if number % 2 == 0 else "freed"))
            process.stdin.flush()
            process.stdout.readline()
        memory = {}
        with open("/proc/%d/status" % process.pid, encoding="ascii") as handle:
            for line in handle:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    memory[line.split(":")[0]] = int(line.split()[1]) / 1024
        process.stdin.close()
        process.wait(20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return memory["VmRSS"], memory["VmHWM"]


def measure():
    """Every figure of the agent, as rows for `make bench`."""
    workdir = tempfile.mkdtemp(prefix="bedboard-bench-agent-")
    broker = PrivateBroker(workdir=os.path.join(workdir, "mosquitto"))
    broker.start()
    quiet = {name: logging.getLogger(name).level for name in ("agent", "bedboard")}
    for name in quiet:   # the agents' own log lines are not the benchmark's output
        logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        floor = broker_floor(broker.port)
        latency = press_latency(broker.port, os.path.join(workdir, "latency"))
        committed, delivered = press_throughput(broker.port,
                                                os.path.join(workdir, "burst"))
        rss, peak = agent_rss(broker.port, workdir)
        behind, times, disorder, drops, stormed = storm_under_drops(
            broker.port, os.path.join(workdir, "storm"))
    finally:
        for name, level in quiet.items():
            logging.getLogger(name).setLevel(level)
        broker.close()
        shutil.rmtree(workdir, ignore_errors=True)
    ms = 1000.0
    return [
        dict(what="press → state on the broker, p50 (%d presses, debounce 0)"
             % len(latency), value=statistics.median(latency) * ms, unit="ms",
             target=None),
        dict(what="press → state on the broker, p99", value=_percentile(latency, 0.99)
             * ms, unit="ms", target=None),
        dict(what="  … against the broker floor measured with it, p50 (%d messages)"
             % len(floor), value=statistics.median(floor) * ms, unit="ms", target=None),
        dict(what="sustained durable presses (each fsync'd before it counts)",
             value=committed, unit="presses/s", target=(">=", 100.0)),
        dict(what="  … and acknowledged by the broker", value=delivered,
             unit="presses/s", target=None),
        dict(what="agent RSS (bed-agent --simulate, after 20 presses)", value=rss,
             unit="MiB", target=("<=", 40.0)),
        dict(what="agent peak RSS", value=peak, unit="MiB", target=("<=", 40.0)),
        dict(what="%d presses, the link dropped every %.1f s (%d drops, all delivered in "
             "%.1f s): time the broker's retained state was behind a newer one it had "
             "taken" % (STORM_PRESSES, DROP_EVERY, drops, stormed), value=behind, unit="s",
             target=("<=", 0.0), note="%d time(s)" % times),
        dict(what="  … events whose first copy reached the broker out of seq order",
             value=disorder, unit="events", target=("<=", 0)),
    ]


if __name__ == "__main__":
    for row in measure():
        print("%-70s %10.2f %-10s %s" % (row["what"], row["value"], row["unit"],
                                          row["target"] or ""))
