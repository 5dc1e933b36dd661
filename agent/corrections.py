"""The agent's side of a bed manager's corrections: a ``set`` applied or refused, and answered.

:mod:`agent.commands` decides what a received message *is*;
:class:`Corrections`, a part of :class:`agent.app.WardAgent`, decides
whether it fits the ward now, applies it through the agent's ledger and
answers it on the ward's ``reply`` topic.  It runs on the agent's loop
thread only.

Who corrected is the operator account the set topic names
(``…/set/{operator}``, which only that account may write): it goes into the
log and, with the request id, into the ledger, and the same request id is
never applied twice — a replayed command is refused.  The free-text ``by``
is kept beside it as the person's own words.
"""

import logging
import time

from bedboard.errors import LinkError, PressRefused

from . import ward as rules
from .commands import read_set, reply, sender, set_subscriptions
from .holds import hold_intent

_LOG = logging.getLogger(__name__)

NOT_READY = ("not ready: the count is being %s; send the command again in a "
             "moment")


class Throttled:
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


class Corrections:
    """A :class:`~agent.app.WardAgent`'s handling of ``set`` commands."""

    def _set_subscriptions(self):
        """The topic filters of this ward's corrections (the old topic, each operator's)."""
        return set_subscriptions(self.settings.broker.prefix, self.settings.ward)

    def _is_set(self, topic):
        """Whether ``topic`` carries a correction for this ward."""
        return sender(self.settings.broker.prefix, self.settings.ward, topic)[0]

    def _set_received(self, received):
        _, operator = sender(self.settings.broker.prefix, self.settings.ward,
                             received.topic)
        reading = read_set(received, operator)
        if reading.retained:
            self._set_warnings.warning("ignored a retained set command on %s: a "
                                       "correction must not be retained, or it would "
                                       "be applied again on every reconnect",
                                       received.topic)
        elif reading.command is None:
            self._set_warnings.warning("ignored a set command: %s", reading.refusal)
        if reading.command is None:
            self._reply(reading.request_id, False, reason=reading.refusal)
            return
        command = reading.command
        by = _who(reading.operator, command.by)
        if self._ledger is None or self._holding:
            why = NOT_READY % ("recovered from the broker" if self._ledger is None
                               else "checked against the broker")
            _LOG.warning("refused a set command by %s: %s", by, why)
            self._reply(command.id, False, reason=why)
            return
        done = self._ledger.applied(command.id) if command.id else None
        if done is not None:
            seq, operator, _, at = done
            why = ("request %s was already applied (seq %d, by %s at %s): a request is "
                   "applied once" % (command.id, seq, operator or "an unattributed set",
                                     at))
            _LOG.warning("refused a set command by %s: %s", by, why)
            self._reply(command.id, False, reason=why)
            return
        try:
            change = (rules.correct(self._ledger.counts, command, source="set by %s" % by)
                      if command.counts_given else self._hold_change(command, by))
        except PressRefused as exc:
            self._set_warnings.warning("ignored a set command %s: %s",
                                       command.to_json().decode("utf-8"), exc)
            self._reply(command.id, False, reason=str(exc))
            return
        if not command.counts_given:
            state = self._commit(change, change.source, hold_intent(change), quiet=True,
                                 request=(command.id, reading.operator, command.by)
                                 if command.id else None)
            if state is None:
                self._reply(command.id, False, reason="the count could not be kept on disk")
                return
            _LOG.info("%s %s by %s%s: %s, seq %d", change.kind, change.hold.id, by,
                      " for %s" % change.hold.for_whom if change.hold.for_whom else "",
                      change.after.describe(), state.seq)
            self._reply(command.id, True, seq=state.seq)
            return
        beds = dict(self._contacts.positions)   # the bed manager's word covers them too
        state = self._commit(change, change.source, None, unconfirmed=False, beds=beds,
                             quiet=True, request=(command.id, reading.operator, command.by)
                             if command.id else None)
        if state is None:
            self._reply(command.id, False, reason="the count could not be kept on disk")
            return
        _LOG.info("applied a set command by %s (reason: %s)%s: %s, seq %d", by,
                  command.reason or "none given",
                  " [id %s]" % command.id if command.id else "",
                  change.after.describe(), state.seq)
        self._reply(command.id, True, seq=state.seq)

    def _reply(self, request_id, ok, seq=None, reason=None):
        try:
            self.link.publish(self._reply_topic,
                              reply(self.settings.id, request_id, ok, seq, reason),
                              retain=False, qos=1)
        except LinkError as exc:
            _LOG.warning("the answer to a set command was not sent: %s", exc)


def _who(operator, by):
    """Who a correction is from, in words: the account, and the person's own ``by``.

    On the old topic only ``by`` is known, and nobody vouches for it.
    """
    if operator:
        return operator if by in (None, operator) else "%s (as %s)" % (operator, by)
    return by or "an operator"
