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

    @property
    def live(self):
        """Whether a figure with this status is live."""
        return self in (Status.AVAILABLE, Status.FEW_LEFT, Status.FULL, Status.CLOSED,
                        Status.PARTIAL)


class Reason(enum.Enum):
    """Why a tile's wards (all, or the missing ones) are not reporting."""

    CONNECTION = "connection"    # the board itself has lost its broker
    OFFLINE = "offline"          # a ward panel said offline (or its will did)
    RESET = "reset"              # a panel restarted from an older count (a lower seq)
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
    conflict: bool = False       # two panels count one of its wards
    reset: bool = False          # a panel of its wards restarted from an older count
    unconfirmed: bool = False    # a counted ward's count came from a copy that may be old
    mismatched: int = 0          # bed contacts the counted wards' counts do not follow

    @property
    def live(self):
        """Whether the figure shown is live."""
        return self.status.live


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
