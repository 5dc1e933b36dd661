"""The bed contacts against the count: which beds the count does not follow, and saying so.

A bed contact is the truth of its bed, but the count may refuse it: a
contact that closes when no bed is vacant (the count says so, perhaps
wrongly) is refused, and from then on the count and the beds disagree until
a bed manager's ``set`` corrects the count or the contact moves back.
:class:`ContactWatch` keeps each contact's last reported position beside
the ledger's "counted as occupied" flag of its bed and reports the beds
that differ: a WARNING once per bed that starts to differ, an INFO when
they agree again.  The agent publishes their number as the state's
``mismatched`` and shows it on the status LED.

Positions are the ones the agent's loop has *seen* (its BedChanged
events), not a fresh read of the pins, so a change still on its way in the
queue never shows as a disagreement for a moment.  Pure Python.
"""

import logging

_LOG = logging.getLogger(__name__)


class ContactWatch:
    """Each bed contact's position as last reported, and the beds the count does not follow."""

    def __init__(self):
        self.positions = {}      # bed → occupied, as its contact last said
        self.mismatched = set()  # beds whose contact the count does not follow

    def saw(self, bed, occupied):
        """The contact of ``bed`` says it is ``occupied`` (or vacant)."""
        self.positions[bed] = occupied

    def check(self, counted):
        """Compare with ``counted`` (``{bed: occupied}``, the ledger's); return whether it changed."""
        disagree = {bed for bed, occupied in self.positions.items()
                    if bed in counted and counted[bed] != occupied}
        if disagree == self.mismatched:
            return False
        for bed in sorted(disagree - self.mismatched):
            occupied = self.positions[bed]
            _LOG.warning("bed %s: its contact says %s, but the count holds it %s: the "
                         "count and the bed contacts disagree on %d bed(s) until a bed "
                         "manager's set, or the contact moving back", bed,
                         "occupied" if occupied else "vacant",
                         "vacant" if occupied else "occupied", len(disagree))
        if not disagree:
            _LOG.info("the bed contacts agree with the count again")
        else:
            for bed in sorted(self.mismatched - disagree):
                _LOG.info("bed %s agrees with the count again (%d bed(s) still do not)",
                          bed, len(disagree))
        self.mismatched = disagree
        return True
