"""Helpers for the agent's tests: configs, a running agent on mock pins, presses."""

import json
import os
import queue
import subprocess
import sys
import textwrap
import threading
import time

from gpiozero.pins.mock import MockFactory

from agent.app import WardAgent
from agent.config import load_agent
from bedboard.payloads import WardEvent, WardState
from bedboard.topics import WardKey, status_topic, ward_topic

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WARD = WardKey("nrs", "medicine", "female-2")
AGENT_ID = "nrs-medicine-female-2"
STATE = ward_topic("crs", WARD, "state")
EVENT = ward_topic("crs", WARD, "event")
SET = ward_topic("crs", WARD, "set")
REPLY = ward_topic("crs", WARD, "reply")
STATUS = status_topic("crs", AGENT_ID)
PINS = {"freed": 17, "taken": 27, "blocked": 22, "unblocked": 23}


def write_config(tmp_path, broker_port, capacity=40, occupied=10, extra="",
                 inputs=None, name="agent.yaml", state_dir=None):
    """An agent config for WARD on the private broker; returns its path."""
    if inputs is None:
        inputs = "\n".join("  - {name: %s, kind: %s, pin: %d}" % (kind, kind, pin)
                           for kind, pin in PINS.items())
    text = textwrap.dedent("""\
        agent:
          id: %s
          hospital: nrs
          department: medicine
          ward: female-2
          capacity: %d
          occupied: %d
          state_dir: %s
          heartbeat: 60
        broker:
          host: 127.0.0.1
          port: %d
        inputs:
        """) % (AGENT_ID, capacity, occupied, state_dir or str(tmp_path / "state"),
                broker_port)
    path = tmp_path / name
    path.write_text(text + inputs + "\n" + textwrap.dedent(extra), encoding="utf-8")
    return str(path)


class RunningAgent:
    """A WardAgent on MockFactory pins, its loop on a thread; records its outcomes."""

    def __init__(self, config_path, agent_options=None, **settings_changes):
        from dataclasses import replace
        settings = load_agent(config_path)
        if settings_changes:
            settings = replace(settings, **settings_changes)
        self.settings = settings
        self.factory = MockFactory()
        options = dict(min_backoff=0.1, max_backoff=0.5)
        options.update(agent_options or {})
        self.agent = WardAgent(settings, self.factory, **options)
        self.outcomes = queue.Queue()
        self.agent.listeners.append(self.outcomes.put)
        self.exit_code = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        self.exit_code = self.agent.run()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self, timeout=10):
        """Stop the agent (as SIGTERM would) and wait for its loop to end."""
        self.agent.stop()
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the agent did not stop"
        self.factory.close()

    def join(self, timeout=20):
        """Wait for the loop to end by itself; return the exit code."""
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the agent did not end"
        self.factory.close()
        return self.exit_code

    def wait_ready(self, timeout=10):
        """Wait until presses are accepted."""
        deadline = time.monotonic() + timeout
        while not self.agent.ready:
            assert time.monotonic() < deadline, "the agent never became ready"
            time.sleep(0.01)
        return self

    def wait_checked(self, timeout=10):
        """Wait until the count was checked against the broker (and is published)."""
        deadline = time.monotonic() + timeout
        while not self.agent.checked:
            assert time.monotonic() < deadline, "the count was never checked"
            time.sleep(0.01)
        return self

    def wait_delivered(self, timeout=10):
        """Wait until the broker acknowledged every event and the current state."""
        deadline = time.monotonic() + timeout
        while True:
            events, state, _ = self.agent.undelivered()
            if self.agent.ready and not events and not state:
                return
            assert time.monotonic() < deadline, "not delivered: %r" % (
                self.agent.undelivered(),)
            time.sleep(0.01)

    def pin(self, name):
        """The mock pin of input ``name``."""
        return self.agent.panel.inputs[name].pin

    def press(self, name, seconds=None):
        """Press and release input ``name`` like a nurse would; return the outcome."""
        device = self.agent.panel.inputs[name]
        pin = device.pin
        pin.drive_low()
        time.sleep(device.debounce + 0.02 if seconds is None else seconds)
        pin.drive_high()
        outcome = self.outcome(name)
        settle(device)
        return outcome

    def outcome(self, name=None, timeout=5):
        """The next outcome (for input ``name``, when given)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                outcome = self.outcomes.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                raise AssertionError("no outcome for %s within %s s" % (name, timeout))
            if name is None or outcome.input == name:
                return outcome

    def no_outcome(self, wait=0.3):
        """Assert that nothing was reported within ``wait`` seconds."""
        try:
            outcome = self.outcomes.get(timeout=wait)
        except queue.Empty:
            return
        raise AssertionError("unexpected outcome %r" % (outcome,))


def settle(device, timeout=2):
    """Wait until an input's debounce has taken its last move as steady."""
    deadline = time.monotonic() + timeout
    while device.confirmed_active != device.is_active and time.monotonic() < deadline:
        time.sleep(0.002)


def states(probe):
    """Every WardState the probe received for WARD, parsed."""
    return [WardState.parse(p) for p in probe.on(STATE)]


def events(probe):
    """Every WardEvent the probe received for WARD, parsed."""
    return [WardEvent.parse(p) for p in probe.on(EVENT)]


def wait_state(probe, seq, timeout=10):
    """Wait for a state with ``seq`` on the broker; return it."""
    def found(messages):
        for message in messages:
            if message.topic == STATE and WardState.parse(message.payload).seq == seq:
                return WardState.parse(message.payload)
        return None
    return probe.wait_for(found, timeout)


def wait_events(probe, last_seq, timeout=10):
    """Wait until events up to ``last_seq`` arrived; return the events."""
    probe.wait_for(lambda ms: any(m.topic == EVENT and WardEvent.parse(m.payload).seq
                                  >= last_seq for m in ms), timeout)
    return events(probe)


def set_command(probe, payload, retain=False):
    """Publish a set command (a dict is sent as JSON, bytes as they are)."""
    if isinstance(payload, dict):
        payload = json.dumps(payload).encode("utf-8")
    probe.publish(SET, payload, retain=retain)


def agent_command(config_path, *args):
    """The command line of ``python -m agent`` with this config."""
    return [sys.executable, "-m", "agent", "--config", config_path] + list(args)


def run_agent(config_path, *args, stdin="", timeout=60, cwd=None):
    """Run ``python -m agent`` to its end; return the CompletedProcess."""
    return subprocess.run(agent_command(config_path, *args), input=stdin, text=True,
                          capture_output=True, timeout=timeout, cwd=cwd or ROOT)


class Proxy:
    """A TCP proxy between a client and the broker, whose faults a test controls.

    * :meth:`freeze` holds what the client sends (the broker never sees it,
      no PUBACK comes back);
    * :meth:`cut` closes every connection, dropping what was held, and
      refuses new ones until :meth:`resume`.
    """

    def __init__(self, target_port, host="127.0.0.1"):
        import socket
        self.host, self.target_port = host, target_port
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind((host, 0))
        self._server.listen(8)
        self.port = self._server.getsockname()[1]
        self._lock = threading.Lock()
        self._pairs = []
        self._frozen = False
        self._accepting = True
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        import socket
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            with self._lock:
                accepting = self._accepting
            if not accepting:
                client.close()
                continue
            try:
                upstream = socket.create_connection((self.host, self.target_port), 5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs.append((client, upstream))
            threading.Thread(target=self._pipe, args=(client, upstream, True),
                             daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False),
                             daemon=True).start()

    def _pipe(self, source, sink, upstream):
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            with self._lock:
                frozen = self._frozen and upstream
            if frozen:
                continue            # held, then dropped by cut()
            try:
                sink.sendall(data)
            except OSError:
                break
        for sock in (source, sink):
            try:
                sock.close()
            except OSError:
                pass

    def freeze(self):
        """Stop passing the client's bytes on to the broker."""
        with self._lock:
            self._frozen = True

    def cut(self):
        """Close every connection (dropping what was held); refuse new ones."""
        import socket
        with self._lock:
            self._accepting = False
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for sock in pair:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()

    def resume(self):
        """Accept connections again, passing everything on."""
        with self._lock:
            self._accepting = True
            self._frozen = False

    def close(self):
        self._closed = True
        self.cut()
        self._server.close()
