"""The agent's side of holds for referrals and count checks (docs/contract.md, "Checks and holds").

:class:`HoldsAndChecks`, a part of :class:`agent.app.WardAgent` (a mixin,
like :class:`~agent.corrections.Corrections`), turns the panel's ``held``,
``released``, ``arrived`` and ``checked`` presses and a referral desk's
hold and release commands into changes of the ward (:mod:`agent.ward`'s
rules, the ledger's transaction), expires holds whose time ran out, and
says when the count is due for a check (the status LED asks for it).  It
runs on the agent's loop thread only.
"""

import logging
import os

from bedboard import timesync
from bedboard.errors import PressRefused
from bedboard.payloads import utc_now

from . import ward as rules
from .ward import HeldBeds, Intent, hold_record

_LOG = logging.getLogger(__name__)

PANEL = "panel"     # who placed a hold from the panel's button


def panel_hold_id():
    """A fresh id for a hold placed on the panel: ``panel-`` + UTC time + 6 hex digits."""
    return "panel-%s-%s" % (utc_now().strftime("%Y%m%dT%H%M%SZ"), os.urandom(3).hex())


class HoldsAndChecks:
    """A :class:`~agent.app.WardAgent`'s holds for referrals and checks of the count."""

    # -- the panel's buttons -------------------------------------------------
    def _hold_pressed(self, item):
        """A ``held``, ``released``, ``arrived`` or ``checked`` press (the ledger is open)."""
        counts = self._ledger.counts
        try:
            if item.kind == "checked":
                change = rules.check(counts, source=item.input)
            elif item.kind == "held":
                change = rules.hold(counts, self._new_hold(
                    panel_hold_id(), 1, self.settings.hold_minutes, None, item.input),
                    source=item.input)
            else:
                held = self._ledger.soonest()
                if held is None:
                    raise PressRefused("no bed is held for a referral")
                change = (rules.arrive(counts, held, source=item.input)
                          if item.kind == "arrived" else
                          rules.end_hold(counts, held, "released", source=item.input))
        except PressRefused as exc:
            self._refuse(item.input, str(exc))
            return
        self._commit(change, item.input, hold_intent(change), pressed=True)

    def _new_hold(self, ident, beds, minutes, for_whom, by):
        return HeldBeds(id=ident, beds=beds, minutes=float(minutes), placed=utc_now(),
                        for_whom=for_whom, by=by, synced=bool(timesync.synchronised()))

    # -- a referral desk's commands -------------------------------------------
    def _hold_change(self, command, by):
        """The Change a hold or release command makes, or raise PressRefused."""
        counts = self._ledger.counts
        if command.hold is not None:
            ask = command.hold
            if command.id in self._ledger.holds:
                raise PressRefused("a hold %s is already kept" % command.id)
            held = self._new_hold(command.id or panel_hold_id(), ask["beds"],
                                  ask.get("minutes", self.settings.hold_minutes),
                                  ask["for"], by)
            return rules.hold(counts, held, source="hold by %s" % by)
        ask = command.release
        if "hold" in ask:
            held = self._ledger.holds.get(ask["hold"])
            if held is None:
                raise PressRefused("no hold %s in this ward (holds: %s)" % (
                    ask["hold"], ", ".join(sorted(self._ledger.holds)) or "none"))
        else:
            held = self._ledger.soonest()
            if held is None:
                raise PressRefused("no bed is held for a referral")
        source = "release by %s" % by
        if ask["arrived"]:
            return rules.arrive(counts, held, source=source)
        return rules.end_hold(counts, held, "released", source=source)

    # -- by the clock ----------------------------------------------------------
    def _tick_holds(self, now):
        """Expire the holds whose time ran out; save their running times now and then."""
        ledger = self._ledger
        if ledger is None:
            return
        for held in ledger.expired():
            change = rules.end_hold(ledger.counts, held, "expired", source="clock")
            state = self._commit(change, "clock", hold_intent(change), quiet=True)
            if state is not None:
                _LOG.warning("the hold %s for %s (%d bed%s, %.0f min) expired: its beds are "
                             "vacant again, seq %d", held.id, held.for_whom or held.by
                             or "a referral", held.beds, "" if held.beds == 1 else "s",
                             held.minutes, state.seq)
        try:
            ledger.save_clocks()
        except Exception as exc:  # noqa: BLE001 - a LedgerError: only a hold lasts longer
            _LOG.warning("the holds' running times were not saved: %s", exc)

    @property
    def check_due(self):
        """Whether the count is due for a nurse's check (its age past check_within, or unknown)."""
        if self._ledger is None:
            return False
        age = self._ledger.check_age()
        return age is None or age > self.settings.check_within


def hold_intent(change):
    """The Intent that asks for a hold change again, should the ledger be rebased."""
    if change.kind == "checked":
        return Intent("checked", change.source)
    if change.kind == "held":
        return Intent("held", change.source, hold=hold_record(change.hold))
    return Intent(change.kind, change.source, hold={"id": change.hold.id})
