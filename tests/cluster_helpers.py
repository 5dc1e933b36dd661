"""Helpers for the state-tier tests: real agents and a real board on a NATS cluster.

Each agent is a ``bed-agent --simulate`` process fed presses on its standard
input; the board is a ``bed-display`` process on SDL's dummy driver writing
a frame log; a :class:`Watcher` is a plain MQTT client on one node.  All of
them list the cluster's nodes in ``broker.hosts``, each in its own order.
"""

import json
import os
import subprocess
import sys
import textwrap
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bedboard.mosquitto import die_with_parent
from bedboard.payloads import WardEvent, WardState

from .display_helpers import display_env

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def hosts_yaml(hosts):
    return "[%s]" % ", ".join('"%s"' % host for host in hosts)


def wait_until(check, timeout, what):
    """Wait until ``check()`` is true; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(0.1)


class Agent:
    """A ``bed-agent --simulate`` process for ward ``nrs/medicine/{ward}``."""

    def __init__(self, folder, ward, hosts, capacity=20, occupied=10):
        self.ward = ward
        self.id = "nrs-medicine-%s" % ward
        self.state_dir = os.path.join(str(folder), "state-" + ward)
        self.config = os.path.join(str(folder), "agent-%s.yaml" % ward)
        self.log_path = os.path.join(str(folder), "agent-%s.log" % ward)
        with open(self.config, "w", encoding="utf-8") as handle:
            handle.write(textwrap.dedent("""\
                agent:
                  id: %s
                  hospital: nrs
                  department: medicine
                  ward: %s
                  capacity: %d
                  occupied: %d
                  state_dir: %s
                  heartbeat: 10
                broker:
                  hosts: %s
                  keepalive: 5
                inputs:
                  - {name: freed, kind: freed, pin: 17}
                  - {name: taken, kind: taken, pin: 27}
                """) % (self.id, ward, capacity, occupied, self.state_dir,
                        hosts_yaml(hosts)))
        self.process = None
        self.answers = []
        self._lock = threading.Lock()

    def start(self):
        log = open(self.log_path, "a", encoding="utf-8")  # pylint: disable=consider-using-with
        self.process = subprocess.Popen(  # pylint: disable=consider-using-with
            [sys.executable, "-m", "agent", "--config", self.config, "--simulate",
             "--log-level", "info"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=log, text=True, cwd=ROOT, preexec_fn=die_with_parent)
        log.close()
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def _read(self):
        for line in self.process.stdout:
            with self._lock:
                self.answers.append(line.strip())

    def press(self, name, timeout=30):
        """Press ``name``; wait for the agent's answer line and return it."""
        with self._lock:
            before = len(self.answers)
        self.process.stdin.write("press %s\n" % name)
        self.process.stdin.flush()
        wait_until(lambda: len(self.answers) > before, timeout,
                   "%s's answer to press %s" % (self.id, name))
        with self._lock:
            return self.answers[before]

    def finish(self, timeout=60):
        """End its input: it delivers what is pending and exits; return the exit code."""
        self.process.stdin.close()
        return self.process.wait(timeout)

    def kill(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def log(self):
        with open(self.log_path, encoding="utf-8") as handle:
            return handle.read()

    def ledger_state(self):
        """The ward's state as the agent's ledger holds it (read-only)."""
        from agent.ledger import Ledger  # pylint: disable=import-outside-toplevel
        from bedboard.topics import WardKey  # pylint: disable=import-outside-toplevel
        ledger = Ledger.open(self.state_dir, WardKey("nrs", "medicine", self.ward))
        try:
            return ledger.state(self.id)
        finally:
            ledger.close()


class Board:
    """A ``bed-display`` process (dummy driver) with a frame log."""

    def __init__(self, folder, hosts, wards, stale_after=60):
        self.config = os.path.join(str(folder), "board.yaml")
        self.frames_path = os.path.join(str(folder), "frames.jsonl")
        self.log_path = os.path.join(str(folder), "board.log")
        tiles = "\n".join("    - {department: medicine, wards: [%s], label: {en: %s}}"
                          % (ward, ward.title()) for ward in wards)
        with open(self.config, "w", encoding="utf-8") as handle:
            handle.write(textwrap.dedent("""\
                display:
                  id: state-desk-1
                  title: {en: "Referral desk"}
                  size: [1280, 720]
                  burn_in: {pixels: 0}
                broker:
                  hosts: %s
                  keepalive: 5
                board:
                  hospital: nrs
                  stale_after: %d
                  heartbeat: 10
                  tiles:
                """) % (hosts_yaml(hosts), stale_after) + tiles + "\n")
        self.process = None

    def start(self):
        log = open(self.log_path, "a", encoding="utf-8")  # pylint: disable=consider-using-with
        self.process = subprocess.Popen(  # pylint: disable=consider-using-with
            [sys.executable, "-m", "display", "--config", self.config, "--frame-log",
             self.frames_path, "--verbose"], env=display_env(), stdout=log, stderr=log,
            cwd=ROOT, preexec_fn=die_with_parent)
        log.close()
        return self

    def frames(self):
        try:
            with open(self.frames_path, encoding="utf-8") as handle:
                return [json.loads(line) for line in handle if line.endswith("\n")]
        except FileNotFoundError:
            return []

    def shown(self, ward):
        """The last frame's tile for ``ward``, or None."""
        frames = self.frames()
        if not frames:
            return None
        for tile in frames[-1]["tiles"]:
            if tile["tile"].endswith(":" + ward):
                return tile
        return None

    def wait_live(self, ward, vacant, timeout=30):
        """Wait until the board shows ``vacant`` for ``ward`` as a live figure."""
        return wait_until(lambda: (lambda t: t if t and t["live"] and t["vacant"] == vacant
                                   else None)(self.shown(ward)), timeout,
                          "the board to show %d vacant in %s, live (shows %s)"
                          % (vacant, ward, self.shown(ward)))

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def log(self):
        with open(self.log_path, encoding="utf-8") as handle:
            return handle.read()


class Watcher:
    """A plain MQTT client on one node (QoS 0 subscriptions), recording what arrives."""

    def __init__(self, host_port, topics=("crs/#",), client_id=None):
        host, port = host_port.rsplit(":", 1)
        self.messages = []
        self._lock = threading.Lock()
        self._topics = topics
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, clean_session=True,
                                  client_id=client_id or "watcher-%d" % id(self),
                                  protocol=mqtt.MQTTv311)
        self.client.on_connect = lambda c, u, f, r, p: c.subscribe(
            [(topic, 0) for topic in self._topics])
        self.client.on_subscribe = lambda *args: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(host, int(port), 10)
        self.client.loop_start()
        assert self._subscribed.wait(20), "the watcher on %s never subscribed" % host_port

    def _on_message(self, client, userdata, message):
        with self._lock:
            self.messages.append((message.topic, bytes(message.payload), message.retain))

    def events(self, ward):
        topic = "crs/nrs/medicine/%s/event" % ward
        with self._lock:
            return [WardEvent.parse(p) for t, p, _ in self.messages if t == topic]

    def states(self, ward):
        topic = "crs/nrs/medicine/%s/state" % ward
        with self._lock:
            return [WardState.parse(p) for t, p, _ in self.messages if t == topic and p]

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


def retained_state(host_port, ward, timeout=15):
    """The retained state of ``ward`` on one node, read by a fresh subscriber."""
    watcher = Watcher(host_port, ("crs/nrs/medicine/%s/state" % ward,))
    try:
        return wait_until(lambda: (watcher.states(ward) or [None])[-1], timeout,
                          "the retained state of %s on %s" % (ward, host_port))
    finally:
        watcher.close()


def contiguous(events):
    """Whether the events' seqs, duplicates aside, run without a gap and in order."""
    seqs = [event.seq for event in events]
    firsts = []
    for seq in seqs:
        if not firsts or seq != firsts[-1]:
            firsts.append(seq)
    return bool(firsts) and all(b == a + 1 for a, b in zip(firsts, firsts[1:])), seqs


def paused_node(cluster, index):
    """SIGSTOP node ``index`` for a ``with`` block (a hung node: its sockets still
    accept, nothing answers), SIGCONT it after."""
    from .net_helpers import paused  # pylint: disable=import-outside-toplevel
    return paused(cluster.node(index).process.pid)


def write_operator(folder, hosts, wait=15):
    """An operator's config listing the cluster's ``hosts``; returns its path."""
    path = os.path.join(str(folder), "operator.yaml")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(textwrap.dedent("""\
            broker:
              hosts: %s
              keepalive: 5
            operator:
              heartbeat: 10
              wait: %d
            """) % (hosts_yaml(hosts), wait))
    return path


def bedboard(*args, timeout=90):
    """Run the operators' tool (``python -m ops``) to its end; return the CompletedProcess."""
    return subprocess.run([sys.executable, "-m", "ops"] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)
