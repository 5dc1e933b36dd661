"""``--simulate``: drive the agent's mock pins from commands on standard input.

SPEC.md: one command a line — ``press NAME`` (press and release input
NAME), ``hold NAME SECONDS``, ``close NAME`` / ``open NAME`` (a bed
contact); bedboard adds ``wait SECONDS``, and ignores blank lines and ``#``
comments.  The commands move gpiozero MockFactory pins, so each press goes
through the very input objects, debounce and hold logic a Pi uses.  Each
command's outcome is printed as one line (``accepted taken: occupied 32/40,
vacant 6, seq 1235``, ``refused freed: no occupied bed to free``, ``error:
…``); at end of input the agent delivers what is pending and exits.

``--simulate-from FIFO`` (tests and containers only: a Pi has real
buttons) reads the same commands from a named pipe instead, for as long as
the agent runs — so that an agent started by its systemd unit, on mock pins,
can be pressed from outside: ``echo "press taken" > /run/bed-agent/simulate``.
"""

import logging
import os
import queue
import stat
import threading
import time

from bedboard.errors import AgentError

from .events import Accepted, Ignored, Refused
from .panel import BedContact

_LOG = logging.getLogger(__name__)

PRESS_MARGIN = 0.05    # a `press` lasts the input's debounce plus this
OUTCOME_WAIT = 5.0     # seconds to wait for the agent's answer to a command
READY_WAIT = 15.0      # seconds to wait for the agent to accept presses at all


def open_fifo(path):
    """The named pipe ``path`` (made, mode 0600, if absent), open for reading for ever.

    It is opened for writing too, so that it never reaches end of input when
    a writer closes it, and the agent keeps running.
    """
    try:
        os.mkfifo(path, 0o600)
    except FileExistsError:
        if not stat.S_ISFIFO(os.stat(path).st_mode):
            raise AgentError("--simulate-from %s: exists and is not a named pipe" % path) \
                from None
    except OSError as exc:
        raise AgentError("--simulate-from %s: %s" % (path, exc.strerror or exc)) from None
    _LOG.info("reading --simulate commands from %s (mock pins: no GPIO)", path)
    return os.fdopen(os.open(path, os.O_RDWR), "r", encoding="utf-8")


class Simulator:
    """Reads commands from ``lines`` and plays them on the agent's mock pins."""

    def __init__(self, agent, lines, out, deliver_wait=10.0):
        self.agent = agent
        self.lines = lines
        self.out = out
        self.deliver_wait = deliver_wait
        self._outcomes = queue.Queue()
        self._thread = None
        agent.listeners.append(self._outcomes.put)

    def start(self):
        """Play the commands on a thread of their own."""
        self._thread = threading.Thread(target=self._run, name="bed-agent-simulate",
                                        daemon=True)
        self._thread.start()

    def _say(self, text):
        self.out.write(text + "\n")
        self.out.flush()

    def _run(self):
        try:
            self._wait_ready()
            for number, line in enumerate(self.lines, 1):
                words = line.split("#", 1)[0].split()
                if words:
                    self._say(self.execute(words, number))
        except Exception as exc:  # noqa: BLE001 - say it, then still deliver and exit
            _LOG.error("--simulate stopped reading commands: %s", exc)
        self.agent.end_of_input(self.deliver_wait)

    def _wait_ready(self):
        deadline = time.monotonic() + READY_WAIT
        while not self.agent.ready and time.monotonic() < deadline:
            time.sleep(0.02)

    # -- commands ----------------------------------------------------------
    def execute(self, words, number=0):
        """Play one command (split into words); return the line to print."""
        command, args = words[0].lower(), words[1:]
        where = "error: line %d: " % number if number else "error: "
        if command == "wait":
            seconds = self._seconds(args, 1, "wait SECONDS")
            if isinstance(seconds, str):
                return where + seconds
            time.sleep(seconds)
            return "waited %.2f s" % seconds
        if command not in ("press", "hold", "close", "open"):
            return where + ("unknown command %r: use press NAME, hold NAME SECONDS, "
                            "close NAME, open NAME or wait SECONDS" % words[0])
        if not args:
            return where + "%s needs the name of an input" % command
        device = self.agent.panel.inputs.get(args[0])
        if device is None:
            return where + "no input named %r (inputs: %s)" % (
                args[0], ", ".join(self.agent.panel.inputs))
        is_contact = isinstance(device, BedContact)
        if command in ("press", "hold"):
            if is_contact:
                return where + "%s is a bed contact: use close %s or open %s" % (
                    device.name, device.name, device.name)
            if command == "press":
                if len(args) != 1:
                    return where + "press takes one input name"
                return self._press(device, device.debounce + PRESS_MARGIN)
            seconds = self._seconds(args, 2, "hold NAME SECONDS")
            if isinstance(seconds, str):
                return where + seconds
            return self._press(device, seconds)
        if not is_contact:
            return where + "%s is a button: use press %s" % (device.name, device.name)
        if len(args) != 1:
            return where + "%s takes one input name" % command
        return self._move_contact(device, command == "close")

    @staticmethod
    def _seconds(args, count, usage):
        if len(args) != count:
            return "usage: %s" % usage
        try:
            seconds = float(args[-1])
        except ValueError:
            return "%r is not a number of seconds (usage: %s)" % (args[-1], usage)
        if not 0 <= seconds <= 600:
            return "seconds must be between 0 and 600, got %s" % args[-1]
        return seconds

    def _drive(self, device, closed):
        # A contact wired to ground (pull_up) pulls its pin low when closed.
        if closed == device.pull_up:
            device.pin.drive_low()
        else:
            device.pin.drive_high()

    def _press(self, device, seconds):
        self._forget_outcomes()
        self._drive(device, True)
        time.sleep(seconds)
        self._drive(device, False)
        answer = self._answer(device, device.debounce + OUTCOME_WAIT)
        self._settle(device)
        return answer

    def _move_contact(self, device, closed):
        if device.is_active == closed:
            return "unchanged %s: already %s" % (device.name,
                                                 "closed" if closed else "open")
        self._forget_outcomes()
        self._drive(device, closed)
        answer = self._answer(device, max(device.debounce, device.hold) + OUTCOME_WAIT)
        self._settle(device)
        return answer

    @staticmethod
    def _settle(device):
        """Wait until the input's debounce has taken its last move as steady.

        The next command then starts a new press, rather than being taken
        for the bounce of this one.
        """
        deadline = time.monotonic() + max(device.debounce, device.hold) + 1.0
        while device.confirmed_active != device.is_active \
                and time.monotonic() < deadline:
            time.sleep(0.005)

    def _forget_outcomes(self):
        while True:
            try:
                self._outcomes.get_nowait()
            except queue.Empty:
                return

    def _answer(self, device, timeout):
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                outcome = self._outcomes.get(timeout=max(remaining, 0.001))
            except queue.Empty:
                return "error: no answer from the agent about %s within %.0f s" % (
                    device.name, timeout)
            if isinstance(outcome, (Accepted, Refused, Ignored)) \
                    and outcome.input == device.name:
                return outcome.describe()
