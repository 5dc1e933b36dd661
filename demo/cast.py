"""The demo's cast of processes: a private Mosquitto, simulated wards, the board.

Every process is started in its own session, so a Ctrl-C at the terminal
reaches only the demo, which then stops them all in order — agents first
(each says ``offline``), then the board, then the broker — and kills what
does not stop in time.  Nothing is left behind.
"""

import logging
import os
import signal
import subprocess
import sys
import threading
import time

from bedboard.mosquitto import die_with_parent

_LOG = logging.getLogger(__name__)

STOP_GRACE = 10.0


class Ward:
    """One simulated ward agent: ``bed-agent --simulate`` fed on its stdin."""

    def __init__(self, config_path, agent_id, key, workdir, broker_address):
        self.config_path = config_path
        self.agent_id = agent_id
        self.key = key
        self.workdir = workdir
        self.broker_address = broker_address
        self.log_path = os.path.join(workdir, "logs", agent_id + ".log")
        self.process = None
        self.replies = []
        self.reply_count = 0
        self._lock = threading.Lock()
        self._reader = None

    @property
    def running(self):
        """Whether the agent process is alive."""
        return self.process is not None and self.process.poll() is None

    def start(self):
        """Start the agent (again), with its state kept under the demo folder."""
        os.makedirs(os.path.dirname(self.log_path), exist_ok=True)
        # Its answers (stdout) are read back for the console; its log
        # (stderr) goes straight to the ward's log file.
        with open(self.log_path, "a", encoding="utf-8") as log:
            self.process = subprocess.Popen(  # pylint: disable=consider-using-with
                [sys.executable, "-m", "agent", "--config", self.config_path,
                 "--simulate", "--broker", self.broker_address],
                cwd=self.workdir, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=log, text=True, bufsize=1, start_new_session=True,
                env=_child_env())
        self._reader = threading.Thread(target=self._read, args=(self.process,),
                                        name="ward-" + self.agent_id, daemon=True)
        self._reader.start()

    def _read(self, process):
        with open(self.log_path, "a", encoding="utf-8") as log:
            for line in process.stdout:
                log.write(line)
                log.flush()
                with self._lock:
                    self.replies.append(line.rstrip("\n"))
                    self.reply_count += 1
                    del self.replies[:-50]

    def send(self, command):
        """Send one ``--simulate`` command line; False if the agent is not running."""
        if not self.running:
            return False
        try:
            self.process.stdin.write(command + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            return False
        return True

    def last_replies(self, count):
        """The agent's last ``count`` output lines."""
        with self._lock:
            return list(self.replies[-count:])

    def stop(self, timeout=STOP_GRACE):
        """SIGTERM (the agent says offline and exits), then SIGKILL if it lingers."""
        _terminate(self.process, timeout)


class Board:
    """The real board: in a window when there is a screen, else snapshots to a file."""

    def __init__(self, config_path, broker_address, snapshot_path=None,
                 snapshot_every=5.0, log_path=None):
        self.config_path = config_path
        self.broker_address = broker_address
        self.snapshot_path = snapshot_path
        self.snapshot_every = snapshot_every
        self.log_path = log_path
        self.process = None

    def start(self):
        """Start ``bed-display`` for this board."""
        command = [sys.executable, "-m", "display", "--config", self.config_path,
                   "--broker", self.broker_address]
        env = _child_env()
        if self.snapshot_path:
            command += ["--snapshot", self.snapshot_path,
                        "--snapshot-every", str(self.snapshot_every)]
            env["SDL_VIDEODRIVER"] = "dummy"
        else:
            command += ["--window"]
        log = open(self.log_path or os.devnull, "a", encoding="utf-8")  # pylint: disable=consider-using-with
        with log:
            # the board would run for ever if the demo were killed outright
            self.process = subprocess.Popen(  # pylint: disable=consider-using-with
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                start_new_session=True, env=env, preexec_fn=die_with_parent)

    @property
    def running(self):
        """Whether the board process is alive."""
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout=STOP_GRACE):
        """SIGTERM, then SIGKILL if it lingers."""
        _terminate(self.process, timeout)


def _child_env():
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"]
                                if env.get("PYTHONPATH") else "")
    return env


def _terminate(process, timeout):
    if process is None or process.poll() is not None:
        return
    try:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        _LOG.warning("pid %d did not stop in %.0f s: killing it", process.pid, timeout)
        process.kill()
        process.wait()


def stop_all(processes, timeout=STOP_GRACE):
    """SIGTERM every process at once, wait for all, SIGKILL the stragglers."""
    alive = [p for p in processes if p is not None and p.poll() is None]
    for process in alive:
        try:
            process.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    for process in alive:
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _LOG.warning("pid %d did not stop in time: killing it", process.pid)
            process.kill()
            process.wait()
