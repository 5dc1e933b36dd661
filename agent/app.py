"""The ward agent: the panel's presses in, a durable, published ward count out.

:class:`WardAgent` ties the parts together around one queue and one loop
(the thread that calls :meth:`WardAgent.run`):

    panel (gpiozero) ─┐                       ┌─> ledger (sqlite, synced)
    broker link ──────┼─> queue ─> the loop ──┼─> publisher ─> broker
    --simulate, signals┘                      ├─> uplink thread ─> portal
                                              └─> ack LED/buzzer, status LED

Every change is decided by :mod:`agent.ward`, made durable by
:class:`~agent.ledger.Ledger` *before* it is acknowledged, then delivered by
:class:`~agent.publisher.Publisher` and :class:`~agent.uplink.Uplink`.
Only the loop touches the ledger's counts, so there is no lock to forget.
The loop also pings systemd's watchdog, republishes the state and the
retained ``online`` every ``heartbeat`` and drives the status LED.

The loop is three steps any caller can drive by hand (the agent's state
machine test does, with a stand-in link): :meth:`WardAgent.start_up`,
:meth:`WardAgent.handle` for each item of the queue, and
:meth:`WardAgent.tick` for what is due by the clock.

At start the count is checked against the broker (:mod:`agent.recovery`):
without a ledger nothing is accepted until it is recovered; with one,
presses are accepted at once but nothing is published until the broker's
copy was compared with it, so an old copy never hands out a seq the ward
already used.  A bed manager's ``set`` is answered on the ward's ``reply``
topic, applied or not.  When the bed contacts and the count disagree (a
contact the count refused), the log, the state's ``mismatched`` and the
status LED say so until they agree again.
"""

import logging
import queue
import time

from bedboard import sdnotify
from bedboard.errors import LedgerError, PressRefused
from bedboard.link import BrokerLink
from bedboard.payloads import utc_now
from bedboard.topics import ward_topic

from . import ward as rules
from .contacts import ContactWatch
from .corrections import Corrections, Throttled
from .events import (Accepted, Acked, Arrived, BedChanged, EndOfInput, Ignored,
                     Linked, Pressed, Refused, Stop, TooShort)
from .holds import HoldsAndChecks
from .ledger import Ledger
from .panel import WardPanel
from .publisher import Publisher
from .recovery import RETRY_AFTER
from .screen import ScreenFeed
from .startup import StartUp
from .ward import Intent

_LOG = logging.getLogger(__name__)

TICK = 0.5             # the loop wakes at least this often
FLUSH_EVERY = 0.25     # seconds between outbox clean-ups under load
EXTEND_EVERY = 10.0    # seconds between start-timeout extensions while recovering
RECOVERING = ("the count is being recovered from the broker; presses are refused "
              "until it is (see the log)")


class WardAgent(StartUp, Corrections, HoldsAndChecks):
    """One ward's agent, on the pins of ``pin_factory`` (see the module docstring).

    Construct it, add outcome listeners (``agent.listeners.append(fn)``:
    each Accepted, Refused or Ignored is passed to them on the loop's
    thread), then :meth:`run` it.  :meth:`stop` and :meth:`end_of_input` may
    be called from any thread, or a signal handler.  ``link_factory`` makes
    the broker link (a BrokerLink; tests may stand in for it).
    """

    def __init__(self, settings, pin_factory, min_backoff=1, max_backoff=30,
                 link_factory=BrokerLink, retry_after=RETRY_AFTER):
        self.settings = settings
        self.listeners = []
        self.retry_after = retry_after
        self._inbox = queue.SimpleQueue()
        self._ledger = None
        self._recovery = None
        self._ready = False
        self._audit = None       # a ledger's check against the broker's state
        self._holding = False    # changes are held (not published) until the audit answers
        self._uplink = None
        self._contacts = ContactWatch()
        self._set_warnings = Throttled()
        self._exit = None
        self._draining = None    # monotonic deadline once input has ended
        self._recovery_nag_at = None
        self._check_began = None  # when the recovery or audit began
        self._next_heartbeat = self._next_watchdog = self._next_extend = None
        self._last_flush = None
        self._watchdog = None
        self._reply_topic = ward_topic(settings.broker.prefix, settings.ward, "reply")
        self.panel = WardPanel(settings.inputs, settings.status_led, settings.ack,
                               pin_factory=pin_factory)
        self.screen = None
        try:
            self.screen = ScreenFeed.open(settings)
            if self.screen is not None:
                self.listeners.append(self.screen.heard)
            self.panel.on_input = self._inbox.put
            self.link = link_factory(
                settings.broker, settings.id, subscriptions=self._set_subscriptions(),
                on_message=lambda received: self._inbox.put(Arrived(received)),
                on_connection=lambda up: self._inbox.put(
                    Linked(up, self.link.connection)),
                on_published=lambda mid: self._inbox.put(Acked(mid)),
                min_backoff=min_backoff, max_backoff=max_backoff)
        except BaseException:
            self.panel.close()
            if self.screen is not None:
                self.screen.close()
            raise
        self.publisher = Publisher(self.link, settings.broker.prefix, settings.ward,
                                   settings.id, heartbeat=settings.heartbeat)

    # -- from other threads ------------------------------------------------
    def stop(self):
        """Ask the loop to stop (safe from any thread and from signal handlers)."""
        self._inbox.put(Stop())

    def end_of_input(self, timeout=10.0):
        """No more input is coming: deliver what is pending (within ``timeout``), then stop."""
        self._inbox.put(EndOfInput(timeout))

    @property
    def ready(self):
        """Whether the ledger is open, brought up to date, and presses are accepted.

        Set by the loop only once start-up's own changes (a new config
        capacity, beds that changed while it was off) are committed, so a
        reader on another thread never sees the count half-way.
        """
        return self._ready

    @property
    def checked(self):
        """Whether the count has been checked against the broker (and is published)."""
        return self._ready and not self._holding

    @property
    def ledger(self):
        """The open Ledger (None while the count is being recovered)."""
        return self._ledger

    @property
    def mismatched(self):
        """The beds whose contact the count does not follow, by label."""
        return set(self._contacts.mismatched)

    # -- the loop ----------------------------------------------------------
    def run(self):
        """Run until stopped; return the exit status (0, or 1 if delivery gave up)."""
        try:
            self.start_up()
            self._loop()
        finally:
            self._shut_down()
        return self._exit

    def start_up(self, now=None):
        """Connect, and open the ledger (checking it) or recover the count."""
        now = time.monotonic() if now is None else now
        self._watchdog = sdnotify.watchdog_interval()
        self._next_watchdog = self._next_extend = now
        self._next_heartbeat = now + self.settings.heartbeat
        self._last_flush = now
        self.panel.show_status("fast")
        self.link.start()
        if Ledger.exists(self.settings.state_dir):
            self._open(Ledger.open(self.settings.state_dir, self.settings.ward,
                                   self._uplink_body()), audit=True, now=now)
        else:
            self._recover(now)

    def _loop(self):
        while self._exit is None:
            try:
                item = self._inbox.get(timeout=TICK)
            except queue.Empty:
                item = None
            handled = 0
            while item is not None:
                self.handle(item)
                handled += 1
                if self._exit is not None or handled >= 100:
                    break
                try:
                    item = self._inbox.get_nowait()
                except queue.Empty:
                    item = None
            self.tick(idle=item is None)

    def tick(self, now=None, idle=True):
        """Do what is due by the clock: clean-ups, heartbeat, watchdog, retries, LED."""
        now = time.monotonic() if now is None else now
        if self.publisher.pending_flush and (idle or now - self._last_flush >= FLUSH_EVERY):
            self._flush()
            self._last_flush = now
        if now >= self._next_heartbeat:
            self.publisher.heartbeat()
            self.link.refresh_status()
            self._next_heartbeat = now + self.settings.heartbeat
        if self._watchdog and now >= self._next_watchdog:
            sdnotify.watchdog()
            self._next_watchdog = now + self._watchdog
        if self._recovery is not None:
            self._recovery.tick(now)
            self._nag_recovery(now)
            if now >= self._next_extend:
                # Not READY until the count is recovered: keep systemd's
                # start timeout from killing a wait for the broker.
                sdnotify.extend_timeout(3 * EXTEND_EVERY)
                self._next_extend = now + EXTEND_EVERY
        if self._audit is not None:
            self._audit.tick(now)
            self._nag_audit(now)
        self._tick_holds(now)
        if self.screen is not None:
            self.screen.tick(self, now)
        if self._draining is not None and self._exit is None:
            self._check_drained(now)
        self._show_status()

    def handle(self, item, now=None):
        """Handle one item of the agent's queue (see :mod:`agent.events`)."""
        now = time.monotonic() if now is None else now
        if isinstance(item, Pressed):
            self._pressed(item)
        elif isinstance(item, BedChanged):
            self._bed_changed(item)
        elif isinstance(item, TooShort):
            self._tell(Ignored(item.input, "released after %.2f s; hold it for %.1f s "
                                           "to count" % (item.seconds, item.hold)))
            self.panel.acknowledge(False)
        elif isinstance(item, Acked):
            self.publisher.acked(item.mid)
        elif isinstance(item, Linked):
            self._linked(item, now)
        elif isinstance(item, Arrived):
            self._arrived(item.received, now)
        elif isinstance(item, EndOfInput):
            self._draining = now + item.timeout
            self._flush()
            self._check_drained(now)
        elif isinstance(item, Stop):
            _LOG.info("stopping")
            self._exit = 0

    def _linked(self, linked, now):
        checks = [c for c in (self._recovery, self._audit) if c is not None]
        if linked.connected:
            self.publisher.connected(linked.connection)
            for check in checks:
                check.connected(now)
        else:
            self.publisher.disconnected()
            for check in checks:
                check.disconnected()

    # -- changes -----------------------------------------------------------
    def _pressed(self, item):
        if self._ledger is None:
            self._refuse(item.input, RECOVERING)
            return
        if item.kind in rules.HOLD_INPUTS:
            self._hold_pressed(item)
            return
        try:
            change = rules.press(self._ledger.counts, item.kind, source=item.input)
        except PressRefused as exc:
            self._refuse(item.input, str(exc))
            return
        self._commit(change, item.input, Intent(item.kind, item.input), pressed=True)

    def _bed_changed(self, item):
        if self._ledger is None:
            self._refuse(item.input, RECOVERING)
            return
        self._contacts.saw(item.bed, item.occupied)
        counted = self._ledger.bed_counted(item.bed)
        if counted == item.occupied:
            self._tell(Ignored(item.input, "bed %s is already counted as %s" % (
                item.bed, "occupied" if item.occupied else "vacant")))
            self._check_contacts()
            return
        try:
            change = rules.sense(self._ledger.counts, item.bed, item.occupied,
                                 source=item.input)
        except PressRefused as exc:
            self._refuse(item.input, str(exc))
            self._check_contacts()
            return
        self._commit(change, item.input,
                     Intent("sensor", item.input, bed=item.bed, occupied=item.occupied),
                     bed_counted=(item.bed, item.occupied))
        self._check_contacts()

    def _check_contacts(self):
        """Publish (and show) how many bed contacts the count does not follow, when it changes."""
        if self._compare_contacts():
            self.publisher.publish_state()

    def _compare_contacts(self):
        """Compare the bed contacts with the ledger; return whether the number changed."""
        if self._ledger is None or not self._contacts.positions \
                or not self._contacts.check(self._ledger.beds()):
            return False
        self.publisher.mismatched = len(self._contacts.mismatched)
        return True

    def _arrived(self, received, now):
        if self._recovery is not None and self._recovery.wants(received.topic):
            if self._recovery.take(received, now):
                self._recovered()
        elif self._audit is not None and self._audit.wants(received.topic):
            if self._audit.take(received):
                self._audited()
        elif self._is_set(received.topic):
            self._set_received(received)

    def _commit(self, change, source, intent, bed_counted=None, config_capacity=None,
                pressed=False, unconfirmed=None, beds=None, quiet=False, request=None):
        """Make ``change`` durable, answer the press (if ``pressed``), deliver it.

        Returns the new WardState, or None when the ledger could not be written.
        """
        try:
            state, _ = self._ledger.record(
                change, self.settings.id, utc_now(), bed_counted=bed_counted,
                config_capacity=config_capacity, unconfirmed=unconfirmed, beds=beds,
                held=intent if self._holding else None, request=request)
        except LedgerError as exc:
            _LOG.error("%s not counted: %s", source, exc)
            self._refuse(source, "the count could not be kept on disk: %s" % exc,
                         signal=pressed or bed_counted is not None)
            return None
        if pressed:
            self.panel.acknowledge(True)
        if not quiet:
            _LOG.info("accepted %s (%s): %s, seq %d", change.kind, source,
                      change.after.describe(), state.seq)
        self._compare_contacts()      # the state carries the contacts' agreement
        self.publisher.changed(state)
        if self._uplink is not None:
            self._uplink.wake()
        self._tell(Accepted(source, change, state))
        return state

    def _refuse(self, source, reason, signal=True):
        _LOG.warning("refused %s: %s", source, reason)
        if signal:
            self.panel.acknowledge(False)
        self._tell(Refused(source, reason))

    def _tell(self, outcome):
        for listener in list(self.listeners):
            try:
                listener(outcome)
            except Exception:  # noqa: BLE001 - a listener must not stop the loop
                _LOG.exception("an outcome listener failed")

    # -- delivery ------------------------------------------------------------
    def _flush(self):
        try:
            self.publisher.flush()
        except LedgerError as exc:
            _LOG.error("delivered events not removed from the outbox (they will be "
                       "sent again): %s", exc)

    def undelivered(self):
        """What is still to be delivered: ``(events to the broker, state?, portal)``."""
        if self._ledger is None:
            return (0, True, 0)
        return (self.publisher.undelivered, self.publisher.state_pending,
                self._ledger.uplink_count() if self._uplink is not None else 0)

    def _check_drained(self, now):
        events, state, portal = self.undelivered()
        if self._ledger is not None and not events and not state and not portal:
            _LOG.info("everything delivered; stopping")
            self._exit = 0
        elif now >= self._draining:
            missing = []
            if self._ledger is None:
                missing.append("the count was never recovered from the broker")
            elif self._holding:
                missing.append("the ledger was never checked against the broker")
            if events:
                missing.append("%d event(s) not acknowledged by the broker" % events)
            if state:
                missing.append("the current state not acknowledged by the broker")
            if portal:
                missing.append("%d change(s) not taken by the portal" % portal)
            _LOG.error("gave up waiting for delivery: %s (kept in the ledger for the "
                       "next start)", "; ".join(missing))
            self._exit = 1

    def _show_status(self):
        if self._ledger is None:
            self.panel.show_status("fast")
        elif not (self.publisher.online and self.publisher.delivered):
            self.panel.show_status("blinking")
        elif self._contacts.mismatched:
            self.panel.show_status("wink")
        elif self.check_due and self.settings.input_kind("checked"):
            self.panel.show_status("ask")   # only a panel with a checked button asks
        else:
            self.panel.show_status("steady")

    # -- stopping ----------------------------------------------------------
    def _take_last_acks(self):
        """Count the PUBACKs that came in while stopping, so they are not sent again."""
        self.publisher.disconnected()
        while True:
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, Acked):
                self.publisher.acked(item.mid)

    def _shut_down(self):
        sdnotify.stopping()
        if self._uplink is not None:
            self._uplink.stop()
        self.link.stop()
        self.panel.show_status("off")
        self.panel.close()
        if self.screen is not None:
            self.screen.close()
        if self._ledger is not None:
            self._take_last_acks()
            self._flush()
            self._ledger.close()
        if self._exit is None:
            self._exit = 1

