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

Checks and holds (docs/contract.md, "Checks and holds"): a ``held`` press or
a referral desk's hold moves vacant beds to *held for a referral*; a
``released`` press (or release) or the hold's expiry moves them back to
vacant; ``arrived`` moves one held bed to occupied (the referred patient
came); ``checked`` — the nurse confirms the count — changes no count.  Held
beds are never vacant: vacant = capacity − occupied − blocked − held, where
``blocked`` here is out of service only (on the wire, ``blocked`` includes
the held beds, so that an old board never counts them vacant).
"""

from dataclasses import dataclass
from datetime import datetime

from bedboard.errors import ContractError, PressRefused
from bedboard.payloads import MAX_BEDS

COUNTING_KINDS = ("freed", "taken", "blocked", "unblocked")
HOLD_INPUTS = ("held", "released", "arrived", "checked")   # panel buttons of holds, checks


@dataclass(frozen=True)
class WardCounts:
    """How many beds the ward has, and how many are occupied and blocked."""

    capacity: int
    occupied: int
    blocked: int = 0    # out of service (cleaning, broken, no staff): not the held beds
    held: int = 0       # held for a referral

    def __post_init__(self):
        for name in ("capacity", "occupied", "blocked", "held"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) \
                    or not 0 <= value <= MAX_BEDS:
                raise ValueError("%s must be a whole number between 0 and %d, got %r"
                                 % (name, MAX_BEDS, value))
        if self.occupied + self.blocked + self.held > self.capacity:
            if self.held:
                raise ValueError("occupied + blocked + held must not exceed capacity, got "
                                 "%d + %d + %d > %d" % (self.occupied, self.blocked,
                                                        self.held, self.capacity))
            raise ValueError("occupied + blocked must not exceed capacity, got "
                             "%d + %d > %d" % (self.occupied, self.blocked,
                                               self.capacity))

    @property
    def vacant(self):
        """Beds a family can have: capacity − occupied − blocked − held."""
        return self.capacity - self.occupied - self.blocked - self.held

    @property
    def wire_blocked(self):
        """``blocked`` as the wire carries it: out of service and held beds together."""
        return self.blocked + self.held

    @classmethod
    def from_wire(cls, state):
        """The counts of a WardState (whose ``blocked`` includes its ``held``)."""
        held = state.held or 0
        return cls(state.capacity, state.occupied, state.blocked - held, held)

    def but(self, **changes):
        """These counts with some changed."""
        values = dict(capacity=self.capacity, occupied=self.occupied,
                      blocked=self.blocked, held=self.held)
        values.update(changes)
        return WardCounts(**values)

    def describe(self):
        """``occupied 32/40, vacant 6`` (and ``, blocked 2``, ``, held 1`` when any are)."""
        text = "occupied %d/%d, vacant %d" % (self.occupied, self.capacity, self.vacant)
        if self.blocked:
            text += ", blocked %d" % self.blocked
        if self.held:
            text += ", held %d" % self.held
        return text


@dataclass(frozen=True)
class HeldBeds:
    """One hold for a referral, as the agent keeps it (its clock is the ledger's).

    ``id`` names it; ``beds`` how many; ``for_whom`` the referral in the
    desk's words; ``by`` who placed it (an operator account, or the panel's
    input); ``minutes`` how long it lasts; ``placed`` when, by the agent's
    clock, and ``synced`` whether that clock was synchronised then.
    """

    id: str
    beds: int
    minutes: float
    placed: datetime
    for_whom: str = None
    by: str = None
    synced: bool = False


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
    hold: HeldBeds = None      # the hold a hold change is about
    checked: bool = False      # the change confirms the count (a check, a bed manager's set)


def press(counts, kind, source=None):
    """The change one press of a ``kind`` input makes, or raise PressRefused."""
    if kind == "taken":
        if counts.vacant == 0:
            raise PressRefused("no vacant bed to take" + (
                " (%d held for a referral: press arrived when its patient comes)"
                % counts.held if counts.held else ""))
        after = counts.but(occupied=counts.occupied + 1)
    elif kind == "freed":
        if counts.occupied == 0:
            raise PressRefused("no occupied bed to free")
        after = counts.but(occupied=counts.occupied - 1)
    elif kind == "blocked":
        if counts.vacant == 0:
            raise PressRefused("no vacant bed to block")
        after = counts.but(blocked=counts.blocked + 1)
    elif kind == "unblocked":
        if counts.blocked == 0:
            raise PressRefused("no blocked bed to unblock")
        after = counts.but(blocked=counts.blocked - 1)
    else:
        raise ValueError("a press must be one of %s, got %r"
                         % (", ".join(COUNTING_KINDS), kind))
    return Change(kind, counts, after, source=source)


def hold(counts, held, source=None):
    """The change placing the hold ``held`` (a HeldBeds) makes, or raise PressRefused."""
    if held.beds > counts.vacant:
        raise PressRefused("cannot hold %d bed%s for a referral: only %d vacant"
                           % (held.beds, "" if held.beds == 1 else "s", counts.vacant))
    return Change("held", counts, counts.but(held=counts.held + held.beds),
                  source=source, hold=held)


def end_hold(counts, held, kind="released", source=None):
    """The change releasing (or, ``kind="expired"``, expiring) the hold ``held``."""
    if kind not in ("released", "expired"):
        raise ValueError("a hold ends released or expired, got %r" % (kind,))
    if held.beds > counts.held:
        raise PressRefused("the hold %s has %d bed(s), but only %d are held"
                           % (held.id, held.beds, counts.held))
    return Change(kind, counts, counts.but(held=counts.held - held.beds), source=source,
                  hold=held)


def arrive(counts, held, source=None):
    """The change the referred patient's arrival makes: one bed of ``held`` taken."""
    if counts.held == 0:
        raise PressRefused("no bed is held for a referral")
    return Change("arrived", counts, counts.but(held=counts.held - 1,
                                                occupied=counts.occupied + 1),
                  source=source, hold=held)


def check(counts, source=None):
    """A nurse's confirmation that the count is the ward's true count: no count moves."""
    return Change("checked", counts, counts, source=source, checked=True)


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
        capacity, occupied, blocked = command.apply_to(counts.capacity, counts.occupied,
                                                       counts.blocked)
        after = WardCounts(capacity, occupied, blocked, counts.held)
    except (ContractError, ValueError) as exc:
        raise PressRefused(str(exc)) from None
    return Change("set", counts, after, source=source, checked=True)


def resize(counts, capacity, source="config"):
    """The change a new ``capacity`` from the config makes, or raise PressRefused.

    The ward keeps its occupied and blocked beds; a capacity below them is
    refused rather than inventing discharges.
    """
    if capacity < counts.occupied + counts.blocked + counts.held:
        raise PressRefused("capacity %d is less than occupied %d + blocked %d%s"
                           % (capacity, counts.occupied, counts.blocked,
                              " + held %d" % counts.held if counts.held else ""))
    return Change("set", counts, counts.but(capacity=capacity), source=source)


@dataclass(frozen=True)
class Intent:
    """What a press, a bed contact or the config asked for, to be decided again later.

    While the agent checks its ledger against the broker, the changes it
    records are kept as intents too: if the ledger turns out to be an old
    copy, they are decided again, by the same rules, on the broker's newer
    counts (:meth:`agent.ledger.Ledger.rebase`).
    """

    kind: str                 # a counting kind, "sensor", "resize" or a hold kind
    source: str = None
    bed: str = None           # for "sensor": the bed, and whether it became occupied
    occupied: bool = None
    capacity: int = None      # for "resize"
    hold: dict = None         # for "held", "released", "arrived", "expired": the hold

    @property
    def bed_counted(self):
        """``(bed, occupied)`` for the ledger's beds table, or None."""
        return None if self.bed is None else (self.bed, self.occupied)

    def decide(self, counts, holds=None):
        """The Change this intent makes of ``counts``, or raise PressRefused.

        ``holds`` (``{id: HeldBeds}``) are the ward's holds, for the hold kinds.
        """
        if self.kind == "checked":
            return check(counts, source=self.source)
        if self.kind == "held":
            if self.hold["id"] in (holds or {}):
                # an old copy's hold that the broker's newer count already has
                raise PressRefused("the hold %s is already counted" % self.hold["id"])
            return hold(counts, held_beds(self.hold), source=self.source)
        if self.kind in ("released", "expired", "arrived"):
            held = (holds or {}).get(self.hold["id"])
            if held is None:
                raise PressRefused("the hold %s is not among the ward's holds"
                                   % self.hold["id"])
            if self.kind == "arrived":
                return arrive(counts, held, source=self.source)
            return end_hold(counts, held, self.kind, source=self.source)
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
        elif self.hold is not None:
            what = "%s %s" % (self.kind, self.hold["id"])
        else:
            what = self.kind
        return "%s (%s)" % (what, self.source) if self.source else what


def hold_record(held):
    """A HeldBeds as a JSON-ready dict (for an Intent, and the ledger)."""
    return {"id": held.id, "beds": held.beds, "minutes": held.minutes,
            "placed": held.placed.isoformat(), "for_whom": held.for_whom, "by": held.by,
            "synced": held.synced}


def held_beds(record):
    """The HeldBeds of :func:`hold_record`'s dict."""
    return HeldBeds(id=record["id"], beds=record["beds"], minutes=record["minutes"],
                    placed=datetime.fromisoformat(record["placed"]),
                    for_whom=record.get("for_whom"), by=record.get("by"),
                    synced=bool(record.get("synced")))
