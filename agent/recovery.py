"""Reading the ward's retained state from the broker, and knowing when that is all of it.

Two uses, one mechanism (:class:`Recovery`):

* **No ledger** (an SD card swapped, a state_dir wiped): starting again from
  the config's numbers at ``seq`` 0 would be wrong twice over — the count
  would be stale, and every consumer would ignore the "older" seqs (SPEC.md
  rule 2).  So before it accepts a press, the agent reads its ward's
  retained state and carries on from it, marked ``unconfirmed`` (it is a
  copy that may be old) until a bed manager's ``set``.  No retained state:
  a first start, from the config, at seq 0.
* **A ledger** (every other start): its *audit* — does the broker hold a
  later seq for this ward, or the same seq with other counts?  Then this
  ledger is an old copy (a restored backup, a cloned card), and the agent
  must move past the broker's seq instead of giving the same seq to a
  different state (:meth:`agent.ledger.Ledger.rebase`).

The hard part is knowing that the answer is complete: a retained state that
has not arrived *yet* looks exactly like none at all.  MQTT promises no
order between the retained messages of different subscriptions, and brokers
do not keep one (a cluster answers from whichever node holds them), so the
old barrier — subscribe to the ward's state, then to the agent's own
status, and take the status's retained ``online`` as "the state came
before it" — held on Mosquitto and on nothing MQTT guarantees.

The barrier now is a message the broker can only deliver *after* it has
handled the state subscription: the echo of a publish the agent makes
itself.  The agent subscribes to its ward's state topic, then to its own
status topic, then publishes its retained ``online`` again; the copy the
broker sends back *live* (retain flag 0 — MQTT 3.1.1 §3.3.1.3 requires it
for a message matched by an established subscription) proves the status
subscription is in place, and the state subscription was handled before it
(same SUBSCRIBE packet, or an earlier one: a broker handles one client's
packets in order).  A broker sends a new subscription's retained messages
while it handles the SUBSCRIBE — Mosquitto does, and NATS's MQTT server
enqueues them right after the SUBACK, in the same step (server/mqtt.go,
``mqttEnqueueSubAck`` then ``mqttSendRetainedMsgsToNewSubs``; checked here
against nats-server 2.9: SUBACK, the retained state, the retained status,
then the live echo).  So the live echo comes after the retained state, if
there is one.  Why this topic: the agent's status is the one topic the
broker's ACL already lets it both write and read, and ``online`` is what
that topic is for — a consumer sees one more (true) ``online``, nothing it
has to drop as bad input.  A unique nonce is not needed: any live
``online`` on the agent's own status topic was published after the
subscription that brought it, and only this agent publishes ``online``
there.

What no barrier can do: a cluster node whose copy of the retained messages
lags behind answers with an older state, or none.  That is why the audit
runs at every start, why the agent republishes its state on every connect
and heartbeat, and why a count recovered from the broker stays marked
``unconfirmed`` until a bed manager confirms it.

A cluster node that has just restarted may answer before it has loaded the
retained messages again (NATS keeps them in JetStream): an empty answer
there is not to be believed at once, or the agent would start from its
config at seq 0 and overwrite the ward's real state once the node catches
up.  So with ``recheck`` (the agent gives it with ``broker.hosts``; a single
Mosquitto loads its retained messages before it accepts a connection) an
answer that found nothing is asked again ``recheck`` seconds later — the
state subscription renewed, the barrier published again — and only a
second empty answer is taken as "nothing".

A lost answer (a SUBACK or the echo lost, an ACL that denies the read) must
not leave the agent waiting for ever: while connected, after
``retry_after`` seconds without the barrier, :meth:`Recovery.tick`
subscribes again — MQTT sends a renewed subscription's retained messages
again — publishes the barrier again, and says so in the log.
"""

import logging

from bedboard.errors import ContractError
from bedboard.link import ONLINE
from bedboard.payloads import WardState, utc_now
from bedboard.topics import status_topic, ward_topic

from .ward import WardCounts

_LOG = logging.getLogger(__name__)

RETRY_AFTER = 5.0   # seconds connected without the barrier before subscribing again
EMPTY_RECHECK = 5.0  # seconds before a cluster's empty answer is asked again


class Recovery:
    """Asks the broker for the ward's retained state; knows when the answer is complete.

    Used from the agent's loop thread only.  ``now`` arguments are
    ``time.monotonic()`` values.
    """

    def __init__(self, link, prefix, ward, agent_id, retry_after=RETRY_AFTER,
                 purpose="recovery", recheck=0.0):
        self._link = link
        self.state_topic = ward_topic(prefix, ward, "state")
        self.status_topic = status_topic(prefix, agent_id)
        self.retry_after = retry_after
        self.purpose = purpose
        self.found = None       # the latest valid WardState seen
        self.unreadable = None  # why a state on the broker could not be used
        self.finished = False
        self.renewals = 0       # how often the subscriptions were renewed
        self.recheck = recheck  # seconds before an empty answer is asked again (0: never)
        self.rechecked = False
        self._recheck_at = None
        self._asked_at = None   # when the barrier was last published (while connected)

    def begin(self, now):
        """Subscribe: the ward's state first, then the agent's own status; then ask."""
        self._link.subscribe(self.state_topic)
        self._link.subscribe(self.status_topic)
        self.ask(now)

    def ask(self, now):
        """Publish the barrier (the retained ``online`` again), if connected."""
        if self.finished:
            return
        self._asked_at = now if self._link.refresh_status() is not None else None

    def connected(self, now):
        """The link (re)connected and renewed the subscriptions: ask again."""
        self.ask(now)

    def disconnected(self):
        """No answer can come until the link is back."""
        self._asked_at = None

    def tick(self, now):
        """Subscribe and ask again if the answer is overdue (or to be checked); return whether it did."""
        if not self.finished and self._recheck_at is not None and now >= self._recheck_at:
            self._recheck_at, self.rechecked = None, True
            self._link.renew(self.state_topic)
            self.ask(now)
            return True
        if self.finished or self._asked_at is None \
                or now - self._asked_at < self.retry_after:
            return False
        self.renewals += 1
        _LOG.warning("the broker has not answered the %s's subscriptions within %.0f s "
                     "while connected: subscribing to %s and %s again (attempt %d)",
                     self.purpose, self.retry_after, self.state_topic,
                     self.status_topic, self.renewals + 1)
        self._link.renew(self.state_topic)
        self._link.renew(self.status_topic)
        self.ask(now)
        return True

    def end(self):
        """Unsubscribe: the status topic first, so it is never held without the state."""
        self._link.unsubscribe(self.status_topic)
        self._link.unsubscribe(self.state_topic)

    def wants(self, topic):
        """Whether a message on ``topic`` is for the recovery."""
        return topic in (self.state_topic, self.status_topic)

    def take(self, received, now=0.0):
        """Look at one message (at ``now``); return True once the answer is complete."""
        if self.finished:
            return True
        if received.topic == self.state_topic:
            try:
                state = WardState.parse(received.payload)
            except ContractError as exc:
                self.unreadable = str(exc)
                _LOG.error("the broker's state for this ward is unreadable: %s", exc)
            else:
                if self.found is None or state.seq > self.found.seq:
                    self.found = state
        elif received.topic == self.status_topic and not received.retained \
                and received.payload == ONLINE:
            if self.found is None and self.recheck and not self.rechecked:
                self._empty_answer(now)
            else:
                self.finished = True
        return self.finished

    def _empty_answer(self, now):
        """The first answer found nothing: ask again in ``recheck`` seconds."""
        self._asked_at = None
        if self._recheck_at is not None:
            return
        self._recheck_at = now + self.recheck
        host, port = self._link.address
        _LOG.warning("broker %s:%d holds no state for %s: a cluster node that has just "
                     "restarted may not have loaded its retained messages yet — asking "
                     "again in %.0f s before believing it", host, port, self.state_topic,
                     self.recheck)


def is_old_copy(found, ledger):
    """Whether the broker's state ``found`` shows ``ledger`` to be an old copy.

    It does when the broker knows a seq the ledger has not reached, or a
    seq the ledger still knows (its base, a held change, its last) with
    other counts.  A broker seq older than the ledger's base is the broker
    lagging behind, not the ledger.  A seq among the held changes with the
    same counts was published by an earlier run of this very ledger (a
    SIGKILL after the broker's check), or reached again by the same change
    (a bed contact caught up at start): the same state, not an old copy.
    """
    if found.seq > ledger.seq:
        return True
    base_seq, _ = ledger.base()
    if found.seq < base_seq:
        return False
    ours = ledger.counts_at(found.seq)
    return ours is None or ours != WardCounts.from_wire(found)


def starting_point(found, settings):
    """``(counts, seq, at, origin, unconfirmed)`` for a new ledger, from what the broker held.

    ``found`` is the broker's retained WardState for this ward, or None.  A
    count taken from the broker is unconfirmed: it is a copy, and may be old.
    Its held beds come with it (their holds: :func:`agent.holdbook.holds_from_wire`).
    """
    if found is not None:
        _LOG.warning(
            "no ledger in %s: recovered the count from the broker's retained state — "
            "%s, seq %d, last changed %s by agent %s; the config's capacity and "
            "occupied are not used, and the count is marked unconfirmed until a bed "
            "manager's set", settings.state_dir,
            WardCounts.from_wire(found).describe(),
            found.seq, found.at.isoformat(), found.agent)
        return (WardCounts.from_wire(found), found.seq,
                found.at, "broker", True)
    counts = WardCounts(settings.capacity, settings.occupied, 0)
    _LOG.warning("no ledger in %s and no retained state on the broker for %s: "
                 "first start, from the config — %s, seq 0", settings.state_dir,
                 settings.ward, counts.describe())
    return counts, 0, utc_now(), "config", False
