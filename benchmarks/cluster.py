"""The state tier: a referral board of 120 tiles started against 15,000 retained wards.

500 hospitals × 30 wards (6 departments of 5 wards), each ward's state and
its agent's ``online`` status retained — on a 3-node NATS cluster
(JetStream, ``stream_replicas: 3``) and, for comparison in the same run, on
a single Mosquitto.  A real ``bed-display`` with 120 tiles (20 hospitals ×
6 departments: 600 wards) is started with a frame log; what is measured:

* process start → first full frame (every tile live with its wards' sums);
* the board's RSS then, and its peak;
* what the board's subscriptions bring at start — the states of its
  departments and the statuses of its 600 agents — against what a board
  subscribed to every ``{p}/device/+/status`` would receive (counted with a
  plain client on the same broker).

And failover from a hung node (issue 17; target ≤ 10 s): a device's link
with the defaults (a 5 s handshake bound, 1 s before the next node) whose
first node is SIGSTOPped — a Mosquitto pair, and node 1 of the 3-node NATS
cluster: start → connected to another node; and a link connected to a
node that then hangs (keepalive 5 s, as the cluster tests use; the default
30 s leaves such a node after up to a minute): hang → connected elsewhere.
"""

import dataclasses
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import paho.mqtt.client as mqtt
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from bedboard.link import BrokerLink
from bedboard.mosquitto import PrivateBroker
from bedboard.natscluster import PrivateNatsCluster
from bedboard.settings import BrokerSettings
from bedboard.topics import WardKey, status_topic, ward_topic

from .common import FrameFollower, display_env, status_mib, stop, ward_state
from .paint import _FastPublisher

_LOG = logging.getLogger(__name__)

HOSPITALS = 500
DEPARTMENTS = 6
WARDS_PER_DEPARTMENT = 5
BOARD_HOSPITALS = 20            # 20 × 6 = 120 tiles
SETTLE_AFTER_HANG = 30.0        # seconds after a NATS node hangs before the settled figure


def _key(hospital, department, ward):
    return WardKey("h%03d" % hospital, "dept-%d" % department, "ward-%d" % ward)


def _agent(key):
    return "%s-%s-%s" % (key.hospital, key.department, key.ward)


def _states():
    """``{WardKey: WardState}`` of every ward of the state."""
    out, index = {}, 0
    for hospital in range(HOSPITALS):
        for department in range(DEPARTMENTS):
            for ward in range(WARDS_PER_DEPARTMENT):
                key = _key(hospital, department, ward)
                out[key] = dataclasses.replace(ward_state(index, seq=3),
                                               agent=_agent(key))
                index += 1
    return out


def _publish(host, port, states):
    publisher = _FastPublisher(port, inflight=500)
    try:
        for key, state in states.items():
            publisher.publish(status_topic("crs", state.agent), b"online")
            publisher.publish(ward_topic("crs", key, "state"), state.to_json())
        publisher.wait_acked(2 * len(states), timeout=300)
    finally:
        publisher.close()


def _board_config(folder, hosts):
    tiles = [{"hospital": "h%03d" % h, "department": "dept-%d" % d,
              "label": {"en": "H%03d dept %d" % (h, d)}}
             for h in range(BOARD_HOSPITALS) for d in range(DEPARTMENTS)]
    text = yaml.safe_dump({
        "display": {"id": "state-referral-desk", "size": [1920, 1080],
                    "title": {"en": "Referral desk"}, "burn_in": {"pixels": 0}},
        "broker": {"hosts": hosts},
        "board": {"hospital": "h000", "tiles": tiles}})
    path = os.path.join(folder, "referral-%d.yaml" % len(hosts))
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def _want(states):
    sums = []
    for h in range(BOARD_HOSPITALS):
        for d in range(DEPARTMENTS):
            wards = [states[_key(h, d, w)] for w in range(WARDS_PER_DEPARTMENT)]
            sums.append(sum(s.vacant for s in wards))
    return sums


def _first_full_frame(folder, hosts, states, label):
    config = _board_config(folder, hosts)
    frames = os.path.join(folder, "frames-%s.jsonl" % label)
    want = _want(states)
    started = time.monotonic()
    with open(os.path.join(folder, "board-%s.log" % label), "ab") as log:
        board = subprocess.Popen(  # pylint: disable=consider-using-with
            [sys.executable, "-m", "display", "--config", config, "--frame-log", frames],
            env=display_env("dummy"), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
    try:
        follower = FrameFollower(frames)
        full = follower.wait(lambda f: all(t["live"] and t["vacant"] == v
                                           for t, v in zip(f["tiles"], want)),
                             timeout=120, interval=0.005)
        rss, peak = status_mib(board.pid, "VmRSS", "VmHWM")
    finally:
        stop(board)
    return full["t"] - started, rss, peak


def _count_at_start(host, port, filters, settle=3.0):
    """How many messages a fresh subscriber to ``filters`` (QoS 0) receives at start."""
    got = [0]
    done = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-count-%d" % id(got),
                         protocol=mqtt.MQTTv311)

    def on_message(*_):
        got[0] += 1

    client.on_message = on_message
    client.on_connect = lambda c, u, f, r, p: c.subscribe([(t, 0) for t in filters])
    client.on_subscribe = lambda *_: done.set()
    client.connect(host, port, 30)
    client.loop_start()
    done.wait(30)
    last, quiet_since = -1, time.monotonic()
    while time.monotonic() - quiet_since < settle:
        if got[0] != last:
            last, quiet_since = got[0], time.monotonic()
        time.sleep(0.1)
    client.loop_stop()
    client.disconnect()
    return got[0]


def _settings(addresses, keepalive=30):
    return BrokerSettings(host=addresses[0][0], port=addresses[0][1], keepalive=keepalive,
                          hosts=tuple(addresses))


def _connected_elsewhere(link, hung, timeout=60.0):
    """Seconds until ``link`` is connected to a node other than ``hung``."""
    started = time.monotonic()
    while not (link.connected and link.address != hung):
        if time.monotonic() - started > timeout:
            raise RuntimeError("benchmark: the link never left the hung node %s:%d" % hung)
        time.sleep(0.005)
    return time.monotonic() - started


def _start_past(addresses, hung, runs, name):
    """Seconds from a link's start to its connection past the hung node, ``runs`` times."""
    samples = []
    for run in range(runs):
        link = BrokerLink(_settings(addresses), "bench-failover-%s-%d" % (name, run))
        link.start()
        try:
            samples.append(_connected_elsewhere(link, hung))
        finally:
            link.stop(timeout=0.5)
    return samples


def _hang_under(addresses, pid, name):
    """Seconds from SIGSTOP of the node a link is on to its connection to another."""
    link = BrokerLink(_settings(addresses, keepalive=5), "bench-failover-%s-under" % name)
    link.start()
    try:
        if not link.wait_connected(30) or link.address != addresses[0]:
            raise RuntimeError("benchmark: the link did not connect to the first node")
        os.kill(pid, signal.SIGSTOP)
        try:
            return _connected_elsewhere(link, addresses[0])
        finally:
            os.kill(pid, signal.SIGCONT)
    finally:
        link.stop(timeout=0.5)


def _each(samples):
    return "each: %s s" % ", ".join("%.1f" % sample for sample in samples)


def failover(workdir, runs=5):
    """The failover rows: a hung first node, and a node that hangs under a link."""
    quiet = logging.getLogger("bedboard")
    level, quiet.level = quiet.level, logging.CRITICAL
    rows = []
    try:
        hung = PrivateBroker(workdir=os.path.join(workdir, "hung")).start()
        good = PrivateBroker(workdir=os.path.join(workdir, "good")).start()
        try:
            pair = [(hung.host, hung.port), (good.host, good.port)]
            os.kill(hung.process.pid, signal.SIGSTOP)
            try:
                starts = _start_past(pair, pair[0], runs, "mosquitto")
            finally:
                os.kill(hung.process.pid, signal.SIGCONT)
            under = _hang_under(pair, hung.process.pid, "mosquitto")
        finally:
            hung.close()
            good.close()
        rows += [dict(what="two Mosquittos, the first hung (SIGSTOP): link start → "
                      "connected to the other, worst of %d" % runs, value=max(starts),
                      unit="s", target=("<=", 10.0), note=_each(starts)),
                 dict(what="  … a node that hangs under a connected link (keepalive 5 s) "
                      "→ connected to the other", value=under, unit="s")]
        with PrivateNatsCluster(workdir=os.path.join(workdir, "nats-failover")) as nats:
            nodes = [(nats.host, node.mqtt_port) for node in nats.nodes]
            pid = nats.node(0).process.pid
            os.kill(pid, signal.SIGSTOP)
            try:
                (first,) = _start_past(nodes, nodes[0], 1, "nats-first")
                time.sleep(SETTLE_AFTER_HANG)
                starts = _start_past(nodes, nodes[0], runs, "nats")
            finally:
                os.kill(pid, signal.SIGCONT)
            nats.wait_healthy()
            time.sleep(10)                      # the cluster settles again
            under = _hang_under(nodes, pid, "nats")
        rows += [dict(what="NATS, 3 nodes, node 1 hung (SIGSTOP) just now: link start → "
                      "connected to another", value=first, unit="s", target=("<=", 10.0),
                      note="the other nodes close new sessions until JetStream has moved "
                      "the hung node's leaders"),
                 dict(what="  … %.0f s after the hang: worst of %d" % (SETTLE_AFTER_HANG,
                                                                    runs),
                      value=max(starts), unit="s", target=("<=", 10.0), note=_each(starts)),
                 dict(what="  … node 1 hangs under a connected link (keepalive 5 s) → "
                      "connected to another", value=under, unit="s")]
    finally:
        quiet.level = level
    return rows


def measure():
    """The rows of the state-tier figures."""
    workdir = tempfile.mkdtemp(prefix="bedboard-bench-cluster-")
    states = _states()
    board_agents = [_agent(_key(h, d, w)) for h in range(BOARD_HOSPITALS)
                    for d in range(DEPARTMENTS) for w in range(WARDS_PER_DEPARTMENT)]
    board_filters = ["crs/h%03d/dept-%d/+/state" % (h, d) for h in range(BOARD_HOSPITALS)
                     for d in range(DEPARTMENTS)]
    rows = []
    try:
        for label, start in (
                ("NATS, 3 nodes", lambda: PrivateNatsCluster(
                    workdir=os.path.join(workdir, "nats"))),
                ("one Mosquitto", lambda: PrivateBroker(
                    workdir=os.path.join(workdir, "mosquitto"),
                    extra_config=["max_queued_messages 20000"]))):
            broker = start().start()
            try:
                if isinstance(broker, PrivateNatsCluster):
                    hosts = broker.hosts([1, 2, 0])
                    host, port = "127.0.0.1", broker.node(0).mqtt_port
                else:
                    hosts = ["%s:%d" % (broker.host, broker.port)]
                    host, port = broker.host, broker.port
                began = time.monotonic()
                _publish(host, port, states)
                loaded = time.monotonic() - began
                full, rss, peak = _first_full_frame(workdir, hosts, states,
                                                    label.split()[0].lower().strip(","))
                ours = _count_at_start(host, port, board_filters + [
                    status_topic("crs", agent) for agent in board_agents])
                wildcard = _count_at_start(host, port, board_filters + [
                    "crs/device/+/status"])
            finally:
                broker.close()
            rows += [
                dict(what="%s: %d retained states and statuses loaded in"
                     % (label, 2 * len(states)), value=loaded, unit="s"),
                dict(what="%s: 120-tile board (600 wards), process start → first full "
                     "frame" % label, value=full * 1000.0, unit="ms"),
                dict(what="%s: the board's RSS then" % label, value=rss, unit="MiB"),
                dict(what="%s: the board's peak RSS" % label, value=peak, unit="MiB"),
                dict(what="%s: messages at start with per-agent status subscriptions"
                     % label, value=ours, unit="messages"),
                dict(what="%s: … with {p}/device/+/status instead" % label,
                     value=wildcard, unit="messages"),
            ]
        rows += failover(workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return rows


if __name__ == "__main__":
    for row in measure():
        print("%-95s %10.2f %s" % (row["what"], row["value"], row["unit"]))
