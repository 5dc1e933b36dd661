"""A private Mosquitto on a free loopback port, for tests, benchmarks and the demo.

It never touches port 1883, which belongs to the machine's own broker.  It
can be stopped (SIGTERM), killed (SIGKILL) and started again on the same
port, so fault tests can cut the broker out from under a device.
"""

import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

from .errors import BedboardError

_LOG = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
_CANDIDATES = ("mosquitto", "/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")


class BrokerNotFound(BedboardError, FileNotFoundError):
    """No mosquitto executable on this machine."""


def die_with_parent():
    """For ``Popen(preexec_fn=...)``: the child gets SIGTERM when its parent dies.

    Linux's PR_SET_PDEATHSIG, so that a test run or a demo that is killed
    outright (SIGKILL) leaves no broker behind.  It fires when the *thread*
    that started the child ends, so use it only from a thread that lives as
    long as the child should (the main thread).  Elsewhere it does nothing.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def find_executable(candidates, package, missing):
    """The first of ``candidates`` on this machine, or raise ``missing`` naming ``package``."""
    for candidate in candidates:
        path = shutil.which(candidate)
        if path:
            return path
    raise missing("%s is not installed: run scripts/system-deps (apt-get install %s)"
                  % (package, package))


def find_mosquitto():
    """The path of the mosquitto executable, or raise BrokerNotFound."""
    return find_executable(_CANDIDATES, "mosquitto", BrokerNotFound)


def free_port(host="127.0.0.1"):
    """A TCP port on ``host`` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class PrivateBroker:
    """A Mosquitto process of our own on 127.0.0.1 and a free port."""

    host = "127.0.0.1"

    def __init__(self, port=None, persistence=False, workdir=None, extra_config=(),
                 config_file=None):
        if config_file is not None and port is None:
            raise ValueError("with config_file, give the port it listens on")
        self.port = port or free_port(self.host)
        self.extra_config = list(extra_config)
        # A complete mosquitto.conf of someone else's (bedboard broker-config's),
        # run as it is but for the lines _write_config adds.
        self.config_file = config_file
        if self.port == 1883:
            raise ValueError("a private broker never uses port 1883")
        self.persistence = persistence
        self._own_dir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix="bedboard-mosquitto-")
        os.makedirs(self.workdir, exist_ok=True)
        self.config_path = os.path.join(self.workdir, "mosquitto.conf")
        self.log_path = os.path.join(self.workdir, "mosquitto.log")
        self.process = None
        self._write_config()

    def _write_config(self):
        if self.config_file is not None:
            self._write_given_config()
            return
        lines = ["listener %d %s" % (self.port, self.host)]
        if not any(line.startswith("allow_anonymous") for line in self.extra_config):
            lines.append("allow_anonymous true")
        lines += ["max_keepalive 65535",
                  "log_dest file %s" % self.log_path,
                  "log_type error", "log_type warning", "log_type notice",
                  "log_type information",
                  "connection_messages true",
                  "persistence %s" % ("true" if self.persistence else "false")]
        if os.geteuid() == 0:
            # Run as root, mosquitto drops to its own user, which cannot write
            # our temporary directory; stay root for this private broker.
            lines.append("user root")
        if self.persistence:
            lines += ["persistence_location %s/" % self.workdir,
                      "autosave_interval 1"]
        lines += self.extra_config
        with open(self.config_path, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")

    def _write_given_config(self):
        """``config_file`` as it is, logging to our log file too, and root stays root."""
        with open(self.config_file, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
        lines += ["log_dest file %s" % self.log_path] + self.extra_config
        if os.geteuid() == 0 and not any(line.startswith("user ") for line in lines):
            lines.append("user root")
        with open(self.config_path, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")

    @property
    def running(self):
        """Whether the broker process is alive."""
        return self.process is not None and self.process.poll() is None

    def start(self, timeout=10.0):
        """Start mosquitto and wait until it accepts connections."""
        if self.running:
            return self
        self.process = subprocess.Popen(  # pylint: disable=consider-using-with
            [find_mosquitto(), "-c", self.config_path],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True,
            preexec_fn=die_with_parent if threading.current_thread()
            is threading.main_thread() else None)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BedboardError("mosquitto exited with %s at start; its log:\n%s"
                                    % (self.process.returncode, self.log_tail()))
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.02)
        self.kill()
        raise BedboardError("mosquitto did not listen on port %d within %.0f s"
                            % (self.port, timeout))

    def _end(self, sig, timeout=5.0):
        if not self.running:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)

    def stop(self):
        """Stop it cleanly (SIGTERM): it closes connections and, with persistence, saves."""
        self._end(signal.SIGTERM)

    def kill(self):
        """Kill it abruptly (SIGKILL): clients see the connection drop."""
        self._end(signal.SIGKILL)

    def restart(self, down_for=0.0):
        """Stop, wait ``down_for`` seconds, and start again on the same port."""
        self.stop()
        if down_for:
            time.sleep(down_for)
        return self.start()

    def log_tail(self, lines=20):
        """The last lines of the broker's log, for error messages."""
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as handle:
                return "".join(handle.readlines()[-lines:])
        except OSError:
            return "(no log)"

    def close(self):
        """Stop the broker and remove its files."""
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.close()
