"""Typed events between the agent's parts.

The panel, the broker link and the command line put *inputs* on the
agent's one queue; the agent's loop takes them one at a time, and tells
whoever listens (the ``--simulate`` driver, tests, the demo) the *outcome*
of each press or sensor change.
"""

from dataclasses import dataclass

# -- into the agent's loop --------------------------------------------------


@dataclass(frozen=True)
class Pressed:
    """A counting button's press, confirmed by debounce (and hold)."""

    input: str
    kind: str


@dataclass(frozen=True)
class TooShort:
    """A press released before its hold-to-confirm time: not counted."""

    input: str
    seconds: float
    hold: float


@dataclass(frozen=True)
class BedChanged:
    """A bed contact's confirmed change: its bed is now occupied, or vacant."""

    input: str
    bed: str
    occupied: bool


@dataclass(frozen=True)
class Linked:
    """The broker link connected (True) or lost its connection (False).

    ``connection`` is the link's number for the connection that came up (or
    the last one): what the agent's publisher hands over is for that
    connection only.
    """

    connected: bool
    connection: int = 0


@dataclass(frozen=True)
class Acked:
    """The broker acknowledged (PUBACK) the message paho numbered ``mid``."""

    mid: int


@dataclass(frozen=True)
class Arrived:
    """A message from the broker (a ``set`` command, or recovery's answer)."""

    received: object  # bedboard.link.Received


@dataclass(frozen=True)
class EndOfInput:
    """``--simulate`` ran out of commands: deliver what is pending, then exit."""

    timeout: float


@dataclass(frozen=True)
class Stop:
    """Stop now (SIGTERM, Ctrl-C)."""


# -- out of the agent's loop ------------------------------------------------


@dataclass(frozen=True)
class Accepted:
    """A change was made durable (and is on its way to the broker)."""

    input: str
    change: object  # agent.ward.Change
    state: object   # bedboard.payloads.WardState

    def describe(self):
        """``accepted taken: occupied 32/40, vacant 6, seq 1235``."""
        what = self.input
        if self.change.bed is not None:
            what += " (bed %s %s)" % (self.change.bed, "occupied"
                                      if self.change.after.occupied
                                      > self.change.before.occupied else "vacant")
        return "accepted %s: %s, seq %d" % (what, self.change.after.describe(),
                                            self.state.seq)


@dataclass(frozen=True)
class Refused:
    """A press or sensor change that changed nothing, and why."""

    input: str
    reason: str

    def describe(self):
        """``refused freed: no occupied bed to free``."""
        return "refused %s: %s" % (self.input, self.reason)


@dataclass(frozen=True)
class Ignored:
    """An input that was noticed but changes nothing (too short, already counted)."""

    input: str
    reason: str

    def describe(self):
        """``ignored freed: released after 0.20 s; hold 1.0 s to confirm``."""
        return "ignored %s: %s" % (self.input, self.reason)
