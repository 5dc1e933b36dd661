"""When there is no ledger: learn the ward's count and seq from the broker first.

A ledger can be lost — an SD card swapped, a state_dir wiped — and starting
again from the config's numbers at ``seq`` 0 would be wrong twice over: the
count would be stale, and every consumer would ignore the "older" seqs
(SPEC.md rule 2).  So before it accepts a press, an agent without a ledger
reads its ward's retained state from the broker.

How it knows the broker has told it everything: it subscribes to the ward's
state topic and *then* to its own status topic.  Mosquitto answers the
subscriptions in order, and the status topic always holds a retained
message (the agent's ``online``, published on connect before it subscribes),
so once the status message arrives, the ward's retained state — if the
broker has one — has arrived before it.

* A retained state is there: the ledger starts from its counts and seq.
* None is there: this is a first start (or the broker lost it as well):
  the ledger starts from the config's counts at seq 0.

Either way the log says which, and why.
"""

import logging

from bedboard.errors import ContractError
from bedboard.payloads import WardState, utc_now
from bedboard.topics import status_topic, ward_topic

from .ward import WardCounts

_LOG = logging.getLogger(__name__)


class Recovery:
    """Listens for the ward's retained state, until the status barrier arrives."""

    def __init__(self, link, prefix, ward, agent_id):
        self._link = link
        self.state_topic = ward_topic(prefix, ward, "state")
        self.status_topic = status_topic(prefix, agent_id)
        self.found = None       # the latest valid WardState seen
        self.unreadable = None  # why a retained state could not be used
        self.finished = False

    def begin(self):
        """Subscribe: the ward's state first, then the agent's own status (the barrier)."""
        self._link.subscribe(self.state_topic)
        self._link.subscribe(self.status_topic)

    def end(self):
        """Unsubscribe: the agent does not need its own echo."""
        self._link.unsubscribe(self.state_topic)
        self._link.unsubscribe(self.status_topic)

    def wants(self, topic):
        """Whether a message on ``topic`` is for the recovery."""
        return topic in (self.state_topic, self.status_topic)

    def take(self, received):
        """Look at one message; return True once the answer is complete."""
        if received.topic == self.state_topic:
            try:
                state = WardState.parse(received.payload)
            except ContractError as exc:
                self.unreadable = str(exc)
                _LOG.error("the broker's retained state for this ward is unreadable: %s",
                           exc)
            else:
                if self.found is None or state.seq > self.found.seq:
                    self.found = state
        elif received.topic == self.status_topic:
            self.finished = True
        return self.finished


def starting_point(found, settings):
    """``(counts, seq, at, origin)`` for a new ledger, from what the broker held.

    ``found`` is the broker's retained WardState for this ward, or None.
    """
    if found is not None:
        _LOG.warning(
            "no ledger in %s: recovered the count from the broker's retained state — "
            "%s, seq %d, last changed %s by agent %s; the config's capacity and "
            "occupied are not used", settings.state_dir,
            WardCounts(found.capacity, found.occupied, found.blocked).describe(),
            found.seq, found.at.isoformat(), found.agent)
        return (WardCounts(found.capacity, found.occupied, found.blocked), found.seq,
                found.at, "broker")
    counts = WardCounts(settings.capacity, settings.occupied, 0)
    _LOG.warning("no ledger in %s and no retained state on the broker for %s: "
                 "first start, from the config — %s, seq 0", settings.state_dir,
                 settings.ward, counts.describe())
    return counts, 0, utc_now(), "config"
