"""Whether a ward's report is live: progress, statuses and the waits between (a mixin of Board).

The rules are the board's (display/board.py's docstring, docs/contract.md rule 3):

* **Progress.**  A state that carries ``boot``/``beat`` is progress when its beat
  is higher than any the board has seen of that boot, or when it is the first
  publication (beat 1) of a boot the board has not seen, arriving live.
  Anything else is a copy — a bridge's replay with or without the retain
  flag, a retained copy, a broker's restored autosave — and proves nothing: it
  may show a figure first seen (as *checking*), never life.  Progress keeps
  the ward live for ``min(stale_after, 1.25 × heartbeat)``.
* **A restart to a lower seq** (a new boot) says *panel reset* until that boot's
  count changes, not from an unconfirmed copy (a bed manager's set), or its seq
  passes the one applied.
* **Statuses.**  A report waits up to ``STATUS_WAIT`` for its agent's status on
  the board's current connection — after its first receipt, and again after
  every reconnect of the board (a will may have fired meanwhile).
"""

import logging
import math

from .reports import Report, describe
from .tileviews import STATUS_WAIT

_LOG = logging.getLogger("display.board")


class Liveness:
    """The part of Board that judges a report's life."""

    # -- states that carry progress -------------------------------------------
    def _receive_progress(self, ward, report, state, now, wall, retained):
        """A state that carries progress (boot, beat): live only on progress.

        Progress is a beat higher than any seen of a boot seen before, or the
        first publication (beat 1) of a boot not seen before, arriving live.
        Anything else is a copy: it may show a figure first seen, never life.
        """
        agent = state.agent
        seen = report.boots.get(state.boot) if report is not None else None
        progress = (state.beat > seen) if seen is not None else (
            not retained and state.beat == 1)
        live = progress and self._live_change(ward, report, now)
        candidate = self._candidate(report, state, live)
        before = self._before(ward, candidate, now)
        if report is None:
            shown_before = self._shown(ward, now)
            report = Report(agent, state, now)
            self._keep_report(ward, report)
            report.changed = self._change_time(state, now, wall, not progress, shown_before)
            applied = True
        else:
            applied = self._apply_progress(ward.key, report, state, now, wall, progress)
            if applied is None:
                report.seen(state.boot, state.beat)
                return False            # a copy: it proves nothing and shows nothing new
        report.seen(state.boot, state.beat)
        if progress:
            self._prove_online(agent)
            report.heard, report.live_link, report.proven = now, self._link, True
            report.expires = max(report.expires, now + self._window(state))
        if applied:
            report.applied = now
        self._after(ward, now, before, live and applied)
        return True

    def _apply_progress(self, key, report, state, now, wall, progress):
        """Apply ``state`` to a known report: True applied, False not applied (but its
        standing changed), None a copy that changes nothing."""
        held = report.state
        restart = report.restart
        if restart is not None and progress and state.boot == restart[0] \
                and state.seq > restart[1] and not state.unconfirmed:
            # The agent restarted at a lower seq, and its count has been changed
            # since, not from an unconfirmed copy (a bed manager's set): its
            # new series is the ward's from now on.
            _LOG.info("ward %s: agent %s's count after its restart (seq %d, %s) is "
                      "taken: it changed since, confirmed", key, state.agent, state.seq,
                      describe(state))
            report.changed = self._change_time(state, now, wall, False, report)
            report.state, report.reset, report.reused, report.doubt = state, False, False, False
            report.restart = None
            return True
        if state.seq > held.seq:
            if not state.same_counts(held):
                report.changed = self._change_time(state, now, wall, not progress, report)
            report.state, report.reset, report.reused, report.doubt = state, False, False, False
            report.restart = None
            return True
        if not progress:
            return None                 # a copy of what was held, or of something older
        if state.seq == held.seq and state.same_counts(held):
            report.state, report.doubt = state, False   # the additive fields may change
            return False
        if state.seq == held.seq:
            self._warn_reused(key, report, state)
            report.changed = self._change_time(state, now, wall, False, report)
            report.state, report.reset, report.reused, report.doubt = state, False, True, False
            return True
        # a lower seq, sent live by the agent: it restarted from an older count
        if restart is None or restart[0] != state.boot:
            report.restart = (state.boot, state.seq)
        self._warn_lower(key, report, state)
        report.reset = True
        return False

    def _window(self, state):
        """How long an agent's progress keeps its ward live: 1.25 heartbeats, at most
        ``stale_after``."""
        return min(self.stale_after, 1.25 * state.heartbeat)

    # -- a report's standing ------------------------------------------------------
    def _pending(self, report, now):
        """A state whose agent's status has not arrived on this connection yet (for a
        short while after its first receipt, or after the board's reconnect)."""
        return (self._status_link.get(report.agent) != self._link
                and now < report.first + STATUS_WAIT)

    def _reporting(self, report, now):
        return (now < report.expires and not report.reset and not report.doubt
                and self._status.get(report.agent) is not False
                and not self._pending(report, now))

    def _present(self, report, now):
        return report.agent in self._status or now >= report.first + STATUS_WAIT

    def _checking(self, report, now):
        """A figure not yet proven live: first seen as a copy, from an agent that sends
        progress, while the board waits (about one heartbeat) for its next beat; or
        known before the board's reconnect, until its agent's status comes again."""
        state = report.state
        if report.reset or report.doubt:
            return False
        if report.agent in self._status and self._pending(report, now):
            return True             # after the board's reconnect, until its status comes
        return (state.progressive and not report.proven
                and now < report.heard + self._window(state))

    def _deadline(self, report, now):
        """The next time ``report``'s standing may change with no message (or inf)."""
        deadline = report.expires if report.expires > now else math.inf
        if self._pending(report, now):
            deadline = min(deadline, report.first + STATUS_WAIT)
        state = report.state
        if state.boot is not None and not report.proven:
            checked = report.heard + self._window(state)
            if checked > now:
                deadline = min(deadline, checked)
        return deadline

    def _current(self, ward, now):
        """The report a ward's figure comes from: the reporting one applied last.

        When none reports, the one applied last of those that may be shown.
        """
        reports = ward.reports
        if len(reports) == 1:       # by far the most common: one panel a ward
            for report in reports.values():
                return report if self._reporting(report, now) else None
        best = None
        for report in reports.values():
            if self._reporting(report, now) and (
                    best is None or (report.applied, report.agent) > (best.applied,
                                                                      best.agent)):
                best = report
        return best

    def _shown(self, ward, now):
        best = self._current(ward, now)
        if best is not None:
            return best
        for report in ward.reports.values():
            if self._present(report, now) and (
                    best is None or (report.applied, report.agent) > (best.applied,
                                                                      best.agent)):
                best = report
        return best

    def _conflicting(self, ward, now):
        if len(ward.reports) < 2:
            return False
        return sum(1 for r in ward.reports.values() if self._reporting(r, now)) > 1
