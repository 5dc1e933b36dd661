"""What the board shows: a tile's and the whole board's view, in words and figures.

Equal views draw identical pixels; the renderer and the frame log read only these.
"""

import enum
from dataclasses import dataclass

from .config import Label

class Status(enum.Enum):
    """What a tile says in words (and colour)."""

    AVAILABLE = "available"
    FEW_LEFT = "few-left"
    FULL = "full"
    CLOSED = "closed"            # live, and the wards it counts have no beds at all
    PARTIAL = "partial"          # live figure of some wards; the word would depend on the rest
    NOT_REPORTING = "not-reporting"
    WAITING = "waiting"          # no figure yet, and the board has only just started
    LAST_KNOWN = "last-known"    # the board has lost its broker: figures are not live
    CHECKING = "checking"        # added (issue 15): a figure seen (a copy) but not yet
    #                              proven live by its agent's progress: shown, not live

    @property
    def live(self):
        """Whether a figure with this status is live."""
        return self._name_ in _LIVE     # a str set: an Enum's own hash is Python code


_LIVE = frozenset(("AVAILABLE", "FEW_LEFT", "FULL", "CLOSED", "PARTIAL"))


class Reason(enum.Enum):
    """Why a tile's wards (all, or the missing ones) are not reporting."""

    CONNECTION = "connection"    # the board itself has lost its broker
    OFFLINE = "offline"          # a ward panel said offline (or its will did)
    RESET = "reset"              # a panel restarted from an older count (a lower seq)
    CHECKING = "checking"        # a figure first seen as a copy, not yet proven live
    SILENT = "silent"            # nothing arrived within stale_after
    NEVER = "never"              # nothing ever arrived


@dataclass(frozen=True)
class TileView:
    """One tile as it should look now; equal views draw identical pixels."""

    label: Label
    status: Status
    vacant: int = None           # None: no figure at all
    capacity: int = None
    occupied: int = None
    blocked: int = None
    wards: int = 0               # wards the tile counts
    missing: int = 0             # of those, not reporting (the figures leave them out)
    changed_minutes: int = None  # since its figures last changed; None: unknown
    silent_minutes: int = None   # NOT_REPORTING: since anything arrived for it
    offline: bool = False        # NOT_REPORTING: a ward panel said offline
    highlighted: bool = False    # vacancy rose from 0 a short while ago, by a live change
    reason: Reason = None        # NOT_REPORTING, or missing > 0: why (the weightiest)
    reasons: tuple = ()          # added (issue 15): every such reason, weightiest first
    conflict: bool = False       # two panels count one of its wards
    reset: bool = False          # a panel of its wards restarted from an older count
    unconfirmed: bool = False    # a counted ward's count came from a copy that may be old
    mismatched: int = 0          # bed contacts the counted wards' counts do not follow
    # added (issue 20): checks and holds (display/checks.py)
    held: int = None             # beds held for a referral (inside blocked); None: no
    #                              counted ward's agent knows holds
    checked_minutes: int = None  # the oldest check of the counted wards, when all recent
    check_due: bool = False      # a counted ward's check is past board.check_within
    unchecked_minutes: int = None  # check_due: the oldest check's age; None: unknown

    @property
    def live(self):
        """Whether the figure shown is live."""
        return self.status.live

    @property
    def doubtful(self):
        """Whether the figure shown is in doubt though every ward counts in it."""
        return bool(self.conflict or self.reset or self.unconfirmed or self.mismatched)

    @property
    def whole(self):
        """Whether the figure shown is the whole truth of the tile's wards (shown,
        from every ward, in no doubt); a tile that is not says so in its state bar."""
        return self.vacant is not None and not self.missing and not self.doubtful \
            and not self.check_due


@dataclass(frozen=True)
class BoardView:
    """The whole board as it should look now."""

    tiles: tuple
    connected: bool
    ever_connected: bool
    since: object = None         # wall time (UTC) the connection last changed
    since_minutes: int = 0       # how long ago, by the monotonic clock
    total_vacant: int = None     # over the reporting wards on the board (each once);
    #                              while disconnected, the total frozen when the link
    #                              went down; None: not known (nothing live)
    tiles_not_live: int = 0      # tiles whose figure is not live (or absent)
    live_tiles: int = 0          # tiles with a live figure: the header says LIVE only if > 0
    tiles_partial: int = 0       # live tiles some of whose wards are not reporting
    wards_missing: int = 0       # wards on the board the total leaves out (each once),
    #                              of live tiles and not-live ones alike
    since_seconds: float = 0.0   # how long ago the connection last changed (monotonic):
    #                              a wall time for it is the trusted clock minus this
    wards_unchecked: int = 0     # added (issue 20): counted wards whose check is due
    check_within: float = 7200.0  # seconds: the bound the footer names
