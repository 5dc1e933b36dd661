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
The loop also pings systemd's watchdog, republishes the state every
``heartbeat`` and drives the status LED.
"""

import logging
import queue
import time

from bedboard import sdnotify
from bedboard.errors import ContractError, LedgerError, PressRefused
from bedboard.link import BrokerLink
from bedboard.payloads import SetCommand, utc_now
from bedboard.topics import ward_topic

from . import ward as rules
from .events import (Accepted, Acked, Arrived, BedChanged, EndOfInput, Ignored,
                     Linked, Pressed, Refused, Stop, TooShort)
from .ledger import Ledger
from .panel import WardPanel
from .publisher import Publisher
from .recovery import Recovery, starting_point
from .uplink import Uplink, portal_body
from .ward import WardCounts

_LOG = logging.getLogger(__name__)

TICK = 0.5             # the loop wakes at least this often
FLUSH_EVERY = 0.25     # seconds between outbox clean-ups under load
RECOVERY_PATIENCE = 10.0  # seconds without an answer before recovery complains
RECOVERY_NAG = 60.0    # seconds between "still recovering" log lines
EXTEND_EVERY = 10.0    # seconds between start-timeout extensions while recovering
RECOVERING = ("the count is being recovered from the broker; presses are refused "
              "until it is (see the log)")


class _Throttled:
    """Logs a warning at most once per ``every`` seconds, counting the rest."""

    def __init__(self, every=10.0):
        self.every = every
        self._last = None
        self._skipped = 0

    def warning(self, message, *args):
        now = time.monotonic()
        if self._last is not None and now - self._last < self.every:
            self._skipped += 1
            return
        if self._skipped:
            message += " (and %d more like it not logged)" % self._skipped
        self._last, self._skipped = now, 0
        _LOG.warning(message, *args)


class WardAgent:
    """One ward's agent, on the pins of ``pin_factory`` (see the module docstring).

    Construct it, add outcome listeners (``agent.listeners.append(fn)``:
    each Accepted, Refused or Ignored is passed to them on the loop's
    thread), then :meth:`run` it.  :meth:`stop` and :meth:`end_of_input` may
    be called from any thread, or a signal handler.
    """

    def __init__(self, settings, pin_factory, min_backoff=1, max_backoff=30):
        self.settings = settings
        self.listeners = []
        self._inbox = queue.SimpleQueue()
        self._ledger = None
        self._recovery = None
        self._ready = False
        self._audit = None       # a ledger's check against the broker's state
        self._uplink = None
        self._deferred_sets = []
        self._set_warnings = _Throttled()
        self._exit = None
        self._draining = None    # monotonic deadline once input has ended
        self._started = time.monotonic()
        self._set_topic = ward_topic(settings.broker.prefix, settings.ward, "set")
        self.panel = WardPanel(settings.inputs, settings.status_led, settings.ack,
                               pin_factory=pin_factory)
        try:
            self.panel.on_input = self._inbox.put
            self.link = BrokerLink(
                settings.broker, settings.id, subscriptions=[self._set_topic],
                on_message=lambda received: self._inbox.put(Arrived(received)),
                on_connection=lambda up: self._inbox.put(Linked(up)),
                on_published=lambda mid: self._inbox.put(Acked(mid)),
                min_backoff=min_backoff, max_backoff=max_backoff)
        except BaseException:
            self.panel.close()
            raise
        self.publisher = Publisher(self.link, settings.broker.prefix, settings.ward,
                                   settings.id)

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
    def ledger(self):
        """The open Ledger (None while the count is being recovered)."""
        return self._ledger

    # -- the loop ----------------------------------------------------------
    def run(self):
        """Run until stopped; return the exit status (0, or 1 if delivery gave up)."""
        try:
            self.panel.show_status("fast")
            self.link.start()
            if Ledger.exists(self.settings.state_dir):
                self._open(Ledger.open(self.settings.state_dir, self.settings.ward,
                                       self._uplink_body()))
                self._audit = Recovery(self.link, self.settings.broker.prefix,
                                       self.settings.ward, self.settings.id)
                self._audit.begin()
            else:
                self._recover()
            self._loop()
        finally:
            self._shut_down()
        return self._exit

    def _loop(self):
        watchdog = sdnotify.watchdog_interval()
        next_watchdog = next_heartbeat = next_extend = time.monotonic()
        next_heartbeat += self.settings.heartbeat
        last_flush = time.monotonic()
        while self._exit is None:
            try:
                item = self._inbox.get(timeout=TICK)
            except queue.Empty:
                item = None
            handled = 0
            while item is not None:
                self._handle(item)
                handled += 1
                if self._exit is not None or handled >= 100:
                    break
                try:
                    item = self._inbox.get_nowait()
                except queue.Empty:
                    item = None
            now = time.monotonic()
            if self.publisher.pending_flush and (
                    item is None or now - last_flush >= FLUSH_EVERY):
                self._flush()
                last_flush = now
            if now >= next_heartbeat:
                self.publisher.heartbeat()
                next_heartbeat = now + self.settings.heartbeat
            if watchdog and now >= next_watchdog:
                sdnotify.watchdog()
                next_watchdog = now + watchdog
            if self._recovery is not None:
                self._nag_recovery(now)
                if now >= next_extend:
                    # Not READY until the count is recovered: keep systemd's
                    # start timeout from killing a wait for the broker.
                    sdnotify.extend_timeout(3 * EXTEND_EVERY)
                    next_extend = now + EXTEND_EVERY
            if self._draining is not None and self._exit is None:
                self._check_drained(now)
            self._show_status()

    def _handle(self, item):
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
            if item.connected:
                self.publisher.connected()
            else:
                self.publisher.disconnected()
        elif isinstance(item, Arrived):
            self._arrived(item.received)
        elif isinstance(item, EndOfInput):
            self._draining = time.monotonic() + item.timeout
            self._flush()
            self._check_drained(time.monotonic())
        elif isinstance(item, Stop):
            _LOG.info("stopping")
            self._exit = 0

    # -- starting ----------------------------------------------------------
    def _uplink_body(self):
        if self.settings.uplink is None:
            return None
        ward = self.settings.ward
        return lambda state: portal_body(ward, state)

    def _recover(self):
        self._recovery = Recovery(self.link, self.settings.broker.prefix,
                                  self.settings.ward, self.settings.id)
        self._recovery.begin()
        self._recovery_nag_at = time.monotonic() + RECOVERY_PATIENCE
        _LOG.warning("no ledger in %s: reading this ward's last state from the broker "
                     "at %s:%d before accepting presses", self.settings.state_dir,
                     self.settings.broker.host, self.settings.broker.port)

    def _recovered(self):
        recovery, self._recovery = self._recovery, None
        recovery.end()
        if recovery.found is None and recovery.unreadable:
            _LOG.error("the broker's retained state for %s could not be read (%s): "
                       "starting from the config at seq 0; consumers that saw a higher "
                       "seq will ignore this ward until it passes it",
                       self.settings.ward, recovery.unreadable)
        counts, seq, at, origin = starting_point(recovery.found, self.settings)
        beds = {name: contact.is_occupied for name, contact in self.panel.contacts.items()}
        ledger = Ledger.create(self.settings.state_dir, self.settings.ward,
                               self.settings.id, counts, seq, at, self.settings.capacity,
                               origin, self._uplink_body())
        for name, occupied in beds.items():
            ledger.set_bed(self.panel.contacts[name].bed, occupied)
        self._open(ledger)

    def _audited(self):
        """Say so if the broker knows a later seq for this ward than the ledger does."""
        audit, self._audit = self._audit, None
        audit.end()
        found, ledger = audit.found, self._ledger
        if found is None or found.seq < ledger.seq:
            return
        theirs = (found.capacity, found.occupied, found.blocked)
        ours = (ledger.counts.capacity, ledger.counts.occupied, ledger.counts.blocked)
        if found.seq > ledger.seq or theirs != ours:
            _LOG.error("the broker holds seq %d for ward %s (%s, from agent %s), but "
                       "this ledger has seq %d (%s): is it an old copy, or does another "
                       "agent count this ward? Consumers ignore this agent's states "
                       "until its seq passes %d", found.seq, self.settings.ward,
                       WardCounts(*theirs).describe(), found.agent, ledger.seq,
                       ledger.counts.describe(), found.seq)

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
                       now - self._started, self.settings.id,
                       self._recovery.state_topic, self._recovery.status_topic)

    def _open(self, ledger):
        self._ledger = ledger
        if ledger.agent != self.settings.id:
            _LOG.info("the ledger was kept by agent %s; this agent is %s",
                      ledger.agent, self.settings.id)
        _LOG.info("ward %s: %s, seq %d (ledger %s, %d undelivered event(s))",
                  self.settings.ward, ledger.counts.describe(), ledger.seq, ledger.path,
                  ledger.outbox_count)
        self.publisher.attach(ledger)
        self._apply_config_capacity()
        self._catch_up_beds()
        if self.settings.uplink is not None:
            self._uplink = Uplink(self.settings.uplink, self.settings.id,
                                  self.settings.state_dir)
            self._uplink.start()
        elif ledger.uplink_count():
            _LOG.warning("%d change(s) queued for a portal are kept, but no uplink is "
                         "configured", ledger.uplink_count())
        self._ready = True
        sdnotify.ready("ward %s: %s" % (self.settings.ward, ledger.counts.describe()))
        deferred, self._deferred_sets = self._deferred_sets, []
        for received in deferred:
            self._set_received(received)

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
        self._commit(change, "config", config_capacity=capacity)

    def _catch_up_beds(self):
        for name, contact in self.panel.contacts.items():
            counted = self._ledger.bed_counted(contact.bed)
            if counted is None:
                self._ledger.set_bed(contact.bed, contact.is_occupied)
            elif counted != contact.is_occupied:
                _LOG.info("bed %s changed while the agent was not running", contact.bed)
                self._bed_changed(BedChanged(name, contact.bed, contact.is_occupied))

    # -- changes -----------------------------------------------------------
    def _pressed(self, item):
        if self._ledger is None:
            self._refuse(item.input, RECOVERING)
            return
        try:
            change = rules.press(self._ledger.counts, item.kind, source=item.input)
        except PressRefused as exc:
            self._refuse(item.input, str(exc))
            return
        self._commit(change, item.input, pressed=True)

    def _bed_changed(self, item):
        if self._ledger is None:
            self._refuse(item.input, RECOVERING)
            return
        counted = self._ledger.bed_counted(item.bed)
        if counted == item.occupied:
            self._tell(Ignored(item.input, "bed %s is already counted as %s" % (
                item.bed, "occupied" if item.occupied else "vacant")))
            return
        try:
            change = rules.sense(self._ledger.counts, item.bed, item.occupied,
                                 source=item.input)
        except PressRefused as exc:
            self._refuse(item.input, str(exc))
            return
        self._commit(change, item.input, bed_counted=(item.bed, item.occupied))

    def _arrived(self, received):
        if self._recovery is not None and self._recovery.wants(received.topic):
            if self._recovery.take(received):
                self._recovered()
        elif self._audit is not None and self._audit.wants(received.topic):
            if self._audit.take(received):
                self._audited()
        elif received.topic == self._set_topic:
            if self._ledger is None:
                self._deferred_sets.append(received)
            else:
                self._set_received(received)

    def _set_received(self, received):
        if received.retained:
            self._set_warnings.warning("ignored a retained set command on %s: a "
                                       "correction must not be retained, or it would "
                                       "be applied again on every reconnect",
                                       received.topic)
            return
        try:
            command = SetCommand.parse(received.payload)
        except ContractError as exc:
            self._set_warnings.warning("ignored a set command: %s", exc)
            return
        try:
            change = rules.correct(self._ledger.counts, command,
                                   source="set by %s" % (command.by or "an operator"))
        except PressRefused as exc:
            self._set_warnings.warning("ignored a set command %s: %s",
                                       command.to_json().decode("utf-8"), exc)
            return
        self._commit(change, change.source)

    def _commit(self, change, source, bed_counted=None, config_capacity=None,
                pressed=False):
        """Make ``change`` durable, answer the press (if ``pressed``), deliver it."""
        try:
            state, _ = self._ledger.record(change, self.settings.id, utc_now(),
                                           bed_counted=bed_counted,
                                           config_capacity=config_capacity)
        except LedgerError as exc:
            _LOG.error("%s not counted: %s", source, exc)
            self._refuse(source, "the count could not be kept on disk: %s" % exc,
                         signal=pressed or bed_counted is not None)
            return
        if pressed:
            self.panel.acknowledge(True)
        _LOG.info("accepted %s (%s): %s, seq %d", change.kind, source,
                  change.after.describe(), state.seq)
        self.publisher.changed(state)
        if self._uplink is not None:
            self._uplink.wake()
        self._tell(Accepted(source, change, state))

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
        elif self.publisher.online and self.publisher.delivered:
            self.panel.show_status("steady")
        else:
            self.panel.show_status("blinking")

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
        if self._ledger is not None:
            self._take_last_acks()
            self._flush()
            self._ledger.close()
        if self._exit is None:
            self._exit = 1
