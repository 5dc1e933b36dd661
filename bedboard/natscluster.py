"""A private NATS cluster speaking MQTT, on free loopback ports, for tests and benchmarks.

The state tier of the referral system is a cluster of ``nats-server`` nodes
(Debian's package), each with an MQTT listener; retained messages and
sessions live in JetStream and are replicated across the nodes
(``mqtt { stream_replicas: N }``).  :class:`PrivateNatsCluster` starts such
a cluster the way :class:`~bedboard.mosquitto.PrivateBroker` starts one
Mosquitto: never on a standard port, each node killable (SIGKILL),
stoppable and restartable on the same ports and store, everything removed
on :meth:`close`.

What it waits for before :meth:`start` returns, and why:

* every node's monitoring endpoint answers ``/healthz`` (JetStream ready,
  which in a cluster means a metadata leader was elected);
* one MQTT client connected once: NATS creates the account's MQTT streams
  (``$MQTT_sess``, ``$MQTT_msgs``, ``$MQTT_rmsgs``) on the first MQTT
  connection, which took about 2 s here (replicated stream leaders are
  elected).  Doing it here keeps that delay out of what tests measure.
"""

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

from .errors import BedboardError
from .mosquitto import die_with_parent, find_executable, free_port

_LOG = logging.getLogger(__name__)

_CANDIDATES = ("nats-server", "/usr/sbin/nats-server", "/usr/bin/nats-server")


class NatsNotFound(BedboardError, FileNotFoundError):
    """No nats-server executable on this machine."""


def find_nats_server():
    """The path of nats-server, or raise NatsNotFound."""
    return find_executable(_CANDIDATES, "nats-server", NatsNotFound)


class _Node:
    """One nats-server of the cluster: its ports, its files, its process."""

    def __init__(self, index, workdir):
        self.index = index
        self.name = "n%d" % (index + 1)
        self.client_port = free_port()
        self.route_port = free_port()
        self.mqtt_port = free_port()
        self.http_port = free_port()
        self.store = os.path.join(workdir, self.name, "jetstream")
        self.config_path = os.path.join(workdir, self.name, "nats.conf")
        self.log_path = os.path.join(workdir, self.name, "nats.log")
        self.process = None

    @property
    def mqtt(self):
        """``host:port`` of its MQTT listener."""
        return "127.0.0.1:%d" % self.mqtt_port


class PrivateNatsCluster:
    """``size`` nats-server nodes in one cluster, each with JetStream and MQTT."""

    host = "127.0.0.1"

    def __init__(self, size=3, replicas=None, workdir=None, name="bedboard-test"):
        self.size = size
        self.replicas = min(size, 3) if replicas is None else replicas
        self.name = name
        self._own_dir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix="bedboard-nats-")
        self.nodes = [_Node(i, self.workdir) for i in range(size)]
        self.binary = find_nats_server()

    # -- what clients need -------------------------------------------------
    def hosts(self, order=None):
        """The nodes' MQTT listeners as ``["127.0.0.1:port", ...]`` (in ``order``)."""
        order = range(self.size) if order is None else order
        return [self.nodes[i].mqtt for i in order]

    def node(self, index):
        """Node ``index`` (0-based)."""
        return self.nodes[index]

    # -- life cycle ---------------------------------------------------------
    def _write_config(self, node):
        routes = ", ".join("nats-route://127.0.0.1:%d" % other.route_port
                           for other in self.nodes)
        os.makedirs(os.path.dirname(node.config_path), exist_ok=True)
        os.makedirs(node.store, exist_ok=True)
        with open(node.config_path, "w", encoding="utf-8") as handle:
            handle.write(
                "server_name: %s\n"
                "listen: 127.0.0.1:%d\n"
                "http: 127.0.0.1:%d\n"
                "jetstream { store_dir: %s }\n"
                "cluster {\n  name: %s\n  listen: 127.0.0.1:%d\n  routes: [%s]\n}\n"
                "mqtt {\n  listen: 127.0.0.1:%d\n  stream_replicas: %d\n}\n"
                % (node.name, node.client_port, node.http_port, json.dumps(node.store),
                   self.name, node.route_port, routes, node.mqtt_port, self.replicas))

    def start(self, timeout=30.0):
        """Start every node; return once the cluster serves MQTT."""
        for node in self.nodes:
            self._write_config(node)
            self._spawn(node)
        self.wait_healthy(timeout=timeout)
        self._warm_up(timeout)
        return self

    def _spawn(self, node):
        handle = open(node.log_path, "a", encoding="utf-8")  # pylint: disable=consider-using-with
        with handle:
            node.process = subprocess.Popen(  # pylint: disable=consider-using-with
                [self.binary, "-c", node.config_path], stdout=handle, stderr=handle,
                preexec_fn=die_with_parent)

    def running(self, index):
        """Whether node ``index`` is running."""
        process = self.nodes[index].process
        return process is not None and process.poll() is None

    def kill(self, index):
        """SIGKILL node ``index``: its connections drop at once, no goodbye."""
        self._signal(index, signal.SIGKILL)

    def stop(self, index):
        """Stop node ``index`` cleanly (SIGTERM)."""
        self._signal(index, signal.SIGTERM)

    def _signal(self, index, signum):
        node = self.nodes[index]
        if node.process is not None and node.process.poll() is None:
            node.process.send_signal(signum)
            try:
                node.process.wait(10)
            except subprocess.TimeoutExpired:
                node.process.kill()
                node.process.wait(5)
        node.process = None

    def restart(self, index, timeout=30.0):
        """Start node ``index`` again on the same ports and store; wait until healthy."""
        if self.running(index):
            return
        self._spawn(self.nodes[index])
        self.wait_healthy([index], timeout)

    def wait_healthy(self, indexes=None, timeout=30.0):
        """Wait until the nodes' ``/healthz`` say ok (JetStream ready), or raise."""
        indexes = range(self.size) if indexes is None else indexes
        deadline = time.monotonic() + timeout
        waiting = set(indexes)
        while waiting:
            for index in sorted(waiting):
                if self._healthy(self.nodes[index]):
                    waiting.discard(index)
            if not waiting:
                return
            if time.monotonic() > deadline:
                raise BedboardError("NATS nodes %s not healthy after %.0f s (logs in %s)"
                                    % (", ".join(self.nodes[i].name for i in sorted(waiting)),
                                       timeout, self.workdir))
            time.sleep(0.1)

    @staticmethod
    def _healthy(node):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % node.http_port,
                                        timeout=1) as answer:
                return json.load(answer).get("status") == "ok"
        except (OSError, ValueError, urllib.error.URLError):
            return False

    def _warm_up(self, timeout):
        """Connect one MQTT client so that NATS creates its MQTT streams now."""
        # Imported here: the module is usable (ports, configs) without paho.
        import paho.mqtt.client as mqtt  # pylint: disable=import-outside-toplevel
        from paho.mqtt.enums import CallbackAPIVersion  # pylint: disable=import-outside-toplevel
        deadline = time.monotonic() + timeout
        while True:
            client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bedboard-warm-up",
                                 clean_session=True, protocol=mqtt.MQTTv311)
            try:
                client.connect(self.host, self.nodes[0].mqtt_port, 30)
                client.loop_start()
                while not client.is_connected() and time.monotonic() < deadline:
                    time.sleep(0.05)
                if client.is_connected():
                    return
            except (OSError, socket.error):
                pass
            finally:
                client.loop_stop()
                try:
                    client.disconnect()
                except Exception:  # noqa: BLE001 - a warm-up client may be half open
                    pass
            if time.monotonic() > deadline:
                raise BedboardError("the NATS cluster's MQTT listener did not answer "
                                    "within %.0f s (logs in %s)" % (timeout, self.workdir))
            time.sleep(0.2)

    def close(self):
        """Kill every node and remove what they wrote (if the folder was ours)."""
        for index in range(self.size):
            self.kill(index)
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.close()

    def log(self, index):
        """What node ``index`` logged so far."""
        try:
            with open(self.nodes[index].log_path, encoding="utf-8") as handle:
                return handle.read()
        except OSError:
            return ""
