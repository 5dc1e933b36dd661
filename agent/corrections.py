"""The agent's side of a bed manager's corrections: a ``set`` applied or refused, and answered.

:mod:`agent.commands` decides what a received message *is*;
:class:`Corrections`, a part of :class:`agent.app.WardAgent`, decides
whether it fits the ward now, applies it through the agent's ledger and
answers it on the ward's ``reply`` topic.  It runs on the agent's loop
thread only.
"""

import logging
import time

from bedboard.errors import LinkError, PressRefused

from . import ward as rules
from .commands import read_set, reply

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

    def _set_received(self, received):
        reading = read_set(received)
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
        by = command.by or "an operator"
        if self._ledger is None or self._holding:
            why = NOT_READY % ("recovered from the broker" if self._ledger is None
                               else "checked against the broker")
            _LOG.warning("refused a set command by %s: %s", by, why)
            self._reply(command.id, False, reason=why)
            return
        try:
            change = rules.correct(self._ledger.counts, command, source="set by %s" % by)
        except PressRefused as exc:
            self._set_warnings.warning("ignored a set command %s: %s",
                                       command.to_json().decode("utf-8"), exc)
            self._reply(command.id, False, reason=str(exc))
            return
        beds = dict(self._contacts.positions)   # the bed manager's word covers them too
        state = self._commit(change, change.source, None, unconfirmed=False, beds=beds,
                             quiet=True)
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
