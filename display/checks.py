"""Checks and holds on a tile: beds held for a referral, and how long ago the count
was checked (docs/contract.md, "Checks and holds").

Pure figures, no drawing.  A ward whose agent is older than checks and holds
(its state has no ``held``) adds nothing: no held beds, no check time, no
caution.  The age of a check is the ``checked_age`` its agent sent plus the
time since the board received that state, by the board's own monotonic clock
— no wall clock.  A check is *due* past ``check_within`` seconds, when its
age is unknown (no ``checked_age``) or when the ward was never checked.  A
retained copy's age is a lower bound only: it makes a check due when already
past the bound, but never calls one recent (that waits for a live message).
"""

import math

CHECK_WITHIN = 7200.0       # seconds: board.check_within's default (2 h)


def check_age(report, now):
    """``(knows, age)`` for one ward's report at ``now``: ``knows`` whether its agent
    knows checks (its state has ``held``); ``age`` the check's age in seconds, or
    None when unknown (never checked, no ``checked_age``)."""
    state = report.state
    if state.held is None:
        return False, None
    if state.checked is None or state.checked_age is None:
        return True, None
    received = getattr(report, "received", None)
    since = 0.0 if received is None else max(0.0, now - received)
    return True, state.checked_age + since


def check_figures(reports, now, check_within=CHECK_WITHIN):
    """Fields of a TileView for the live ``reports`` ``[(ward key, Report)]`` of a
    tile at ``now``, the ward keys whose check is due, and the monotonic time at
    which these would next change with no message (or inf).

    Fields: ``held`` (None when no ward's agent knows holds), ``checked_minutes``
    (the oldest check's age in whole minutes; None unless every ward's check is
    known and recent — a tile with a ward of an old agent never says its count
    was checked), ``check_due`` and ``unchecked_minutes`` (the oldest due
    check's age in minutes, None when unknown).
    """
    held = None
    due, oldest, due_oldest, pending, unknown = [], None, None, False, False
    until = math.inf
    for key, report in reports:
        knows, age = check_age(report, now)
        if not knows:
            pending = True              # an old agent's ward: its count's check unknown
            continue
        held = (held or 0) + report.state.held
        copy = getattr(report, "copy", False)
        if age is None or age >= check_within:
            due.append(key)
            if age is not None:
                due_oldest = age if due_oldest is None else max(due_oldest, age)
            else:
                unknown = True              # said without a duration
            continue
        if copy:
            pending = True              # a copy's age is a lower bound: not yet recent
        else:
            oldest = age if oldest is None else max(oldest, age)
        # the next minute of its age, and the moment it becomes due
        until = min(until, now + (60.0 - age % 60.0), now + (check_within - age))
    fields = {"held": held}
    if due:
        fields["check_due"] = True
        if due_oldest is not None and not unknown:
            fields["unchecked_minutes"] = int(due_oldest // 60)
            until = min(until, now + (60.0 - due_oldest % 60.0))
    elif oldest is not None and not pending:
        fields["checked_minutes"] = int(oldest // 60)
    return fields, tuple(due), until
