"""From the ledger to the broker: the outbox's events in seq order, and the ward's state.

SPEC.md's rules, as the agent keeps them:

* one event per change (QoS 1, not retained), never dropped, leaving in
  ``seq`` order; an event stays in the ledger's outbox until the broker's
  PUBACK for it arrives (paho keeps its own session in memory only);
* the current state (QoS 1, retained) after each change, on every connect
  and every ``heartbeat`` — states are coalesced: only the latest matters;
* **one connection at a time**: everything is handed to the link for the
  connection the agent was told of (``publish(..., connection=N)``), and
  the link sends it on that connection only.  The agent's view of the link
  may be stale — its loop can be busy while the link drops and comes back,
  the connection events queued behind the work — so when the link answers
  that connection N is not the one up, nothing was sent: the publisher
  stops handing anything over until the next connection event, and then
  sends the outbox again from its oldest event, then the current state.
  The link never sends them again itself, so nothing of an older
  connection can overtake them: the first copy of each event reaches the
  broker in ``seq`` order, and the broker never takes an older state after
  a newer one.  An event may still arrive twice (its PUBACK lost with the
  connection): at least once, never missing;
* states are acknowledged in the order they were handed over on one
  connection; should one ever be acknowledged after a later-handed one
  (a broker that reorders), the current state is published again at once
  (SPEC rule 1 would only fix it at the heartbeat);
* each event is counted delivered once, however many of its copies are
  acknowledged, so :attr:`Publisher.undelivered` (the status LED) never
  shows an event owed as delivered;
* every state it publishes carries its progress *(issue 15)*: ``boot``, random
  for this process (never reused), ``beat``, one more than the last state
  this process handed over (change, heartbeat or reconnect alike), and
  ``heartbeat``, its period — so a consumer tells a new publication from a
  copy (a bridge's replay, a retained copy, a restored autosave);
* nothing at all while :meth:`Publisher.hold` is in force — the agent holds
  its output while it checks its ledger against the broker.

A :class:`Publisher` is used from the agent's loop thread only.  PUBACKs
reach it through that loop's queue, always after :meth:`Publisher.pump`
recorded the message's ``mid`` — so an early PUBACK cannot be missed.
"""

import dataclasses
import logging
import secrets

from bedboard.errors import LinkError
from bedboard.topics import ward_topic

_LOG = logging.getLogger(__name__)

WINDOW = 256  # events handed to paho and not yet acknowledged, at most


class Publisher:
    """Delivers one ward's outbox and state through a BrokerLink."""

    def __init__(self, link, prefix, ward, agent_id, window=WINDOW, heartbeat=60.0):
        self._link = link
        self.boot = secrets.token_hex(8)       # this process's boot: never reused
        self.beat = 0                          # states handed over in this boot
        self._heartbeat = max(1, min(3600, int(round(heartbeat))))
        self._agent_id = agent_id
        self._state_topic = ward_topic(prefix, ward, "state")
        self._event_topic = ward_topic(prefix, ward, "event")
        self._window = window
        self._ledger = None
        self.online = False
        self.holding = False
        self._connection = None  # the link's number of the connection the agent knows
        self.mismatched = 0      # bed contacts the count does not follow (the agent's)
        self._epoch = 0          # one per connection
        self._handed = 0         # highest seq handed to paho in this epoch
        self._in_flight = 0      # events of this epoch not yet acknowledged
        self._mids = {}          # mid → (epoch, "event" | "state", seq, serial)
        self._copies = {}        # seq → mids of the event's copies not yet acknowledged
        self._delivered = set()  # acknowledged events the ledger still holds
        self.state_acked = -1    # highest seq of a state the broker acknowledged
        self._serial = 0         # states handed to paho, in order
        self._acked_serial = 0   # the latest-handed state acknowledged so far

    def attach(self, ledger, hold=False):
        """Start delivering from ``ledger`` (once it is open), or only after :meth:`release`."""
        self._ledger = ledger
        self.holding = hold
        if self.online and not hold:
            self._begin_epoch()

    def hold(self):
        """Hand nothing more to paho until :meth:`release`."""
        self.holding = True

    def release(self):
        """Deliver again: the outbox from its oldest event, then the state."""
        self.holding = False
        if self.online and self._ledger is not None:
            self._begin_epoch()

    # -- what the loop tells it ----------------------------------------------
    def connected(self, connection):
        """The link's connection number ``connection`` is up: the outbox again, then the state.

        What was handed over on earlier connections will never be
        acknowledged now (the link does not send it again): forgotten.
        """
        self.online = True
        self._connection = connection
        self._mids.clear()
        self._copies.clear()
        if self._ledger is not None and not self.holding:
            self._begin_epoch()

    def disconnected(self):
        """The link went down: hand nothing more to paho until it is back."""
        self.online = False

    def changed(self, state=None):
        """A change was recorded: send its event (and the outbox's), then the state."""
        self.pump()
        self.publish_state()

    def heartbeat(self):
        """Republish the current state (same seq), when connected."""
        self.publish_state()

    def publish_state(self):
        """Publish the current state now (when connected, attached and not holding)."""
        if self._ledger is not None:
            self._publish_state(self.current_state())

    def current_state(self):
        """The WardState as it is to be published now."""
        return self._ledger.state(self._agent_id, mismatched=self.mismatched)

    def acked(self, mid):
        """The broker acknowledged ``mid``; return whether it was one of ours."""
        entry = self._mids.pop(mid, None)
        if entry is None:
            return False
        epoch, what, seq, serial = entry
        if what == "state":
            self.state_acked = max(self.state_acked, seq)
            if serial < self._acked_serial:
                _LOG.info("the broker took an older state (seq %d) after a newer one: "
                          "publishing the current state again", seq)
                self.publish_state()
            self._acked_serial = max(self._acked_serial, serial)
        else:
            # the event is delivered: its other copies' PUBACKs count for nothing
            for copy in self._copies.pop(seq, ()):
                other = self._mids.pop(copy, None) if copy != mid else entry
                if other is not None and other[0] == self._epoch:
                    self._in_flight -= 1
            self._delivered.add(seq)
            self.pump()
        return True

    def flush(self):
        """Drop acknowledged events from the ledger's outbox (one transaction)."""
        if self._delivered and self._ledger is not None:
            delivered, self._delivered = self._delivered, set()
            self._ledger.forget(delivered)

    # -- what others ask ---------------------------------------------------
    @property
    def pending_flush(self):
        """How many acknowledged events still wait for :meth:`flush`."""
        return len(self._delivered)

    @property
    def undelivered(self):
        """How many events the broker has not acknowledged yet."""
        if self._ledger is None:
            return 0
        return self._ledger.outbox_count - len(self._delivered)

    @property
    def state_pending(self):
        """Whether the broker has yet to acknowledge the current state."""
        return self._ledger is not None and self.state_acked < self._ledger.seq

    @property
    def delivered(self):
        """Whether every event and the current state are acknowledged."""
        return (self._ledger is not None and self.undelivered == 0
                and self.state_acked >= self._ledger.seq)

    # -- sending -----------------------------------------------------------
    def _begin_epoch(self):
        self._epoch += 1
        self._handed = 0
        self._in_flight = 0
        pending = self._ledger.outbox_count - len(self._delivered)
        if pending:
            _LOG.info("connected: sending %d undelivered event(s), from seq %d",
                      pending, self._first_pending())
        self.pump()
        self.publish_state()

    def _first_pending(self):
        for seq, _ in self._ledger.outbox(0, len(self._delivered) + 1):
            if seq not in self._delivered:
                return seq
        return 0

    def pump(self):
        """Hand the outbox's next events to paho, oldest first, within the window."""
        if not self.online or self.holding or self._ledger is None:
            return
        while self._in_flight < self._window:
            rows = self._ledger.outbox(self._handed, self._window - self._in_flight)
            if not rows:
                return
            for seq, payload in rows:
                self._handed = seq
                if seq in self._delivered:
                    continue
                try:
                    info = self._link.publish(self._event_topic, payload, qos=1,
                                              connection=self._connection)
                except LinkError as exc:
                    _LOG.warning("event seq %d not handed to the broker link: %s; "
                                 "it stays in the outbox", seq, exc)
                    self._handed = seq - 1
                    return
                if info is None:
                    self._stale()
                    self._handed = seq - 1
                    return
                self._mids[info.mid] = (self._epoch, "event", seq, 0)
                self._copies.setdefault(seq, set()).add(info.mid)
                self._in_flight += 1

    def _publish_state(self, state):
        if not self.online or self.holding:
            return
        self.beat += 1
        state = dataclasses.replace(state, boot=self.boot, beat=self.beat,
                                    heartbeat=self._heartbeat)
        try:
            info = self._link.publish(self._state_topic, state.to_json(), retain=True,
                                      qos=1, connection=self._connection)
        except LinkError as exc:
            _LOG.warning("state seq %d not handed to the broker link: %s", state.seq, exc)
            return
        if info is None:
            self._stale()
            return
        self._serial += 1
        self._mids[info.mid] = (self._epoch, "state", state.seq, self._serial)

    def _stale(self):
        """The link is not on the connection the agent knows: wait for its news."""
        _LOG.debug("the link is no longer on connection %s: handing nothing over until "
                   "the agent hears of the next one", self._connection)
        self.online = False
