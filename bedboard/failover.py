"""Which broker node to try next, when, and what to say about it: the link's failover rules.

Pure Python (no paho, no sockets): :class:`bedboard.link.BrokerLink` tells a
:class:`Failover` each failure and each good connection, and does what it
answers — log one line (or nothing), switch to the next node, wait so long.
The rules (docs/contract.md, ``broker.hosts``):

* the nodes are tried in order; the link moves to the next one whenever the
  current one fails, whatever the failure: it cannot be reached, it refuses,
  it accepts TCP but does not complete the MQTT handshake within the bound,
  it closes the connection before answering, or it drops a good connection;
* within one round of the list the next node is tried ``min_backoff`` after
  the failed attempt began; each full round that fails doubles that, up to
  ``max_backoff``.  Counted from the attempt's start, not its end: a node that
  fails slowly (no answer within the bound, a cluster node that closes a new
  session after seconds) has already spaced the attempts, and after a node
  hangs a cluster may refuse new sessions for a while — waiting on top of
  each slow failure would only add to the time to get back in;
* each failure is said once per outage — once per node *and* reason, so a
  node that was lost and then refuses the login says both, and a node that
  keeps refusing says it once — at ERROR when the device's own settings are
  at fault (a login, a certificate), else as a warning.

:class:`Takeovers` recognises a session taken by another client with the same
client id: the broker closes each connection of this device soon after
accepting it, again and again, while every reconnect succeeds at once.
"""

import logging
from dataclasses import dataclass

from .mqttclient import Failure

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Move:
    """What the link does after a failure."""

    said: str            # the line to log, or None (said before in this outage)
    level: int           # its logging level
    address: tuple       # (host, port) to try next
    delay: float         # seconds before trying it (None: paho's own backoff)


class Failover:
    """The nodes of ``broker.hosts`` and the state of the current outage."""

    def __init__(self, addresses, min_backoff, max_backoff):
        self.addresses = list(addresses)
        self.at = 0                 # the node in use, or to try next
        self._failed = 0            # failures since the last good connection
        self._told = set()          # (address, reason) said in this outage
        self._min_backoff, self._max_backoff = min_backoff, max_backoff

    @property
    def current(self):
        """``(host, port)`` of the node in use or to try next."""
        return self.addresses[self.at]

    def failed(self, failure, lost=False, spent=0.0):
        """The current node failed (``lost``: it dropped a good connection); return a Move.

        ``spent``: seconds since the failed attempt began (0 for a lost connection).
        """
        host, port = failed = self.current
        if lost:
            text = "lost broker %s:%d (%s)" % (host, port, failure.text)
        else:
            text = "broker %s:%d %s" % (host, port, failure.text)
        self._failed += 1
        first = (failed, failure.text) not in self._told
        self._told.add((failed, failure.text))
        level = logging.ERROR if failure.config else logging.WARNING
        if len(self.addresses) == 1:
            return Move("%s; reconnecting" % text if first else None, level, failed, None)
        self.at = (self.at + 1) % len(self.addresses)
        rounds = (self._failed - 1) // len(self.addresses)
        delay = max(0.0, min(self._max_backoff, self._min_backoff * 2 ** min(rounds, 16))
                    - spent)
        said = "%s; trying %s:%d next" % ((text,) + self.current) if first else None
        if not first:
            _LOG.debug("%s; trying %s:%d in %.1f s", text, *self.current, delay)
        return Move(said, level, self.current, delay)

    def connected(self):
        """A good connection: the outage is over; return whether there was one."""
        had = self._failed > 0
        self._failed = 0
        self._told.clear()
        return had


SHORT_LIVED = 10.0    # a connection closed by the broker within this many seconds …
IN_A_ROW = 3          # … this many times in a row: another client takes the session
SAY_AGAIN = 600.0     # seconds before it is said again (with the count) while it goes on


class Takeovers:
    """Counts connections the broker closed soon after accepting them."""

    def __init__(self, short=SHORT_LIVED, in_a_row=IN_A_ROW):
        self.short, self.in_a_row = short, in_a_row
        self._since = None          # when the current connection came up
        self._count = 0
        self._told = False
        self.total = 0              # connections taken over, in all (issue 15)
        self._told_at = None

    def connected(self, now):
        self._since = now

    def lost(self, now, closed_by_broker):
        """The connection ended; return True the one time the pattern is to be said."""
        since, self._since = self._since, None
        if since is None or not closed_by_broker or now - since >= self.short:
            self._count, self._told = 0, False
            return False
        self._count += 1
        if self._count < self.in_a_row:
            return False
        self.total += self._count if self._count == self.in_a_row else 1
        if not self._told or now - self._told_at >= SAY_AGAIN:
            self._told, self._told_at = True, now     # said again, with the count,
            return True                               # while the pattern goes on
        return False

    def failed(self):
        """A connection attempt failed: the node is not simply handing the session on."""
        self._count = 0


def closed_by(socket_error):
    """The Failure of a good connection that ended without a keepalive timeout."""
    if socket_error:
        return Failure(socket_error.lower())
    return Failure("closed by the broker")
