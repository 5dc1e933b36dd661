"""The agent's start-up: a ledger opened and audited, or a count recovered from the broker.

:class:`StartUp` is the part of :class:`agent.app.WardAgent` that brings the
count up to date before presses are published (agent/app.py's docstring
says why): without a ledger, the ward's retained state is read from the
broker (:mod:`agent.recovery`) and a new ledger is made from it; with one,
the broker's copy is compared with it (the *audit*) and an old ledger is
moved past the broker's seq.  Then the config's capacity and the bed
contacts are caught up, and the uplink is started.

It is a mixin: its methods run on the agent's loop thread and use the
agent's own state (``self._ledger``, ``self.publisher``, ``self.link``);
nothing here runs on another thread.
"""

import logging
import time

from bedboard import sdnotify, timesync
from bedboard.errors import LedgerError, PressRefused
from bedboard.payloads import utc_now

from . import ward as rules
from .events import BedChanged
from .holdbook import holds_from_wire
from .ledger import Ledger
from .recovery import EMPTY_RECHECK, Recovery, is_old_copy, starting_point
from .uplink import Uplink, portal_body
from .ward import Intent, WardCounts

_LOG = logging.getLogger(__name__)

RECOVERY_PATIENCE = 10.0  # seconds without an answer before recovery complains
RECOVERY_NAG = 60.0    # seconds between "still recovering" log lines


class StartUp:
    """Recovery, the audit and the catch-up of a :class:`~agent.app.WardAgent`."""

    def _uplink_body(self):
        if self.settings.uplink is None:
            return None
        ward = self.settings.ward
        return lambda state: portal_body(ward, state)

    def _check_for(self, purpose, recheck=0.0):
        return Recovery(self.link, self.settings.broker.prefix, self.settings.ward,
                        self.settings.id, retry_after=self.retry_after, purpose=purpose,
                        recheck=recheck)

    def _recover(self, now):
        # a cluster's node may answer before it loaded its retained messages
        cluster = len(self.settings.broker.addresses) > 1
        self._recovery = self._check_for("recovery", EMPTY_RECHECK if cluster else 0.0)
        self._check_began = now
        self._recovery_nag_at = now + RECOVERY_PATIENCE
        _LOG.warning("no ledger in %s: reading this ward's last state from the broker "
                     "at %s:%d before accepting presses", self.settings.state_dir,
                     self.settings.broker.host, self.settings.broker.port)
        self._recovery.begin(now)

    def _recovered(self):
        recovery, self._recovery = self._recovery, None
        recovery.end()
        if recovery.found is None and recovery.unreadable:
            _LOG.error("the broker's retained state for %s could not be read (%s): "
                       "starting from the config at seq 0; consumers that saw a higher "
                       "seq will ignore this ward until it passes it",
                       self.settings.ward, recovery.unreadable)
        counts, seq, at, origin, unconfirmed = starting_point(recovery.found,
                                                              self.settings)
        holds = (holds_from_wire(recovery.found, self.settings.hold_minutes)
                 if origin == "broker" else ())
        ledger = Ledger.create(self.settings.state_dir, self.settings.ward,
                               self.settings.id, counts, seq, at, self.settings.capacity,
                               origin, self._uplink_body(), unconfirmed=unconfirmed,
                               holds=holds, checked=recovery.found.checked
                               if origin == "broker" else None)
        # the new ledger's "at": the broker's, as synchronised as its agent said;
        # or stamped just now, by this clock
        ledger.at_synced = (bool(recovery.found.synced) if origin == "broker"
                            else bool(timesync.synchronised()))
        for contact in self.panel.contacts.values():
            ledger.set_bed(contact.bed, contact.is_occupied)
        self._open(ledger, audit=False)

    def _nag_recovery(self, now):
        if now < self._recovery_nag_at:
            return
        self._recovery_nag_at = now + RECOVERY_NAG
        if not self.link.connected:
            _LOG.error("still no ledger and no broker at %s:%d: presses are refused "
                       "until the broker answers", self.settings.broker.host,
                       self.settings.broker.port)
        else:
            _LOG.error("the broker has not answered the recovery subscriptions for "
                       "%.0f s: check that its ACL lets %s read %s and %s",
                       now - self._check_began, self.settings.id,
                       self._recovery.state_topic, self._recovery.status_topic)

    def _open(self, ledger, audit, now=None):
        self._ledger = ledger
        ledger.clock_synced = timesync.synchronised   # each change's "at" says if it was
        ledger.resume_clocks(timesync.synchronised())
        if ledger.agent != self.settings.id:
            _LOG.info("the ledger was kept by agent %s; this agent is %s",
                      ledger.agent, self.settings.id)
        _LOG.info("ward %s: %s, seq %d%s (ledger %s, %d undelivered event(s))",
                  self.settings.ward, ledger.counts.describe(), ledger.seq,
                  ", unconfirmed" if ledger.unconfirmed else "", ledger.path,
                  ledger.outbox_count)
        if audit:
            # Nothing leaves until the broker's copy was compared with this
            # ledger: an old copy must not publish seqs the ward already used.
            self._holding = True
            self.publisher.attach(ledger, hold=True)
            now = time.monotonic() if now is None else now
            self._audit = self._check_for("audit")
            self._check_began = now
            self._recovery_nag_at = now + RECOVERY_PATIENCE
            self._audit.begin(now)
        else:
            self.publisher.attach(ledger)
        self._apply_config_capacity()
        self._catch_up_beds()
        if not audit:
            self._start_uplink()
        self._ready = True
        sdnotify.ready("ward %s: %s" % (self.settings.ward, ledger.counts.describe()))

    def _start_uplink(self):
        ledger = self._ledger
        if self.settings.uplink is not None:
            self._uplink = Uplink(self.settings.uplink, self.settings.id,
                                  self.settings.state_dir)
            self._uplink.start()
        elif ledger.uplink_count():
            _LOG.warning("%d change(s) queued for a portal are kept, but no uplink is "
                         "configured", ledger.uplink_count())

    def _apply_config_capacity(self):
        ledger, capacity = self._ledger, self.settings.capacity
        if capacity == ledger.config_capacity:
            return
        if capacity == ledger.counts.capacity:
            ledger.set_config_capacity(capacity)
            return
        try:
            change = rules.resize(ledger.counts, capacity)
        except PressRefused as exc:
            _LOG.error("the config's capacity changed from %d to %d, but %s: kept "
                       "capacity %d (correct the count with a set command, then "
                       "restart)", ledger.config_capacity, capacity, exc,
                       ledger.counts.capacity)
            return
        _LOG.warning("the config's capacity changed from %d to %d: applied as a change",
                     ledger.config_capacity, capacity)
        self._commit(change, "config", Intent("resize", "config", capacity=capacity),
                     config_capacity=capacity)

    def _catch_up_beds(self):
        for name, contact in self.panel.contacts.items():
            counted = self._ledger.bed_counted(contact.bed)
            occupied = contact.is_occupied
            if counted is None:
                self._ledger.set_bed(contact.bed, occupied)
            elif counted != occupied:
                _LOG.info("bed %s changed while the agent was not running", contact.bed)
                self._bed_changed(BedChanged(name, contact.bed, occupied))
                continue
            self._contacts.saw(contact.bed, occupied)
        self._check_contacts()

    # -- the audit -----------------------------------------------------------
    def _audited(self):
        """Compare the broker's copy with the ledger; move past it if the ledger is old."""
        audit, self._audit = self._audit, None
        audit.end()
        found, ledger = audit.found, self._ledger
        base_seq, base_counts = ledger.base()
        if found is not None and is_old_copy(found, ledger):
            self._rebase(found, base_seq, base_counts)
        else:
            if found is not None and found.agent != self.settings.id \
                    and found.seq == base_seq:
                _LOG.error("ward %s's state on the broker (seq %d) comes from agent %s, "
                           "not this one (%s): does another agent count this ward?",
                           self.settings.ward, found.seq, found.agent, self.settings.id)
            try:
                ledger.checked()
            except LedgerError as exc:
                _LOG.error("the ledger could not note that the broker agrees: %s", exc)
        self._holding = False
        self.publisher.release()
        self._start_uplink()
        self._check_contacts()

    def _rebase(self, found, base_seq, base_counts):
        """The ledger is an old copy: take the broker's counts at its seq + 1 (SPEC rule 2)."""
        ledger = self._ledger
        held = len(ledger.held())
        theirs = WardCounts.from_wire(found)
        first = (rules.Change("set", base_counts, theirs,
                              source="the broker's newer state"), found.seq + 1)
        try:
            _, refused = ledger.rebase(first, self.settings.id, utc_now(),
                                       holds=holds_from_wire(found,
                                                             self.settings.hold_minutes),
                                       checked=found.checked)
        except LedgerError as exc:
            _LOG.error("this ledger is behind the broker (seq %d there, %d here) but "
                       "could not be moved past it: %s", found.seq, base_seq, exc)
            return
        _LOG.error("this ledger is an old copy: the broker holds seq %d for ward %s "
                   "(%s, from agent %s), but the ledger had seq %d (%s); moved to seq "
                   "%d with the broker's counts, marked unconfirmed until a bed "
                   "manager's set", found.seq, self.settings.ward, theirs.describe(),
                   found.agent, base_seq, base_counts.describe(), found.seq + 1)
        if held:
            _LOG.error("the %d change(s) made since the start were decided again on the "
                       "broker's counts: now %s, seq %d", held,
                       ledger.counts.describe(), ledger.seq)
        for intent, exc in refused:
            _LOG.error("a change made since the start does not fit the broker's newer "
                       "count and is dropped: %s: %s", intent.describe(), exc)

    def _nag_audit(self, now):
        if now < self._recovery_nag_at or not self.link.connected:
            return
        self._recovery_nag_at = now + RECOVERY_NAG
        _LOG.error("the broker has not answered the audit of this ledger for %.0f s: "
                   "changes are kept but not published until it does (check that its "
                   "ACL lets %s read %s and %s)", now - self._check_began, self.settings.id,
                   self._audit.state_topic, self._audit.status_topic)
