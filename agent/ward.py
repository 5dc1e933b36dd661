"""The ward's counts and the rules that change them — pure Python.

Nothing here touches GPIO, the broker or the disk: counts in, new counts (or
a :class:`~bedboard.errors.PressRefused` naming the reason) out.  The rules
are SPEC.md's: each press of a counting input moves one bed between states
(``taken`` vacant → occupied, ``freed`` occupied → vacant, ``blocked``
vacant → blocked, ``unblocked`` blocked → vacant); a bed contact closing or
opening is a ``taken`` or ``freed`` of its own bed; a bed manager's ``set``
command replaces counts outright; a changed ``capacity`` in the config is a
correction of its own.  Whatever would break ``occupied + blocked ≤ capacity``
or a count below zero changes nothing.
"""

from dataclasses import dataclass

from bedboard.errors import ContractError, PressRefused
from bedboard.payloads import MAX_BEDS

COUNTING_KINDS = ("freed", "taken", "blocked", "unblocked")


@dataclass(frozen=True)
class WardCounts:
    """How many beds the ward has, and how many are occupied and blocked."""

    capacity: int
    occupied: int
    blocked: int = 0

    def __post_init__(self):
        for name in ("capacity", "occupied", "blocked"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) \
                    or not 0 <= value <= MAX_BEDS:
                raise ValueError("%s must be a whole number between 0 and %d, got %r"
                                 % (name, MAX_BEDS, value))
        if self.occupied + self.blocked > self.capacity:
            raise ValueError("occupied + blocked must not exceed capacity, got "
                             "%d + %d > %d" % (self.occupied, self.blocked,
                                               self.capacity))

    @property
    def vacant(self):
        """Beds a family can have: capacity − occupied − blocked."""
        return self.capacity - self.occupied - self.blocked

    def describe(self):
        """``occupied 32/40, vacant 6`` (and ``, blocked 2`` when any are)."""
        text = "occupied %d/%d, vacant %d" % (self.occupied, self.capacity, self.vacant)
        if self.blocked:
            text += ", blocked %d" % self.blocked
        return text


@dataclass(frozen=True)
class Change:
    """One accepted change of a ward: what it was, and the counts before and after.

    ``kind`` is a WardEvent kind (``freed``, ``taken``, ``blocked``,
    ``unblocked``, ``set`` or ``sensor``); ``bed`` the bed's label when a
    per-bed input made it; ``source`` says who asked (an input's name,
    ``set by bed-manager``, ``config``), for the log.
    """

    kind: str
    before: WardCounts
    after: WardCounts
    bed: str = None
    source: str = None


def press(counts, kind, source=None):
    """The change one press of a ``kind`` input makes, or raise PressRefused."""
    if kind == "taken":
        if counts.vacant == 0:
            raise PressRefused("no vacant bed to take")
        after = WardCounts(counts.capacity, counts.occupied + 1, counts.blocked)
    elif kind == "freed":
        if counts.occupied == 0:
            raise PressRefused("no occupied bed to free")
        after = WardCounts(counts.capacity, counts.occupied - 1, counts.blocked)
    elif kind == "blocked":
        if counts.vacant == 0:
            raise PressRefused("no vacant bed to block")
        after = WardCounts(counts.capacity, counts.occupied, counts.blocked + 1)
    elif kind == "unblocked":
        if counts.blocked == 0:
            raise PressRefused("no blocked bed to unblock")
        after = WardCounts(counts.capacity, counts.occupied, counts.blocked - 1)
    else:
        raise ValueError("a press must be one of %s, got %r"
                         % (", ".join(COUNTING_KINDS), kind))
    return Change(kind, counts, after, source=source)


def sense(counts, bed, occupied, source=None):
    """The change a bed contact makes when its bed becomes ``occupied`` (or vacant)."""
    try:
        change = press(counts, "taken" if occupied else "freed")
    except PressRefused as exc:
        raise PressRefused("bed %s %s, but %s" % (
            bed, "occupied" if occupied else "vacated", exc)) from None
    return Change("sensor", counts, change.after, bed=bed, source=source)


def correct(counts, command, source=None):
    """The change a bed manager's SetCommand makes, or raise PressRefused."""
    try:
        after = WardCounts(*command.apply_to(counts.capacity, counts.occupied,
                                             counts.blocked))
    except (ContractError, ValueError) as exc:
        raise PressRefused(str(exc)) from None
    return Change("set", counts, after, source=source)


def resize(counts, capacity, source="config"):
    """The change a new ``capacity`` from the config makes, or raise PressRefused.

    The ward keeps its occupied and blocked beds; a capacity below them is
    refused rather than inventing discharges.
    """
    if capacity < counts.occupied + counts.blocked:
        raise PressRefused("capacity %d is less than occupied %d + blocked %d"
                           % (capacity, counts.occupied, counts.blocked))
    return Change("set", counts, WardCounts(capacity, counts.occupied, counts.blocked),
                  source=source)


@dataclass(frozen=True)
class Intent:
    """What a press, a bed contact or the config asked for, to be decided again later.

    While the agent checks its ledger against the broker, the changes it
    records are kept as intents too: if the ledger turns out to be an old
    copy, they are decided again, by the same rules, on the broker's newer
    counts (:meth:`agent.ledger.Ledger.rebase`).
    """

    kind: str                 # a counting kind, "sensor" or "resize"
    source: str = None
    bed: str = None           # for "sensor": the bed, and whether it became occupied
    occupied: bool = None
    capacity: int = None      # for "resize"

    @property
    def bed_counted(self):
        """``(bed, occupied)`` for the ledger's beds table, or None."""
        return None if self.bed is None else (self.bed, self.occupied)

    def decide(self, counts):
        """The Change this intent makes of ``counts``, or raise PressRefused."""
        if self.kind == "sensor":
            return sense(counts, self.bed, self.occupied, source=self.source)
        if self.kind == "resize":
            return resize(counts, self.capacity, source=self.source)
        return press(counts, self.kind, source=self.source)

    def describe(self):
        """``taken (taken)``, ``bed 12 occupied (bed-12)``, ``capacity 44 (config)``."""
        if self.kind == "sensor":
            what = "bed %s %s" % (self.bed, "occupied" if self.occupied else "vacated")
        elif self.kind == "resize":
            what = "capacity %d" % self.capacity
        else:
            what = self.kind
        return "%s (%s)" % (what, self.source) if self.source else what
