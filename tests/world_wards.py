"""The hospital of the world's state machine (:mod:`tests.world_machine`): its wards,
their tiles and the board's settings."""

from bedboard.topics import WardKey
from display.config import Label, TileSpec

MALE = WardKey("nrs", "medicine", "male")
FEMALE = WardKey("nrs", "medicine", "female")
ICU = WardKey("nrs", "icu", "unit-1")
WARDS = (MALE, FEMALE, ICU)
CAPACITY = {MALE: 4, FEMALE: 3, ICU: 2}
CORE = (TileSpec("nrs", "medicine", None, Label("Medicine")),
        TileSpec("nrs", "icu", ("unit-1",), Label("ICU")))
FILLERS = tuple(TileSpec("nrs", "dept-%d" % i, None, Label("Department %d" % i))
                for i in range(8))
HEARTBEAT = 60.0
STALE_AFTER = 1.25 * HEARTBEAT        # a board configured to its agents' heartbeat
HIGHLIGHT = 300.0
HOLD_MINUTES = 120.0                  # an agent's hold_minutes (default)
SIZES = ((1280, 720), (1366, 768), (800, 480))
